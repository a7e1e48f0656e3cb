// Layer 4 check of Cilium's L2 announcements (DESIGN.md, "Validation layers"): the interfaces the
// CiliumL2AnnouncementPolicy names are the nodes' links. A pattern no link matches (the old
// `^eth[0-9]+$` on metal, where Talos names links enp3s0) leaves nobody answering ARP for the
// LoadBalancer pool: every Service with a pool address, the Gateway among them, is unreachable.
import {
  clusterRunbook,
  type DeployedApplication,
  deployedValues,
  error,
  type Issue,
  type KubeObject,
  loadBalancerPoolBlocks,
  type PathSegment,
  parseBoundedWait,
  parseIp,
  runbookPath,
  type SystemCheck,
  shellBlocks,
  type Values,
} from '@homelab/core';
import { CILIUM_GATEWAY_CLASS } from './constants.js';
import { platformNamespacesDefaultDeny } from './default-deny.js';
import { compileGoRegexp } from './go-regexp.js';
import { type Json, selects } from './reachability.js';
import { shortenK8sResourceName } from './shortener.js';
import { CILIUM_VALUES_KEY } from './values.js';

function patternsOf(policy: KubeObject): string[] | undefined {
  const spec = policy.spec as { interfaces?: unknown } | undefined;
  return Array.isArray(spec?.interfaces) ? spec.interfaces.map(String) : undefined;
}

