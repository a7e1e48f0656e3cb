// `pnpm build` runs `homelab build` through turbo. Turbo's cache must never stand in for it: a
// cache hit restores the files of an earlier run but deletes none, so after a definition goes back
// to an earlier state (undoing an edit, `git stash`, another branch) the clusters and charts it no
// longer has would stay on disk, and `homelab check`, the Helm suite and CI's committed-tree check
// would fail. `homelab build` has its own fast path for an unchanged definition (it writes nothing)
// and removes what it no longer generates, so the task always runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';

const tasks = (path: string) =>
  (JSON.parse(readFileSync(join(repoRoot(), path), 'utf8')) as { tasks: Record<string, unknown> })
    .tasks;

describe('turbo and homelab build', () => {
  it('never restores charts/ and clusters/ from the cache: the build task is not cached', () => {
    const build = tasks('apps/homelab/turbo.json').build as { cache?: boolean; outputs?: unknown };
    expect(build.cache).toBe(false);
    // Nothing of the generated trees is declared as a cached output either.
    expect(build.outputs).toBeUndefined();
  });

  it('still builds every package first', () => {
    const build = tasks('apps/homelab/turbo.json').build as { dependsOn?: string[] };
    expect(build.dependsOn).toEqual(['^build']);
  });
});

// Turbo runs each workspace's `test` task in strict environment mode: the task sees only the
// variables its `env` declares (and a few turbo passes on, which it does not hash), so a tool
// folder `.ci/run` exports but the task does not declare never reaches the suite, which then
// falls back to the tools cache or says "not run". And it restores a cached result when no
// declared input changed: a test that reads a file of the repository outside its workspace
// (examples/, tools/, the committed charts) must have it among the task's inputs, or an edit of
// that file is never tested. Both are read from the tests' sources: the variables they read
// (`process.env.<name>` or `process.env['<name>']`, the same through a name bound to `process.env`, and
// the `*_DIR`/`*_DIRS` names handed to the tool finders), and the paths they join onto the
// repository's root (`join(repoRoot(), 'examples', …)`) outside their own workspace, by their
// top-level entry.

interface TestTask {
  readonly env?: readonly string[];
  readonly inputs?: readonly string[];
}

const EXTENDS = '$TURBO_EXTENDS$';
const ROOT_PREFIX = '$TURBO_ROOT$/';

/** The `test` task of `workspace` as turbo resolves it: its own turbo.json over the root's. */
function testTask(workspace: string): { env: string[]; inputs: string[] } {
  const root = tasks('turbo.json').test as TestTask;
  const own = existsSync(join(repoRoot(), workspace, 'turbo.json'))
    ? ((tasks(join(workspace, 'turbo.json')).test ?? {}) as TestTask)
    : {};
  const merged = (key: 'env' | 'inputs'): string[] => {
    const mine = own[key];
    if (mine === undefined) return [...(root[key] ?? [])];
    return mine.flatMap((entry) => (entry === EXTENDS ? [...(root[key] ?? [])] : [entry]));
  };
  return { env: merged('env'), inputs: merged('inputs') };
}

/** Every workspace with a `test` script, and the sources of its tests. */
function testSources(): { workspace: string; sources: string[] }[] {
  const root = repoRoot();
  const workspaces = [
    ...readdirSync(join(root, 'packages')).map((name) => `packages/${name}`),
    'apps/homelab',
  ].filter((workspace) => {
    const manifest = join(root, workspace, 'package.json');
    return (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { scripts?: { test?: string } }).scripts
        ?.test !== undefined
    );
  });
  return workspaces.map((workspace) => {
    const sources: string[] = [];
    const walk = (dir: string, all: boolean): void => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules' && entry.name !== 'fixtures') walk(path, all);
        } else if (/\.[cm]?ts$/.test(entry.name) && (all || /\.test\.ts$/.test(entry.name))) {
          sources.push(readFileSync(path, 'utf8'));
        }
      }
    };
    walk(join(root, workspace, 'test'), true);
    walk(join(root, workspace, 'src'), false);
    return { workspace, sources };
  });
}

