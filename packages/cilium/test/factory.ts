// Typed builders of platform definitions for the tests, resolved with core's resolvePlatform.
// Each builder takes overrides; the defaults give a valid, non-overlapping address plan per
// cluster index.
import {
  type Cluster,
  type EnvironmentName,
  type Node,
  type PlatformDefinition,
  type ResolvedPlatform,
  resolvePlatform,
} from '@homelab/core';

type Network = Cluster['network'];

export function node(overrides: Partial<Node> & Pick<Node, 'hostname' | 'address'>): Node {
  return { role: 'controlplane', installDisk: '/dev/sda', ...overrides };
}

/** `count` nodes of `role` in 192.168.<index>.0/24, from .<first>. */
export function nodes(
  cluster: string,
  index: number,
  count: number,
  role: Node['role'] = 'controlplane',
  first = 11,
): Node[] {
  return Array.from({ length: count }, (_, i) =>
    node({
      hostname: `${cluster}-${role === 'controlplane' ? 'cp' : 'w'}${i + 1}`,
      address: `192.168.${index}.${first + i}`,
      role,
    }),
  );
}

export function network(index: number, overrides: Partial<Network> = {}): Network {
  return {
    nodeCidr: `192.168.${index}.0/24`,
    gateway: `192.168.${index}.1`,
    podCidr: `10.${100 + index}.0.0/16`,
    serviceCidr: `10.${200 + index}.0.0/16`,
    loadBalancerPools: [{ name: 'default', cidr: `192.168.${index}.224/27` }],
    l2Announcements: {},
    ...overrides,
  };
}

export function cluster(
  name: string,
  environment: EnvironmentName,
  index: number,
  overrides: Partial<Cluster> = {},
): Cluster {
  return {
    name,
    environment,
    talos: { version: 'v1.12.11' },
    kubernetes: { version: '1.34.2' },
    endpoint: `https://192.168.${index}.10:6443`,
    network: network(index),
    nodes: nodes(name, index, 1) as [Node, ...Node[]],
    ...overrides,
  };
}

export function definition(
  clusters: [Cluster, ...Cluster[]],
  overrides: Partial<PlatformDefinition> = {},
): PlatformDefinition {
  return {
    platform: { name: 'homelab', domain: 'lab.example.com' },
    repository: { url: 'https://git.example.com/homelab/platform.git' },
    clusters,
    ...overrides,
  };
}

export function platform(
  clusters: [Cluster, ...Cluster[]],
  overrides: Partial<PlatformDefinition> = {},
): ResolvedPlatform {
  return resolvePlatform(definition(clusters, overrides));
}

/** dev (1 node, L2), staging (3 control planes, L2), prod (3 + 3 workers, BGP): issue 2's fleet. */
export function referenceClusters(): [Cluster, ...Cluster[]] {
  const { l2Announcements: _l2, ...prodNetwork } = network(3, {
    loadBalancerPools: [
      { name: 'default', cidr: '192.168.3.224/28' },
      {
        name: 'gateway',
        cidr: '192.168.3.240/28',
        serviceSelector: { 'homelab.dev/pool': 'gateway' },
      },
    ],
  });
  return [
    cluster('dev', 'development', 1),
    cluster('staging', 'staging', 2, { nodes: nodes('staging', 2, 3) as [Node, ...Node[]] }),
    cluster('prod', 'production', 3, {
      nodes: [...nodes('prod', 3, 3), ...nodes('prod', 3, 3, 'worker', 21)] as [Node, ...Node[]],
      network: {
        ...prodNetwork,
        bgp: { localAsn: 64513, peers: [{ name: 'router', address: '192.168.3.1', asn: 64512 }] },
      },
    }),
  ];
}

export function referencePlatform(): ResolvedPlatform {
  return platform(referenceClusters());
}
