// Layer 4 checks on the Talos material (DESIGN.md, "Validation layers"): what the node patches
// configure is what the definition says about the node's hardware. Talos on metal names links
// predictably (enp3s0) or, from 1.12, by the alias a LinkAliasConfig selects; a LinkConfig or a
// Layer2VIPConfig for any other name never applies, and the node keeps neither its static
// address nor the API VIP. Pure.
import {
  type Cidr,
  error,
  fileDocuments,
  type GeneratedFile,
  generatedFile,
  type Issue,
  loadBalancerPoolBlocks,
  nthAddress,
  type PathSegment,
  type PoolBlock,
  parseCidr,
  type ResolvedNode,
  type SystemCheck,
} from '@homelab/core';
import {
  APID_PORT,
  anySource,
  ETCD_PORTS,
  hostPrefix,
  KUBE_API_PORT,
  KUBELET_PORT,
  nodePortsOf,
  podToHostPorts,
  rulesOf,
  TRUSTD_PORT,
} from './firewall.js';
import { linkMatch } from './patches.js';

type Document = { readonly [key: string]: unknown };

/** The documents of a patch: those it was emitted from, else its parsed text. */
function documentsOf(file: GeneratedFile): Document[] {
  return fileDocuments(file).filter(
    (value): value is Document => value !== null && typeof value === 'object',
  );
}

function record(value: unknown): Document {
  return value !== null && typeof value === 'object' ? (value as Document) : {};
}

/** What is wrong with the links one node patch configures, if anything. */
function linkProblems(node: ResolvedNode, documents: readonly Document[]): string[] {
  const problems: string[] = [];
  const declared = node.link.name;
  const expectedMatch = linkMatch(node.link);
  const aliases = new Map<string, string>();
  for (const document of documents) {
    if (document.kind !== 'LinkAliasConfig') continue;
    const match = String(record(document.selector).match ?? '');
    aliases.set(String(document.name), match);
    if (expectedMatch === undefined) {
      problems.push(
        `aliases a link "${String(document.name)}" (${match}) though the definition names the link "${declared}"`,
      );
    } else if (match !== expectedMatch) {
      problems.push(
        `selects its link with ${match || 'no match'}, not the definition's hardware (${expectedMatch})`,
      );
    }
  }
  const usable = new Set<string>(declared === undefined ? aliases.keys() : [declared]);
  const uses: { what: string; name: string }[] = [];
  for (const document of documents) {
    if (document.kind === 'LinkConfig')
      uses.push({ what: 'LinkConfig', name: String(document.name) });
    if (document.kind === 'Layer2VIPConfig') {
      uses.push({ what: 'Layer2VIPConfig', name: String(document.link) });
    }
    const interfaces = record(record(record(document.machine).network)).interfaces;
    for (const device of Array.isArray(interfaces) ? interfaces : []) {
      const entry = record(device);
      if (entry.interface !== undefined) {
        uses.push({ what: 'machine.network.interfaces', name: String(entry.interface) });
      } else if (entry.deviceSelector !== undefined) {
        const selector = record(entry.deviceSelector);
        const { link } = node;
        const same =
          (link.hardwareAddr !== undefined &&
            selector.permanentAddr === link.hardwareAddr.toLowerCase()) ||
          (link.busPath !== undefined && selector.busPath === link.busPath) ||
          (link.driver !== undefined && selector.driver === link.driver);
        if (!same) {
          problems.push(
            `selects its device with ${JSON.stringify(selector)}, not the definition's ${JSON.stringify(link)}`,
          );
        }
      }
    }
  }
  for (const use of uses) {
    if (!usable.has(use.name)) {
      problems.push(
        `configures ${use.what} on "${use.name}", which is ${declared === undefined ? `no alias the patch selects (${[...aliases.keys()].join(', ') || 'none'})` : `not the link the definition names ("${declared}")`}`,
      );
    }
  }
  const selected = documents.some((document) => {
    const interfaces = record(record(document.machine).network).interfaces;
    return Array.isArray(interfaces) && interfaces.length > 0;
  });
  if (!selected && !uses.some((use) => use.what === 'LinkConfig')) {
    problems.push('configures no link for the static address');
  }
  return problems;
}

