// The restore verification a CronJob runs for each protected volume (POSIX sh, in the restic
// image: restic, busybox sed/awk/find/sha256sum). Pure data: the script text.
//
// 0. The Secret's RESTIC_REPOSITORY against EXPECTED_RESTIC_REPOSITORY (when set: the repository
//    the definition names, manifests.ts `REPOSITORY_ANNOTATION`), both as restic reads them
//    (`REPOSITORY_KEY_SED`): a Secret pointing elsewhere has the backups and every check below
//    agree on a repository no restore looks in.
//    Then `restic unlock`: the locks no live restic holds go (a running restic refreshes its
//    lock every 5 minutes; restic v0.18.1 calls one untouched for 30 minutes, or left by a dead
//    process of the same host, stale). A mover or verification killed mid-run (a node drained or
//    lost) leaves its lock, and restic never ignores one (internal/restic/lock.go
//    `checkForOtherLocks`): every later exclusive command (VolSync's `forget` after each backup,
//    this check) failed, and after an exclusive one every restore, until someone unlocked.
// 1. `restic check --read-data-subset=<n>%`: the repository's structure, and a share of its data
//    packs read back and hashed. It waits up to RETRY_LOCK for a live lock (a backup running
//    meanwhile) instead of failing as if the repository were damaged. A SIGTERM (the Job's
//    deadline, a drain, an eviction) reaches it through the shell's handler, and it removes its
//    exclusive lock before it ends; the reads of steps 2 to 4 take no lock (`--no-lock`).
// 2. The latest snapshot: no older than MAX_SNAPSHOT_AGE_MINUTES (when set; the volume's backup
//    schedule, manifests.ts `maxSnapshotAgeMinutes`), so backups that stopped, or that VolSync
//    skipped because the volume was empty, fail it; its record of the tree, as the backup wrote it
//    (`restic ls --json`): its regular files (at least one) and their sizes; the snapshot's summary
//    (files and bytes processed) when the backup's restic wrote one; and, when MAX_SHRINK_PERCENT
//    is set, its bytes no more than that share below those of the snapshot before it.
// 3. `restic restore` of that snapshot into the scratch volume.
// 4. The restored tree against the record: the same number of regular files, the same total
//    bytes, and for a sample of files spread over the tree the SHA-256 of the restored bytes
//    against that of `restic dump` of the same file.
// Any difference fails the job (the CronJob's last run fails: Argo CD marks it Degraded, the Job
// records events, kube-state-metrics reports it); the outcome is also the pod's termination
// message.

/**
 * A sed command that writes a restic repository URL the way restic reads it, so that two
 * spellings of one repository compare equal (restic v0.18.1, internal/backend/s3/config.go
 * `ParseConfig`): `s3://<host>/…` and `s3:<host>/…` dial `s3:https://<host>/…` (restic uses
 * HTTPS unless the URL says `http://`; a URL beginning `s3:http` is read as a URL), and one
 * trailing `/` goes (restic cleans the prefix; `…/<bucket>/` has the empty prefix). Anything
 * else stays as written: `//` or `./` inside the prefix, a port, the host's case. The check then
 * calls a repository restic would also find another one, never the other way round. POSIX sed
 * (busybox's in the restic image, GNU's or BSD's on an operator's machine); the `!` is inside
 * single quotes, safe from an interactive shell's history expansion.
 */
export const REPOSITORY_KEY_SED =
  "sed -e 's#^s3://#s3:https://#' -e '/^s3:http/!s#^s3:#s3:https://#' -e 's#/$##'";

/** Where the verification restores to (the scratch volume). */
export const RESTORE_ROOT = '/restore';

/**
 * The awk program that reads `"time":"…"` and `"short_id":"…"` lines of `restic snapshots
 * --json` (oldest first) and prints `<short id> <time>` of the snapshot before the one whose
 * short id is `latest` (`-v latest=…`), or nothing. The ids are compared as strings (each side
 * concatenated with ""): awk compares two values that look like numbers as numbers, and BusyBox's
 * awk (1.35, the restic image's) finds an id that reads as a number too large for a double
 * (`46e40205`, `232e3172`: digits, e, digits; about 1 short id in 200) unequal to itself. With
 * such a latest id the latest snapshot was taken for the one before it and compared with itself:
 * the shrink check passed whatever the volume lost.
 */
export const PREVIOUS_SNAPSHOT_AWK =
  '$2 == "time" { t = $4 } $2 == "short_id" { if ($4 "" == latest "") exit; p = $4 " " t } END { print p }';

