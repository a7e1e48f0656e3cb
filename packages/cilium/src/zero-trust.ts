// Cilium's part of the zero-trust model: the flows its own pods need (Hubble, SPIRE), the mutual
// authentication values (SPIRE, per environment) and the policies of a cluster's layer. Pure.
import type {
  ClusterContribution,
  FlowDeclaration,
  Issue,
  KubeObject,
  NodeLifecycle,
  NodeRebootWait,
  OutageProcedure,
  RenderCluster,
  ResolvedCluster,
  Values,
} from '@homelab/core';
import { boundedWait, WAIT_SECONDS } from '@homelab/core';
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
import { workloadKey, zeroTrustPolicies } from './policies.js';
import type { ResolvedCiliumSettings, ResolvedNetworkPolicy } from './settings.js';
import {
  SPIRE_WATCHDOG_MINUTES,
  SPIRE_WATCHDOG_NAME,
  SPIRE_WATCHDOG_SELECTOR,
} from './spire-watchdog.js';

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

/**
 * SPIRE's trust domain: the chart's default (`authentication.mutual.spire.trustDomain`), set
 * explicitly because the runbook's recovery names the operator's SPIFFE ID in it.
 */
export const SPIRE_TRUST_DOMAIN = 'spiffe.cilium';

/**
 * The parent of every identity's registration entry: cilium-operator's own SPIFFE ID
 * (operator/auth/spire/client.go, `defaultParentID`; the chart's init.bash registers it).
 */
const OPERATOR_SPIFFE_ID = `spiffe://${SPIRE_TRUST_DOMAIN}/cilium-operator`;

/** How many identities the SPIRE server holds an entry for (spire-server 1.9 `entry show`). */
const REGISTERED_IDENTITIES = `kubectl -n ${SPIRE_NAMESPACE} exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show -parentID ${OPERATOR_SPIFFE_ID} | sed -n 's/^Found \\([0-9]*\\) entr.*/\\1/p'`;

/** The watchdog's pods, as a label selector. */
const WATCHDOG_LABEL = Object.entries(SPIRE_WATCHDOG_SELECTOR)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

/** How many security identities the cluster has (one entry each, once registered). */
const CILIUM_IDENTITIES = 'kubectl get ciliumidentities.cilium.io -o name | wc -l';

/**
 * The runbook's SPIRE recovery, after whatever replaced the SPIRE server's pod (a drain, a
 * node's reboot or Talos upgrade, a lost node deleted). Without `dataStorage` the new server
 * starts empty, with a new CA (see `mutualAuthenticationValues`), and at the pinned versions
 * nothing puts back what cilium-operator had registered:
 * - the server's `cilium-init` container (chart files/spire/init.bash) re-creates only the
 *   agents' node alias and the entries of cilium-agent and cilium-operator, every 30 s;
 * - cilium-operator registers an identity's entry only on that CiliumIdentity's events
 *   (operator/auth/watcher.go; its informer has no resync, pkg/k8s/resource `FullResyncPeriod:
 *   0`), and after a reconnect it lists nothing: every existing identity stays unregistered
 *   until the operator restarts, whose start replays every CiliumIdentity as an upsert (retried
 *   until the server answers, `AlwaysRetry`);
 * - each SPIRE agent's next sync fails on the server's unknown CA and the agent exits
 *   (spire 1.9.6, which chart 1.19.6 pins, and 1.12.4: pkg/agent/manager `runSynchronizer`,
 *   "non-recoverable error"; 1.15.2, chart 1.20's, may rebootstrap in process instead,
 *   `rebootstrap_mode`); restarted, it
 *   bootstraps from the `spire-bundle` ConfigMap the new server's k8sbundle notifier rewrote,
 *   once the kubelet refreshed the mounted copy (a crash loop of minutes); new agent pods read
 *   it at once;
 * - the Cilium agent's delegated-identity client reconnects to its restarted SPIRE agent
 *   (pkg/auth/spire/delegate.go) and takes the new bundle, but the SVIDs of unregistered
 *   identities are gone: it deletes their authentication entries (pkg/auth/manager.go), and
 *   every connection under a rule with `authentication.mode: required` (every pod-to-pod rule
 *   of default deny: Argo CD's, the metrics scrapes, Longhorn's engines writing to their
 *   replicas) is dropped until the operator registered them again.
 * So: wait for the server; where it holds fewer identity entries than the cluster has
 * identities, restart the agents (they bootstrap from the new bundle) and then the operator
 * (which re-registers every identity); and wait until every identity is registered. Where
 * nothing was lost, only the checks run.
 */
