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

/** The Secret the backup provider reads a volume's restic repository and S3 credentials from. */
export function volumeBackupSecret(volume: VolumeRequest): SecretRequirement {
  return {
    name: volumeBackupSecretName(volume),
    namespace: volume.namespace,
    keys: [...VOLUME_BACKUP_SECRET_KEYS],
    description: `restic repository URL, repository password and S3 credentials of the backups of volume ${volume.namespace}/${volume.name}`,
  };
}