export const VERIFY_SCRIPT = `set -eu
work="\${TMPDIR:-/tmp}"
report() { printf '%s\\n' "$1" >/dev/termination-log 2>/dev/null || true; }
fail() { echo "VERIFICATION FAILED: $1" >&2; report "FAILED: $1"; exit 1; }
field() { sed -n "s/.*\\"$1\\":\\([0-9][0-9]*\\).*/\\1/p" | head -n 1; }

# Where the backups go is the Secret's (the secret store's) RESTIC_REPOSITORY; the runbook and
# disaster-recovery.md restore from the repository the definition names. Compared as restic
# reads them: s3:<host>/<bucket> is s3:https://<host>/<bucket>, a trailing / does not count.
# Never echoes the Secret's value (a repository URL may carry credentials).
repository_key() { printf '%s\\n' "$1" | ${REPOSITORY_KEY_SED}; }
if [ -n "\${EXPECTED_RESTIC_REPOSITORY:-}" ] && [ "$(repository_key "\${RESTIC_REPOSITORY:-}")" != "$(repository_key "$EXPECTED_RESTIC_REPOSITORY")" ]; then
  fail "the volume's Secret sets RESTIC_REPOSITORY to another repository than $EXPECTED_RESTIC_REPOSITORY, the one the definition backs this volume up to and disaster-recovery.md restores from: set RESTIC_REPOSITORY of the volume's entry in the secret store to it (the runbook's secrets step); the backups taken so far are in the repository the Secret named"
fi

echo "removing stale locks (restic unlock)"
restic unlock || fail "cannot reach the repository to remove its stale locks (restic unlock)"

echo "1/4 restic check --read-data-subset=$READ_DATA_SUBSET"
# The one command here that locks (exclusively: every backup waits). restic removes its lock when
# it gets SIGTERM (cmd/restic/cleanup.go), but this shell is the pod's PID 1: without a handler it
# ignores the kubelet's SIGTERM (a deadline, a drain, an eviction), passes nothing on, and restic
# is killed with the pod, its lock left until the next run. So restic runs in the background and
# a handler passes SIGTERM on and waits for it to remove its lock ("|| true": restic ends with
# 130 then, and set -e holds in the handler too). The reads below lock nothing
# (--no-lock: a read lock left behind blocks every exclusive command, VolSync's forget after
# each backup among them); no prune runs meanwhile, backups are scheduled outside this window.
checking=
trap 'if [ -n "$checking" ]; then kill -TERM "$checking" 2>/dev/null || true; wait "$checking" || true; fi; echo "VERIFICATION STOPPED: SIGTERM before it ended" >&2; report "FAILED: stopped (SIGTERM) before the verification ended"; exit 143' TERM INT
restic check --retry-lock="\${RETRY_LOCK:-20m}" --read-data-subset="$READ_DATA_SUBSET" &
checking=$!
wait "$checking" || fail "restic check found errors in the repository (or another restic held its lock for longer than \${RETRY_LOCK:-20m})"
checking=

echo "2/4 reading the latest snapshot"
restic snapshots --no-lock latest --json > "$work/snapshot.json" || fail "cannot list the snapshots"
id=$(sed -n 's/.*"short_id":"\\([0-9a-f]*\\)".*/\\1/p' "$work/snapshot.json" | head -n 1)
[ -n "$id" ] || fail "the repository has no snapshot yet"
# The snapshot's time (restic: RFC 3339 with the mover's zone offset) in seconds since the epoch.
stamp=$(sed -n 's/.*"time":"\\([^"]*\\)".*/\\1/p' "$work/snapshot.json" | head -n 1)
day=\${stamp%%T*}
rest=\${stamp#*T}
clock=$(printf '%s' "$rest" | cut -c 1-8)
zone=$(printf '%s' "$rest" | sed 's/^[0-9:.]*//')
offset=0
case "$zone" in
  [+-][0-9][0-9]:[0-9][0-9])
    hh=$(printf '%s' "$zone" | cut -c 2-3 | sed 's/^0//')
    mm=$(printf '%s' "$zone" | cut -c 5-6 | sed 's/^0//')
    offset=$(( hh * 3600 + mm * 60 ))
    [ "$(printf '%s' "$zone" | cut -c 1)" = "+" ] || offset=$(( -offset ))
    ;;
esac
taken=$(date -u -d "$day $clock" +%s 2>/dev/null) || fail "snapshot $id: cannot read its time \\"$stamp\\""
taken=$(( taken - offset ))
age=$(( ( $(date -u +%s) - taken ) / 60 ))
# VolSync's mover skips the backup, and reports success, when the volume is empty (a claim that
# lost its data, a mount gone wrong): no new snapshot, so an old "latest" must fail here.
if [ -n "\${MAX_SNAPSHOT_AGE_MINUTES:-}" ] && [ "$age" -gt "$MAX_SNAPSHOT_AGE_MINUTES" ]; then
  fail "the latest snapshot $id is $age minutes old (taken $stamp), more than the $MAX_SNAPSHOT_AGE_MINUTES its backup schedule allows: backups of the volume stopped (or it was empty and VolSync skipped them)"
fi
restic ls --no-lock --json "$id" > "$work/tree.json" || fail "cannot list snapshot $id"
grep '"type":"file"' "$work/tree.json" > "$work/files.json" || true
recorded_files=$(wc -l < "$work/files.json" | tr -d ' ')
recorded_bytes=$(sed -n 's/.*"size":\\([0-9][0-9]*\\).*/\\1/p' "$work/files.json" | awk '{ s += $1 } END { printf "%d", s }')
[ "$recorded_files" -gt 0 ] || fail "snapshot $id records no files: the volume held no data when it was backed up"
summary_files=$(field total_files_processed < "$work/snapshot.json")
summary_bytes=$(field total_bytes_processed < "$work/snapshot.json")
if [ -n "$summary_files" ] && [ "$summary_files" != "$recorded_files" ]; then
  fail "snapshot $id: the backup processed $summary_files files but its tree records $recorded_files"
fi
if [ -n "$summary_bytes" ] && [ "$summary_bytes" != "$recorded_bytes" ]; then
  fail "snapshot $id: the backup processed $summary_bytes bytes but its tree records $recorded_bytes"
fi
# The snapshot before the latest (restic lists snapshots oldest first): a latest snapshot far
# smaller than it means the volume lost data before this backup (an app that started over on an
# empty claim, a mount gone wrong), which every check above passes.
if [ -n "\${MAX_SHRINK_PERCENT:-}" ]; then
  restic snapshots --no-lock --json > "$work/snapshots.json" || fail "cannot list the snapshots"
  grep -o '"time":"[^"]*"\\|"short_id":"[0-9a-f]*"' "$work/snapshots.json" > "$work/ids" || true
  previous=$(awk -F '"' -v latest="$id" '${PREVIOUS_SNAPSHOT_AWK}' "$work/ids")
  if [ -n "$previous" ]; then
    previous_id=\${previous%% *}
    previous_stamp=\${previous#* }
    restic ls --no-lock --json "$previous_id" > "$work/previous.json" || fail "cannot list snapshot $previous_id"
    previous_bytes=$(grep '"type":"file"' "$work/previous.json" | sed -n 's/.*"size":\\([0-9][0-9]*\\).*/\\1/p' | awk '{ s += $1 } END { printf "%d", s }')
    if [ $(( recorded_bytes * 100 )) -lt $(( previous_bytes * (100 - MAX_SHRINK_PERCENT) )) ]; then
      fail "snapshot $id holds $recorded_bytes bytes, $(( 100 - recorded_bytes * 100 / previous_bytes ))% less than the $previous_bytes bytes of snapshot $previous_id before it (taken $previous_stamp), more than the $MAX_SHRINK_PERCENT% a backup may shrink: the volume lost data before this backup (or was backed up while its data was not mounted). If the data was deleted on purpose, the next backup's verification passes; if not, restore the volume as of $previous_stamp (disaster-recovery.md) before the backups' retention prunes that snapshot"
    fi
  fi
fi

echo "3/4 restoring snapshot $id into the scratch volume"
restic restore --no-lock "$id" --target "$RESTORE_ROOT" || fail "restore of snapshot $id failed"

echo "4/4 comparing the restored tree with the snapshot"
# A node at path P of the snapshot's tree is restored at $RESTORE_ROOT/P; the scratch volume's
# own lost+found is not part of it (the mover never backs it up).
restored() { find "$RESTORE_ROOT" -path "$RESTORE_ROOT/lost+found" -prune -o -type f "$@"; }
restored_files=$(restored -print | wc -l | tr -d ' ')
restored_bytes=$(restored -exec stat -c %s {} + | awk '{ s += $1 } END { printf "%d", s }')
[ "$restored_files" = "$recorded_files" ] || fail "snapshot $id records $recorded_files files, the restore has $restored_files"
[ "$restored_bytes" = "$recorded_bytes" ] || fail "snapshot $id records $recorded_bytes bytes, the restore has $restored_bytes"
step=$(( recorded_files / SAMPLE_FILES ))
[ "$step" -ge 1 ] || step=1
sampled=0
n=0
sed -n 's/.*"path":"\\([^"\\\\]*\\)".*/\\1/p' "$work/files.json" > "$work/paths"
while IFS= read -r path; do
  n=$(( n + 1 ))
  [ $(( (n - 1) % step )) -eq 0 ] || continue
  [ "$sampled" -lt "$SAMPLE_FILES" ] || break
  expected=$(restic dump --no-lock "$id" "$path" | sha256sum | cut -d ' ' -f 1) || fail "cannot read $path from snapshot $id"
  actual=$(sha256sum "$RESTORE_ROOT$path" | cut -d ' ' -f 1) || fail "$path is missing from the restore"
  [ "$expected" = "$actual" ] || fail "$path: restored bytes differ from snapshot $id"
  sampled=$(( sampled + 1 ))
done < "$work/paths"
result="verified snapshot $id: $restored_files files, $restored_bytes bytes restored as recorded; $sampled sampled files match"
echo "$result"
report "$result"
`;
