// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// Where the backups go is read back from the etcd snapshots' CronJob (talos-backup's
// environment: the S3 endpoint and bucket the volumes' restic repositories share, its own
// prefix, the age recipient of its snapshots). A new bucket does not move what the old one holds,
// and a new age recipient does not re-encrypt the snapshots taken for the old one.
import {
  type ChangeCheck,
  type ChangedObject,
  type Issue,
  settingsPath,
  warning,
} from '@homelab/core';
import { ETCD_BACKUP_NAMESPACE } from './settings.js';

type Table = { readonly [key: string]: unknown };

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** talos-backup's plain environment variables among `objects`, if its CronJob is there. */
function talosBackupEnvironment(
  objects: readonly ChangedObject[],
): { chart: string; env: Map<string, string> } | undefined {
  for (const { chart, object } of objects) {
    if (
      object.apiVersion !== 'batch/v1' ||
      object.kind !== 'CronJob' ||
      object.metadata.name !== 'talos-backup' ||
      object.metadata.namespace !== ETCD_BACKUP_NAMESPACE
    ) {
      continue;
    }
    let at: unknown = object.spec;
    for (const key of ['jobTemplate', 'spec', 'template', 'spec']) {
      at = isTable(at) ? at[key] : undefined;
    }
    const containers = isTable(at) && Array.isArray(at.containers) ? at.containers : [];
    const env = new Map<string, string>();
    for (const container of containers) {
      const list = isTable(container) && Array.isArray(container.env) ? container.env : [];
      for (const entry of list) {
        if (isTable(entry) && typeof entry.name === 'string' && typeof entry.value === 'string') {
          env.set(entry.name, entry.value);
        }
      }
    }
    return { chart, env };
  }
  return undefined;
}

/**
 * The bucket (endpoint, bucket) or the etcd snapshots' age recipient changed against the last
 * build's: the snapshots and repositories already written stay where they are, readable as
 * before. A warning each, with what to keep.
 */
export const backupTargetCheck: ChangeCheck = {
  name: 'backup-target-changed',
  description:
    "The backups keep the bucket and the etcd snapshots' age recipient the last build deployed, or the build says what stays behind: a new bucket starts empty (the etcd snapshots and every volume's restic repository, whose URL in the secret store must follow) while the old one keeps what was written, and a new age recipient leaves the older snapshots readable only with the old private key.",
  check({ cluster, before, after }) {
    const was = talosBackupEnvironment(before);
    const now = talosBackupEnvironment(after);
    if (was === undefined || now === undefined) return [];
    const issues: Issue[] = [];
    const target = (env: Map<string, string>) =>
      `${env.get('CUSTOM_S3_ENDPOINT') ?? 'AWS S3'}/${env.get('BUCKET') ?? '?'}`;
    const wasTarget = target(was.env);
    const nowTarget = target(now.env);
    if (wasTarget !== nowTarget) {
      issues.push(
        warning({
          code: 'backup-target-changed',
          path: settingsPath(cluster, 'backups', 's3'),
          output: `charts/${now.chart}`,
          value: nowTarget,
          message: `moves the backups of cluster "${cluster.name}" from ${wasTarget}, which the last build deployed, to ${nowTarget}: the new bucket starts empty, the etcd snapshots and every volume's restic repository there (a volume restored or bootstrapped from it finds no backup until its first one), and what the old bucket holds stays there`,
          expected: `each volume's RESTIC_REPOSITORY entry in the secret store changed to the URL the runbook's secrets step names for the new bucket, before Argo CD syncs; to keep the history, copy it over first (\`restic copy --from-repo <old repository>\` per volume, the etcd snapshots with your S3 tool), and keep the old bucket until the new one holds what the restores need`,
        }),
      );
    }
    const wasKey = was.env.get('AGE_X25519_PUBLIC_KEY');
    const nowKey = now.env.get('AGE_X25519_PUBLIC_KEY');
    if (wasKey !== undefined && nowKey !== undefined && wasKey !== nowKey) {
      issues.push(
        warning({
          code: 'backup-target-changed',
          path: settingsPath(cluster, 'backups', 'etcd', 'agePublicKey'),
          output: `charts/${now.chart}`,
          value: nowKey,
          message: `encrypts the etcd snapshots of cluster "${cluster.name}" to another age recipient than the last build deployed (${wasKey}): the snapshots already taken stay encrypted to the old one`,
          expected: `the old private key kept offline as long as a snapshot encrypted to it is kept in the bucket (a restore of one needs it: \`age -d -i <old key file>\`)`,
        }),
      );
    }
    return issues;
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const backupsChanges: readonly ChangeCheck[] = [backupTargetCheck];
