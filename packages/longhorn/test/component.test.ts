import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Cluster,
  chartUpgradeRefusal,
  formatPath,
  type KubeObject,
  parseAllDocuments,
} from '@homelab/core';
import {
  type PasteShell,
  pasteShells,
  readVendoredChartFile,
  readWaits,
  repoRoot,
  testGateway,
  zshTestRuns,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import {
  diskChangeCommands,
  drainHeld,
  nodeDrainPolicy,
  oneReplicaClasses,
} from '../src/component.js';
import { DISKS_ANNOTATION, diskSpecPatch, parseDisksAnnotation } from '../src/disks.js';
import { LONGHORN_CHART_VERSION } from '../src/versions.js';
import {
  type AnyJson,
  bulk,
  chartObjects,
  consumer,
  definition,
  fast,
  runLonghorn,
  storageClusters,
  TEST_BACKUP_TARGET,
  testNodes,
} from './helpers.js';

const byKind = (objects: readonly KubeObject[], kind: string) =>
  objects.filter((object) => object.kind === kind);

describe('StorageClass tiers', () => {
  const run = runLonghorn();
  const classes = (cluster: string) =>
    Object.fromEntries(
      byKind(
        chartObjects(
          run.components,
          'longhorn',
          run.platform.clusters.find((c) => c.name === cluster) as AnyJson,
        ),
        'StorageClass',
      ).map((sc) => [sc.metadata.name, sc as AnyJson]),
    );

  test('the reference fleet renders without errors; the S3 Secret waits for a secrets provider', () => {
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(new Set(run.issues.map((i) => i.code))).toEqual(new Set(['request-unfulfilled']));
  });

  test('a tier gets a class on a cluster only where a storage node has a disk of it', () => {
    expect(Object.keys(classes('dev'))).toEqual([
      'fast-storage',
      'fast-storage-scratch',
      'standard',
      'standard-scratch',
    ]);
    expect(Object.keys(classes('staging'))).toEqual([
      'fast-storage',
      'fast-storage-scratch',
      'standard',
      'standard-scratch',
    ]);
    expect(Object.keys(classes('prod'))).toEqual([
      'archive',
      'archive-scratch',
      'fast-storage',
      'fast-storage-scratch',
      'standard',
      'standard-scratch',
    ]);
  });

  test('every tier gets a scratch class: one replica, no recurring jobs, volumes deleted', () => {
    // Given prod's classes: archive and fast-storage retain their volumes, standard deletes them
    const prod = classes('prod');
    expect(prod.standard.reclaimPolicy).toBe('Delete');
    expect(prod.standard.parameters.numberOfReplicas).toBe('3');
    // Then each tier, the one that deletes its volumes included, has a scratch class on the same
    // disks that deletes its volumes, with one replica and no recurring jobs: the backups' copies
    // go there (VolSync deletes its temporary claims after each run, and from a Retain class
    // their volumes would stay behind; the bootstrap's restored volume stays for good, and on the
    // tier's class it would get the tier's replicas and its snapshot and backup jobs)
    for (const tier of ['archive', 'fast-storage', 'standard']) {
      const scratch = prod[`${tier}-scratch`];
      expect(scratch).toMatchObject({
        provisioner: 'driver.longhorn.io',
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
        parameters: {
          diskSelector: tier,
          numberOfReplicas: '1',
          dataLocality: prod[tier].parameters.dataLocality,
        },
      });
      expect(scratch.parameters.recurringJobSelector).toBeUndefined();
      expect(scratch.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe(
        'false',
      );
    }
  });

  test('replicas follow the environment: dev 1, staging 2, prod 3', () => {
    const replicas = (cluster: string) =>
      Object.fromEntries(
        Object.entries(classes(cluster)).map(([name, sc]) => [
          name,
          sc.parameters.numberOfReplicas,
        ]),
      );
    expect(replicas('dev')).toEqual({
      'fast-storage': '1',
      'fast-storage-scratch': '1',
      standard: '1',
      'standard-scratch': '1',
    });
    expect(replicas('staging')).toEqual({
      'fast-storage': '2',
      'fast-storage-scratch': '1',
      standard: '2',
      'standard-scratch': '1',
    });
    expect(replicas('prod')).toEqual({
      archive: '3',
      'archive-scratch': '1',
      'fast-storage': '3',
      'fast-storage-scratch': '1',
      standard: '3',
      'standard-scratch': '1',
    });
  });

  test('each class selects its tier by disk tag, binds its recurring-job group and can grow', () => {
    const sc = classes('prod')['fast-storage'];
    expect(sc).toMatchObject({
      provisioner: 'driver.longhorn.io',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Retain',
      parameters: {
        diskSelector: 'fast-storage',
        dataLocality: 'best-effort',
        recurringJobSelector: '[{"name":"fast-storage","isGroup":true}]',
      },
    });
    expect(
      classes('prod').standard.metadata.annotations['storageclass.kubernetes.io/is-default-class'],
    ).toBe('true');
    expect(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe('false');
  });

  test('every class is replaced, not applied, by Argo CD: its parameters are immutable', () => {
    // Given the classes of every cluster
    const all = ['dev', 'staging', 'prod'].flatMap((cluster) => Object.values(classes(cluster)));
    // Then Argo CD deletes and re-creates each one that changes (a PUT or a server-side apply of
    // changed parameters, reclaim policy or binding mode is refused by the API server); and
    // deletes the class of a tier the definition drops, although the Longhorn Application is
    // critical and syncs with Prune=false: the object's own Prune=true wins (isPruningDisabled)
    expect(all.length).toBe(14);
    for (const sc of all) {
      expect(sc.metadata.annotations['argocd.argoproj.io/sync-options']).toBe(
        'Replace=true,Force=true,Prune=true',
      );
    }
  });

  test('recurring jobs are pruned when their tier, schedule or backup target goes', () => {
    // The Longhorn Application syncs with Prune=false (critical): without their own Prune=true a
    // dropped job would keep running (a backup job against a target that is gone) and keep the
    // Application OutOfSync for good. Their CRD comes in the same sync: no dry run first.
    const jobs = ['dev', 'staging', 'prod'].flatMap((name) =>
      byKind(
        chartObjects(
          run.components,
          'longhorn',
          run.platform.clusters.find((cluster) => cluster.name === name) as AnyJson,
        ),
        'RecurringJob',
      ),
    ) as AnyJson[];
    expect(jobs.length).toBe(14);
    expect(
      new Set(jobs.map((job) => job.metadata.annotations['argocd.argoproj.io/sync-options'])),
    ).toEqual(new Set(['SkipDryRunOnMissingResource=true,Prune=true']));
  });

  test('recurring jobs take snapshots and backups per tier with the environment retention', () => {
    const prod = run.platform.clusters[2] as AnyJson;
    const jobs = byKind(
      chartObjects(run.components, 'longhorn', prod),
      'RecurringJob',
    ) as AnyJson[];
    jobs.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    expect(
      jobs.map((job) => [
        job.metadata.name,
        job.spec.task,
        job.spec.cron,
        job.spec.retain,
        job.spec.groups,
      ]),
    ).toEqual([
      ['archive-backup', 'backup', '0 2 * * 0', 8, ['archive']],
      ['archive-snapshot', 'snapshot', '45 0 * * 0', 2, ['archive']],
      ['fast-storage-backup', 'backup', '0 1 * * *', 14, ['fast-storage']],
      ['fast-storage-snapshot', 'snapshot', '0 * * * *', 48, ['fast-storage']],
      ['standard-backup', 'backup', '30 1 * * *', 14, ['standard']],
      ['standard-snapshot', 'snapshot', '15 */6 * * *', 8, ['standard']],
    ]);
    const dev = run.platform.clusters[0] as AnyJson;
    const devJobs = byKind(
      chartObjects(run.components, 'longhorn', dev),
      'RecurringJob',
    ) as AnyJson[];
    expect(devJobs.find((j) => j.metadata.name === 'fast-storage-snapshot')?.spec).toMatchObject({
      cron: '0 */6 * * *',
      retain: 4,
    });
  });

  test('without a backup target there are snapshot jobs only, and a warning says so', () => {
    const bare = runLonghorn(definition(storageClusters(), {}));
    const dev = bare.platform.clusters[0] as AnyJson;
    const jobs = byKind(chartObjects(bare.components, 'longhorn', dev), 'RecurringJob');
    expect(jobs.map((job) => job.metadata.name).sort()).toEqual([
      'fast-storage-snapshot',
      'standard-snapshot',
    ]);
    expect(bare.issues.map((i) => [i.severity, i.code])).toContainEqual([
      'warning',
      'longhorn-no-backup-target',
    ]);
  });
});

describe('values', () => {
  const run = runLonghorn();
  const values = (cluster: string) => run.rendered[cluster]?.values.longhorn as AnyJson;

  test("pin a release longhorn-manager starts on from the last build's: one minor release up, never back (chart-upgrade-path)", () => {
    const dependency = run.output.chart?.dependency;
    expect(dependency?.version).toBe(LONGHORN_CHART_VERSION);
    const path = dependency?.upgradePath;
    if (path === undefined) throw new Error('the chart has no upgrade path');
    expect(chartUpgradeRefusal('1.8.1', '1.9.0', path)).toBeUndefined();
    expect(chartUpgradeRefusal('1.8.1', '1.8.2', path)).toBeUndefined();
    // checkLHUpgradePath (v1.8.1 upgrade/util/util.go): a minor release skipped, any one back.
    expect(chartUpgradeRefusal('1.8.1', '1.10.0', path)?.why).toContain(
      'Longhorn moves one minor release at a time and 1.8->1.10 skips 1.9',
    );
    expect(chartUpgradeRefusal('1.8.2', '1.8.1', path)?.why).toContain(
      'Longhorn does not go back from 1.8.2 to 1.8.1',
    );
    expect(chartUpgradeRefusal('1.9.0', '1.8.1', path)?.instead).toBe(
      'Longhorn 1.9.0, a later 1.9 patch release or 1.10 on this cluster',
    );
  });

  test('are Argo CD-safe: no pre-upgrade hook job, disks only on labelled nodes', () => {
    expect(values('dev').preUpgradeChecker).toEqual({ jobEnabled: false });
    expect(values('dev').defaultSettings).toMatchObject({
      createDefaultDiskLabeledNodes: true,
      defaultDataPath: '/var/lib/longhorn/',
      replicaSoftAntiAffinity: false,
      upgradeChecker: false,
    });
    expect(values('dev').persistence.defaultClass).toBe(false);
  });

  test('pick a drain policy that a PDB-respecting drain finishes with', () => {
    expect(values('dev').defaultSettings.nodeDrainPolicy).toBe('always-allow');
    // Every tier's scratch class holds lasting one-replica volumes (VolSync v0.16.0 keeps a
    // ReplicationSource's restic cache on it between runs, and a bootstrap its restored volume),
    // whose only replica would hold the node's drain for ever under
    // block-if-contains-last-replica (v1.8.1 canDeleteInstanceManagerPDB); Longhorn copies it
    // away first under block-for-eviction-if-contains-last-replica (shouldEvictReplica)
    expect(values('staging').defaultSettings.nodeDrainPolicy).toBe(
      'block-for-eviction-if-contains-last-replica',
    );
    expect(values('prod').defaultSettings.nodeDrainPolicy).toBe(
      'block-for-eviction-if-contains-last-replica',
    );
    expect(
      oneReplicaClasses([
        { name: 'fast-storage', replicas: 3 },
        { name: 'standard', replicas: 3 },
        { name: 'cache', replicas: 1 },
      ]),
    ).toEqual(['cache', 'cache-scratch', 'fast-storage-scratch', 'standard-scratch']);
    expect(nodeDrainPolicy(3, ['cache'])).toBe('block-for-eviction-if-contains-last-replica');
    expect(nodeDrainPolicy(3, [])).toBe('block-if-contains-last-replica');
    expect(nodeDrainPolicy(1, ['cache'])).toBe('always-allow');
    // Only tiers that delete their volumes, replicated: their scratch classes still hold
    // one-replica volumes, so replicas still move first
    const deleting = runLonghorn(
      definition(storageClusters(), {
        backupTarget: TEST_BACKUP_TARGET,
        tiers: {
          'fast-storage': { reclaimPolicy: 'Delete' },
          archive: { reclaimPolicy: 'Delete' },
        },
      }),
    );
    expect(
      (deleting.rendered.prod?.values.longhorn as AnyJson)?.defaultSettings.nodeDrainPolicy,
    ).toBe('block-for-eviction-if-contains-last-replica');
  });

  test('point the default backup target at the cluster folder of the bucket', () => {
    expect(values('prod').defaultBackupStore).toEqual({
      backupTarget: 's3://homelab-longhorn@us-east-1/longhorn/prod',
      backupTargetCredentialSecret: 'longhorn-backup-s3',
      pollInterval: 300,
    });
  });

  test('tolerate nothing where no storage node is tainted', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect([cluster, values(cluster).longhornManager]).toEqual([cluster, undefined]);
      expect([cluster, values(cluster).defaultSettings.taintToleration]).toEqual([
        cluster,
        undefined,
      ]);
    }
  });

  test("tolerate the storage nodes' taints: the manager DaemonSet and what longhorn-manager creates", () => {
    // Given prod's storage workers tainted for storage only (and one PreferNoSchedule, which
    // keeps no pod off), and a control plane with a disk where control planes take no workloads.
    const clusters = storageClusters();
    const prod = clusters[2] as Cluster;
    const nodes = prod.nodes.map((node) =>
      node.role === 'worker'
        ? {
            ...node,
            taints: [
              { key: 'storage', value: 'dedicated', effect: 'NoSchedule' as const },
              { key: 'slow', effect: 'PreferNoSchedule' as const },
            ],
          }
        : node === prod.nodes[0]
          ? { ...node, storage: true, disks: [fast('fast', 'C1')] }
          : node,
    );
    // (three untainted workers without disks run the platform's controllers)
    clusters[2] = {
      ...prod,
      nodes: [
        ...nodes,
        ...testNodes('prod', 3, 3, 'worker', 31).map((node, i) => ({
          ...node,
          hostname: `prod-app${i + 1}`,
        })),
      ] as Cluster['nodes'],
    };
    // When Longhorn renders
    const tainted = runLonghorn(definition(clusters));
    const prodValues = tainted.rendered.prod?.values.longhorn as AnyJson;
    // Then the manager runs there, and so do the instance managers, engine images and CSI plugin.
    expect(prodValues.longhornManager.tolerations).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'storage', operator: 'Equal', value: 'dedicated', effect: 'NoSchedule' },
    ]);
    expect(prodValues.defaultSettings.taintToleration).toBe(
      'node-role.kubernetes.io/control-plane:NoSchedule;storage=dedicated:NoSchedule',
    );
    expect(tainted.rendered.dev?.values.longhorn).not.toHaveProperty('longhornManager');
  });

  test('scale the UI and CSI sidecars with the profile, within the schedulable nodes', () => {
    expect(values('dev').longhornUI.replicas).toBe(1);
    expect(values('staging').csi.attacherReplicaCount).toBe(2);
    expect(values('prod').csi.provisionerReplicaCount).toBe(3);
  });
});

