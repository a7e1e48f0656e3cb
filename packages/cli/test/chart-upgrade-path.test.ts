// An upstream chart release the clusters cannot move to (`chart-upgrade-path`), through the whole
// pipeline on the reference platform (examples/reference/platform.yaml): the last build's charts/
// stand for what the clusters run. Cilium tests upgrades and rollbacks only between consecutive
// minor releases (its upgrade guide), so 1.18 to 1.20 and 1.20 back to 1.18 are refused.
// cert-manager's guide only recommends one minor release at a time: v1.19 to v1.21 is a warning.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Issue } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { buildOver, CILIUM_LINE, definition, withCilium } from './cilium-reference.js';
import { buildIn, chartsOf } from './last-build.js';

const refused = (issues: readonly Issue[]): Issue[] =>
  issues.filter((issue) => issue.code === 'chart-upgrade-path');

describe('chart-upgrade-path', () => {
  it('refuses Cilium 1.18 to 1.20 at the version line, once for the three clusters, naming 1.19 to pass through', async () => {
    const skipped = await buildOver(withCilium('1.20.0'), withCilium('1.18.12'));
    expect(skipped.files).toEqual([]);
    const found = refused(skipped.issues);
    expect(found).toHaveLength(1);
    const [issue] = found as [Issue];
    expect(issue.severity).toBe('error');
    expect(issue.path).toEqual(['components', 'cilium', 'version']);
    expect(issue.position).toMatchObject({ line: CILIUM_LINE + 1, column: 14 });
    expect(issue.value).toBe('1.20.0');
    expect(issue.message).toBe(
      `would move Cilium on clusters "dev", "prod" and "staging" from 1.18.12, which the last build's charts/cilium/Chart.yaml pins (Argo CD deploys it once committed), to 1.20.0: Cilium moves one minor release at a time and 1.18->1.20 skips 1.19 (its upgrade guide: "The only tested rollback and upgrade path is between consecutive minor releases")`,
    );
    expect(issue.expected).toBe(
      'Cilium 1.19.x first (built, committed and synced by Argo CD on every cluster), then 1.20.0; build with --allow-immutable-changes (it skips this comparison with the last build) where the clusters never ran 1.18.12 or are rebuilt from scratch',
    );
  }, 240_000);

  it('refuses Cilium 1.20 back to 1.18', async () => {
    const back = await buildOver(withCilium('1.18.12'), withCilium('1.20.0'));
    expect(back.files).toEqual([]);
    const [issue] = refused(back.issues);
    expect(issue?.message).toContain(
      "from 1.20.0, which the last build's charts/cilium/Chart.yaml pins (Argo CD deploys it once committed), to 1.18.12: Cilium does not go back from 1.20 to 1.18",
    );
    expect(issue?.expected).toContain(
      'Cilium 1.20 (1.20.0, or another 1.20 patch release), 1.21 or 1.19 on this cluster',
    );
  }, 240_000);

  it('lets Cilium move one minor release up or back, or stay', async () => {
    expect(refused((await buildOver(withCilium('1.20.0'), definition)).issues)).toEqual([]);
    expect(refused((await buildOver(withCilium('1.18.12'), definition)).issues)).toEqual([]);
    expect(refused((await buildOver(definition, withCilium('1.19.6'))).issues)).toEqual([]);
  }, 360_000);

  it('compares only the clusters that ran the chart', async () => {
    const previous = await generate({
      text: withCilium('1.18.12'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    const charts = chartsOf(previous.files);
    // The last build without dev's layer of charts/cilium: dev never ran 1.18.
    const previousChart = (chart: string) => {
      const files = charts(chart);
      if (chart !== 'cilium' || files === undefined) return files;
      expect(files.has('clusters/dev.yaml')).toBe(true);
      return new Map([...files].filter(([path]) => path !== 'clusters/dev.yaml'));
    };
    const skipped = await generate({
      text: withCilium('1.20.0'),
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    const found = refused(skipped.issues);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toContain('would move Cilium on clusters "prod" and "staging" from');
  }, 240_000);

  it('prints file:line:col, writes nothing, and builds with --allow-immutable-changes: `homelab build` on a copy of the reference example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-chart-upgrade-'));
    try {
      const file = join(dir, 'platform.yaml');
      const chart = join(dir, 'out', 'charts', 'cilium', 'Chart.yaml');
      writeFileSync(file, withCilium('1.18.12'));
      const { build: homelab, stderr } = buildIn(dir);
      expect(await homelab()).toBe(0);
      const written = readFileSync(chart, 'utf8');
      expect(written).toContain('version: 1.18.12');
      writeFileSync(file, withCilium('1.20.0'));
      expect(await homelab()).toBe(1);
      const line = stderr()
        .split('\n')
        .find((text) => text.includes('would move Cilium'));
      expect(line?.slice(0, line.indexOf(': '))).toBe(
        `platform.yaml:${CILIUM_LINE + 1}:14  components.cilium.version → charts/cilium`,
      );
      expect(stderr()).toContain('nothing written');
      expect(readFileSync(chart, 'utf8')).toBe(written);
      expect(await homelab('--allow-immutable-changes')).toBe(0);
      expect(stderr()).not.toContain('would move Cilium');
      expect(readFileSync(chart, 'utf8')).toContain('version: 1.20.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('chart-upgrade-path: cert-manager, whose upgrade guide only recommends one minor release at a time', () => {
  /** A build of the reference's charts, with charts/cert-manager pinning `deployed` instead. */
  async function lastBuildPinning(deployed: string) {
    const previous = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
    const charts = chartsOf(previous.files);
    return (chart: string) => {
      const files = charts(chart);
      if (chart !== 'cert-manager' || files === undefined) return files;
      const chartYaml = files.get('Chart.yaml') ?? '';
      const pinned = chartYaml.replace(
        /(\n {2}- name: cert-manager\n {4}repository: \S+\n {4}version: )v1\.21\.1\n/,
        `$1${deployed}\n`,
      );
      expect(pinned).not.toBe(chartYaml);
      return new Map([...files, ['Chart.yaml', pinned]]);
    };
  }
  const over = async (deployed: string) =>
    generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart: await lastBuildPinning(deployed),
    });

  it('warns of v1.19 to v1.21, once for the three clusters, and still writes the charts', async () => {
    const built = await over('v1.19.4');
    expect(built.files.map((file) => file.path)).toContain('charts/cert-manager/Chart.yaml');
    const found = refused(built.issues);
    expect(found).toHaveLength(1);
    const [issue] = found as [Issue];
    expect(issue.severity).toBe('warning');
    expect(issue.path).toEqual(['components', 'cert-manager', 'version']);
    expect(issue.message).toBe(
      `would move cert-manager on clusters "dev", "prod" and "staging" from v1.19.4, which the last build's charts/cert-manager/Chart.yaml pins (Argo CD deploys it once committed), to v1.21.1: cert-manager moves one minor release at a time and 1.19->1.21 skips 1.20 (its upgrade guide: "We recommend that you upgrade cert-manager one minor version at a time, always choosing the latest patch version for the minor version")`,
    );
    expect(issue.expected).toBe(
      'cert-manager 1.20.x first (built, committed and synced by Argo CD on every cluster), then v1.21.1; build with --allow-immutable-changes (it skips this comparison with the last build) where the clusters never ran v1.19.4 or are rebuilt from scratch',
    );
  }, 240_000);

  it('says nothing of v1.20 to v1.21, nor of v1.22 back to v1.21 (the guide says nothing of going back)', async () => {
    expect(refused((await over('v1.20.2')).issues)).toEqual([]);
    expect(refused((await over('v1.22.0')).issues)).toEqual([]);
  }, 360_000);
});
