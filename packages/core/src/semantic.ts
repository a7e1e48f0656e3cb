// Checks beyond the JSON Schema: addresses and networks, overlaps, uniqueness, counts, versions.
// Pure. Runs on the parts of a definition that passed the schema (see `semanticIssues`).
import type { Cluster, PlatformDefinition } from './generated/platform.js';
import type { PathSegment } from './issues.js';
import { error, formatPath, type Issue, type IssueInput, warning, wordList } from './issues.js';
import {
  type Cidr,
  cidrContains,
  cidrsOverlap,
  type IpAddress,
  isDnsName,
  isIp,
  isIpv6,
  nthAddress,
  parseCidr,
  parseIp,
} from './net.js';
import { environmentProfiles } from './profiles.js';
import { acceptsWorkloads, clusterDomain } from './resolve.js';
import type { Locator } from './schema-validate.js';

/**
 * The Talos releases a Talos minor release can be installed over (`talosctl upgrade` of a node
 * running `host`): Talos' `TalosVersion.UpgradeableFrom` allows a host at or above `minimum` and
 * below `below` (both compared as major.minor.patch, pre-releases aside) that is not `denied`.
 */
export interface TalosUpgradePath {
  /** `MinimumHostUpgradeVersion`: the oldest release it installs over. */
  readonly minimum: string;
  /** `MaximumHostDowngradeVersion` (not inclusive): the first release it no longer installs over. */
  readonly below: string;
  /** `DeniedHostUpgradeVersions`. */
  readonly denied: readonly string[];
}

/**
 * Namespaces whose workloads Talos itself applies from its bootstrap manifests, not Argo CD:
 * talos-config's `cluster.extraManifests`, the Kubelet Serving Certificate Approver's upstream
 * manifest (its Namespace, ServiceAccount, RBAC, Service and Deployment). `talosctl upgrade-k8s`
 * syncs those manifests again, a dry-run update of every object first (go-kubernetes
 * `manifests.Sync`, `getResourceDiff`), which admission webhooks see like any update: a policy
 * that denies one of them fails the upgrade. The platform's admission policies exempt them.
 */
export const TALOS_MANIFEST_NAMESPACES: readonly string[] = ['kubelet-serving-cert-approver'];

/**
 * Talos' host DNS resolver (`constants.HostDNSAddress`, v1.12): the address its CoreDNS forwards
 * to (`forwardKubeDNSToHost`), on every node's `lo` (`hostdns_config.go`). Cilium counts it a
 * node address (the `host` identity), so a CIDR rule never selects it: a flow to it is to the
 * host entity.
 */
export const TALOS_HOST_DNS_ADDRESS = '169.254.116.108';

/**
 * Talos minor versions this platform generates configs for, with their Kubernetes range (minor
 * releases of 1.x) and their upgrade path. Both from Talos' own source, each line at its pinned
 * release: `pkg/machinery/compatibility/talos1NN/talos1NN.go` (`MinimumKubernetesVersion`,
 * `MaximumKubernetesVersion`, `MinimumHostUpgradeVersion`, `MaximumHostDowngradeVersion`,
 * `DeniedHostUpgradeVersions`) at siderolabs/talos v1.11.6 (talos111), v1.12.11 (talos112) and
 * v1.13.9 (talos113), read by `UpgradeableFrom` in `pkg/machinery/compatibility/talos_version.go`.
 */
export const SUPPORTED_TALOS: {
  readonly [minor: string]: {
    readonly kubernetes: [number, number];
    readonly upgradeFrom: TalosUpgradePath;
    /**
     * The first patch release of the line the platform runs on, and why the earlier ones do not
     * hold it up (a fix the line took later; the platform's user volumes and CSI volumes need it).
     */
    readonly floor?: { readonly patch: number; readonly why: string };
  };
} = {
  '1.11': { kubernetes: [29, 34], upgradeFrom: { minimum: '1.9.0', below: '1.13.0', denied: [] } },
  '1.12': {
    kubernetes: [30, 35],
    upgradeFrom: { minimum: '1.10.0', below: '1.14.0', denied: [] },
    // siderolabs/talos c3b04844e "fix: hold user volumes root mountpoint" (Fixes #12797), first
    // in v1.12.5: v1.12.0 to v1.12.4 lost the VolumeMountRequest that v1.11 keeps on /var/mnt
    // (block/volume_config.go).
    floor: {
      patch: 5,
      why: 'Talos v1.12.0 to v1.12.4 no longer hold /var/mnt, the parent of every user volume: when the kubelet restarts (an upgrade, a config change) Talos unmounts it and every user volume under it, the storage disks mounted there included (siderolabs/talos#12797, fixed in v1.12.5)',
    },
  },
  '1.13': {
    kubernetes: [31, 36],
    upgradeFrom: { minimum: '1.11.0', below: '1.15.0', denied: [] },
    // siderolabs/talos 04e3e87ad "fix: clean up kubelet mounts" (v1.13.0) bind-mounted
    // /var/lib/kubelet into the kubelet without rbind/rshared; 52f056084 (Fixes #13352), first in
    // v1.13.3, restores it (system/services/kubelet.go; internal/integration/api/kubelet.go).
    floor: {
      patch: 3,
      why: 'Talos v1.13.0 to v1.13.2 mount /var/lib/kubelet into the kubelet without shared propagation: after a kubelet restart, what it mounts for running pods (projected Secrets, CSI volumes) lands where those pods never see it (siderolabs/talos#13352, fixed in v1.13.3)',
    },
  },
};

/**
 * Whether a node of Talos release line `line` (`1.12`) runs Kubernetes `version`, as it checks at
 * runtime (`ValidateKubernetesImageTag`: `KubernetesVersion.SupportedWith`): from
 * `MinimumKubernetesVersion` 1.<low>.0 up to, not including, `MaximumKubernetesVersion`
 * 1.<high>.99 (`kubernetes: [low, high]`; Talos writes both bounds that way). Undefined for a line
 * this platform does not support or a version that is no `1.<minor>.<patch>`. The Talos suite
 * checks it against the code of every supported release
 * (apps/homelab/test/talos-compatibility.test.ts).
 */
export function kubernetesSupportedBy(line: string, version: string): boolean | undefined {
  const support = SUPPORTED_TALOS[line];
  const match = /^1\.(\d+)\.(\d+)$/.exec(version);
  if (support === undefined || match === null) return undefined;
  const minor = Number(match[1]);
  const patch = Number(match[2]);
  const [low, high] = support.kubernetes;
  return minor >= low && (minor < high || (minor === high && patch < 99));
}

interface Context {
  readonly locate: Locator;
  readonly issues: Issue[];
}

function report(
  ctx: Context,
  severity: 'error' | 'warning',
  at: readonly PathSegment[],
  input: Omit<IssueInput, 'path' | 'position'>,
  key = false,
): void {
  const position = ctx.locate(at, key);
  const issue = { ...input, path: [...at], ...(position ? { position } : {}) };
  ctx.issues.push(severity === 'error' ? error(issue) : warning(issue));
}

/** Parses a CIDR field; reports a malformed one or one with host bits set. */
function checkCidr(ctx: Context, at: readonly PathSegment[], text: string): Cidr | undefined {
  const cidr = parseCidr(text);
  if (!cidr) {
    report(ctx, 'error', at, {
      code: 'cidr',
      value: text,
      message: 'is not a CIDR',
      expected: 'a.b.c.d/n (IPv4) or x:x::/n (IPv6)',
    });
    return undefined;
  }
  if (cidr.hostBitsSet) {
    report(ctx, 'error', at, {
      code: 'cidr',
      value: text,
      message: `has host bits set: the network is ${cidr.text}`,
      expected: cidr.text,
    });
  }
  return cidr;
}

function checkAddress(ctx: Context, at: readonly PathSegment[], text: string): boolean {
  if (isIp(text)) return true;
  report(ctx, 'error', at, {
    code: 'address',
    value: text,
    message: 'is not an IP address',
    expected: 'a.b.c.d (IPv4) or x:x::x (IPv6)',
  });
  return false;
}

/** An address inside `network` that a host can hold (not the network or broadcast address). */
function checkInNetwork(
  ctx: Context,
  at: readonly PathSegment[],
  address: string,
  network:
    | { readonly cidr: Cidr; readonly path: readonly PathSegment[]; readonly what?: string }
    | undefined,
): void {
  if (!network) return;
  const { cidr } = network;
  if (!cidrContains(cidr, address)) {
    report(ctx, 'error', at, {
      code: 'address-outside-network',
      value: address,
      message: `is outside ${network.what ?? 'the node network'} ${cidr.text} (${formatPath(network.path)})`,
      expected: `an address in ${cidr.text}`,
    });
    return;
  }
  const reserved = reservedAddress(cidr, address);
  if (reserved) {
    report(ctx, 'error', at, {
      code: 'address-reserved',
      value: address,
      message: `is the ${reserved} address of ${cidr.text}, not a host address`,
      expected: `a host address in ${cidr.text}`,
    });
  }
}

