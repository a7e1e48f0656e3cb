// Monitoring on test clusters, with stand-ins for the providers it uses and for components that
// declare monitors (the component packages never depend on each other, tests included).
import type {
  AnyComponent,
  ClusterContribution,
  ComponentOutput,
  ComponentsResult,
  Issue,
  KubeObject,
  MonitorDeclaration,
  ResolvedPlatform,
  Values,
} from '@homelab/core';
import { chartFiles, INITIAL_CHART_VERSION, renderChart } from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { monitoringComponent } from '../src/index.js';

export { type RouteNode, receiversFor } from '../src/route-match.js';

/** A CNI (replacing kube-proxy, or beside it) and the platform Gateway. */
export function networkComponent(kubeProxyReplacement: boolean) {
  return testComponent({
    name: 'network',
    provides: ['cni', 'gateway'],
    contribution: (cluster) => ({
      application: { namespace: 'kube-system', podSecurity: 'privileged', clusterResources: [] },
      facts: {
        cni: { kubeProxyReplacement, networkPolicy: true, namespace: 'kube-system' },
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
  });
}

/** The CNI (replacing kube-proxy) and the platform Gateway. */
export const network = networkComponent(true);

/** An OIDC provider at auth.<cluster>.example with Authelia's userinfo path. */
export const sso = testComponent({
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
});

/** A secret store. */
export const vault = testComponent({
  name: 'vault',
  provides: ['secrets'],
  contribution: () => ({ facts: { secrets: { store: 'Test vault' } } }),
});

/** Block storage with three tiers. */
export const storage = testComponent({
  name: 'blocks',
  provides: ['storage'],
  contribution: () => ({
    facts: {
      storage: {
        classes: [
          { name: 'blocks-fast', tier: 'fast-storage', default: false },
          { name: 'blocks-standard', tier: 'standard', default: true },
          { name: 'blocks-archive', tier: 'archive', default: false },
        ],
      },
    },
  }),
});

/** A component that declares `monitors` in namespace `web`. */
export function watched(name: string, monitors: readonly MonitorDeclaration[]): AnyComponent {
  return testComponent({
    name,
    contribution: () => ({
      application: { namespace: 'web', podSecurity: 'restricted', clusterResources: [] },
      monitors,
    }),
  });
}

export const PROVIDERS: readonly AnyComponent[] = [network, sso, vault, storage];

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into the chart values.
export type Loose = Record<string, any>;

export interface MonitoringRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly output: ComponentOutput | undefined;
  readonly declared: { readonly [cluster: string]: ClusterContribution };
  readonly issues: readonly Issue[];
  /** kube-prometheus-stack values `helm template` sees for a cluster. */
  readonly values: (cluster: string) => Loose;
  /** The manifests of a cluster, by key. */
  readonly manifests: (cluster: string) => { readonly [key: string]: KubeObject };
}

/** Monitoring with `settings` on `clusters` (default: the reference three), beside `others`. */
export function runMonitoring(
  settings: Values = {},
  others: readonly AnyComponent[] = PROVIDERS,
  clusters = testReferenceClusters(),
): MonitoringRun {
  const definition = testDefinition(clusters, { components: { monitoring: settings } });
  const { platform, components } = testRun(definition, [monitoringComponent, ...others]);
  const output = components.components.find(
    (entry) => entry.component.name === 'monitoring',
  )?.output;
  const declared: { [cluster: string]: ClusterContribution } = {};
  for (const cluster of components.clusters) {
    const own = cluster.contributions.get('monitoring');
    if (own !== undefined) declared[cluster.cluster.name] = own;
  }
  const rendered = (cluster: string) => {
    if (output?.chart === undefined) throw new Error('monitoring rendered no chart');
    const env = platform.clusters.find((candidate) => candidate.name === cluster)?.environment;
    const { files } = chartFiles(output.chart, INITIAL_CHART_VERSION);
    return renderChart(files, [`env/${env}.yaml`, `clusters/${cluster}.yaml`]);
  };
  return {
    platform,
    components,
    output,
    declared,
    issues: components.issues,
    values: (cluster) => rendered(cluster).values['kube-prometheus-stack'] as Loose,
    manifests: (cluster) => {
      const out: { [key: string]: KubeObject } = {};
      const manifests = (rendered(cluster).values.manifests ?? {}) as { [key: string]: KubeObject };
      for (const [key, object] of Object.entries(manifests)) out[key] = object;
      return out;
    },
  };
}

/** Issues of `severity` as [code, formatted path, message]. */
export function issuesOf(run: MonitoringRun, severity: 'error' | 'warning' = 'error') {
  return run.issues.filter((issue) => issue.severity === severity);
}

/** Every rule of the PrometheusRules of a cluster, by alert name. */
export function rulesOf(manifests: { readonly [key: string]: KubeObject }): Map<string, Loose> {
  const out = new Map<string, Loose>();
  for (const object of Object.values(manifests)) {
    if (object.kind !== 'PrometheusRule') continue;
    for (const group of (object.spec as Loose).groups) {
      for (const rule of group.rules)
        out.set(rule.alert, { ...rule, group: group.name, object: object.metadata.name });
    }
  }
  return out;
}