/** The L2 policy announces on the links the nodes have. */
export const l2InterfacesMatchLinks: SystemCheck = {
  name: 'l2-interfaces-match-links',
  description:
    "The interfaces of Cilium's L2 announcement policy match every announcing node's link: each node that names its link matches a pattern, and patterns are only derived (not declared) when every node names its link (a link selected by hardware carries Talos' alias, no kernel name a pattern could match).",
  check({ clusters }) {
    const issues: Issue[] = [];
    for (const deployed of clusters) {
      const { cluster } = deployed;
      const declared = cluster.network.l2Announcements?.interfaces !== undefined;
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (object.kind !== 'CiliumL2AnnouncementPolicy') continue;
          const patterns = patternsOf(object);
          if (patterns === undefined) continue;
          // As Cilium compiles them (Go's regexp); one Go refuses matches nothing.
          const regexes = patterns.flatMap((pattern) => {
            const compiled = compileGoRegexp(pattern);
            return typeof compiled === 'string' ? [] : [compiled];
          });
          const announcing = cluster.workers.length > 0 ? cluster.workers : cluster.nodes;
          for (const node of announcing) {
            const name = node.link.name;
            const at = ['clusters', cluster.index, 'nodes', node.index, 'link'];
            if (name !== undefined && !regexes.some((regex) => regex.test(name))) {
              if (declared) continue; // the component warns where the definition chose patterns
              issues.push(
                error({
                  code: 'l2-interfaces-match-links',
                  path: [...at, 'name'],
                  output: source,
                  value: name,
                  message: `node "${node.hostname}" has link "${name}", which the L2 announcement interfaces (${patterns.join(', ')}) do not match: nobody on it answers ARP for the LoadBalancer pool`,
                  expected: 'L2 interfaces derived from the nodes\u2019 links',
                }),
              );
            } else if (name === undefined && !declared) {
              issues.push(
                error({
                  code: 'l2-interfaces-match-links',
                  path: at,
                  output: source,
                  value: node.link,
                  message: `node "${node.hostname}" selects its link by hardware (Talos alias "${node.linkName}"), yet the L2 announcement policy names interfaces (${patterns.join(', ')}) no one can check against its kernel name`,
                  expected:
                    'no interfaces in the policy (Cilium then announces on every interface it manages)',
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

function table(value: unknown): Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Values)
    : {};
}

/**
 * The chart's switches that restart a workload when its configuration changes (a checksum of
 * the ConfigMap in the pod template): the path of each, and whether the workload runs.
 */
const ROLL_OUT_SWITCHES: readonly {
  readonly path: readonly string[];
  readonly runs: (values: Values) => boolean;
}[] = [
  { path: ['rollOutCiliumPods'], runs: () => true },
  { path: ['operator', 'rollOutPods'], runs: (v) => table(v.operator).enabled !== false },
  { path: ['envoy', 'rollOutPods'], runs: (v) => table(v.envoy).enabled !== false },
  {
    path: ['hubble', 'relay', 'rollOutPods'],
    runs: (v) => table(v.hubble).enabled !== false && table(table(v.hubble).relay).enabled === true,
  },
  {
    path: ['hubble', 'ui', 'rollOutPods'],
    runs: (v) => table(v.hubble).enabled !== false && table(table(v.hubble).ui).enabled === true,
  },
];

/**
 * A configuration change synced from Git reaches the running Cilium pods: without the roll-out
 * switches the ConfigMap changes, the Application is Healthy, and the agents, the operator and
 * Envoy keep the old configuration until something restarts them.
 */
export const configRollsOut: SystemCheck = {
  name: 'cilium-config-rolls-out',
  description:
    "Cilium's values restart every workload that reads the generated configuration when it changes: `rollOutCiliumPods`, `operator.rollOutPods`, `envoy.rollOutPods`, and Hubble relay's and UI's `rollOutPods` where they run.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        if (app.component !== 'cilium' || app.bundle !== undefined) continue;
        const values = table(deployedValues(input, app)?.[CILIUM_VALUES_KEY]);
        const missing = ROLL_OUT_SWITCHES.filter(
          (entry) =>
            entry.runs(values) &&
            entry.path.reduce<unknown>((node, key) => table(node)[key], values) !== true,
        ).map((entry) => entry.path.join('.'));
        if (missing.length === 0) continue;
        issues.push(
          error({
            code: 'cilium-config-rolls-out',
            path: app.origin,
            output: `charts/cilium (values on cluster ${deployed.cluster.name})#${CILIUM_VALUES_KEY}`,
            value: missing,
            message: `Cilium on cluster "${deployed.cluster.name}" does not restart its pods when its configuration changes (${missing.join(', ')} not true): a change synced from Git is Healthy while the pods keep the old configuration`,
            expected: `${missing.map((path) => `${CILIUM_VALUES_KEY}.${path}: true`).join(', ')}`,
          }),
        );
      }
    }
    return issues;
  },
};

/** The labels Kubernetes and the definition give a node (what a node selector is matched with). */
function nodeLabels(node: {
  readonly hostname: string;
  readonly role: string;
  readonly labels: { readonly [key: string]: string };
}): Map<string, string> {
  const labels = new Map(Object.entries(node.labels));
  labels.set('kubernetes.io/hostname', node.hostname);
  labels.set('kubernetes.io/os', 'linux');
  if (node.role === 'controlplane') labels.set('node-role.kubernetes.io/control-plane', '');
  return labels;
}

function labelsOf(object: KubeObject): Map<string, string> {
  return new Map(Object.entries(object.metadata.labels ?? {}));
}

/**
 * Cilium's BGP control plane (v2 resources) peers and advertises only when its pieces hold
 * together: the agent runs it (`bgpControlPlane.enabled`), the cluster config's node selector
 * selects nodes of the cluster, every peer's `peerConfigRef` names a CiliumBGPPeerConfig, and
 * every address family of a peer config selects CiliumBGPAdvertisements by their labels. Any
 * broken link is silent: the session comes up with nothing announced, or never comes up.
 */
export const bgpWiring: SystemCheck = {
  name: 'cilium-bgp-wiring',
  description:
    "Where Cilium's BGP resources are deployed, the agent runs the BGP control plane (`bgpControlPlane.enabled`), the CiliumBGPClusterConfig's node selector selects nodes of the cluster, every peer's `peerConfigRef` names a CiliumBGPPeerConfig, and every address family of a peer config selects at least one CiliumBGPAdvertisement by its labels.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster } = deployed;
      const of = (kind: string) =>
        deployed.applications.flatMap((app) =>
          app.objects
            .filter(({ object }) => object.kind === kind)
            .map((entry) => ({ app, ...entry })),
        );
      const clusterConfigs = of('CiliumBGPClusterConfig');
      if (clusterConfigs.length === 0) continue;
      const peerConfigs = new Map(
        of('CiliumBGPPeerConfig').map((entry) => [entry.object.metadata.name, entry]),
      );
      const advertisements = of('CiliumBGPAdvertisement');
      const fail = (
        origin: readonly PathSegment[],
        output: string,
        value: unknown,
        message: string,
        expected: string,
      ) =>
        issues.push(
          error({
            code: 'cilium-bgp-wiring',
            path: origin,
            output,
            value,
            message,
            expected,
          }),
        );
      const cilium = deployed.applications.find(
        (app) => app.component === 'cilium' && app.bundle === undefined,
      );
      const values = table(
        cilium === undefined ? undefined : deployedValues(input, cilium)?.[CILIUM_VALUES_KEY],
      );
      if (table(values.bgpControlPlane).enabled !== true) {
        const first = clusterConfigs[0] as (typeof clusterConfigs)[number];
        fail(
          first.app.origin,
          `charts/cilium (values on cluster ${cluster.name})#${CILIUM_VALUES_KEY}.bgpControlPlane.enabled`,
          table(values.bgpControlPlane).enabled ?? null,
          `deploys CiliumBGPClusterConfig/${first.object.metadata.name} on cluster "${cluster.name}", but the Cilium agents run no BGP control plane: no session is ever opened`,
          `${CILIUM_VALUES_KEY}.bgpControlPlane.enabled: true`,
        );
      }
      for (const { app, object, source } of clusterConfigs) {
        const spec = table(object.spec);
        if (spec.nodeSelector !== undefined && spec.nodeSelector !== null) {
          const selector = table(spec.nodeSelector);
          if (!cluster.nodes.some((node) => selects(selector, nodeLabels(node)))) {
            fail(
              app.origin,
              source,
              spec.nodeSelector,
              `CiliumBGPClusterConfig/${object.metadata.name} selects no node of cluster "${cluster.name}": no node peers`,
              'a node selector matching the labels of the nodes that should peer (or none: every node)',
            );
          }
        }
        for (const instance of Array.isArray(spec.bgpInstances) ? spec.bgpInstances : []) {
          for (const peer of Array.isArray(table(instance).peers)
            ? (table(instance).peers as unknown[])
            : []) {
            const ref = table(table(peer).peerConfigRef).name;
            if (typeof ref !== 'string' || peerConfigs.has(ref)) continue;
            fail(
              app.origin,
              source,
              ref,
              `peer "${String(table(peer).name)}" of CiliumBGPClusterConfig/${object.metadata.name} on cluster "${cluster.name}" refers to CiliumBGPPeerConfig "${ref}", which is not deployed: the session has no address families and advertises nothing`,
              `one of the deployed CiliumBGPPeerConfigs: ${[...peerConfigs.keys()].join(', ') || 'none'}`,
            );
          }
        }
      }
      for (const { app, object, source } of peerConfigs.values()) {
        const families = table(object.spec).families;
        for (const family of Array.isArray(families) ? families : []) {
          const selector = table(family).advertisements;
          if (selector === undefined || selector === null) continue;
          const selected = advertisements.some(({ object: advertisement }) =>
            selects(table(selector), labelsOf(advertisement)),
          );
          if (selected) continue;
          fail(
            app.origin,
            source,
            selector,
            `the ${String(table(family).afi)}/${String(table(family).safi)} family of CiliumBGPPeerConfig/${object.metadata.name} on cluster "${cluster.name}" selects no CiliumBGPAdvertisement: the peers learn no route to the LoadBalancer addresses`,
            'an advertisements selector matching the labels of a deployed CiliumBGPAdvertisement',
          );
        }
      }
    }
    return issues;
  },
};

/**
 * BGP needs the routers' side too: until each neighbour accepts the nodes' sessions, no
 * LoadBalancer address (the Gateway's included) is reachable from outside, although LB IPAM
 * assigns it and the Gateway reads `Programmed`. So where a CiliumBGPClusterConfig is deployed,
 * the cluster's runbook names every neighbour (its address and AS) and, before the hand-over,
 * waits for each node the config selects until its CiliumBGPNodeConfig reports every session
 * of the instance `established` (one word per peer).
 */
export const bgpRunbookPeers: SystemCheck = {
  name: 'cilium-bgp-runbook-peers',
  description:
    "Where a CiliumBGPClusterConfig is deployed, the cluster's runbook names each of its peers (address and AS) and, before the hand-over, waits for every node it selects until the node's CiliumBGPNodeConfig reports each session of the instance established.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster } = deployed;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (runbook === undefined) continue;
      const lines = shellBlocks(runbook).flat();
      const handOver = lines.find((entry) =>
        entry.text.includes(`kubectl apply -f clusters/${cluster.name}/root-application.yaml`),
      )?.line;
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (object.kind !== 'CiliumBGPClusterConfig') continue;
          const spec = table(object.spec);
          const selector =
            spec.nodeSelector === undefined || spec.nodeSelector === null
              ? undefined
              : table(spec.nodeSelector);
          const nodes = cluster.nodes.filter(
            (node) => selector === undefined || selects(selector, nodeLabels(node)),
          );
          for (const instance of Array.isArray(spec.bgpInstances) ? spec.bgpInstances : []) {
            const name = String(table(instance).name);
            const peers = Array.isArray(table(instance).peers)
              ? (table(instance).peers as unknown[]).map(table)
              : [];
            if (peers.length === 0) continue;
            const fail = (value: unknown, message: string, expected: string) =>
              issues.push(
                error({
                  code: 'cilium-bgp-runbook-peers',
                  path: app.origin,
                  output: path,
                  value,
                  message,
                  expected,
                }),
              );
            for (const peer of peers) {
              const address = String(peer.peerAddress);
              const asn = String(peer.peerASN);
              if (runbook.includes(`\`${address}\`, AS ${asn}`)) continue;
              fail(
                `${String(peer.name)} ${address} AS ${asn}`,
                `the runbook of cluster "${cluster.name}" does not name BGP peer "${String(peer.name)}" (${address}, AS ${asn}) of ${source}: nobody configures that router, and nothing outside the cluster reaches a LoadBalancer address`,
                `the peer, its address and AS, in the runbook's BGP step`,
              );
            }
            const established = peers.map(() => 'established').join(' ');
            for (const node of nodes) {
              const wait = lines.find(
                (entry) =>
                  parseBoundedWait(entry.text)?.condition.includes(
                    `kubectl get ciliumbgpnodeconfigs.cilium.io ${node.hostname} `,
                  ) === true &&
                  entry.text.includes(`@.name=="${name}"`) &&
                  entry.text.includes(`[ "$out" = '${established}' ]`),
              );
              if (wait !== undefined && (handOver === undefined || wait.line < handOver)) continue;
              fail(
                node.hostname,
                wait === undefined
                  ? `the runbook of cluster "${cluster.name}" never waits for the BGP sessions of node ${node.hostname} (instance ${name}, ${peers.length} peer(s)): the hand-over goes on while no router may accept them`
                  : `the runbook of cluster "${cluster.name}" waits for the BGP sessions of node ${node.hostname} only after the hand-over (line ${wait.line})`,
                `a wait until CiliumBGPNodeConfig ${node.hostname} reports '${established}' for instance ${name}, before the hand-over`,
              );
            }
          }
        }
      }
    }
    return issues;
  },
};