describe('what Longhorn asks of Talos and of the secrets provider', () => {
  const run = runLonghorn();
  const declared = (cluster: string) =>
    run.components.clusters
      .find((c) => c.cluster.name === cluster)
      ?.contributions.get('longhorn') as AnyJson;

  test('the iSCSI and util-linux extensions and the propagated data path', () => {
    expect(declared('dev').talos.extensions).toEqual([
      'siderolabs/iscsi-tools',
      'siderolabs/util-linux-tools',
    ]);
    expect(declared('dev').talos.kubeletExtraMounts).toEqual([
      {
        destination: '/var/lib/longhorn',
        type: 'bind',
        source: '/var/lib/longhorn',
        options: ['bind', 'rshared', 'rw'],
      },
    ]);
  });

  test('each storage node: a user volume per data disk, the disk label and the disk list', () => {
    const node = declared('prod').talos.nodes['prod-w2'];
    expect(node.userVolumes).toEqual([
      { name: 'fast', disk: { serial: 'S1' }, minSize: '10GiB' },
      { name: 'bulk', disk: { model: 'WDC WD40EFRX' }, minSize: '1TiB' },
    ]);
    expect(node.labels).toEqual({ 'node.longhorn.io/create-default-disk': 'config' });
    // longhorn-manager v1.8.1 CreateDisksFromAnnotation reserves 30 % of a disk whose
    // storageReserved is 0 or absent (storage-reserved-percentage-for-default-disk): the system
    // disk keeps it, a data disk only Longhorn uses reserves one byte (all of it for Longhorn)
    expect(JSON.parse(node.annotations['node.longhorn.io/default-disks-config'])).toEqual([
      { name: 'system', path: '/var/lib/longhorn/', allowScheduling: true, tags: ['standard'] },
      {
        name: 'fast',
        path: '/var/mnt/fast',
        allowScheduling: true,
        storageReserved: 1,
        tags: ['ssd', 'fast-storage'],
      },
      {
        name: 'bulk',
        path: '/var/mnt/bulk',
        allowScheduling: true,
        storageReserved: 1,
        tags: ['hdd', 'archive'],
      },
    ]);
    expect(Object.keys(declared('prod').talos.nodes)).toEqual(['prod-w1', 'prod-w2', 'prod-w3']);
  });

  test('the S3 credentials of the backup target, with the endpoint key for a non-AWS store', () => {
    expect(declared('prod').secrets).toEqual([
      {
        name: 'longhorn-backup-s3',
        namespace: 'longhorn-system',
        keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINTS'],
        description:
          'S3 credentials of the Longhorn backup target s3://homelab-longhorn@us-east-1/longhorn/prod; AWS_ENDPOINTS must be https://s3.example.com',
        // longhorn-manager reads the credential Secret again for every backup-store call and
        // watches it (v1.8 engineapi/backups.go, controller/kubernetes_secret_controller.go).
        readers: [
          {
            kind: 'DaemonSet',
            name: 'longhorn-manager',
            reads: 'use',
            how: 'the backup target\u2019s credential Secret, which longhorn-manager reads again for every backup and watches',
          },
        ],
        rotation: {
          AWS_ACCESS_KEY_ID: expect.stringContaining(
            'Create the new access key at the S3 provider first',
          ),
          AWS_SECRET_ACCESS_KEY: expect.stringContaining('Belongs to `AWS_ACCESS_KEY_ID`'),
        },
        // the one value the key must hold (bitwarden-entry-values compares it across clusters)
        values: { AWS_ENDPOINTS: 'https://s3.example.com' },
      },
    ]);
    const aws = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { bucket: TEST_BACKUP_TARGET.bucket, region: 'eu-west-1' },
      }),
    );
    const keys = aws.components.clusters[0]?.contributions.get('longhorn')?.secrets?.[0]?.keys;
    expect(keys).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  });

  test('a backup target with a CA of its own: AWS_CERT, the PEM with no line end after it, in the credential Secret; a bad bundle refused at its line', () => {
    const ca = readFileSync(
      join(repoRoot(), 'packages/authelia/test/fixtures/private-ca.crt'),
      'utf8',
    );
    expect(ca.endsWith('\n')).toBe(true);
    const run = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { ...TEST_BACKUP_TARGET, caCertificate: ca },
      }),
    );
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const [secret] = run.components.clusters[2]?.contributions.get('longhorn')?.secrets ?? [];
    expect(secret?.keys).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ENDPOINTS',
      'AWS_CERT',
    ]);
    // Longhorn 1.8.1's webhook refuses a credential with surrounding whitespace.
    expect(secret?.values).toEqual({
      AWS_ENDPOINTS: 'https://s3.example.com',
      AWS_CERT: ca.trimEnd(),
    });
    expect(secret?.description).toBe(
      'S3 credentials of the Longhorn backup target s3://homelab-longhorn@us-east-1/longhorn/prod; AWS_ENDPOINTS must be https://s3.example.com; AWS_CERT must be the PEM of backupTarget.caCertificate with no line end after its last line (Longhorn refuses a credential with surrounding whitespace)',
    );
    const bad = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { ...TEST_BACKUP_TARGET, caCertificate: 'ca.crt' },
      }),
    ).issues.filter((i) => i.code === 'longhorn-backup-ca');
    expect(bad.map((i) => [i.severity, formatPath(i.path), i.within])).toContainEqual([
      'error',
      'clusters[0].components.longhorn.backupTarget.caCertificate',
      { line: 1, column: 1 },
    ]);
  });

  test('after each node reboot, the runbook waits until every attached volume is healthy', () => {
    // Given Longhorn on a cluster; then its wait polls the attached volumes' robustness
    // (longhorn-manager v1.8.1 v1beta2 volume.go: `healthy`, `degraded`, `faulted`, `unknown`)
    const wait = declared('dev').afterNodeReboot;
    expect(wait.commands.map(readWaits)).toEqual([
      // A faulted volume is detached: listed whatever its state, so the wait holds for it.
      `wait 3600s every 10s until out=$(kubectl -n longhorn-system get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.state=="attached")]}{.metadata.name}={.status.robustness}{"\\n"}{end}{range .items[?(@.status.robustness=="faulted")]}{.metadata.name}={.status.robustness}{"\\n"}{end}') && ! printf '%s' "$out" | grep -qv '=healthy$'`,
    ]);
    expect(declared('prod').afterNodeReboot.commands).toEqual(wait.commands);
    expect(declared('prod').afterNodeReboot.reason).toMatch(
      /^Longhorn: every attached volume rebuilt to `healthy`.*the next node's drain/,
    );
  });

  test('says what holds a drain and what to do, on every cluster of more than one node', () => {
    // v1.8.1: the instance manager's PDB is named as its pod and kept while a volume is attached
    // on the cordoned node, or (unless always-allow) while a replica there has no healthy
    // counterpart; replicas carry the label longhornnode, volumes status.currentNodeID
    expect(declared('dev').drainHeld).toBeUndefined();
    const prod = declared('prod').drainHeld;
    expect(prod.reason).toContain(
      "under this cluster's drain policy `block-for-eviction-if-contains-last-replica`, while the node holds the last healthy replica of a volume (its other replicas still rebuilding, or a volume of one replica: `archive-scratch`, `fast-storage-scratch`, `standard-scratch`)",
    );
    expect(prod.reason).toContain('Longhorn copies the node');
    expect(prod.reason).toContain('never delete the instance manager');
    expect(prod.commands).toEqual([
      `kubectl -n longhorn-system get pdb $(kubectl -n longhorn-system get pods -l longhorn.io/component=instance-manager --field-selector spec.nodeName="$NODE" -o jsonpath='{.items[*].metadata.name}')`,
      `kubectl -n longhorn-system logs "$(kubectl -n longhorn-system get pods -l app=longhorn-manager --field-selector spec.nodeName="$NODE" -o name)" -c longhorn-manager --since=15m | grep 'PDB is blocked' | tail -n 3`,
      'kubectl -n longhorn-system get volumes.longhorn.io -o custom-columns=VOLUME:.metadata.name,STATE:.status.state,ROBUSTNESS:.status.robustness,NODE:.status.currentNodeID,REPLICAS:.spec.numberOfReplicas,NAMESPACE:.status.kubernetesStatus.namespace,CLAIM:.status.kubernetesStatus.pvcName',
      'kubectl -n longhorn-system get replicas.longhorn.io -l longhornnode="$NODE" -o custom-columns=REPLICA:.metadata.name,VOLUME:.spec.volumeName,STATE:.status.currentState,HEALTHY:.spec.healthyAt,EVICTING:.spec.evictionRequested',
    ]);
    // Where only the last replica of a replicated volume holds it, nothing is copied away
    const plain = drainHeld(3, 'block-if-contains-last-replica', []);
    expect(plain.reason).toContain('(its other replicas still rebuilding)');
    expect(plain.reason).not.toContain('copies');
    // One storage node: only attached volumes hold it
    const one = drainHeld(1, 'always-allow', []);
    expect(one.reason).not.toContain('rebuilding');
    expect(one.reason).toContain('a volume still attached on the node');
  });

  test('a joining storage node is waited for until each of its disks is schedulable', () => {
    // longhorn-manager v1.8.1 creates the disks of the node's default-disks-config annotation
    // (syncDefaultDisks) and reports each under status.diskStatus.<name>, condition Schedulable
    const joined = declared('staging').nodeLifecycle.joined;
    expect(Object.keys(joined)).toEqual(['staging-cp1', 'staging-cp2', 'staging-cp3']);
    expect(joined['staging-cp2'].commands.map(readWaits)).toEqual([
      `wait 600s every 10s until out=$(kubectl -n longhorn-system get nodes.longhorn.io staging-cp2 -o jsonpath='{.status.diskStatus.system.conditions[?(@.type=="Schedulable")].status} {.status.diskStatus.fast.conditions[?(@.type=="Schedulable")].status}') && [ "$out" = 'True True' ]`,
    ]);
    // a node that holds no storage is not waited for
    expect(Object.keys(declared('prod').nodeLifecycle.joined)).toEqual(
      Object.keys(declared('prod').nodeLifecycle.retiring),
    );
    expect(
      Object.keys(declared('prod').nodeLifecycle.joined).every((name) => name.includes('w')),
    ).toBe(true);
  });

  test('a retiring storage node has its replicas evicted, and the runbook waits until none is left', () => {
    // v1.8.1: node spec.evictionRequested needs spec.allowScheduling false (node validator), and
    // marks every replica of the node's disks for eviction (NodeController.shouldEvictReplica);
    // replicas name their node in spec.nodeID
    const retiring = declared('staging').nodeLifecycle.retiring['staging-cp1'];
    expect(retiring.commands.map(readWaits)).toEqual([
      `kubectl -n longhorn-system patch nodes.longhorn.io staging-cp1 --type=merge -p '{"spec":{"allowScheduling":false,"evictionRequested":true}}'`,
      `wait 7200s every 10s until out=$(kubectl -n longhorn-system get replicas.longhorn.io -o jsonpath='{range .items[?(@.spec.nodeID=="staging-cp1")]}{.metadata.name}{"\\n"}{end}') && [ -z "$out" ]`,
    ]);
    // staging: two replicas per volume, three nodes with every tier: the others take them
    expect(retiring.reason).not.toContain('replica count is lowered');
    // the lost node's Longhorn node goes with its Kubernetes node (KubernetesNodeController)
    expect(declared('staging').nodeLifecycle.lost['staging-cp1'].commands).toEqual([
      'kubectl -n longhorn-system wait --for=delete nodes.longhorn.io/staging-cp1 --timeout=10m',
    ]);
  });

  test('says when the other nodes cannot take the replicas of a retiring node', () => {
    // Given prod: three replicas per volume (production profile) and three storage workers, with
    // hard anti-affinity (replicaSoftAntiAffinity false): a replica evicted from one of them has
    // no node left to go to (the volume controller keeps it until another is healthy)
    const values = runLonghorn().rendered.prod?.values.longhorn as AnyJson;
    expect(values.defaultSettings.replicaSoftAntiAffinity).toBe(false);
    const retiring = declared('prod').nodeLifecycle.retiring;
    const [first] = Object.keys(retiring);
    const reason: string = retiring[first as string].reason;
    expect(reason).toContain(
      'keep 3 replicas on distinct nodes and only 2 other node(s) have such a disk',
    );
    expect(reason).toContain(
      `kubectl -n longhorn-system patch volumes.longhorn.io <volume> --type=merge -p '{"spec":{"numberOfReplicas":2}}'`,
    );
    expect(reason).toContain('until then the wait below gives up after 120 minutes');
  });

  test('on one storage node, the runbook expects no rebuild and a drain that waits 5 minutes', () => {
    // Given the dev cluster, whose one node holds every volume's only replica
    const dev = run.rendered.dev?.values.longhorn as AnyJson;
    expect(dev.defaultSettings.defaultReplicaCount).toBe(1);
    const { reason } = declared('dev').afterNodeReboot;
    // Then its wait promises no rebuild and no next node; it says what the operator sees instead:
    // longhorn-manager v1.8.1 keeps the instance manager's PDB while a volume is attached
    // (canDeleteInstanceManagerPDB, whatever the drain policy); how Talos gets past it depends
    // on its release (v1.12 stops waiting after DrainTimeout, talosctl 1.13's own drain fails),
    // which the runbook's Talos upgrade says: the reason promises neither
    expect(reason).not.toContain('rebuilt');
    expect(reason).not.toContain('next node');
    expect(reason).toContain("one storage node holds each volume's only replica");
    expect(reason).toContain(
      "the instance manager's PodDisruptionBudget refuses every eviction while a volume is attached",
    );
    expect(reason).not.toContain('waits up to 5 minutes');
  });

  test('a privileged, critical Application with server-side apply', () => {
    expect(declared('dev').application).toMatchObject({
      namespace: 'longhorn-system',
      podSecurity: 'privileged',
      serverSideApply: true,
      // the tier classes are replaced: a full sync would delete and create them every time
      applyOutOfSyncOnly: true,
      critical: true,
    });
    expect(declared('dev').facts.storage).toEqual({
      classes: [
        {
          name: 'fast-storage',
          tier: 'fast-storage',
          default: false,
          scratch: 'fast-storage-scratch',
        },
        { name: 'standard', tier: 'standard', default: true, scratch: 'standard-scratch' },
      ],
      csiDriver: 'driver.longhorn.io',
      snapshotParameters: { type: 'snap' },
    });
  });
});

