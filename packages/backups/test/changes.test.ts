// `backup-target-changed` on talos-backup CronJobs made here (the pipeline hands the component
// both sides: packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ChangedObject, ResolvedCluster } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { backupRepositoryCheck, backupsChanges, backupTargetCheck } from '../src/changes.js';
import { backupsComponent } from '../src/index.js';

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };

function talosBackup(env: { [name: string]: string }, name = 'talos-backup'): ChangedObject {
  return {
    chart: 'backups',
    object: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: 'talos-backup' },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'talos-backup',
                    env: [
                      {
                        name: 'AWS_ACCESS_KEY_ID',
                        valueFrom: { secretKeyRef: { name: 's', key: 'k' } },
                      },
                      ...Object.entries(env).map(([key, value]) => ({ name: key, value })),
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    },
  };
}

const BASE = {
  CUSTOM_S3_ENDPOINT: 'https://s3.lab',
  BUCKET: 'b',
  AGE_X25519_PUBLIC_KEY: 'age1old',
};
const check = (before: ChangedObject[], after: ChangedObject[]) =>
  backupTargetCheck.check({ ...NO_VALUES, cluster, before, after });

describe('backup-target-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(backupsComponent.changes).toBe(backupsChanges);
  });

  it('warns of another bucket at the S3 settings and of another age recipient at the key', () => {
    const issues = check(
      [talosBackup(BASE)],
      [talosBackup({ ...BASE, BUCKET: 'c', AGE_X25519_PUBLIC_KEY: 'age1new' })],
    );
    expect(issues.map((issue) => [issue.severity, issue.value, issue.path])).toEqual([
      ['warning', 'https://s3.lab/c', ['clusters', 0, 'components', 'backups', 's3']],
      ['warning', 'age1new', ['clusters', 0, 'components', 'backups', 'etcd', 'agePublicKey']],
    ]);
    expect(issues[0]?.message).toContain(
      'from https://s3.lab/b, which the last build deployed, to https://s3.lab/c',
    );
    expect(issues[0]?.expected).toContain('`restic copy --from-repo <old repository>`');
    // AWS S3 (no custom endpoint) named as such.
    const aws = check([talosBackup({ BUCKET: 'b' })], [talosBackup({ BUCKET: 'c' })]);
    expect(aws[0]?.value).toBe('AWS S3/c');
  });

  it('warns of another etcd prefix in the same bucket at the prefix, and leaves it to the bucket warning otherwise', () => {
    const issues = check(
      [talosBackup({ ...BASE, S3_PREFIX: 'etcd/dev' })],
      [talosBackup({ ...BASE, S3_PREFIX: 'snapshots/dev' })],
    );
    expect(issues.map((issue) => [issue.severity, issue.value, issue.path])).toEqual([
      [
        'warning',
        'https://s3.lab/b/snapshots/dev',
        ['clusters', 0, 'components', 'backups', 'etcd', 'prefix'],
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'moves the etcd snapshots of cluster "dev" from https://s3.lab/b/etcd/dev, which the last build deployed, to https://s3.lab/b/snapshots/dev: the next snapshot is the first there, and the snapshots taken so far stay under etcd/dev, where disaster-recovery.md no longer looks',
    );
    const both = check(
      [talosBackup({ ...BASE, S3_PREFIX: 'etcd/dev' })],
      [talosBackup({ ...BASE, BUCKET: 'c', S3_PREFIX: 'snapshots/dev' })],
    );
    expect(both.map((issue) => issue.path.at(-1))).toEqual(['s3']);
  });

  it('says nothing of the same target, another CronJob, or etcd snapshots on one side only', () => {
    expect(check([talosBackup(BASE)], [talosBackup(BASE)])).toEqual([]);
    expect(
      check([talosBackup(BASE, 'other')], [talosBackup({ ...BASE, BUCKET: 'c' }, 'other')]),
    ).toEqual([]);
    expect(check([], [talosBackup(BASE)])).toEqual([]);
    expect(check([talosBackup(BASE)], [])).toEqual([]);
  });
});

function source(
  namespace: string,
  volume: string,
  repository: string | undefined,
  chart = 'applications',
): ChangedObject {
  return {
    chart,
    object: {
      apiVersion: 'volsync.backube/v1alpha1',
      kind: 'ReplicationSource',
      metadata: {
        name: `${volume}-backup`,
        namespace,
        labels: { 'backup.homelab.dev/volume': volume },
        ...(repository === undefined
          ? {}
          : { annotations: { 'backup.homelab.dev/repository': repository } }),
      },
      spec: { sourcePVC: volume, restic: { repository: `${volume}-restic` } },
    },
  };
}