/**
 * Whether a runbook line waits: a bounded wait (core `boundedWait`), a bare `until` loop or a
 * `kubectl … wait`.
 */
function isWait(text: string): boolean {
  return (
    parseBoundedWait(text) !== undefined ||
    text.startsWith('until ') ||
    /^kubectl\b.* wait /.test(text)
  );
}

/**
 * The SPIRE namespace where the Cilium chart, with the values as deployed, installs SPIRE with its
 * server's data in the container (`install.server.dataStorage.enabled: false`; the chart's default
 * keeps it on a claim), else undefined.
 */
function spireWithoutDatastore(
  input: Parameters<SystemCheck['check']>[0],
  app: DeployedApplication,
): string | undefined {
  const spire = table(
    table(table(table(deployedValues(input, app)?.[CILIUM_VALUES_KEY]).authentication).mutual)
      .spire,
  );
  const install = table(spire.install);
  if (
    spire.enabled !== true ||
    install.enabled === false ||
    table(table(install.server).dataStorage).enabled !== false
  ) {
    return undefined;
  }
  // The chart's default namespace (`authentication.mutual.spire.install.namespace`).
  return typeof install.namespace === 'string' ? install.namespace : 'cilium-spire';
}

/**
 * Without `dataStorage` the SPIRE server starts empty, with a new CA, whenever its container is
 * new, also where no runbook step replaced it (an OOM kill, a failed liveness probe, a node that
 * rebooted on its own, a power cut); cilium-operator registers the existing identities only when
 * it starts, so every connection under `authentication.mode: required` stays dropped until the
 * SPIRE agents and cilium-operator restart. The watchdog CronJob does that (spire-watchdog.ts):
 * deployed by Cilium's Application in the SPIRE namespace, not suspended, one run at a time, its
 * script restarting daemonset/spire-agent and then deployment/cilium-operator, its service
 * account allowed to patch exactly those by name (Roles bound in their namespaces) and never to
 * exec into a pod (an exec into the server could mint SVIDs).
 */
