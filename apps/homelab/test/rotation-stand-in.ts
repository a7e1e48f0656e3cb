// A stand-in cluster for the rotation procedure of Authelia's storage encryption key: `kubectl`
// answers as Argo CD, the Bitwarden operator, the kubelet and Authelia's CLI (v4.39.19) would,
// keeping their state in files, and writes down every moment a rule of the procedure is broken:
// an Authelia pod starting with a key the database is not encrypted with, the Secret changing
// while Authelia runs, the Deployment patched while Argo CD's self-heal would undo it or while it
// still runs a sync (the root's, retried without end in the reference, which a procedure must
// end), the CLI running beside a running Authelia. Used with `withStandInScript` (`$dir` is the scratch folder).

/** The key the database is encrypted with at first, and the value the operator puts in Bitwarden. */
export const OLD_KEY = 'old-storage-key-0123456789abcdef';
export const NEW_KEY = 'new-storage-key-from-bitwarden-0123456789';

/** The body of the `kubectl` stand-in. */
export const KUBECTL = String.raw`
state="$dir/state"
fail() { echo "$*" >&2; exit 1; }
violation() { echo "$*" >> "$state/violations"; }
kubelet() { cp "$state/secret" "$dir/mnt/storage.encryption.key"; }
start() { [ "$(cat "$state/secret")" = "$(cat "$state/db")" ] || violation "an Authelia pod started with a key the database is not encrypted with"; echo x >> "$state/starts"; }
b64() { printf '%s' "$(cat "$1")" | base64 | tr -d '\n'; }
case "$3 $4" in
  "patch application")
    case "$9" in
      *'"automated":null'*) touch "$state/paused-$5" ;;
      *'"automated":{'*) rm -f "$state/paused-$5" ;;
      *'"operation"'*) if [ -e "$state/idle" ]; then rm "$state/idle"; start; fi ;;
      *'"value":"Terminating"'*)
        [ -e "$state/running-$5" ] || fail "the server rejected our request: testing value /status/operationState/phase failed"
        rm "$state/running-$5" ;;
      *) fail "unexpected patch $9" ;;
    esac ;;
  "get application") if [ -e "$state/running-$5" ]; then printf Running; else printf Succeeded; fi ;;
  "wait --for=jsonpath={.status.sync.status}=Synced") [ ! -e "$state/idle" ] || fail "$6 is OutOfSync" ;;
  "get secret")
    case "$5" in
      authelia) b64 "$state/secret" ;;
      authelia-storage-key-old) [ -e "$state/old" ] || fail 'secrets "authelia-storage-key-old" not found'; b64 "$state/old" ;;
      *) fail "no Secret $5" ;;
    esac ;;
  "create secret")
    [ "$7" = --from-file=key=/dev/stdin ] || fail "unexpected create $*"
    [ ! -e "$state/old" ] || fail 'secrets "authelia-storage-key-old" already exists'
    cat > "$state/old" ;;
  "delete secret") rm "$state/old" ;;
  "patch deployment")
    [ -e "$state/paused-$CLUSTER-platform" ] && [ -e "$state/paused-$CLUSTER-authelia" ] || violation "the Deployment was patched while Argo CD's self-heal would undo it"
    for running in "$state"/running-*; do [ ! -e "$running" ] || violation "the Deployment was patched while Argo CD still runs a sync ($(basename "$running")) that applies the revision again"; done
    touch "$state/idle" ;;
  "rollout status") : ;;
  "rollout restart") start ;;
  "patch bitwardensecret")
    if [ ! -e "$state/idle" ] && [ "$(cat "$state/bitwarden")" != "$(cat "$state/secret")" ]; then violation "the Secret changed while Authelia runs"; fi
    cp "$state/bitwarden" "$state/secret"; kubelet ;;
  "get bitwardensecret") echo 2026-01-01T00:00:00Z ;;
  "exec -i")
    [ -e "$state/idle" ] || violation "the CLI ran beside a running Authelia"
    [ "$5 $6 $7 $8" = "deployment/authelia -- sh -c" ] || fail "unexpected exec $*"
    script=$(printf '%s' "$9" | sed "s#/secrets/internal#$dir/mnt#g")
    AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE="$dir/mnt/storage.encryption.key" PATH="$dir/bin:$PATH" sh -c "$script" ;;
  "exec deployment/authelia")
    [ -e "$state/idle" ] || violation "the CLI ran beside a running Authelia"
    shift 6
    AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE="$dir/mnt/storage.encryption.key" "$dir/bin/authelia" "$@" ;;
  *) fail "unexpected kubectl $*" ;;
esac
`;

