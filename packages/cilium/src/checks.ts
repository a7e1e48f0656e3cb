// Layer 4 check of Cilium's L2 announcements (DESIGN.md, "Validation layers"): the interfaces the
// CiliumL2AnnouncementPolicy names are the nodes' links. A pattern no link matches (the old
// `^eth[0-9]+$` on metal, where Talos names links enp3s0) leaves nobody answering ARP for the
// LoadBalancer pool: every Service with a pool address, the Gateway among them, is unreachable.
import {
  deployedValues,
  error,
  type Issue,
  type KubeObject,
  type SystemCheck,
  type Values,
} from '@homelab/core';
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
          const regexes = patterns.flatMap((pattern) => {
            try {
              return [new RegExp(pattern)];
            } catch {
              return [];
            }
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

/** Cilium's system checks. */
export const CILIUM_CHECKS: readonly SystemCheck[] = [l2InterfacesMatchLinks, configRollsOut];
