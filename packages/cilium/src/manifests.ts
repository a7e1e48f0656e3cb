// The extra resources the Cilium chart carries for a cluster, as plain data (DESIGN.md: a map
// `manifests: {<stable-name>: <object>}` in the layer they vary in; all of these are cluster facts).
import type { KubeObject, ResolvedCluster } from '@homelab/core';
import { parseCidr } from '@homelab/core';
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

/** One `CiliumLoadBalancerIPPool` per pool of the definition, keyed `lb-pool-<name>`. */
export function loadBalancerPools(cluster: ResolvedCluster): { [key: string]: KubeObject } {
  const out: { [key: string]: KubeObject } = {};
  for (const pool of cluster.network.loadBalancerPools) {
    const selector = definedLabels(pool.serviceSelector);
    out[`lb-pool-${pool.name}`] = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: pool.name, annotations: { ...CILIUM_CR_ANNOTATIONS } },
      spec: {
        blocks: [{ cidr: pool.cidr }],
        ...(Object.keys(selector).length > 0 ? { serviceSelector: { matchLabels: selector } } : {}),
      },
    };
  }
  return out;
}

/**
 * BGP control plane v2: one cluster config (every node peers with every neighbour), one peer
 * config whose address families announce what the advertisement selects, and the advertisement
 * of every Service's LoadBalancer IP.
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
            name: `asn-${bgp.localAsn}`,
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
      spec: { families: familyList },
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
