// Where the layer-5 suites find the real tool they run (promtool, amtool, ShellCheck, authelia,
// gator): the folder `.ci/run` exports, else PATH, else the tools cache the tool's `.ci/install-*`
// fills; and how a suite runs, or says it does not, without it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { describe, it } from 'vitest';
import { IN_CI } from './helm/harness.js';
import { toolsCache } from './talos-machinery/harness.js';

export interface FoundTool {
  readonly path: string;
  /** What `<tool> --version` says (the suites print it, and refuse another release). */
  readonly version: string;
}

/**
 * The first executable `name` in `process.env[dirVariable]`, the PATH, then `<tools cache>/
 * <cacheFolder>` whose `--version` runs and matches `versionPattern` (its first group is the
 * version); `undefined` when none does.
 */
export function findTool(
  name: string,
  dirVariable: string,
  cacheFolder: string,
  versionPattern: RegExp,
): FoundTool | undefined {
  const fromEnv = process.env[dirVariable];
  const dirs = [
    ...(fromEnv ? [fromEnv] : []),
    ...(process.env.PATH ?? '').split(delimiter),
    join(toolsCache(), cacheFolder),
  ];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const out = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    const version = versionPattern.exec(out.stdout ?? '')?.[1];
    if (out.status === 0 && version !== undefined) return { path: candidate, version };
  }
  return undefined;
}

/**
 * The `name` built on `version` (one build per release: cilium-machinery, kube-machinery): from a
 * folder of `process.env[dirsVariable]` (separated by the path delimiter), else the tools cache
 * (`<name>-<version>`), whose `--version` prints exactly `<name> <version>`.
 */
export function findVersionedTool(
  name: string,
  dirsVariable: string,
  version: string,
): FoundTool | undefined {
  const dirs = [
    ...(process.env[dirsVariable] ?? '').split(delimiter),
    join(toolsCache(), `${name}-${version}`),
  ].filter((dir) => dir !== '');
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (!existsSync(candidate)) continue;
    const out = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (out.status === 0 && out.stdout.trim() === `${name} ${version}`) {
      return { path: candidate, version };
    }
  }
  return undefined;
}

/**
 * The `describe` of the layer-5 suite of `name`, and its title: where the tool is not found, the
 * suite is skipped and says "<name> suite: not run: <name> not found (<install>)" (a skipped test
 * is not a passed one), except in CI, where it runs and its tests fail on the missing tool.
 */
export function toolSuite(
  name: string,
  tool: FoundTool | undefined,
  install: string,
): { suite: typeof describe | typeof describe.skip; title: string } {
  const runs = tool !== undefined || IN_CI;
  if (!runs) console.log(`${name} suite: not run: ${name} not found (${install})`);
  return {
    suite: runs ? describe : describe.skip,
    title:
      tool === undefined
        ? `${name} suite (${name} not found)`
        : `${name} suite (${name} ${tool.version})`,
  };
}

/**
 * The `it` of the suite's tests on Helm's renders: skipped where helm is not found, saying so when
 * the tool itself is there, except in CI, where they run and fail on the missing helm.
 */
export function onHelmRenders(
  name: string,
  tool: FoundTool | undefined,
  helm: unknown,
): typeof it | typeof it.skip {
  const runs = helm !== undefined || IN_CI;
  if (!runs && tool !== undefined) {
    console.log(`${name} suite: not run: the checks of the Helm renders (helm not found)`);
  }
  return runs ? it : it.skip;
}

/**
 * `<tool> check` of one JSON request on stdin, its JSON response parsed (the machinery tools'
 * protocol: tools/*-machinery/README.md); throws with the tool's stderr when it exits non-zero,
 * or when it prints no JSON.
 */
export function runJsonCheck<Response>(tool: FoundTool, request: unknown): Response {
  const result = spawnSync(tool.path, ['check'], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${basename(tool.path)} check exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as Response;
}
