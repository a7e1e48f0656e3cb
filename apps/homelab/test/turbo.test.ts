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
// the `*_DIR`/`*_DIRS` names handed to the tool finders), and the repository's top-level entries
// they join onto its root (`join(repoRoot(), 'examples', …)`).

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
const TOOL_DIR_NAME = /['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_DIRS?)['"]/g;
/**
 * Names bound to the repository's root: `repoRoot()`, a folder a fixed number of `..` above the
 * test (`join(here, '../../..')`), and the harnesses' exported `REPO`.
 */
const ROOT_ALIAS =
  /\b([A-Za-z_$][\w$]*)\s*=\s*(?:repoRoot\(\)|(?:join|resolve)\([^;]*?['"](?:\.\.\/)*\.\.['"]\s*\))/g;

/** The top-level entries of the repository `source` joins onto its root. */
function rootReads(source: string): string[] {
  const names = [
    'repoRoot\\(\\)',
    'REPO',
    ...[...source.matchAll(ROOT_ALIAS)].map((match) => match[1]),
  ];
  const read = new RegExp(`join\\(\\s*(?:${names.join('|')})\\s*,\\s*['"\`]([^'"\`/$]+)`, 'g');
  return [...source.matchAll(read)].map((match) => match[1] ?? '');
}

describe("the test tasks' environment and inputs", () => {
  const workspaces = testSources();

  it('finds the workspaces and what their tests read', () => {
    const names = workspaces.map(({ workspace }) => workspace);
    expect(names).toContain('apps/homelab');
    expect(names).toContain('packages/core');
    const app = workspaces.find(({ workspace }) => workspace === 'apps/homelab');
    expect(app?.sources.some((source) => source.includes("'KUBE_MACHINERY_DIRS'"))).toBe(true);
  });

  it.each(workspaces.map(({ workspace }) => workspace))(
    "declares every environment variable %s's tests read in its test task's env",
    (workspace) => {
      const { sources } = workspaces.find((entry) => entry.workspace === workspace) ?? {
        sources: [],
      };
      const read = new Set<string>();
      for (const source of sources) {
        for (const name of envReads(source)) read.add(name);
        for (const match of source.matchAll(TOOL_DIR_NAME)) read.add(match[1] ?? '');
      }
      const declared = new Set(testTask(workspace).env);
      expect([...read].filter((name) => !declared.has(name)).sort()).toEqual([]);
    },
  );

  it.each(workspaces.map(({ workspace }) => workspace))(
    "has every top-level entry of the repository %s's tests read among its test task's inputs",
    (workspace) => {
      const { sources } = workspaces.find((entry) => entry.workspace === workspace) ?? {
        sources: [],
      };
      const root = repoRoot();
      const read = new Set<string>();
      for (const source of sources) {
        for (const entry of rootReads(source)) {
          // Another name joined onto a scratch folder, or the dependencies (the lockfile's).
          if (entry === '.' || entry === '..' || entry === 'node_modules') continue;
          if (!existsSync(join(root, entry))) continue;
          // Its own folder: the task's inputs name the files of it the tests read.
          if (workspace.startsWith(`${entry}/`) && entry === 'apps') continue;
          read.add(entry);
        }
      }
      const covered = new Set(
        testTask(workspace)
          .inputs.filter((input) => input.startsWith(ROOT_PREFIX))
          .map((input) => input.slice(ROOT_PREFIX.length).split('/')[0]),
      );
      expect([...read].filter((entry) => !covered.has(entry)).sort()).toEqual([]);
    },
  );
});
