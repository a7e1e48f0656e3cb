// Volume claims a build takes away from a running cluster (`volume-claim-moved`, an error;
// `volume-claim-left`, a warning), through the whole pipeline on the reference platform
// (examples/reference/platform.yaml: paperless keeps a 20Gi volume `data`, with backups, on every
// cluster), the last build's charts standing for what the clusters run; and the comparison itself
// on claims made here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GeneratedFile, Issue, KubeObject } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { claimChangeIssues } from '../src/claim-changes.js';
import { type GenerateResult, generate } from '../src/pipeline.js';
import { buildIn, chartsOf } from './last-build.js';

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');
const CODES = new Set(['volume-claim-moved', 'volume-claim-left']);
const claimIssues = (result: GenerateResult): Issue[] =>
  result.issues.filter((issue) => CODES.has(issue.code));

/** `text` with every `from` replaced by `to`; throws where `from` is not in it. */
function edit(text: string, ...pairs: [string, string][]): string {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`${JSON.stringify(from)} is not in the definition`);
    out = out.split(from).join(to);
  }
  return out;
}

const APP = '      paperless:\n        # Zero trust';
/**
 * paperless in namespace `docs`: its volume's restic Secret and its OIDC client's Secret are
 * mapped under their new names too.
 */
const inDocs = (text: string): string =>
  edit(
    text,
    [APP, '      paperless:\n        namespace: docs\n        # Zero trust'],
    ['paperless/data-restic:', 'docs/data-restic:'],
    ['paperless/paperless-oidc:', 'docs/paperless-oidc:'],
  );
/** The volume `data` gone from paperless. */
const withoutVolume = (text: string): string => {
  const cut = text.replace(/\n {8}volumes:\n {10}data:\n[\s\S]*?monthly: 12 \}\n/, '\n');
  if (cut === text) throw new Error("paperless' volume is not in the definition");
  return cut;
};

let last: GenerateResult;
let previousChart: (chart: string) => Map<string, string> | undefined;

function over(
  text: string,
  previous: (chart: string) => ReadonlyMap<string, string> | undefined = previousChart,
): Promise<GenerateResult> {
  return generate({ text, file: 'platform.yaml', chartVersions: {}, previousChart: previous });
}

