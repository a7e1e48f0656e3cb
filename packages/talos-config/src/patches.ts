import {
  cidrContains,
  error,
  type Issue,
  type JsonValue,
  type PathSegment,
  parseCidr,
  parseIp,
  type ResolvedCluster,
  type ResolvedNode,
} from '@homelab/core';
import type { MergedTalosRequirements } from './requirements.js';
import type { TalosVersion } from './versions.js';

/** One YAML document of a Talos config patch (a partial v1alpha1 config or a typed document). */
export type TalosDocument = { [key: string]: JsonValue };

export interface NodePatch {
  readonly node: ResolvedNode;
  readonly documents: readonly TalosDocument[];
}

/** The machine-config patches of one cluster. */
export interface ClusterPatches {
  /** `--config-patch-control-plane`: every control-plane node. */
  readonly controlPlane: readonly TalosDocument[];
  /** `--config-patch-worker`: every worker node. */
  readonly worker: readonly TalosDocument[];
  /** One patch per node, applied on top of its role's config. */
  readonly nodes: readonly NodePatch[];
  /** Address of the shared Layer 2 VIP the control planes announce, when the endpoint is one. */
  readonly vip: string | undefined;
}

export interface PatchInput {
  readonly cluster: ResolvedCluster;
  readonly version: TalosVersion;
  readonly requirements: MergedTalosRequirements;
  /** Installer image (`factory.talos.dev/installer/<schematic>:<version>`). */
  readonly installImage: string;
}

/**
 * Builds the patches for `talosctl gen config` (role patches) and `talosctl apply-config`
 * (node patches). Only fields the cluster's Talos schema has are used: for 1.11 the v1alpha1
 * `machine.network` block, for 1.12 and 1.13 the `HostnameConfig`, `LinkConfig`,
 * `ResolverConfig` and `Layer2VIPConfig` documents.
 */
export function buildPatches(input: PatchInput): { patches: ClusterPatches; issues: Issue[] } {
  const { cluster } = input;
  const issues: Issue[] = [];
  const nodeCidr = parseCidr(cluster.network.nodeCidr);
  if (nodeCidr === undefined) {
    issues.push(
      error({
        path: ['clusters', cluster.index, 'network', 'nodeCidr'],
        message: 'is not a CIDR; the node addresses need its prefix length',
        value: cluster.network.nodeCidr,
        expected: 'a network in CIDR notation, e.g. 192.168.10.0/24',
        code: 'cidr',
      }),
    );
  }
  const vip = endpointVip(cluster);

  const controlPlane = rolePatch(input, 'controlplane');
  const worker = rolePatch(input, 'worker');
  const nodes: NodePatch[] = [];
  for (const node of cluster.nodes) {
    const result = nodePatch(
      input,
      node,
      nodeCidr?.prefix,
      node.role === 'controlplane' ? vip : undefined,
    );
    issues.push(...result.issues);
    nodes.push({ node, documents: result.documents });
  }
  return { patches: { controlPlane, worker, nodes, vip }, issues };
}

function rolePatch(input: PatchInput, role: 'controlplane' | 'worker'): TalosDocument[] {
  const { cluster, version, requirements: req } = input;
  const machine: TalosDocument = {
    install: { image: input.installImage },
    kubelet: {
      // The node address, never a LoadBalancer or pod address Cilium adds to the link.
      nodeIP: { validSubnets: [cluster.network.nodeCidr] },
      ...(req.kubeletExtraMounts.length > 0
        ? {
            extraMounts: req.kubeletExtraMounts.map((mount) => ({
              destination: mount.destination,
              type: mount.type,
              source: mount.source,
              options: [...mount.options],
            })),
          }
        : {}),
    },
  };
  if (req.kubePrism !== undefined) {
    machine.features = { kubePrism: { enabled: true, port: req.kubePrism.port } };
  }
  if (req.kernelModules.length > 0) {
    machine.kernel = { modules: req.kernelModules.map((name) => ({ name })) };
  }
  if (Object.keys(req.sysctls).length > 0) machine.sysctls = { ...req.sysctls };
  if (!version.networkDocuments) {
    machine.network = { nameservers: [...cluster.network.nameservers] };
  }

  const network: TalosDocument = {
    podSubnets: [cluster.network.podCidr],
    serviceSubnets: [cluster.network.serviceCidr],
  };
  if (req.cni !== undefined) network.cni = { name: req.cni };
  const clusterPart: TalosDocument = { network };
  if (req.disableKubeProxy) clusterPart.proxy = { disabled: true };
  if (role === 'controlplane') {
    // A component deploys the cluster DNS: Talos must not deploy (and reconcile) its own.
    if (req.disableCoreDns) clusterPart.coreDNS = { disabled: true };
    clusterPart.allowSchedulingOnControlPlanes = cluster.allowSchedulingOnControlPlanes;
    clusterPart.etcd = { advertisedSubnets: [cluster.network.nodeCidr] };
  }

  const documents: TalosDocument[] = [{ machine, cluster: clusterPart }];
  if (version.networkDocuments) {
    documents.push({
      apiVersion: 'v1alpha1',
      kind: 'ResolverConfig',
      nameservers: cluster.network.nameservers.map((address) => ({ address })),
    });
  }
  return documents;
}

