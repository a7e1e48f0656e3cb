// The layer-4 checks of the backups, each passing on a complete platform and broken on purpose.
import { formatPath, type SystemInput, volumePopulatorIgnore } from '@homelab/core';
import { describe, expect, test } from 'vitest';
import {
  backupCompleteness,
  claimPopulator,
  credentialsFromSecretsProvider,
  scheduleAdmitted,
  snapshotClassMatches,
  temporaryVolumesDeleted,
  verificationOverlap,
  verificationSnapshotAge,
} from '../src/checks.js';
import {
  type AnyJson,
  cni,
  consumer,
  DATA,
  deployed,
  gitops,
  mapObjects,
  populated,
  retaining,
  runBackups,
  SETTINGS,
  scratching,
  snapshots,
} from './helpers.js';

function input(run = runBackups(), change?: (object: AnyJson) => AnyJson | undefined): SystemInput {
  const clusters = deployed(run);
  return {
    platform: run.platform,
    clusters: change === undefined ? clusters : mapObjects(clusters, change),
    files: [],
  };
}

describe('backup-completeness', () => {
  test('passes when every protected volume has its backup, restore and verification', () => {
    expect(backupCompleteness.check(input())).toEqual([]);
  });

  test('fails when a restore and a verification are missing, naming them', () => {
    const issues = backupCompleteness.check(
      input(undefined, (o) =>
        o.kind === 'ReplicationDestination' || o.kind === 'CronJob' ? undefined : o,
      ),
    );
    expect(issues.map((i) => [formatPath(i.path), i.message])[0]).toEqual([
      'clusters[0].components.app',
      'volume paperless/data of app has a backup policy on cluster "dev" but lacks a ReplicationDestination (the restore), a restore-verification CronJob, the hourly CronJob that removes its repository\'s stale locks',
    ]);
    expect(issues).toHaveLength(3);
  });

  test('fails when only the stale-lock CronJob is missing', () => {
    const issues = backupCompleteness.check(
      input(undefined, (o) =>
        o.kind === 'CronJob' && o.metadata.name === 'data-restic-unlock' ? undefined : o,
      ),
    );
    expect(issues.map((i) => i.message)).toEqual(
      ['dev', 'staging', 'prod'].map(
        (cluster) =>
          `volume paperless/data of app has a backup policy on cluster "${cluster}" but lacks the hourly CronJob that removes its repository's stale locks`,
      ),
    );
  });

  test('has nothing to check where no GitOps controller deploys the platform', () => {
    const run = runBackups(SETTINGS, [consumer([DATA], { secrets: false })]);
    const clusters = deployed(run).map((cluster) => ({ ...cluster, applications: [] }));
    const bare = { platform: run.platform, clusters, files: [] };
    expect(backupCompleteness.check(bare)).toEqual([]);
    expect(credentialsFromSecretsProvider.check(bare)).toEqual([]);
  });

  test("leaves a cluster without a storage provider to the volume's own error", () => {
    const withoutStorage = (run: ReturnType<typeof runBackups>) =>
      deployed(run).map((cluster) => ({
        ...cluster,
        run: {
          ...cluster.run,
          providers: new Map([...cluster.run.providers].filter(([c]) => c !== 'storage')),
        },
      }));
    const run = runBackups();
    // Nothing rendered for the volumes, on a cluster that has no storage: no cascade.
    const empty = mapObjects(withoutStorage(run), (o) =>
      o.kind === 'ReplicationSource' || o.kind === 'ReplicationDestination' || o.kind === 'CronJob'
        ? undefined
        : o,
    );
    expect(
      backupCompleteness.check({ platform: run.platform, clusters: empty, files: [] }),
    ).toEqual([]);
    // The same with storage: each volume lacks all three.
    const withStorage = backupCompleteness.check(
      input(run, (o) =>
        o.kind === 'ReplicationSource' ||
        o.kind === 'ReplicationDestination' ||
        o.kind === 'CronJob'
          ? undefined
          : o,
      ),
    );
    expect(withStorage.map((issue) => issue.code)).toEqual([
      'backup-completeness',
      'backup-completeness',
      'backup-completeness',
    ]);
  });

  test('fails for a backup policy on a cluster without a backup provider', () => {
    const withoutBackups = runBackups(SETTINGS, [consumer()]);
    const clusters = deployed(withoutBackups).map((cluster) => ({
      ...cluster,
      run: {
        ...cluster.run,
        providers: new Map([...cluster.run.providers].filter(([c]) => c !== 'backup')),
      },
    }));
    const issues = backupCompleteness.check({
      platform: withoutBackups.platform,
      clusters,
      files: [],
    });
    expect(issues[0]?.message).toBe(
      'app asks for backups of volume paperless/data on cluster "dev", where no enabled component provides "backup"',
    );
  });
});

