// The build shares data instead of copying it: a chart's layers are merged per cluster with
// `mergeValuesShared` (the rendered objects are the layers' own objects), the system checks read
// the values files' remembered data (core emitted.ts), and an environment's shared layer holds
// subtrees of its clusters' layers (core layers.ts). That is only correct while nothing modifies
// what it reads. These tests build a fleet with two clusters per environment and the reference,
// then check that what the files were emitted from is still what they say: the component's charts
// give the same files again, and every values file's remembered data equals its parsed text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chartFiles,
  emittedValues,
  type GeneratedFile,
  type KubeObject,
  parseYaml,
  type SystemInput,
  shareEnvironmentValues,
} from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHART_VERSION, type GenerateResult, generate } from '../src/pipeline.js';

const { fleetDefinition } = (await import(join(repoRoot(), 'examples/fleet/generate.mjs'))) as {
  fleetDefinition: (count: number) => string;
};
const reference = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

async function build(
  text: string,
  beforeSystemChecks?: (input: SystemInput) => SystemInput,
): Promise<GenerateResult> {
  const result = await generate(
    { text, file: 'platform.yaml', chartVersions: {} },
    beforeSystemChecks ? { beforeSystemChecks } : {},
  );
  const errors = result.issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) throw new Error(`does not build: ${errors[0]?.message}`);
  return result;
}

/** Where the files no longer match what they were generated from, one line each. */
function drift(result: GenerateResult): string[] {
  const problems: string[] = [];
  const byPath = new Map(result.files.map((file) => [file.path, file]));
  const environmentOf = new Map(
    (result.platform?.clusters ?? []).map((cluster) => [cluster.name, cluster.environment]),
  );
  for (const run of result.components?.components ?? []) {
    const chart = run.output.chart;
    if (chart === undefined) continue;
    const shared = shareEnvironmentValues(chart, (cluster) => environmentOf.get(cluster));
    for (const file of chartFiles(shared, DEFAULT_CHART_VERSION).files) {
      if (byPath.get(file.path)?.content !== file.content) {
        problems.push(`${file.path}: the component's chart now gives other content`);
      }
    }
  }
  for (const file of result.files) {
    const remembered = emittedValues(file as GeneratedFile);
    if (remembered === undefined) continue;
    if (JSON.stringify(remembered) !== JSON.stringify(parseYaml(file.content))) {
      problems.push(`${file.path}: its remembered data differs from its text`);
    }
  }
  return problems;
}

describe('data shared between stages is never modified', () => {
  it('on a fleet with two clusters per environment', async () => {
    const result = await build(fleetDefinition(6));
    const layer = result.files.find((file) => file.path === 'charts/cilium/env/development.yaml');
    // The fleet does share: Cilium's development layer holds the common policies.
    expect(
      Object.keys((parseYaml(layer?.content ?? '') as { manifests?: object }).manifests ?? {})
        .length,
    ).toBeGreaterThan(50);
    expect(drift(result)).toEqual([]);
  }, 120_000);

  it('on the reference platform', async () => {
    expect(drift(await build(reference))).toEqual([]);
  }, 120_000);

  it('notices a check that modifies an object it reads (the test can fail)', async () => {
    const result = await build(fleetDefinition(6), (input) => {
      const object = input.clusters
        .flatMap((cluster) => cluster.applications)
        .filter((app) => app.component === 'cilium')
        .flatMap((app) => app.objects)
        .find((deployed) => deployed.object.kind === 'CiliumNetworkPolicy')?.object as
        | KubeObject
        | undefined;
      if (object === undefined) throw new Error('no CiliumNetworkPolicy deployed');
      (object.metadata as { labels?: Record<string, string> }).labels = { modified: 'yes' };
      return input;
    });
    expect(drift(result).some((line) => line.startsWith('charts/cilium/'))).toBe(true);
  }, 120_000);
});