export const spireWatchdogCheck: SystemCheck = {
  name: 'cilium-spire-watchdog',
  description:
    "Where Cilium's SPIRE server keeps its data in its container (no dataStorage), Cilium's Application deploys in the SPIRE namespace a CronJob, not suspended and with concurrencyPolicy Forbid, whose script restarts daemonset/spire-agent and then deployment/cilium-operator, under a service account that Roles bound in those namespaces let patch exactly those two by name, and that nothing lets exec into a pod.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster } = deployed;
      const app = deployed.applications.find(
        (candidate) => candidate.component === 'cilium' && candidate.bundle === undefined,
      );
      if (app === undefined) continue;
      const namespace = spireWithoutDatastore(input, app);
      if (namespace === undefined) continue;
      const objects = app.objects;
      const fail = (
        output: string | undefined,
        value: unknown,
        message: string,
        expected: string,
      ) =>
        issues.push(
          error({
            code: 'cilium-spire-watchdog',
            path: app.origin,
            ...(output === undefined ? {} : { output }),
            value,
            message: `cluster "${cluster.name}": ${message}`,
            expected,
          }),
        );
      const restarts = (object: KubeObject): boolean => {
        const text = JSON.stringify(table(table(table(object.spec).jobTemplate).spec).template);
        const agents = text.indexOf('rollout restart daemonset/spire-agent');
        const operator = text.indexOf('rollout restart deployment/cilium-operator');
        return agents >= 0 && operator > agents;
      };
      const found = objects.find(
        ({ object }) =>
          object.kind === 'CronJob' && object.metadata.namespace === namespace && restarts(object),
      );
      const expected = `a CronJob in ${namespace} (the SPIRE watchdog) that restarts daemonset/spire-agent, then deployment/cilium-operator, after a new SPIRE server container`;
      if (found === undefined) {
        fail(
          undefined,
          undefined,
          `the SPIRE server keeps its data in its container, and nothing restarts the SPIRE agents and cilium-operator after a new server container (an OOM kill, a node's reboot, a power cut): until a human does, every connection that requires mutual authentication is dropped`,
          expected,
        );
        continue;
      }
      const cronJob = found.object;
      const spec = table(cronJob.spec);
      if (spec.suspend === true) {
        fail(
          found.source,
          true,
          `the SPIRE watchdog ${cronJob.metadata.name} is suspended`,
          expected,
        );
      }
      if (spec.concurrencyPolicy !== 'Forbid') {
        fail(
          found.source,
          spec.concurrencyPolicy,
          `the SPIRE watchdog ${cronJob.metadata.name} may run twice at once (concurrencyPolicy ${String(spec.concurrencyPolicy ?? 'Allow')}): two runs restart the workloads twice`,
          'concurrencyPolicy: Forbid',
        );
      }
      const account = String(
        table(table(table(table(spec.jobTemplate).spec).template).spec).serviceAccountName ??
          'default',
      );
      // The rules of every Role and ClusterRole bound to the account, with the namespace they hold in.
      const rules: { namespace: string | undefined; rule: Values }[] = [];
      for (const { object } of objects) {
        if (object.kind !== 'RoleBinding' && object.kind !== 'ClusterRoleBinding') continue;
        const subjects = Array.isArray(object.subjects) ? object.subjects.map(table) : [];
        if (
          !subjects.some(
            (subject) =>
              subject.kind === 'ServiceAccount' &&
              subject.name === account &&
              subject.namespace === namespace,
          )
        ) {
          continue;
        }
        const ref = table(object.roleRef);
        const where = object.kind === 'RoleBinding' ? object.metadata.namespace : undefined;
        const role = objects.find(
          ({ object: candidate }) =>
            candidate.kind === ref.kind &&
            candidate.metadata.name === ref.name &&
            (ref.kind === 'ClusterRole' || candidate.metadata.namespace === where),
        )?.object;
        for (const rule of Array.isArray(role?.rules) ? role.rules.map(table) : []) {
          rules.push({ namespace: where, rule });
        }
      }
      const has = (list: unknown, value: string): boolean =>
        Array.isArray(list) && (list.includes(value) || list.includes('*'));
      const allows = (where: string, group: string, resource: string, name: string, verb: string) =>
        rules.some(
          ({ namespace: held, rule }) =>
            (held === undefined || held === where) &&
            has(rule.apiGroups, group) &&
            has(rule.resources, resource) &&
            has(rule.verbs, verb) &&
            (rule.resourceNames === undefined || has(rule.resourceNames, name)),
        );
      for (const [where, resource, name] of [
        [namespace, 'daemonsets', 'spire-agent'],
        [app.namespace, 'deployments', 'cilium-operator'],
      ] as const) {
        if (!allows(where, 'apps', resource, name, 'patch')) {
          fail(
            found.source,
            account,
            `the SPIRE watchdog's service account ${namespace}/${account} may not patch ${resource}/${name} in ${where}: its restart is refused`,
            `a Role in ${where}, bound to ${namespace}/${account}, with patch (and get, list, watch for the rollout's status) on apps ${resource} named ${name}`,
          );
        }
      }
      const exec = rules.find(
        ({ rule }) =>
          has(rule.resources, 'pods/exec') && (has(rule.verbs, 'create') || has(rule.verbs, 'get')),
      );
      if (exec !== undefined) {
        fail(
          found.source,
          exec.rule,
          `the SPIRE watchdog's service account ${namespace}/${account} may exec into pods${exec.namespace === undefined ? '' : ` in ${exec.namespace}`}: into the SPIRE server, its credential could mint SVIDs`,
          'no pods/exec for the watchdog: it compares start times instead',
        );
      }
    }
    return issues;
  },
};

