// Runs the real Longhorn component through core's component run (definitions built with the one
// test factory, checked by the real validator) and computes what Helm renders per cluster.
import {
  type AnyComponent,
  type Cluster,
  type ComponentOutput,
  type ComponentsResult,
  chartFiles,
  type DataDisk,
  type DeployedCluster,
  INITIAL_CHART_VERSION,
  type Issue,
  type Node,
  type RenderedChart,
  type ResolvedPlatform,
  renderChart,
  type Values,
  type VolumeRequest,
} from '@homelab/core';
import {
  deployedCharts,
  testCluster,
  testComponent,
  testDefinition,
  testNetwork,
  testNode,
  testNodes,
  testRun,
} from '@homelab/core/testing';

export { chartObjects } from '@homelab/core/testing';

import { longhornComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;

/** The CNI the component needs, as a test component. */
export const cni = testComponent({
  name: 'cni',
  provides: ['cni'],
  contribution: () => ({
    facts: { cni: { kubeProxyReplacement: true, networkPolicy: true, namespace: 'kube-system' } },
  }),
});

export const fast = (name = 'fast', serial = 'S1'): DataDisk => ({
  name,
  selector: { serial },
  class: 'ssd',
  tier: 'fast-storage',
});

export const bulk = (name = 'bulk', model = 'WDC WD40EFRX'): DataDisk => ({
  name,
  selector: { model },
  class: 'hdd',
  tier: 'archive',
  minSize: '1TiB',
});

function withDisks(nodes: readonly Node[], disks: (node: Node, i: number) => DataDisk[]): Node[] {
  return nodes.map((node, i) => ({ ...node, storage: true, disks: disks(node, i) }));
}

/**
 * The reference shape: dev (one node with an SSD), staging (three control planes with an SSD
 * each), prod (three control planes, three workers with an SSD and an HDD each).
 */
export function storageClusters(): [Cluster, ...Cluster[]] {
  const { l2Announcements: _l2, lanCidr: _lan, ...prodNetwork } = testNetwork(3);
  return [
    testCluster('dev', 'development', 1, {
      nodes: withDisks(testNodes('dev', 1, 1), () => [fast()]) as [Node, ...Node[]],
    }),
    testCluster('staging', 'staging', 2, {
      nodes: withDisks(testNodes('staging', 2, 3), (_, i) => [fast('fast', `S${i}`)]) as [
        Node,
        ...Node[],
      ],
    }),
    testCluster('prod', 'production', 3, {
      nodes: [
        ...testNodes('prod', 3, 3),
        ...withDisks(testNodes('prod', 3, 3, 'worker', 21), (_, i) => [
          fast('fast', `S${i}`),
          bulk(),
        ]),
      ] as [Node, ...Node[]],
      network: {
        ...prodNetwork,
        bgp: { localAsn: 64513, peers: [{ name: 'router', address: '192.168.3.1', asn: 64512 }] },
      },
    }),
  ];
}

export { testNode, testNodes };

/** A component that declares `volumes` on every cluster, with a chart to receive the claims. */
export function consumer(name: string, volumes: readonly VolumeRequest[]): AnyComponent {
  return testComponent({
    name,
    needs: ['storage'],
    chart: true,
    contribution: () => ({ volumes }),
  });
}

export interface LonghornRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  readonly output: ComponentOutput;
  /** What Helm computes for each cluster's value files of charts/longhorn. */
  readonly rendered: { readonly [cluster: string]: RenderedChart };
  readonly issues: readonly Issue[];
}

export const TEST_BACKUP_TARGET = {
  endpoint: 'https://s3.example.com',
  bucket: 'homelab-longhorn',
  region: 'us-east-1',
};

/** The definition of `clusters` with longhorn settings `settings` for every cluster. */
export function definition(
  clusters: readonly Cluster[] = storageClusters(),
  settings: Values = { backupTarget: TEST_BACKUP_TARGET },
) {
  return testDefinition(clusters, { components: { longhorn: settings } });
}

export function runLonghorn(
  input: unknown = definition(),
  others: readonly AnyComponent[] = [],
): LonghornRun {
  const { platform, components } = testRun(input, [cni, longhornComponent, ...others]);
  const run = components.components.find((entry) => entry.component.name === 'longhorn');
  if (run?.output.chart === undefined) {
    throw new Error(`longhorn rendered no chart: ${JSON.stringify(components.issues)}`);
  }
  const { files, issues } = chartFiles(run.output.chart, INITIAL_CHART_VERSION);
  if (issues.length > 0) throw new Error(`chart issues: ${JSON.stringify(issues)}`);
  const rendered: { [cluster: string]: RenderedChart } = {};
  for (const cluster of components.clusters) {
    const name = cluster.cluster.name;
    rendered[name] = renderChart(files, [
      `env/${cluster.cluster.environment}.yaml`,
      `clusters/${name}.yaml`,
    ]);
  }
  return { platform, components, output: run.output, rendered, issues: components.issues };
}

/** The platform as layer 4 sees it: one Application per chart, holding what it renders. */
export function deployed(run: Pick<LonghornRun, 'components'>): DeployedCluster[] {
  return deployedCharts(run.components);
}
