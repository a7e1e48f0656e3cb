// The values layers of charts/cilium. Everything for the upstream chart sits under the `cilium`
// key (Helm's subchart rule). Nulls, which delete an upstream default, appear only in the env and
// cluster layers: those are `-f` value files, where Helm honours a null for a subchart key; a
// null in a parent chart's own values.yaml is not reliably passed on (helm/helm#10812, #32132).
import {
  type EnvironmentProfile,
  type HaPlan,
  type JsonValue,
  type ResolvedCluster,
  type ResourceBase,
  type Values,
  workloadResources,
} from '@homelab/core';
import { KUBE_PRISM_PORT } from './constants.js';
import { ciliumDefaults, type ResolvedCiliumSettings } from './settings.js';
import { CILIUM_RELEASES, type CiliumVersion } from './versions.js';

/** The key the upstream chart's values live under. */
export const CILIUM_VALUES_KEY = 'cilium';

/** The agents' and the Envoy proxies' roll-out (DaemonSets): one node at a time. */
const ONE_NODE_AT_A_TIME = 1;

/** Keys under `operator.affinity.podAntiAffinity` in the upstream defaults (1.18 and 1.20). */
const UPSTREAM_OPERATOR_ANTI_AFFINITY_KEYS = ['requiredDuringSchedulingIgnoredDuringExecution'];

/**
 * The base layer: Talos-correct settings, the same for every cluster.
 * - IPAM from Kubernetes (node podCIDRs come from Talos' pod subnets, so the pool that
 *   `ipam.operator.clusterPoolIPv4PodCIDRList` would describe is not used);
 * - kube-proxy replacement, reaching the API through KubePrism on every node;
 * - Talos' capability lists and its cgroup v2 mount (Cilium must not mount its own);
 * - Gateway API with ALPN and appProtocol; the GatewayClass created unconditionally (the
 *   Gateway API CRDs are installed before Cilium, so `auto` would only add a dependency on
 *   what the renderer knows about the cluster);
 * - Hubble with relay and UI; its mTLS certificates generated in the cluster by a CronJob
 *   rather than by Helm at render time, so Argo CD never sees freshly generated keys in Git's
 *   rendering and never fights over them;
 * - metrics of the agent, the operator and Hubble, for the metrics provider to scrape;
 * - the agents and Envoy proxies rolled out one node at a time.
 */
export function baseValues(version: CiliumVersion): Values {
  const release = CILIUM_RELEASES[version];
  return {
    [CILIUM_VALUES_KEY]: {
      ipam: { mode: 'kubernetes' },
      // A config change synced from Git restarts the pods that read it; without these the
      // ConfigMap changes and the Application is Healthy while the agents keep the old config.
      rollOutCiliumPods: true,
      // One node's agent at a time (Cilium's default is two): such a roll-out restarts every
      // agent, and the platform's clusters are small. Two at once on three nodes leave one agent
      // up while the L2 announcement leases (the Gateway's address) move, or drop two of three
      // BGP paths to every LoadBalancer address.
      updateStrategy: { rollingUpdate: { maxUnavailable: ONE_NODE_AT_A_TIME } },
      kubeProxyReplacement: true,
      k8sServiceHost: 'localhost',
      k8sServicePort: KUBE_PRISM_PORT,
      securityContext: {
        capabilities: {
          ciliumAgent: [...release.ciliumAgentCapabilities],
          cleanCiliumState: [...release.cleanCiliumStateCapabilities],
        },
      },
      cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
      gatewayAPI: {
        enabled: ciliumDefaults.gatewayApi,
        enableAlpn: true,
        enableAppProtocol: true,
        gatewayClass: { create: 'true' },
      },
      // Operator metrics behind its headless Service (see `prometheus` below).
      operator: { rollOutPods: true, prometheus: { enabled: true, metricsService: true } },
      // The node proxies that carry the Gateway's traffic: one node's at a time, as the agents.
      envoy: {
        rollOutPods: true,
        updateStrategy: { rollingUpdate: { maxUnavailable: ONE_NODE_AT_A_TIME } },
      },
      hubble: {
        enabled: true,
        relay: { enabled: ciliumDefaults.hubble.relay, rollOutPods: true },
        ui: { enabled: ciliumDefaults.hubble.ui, rollOutPods: true },
        tls: { auto: { enabled: true, method: 'cronJob' } },
        metrics: { enabled: [...HUBBLE_METRICS] },
      },
      // The certificate Job is named after a hash of its spec (hubble-generate-certs-<hash>:
      // a Cilium upgrade renames it). The Application syncs with Prune=false (critical), so the
      // old Job would stay and keep it OutOfSync for good; the Job's own option wins
      // (gitops-engine isPruningDisabled), and the renamed Job's predecessor is pruned.
      certgen: { annotations: { job: { 'argocd.argoproj.io/sync-options': 'Prune=true' } } },
      // Metrics of the agent and the operator, each behind a headless Service the metrics
      // provider's ServiceMonitors select (monitors.ts); never the chart's own ServiceMonitors:
      // Cilium is installed before the Prometheus Operator CRDs exist.
      prometheus: { enabled: true, metricsService: true },
    },
  };
}

/** Hubble flow metrics the agents export (the hubble-metrics Service, port hubble-metrics). */
export const HUBBLE_METRICS = [
  'dns',
  'drop',
  'tcp',
  'flow',
  'port-distribution',
  'icmp',
  'httpV2',
] as const;