/** Authelia's storage CLI as far as the procedure uses it, on the stand-in's database. */
const AUTHELIA = `#!/bin/sh
state="$(dirname "$0")/../state"
if [ -n "$AUTHELIA_STORAGE_ENCRYPTION_KEY" ]; then
  [ -z "$AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE" ] || { echo "secrets: error loading secret into key 'storage.encryption_key': it's already defined in other configuration sources" >&2; exit 1; }
  key=$AUTHELIA_STORAGE_ENCRYPTION_KEY
else
  key=$(cat "$AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE")
fi
case "$1 $2 $3" in
  "storage encryption check")
    if [ "$key" = "$(cat "$state/db")" ]; then echo 'Storage Encryption Key Validation: SUCCESS'; else echo 'Storage Encryption Key Validation: FAILURE'; fi ;;
  "storage encryption change-key")
    [ "$4" = --new-encryption-key ] || { echo 'you must either use an interactive terminal or use the --new-encryption-key flag' >&2; exit 1; }
    [ "$key" != "$5" ] || { echo 'the old key and the new key are the same' >&2; exit 1; }
    [ "$key" = "$(cat "$state/db")" ] || { echo 'rollback due to error: the configured key does not decrypt the database' >&2; exit 1; }
    [ "$(printf '%s' "$5" | wc -c)" -ge 20 ] || { echo 'the new encryption key must be at least 20 characters' >&2; exit 1; }
    printf '%s' "$5" > "$state/db"
    echo 'Completed the encryption key change. Please adjust your configuration to use the new key.' ;;
  *) echo "unexpected authelia $*" >&2; exit 1 ;;
esac
`;

/** Shell lines that set the stand-in cluster up: Authelia running with the old key everywhere. */
export function standInCluster(cluster: string, bitwarden: string = OLD_KEY): string {
  return [
    'set -e',
    `export CLUSTER='${cluster}'`,
    'mkdir -p state mnt bin',
    `printf '%s' '${OLD_KEY}' > state/db`,
    `printf '%s' '${OLD_KEY}' > state/secret`,
    `printf '%s' '${bitwarden}' > state/bitwarden`,
    'cp state/secret mnt/storage.encryption.key',
    // The root's sync never ends in the reference (its last wave waits on workloads deployed
    // outside the platform): Argo CD retries it whatever the automated policy says.
    `touch 'state/running-${cluster}-platform'`,
    `cat > bin/authelia <<'AUTHELIA'\n${AUTHELIA}AUTHELIA`,
    'chmod +x bin/authelia',
  ].join('\n');
}

/** One numbered step of a procedure in the guide: its text and its shell lines. */
export interface GuideStep {
  readonly text: string;
  readonly commands: readonly string[];
}

/** The numbered steps of one section of a rotation guide. */
export function guideSteps(section: string): GuideStep[] {
  const steps: { text: string; commands: string[] }[] = [];
  let open = false;
  for (const line of section.split('\n')) {
    const numbered = /^\d+\. (.*)$/.exec(line);
    if (numbered !== null) steps.push({ text: numbered[1] as string, commands: [] });
    else if (line.trim() === '```sh') open = true;
    else if (line.trim() === '```') open = false;
    else if (open) steps.at(-1)?.commands.push(line.trim());
  }
  return steps;
}

/**
 * The shell an operator runs from the steps, in their order: each step's commands, and the
 * change in Bitwarden (the stand-in's Bitwarden gets `value`) where a step asks for it.
 */
export function operatorScript(steps: readonly GuideStep[], value: string): string {
  return steps
    .flatMap((step) => [
      ...(step.text.includes('change the entry in Bitwarden')
        ? [`printf '%s' '${value}' > state/bitwarden`]
        : []),
      ...step.commands,
    ])
    .join('\n');
}