function nodePatch(
  input: PatchInput,
  node: ResolvedNode,
  prefix: number | undefined,
  vip: string | undefined,
): { documents: TalosDocument[]; issues: Issue[] } {
  const { cluster, version } = input;
  const issues: Issue[] = [];
  const path: PathSegment[] = ['clusters', cluster.index, 'nodes', node.index];

  const taints: { [key: string]: string } = {};
  const taintIndex = new Map<string, number>();
  node.taints.forEach((taint, index) => {
    const first = taintIndex.get(taint.key);
    if (first !== undefined) {
      issues.push(
        error({
          path: [...path, 'taints', index],
          message: `repeats taint key "${taint.key}" (first at taints[${first}]); Talos keeps one taint per key`,
          value: taint,
          expected: 'one taint per key on a node',
          code: 'talos-taint',
        }),
      );
      return;
    }
    taintIndex.set(taint.key, index);
    taints[taint.key] = `${taint.value ?? ''}:${taint.effect}`;
  });

  const machine: TalosDocument = { install: { disk: node.installDisk } };
  if (Object.keys(node.labels).length > 0) machine.nodeLabels = { ...node.labels };
  if (Object.keys(taints).length > 0) machine.nodeTaints = taints;

  const address = parseIp(node.address);
  const gateway = parseIp(cluster.network.gateway);
  if (address === undefined || prefix === undefined) {
    if (address === undefined) {
      issues.push(
        error({
          path: [...path, 'address'],
          message: 'is not an IP address',
          value: node.address,
          expected: 'an IPv4 or IPv6 address inside the node network',
          code: 'ip',
        }),
      );
    }
    return { documents: [{ machine }], issues };
  }
  const cidr = `${address.text}/${prefix}`;
  const defaultRoute = (gateway?.version ?? address.version) === 6 ? '::/0' : '0.0.0.0/0';
  const via = gateway?.text ?? cluster.network.gateway;

  if (!version.networkDocuments) {
    const device: TalosDocument = {
      interface: node.interface,
      addresses: [cidr],
      routes: [{ network: defaultRoute, gateway: via }],
    };
    if (vip !== undefined) device.vip = { ip: vip };
    machine.network = { hostname: node.hostname, interfaces: [device] };
    return { documents: [{ machine }], issues };
  }

  const documents: TalosDocument[] = [
    { machine },
    // `auto: off`: a static hostname conflicts with the generated default `auto: stable`.
    { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: node.hostname, auto: 'off' },
    {
      apiVersion: 'v1alpha1',
      kind: 'LinkConfig',
      name: node.interface,
      addresses: [{ address: cidr }],
      routes: [{ destination: defaultRoute, gateway: via }],
    },
  ];
  if (vip !== undefined) {
    documents.push({
      apiVersion: 'v1alpha1',
      kind: 'Layer2VIPConfig',
      name: vip,
      link: node.interface,
    });
  }
  return { documents, issues };
}

/**
 * The API endpoint's address when it is a shared VIP on the node network: an IP inside
 * `nodeCidr` that no node has. A name, or an address outside the node network, is a load
 * balancer the platform does not manage.
 */
export function endpointVip(cluster: ResolvedCluster): string | undefined {
  let host: string;
  try {
    host = new URL(cluster.endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
  const ip = parseIp(host);
  if (ip === undefined) return undefined;
  if (!cidrContains(cluster.network.nodeCidr, ip.text)) return undefined;
  if (cluster.nodes.some((node) => parseIp(node.address)?.text === ip.text)) return undefined;
  return ip.text;
}
