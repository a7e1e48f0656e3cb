// The extra resources the Cilium chart carries for a cluster, as plain data (DESIGN.md: a map
// `manifests: {<stable-name>: <object>}` in the layer they vary in; all of these are cluster facts).
import type { BootstrapStep, KubeObject, ResolvedCluster } from '@homelab/core';
import { boundedWait, parseCidr, shellQuote, WAIT_SECONDS } from '@homelab/core';
import { BGP_ADVERTISE_LABEL } from './constants.js';
import type { ResolvedCiliumSettings } from './settings.js';

/** Name of the BGP cluster config, peer config and L2 policy the platform creates. */
const PLATFORM_RESOURCE_NAME = 'platform';

/**
 * Cilium registers its CRDs from the agent/operator at runtime, not through the chart, so on a
 * first sync Argo CD may meet these kinds before they exist: skip the dry run for them and let
 * the Application's retry apply them once Cilium is up. `Prune=true`: the definition owns these
 * objects, and the Cilium Application syncs with `Prune=false` (critical): without the object's
 * own option (gitops-engine `isPruningDisabled` reads the live object's first) a pool, peer or
 * policy removed or renamed in the definition would stay in the cluster and keep the Application
 * OutOfSync for good (an extraneous resource, controller/state.go).
 */
export const CILIUM_CR_ANNOTATIONS = {
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true,Prune=true',
};

function poolFamilies(cluster: ResolvedCluster): { ipv4: boolean; ipv6: boolean } {
  let ipv4 = false;
  let ipv6 = false;
  for (const pool of cluster.network.loadBalancerPools) {
    const cidr = parseCidr(pool.cidr);
    if (cidr?.version === 6) ipv6 = true;
    else ipv4 = true;
  }
  return { ipv4, ipv6 };
}

function definedLabels(labels: { [key: string]: string | undefined } | undefined): {
  [key: string]: string;
} {
  const out: { [key: string]: string } = {};
  for (const key of Object.keys(labels ?? {}).sort()) {
    const value = labels?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * One `CiliumLoadBalancerIPPool` per pool of the definition, keyed `lb-pool-<name>`, each keeping
 * the first and last address of its CIDR (`allowFirstLastIPs: "No"`; Cilium ignores it on a /31
 * or /32). Cilium's LB IPAM hands them out otherwise (CiliumLoadBalancerIPPool v2: "if set to
 * `Yes` or undefined … allocatable"; operator/pkg/lbipam reserves them only for "No"), and a pool
 * at the top of its LAN, `x.x.x.224/27` in a /24 as the examples have it, ends at the LAN's
 * broadcast address: a Service there is sent to every host as a broadcast, never by ARP to the
 * node that announces it. The gateway's pinned address is refused at a pool's first or last
 * address for the same reason.
 */
export function loadBalancerPools(cluster: ResolvedCluster): { [key: string]: KubeObject } {
  const out: { [key: string]: KubeObject } = {};
  for (const pool of cluster.network.loadBalancerPools) {
    const selector = definedLabels(pool.serviceSelector);
    out[`lb-pool-${pool.name}`] = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: pool.name, annotations: { ...CILIUM_CR_ANNOTATIONS } },
      spec: {
        allowFirstLastIPs: 'No',
        blocks: [{ cidr: pool.cidr }],
        ...(Object.keys(selector).length > 0 ? { serviceSelector: { matchLabels: selector } } : {}),
      },
    };
  }
  return out;
}

/** The BGP instance of every node: one per cluster, named after its local ASN. */
function bgpInstanceName(localAsn: number): string {
  return `asn-${localAsn}`;
}

/**
 * The runbook step of a BGP cluster, right after Cilium's install: the neighbours are routers
 * outside the cluster, and until each accepts the nodes' sessions no LoadBalancer address (the
 * Gateway's included) is reachable from outside, though the Gateway reads `Programmed` (LB IPAM
 * assigns the address either way). The cluster config has no node selector, so every node,
 * control planes included, peers with every neighbour; Cilium's operator writes one
 * `CiliumBGPNodeConfig` per node (named after it) and each agent reports there the state of its
 * sessions (`status.bgpInstances[].peers[].peeringState`, `established` once up; the chart's
 * `bgpControlPlane.statusReport.enabled`, on by default).
 */