describe('declared volumes', () => {
  test('become claims on their tier in the consumer chart, never pruned by Argo CD', () => {
    const app = consumer('app', [
      {
        name: 'data',
        namespace: 'paperless',
        size: '20Gi',
        tier: 'fast-storage',
        labels: { app: 'paperless' },
      },
    ]);
    const run = runLonghorn(definition(), [app]);
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const pvc = chartObjects(run.components, 'app', run.platform.clusters[0] as AnyJson)[0];
    expect(pvc).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        namespace: 'paperless',
        labels: {
          app: 'paperless',
          'storage.homelab.dev/tier': 'fast-storage',
          // The claim is the source of its volume's recurring jobs: the group Longhorn strips
          // when the tier's last job goes comes back from Git (Argo CD), and from the claim to
          // the volume (longhorn-manager v1.8.1 syncPVCRecurringJobLabels).
          'recurring-job.longhorn.io/source': 'enabled',
          'recurring-job-group.longhorn.io/fast-storage': 'enabled',
        },
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'fast-storage',
        resources: { requests: { storage: '20Gi' } },
      },
    });
    // Nothing of where it comes from is in the chart: no origin was given.
    const own = run.components.components.find((entry) => entry.component.name === 'app');
    expect(own?.output.origins).toBeUndefined();
  });

  test("name what fills a new claim (the backup provider's populator) when the consumer asks", () => {
    const dataSourceRef = {
      apiGroup: 'volsync.backube',
      kind: 'ReplicationDestination',
      name: 'data-bootstrap',
    };
    const app = consumer('app', [
      { name: 'data', namespace: 'paperless', size: '20Gi', tier: 'standard', dataSourceRef },
      { name: 'cache', namespace: 'paperless', size: '1Gi', tier: 'standard' },
    ]);
    const run = runLonghorn(definition(), [app]);
    const claims = chartObjects(run.components, 'app', run.platform.clusters[0] as AnyJson);
    expect(claims.map((c) => [c.metadata.name, (c.spec as AnyJson).dataSourceRef])).toEqual([
      ['cache', undefined],
      ['data', dataSourceRef],
    ]);
  });

  test("say which of the consumer's settings made the claim and each of its fields", () => {
    const at = ['clusters', 0, 'components', 'app', 'volumes', 'data'];
    const app = consumer('app', [
      {
        name: 'data',
        namespace: 'paperless',
        size: '20Gi',
        tier: 'fast-storage',
        origin: at,
        origins: { size: [...at, 'size'], tier: [...at, 'tier'], accessMode: [...at, 'mode'] },
      },
    ]);
    const run = runLonghorn(definition(), [app]);
    const own = run.components.components.find((entry) => entry.component.name === 'app');
    expect(own?.output.origins?.[run.platform.clusters[0]?.name ?? '']).toEqual({
      'persistentvolumeclaim-paperless-data': {
        path: at,
        fields: {
          'spec.storageClassName': [...at, 'tier'],
          'spec.accessModes': [...at, 'mode'],
          'spec.resources.requests.storage': [...at, 'size'],
        },
      },
    });
    // and the claim itself is the same as without them
    expect(JSON.stringify(own?.output.chart)).not.toContain('origin');
  });
});