/** Whether `address` is the network or (IPv4) broadcast address of `cidr`, which no host holds. */
function reservedAddress(cidr: Cidr, address: string): 'network' | 'broadcast' | undefined {
  const ip = parseIp(address);
  if (!ip || ip.version !== cidr.version || cidr.size <= 2n) return undefined;
  if (ip.value === cidr.first) return 'network';
  if (cidr.version === 4 && ip.value === cidr.last) return 'broadcast';
  return undefined;
}

function checkDuplicates(
  ctx: Context,
  entries: readonly { readonly value: string; readonly at: readonly PathSegment[] }[],
  what: string,
): void {
  const first = new Map<string, readonly PathSegment[]>();
  for (const entry of entries) {
    const seen = first.get(entry.value);
    if (seen) {
      report(ctx, 'error', entry.at, {
        code: 'duplicate',
        value: entry.value,
        message: `is a duplicate ${what}: ${formatPath(seen)} has it already`,
        expected: `a ${what} used once`,
      });
    } else {
      first.set(entry.value, entry.at);
    }
  }
}

function checkTalosVersion(ctx: Context, cluster: Cluster, at: readonly PathSegment[]): void {
  const version = cluster.talos.version;
  const talosAt = [...at, 'talos', 'version'];
  const match = /^v(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const supported = Object.keys(SUPPORTED_TALOS).join(', ');
  if (major > 1 || (major === 1 && minor >= 14)) {
    report(ctx, 'error', talosAt, {
      code: 'talos-version',
      value: version,
      message: `is refused: Talos ${major}.${minor} changes the machine-config document format; it is not supported yet`,
      expected: `a Talos ${supported} release, e.g. v1.12.11`,
    });
    return;
  }
  const support = SUPPORTED_TALOS[`${major}.${minor}`];
  if (!support) {
    report(ctx, 'error', talosAt, {
      code: 'talos-version',
      value: version,
      message: `is refused: Talos ${major}.${minor} is older than the releases this platform generates configs for`,
      expected: `a Talos ${supported} release, e.g. v1.12.11`,
    });
    return;
  }
  const patch = Number(match[3]);
  if (support.floor !== undefined && patch < support.floor.patch) {
    report(ctx, 'error', talosAt, {
      code: 'talos-version',
      value: version,
      message: `is refused: ${support.floor.why}`,
      expected: `v${major}.${minor}.${support.floor.patch} or a later v${major}.${minor} release`,
    });
  }
  const [low, high] = support.kubernetes;
  if (kubernetesSupportedBy(`${major}.${minor}`, cluster.kubernetes.version) !== true) {
    report(ctx, 'error', [...at, 'kubernetes', 'version'], {
      code: 'kubernetes-version',
      value: cluster.kubernetes.version,
      message: `is not supported by Talos ${major}.${minor}`,
      expected: `Kubernetes 1.${low} to 1.${high}`,
    });
  }
}

/**
 * The half of the node network `nodes` that shares no address with `pool` and holds every one of
 * `addresses` (the nodes), as CIDR text; undefined when there is none.
 */
function nodeHalfBeside(nodes: Cidr, pool: Cidr, addresses: readonly string[]): string | undefined {
  const bits = nodes.version === 4 ? 32 : 128;
  if (nodes.prefix >= bits - 1) return undefined;
  const half = nodes.size / 2n;
  for (const first of [nodes.first, nodes.first + half]) {
    const last = first + half - 1n;
    if (first <= pool.last && pool.first <= last) continue;
    const inside = addresses.every((text) => {
      const ip = parseIp(text);
      return ip !== undefined && ip.value >= first && ip.value <= last;
    });
    const address = nthAddress(nodes, first - nodes.first);
    if (inside && address !== undefined) return `${address}/${nodes.prefix + 1}`;
  }
  return undefined;
}

/**
 * The smallest network holding both `a` and `b`, as CIDR text, when it is no wider than a /16
 * (IPv4) or /48 (IPv6): a LAN that size is plausible, a wider one is no LAN to suggest.
 */
function enclosingLan(a: Cidr, b: Cidr): string | undefined {
  if (a.version !== b.version) return undefined;
  const bits = a.version === 4 ? 32 : 128;
  const widest = a.version === 4 ? 16 : 48;
  const all = parseCidr(a.version === 4 ? '0.0.0.0/0' : '::/0');
  if (!all) return undefined;
  for (let prefix = Math.min(a.prefix, b.prefix); prefix >= widest; prefix--) {
    const size = 1n << BigInt(bits - prefix);
    const first = a.first - (a.first % size);
    if (b.first >= first && b.last < first + size) {
      const address = nthAddress(all, first);
      return address === undefined ? undefined : `${address}/${prefix}`;
    }
  }
  return undefined;
}

/** The host and port of an API endpoint `https://host[:port]` (no port: `undefined`). */
function endpointParts(
  endpoint: string | undefined,
): { host: string; port: number | undefined } | undefined {
  const parts = /^https:\/\/([^/:]+)(?::(\d+))?$/.exec(endpoint ?? '');
  if (parts === null) return undefined;
  return { host: parts[1] ?? '', port: parts[2] === undefined ? undefined : Number(parts[2]) };
}

/**
 * Why no client reaches the control planes at an API endpoint host that is not on the nodes'
 * LAN, or `undefined`: a loopback or unspecified address (each machine would dial itself, or
 * nothing), or an address of the cluster's own pod or service network (no load balancer can sit
 * there: those exist only once the cluster runs, and the nodes dial the endpoint to start it).
 */
function endpointHostProblem(host: string, network: Cluster['network']): string | undefined {
  if (host.toLowerCase() === 'localhost' || cidrContains('127.0.0.0/8', host))
    return 'a loopback address: every node and client would dial itself, not the control planes';
  if (parseIp(host)?.value === 0n)
    return 'the unspecified address, which no machine can be reached at';
  for (const [key, what] of [
    ['podCidr', 'pod'],
    ['serviceCidr', 'service'],
  ] as const) {
    const cidr = parseCidr(network[key]);
    if (cidr && cidrContains(cidr, host))
      return `inside the cluster's ${what} network ${cidr.text} (network.${key}): its addresses exist only once the cluster runs, and the nodes dial the endpoint to start it, so no load balancer can sit there`;
  }
  return undefined;
}

/**
 * The nodes' resolvers (`network.nameservers`): addresses, each once, none the cluster serves
 * itself. Talos resolves through them from the first boot, to pull its images and Cilium's,
 * before any pod, Service or LoadBalancer address of the cluster exists: one in the pod or
 * service network is never reachable from the nodes' network; one in a LoadBalancer pool (a DNS
 * server the cluster runs) answers only once the cluster is up, so with no other nameserver the
 * cluster never comes up, and beside another every query first waits for it during the bootstrap.
 */
function checkNameservers(
  ctx: Context,
  network: Cluster['network'],
  netAt: readonly PathSegment[],
): void {
  const nameservers = network.nameservers ?? [];
  const pods = parseCidr(network.podCidr);
  const services = parseCidr(network.serviceCidr);
  const inPool: { index: number; pool: number }[] = [];
  let outside = 0;
  const entries: { value: string; at: PathSegment[] }[] = [];
  nameservers.forEach((nameserver, i) => {
    const at: PathSegment[] = [...netAt, 'nameservers', i];
    if (!checkAddress(ctx, at, nameserver)) return;
    entries.push({ value: parseIp(nameserver)?.text ?? nameserver, at });
    const inside = [
      { cidr: pods, what: 'pod network', key: 'podCidr' },
      { cidr: services, what: 'service network', key: 'serviceCidr' },
    ].find(({ cidr }) => cidr !== undefined && cidrContains(cidr, nameserver));
    if (inside?.cidr) {
      report(ctx, 'error', at, {
        code: 'nameserver',
        value: nameserver,
        message: `is inside the cluster's ${inside.what} ${inside.cidr.text} (${formatPath([...netAt, inside.key])}): the nodes resolve through it from their first boot, before any pod or Service exists, and never reach that network themselves`,
        expected:
          "a DNS server off the cluster the nodes reach, e.g. the LAN's router (network.gateway) or a public resolver",
      });
      return;
    }
    const pool = network.loadBalancerPools.findIndex((candidate) => {
      const cidr = parseCidr(candidate.cidr);
      return cidr !== undefined && cidrContains(cidr, nameserver);
    });
    if (pool >= 0) inPool.push({ index: i, pool });
    else outside++;
  });
  checkDuplicates(ctx, entries, 'nameserver');
  for (const { index: i, pool: poolIndex } of inPool) {
    const nameserver = nameservers[i] ?? '';
    const pool = network.loadBalancerPools[poolIndex];
    if (!pool) continue;
    const where = `inside load-balancer pool "${pool.name}" ${parseCidr(pool.cidr)?.text ?? pool.cidr} (${formatPath([...netAt, 'loadBalancerPools', poolIndex, 'cidr'])}): a DNS server the cluster serves answers only once the cluster runs, but the nodes resolve through their nameservers from their first boot, to pull Talos', Cilium's and every other image`;
    report(ctx, outside === 0 ? 'error' : 'warning', [...netAt, 'nameservers', i], {
      code: 'nameserver',
      value: nameserver,
      message:
        outside === 0
          ? `is ${where}, and no other nameserver is off the cluster: it would never come up`
          : `is ${where}; until then, Talos asks it in turn and waits for its timeout before the next nameserver`,
      expected:
        "a DNS server off the cluster the nodes reach, e.g. the LAN's router (network.gateway) or a public resolver",
    });
  }
}

/**
 * BGP peers (`network.bgp.peers`): routers beside the cluster. Cilium on every node opens a
 * session to each, so a peer is no node of the cluster (that node would peer with itself) and no
 * address of a LoadBalancer pool (Cilium hands those to Services and announces them to the peers). The generated CiliumBGPPeerConfig sets no `ebgpMultihop`, so an
 * eBGP session (peer ASN other than the local one) goes out with TTL 1 and reaches only a router on
 * the nodes' LAN.
 */
function checkBgpPeers(
  ctx: Context,
  cluster: Cluster,
  at: readonly PathSegment[],
  lan: Cidr | undefined,
): void {
  const bgp = cluster.network.bgp;
  if (bgp === undefined) return;
  const netAt: PathSegment[] = [...at, 'network'];
  bgp.peers.forEach((peer, i) => {
    const peerAt: PathSegment[] = [...netAt, 'bgp', 'peers', i, 'address'];
    if (!checkAddress(ctx, peerAt, peer.address)) return;
    const ip = parseIp(peer.address);
    const node = cluster.nodes.findIndex(
      (candidate) => parseIp(candidate.address)?.text === ip?.text,
    );
    const nodeEntry = cluster.nodes[node];
    if (nodeEntry) {
      report(ctx, 'error', peerAt, {
        code: 'bgp-peer',
        value: peer.address,
        message: `is the address of node "${nodeEntry.hostname}" of this cluster (${formatPath([...at, 'nodes', node, 'address'])}): the peers are the routers beside the cluster that Cilium on every node announces the LoadBalancer addresses to, and that node would have to peer with itself`,
        expected:
          "the address of a router beside the cluster, e.g. the LAN's router (network.gateway)",
      });
      return;
    }
    // A pool on the LAN has its own error (overlap, bgp-pool-on-lan): one cause, one error.
    const pool = cluster.network.loadBalancerPools.findIndex(
      (candidate) =>
        cidrContains(candidate.cidr, peer.address) && !(lan && cidrsOverlap(lan, candidate.cidr)),
    );
    const poolEntry = cluster.network.loadBalancerPools[pool];
    if (poolEntry) {
      report(ctx, 'error', peerAt, {
        code: 'bgp-peer',
        value: peer.address,
        message: `is inside load-balancer pool "${poolEntry.name}" ${parseCidr(poolEntry.cidr)?.text ?? poolEntry.cidr} (${formatPath([...netAt, 'loadBalancerPools', pool, 'cidr'])}): Cilium hands the pool's addresses to Services and announces them to the peers, so the router's own address would be routed to the cluster`,
        expected: `the address of a router beside the cluster, outside ${parseCidr(poolEntry.cidr)?.text ?? poolEntry.cidr}`,
      });
      return;
    }
    if (
      peer.asn !== bgp.localAsn &&
      lan &&
      ip &&
      ip.version === lan.version &&
      !cidrContains(lan, ip.text)
    ) {
      report(ctx, 'error', peerAt, {
        code: 'bgp-peer',
        value: peer.address,
        message: `is outside the nodes' LAN ${lan.text} and an eBGP peer (AS ${peer.asn}, the cluster's AS ${bgp.localAsn}): Cilium sends eBGP with TTL 1 (the generated CiliumBGPPeerConfig sets no ebgpMultihop), which reaches only a router on the nodes' own LAN, so the session never comes up`,
        expected: `the router's address on the nodes' LAN ${lan.text} (e.g. network.gateway), or asn: ${bgp.localAsn} for an iBGP session`,
      });
    }
  });
}

/**
 * What kind of logical link `name` is by the kernel's and the usual tools' naming (a VLAN
 * `<link>.<id>`, a bond, bridge, team, VLAN, dummy, veth, WireGuard, tunnel, VXLAN or loopback
 * device), or `undefined` for a name a network card may have: every predictable (`enp1s0`,
 * `eno1`, `ens18`, `enx<MAC>`, `wlp2s0`) and kernel name (`eth0`, `wlan0`). Talos creates such a
 * link only from its own document (VLANConfig, BondConfig, BridgeConfig, …), never from a
 * LinkConfig, which configures a physical link.
 */
function logicalLinkKind(name: string): string | undefined {
  if (name.includes('.')) return 'a VLAN (<link>.<VLAN id>)';
  const kinds: readonly [RegExp, string][] = [
    [/^bond\d+$/, 'a bond'],
    [/^(br\d+|bridge\d*|virbr\d+)$/, 'a bridge'],
    [/^team\d+$/, 'a team'],
    [/^vlan\d+$/, 'a VLAN'],
    [/^(dummy\d*|veth.*|wg\d+|tun\d+|tap\d+|vxlan.*|lo)$/, 'a virtual link'],
  ];
  return kinds.find(([pattern]) => pattern.test(name))?.[1];
}

/** A cluster on its own: networks, addresses, overlaps, names, counts, versions. */
function checkCluster(ctx: Context, cluster: Cluster, index: number): void {
  const at: PathSegment[] = ['clusters', index];
  const netAt: PathSegment[] = [...at, 'network'];
  const network = cluster.network;

  checkTalosVersion(ctx, cluster, at);

  // Networks: each must parse; then no two may share an address.
  const ranges: { cidr: Cidr; path: PathSegment[]; what: string }[] = [];
  const addRange = (path: PathSegment[], text: string, what: string) => {
    const cidr = checkCidr(ctx, path, text);
    if (cidr) ranges.push({ cidr, path, what });
    return cidr;
  };
  const nodeCidrPath: PathSegment[] = [...netAt, 'nodeCidr'];
  const nodeCidr = addRange(nodeCidrPath, network.nodeCidr, 'the node network');
  addRange([...netAt, 'podCidr'], network.podCidr, 'the pod network');
  addRange([...netAt, 'serviceCidr'], network.serviceCidr, 'the service network');
  network.loadBalancerPools.forEach((pool, i) => {
    addRange(
      [...netAt, 'loadBalancerPools', i, 'cidr'],
      pool.cidr,
      `load-balancer pool "${pool.name}"`,
    );
  });
  const overlapping: [number, number][] = [];
  for (let j = 1; j < ranges.length; j++) {
    const b = ranges[j];
    if (!b) continue;
    for (let i = 0; i < j; i++) {
      const a = ranges[i];
      if (!a || a.cidr.version !== b.cidr.version) continue;
      if (a.cidr.first <= b.cidr.last && b.cidr.first <= a.cidr.last) overlapping.push([i, j]);
    }
  }
  // A pod or service network that overlaps two or more of the others (one too wide, a typo in
  // it) is the mistake: one error there, naming them all (the LAN too), rather than one at each
  // of the others, which the user did not touch.
  const lanText = network.lanCidr === undefined ? undefined : parseCidr(network.lanCidr);
  const culprits = new Set<string>();
  for (const key of ['podCidr', 'serviceCidr'] as const) {
    const index = ranges.findIndex(
      (range) => range.path.at(-1) === key && range.path.length === netAt.length + 1,
    );
    const range = ranges[index];
    if (range === undefined) continue;
    const mine = overlapping.filter(([i, j]) => i === index || j === index);
    const others = mine.map(([i, j]) => ranges[i === index ? j : i] as (typeof ranges)[number]);
    const lan =
      lanText !== undefined &&
      lanText.version === range.cidr.version &&
      lanText.first <= range.cidr.last &&
      range.cidr.first <= lanText.last
        ? [`the nodes' LAN ${lanText.text} (${formatPath([...netAt, 'lanCidr'])})`]
        : [];
    if (mine.length === 0 || mine.length + lan.length < 2) continue;
    const named = [
      ...others.map((other) => `${other.what} ${other.cidr.text} (${formatPath(other.path)})`),
      ...lan,
    ];
    report(ctx, 'error', range.path, {
      code: 'overlap',
      value: range.cidr.text,
      message: `overlaps ${wordList(named)}`,
      expected: `a range that shares no address with ${[...others.map((other) => other.cidr.text), ...(lan.length > 0 && lanText ? [lanText.text] : [])].join(', ')}`,
    });
    culprits.add(key);
    for (let k = overlapping.length - 1; k >= 0; k--) {
      const pair = overlapping[k] as [number, number];
      if (pair.includes(index)) overlapping.splice(k, 1);
    }
  }
  for (const [i, j] of overlapping) {
    const a = ranges[i];
    const b = ranges[j];
    if (!a || !b) continue;
    const split =
      a.path === nodeCidrPath && b.path.includes('loadBalancerPools')
        ? nodeHalfBeside(
            a.cidr,
            b.cidr,
            cluster.nodes.map((n) => n.address),
          )
        : undefined;
    report(ctx, 'error', b.path, {
      code: 'overlap',
      value: b.cidr.text,
      message: `overlaps ${a.what} ${a.cidr.text} (${formatPath(a.path)})`,
      expected: `a range that shares no address with ${a.cidr.text}${split === undefined ? '' : `; for a pool on the nodes' LAN (L2 announcements), make network.nodeCidr the part of it that holds the nodes, e.g. ${split}, ${network.lanCidr === undefined ? `set network.lanCidr: ${a.cidr.text} (the LAN: the prefix of the nodes' addresses on their links, so they answer every LAN host directly), ` : ''}and keep the pool in the rest`}`,
    });
  }
  const nodeNetwork = nodeCidr ? { cidr: nodeCidr, path: nodeCidrPath } : undefined;
  const lanNetwork = checkLan(ctx, cluster, netAt, nodeNetwork, culprits);

  // Addresses.
  if (checkAddress(ctx, [...netAt, 'gateway'], network.gateway)) {
    checkInNetwork(ctx, [...netAt, 'gateway'], network.gateway, lanNetwork);
  }
  checkNameservers(ctx, network, netAt);
  cluster.nodes.forEach((node, i) => {
    const nodeAt: PathSegment[] = [...at, 'nodes', i, 'address'];
    if (!checkAddress(ctx, nodeAt, node.address)) return;
    checkInNetwork(ctx, nodeAt, node.address, nodeNetwork);
    if (parseIp(node.address)?.text === parseIp(network.gateway)?.text) {
      report(ctx, 'error', nodeAt, {
        code: 'duplicate',
        value: node.address,
        message: 'is the gateway address',
        expected: 'an address of its own',
      });
    }
  });

  // Links: Talos on metal names links predictably (enp3s0, ens18); eth0 only exists with the
  // kernel argument net.ifnames=0, so a LinkConfig for it would never apply.
  cluster.nodes.forEach((node, i) => {
    const name = node.link?.name;
    const logical = name === undefined ? undefined : logicalLinkKind(name);
    if (name !== undefined && logical !== undefined) {
      report(ctx, 'error', [...at, 'nodes', i, 'link', 'name'], {
        code: 'node-link',
        value: name,
        message: `names ${logical}, not a network card: this platform configures physical links only (a Talos LinkConfig, on 1.11 machine.network.interfaces), which never create one, so node "${node.hostname}" would get no address`,
        expected:
          'the physical NIC the node is cabled on, e.g. enp1s0 (`talosctl get links --insecure -n <DHCP address>` lists them), or a hardware selector: link: { hardwareAddr: <permanentAddr> }',
      });
      return;
    }
    if (name !== undefined && /^eth\d+$/.test(name)) {
      report(ctx, 'warning', [...at, 'nodes', i, 'link', 'name'], {
        code: 'node-link',
        value: name,
        message: `is a legacy kernel name; Talos on metal names links predictably (enp3s0, ens18) since 1.5, so node "${node.hostname}" would keep no static address, VIP or L2 announcement unless it boots with net.ifnames=0`,
        expected:
          'the name `talosctl get links --insecure -n <DHCP address>` lists, or a hardware selector: link: { hardwareAddr: <permanentAddr> }',
      });
    }
  });

  const endpoint = endpointParts(cluster.endpoint);
  if (endpoint) {
    const { host, port } = endpoint;
    const endpointAt: PathSegment[] = [...at, 'endpoint'];
    // A host no client can dial is its own error below; a port for it would be no fix.
    const dialable = isIp(host) || isDnsName(host.toLowerCase(), { singleLabel: true });
    if (port === undefined && dialable) {
      // `talosctl gen config` (fixControlPlaneEndpoint) writes 6443 into every machine config
      // where the URL has no port, while any other client dials https's 443.
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message:
          "has no port: `talosctl gen config` takes it as port 6443 for the nodes' configs and kubeconfig, any other client as https's 443",
        expected: `the port written out: https://${host}:6443 (the API server's port on the control planes), or the port a load balancer in front of them listens on`,
      });
    } else if (port !== undefined && (port < 1 || port > 65535)) {
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `has port ${port}, outside 1-65535`,
        expected: 'https://<address or name>:6443',
      });
    }
    // A VIP the control planes share sits on their LAN (lanCidr, default nodeCidr), not
    // necessarily in the node range: Talos answers ARP/NDP for it on the link.
    const lan = lanNetwork?.cidr ?? nodeCidr;
    const hostIp = parseIp(host);
    const onLan =
      hostIp !== undefined &&
      ((lan !== undefined && cidrContains(lan, hostIp.text)) ||
        (nodeCidr !== undefined && cidrContains(nodeCidr, hostIp.text)));
    const nodeIndex =
      hostIp === undefined
        ? -1
        : cluster.nodes.findIndex((node) => parseIp(node.address)?.text === hostIp.text);
    const unusable = onLan ? undefined : endpointHostProblem(host, network);
    if (unusable !== undefined) {
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `points at ${host}, ${unusable}`,
        expected: `an address in ${lan?.text ?? "the nodes' LAN"} (a control-plane node or a VIP), or the address or name of a load balancer in front of the control planes`,
      });
    } else if (hostIp !== undefined && lan && !onLan) {
      report(ctx, 'warning', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `points at ${host}, outside ${lanNetwork?.what ?? 'the node network'} ${lan.text}; the control plane will not answer there unless something routes it`,
        expected: `an address in ${lan.text} (a control-plane node or a VIP)`,
      });
    }
    // A VIP (an address on the LAN that no node has) is a host address of the LAN: Talos would
    // add the network or broadcast address to the link, where no client reaches it.
    const vip = onLan && nodeIndex < 0 && hostIp !== undefined;
    const reserved = vip && lan ? reservedAddress(lan, hostIp.text) : undefined;
    if (reserved !== undefined && lan) {
      report(ctx, 'error', endpointAt, {
        code: 'address-reserved',
        value: cluster.endpoint,
        message: `points at ${host}, the ${reserved} address of ${lanNetwork?.what ?? 'the node network'} ${lan.text}, as the control planes' VIP: no host holds it`,
        expected: `a VIP that is a host address in ${lan.text}, or a control-plane node's address`,
      });
    }
    // Talos' API server listens on 6443 (cluster.controlPlane.localAPIServerPort, which the
    // patches leave at its default; the node firewall, the flows and KubePrism's endpoints all
    // say 6443): a node's address or the VIP answers there only.
    if (
      port !== undefined &&
      port >= 1 &&
      port <= 65535 &&
      port !== 6443 &&
      (vip || nodeIndex >= 0)
    ) {
      const node = cluster.nodes[nodeIndex];
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `has port ${port}, but ${node === undefined ? `its host ${host} is the control planes' VIP` : `its host ${host} is the address of node "${node.hostname}"`}: the API server listens on 6443 there (Talos' localAPIServerPort, which this platform leaves at its default and its firewall opens), nothing on ${port}`,
        expected: `https://${host}:6443, or a load balancer in front of the control planes (its name or an address off the nodes' LAN) for another port`,
      });
    }
    // The API server runs on the control planes only: a worker's address answers nothing on
    // 6443, and every node's kubelet dials the endpoint. (A cluster without a control plane is
    // that error alone.)
    const endpointNode = cluster.nodes[nodeIndex];
    if (
      endpointNode !== undefined &&
      endpointNode.role !== 'controlplane' &&
      cluster.nodes.some((node) => node.role === 'controlplane')
    ) {
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `points at ${host}, the address of worker node "${endpointNode.hostname}" (${formatPath([...at, 'nodes', nodeIndex, 'address'])}): Talos runs the API server on the control planes only, so no kubelet, talosctl or kubectl would reach it there`,
        expected: `a control-plane node's address, a free address of ${lan?.text ?? "the nodes' LAN"} as the control planes' VIP, or a load balancer in front of them`,
      });
    }
    // The router's address as the VIP: the control planes would answer ARP for it, and the
    // LAN's traffic to its router would reach them.
    if (vip && parseIp(network.gateway)?.text === hostIp.text) {
      report(ctx, 'error', endpointAt, {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `points at ${host}, the LAN's router (${formatPath([...netAt, 'gateway'])}), as the control planes' VIP: they would answer ARP for the router's address and take the LAN's traffic to it`,
        expected: `a free address of ${lan?.text ?? "the nodes' LAN"} as the VIP, or a control-plane node's address`,
      });
    }
    // An endpoint address in a LoadBalancer pool: Cilium may hand it to a Service and answer
    // ARP/NDP (or announce it by BGP) for it, beside the control plane that holds the VIP.
    // (One in the node range is the pool's overlap with it, reported above.)
    if (isIp(host) && !(nodeCidr && cidrContains(nodeCidr, host))) {
      network.loadBalancerPools.forEach((pool, i) => {
        const cidr = parseCidr(pool.cidr);
        if (!cidr || !cidrContains(cidr, host)) return;
        report(ctx, 'error', [...netAt, 'loadBalancerPools', i, 'cidr'], {
          code: 'overlap',
          value: cidr.text,
          message: `holds the API endpoint's address ${host} (${formatPath([...at, 'endpoint'])}); Cilium would hand it to a LoadBalancer Service and answer for it beside the control plane`,
          expected: `a range without ${host}`,
        });
      });
    }
    if (/^\d+(\.\d+){3}$/.test(host) && !isIp(host)) {
      report(ctx, 'error', [...at, 'endpoint'], {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `has host ${host}, which is not a valid IPv4 address`,
        expected: 'https://<address or name>:6443',
      });
    } else if (!isIp(host) && !isDnsName(host.toLowerCase(), { singleLabel: true })) {
      // Talos and kubectl dial the host: anything else (`;`, quotes, `$(…)`) can never connect.
      report(ctx, 'error', [...at, 'endpoint'], {
        code: 'endpoint',
        value: cluster.endpoint,
        message: `has host ${JSON.stringify(host)}, which is neither an IPv4 address nor a DNS name: no client can reach the API there`,
        expected:
          'https://<IPv4 address or DNS name>:6443, e.g. https://10.0.0.10:6443 or https://kube.lab.example.com:6443 (a DNS name: letters, digits and "-" in dot-separated labels)',
      });
    }
  }

  // Names unique inside the cluster.
  checkDuplicates(
    ctx,
    network.loadBalancerPools.map((pool, i) => ({
      value: pool.name,
      at: [...netAt, 'loadBalancerPools', i, 'name'],
    })),
    'pool name',
  );
  checkDuplicates(
    ctx,
    (network.bgp?.peers ?? []).map((peer, i) => ({
      value: peer.name,
      at: [...netAt, 'bgp', 'peers', i, 'name'],
    })),
    'BGP peer name',
  );
  checkBgpPeers(ctx, cluster, at, lanNetwork?.cidr ?? nodeCidr);

  // Data disks: unique names per node, never the install disk, only on storage nodes.
  cluster.nodes.forEach((node, i) => {
    const disks = node.disks ?? [];
    const nodeAt: PathSegment[] = [...at, 'nodes', i];
    checkDuplicates(
      ctx,
      disks.map((disk, d) => ({ value: disk.name, at: [...nodeAt, 'disks', d, 'name'] })),
      `data disk name on node "${node.hostname}"`,
    );
    const selectors = new Map<string, number>();
    disks.forEach((disk, d) => {
      if (disk.selector.devPath !== undefined && disk.selector.devPath === node.installDisk) {
        report(ctx, 'error', [...nodeAt, 'disks', d, 'selector', 'devPath'], {
          code: 'data-disk',
          value: disk.selector.devPath,
          message: `is the install disk of node "${node.hostname}"; Talos owns it`,
          expected: 'a disk other than installDisk',
        });
      }
      // The user volume's match ends in `&& !system_disk`: a data disk selected by the install
      // disk's serial or wwid can never be provisioned.
      const install = typeof node.installDisk === 'object' ? node.installDisk : undefined;
      for (const key of ['serial', 'wwid'] as const) {
        const own = disk.selector[key];
        if (own === undefined || own !== install?.[key]) continue;
        report(ctx, 'error', [...nodeAt, 'disks', d, 'selector', key], {
          code: 'data-disk',
          value: own,
          message: `is the ${key} of node "${node.hostname}"'s install disk (installDisk.${key}); Talos never provisions a user volume on the system disk, so data disk "${disk.name}" would never appear`,
          expected: `the ${key} of another disk (\`talosctl get disks --insecure\` lists them)`,
        });
      }
      // Two data disks with one selector, or one serial or wwid (each names one physical disk):
      // Talos provisions both volumes on the same disk (or the second waits for ever).
      const keys = [
        `all ${JSON.stringify(Object.entries(disk.selector).sort(([a], [b]) => (a < b ? -1 : 1)))}`,
        ...(disk.selector.serial === undefined ? [] : [`serial ${disk.selector.serial}`]),
        ...(disk.selector.wwid === undefined ? [] : [`wwid ${disk.selector.wwid}`]),
      ];
      const first = keys.map((k) => selectors.get(k)).find((index) => index !== undefined);
      for (const k of keys) if (!selectors.has(k)) selectors.set(k, d);
      if (first !== undefined) {
        report(ctx, 'error', [...nodeAt, 'disks', d, 'selector'], {
          code: 'data-disk',
          value: disk.selector,
          message: `selects the same disk as ${formatPath([...nodeAt, 'disks', first, 'selector'])} on node "${node.hostname}"; two data disks need two physical disks`,
          expected: 'a selector that tells the disks apart (serial or wwid), or one data disk',
        });
      }
    });
    // A kernel name is the order the disks were probed in at install time, which can change
    // between boots when the machine has a second disk (NVMe and SCSI probe asynchronously):
    // Talos installs to, and wipes, whatever disk has the name, possibly a data disk, whose
    // user volume then never matches (`!system_disk`).
    if (
      disks.length > 0 &&
      typeof node.installDisk === 'string' &&
      /^\/dev\/(sd[a-z]+|nvme\d+n\d+|vd[a-z]+|hd[a-z]+|xvd[a-z]+|mmcblk\d+)$/.test(node.installDisk)
    ) {
      report(ctx, 'warning', [...nodeAt, 'installDisk'], {
        code: 'install-disk-name',
        value: node.installDisk,
        message: `is a kernel name and node "${node.hostname}" has ${disks.length} data disk(s): kernel names follow the order the disks are probed in, which can change between boots, and Talos installs to (and wipes) whatever disk has the name when it installs`,
        expected:
          'a selector, e.g. installDisk: { serial: <serial> } (`talosctl get disks --insecure` lists them), or a /dev/disk/by-id/ path',
      });
    }
    if (node.storage === false && disks.length > 0) {
      report(ctx, 'error', [...nodeAt, 'storage'], {
        code: 'data-disk',
        value: false,
        message: `node "${node.hostname}" has ${disks.length} data disk(s) but says it holds no storage`,
        expected: 'storage: true (or omitted) on a node with disks, or no disks',
      });
    }
  });

  // Control planes: etcd needs at least one, and an odd count to gain from each member.
  const controlPlanes = cluster.nodes.filter((node) => node.role === 'controlplane').length;
  if (controlPlanes === 0) {
    report(ctx, 'error', [...at, 'nodes'], {
      code: 'control-plane',
      message: `cluster "${cluster.name}" has no control-plane node`,
      expected: 'at least one node with role: controlplane (1 or 3 for etcd quorum)',
    });
  } else if (controlPlanes % 2 === 0) {
    report(ctx, 'warning', [...at, 'nodes'], {
      code: 'control-plane',
      message: `cluster "${cluster.name}" has ${controlPlanes} control-plane nodes; etcd with an even member count tolerates no more failures than with ${controlPlanes - 1}`,
      expected: 'an odd number of control-plane nodes (1, 3, 5)',
    });
  }
}

