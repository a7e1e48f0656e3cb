// Typed factories for tests: a small, valid platform definition resolved by core, with overrides.
import {
  type Cluster,
  type Node,
  type PlatformDefinition,
  type ResolvedPlatform,
  resolvePlatform,
  type TalosRequirements,
} from '@homelab/core';

export function node(overrides: Partial<Node> = {}): Node {
  return {
    hostname: 'dev-cp-1',
    role: 'controlplane',
    address: '192.168.10.11',
    installDisk: '/dev/sda',
    ...overrides,
  };
}

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: 'dev',
    environment: 'development',
    talos: { version: 'v1.12.11' },
    kubernetes: { version: '1.34.2' },
    endpoint: 'https://192.168.10.11:6443',
    network: {
      nodeCidr: '192.168.10.0/24',
      gateway: '192.168.10.1',
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
      loadBalancerPools: [{ name: 'default', cidr: '192.168.10.200/29' }],
    },
    nodes: [node()],
    ...overrides,
  };
}

/** A production-like cluster: three control planes behind a VIP, two labelled, tainted workers. */
export function haCluster(overrides: Partial<Cluster> = {}): Cluster {
  return cluster({
    name: 'prod',
    environment: 'production',
    endpoint: 'https://192.168.30.10:6443',
    network: {
      nodeCidr: '192.168.30.0/24',
      gateway: '192.168.30.1',
      nameservers: ['192.168.30.53', '1.1.1.1'],
      podCidr: '10.42.0.0/16',
      serviceCidr: '10.43.0.0/16',
      loadBalancerPools: [{ name: 'default', cidr: '192.168.30.200/29' }],
    },
    nodes: [
      node({ hostname: 'prod-cp-1', address: '192.168.30.11' }),
      node({ hostname: 'prod-cp-2', address: '192.168.30.12', interface: 'enp1s0' }),
      node({ hostname: 'prod-cp-3', address: '192.168.30.13' }),
      node({
        hostname: 'prod-w-1',
        role: 'worker',
        address: '192.168.30.21',
        installDisk: '/dev/nvme0n1',
        storage: true,
        labels: {
          'topology.kubernetes.io/zone': 'rack-a',
          'node.longhorn.io/create-default-disk': 'true',
        },
        taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }],
      }),
      node({
        hostname: 'prod-w-2',
        role: 'worker',
        address: '192.168.30.22',
        installDisk: '/dev/nvme0n1',
        taints: [{ key: 'gpu', effect: 'NoExecute' }],
      }),
    ],
    ...overrides,
  });
}

export function definition(clusters: Cluster[] = [cluster()]): PlatformDefinition {
  const [first, ...rest] = clusters;
  if (first === undefined) throw new Error('definition() needs at least one cluster');
  return {
    platform: { name: 'homelab', domain: 'lab.example.com' },
    repository: { url: 'https://git.example.com/homelab/platform.git' },
    clusters: [first, ...rest],
  };
}

export function platform(...clusters: Cluster[]): ResolvedPlatform {
  return resolvePlatform(definition(clusters.length === 0 ? [cluster()] : clusters));
}

export const cilium: TalosRequirements = {
  source: 'cilium',
  cni: 'none',
  disableKubeProxy: true,
  kubePrism: { port: 7445 },
};

export const longhorn: TalosRequirements = {
  source: 'longhorn',
  extensions: ['siderolabs/util-linux-tools', 'siderolabs/iscsi-tools'],
  kubeletExtraMounts: [
    {
      destination: '/var/lib/longhorn',
      type: 'bind',
      source: '/var/lib/longhorn',
      options: ['bind', 'rshared', 'rw'],
    },
  ],
  kernelModules: ['nvme_tcp', 'dm_thin_pool'],
  sysctls: { 'vm.max_map_count': '262144' },
};

export function requirement(
  overrides: Partial<TalosRequirements> & { source: string },
): TalosRequirements {
  return overrides;
}