describe('definition problems', () => {
  const issues = (clusters = storageClusters(), settings: AnyJson = {}) =>
    runLonghorn(definition(clusters, settings)).issues.filter((i) => i.severity === 'error');

  test("a tier name Longhorn's recurring jobs cannot carry is refused by the settings schema", () => {
    // Longhorn v1.8.1 (datastore ValidateRecurringJob, the RecurringJob webhook): a job name of at
    // most 40 characters, a group name of at least two (util.ValidateString)
    const tier = (name: string) => ({
      tiers: { [name]: { snapshot: { schedule: { development: '0 * * * *' } } } },
    });
    const longest = `t${'x'.repeat(29)}1`;
    expect(longest.length).toBe(31);
    expect(() => runLonghorn(definition(storageClusters(), tier(`${longest}2`)))).toThrow(
      /components\.longhorn\.tiers/,
    );
    expect(() => runLonghorn(definition(storageClusters(), tier('a')))).toThrow(
      /components\.longhorn\.tiers/,
    );
    // The longest accepted name makes jobs Longhorn accepts
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...fast(), tier: longest }];
    const run = runLonghorn(
      definition(clusters, {
        tiers: {
          [longest]: {
            snapshot: { schedule: { development: '0 * * * *' }, retain: { development: 2 } },
            backup: { schedule: { development: '0 1 * * *' }, retain: { development: 2 } },
          },
        },
        backupTarget: TEST_BACKUP_TARGET,
      }),
    );
    const jobs = chartObjects(
      run.components,
      'longhorn',
      run.platform.clusters[0] as AnyJson,
    ).filter((o) => o.kind === 'RecurringJob');
    expect(jobs.map((job) => job.metadata.name)).toEqual(
      expect.arrayContaining([`${longest}-backup`, `${longest}-snapshot`]),
    );
    for (const job of jobs) expect(job.metadata.name.length).toBeLessThanOrEqual(40);
  });

  test('a backup target bucket S3 and MinIO refuse (two dots, a dot beside a hyphen, an IP address) is refused at the bucket', () => {
    const refused = (bucket: string) =>
      issues(storageClusters(), { backupTarget: { ...TEST_BACKUP_TARGET, bucket } })
        .filter((i) => formatPath(i.path).startsWith('clusters[0]'))
        .map((i) => [formatPath(i.path), i.code, i.message, i.value]);
    const AT = 'clusters[0].components.longhorn.backupTarget.bucket';
    expect(refused('a..b')).toEqual([
      [
        AT,
        'longhorn-backup-target',
        'has two dots in a row, which S3 and MinIO refuse in a bucket name',
        'a..b',
      ],
    ]);
    expect(refused('a-.b')).toEqual([
      [
        AT,
        'longhorn-backup-target',
        'has a dot beside a hyphen, which S3 and MinIO refuse in a bucket name',
        'a-.b',
      ],
    ]);
    expect(refused('10.0.0.1')).toEqual([
      [
        AT,
        'longhorn-backup-target',
        'is shaped like an IP address, which S3 and MinIO refuse as a bucket name',
        '10.0.0.1',
      ],
    ]);
    expect(refused('homelab-longhorn.2024')).toEqual([]);
  });

  test('a backup target endpoint that is no S3 server address is refused at the endpoint', () => {
    const refused = (endpoint: string) =>
      issues(storageClusters(), { backupTarget: { ...TEST_BACKUP_TARGET, endpoint } })
        .filter((i) => formatPath(i.path).startsWith('clusters[0]'))
        .map((i) => [formatPath(i.path), i.code, i.message, i.expected]);
    const AT = 'clusters[0].components.longhorn.backupTarget.endpoint';
    expect(refused('https://s3.example.com:70000')).toEqual([
      [
        AT,
        'longhorn-backup-target',
        'has port 70000, which is not a TCP port (1–65535)',
        'https://s3.example.com:<port> with a port in 1–65535, or https://s3.example.com for 443',
      ],
    ]);
    expect(refused('https://s3.example.com/longhorn')).toEqual([
      [
        AT,
        'longhorn-backup-target',
        'has a path (/longhorn): an S3 endpoint is the address of the server only; the bucket and the folders in it are appended to it',
        'https://s3.example.com, with the bucket and the folder in backupTarget.bucket and backupTarget.path',
      ],
    ]);
    expect(refused('https://s3.example.com?region=XQ').map((row) => row[2])).toEqual([
      'has a query (?…): the bucket and the folders are appended to the endpoint, so they would land inside the query and every request would miss the bucket',
    ]);
    expect(refused('https://s3.example.com#XQ').map((row) => row[3])).toEqual([
      'https://s3.example.com, without the fragment',
    ]);
    const credentials = refused('https://AKIAXQ:hunter2hunter2@s3.example.com');
    expect(credentials.map((row) => row[0])).toEqual([AT]);
    expect(JSON.stringify(credentials)).not.toMatch(/AKIAXQ|hunter2/);
  });

  test('a backup target host no egress policy can name is refused at the endpoint, and declares no flow', () => {
    const run = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { ...TEST_BACKUP_TARGET, endpoint: 'https://bad_host!.example.com' },
      }),
    );
    expect(
      run.issues
        .filter((i) => i.severity === 'error' && formatPath(i.path).startsWith('clusters[0]'))
        .map((i) => [formatPath(i.path), i.message]),
    ).toEqual([
      [
        'clusters[0].components.longhorn.backupTarget.endpoint',
        'has host "bad_host!.example.com", which is not a DNS name (letters, digits and hyphens in labels separated by dots): no DNS rule of the egress policy can allow it, so the S3 server would be unreachable',
      ],
    ]);
    const flows = run.components.clusters[0]?.contributions.get('longhorn')?.flows ?? [];
    expect(flows.filter((flow) => flow.name.includes('backup-target'))).toEqual([]);
  });

  test('a backup target endpoint with a trailing slash is accepted and stored without it', () => {
    const run = runLonghorn(
      definition(storageClusters(), {
        backupTarget: { ...TEST_BACKUP_TARGET, endpoint: 'https://s3.example.com/' },
      }),
    );
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const secrets = run.components.clusters[0]?.contributions.get('longhorn')?.secrets ?? [];
    expect(JSON.stringify(secrets)).toContain('AWS_ENDPOINTS must be https://s3.example.com"');
  });

  test("a tier's snapshot or backup schedule robfig/cron would refuse, at the environment's schedule", () => {
    const settings = {
      tiers: {
        standard: {
          snapshot: { schedule: { development: '0 2 * * 7' } },
          backup: { schedule: { production: '0 2 30 2 *' } },
        },
      },
    };
    expect(
      issues(storageClusters(), settings)
        .filter((i) => i.code === 'longhorn-schedule')
        .map((i) => [formatPath(i.path), i.value, i.message]),
    ).toEqual([
      [
        'clusters[0].components.longhorn.tiers.standard.snapshot.schedule.development',
        '0 2 * * 7',
        expect.stringContaining('7'),
      ],
      [
        'clusters[2].components.longhorn.tiers.standard.backup.schedule.production',
        '0 2 30 2 *',
        expect.stringContaining('never fires'),
      ],
    ]);
    // A descriptor is a schedule too (the schema once wanted 9 characters at least)
    const daily = { tiers: { standard: { snapshot: { schedule: { development: '@daily' } } } } };
    expect(issues(storageClusters(), daily).filter((i) => i.severity === 'error')).toEqual([]);
  });

  test("a tier named like another tier's scratch class, at its name", () => {
    const settings = {
      tiers: { 'fast-storage-scratch': { reclaimPolicy: 'Delete' } },
    };
    expect(
      issues(storageClusters(), settings)
        .filter((i) => i.code === 'longhorn-tier')
        .map((i) => formatPath(i.path)),
    ).toEqual([
      'clusters[0].components.longhorn.tiers.fast-storage-scratch',
      'clusters[1].components.longhorn.tiers.fast-storage-scratch',
      'clusters[2].components.longhorn.tiers.fast-storage-scratch',
    ]);
    // standard deletes its volumes, and has a scratch class all the same
    const clash = issues(storageClusters(), {
      tiers: { 'standard-scratch': { reclaimPolicy: 'Delete' } },
    }).filter((i) => i.code === 'longhorn-tier');
    expect(clash.map((i) => formatPath(i.path))).toEqual([
      'clusters[0].components.longhorn.tiers.standard-scratch',
      'clusters[1].components.longhorn.tiers.standard-scratch',
      'clusters[2].components.longhorn.tiers.standard-scratch',
    ]);
    expect(clash[0]?.message).toContain('scratch class of tier "standard"');
  });

  test('a disk of an unknown tier, at the disk', () => {
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...fast(), tier: 'fast-storag' }];
    expect(issues(clusters).map((i) => [i.code, formatPath(i.path)])).toEqual([
      ['longhorn-tier', 'clusters[0].nodes[0].disks[0].tier'],
    ]);
  });

  test('an HDD in a tier that holds only SSDs, at its class', () => {
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...bulk(), tier: 'fast-storage' }];
    expect(issues(clusters).map((i) => [i.code, formatPath(i.path), i.message])).toEqual([
      [
        'longhorn-disk-class',
        'clusters[0].nodes[0].disks[0].class',
        'puts an HDD into tier "fast-storage", which holds only SSDs (node "dev-cp1", disk "bulk")',
      ],
    ]);
  });

  test('a minSize above the maxSize, which Talos refuses in the UserVolumeConfig, at minSize', () => {
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...fast(), minSize: '200GiB', maxSize: '100GiB' }];
    expect(
      issues(clusters).map((i) => [i.code, formatPath(i.path), i.value, i.message, i.expected]),
    ).toEqual([
      [
        'data-disk-size',
        'clusters[0].nodes[0].disks[0].minSize',
        '200GiB',
        'is greater than maxSize 100GiB (node "dev-cp1", disk "fast"): Talos refuses the UserVolumeConfig ("min size is greater than max size")',
        'minSize no greater than maxSize 100GiB',
      ],
    ]);
  });

  test('a maxSize below the default minSize (10GiB) is the same mistake, at maxSize; equal sizes pass', () => {
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...fast(), maxSize: '5GB' }];
    expect(issues(clusters).map((i) => [i.code, formatPath(i.path), i.message])).toEqual([
      [
        'data-disk-size',
        'clusters[0].nodes[0].disks[0].maxSize',
        'is below the default minSize 10GiB (node "dev-cp1", disk "fast"): Talos refuses the UserVolumeConfig ("min size is greater than max size")',
      ],
    ]);
    (clusters[0].nodes[0] as AnyJson).disks = [{ ...fast(), minSize: '1TB', maxSize: '1000 GB' }];
    expect(issues(clusters).filter((i) => i.code === 'data-disk-size')).toEqual([]);
  });

  test('a storage node without any disk when the system disk holds none', () => {
    const clusters = storageClusters();
    (clusters[0].nodes[0] as AnyJson).disks = [];
    expect(
      issues(clusters, { systemDisk: false }).map((i) => [i.code, formatPath(i.path)]),
    ).toEqual([['longhorn-disks', 'clusters[0].nodes[0]']]);
  });

  test('a cluster with Longhorn and no storage node gets a warning and no StorageClass', () => {
    const clusters = storageClusters();
    for (const node of clusters[0].nodes as AnyJson[]) {
      node.storage = false;
      node.disks = undefined;
    }
    const run = runLonghorn(definition(clusters, {}));
    expect(
      run.issues
        .filter((i) => i.code === 'longhorn-storage-nodes')
        .map((i) => [i.severity, formatPath(i.path)]),
    ).toEqual([['warning', 'clusters[0].nodes']]);
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(
      chartObjects(run.components, 'longhorn', run.platform.clusters[0] as AnyJson).filter(
        (o) => o.kind === 'StorageClass',
      ),
    ).toEqual([]);
  });

  test('the UI is never routed without forward authentication', () => {
    const gateway = (forwardAuth: boolean) =>
      testGateway(() => ({ domain: 'lab.example.com', forwardAuth }));
    const refused = runLonghorn(definition(storageClusters(), { ui: { route: true } }), [
      gateway(false),
    ]);
    expect(
      refused.issues.filter((i) => i.severity === 'error').map((i) => [i.code, formatPath(i.path)]),
    ).toEqual([
      ['longhorn-ui-auth', 'clusters[0].components.longhorn.ui.route'],
      ['longhorn-ui-auth', 'clusters[1].components.longhorn.ui.route'],
      ['longhorn-ui-auth', 'clusters[2].components.longhorn.ui.route'],
    ]);
    const routed = runLonghorn(definition(storageClusters(), { ui: { route: true } }), [
      gateway(true),
    ]);
    expect(routed.components.clusters[0]?.contributions.get('longhorn')?.routes).toEqual([
      {
        name: 'longhorn-ui',
        host: 'longhorn',
        namespace: 'longhorn-system',
        service: 'longhorn-frontend',
        port: 80,
        auth: { kind: 'forward-auth', policy: 'two_factor', groups: ['platform-admins'] },
      },
    ]);
  });
});