/**
 * The nodes' LAN (`network.lanCidr`, default `nodeCidr`): the prefix of the nodes' addresses on
 * their links. It holds the node range; it shares no address with the pod and service networks;
 * an L2-announced pool lies inside it (hosts ask by ARP/NDP only for addresses on their own LAN,
 * so Cilium's answers elsewhere reach nobody who would ask) and a BGP-announced pool outside it
 * (LAN hosts would ask by ARP for its addresses, which no node answers without L2 announcements);
 * no pool holds the gateway. Returns the LAN to check the gateway against.
 */
function checkLan(
  ctx: Context,
  cluster: Cluster,
  netAt: readonly PathSegment[],
  nodeNetwork: { readonly cidr: Cidr; readonly path: readonly PathSegment[] } | undefined,
  /** The pod or service network whose overlaps were reported at it, the LAN's among them. */
  reported: ReadonlySet<string> = new Set(),
):
  | { readonly cidr: Cidr; readonly path: readonly PathSegment[]; readonly what: string }
  | undefined {
  const { network } = cluster;
  const lanAt: PathSegment[] = [...netAt, 'lanCidr'];
  let lan: { cidr: Cidr; path: readonly PathSegment[]; what: string } | undefined;
  if (network.lanCidr === undefined) {
    lan = nodeNetwork && { ...nodeNetwork, what: 'the node network' };
  } else {
    const cidr = checkCidr(ctx, lanAt, network.lanCidr);
    if (!cidr) return undefined;
    lan = { cidr, path: lanAt, what: "the nodes' LAN" };
    const nodes = nodeNetwork?.cidr;
    if (
      nodes &&
      !(nodes.version === cidr.version && cidr.first <= nodes.first && nodes.last <= cidr.last)
    ) {
      const wider = enclosingLan(cidr, nodes);
      report(ctx, 'error', lanAt, {
        code: 'lan-cidr',
        value: cidr.text,
        message: `does not hold the node range ${nodes.text} (${formatPath(nodeNetwork.path)}); the nodes' addresses sit on this LAN`,
        expected: `a network holding ${nodes.text}${wider === undefined ? '' : `, e.g. ${wider}`}`,
      });
      // A LAN that misses its own nodes is the mistake (a typo in it, most often): the gateway
      // and the pools are not measured against it as well. One cause, one error.
      return undefined;
    }
    for (const key of ['podCidr', 'serviceCidr'] as const) {
      const other = parseCidr(network[key]);
      if (
        !reported.has(key) &&
        other &&
        other.version === cidr.version &&
        other.first <= cidr.last &&
        cidr.first <= other.last
      ) {
        report(ctx, 'error', lanAt, {
          code: 'overlap',
          value: cidr.text,
          message: `overlaps the ${key === 'podCidr' ? 'pod' : 'service'} network ${other.text} (${formatPath([...netAt, key])})`,
          expected: `a LAN that shares no address with ${other.text}`,
        });
      }
    }
  }
  if (!lan) return undefined;
  const gateway = parseIp(network.gateway);
  const l2 = network.l2Announcements !== undefined && network.bgp === undefined;
  const bgp = network.bgp !== undefined && network.l2Announcements === undefined;
  network.loadBalancerPools.forEach((pool, i) => {
    const poolAt: PathSegment[] = [...netAt, 'loadBalancerPools', i, 'cidr'];
    const cidr = parseCidr(pool.cidr);
    if (!cidr || !lan) return;
    // Without lanCidr the gateway is in the node range, which no pool may overlap already.
    if (
      network.lanCidr !== undefined &&
      gateway &&
      gateway.version === cidr.version &&
      gateway.value >= cidr.first &&
      gateway.value <= cidr.last
    ) {
      report(ctx, 'error', poolAt, {
        code: 'overlap',
        value: cidr.text,
        message: `holds the gateway ${gateway.text} (${formatPath([...netAt, 'gateway'])}); Cilium would hand out the gateway's address`,
        expected: `a range without ${gateway.text}`,
      });
      return;
    }
    if (cidr.version !== lan.cidr.version) return;
    const inside = lan.cidr.first <= cidr.first && cidr.last <= lan.cidr.last;
    const meets = lan.cidr.first <= cidr.last && cidr.first <= lan.cidr.last;
    // A pool in the pod or service network has its overlap error already: one cause, one error.
    const elsewhere = [network.podCidr, network.serviceCidr].some((text) => {
      const other = parseCidr(text);
      return (
        other !== undefined &&
        other.version === cidr.version &&
        other.first <= cidr.last &&
        cidr.first <= other.last
      );
    });
    if (l2 && !inside && !elsewhere) {
      const wider = network.lanCidr === undefined ? enclosingLan(lan.cidr, cidr) : undefined;
      report(ctx, 'error', poolAt, {
        code: 'l2-pool-off-lan',
        value: cidr.text,
        message: `is announced by ARP/NDP (network.l2Announcements) but is not inside ${lan.what} ${lan.cidr.text} (${formatPath(lan.path)}): hosts ask by ARP only for addresses on their own LAN, so Cilium's answers reach nobody who would ask`,
        expected: `a range inside ${lan.cidr.text}${network.lanCidr === undefined ? `; when the LAN is larger than network.nodeCidr, set network.lanCidr to it${wider === undefined ? '' : ` (e.g. ${wider})`}` : ''}, or network.bgp to have routers learn the pool`,
      });
    } else if (bgp && meets && network.lanCidr !== undefined) {
      // Without lanCidr the LAN is the node range, whose overlaps are reported already.
      const nodes = nodeNetwork?.cidr;
      if (
        nodes &&
        nodes.version === cidr.version &&
        nodes.first <= cidr.last &&
        cidr.first <= nodes.last
      )
        return;
      report(ctx, 'error', poolAt, {
        code: 'bgp-pool-on-lan',
        value: cidr.text,
        message: `is announced by BGP (network.bgp) but shares addresses with ${lan.what} ${lan.cidr.text} (${formatPath(lan.path)}): LAN hosts take them as on-link and ask by ARP, which no node answers without L2 announcements`,
        expected: `a range outside ${lan.cidr.text}, or network.l2Announcements instead of network.bgp`,
      });
    }
  });
  return lan;
}

