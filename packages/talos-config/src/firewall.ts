// The Talos ingress firewall of a cluster: a `NetworkDefaultActionConfig` (ingress: block) and
// `NetworkRuleConfig` documents in each role's patch (Talos >= 1.6; the same documents and the
// same nftables chains in 1.11.6, 1.12.11 and 1.13.9).
//
// What Talos filters (internal/app/machined/pkg/controllers/network/nftables_chain_config.go at
// the pinned tags): an `input` hook chain (filter, priority mangle+10) whose policy is drop with
// `ingress: block`, after accepting traffic from lo, siderolink and kubespan, established and
// related connections, ICMP and ICMPv6 (rate-limited to 5 packets a second), host DNS from the
// pod and service CIDRs, and traffic from a pod or service address to a pod or service address;
// and a `prerouting` chain that drops new TCP and UDP connections addressed to the node's own
// addresses unless a rule allows them. Forwarded traffic (a pod address as destination) is not
// filtered; apid and trustd get no built-in exception, nor does pod traffic to a node address.
// A rule allows its ports from its subnets in both chains, whatever the destination address.
import type { ClusterRun, FlowPort, ResolvedCluster } from '@homelab/core';
import type { TalosDocument } from './patches.js';

export type FirewallRole = 'controlplane' | 'worker';

export interface FirewallRule {
  /** The NetworkRuleConfig's name. */
  readonly name: string;
  readonly protocol: 'tcp' | 'udp';
  /** Single ports and inclusive ranges, none overlapping. */
  readonly ports: readonly (number | readonly [number, number])[];
  /** Source subnets (`ingress[].subnet`). */
  readonly subnets: readonly string[];
  /** Who those sources are, in words (the runbook's table of rules). */
  readonly from: string;
}

/** Talos' API (apid): talosctl from the LAN, and other nodes' apid proxying to it. */
export const APID_PORT = 50000;
/** trustd, on control planes: the other nodes fetch their certificates from it. */
export const TRUSTD_PORT = 50001;
export const KUBE_API_PORT = 6443;
/** etcd client and peer ports, between control planes. */
export const ETCD_PORTS: readonly [number, number] = [2379, 2380];
export const KUBELET_PORT = 10250;
/** Cilium's BGP speaker. */
export const BGP_PORT = 179;

/**
 * Talos' default CNI, flannel (no CNI component): Talos renders its net-conf with the VXLAN
 * backend on 4789 (internal/app/machined/pkg/controllers/k8s/internal/k8stemplates/flannel.go,
 * `netConf.Backend.Port = 4789` at v1.11.6, v1.12.11 and v1.13.9), not flannel's own default
 * 8472.
 */
export const FLANNEL_NODE_PORTS: readonly FlowPort[] = [{ port: 4789, protocol: 'UDP' }];

/**
 * The ports host-network agents open to the other nodes, by the component that declares them
 * (its Talos need `nodePorts`: Cilium's VXLAN, health, Hubble and mutual-auth ports), and
 * flannel's VXLAN port where no component installs the CNI (Talos' default, talos-config's own
 * knowledge).
 */
export function nodePortsOf(
  run: ClusterRun,
): { readonly source: string; readonly port: FlowPort }[] {
  const out: { source: string; port: FlowPort }[] = [];
  let cni = false;
  for (const component of run.order) {
    const needs = run.contributions.get(component)?.talos;
    if (needs?.cni !== undefined) cni = true;
    for (const port of needs?.nodePorts ?? []) out.push({ source: component, port });
  }
  if (!cni) for (const port of FLANNEL_NODE_PORTS) out.push({ source: 'flannel', port });
  return out;
}

/** Any source of the node's address family. */
export function anySource(cluster: ResolvedCluster): string {
  return cluster.nodes.some((node) => node.address.includes(':')) ? '::/0' : '0.0.0.0/0';
}

/** One address as a subnet of its own (/32, or /128 for IPv6). */
export function hostPrefix(address: string): string {
  return `${address}/${address.includes(':') ? 128 : 32}`;
}

