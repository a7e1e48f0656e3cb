import {
  cidrContains,
  type DiskSelector,
  error,
  type Issue,
  type JsonValue,
  type PathSegment,
  parseCidr,
  parseIp,
  type ResolvedCluster,
  type ResolvedNode,
  type TalosUserVolume,
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
 * (node patches). A node's static address carries the prefix of its LAN (`network.lanCidr`,
 * default `nodeCidr`); the node patch pins the kubelet's node IP and, on control planes, etcd's
 * advertised address to that address alone (`pinnedToAddress`). Only fields the cluster's Talos
 * schema has are used: for 1.11 the v1alpha1
 * `machine.network` block, for 1.12 and 1.13 the `HostnameConfig`, `LinkConfig`,
 * `ResolverConfig` and `Layer2VIPConfig` documents.
 */
export function buildPatches(input: PatchInput): { patches: ClusterPatches; issues: Issue[] } {
  const { cluster } = input;
  const issues: Issue[] = [];
  // The prefix of every node's address on its link is the LAN's (`lanCidr`, default
  // `nodeCidr`), not the node range's: with a narrower one the node takes LAN hosts outside
  // the node range as off-link and answers them through the gateway.
  const lanCidr = parseCidr(cluster.network.lanCidr);
  if (lanCidr === undefined) {
    const key = cluster.definition.network.lanCidr === undefined ? 'nodeCidr' : 'lanCidr';
    issues.push(
      error({
        path: ['clusters', cluster.index, 'network', key],
        message: "is not a CIDR; the node addresses need the LAN's prefix length",
        value: cluster.network.lanCidr,
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
      lanCidr?.prefix,
      node.role === 'controlplane' ? vip : undefined,
    );
    issues.push(...result.issues);
    nodes.push({ node, documents: result.documents });
  }
  return { patches: { controlPlane, worker, nodes, vip }, issues };
}

function rolePatch(input: PatchInput, role: 'controlplane' | 'worker'): TalosDocument[] {
  const { cluster, version, requirements: req } = input;
  const machine: TalosDocument = { install: { image: input.installImage } };
  // No `nodeIP`: each node patch pins it to the node's own address. Talos appends lists when it
  // merges a patch, so a range here would stay beside the node's /32 and still admit a second
  // address (a DHCP lease on another NIC).
  if (req.kubeletExtraMounts.length > 0) {
    machine.kubelet = {
      extraMounts: req.kubeletExtraMounts.map((mount) => ({
        destination: mount.destination,
        type: mount.type,
        source: mount.source,
        options: [...mount.options],
      })),
    };
  }
  const features: TalosDocument = {};
  if (req.kubePrism !== undefined) {
    features.kubePrism = { enabled: true, port: req.kubePrism.port };
  }
  // Pods reach the Talos API through the control planes' apid.
  if (role === 'controlplane' && req.kubernetesTalosAPIAccess !== undefined) {
    features.kubernetesTalosAPIAccess = {
      enabled: true,
      allowedRoles: [...req.kubernetesTalosAPIAccess.roles],
      allowedKubernetesNamespaces: [...req.kubernetesTalosAPIAccess.namespaces],
    };
  }
  if (Object.keys(features).length > 0) machine.features = features;
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
    const { controllerManager, scheduler, etcd } = req.controlPlaneArgs;
    // No `advertisedSubnets`: each control plane's patch pins etcd to its own address.
    if (Object.keys(etcd).length > 0) clusterPart.etcd = { extraArgs: { ...etcd } };
    if (Object.keys(controllerManager).length > 0) {
      clusterPart.controllerManager = { extraArgs: { ...controllerManager } };
    }
    if (Object.keys(scheduler).length > 0) clusterPart.scheduler = { extraArgs: { ...scheduler } };
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

  const needs = input.requirements.nodes.get(node.hostname);
  const labels = needs?.labels ?? node.labels;
  const machine: TalosDocument = { install: installDocument(node.installDisk) };
  if (Object.keys(labels).length > 0) machine.nodeLabels = { ...labels };
  if (needs !== undefined && Object.keys(needs.annotations).length > 0) {
    machine.nodeAnnotations = { ...needs.annotations };
  }
  if (Object.keys(taints).length > 0) machine.nodeTaints = taints;
  // Data disks: every supported release (1.11-1.13) provisions them with UserVolumeConfig and
  // mounts them at /var/mnt/<name>, propagated into the kubelet.
  const volumes = (needs?.userVolumes ?? []).map(userVolumeDocument);

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
    return { documents: [{ machine }, ...volumes], issues };
  }
  const cidr = `${address.text}/${prefix}`;
  const base = pinnedToAddress(machine, node, address);
  const defaultRoute = (gateway?.version ?? address.version) === 6 ? '::/0' : '0.0.0.0/0';
  const via = gateway?.text ?? cluster.network.gateway;

  if (!version.networkDocuments) {
    // Talos 1.11: the v1alpha1 device, selected by hardware or named.
    const device: TalosDocument = {
      ...deviceOf(node),
      addresses: [cidr],
      routes: [{ network: defaultRoute, gateway: via }],
    };
    if (vip !== undefined) device.vip = { ip: vip };
    machine.network = { hostname: node.hostname, interfaces: [device] };
    return { documents: [base, ...volumes], issues };
  }

  const documents: TalosDocument[] = [
    base,
    // `auto: off`: a static hostname conflicts with the generated default `auto: stable`.
    { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: node.hostname, auto: 'off' },
  ];
  const match = linkMatch(node.link);
  if (match !== undefined) {
    // Talos 1.12+: the alias is what every other document names the link by.
    documents.push({
      apiVersion: 'v1alpha1',
      kind: 'LinkAliasConfig',
      name: node.linkName,
      selector: { match },
    });
  }
  // No `destination`: Talos 1.12+ makes a route without one the default route of the gateway's
  // address family, and refuses an unspecified prefix such as 0.0.0.0/0 ("route 0 destination
  // must be a valid IP prefix", `pkg/machinery/config/types/network/link.go`).
  documents.push({
    apiVersion: 'v1alpha1',
    kind: 'LinkConfig',
    name: node.linkName,
    addresses: [{ address: cidr }],
    routes: [{ gateway: via }],
  });
  if (vip !== undefined) {
    documents.push({
      apiVersion: 'v1alpha1',
      kind: 'Layer2VIPConfig',
      name: vip,
      link: node.linkName,
    });
  }
  documents.push(...volumes);
  return { documents, issues };
}

/**
 * The node's v1alpha1 document with the kubelet's node IP and, on a control plane, etcd's
 * advertised address pinned to the node's own address (a /32, /128 on IPv6). Among several
 * matching addresses Talos' nodeip controller takes the first (`NodeIPController`, the same in
 * 1.11 to 1.13: routed addresses sorted by address, one per family), and etcd advertises every
 * current address inside `advertisedSubnets` (`etcd.SpecController`). A second NIC with a DHCP
 * lease on the same LAN (Talos 1.11 runs DHCP on every physical link its config does not
 * name, `OperatorConfigController`) would match a LAN-wide range: the Node's InternalIP, which
 * the runbook, Longhorn and Cilium take as the definition's address, could be the lease, and an
 * etcd member could advertise an address that changes.
 */
function pinnedToAddress(
  machine: TalosDocument,
  node: ResolvedNode,
  address: { text: string; version: 4 | 6 },
): TalosDocument {
  const only = `${address.text}/${address.version === 6 ? 128 : 32}`;
  const kubelet = (machine.kubelet ?? {}) as TalosDocument;
  machine.kubelet = { ...kubelet, nodeIP: { validSubnets: [only] } };
  if (node.role !== 'controlplane') return { machine };
  return { machine, cluster: { etcd: { advertisedSubnets: [only] } } };
}

/**
 * `machine.install` of a node: the device path (`disk`), or `diskSelector` (every supported
 * release, 1.11 to 1.13: Talos turns it into a CEL match on the disks it found and installs to
 * the first disk matching, `Install` in v1alpha1_sequencer_tasks.go). A kernel name such as
 * /dev/nvme0n1 is whatever disk was probed first at install time; the selector is not.
 */
export function installDocument(disk: ResolvedNode['installDisk']): TalosDocument {
  if (typeof disk === 'string') return { disk };
  const selector: TalosDocument = {};
  for (const key of ['serial', 'wwid', 'model', 'busPath'] as const) {
    const value = disk[key];
    if (value !== undefined) selector[key] = value;
  }
  return { diskSelector: selector };
}

/** Disk properties a selector may name, and the fields Talos' disk resource has for them. */
const DISK_FIELDS: readonly (readonly [keyof DiskSelector, string])[] = [
  ['model', 'disk.model'],
  ['serial', 'disk.serial'],
  ['wwid', 'disk.wwid'],
  ['busPath', 'disk.bus_path'],
  ['devPath', 'disk.dev_path'],
  ['transport', 'disk.transport'],
];

function celString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The CEL expression of a disk selector (Talos' `diskSelector.match`): every given property
 * equal, never the system disk.
 */
export function diskSelectorExpression(selector: DiskSelector): string {
  const terms: string[] = [];
  for (const [key, field] of DISK_FIELDS) {
    const value = selector[key];
    if (value !== undefined) terms.push(`${field} == ${celString(value)}`);
  }
  terms.push('!system_disk');
  return terms.join(' && ');
}

/** A `UserVolumeConfig` document: the volume on its disk, growing to the disk unless capped. */
function userVolumeDocument(volume: TalosUserVolume): TalosDocument {
  const provisioning: TalosDocument = {
    diskSelector: { match: diskSelectorExpression(volume.disk) },
    ...(volume.minSize === undefined ? {} : { minSize: volume.minSize }),
    ...(volume.maxSize === undefined ? { grow: true } : { maxSize: volume.maxSize }),
  };
  return {
    apiVersion: 'v1alpha1',
    kind: 'UserVolumeConfig',
    name: volume.name,
    provisioning,
    ...(volume.filesystem === undefined ? {} : { filesystem: { type: volume.filesystem } }),
  };
}

/**
 * The CEL expression a `LinkAliasConfig` selects the node's link with (Talos evaluates it on
 * each `LinkStatus`), or undefined when the link is named. Values are checked by the definition
 * schema (hex MAC, bus path and driver characters), so quoting them in a CEL string is safe.
 */
export function linkMatch(link: ResolvedNode['link']): string | undefined {
  if (link.hardwareAddr !== undefined) {
    return `mac(link.permanent_addr) == "${link.hardwareAddr.toLowerCase()}"`;
  }
  if (link.busPath !== undefined) return `link.bus_path == "${link.busPath}"`;
  if (link.driver !== undefined) return `link.driver == "${link.driver}"`;
  return undefined;
}

/** Talos 1.11's way to the same link: `deviceSelector` (matched on sysfs) or `interface`. */
function deviceOf(node: ResolvedNode): TalosDocument {
  const { link } = node;
  if (link.hardwareAddr !== undefined) {
    return { deviceSelector: { permanentAddr: link.hardwareAddr.toLowerCase() } };
  }
  if (link.busPath !== undefined) return { deviceSelector: { busPath: link.busPath } };
  if (link.driver !== undefined) return { deviceSelector: { driver: link.driver } };
  return { interface: node.linkName };
}

/**
 * The API endpoint's address when it is a shared VIP on the nodes' LAN: an IP inside
 * `lanCidr` (default `nodeCidr`: the on-link network of the nodes' addresses, where the control
 * plane that holds the VIP answers ARP/NDP for it) that no node has. A name, or an address off
 * the nodes' LAN, is a load balancer the platform does not manage.
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
  if (!cidrContains(cluster.network.lanCidr, ip.text)) return undefined;
  if (cluster.nodes.some((node) => parseIp(node.address)?.text === ip.text)) return undefined;
  return ip.text;
}