describe('backup-credentials', () => {
  test('passes when every credential comes from a declared Secret', () => {
    expect(credentialsFromSecretsProvider.check(input())).toEqual([]);
  });

  test('fails when the volume owner does not declare its restic Secret', () => {
    const run = runBackups(SETTINGS, [consumer([DATA], { secrets: false })]);
    const issues = credentialsFromSecretsProvider.check(input(run));
    // The backup, the restore, the verification and the unlock of each of the three clusters.
    expect(issues).toHaveLength(12);
    expect(issues.map((i) => i.message)).toContain(
      'ReplicationSource data-backup reads S3 credentials from the Secret paperless/data-restic, which no component declares, so the secrets provider never fills it (cluster "dev")',
    );
    expect(issues.map((i) => i.message)).toContain(
      'CronJob data-restic-unlock reads S3 credentials from the Secret paperless/data-restic, which no component declares, so the secrets provider never fills it (cluster "prod")',
    );
  });

  test('fails on a credential written as a literal value', () => {
    const issues = credentialsFromSecretsProvider.check(
      input(undefined, (o) => {
        if (o.kind !== 'CronJob' || o.metadata.name !== 'talos-backup') return o;
        const container = o.spec.jobTemplate.spec.template.spec.containers[0];
        container.env = container.env.map((e: AnyJson) =>
          e.name === 'AWS_SECRET_ACCESS_KEY' ? { name: e.name, value: 'not-a-reference' } : e,
        );
        return o;
      }),
    );
    expect(issues.map((i) => i.message)).toContain(
      'charts/backups#talos-backup: AWS_SECRET_ACCESS_KEY of CronJob talos-backup is a literal value; credentials come from Secrets only',
    );
  });

  test('fails when a job reads a key its Secret does not declare', () => {
    const issues = credentialsFromSecretsProvider.check(
      input(undefined, (o) => {
        if (o.kind !== 'CronJob' || o.metadata.name !== 'talos-backup') return o;
        o.spec.jobTemplate.spec.template.spec.containers[0].env.push({
          name: 'RESTIC_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'talos-backup-s3', key: 'RESTIC_PASSWORD' } },
        });
        return o;
      }),
    );
    expect(issues.map((i) => i.value)).toEqual([
      ['RESTIC_PASSWORD'],
      ['RESTIC_PASSWORD'],
      ['RESTIC_PASSWORD'],
    ]);
  });
});

describe('backup-schedule-admitted', () => {
  test('passes for the schedules VolSync admits', () => {
    expect(scheduleAdmitted.check(input())).toEqual([]);
  });

  test('fails a valid cron schedule the CRD refuses, at the volume, naming it and the cluster', () => {
    const weekdays = (o: AnyJson) =>
      o.kind === 'ReplicationSource' && o.metadata.namespace === 'paperless'
        ? { ...o, spec: { ...o.spec, trigger: { schedule: '0 2 * * mon-fri' } } }
        : o;
    const issues = scheduleAdmitted.check(input(undefined, weekdays));
    expect(issues.map((i) => [i.code, formatPath(i.path), i.value, i.output])).toEqual(
      [0, 1, 2].map((index) => [
        'backup-schedule',
        `clusters[${index}].components.app`,
        '0 2 * * mon-fri',
        'charts/app#data-backup',
      ]),
    );
    expect(issues[0]?.message).toBe(
      `is valid cron, but VolSync 0.16.0's ReplicationSource admits less: the API server refuses the backup of volume paperless/data on cluster "dev", and the volume is never backed up`,
    );
  });

  test('leaves a schedule robfig cannot read to the other checks', () => {
    const broken = (o: AnyJson) =>
      o.kind === 'ReplicationSource'
        ? { ...o, spec: { ...o.spec, trigger: { schedule: '0 2 * *' } } }
        : o;
    expect(scheduleAdmitted.check(input(undefined, broken))).toEqual([]);
  });
});

