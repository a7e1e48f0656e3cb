// Changing the password of a volume's restic repository (POSIX sh, in the restic image: restic and
// busybox). Pure data: the scripts' text.
//
// restic encrypts the repository's master key with each password it holds a key for
// (`restic key add` adds one; restic v0.18.1 internal/repository/key.go), and opens it only with
// one of them ("wrong password or no key found", exit code 12). The movers and the verification
// read RESTIC_PASSWORD from the volume's Secret: a new value in the secret store, synced into the
// Secret, locks every backup, restore and verification out until the repository holds a key for
// it. So the runbook keeps the old password in the cluster before the entry changes, and after the
// sync these scripts run in a one-shot pod with both:
//
// ADD_KEY_SCRIPT: the new password (RESTIC_PASSWORD from the Secret, as the movers read it)
//   opens the repository already (0: nothing to do), or there is no repository yet (10: the next
//   backup makes it with the new one), or it is refused (12): the kept old password
//   (OLD_PASSWORD_FILE) adds a key for the new one (NEW_PASSWORD_FILE, the Secret's key as a
//   file), and the new password must then open it as the movers give it: restic trims a password
//   file (`loadPasswordFromFile`: strings.TrimSpace), never the variable, so a value ending in a
//   space or a line break gets a key the movers cannot use, and the script says so.
// REMOVE_KEY_SCRIPT: once the new password opens the repository, the key the old one opens
//   (`restic key list` marks the key it opened with `*`) is removed with the new one
//   (`restic key remove` refuses the key it was opened with). Run again, it finds no key of the
//   old password and removes nothing.
//
// Neither prints a password; restic prints key ids only.

/** Where the pod mounts the kept old password (its Secret's one key), and the Secret's new one. */
export const OLD_PASSWORD_MOUNT = '/old';
export const OLD_PASSWORD_KEY = 'password';
export const NEW_PASSWORD_MOUNT = '/new';
export const OLD_PASSWORD_FILE = `${OLD_PASSWORD_MOUNT}/${OLD_PASSWORD_KEY}`;
export const NEW_PASSWORD_FILE = `${NEW_PASSWORD_MOUNT}/RESTIC_PASSWORD`;

export const ADD_KEY_SCRIPT = `set -u
restic cat config >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then echo 'the new password opens the repository already: nothing to add'; exit 0; fi
if [ "$rc" -eq 10 ]; then echo 'no repository yet: the next backup makes it with the new password'; exit 0; fi
if [ "$rc" -ne 12 ]; then restic cat config >/dev/null; echo "cannot read the repository (restic exit code $rc): nothing changed" >&2; exit 1; fi
restic --password-file "$OLD_PASSWORD_FILE" key add --new-password-file "$NEW_PASSWORD_FILE" --host homelab-password-change || { echo 'the kept old password did not add a key for the new one: nothing changed' >&2; exit 1; }
restic cat config >/dev/null || { echo 'the new key does not open the repository with the password the movers read (the value ends in a space or a line break?); the old password still does: change the entry again, sync it, and run this block again' >&2; exit 1; }
echo 'the new password opens the repository'
`;

export const REMOVE_KEY_SCRIPT = `set -u
restic cat config >/dev/null || { echo 'the new password does not open the repository: run the block that adds it first' >&2; exit 1; }
old=$(restic --password-file "$OLD_PASSWORD_FILE" key list 2>/dev/null | sed -n 's/^\\*\\([0-9a-f][0-9a-f]*\\) .*/\\1/p')
if [ -z "$old" ]; then echo 'the old password opens no key of the repository: nothing to remove'; exit 0; fi
new=$(restic key list | sed -n 's/^\\*\\([0-9a-f][0-9a-f]*\\) .*/\\1/p')
if [ "$old" = "$new" ]; then echo "the old and the new password open the same key ($old): the entry did not change; nothing removed" >&2; exit 1; fi
restic key remove "$old" || { echo "key $old not removed: run this block again (a backup running holds the repository)" >&2; exit 1; }
echo "removed the old password's key $old"
`;