/** Whether a schema issue sits at `prefix` (a formatted path) or below it. */
/**
 * Load-balancer pools across clusters: addresses Cilium announces (ARP or BGP) on a network that
 * clusters share must belong to one cluster only, so a pool may overlap neither another cluster's
 * pool nor its node network. Clusters are on one network unless their `network.site` values
 * differ. Reported at the later pool (or at the pool, against a node network), naming both.
 */
function checkPoolsAcrossClusters(
  ctx: Context,
  clusters: readonly { readonly cluster: Cluster; readonly index: number }[],
): void {
  interface Range {
    readonly cidr: Cidr;
    readonly cluster: string;
    readonly site: string | undefined;
    readonly path: PathSegment[];
    readonly what: string;
  }
  const pools: Range[] = [];
  const nodeNetworks: Range[] = [];
  for (const { cluster, index } of clusters) {
    const site = cluster.network.site;
    const netAt: PathSegment[] = ['clusters', index, 'network'];
    const nodeCidr = parseCidr(cluster.network.nodeCidr);
    if (nodeCidr)
      nodeNetworks.push({
        cidr: nodeCidr,
        cluster: cluster.name,
        site,
        path: [...netAt, 'nodeCidr'],
        what: 'the node network',
      });
    cluster.network.loadBalancerPools.forEach((pool, i) => {
      const cidr = parseCidr(pool.cidr);
      if (cidr)
        pools.push({
          cidr,
          cluster: cluster.name,
          site,
          path: [...netAt, 'loadBalancerPools', i, 'cidr'],
          what: `load-balancer pool "${pool.name}"`,
        });
    });
  }
  const meet = (a: Range, b: Range) =>
    a.cluster !== b.cluster &&
    a.site === b.site &&
    a.cidr.version === b.cidr.version &&
    a.cidr.first <= b.cidr.last &&
    b.cidr.first <= a.cidr.last;
  const overlap = (at: Range, other: Range) => {
    const where =
      at.site === undefined ? 'on one network (neither sets network.site)' : `on site "${at.site}"`;
    report(ctx, 'error', at.path, {
      code: 'overlap',
      value: at.cidr.text,
      message: `overlaps ${other.what} ${other.cidr.text} of cluster "${other.cluster}" (${formatPath(other.path)}): clusters "${other.cluster}" and "${at.cluster}" are ${where}, so the same addresses would be in use twice`,
      expected: `a range that shares no address with ${other.cidr.text}, or different network.site values when "${other.cluster}" and "${at.cluster}" are on separate networks`,
    });
  };
  pools.forEach((pool, j) => {
    const earlier = pools.slice(0, j).find((other) => meet(other, pool));
    if (earlier) overlap(pool, earlier);
    const nodes = nodeNetworks.find((other) => meet(other, pool));
    if (nodes) overlap(pool, nodes);
  });
  checkVipsAcrossClusters(ctx, clusters, pools);
}

