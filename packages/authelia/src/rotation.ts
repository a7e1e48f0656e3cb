// How the storage encryption key of a cluster's Authelia is changed, as the rotation procedure
// the secrets provider's guide runs (clusters/<cluster>/rotating-secrets.md). Pure.
//
// What it rests on (Authelia v4.39.19, internal/commands and internal/storage):
// - `authelia storage encryption change-key` decrypts every encrypted row with the configured key
//   (`storage.encryption_key`) and encrypts it again with the new one, in one transaction
//   (`SchemaEncryptionChangeKey`); a wrong configured key fails the decryption and rolls back.
// - The new key comes only from `--new-encryption-key` or, without it, from a terminal prompt
//   (`termReadPasswordWithPrompt`: no terminal, no key); it must be at least 20 characters.
// - The storage commands read the same configuration as the server: `X_AUTHELIA_CONFIG`, its
//   filters, the `AUTHELIA_*` variables and `*_FILE` secrets (`HelperConfigLoadRunE`), so inside
//   the pod they find the backend (the SQLite file on the claim, or PostgreSQL with its password
//   file) and the current key by themselves. A key set both as `AUTHELIA_X` and `AUTHELIA_X_FILE`
//   is refused (`errFmtSecretAlreadyDefined`), and the sources are loaded twice (definitions,
//   then configuration), so a `*_FILE` cannot point at stdin.
// - The server checks the key only at start (`StartupCheck`: `ErrSchemaEncryptionInvalidKey`) and
//   keeps it in memory: a server running while the key changes goes on writing rows with the old
//   key, which the new one cannot read, and a server that starts with a key the database is not
//   encrypted with refuses to start.
// Hence: every Authelia pod stopped before the Secret can change (the Deployment turned into one
// idle pod with the same configuration, mounts and labels: `kubectl exec` runs the CLI there,
// with the network policies of Authelia), the old key kept in the cluster, the re-encryption once
// the new key is mounted, then Argo CD puts the Deployment back and the pods start with the key
// the database now has.
import {
  boundedWait,
  type RotationProcedure,
  type SecretRequirement,
  shellQuote,
  WAIT_SECONDS,
} from '@homelab/core';
import { SECRETS_MOUNT } from './access.js';
import { SQLITE_PATH } from './config.js';
import {
  AUTHELIA_NAMESPACE,
  type ResolvedAutheliaSettings,
  SECRET,
  SECRET_KEYS,
} from './settings.js';

/** The Deployment the chart makes (named after the release). */
export const DEPLOYMENT = 'authelia';
/** The Secret that keeps the old storage key while the database is re-encrypted. */
export const OLD_STORAGE_KEY_SECRET = 'authelia-storage-key-old';
/** Where the chart mounts the Secret `authelia` (its `*_FILE` variables point there). */
const MOUNTED_STORAGE_KEY = `${SECRETS_MOUNT}/internal/${SECRET_KEYS.storage}`;
/** What `authelia storage encryption check` prints when the configured key opens the database. */
export const CHECK_SUCCESS = 'Storage Encryption Key Validation: SUCCESS';

/**
 * The Deployment as one idle pod: one replica, `Recreate` (every Authelia pod is gone before it
 * starts), `sleep` instead of Authelia and no probes (they ask Authelia's health endpoint). The
 * `test` stops the patch if the first container is not Authelia's.
 */
const IDLE_PATCH = JSON.stringify([
  { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'authelia' },
  { op: 'replace', path: '/spec/replicas', value: 1 },
  { op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } },
  { op: 'replace', path: '/spec/template/spec/containers/0/command', value: ['sleep', '86400'] },
  { op: 'remove', path: '/spec/template/spec/containers/0/startupProbe' },
  { op: 'remove', path: '/spec/template/spec/containers/0/livenessProbe' },
  { op: 'remove', path: '/spec/template/spec/containers/0/readinessProbe' },
]);

/**
 * A shell line run in the idle pod with the old key as the configured one: read from stdin (the
 * copy kept in the cluster, piped in), as `AUTHELIA_STORAGE_ENCRYPTION_KEY` in place of the
 * chart's `*_FILE` variable.
 */
function withOldKey(script: string): string {
  const ns = shellQuote(AUTHELIA_NAMESPACE);
  const inPod = `AUTHELIA_STORAGE_ENCRYPTION_KEY="$(cat)" && export AUTHELIA_STORAGE_ENCRYPTION_KEY && unset AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE && ${script}`;
  return `kubectl -n ${ns} get secret ${shellQuote(OLD_STORAGE_KEY_SECRET)} -o jsonpath='{.data.key}' | base64 -d | kubectl -n ${ns} exec -i deployment/${DEPLOYMENT} -- sh -c ${shellQuote(inPod)}`;
}

