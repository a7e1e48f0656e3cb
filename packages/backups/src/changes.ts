// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// Where the backups go is read back from the objects the last build wrote: the etcd snapshots'
// CronJob (talos-backup's environment: the S3 endpoint and bucket, the age recipient of its
// snapshots) and each protected volume's ReplicationSource (its restic repository, the
// `backup.homelab.dev/repository` annotation). A new bucket or repository does not move what the
// old one holds, and a new age recipient does not re-encrypt the snapshots taken for the old one.
import {
  type ChangeCheck,
  type ChangedObject,
  type Issue,
  isJson as isTable,
  settingsPath,
  warning,
} from '@homelab/core';
import { REPOSITORY_ANNOTATION, VOLUME_LABEL } from './manifests.js';
import { ETCD_BACKUP_NAMESPACE } from './settings.js';

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

/** A protected volume's restic repository, as its ReplicationSource names it. */
interface SourceRepository {
  readonly chart: string;
  readonly namespace: string;
  /** The volume's Secret (the ReplicationSource's `spec.restic.repository`). */
  readonly secret: string;
  /** `s3:<endpoint>/<bucket>/<prefix>/<cluster>`: the repository less `/<namespace>/<volume>`. */
  readonly prefix: string;
  readonly repository: string;
}

/** The restic repository of every ReplicationSource among `objects` that names one, by namespace/name. */
function sourceRepositories(objects: readonly ChangedObject[]): Map<string, SourceRepository> {
  const out = new Map<string, SourceRepository>();
  for (const { chart, object } of objects) {
    if (object.apiVersion !== 'volsync.backube/v1alpha1' || object.kind !== 'ReplicationSource') {
      continue;
    }
    const repository = object.metadata.annotations?.[REPOSITORY_ANNOTATION];
    const namespace = object.metadata.namespace ?? '';
    const volume = object.metadata.labels?.[VOLUME_LABEL];
    const restic = isTable(object.spec) && isTable(object.spec.restic) ? object.spec.restic : {};
    if (typeof repository !== 'string' || typeof restic.repository !== 'string') continue;
    const suffix = `/${namespace}/${volume ?? ''}`;
    out.set(`${namespace}/${object.metadata.name}`, {
      chart,
      namespace,
      secret: restic.repository,
      prefix: repository.endsWith(suffix) ? repository.slice(0, -suffix.length) : repository,
      repository,
    });
  }
  return out;
}

