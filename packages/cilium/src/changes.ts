// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// The policies that select pods the platform's charts do not deploy (an application's own
// workloads: flows with `workloads: 'external'`, labelled EXTERNAL_WORKLOADS_LABEL) name those
// pods by labels the user gave their workloads once, following the runbook. Nothing in the
// cluster relabels them: a build whose policies select other labels in the same namespace (an
// application renamed with its namespace kept, a flow's `selector` changed) leaves the running
// pods matching no allow rule under default deny once it syncs.
import {
  type ChangeCheck,
  type ChangedObject,
  compareStrings,
  type Issue,
  isJson as isTable,
  settingsPath,
  warning,
  wordList,
} from '@homelab/core';
import { EXTERNAL_WORKLOADS_LABEL, selectorText } from './policies.js';

/** The selectors of external workloads' policies, by namespace, with the declaring component. */
function externalSelectors(
  objects: readonly ChangedObject[],
): Map<string, { component: string; chart: string; selectors: Set<string> }> {
  const out = new Map<string, { component: string; chart: string; selectors: Set<string> }>();
  for (const { chart, object } of objects) {
    if (object.apiVersion !== 'cilium.io/v2' || object.kind !== 'CiliumNetworkPolicy') continue;
    const component = object.metadata.labels?.[EXTERNAL_WORKLOADS_LABEL];
    const namespace = object.metadata.namespace;
    if (typeof component !== 'string' || namespace === undefined) continue;
    const spec = isTable(object.spec) ? object.spec : {};
    const selector = isTable(spec.endpointSelector) ? spec.endpointSelector : {};
    const labels = isTable(selector.matchLabels) ? selector.matchLabels : {};
    const known = out.get(namespace) ?? { component, chart, selectors: new Set<string>() };
    known.selectors.add(selectorText(labels));
    out.set(namespace, known);
  }
  return out;
}

/** `a`, `a or b`, `a, b or c`, each in backquotes. */
function either(items: readonly string[]): string {
  return wordList(
    items.map((item) => `\`${item}\``),
    'or',
  );
}

/**
 * The pods an external workloads' policy selected in a namespace, which no such policy of the
 * namespace selects any more while others do: a warning naming the old and the new labels.
 */
export const workloadSelectorCheck: ChangeCheck = {
  name: 'cilium-workload-selector-changed',
  description:
    "The zero-trust policies that allow the flows of workloads the platform does not deploy (an application's own) keep selecting the pod labels the last build's selected in each namespace, or the build names the labels to give those pods: nothing in the cluster relabels them, and under default deny pods that no policy selects lose every declared flow.",
  check({ cluster, before, after }) {
    const was = externalSelectors(before);
    const now = externalSelectors(after);
    const issues: Issue[] = [];
    for (const [namespace, current] of [...now].sort(([a], [b]) => compareStrings(a, b))) {
      const last = was.get(namespace);
      if (last === undefined) continue;
      const gone = [...last.selectors]
        .filter((text) => !current.selectors.has(text))
        .sort(compareStrings);
      if (gone.length === 0) continue;
      const added = [...current.selectors]
        .filter((text) => !last.selectors.has(text))
        .sort(compareStrings);
      issues.push(
        warning({
          code: 'cilium-workload-selector-changed',
          path: settingsPath(cluster, current.component),
          output: `charts/${current.chart}`,
          value: namespace,
          message: `is a namespace of workloads deployed outside the platform whose policies on cluster "${cluster.name}" no longer select pods labelled ${either(gone)}, as the last build's did${added.length === 0 ? '' : `, but ${either(added)}`}: nothing relabels the running pods, so under default deny those still labelled so lose every flow the policies allowed (the Gateway's requests, their calls out) once this change syncs`,
          expected:
            added.length === 0
              ? `the pods of namespace "${namespace}" given the labels the policies select (the cluster's runbook lists them) before this change syncs`
              : `the pods of namespace "${namespace}" labelled ${either(added)} (the cluster's runbook lists the labels) before this change syncs, or the labels kept (an application renamed: its flows' \`selector\` set to the old labels)`,
        }),
      );
    }
    return issues;
  },
};

export const CILIUM_CHANGES: readonly ChangeCheck[] = [workloadSelectorCheck];