describe('backup-verification-overlap', () => {
  test('passes for backups at 02:00 and verification at 05:00', () => {
    expect(verificationOverlap.check(input())).toEqual([]);
  });

  test('fails when a verification starts within the window of a backup, with both times', () => {
    const run = runBackups({ ...SETTINGS, verification: { schedule: { staging: '30 2 * * *' } } });
    const issues = verificationOverlap.check(input(run));
    expect(issues.map((i) => [formatPath(i.path), i.message])).toEqual([
      [
        'clusters[1].components.backups.verification.schedule',
        'volume paperless/data on cluster "staging" is backed up at 2028-01-01 02:00 UTC (Saturday) and verified at 2028-01-01 02:30 UTC (Saturday), within 60 minutes of each other',
      ],
    ]);
  });

  test('uses the window the verification job carries', () => {
    const run = runBackups({
      ...SETTINGS,
      verification: { schedule: { production: '0 4 * * *' }, windowMinutes: 180 },
    });
    const issues = verificationOverlap.check(input(run));
    expect(issues.map((i) => i.code)).toEqual(['backup-verification-overlap']);
    expect(issues[0]?.message).toContain('"prod"');
  });
});

describe('backup-verification-snapshot-age', () => {
  test('passes when each verification bounds the snapshot age above its backup gap', () => {
    expect(verificationSnapshotAge.check(input())).toEqual([]);
  });

  test('fails when the backups were made weekly but the verification still allows a day', () => {
    const weekly = (o: AnyJson) =>
      o.kind === 'ReplicationSource'
        ? { ...o, spec: { ...o.spec, trigger: { schedule: '0 2 * * 0' } } }
        : o;
    const issues = verificationSnapshotAge.check(input(undefined, weekly));
    expect(issues.map((i) => i.code)).toEqual(Array(3).fill('backup-verification-snapshot-age'));
    expect(issues.map((i) => formatPath(i.path))[0]).toBe(
      'clusters[0].components.backups.verification',
    );
    expect(issues[0]?.message).toBe(
      'the restore verification of volume paperless/data on cluster "dev" fails a snapshot older than 1560 minutes, but its backups (0 2 * * 0) run up to 10080 minutes apart: it would fail on a healthy volume',
    );
    expect(issues[0]?.expected).toBe(
      'MAX_SNAPSHOT_AGE_MINUTES of at least 10080 (the longest wait between two backups)',
    );
  });

  test('fails when a verification has no bound at all', () => {
    const unbounded = (o: AnyJson) => {
      if (o.kind !== 'CronJob') return o;
      const copy = structuredClone(o);
      const container = copy.spec.jobTemplate.spec.template.spec.containers[0];
      container.env = container.env.filter((e: AnyJson) => e.name !== 'MAX_SNAPSHOT_AGE_MINUTES');
      return copy;
    };
    const issues = verificationSnapshotAge.check(input(undefined, unbounded));
    expect(issues).toHaveLength(3);
    expect(issues[2]?.message).toBe(
      'the restore verification of volume paperless/data on cluster "prod" has no MAX_SNAPSHOT_AGE_MINUTES: it would keep passing on an old snapshot when VolSync skips the backups of an emptied volume',
    );
  });
});

