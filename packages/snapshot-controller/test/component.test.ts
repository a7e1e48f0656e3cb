// The snapshot controller through core's component run, with a test storage provider.

import { readFileSync } from 'node:fs';
import {
  type ComponentsResult,
  chartFiles,
  INITIAL_CHART_VERSION,
  loadModelValidators,
  mergeValues,
  parseAllDocuments,
  parseYaml,
  renderChart,
  type Values,
  validateObjects,
} from '@homelab/core';
import {
  readVendoredChartFile,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
  unknownValueKeys,
  vendored,
} from '@homelab/core/testing';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { snapshotControllerComponent } from '../src/index.js';
import { snapshotValidators } from '../src/validators.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const cni = testComponent({ name: 'cni', provides: ['cni'] });
const storage = (csiDriver?: string) =>
  testComponent({
    name: 'storage',
    provides: ['storage'],
    contribution: () => ({
      facts: {
        storage: {
          classes: [],
          ...(csiDriver === undefined ? {} : { csiDriver, snapshotParameters: { type: 'snap' } }),
        },
      },
    }),
  });

function run(csiDriver: string | null = 'driver.longhorn.io') {
  return testRun(testDefinition(testReferenceClusters()), [
    cni,
    storage(csiDriver ?? undefined),
    snapshotControllerComponent,
  ]);
}

function chart(components: ComponentsResult) {
  const output = components.components.find((c) => c.component.name === 'snapshot-controller');
  if (output?.output.chart === undefined) throw new Error('no chart');
  return output.output.chart;
}

function manifests(components: ComponentsResult, cluster: string, environment: string): AnyJson[] {
  const spec = chart(components);
  const layers = [
    spec.values,
    spec.environments[environment as 'staging'] ?? {},
    spec.clusters[cluster] ?? {},
  ];
  return Object.values((mergeValues(...(layers as Values[])).manifests ?? {}) as object);
}

describe('the snapshot controller', () => {
  const { components, platform } = run();

  test('renders without issues and provides the snapshot class to consumers', () => {
    expect(components.issues).toEqual([]);
    expect(components.clusters[0]?.facts['volume-snapshots']).toEqual({
      snapshotClass: 'longhorn-snapshot',
    });
  });

  test('makes the default VolumeSnapshotClass of the storage driver, with its parameters', () => {
    expect(manifests(components, 'dev', 'development')).toEqual([
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: {
          name: 'longhorn-snapshot',
          annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
        },
        driver: 'driver.longhorn.io',
        deletionPolicy: 'Delete',
        parameters: { type: 'snap' },
      },
    ]);
  });

  test('declares an availability alert over kube-state-metrics, its namespace only', () => {
    const monitors = components.clusters[0]?.contributions.get('snapshot-controller')?.monitors;
    expect(monitors?.map((monitor) => [monitor.name, monitor.namespace, monitor.target])).toEqual([
      ['snapshot-controller', 'snapshot-controller', undefined],
    ]);
    expect(monitors?.[0]?.rules?.map((rule) => [rule.alert, rule.expr])).toEqual([
      [
        'SnapshotControllerUnavailable',
        'absent(kube_deployment_status_replicas_available{namespace="snapshot-controller"} >= 1)',
      ],
    ]);
  });

  test('installs the external-snapshotter CRDs of its app version as a bundle before it', () => {
    const bundle = components.clusters[0]?.contributions.get('snapshot-controller')?.crds?.[0];
    expect(bundle?.name).toBe('volume-snapshot-crds');
    expect(bundle?.source).toEqual({
      repoURL: 'https://github.com/kubernetes-csi/external-snapshotter',
      path: 'client/config/crd',
      targetRevision: 'v8.6.0',
      directory: {
        recurse: false,
        include:
          '{snapshot.storage.k8s.io_volumesnapshot*.yaml,groupsnapshot.storage.k8s.io_*.yaml}',
      },
    });
    expect(bundle?.install).toHaveLength(6);
    // Applied as Argo CD's field manager, so that the bundle's Application owns every field of
    // what the runbook installs (@homelab/core hand-over.ts).
    expect(bundle?.install[0]).toBe(
      'kubectl apply --server-side --field-manager=argocd-controller -f https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/v8.6.0/client/config/crd/groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml',
    );
    expect(chart(components).dependency?.version).toBe('5.2.0');
  });

  test('follows the profile: one replica in dev, a PDB and spread in production, requests per environment', () => {
    const files = chartFiles(chart(components), INITIAL_CHART_VERSION).files;
    const dev = renderChart(files, ['env/development.yaml', 'clusters/dev.yaml']).values as AnyJson;
    const prod = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml'])
      .values as AnyJson;
    expect(dev['snapshot-controller'].controller).toEqual({
      podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      securityContext: { allowPrivilegeEscalation: false },
      replicaCount: 1,
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    });
    expect(prod['snapshot-controller'].controller.resources).toEqual({
      requests: { cpu: '20m', memory: '64Mi' },
      limits: { memory: '192Mi' },
    });
    expect(prod['snapshot-controller'].controller.replicaCount).toBe(3);
    expect(prod['snapshot-controller'].controller.pdb).toEqual({ maxUnavailable: 1 });
    expect(
      prod['snapshot-controller'].controller.topologySpreadConstraints[0].whenUnsatisfiable,
    ).toBe('DoNotSchedule');
    expect(platform.clusters).toHaveLength(3);
  });

  test('without a CSI driver from the storage provider: no class, no fact, and a warning', () => {
    const bare = run(null);
    expect(manifests(bare.components, 'dev', 'development')).toEqual([]);
    expect(bare.components.clusters[0]?.facts['volume-snapshots']).toBeUndefined();
    expect(bare.components.issues.map((i) => [i.severity, i.code])).toContainEqual([
      'warning',
      'snapshot-class',
    ]);
  });
});