export const SPIRE_RECOVERY_COMMANDS: readonly string[] = [
  `kubectl -n ${SPIRE_NAMESPACE} rollout status statefulset spire-server --timeout=10m`,
  `registered=$(${REGISTERED_IDENTITIES})`,
  `if [ "\${registered:-0}" -lt "$(${CILIUM_IDENTITIES})" ]; then kubectl -n ${SPIRE_NAMESPACE} rollout restart daemonset spire-agent && kubectl -n ${SPIRE_NAMESPACE} rollout status daemonset spire-agent --timeout=10m && kubectl -n ${CILIUM_NAMESPACE} rollout restart deployment cilium-operator && kubectl -n ${CILIUM_NAMESPACE} rollout status deployment cilium-operator --timeout=10m; fi`,
  boundedWait({
    condition: `registered=$(${REGISTERED_IDENTITIES}) && [ "\${registered:-0}" -ge "$(${CILIUM_IDENTITIES})" ]`,
    seconds: WAIT_SECONDS.spire,
    interval: 10,
    message: `SPIRE has not registered every Cilium identity again (connections that require mutual authentication stay dropped): see kubectl -n ${CILIUM_NAMESPACE} logs deployment/cilium-operator and kubectl -n ${SPIRE_NAMESPACE} logs spire-server-0 -c spire-server`,
  }),
];

const RECOVERY_REASON =
  "Cilium: the SPIRE server, where the node's drain or reboot replaced its pod, registers every security identity again (its new pod starts with an empty datastore and a new CA: the SPIRE agents are restarted onto the new trust bundle, then cilium-operator, which registers existing identities only when it starts; until then every pod-to-pod connection that requires mutual authentication is dropped, Longhorn's replica traffic included, so this comes before the other waits)";

/**
 * The runbook's SPIRE recovery where mutual authentication is on. On a node that may run the
 * server, once the runbook cordoned it: before the drain of its reboot or Talos upgrade, and on
 * retiring it, the server's pod moved off it and recovered before anything else (the drain's
 * evicted pods detach their volumes through longhorn-manager, Longhorn's eviction needs its
 * replica traffic: both under mutual authentication). After every node's reboot or upgrade, the
 * checks again (a one-node cluster is never drained: its reboot replaces the server; cheap where
 * nothing was lost). After a lost node's deletion (its pods, the server's with them, are started
 * elsewhere only then).
 */