/**
 * The API endpoint's VIP (an endpoint address no node of its cluster has: Talos answers ARP/NDP
 * for it on the control planes' link) is no address another cluster on the same network claims:
 * one of its nodes, an address of its LoadBalancer pools (Cilium answers for those, by ARP or
 * BGP), or its own VIP. Both would answer for it, and the API of one cluster would reach the other
 * now and then, or neither.
 */
function checkVipsAcrossClusters(
  ctx: Context,
  clusters: readonly { readonly cluster: Cluster; readonly index: number }[],
  pools: readonly {
    readonly cidr: Cidr;
    readonly cluster: string;
    readonly site: string | undefined;
    readonly path: PathSegment[];
    readonly what: string;
  }[],
): void {
  // Each address is parsed once, and every lookup below is by key: a fleet of hundreds of
  // clusters on one site would otherwise compare every VIP with every node (quadratic).
  const key = (site: string | undefined, host: string) => `${site ?? ''}\u0000${host}`;
  const vips: { host: string; ip: IpAddress; cluster: Cluster; index: number }[] = [];
  /** The first node of each cluster with an address, by site and address, in cluster order. */
  const nodesAt = new Map<string, { cluster: Cluster; index: number; node: number }[]>();
  for (const { cluster, index } of clusters) {
    const own = new Set<string>();
    cluster.nodes.forEach((candidate, node) => {
      const text = parseIp(candidate.address)?.text;
      if (text === undefined || own.has(text)) return;
      own.add(text);
      const at = key(cluster.network.site, text);
      const list = nodesAt.get(at);
      if (list === undefined) nodesAt.set(at, [{ cluster, index, node }]);
      else list.push({ cluster, index, node });
    });
    const host = endpointParts(cluster.endpoint)?.host;
    const ip = host === undefined ? undefined : parseIp(host);
    if (ip === undefined || ip === null) continue;
    if (!own.has(ip.text)) vips.push({ host: ip.text, ip, cluster, index });
  }
  const where = (a: Cluster, b: Cluster) =>
    a.network.site === undefined
      ? `clusters "${b.name}" and "${a.name}" are on one network (neither sets network.site)`
      : `clusters "${b.name}" and "${a.name}" are on site "${a.network.site}"`;
  const otherwise = (other: Cluster, cluster: Cluster) =>
    `, or different network.site values when "${other.name}" and "${cluster.name}" are on separate networks`;
  const firstVip = new Map<string, (typeof vips)[number]>();
  for (const vip of vips) {
    const at: PathSegment[] = ['clusters', vip.index, 'endpoint'];
    const found = (message: string, expected: string) =>
      report(ctx, 'error', at, { code: 'overlap', value: vip.cluster.endpoint, message, expected });
    for (const { cluster, index, node } of nodesAt.get(key(vip.cluster.network.site, vip.host)) ??
      []) {
      if (index === vip.index) continue;
      found(
        `points at ${vip.host}, the API endpoint's VIP of cluster "${vip.cluster.name}", which is the address of node "${cluster.nodes[node]?.hostname}" of cluster "${cluster.name}" (${formatPath(['clusters', index, 'nodes', node, 'address'])}): ${where(vip.cluster, cluster)}, so both would answer ARP for it`,
        `a VIP no node of another cluster has${otherwise(cluster, vip.cluster)}`,
      );
    }
    for (const pool of pools) {
      if (pool.cluster === vip.cluster.name || pool.site !== vip.cluster.network.site) continue;
      const { cidr } = pool;
      if (
        cidr.version !== vip.ip.version ||
        vip.ip.value < cidr.first ||
        vip.ip.value > cidr.last
      ) {
        continue;
      }
      const other = clusters.find(({ cluster }) => cluster.name === pool.cluster)?.cluster;
      if (other === undefined) continue;
      found(
        `points at ${vip.host}, the API endpoint's VIP of cluster "${vip.cluster.name}", inside ${pool.what} ${pool.cidr.text} of cluster "${pool.cluster}" (${formatPath(pool.path)}): ${where(vip.cluster, other)}, so Cilium there may hand it to a LoadBalancer Service and answer for it beside the control plane`,
        `a VIP outside ${pool.cidr.text}${otherwise(other, vip.cluster)}`,
      );
    }
    const earlier = firstVip.get(key(vip.cluster.network.site, vip.host));
    if (earlier === undefined) firstVip.set(key(vip.cluster.network.site, vip.host), vip);
    else {
      found(
        `points at ${vip.host}, the API endpoint's VIP of cluster "${vip.cluster.name}" and of cluster "${earlier.cluster.name}" (${formatPath(['clusters', earlier.index, 'endpoint'])}): ${where(vip.cluster, earlier.cluster)}, so both clusters' control planes would hold it`,
        `a VIP of its own${otherwise(earlier.cluster, vip.cluster)}`,
      );
    }
  }
}