/** Each node patch configures the link the definition names, by name or by an alias of its hardware. */
export const nodeLinks: SystemCheck = {
  name: 'node-links',
  description:
    "Every link a node's Talos patch configures (LinkConfig, Layer2VIPConfig, Talos 1.11 interfaces) is the link the definition names for that node: its predictable name, or the alias a LinkAliasConfig in the same patch selects by the node's MAC address, bus path or driver.",
  check(input) {
    const { platform } = input;
    const issues: Issue[] = [];
    for (const cluster of platform.clusters) {
      for (const node of cluster.nodes) {
        const output = `clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml`;
        const file = generatedFile(input, output);
        if (file === undefined) continue;
        for (const problem of linkProblems(node, documentsOf(file))) {
          issues.push(
            error({
              code: 'node-links',
              path: ['clusters', cluster.index, 'nodes', node.index, 'link'],
              output,
              value: node.link,
              message: `node "${node.hostname}": its patch ${problem}; the static address and the VIP would never come up`,
              expected: 'the node patch configuring the link the definition names',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Whether a document is a VolumeConfig with a TPM-sealed key. */
function sealsToTpm(document: Document): boolean {
  if (document.kind !== 'VolumeConfig') return false;
  const keys = record(document.encryption).keys;
  return Array.isArray(keys) && keys.some((key) => record(key).tpm !== undefined);
}

/** The installer image the documents set last (`machine.install.image`), if any. */
function installImageOf(documents: readonly Document[]): string | undefined {
  let image: string | undefined;
  for (const document of documents) {
    const value = record(record(document.machine).install).image;
    if (typeof value === 'string') image = value;
  }
  return image;
}

/** The Image Factory's signed UKI installer: `factory.talos.dev/installer-secureboot/<id>:<tag>`. */
const SECUREBOOT_INSTALLER = /\/installer-secureboot\/[^/]+$/;

/**
 * A node whose patches seal disk keys to the TPM installs the SecureBoot installer: Talos seals
 * them to the PCR signing public key that only a signed UKI carries (v1.12
 * internal/pkg/secureboot/tpm2/seal.go, `/.extra/tpm2-pcr-public-key.pem`); from the plain
 * installer the node cannot seal them and its installation fails.
 */
export const tpmEncryptionSecureBoot: SystemCheck = {
  name: 'tpm-encryption-secureboot',
  description:
    "Every node whose Talos patches (its role's and its own) seal a disk's encryption key to the TPM (a VolumeConfig key with `tpm`) installs the Image Factory's SecureBoot installer (`installer-secureboot`): Talos seals the key to the PCR signing key only a signed UKI carries.",
  check(input) {
    const { platform } = input;
    const issues: Issue[] = [];
    for (const cluster of platform.clusters) {
      const dir = `clusters/${cluster.name}/talos`;
      for (const node of cluster.nodes) {
        const role = `${dir}/${node.role === 'controlplane' ? 'controlplane' : 'worker'}.yaml`;
        const own = `${dir}/nodes/${node.hostname}.yaml`;
        const roleFile = generatedFile(input, role);
        const nodeFile = generatedFile(input, own);
        if (roleFile === undefined && nodeFile === undefined) continue;
        const roleDocuments = roleFile === undefined ? [] : documentsOf(roleFile);
        const nodeDocuments = nodeFile === undefined ? [] : documentsOf(nodeFile);
        const documents = [...roleDocuments, ...nodeDocuments];
        if (!documents.some(sealsToTpm)) continue;
        const image = installImageOf(documents);
        if (image !== undefined && SECUREBOOT_INSTALLER.test(image)) continue;
        issues.push(
          error({
            code: 'tpm-encryption-secureboot',
            path: ['clusters', cluster.index, 'talos', 'diskEncryption'],
            output: installImageOf(nodeDocuments) === undefined ? role : own,
            value: image ?? '(no install image)',
            message: `node "${node.hostname}": its patches seal disk keys to the TPM but install ${image === undefined ? 'no image' : `"${image}"`}, not a SecureBoot installer; Talos cannot seal the keys without the signed UKI's PCR key, and the installation fails`,
            expected:
              'factory.talos.dev/installer-secureboot/<schematic>:<version> (booted from the SecureBoot ISO), or talos.diskEncryption other than tpm',
          }),
        );
      }
    }
    return issues;
  },
};

/** The addresses (with their prefix) a node patch puts on links: LinkConfig, or Talos 1.11's. */
function linkAddresses(documents: readonly Document[]): string[] {
  const out: string[] = [];
  for (const document of documents) {
    if (document.kind === 'LinkConfig' && Array.isArray(document.addresses)) {
      for (const entry of document.addresses) out.push(String(record(entry).address));
    }
    const interfaces = record(record(document.machine).network).interfaces;
    for (const device of Array.isArray(interfaces) ? interfaces : []) {
      const addresses = record(device).addresses;
      for (const address of Array.isArray(addresses) ? addresses : []) out.push(String(address));
    }
  }
  return out;
}

/** The on-link network of an address with its prefix (`10.10.10.11/24` → 10.10.10.0/24). */
function onLink(address: string): Cidr | undefined {
  return parseCidr(address);
}

/** Addresses from `first` to `last` of one IP version: a network, or a pool's block. */
type Span = Pick<Cidr, 'version' | 'first' | 'last'>;

const inside = (outer: Span, inner: Span) =>
  outer.version === inner.version && outer.first <= inner.first && inner.last <= outer.last;
const meet = (a: Span, b: Span) =>
  a.version === b.version && a.first <= b.last && b.first <= a.last;

/** Why LB IPAM may hand out an address at a block's edge (the edge is not among `reserved`). */
function unkept(block: PoolBlock): string {
  if (block.cidr === undefined) {
    return 'is a start-to-stop range, of which Cilium keeps no address (allowFirstLastIPs applies to CIDR blocks)';
  }
  if (block.cidr.size <= 2n) {
    return `is a /${block.cidr.prefix}, of which Cilium keeps no address (allowFirstLastIPs applies to blocks of four or more)`;
  }
  if (block.reserved.length > 0) {
    return 'reaches beyond that LAN: the pool keeps only its own first and last address';
  }
  return 'does not keep its first and last address (allowFirstLastIPs: "No")';
}

/**
 * The LoadBalancer pools Cilium announces against the networks the nodes' links are on, as the
 * Talos node patches set them. L2 announcements: the hosts that ask by ARP/NDP for a pool's
 * address take it as on their own link, so the node's address prefix must cover the pool too;
 * otherwise the node takes part of its LAN as off-link and answers those hosts (and the pool's
 * clients) through the gateway, an asymmetric path stateful routers drop. BGP: a pool on a
 * node's link is asked for by ARP, which no node answers.
 */
export const loadBalancerPoolsOnLink: SystemCheck = {
  name: 'lb-pools-on-link',
  description:
    'Every LoadBalancer pool Cilium announces by L2 (a CiliumL2AnnouncementPolicy on the cluster) lies inside the on-link network of every node\'s address as its Talos patch configures it (LinkConfig addresses, Talos 1.11 machine.network.interfaces), and a pool announced by BGP on none: hosts ask by ARP only for addresses on their own link. An L2 pool that holds the link\'s network or broadcast address keeps its first and last address (allowFirstLastIPs: "No"), which LB IPAM would hand to a Service.',
  check(input) {
    const { platform, clusters } = input;
    const issues: Issue[] = [];
    for (const deployed of clusters) {
      const { cluster } = deployed;
      const objects = deployed.applications.flatMap((app) => app.objects);
      /** Pool blocks reported at a LAN edge already (once per block, not per node). */
      const reportedEdges = new Set<string>();
      const l2 = objects.some(({ object }) => object.kind === 'CiliumL2AnnouncementPolicy');
      const bgp = objects.some(({ object }) => object.kind === 'CiliumBGPClusterConfig');
      if (l2 === bgp) continue;
      const pools = objects.filter(({ object }) => object.kind === 'CiliumLoadBalancerIPPool');
      const definition = platform.clusters.find((c) => c.name === cluster.name) ?? cluster;
      for (const node of definition.nodes) {
        const output = `clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml`;
        const file = generatedFile(input, output);
        if (file === undefined) continue;
        const addresses = linkAddresses(documentsOf(file));
        const networks = addresses.flatMap((address) => {
          const network = onLink(address);
          return network === undefined ? [] : [network];
        });
        if (networks.length === 0) continue;
        for (const { object, source } of pools) {
          const name = String(record(object.metadata).name);
          const index = definition.network.loadBalancerPools.findIndex((p) => p.name === name);
          const at: PathSegment[] =
            index < 0
              ? ['clusters', definition.index, 'network', 'loadBalancerPools']
              : ['clusters', definition.index, 'network', 'loadBalancerPools', index, 'cidr'];
          for (const block of loadBalancerPoolBlocks(object)) {
            const same = networks.filter((network) => network.version === block.version);
            if (same.length === 0) continue;
            // A block at the edge of its link's IPv4 network (a pool at the top of a /24 ends at
            // its broadcast address): LB IPAM hands out every address of a block but those it
            // reserves (`reserved`: a CIDR block's own first and last under allowFirstLastIPs:
            // "No"), and a Service at the LAN's network or broadcast address is sent to as a
            // broadcast, never by ARP.
            const edge = l2
              ? same
                  .filter((network) => network.version === 4 && network.prefix < 31)
                  .flatMap((network) =>
                    [network.first, network.last]
                      .filter(
                        (address) =>
                          block.first <= address &&
                          address <= block.last &&
                          !block.reserved.includes(address),
                      )
                      .map((address) => ({
                        network,
                        what: address === network.first ? 'network' : 'broadcast',
                        text: nthAddress(network, address - network.first),
                      })),
                  )[0]
              : undefined;
            const edgeKey = `${name}\n${block.text}`;
            if (edge !== undefined && !reportedEdges.has(edgeKey)) {
              reportedEdges.add(edgeKey);
              issues.push(
                error({
                  code: 'lb-pools-on-link',
                  path: at,
                  output: source,
                  value: block.text,
                  message: `pool "${name}" ${block.text} (${source}), announced by L2, holds ${edge.text}, the ${edge.what} address of the LAN ${edge.network.text} that node "${node.hostname}" is on, and ${unkept(block)}: Cilium's LB IPAM may give ${edge.text} to a Service, which LAN hosts send to as a broadcast, never by ARP to the node that announces it`,
                  expected:
                    'allowFirstLastIPs: "No" on the pool (charts/cilium writes it), or a pool off the LAN\u2019s first and last address',
                }),
              );
            }
            if (l2 && !same.some((network) => inside(network, block))) {
              issues.push(
                error({
                  code: 'lb-pools-on-link',
                  path: at,
                  output,
                  value: block.text,
                  message: `node "${node.hostname}" puts its address ${addresses.join(', ')} on its link, whose network does not hold pool "${name}" ${block.text} (${source}), announced by L2: the LAN hosts that ask by ARP for the pool take it as on their link, and the node answers those outside ${same.map((n) => n.text).join(', ')} through the gateway`,
                  expected: `node addresses with the prefix of the LAN that holds the pool (network.lanCidr)`,
                }),
              );
            } else if (bgp && same.some((network) => meet(network, block))) {
              issues.push(
                error({
                  code: 'lb-pools-on-link',
                  path: at,
                  output,
                  value: block.text,
                  message: `node "${node.hostname}" puts its address ${addresses.join(', ')} on its link, whose network shares addresses with pool "${name}" ${block.text} (${source}), announced by BGP: hosts on that link ask by ARP for the pool's addresses, which no node answers`,
                  expected: 'a BGP pool off the nodes\u2019 LAN (network.lanCidr)',
                }),
              );
            }
          }
        }
      }
    }
    return issues;
  },
};

/** Every entry of a list at `path` across the documents, as Talos' merge appends them. */
function listEntries(documents: readonly Document[], path: readonly string[]): string[] {
  const out: string[] = [];
  for (const document of documents) {
    let value: unknown = document;
    for (const key of path) value = record(value)[key];
    if (Array.isArray(value)) out.push(...value.map(String));
  }
  return out;
}

/**
 * The kubelet's node IP and etcd's advertised address are the node's own address, whatever else
 * its links carry. Talos' nodeip controller takes the first address inside
 * `machine.kubelet.nodeIP.validSubnets` (sorted by address) and etcd advertises every address
 * inside `cluster.etcd.advertisedSubnets`; a range there admits a second NIC's DHCP lease. The
 * runbook (`talosctl -n`), Longhorn and Cilium (the Node's InternalIP) take the definition's
 * address as the node's.
 */
export const nodeAddressPinned: SystemCheck = {
  name: 'node-address-pinned',
  description:
    "Every node's Talos patches (its role's and its own, lists appended as Talos merges them) let the kubelet's node IP (machine.kubelet.nodeIP.validSubnets) and, on control planes, etcd's advertised address (cluster.etcd.advertisedSubnets) be the definition's address of the node and nothing else: a range would admit another address of the node, such as a second NIC's DHCP lease.",
  check(input) {
    const { platform } = input;
    const issues: Issue[] = [];
    for (const cluster of platform.clusters) {
      const dir = `clusters/${cluster.name}/talos`;
      for (const node of cluster.nodes) {
        const role = `${dir}/${node.role === 'controlplane' ? 'controlplane' : 'worker'}.yaml`;
        const own = `${dir}/nodes/${node.hostname}.yaml`;
        const roleFile = generatedFile(input, role);
        const nodeFile = generatedFile(input, own);
        if (roleFile === undefined || nodeFile === undefined) continue;
        const address = parseCidr(
          node.address.includes(':') ? `${node.address}/128` : `${node.address}/32`,
        );
        if (address === undefined) continue;
        const roleDocuments = documentsOf(roleFile);
        const documents = [...roleDocuments, ...documentsOf(nodeFile)];
        const settings: { what: string; path: string[] }[] = [
          { what: "the kubelet's node IP", path: ['machine', 'kubelet', 'nodeIP', 'validSubnets'] },
        ];
        if (node.role === 'controlplane') {
          settings.push({
            what: "etcd's advertised address",
            path: ['cluster', 'etcd', 'advertisedSubnets'],
          });
        }
        for (const { what, path } of settings) {
          const entries = listEntries(documents, path);
          // An exclusion (`!cidr`) admits nothing; every other entry must be the address alone.
          const wrong = entries.filter((entry) => {
            if (entry.startsWith('!')) return false;
            const cidr = parseCidr(entry.includes('/') ? entry : `${entry}/${address.prefix}`);
            return cidr === undefined || cidr.text !== address.text;
          });
          if (entries.some((entry) => !entry.startsWith('!')) && wrong.length === 0) continue;
          issues.push(
            error({
              code: 'node-address-pinned',
              path: ['clusters', cluster.index, 'nodes', node.index, 'address'],
              output: listEntries(roleDocuments, path).length > 0 ? role : own,
              value: entries,
              message:
                entries.length === 0
                  ? `node "${node.hostname}": its patches leave ${what} (${path.join('.')}) open; Talos takes the first of the node's addresses, which may be a second NIC's DHCP lease rather than ${node.address}`
                  : `node "${node.hostname}": its patches let ${what} (${path.join('.')}: ${entries.join(', ')}) be ${wrong.join(', ')}, not only ${node.address}; a second address of the node inside it (a second NIC's DHCP lease) can become the Node's InternalIP or an etcd peer address`,
              expected: `${path.join('.')}: [${address.text}] in the node's patch, and none in its role's`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Whether a rule list allows `port`/`protocol` from every one of `sources` (exact subnets). */
function allowed(
  rules: ReturnType<typeof rulesOf>['rules'],
  port: number,
  protocol: 'tcp' | 'udp',
  source: string,
): boolean {
  const want = parseCidr(source);
  return rulesOpening(rules, port, protocol).some((rule) =>
    rule.subnets.some((subnet) => {
      const have = parseCidr(subnet);
      return have !== undefined && want !== undefined && inside(have, want);
    }),
  );
}

/** The rules that open `port`/`protocol`, from whatever sources. */
function rulesOpening(
  rules: ReturnType<typeof rulesOf>['rules'],
  port: number,
  protocol: 'tcp' | 'udp',
): ReturnType<typeof rulesOf>['rules'] {
  return rules.filter(
    (rule) => rule.protocol === protocol && rule.ports.some(([lo, hi]) => lo <= port && port <= hi),
  );
}

/**
 * Where a role's Talos patch blocks inbound connections (NetworkDefaultActionConfig ingress:
 * block), its NetworkRuleConfigs let in what the rendered platform needs on the host: the
 * Kubernetes API and apid from anywhere, the Gateway's listener ports (Cilium's L7 load
 * balancer delivers LoadBalancer traffic through the host's input hook) from anywhere, the
 * node-to-node ports components declare (`talos.nodePorts`; flannel's without a CNI component)
 * and the kubelet from every node, and every host port a pod reaches (an
 * egress flow to the nodes, a monitor of a host-network target) from the pod CIDR (same node)
 * and every node (another node's pods, masqueraded to its address).
 */
export const nodeFirewall: SystemCheck = {
  name: 'node-firewall',
  description:
    "Where a cluster's Talos role patches block inbound connections (NetworkDefaultActionConfig ingress: block), their NetworkRuleConfigs allow what the rendered platform needs on the nodes: apid and, on control planes, the Kubernetes API from anywhere, trustd from every node and etcd from the control planes; every listener port of a rendered Gateway from anywhere; the kubelet and the node-to-node ports components declare (talos.nodePorts: Cilium's VXLAN, health, Hubble peer, mutual auth), or flannel's VXLAN port without a CNI component, from every node's address; and every host port the components' pods reach (egress flows to the nodes, monitors of host-network targets) from the pod CIDR and every node's address. The worker patch opens none of the ports only the control planes serve (the Kubernetes API, trustd, etcd, and the host ports a flow reaches on the control planes only: etcd's, the controller manager's and the scheduler's metrics).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster, run } = deployed;
      const any = anySource(cluster);
      const nodes = cluster.nodes.map((n) => hostPrefix(n.address));
      const needs: {
        port: number;
        protocol: 'tcp' | 'udp';
        sources: string[];
        why: string;
        roles: string[];
      }[] = [
        {
          port: APID_PORT,
          protocol: 'tcp',
          sources: [any],
          why: 'apid (talosctl)',
          roles: ['controlplane', 'worker'],
        },
        {
          port: KUBE_API_PORT,
          protocol: 'tcp',
          sources: [any],
          why: 'the Kubernetes API',
          roles: ['controlplane'],
        },
        {
          port: TRUSTD_PORT,
          protocol: 'tcp',
          sources: nodes,
          why: 'trustd (a joining node fetches its certificates)',
          roles: ['controlplane'],
        },
        ...[ETCD_PORTS[0], ETCD_PORTS[1]].map((port) => ({
          port,
          protocol: 'tcp' as const,
          sources: cluster.nodes
            .filter((n) => n.role === 'controlplane')
            .map((n) => hostPrefix(n.address)),
          why: 'etcd between the control planes',
          roles: ['controlplane'],
        })),
        {
          port: KUBELET_PORT,
          protocol: 'tcp',
          sources: nodes,
          why: 'the kubelet (API server)',
          roles: ['controlplane', 'worker'],
        },
      ];
      const both = ['controlplane', 'worker'];
      for (const { source, port: p } of nodePortsOf(run)) {
        for (let port = p.port; port <= (p.endPort ?? p.port); port++)
          needs.push({
            port,
            protocol: p.protocol === 'TCP' ? 'tcp' : 'udp',
            sources: nodes,
            why: `${source}'s agents between nodes`,
            roles: both,
          });
      }
      for (const p of podToHostPorts(run)) {
        for (let port = p.port; port <= (p.endPort ?? p.port); port++)
          needs.push({
            port,
            protocol: p.protocol === 'TCP' ? 'tcp' : 'udp',
            sources: [cluster.network.podCidr, ...nodes],
            why: 'pods reaching the host (a flow to the nodes or a host-network monitor)',
            roles: p.controlPlanesOnly === true ? ['controlplane'] : both,
          });
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (object.kind !== 'Gateway') continue;
          const listeners = record(object.spec).listeners;
          for (const listener of Array.isArray(listeners) ? listeners : []) {
            const port = Number(record(listener).port);
            if (Number.isInteger(port))
              needs.push({
                port,
                protocol: 'tcp',
                sources: [any],
                why: `a listener of Gateway ${String(record(object.metadata).name)} (${source})`,
                roles: both,
              });
          }
        }
      }
      for (const role of ['controlplane', 'worker'] as const) {
        if (!cluster.nodes.some((n) => (n.role === 'controlplane') === (role === 'controlplane')))
          continue;
        const output = `clusters/${cluster.name}/talos/${role}.yaml`;
        const file = generatedFile(input, output);
        if (file === undefined) continue;
        const { block, rules } = rulesOf(documentsOf(file));
        if (!block) continue;
        for (const need of needs) {
          if (!need.roles.includes(role)) continue;
          const missing = need.sources.filter((s) => !allowed(rules, need.port, need.protocol, s));
          if (missing.length === 0) continue;
          issues.push(
            error({
              code: 'node-firewall',
              path: ['clusters', cluster.index, 'talos', 'firewall'],
              output,
              value: `${need.port}/${need.protocol}`,
              message: `the ${role} patch blocks inbound connections but allows ${need.port}/${need.protocol} (${need.why}) not from ${missing.join(', ')}: those connections are dropped by the node`,
              expected: `a NetworkRuleConfig allowing ${need.port}/${need.protocol} from ${need.sources.join(', ')}`,
            }),
          );
        }
        if (role !== 'worker') continue;
        // What only the control planes serve stays closed on the workers: nothing listens there.
        const workerPorts = new Set(
          needs
            .filter((need) => need.roles.includes('worker'))
            .map((need) => `${need.port}/${need.protocol}`),
        );
        const reported = new Set<string>();
        for (const need of needs) {
          const key = `${need.port}/${need.protocol}`;
          if (need.roles.includes('worker') || workerPorts.has(key) || reported.has(key)) continue;
          const open = rulesOpening(rules, need.port, need.protocol).flatMap(
            (rule) => rule.subnets,
          );
          if (open.length === 0) continue;
          reported.add(key);
          issues.push(
            error({
              code: 'node-firewall',
              path: ['clusters', cluster.index, 'talos', 'firewall'],
              output,
              value: key,
              message: `the worker patch allows ${key} (${need.why}) from ${[...new Set(open)].join(', ')}, which only the control planes serve: the workers open a port nothing there listens on`,
              expected: `no NetworkRuleConfig of the worker patch allowing ${key}`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** The system checks of the Talos material. */
export const TALOS_CHECKS: readonly SystemCheck[] = [
  nodeLinks,
  tpmEncryptionSecureBoot,
  loadBalancerPoolsOnLink,
  nodeAddressPinned,
  nodeFirewall,
];
