// What a declared volume with a backup policy implies, as the contract states it: the backup
// provider reads the volume's restic repository and its S3 credentials from one Secret in the
// volume's namespace, filled by the `secrets` provider. The component that declares the volume
// declares that Secret too (`secrets: [volumeBackupSecret(volume)]`): providers run before their
// consumers, so only the consumer knows its volumes when declarations are made. Pure.
import type { SecretRequirement, VolumeRequest } from './contract.js';

/** Keys of a volume's backup Secret: restic's environment (repository URL, password, S3). */
export const VOLUME_BACKUP_SECRET_KEYS = [
  'RESTIC_REPOSITORY',
  'RESTIC_PASSWORD',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

/** Name of the backup Secret of a volume: `<volume>-restic`. */
export function volumeBackupSecretName(volume: Pick<VolumeRequest, 'name'>): string {
  return `${volume.name}-restic`;
}

/** Name of the object that fills a new claim of a volume from its backup: `<volume>-bootstrap`. */
export function volumePopulatorName(volume: Pick<VolumeRequest, 'name'>): string {
  return `${volume.name}-bootstrap`;
}

/**
 * The `dataSourceRef` a backed-up volume's claim takes from the backup provider's populator
 * (its fact `populator`); `undefined` for a volume without backups or a provider without one.
 */
export function volumePopulatorSource(
  volume: Pick<VolumeRequest, 'name' | 'backup'>,
  populator: { readonly apiGroup: string; readonly kind: string } | undefined,
): VolumeRequest['dataSourceRef'] {
  if (populator === undefined || volume.backup === undefined) return undefined;
  return { apiGroup: populator.apiGroup, kind: populator.kind, name: volumePopulatorName(volume) };
}

/**
 * The Argo CD `ignoreDifferences` entry, for the Application that holds it, of the claim of
 * `volume` (every claim, whether it names a populator or not): a claim's `spec.dataSourceRef` is
 * immutable, so a claim created before the populator existed (an upgraded platform, or one etcd
 * brought back) keeps none, and one created with it keeps it when the volume's backups are turned
 * off later. With the entry (and the `RespectIgnoreDifferences=true` it brings) Argo CD v3.4.4
 * neither reports the difference nor applies the field to the live claim
 * (`normalizeTargetResources` copies ignored fields from the live object); a claim it creates
 * gets the field from Git. It names the claim, so it covers only the claims the consumer makes.
 */
export function volumePopulatorIgnore(volume: Pick<VolumeRequest, 'name' | 'namespace'>): {
  group: string;
  kind: string;
  name: string;
  namespace: string;
  jsonPointers: string[];
} {
  return {
    group: '',
    kind: 'PersistentVolumeClaim',
    name: volume.name,
    namespace: volume.namespace,
    jsonPointers: ['/spec/dataSource', '/spec/dataSourceRef'],
  };
}

/**
 * The restic repository of a volume under the backup provider's prefix (its fact
 * `resticRepositoryPrefix`): `<prefix>/<namespace>/<volume>`.
 */
export function volumeResticRepository(
  prefix: string,
  volume: Pick<VolumeRequest, 'name' | 'namespace'>,
): string {
  return `${prefix}/${volume.namespace}/${volume.name}`;
}

/**
 * The Secret the backup provider reads a volume's restic repository and S3 credentials from.
 * With the provider's `resticRepositoryPrefix`, its description names the exact
 * `RESTIC_REPOSITORY` the operator puts into the secret store: the repository the provider's
 * disaster-recovery guide restores from.
 */
export function volumeBackupSecret(
  volume: VolumeRequest,
  resticRepositoryPrefix?: string,
  passwordChange?: string,
): SecretRequirement {
  const url =
    resticRepositoryPrefix === undefined
      ? undefined
      : volumeResticRepository(resticRepositoryPrefix, volume);
  const repository = url === undefined ? '' : `; RESTIC_REPOSITORY must be ${url}`;
  return {
    name: volumeBackupSecretName(volume),
    namespace: volume.namespace,
    keys: [...VOLUME_BACKUP_SECRET_KEYS],
    description: `restic repository URL, repository password and S3 credentials of the backups of volume ${volume.namespace}/${volume.name}${repository}`,
    ...(url === undefined ? {} : { values: { RESTIC_REPOSITORY: url } }),
    // Every backup, restore and verification is a new pod that reads the Secret (VolSync's
    // mover Jobs, the verification CronJob's Jobs): the next run has the new value.
    readers: [
      {
        kind: 'Job',
        name: `the restic movers and verifications of ${volume.name}`,
        reads: 'run',
        how: 'environment variables of each run\u2019s pod',
      },
    ],
    rotation: {
      ...S3_KEY_ROTATION,
      RESTIC_PASSWORD:
        passwordChange === undefined
          ? 'restic opens a repository only with a password it holds a key for: a new value alone locks every backup, restore and verification out of it. Before the change, on the repository of every cluster that reads this entry, add a key for the new password with the old one (`restic key add`); after it, remove the old key with the new password (`restic key remove`).'
          : `restic opens a repository only with a password it holds a key for: a new value alone locks every backup, restore and verification out of it. Follow ${passwordChange} around the commands below: its first step keeps the old password in the cluster, before the entry changes (on every cluster that reads this entry, all before the change); after the sync below, its next steps add a key for the new password with the old one, then remove the old key.`,
      RESTIC_REPOSITORY:
        url === undefined
          ? 'A new repository starts empty (the next backup initialises it); the snapshots stay in the old one, which restores no longer read.'
          : `The definition decides it: it must stay \`${url}\`. The restore verification fails while the Secret names another repository, and the disaster recovery restores from this one. To move the backups, change the backup provider's bucket or prefix in the definition and build, then set this entry to the repository the build names.`,
    },
  };
}

/**
 * What else changes with an S3 access key (a rotation guide's note per key): the provider keeps
 * the old key valid until every reader has the new one.
 */
export const S3_KEY_ROTATION: { readonly [key: string]: string } = {
  AWS_ACCESS_KEY_ID:
    'Create the new access key at the S3 provider first and change both keys together (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`); revoke the old key only when every reader below has the new one.',
  AWS_SECRET_ACCESS_KEY:
    'Belongs to `AWS_ACCESS_KEY_ID`: change both together, and revoke the old key at the provider only when every reader below has the new one.',
};