describe('backup-temporary-volumes-deleted', () => {
  // Given a storage provider whose fast-storage class retains its volumes, with a scratch class
  // that deletes them, and two protected volumes: data on standard, db on fast-storage
  const db = { ...DATA, name: 'db', tier: 'fast-storage' };
  const run = runBackups(SETTINGS, [consumer([DATA, db])], [cni, retaining, snapshots, gitops]);
  const storageClass = (name: string, reclaimPolicy: string, isDefault = false) => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      annotations: { 'storageclass.kubernetes.io/is-default-class': String(isDefault) },
    },
    provisioner: 'driver.example.com',
    reclaimPolicy,
  });
  const claim = (name: string, className: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'paperless' },
    spec: { storageClassName: className, resources: { requests: { storage: '20Gi' } } },
  });
  // What the storage provider deploys: the classes and the two claims
  const withStorage = (change?: (object: AnyJson) => AnyJson | undefined): SystemInput => {
    const clusters = deployed(run).map((cluster) => ({
      ...cluster,
      applications: cluster.applications.map((app, index) =>
        index === 0
          ? {
              ...app,
              objects: [
                ...app.objects,
                ...[
                  storageClass('standard', 'Delete', true),
                  storageClass('fast-storage', 'Retain'),
                  storageClass('fast-storage-scratch', 'Delete'),
                  claim('data', 'standard'),
                  claim('db', 'fast-storage'),
                ].map((object) => ({ object, source: 'charts/storage/values.yaml' })),
              ],
            }
          : app,
      ),
    }));
    return {
      platform: run.platform,
      clusters: change === undefined ? clusters : mapObjects(clusters, change),
      files: [],
    };
  };

  test('passes when the copies of a Retain tier go to its scratch class', () => {
    expect(temporaryVolumesDeleted.check(withStorage())).toEqual([]);
  });

  test("fails when a copy takes the Retain class of its source or of the verification's claim", () => {
    // When db's snapshot copy has no class of its own and its verification asks for fast-storage
    const issues = temporaryVolumesDeleted.check(
      withStorage((o) => {
        if (o.kind === 'ReplicationSource' && o.metadata.name === 'db-backup') {
          delete o.spec.restic.storageClassName;
        }
        if (o.kind === 'CronJob' && o.metadata.name === 'db-restore-verify') {
          o.spec.jobTemplate.spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.storageClassName =
            'fast-storage';
        }
        return o;
      }),
    );
    // Then both are refused on every cluster, naming the class
    expect(issues).toHaveLength(6);
    expect(
      issues
        .filter((i) => i.message.includes('"prod"'))
        .map((i) => [formatPath(i.path), i.value, i.message]),
    ).toEqual([
      [
        'clusters[2].components.backups',
        'fast-storage',
        'the scratch volume of restore verification paperless/db-restore-verify on cluster "prod" is made on StorageClass "fast-storage", which retains its volumes: each run would leave a full copy on the disks',
      ],
      [
        'clusters[2].components.backups',
        'fast-storage',
        'the snapshot copy of ReplicationSource paperless/db-backup on cluster "prod" is made on StorageClass "fast-storage", which retains its volumes: each run would leave a full copy on the disks',
      ],
    ]);
  });

  test('follows the default class where a claim names none', () => {
    const issues = temporaryVolumesDeleted.check(
      withStorage((o) => {
        if (o.kind === 'StorageClass') {
          o.metadata.annotations['storageclass.kubernetes.io/is-default-class'] = String(
            o.metadata.name === 'fast-storage',
          );
        }
        if (o.kind === 'CronJob' && o.metadata.name === 'data-restore-verify') {
          delete o.spec.jobTemplate.spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec
            .storageClassName;
        }
        return o;
      }),
    );
    expect(issues.map((i) => i.value)).toEqual(['fast-storage', 'fast-storage', 'fast-storage']);
  });
});