export function bgpPeeringStep(cluster: ResolvedCluster): BootstrapStep | undefined {
  const bgp = cluster.network.bgp;
  if (bgp === undefined || bgp.peers.length === 0) return undefined;
  const pools = cluster.network.loadBalancerPools.map((pool) => `\`${pool.cidr}\``).join(', ');
  const nodes = cluster.nodes.map((node) => `\`${node.address}\``).join(', ');
  const instance = bgpInstanceName(bgp.localAsn);
  const established = bgp.peers.map(() => 'established').join(' ');
  const families = poolFamilies(cluster);
  const unicast = [...(families.ipv4 ? ['IPv4'] : []), ...(families.ipv6 ? ['IPv6'] : [])].join(
    ' and ',
  );
  return {
    title: 'Peer the router with the nodes (BGP)',
    body: [
      `The load-balancer addresses (${pools}) reach the network by BGP only: Cilium on every node,`,
      `control planes included, opens a session (AS ${bgp.localAsn}, ${unicast} unicast, to port 179; it`,
      'listens on none) to each neighbour below, and announces the addresses of the Services over it.',
      'Until a neighbour accepts those sessions nothing outside the cluster reaches a LoadBalancer',
      "address, the Gateway's included, although the Gateway reads `Programmed`. Configure each",
      `neighbour to peer with every node address (${nodes}) as AS ${bgp.localAsn}`,
      'and to accept their routes within the pools:',
      '',
      ...bgp.peers.map((peer) => `- \`${peer.name}\`: \`${peer.address}\`, AS ${peer.asn}`),
      '',
      `A node whose neighbour does not answer (a router that reboots) tries again every ${BGP_CONNECT_RETRY_SECONDS} to ${2 * BGP_CONNECT_RETRY_SECONDS}`,
      "seconds. The sessions use no graceful restart: a neighbour drops a node's routes as soon as",
      'its session closes, and sends to the other nodes, which announce the same addresses. A node',
      `that stops answering without closing it (its power lost) is dropped when the hold time runs out:`,
      `the nodes propose ${BGP_HOLD_SECONDS} seconds, with keepalives every ${BGP_KEEPALIVE_SECONDS}, and the session takes the lower of the two`,
      "ends' hold times. Let each neighbour send to every node at once (ECMP, `maximum-paths` on FRR).",
      '',
      "Then check every node's sessions (Cilium's operator writes one `CiliumBGPNodeConfig` per",
      'node, where its agent reports them) and wait until each is `established`. A session that stays',
      "`active`, `connect` or `idle` is refused by its neighbour: each node's wait gives up after 10",
      "minutes, prints the node's sessions and fails; check that neighbour's configuration and log,",
      'and run the wait again.',
    ],
    commands: [
      `kubectl get ciliumbgpnodeconfigs.cilium.io -o jsonpath='{range .items[*]}{.metadata.name}:{range .status.bgpInstances[*].peers[*]} {.name}={.peeringState}{end}{"\\n"}{end}'`,
      ...cluster.nodes.map((node) =>
        boundedWait({
          condition: `out=$(kubectl get ciliumbgpnodeconfigs.cilium.io ${shellQuote(node.hostname)} -o jsonpath='{.status.bgpInstances[?(@.name=="${instance}")].peers[*].peeringState}') && [ "$out" = '${established}' ]`,
          seconds: WAIT_SECONDS.bgp,
          interval: 10,
          message: `${node.hostname}: BGP sessions not all established; check each neighbour's configuration and log. Their states:`,
          diagnose: 'echo "$out" >&2',
        }),
      ),
    ],
  };
}

/**
 * How long, in seconds, a node's BGP session waits between attempts to reach a neighbour that
 * did not answer: `connectRetryTimeSeconds` (Cilium's default 120; GoBGP waits between it and
 * twice it). Cilium listens on no port (`ListenPort: -1`, pkg/bgp/manager `getLocalPort`), so
 * only the nodes dial: after the router reboots, or when an agent's first attempt finds it still
 * down, a node's routes come back only at its next attempt, up to four minutes later with the
 * default. Cilium's BGP documentation recommends 5 or less "to ensure a fast reconnection".
 */
export const BGP_CONNECT_RETRY_SECONDS = 5;

/**
 * The hold time and keepalive interval a node proposes (`holdTimeSeconds`, `keepAliveTimeSeconds`;
 * Cilium's defaults 90 and 30; the session takes the lower hold time of the two ends, RFC 4271
 * 4.2). A node that stops without closing its sessions (power lost, a kernel panic, its link
 * down) keeps its share of every LoadBalancer address's traffic until its neighbour's hold timer
 * expires: 9 seconds instead of 90. These are the values Cilium's BGP configuration guide gives
 * for fast failure detection (it accepts down to 3 and 1). A node that stops in order (a reboot,
 * an agent restart) closes its sessions and is dropped at once either way.
 */