function backend(settings: ResolvedAutheliaSettings): string {
  const { storage } = settings;
  return storage.kind === 'sqlite'
    ? `Its database is the SQLite file \`${SQLITE_PATH}\` on Authelia\u2019s volume: the idle pod mounts the same volume, so the re-encryption runs on the file itself, with no Authelia writing to it.`
    : `Its database is PostgreSQL (\`${storage.database}\` at \`${storage.address}\`, user \`${storage.username}\`): the idle pod reaches it with Authelia\u2019s configuration, password file and network policy, while none of the ${settings.replicas === 1 ? 'Authelia pod' : `${settings.replicas} Authelia pods`} runs.`;
}

/** The procedure of `storage.encryption.key` on a cluster with these settings. */
export function storageKeyProcedure(settings: ResolvedAutheliaSettings): RotationProcedure {
  const ns = shellQuote(AUTHELIA_NAMESPACE);
  const secret = shellQuote(SECRET);
  const old = shellQuote(OLD_STORAGE_KEY_SECRET);
  const waitMounted = boundedWait({
    condition: `[ "$(cat ${MOUNTED_STORAGE_KEY})" != "$AUTHELIA_STORAGE_ENCRYPTION_KEY" ]`,
    seconds: WAIT_SECONDS.mountedSecret,
    interval: 5,
    message:
      'the mounted key is still the old one: change the entry in Bitwarden, sync it again, and run this block again',
  });
  return {
    why: [
      'Authelia encrypts its database (second factors, OIDC sessions, consents) with this key, checks it only when it starts and refuses to start with another one; `authelia storage encryption change-key` re-encrypts the database from the configured key to a new one, in one transaction, and a pod running meanwhile would go on writing with the old key. So no Authelia pod may run from before the new value can reach the Secret until the database has it.',
      `The steps turn the Deployment into one idle pod with Authelia\u2019s configuration, mounts and labels (Argo CD puts it back at the end), keep the old key in the Secret \`${OLD_STORAGE_KEY_SECRET}\`, and run the CLI in that pod, where it reads the backend and the current key from the same configuration as the server. The new key goes from Bitwarden to the Secret and the pod only: no command shows it or takes it on your command line (inside the pod it is the CLI\u2019s \`--new-encryption-key\`, its only input besides a terminal prompt). ${backend(settings)} Authelia is down (logins fail) from the step that stops it until the last step.`,
      `A copy of the database made before (a dump, a volume backup) opens only with the old key: keep it (in Bitwarden, as another entry) as long as you keep such copies.`,
    ],
    before: {
      text: `Keep the old key, stop every Authelia pod, and check that the kept key opens the database: the last command prints the success line. If it does not, the Secret no longer holds the key the database has (the entry changed already): stop here and put the entry\u2019s old value back. If the Secret \`${OLD_STORAGE_KEY_SECRET}\` exists already, an earlier rotation did not finish and it may hold the only copy of the database\u2019s key: finish that one (the re-encryption below) instead.`,
      commands: [
        `kubectl -n ${ns} get secret ${secret} -o jsonpath='{.data.storage\\.encryption\\.key}' | base64 -d | kubectl -n ${ns} create secret generic ${old} --from-file=key=/dev/stdin`,
        `kubectl -n ${ns} patch deployment ${DEPLOYMENT} --type=json -p ${shellQuote(IDLE_PATCH)}`,
        `kubectl -n ${ns} rollout status deployment/${DEPLOYMENT} --timeout=10m`,
        `${withOldKey('exec authelia storage encryption check')} | grep -x ${shellQuote(CHECK_SUCCESS)}`,
      ],
    },
    value:
      'a new random value of at least 20 characters (Authelia refuses shorter keys; Bitwarden\u2019s generator, 64 characters)',
    after: {
      text: `Re-encrypt the database once the kubelet has mounted the new key in the idle pod (it waits up to ${WAIT_SECONDS.mountedSecret / 60} minutes), then check that the new key opens it. If the re-encryption fails, the database still has the old key: do not go on; fix the cause (a key shorter than 20 characters: change the entry again and sync) and run this block again.`,
      commands: [
        withOldKey(
          `${waitMounted} && exec authelia storage encryption change-key --new-encryption-key "$(cat ${MOUNTED_STORAGE_KEY})"`,
        ),
        `kubectl -n ${ns} exec deployment/${DEPLOYMENT} -- authelia storage encryption check --verbose | grep -x ${shellQuote(CHECK_SUCCESS)}`,
      ],
    },
    done: {
      text: 'Wait until Authelia runs again with the new key, then delete the kept old key (save it first if you keep copies of the database made before):',
      commands: [
        `kubectl -n ${ns} rollout status deployment/${DEPLOYMENT} --timeout=10m`,
        `kubectl -n ${ns} delete secret ${old} --timeout=1m`,
      ],
    },
  };
}

/** Authelia's Secret requirements with the procedure of its storage encryption key. */
export function withRotationProcedures(
  requirements: readonly SecretRequirement[],
  settings: ResolvedAutheliaSettings,
): SecretRequirement[] {
  return requirements.map((requirement) =>
    requirement.name === SECRET && requirement.namespace === AUTHELIA_NAMESPACE
      ? { ...requirement, procedures: { [SECRET_KEYS.storage]: storageKeyProcedure(settings) } }
      : requirement,
  );
}
