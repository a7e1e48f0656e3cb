// Runs the real bitwarden-sm component through core's component run (definitions from the one
// test factory, checked by the real validator), with small test components around it: the CNI
// it needs, consumers that declare Secrets and OIDC clients, an OIDC provider.
import type {
  AnyComponent,
  ClusterContribution,
  ComponentsResult,
  Issue,
  KubeObject,
  OidcClientRequest,
  ResolvedPlatform,
  SecretRequirement,
  Values,
} from '@homelab/core';
import { chartFiles, INITIAL_CHART_VERSION, renderChart } from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { bitwardenSmComponent } from '../src/index.js';

export const ORG = '3f2a6c1e-0d4b-4e8a-9c7f-1b2d3e4f5a60';
export const ID_A = '0b6f0c1e-8a57-4d52-9c3e-2f8e4b1a7d10';
export const ID_B = '1c7a1d2f-9b68-4e63-8d4f-3a9f5c2b8e21';
export const ID_C = '2d8b2e3a-ac79-4f74-9e5a-4bae6d3c9f32';

/** The CNI bitwarden-sm needs. */
export const network: AnyComponent = testComponent({
  name: 'network',
  provides: ['cni'],
  contribution: () => ({
    facts: { cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' } },
  }),
});

/** A component with an Application in `namespace` that declares `secrets` and `clients`. */
export function consumer(
  name: string,
  namespace: string,
  secrets: readonly SecretRequirement[],
  clients: readonly OidcClientRequest[] = [],
): AnyComponent {
  return testComponent({
    name,
    uses: ['secrets', 'oidc-provider'],
    contribution: () => ({
      application: { namespace, podSecurity: 'restricted', clusterResources: [] },
      secrets,
      oidcClients: clients,
    }),
  });
}

/** An OIDC provider that reads client secrets from `sso/sso-clients`. */
export const oidcProvider: AnyComponent = testComponent({
  name: 'sso',
  provides: ['oidc-provider'],
  uses: ['secrets'],
  contribution: (cluster) => ({
    application: { namespace: 'sso', podSecurity: 'restricted', clusterResources: [] },
    secrets: [{ name: 'sso', namespace: 'sso', keys: ['hmac'] }],
    facts: {
      'oidc-provider': {
        issuer: `https://auth.${cluster}.example`,
        userinfoPath: '/api/oidc/userinfo',
        groups: [],
        clientSecrets: { namespace: 'sso', name: 'sso-clients' },
      },
    },
  }),
});

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type Loose = any;

export interface BitwardenRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly issues: readonly Issue[];
  /** What bitwarden-sm declared, per cluster. */
  readonly declared: (cluster: string) => ClusterContribution;
  /** The merged values of a chart on a cluster (`sm-operator` or another component's chart). */
  readonly values: (chart: string, cluster: string) => Loose;
  /** The manifests of a chart on a cluster. */
  readonly manifests: (chart: string, cluster: string) => { [key: string]: KubeObject };
}

/** bitwarden-sm with `settings` platform-wide (and per cluster), among `others`. */
export function runBitwarden(
  settings: Values,
  others: readonly AnyComponent[],
  clusterSettings: { readonly [cluster: string]: Values } = {},
): BitwardenRun {
  const clusters = testReferenceClusters().map((cluster) =>
    clusterSettings[cluster.name] === undefined
      ? cluster
      : { ...cluster, components: { 'bitwarden-sm': clusterSettings[cluster.name] } },
  );
  const definition = testDefinition(clusters, {
    components: { 'bitwarden-sm': { enabled: true, organizationId: ORG, ...settings } },
  });
  const { platform, components } = testRun(definition, [bitwardenSmComponent, network, ...others]);
  const rendered = (chart: string, cluster: string) => {
    const run = components.components.find((entry) => entry.output.chart?.name === chart);
    if (run?.output.chart === undefined) throw new Error(`no chart ${chart}`);
    const environment = platform.clusters.find((c) => c.name === cluster)?.environment;
    const { files } = chartFiles(run.output.chart, INITIAL_CHART_VERSION);
    return renderChart(files, [`env/${environment}.yaml`, `clusters/${cluster}.yaml`]);
  };
  return {
    platform,
    components,
    issues: components.issues,
    declared: (cluster) => {
      const found = components.clusters
        .find((run) => run.cluster.name === cluster)
        ?.contributions.get('bitwarden-sm');
      if (found === undefined) throw new Error(`bitwarden-sm declared nothing on ${cluster}`);
      return found;
    },
    values: (chart, cluster) => rendered(chart, cluster).values,
    manifests: (chart, cluster) => {
      const out: { [key: string]: KubeObject } = {};
      const manifests = rendered(chart, cluster).values.manifests as Loose;
      for (const key of Object.keys(manifests ?? {})) out[key] = manifests[key];
      return out;
    },
  };
}

/**
 * The platform as layer 4 sees it, reduced to what these checks read: per cluster, one
 * Application per component chart with the objects its cluster layer renders.
 */
export function systemInput(run: BitwardenRun): import('@homelab/core').SystemInput {
  return {
    platform: run.platform,
    files: [],
    clusters: run.components.clusters.map((clusterRun) => ({
      cluster: clusterRun.cluster,
      run: clusterRun,
      applications: run.components.components
        .filter((entry) => entry.output.chart !== undefined)
        .filter((entry) => clusterRun.contributions.has(entry.component.name))
        .map((entry, wave) => {
          const chart = entry.output.chart?.name as string;
          const manifests = run.manifests(chart, clusterRun.cluster.name);
          const namespace =
            clusterRun.contributions.get(entry.component.name)?.application?.namespace ??
            entry.component.name;
          return {
            name: entry.component.name,
            component: entry.component.name,
            bundle: undefined,
            wave,
            namespace,
            application: {
              apiVersion: 'argoproj.io/v1alpha1',
              kind: 'Application',
              metadata: { name: `${clusterRun.cluster.name}-${entry.component.name}` },
            },
            objects: Object.entries(manifests).map(([key, object]) => ({
              object,
              source: `charts/${chart}/clusters/${clusterRun.cluster.name}.yaml#manifests.${key}`,
            })),
            installs: [],
            critical: false,
            origin: ['clusters', clusterRun.cluster.index, 'components', entry.component.name],
          };
        }),
    })),
  };
}
