// Conformance with VolSync 0.16.0 (the vendored chart: its values and its CRDs, read in place,
// never copied) and with the Kubernetes schemas.
import {
  chartFiles,
  descriptorManualSync,
  INITIAL_CHART_VERSION,
  type KubeObject,
  loadModelValidators,
  parseAllDocuments,
  parseCron,
  parseYaml,
  renderChart,
  type Values,
  validateObjects,
} from '@homelab/core';
import { readVendoredChartFile, unknownValueKeys } from '@homelab/core/testing';
import type { ValidateFunction } from 'ajv';
import { describe, expect, test } from 'vitest';
import { volsyncAdmitsSchedule } from '../src/checks.js';
import { backupsValidators } from '../src/validators.js';
import { crdSchema, crdValidator, VERSION } from './crds.js';
import {
  type AnyJson,
  chartObjects,
  cni,
  consumer,
  DATA,
  gitops,
  populated,
  retaining,
  runBackups,
  SETTINGS,
  snapshots,
} from './helpers.js';

/** Whether the dotted `path` (`status.lastManualSync`) is a property of `schema`. */
const hasField = (schema: AnyJson, path: string): boolean =>
  path.split('.').reduce((node: AnyJson, key) => node?.properties?.[key], schema) !== undefined;

describe(`VolSync ${VERSION}`, () => {
  const run = runBackups();
  const all = run.platform.clusters.flatMap((cluster) => [
    ...chartObjects(run.components, 'app', cluster),
    ...chartObjects(run.components, 'backups', cluster),
  ]) as AnyJson[];
  const validators: { [kind: string]: ValidateFunction } = {
    ReplicationSource: crdValidator('volsync.backube_replicationsources.yaml'),
    ReplicationDestination: crdValidator('volsync.backube_replicationdestinations.yaml'),
  };

  test("the schedules the backup-schedule-admitted check admits are the ones the CRD's pattern admits", () => {
    const schema = crdSchema('volsync.backube_replicationsources.yaml');
    const pattern = new RegExp(
      schema.properties.spec.properties.trigger.properties.schedule.pattern,
    );
    // Valid cron for robfig (parseCron), admitted by the CRD or not.
    const samples = [
      '0 2 * * *',
      '30 */6 * * *',
      '0 2 * * 0',
      '0,15,30,45 1 * * *',
      '0 1-5 * * *',
      '0 2/3 * * *',
      '0 2 1 */2 *',
      '0 2 * * 1-5',
      '@daily',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '0 2 * * 1\t',
      '0 2 * * mon-fri',
      '0 2 * jan *',
      '0 2 ? * *',
      '0 1-5/2 * * *',
      '0 1-3,5 * * *',
      '0  2 * * *',
      '0 2 * * MON',
    ];
    const verdicts = samples.map((s) => {
      expect(parseCron(s)).not.toHaveProperty('message');
      return [s, volsyncAdmitsSchedule(s)];
    });
    expect(verdicts).toEqual(samples.map((s) => [s, pattern.test(s)]));
    // Both kinds are among the samples: the rule is not trivially true or false.
    expect(verdicts.filter(([, admitted]) => admitted)).toHaveLength(15);
  });

  test('every ReplicationSource and ReplicationDestination validates against its CRD and our schema', () => {
    const crs = all.filter((o) => o.apiVersion === 'volsync.backube/v1alpha1');
    expect(crs).toHaveLength(6);
    for (const object of crs) {
      const validate = validators[object.kind] as ValidateFunction;
      expect(validate(object) ? [] : validate.errors).toEqual([]);
      const ours = backupsValidators.find((v) => v.kind === object.kind);
      expect(ours?.validate(object)).toEqual([]);
    }
  });

  test('the ReplicationSource of a volume on a Retain tier (its copy on the scratch class) validates too', () => {
    // A tier whose class retains its volumes (Longhorn's fast-storage) copies the snapshot onto
    // its scratch class (`restic.storageClassName`, a field of VolSync 0.16's CRD): our schema
    // must admit it, or every backed-up database volume on fast-storage fails the build.
    const db = { ...DATA, name: 'db', tier: 'fast-storage' };
    const retained = runBackups(SETTINGS, [consumer([db])], [cni, retaining, snapshots, gitops]);
    const sources = retained.platform.clusters
      .flatMap((cluster) => chartObjects(retained.components, 'app', cluster) as AnyJson[])
      .filter((o) => o.kind === 'ReplicationSource');
    expect(sources.length).toBeGreaterThan(0);
    const ours = backupsValidators.find((v) => v.kind === 'ReplicationSource');
    for (const source of sources) {
      expect(source.spec.restic.storageClassName).toBe('fast-storage-scratch');
      const validate = validators.ReplicationSource as ValidateFunction;
      expect(validate(source) ? [] : validate.errors).toEqual([]);
      expect(ours?.validate(source)).toEqual([]);
    }
  });

  test('the bootstrap a claim names (its dataSourceRef) validates against the CRD and our schema', () => {
    // VolSync 0.16's ReplicationDestinationVolumeOptions: no destinationPVC, but the capacity and
    // access modes of a volume of its own, its class and the snapshot class of its copy.
    const withBootstrap = runBackups(SETTINGS, [consumer([populated(DATA)])]);
    const bootstraps = withBootstrap.platform.clusters
      .flatMap((cluster) => chartObjects(withBootstrap.components, 'app', cluster) as AnyJson[])
      .filter((o) => o.kind === 'ReplicationDestination' && o.metadata.name === 'data-bootstrap');
    expect(bootstraps).toHaveLength(3);
    const ours = backupsValidators.find((v) => v.kind === 'ReplicationDestination');
    const validate = validators.ReplicationDestination as ValidateFunction;
    for (const bootstrap of bootstraps) {
      expect(validate(bootstrap) ? [] : validate.errors).toEqual([]);
      expect(ours?.validate(bootstrap)).toEqual([]);
    }
    // Our schema wants the claim to restore into, or a volume of its own: neither is refused.
    const { capacity: _, ...noCapacity } = (bootstraps[0] as AnyJson).spec.restic;
    const neither = { ...bootstraps[0], spec: { ...bootstraps[0].spec, restic: noCapacity } };
    expect(ours?.validate(neither)).not.toEqual([]);
  });

  test('the CRDs and our schemas refuse a misspelled field and a wrong copy method', () => {
    const source = all.find((o) => o.kind === 'ReplicationSource');
    const typo = { ...source, spec: { ...source.spec, sourcePvc: 'data' } };
    const method = {
      ...source,
      spec: { ...source.spec, restic: { ...source.spec.restic, copyMethod: 'Snap' } },
    };
    const ours = backupsValidators.find((v) => v.kind === 'ReplicationSource');
    for (const broken of [typo, method]) {
      expect(validators.ReplicationSource?.(broken)).toBe(false);
      expect(ours?.validate(broken)).not.toEqual([]);
    }
  });

  test('every key we set under volsync exists in the chart values', () => {
    const upstream = parseYaml(readVendoredChartFile('volsync', VERSION, 'values.yaml')) as Values;
    const chart = run.components.components.find((c) => c.component.name === 'backups')?.output
      .chart;
    if (chart === undefined) throw new Error('no chart');
    const files = chartFiles(chart, INITIAL_CHART_VERSION).files;
    for (const [cluster, env] of [
      ['dev', 'development'],
      ['prod', 'production'],
    ]) {
      const values = renderChart(files, [`env/${env}.yaml`, `clusters/${cluster}.yaml`])
        .values as AnyJson;
      expect(unknownValueKeys(values.volsync, upstream, undefined)).toEqual([]);
    }
    expect(chart.dependency).toEqual({
      name: 'volsync',
      version: VERSION,
      repository: 'https://backube.github.io/helm-charts',
    });
  });

  test('the VolSync monitor scrapes its HTTPS metrics port with TLS and Prometheus\u2019 token', () => {
    // The chart runs the controller with controller-runtime's secure metrics on :8443 (the
    // flag's default `--metrics-secure=true`, and RBAC unless metrics.disableAuth), behind the
    // Service port `https`: a plain-HTTP scrape or one without a token fails every time.
    const deployment = readVendoredChartFile(
      'volsync',
      VERSION,
      'templates/deployment-controller.yaml',
    );
    expect(deployment).toContain('--metrics-bind-address=:8443');
    expect(deployment).not.toContain('--metrics-secure=false');
    const service = readVendoredChartFile('volsync', VERSION, 'templates/service-metrics.yaml');
    expect(service).toMatch(/- name: https\n\s+port: 8443/);
    for (const cluster of run.components.clusters) {
      const monitors = (cluster.contributions.get('backups') as AnyJson).monitors as AnyJson[];
      const volsync = monitors.find((monitor) => monitor.name === 'volsync');
      expect(volsync.target).toEqual({
        kind: 'service',
        selector: { 'app.kubernetes.io/instance': 'backups', 'app.kubernetes.io/name': 'volsync' },
        port: 'https',
        scheme: 'https',
      });
    }
  });

  test('the talos.dev ServiceAccount passes our schema; an unknown role does not', () => {
    const account = all.find((o) => o.apiVersion === 'talos.dev/v1alpha1');
    const ours = backupsValidators.find((v) => v.kind === 'ServiceAccount');
    expect(ours?.validate(account)).toEqual([]);
    expect(ours?.validate({ ...account, spec: { roles: ['os:root'] } })).not.toEqual([]);
  });

  test('the CronJobs validate against the Kubernetes schemas', async () => {
    const sourced = all
      .filter((o) => o.apiVersion === 'batch/v1' || o.apiVersion === 'v1')
      .map((object: KubeObject) => ({ object, source: object.metadata.name }));
    // each cluster's etcd snapshot, and each volume's verification and hourly unlock
    expect(sourced.map((s) => s.object.kind).sort()).toEqual(Array(9).fill('CronJob'));
    expect(validateObjects(sourced, await loadModelValidators(sourced))).toEqual([]);
  });
});