/** Resolved max surge / max unavailable of a Deployment rollout, as the controller computes them. */
export function resolveRollout(
  replicas: number,
  rollingUpdate: { maxSurge?: JsonValue; maxUnavailable?: JsonValue },
): { maxSurge: number; maxUnavailable: number } {
  const resolve = (value: JsonValue | undefined, fallback: string, roundUp: boolean): number => {
    const v = value ?? fallback;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d+%$/.test(v)) {
      const exact = (replicas * Number(v.slice(0, -1))) / 100;
      return roundUp ? Math.ceil(exact) : Math.floor(exact);
    }
    return 0;
  };
  const maxSurge = resolve(rollingUpdate.maxSurge, '25%', true);
  let maxUnavailable = resolve(rollingUpdate.maxUnavailable, '25%', false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** The chart's default `operator.updateStrategy.rollingUpdate` (1.18 and 1.20). */
export const UPSTREAM_OPERATOR_ROLLING_UPDATE = { maxSurge: '25%', maxUnavailable: '50%' } as const;

/**
 * `operator.*` values for an HA plan. Replaces the upstream anti-affinity with the plan's: a key
 * upstream sets that the plan does not is nulled (Helm deletes it), so development drops
 * upstream's required anti-affinity and staging swaps it for the preferred one.
 */
export function operatorValues(plan: HaPlan, updateStrategy: Values | undefined): Values {
  const planAnti = plan.affinity?.podAntiAffinity;
  let podAntiAffinity: JsonValue;
  if (
    planAnti !== undefined &&
    planAnti !== null &&
    typeof planAnti === 'object' &&
    !Array.isArray(planAnti)
  ) {
    const merged: { [key: string]: JsonValue } = {};
    for (const key of UPSTREAM_OPERATOR_ANTI_AFFINITY_KEYS) merged[key] = null;
    Object.assign(merged, planAnti);
    podAntiAffinity = merged;
  } else {
    podAntiAffinity = null;
  }
  const operator: Values = {
    replicas: plan.replicas,
    podDisruptionBudget:
      plan.podDisruptionBudget === undefined
        ? { enabled: false }
        : { enabled: true, maxUnavailable: plan.podDisruptionBudget.maxUnavailable },
    affinity: { podAntiAffinity },
  };
  if (plan.topologySpreadConstraints !== undefined) {
    operator.topologySpreadConstraints = plan.topologySpreadConstraints;
  }
  if (updateStrategy !== undefined) operator.updateStrategy = updateStrategy;
  return operator;
}

/** The cluster facts under `cilium`: name, announcement mode, toggles that differ from the base. */
export function clusterFactValues(
  cluster: ResolvedCluster,
  settings: ResolvedCiliumSettings,
): Values {
  const values: Values = { cluster: { name: cluster.name } };
  // The defaults of the release the cluster was first installed with (the chart's own switch).
  if (settings.upgradeCompatibility !== undefined) {
    values.upgradeCompatibility = settings.upgradeCompatibility;
  }
  if (cluster.network.bgp !== undefined) {
    values.bgpControlPlane = { enabled: true };
  } else if (cluster.network.l2Announcements !== undefined) {
    // Every announced Service holds a Lease that each node renews; Cilium's L2 guide advises
    // raising the client rate limit from its defaults (10 qps, burst 20) accordingly.
    values.l2announcements = { enabled: true };
    values.k8sClientRateLimit = { qps: 30, burst: 60 };
  }
  const hubble: Values = {};
  if (settings.hubble.relay !== ciliumDefaults.hubble.relay) {
    hubble.relay = { enabled: settings.hubble.relay };
  }
  if (settings.hubble.ui !== ciliumDefaults.hubble.ui) hubble.ui = { enabled: settings.hubble.ui };
  if (Object.keys(hubble).length > 0) values.hubble = hubble;
  if (settings.gatewayApi !== ciliumDefaults.gatewayApi) {
    values.gatewayAPI = settings.gatewayApi
      ? { enabled: true, gatewayClass: { create: 'true' } }
      : { enabled: false, gatewayClass: { create: 'false' } };
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Splitting per-cluster values into an environment layer and cluster layers

/** Base requests of Cilium's workloads; the environment profile scales them. */
const RESOURCES: { readonly [workload: string]: ResourceBase } = {
  agent: { cpu: '100m', memory: '256Mi' },
  operator: { cpu: '25m', memory: '128Mi' },
  envoy: { cpu: '50m', memory: '128Mi' },
  relay: { cpu: '25m', memory: '64Mi' },
  uiFrontend: { cpu: '10m', memory: '32Mi' },
  uiBackend: { cpu: '10m', memory: '64Mi' },
};

/**
 * Requests and memory limits of every Cilium workload we configure, for the cluster's profile;
 * the agent's without a memory limit. The kernel charges the BPF maps the agent creates to its
 * memory cgroup (memcg accounting of BPF memory, Linux 5.11 and later: Talos 1.12 and 1.13), so
 * the maps of a node's policies, endpoints and connection tracking count against the limit, and
 * grow with them. An agent killed for memory, or refused a map, stops the DNS proxy every
 * default-deny namespace resolves through and the policies of new pods until it is back; a
 * leaking controller's kill costs less than the node's network. Cilium's chart sets no limit
 * either (`resources: {}`).
 */
export function resourceValues(profile: EnvironmentProfile): Values {
  const r = (name: string): Values => workloadResources(profile, RESOURCES[name] as ResourceBase);
  const { limits: _unlimited, ...agent } = r('agent');
  return {
    resources: agent,
    operator: { resources: r('operator') },
    envoy: { resources: r('envoy') },
    hubble: {
      relay: { resources: r('relay') },
      ui: { frontend: { resources: r('uiFrontend') }, backend: { resources: r('uiBackend') } },
    },
  };
}
