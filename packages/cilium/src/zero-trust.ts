// Cilium's part of the zero-trust model: the flows its own pods need (Hubble, SPIRE), the mutual
// authentication values (SPIRE, per environment) and the policies of a cluster's layer. Pure.
import type {
  ClusterContribution,
  FlowDeclaration,
  Issue,
  KubeObject,
  RenderCluster,
  Values,
} from '@homelab/core';
import {
  CILIUM_NAMESPACE,
  HUBBLE_CERTGEN_SELECTOR,
  HUBBLE_RELAY_SELECTOR,
  HUBBLE_UI_SELECTOR,
  SPIRE_NAMESPACE,
  SPIRE_SERVER_SELECTOR,
} from './constants.js';
import { KUBE_APISERVER_PORTS, planFlows } from './flows.js';
import type { CiliumSettings } from './generated/settings.js';
import { zeroTrustPolicies } from './policies.js';
import type { ResolvedCiliumSettings, ResolvedNetworkPolicy } from './settings.js';

/** Hubble's server on every agent (host network). */
const HUBBLE_PEER_PORT = 4244;
/** Hubble Relay's gRPC port (plain, the chart's default without relay server TLS). */
const HUBBLE_RELAY_PORT = 4245;
/** Requests of the SPIRE containers (the chart sets none; its init containers take none). */
const SPIRE_AGENT_RESOURCES = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { memory: '128Mi' },
};
const SPIRE_SERVER_RESOURCES = {
  requests: { cpu: '25m', memory: '64Mi' },
  limits: { memory: '256Mi' },
};

/**
 * Host paths the chart's SPIRE pods mount (in the SPIRE namespace): the agents' Workload API
 * socket, which the Cilium agent reads, and the server's admin socket directory.
 */
export const SPIRE_HOST_PATHS = ['/run/spire/sockets', '/var/run/spire-server/sockets'] as const;

/** The SPIRE server's gRPC port (agents and the operator, both on the host network). */
const SPIRE_SERVER_PORT = 8081;

/** The flows of Cilium's own pods that are endpoints (agent, operator, Envoy use the host network). */
export function ciliumFlows(
  settings: ResolvedCiliumSettings,
  network: ResolvedNetworkPolicy,
): FlowDeclaration[] {
  const flows: FlowDeclaration[] = [
    {
      name: 'hubble-certgen-apiserver',
      direction: 'egress',
      namespace: CILIUM_NAMESPACE,
      selector: { ...HUBBLE_CERTGEN_SELECTOR },
      peer: { kind: 'kube-apiserver' },
      ports: KUBE_APISERVER_PORTS,
      reason: "the Hubble certificate CronJob writes the CA and certificates' Secrets",
    },
  ];
  if (settings.hubble.relay) {
    flows.push({
      name: 'hubble-relay-peers',
      direction: 'egress',
      namespace: CILIUM_NAMESPACE,
      selector: { ...HUBBLE_RELAY_SELECTOR },
      peer: { kind: 'host' },
      ports: [{ port: HUBBLE_PEER_PORT, protocol: 'TCP' }],
      reason: "Hubble Relay reads flows from every agent's Hubble server",
    });
  }
  if (settings.hubble.ui) {
    flows.push(
      {
        name: 'hubble-ui-relay',
        direction: 'egress',
        namespace: CILIUM_NAMESPACE,
        selector: { ...HUBBLE_UI_SELECTOR },
        peer: { kind: 'self', selector: { ...HUBBLE_RELAY_SELECTOR } },
        ports: [{ port: HUBBLE_RELAY_PORT, protocol: 'TCP' }],
        reason: 'the Hubble UI asks Hubble Relay for flows',
      },
      {
        name: 'hubble-ui-apiserver',
        direction: 'egress',
        namespace: CILIUM_NAMESPACE,
        selector: { ...HUBBLE_UI_SELECTOR },
        peer: { kind: 'kube-apiserver' },
        ports: KUBE_APISERVER_PORTS,
        reason: 'the Hubble UI lists namespaces',
      },
    );
  }
  if (network.mutualAuthentication) {
    flows.push(
      {
        name: 'spire-server-agents',
        direction: 'ingress',
        namespace: SPIRE_NAMESPACE,
        selector: { ...SPIRE_SERVER_SELECTOR },
        peer: { kind: 'host' },
        ports: [{ port: SPIRE_SERVER_PORT, protocol: 'TCP' }],
        reason: 'SPIRE agents and the operator (host network) reach the SPIRE server',
      },
      {
        name: 'spire-server-apiserver',
        direction: 'egress',
        namespace: SPIRE_NAMESPACE,
        selector: { ...SPIRE_SERVER_SELECTOR },
        peer: { kind: 'kube-apiserver' },
        ports: KUBE_APISERVER_PORTS,
        reason: "the SPIRE server validates agents' service account tokens",
      },
    );
  }
  return flows;
}