/**
 * Without `dataStorage`, the SPIRE server of Cilium's mutual authentication keeps its datastore
 * and its CA in its container: each new pod starts empty, with a new CA, and cilium-operator
 * registers the existing identities again only when it starts (operator/auth/watcher.go reacts
 * to CiliumIdentity events, with no resync). Until then every pod-to-pod connection under a rule
 * with `authentication.mode: required` is dropped, Longhorn's replica traffic among them. So in
 * the runbook, every command that replaces the server's pod (a node's drain, reboot, Talos
 * upgrade, the deletion of a lost node, where the server may run) is followed, before the next
 * node is touched and before any other wait, by the recovery: the server's rollout waited for,
 * cilium-operator restarted, and a wait until the server holds an entry for every identity. A
 * node that is cordoned and whose server pod was moved off and recovered needs nothing more, and
 * a drain (Talos' before an upgrade included) needs exactly that first: a server replaced while
 * the drain evicts the node's pods breaks their volumes' detach through longhorn-manager.
 */
export const spireRecovery: SystemCheck = {
  name: 'cilium-spire-recovery',
  description:
    "Where Cilium's SPIRE server keeps its data in its container (no dataStorage), the runbook drains a node it may run on (kubectl drain, Talos' drain before an upgrade) only once the node is cordoned, the server's pod moved off it and SPIRE recovered; and every other command that replaces its pod (a reboot, a lost node's deletion) is followed, before the next node is touched and before any other wait, by the SPIRE recovery: the server's rollout waited for, cilium-operator restarted, and a wait until the server holds an entry for every CiliumIdentity.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster } = deployed;
      const app = deployed.applications.find(
        (candidate) => candidate.component === 'cilium' && candidate.bundle === undefined,
      );
      if (app === undefined) continue;
      if (spireWithoutDatastore(input, app) === undefined) continue;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (typeof runbook !== 'string') continue;
      const hosts = new Set(cluster.schedulableNodes.map((node) => node.hostname));
      const byAddress = new Map(cluster.nodes.map((node) => [node.address, node.hostname]));
      const fail = (value: unknown, message: string, expected: string) =>
        issues.push(
          error({
            code: 'cilium-spire-recovery',
            path: app.origin,
            output: path,
            value,
            message,
            expected,
          }),
        );
      const recovery =
        'kubectl -n cilium-spire rollout status statefulset spire-server, kubectl -n kube-system rollout restart deployment cilium-operator (where entries are missing), then a wait until spire-server entry show counts an entry for every CiliumIdentity';
      const expected = `after it, before the next node and before any other wait: ${recovery}`;
      for (const block of shellBlocks(runbook)) {
        const cordoned = new Set<string>();
        const cleared = new Set<string>();
        let pending:
          | {
              node: string;
              line: number;
              text: string;
              moved: boolean;
              status: boolean;
              restart: boolean;
            }
          | undefined;
        for (const { line, text: written } of block) {
          // A line that a chain continues (a trailing `&&`) reads as the command it runs.
          const text = written.replace(/\s+&&$/, '');
          const cordon = /^kubectl cordon (\S+)$/.exec(text);
          if (cordon !== null) cordoned.add(cordon[1] as string);
          const moved =
            /^kubectl -n cilium-spire delete pod -l app=spire-server --field-selector spec\.nodeName=(\S+)(?: --timeout=\S+)?$/.exec(
              text,
            );
          // What evicts the node's pods while the server may be replaced with them: a drain,
          // Talos' own before an upgrade (a one-node cluster is never drained).
          const drain =
            /^kubectl drain (\S+)/.exec(text)?.[1] ??
            (cluster.nodes.length > 1
              ? byAddress.get(/^talosctl upgrade -n (\S+)/.exec(text)?.[1] ?? '')
              : undefined);
          const disruption =
            drain ??
            /^kubectl(?: --server \S+)? delete node (\S+)/.exec(text)?.[1] ??
            byAddress.get(/^talosctl (?:reboot|upgrade) -n (\S+)/.exec(text)?.[1] ?? '');
          if (
            drain !== undefined &&
            hosts.has(drain) &&
            !cleared.has(drain) &&
            pending?.node !== drain
          ) {
            fail(
              drain,
              `the runbook of cluster "${cluster.name}" drains node ${drain} (line ${line}: \`${written}\`) where the SPIRE server may run without moving the server off it and recovering SPIRE first: the drain replaces it while it evicts the node's pods, and until cilium-operator registered the identities again every connection that requires mutual authentication is dropped, the evicted pods' volume detach through longhorn-manager among them`,
              `before the drain: kubectl cordon ${drain}, the server's pod deleted (kubectl -n cilium-spire delete pod -l app=spire-server --field-selector spec.nodeName=${drain} --timeout=2m), then the recovery: ${recovery}`,
            );
            // Reported once: what follows on this node in the block is the same fault.
            cleared.add(drain);
          } else if (moved !== null && cordoned.has(moved[1] as string)) {
            pending = {
              node: moved[1] as string,
              line,
              text: written,
              moved: true,
              status: false,
              restart: false,
            };
          } else if (
            disruption !== undefined &&
            hosts.has(disruption) &&
            !cleared.has(disruption)
          ) {
            if (pending !== undefined && pending.node !== disruption) {
              fail(
                pending.node,
                `the runbook of cluster "${cluster.name}" replaces the SPIRE server's pod (line ${pending.line}: \`${pending.text}\`) and goes on to node ${disruption} (line ${line}) without recovering SPIRE: the new server starts empty and cilium-operator registers no existing identity again, so every connection that requires mutual authentication is dropped`,
                expected,
              );
              pending = undefined;
            }
            pending ??= {
              node: disruption,
              line,
              text: written,
              moved: false,
              status: false,
              restart: false,
            };
          } else if (pending !== undefined) {
            if (text.includes('rollout status statefulset spire-server')) pending.status = true;
            else if (
              pending.status &&
              text.includes('rollout restart deployment cilium-operator')
            ) {
              pending.restart = true;
            } else if (
              pending.restart &&
              parseBoundedWait(text)?.condition.includes('spire-server entry show') === true
            ) {
              if (pending.moved) cleared.add(pending.node);
              pending = undefined;
            } else if (isWait(text)) {
              fail(
                pending.node,
                `the runbook of cluster "${cluster.name}" replaces the SPIRE server's pod (line ${pending.line}: \`${pending.text}\`) and waits (line ${line}) before recovering SPIRE: what it waits for may need connections that require mutual authentication, dropped until cilium-operator registered the identities again`,
                expected,
              );
              pending = undefined;
            }
          }
        }
        if (pending !== undefined) {
          fail(
            pending.node,
            `the runbook of cluster "${cluster.name}" replaces the SPIRE server's pod (line ${pending.line}: \`${pending.text}\`) and never recovers SPIRE after it: the new server starts empty, with a new CA, and cilium-operator registers no existing identity again, so every connection that requires mutual authentication stays dropped`,
            expected,
          );
        }
      }
    }
    return issues;
  },
};

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute']);
const POLICY_KINDS = new Set(['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy']);