describe('retiring a node no longer in the definition (nodeLifecycle.retiringRemoved)', () => {
  const run = runLonghorn();
  const retiringRemoved = (cluster: string) => {
    const found = run.components.clusters.find((c) => c.cluster.name === cluster);
    const longhorn: AnyJson = found?.contributions.get('longhorn') ?? {};
    return longhorn.nodeLifecycle?.retiringRemoved;
  };
  const NODE = 'prod-old-1';
  const PATCH = `kubectl -n longhorn-system patch nodes.longhorn.io ${NODE} --type=merge -p {"spec":{"allowScheduling":false,"evictionRequested":true}}`;
  const GET_NODE = `kubectl -n longhorn-system get nodes.longhorn.io ${NODE} --ignore-not-found -o name`;
  // After the shell's quoting: the hostname inside the JSONPath filter, `\n` left to kubectl.
  const GET_REPLICAS = `kubectl -n longhorn-system get replicas.longhorn.io -o jsonpath={range .items[?(@.spec.nodeID=="${NODE}")]}{.metadata.name}{"\\n"}{end}`;

  /**
   * Runs the commands as the runbook chains them (each followed by `&&`, then the drain) in sh
   * and zsh (`pasteShells`),
   * `NODE` set, with a kubectl stub (`kubectl` is its script after the logging line) and a
   * sleep that only logs; returns the calls made, in order. With `stopAfterSleeps`, the sleep
   * stub kills the shell at that sleep: a wait that never ends is cut there, with no process left
   * writing into the folder (a timeout killed only the shell, and a stub still running raced the
   * folder's removal).
   */
  (zshTestRuns('longhorn: retiring a node') ? test : test.skip)(
    'runs its commands in zsh too',
    () => {
      expect(pasteShells().map((shell) => shell.name)).toEqual(['sh', 'zsh']);
    },
  );

  function runChain(
    commands: readonly string[],
    kubectl: string,
    stopAfterSleeps?: number,
  ): { calls: string[]; status: number | null } {
    // In sh and, where found, zsh (where operators paste on macOS): the same calls and status.
    const [first, ...others] = pasteShells();
    const result = runChainIn(first as PasteShell, commands, kubectl, stopAfterSleeps);
    for (const shell of others) {
      expect(runChainIn(shell, commands, kubectl, stopAfterSleeps), shell.name).toEqual(result);
    }
    return result;
  }

  function runChainIn(
    shell: PasteShell,
    commands: readonly string[],
    kubectl: string,
    stopAfterSleeps?: number,
  ): { calls: string[]; status: number | null } {
    const dir = mkdtempSync(join(tmpdir(), 'longhorn-retire-'));
    try {
      const log = join(dir, 'calls');
      writeFileSync(log, '');
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/bin/sh\nprintf '%s\\n' "kubectl $*" >> "${log}"\n${kubectl}`,
        {
          mode: 0o755,
        },
      );
      const stop =
        stopAfterSleeps === undefined
          ? ''
          : `[ "$(grep -c '^sleep ' "${log}")" -ge ${stopAfterSleeps} ] && kill -9 "$PPID"\n`;
      writeFileSync(join(dir, 'sleep'), `#!/bin/sh\necho "sleep $*" >> "${log}"\n${stop}`, {
        mode: 0o755,
      });
      const script = [
        `NODE=${NODE}`,
        ...commands.map((command) => `${command} &&`),
        'kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m',
      ].join('\n');
      const result = spawnSync(shell.command, [...shell.args, script], {
        env: { PATH: `${dir}:/usr/bin:/bin`, STATE: dir },
        encoding: 'utf8',
      });
      return {
        calls: readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== ''),
        status: result.status,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The stub's answer to the replica list: `polls` lines of replicas on the node, then none. */
  const replicasFor = (polls: number) =>
    [
      'case "$*" in',
      `  *"get nodes.longhorn.io"*) echo "node.longhorn.io/${NODE}" ;;`,
      '  *"get replicas.longhorn.io"*)',
      '    n=$(cat "$STATE/polls" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/polls"',
      `    [ "$n" -lt ${polls} ] && printf 'pvc-1-r-a\\npvc-2-r-b\\n' ;;`,
      'esac',
      'exit 0',
      '',
    ].join('\n');

  test('every cluster: the Longhorn node (if any) patched, then a wait until no replica names $NODE', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(retiringRemoved(cluster).commands.map(readWaits)).toEqual([
        `longhorn_node=$(kubectl -n longhorn-system get nodes.longhorn.io "$NODE" --ignore-not-found -o name) && { [ -z "$longhorn_node" ] || kubectl -n longhorn-system patch nodes.longhorn.io "$NODE" --type=merge -p '{"spec":{"allowScheduling":false,"evictionRequested":true}}'; }`,
        `wait 7200s every 10s until out=$(kubectl -n longhorn-system get replicas.longhorn.io -o jsonpath='{range .items[?(@.spec.nodeID=="'"$NODE"'")]}{.metadata.name}{"\\n"}{end}') && [ -z "$out" ]`,
      ]);
      const reason: string = retiringRemoved(cluster).reason;
      expect(reason).toContain('`allowScheduling: false`, `evictionRequested: true`');
      expect(reason).toContain('lower its replica count');
    }
  });

  test('the fields it patches and reads are those of the v1.8.1 CRDs (nodes and replicas)', () => {
    const crds = readVendoredChartFile('longhorn', LONGHORN_CHART_VERSION, 'templates/crds.yaml')
      .split('\n')
      .filter((line) => !line.includes('{{'))
      .join('\n');
    const docs = (parseAllDocuments(crds) as AnyJson[]).filter(
      (doc) => doc?.kind === 'CustomResourceDefinition',
    );
    const spec = (name: string) =>
      docs
        .find((doc) => doc.metadata.name === name)
        ?.spec.versions.find((v: AnyJson) => v.name === 'v1beta2').schema.openAPIV3Schema.properties
        .spec.properties;
    expect(spec('nodes.longhorn.io').allowScheduling.type).toBe('boolean');
    expect(spec('nodes.longhorn.io').evictionRequested.type).toBe('boolean');
    expect(spec('replicas.longhorn.io').nodeID.type).toBe('string');
    const crd = docs.find((doc) => doc.metadata.name === 'replicas.longhorn.io');
    expect(crd.spec.scope).toBe('Namespaced');
    // The one-node hook before a reboot reads a volume's state and the pods using it.
    const volumeStatus = docs
      .find((doc) => doc.metadata.name === 'volumes.longhorn.io')
      ?.spec.versions.find((v: AnyJson) => v.name === 'v1beta2').schema.openAPIV3Schema.properties
      .status.properties;
    expect(volumeStatus.state.type).toBe('string');
    expect(volumeStatus.robustness.type).toBe('string');
    const kubernetesStatus = volumeStatus.kubernetesStatus.properties;
    expect(kubernetesStatus.namespace.type).toBe('string');
    expect(kubernetesStatus.workloadsStatus.items.properties.podName.type).toBe('string');
  });

  test('waits while replicas name the node: two polls with replicas, then the drain', () => {
    const { calls, status } = runChain(retiringRemoved('prod').commands, replicasFor(2));
    expect(status).toBe(0);
    expect(calls).toEqual([
      GET_NODE,
      PATCH,
      GET_REPLICAS,
      'sleep 10',
      GET_REPLICAS,
      'sleep 10',
      GET_REPLICAS,
      `kubectl drain ${NODE} --ignore-daemonsets --delete-emptydir-data --timeout=5m`,
    ]);
  });

  test('a node whose replicas never leave is never drained (the wait has no timeout)', () => {
    const { calls, status } = runChain(retiringRemoved('prod').commands, replicasFor(1_000_000), 5);
    expect(status).not.toBe(0);
    expect(calls.slice(0, 3)).toEqual([GET_NODE, PATCH, GET_REPLICAS]);
    // Five polls, each followed by its sleep, and the fifth sleep stops the shell.
    expect(calls.filter((call) => call === GET_REPLICAS).length).toBe(5);
    expect(calls.filter((call) => call === 'sleep 10').length).toBe(5);
    expect(calls.some((call) => call.startsWith('kubectl drain'))).toBe(false);
  });

  test('a node without a Longhorn node is not patched, and goes on once no replica names it', () => {
    const { calls, status } = runChain(retiringRemoved('prod').commands, 'exit 0\n');
    expect(status).toBe(0);
    expect(calls).toEqual([
      GET_NODE,
      GET_REPLICAS,
      `kubectl drain ${NODE} --ignore-daemonsets --delete-emptydir-data --timeout=5m`,
    ]);
  });

  const declared = (cluster: string) =>
    run.components.clusters
      .find((c) => c.cluster.name === cluster)
      ?.contributions.get('longhorn') as AnyJson;
  /** The one-node hook's calls, its two volume reads by name. */
  const loneCalls = (calls: readonly string[]) =>
    calls.map((call) =>
      call.startsWith('kubectl -n longhorn-system get volumes.longhorn.io')
        ? call.includes('workloadsStatus')
          ? 'GET_WORKLOADS'
          : 'GET_STATES'
        : call,
    );
  /** Attached volumes and their pods (one without pods), then `attachedPolls` reads of states with one attached. */
  const loneVolumes = (attachedPolls: number) =>
    [
      'case "$*" in',
      `  *workloadsStatus*) printf 'paperless paperless-web-0 paperless-worker-0\\nmedia \\n' ;;`,
      '  *"get volumes.longhorn.io"*)',
      '    n=$(cat "$STATE/polls" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/polls"',
      `    if [ "$n" -lt ${attachedPolls} ]; then printf 'pvc-1=attached\\npvc-2=detached\\n'; else printf 'pvc-1=detached\\npvc-2=detached\\n'; fi ;;`,
      'esac',
      'exit 0',
      '',
    ].join('\n');

  test('one node: only a one-node cluster stops its Longhorn volumes before a reboot', () => {
    expect(declared('dev').beforeLoneNodeReboot?.commands).toHaveLength(2);
    expect(declared('dev').beforeLoneNodeReboot?.reason).toMatch(
      /^Longhorn: every pod using a Longhorn volume deleted .* every volume detached/,
    );
    expect(declared('staging').beforeLoneNodeReboot).toBeUndefined();
    expect(declared('prod').beforeLoneNodeReboot).toBeUndefined();
  });

  test('one node: deletes each pod of an attached volume, waits until every volume is detached, then goes on', () => {
    // The chain's last line (the drain, in runChain) stands for the reboot the runbook chains.
    const { calls, status } = runChain(
      declared('dev').beforeLoneNodeReboot.commands,
      loneVolumes(2),
    );
    expect(status).toBe(0);
    expect(loneCalls(calls)).toEqual([
      'GET_WORKLOADS',
      'kubectl -n paperless delete pod paperless-web-0 --ignore-not-found --wait=false',
      'kubectl -n paperless delete pod paperless-worker-0 --ignore-not-found --wait=false',
      'GET_STATES',
      'sleep 10',
      'GET_STATES',
      'sleep 10',
      'GET_STATES',
      `kubectl drain ${NODE} --ignore-daemonsets --delete-emptydir-data --timeout=5m`,
    ]);
  });

  test('one node: a volume that stays attached is never rebooted', () => {
    const { calls, status } = runChain(
      declared('dev').beforeLoneNodeReboot.commands,
      loneVolumes(1_000_000),
      3,
    );
    expect(status).not.toBe(0);
    expect(loneCalls(calls).filter((call) => call === 'GET_STATES')).toHaveLength(3);
    expect(calls.some((call) => call.startsWith('kubectl drain'))).toBe(false);
  });

  test('a failing lookup of the Longhorn node stops the chain instead of skipping the eviction', () => {
    // The API server unreachable, or the replicas still there: no patch, no wait, no drain.
    const { calls, status } = runChain(
      retiringRemoved('prod').commands,
      `case "$*" in *"get nodes.longhorn.io"*) echo 'Unable to connect to the server' >&2; exit 1 ;; esac\n${replicasFor(1_000_000)}`,
      1500,
    );
    expect(calls).toEqual([GET_NODE]);
    expect(status).toBe(1);
  });
});

