// Conformance with the pinned upstream chart (vendor/charts/sm-operator/2.0.3): every key we set
// exists in its values.yaml and the merged values pass its values.schema.json; every
// BitwardenSecret we emit passes the CRD schema the chart installs (read as reference data from
// the AGPL archive, never copied) as well as our own; and, with the real Helm, the rendered
// operator passes Pod Security `restricted` and our disruption budget selects its pods.
import { type KubeObject, parseYaml, type Values } from '@homelab/core';
import {
  findHelm,
  helmTemplate,
  podSpecOf,
  readVendoredChartFile,
  restrictedProblems,
  unknownValueKeys,
} from '@homelab/core/testing';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { bitwardenValidators } from '../src/validators.js';
import { SM_OPERATOR_CHART } from '../src/versions.js';
import { consumer, ID_A, ID_B, type Loose, oidcProvider, runBitwarden } from './helpers.js';

const version = SM_OPERATOR_CHART.version;
const upstreamValues = parseYaml(
  readVendoredChartFile('sm-operator', version, 'values.yaml'),
) as Values;
const upstreamSchema = JSON.parse(
  readVendoredChartFile('sm-operator', version, 'values.schema.json'),
) as {
  [key: string]: unknown;
};

const run = runBitwarden(
  {
    secrets: {
      'argocd/argocd-oidc': { 'client-secret': ID_A },
      'sso/sso': { hmac: ID_B },
    },
  },
  [
    consumer('argocd', 'argocd', [
      {
        name: 'argocd-oidc',
        namespace: 'argocd',
        keys: ['client-secret'],
        labels: { 'app.kubernetes.io/part-of': 'argocd' },
      },
    ]),
    oidcProvider,
  ],
);
const chart = run.components.components.find((entry) => entry.component.name === 'bitwarden-sm')
  ?.output.chart;
const clusters = [
  ['dev', 'development'],
  ['staging', 'staging'],
  ['prod', 'production'],
] as const;

describe('charts/sm-operator against the sm-operator chart 2.0.3', () => {
  it('sets only keys the chart defines, in every layer', () => {
    expect(chart).toBeDefined();
    const layers = [
      chart?.values,
      ...Object.values(chart?.environments ?? {}),
      ...Object.values(chart?.clusters ?? {}),
    ];
    for (const layer of layers) {
      const ours = (layer?.['sm-operator'] ?? {}) as Values;
      expect(unknownValueKeys(ours, upstreamValues, upstreamSchema)).toEqual([]);
    }
  });

  it("passes the chart's values.schema.json on every cluster", () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(upstreamSchema);
    for (const [cluster] of clusters) {
      const values = run.values('sm-operator', cluster)['sm-operator'];
      const ok = validate(values);
      expect([cluster, ok ? [] : validate.errors]).toEqual([cluster, []]);
    }
  });
});

/** The openAPIV3Schema of the BitwardenSecret CRD the chart installs (its template, without the templating line). */
function crdSchema(): object {
  const text = readVendoredChartFile('sm-operator', version, 'templates/bitwardensecret-crd.yaml')
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  const crd = parseYaml(text) as Loose;
  return crd.spec.versions.find((entry: Loose) => entry.name === 'v1').schema.openAPIV3Schema;
}

describe('BitwardenSecrets against the CRD', () => {
  const objects: KubeObject[] = [];
  for (const [cluster] of clusters) {
    for (const chartName of ['argocd', 'sso']) {
      for (const object of Object.values(run.manifests(chartName, cluster))) {
        if (object.kind === 'BitwardenSecret') objects.push(object);
      }
    }
  }

  it('validates every emitted BitwardenSecret against the upstream CRD schema and ours', () => {
    expect(objects.length).toBe(6);
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
      crdSchema(),
    );
    const [ours] = bitwardenValidators;
    for (const object of objects) {
      const ok = validate(object);
      expect([object.metadata.name, ok ? [] : validate.errors]).toEqual([object.metadata.name, []]);
      expect(ours?.validate(object)).toEqual([]);
    }
  });

  it('refuses what the CRD refuses: a map entry without its Bitwarden id', () => {
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
      crdSchema(),
    );
    const broken = structuredClone(objects[0]) as Loose;
    delete broken.spec.map[0].bwSecretId;
    expect(validate(broken)).toBe(false);
    expect(bitwardenValidators[0]?.validate(broken).length).toBeGreaterThan(0);
  });

  it('refuses a typo the CRD would silently drop (our schema is closed)', () => {
    const typo = structuredClone(objects[0]) as Loose;
    typo.spec.onlyMapedSecrets = true;
    expect(JSON.stringify(bitwardenValidators[0]?.validate(typo))).toContain('onlyMapedSecrets');
  });
});

