// rollout-surge-room: a Deployment whose replicas must each have a node of their own (required
// pod anti-affinity on the hostname) and whose rollout keeps every old replica until a new one is
// ready (maxUnavailable 0) needs a node free of its replicas for the surge pod. Without one the
// surge pod stays Pending, the rollout never ends (ProgressDeadlineExceeded after 10 minutes,
// Argo CD reads the Deployment, and so its Application, Degraded), and every later sync wave
// waits. haPlan's `ha-rollout-stuck` keeps the platform's own workloads out of it; this check
// reads what is deployed, so that it also sees the upstream charts' own defaults (Kubernetes
// rounds a percentage maxSurge up and maxUnavailable down: 25% of 3 replicas is 1 and 0).

import { error, type Issue, warning } from './issues.js';
import { type Json, list, record } from './json-access.js';
import type { DeployedApplication, SystemCheck } from './system.js';
import type { KubeObject, ResolvedCluster, ResolvedNode } from './types.js';

const HOSTNAME = 'kubernetes.io/hostname';
/** Labels every Talos node carries (the kubelet's own), whatever the definition says. */
const WELL_KNOWN: { readonly [key: string]: string } = { 'kubernetes.io/os': 'linux' };
/** The taint Talos puts on control planes that run no workloads. */
const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** `value` of a rolling update as a number of pods, as the Deployment controller rounds it. */
export function rolloutPods(
  value: unknown,
  replicas: number,
  roundUp: boolean,
): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+%$/.test(value)) {
    const exact = (replicas * Number(value.slice(0, -1))) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return undefined;
}

interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

function taintsOf(cluster: ResolvedCluster, node: ResolvedNode): NodeTaint[] {
  return [
    ...node.taints,
    ...(node.role === 'controlplane' && !cluster.allowSchedulingOnControlPlanes
      ? [CONTROL_PLANE_TAINT]
      : []),
  ];
}

/** Kubernetes' toleration matching (`v1.Toleration.ToleratesTaint`). */
function tolerated(tolerations: readonly unknown[], taint: NodeTaint): boolean {
  return tolerations.some((entry) => {
    const toleration = record(entry);
    if (
      typeof toleration.effect === 'string' &&
      toleration.effect !== '' &&
      toleration.effect !== taint.effect
    )
      return false;
    if (toleration.key === undefined || toleration.key === '')
      return toleration.operator === 'Exists';
    if (toleration.key !== taint.key) return false;
    return toleration.operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '');
  });
}

/**
 * The nodes the pods of `template` can run on; `undefined` when a node selector names a label
 * the definition does not say (then nothing is claimed about the workload).
 */