/** The `toFQDNs` names (`matchName`) of a Cilium policy's egress rules, `spec` and `specs`. */
function fqdnNames(policy: KubeObject): string[] {
  const record = policy as unknown as { spec?: unknown; specs?: unknown };
  const specs = [record.spec, ...(Array.isArray(record.specs) ? record.specs : [])];
  const names: string[] = [];
  for (const spec of specs) {
    const egress = (spec as { egress?: unknown } | undefined)?.egress;
    if (!Array.isArray(egress)) continue;
    for (const rule of egress) {
      const fqdns = (rule as { toFQDNs?: unknown } | undefined)?.toFQDNs;
      if (!Array.isArray(fqdns)) continue;
      for (const fqdn of fqdns) {
        const name = (fqdn as { matchName?: unknown } | undefined)?.matchName;
        if (typeof name === 'string') names.push(name.toLowerCase().replace(/\.$/, ''));
      }
    }
  }
  return names;
}

/**
 * A pod's connection to a host the cluster's own Gateway serves goes to the Gateway's address,
 * and Cilium takes it into its Envoy before any `toFQDNs` rule could match the name
 * (cilium/cilium#47768, "toFQDNs egress policy silently does not apply to hostnames served by
 * the cluster's own Gateway"; the maintainers: Envoy is a hop in the data path, #47617): under
 * default deny such a rule allows nothing, and the call times out. A call to a routed host must
 * be a `gateway` flow peer (core `routedHostPeer`), which the CNI provider allows as
 * `toEntities: [ingress]` plus the route's backends.
 */