describe('backup-snapshot-class', () => {
  // Given the two protected volumes on a Longhorn class, and the snapshot class the
  // volume-snapshots provider deploys: Longhorn's driver, in-cluster snapshots
  const db = { ...DATA, name: 'db' };
  const run = runBackups(SETTINGS, [consumer([DATA, db])]);
  const withClasses = (change?: (object: AnyJson) => AnyJson | undefined): SystemInput => {
    const clusters = deployed(run).map((cluster) => ({
      ...cluster,
      applications: cluster.applications.map((app, index) =>
        index === 0
          ? {
              ...app,
              objects: [
                ...app.objects,
                ...[
                  {
                    apiVersion: 'storage.k8s.io/v1',
                    kind: 'StorageClass',
                    metadata: {
                      name: 'standard',
                      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
                    },
                    provisioner: 'driver.longhorn.io',
                    reclaimPolicy: 'Delete',
                  },
                  {
                    apiVersion: 'v1',
                    kind: 'PersistentVolumeClaim',
                    metadata: { name: 'data', namespace: 'paperless' },
                    spec: { storageClassName: 'standard' },
                  },
                  {
                    apiVersion: 'v1',
                    kind: 'PersistentVolumeClaim',
                    metadata: { name: 'db', namespace: 'paperless' },
                    spec: {},
                  },
                  {
                    apiVersion: 'snapshot.storage.k8s.io/v1',
                    kind: 'VolumeSnapshotClass',
                    metadata: {
                      name: 'example-snapshot',
                      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
                    },
                    driver: 'driver.longhorn.io',
                    deletionPolicy: 'Delete',
                    parameters: { type: 'snap' },
                  },
                ].map((object) => ({ object, source: 'charts/storage/values.yaml' })),
              ],
            }
          : app,
      ),
    }));
    return {
      platform: run.platform,
      clusters: change === undefined ? clusters : mapObjects(clusters, change),
      files: [],
    };
  };
  const onDev = (issues: ReturnType<typeof snapshotClassMatches.check>) =>
    issues
      .filter((i) => i.message.includes('"dev"'))
      .map((i) => [formatPath(i.path), i.value, i.message, i.expected]);

  test('passes when every snapshot copy takes an in-cluster snapshot of its driver', () => {
    expect(snapshotClassMatches.check(withClasses())).toEqual([]);
  });

  test('fails when the Longhorn class would take backups (type bak, or no type)', () => {
    const issues = snapshotClassMatches.check(
      withClasses((o) => {
        if (o.kind === 'VolumeSnapshotClass') o.parameters = { type: 'bak' };
        return o;
      }),
    );
    expect(onDev(issues)).toEqual(
      ['data', 'db'].map((name) => [
        'clusters[0].components.backups',
        'example-snapshot',
        `the snapshot copy of ReplicationSource paperless/${name}-backup on cluster "dev" uses VolumeSnapshotClass "example-snapshot", whose Longhorn snapshot type is "bak": every run uploads a full backup to the backup target instead of taking an in-cluster snapshot, and fails where there is none`,
        'parameters.type: snap on the VolumeSnapshotClass',
      ]),
    );
    const unset = snapshotClassMatches.check(
      withClasses((o) => {
        if (o.kind === 'VolumeSnapshotClass') delete o.parameters;
        return o;
      }),
    );
    expect(onDev(unset).map((row) => row[2])).toEqual(
      ['data', 'db'].map(
        (name) =>
          `the snapshot copy of ReplicationSource paperless/${name}-backup on cluster "dev" uses VolumeSnapshotClass "example-snapshot", whose Longhorn snapshot type is unset (Longhorn then takes a backup): every run uploads a full backup to the backup target instead of taking an in-cluster snapshot, and fails where there is none`,
      ),
    );
  });

  test('fails when the named class is not deployed, or is of another driver', () => {
    const missing = snapshotClassMatches.check(
      withClasses((o) => (o.kind === 'VolumeSnapshotClass' ? undefined : o)),
    );
    expect(onDev(missing)[0]).toEqual([
      'clusters[0].components.backups',
      'example-snapshot',
      'the snapshot copy of ReplicationSource paperless/data-backup on cluster "dev" names VolumeSnapshotClass "example-snapshot", which no Application on the cluster deploys: its VolumeSnapshot never binds and every backup run waits',
      'a VolumeSnapshotClass the volume-snapshots provider deploys (none deployed)',
    ]);
    const otherDriver = snapshotClassMatches.check(
      withClasses((o) => {
        if (o.kind === 'VolumeSnapshotClass') o.driver = 'rbd.csi.ceph.com';
        return o;
      }),
    );
    // db names no class: its claim follows the default StorageClass, of Longhorn's driver too
    expect(onDev(otherDriver).map((row) => row[2])).toEqual(
      ['data', 'db'].map(
        (name) =>
          `the snapshot copy of ReplicationSource paperless/${name}-backup on cluster "dev" uses VolumeSnapshotClass "example-snapshot" of driver rbd.csi.ceph.com, but its source claim paperless/${name} is provisioned by driver.longhorn.io (StorageClass "standard"): the snapshot is never taken`,
      ),
    );
  });

  test('falls back to the default class of the driver where the source names none', () => {
    const unnamed = (o: AnyJson) => {
      if (o.kind === 'ReplicationSource') delete o.spec.restic.volumeSnapshotClassName;
      return o;
    };
    expect(snapshotClassMatches.check(withClasses(unnamed))).toEqual([]);
    const noDefault = snapshotClassMatches.check(
      withClasses((o) => {
        if (o.kind === 'VolumeSnapshotClass') o.metadata.annotations = {};
        return unnamed(o);
      }),
    );
    expect(onDev(noDefault)[0]?.[2]).toBe(
      'the snapshot copy of ReplicationSource paperless/data-backup on cluster "dev" names no VolumeSnapshotClass, and the cluster has no default class of driver driver.longhorn.io: the snapshot controller cannot pick one',
    );
  });
});