function eligibleNodes(cluster: ResolvedCluster, template: Json): ResolvedNode[] | undefined {
  const spec = record(template.spec);
  const selector = record(spec.nodeSelector);
  const tolerations = list(spec.tolerations);
  const out: ResolvedNode[] = [];
  for (const node of cluster.nodes) {
    const labels: { [key: string]: string } = {
      ...WELL_KNOWN,
      [HOSTNAME]: node.hostname,
      ...node.labels,
    };
    const wanted = Object.entries(selector);
    if (wanted.some(([key]) => labels[key] === undefined)) return undefined;
    if (wanted.some(([key, value]) => labels[key] !== value)) continue;
    const blocking = taintsOf(cluster, node).filter(
      (taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute',
    );
    if (blocking.every((taint) => tolerated(tolerations, taint))) out.push(node);
  }
  return out;
}

/** Whether a required anti-affinity term on the hostname selects the workload's own pods. */
function spreadsItself(template: Json): boolean {
  return spreadTerm(template, 'required');
}

/**
 * Whether a pod anti-affinity term of `kind` on the hostname selects the workload's own pods
 * (a preferred term's `podAffinityTerm`).
 */
function spreadTerm(template: Json, kind: 'required' | 'preferred'): boolean {
  const podLabels = record(record(template.metadata).labels);
  const antiAffinity = record(record(record(template.spec).affinity).podAntiAffinity);
  const terms =
    kind === 'required'
      ? list(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution)
      : list(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution).map(
          (entry) => record(entry).podAffinityTerm,
        );
  return terms.some((entry) => {
    const term = record(entry);
    if (term.topologyKey !== HOSTNAME) return false;
    const selector = record(term.labelSelector);
    if (list(selector.matchExpressions).length > 0) return false;
    const matchLabels = Object.entries(record(selector.matchLabels));
    return matchLabels.length > 0 && matchLabels.every(([key, value]) => podLabels[key] === value);
  });
}

/** What blocks `object`'s rollouts on `cluster`, or `undefined` when nothing does. */
export function stuckRollout(
  cluster: ResolvedCluster,
  object: KubeObject,
): { replicas: number; nodes: number; maxSurge: number } | undefined {
  if (object.kind !== 'Deployment' || !String(object.apiVersion).startsWith('apps/'))
    return undefined;
  const spec = record(object.spec);
  const strategy = record(spec.strategy);
  if (strategy.type === 'Recreate') return undefined;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const template = record(spec.template);
  if (replicas < 1 || !spreadsItself(template)) return undefined;
  const rolling = record(strategy.rollingUpdate);
  const maxSurge = rolloutPods(rolling.maxSurge ?? '25%', replicas, true);
  const maxUnavailable = rolloutPods(rolling.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === undefined || maxUnavailable === undefined) return undefined;
  if (maxUnavailable > 0 || maxSurge === 0) return undefined;
  const nodes = eligibleNodes(cluster, template);
  if (nodes === undefined || replicas < nodes.length) return undefined;
  return { replicas, nodes: nodes.length, maxSurge };
}

export const rolloutSurgeRoom: SystemCheck = {
  name: 'rollout-surge-room',
  description:
    'A Deployment with required pod anti-affinity on the hostname and a rollout that keeps every replica (maxUnavailable 0) has a node free of its replicas for the surge pod.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications as readonly DeployedApplication[]) {
        for (const { object, source } of app.objects) {
          const stuck = stuckRollout(deployed.cluster, object);
          if (stuck === undefined) continue;
          issues.push(
            error({
              code: 'rollout-surge-room',
              path: app.origin,
              output: source,
              value: `Deployment ${object.metadata.namespace ?? ''}/${object.metadata.name}`,
              message: `${app.name} rolls Deployment ${object.metadata.name} out with maxUnavailable 0 and maxSurge ${stuck.maxSurge}, but required pod anti-affinity already puts its ${stuck.replicas} replicas on the ${stuck.nodes} node(s) of cluster "${deployed.cluster.name}" it can run on: the surge pod stays Pending and every rollout of it stalls (Degraded once its progress deadline passes)`,
              expected:
                'maxUnavailable 1 (maxSurge 0), preferred anti-affinity, or one more node its pods can run on',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * What `object` (a Deployment or StatefulSet) asks for more nodes than `cluster` gives its pods:
 * replicas that a pod anti-affinity term on the hostname wants on distinct nodes, outnumbering
 * the nodes its pods can run on. `undefined` when it fits, or nothing can be said (a node
 * selector on a label the definition does not set).
 */
export function replicasBeyondNodes(
  cluster: ResolvedCluster,
  object: KubeObject,
): { replicas: number; nodes: number; required: boolean } | undefined {
  if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') return undefined;
  if (!String(object.apiVersion).startsWith('apps/')) return undefined;
  const spec = record(object.spec);
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const template = record(spec.template);
  const required = spreadTerm(template, 'required');
  if (replicas < 2 || (!required && !spreadTerm(template, 'preferred'))) return undefined;
  const nodes = eligibleNodes(cluster, template);
  if (nodes === undefined || replicas <= nodes.length) return undefined;
  return { replicas, nodes: nodes.length, required };
}

// replicas-fit-nodes: a workload whose replicas are meant for distinct nodes (pod anti-affinity
// on the hostname selecting its own pods) has as many nodes to run on. Required: the replicas
// beyond the node count stay Pending forever (a StatefulSet's later ordinals are never even
// created), the workload never becomes healthy and neither does its Application. Preferred, on a
// production cluster: they share a node and add no availability, only requests (redis-ha's three
// Redis and three HAProxy on a one-node homelab did exactly that; staging asks for two replicas
// wherever it runs, development for one). haPlan sizes the platform's own workloads to the
// profile and the `ha-capacity` rule of the definition keeps production's replicas within its
// nodes; this check reads what is deployed, so that it also sees the upstream charts' own fixed
// counts.
export const replicasFitNodes: SystemCheck = {
  name: 'replicas-fit-nodes',
  description:
    'A Deployment or StatefulSet whose pod anti-affinity on the hostname selects its own pods has no more replicas than nodes it can run on: required, the rest stay Pending; preferred, on a production cluster, they share a node for no availability.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const production = deployed.cluster.environment === 'production';
      for (const app of deployed.applications as readonly DeployedApplication[]) {
        for (const { object, source } of app.objects) {
          const beyond = replicasBeyondNodes(deployed.cluster, object);
          if (beyond === undefined || (!beyond.required && !production)) continue;
          const what = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
          const where = `the ${beyond.nodes} node(s) of cluster "${deployed.cluster.name}" it can run on`;
          issues.push(
            beyond.required
              ? error({
                  code: 'replicas-fit-nodes',
                  path: app.origin,
                  output: source,
                  value: what,
                  message: `${app.name} runs ${beyond.replicas} replicas of ${object.kind} ${object.metadata.name} with required pod anti-affinity on the hostname, but has only ${where}: ${beyond.replicas - beyond.nodes} of them stay Pending forever and it never becomes healthy`,
                  expected: `at most ${beyond.nodes} replica(s), preferred anti-affinity, or more nodes its pods can run on`,
                })
              : warning({
                  code: 'replicas-fit-nodes',
                  path: app.origin,
                  output: source,
                  value: what,
                  message: `${app.name} runs ${beyond.replicas} replicas of ${object.kind} ${object.metadata.name}, meant for distinct nodes (pod anti-affinity on the hostname), on ${where}: ${beyond.replicas - beyond.nodes} of them share a node, which costs their requests and adds no availability`,
                  expected: `at most ${beyond.nodes} replica(s), or more nodes its pods can run on`,
                }),
          );
        }
      }
    }
    return issues;
  },
};