export const fqdnRoutedHost: SystemCheck = {
  name: 'cilium-fqdn-routed-host',
  description:
    "No toFQDNs rule of a Cilium policy names a host the cluster's own Gateway routes (an HTTPRoute's, GRPCRoute's or TLSRoute's hostname): Cilium takes such a connection into its Envoy before the rule could match, so the rule allows nothing and the call times out under default deny; the flow must be a gateway peer.",
  check({ clusters }) {
    const issues: Issue[] = [];
    for (const deployed of clusters) {
      const routed = new Map<string, string>();
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (!ROUTE_KINDS.has(object.kind)) continue;
          const hostnames = (object.spec as { hostnames?: unknown } | undefined)?.hostnames;
          if (!Array.isArray(hostnames)) continue;
          for (const hostname of hostnames) {
            if (typeof hostname === 'string') routed.set(hostname.toLowerCase(), source);
          }
        }
      }
      if (routed.size === 0) continue;
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (!POLICY_KINDS.has(object.kind)) continue;
          for (const name of new Set(fqdnNames(object))) {
            const route = routed.get(name);
            if (route === undefined) continue;
            issues.push(
              error({
                code: 'cilium-fqdn-routed-host',
                path: app.origin,
                output: source,
                value: name,
                message: `the ${object.kind} ${object.metadata.name} on cluster "${deployed.cluster.name}" allows egress to ${name} with a toFQDNs rule, but the cluster's own Gateway routes that host (${route}): Cilium takes the connection into its Envoy before the rule can match, so it allows nothing and the call times out`,
                expected: `the flow's peer as the Gateway (a gateway peer with host ${name.split('.')[0]}; an application's fqdn flow to a routed host becomes one), which allows toEntities: [ingress] and the route's backends`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

/** LB IPAM's annotation of the addresses a Service asks for, and the alias Cilium's Gateway sets. */
const IPS_ANNOTATION = 'lbipam.cilium.io/ips';
const IPS_ANNOTATION_ALIAS = 'io.cilium/lb-ipam-ips';

/**
 * Cilium's LB IPAM gives a Gateway of Cilium's class the addresses it pins (`spec.addresses`,
 * Cilium's GatewayStaticAddresses, passed as the Service's `io.cilium/lb-ipam-ips` annotation:
 * operator/pkg/model/ingestion/gateway.go, v1.19.6): the Service Cilium makes for it
 * (`cilium-gateway-<name>` in the Gateway's namespace, both shortened to 63 characters as Cilium
 * shortens them, labelled with the Gateway's name and `spec.infrastructure.labels`) gets an address only from a
 * pool that is not disabled, selects that Service (`serviceSelector`, which may also name LB
 * IPAM's `io.kubernetes.service.namespace` and `io.kubernetes.service.name`), holds the address
 * in a block and does not keep it: under `allowFirstLastIPs: "No"` a CIDR block of four or more
 * addresses keeps its first and last (operator/pkg/lbipam, `handlePoolModified`). Otherwise the
 * Gateway never gets its address and the runbook's DNS record points at nothing.
 */
export const gatewayAddressAllocatable: SystemCheck = {
  name: 'gateway-address-allocatable',
  description:
    "Every address a Gateway of Cilium's class pins (`spec.addresses`) is one Cilium's LB IPAM gives its Service: inside a block of a CiliumLoadBalancerIPPool on the cluster that is not disabled, whose `serviceSelector` selects the Service (the Gateway's `spec.infrastructure.labels`, its namespace and name `cilium-gateway-<name>`, the name and the Gateway's own label shortened as Cilium shortens names over 63 characters; the infrastructure labels win over Cilium's two of the Gateway's name), and that is not the block's first or last address under `allowFirstLastIPs: \"No\"`; and no IPs annotation among the Gateway's `spec.infrastructure.annotations` (`lbipam.cilium.io/ips`, `io.cilium/lb-ipam-ips`), which wins over `spec.addresses`, asks for another address.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const all = deployed.applications.flatMap((app) =>
        app.objects.map((entry) => ({ app, ...entry })),
      );
      const pools = all.filter(({ object }) => object.kind === 'CiliumLoadBalancerIPPool');
      for (const { app, object, source } of all) {
        if (
          object.kind !== 'Gateway' ||
          !String(object.apiVersion).startsWith('gateway.networking.k8s.io/')
        )
          continue;
        const spec = table(object.spec);
        if (spec.gatewayClassName !== CILIUM_GATEWAY_CLASS) continue;
        const pinned = (Array.isArray(spec.addresses) ? spec.addresses : [])
          .map((entry) => table(entry))
          .filter((entry) => entry.type === undefined || entry.type === 'IPAddress')
          .map((entry) => String(entry.value ?? ''));
        // What LB IPAM is asked for: an IPs annotation among the infrastructure annotations wins
        // over spec.addresses (v1.19.6: ingestion/gateway.go sets `io.cilium/lb-ipam-ips` from
        // them only where it is absent; lbipam.go getSVCRequestedIPs reads
        // `lbipam.cilium.io/ips` first, even empty)
        const infrastructure = table(table(spec.infrastructure).annotations);
        const annotated = [IPS_ANNOTATION, IPS_ANNOTATION_ALIAS].find(
          (key) => infrastructure[key] !== undefined,
        );
        const addresses =
          annotated === undefined
            ? pinned
            : String(infrastructure[annotated])
                .split(',')
                .map((value) => value.trim())
                .filter((value) => value !== '');
        if (pinned.length === 0 && annotated === undefined) continue;
        const name = String(object.metadata.name);
        const namespace = String(object.metadata.namespace ?? app.namespace);
        // The Service's labels as Cilium writes them (translator.go desiredService): the
        // Gateway's name, shortened, under two keys, then the infrastructure labels over them
        // (`mergeMap` copies the right map into the left); then the two keys LB IPAM adds for
        // its selectors over all of them (service_store.go svcLabels), the Service's name
        // shortened as Cilium names it
        const labels = new Map<string, string>([
          ['io.cilium.gateway/owning-gateway', shortenK8sResourceName(name)],
          ['gateway.networking.k8s.io/gateway-name', shortenK8sResourceName(name)],
        ]);
        for (const [key, value] of Object.entries(table(table(spec.infrastructure).labels)))
          labels.set(key, String(value));
        labels.set('io.kubernetes.service.namespace', namespace);
        labels.set('io.kubernetes.service.name', shortenK8sResourceName(`cilium-gateway-${name}`));
        const ignored = pinned.filter((address) => !addresses.includes(address));
        if (annotated !== undefined && ignored.length > 0) {
          issues.push(
            error({
              code: 'gateway-address-allocatable',
              path: [...app.origin, 'address'],
              output: `${source}.spec.infrastructure.annotations`,
              value: String(infrastructure[annotated]),
              message: `Gateway ${namespace}/${name} on cluster "${deployed.cluster.name}" pins ${ignored.join(', ')}, but its infrastructure annotation ${annotated} asks LB IPAM for ${addresses.length === 0 ? 'nothing' : addresses.join(', ')}, which Cilium puts on the Service instead: the pinned address is never asked for`,
              expected: `no ${IPS_ANNOTATION} or ${IPS_ANNOTATION_ALIAS} among spec.infrastructure.annotations`,
            }),
          );
        }
        for (const address of addresses) {
          const ip = parseIp(address);
          if (ip === undefined) continue;
          const why: string[] = [];
          const gives = pools.some(({ object: pool }) => {
            const poolSpec = table(pool.spec);
            const poolName = String(pool.metadata.name);
            const holding = loadBalancerPoolBlocks(pool).find(
              (range) =>
                range.version === ip.version && range.first <= ip.value && ip.value <= range.last,
            );
            if (holding === undefined) return false;
            if (poolSpec.disabled === true) {
              why.push(`pool "${poolName}" holds it but is disabled`);
              return false;
            }
            const selector = poolSpec.serviceSelector;
            if (selector !== undefined && selector !== null && !selects(selector as Json, labels)) {
              why.push(
                `pool "${poolName}" holds it but its serviceSelector does not select the Gateway's Service (its labels: the Gateway's spec.infrastructure.labels)`,
              );
              return false;
            }
            if (holding.reserved.includes(ip.value)) {
              why.push(
                `it is the ${ip.value === holding.first ? 'first' : 'last'} address of ${holding.text} in pool "${poolName}", which keeps it (allowFirstLastIPs: "No")`,
              );
              return false;
            }
            return true;
          });
          if (gives) continue;
          issues.push(
            error({
              code: 'gateway-address-allocatable',
              path: [...app.origin, 'address'],
              output: `${source}.spec.addresses`,
              value: address,
              message: `Gateway ${namespace}/${name} on cluster "${deployed.cluster.name}" pins ${address}, which Cilium's LB IPAM never gives its Service: ${why.length === 0 ? 'no CiliumLoadBalancerIPPool on the cluster holds it' : why.join('; ')}. The Gateway would stay without its address, and DNS points there`,
              expected:
                'an address inside a pool that selects the Gateway\u2019s Service, not a block\u2019s first or last address',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** Cilium's system checks. */
export const CILIUM_CHECKS: readonly SystemCheck[] = [
  l2InterfacesMatchLinks,
  configRollsOut,
  bgpWiring,
  bgpRunbookPeers,
  spireRecovery,
  spireWatchdogCheck,
  fqdnRoutedHost,
  platformNamespacesDefaultDeny,
  gatewayAddressAllocatable,
];