describe('Longhorn 1.8.1: the fields the disaster-recovery runbook reads', () => {
  // The runbook reads Longhorn's objects with kubectl's jsonpath, which prints nothing for a
  // field that does not exist: a renamed field would list no faulted claim and no backup.
  const crds = parseAllDocuments(
    readVendoredChartFile('longhorn', '1.8.1', 'templates/crds.yaml')
      .split('\n')
      .filter((line) => !line.includes('{{'))
      .join('\n'),
  ) as AnyJson[];
  const schemaOf = (name: string): AnyJson =>
    crds
      .find((doc) => doc?.kind === 'CustomResourceDefinition' && doc.metadata.name === name)
      ?.spec.versions.find((v: AnyJson) => v.name === 'v1beta2').schema.openAPIV3Schema;

  test('every field path of its Longhorn jsonpaths exists in the vendored CRDs', async () => {
    const { longhornBackupsCommands, faultedClaimsCommands, volumeStateCommand } = await import(
      '../src/runbook.js'
    );
    const text = [
      ...longhornBackupsCommands(),
      ...faultedClaimsCommands(),
      volumeStateCommand({ volume: DATA } as AnyJson),
    ].join('\n');
    const paths: { [crd: string]: string[] } = {
      'volumes.longhorn.io': [],
      'backupvolumes.longhorn.io': [],
    };
    // a command substitution reads another object (the claim's `spec.volumeName`)
    for (const line of text.split('\n').map((l) => l.replace(/"\$\([^)]*\)"/g, '""'))) {
      const crd = Object.keys(paths).find((name) => line.includes(` get ${name} `));
      if (crd === undefined) continue;
      const fields = line.match(/\.(?:spec|status)(?:\.[A-Za-z]+)+/g) ?? [];
      // only the jsonpath of this command: up to the first pipe or redirection
      const own = line.split(/ \| | > /)[0] ?? '';
      paths[crd]?.push(...fields.filter((field) => own.includes(field)).map((f) => f.slice(1)));
    }
    expect(paths['backupvolumes.longhorn.io']?.toSorted()).toEqual([
      'spec.volumeName',
      'status.lastBackupAt',
      'status.lastBackupName',
    ]);
    expect(paths['volumes.longhorn.io']).toContain('status.kubernetesStatus.pvcName');
    for (const [crd, fields] of Object.entries(paths)) {
      for (const field of fields)
        expect({ crd, field, found: hasField(schemaOf(crd), field) }).toEqual({
          crd,
          field,
          found: true,
        });
    }
    // and one that does not exist is found missing
    expect(hasField(schemaOf('backupvolumes.longhorn.io'), 'status.lastBackup')).toBe(false);
  });

  test('the disk fields its Go templates read exist on nodes.longhorn.io, and the spec field its patches write', async () => {
    const { staleDiskCommands, unschedulableDisksCommand } = await import('../src/runbook.js');
    const node = schemaOf('nodes.longhorn.io');
    // status.diskStatus is a map by disk name, as spec.disks is (the patches' keys)
    const disk = node?.properties?.status?.properties?.diskStatus?.additionalProperties;
    const condition = disk?.properties?.conditions?.items?.properties;
    const text = [...staleDiskCommands(), unschedulableDisksCommand()].join('\n');
    const read = [...text.matchAll(/\(\w+ \.(\w+) "/g)].map((m) => m[1]);
    expect([...new Set(read)].toSorted()).toEqual(['reason', 'status', 'type']);
    for (const field of [...read, 'message']) expect(Object.keys(condition ?? {})).toContain(field);
    expect(text).toContain('range $disk, $status := .status.diskStatus');
    expect(
      Object.keys(
        node?.properties?.spec?.properties?.disks?.additionalProperties?.properties ?? {},
      ),
    ).toContain('allowScheduling');
    // and a field that does not exist is found missing
    expect(Object.keys(condition ?? {})).not.toContain('lastProbeReason');
  });

  test('the orphan and replica fields its jsonpaths read exist on the vendored CRDs', async () => {
    const { orphanCommands, faultedReplicasCommands } = await import('../src/runbook.js');
    const text = [...orphanCommands(), ...faultedReplicasCommands()].join('\n');
    const fieldsOf = (resource: string): string[] =>
      text
        .split('\n')
        .filter((line) => line.includes(` get ${resource} `))
        .flatMap((line) => line.match(/\{\.spec\.[A-Za-z.]+\}/g) ?? [])
        .map((field) => field.slice(2, -1));
    expect(fieldsOf('orphans.longhorn.io')).toEqual([
      'spec.nodeID',
      'spec.parameters.DiskPath',
      'spec.parameters.DataName',
    ]);
    expect(fieldsOf('replicas.longhorn.io')).toEqual([
      'spec.volumeName',
      'spec.nodeID',
      'spec.diskPath',
      'spec.failedAt',
    ]);
    // spec.parameters is a map of strings (longhorn-manager v1.8.1 node_controller.go
    // createOrphan names its keys DataName, DiskName, DiskUUID, DiskPath and DiskType)
    expect(schemaOf('orphans.longhorn.io')?.properties?.spec?.properties?.parameters?.type).toBe(
      'object',
    );
    for (const field of ['spec.nodeID'])
      expect(hasField(schemaOf('orphans.longhorn.io'), field)).toBe(true);
    for (const field of fieldsOf('replicas.longhorn.io'))
      expect({ field, found: hasField(schemaOf('replicas.longhorn.io'), field) }).toEqual({
        field,
        found: true,
      });
    expect(hasField(schemaOf('replicas.longhorn.io'), 'spec.failedSince')).toBe(false);
  });
});

/**
 * VolSync v0.16.0's Go constants the runbooks compare against; they are not in the CRDs.
 * api/v1alpha1/common_types.go: `ConditionSynchronizing string = "Synchronizing"` (set True while a
 * sync runs, False while waiting for the schedule or a manual trigger, cleaning up or after an
 * error: internal/controller/statemachine/conditions.go), `MoverResultSuccessful MoverResult =
 * "Successful"`, `MoverResultFailed MoverResult = "Failed"` (internal/controller/utils/podlogs.go
 * sets `latestMoverStatus.result` to one of them). `status.lastManualSync` is no constant: the
 * state machine copies `spec.trigger.manual` into it when a sync completes
 * (internal/controller/statemachine/machine.go, `SetLastManualTag(r.ManualTag())`).
 */
const VOLSYNC_CONDITIONS = ['Synchronizing'];
const VOLSYNC_MOVER_RESULTS = ['Successful', 'Failed'];

describe(`VolSync ${VERSION}: the fields the runbooks read`, () => {
  // kubectl prints nothing for a field that does not exist and `wait` waits its whole timeout
  // for it: a renamed field or a wrong value would break a restore without a word.
  const KINDS = ['replicationsource', 'replicationdestination'] as const;
  type Kind = (typeof KINDS)[number];
  const schemas = new Map<Kind, AnyJson>();
  const schemaOf = (kind: Kind): AnyJson => {
    const cached = schemas.get(kind) ?? crdSchema(`volsync.backube_${kind}s.yaml`);
    schemas.set(kind, cached);
    return cached;
  };

  /** The VolSync object a command reads (`wait <kind>/<name>`, `get <kind> <name>`), if any. */
  const kindRead = (command: string): Kind | undefined => {
    // only the command itself: up to the first pipe
    const own = command.split(' | ')[0] ?? '';
    return own.match(
      /\b(?:wait|get) (replicationsource|replicationdestination)s?(?:\.volsync\.backube)?[/ ]/,
    )?.[1] as Kind | undefined;
  };
  /** What a command reads: `<kind> <field path>` per jsonpath field, `<kind> condition=<Type>=<status>`. */
  const reads = (command: string): string[] => {
    const kind = kindRead(command);
    if (kind === undefined) return [];
    const own = command.split(' | ')[0] ?? '';
    const fields = [...own.matchAll(/jsonpath='([^']*)'/g)].flatMap(
      (m) => m[1]?.match(/\.(?:spec|status)(?:\.[A-Za-z]+)+/g) ?? [],
    );
    const conditions = [...own.matchAll(/--for=condition=([^\s=]+)(?:=(\S+))?/g)].map(
      (m) => `condition=${m[1]}=${m[2] ?? 'true'}`,
    );
    return [...fields.map((f) => f.slice(1)), ...conditions].map((read) => `${kind} ${read}`);
  };

  const volume = populated(DATA);
  const run = runBackups(SETTINGS, [consumer([volume])]);
  const entry = {
    volume,
    component: 'app',
    application: 'prod-app',
    sync: descriptorManualSync(undefined, true),
  };
  const builders = async (): Promise<{ [builder: string]: string[] }> => {
    const runbook = await import('../src/runbook.js');
    return {
      pauseBackupCommands: runbook.pauseBackupCommands(entry),
      replaceClaimCommands: runbook.replaceClaimCommands(entry, 'argocd'),
      backupNowCommands: runbook.backupNowCommands(entry),
      clearManualTriggerCommands: runbook.clearManualTriggerCommands(entry),
      restoreCommands: runbook.restoreCommands(entry),
      restoreResultCommands: runbook.restoreResultCommands(entry),
      bootstrapResultCommands: runbook.bootstrapResultCommands(entry),
    };
  };

  test('the runbook builders read these VolSync fields and conditions, and no others', async () => {
    const built = await builders();
    const read = Object.fromEntries(
      Object.entries(built).map(([name, commands]) => [name, commands.flatMap(reads)]),
    );
    const result = (kind: Kind) => [
      `${kind} status.latestMoverStatus.result`,
      `${kind} status.latestMoverStatus.logs`,
    ];
    expect(read).toEqual({
      pauseBackupCommands: [],
      replaceClaimCommands: [
        'replicationdestination status.lastManualSync',
        ...result('replicationdestination'),
      ],
      backupNowCommands: [
        'replicationsource condition=Synchronizing=false',
        'replicationsource status.lastManualSync',
        ...result('replicationsource'),
      ],
      clearManualTriggerCommands: ['replicationsource spec.trigger.manual'],
      restoreCommands: [
        'replicationdestination status.lastManualSync',
        ...result('replicationdestination'),
        'replicationdestination status.lastManualSync',
      ],
      restoreResultCommands: result('replicationdestination'),
      bootstrapResultCommands: result('replicationdestination'),
    });
    // Every command that names a VolSync kind and reads something is one the extraction sees.
    for (const command of Object.values(built).flat())
      if (/replication(?:source|destination)/i.test(command) && /jsonpath|condition=/.test(command))
        expect({ command, kind: kindRead(command) }).toEqual({ command, kind: expect.any(String) });
  });

  test('every VolSync read of the generated runbooks is a command of those builders', async () => {
    const built = new Set(Object.values(await builders()).flat());
    expect(run.platform.clusters.map((cluster) => cluster.name)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
    for (const cluster of run.platform.clusters) {
      const text = run.components.components
        .find((c) => c.component.name === 'backups')
        ?.output.files?.find((f) => f.path === `clusters/${cluster.name}/disaster-recovery.md`)
        ?.content as string;
      const volsync = text.split('\n').filter((line) => reads(line).length > 0);
      expect(volsync.filter((line) => !built.has(line))).toEqual([]);
      // the bootstrap's fill (twice: a faulted claim, a replaced one), the restore (its wait,
      // result and the removal of its restoreAsOf), and the move section's backup, fill and
      // removal of the backup's manual trigger
      expect({ cluster: cluster.name, reads: volsync.length }).toEqual({
        cluster: cluster.name,
        reads: 12,
      });
    }
  });

  test('every field path they read exists in the v1alpha1 schema of its CRD', async () => {
    const paths = new Set(
      Object.values(await builders())
        .flat()
        .flatMap(reads)
        .filter((read) => !read.includes(' condition=')),
    );
    expect(paths.size).toBe(7);
    for (const read of paths) {
      const [kind, field] = read.split(' ') as [Kind, string];
      expect({ kind, field, found: hasField(schemaOf(kind), field) }).toEqual({
        kind,
        field,
        found: true,
      });
    }
    // and one that does not exist is found missing
    expect(hasField(schemaOf('replicationsource'), 'status.latestMoverStatus.status')).toBe(false);
  });

  test('every condition they wait for is a VolSync condition, on a CRD status with conditions', async () => {
    const conditions = Object.values(await builders())
      .flat()
      .flatMap(reads)
      .filter((read) => read.includes(' condition='));
    expect(conditions.length).toBeGreaterThan(0);
    for (const read of conditions) {
      const [kind, wait] = read.split(' ') as [Kind, string];
      const [, type, status] = wait.split('=');
      expect(VOLSYNC_CONDITIONS).toContain(type);
      // kubectl compares the status case-insensitively; metav1.Condition's are True/False/Unknown
      expect(['true', 'false']).toContain(status?.toLowerCase());
      const list = schemaOf(kind).properties.status.properties.conditions;
      expect(list.type).toBe('array');
      expect(list.items.type).toBe('object');
      expect(list.items.required).toEqual(expect.arrayContaining(['type', 'status']));
      expect(Object.keys(list.items.properties)).toEqual(
        expect.arrayContaining(['type', 'status']),
      );
    }
  });

  test('every spec field their merge patches set exists in the v1alpha1 schema of its CRD', async () => {
    // A field the CRD does not know is pruned by the API server: a misspelled `restoreAsOf`
    // would restore the latest snapshot, the empty volume a rebuilt cluster backed up first.
    const leaves = (value: AnyJson, at: string): string[] =>
      typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([key, v]) => leaves(v, at === '' ? key : `${at}.${key}`))
        : [at];
    const patched = Object.entries(await builders()).flatMap(([name, commands]) =>
      commands.flatMap((command) => {
        // the patch ends the command, or the `{ …; }` group it runs in
        const m = command.match(
          / patch (replicationsource|replicationdestination) \S+ --type merge -p '(.*)'(?:; \})?$/,
        );
        if (m === null) return [];
        // the shell splices a variable into the JSON: '"$STAMP"', '"${LOST_AT:?…}"'
        const body = JSON.parse((m[2] as string).replace(/'"\$[^"]*"'/g, 'VARIABLE'));
        return leaves(body, '').map((field) => `${name}: ${m[1]} ${field}`);
      }),
    );
    expect(patched).toEqual([
      'pauseBackupCommands: replicationsource spec.paused',
      'backupNowCommands: replicationsource spec.paused',
      'backupNowCommands: replicationsource spec.trigger.manual',
      'clearManualTriggerCommands: replicationsource spec.trigger.manual',
      'restoreCommands: replicationdestination spec.paused',
      'restoreCommands: replicationdestination spec.trigger.manual',
      'restoreCommands: replicationdestination spec.restic.restoreAsOf',
      'restoreCommands: replicationdestination spec.restic.restoreAsOf',
    ]);
    for (const entry of patched) {
      const [, kind, field] = entry.split(' ') as [string, Kind, string];
      expect({ kind, field, found: hasField(schemaOf(kind), field) }).toEqual({
        kind,
        field,
        found: true,
      });
    }
  });

  test('they compare lastManualSync and latestMoverStatus.result with values VolSync sets', async () => {
    const bootstraps = run.platform.clusters
      .flatMap((cluster) => chartObjects(run.components, 'app', cluster) as AnyJson[])
      .filter((o) => o.kind === 'ReplicationDestination' && o.metadata.name === 'data-bootstrap');
    expect(bootstraps).toHaveLength(3);
    let waits = 0;
    let results = 0;
    for (const commands of Object.values(await builders())) {
      commands.forEach((command, at) => {
        const tag = command.match(/--for=jsonpath='\{\.status\.lastManualSync\}'=(\S+)/)?.[1];
        if (tag !== undefined) {
          waits += 1;
          if (tag === '"$STAMP"') {
            // the manual trigger this builder set just before, on the same object
            const kind = kindRead(command);
            const patch = commands
              .slice(0, at)
              .findLast((c) => c.includes(` patch ${kind} `) && c.includes('"manual":'));
            expect(patch).toContain(`"trigger":{"manual":"'"$STAMP"'"}`);
            expect(commands.slice(0, at).some((c) => /^STAMP="[^"]+"$/.test(c))).toBe(true);
          } else {
            // the manual trigger the generated bootstrap carries
            for (const bootstrap of bootstraps) expect(bootstrap.spec.trigger.manual).toBe(tag);
          }
        }
        const value = command.match(/\| head -n 1 \| grep -qx (\S+)/)?.[1];
        if (value !== undefined) {
          results += 1;
          expect(VOLSYNC_MOVER_RESULTS).toContain(value);
          // the first line of the result read last is latestMoverStatus.result
          const read = commands.slice(0, at).findLast((c) => c.startsWith('RESULT='));
          expect(read).toMatch(/jsonpath='\{\.status\.latestMoverStatus\.result\}/);
        }
      });
    }
    expect({ waits, results }).toEqual({ waits: 3, results: 5 });
  });
});