/** Names bound to `process.env` (`env: NodeJS.ProcessEnv = process.env`, `const env = process.env`). */
const ENV_ALIAS =
  /\b([A-Za-z_$][\w$]*)(?:\s*:\s*NodeJS\.ProcessEnv)?\s*=\s*process\.env\b(?!\.|\[)/g;

/** The variables `source` reads from `process.env`, directly or through a name bound to it. */
function envReads(source: string): string[] {
  const names = ['process\\.env', ...[...source.matchAll(ENV_ALIAS)].map((match) => match[1])];
  const read = new RegExp(
    `(?:^|[^\\w$.])(?:${names.join('|')})(?:\\.([A-Z][A-Z0-9_]*)\\b|\\[\\s*['"]([A-Z][A-Z0-9_]*)['"]\\s*\\])`,
    'g',
  );
  return [...source.matchAll(read)].map((match) => match[1] ?? match[2] ?? '');
}

/** A tool folder's variable, as the tests hand it to the tool finders (`'KUBE_MACHINERY_DIRS'`). */
const TOOL_DIR_NAME = /['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_DIRS?)['"]/g;
/**
 * Names bound to the repository's root: `repoRoot()`, a folder a fixed number of `..` above the
 * test (`join(here, '../../..')`), and the harnesses' exported `REPO`.
 */
const ROOT_ALIAS =
  /\b([A-Za-z_$][\w$]*)\s*=\s*(?:repoRoot\(\)|(?:join|resolve)\([^;]*?['"](?:\.\.\/)*\.\.['"]\s*\))/g;

/**
 * The paths `source` joins onto the repository's root, as far as they are written out: the
 * string literals after the root (`join(REPO, 'apps', 'homelab', 'platform.yaml')` is
 * `apps/homelab/platform.yaml`), up to the first one with a `${…}` in it.
 */
function rootReads(source: string): string[] {
  const names = [
    'repoRoot\\(\\)',
    'REPO',
    ...[...source.matchAll(ROOT_ALIAS)].map((match) => match[1]),
  ];
  const read = new RegExp(
    `join\\(\\s*(?:${names.join('|')})((?:\\s*,\\s*(?:'[^'$]*'|"[^"$]*"|\`[^\`$]*\`))+)`,
    'g',
  );
  return [...source.matchAll(read)].map((match) =>
    [...(match[1] ?? '').matchAll(/['"`]([^'"`]*)['"`]/g)].map((part) => part[1]).join('/'),
  );
}

/** What a workspace's tests read: the variables, and the top-level entries outside it. */
function readsOf(workspace: string, sources: readonly string[]) {
  const variables = new Set<string>();
  const entries = new Set<string>();
  for (const source of sources) {
    for (const name of envReads(source)) variables.add(name);
    for (const match of source.matchAll(TOOL_DIR_NAME)) variables.add(match[1] ?? '');
    for (const path of rootReads(source)) {
      // Its own files are its default inputs; the dependencies are the lockfile's.
      if (path === workspace || path.startsWith(`${workspace}/`)) continue;
      const entry = path.split('/')[0] ?? '';
      if (entry === '' || entry === '.' || entry === '..' || entry === 'node_modules') continue;
      // Another name joined onto a scratch folder.
      if (!existsSync(join(repoRoot(), entry))) continue;
      entries.add(entry);
    }
  }
  return { variables, entries };
}

describe("the test tasks' environment and inputs", () => {
  const workspaces = testSources().map(({ workspace, sources }) => ({
    workspace,
    ...readsOf(workspace, sources),
  }));
  const of = (name: string) => workspaces.find(({ workspace }) => workspace === name);

  it('finds the workspaces and what their tests read', () => {
    expect(workspaces.map(({ workspace }) => workspace)).toContain('packages/core');
    expect([...(of('apps/homelab')?.variables ?? [])]).toEqual(
      expect.arrayContaining(['KUBE_MACHINERY_DIRS', 'HOMELAB_KILL_SEED', 'HOMELAB_TOOLS_DIR']),
    );
    expect([...(of('packages/core')?.entries ?? [])]).toEqual(
      expect.arrayContaining(['tools', 'vendor']),
    );
    // packages/cilium reads its own src/versions.ts through the root: not outside it.
    expect([...(of('packages/cilium')?.entries ?? [])]).not.toContain('packages');
  });

  it.each(workspaces.map((reads) => [reads.workspace, reads] as const))(
    "declares every environment variable %s's tests read in its test task's env",
    (workspace, { variables }) => {
      const declared = new Set(testTask(workspace).env);
      expect([...variables].filter((name) => !declared.has(name)).sort()).toEqual([]);
    },
  );

  it.each(workspaces.map((reads) => [reads.workspace, reads] as const))(
    "has every top-level entry of the repository %s's tests read among its test task's inputs",
    (workspace, { entries }) => {
      const covered = new Set(
        testTask(workspace)
          .inputs.filter((input) => input.startsWith(ROOT_PREFIX))
          .map((input) => input.slice(ROOT_PREFIX.length).split('/')[0]),
      );
      expect([...entries].filter((entry) => !covered.has(entry)).sort()).toEqual([]);
    },
  );
});
