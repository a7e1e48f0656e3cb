// The real Helm on a fleet's shared environment layers (core layers.ts): when an environment has
// several clusters, what they share is written once in env/<environment>.yaml and each cluster
// layer keeps its own. For clusters of examples/fleet, `helm template` of the generated chart with
// the Application's value files must render exactly the objects the component asked for, i.e. its
// unshared layers (the ChartSpec it returned) merged as Helm merges them. The property test in
// packages/core/src/layers.test.ts proves the same against the TypeScript merge; this proves it
// against Helm itself.
//
// Needs `helm` on PATH, as helm.test.ts: without it the suite is skipped and says "not run"; with
// CI=true a missing Helm fails the run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GenerateResult, generate } from '@homelab/cli';
import { type KubeObject, mergeValues, parseAllDocuments } from '@homelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  helmSuiteRuns,
  manifestDifferences,
  prepareChart,
  REPO,
  runHelm,
  splitHelmOutput,
  templateArgs,
} from './helm/harness.js';

const helm = findHelm();
const suite = helmSuiteRuns(helm, 'helm layers suite: not run: helm not found')
  ? describe
  : describe.skip;

const definition = join(REPO, 'examples/fleet/platform.yaml');
// Two development clusters and one production cluster of the fleet, for the charts whose
// clusters share the most (the platform chart's Applications are named per cluster).
const CLUSTERS = ['c000-deve', 'c003-deve', 'c002-prod'];
const CHARTS = ['charts/cilium', 'charts/monitoring', 'charts/coredns', 'charts/gatekeeper'];

suite(`helm renders a fleet's shared environment layers as the unshared ones`, () => {
  let scratch = '';
  let out = '';
  let built: GenerateResult | undefined;
  let renders: ChartRender[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-helm-layers-'));
    out = join(scratch, 'out');
    const cli = spawnSync(
      process.execPath,
      [join(REPO, 'packages/cli/dist/bin.js'), 'build', '--config', definition, '--out', out],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    if (cli.status !== 0) throw new Error(`examples/fleet did not build:\n${cli.stderr}`);
    built = await generate({
      text: readFileSync(definition, 'utf8'),
      file: definition,
      chartVersions: {},
    });
    renders = discoverRenders(out, definition).renders.filter(
      (render) => CLUSTERS.includes(render.cluster) && CHARTS.includes(render.path),
    );
  }, 600_000);

  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  /** The chart as its component returned it, before its layers were shared. */
  function unshared(path: string) {
    const name = path.slice('charts/'.length);
    return (built?.components?.components ?? [])
      .flatMap((run) => (run.output.chart ? [run.output.chart] : []))
      .find((spec) => spec.name === name);
  }

  it('writes shared values into the development layer (the fleet has many dev clusters)', () => {
    const layer = parseAllDocuments(
      readFileSync(join(out, 'charts/cilium/env/development.yaml'), 'utf8'),
    )[0] as { manifests?: object };
    expect(Object.keys(layer.manifests ?? {}).length).toBeGreaterThan(50);
    expect(renders.map((render) => `${render.cluster} ${render.path}`).sort()).toEqual(
      CLUSTERS.flatMap((cluster) => CHARTS.map((chart) => `${cluster} ${chart}`)).sort(),
    );
  });

  it.each(CLUSTERS.flatMap((cluster) => CHARTS.map((chart) => [cluster, chart] as const)))(
    '%s %s: helm template gives the objects of the unshared layers',
    (cluster, chart) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      const render = renders.find((r) => r.cluster === cluster && r.path === chart);
      if (render === undefined) expect.fail(`no Application renders ${chart} on ${cluster}`);
      const home = join(scratch, `home-${cluster}-${chart.replace('/', '-')}`);
      mkdirSync(home, { recursive: true });
      const prepared = prepareChart(render, scratch, out, REPO);
      const result = runHelm(helm, templateArgs(render, prepared), prepared.dir, home);
      expect(result.stderr).not.toContain('Error');
      expect(result.status).toBe(0);
      const fromManifests = splitHelmOutput(result.stdout)
        .filter(({ source }) => source === `${prepared.name}/templates/manifests.yaml`)
        .map(({ object }) => object);
      const spec = unshared(chart);
      if (spec === undefined) expect.fail(`no component returned ${chart}`);
      const environment = built?.platform?.clusters.find((c) => c.name === cluster)?.environment;
      if (environment === undefined) expect.fail(`no cluster ${cluster}`);
      const manifests = mergeValues(
        spec.values,
        spec.environments[environment] ?? {},
        spec.clusters[cluster] ?? {},
      ).manifests as { [name: string]: KubeObject | null };
      const ours = Object.values(manifests ?? {}).filter(
        (object): object is KubeObject => object !== null,
      );
      expect(ours.length).toBeGreaterThan(0);
      expect(fromManifests.length).toBe(ours.length);
      expect(manifestDifferences(fromManifests, ours)).toEqual([]);
    },
  );
});