describe('flows (zero trust)', () => {
  test('the controller reaches the API server, and nothing else: the conversion webhook stays off', () => {
    const { components } = run();
    const declared = components.clusters[0]?.contributions.get('snapshot-controller');
    expect(
      (declared?.flows ?? []).map((flow) => [
        flow.direction,
        flow.namespace,
        flow.selector,
        flow.peer,
        flow.ports,
      ]),
    ).toEqual([
      [
        'egress',
        'snapshot-controller',
        // The chart's selector label (`snapshot-controller.name`, the release name).
        { 'app.kubernetes.io/name': 'snapshot-controller' },
        { kind: 'kube-apiserver' },
        [{ port: 6443, protocol: 'TCP' }],
      ],
    ]);
    const files = chartFiles(chart(components), INITIAL_CHART_VERSION).files;
    const values = renderChart(files, ['env/production.yaml', 'clusters/prod.yaml'])
      .values as AnyJson;
    expect(values['snapshot-controller'].webhook.enabled).toBe(false);
  });
});

describe('conformance with snapshot-controller 5.2.0 and external-snapshotter v8.6.0', () => {
  const { components } = run();
  const upstream = parseYaml(
    readVendoredChartFile('snapshot-controller', '5.2.0', 'values.yaml'),
  ) as Values;

  test('every key we set exists in the chart values', () => {
    const files = chartFiles(chart(components), INITIAL_CHART_VERSION).files;
    for (const [cluster, env] of [
      ['dev', 'development'],
      ['staging', 'staging'],
      ['prod', 'production'],
    ]) {
      const values = renderChart(files, [`env/${env}.yaml`, `clusters/${cluster}.yaml`])
        .values as AnyJson;
      // The deployment template passes the container securityContext through (toYaml).
      expect(
        unknownValueKeys(values['snapshot-controller'], upstream, undefined, {
          freeFormPaths: new Set(['controller.securityContext']),
        }),
      ).toEqual([]);
    }
    expect(unknownValueKeys({ controller: { replicas: 2 } }, upstream, undefined)).toEqual([
      'controller.replicas',
    ]);
  });

  test('the VolumeSnapshotClass validates against the vendored v1 CRD, and a typo fails both validators', () => {
    const crd = parseAllDocuments(
      readFileSync(
        vendored(
          'crds/external-snapshotter/v8.6.0/snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
        ),
        'utf8',
      ),
    )[0] as AnyJson;
    const v1 = crd.spec.versions.find((v: AnyJson) => v.name === 'v1');
    const schema = { ...v1.schema.openAPIV3Schema, additionalProperties: false };
    schema.properties = { ...schema.properties, metadata: { type: 'object' } };
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const [object] = manifests(components, 'prod', 'production');
    expect(validate(object) ? [] : validate.errors).toEqual([]);
    expect(snapshotValidators[0]?.validate(object)).toEqual([]);
    const typo = { ...object, deletionPolicyy: 'Delete' };
    expect(validate(typo)).toBe(false);
    expect(snapshotValidators[0]?.validate(typo)).not.toEqual([]);
  });

  test('the CRD bundle names the kinds the vendored CRD files define', () => {
    const bundle = components.clusters[0]?.contributions.get('snapshot-controller')?.crds?.[0];
    const files = [
      'groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses',
      'groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents',
      'groupsnapshot.storage.k8s.io_volumegroupsnapshots',
      'snapshot.storage.k8s.io_volumesnapshotclasses',
      'snapshot.storage.k8s.io_volumesnapshotcontents',
      'snapshot.storage.k8s.io_volumesnapshots',
    ];
    const kinds = files
      .map(
        (name) =>
          parseAllDocuments(
            readFileSync(vendored(`crds/external-snapshotter/v8.6.0/${name}.yaml`), 'utf8'),
          )[0] as AnyJson,
      )
      .map((crd) => `${crd.spec.group}/${crd.spec.names.kind}`)
      .sort();
    expect(bundle?.kinds.map((k) => `${k.group}/${k.kind}`).sort()).toEqual(kinds);
  });

  test('the objects validate against the Kubernetes schemas where core has them', async () => {
    const sourced = manifests(components, 'dev', 'development').map((object) => ({
      object,
      source: 'x',
    }));
    const validators = [...(await loadModelValidators(sourced)), ...snapshotValidators];
    expect(validateObjects(sourced, validators)).toEqual([]);
  });
});
