// Typed factories for tests: a platform definition resolved by core, and fake component outputs.
import type {
  ApplicationDescriptor,
  ChartSpec,
  Cluster,
  ComponentOutput,
  EnvironmentName,
  PlatformDefinition,
  ResolvedPlatform,
  SecretRequirement,
} from '@homelab/core';
import { resolvePlatform } from '@homelab/core';

export const REPO = 'https://git.example.com/homelab/platform.git';

type ClusterOverrides = Partial<Omit<Cluster, 'nodes'>> & { nodeCount?: number };

/** A cluster with `nodeCount` nodes (one control plane, the rest workers) on its own /24. */
export function clusterDef(
  name: string,
  environment: EnvironmentName,
  overrides: ClusterOverrides = {},
): Cluster {
  const { nodeCount = 1, ...rest } = overrides;
  const subnet = 10 + ([...name].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 200);
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    hostname: `${name}-n${i + 1}`,
    role: i === 0 ? ('controlplane' as const) : ('worker' as const),
    address: `10.0.${subnet}.${11 + i}`,
    installDisk: '/dev/sda',
  }));
  return {
    name,
    environment,
    talos: { version: 'v1.12.11' },
    kubernetes: { version: '1.34.2' },
    endpoint: `https://10.0.${subnet}.10:6443`,
    network: {
      nodeCidr: `10.0.${subnet}.0/24`,
      gateway: `10.0.${subnet}.1`,
      podCidr: `10.${100 + subnet}.0.0/16`,
      serviceCidr: `10.${150 + subnet}.0.0/16`,
      loadBalancerPools: [{ name: 'default', cidr: `10.0.${subnet}.192/27` }],
    },
    nodes: nodes as Cluster['nodes'],
    ...rest,
  };
}

export function definition(
  clusters: Cluster[],
  overrides: Partial<PlatformDefinition> = {},
): PlatformDefinition {
  return {
    platform: { name: 'homelab', domain: 'lab.example.com' },
    repository: { url: REPO, targetRevision: { production: 'v1.0.0' } },
    clusters: clusters as PlatformDefinition['clusters'],
    ...overrides,
  };
}

/** dev (1 node), staging (3 nodes), prod (6 nodes), as the reference platform. */
export function referencePlatform(
  mutate: (clusters: Cluster[]) => void = () => {},
): ResolvedPlatform {
  const clusters = [
    clusterDef('dev', 'development', { nodeCount: 1 }),
    clusterDef('staging', 'staging', { nodeCount: 3 }),
    clusterDef('prod', 'production', { nodeCount: 6 }),
  ];
  mutate(clusters);
  return resolvePlatform(definition(clusters));
}

export interface FakeComponent {
  readonly name: string;
  readonly namespace: string;
  readonly dependsOn?: readonly string[];
  readonly podSecurity?: ApplicationDescriptor['podSecurity'];
  readonly serverSideApply?: boolean;
  readonly clusterResources?: ApplicationDescriptor['clusterResources'];
  readonly ignoreDifferences?: ApplicationDescriptor['ignoreDifferences'];
  readonly secrets?: readonly SecretRequirement[];
  /** Clusters the component is enabled on (default: every cluster). */
  readonly clusters?: readonly string[];
}

function fakeChart(name: string, clusters: readonly string[]): ChartSpec {
  return {
    name,
    description: `${name} (test double)`,
    appVersion: '1.0.0',
    values: {},
    environments: {},
    clusters: Object.fromEntries(clusters.map((cluster) => [cluster, {}])),
    readme: { summary: `${name} for tests.` },
  };
}

/** A component output with an Application descriptor (and a chart) on the given clusters. */
export function fakeOutput(platform: ResolvedPlatform, component: FakeComponent): ComponentOutput {
  const enabled = component.clusters ?? platform.clusters.map((cluster) => cluster.name);
  const descriptor: ApplicationDescriptor = {
    name: component.name,
    chart: component.name,
    namespace: component.namespace,
    dependsOn: component.dependsOn ?? [],
    podSecurity: component.podSecurity ?? 'restricted',
    ...(component.serverSideApply === undefined
      ? {}
      : { serverSideApply: component.serverSideApply }),
    clusterResources: component.clusterResources ?? [],
    ...(component.ignoreDifferences === undefined
      ? {}
      : { ignoreDifferences: component.ignoreDifferences }),
  };
  return {
    component: component.name,
    ...(enabled.length > 0 ? { chart: fakeChart(component.name, enabled) } : {}),
    clusters: Object.fromEntries(
      enabled.map((cluster) => [
        cluster,
        {
          application: descriptor,
          ...(component.secrets === undefined ? {} : { secrets: component.secrets }),
        },
      ]),
    ),
    issues: [],
  };
}

export const CILIUM: FakeComponent = {
  name: 'cilium',
  namespace: 'kube-system',
  dependsOn: ['gateway-api-crds'],
  podSecurity: 'privileged',
  serverSideApply: true,
  clusterResources: [
    { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
    { group: 'cilium.io', kind: 'CiliumLoadBalancerIPPool' },
    { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  ],
  ignoreDifferences: [
    {
      group: '',
      kind: 'Secret',
      name: 'hubble-server-certs',
      namespace: 'kube-system',
      jsonPointers: ['/data'],
    },
  ],
};

export const BITWARDEN: FakeComponent = {
  name: 'bitwarden-sm',
  namespace: 'sm-operator-system',
  clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
  secrets: [{ name: 'bw-auth-token', namespace: 'sm-operator-system', keys: ['token'] }],
};

export const LONGHORN: FakeComponent = {
  name: 'longhorn',
  namespace: 'longhorn-system',
  podSecurity: 'privileged',
  serverSideApply: true,
  clusterResources: [
    { group: 'storage.k8s.io', kind: 'StorageClass' },
    { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  ],
  secrets: [{ name: 'longhorn-backup', namespace: 'longhorn-system', keys: ['AWS_ACCESS_KEY_ID'] }],
  ignoreDifferences: [
    {
      group: 'admissionregistration.k8s.io',
      kind: 'MutatingWebhookConfiguration',
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
    },
  ],
};

export const AUTHELIA: FakeComponent = {
  name: 'authelia',
  namespace: 'authelia',
  dependsOn: ['longhorn'],
  secrets: [{ name: 'authelia-keys', namespace: 'authelia', keys: ['jwks'] }],
};
