// The resolved model: the definition with defaults applied and the facts components share
// derived once. Pure; expects a definition that passed `loadDefinition` without errors.
import type { Cluster, Node, PlatformDefinition } from './generated/platform.js';
import { environmentProfiles } from './profiles.js';
import type {
  EnvironmentProfile,
  ResolvedCluster,
  ResolvedNode,
  ResolvedPlatform,
} from './types.js';

/**
 * Name Talos gives (LinkAliasConfig, Talos 1.12+) the link a node selects by hardware: not a
 * kernel naming scheme's name, so it never collides with a physical link.
 */
export const LINK_ALIAS = 'lan0';

/** The name the node's Talos network documents use for its link: its own name, else the alias. */
export function nodeLinkName(link: Node['link']): string {
  return link.name ?? LINK_ALIAS;
}

function resolveNode(node: Node, index: number): ResolvedNode {
  const labels: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(node.labels ?? {})) {
    if (value !== undefined) labels[key] = value;
  }
  return {
    ...node,
    linkName: nodeLinkName(node.link),
    labels,
    taints: node.taints ?? [],
    storage: node.storage ?? (node.disks ?? []).length > 0,
    disks: node.disks ?? [],
    index,
  };
}

/**
 * Whether ordinary workloads land on the node: a NoSchedule or NoExecute taint keeps every pod
 * without a matching toleration off it (platform controllers tolerate none of the definition's
 * taints), so such a node is no distinct node for anti-affinity, spread or replica counts.
 */
export function acceptsWorkloads(node: { readonly taints?: Node['taints'] }): boolean {
  return (node.taints ?? []).every((taint) => taint.effect === 'PreferNoSchedule');
}

/**
 * DNS zone of a cluster's services: its `domain` setting, else the platform domain for production
 * and `<cluster>.<platform domain>` for the other environments.
 */
export function clusterDomain(
  cluster: Pick<Cluster, 'name' | 'environment' | 'domain'>,
  baseDomain: string,
): string {
  if (cluster.domain !== undefined) return cluster.domain;
  return cluster.environment === 'production' ? baseDomain : `${cluster.name}.${baseDomain}`;
}

function resolveCluster(
  cluster: Cluster,
  index: number,
  profile: EnvironmentProfile,
  baseDomain: string,
): ResolvedCluster {
  const nodes = cluster.nodes.map(resolveNode);
  const controlPlanes = nodes.filter((node) => node.role === 'controlplane');
  const workers = nodes.filter((node) => node.role === 'worker');
  const allowSchedulingOnControlPlanes = workers.length === 0;
  return {
    name: cluster.name,
    index,
    environment: cluster.environment,
    profile,
    talosVersion: cluster.talos.version,
    kubernetesVersion: cluster.kubernetes.version,
    endpoint: cluster.endpoint,
    network: {
      ...cluster.network,
      nameservers: cluster.network.nameservers ?? [cluster.network.gateway],
      lanCidr: cluster.network.lanCidr ?? cluster.network.nodeCidr,
    },
    nodes,
    controlPlanes,
    workers,
    storageNodes: nodes.filter((node) => node.storage),
    allowSchedulingOnControlPlanes,
    schedulableNodes: (allowSchedulingOnControlPlanes ? controlPlanes : workers).filter(
      acceptsWorkloads,
    ),
    domain: clusterDomain(cluster, baseDomain),
    definition: cluster,
  };
}

/** Applies defaults and environment profiles, and derives node sets and domains. */
export function resolvePlatform(definition: PlatformDefinition): ResolvedPlatform {
  const environments = environmentProfiles(definition);
  return {
    name: definition.platform.name,
    domain: definition.platform.domain,
    repositoryUrl: definition.repository.url,
    environments,
    clusters: definition.clusters.map((cluster, index) =>
      resolveCluster(cluster, index, environments[cluster.environment], definition.platform.domain),
    ),
    definition,
  };
}