describe('backup-claim-populator', () => {
  // Given a claim that names its bootstrap as dataSourceRef, its Application ignoring the field
  // (RespectIgnoreDifferences), the snapshot class the volume-snapshots provider deploys, and the
  // storage provider's classes as Longhorn makes them: standard (3 replicas, the tier's recurring
  // jobs) and its scratch class standard-scratch (1 replica, no jobs), where the bootstrap goes
  const volume = populated(DATA);
  const run = runBackups(SETTINGS, [consumer([volume])], [cni, scratching, snapshots, gitops]);
  const longhornClass = (name: string, parameters: AnyJson) => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: 'driver.longhorn.io',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    parameters: { diskSelector: 'standard', dataEngine: 'v1', ...parameters },
  });
  const storageClasses = [
    longhornClass('standard', {
      numberOfReplicas: '3',
      recurringJobSelector: JSON.stringify([{ name: 'standard', isGroup: true }]),
    }),
    longhornClass('standard-scratch', { numberOfReplicas: '1' }),
  ];
  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'paperless' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'standard',
      resources: { requests: { storage: '20Gi' } },
      dataSourceRef: {
        apiGroup: 'volsync.backube',
        kind: 'ReplicationDestination',
        name: 'data-bootstrap',
      },
    },
  };
  const snapshotClass = {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: { name: 'example-snapshot' },
    driver: 'driver.longhorn.io',
    deletionPolicy: 'Delete',
    parameters: { type: 'snap' },
  };
  const platform = (
    change?: (object: AnyJson) => AnyJson | undefined,
    application: (spec: AnyJson) => AnyJson = (spec) => ({
      ...spec,
      ignoreDifferences: [volumePopulatorIgnore(DATA)],
      syncPolicy: { syncOptions: ['RespectIgnoreDifferences=true'] },
    }),
  ): SystemInput => {
    const clusters = deployed(run).map((cluster) => ({
      ...cluster,
      applications: cluster.applications.map((app) =>
        app.component === 'app'
          ? {
              ...app,
              application: {
                ...app.application,
                spec: application(structuredClone(app.application.spec)),
              },
              objects: [
                ...app.objects,
                { object: structuredClone(claim), source: 'charts/app#data' },
                { object: structuredClone(snapshotClass), source: 'charts/app#snapshot' },
                ...storageClasses.map((object) => ({
                  object: structuredClone(object) as AnyJson,
                  source: `charts/storage#${object.metadata.name}`,
                })),
              ],
            }
          : app,
      ),
    }));
    return {
      platform: run.platform,
      clusters: change === undefined ? clusters : mapObjects(clusters, change),
      files: [],
    };
  };
  const onDev = (input: SystemInput) =>
    claimPopulator
      .check(input)
      .filter((i) => i.message.includes('"dev"'))
      .map((i) => [formatPath(i.path), i.value, i.message]);
  const bootstrap = (change: (spec: AnyJson) => void) => (o: AnyJson) => {
    if (o.kind === 'ReplicationDestination' && o.metadata.name === 'data-bootstrap') change(o.spec);
    return o;
  };
  const cannot = (why: string) => [
    [
      'clusters[0].components.app',
      'data-bootstrap',
      `claim paperless/data of app on cluster "dev" is filled by ReplicationDestination paperless/data-bootstrap, which cannot fill it: ${why}`,
    ],
  ];

  test('passes on the bootstrap the backups render, with the field ignored', () => {
    expect(claimPopulator.check(platform())).toEqual([]);
  });

  test('fails when the bootstrap is missing: the claim would stay Pending', () => {
    expect(onDev(platform((o) => (o.metadata.name === 'data-bootstrap' ? undefined : o)))).toEqual([
      [
        'clusters[0].components.app',
        'data-bootstrap',
        'claim paperless/data of app on cluster "dev" names ReplicationDestination "data-bootstrap" as its dataSourceRef, which no Application deploys in paperless: a new claim stays Pending for ever',
      ],
    ]);
  });

  test('fails on a bootstrap that is paused, has no manual trigger, copies directly, or restores into a claim', () => {
    expect(onDev(platform(bootstrap((spec) => (spec.paused = true))))).toEqual(
      cannot('it is paused (it never restores)'),
    );
    expect(
      onDev(platform(bootstrap((spec) => (spec.trigger = { schedule: '0 * * * *' })))),
    ).toEqual(cannot('it has no manual trigger (it would restore again and again)'));
    expect(onDev(platform(bootstrap((spec) => (spec.restic.copyMethod = 'Direct'))))).toEqual(
      cannot('its copyMethod is "Direct" (the populator takes only a VolumeSnapshot)'),
    );
    expect(onDev(platform(bootstrap((spec) => (spec.restic.destinationPVC = 'data'))))).toEqual(
      cannot('it restores into the named claim destinationPVC, not a volume of its own'),
    );
  });

  test('fails on a bootstrap whose snapshot class is not deployed, or larger than the claim', () => {
    expect(
      onDev(platform(bootstrap((spec) => (spec.restic.volumeSnapshotClassName = 'gone')))),
    ).toEqual(
      cannot(
        'its VolumeSnapshotClass "gone" is not deployed on the cluster (its snapshot never binds)',
      ),
    );
    expect(onDev(platform(bootstrap((spec) => (spec.restic.capacity = '21Gi'))))).toEqual(
      cannot(
        'its capacity "21Gi" is not at most the claim\'s request (a volume is never made smaller than its snapshot)',
      ),
    );
  });

  test('fails on a bootstrap smaller than a claim on Longhorn, which clones only at the same size', () => {
    expect(onDev(platform(bootstrap((spec) => (spec.restic.capacity = '19Gi'))))).toEqual(
      cannot(
        'its capacity "19Gi" is not the claim\'s request (Longhorn clones a claim only at the size of the snapshot\'s volume)',
      ),
    );
    // The same size in other units passes.
    expect(onDev(platform(bootstrap((spec) => (spec.restic.capacity = '20480Mi'))))).toEqual([]);
  });

  test("passes on the bootstrap the backups render: its volume on the tier's scratch class", () => {
    const rd = deployed(run)[0]
      ?.applications.flatMap((app) => app.objects)
      .find((o) => o.object.metadata.name === 'data-bootstrap')?.object as AnyJson;
    expect(rd.spec.restic.storageClassName).toBe('standard-scratch');
    expect(onDev(platform())).toEqual([]);
  });

  test("fails on a bootstrap whose lasting volume would multiply: the tier's class, jobs, Retain", () => {
    const copies = (className: string, what: string) => [
      [
        'clusters[0].components.app',
        className,
        `claim paperless/data of app on cluster "dev" is filled by ReplicationDestination paperless/data-bootstrap, whose own volume (kept for good: new claims are cloned from its snapshot) is on StorageClass "${className}" with ${what}: a lasting full copy of the volume per replica, snapshotted and backed up to the backup target by Longhorn, for every protected volume`,
      ],
    ];
    // the tier's own class: 3 replicas and the tier's recurring jobs
    expect(
      onDev(platform(bootstrap((spec) => (spec.restic.storageClassName = 'standard')))),
    ).toEqual(
      copies(
        'standard',
        '"3" replicas, the recurring jobs of its recurringJobSelector "[{\\"name\\":\\"standard\\",\\"isGroup\\":true}]"',
      ),
    );
    // no class named: the default class (standard here, annotated as such)
    const defaultStandard = (o: AnyJson) => {
      if (o.kind === 'StorageClass' && o.metadata.name === 'standard') {
        o.metadata.annotations = { 'storageclass.kubernetes.io/is-default-class': 'true' };
      }
      return bootstrap((spec) => delete spec.restic.storageClassName)(o);
    };
    expect(onDev(platform(defaultStandard))[0]?.[1]).toBe('standard');
    // the scratch class, but with a job selected, or with Longhorn's default group given jobs
    const scratchWith = (change: (o: AnyJson) => void) => (o: AnyJson) => {
      if (o.kind === 'StorageClass' && o.metadata.name === 'standard-scratch') change(o);
      return o;
    };
    expect(
      onDev(
        platform(
          scratchWith((o) => (o.parameters.recurringJobSelector = '[{"name":"standard-backup"}]')),
        ),
      ),
    ).toEqual(
      copies(
        'standard-scratch',
        'the recurring jobs of its recurringJobSelector "[{\\"name\\":\\"standard-backup\\"}]"',
      ),
    );
    const defaultGroupJob = {
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'RecurringJob',
      metadata: { name: 'nightly', namespace: 'longhorn-system' },
      spec: { name: 'nightly', task: 'backup', cron: '0 2 * * *', retain: 7, groups: ['default'] },
    };
    const withDefaultGroup = platform();
    // The fixture's list is readonly in the contract's type; the test adds one object to it.
    (withDefaultGroup.clusters[0]?.applications[0]?.objects as AnyJson[] | undefined)?.push({
      object: defaultGroupJob as AnyJson,
      source: 'charts/storage#nightly',
    });
    expect(onDev(withDefaultGroup)).toEqual(
      copies('standard-scratch', "the recurring jobs of Longhorn's default group (nightly)"),
    );
    // one replica too many, and a class that keeps its volumes
    expect(
      onDev(
        platform(
          scratchWith((o) => {
            o.parameters.numberOfReplicas = '2';
            o.reclaimPolicy = 'Retain';
          }),
        ),
      ),
    ).toEqual(
      copies('standard-scratch', '"2" replicas, reclaimPolicy Retain (it outlives the bootstrap)'),
    );
  });

  test("fails on a bootstrap whose volume's class is not deployed: the claim stays Pending", () => {
    expect(onDev(platform(bootstrap((spec) => (spec.restic.storageClassName = 'gone'))))).toEqual(
      cannot(
        'its volume\'s StorageClass "gone" is not deployed on the cluster (the volume stays Pending, and the claim with it)',
      ),
    );
  });

  test("fails when the claim's Application would apply the field to an existing claim", () => {
    const refused = [
      [
        'clusters[0].components.app',
        'data-bootstrap',
        'claim paperless/data of app on cluster "dev" names ReplicationDestination "data-bootstrap" as its dataSourceRef, but its Application app does not leave the field as the cluster has it: the API server refuses the field on a claim made before it (immutable), so such a claim fails every sync',
      ],
    ];
    // no ignoreDifferences
    expect(onDev(platform(undefined, (spec) => spec))).toEqual(refused);
    // ignored, but not respected by the sync
    expect(
      onDev(
        platform(undefined, (spec) => ({
          ...spec,
          ignoreDifferences: [volumePopulatorIgnore(DATA)],
        })),
      ),
    ).toEqual(refused);
    // respected, but for another claim
    expect(
      onDev(
        platform(undefined, (spec) => ({
          ...spec,
          ignoreDifferences: [volumePopulatorIgnore({ ...DATA, name: 'db' })],
          syncPolicy: { syncOptions: ['RespectIgnoreDifferences=true'] },
        })),
      ),
    ).toEqual(refused);
  });
});