/** A host port pods reach; `controlPlanesOnly`: on the control planes only (closed on workers). */
export type HostPort = FlowPort & { readonly controlPlanesOnly?: boolean };

/**
 * The host ports pods reach on the nodes: every egress flow to `host` the components declare,
 * and every monitor whose target runs on the host network (its `hostPort`). A pod on the same
 * node arrives with its pod address; one on another node with that node's address (Cilium's
 * tunnel carries pod-to-node traffic only with the host firewall or node encryption,
 * `nodeAddressHasTunnelIP`; otherwise it leaves by the node's link and iptables masquerades it).
 */
export function podToHostPorts(run: ClusterRun): HostPort[] {
  const out: HostPort[] = [];
  for (const component of run.order) {
    const contribution = run.contributions.get(component);
    for (const flow of contribution?.flows ?? []) {
      if (flow.direction !== 'egress' || flow.peer.kind !== 'host') continue;
      const controlPlanesOnly = flow.peer.nodes === 'control-planes';
      out.push(
        ...flow.ports.map((port) => (controlPlanesOnly ? { ...port, controlPlanesOnly } : port)),
      );
    }
    for (const monitor of contribution?.monitors ?? []) {
      const port = monitor.target?.hostPort;
      if (port !== undefined) out.push({ port, protocol: 'TCP' });
    }
  }
  return out;
}

