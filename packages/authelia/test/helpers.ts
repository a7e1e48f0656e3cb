// Runs the real Authelia component through core's component run (definitions from the one test
// factory, checked by the real validator), with test components for what it needs (CNI, Gateway,
// secrets) and for what it serves (a consumer with a route and OIDC clients, like Argo CD).
import type {
  AnyComponent,
  Cluster,
  ClusterContribution,
  ComponentsResult,
  DeployedApplication,
  Issue,
  KubeObject,
  OidcClientRequest,
  ResolvedPlatform,
  RouteRequest,
  SystemInput,
  Values,
} from '@homelab/core';
import { chartFiles, INITIAL_CHART_VERSION, renderChart } from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { autheliaComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type Loose = any;

/** The CNI and the Gateway (domain: the cluster's). */
export const network: AnyComponent = testComponent({
  name: 'network',
  provides: ['cni', 'gateway'],
  contribution: (cluster) => ({
    facts: {
      cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' },
      gateway: {
        name: 'platform',
        namespace: 'kube-system',
        domain: cluster === 'prod' ? 'lab.example.com' : `${cluster}.lab.example.com`,
        httpsListener: 'https',
        listenerPorts: [80, 443],
        address: undefined,
        forwardAuth: false,
      },
    },
  }),
});

/**
 * A secrets provider that makes every declared Secret, and the OIDC provider's client-secret
 * Secret, with `StoredSecret` objects in the owners' charts (its producer kind).
 */
export const store: AnyComponent = testComponent({
  name: 'store',
  provides: ['secrets'],
  contribution: () => ({
    facts: {
      secrets: {
        store: 'test store',
        producer: {
          group: 'store.example',
          kind: 'StoredSecret',
          secretName: ['spec', 'name'],
          keys: ['spec', 'keys'],
        },
      },
    },
  }),
  render: (input) => ({
    forConsumers: input.clusters.flatMap((entry) => {
      const clients = entry.others.flatMap((peer) =>
        (peer.contribution.oidcClients ?? []).filter((client) => client.secret !== undefined),
      );
      return entry.others.flatMap((peer) => {
        const secrets = [...(peer.contribution.secrets ?? [])];
        const where = peer.contribution.facts?.['oidc-provider']?.clientSecrets;
        if (where !== undefined && clients.length > 0) {
          secrets.push({ ...where, keys: clients.map((client) => client.id) });
        }
        if (secrets.length === 0) return [];
        const manifests: { [key: string]: KubeObject } = {};
        for (const secret of secrets) {
          manifests[`stored-${secret.name}`] = {
            apiVersion: 'store.example/v1',
            kind: 'StoredSecret',
            metadata: { name: secret.name, namespace: secret.namespace },
            spec: { name: secret.name, keys: [...secret.keys] },
          };
        }
        return [{ component: peer.component, cluster: entry.cluster.name, manifests }];
      });
    }),
  }),
});

/** Argo CD as Authelia sees it: a route that logs in through its web client, two clients. */
export function consumer(
  overrides: { clients?: (cluster: string) => OidcClientRequest[]; routes?: RouteRequest[] } = {},
): AnyComponent {
  const domain = (cluster: string) =>
    cluster === 'prod' ? 'lab.example.com' : `${cluster}.lab.example.com`;
  const clients =
    overrides.clients ??
    ((cluster: string): OidcClientRequest[] => [
      {
        id: `argocd-${cluster}`,
        name: 'Argo CD',
        redirectUris: [`https://argocd.${domain(cluster)}/auth/callback`],
        scopes: ['openid', 'profile', 'email', 'groups'],
        idTokenClaims: ['groups'],
        pkce: false,
        public: false,
        secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
        policy: 'one_factor',
        groups: ['platform-admins', 'platform-viewers'],
        issuer: `https://auth.${domain(cluster)}`,
        origins: {
          client: ['components', 'argocd', 'oidc'],
          groups: [
            ['components', 'argocd', 'adminGroups', 0],
            ['components', 'argocd', 'readonlyGroups', 0],
          ],
        },
      },
      {
        id: `argocd-${cluster}-cli`,
        name: 'Argo CD CLI',
        redirectUris: ['http://localhost:8085/auth/callback'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        idTokenClaims: ['groups'],
        pkce: true,
        public: true,
        policy: 'one_factor',
        groups: ['platform-admins', 'platform-viewers'],
        issuer: `https://auth.${domain(cluster)}`,
        origins: {
          client: ['components', 'argocd', 'oidc'],
          groups: [
            ['components', 'argocd', 'adminGroups', 0],
            ['components', 'argocd', 'readonlyGroups', 0],
          ],
        },
      },
    ]);
  return testComponent({
    name: 'argocd',
    uses: ['oidc-provider', 'secrets', 'gateway'],
    settings: { oidc: { description: 'OIDC settings (stand-in).', type: 'object' } },
    contribution: (cluster) => ({
      application: { namespace: 'argocd', podSecurity: 'restricted', clusterResources: [] },
      routes: overrides.routes ?? [
        {
          name: 'argocd-server',
          host: 'argocd',
          namespace: 'argocd',
          service: 'argocd-server',
          port: 80,
          auth: { kind: 'app', oidcClient: `argocd-${cluster}` },
        },
      ],
      oidcClients: clients(cluster),
      secrets: [{ name: 'argocd-oidc', namespace: 'argocd', keys: ['client-secret'] }],
    }),
  });
}

/** A storage provider with two tiers. */
export const storage: AnyComponent = testComponent({
  name: 'disks',
  provides: ['storage'],
  contribution: () => ({
    facts: {
      storage: {
        classes: [
          { name: 'fast', tier: 'fast', default: false },
          { name: 'standard', tier: 'standard', default: true },
        ],
      },
    },
  }),
});

/** Settings of the reference platform: SQLite and the users file; HA backends on staging and prod. */
export const HA = {
  storage: { postgres: { address: 'tcp://postgres.lab.example.com:5432' } },
  session: { redis: { host: 'redis.lab.example.com' } },
  users: {
    ldap: {
      address: 'ldaps://ldap.lab.example.com',
      implementation: 'lldap',
      baseDn: 'dc=lab,dc=example,dc=com',
      user: 'uid=authelia,ou=people,dc=lab,dc=example,dc=com',
    },
  },
};
export const GROUPS = ['platform-admins', 'platform-viewers'];

export interface AutheliaRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly issues: readonly Issue[];
  readonly declared: (cluster: string) => ClusterContribution;
  /** Merged values of a chart on a cluster. */
  readonly values: (chart: string, cluster: string) => Loose;
  /** The platform as layer 4 sees it: one Application per component chart, with the chart files. */
  readonly system: () => SystemInput;
}

export function runAuthelia(
  settings: Values,
  clusterSettings: { readonly [cluster: string]: Values } = {},
  others: readonly AnyComponent[] = [network, store, consumer()],
): AutheliaRun {
  const clusters: Cluster[] = testReferenceClusters().map((cluster) =>
    clusterSettings[cluster.name] === undefined
      ? cluster
      : { ...cluster, components: { authelia: clusterSettings[cluster.name] } },
  );
  const definition = testDefinition(clusters, {
    components: { authelia: { enabled: true, groups: GROUPS, ...settings } },
  });
  const { platform, components } = testRun(definition, [autheliaComponent, ...others]);
  const chart = (name: string) => {
    const run = components.components.find((entry) => entry.output.chart?.name === name);
    if (run?.output.chart === undefined) throw new Error(`no chart ${name}`);
    return run.output.chart;
  };
  const env = (cluster: string) => platform.clusters.find((c) => c.name === cluster)?.environment;
  return {
    platform,
    components,
    issues: components.issues,
    declared: (cluster) => {
      const found = components.clusters
        .find((run) => run.cluster.name === cluster)
        ?.contributions.get('authelia');
      if (found === undefined) throw new Error(`authelia declared nothing on ${cluster}`);
      return found;
    },
    values: (name, cluster) =>
      renderChart(chartFiles(chart(name), INITIAL_CHART_VERSION).files, [
        `env/${env(cluster)}.yaml`,
        `clusters/${cluster}.yaml`,
      ]).values,
    system: () => {
      const files = components.components.flatMap((entry) =>
        entry.output.chart === undefined
          ? []
          : chartFiles(entry.output.chart, INITIAL_CHART_VERSION).files,
      );
      return {
        platform,
        files,
        clusters: components.clusters.map((clusterRun) => ({
          cluster: clusterRun.cluster,
          run: clusterRun,
          applications: components.components
            .filter((entry) => entry.output.chart !== undefined)
            .filter((entry) => clusterRun.contributions.get(entry.component.name)?.application)
            .map((entry, wave): DeployedApplication => {
              const name = entry.output.chart?.name as string;
              const values = renderChart(chartFiles(chart(name), INITIAL_CHART_VERSION).files, [
                `env/${clusterRun.cluster.environment}.yaml`,
                `clusters/${clusterRun.cluster.name}.yaml`,
              ]);
              return {
                name: entry.component.name,
                component: entry.component.name,
                bundle: undefined,
                wave,
                namespace:
                  clusterRun.contributions.get(entry.component.name)?.application?.namespace ??
                  entry.component.name,
                application: {
                  apiVersion: 'argoproj.io/v1alpha1',
                  kind: 'Application',
                  metadata: { name: `${clusterRun.cluster.name}-${entry.component.name}` },
                  spec: {
                    source: {
                      path: `charts/${name}`,
                      helm: {
                        valueFiles: [
                          `env/${clusterRun.cluster.environment}.yaml`,
                          `clusters/${clusterRun.cluster.name}.yaml`,
                        ],
                      },
                    },
                  },
                },
                objects: values.objects.map((object, index) => ({
                  object,
                  source: `charts/${name}#${values.keys[index]}`,
                })),
                installs: [],
                critical: false,
                origin: ['clusters', clusterRun.cluster.index, 'components', entry.component.name],
              };
            }),
        })),
      };
    },
  };
}
