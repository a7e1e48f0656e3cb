// Conformance with VolSync 0.16.0 (the vendored chart: its values and its CRDs, read in place,
// never copied) and with the Kubernetes schemas.
import {
  chartFiles,
  INITIAL_CHART_VERSION,
  type KubeObject,
  loadModelValidators,
  parseAllDocuments,
  parseYaml,
  renderChart,
  type Values,
  validateObjects,
} from '@homelab/core';
import { readVendoredChartFile, unknownValueKeys } from '@homelab/core/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, test } from 'vitest';
import { backupsValidators } from '../src/validators.js';
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

const VERSION = '0.16.0';

/** Closes every object schema that lists its properties and does not preserve unknown fields. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const original = schema as { [key: string]: unknown };
  const out: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(original)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strict(v)]))
        : strict(value);
  }
  if (
    original.properties !== undefined &&
    original.additionalProperties === undefined &&
    original['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** A CRD of the vendored chart (its template lines dropped), as a validator of v1alpha1. */
function crdValidator(file: string): ValidateFunction {
  const text = readVendoredChartFile('volsync', VERSION, `templates/${file}`)
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  const crd = parseAllDocuments(text).find(
    (doc) => (doc as AnyJson)?.kind === 'CustomResourceDefinition',
  ) as AnyJson;
  const version = crd.spec.versions.find((v: AnyJson) => v.name === 'v1alpha1');
  const schema = strict(version.schema.openAPIV3Schema) as AnyJson;
  schema.properties.metadata = { type: 'object' };
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

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
    expect(sourced.map((s) => s.object.kind).sort()).toEqual([
      'CronJob',
      'CronJob',
      'CronJob',
      'CronJob',
      'CronJob',
      'CronJob',
    ]);
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
  const has = (schema: AnyJson, path: string): boolean =>
    path.split('.').reduce((node: AnyJson, key) => node?.properties?.[key], schema) !== undefined;

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
        expect({ crd, field, found: has(schemaOf(crd), field) }).toEqual({
          crd,
          field,
          found: true,
        });
    }
    // and one that does not exist is found missing
    expect(has(schemaOf('backupvolumes.longhorn.io'), 'status.lastBackup')).toBe(false);
  });
});