/**
 * A cluster's `domain`: at or below the platform domain (every name the platform serves lives in
 * it: the zone of the DNS records, the ACME DNS-01 challenges and the private CAs' certificates are
 * planned for), and no other cluster's (two Gateways would claim the same hostnames, and Authelia's
 * session cookies would be shared). Two clusters both on their default, e.g. two production
 * clusters on the platform domain, are left as before.
 */
function checkClusterDomains(
  ctx: Context,
  platformDomain: string,
  clusters: readonly { readonly cluster: Cluster; readonly index: number }[],
): void {
  const effective = clusters.map(({ cluster, index }) => ({
    cluster,
    index,
    domain: clusterDomain(cluster, platformDomain),
  }));
  const taken = new Set(effective.map((entry) => entry.domain));
  const suggestion = (name: string): string => {
    const own = `${name}.${platformDomain}`;
    return taken.has(own) ? `a name below ${platformDomain} that no cluster has` : own;
  };
  for (const { cluster, index } of clusters) {
    const domain = cluster.domain;
    if (domain === undefined) continue;
    const at: PathSegment[] = ['clusters', index, 'domain'];
    if (domain !== platformDomain && !domain.endsWith(`.${platformDomain}`)) {
      report(ctx, 'error', at, {
        code: 'cluster-domain',
        value: domain,
        message: `is outside the platform domain ${platformDomain} (platform.domain): every cluster's hostnames, Gateway certificate and DNS zone are names of the platform domain`,
        expected: `${platformDomain} or a name below it, e.g. clusters[${index}].domain: ${suggestion(cluster.name)}`,
      });
      continue;
    }
    // The first cluster that has this domain: one on its default, else an earlier setting.
    const other = effective.find(
      (entry) =>
        entry.index !== index &&
        entry.domain === domain &&
        (entry.cluster.domain === undefined || entry.index < index),
    );
    if (other === undefined) continue;
    report(ctx, 'error', at, {
      code: 'duplicate',
      value: domain,
      message: `is the domain of cluster "${other.cluster.name}" too (${other.cluster.domain === undefined ? `its default, as a ${other.cluster.environment} cluster` : formatPath(['clusters', other.index, 'domain'])}): both clusters' Gateways would claim the same hostnames`,
      expected: `a cluster domain used once, e.g. clusters[${index}].domain: ${suggestion(cluster.name)}`,
    });
  }
}

