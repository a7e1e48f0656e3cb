// Runs the real gateway component through core's component run, with test providers of what it
// needs (a gateway class, an issuer) and test consumers that declare routes; and builds the
// platform as Argo CD deploys it, for the system checks.
import {
  type AnyComponent,
  type CapabilityFacts,
  type ChartSpec,
  type ClusterContribution,
  type ComponentsResult,
  type DeployedCluster,
  type KubeObject,
  mergeValues,
  type ResolvedPlatform,
  type RouteRequest,
  type SystemInput,
  type Values,
} from '@homelab/core';
import { testComponent, testRun } from '@homelab/core/testing';
import { gatewayComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;

/** A gateway class (what Cilium provides) with the network; `facts` override its facts. */
export function gatewayClass(facts: Partial<CapabilityFacts['gateway-class']> = {}): AnyComponent {
  return testComponent({
    name: 'network',
    provides: ['cni', 'gateway-class'],
    contribution: () => ({
      facts: {
        cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' },
        'gateway-class': {
          name: 'cilium',
          gatewayApiVersion: 'v1.3.0',
          staticAddresses: true,
          forwardAuth: false,
          ...facts,
        },
      },
    }),
  });
}

/**
 * An issuer like cert-manager's private CA: a self-signed ClusterIssuer, a root Certificate in
 * its namespace and a CA ClusterIssuer over it (`objects` replaces them).
 */
export function issuer(objects?: { [key: string]: KubeObject }): AnyComponent {
  const manifests = objects ?? {
    'clusterissuer-selfsigned': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'selfsigned' },
      spec: { selfSigned: {} },
    },
    'certificate-root': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'root', namespace: 'issuer' },
      spec: {
        isCA: true,
        secretName: 'root',
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'selfsigned' },
      },
    },
    'clusterissuer-ca': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'ca' },
      spec: { ca: { secretName: 'root' } },
    },
  };
  return testComponent({
    name: 'issuer',
    provides: ['certificates'],
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'issuer', podSecurity: 'restricted', clusterResources: [] },
      facts: {
        certificates: {
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'ca' },
        },
      },
    }),
    render: (input) => ({
      chart: {
        name: 'issuer',
        description: 'issuer (test component)',
        appVersion: '1.0.0',
        values: {},
        environments: {},
        clusters: Object.fromEntries(
          input.clusters.map((entry) => [
            entry.cluster.name,
            { manifests: manifests as unknown as Values },
          ]),
        ),
        readme: { summary: 'issuer for tests.' },
      },
    }),
  });
}

/** A route of `namespace` to its Service `name`, logged in by the application itself. */
export function route(
  name: string,
  namespace: string,
  overrides: Partial<RouteRequest> = {},
): RouteRequest {
  return {
    name,
    host: name,
    namespace,
    service: name,
    port: 8080,
    auth: { kind: 'app' },
    ...overrides,
  };
}

/** A component with an Application in `namespace` that declares `routes`. */
export function consumer(
  name: string,
  namespace: string,
  routes: readonly RouteRequest[],
  extra: Partial<ClusterContribution> = {},
): AnyComponent {
  return testComponent({
    name,
    needs: ['cni'],
    uses: ['gateway'],
    contribution: () => ({
      application: { namespace, podSecurity: 'restricted', clusterResources: [] },
      routes: [...routes],
      ...extra,
    }),
  });
}

export interface GatewayRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly chart: ChartSpec | undefined;
  /** A chart (after the consumer manifests were placed) by component name. */
  readonly charts: ReadonlyMap<string, ChartSpec>;
}

export function runGateway(definition: unknown, others: readonly AnyComponent[]): GatewayRun {
  const { platform, components } = testRun(definition, [gatewayComponent, ...others]);
  const charts = new Map<string, ChartSpec>();
  for (const run of components.components) {
    if (run.output.chart !== undefined) charts.set(run.component.name, run.output.chart);
  }
  return { platform, components, chart: charts.get('gateway'), charts };
}

/** The `manifests` a chart renders on a cluster (its layers merged as Helm does). */
export function objectsOf(
  chart: ChartSpec | undefined,
  cluster: string,
): { [key: string]: KubeObject } {
  if (chart === undefined || chart.clusters[cluster] === undefined) return {};
  const merged = mergeValues(chart.values, chart.clusters[cluster] as Values).manifests;
  return (merged ?? {}) as unknown as { [key: string]: KubeObject };
}

/**
 * The platform as Argo CD deploys it: one Application per component with a chart, in the
 * cluster's dependency order (wave = position), each applying its chart's manifests.
 */
export function deployed(run: GatewayRun): SystemInput {
  const clusters: DeployedCluster[] = run.components.clusters.map((cluster) => ({
    cluster: cluster.cluster,
    run: cluster,
    applications: cluster.order
      .filter((name) => run.charts.has(name))
      .map((name, wave) => ({
        name,
        component: name,
        bundle: undefined,
        wave,
        namespace: cluster.contributions.get(name)?.application?.namespace ?? name,
        application: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: `${cluster.cluster.name}-${name}` },
        },
        objects: Object.entries(objectsOf(run.charts.get(name), cluster.cluster.name)).map(
          ([key, object]) => ({
            object,
            source: `charts/${name}/clusters/${cluster.cluster.name}.yaml#manifests.${key}`,
          }),
        ),
        installs: [],
        critical: false,
        origin: ['clusters', cluster.cluster.index, 'components', name],
      })),
  }));
  return { platform: run.platform, clusters, files: [] };
}
