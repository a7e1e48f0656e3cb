// Where the layer-5 suites find the real tool they run (promtool, amtool, ShellCheck): the folder
// `.ci/run` exports, else PATH, else the tools cache the tool's `.ci/install-*` fills.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
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