export function spireRecovery(
  cluster: ResolvedCluster,
  network: ResolvedNetworkPolicy,
): {
  afterNodeReboot?: NodeRebootWait;
  beforeNodeDrain?: { [hostname: string]: NodeRebootWait };
  nodeLifecycle?: NodeLifecycle;
  whenDown?: OutageProcedure;
} {
  if (!network.mutualAuthentication) return {};
  const hosts = cluster.schedulableNodes.map((node) => node.hostname);
  const retiring: { [hostname: string]: NodeRebootWait } = {};
  const lost: { [hostname: string]: NodeRebootWait } = {};
  const drain: { [hostname: string]: NodeRebootWait } = {};
  // A cordoned node's server pod deleted (its StatefulSet starts it elsewhere, empty), then
  // the recovery: before a drain and on retiring a node alike.
  const moveOffAndRecover = (hostname: string) => [
    `kubectl -n ${SPIRE_NAMESPACE} delete pod -l app=spire-server --field-selector spec.nodeName=${hostname} --timeout=2m`,
    ...SPIRE_RECOVERY_COMMANDS,
  ];
  for (const hostname of hosts) {
    drain[hostname] = {
      reason:
        "Cilium: the SPIRE server's pod, if it runs on the node, deleted (the cordon keeps the new one elsewhere) and SPIRE recovered before the drain: its new pod starts empty, so the SPIRE agents are restarted onto its new trust bundle and cilium-operator re-registers every identity; a server replaced by the drain itself would drop the connections that require mutual authentication while the evicted pods' Longhorn volumes detach through longhorn-manager",
      commands: moveOffAndRecover(hostname),
    };
    retiring[hostname] = {
      reason:
        "Cilium: the SPIRE server's pod, if it runs on the node, deleted (the cordon keeps the new one elsewhere), then SPIRE recovered: its new pod starts empty, so the SPIRE agents are restarted onto its new trust bundle and cilium-operator re-registers every identity (until then pod-to-pod connections that require mutual authentication are dropped, Longhorn's eviction traffic included)",
      commands: moveOffAndRecover(hostname),
    };
    lost[hostname] = {
      reason:
        'Cilium: SPIRE recovered, if its server ran on the node (the deletion lets its StatefulSet start it elsewhere, empty): the SPIRE agents restarted onto the new trust bundle and cilium-operator re-registering every identity; until then pod-to-pod connections that require mutual authentication are dropped',
      commands: [...SPIRE_RECOVERY_COMMANDS],
    };
  }
  return {
    afterNodeReboot: { reason: RECOVERY_REASON, commands: [...SPIRE_RECOVERY_COMMANDS] },
    whenDown: spireDown(),
    ...(hosts.length === 0 ? {} : { beforeNodeDrain: drain }),
    // A node no longer in the definition may run the server: its hostname is the runbook's `$NODE`.
    nodeLifecycle: {
      ...(hosts.length === 0 ? {} : { retiring, lost }),
      retiringRemoved: {
        reason:
          "Cilium: the SPIRE server's pod, if it runs on the node, deleted (the cordon keeps the new one elsewhere), then SPIRE recovered: its new pod starts empty, so the SPIRE agents are restarted onto its new trust bundle and cilium-operator re-registers every identity (until then pod-to-pod connections that require mutual authentication are dropped, Longhorn's eviction traffic included)",
        commands: [
          `kubectl -n ${SPIRE_NAMESPACE} delete pod -l app=spire-server --field-selector spec.nodeName="$NODE" --timeout=2m`,
          ...SPIRE_RECOVERY_COMMANDS,
        ],
      },
    },
  };
}

/**
 * The runbook's "When a component is down" for SPIRE: a server that lost its data outside the
 * runbook's node steps (its container restarted: an OOM kill, a failed liveness probe, a node
 * that rebooted on its own, a power cut of the whole cluster) drops every connection that
 * requires mutual authentication until cilium-operator restarts. The SPIRE watchdog
 * (spire-watchdog.ts) restarts the agents and the operator by itself within
 * SPIRE_WATCHDOG_MINUTES of the server being ready again; the procedure says how to see what it
 * did and recovers by hand where it did not. Nothing to lift: the rules are Cilium's own
 * policies, and SPIRE comes back by itself, only empty.
 */
