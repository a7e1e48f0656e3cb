// The l2-interfaces-match-links system check: it passes the policy the component derives from
// the nodes' links and fails, naming the node and the file, when the policy names interfaces the
// links do not have (issue 9, item 1: `^eth[0-9]+$` on metal).
import type { DeployedCluster, KubeObject } from '@homelab/core';
import { testCluster, testDefinition, testNodes } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { l2InterfacesMatchLinks } from '../src/index.js';
import { type AnyJson, runCilium } from './helpers.js';

/** The check on the policy Cilium renders for `lab`, with its interfaces replaced when given. */
function check(links: readonly object[], interfaces?: string[]) {
  const nodes = testNodes('lab', 4, links.length).map((node, i) => ({ ...node, link: links[i] }));
  const run = runCilium(
    testDefinition([testCluster('lab', 'development', 4, { nodes: nodes as AnyJson })]),
  );
  const cluster = run.components.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  const policy = run.rendered.lab?.objects.find(
    (object) => object.kind === 'CiliumL2AnnouncementPolicy',
  ) as KubeObject;
  const object: KubeObject =
    interfaces === undefined
      ? policy
      : { ...policy, spec: { ...(policy.spec as object), interfaces } };
  const deployed: DeployedCluster = {
    cluster: cluster.cluster,
    run: cluster,
    applications: [
      {
        name: 'cilium',
        component: 'cilium',
        bundle: undefined,
        wave: 1,
        namespace: 'kube-system',
        application: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: 'lab-cilium' },
        },
        objects: [
          { object, source: 'charts/cilium/clusters/lab.yaml#manifests.l2-announcement-policy' },
        ],
        installs: [],
        critical: true,
        origin: ['components', 'cilium'],
      },
    ],
  };
  return l2InterfacesMatchLinks.check({ platform: run.platform, clusters: [deployed], files: [] });
}

describe('l2-interfaces-match-links', () => {
  it('passes what the component derives: exact names, or no interfaces for links selected by hardware', () => {
    expect(check([{ name: 'enp1s0' }, { name: 'ens18' }])).toEqual([]);
    expect(check([{ hardwareAddr: '02:00:00:00:00:01' }, { name: 'ens18' }])).toEqual([]);
  });

  it('fails ^eth[0-9]+$ on nodes whose links are enp1s0 and ens18, naming each node and the file', () => {
    const issues = check([{ name: 'enp1s0' }, { name: 'ens18' }], ['^eth[0-9]+$']);
    expect(issues.map((issue) => [issue.code, issue.path, issue.output])).toEqual([
      [
        'l2-interfaces-match-links',
        ['clusters', 0, 'nodes', 0, 'link', 'name'],
        'charts/cilium/clusters/lab.yaml#manifests.l2-announcement-policy',
      ],
      [
        'l2-interfaces-match-links',
        ['clusters', 0, 'nodes', 1, 'link', 'name'],
        'charts/cilium/clusters/lab.yaml#manifests.l2-announcement-policy',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'node "lab-cp1" has link "enp1s0", which the L2 announcement interfaces (^eth[0-9]+$) do not match: nobody on it answers ARP for the LoadBalancer pool',
    );
  });

  it('fails any derived pattern where a node selects its link by hardware', () => {
    const issues = check([{ hardwareAddr: '02:00:00:00:00:01' }], ['^lan0$']);
    expect(issues.map((issue) => issue.path)).toEqual([['clusters', 0, 'nodes', 0, 'link']]);
    expect(issues[0]?.message).toContain('selects its link by hardware (Talos alias "lan0")');
  });
});