function hasIssueUnder(paths: readonly string[], prefix: string): boolean {
  return paths.some(
    (path) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`),
  );
}

/** Indexes of the clusters a schema issue sits in (one pass over the paths). */
function clustersWithIssues(paths: readonly string[]): Set<number> {
  const indexes = new Set<number>();
  for (const path of paths) {
    const match = /^clusters\[(\d+)\]/.exec(path);
    if (match) indexes.add(Number(match[1]));
  }
  return indexes;
}

/**
 * Why git refuses `revision` as a branch or tag name (`git check-ref-format`, which every ref
 * git creates obeys), or `undefined` when it is a name git accepts; a commit hash is one. The
 * schema limits the characters (no space, `~`, `^`, `:`, `?`, `*`, `[`, `\\`, `{`); these are the
 * rules about where the allowed ones may stand.
 */
function gitRevisionProblem(revision: string): string | undefined {
  if (revision.startsWith('-')) return 'starts with "-": git reads it as an option, not a revision';
  if (revision === '@') return 'is "@", which git reads as HEAD, not a branch or tag';
  if (revision.includes('..')) return 'holds "..", which git reads as a range of commits';
  if (revision.startsWith('/') || revision.endsWith('/') || revision.includes('//'))
    return 'has an empty "/"-separated component (a leading, trailing or double "/")';
  const components = revision.split('/');
  if (components.some((component) => component.startsWith('.')))
    return 'has a "/"-separated component that starts with "."';
  if (components.some((component) => component.endsWith('.lock')))
    return 'has a "/"-separated component that ends with ".lock"';
  if (revision.endsWith('.')) return 'ends with "."';
  return undefined;
}

/**
 * The host of a clone URL as written: `https://[user@]host[:port]/…`, `ssh://[user@]host[:port]/…`
 * or scp-like `user@host:path`; `undefined` when none can be read (the schema's pattern is the
 * judge of the form).
 */
function repositoryHost(url: string): string | undefined {
  const scp = /^[^@/\s]+@([^:/\s]*):(?!\/\/)/.exec(url);
  if (scp !== null && !/^[a-z]+:\/\//.test(url)) return scp[1];
  return /^(?:https|ssh):\/\/(?:[^@/\s]*@)?(\[[^\]/]*\]|[^:/\s]*)/.exec(url)?.[1];
}

/** `repository.url`: a host Argo CD can reach, an IP address or a DNS name. */
function checkRepositoryUrl(ctx: Context, definition: PlatformDefinition): void {
  const url = definition.repository.url;
  if (typeof url !== 'string') return;
  const host = repositoryHost(url);
  if (host === undefined) return;
  const bracketed = /^\[(.*)\]$/.exec(host);
  if (
    bracketed
      ? isIpv6(bracketed[1] ?? '')
      : isIp(host) || isDnsName(host.toLowerCase(), { singleLabel: true })
  )
    return;
  report(ctx, 'error', ['repository', 'url'], {
    code: 'repository-url',
    value: url,
    message: `has host ${JSON.stringify(host)}, which is neither an IP address nor a DNS name: Argo CD cannot clone from it`,
    expected:
      'a clone URL of a host Argo CD can reach (letters, digits and "-" in dot-separated labels, or an IP address), e.g. https://git.example.com/homelab.git or ssh://git@git.example.com/homelab.git',
  });
}

/** `repository.targetRevision.<environment>`: each a name git accepts. */
function checkTargetRevisions(ctx: Context, definition: PlatformDefinition): void {
  const revisions = definition.repository.targetRevision;
  if (typeof revisions !== 'object' || revisions === null) return;
  for (const [environment, revision] of Object.entries(revisions)) {
    if (typeof revision !== 'string') continue;
    const problem = gitRevisionProblem(revision);
    if (problem === undefined) continue;
    report(ctx, 'error', ['repository', 'targetRevision', environment], {
      code: 'git-revision',
      value: revision,
      message: `${problem}; Argo CD could not check it out, nor the runbook's git commands read it`,
      expected:
        'a branch, tag or commit git accepts (git check-ref-format), e.g. main, v1.2.0, @homelab/chart-platform@1.2.0 or a commit hash',
    });
  }
}

/**
 * Semantic checks. `schemaIssuePaths` are the paths of the schema's issues: a cluster (or the
 * `environments`/`repository` sections) with a schema issue is skipped, so these checks only ever
 * see well-formed parts. Fleet-wide uniqueness covers the well-formed clusters.
 */
export function semanticIssues(
  definition: PlatformDefinition,
  locate: Locator = () => undefined,
  schemaIssuePaths: readonly string[] = [],
): Issue[] {
  const ctx: Context = { locate, issues: [] };
  if (!Array.isArray(definition.clusters)) return ctx.issues;
  const broken = clustersWithIssues(schemaIssuePaths);
  const clusters = definition.clusters
    .map((cluster, index) => ({ cluster, index }))
    .filter(({ index }) => !broken.has(index));

  for (const { cluster, index } of clusters) checkCluster(ctx, cluster, index);
  checkPoolsAcrossClusters(ctx, clusters);

  checkDuplicates(
    ctx,
    clusters.map(({ cluster, index }) => ({
      value: cluster.name,
      at: ['clusters', index, 'name'],
    })),
    'cluster name',
  );
  const platformDomain = definition.platform?.domain;
  if (!hasIssueUnder(schemaIssuePaths, 'platform') && typeof platformDomain === 'string') {
    checkClusterDomains(ctx, platformDomain, clusters);
  }
  checkDuplicates(
    ctx,
    clusters.flatMap(({ cluster, index }) =>
      cluster.nodes.map((node, i) => ({
        value: node.hostname,
        at: ['clusters', index, 'nodes', i, 'hostname'],
      })),
    ),
    'hostname',
  );
  checkDuplicates(
    ctx,
    clusters.flatMap(({ cluster, index }) =>
      cluster.nodes.map((node, i) => ({
        value: parseIp(node.address)?.text ?? node.address,
        at: ['clusters', index, 'nodes', i, 'address'],
      })),
    ),
    'node address',
  );

  checkDuplicates(
    ctx,
    clusters.flatMap(({ cluster, index }) =>
      cluster.nodes.flatMap((node, i) =>
        node.link?.hardwareAddr === undefined
          ? []
          : [
              {
                value: node.link.hardwareAddr.toLowerCase(),
                at: ['clusters', index, 'nodes', i, 'link', 'hardwareAddr'],
              },
            ],
      ),
    ),
    'network card (MAC address)',
  );

  // A disk's serial or WWID names one physical disk: a node block copied with its selectors names
  // the other machine's disks, which this machine lacks (its user volume never made, its install
  // disk never found). A warning, not an error: virtual machines can report one identity on every
  // VM (QEMU's default serials, a hypervisor's per-slot ids), where selecting by it is fine. One
  // entry per node and value: a disk named twice on one node is the node's own check.
  for (const property of ['serial', 'wwid'] as const) {
    const first = new Map<string, readonly PathSegment[]>();
    for (const { cluster, index } of clusters) {
      cluster.nodes.forEach((node, i) => {
        const at = ['clusters', index, 'nodes', i];
        const named: { value: string; at: PathSegment[] }[] = [];
        const install: unknown = node.installDisk;
        if (typeof install === 'object' && install !== null) {
          const value = (install as Record<string, unknown>)[property];
          if (typeof value === 'string')
            named.push({ value, at: [...at, 'installDisk', property] });
        }
        (Array.isArray(node.disks) ? node.disks : []).forEach((disk, d) => {
          const value = (disk?.selector as Record<string, unknown> | undefined)?.[property];
          if (typeof value === 'string')
            named.push({ value, at: [...at, 'disks', d, 'selector', property] });
        });
        const own = new Set<string>();
        for (const entry of named) {
          if (own.has(entry.value)) continue;
          own.add(entry.value);
          const seen = first.get(entry.value);
          if (seen === undefined) {
            first.set(entry.value, entry.at);
            continue;
          }
          report(ctx, 'warning', entry.at, {
            code: 'duplicate-disk',
            value: entry.value,
            message: `is the disk ${property} ${formatPath(seen)} selects too: a ${property} names one physical disk, in one machine, so a node block copied with its selectors names the other machine's disk (this one's user volume is never made, or its install disk never found)`,
            expected: `the ${property} \`talosctl get disks --insecure\` lists on this machine (machines that report one ${property} on every disk, such as virtual machines, may keep it)`,
          });
        }
      });
    }
  }

  // Every cluster needs a node the platform's pods can run on. Control planes take workloads only
  // in a cluster without workers (Talos' allowSchedulingOnControlPlanes), so a cluster whose
  // workers are all tainted runs nothing that does not tolerate the taint: no CoreDNS, no Argo CD.
  for (const { cluster, index } of clusters) {
    if (!Array.isArray(cluster.nodes)) continue;
    const workers = cluster.nodes.filter((node) => node.role === 'worker');
    const candidates =
      workers.length > 0 ? workers : cluster.nodes.filter((node) => node.role === 'controlplane');
    if (candidates.length === 0 || candidates.some(acceptsWorkloads)) continue;
    report(ctx, 'error', ['clusters', index, 'nodes'], {
      code: 'no-schedulable-node',
      value: 0,
      message: `nodes in cluster "${cluster.name}" that the platform's pods can run on: ${workers.length > 0 ? `its ${workers.length} worker(s) all carry a NoSchedule or NoExecute taint, and its control planes take no workloads in a cluster with workers` : 'its control planes all carry a NoSchedule or NoExecute taint'}`,
      expected:
        'at least one node without a NoSchedule or NoExecute taint (a worker, or control planes only)',
    });
  }

  // Production clusters need a schedulable node per production replica.
  const repositoryWellFormed =
    !hasIssueUnder(schemaIssuePaths, 'repository') &&
    typeof definition.repository === 'object' &&
    definition.repository !== null;
  if (repositoryWellFormed) {
    checkRepositoryUrl(ctx, definition);
    checkTargetRevisions(ctx, definition);
  }
  const profilesWellFormed =
    repositoryWellFormed && !hasIssueUnder(schemaIssuePaths, 'environments');
  if (profilesWellFormed) {
    const production = environmentProfiles(definition).production;
    for (const { cluster, index } of clusters) {
      if (cluster.environment !== 'production') continue;
      const workers = cluster.nodes.filter((node) => node.role === 'worker').length;
      const candidates = cluster.nodes.filter(
        (node) => node.role === (workers > 0 ? 'worker' : 'controlplane'),
      );
      const schedulable = candidates.filter(acceptsWorkloads).length;
      const tainted = candidates.length - schedulable;
      // One replica per node only when the placement is strict (haPlan's condition): preferred
      // anti-affinity with a ScheduleAnyway spread lets replicas share a node.
      const strict = [
        ...(production.antiAffinity === 'required' ? ['antiAffinity: required'] : []),
        ...(production.topologySpread === 'DoNotSchedule' ? ['topologySpread: DoNotSchedule'] : []),
      ];
      if (schedulable < production.replicas && strict.length > 0) {
        report(ctx, 'error', ['clusters', index, 'nodes'], {
          code: 'ha-capacity',
          value: schedulable,
          message: `schedulable node(s) in production cluster "${cluster.name}" (${workers > 0 ? 'its workers' : 'its control planes, as it has no workers'}${tainted > 0 ? `, less ${tainted} with a NoSchedule or NoExecute taint` : ''}), but production runs ${production.replicas} replicas of each platform controller, one per node (${strict.join(', ')})`,
          expected: `at least ${production.replicas} schedulable nodes, environments.production.replicas ≤ ${schedulable}, or environments.production antiAffinity: preferred and topologySpread: ScheduleAnyway (replicas may share a node)`,
        });
      }
    }
  }
  return ctx.issues;
}