export function spireDown(): OutageProcedure {
  return {
    symptom: `SPIRE's server keeps its datastore and CA in its container: whenever that container is new (an OOM kill, a failed liveness probe, a node that rebooted outside this runbook, a power cut) it starts empty, with a new CA. The SPIRE agents exit on the unknown CA and come back, but cilium-operator registers the existing security identities again only when it starts: until then no pod gets its certificate and every pod-to-pod connection that requires mutual authentication is dropped (Hubble shows \`Authentication required\` drops): Argo CD's controller cannot reach its repo-server, Prometheus' scrapes fail, Longhorn's engines cannot write to their replicas and volumes degrade. The \`${SPIRE_WATCHDOG_NAME}\` CronJob (every two minutes, in \`${SPIRE_NAMESPACE}\`) does the recovery by itself: once the server's pod is ready, where its \`spire-server\` container started after a ready cilium-operator or SPIRE agent pod, it restarts the agents, waits for them, then restarts cilium-operator, within ${SPIRE_WATCHDOG_MINUTES} minutes. This procedure is for when it did not.`,
    diagnose: [
      `kubectl -n ${SPIRE_NAMESPACE} get pods -o wide`,
      `kubectl -n ${SPIRE_NAMESPACE} get cronjob ${SPIRE_WATCHDOG_NAME} && kubectl -n ${SPIRE_NAMESPACE} get jobs -l ${WATCHDOG_LABEL}`,
      `kubectl -n ${SPIRE_NAMESPACE} logs -l ${WATCHDOG_LABEL} --tail=20`,
      `kubectl -n ${SPIRE_NAMESPACE} exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show -parentID ${OPERATOR_SPIFFE_ID} | head -n 1`,
      CILIUM_IDENTITIES,
    ],
    diagnosis: `The server counts fewer entries, on its \`Found\` line, than the last command counts identities while it is, ${SPIRE_WATCHDOG_MINUTES} minutes after the server's pod became ready. The watchdog's last Job says what it found (\`nothing to do\`: the agents and the operator started after the server; \`not ready\`: the server is not) and what it restarted; a failed Job, or none for minutes (the CronJob suspended, its pod not scheduled or its image not pulled), is why it did not recover: the commands below do it by hand.`,
    recover: [...SPIRE_RECOVERY_COMMANDS],
    lift: [],
    verify: [],
  };
}

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
 * connection, their authentication requests never processed) and SPIRE installed by the chart.
 *
 * The chart's SPIRE server is one StatefulSet replica with a SQLite datastore (not replicable).
 * Without `dataStorage` the chart mounts nothing at its data directory (`/run/spire/data`, the
 * datastore and the CA's keys): they live in the container's own filesystem, so every new
 * container (a pod replaced by a drain, a node's reboot, a container restart) starts with an
 * empty datastore and a new CA. Nothing re-issues what was lost (see `spireRecovery`): the
 * runbook restores it wherever it replaces the server's pod. Never on a volume of the `storage`
 * provider: Cilium is the CNI, in the first wave, and the storage provider needs pod networking,
 * so it comes later; the server's claim would stay Pending, Cilium's Application Progressing, and
 * the app-of-apps would wait for it forever (the Helm suite checks that no claim waits for a
 * later wave). And the storage provider's own pods talk under mutual authentication (Longhorn's
 * engines write to their replicas through such rules): a SPIRE server whose volume needs them
 * would never come back once it lost its pod.
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
          // The chart's default, named here because the runbook's SPIRE recovery names it too.
          trustDomain: SPIRE_TRUST_DOMAIN,
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
  // The pods of flows the platform's charts do not deploy (an application's own), and those of
  // their peers of the same component.
  const externalWorkloads = new Map<string, string>();
  for (const [component, contribution] of contributions) {
    for (const flow of contribution.flows ?? []) {
      if (flow.workloads !== 'external') continue;
      externalWorkloads.set(workloadKey(flow.namespace, flow.selector), component);
      if (flow.peer.kind === 'self') {
        externalWorkloads.set(
          workloadKey(flow.peer.namespace ?? flow.namespace, flow.peer.selector),
          component,
        );
      }
    }
  }
  return {
    manifests: zeroTrustPolicies(plan, {
      mutualAuthentication: network.mutualAuthentication,
      externalWorkloads,
    }),
    issues,
  };
}