export const BGP_HOLD_SECONDS = 9;
export const BGP_KEEPALIVE_SECONDS = 3;

/**
 * BGP control plane v2: one cluster config (every node peers with every neighbour), one peer
 * config whose address families announce what the advertisement selects, and the advertisement
 * of every Service's LoadBalancer IP. No graceful restart (Cilium's default): when a node's agent
 * stops, its neighbours withdraw its routes at once and send to the other nodes, which announce
 * the same addresses (every Service's traffic policy is `Cluster`); with it, a neighbour would go
 * on sending to a node that reboots (a Talos upgrade) for up to the restart time.
 */
export function bgpResources(cluster: ResolvedCluster): { [key: string]: KubeObject } {
  const bgp = cluster.network.bgp;
  if (bgp === undefined) return {};
  const families = poolFamilies(cluster);
  const familyList = [...(families.ipv4 ? ['ipv4'] : []), ...(families.ipv6 ? ['ipv6'] : [])].map(
    (afi) => ({
      afi,
      safi: 'unicast',
      advertisements: { matchLabels: { ...BGP_ADVERTISE_LABEL } },
    }),
  );
  return {
    'bgp-cluster-config': {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumBGPClusterConfig',
      metadata: { name: PLATFORM_RESOURCE_NAME, annotations: { ...CILIUM_CR_ANNOTATIONS } },
      spec: {
        bgpInstances: [
          {
            name: bgpInstanceName(bgp.localAsn),
            localASN: bgp.localAsn,
            peers: bgp.peers.map((peer) => ({
              name: peer.name,
              peerASN: peer.asn,
              peerAddress: peer.address,
              peerConfigRef: { name: PLATFORM_RESOURCE_NAME },
            })),
          },
        ],
      },
    },
    'bgp-peer-config': {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumBGPPeerConfig',
      metadata: { name: PLATFORM_RESOURCE_NAME, annotations: { ...CILIUM_CR_ANNOTATIONS } },
      spec: {
        families: familyList,
        timers: {
          connectRetryTimeSeconds: BGP_CONNECT_RETRY_SECONDS,
          holdTimeSeconds: BGP_HOLD_SECONDS,
          keepAliveTimeSeconds: BGP_KEEPALIVE_SECONDS,
        },
      },
    },
    'bgp-advertisement': {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumBGPAdvertisement',
      metadata: {
        name: 'loadbalancer-ips',
        labels: { ...BGP_ADVERTISE_LABEL },
        annotations: { ...CILIUM_CR_ANNOTATIONS },
      },
      spec: {
        advertisements: [
          {
            advertisementType: 'Service',
            service: { addresses: ['LoadBalancerIP'] },
            // An empty selector matches no Service; this expression matches every Service
            // (the form Cilium's BGP documentation uses for "all Services").
            selector: {
              matchExpressions: [
                { key: 'homelab.dev/bgp-never', operator: 'NotIn', values: ['never-used-value'] },
              ],
            },
          },
        ],
      },
    },
  };
}

/**
 * L2 announcements: answer ARP/NDP for LoadBalancer IPs on the given interfaces (all of Cilium's
 * when none are given). When the cluster
 * has workers, only workers announce (control planes keep their network for the API).
 */
export function l2Resources(
  cluster: ResolvedCluster,
  settings: ResolvedCiliumSettings,
): { [key: string]: KubeObject } {
  if (cluster.network.l2Announcements === undefined || cluster.network.bgp !== undefined) return {};
  const onlyWorkers = cluster.workers.length > 0;
  return {
    'l2-announcement-policy': {
      apiVersion: 'cilium.io/v2alpha1',
      kind: 'CiliumL2AnnouncementPolicy',
      metadata: { name: PLATFORM_RESOURCE_NAME, annotations: { ...CILIUM_CR_ANNOTATIONS } },
      spec: {
        ...(settings.l2Interfaces === undefined ? {} : { interfaces: [...settings.l2Interfaces] }),
        loadBalancerIPs: true,
        externalIPs: false,
        ...(onlyWorkers
          ? {
              nodeSelector: {
                matchExpressions: [
                  { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' },
                ],
              },
            }
          : {}),
      },
    },
  };
}

/** Every manifest of the cluster layer, sorted by key. */
export function clusterManifests(
  cluster: ResolvedCluster,
  settings: ResolvedCiliumSettings,
): { [key: string]: KubeObject } {
  const all = {
    ...loadBalancerPools(cluster),
    ...bgpResources(cluster),
    ...l2Resources(cluster, settings),
  };
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((key) => [key, all[key] as KubeObject]),
  );
}
