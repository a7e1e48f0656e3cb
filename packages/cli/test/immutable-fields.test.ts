// A change the API server never applies (`immutable-field-changed`), through the whole pipeline
// on the reference platform (examples/reference/platform.yaml, whose paperless application keeps
// a 20Gi volume on the standard tier): the last build's charts/ stand for what the
// clusters run. A bound claim keeps its class, access modes and at least its size; a commit that
// changes them never syncs, so the build refuses it and names the way out.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GeneratedFile, Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';
import { buildIn, chartsOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const VOLUME = '            size: 20Gi\n            tier: standard\n';

function withVolume(size: string, tier: string): string {
  if (!definition.includes(VOLUME)) throw new Error("paperless' volume is not in the definition");
  return definition.replace(VOLUME, `            size: ${size}\n            tier: ${tier}\n`);
}

const immutable = (issues: readonly Issue[]): Issue[] =>
  issues.filter((issue) => issue.code === 'immutable-field-changed');

const PAPERLESS_DATA = ['components', 'applications', 'apps', 'paperless', 'volumes', 'data'];

/** Line and column (1-based) of the value of the volume's `size` (or `tier`, the line after). */
function volumeLine(key: 'size' | 'tier'): { line: number; column: number } {
  const before = definition.slice(0, definition.indexOf(VOLUME));
  const line = before.split('\n').length + (key === 'size' ? 0 : 1);
  return { line, column: '            '.length + `${key}: `.length + 1 };
}

describe('immutable-field-changed', () => {
  it('refuses a new tier and a smaller size of a deployed volume, on every cluster, and names the fix', async () => {
    const before = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
    expect(before.files.length).toBeGreaterThan(0);
    const previousChart = chartsOf(before.files);

    // The same definition against its own output: nothing of the whole platform changes.
    const same = await generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    expect(immutable(same.issues)).toEqual([]);
    expect(same.files.length).toBe(before.files.length);

    const changed = await generate({
      text: withVolume('10Gi', 'fast-storage'),
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    expect(changed.files).toEqual([]);
    const found = immutable(changed.issues);
    // One error per change, for every cluster that has it (not one per cluster)
    expect(found.map((issue) => `${issue.output} ${issue.value}`).sort()).toEqual([
      'charts/applications 10Gi',
      'charts/applications fast-storage',
    ]);
    const tier = found.find((issue) => issue.value === 'fast-storage');
    expect(tier?.severity).toBe('error');
    // At the line the user changed: the volume's tier and size under the application (the
    // storage provider says which setting made which field of the claim), not the component.
    expect(tier?.path).toEqual([...PAPERLESS_DATA, 'tier']);
    expect(tier?.position).toEqual({ file: 'platform.yaml', ...volumeLine('tier') });
    const size = found.find((issue) => issue.value === '10Gi');
    expect(size?.path).toEqual([...PAPERLESS_DATA, 'size']);
    expect(size?.position).toEqual({ file: 'platform.yaml', ...volumeLine('size') });
    // what the last build wrote, not "what is deployed", which the build cannot know
    expect(tier?.message).toBe(
      `would change PersistentVolumeClaim paperless/data's spec.storageClassName on clusters "dev", "prod" and "staging", which the last build wrote as "standard" (its charts in the output folder, which Argo CD deploys once committed); the API server never updates that field of a deployed object (spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims), so Argo CD would retry the refused apply without end and the Application stay OutOfSync`,
    );
    expect(tier?.expected).toBe(
      '"standard" while the object is deployed; to change it, the claim is replaced: a volume with backups moves with its data ("Moving a volume\'s claim" in clusters/<cluster>/disaster-recovery.md: a backup now, this change built with --allow-immutable-changes, the new claim filled from that backup), a volume without starts empty (a new name too). Where the last build\'s object was never synced to the cluster, or you deleted it from the cluster first, build with --allow-immutable-changes (it skips this comparison with the last build)',
    );
    // The section it names is in each cluster's disaster-recovery runbook, with paperless/data's
    // commands (the volume has backups on every cluster of the reference).
    for (const cluster of ['dev', 'staging', 'prod']) {
      const runbook = before.files.find(
        (file) => file.path === `clusters/${cluster}/disaster-recovery.md`,
      )?.content;
      expect(runbook).toContain(
        "\n## Moving a volume's claim: another tier, a smaller size, another access mode\n",
      );
      expect(runbook).toContain('\n### Moving `paperless/data`\n');
    }

    // Growing the volume is what the API server does allow (Longhorn's classes expand).
    const grown = await generate({
      text: withVolume('30Gi', 'standard'),
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    expect(immutable(grown.issues)).toEqual([]);
    expect(grown.files.length).toBeGreaterThan(0);
  }, 120_000);

  it("lets an upgraded platform's claims, made before they named the populator, keep none", async () => {
    // The last build is the release before the populator: the claims have no dataSourceRef.
    const now = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
    const block =
      /\n( +)dataSourceRef:\n\1 {2}apiGroup: volsync\.backube\n\1 {2}kind: ReplicationDestination\n\1 {2}name: [a-z0-9-]+\n/g;
    const layers = now.files.filter(
      (file) => file.path.startsWith('charts/applications/') && file.content.match(block) !== null,
    );
    expect(layers.map((file) => file.path).sort()).toEqual([
      'charts/applications/clusters/dev.yaml',
      'charts/applications/clusters/prod.yaml',
      'charts/applications/clusters/staging.yaml',
    ]);
    const previous = now.files.map((file) =>
      file.path.startsWith('charts/applications/')
        ? { ...file, content: file.content.replace(block, '\n') }
        : file,
    );
    expect(
      previous.some(
        (file) =>
          file.path.startsWith('charts/applications/clusters/') &&
          file.content.includes('dataSourceRef'),
      ),
    ).toBe(false);
    const upgraded = await generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart: chartsOf(previous),
    });
    // The API server would refuse the field on the bound claims, but their Application ignores
    // it (RespectIgnoreDifferences): Argo CD applies the live claim's value, none.
    expect(immutable(upgraded.issues)).toEqual([]);
    expect(upgraded.files.length).toBe(now.files.length);
  }, 120_000);

  it('lets a claim keep the field when its backups are turned off later', async () => {
    // paperless' volume without its `backup:` block (schedule and retention, indented deeper)
    const withoutBackup = definition.replace(/\n {12}backup:\n(?: {14,}.*\n)+/, '\n');
    expect(withoutBackup.length).toBeLessThan(definition.length - 300);
    const before = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
    const file = (files: readonly GeneratedFile[], path: string) =>
      files.find((f) => f.path === path)?.content ?? '';
    const prod = (files: readonly GeneratedFile[]) =>
      file(files, 'charts/applications/clusters/prod.yaml');
    expect(prod(before.files)).toContain('name: data-bootstrap');
    const off = await generate({
      text: withoutBackup,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart: chartsOf(before.files),
    });
    // The claims name no bootstrap now, but the bound ones keep theirs: their Application still
    // ignores the field, so nothing is refused.
    expect(off.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(prod(off.files)).toContain('kind: PersistentVolumeClaim');
    expect(prod(off.files)).not.toContain('dataSourceRef');
    expect(file(off.files, 'charts/platform/clusters/prod.yaml')).toContain(
      '- /spec/dataSourceRef',
    );
    expect(immutable(off.issues)).toEqual([]);
    expect(off.files.length).toBeGreaterThan(0);
  }, 120_000);

  it('compares nothing on a cluster that moved to another environment: its old layers are unknown', async () => {
    const before = await generate({
      text: withVolume('20Gi', 'fast-storage'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    const charts = chartsOf(before.files);
    // As if dev had run in production: charts/platform's Applications name its old layer.
    const previousChart = (chart: string) => {
      const found = charts(chart);
      if (chart !== 'platform' || found === undefined) return found;
      const layer = found.get('clusters/dev.yaml') ?? '';
      expect(layer).toContain('env/development.yaml');
      return new Map([
        ...found,
        ['clusters/dev.yaml', layer.replaceAll('env/development.yaml', 'env/production.yaml')],
      ]);
    };
    const now = await generate({
      text: definition,
      file: 'platform.yaml',
      chartVersions: {},
      previousChart,
    });
    expect(immutable(now.issues).map((issue) => [issue.value, issue.message])).toEqual([
      [
        'standard',
        expect.stringContaining('spec.storageClassName on clusters "prod" and "staging", which'),
      ],
    ]);
  }, 120_000);

  describe('points at the setting the user changed', () => {
    const DEV_COMPONENTS = "    components:\n      # The platform Gateway's address";

    /** The definition with `lines` added to dev's own components (`clusters[0].components`). */
    function withDevComponents(lines: string): string {
      if (!definition.includes(DEV_COMPONENTS)) throw new Error("dev's components moved");
      return definition.replace(
        DEV_COMPONENTS,
        `    components:\n${lines}${DEV_COMPONENTS.slice(16)}`,
      );
    }

    /** 1-based line of the one line of `text` that is `line` exactly. */
    function lineNumber(text: string, line: string): number {
      const lines = text.split('\n');
      const index = lines.indexOf(line);
      if (index < 0 || lines.lastIndexOf(line) !== index) throw new Error(`${line} is not unique`);
      return index + 1;
    }

    let previousChart: (chart: string) => Map<string, string> | undefined;

    beforeAll(async () => {
      const before = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
      expect(before.files.length).toBeGreaterThan(0);
      previousChart = chartsOf(before.files);
    }, 120_000);

    it("an access mode written under the application's volume", async () => {
      const text = definition.replace(VOLUME, `${VOLUME}            accessMode: ReadWriteMany\n`);
      const found = immutable(
        (await generate({ text, file: 'platform.yaml', chartVersions: {}, previousChart })).issues,
      );
      expect(found.map((issue) => [issue.path, issue.position, issue.value])).toEqual([
        [
          [...PAPERLESS_DATA, 'accessMode'],
          {
            file: 'platform.yaml',
            line: lineNumber(text, '            accessMode: ReadWriteMany'),
            column: 25,
          },
          ['ReadWriteMany'],
        ],
      ]);
      expect(found[0]?.message).toContain(
        `PersistentVolumeClaim paperless/data's spec.accessModes on clusters "dev", "prod" and "staging"`,
      );
    }, 120_000);

    it("one cluster's own tier of the volume: that cluster alone, at its line", async () => {
      const override = [
        '      applications:',
        '        apps:',
        '          paperless:',
        '            volumes:',
        '              data:',
        '                tier: fast-storage',
        '',
      ].join('\n');
      const text = withDevComponents(override);
      const found = immutable(
        (await generate({ text, file: 'platform.yaml', chartVersions: {}, previousChart })).issues,
      );
      expect(found.map((issue) => [issue.path, issue.position])).toEqual([
        [
          [
            'clusters',
            0,
            'components',
            'applications',
            'apps',
            'paperless',
            'volumes',
            'data',
            'tier',
          ],
          {
            file: 'platform.yaml',
            line: lineNumber(text, '                tier: fast-storage'),
            column: 23,
          },
        ],
      ]);
      expect(found[0]?.message).toContain('spec.storageClassName on cluster "dev", which');
    }, 120_000);

    it("Authelia's SQLite tier, the claim the storage provider makes for it", async () => {
      const authelia =
        '      authelia:\n        storage:\n          sqlite:\n            tier: fast-storage\n';
      const text = withDevComponents(authelia);
      const found = immutable(
        (await generate({ text, file: 'platform.yaml', chartVersions: {}, previousChart })).issues,
      );
      expect(found.map((issue) => [issue.path, issue.position, issue.output])).toEqual([
        [
          ['clusters', 0, 'components', 'authelia', 'storage', 'sqlite', 'tier'],
          {
            file: 'platform.yaml',
            // the fourth line written
            line: text.slice(0, text.indexOf(authelia)).split('\n').length + 3,
            column: 19,
          },
          'charts/authelia',
        ],
      ]);
      expect(found[0]?.message).toContain(
        `PersistentVolumeClaim authelia/authelia-data's spec.storageClassName on cluster "dev", which the last build wrote as "standard"`,
      );
    }, 120_000);
  });

  it('prints file:line:col of the changed lines: `homelab build` on a copy of the reference example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-immutable-'));
    try {
      const file = join(dir, 'platform.yaml');
      writeFileSync(file, definition);
      const { build, stderr } = buildIn(dir);
      expect(await build()).toBe(0);
      writeFileSync(file, withVolume('10Gi', 'fast-storage'));
      expect(await build()).toBe(1);
      const lines = stderr()
        .split('\n')
        .filter((line) => line.includes('would change'));
      const { line: size } = volumeLine('size');
      expect(lines.map((line) => line.slice(0, line.indexOf(': '))).sort()).toEqual([
        `platform.yaml:${size}:19  components.applications.apps.paperless.volumes.data.size → charts/applications`,
        `platform.yaml:${size + 1}:19  components.applications.apps.paperless.volumes.data.tier → charts/applications`,
      ]);
      expect(lines[0]).toContain('on clusters "dev", "prod" and "staging"');
      expect(stderr()).toContain('nothing written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