/** Sorted, merged port list of one protocol (overlapping and adjacent ranges joined). */
function portList(
  ports: readonly FlowPort[],
  protocol: 'TCP' | 'UDP',
): (number | [number, number])[] {
  const ranges = ports
    .filter((p) => p.protocol === protocol)
    .map((p) => [p.port, p.endPort ?? p.port] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged.map(([lo, hi]) => (lo === hi ? lo : [lo, hi]));
}

export interface FirewallInput {
  readonly cluster: ResolvedCluster;
  /** Host ports pods reach (`podToHostPorts`); those `controlPlanesOnly` stay closed on workers. */
  readonly podPorts: readonly HostPort[];
  /** Ports host-network agents open between nodes (`nodePortsOf`). */
  readonly nodePorts: readonly FlowPort[];
  /**
   * The Gateway's listener ports (its capability's `listenerPorts`), open from anywhere. Cilium
   * serves a Gateway with its L7 load balancer: for a LoadBalancer address the datapath hands the
   * packet to the node's Envoy (`nodeport_lb4`: `lb4_svc_is_l7loadbalancer` then
   * `ctx_redirect_to_proxy_hairpin_ipv4`), through the host stack and its TPROXY rule, so it
   * crosses the input hook with the address and port the client used. Any node may hold an
   * address (L2 lease, BGP).
   */
  readonly gatewayPorts: readonly number[];
}

/** The rules of one role, in a stable order. */
export function firewallRules(input: FirewallInput, role: FirewallRole): FirewallRule[] {
  const { cluster } = input;
  const any = anySource(cluster);
  const nodes = cluster.nodes.map((node) => hostPrefix(node.address));
  const controlPlanes = cluster.nodes
    .filter((node) => node.role === 'controlplane')
    .map((node) => hostPrefix(node.address));
  const rules: FirewallRule[] = [];
  const anywhere = 'anywhere';
  const everyNode = "every node's address";
  rules.push({
    name: 'homelab-apid',
    protocol: 'tcp',
    ports: [APID_PORT],
    subnets: [any],
    from: anywhere,
  });
  if (role === 'controlplane') {
    rules.push(
      {
        name: 'homelab-kubernetes-api',
        protocol: 'tcp',
        ports: [KUBE_API_PORT],
        subnets: [any],
        from: anywhere,
      },
      {
        name: 'homelab-trustd',
        protocol: 'tcp',
        ports: [TRUSTD_PORT],
        subnets: nodes,
        from: everyNode,
      },
      {
        name: 'homelab-etcd',
        protocol: 'tcp',
        ports: [ETCD_PORTS],
        subnets: controlPlanes,
        from: "the control planes' addresses",
      },
    );
  }
  if (input.gatewayPorts.length > 0) {
    rules.push({
      name: 'homelab-gateway',
      protocol: 'tcp',
      ports: portList(
        input.gatewayPorts.map((port) => ({ port, protocol: 'TCP' })),
        'TCP',
      ),
      subnets: [any],
      from: anywhere,
    });
  }
  const bgpPeers = cluster.network.bgp?.peers ?? [];
  if (bgpPeers.length > 0) {
    rules.push({
      name: 'homelab-bgp',
      protocol: 'tcp',
      ports: [BGP_PORT],
      subnets: bgpPeers.map((peer) => hostPrefix(peer.address)),
      from: 'the BGP peers',
    });
  }
  // Between nodes: the kubelet (the API server on the control planes) and the CNI's agents.
  const fromNodes = [{ port: KUBELET_PORT, protocol: 'TCP' as const }, ...input.nodePorts];
  for (const protocol of ['TCP', 'UDP'] as const) {
    const ports = portList(fromNodes, protocol);
    if (ports.length === 0) continue;
    rules.push({
      name: `homelab-nodes-${protocol.toLowerCase()}`,
      protocol: protocol === 'TCP' ? 'tcp' : 'udp',
      ports,
      subnets: nodes,
      from: everyNode,
    });
  }
  // Pods reaching host ports: from the pod CIDR (same node) and every node (masqueraded).
  for (const protocol of ['TCP', 'UDP'] as const) {
    const ports = portList(
      input.podPorts.filter((port) => role === 'controlplane' || port.controlPlanesOnly !== true),
      protocol,
    );
    if (ports.length === 0) continue;
    rules.push({
      name: `homelab-pods-${protocol.toLowerCase()}`,
      protocol: protocol === 'TCP' ? 'tcp' : 'udp',
      ports,
      subnets: [cluster.network.podCidr, ...nodes],
      from: `the pod network (${cluster.network.podCidr}) and ${everyNode}`,
    });
  }
  return rules;
}

/** The documents of a role's firewall: default block, then one NetworkRuleConfig per rule. */
export function firewallDocuments(rules: readonly FirewallRule[]): TalosDocument[] {
  return [
    { apiVersion: 'v1alpha1', kind: 'NetworkDefaultActionConfig', ingress: 'block' },
    ...rules.map(
      (rule): TalosDocument => ({
        apiVersion: 'v1alpha1',
        kind: 'NetworkRuleConfig',
        name: rule.name,
        portSelector: {
          ports: rule.ports.map((p) => (typeof p === 'number' ? p : `${p[0]}-${p[1]}`)),
          protocol: rule.protocol,
        },
        ingress: rule.subnets.map((subnet) => ({ subnet })),
      }),
    ),
  ];
}

/** The rules of NetworkRuleConfig documents read back from a patch. */
export function rulesOf(documents: readonly { readonly [key: string]: unknown }[]): {
  block: boolean;
  rules: { protocol: string; ports: [number, number][]; subnets: string[] }[];
} {
  let block = false;
  const rules: { protocol: string; ports: [number, number][]; subnets: string[] }[] = [];
  for (const document of documents) {
    if (document.kind === 'NetworkDefaultActionConfig') block = document.ingress === 'block';
    if (document.kind !== 'NetworkRuleConfig') continue;
    const selector = (document.portSelector ?? {}) as { ports?: unknown[]; protocol?: unknown };
    const ports = (selector.ports ?? []).flatMap((entry): [number, number][] => {
      const text = String(entry);
      const match = /^(\d+)(?:-(\d+))?$/.exec(text);
      if (match === null) return [];
      return [[Number(match[1]), Number(match[2] ?? match[1])]];
    });
    const ingress = Array.isArray(document.ingress) ? document.ingress : [];
    rules.push({
      protocol: String(selector.protocol ?? ''),
      ports,
      subnets: ingress.map((entry) => String((entry as { subnet?: unknown }).subnet ?? '')),
    });
  }
  return { block, rules };
}