const OLD = 's3:https://s3.lab/b/restic/dev';
const repositoryCheck = (before: ChangedObject[], after: ChangedObject[]) =>
  backupRepositoryCheck.check({ ...NO_VALUES, cluster, before, after });

describe('backup-repository-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(backupsChanges).toContain(backupRepositoryCheck);
  });

  it('warns once per cluster of another restic prefix, naming every Secret entry to change', () => {
    const before = [
      source('paperless', 'data', `${OLD}/paperless/data`),
      source('media', 'library', `${OLD}/media/library`),
    ];
    const NEW = 's3:https://s3.lab/b/volumes/dev';
    const issues = repositoryCheck(before, [
      source('paperless', 'data', `${NEW}/paperless/data`),
      source('media', 'library', `${NEW}/media/library`),
    ]);
    expect(issues.map((issue) => [issue.severity, issue.code, issue.value, issue.path])).toEqual([
      [
        'warning',
        'backup-repository-changed',
        NEW,
        ['clusters', 0, 'components', 'backups', 'restic', 'prefix'],
      ],
    ]);
    expect(issues[0]?.output).toBe('charts/applications');
    expect(issues[0]?.message).toContain(
      `moves the restic repositories of 2 protected volumes on cluster "dev" from ${OLD}, which the last build deployed, to ${NEW}`,
    );
    expect(issues[0]?.expected).toContain(
      `for each of the 2 volumes, RESTIC_REPOSITORY of its entry in the secret store set to the new repository (paperless/data-restic: RESTIC_REPOSITORY=${NEW}/paperless/data; media/library-restic: RESTIC_REPOSITORY=${NEW}/media/library)`,
    );
  });

  it('says nothing of a repository made from an endpoint with a query or credentials (refused, its error masks them)', () => {
    for (const endpoint of [
      's3:https://s3.lab/?X-Amz-Signature=abc123/b/restic/dev',
      's3:https://key:pw@s3.lab/b/restic/dev',
    ]) {
      const issues = repositoryCheck(
        [source('paperless', 'data', `${OLD}/paperless/data`)],
        [source('paperless', 'data', `${endpoint}/paperless/data`)],
      );
      expect(issues, endpoint).toEqual([]);
    }
  });

  it('puts another bucket or endpoint at the S3 settings', () => {
    for (const moved of ['s3:https://s3.lab/c/restic/dev', 's3:https://minio.lab/b/restic/dev']) {
      const issues = repositoryCheck(
        [source('paperless', 'data', `${OLD}/paperless/data`)],
        [source('paperless', 'data', `${moved}/paperless/data`)],
      );
      expect(issues.map((issue) => issue.path)).toEqual([
        ['clusters', 0, 'components', 'backups', 's3'],
      ]);
      expect(issues[0]?.message).toContain('restic repositories of 1 protected volume on');
      expect(issues[0]?.expected).toContain('for the volume, RESTIC_REPOSITORY');
    }
  });

  it('says nothing of the same repository, a new or removed volume, or a side without the annotation', () => {
    const data = source('paperless', 'data', `${OLD}/paperless/data`);
    expect(repositoryCheck([data], [data])).toEqual([]);
    const moved = 's3:https://s3.lab/c/restic/dev/paperless/data';
    expect(repositoryCheck([], [source('paperless', 'data', moved)])).toEqual([]);
    expect(repositoryCheck([data], [])).toEqual([]);
    // The last build before the annotation existed.
    expect(
      repositoryCheck(
        [source('paperless', 'data', undefined)],
        [source('paperless', 'data', moved)],
      ),
    ).toEqual([]);
    // Another namespace is another ReplicationSource (volume-claim-moved reports the move).
    expect(repositoryCheck([data], [source('docs', 'data', moved)])).toEqual([]);
  });

  it('leaves the volumes to it: the bucket warning then speaks of the etcd snapshots alone', () => {
    const before = [talosBackup(BASE), source('paperless', 'data', `${OLD}/paperless/data`)];
    const after = [
      talosBackup({ ...BASE, BUCKET: 'c' }),
      source('paperless', 'data', 's3:https://s3.lab/c/restic/dev/paperless/data'),
    ];
    const [etcd] = check(before, after);
    expect(etcd?.message).toContain(
      'moves the etcd snapshots of cluster "dev" from https://s3.lab/b',
    );
    expect(etcd?.message).not.toContain('restic');
    expect(repositoryCheck(before, after)).toHaveLength(1);
    // Without the volumes' annotations the bucket warning still names their repositories.
    const [both] = check([talosBackup(BASE)], [talosBackup({ ...BASE, BUCKET: 'c' })]);
    expect(both?.message).toContain("every volume's restic repository");
  });
});