describe("changing a storage node's disks (the later step)", () => {
  // longhorn-manager v1.8.1 KubernetesNodeController.syncDefaultDisks returns at once when the
  // Longhorn node has a disk (`if len(node.Spec.Disks) != 0`): an added data disk or a new tier
  // changes the annotation and nothing in Longhorn, so the runbook patches the Longhorn node.
  const run = runLonghorn();
  const declared = (cluster: string) =>
    run.components.clusters
      .find((c) => c.cluster.name === cluster)
      ?.contributions.get('longhorn') as AnyJson;
  const step = (cluster: string) => declared(cluster).bootstrap?.[0];

  test('is a later section with a block per storage node', () => {
    const prod = step('prod');
    expect(prod.when).toBe('later');
    expect(prod.title).toBe("changing a storage node's disks");
    const body: string = prod.body.join('\n');
    for (const node of ['prod-w1', 'prod-w2', 'prod-w3'])
      expect(body).toContain(`**${node}** (\`system\`, \`fast\`, \`bulk\`):`);
    expect(body).not.toContain('prod-cp1');
    // the block of a node is the commands of diskChangeCommands, fenced
    const node = run.platform.clusters
      .find((c) => c.name === 'prod')
      ?.nodes.find((n) => n.hostname === 'prod-w2');
    const annotation = declared('prod').talos.nodes['prod-w2'].annotations[DISKS_ANNOTATION];
    expect(body).toContain(
      ['```sh', ...diskChangeCommands(node as AnyJson, JSON.parse(annotation)), '```'].join('\n'),
    );
  });

  test('gives a node with two data disks exactly its disks, then waits until they are schedulable', () => {
    const clusters = storageClusters();
    const only = runLonghorn(
      definition(clusters, { backupTarget: { ...TEST_BACKUP_TARGET }, systemDisk: false }),
    );
    const prod = only.components.clusters.find((c) => c.cluster.name === 'prod') as AnyJson;
    const body: string = prod.contributions.get('longhorn').bootstrap[0].body.join('\n');
    const block = body.slice(body.indexOf('**prod-w1**'), body.indexOf('**prod-w2**'));
    expect(readWaits(block)).toBe(
      [
        '**prod-w1** (`fast`, `bulk`):',
        '',
        '```sh',
        "wait 600s every 10s until talosctl -n 192.168.3.21 get volumestatus u-fast -o yaml | grep -q '^ *phase: ready$'",
        "wait 600s every 10s until talosctl -n 192.168.3.21 get volumestatus u-bulk -o yaml | grep -q '^ *phase: ready$'",
        `kubectl -n longhorn-system patch nodes.longhorn.io prod-w1 --type=merge -p '{"spec":{"disks":{"fast":{"path":"/var/mnt/fast","allowScheduling":true,"tags":["ssd","fast-storage"],"storageReserved":1,"diskType":"filesystem"},"bulk":{"path":"/var/mnt/bulk","allowScheduling":true,"tags":["hdd","archive"],"storageReserved":1,"diskType":"filesystem"}}}}'`,
        `wait 600s every 10s until out=$(kubectl -n longhorn-system get nodes.longhorn.io prod-w1 -o jsonpath='{.status.diskStatus.fast.conditions[?(@.type=="Schedulable")].status} {.status.diskStatus.bulk.conditions[?(@.type=="Schedulable")].status}') && [ "$out" = 'True True' ]`,
        '```',
        '',
        '',
      ].join('\n'),
    );
    // nothing removes a disk the definition does not list: the only null is the eviction's
    expect(block).not.toContain('null');
  });

  test("sets each disk to what the node's annotation says for it", () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const talos = declared(cluster).talos.nodes as AnyJson;
      const body: string = step(cluster).body.join('\n');
      for (const [hostname, needs] of Object.entries(talos) as [string, AnyJson][]) {
        const annotation = needs.annotations[DISKS_ANNOTATION];
        const listed = parseDisksAnnotation(annotation) ?? [];
        expect(listed.length, hostname).toBeGreaterThan(0);
        const raw = JSON.parse(annotation) as AnyJson[];
        for (const disk of raw) {
          const patch = diskSpecPatch(disk).spec.disks[disk.name];
          expect(patch).toEqual({
            path: disk.path,
            allowScheduling: disk.allowScheduling,
            tags: disk.tags,
            ...(disk.storageReserved === undefined
              ? {}
              : { storageReserved: disk.storageReserved }),
            diskType: 'filesystem',
          });
          // every patch the runbook prints for the node gives the disk these values (the system
          // disk: without its reserve where it exists, scheduling off and no reserve yet where not)
          const printed = [...body.matchAll(/nodes\.longhorn\.io (\S+) --type=merge -p '([^']*)'/g)]
            .filter((m) => m[1] === hostname)
            .map((m) => JSON.parse(m[2] ?? '{}').spec.disks[disk.name]);
          const system = raw.some((d) => d.storageReserved === undefined);
          expect(printed.length, `${hostname} ${disk.name}`).toBe(system ? 2 : 1);
          expect(printed, `${hostname} ${disk.name}`).toEqual(
            disk.storageReserved === undefined
              ? [
                  {
                    path: disk.path,
                    allowScheduling: true,
                    tags: disk.tags,
                    diskType: 'filesystem',
                  },
                  { ...patch, allowScheduling: false, storageReserved: 0 },
                ]
              : printed.map(() => patch),
          );
        }
      }
    }
  });

  test("adds a missing system disk with the reserve Longhorn would have given it, keeps an existing one's", () => {
    // one patch for all the node's disks: the webhook refuses an update while the disks' spec
    // and status differ (isNodeDiskSpecAndStatusSynced), as after a patch that added one
    // CreateDisksFromAnnotation: storageReserved 0 → storage-reserved-percentage-for-default-disk
    // of the disk's StorageMaximum, which the Longhorn node reports once it has the disk
    const body: string = step('dev').body.join('\n');
    expect(readWaits(body)).toContain(
      [
        `system_path=$(kubectl -n longhorn-system get nodes.longhorn.io dev-cp1 -o jsonpath='{.spec.disks.system.path}') && if [ -n "$system_path" ]; then`,
        `  kubectl -n longhorn-system patch nodes.longhorn.io dev-cp1 --type=merge -p '{"spec":{"disks":{"system":{"path":"/var/lib/longhorn/","allowScheduling":true,"tags":["standard"],"diskType":"filesystem"},"fast":{"path":"/var/mnt/fast","allowScheduling":true,"tags":["ssd","fast-storage"],"storageReserved":1,"diskType":"filesystem"}}}}'`,
        'else',
        `  kubectl -n longhorn-system patch nodes.longhorn.io dev-cp1 --type=merge -p '{"spec":{"disks":{"system":{"path":"/var/lib/longhorn/","allowScheduling":false,"tags":["standard"],"storageReserved":0,"diskType":"filesystem"},"fast":{"path":"/var/mnt/fast","allowScheduling":true,"tags":["ssd","fast-storage"],"storageReserved":1,"diskType":"filesystem"}}}}' &&`,
        `  wait 600s every 10s until size=$(kubectl -n longhorn-system get nodes.longhorn.io dev-cp1 -o jsonpath='{.status.diskStatus.system.storageMaximum}') && [ "\${size:-0}" -gt 0 ] &&`,
        // the wait ran in a subshell: the size is read again
        `  size=$(kubectl -n longhorn-system get nodes.longhorn.io dev-cp1 -o jsonpath='{.status.diskStatus.system.storageMaximum}') &&`,
        `  percent=$(kubectl -n longhorn-system get settings.longhorn.io storage-reserved-percentage-for-default-disk -o jsonpath='{.value}') &&`,
        `  kubectl -n longhorn-system patch nodes.longhorn.io dev-cp1 --type=merge -p "{\\"spec\\":{\\"disks\\":{\\"system\\":{\\"allowScheduling\\":true,\\"storageReserved\\":$((size * percent / 100))}}}}"`,
        'fi',
      ].join('\n'),
    );
  });

  test('evicts a disk before removing it, and says to do it before the Talos settings drop it', () => {
    const body: string = step('prod').body.join('\n');
    expect(readWaits(body)).toContain(
      [
        'NODE=',
        'DISK=',
        `kubectl -n longhorn-system patch nodes.longhorn.io "\${NODE:?set it to the node, as its Longhorn node is named}" --type=merge -p '{"spec":{"disks":{"'"\${DISK:?set it to the disk, as its Longhorn node names it}"'":{"allowScheduling":false,"evictionRequested":true}}}}' &&`,
        `disk_path=$(kubectl -n longhorn-system get nodes.longhorn.io "$NODE" -o jsonpath='{.spec.disks.'"$DISK"'.path}') && [ -n "$disk_path" ] &&`,
        `wait 7200s every 10s until out=$(kubectl -n longhorn-system get replicas.longhorn.io -o jsonpath='{range .items[*]}{.spec.nodeID} {.spec.diskPath}{"\\n"}{end}') && ! printf '%s\\n' "$out" | grep -qxF "$NODE $disk_path" &&`,
        // longhorn-manager v1.8.1's webhook refuses the removal while storageScheduled is not 0,
        // which its node controller recounts every 30 s
        `wait 600s every 10s until [ "$(kubectl -n longhorn-system get nodes.longhorn.io "$NODE" -o jsonpath='{.status.diskStatus.'"$DISK"'.storageScheduled}')" = 0 ] &&`,
        `kubectl -n longhorn-system patch nodes.longhorn.io "$NODE" --type=merge -p '{"spec":{"disks":{"'"$DISK"'":null}}}'`,
      ].join('\n'),
    );
    expect(body.indexOf('before applying the Talos')).toBeLessThan(body.indexOf('NODE='));
    expect(body.indexOf('Apply the new Talos settings')).toBeLessThan(body.indexOf('**prod-w1**'));
  });

  test('removes the disk only once both waits passed: the block is one chain, pasted whole', () => {
    const body: string = step('prod').body.join('\n');
    const start = body.indexOf('```sh\nNODE=\n');
    const block = body.slice(start + 6, body.indexOf('\n```', start + 6));
    const script = block.replace('NODE=\nDISK=\n', 'NODE=prod-w1\nDISK=fast\n');
    /** The calls of `kubectl`: replicas on the disk or not, the disk's storageScheduled. */
    const run = (replicas: boolean, scheduled: number) =>
      pasteShells().map((shell) => {
        const dir = mkdtempSync(join(tmpdir(), 'longhorn-disk-'));
        try {
          const log = join(dir, 'calls');
          writeFileSync(log, '');
          const stub = (name: string, text: string) =>
            writeFileSync(join(dir, name), `#!/bin/sh\n${text}`, { mode: 0o755 });
          stub(
            'kubectl',
            [
              `printf '%s\\n' "kubectl $*" >> "${log}"`,
              'case "$*" in',
              "  *'{.spec.disks.fast.path}'*) echo /var/mnt/fast ;;",
              `  *"get replicas.longhorn.io"*) ${replicas ? "printf 'prod-w1 /var/mnt/fast\\n'" : "printf 'prod-w2 /var/mnt/fast\\n'"} ;;`,
              `  *storageScheduled*) printf '%s' ${scheduled} ;;`,
              'esac',
              '',
            ].join('\n'),
          );
          // Each `date +%s` an hour after the one before: a wait gives up at its second look.
          stub(
            'date',
            `n=$(cat "${dir}/t" 2>/dev/null || echo 0); echo $((n + 3600)) > "${dir}/t"; echo "$n"\n`,
          );
          stub('sleep', 'exit 0\n');
          const result = spawnSync(shell.command, [...shell.args, script], {
            env: { PATH: `${dir}:/usr/bin:/bin` },
            encoding: 'utf8',
          });
          expect(result.error).toBeUndefined();
          return readFileSync(log, 'utf8')
            .split('\n')
            .filter((call) => call.includes(' patch '))
            .map((call) => (call.includes('null') ? 'remove' : 'evict'));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    // replicas still on the disk: evicted, never removed
    for (const calls of run(true, 0)) expect(calls).toEqual(['evict']);
    // none left, but storage still scheduled on it: never removed
    for (const calls of run(false, 1024)) expect(calls).toEqual(['evict']);
    // both waits passed: removed
    for (const calls of run(false, 0)) expect(calls).toEqual(['evict', 'remove']);
  });

  test("says which tiers' disks an eviction has no room for, with the replica count to lower", () => {
    // prod: three workers, each with one disk of each tier, the tiers keep 3 replicas on distinct
    // nodes (hard anti-affinity): an evicted replica has no fourth node to go to
    const body: string = step('prod').body.join('\n');
    expect(body).toContain('On this cluster an eviction has no room for the disks of:');
    expect(body).toMatch(
      /- `fast-storage`: its volumes keep 3 replicas on distinct nodes and 3 nodes have such a disk, so an evicted replica has no node to go to: lower each such volume's replica count to 2 first/,
    );
  });
});
