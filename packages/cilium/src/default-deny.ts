// Layer 4 check of Cilium's default deny across components: every namespace a component covers
// with its flows is selected by the generated `homelab-default-deny` policy, as deployed. A
// namespace another component leaves without flows (an application declaring none,
// `flowlessNamespaces`, or a component declaring no flows at all) is left out of that policy
// (flows.ts, planFlows), so sharing it takes the first component's pods out of zero trust: they
// then accept and send anything (Prometheus, Grafana and Alertmanager in `monitoring`).
import {
  type ClusterContribution,
  compareStrings,
  error,
  type Issue,
  type KubeObject,
  type SystemCheck,
} from '@homelab/core';
import { DEFAULT_DENY_POLICY, NAMESPACE_LABEL } from './policies.js';
import { selects } from './reachability.js';
import { clusterCiliumSettings, resolveNetworkPolicy } from './settings.js';

/** The namespaces a component's flows cover: all of its own but those it leaves without flows. */
export function coveredNamespaces(contribution: ClusterContribution): string[] {
  if (contribution.flows === undefined) return [];
  const application = contribution.application;
  const own = new Set<string>([
    ...(application === undefined
      ? []
      : [application.namespace, ...(application.additionalNamespaces ?? [])]),
    ...contribution.flows.map((flow) => flow.namespace),
  ]);
  for (const namespace of contribution.flowlessNamespaces ?? []) own.delete(namespace);
  return [...own].sort(compareStrings);
}

/** The components that leave `namespace` without flows (and so outside default deny). */
function openers(
  contributions: ReadonlyMap<string, ClusterContribution>,
  namespace: string,
): string[] {
  const out: string[] = [];
  for (const [component, contribution] of contributions) {
    const application = contribution.application;
    const own = [
      ...(application === undefined
        ? []
        : [application.namespace, ...(application.additionalNamespaces ?? [])]),
      ...(contribution.flows ?? []).map((flow) => flow.namespace),
    ];
    if (
      (contribution.flowlessNamespaces ?? []).includes(namespace) ||
      (contribution.flows === undefined && own.includes(namespace))
    ) {
      out.push(component);
    }
  }
  return out.sort(compareStrings);
}

function isDefaultDeny(object: KubeObject): boolean {
  return (
    object.kind === 'CiliumClusterwideNetworkPolicy' &&
    object.metadata.name === DEFAULT_DENY_POLICY &&
    object.metadata.namespace === undefined
  );
}

/** Whether the default-deny policy selects the pods of `namespace`. */
function denies(policy: KubeObject | undefined, namespace: string): boolean {
  const selector = (policy?.spec as { endpointSelector?: unknown } | undefined)?.endpointSelector;
  if (typeof selector !== 'object' || selector === null) return false;
  // A pod of the namespace with no label of its own: the policy selects it by namespace alone.
  return selects(selector as never, new Map([[NAMESPACE_LABEL.replace(/^k8s:/, ''), namespace]]));
}

export const platformNamespacesDefaultDeny: SystemCheck = {
  name: 'platform-namespaces-default-deny',
  description:
    "Wherever Cilium's default deny is on, the deployed homelab-default-deny policy selects every namespace a component covers with its flows: no other component (an application without flows, a component declaring none) takes it out by sharing it.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const { cluster, run } = deployed;
      // As deployed: without Cilium's Application (no GitOps controller) nothing is read back.
      if (!run.contributions.has('cilium')) continue;
      if (!deployed.applications.some((app) => app.component === 'cilium')) continue;
      const settings = clusterCiliumSettings(input.platform, cluster);
      if (!resolveNetworkPolicy(settings, cluster).defaultDeny) continue;
      const objects = deployed.applications.flatMap((app) => app.objects);
      const found = objects.find((item) => isDefaultDeny(item.object));
      const components = [...run.contributions.keys()].sort(compareStrings);
      for (const component of components) {
        const contribution = run.contributions.get(component) as ClusterContribution;
        for (const namespace of coveredNamespaces(contribution)) {
          if (denies(found?.object, namespace)) continue;
          const open = openers(run.contributions, namespace).filter((name) => name !== component);
          const blamed = open[0] ?? 'cilium';
          issues.push(
            error({
              code: 'platform-namespaces-default-deny',
              path: ['clusters', cluster.index, 'components', blamed],
              ...(found === undefined ? {} : { output: found.source }),
              value: namespace,
              message:
                open.length > 0
                  ? `namespace "${namespace}", where ${component} declares its flows, is outside Cilium's default deny on cluster "${cluster.name}" because ${open.join(', ')} ${open.length === 1 ? 'leaves' : 'leave'} it without flows: ${component}'s pods there accept and send anything`
                  : `namespace "${namespace}", where ${component} declares its flows, is not selected by ${DEFAULT_DENY_POLICY} on cluster "${cluster.name}": ${component}'s pods there accept and send anything`,
              expected:
                open.length > 0
                  ? `${open.join(', ')} in ${open.length === 1 ? 'a namespace of its own' : 'namespaces of their own'} (an application: its own namespace), or flows for every pod it runs in "${namespace}"`
                  : `${DEFAULT_DENY_POLICY} selecting every namespace under the components' flows`,
            }),
          );
        }
      }
    }
    return issues;
  },
};
