// `backup-target-changed` on talos-backup CronJobs made here (the pipeline hands the component
// both sides: packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ChangedObject, ResolvedCluster } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { backupsChanges, backupTargetCheck } from '../src/changes.js';
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

  it('says nothing of the same target, another CronJob, or etcd snapshots on one side only', () => {
    expect(check([talosBackup(BASE)], [talosBackup(BASE)])).toEqual([]);
    expect(
      check([talosBackup(BASE, 'other')], [talosBackup({ ...BASE, BUCKET: 'c' }, 'other')]),
    ).toEqual([]);
    expect(check([], [talosBackup(BASE)])).toEqual([]);
    expect(check([talosBackup(BASE)], [])).toEqual([]);
  });
});
