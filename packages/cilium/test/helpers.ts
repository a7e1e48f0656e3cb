import type { ComponentOutput } from '@homelab/core';
import { chartFiles, type RenderedChart, type ResolvedPlatform, renderChart } from '@homelab/core';
import { type CiliumVersion, renderCilium } from '../src/index.js';

/** Renders the platform's Cilium chart and what Helm computes for each cluster's value files. */
export function renderClusters(
  platform: ResolvedPlatform,
  version?: CiliumVersion,
): { output: ComponentOutput; rendered: { [cluster: string]: RenderedChart } } {
  const output = renderCilium(platform, version === undefined ? {} : { version });
  if (output.chart === undefined) throw new Error('renderCilium returned no chart');
  const { files, issues } = chartFiles(output.chart, '0.1.0');
  if (issues.length > 0) throw new Error(`chart issues: ${JSON.stringify(issues)}`);
  const rendered: { [cluster: string]: RenderedChart } = {};
  for (const cluster of platform.clusters) {
    rendered[cluster.name] = renderChart(files, [
      `env/${cluster.environment}.yaml`,
      `clusters/${cluster.name}.yaml`,
    ]);
  }
  return { output, rendered };
}

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;
