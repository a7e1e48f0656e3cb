// A change the API server never applies (`immutable-field-changed`), through the whole pipeline
// on the reference platform (examples/reference/platform.yaml, whose paperless application keeps
// a 20Gi volume on the standard tier): the last build's charts/ stand for what the
// clusters run. A bound claim keeps its class, access modes and at least its size; a commit that
// changes them never syncs, so the build refuses it and names the way out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedFile, Issue } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const VOLUME = '            size: 20Gi\n            tier: standard\n';

function withVolume(size: string, tier: string): string {
  if (!definition.includes(VOLUME)) throw new Error("paperless' volume is not in the definition");
  return definition.replace(VOLUME, `            size: ${size}\n            tier: ${tier}\n`);
}

/** The chart folders of a build's files, as `readChart` reads them from disk. */
function chartsOf(
  files: readonly GeneratedFile[],
): (chart: string) => Map<string, string> | undefined {
  return (chart) => {
    const prefix = `charts/${chart}/`;
    const found = files.filter((file) => file.path.startsWith(prefix));
    return found.length === 0
      ? undefined
      : new Map(found.map((file) => [file.path.slice(prefix.length), file.content]));
  };
}

const immutable = (issues: readonly Issue[]): Issue[] =>
  issues.filter((issue) => issue.code === 'immutable-field-changed');

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
    expect(tier?.path).toEqual(['components', 'applications']);
    // what the last build wrote, not "what is deployed", which the build cannot know
    expect(tier?.message).toBe(
      `would change PersistentVolumeClaim paperless/data's spec.storageClassName on clusters "dev", "prod" and "staging", which the last build wrote as "standard" (its charts in the output folder, which Argo CD deploys once committed); the API server never updates that field of a deployed object (spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims), so Argo CD would retry the refused apply without end and the Application stay OutOfSync`,
    );
    expect(tier?.expected).toBe(
      '"standard" while the object is deployed; to change it, a new object under a new name (a volume: a new volume name, restored from its backup), then remove the old one. Where the last build\'s object was never synced to the cluster, or you deleted it from the cluster first, build with --allow-immutable-changes (it skips this comparison with the last build)',
    );

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
});