/**
 * `authentication.*` values: with mutual authentication on, the agent's authentication processing
 * (`authentication.enabled`, off by default in the chart from 1.19 on: without it the chart's
 * validate.yaml refuses SPIRE, and rules with `authentication.mode: required` would drop every
 * connection, their authentication requests never processed) and SPIRE installed by the chart. The chart's SPIRE server is one StatefulSet replica with a SQLite datastore (not
 * replicable); its data lives in an emptyDir (identities are re-issued when it restarts; the
 * agents keep serving what they cached). Never on a volume of the `storage` provider: Cilium is
 * the CNI, in the first wave, and the storage provider needs pod networking, so it comes later;
 * the server's claim would stay Pending, Cilium's Application Progressing, and the app-of-apps
 * would wait for it forever (the Helm suite checks that no claim waits for a later wave).
 */
export function mutualAuthenticationValues(network: ResolvedNetworkPolicy): Values {
  if (!network.mutualAuthentication) {
    return { authentication: { mutual: { spire: { enabled: false } } } };
  }
  return {
    authentication: {
      // The agent's authentication processing: off by default since chart 1.19, and the chart
      // refuses SPIRE without it (templates/validate.yaml).
      enabled: true,
      mutual: {
        spire: {
          enabled: true,
          install: {
            enabled: true,
            // The namespace is ours (spireNamespace), with its Pod Security labels: the chart's
            // has none, so the cluster default (baseline) would refuse the SPIRE agent.
            existingNamespace: true,
            agent: { resources: SPIRE_AGENT_RESOURCES },
            server: {
              resources: SPIRE_SERVER_RESOURCES,
              dataStorage: { enabled: false },
            },
          },
        },
      },
    },
  };
}

/**
 * The SPIRE namespace when mutual authentication is on, labelled with the Pod Security level its
 * pods need (the agent mounts host paths; Talos' admission defaults exempt the namespace too, as
 * a privileged namespace of the CNI's Application).
 */
export function spireNamespace(network: ResolvedNetworkPolicy): { [key: string]: KubeObject } {
  if (!network.mutualAuthentication) return {};
  return {
    [`namespace-${SPIRE_NAMESPACE}`]: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: SPIRE_NAMESPACE,
        labels: {
          'app.kubernetes.io/part-of': 'cilium',
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
        },
      },
    },
  };
}

/** The cluster's zero-trust policies (none with default deny off), and the flow issues. */
export function clusterPolicies(
  entry: RenderCluster<CiliumSettings>,
  network: ResolvedNetworkPolicy,
  platform: Parameters<typeof planFlows>[0]['platform'],
): { manifests: { [key: string]: KubeObject }; issues: Issue[] } {
  const contributions = new Map<string, ClusterContribution>([
    ['cilium', entry.own],
    ...entry.others.map((peer) => [peer.component, peer.contribution] as const),
  ]);
  const { plan, issues } = planFlows({
    platform,
    cluster: entry.cluster,
    contributions,
    settings: entry.settings,
    path: entry.path,
  });
  if (!network.defaultDeny) return { manifests: {}, issues };
  return {
    manifests: zeroTrustPolicies(plan, { mutualAuthentication: network.mutualAuthentication }),
    issues,
  };
}