const helm = findHelm();

describe.skipIf(helm === undefined)('charts/sm-operator rendered by the real Helm', () => {
  for (const [cluster, environment] of clusters) {
    it(`passes Pod Security restricted, and its disruption budget selects the operator pods (${cluster})`, () => {
      if (chart === undefined || helm === undefined) throw new Error('no chart or no helm');
      const objects = helmTemplate(helm, {
        spec: chart,
        release: 'sm-operator',
        namespace: 'sm-operator-system',
        valueFiles: [`env/${environment}.yaml`, `clusters/${cluster}.yaml`],
      });
      const deployment = objects.find((object) => object.kind === 'Deployment') as Loose;
      expect(deployment.metadata.name).toBe('sm-operator-controller-manager');
      expect(deployment.spec.replicas).toBe({ dev: 1, staging: 2, prod: 3 }[cluster]);
      const pod = podSpecOf(deployment);
      expect(pod === undefined ? ['no pod'] : restrictedProblems(pod)).toEqual([]);
      const labels = deployment.spec.template.metadata.labels;
      const pdb = objects.find((object) => object.kind === 'PodDisruptionBudget') as Loose;
      if (cluster === 'dev') expect(pdb).toBeUndefined();
      else {
        for (const [key, value] of Object.entries(pdb.spec.selector.matchLabels)) {
          expect([key, labels[key]]).toEqual([key, value]);
        }
      }
      // The operator's CRD is one of the chart's templates (the Application installs it)
      expect(
        objects.some(
          (object) =>
            object.kind === 'CustomResourceDefinition' &&
            object.metadata.name === 'bitwardensecrets.k8s.bitwarden.com',
        ),
      ).toBe(true);
      // and the cluster-scoped kinds are exactly those the Application declares
      const clusterScoped = new Set(
        objects
          .filter((object) =>
            ['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind),
          )
          .map((object) => object.kind),
      );
      expect([...clusterScoped].sort()).toEqual([
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
      ]);
    });

    it(`declares flows from the operator's pods to the hosts and on the port Helm renders (${cluster})`, () => {
      if (chart === undefined || helm === undefined) throw new Error('no chart or no helm');
      const objects = helmTemplate(helm, {
        spec: chart,
        release: 'sm-operator',
        namespace: 'sm-operator-system',
        valueFiles: [`env/${environment}.yaml`, `clusters/${cluster}.yaml`],
      });
      const deployment = objects.find((object) => object.kind === 'Deployment') as Loose;
      const labels = deployment.spec.template.metadata.labels;
      const flows = run.declared(cluster).flows ?? [];
      expect(flows.length).toBe(4);
      for (const flow of flows) {
        for (const [key, value] of Object.entries(flow.selector)) {
          expect([flow.name, key, labels[key]]).toEqual([flow.name, key, value]);
        }
      }
      const config = objects.find((object) => object.kind === 'ConfigMap') as Loose;
      const hosts = [config.data.BW_IDENTITY_API_URL, config.data.BW_API_URL].map(
        (url: string) => new URL(url).hostname,
      );
      expect(flows.filter((flow) => flow.peer.kind === 'fqdn').map((flow) => flow.peer)).toEqual(
        hosts.map((name) => ({ kind: 'fqdn', name })),
      );
      const ports = deployment.spec.template.spec.containers.flatMap(
        (container: Loose) => container.ports ?? [],
      );
      const metrics = flows.find((flow) => flow.name === 'metrics');
      expect(metrics?.peer).toEqual({ kind: 'capability', capability: 'metrics' });
      expect(ports.find((port: Loose) => port.name === 'https')?.containerPort).toBe(
        metrics?.ports[0]?.port,
      );
    });
  }
});
