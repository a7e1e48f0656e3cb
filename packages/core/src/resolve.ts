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

/** Link a node's address sits on when the definition does not say. */
export const DEFAULT_INTERFACE = 'eth0';

function resolveNode(node: Node, index: number): ResolvedNode {
  const labels: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(node.labels ?? {})) {
    if (value !== undefined) labels[key] = value;
  }
  return {
    ...node,
    interface: node.interface ?? DEFAULT_INTERFACE,
    labels,
    taints: node.taints ?? [],
    storage: node.storage ?? (node.disks ?? []).length > 0,
    disks: node.disks ?? [],
    index,
  };
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
    },
    nodes,
    controlPlanes,
    workers,
    storageNodes: nodes.filter((node) => node.storage),
    allowSchedulingOnControlPlanes,
    schedulableNodes: allowSchedulingOnControlPlanes ? controlPlanes : workers,
    domain: cluster.environment === 'production' ? baseDomain : `${cluster.name}.${baseDomain}`,
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
