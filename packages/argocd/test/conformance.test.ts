import type { AnyComponent, ChartSpec, Cluster, PlatformDefinition, Values } from '@homelab/core';
import { mergeValues, parseYaml } from '@homelab/core';
import {
  readVendoredChartFile,
  readVendoredSubchartFile,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
  unknownValueKeys,
} from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { argocdComponent } from '../src/component.js';
import { ARGOCD_CHART } from '../src/versions.js';

/** The chart's values with its redis-ha dependency's under `redis-ha` (Helm's subchart rule). */
const parent = parseYaml(
  readVendoredChartFile('argo-cd', ARGOCD_CHART.version, 'values.yaml'),
) as Values;
const redisHa = parseYaml(
  readVendoredSubchartFile('argo-cd', ARGOCD_CHART.version, 'redis-ha', '4.38.0', 'values.yaml'),
) as Values;
const upstream: Values = {
  ...parent,
  'redis-ha': mergeValues(redisHa, (parent['redis-ha'] as Values | undefined) ?? {}),
};

/**
 * Maps whose keys the chart copies verbatim into a ConfigMap, as its values.yaml says
 * ("Any values you put under `.configs.cm` are passed to argocd-cm ConfigMap"; the same holds
 * for argocd-cmd-params-cm and argocd-rbac-cm). Empty maps (`{}`) in values.yaml are free-form too.
 * redis-ha's `haproxy.deploymentStrategy` is the Deployment's `strategy` verbatim
 * (templates/redis-haproxy-deployment.yaml: `toYaml`; its values.yaml shows `rollingUpdate` only
 * in a comment).
 */
const PASS_THROUGH = new Set([
  'configs.cm',
  'configs.params',
  'configs.rbac',
  'redis-ha.haproxy.deploymentStrategy',
]);

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of keys in `ours` that the upstream values do not define (core's shared checker). */
function unknownKeys(ours: Values, theirs: Values): string[] {
  return unknownValueKeys(ours, theirs, undefined, { freeFormPaths: PASS_THROUGH });
}

/** The CNI and Gateway Argo CD needs and uses, and an OIDC provider for its login. */
const PROVIDERS: readonly AnyComponent[] = [
  testComponent({
    name: 'network',
    provides: ['cni', 'gateway'],
    contribution: (cluster) => ({
      facts: {
        cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' },
        gateway: {
          name: 'platform',
          namespace: 'kube-system',
          domain: `${cluster}.example`,
          httpsListener: 'https',
          listenerPorts: [80, 443],
          address: undefined,
          forwardAuth: false,
        },
      },
    }),
  }),
  testComponent({
    name: 'sso',
    provides: ['oidc-provider'],
    contribution: (cluster) => ({
      facts: {
        'oidc-provider': {
          issuer: `https://auth.${cluster}.example`,
          userinfoPath: '/api/oidc/userinfo',
          groups: [],
        },
      },
    }),
  }),
  // A component whose kind-wide ignoreDifferences land in argocd-cm.
  testComponent({
    name: 'longhorn',
    contribution: () => ({
      application: {
        namespace: 'longhorn-system',
        podSecurity: 'privileged',
        clusterResources: [],
        ignoreDifferences: [
          {
            group: 'admissionregistration.k8s.io',
            kind: 'MutatingWebhookConfiguration',
            jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
          },
        ],
      },
    }),
  }),
];

function chartOf(
  clusters: readonly Cluster[],
  overrides: Pick<PlatformDefinition, 'environments'> = {},
): ChartSpec {
  const definition = testDefinition(clusters, {
    ...overrides,
    components: {
      argocd: {
        adminGroups: ['admins'],
        oidc: { clientId: 'argocd', clientSecret: '$argocd-oidc:client-secret' },
      },
    },
  });
  const { components } = testRun(definition, [argocdComponent, ...PROVIDERS]);
  const chart = components.components.find((run) => run.component.name === 'argocd')?.output.chart;
  if (chart === undefined) throw new Error('no chart');
  return chart;
}

function layers(chart: ChartSpec): { name: string; values: Values }[] {
  return [
    { name: 'values.yaml', values: chart.values },
    ...Object.entries(chart.environments).map(([env, values]) => ({
      name: `env/${env}.yaml`,
      values: values ?? {},
    })),
    ...Object.entries(chart.clusters).map(([cluster, values]) => ({
      name: `clusters/${cluster}.yaml`,
      values,
    })),
  ];
}

describe(`argo-cd ${ARGOCD_CHART.version} values conformance`, () => {
  const all = layers(chartOf(testReferenceClusters()));

  it('checks the base, every environment and every cluster layer', () => {
    expect(all.map((layer) => layer.name)).toEqual([
      'values.yaml',
      'env/development.yaml',
      'env/production.yaml',
      'env/staging.yaml',
      'clusters/dev.yaml',
      'clusters/staging.yaml',
      'clusters/prod.yaml',
    ]);
    const dev = all.find((layer) => layer.name === 'clusters/dev.yaml')?.values['argo-cd'];
    const cm = (dev as { configs: { cm: Values } }).configs.cm;
    expect(Object.keys(cm).sort()).toEqual([
      'admin.enabled',
      'oidc.config',
      'resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration',
    ]);
  });

  it.each(all.map((layer) => [layer.name, layer.values] as const))(
    'sets only upstream keys in %s',
    (_name, values) => {
      const ours = values['argo-cd'];
      expect(isMap(ours)).toBe(true);
      expect(unknownKeys(ours as Values, upstream)).toEqual([]);
    },
  );

  it('sets only upstream keys when a small production cluster runs the single Redis', () => {
    const [dev, staging, prod] = testReferenceClusters();
    if (staging === undefined || prod === undefined) throw new Error('no reference clusters');
    const small = { ...prod, nodes: [prod.nodes[0]] } as Cluster;
    const chart = chartOf([dev, staging, small], {
      environments: { production: { replicas: 1 } },
    });
    const prodLayer = layers(chart).find((layer) => layer.name === 'clusters/prod.yaml');
    const ours = prodLayer?.values['argo-cd'] as Values;
    expect(ours['redis-ha']).toEqual({ enabled: false });
    expect(unknownKeys(ours, upstream)).toEqual([]);
  });

  it('fails on a misspelled key', () => {
    const misspelled: Values = {
      server: { replica: 3, pdb: { enabled: true } },
      redisHa: { enabled: true },
    };
    expect(unknownKeys(misspelled, upstream)).toEqual(['server.replica', 'redisHa']);
  });

  it('fails on a map where upstream has a scalar', () => {
    expect(unknownKeys({ controller: { replicas: { min: 1 } } }, upstream)).toEqual([
      'controller.replicas',
    ]);
  });
});
