// Layer 4 check of Cilium's L2 announcements (DESIGN.md, "Validation layers"): the interfaces the
// CiliumL2AnnouncementPolicy names are the nodes' links. A pattern no link matches (the old
// `^eth[0-9]+$` on metal, where Talos names links enp3s0) leaves nobody answering ARP for the
// LoadBalancer pool: every Service with a pool address, the Gateway among them, is unreachable.
import { error, type Issue, type KubeObject, type SystemCheck } from '@homelab/core';

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

/** Cilium's system checks. */
export const CILIUM_CHECKS: readonly SystemCheck[] = [l2InterfacesMatchLinks];