/** The 1-based line and column of the first `needle` after `after`, in `text` (a volume's position: its first setting). */
function place(text: string, needle: string, after = ''): { line: number; column: number } {
  const at = text.indexOf(needle, text.indexOf(after));
  const lines = text.slice(0, at).split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

beforeAll(async () => {
  last = await generate({ text: definition, file: 'platform.yaml', chartVersions: {} });
  expect(last.files.length).toBeGreaterThan(0);
  previousChart = chartsOf(last.files);
}, 120_000);

describe('volume claims against the last build', () => {
  it('finds nothing where the claims stay', async () => {
    const same = await over(definition);
    expect(claimIssues(same)).toEqual([]);
    expect(same.files.length).toBe(last.files.length);
    // A new volume beside the old one takes nothing away.
    const grown = await over(
      edit(definition, [
        '        volumes:\n          data:\n',
        '        volumes:\n          media:\n            size: 5Gi\n            tier: standard\n          data:\n',
      ]),
    );
    expect(claimIssues(grown)).toEqual([]);
    expect(grown.files.length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a volume moved to another namespace, once for every cluster, at the volume, and writes nothing', async () => {
    const text = inDocs(definition);
    const result = await over(text);
    expect(result.files).toEqual([]);
    const found = claimIssues(result);
    expect(found.map((issue) => [issue.severity, issue.code, issue.value, issue.output])).toEqual([
      ['error', 'volume-claim-moved', 'docs/data', 'charts/applications'],
    ]);
    const [moved] = found;
    expect(moved?.path).toEqual([
      'components',
      'applications',
      'apps',
      'paperless',
      'volumes',
      'data',
    ]);
    expect(moved?.position).toEqual({
      file: 'platform.yaml',
      ...place(text, 'size: 20Gi', '      paperless:\n        namespace: docs'),
    });
    expect(moved?.message).toContain(
      'would replace the volume claim paperless/data, which the last build deployed on clusters "dev", "prod" and "staging": another namespace makes another volume',
    );
    // The claim syncs with Prune=false: Argo CD keeps the old one, the new one starts empty.
    expect(moved?.message).toContain(
      'leaves it on the cluster with its data (the claim syncs with Prune=false)',
    );
    expect(moved?.message).toContain('docs/data starts empty');
    expect(moved?.expected).toContain('the claim kept in namespace "paperless"');
    expect(moved?.expected).toContain('`kubectl -n paperless delete persistentvolumeclaim data`');
    // Every claim of the last build carries the option the message relies on.
    const layer = last.files.find((file) => file.path === 'charts/applications/clusters/dev.yaml');
    expect(layer?.content).toMatch(
      /kind: PersistentVolumeClaim\n {4}metadata:\n {6}annotations:\n {8}argocd\.argoproj\.io\/sync-options: Prune=false,Delete=false\n/,
    );
  }, 120_000);

  it('refuses an application renamed (its namespace follows its name), and takes the fix it names', async () => {
    const renamed = edit(
      definition,
      [APP, '      archive:\n        # Zero trust'],
      ['application: paperless\n', 'application: archive\n'],
      ['paperless/data-restic:', 'archive/data-restic:'],
    );
    const found = claimIssues(await over(renamed));
    expect(found.map((issue) => [issue.code, issue.value, issue.path.join('.')])).toEqual([
      ['volume-claim-moved', 'archive/data', 'components.applications.apps.archive.volumes.data'],
    ]);
    expect(found[0]?.expected).toContain('an application renamed: give it `namespace: paperless`');
    // The fix the error names: the renamed application in the old namespace.
    const fixed = await over(
      edit(
        definition,
        [APP, '      archive:\n        namespace: paperless\n        # Zero trust'],
        ['application: paperless\n', 'application: archive\n'],
      ),
    );
    expect(claimIssues(fixed)).toEqual([]);
    expect(fixed.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(fixed.files.length).toBeGreaterThan(0);
  }, 180_000);

  it('warns of the claims of a chart the build no longer writes at all (the applications disabled)', async () => {
    // The last build's chart folders are on disk (their package.json versions): applications' too
    const chartVersions = Object.fromEntries(
      [...new Set(last.files.map((file) => /^charts\/([^/]+)\//.exec(file.path)?.[1]))]
        .filter((name): name is string => name !== undefined)
        .map((name) => [name, '0.1.0']),
    );
    expect(Object.keys(chartVersions)).toContain('applications');
    const text = edit(definition, [
      '\n  applications:\n',
      '\n  applications:\n    enabled: false\n',
    ]);
    const result = await generate({ text, file: 'platform.yaml', chartVersions, previousChart });
    expect(result.files.some((file) => file.path.startsWith('charts/applications/'))).toBe(false);
    expect(
      claimIssues(result).map((issue) => [
        issue.severity,
        issue.code,
        issue.value,
        issue.path.join('.'),
      ]),
    ).toEqual([['warning', 'volume-claim-left', 'paperless/data', 'components.applications']]);
  }, 180_000);

  it('warns of a volume removed: its claim stays on the cluster, and the build writes', async () => {
    const result = await over(withoutVolume(definition));
    expect(result.files.length).toBeGreaterThan(0);
    const found = claimIssues(result);
    expect(
      found.map((issue) => [issue.severity, issue.code, issue.value, issue.path.join('.')]),
    ).toEqual([['warning', 'volume-claim-left', 'paperless/data', 'components.applications']]);
    expect(found[0]?.message).toBe(
      'is a volume claim the last build deployed on clusters "dev", "prod" and "staging" that this build no longer has: Argo CD leaves it on the cluster with its data (the claim syncs with Prune=false), and nothing mounts it or backs it up any more',
    );
    expect(found[0]?.expected).toContain(
      '`kubectl -n paperless delete persistentvolumeclaim data`',
    );
  }, 120_000);

  it('says the data goes where the last build deployed the claim without Prune=false', async () => {
    // The last build's claims as a release without the option would have written them.
    const stripped: GeneratedFile[] = last.files.map((file) =>
      file.path.startsWith('charts/applications/')
        ? {
            ...file,
            content: file.content.replace(
              /\n {6}annotations:\n {8}argocd\.argoproj\.io\/sync-options: Prune=false,Delete=false\n/g,
              '\n',
            ),
          }
        : file,
    );
    const found = claimIssues(await over(withoutVolume(definition), chartsOf(stripped)));
    expect(found.map((issue) => issue.message)).toEqual([
      'is a volume claim the last build deployed on clusters "dev", "prod" and "staging" that this build no longer has: Argo CD prunes it (the Application syncs with prune), its volume and data with it where its class deletes on release',
    ]);
    expect(found[0]?.expected).toBe('the volume kept in the definition while its data is needed');
  }, 120_000);

  it('prints the move at its line, writes nothing, and builds it with --allow-immutable-changes: `homelab build`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homelab-claim-changes-'));
    try {
      const file = join(dir, 'platform.yaml');
      writeFileSync(file, definition);
      const { build: homelab, stderr } = buildIn(dir);
      expect(await homelab()).toBe(0);
      const layer = join(dir, 'out', 'charts', 'applications', 'clusters', 'dev.yaml');
      const written = readFileSync(layer);
      const text = inDocs(definition);
      writeFileSync(file, text);
      expect(await homelab()).toBe(1);
      const { line, column } = place(
        text,
        'size: 20Gi',
        '      paperless:\n        namespace: docs',
      );
      expect(stderr()).toContain(
        `platform.yaml:${line}:${column}  components.applications.apps.paperless.volumes.data → charts/applications: "docs/data" would replace the volume claim paperless/data`,
      );
      expect(stderr()).toContain('nothing written');
      expect(readFileSync(layer).equals(written)).toBe(true);
      // The move meant: the comparison skipped, the claim written in its new namespace.
      expect(await homelab('--allow-immutable-changes')).toBe(0);
      expect(readFileSync(layer, 'utf8')).toMatch(/\n {6}name: data\n {6}namespace: docs\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('claimChangeIssues', () => {
  const claim = (
    namespace: string,
    name: string,
    options = 'Prune=false,Delete=false',
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, annotations: { 'argocd.argoproj.io/sync-options': options } },
  });
  const fallback = (chart: string) => ['components', chart];
  const on = (objects: KubeObject[], chart = 'apps') =>
    objects.map((object) => ({ chart, object }));

  it('calls a claim moved only where its name is new in another namespace', () => {
    // `data` was in both namespaces: the one left in b is no move of a's.
    const issues = claimChangeIssues(
      { name: 'dev' },
      on([claim('a', 'data'), claim('b', 'data')]),
      on([claim('b', 'data')]),
      fallback,
    );
    expect(issues.map((issue) => [issue.code, issue.value])).toEqual([
      ['volume-claim-left', 'a/data'],
    ]);
    // Renamed in its namespace: left, not moved (the name is what a move keeps).
    expect(
      claimChangeIssues(
        { name: 'dev' },
        on([claim('a', 'data')]),
        on([claim('a', 'files')]),
        fallback,
      ).map((issue) => [issue.code, issue.value, issue.path]),
    ).toEqual([['volume-claim-left', 'a/data', ['components', 'apps']]]);
    // Moved, to a claim of another chart: the error names the new chart and place.
    const moved = claimChangeIssues(
      { name: 'dev' },
      on([claim('a', 'data')]),
      [{ chart: 'other', object: claim('c', 'data'), origin: ['components', 'other', 'data'] }],
      fallback,
    );
    expect(
      moved.map((issue) => [issue.severity, issue.code, issue.value, issue.output, issue.path]),
    ).toEqual([
      ['error', 'volume-claim-moved', 'c/data', 'charts/other', ['components', 'other', 'data']],
    ]);
    // Objects that are no claim are never compared.
    const config: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'a' },
    };
    expect(claimChangeIssues({ name: 'dev' }, on([config]), [], fallback)).toEqual([]);
  });

  it('says what the move does to a claim Argo CD prunes', () => {
    const [moved] = claimChangeIssues(
      { name: 'dev' },
      on([claim('a', 'data', 'ServerSideApply=true')]),
      on([claim('b', 'data')]),
      fallback,
    );
    expect(moved?.message).toContain('For a/data, Argo CD prunes it');
    expect(moved?.expected).not.toContain('delete persistentvolumeclaim');
  });
});