/** The volumes whose repository differs from the last build's, in the order of `after`. */
function movedRepositories(
  before: readonly ChangedObject[],
  after: readonly ChangedObject[],
): { was: SourceRepository; now: SourceRepository }[] {
  const was = sourceRepositories(before);
  const moved: { was: SourceRepository; now: SourceRepository }[] = [];
  for (const [key, now] of sourceRepositories(after)) {
    const old = was.get(key);
    // An endpoint with a query, a fragment or credentials is refused (its error says why, with
    // the value masked): a repository URL made from it would print them here.
    if (/[?#@]/.test(now.repository)) continue;
    if (old !== undefined && old.repository !== now.repository) moved.push({ was: old, now });
  }
  return moved;
}

/** `s3:<scheme>://<host>/<bucket>` of a repository (the endpoint has no path). */
function bucketOf(repository: string): string {
  return repository.split('/').slice(0, 4).join('/');
}

/**
 * The restic repository of a protected volume changed against the last build's (another bucket,
 * endpoint or `restic.prefix`): VolSync keeps writing where the volume's Secret points, and the
 * new repository starts empty. One warning per cluster, naming every Secret entry to change.
 */
export const backupRepositoryCheck: ChangeCheck = {
  name: 'backup-repository-changed',
  description:
    "Every protected volume keeps the restic repository the last build deployed (its ReplicationSource's `backup.homelab.dev/repository`), or the build names the secret-store entries to change: VolSync backs up to whatever the volume's Secret's RESTIC_REPOSITORY says, so the backups go on into the old repository (and the restore verification fails) until each entry names the new one, which then starts empty while the old one keeps every snapshot taken so far.",
  check({ cluster, before, after }) {
    const moved = movedRepositories(before, after);
    const first = moved[0];
    if (first === undefined) return [];
    const from = [...new Set(moved.map(({ was }) => was.prefix))].join(', ');
    const to = [...new Set(moved.map(({ now }) => now.prefix))].join(', ');
    const bucketMoved = moved.some(
      ({ was, now }) => bucketOf(was.repository) !== bucketOf(now.repository),
    );
    const entries = moved
      .map(({ now }) => `${now.namespace}/${now.secret}: RESTIC_REPOSITORY=${now.repository}`)
      .join('; ');
    const each = moved.length === 1 ? 'the volume' : `each of the ${moved.length} volumes`;
    return [
      warning({
        code: 'backup-repository-changed',
        path: bucketMoved
          ? settingsPath(cluster, 'backups', 's3')
          : settingsPath(cluster, 'backups', 'restic', 'prefix'),
        output: `charts/${first.now.chart}`,
        value: to,
        message: `moves the restic repositories of ${moved.length} protected ${moved.length === 1 ? 'volume' : 'volumes'} on cluster "${cluster.name}" from ${from}, which the last build deployed, to ${to}: VolSync backs each volume up to the repository its Secret's RESTIC_REPOSITORY names, so the backups go on into the old one, and each restore verification fails (its Secret names another repository than the definition), until the secret store's entry names the new one; from then the new repository starts empty (the first backup initialises it) and the snapshots taken so far stay in the old one`,
        expected: `for ${each}, RESTIC_REPOSITORY of its entry in the secret store set to the new repository (${entries}); to keep the history, copy it over first (\`restic -r <new repository> copy --from-repo <old repository>\` per volume, with \`--cacert <a file holding s3.caCertificate>\` where the endpoint has a CA of its own), and keep the old repositories until the new ones hold what the restores need`,
      }),
    ];
  },
};

/**
 * The bucket (endpoint, bucket) or the etcd snapshots' age recipient changed against the last
 * build's: the snapshots and repositories already written stay where they are, readable as
 * before. A warning each, with what to keep.
 */
export const backupTargetCheck: ChangeCheck = {
  name: 'backup-target-changed',
  description:
    "The backups keep the bucket, the etcd snapshots' folder in it and their age recipient the last build deployed, or the build says what stays behind: a new bucket or folder starts empty (the etcd snapshots and every volume's restic repository, whose URL in the secret store must follow) while the old one keeps what was written, and a new age recipient leaves the older snapshots readable only with the old private key.",
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
      // The volumes' repositories, when their ReplicationSources name them, have their own
      // warning (backup-repository-changed), with each entry to change.
      const volumes = movedRepositories(before, after).length === 0;
      issues.push(
        warning({
          code: 'backup-target-changed',
          path: settingsPath(cluster, 'backups', 's3'),
          output: `charts/${now.chart}`,
          value: nowTarget,
          message: volumes
            ? `moves the backups of cluster "${cluster.name}" from ${wasTarget}, which the last build deployed, to ${nowTarget}: the new bucket starts empty, the etcd snapshots and every volume's restic repository there (a volume restored or bootstrapped from it finds no backup until its first one), and what the old bucket holds stays there`
            : `moves the etcd snapshots of cluster "${cluster.name}" from ${wasTarget}, which the last build deployed, to ${nowTarget}: the new bucket starts empty, and the snapshots the old bucket holds stay there (a restore of etcd from the new bucket finds none until the next snapshot)`,
          expected: volumes
            ? `each volume's RESTIC_REPOSITORY entry in the secret store changed to the URL the runbook's secrets step names for the new bucket, before Argo CD syncs; to keep the history, copy it over first (\`restic copy --from-repo <old repository>\` per volume, with \`--cacert <a file holding s3.caCertificate>\` where the endpoint has a CA of its own, the etcd snapshots with your S3 tool), and keep the old bucket until the new one holds what the restores need`
            : `the snapshots copied over with your S3 tool to keep them, and the old bucket kept until the new one holds a snapshot`,
        }),
      );
    }
    // The same bucket, another folder in it (`etcd.prefix`): the snapshots so far stay in the old one.
    const wasPrefix = was.env.get('S3_PREFIX');
    const nowPrefix = now.env.get('S3_PREFIX');
    if (
      wasTarget === nowTarget &&
      wasPrefix !== undefined &&
      nowPrefix !== undefined &&
      wasPrefix !== nowPrefix
    ) {
      issues.push(
        warning({
          code: 'backup-target-changed',
          path: settingsPath(cluster, 'backups', 'etcd', 'prefix'),
          output: `charts/${now.chart}`,
          value: `${nowTarget}/${nowPrefix}`,
          message: `moves the etcd snapshots of cluster "${cluster.name}" from ${wasTarget}/${wasPrefix}, which the last build deployed, to ${nowTarget}/${nowPrefix}: the next snapshot is the first there, and the snapshots taken so far stay under ${wasPrefix}, where disaster-recovery.md no longer looks`,
          expected: `the snapshots kept under ${wasPrefix} until one is taken under ${nowPrefix} (to restore an older one, list ${wasPrefix} with your S3 tool), or moved there with your S3 tool`,
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
export const backupsChanges: readonly ChangeCheck[] = [backupTargetCheck, backupRepositoryCheck];
