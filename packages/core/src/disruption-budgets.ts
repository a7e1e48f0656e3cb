// PodDisruptionBudgets that allow no eviction: with every pod they protect healthy, the
// disruption controller's `disruptionsAllowed` is 0, so the Eviction API refuses each of their
// pods and a node drain waits on them until it times out. Pure: no fs, no env, no clock.
//
// As the disruption controller (k8s.io/kubernetes pkg/controller/disruption, `getExpectedPodCount`
// and `updatePdbStatus`) computes it: the expected pods are the replicas of the controllers of the
// pods the budget selects (Deployment, ReplicaSet, StatefulSet; `spec.replicas`, 1 when unset); a
// `maxUnavailable` of N pods or P% (rounded up) allows that many; a `minAvailable` of N pods or
// P% (rounded up) allows the expected count minus that. DaemonSet pods are left out here: `kubectl
// drain --ignore-daemonsets` and Talos' drain never evict them.
import { isJson, type Json, list } from './json-access.js';
import { podTemplateOf } from './pod-security.js';
import { compareStrings } from './yaml.js';

/** A budget over workloads of the render, and the evictions it allows when all are healthy. */
export interface DisruptionBudget {
  /** `<namespace>/<name>`. */
  readonly budget: string;
  /** The workloads whose pods it selects (`Deployment <namespace>/<name>`, …). */
  readonly workloads: readonly string[];
  /** The pods it expects (their replicas). */
  readonly expected: number;
  /** `minAvailable: 1` or `maxUnavailable: 0`, as written. */
  readonly rule: string;
  /** `disruptionsAllowed` with every expected pod healthy. */
  readonly allowed: number;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Kubernetes' label selector (`metav1.LabelSelectorAsSelector`) on `labels`. */
export function labelSelectorMatches(selector: unknown, labels: Json): boolean {
  if (!isJson(selector)) return false;
  const matchLabels = isJson(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = list(selector.matchExpressions).filter(isJson);
  // An empty selector selects everything (policy/v1).
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return expressions.every((expression) => {
    const key = text(expression.key) ?? '';
    const values = list(expression.values).map(String);
    const has = Object.hasOwn(labels, key);
    switch (expression.operator) {
      case 'In':
        return has && values.includes(String(labels[key]));
      case 'NotIn':
        return !has || !values.includes(String(labels[key]));
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** `value` (pods or a percentage of `expected`, rounded up), or `undefined` when unreadable. */
function scaled(value: unknown, expected: number): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+%$/.test(value)) {
    return Math.ceil((expected * Number(value.slice(0, -1))) / 100);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

const CONTROLLERS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet']);

/**
 * The budgets among `items` (each with the namespace it is applied to when it names none) over
 * workloads among `items`, with the evictions each allows once those pods are all healthy. A
 * budget that selects no workload of `items` (its pods come from elsewhere), or sets neither
 * `minAvailable` nor `maxUnavailable` (no pod must stay), is left out. Sorted by budget.
 */
export function disruptionBudgets(
  items: readonly { readonly namespace: string; readonly object: unknown }[],
): DisruptionBudget[] {
  const at = (namespace: string, object: Json) =>
    text(isJson(object.metadata) ? object.metadata.namespace : undefined) ?? namespace;
  const workloads: {
    namespace: string;
    name: string;
    kind: string;
    replicas: number;
    labels: Json;
  }[] = [];
  for (const { namespace, object } of items) {
    if (!isJson(object) || !CONTROLLERS.has(String(object.kind))) continue;
    if (!String(object.apiVersion).startsWith('apps/')) continue;
    const template = podTemplateOf(object);
    if (template === undefined) continue;
    const spec = isJson(object.spec) ? object.spec : {};
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    workloads.push({
      namespace: at(namespace, object),
      name: String((object.metadata as Json | undefined)?.name),
      kind: String(object.kind),
      replicas,
      labels: isJson(template.metadata.labels) ? template.metadata.labels : {},
    });
  }
  const out: DisruptionBudget[] = [];
  for (const { namespace, object } of items) {
    if (!isJson(object) || object.kind !== 'PodDisruptionBudget') continue;
    if (object.apiVersion !== 'policy/v1') continue;
    const spec = isJson(object.spec) ? object.spec : {};
    const budgetNamespace = at(namespace, object);
    const selected = workloads.filter(
      (workload) =>
        workload.namespace === budgetNamespace &&
        labelSelectorMatches(spec.selector, workload.labels),
    );
    if (selected.length === 0) continue;
    const expected = selected.reduce((sum, { replicas }) => sum + replicas, 0);
    let allowed: number | undefined;
    let rule: string;
    if (spec.maxUnavailable !== undefined) {
      allowed = scaled(spec.maxUnavailable, expected);
      rule = `maxUnavailable: ${String(spec.maxUnavailable)}`;
    } else if (spec.minAvailable !== undefined) {
      const minimum = scaled(spec.minAvailable, expected);
      allowed = minimum === undefined ? undefined : expected - minimum;
      rule = `minAvailable: ${String(spec.minAvailable)}`;
    } else continue;
    if (allowed === undefined) continue;
    out.push({
      budget: `${budgetNamespace}/${String((object.metadata as Json | undefined)?.name)}`,
      workloads: selected.map(({ kind, namespace: ns, name }) => `${kind} ${ns}/${name}`).sort(),
      expected,
      rule,
      allowed: Math.max(0, allowed),
    });
  }
  return out.sort((a, b) => compareStrings(a.budget, b.budget));
}

/** The budgets of `disruptionBudgets` over some pod that allow no eviction when all are healthy. */
export function blockingDisruptionBudgets(
  items: readonly { readonly namespace: string; readonly object: unknown }[],
): DisruptionBudget[] {
  // Over no pod (replicas 0) there is nothing to evict.
  return disruptionBudgets(items).filter(({ allowed, expected }) => allowed === 0 && expected > 0);
}
