// Runs the real Cilium component through core's component run (definitions built with the one
// test factory, checked by the real validator) and renders its chart as Helm would.
import {
  type AnyComponent,
  type Cluster,
  type ClusterContribution,
  type ComponentOutput,
  type ComponentsResult,
  chartFiles,
  INITIAL_CHART_VERSION,
  type Issue,
  type RenderedChart,
  type ResolvedPlatform,
  renderChart,
} from '@homelab/core';
import { testReferenceClusters, testRun } from '@homelab/core/testing';
import { ciliumComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;

export interface CiliumRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
  /** Cilium's output, with what it made for other components placed in their charts. */
  readonly output: ComponentOutput;
  /** What Helm computes for each cluster's value files of charts/cilium. */
  readonly rendered: { readonly [cluster: string]: RenderedChart };
  /** What Cilium declared on each cluster. */
  readonly declared: { readonly [cluster: string]: ClusterContribution };
  /** Every issue of the run (settings, declarations, renders). */
  readonly issues: readonly Issue[];
}

/** Renders `definition` with Cilium (and `others`) as the registry. */
export function runCilium(definition: unknown, others: readonly AnyComponent[] = []): CiliumRun {
  const { platform, components } = testRun(definition, [ciliumComponent, ...others]);
  const run = components.components.find((entry) => entry.component.name === 'cilium');
  if (run?.output.chart === undefined) throw new Error('cilium rendered no chart');
  const { files, issues } = chartFiles(run.output.chart, INITIAL_CHART_VERSION);
  if (issues.length > 0) throw new Error(`chart issues: ${JSON.stringify(issues)}`);
  const rendered: { [cluster: string]: RenderedChart } = {};
  const declared: { [cluster: string]: ClusterContribution } = {};
  for (const cluster of components.clusters) {
    const name = cluster.cluster.name;
    rendered[name] = renderChart(files, [
      `env/${cluster.cluster.environment}.yaml`,
      `clusters/${name}.yaml`,
    ]);
    const own = cluster.contributions.get('cilium');
    if (own !== undefined) declared[name] = own;
  }
  return {
    platform,
    components,
    output: run.output,
    rendered,
    declared,
    issues: components.issues,
  };
}

/** `value`, or a thrown error naming what is missing. */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing ${what}`);
  return value;
}

/**
 * The reference fleet of the one factory (dev: 1 node, L2; staging: 3 control planes, L2; prod:
 * 3 + 3 workers, BGP) with two pools on prod, one of them for Services that select it.
 */
export function referenceClusters(): [Cluster, ...Cluster[]] {
  const [dev, staging, prod] = testReferenceClusters();
  const production = must(prod, 'prod');
  return [
    dev,
    must(staging, 'staging'),
    {
      ...production,
      network: {
        ...production.network,
        loadBalancerPools: [
          { name: 'default', cidr: '192.168.3.224/28' },
          {
            name: 'gateway',
            cidr: '192.168.3.240/28',
            serviceSelector: { 'homelab.dev/pool': 'gateway' },
          },
        ],
      },
    },
  ];
}
