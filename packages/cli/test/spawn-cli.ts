// The built command (dist/homelab.cjs, the bundle users run) as a child process, for the tests
// that need a real process: its exit code, stdout and stderr.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';

const bin = join(repoRoot(), 'packages', 'cli', 'dist', 'homelab.cjs');

export interface CliRun {
  /** The exit code; `null` when the run was killed at the timeout (a hang). */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `homelab <args>` run in `cwd` without colours; a hang ends at 30 s (status `null`). */
export function spawnCli(cwd: string, args: readonly string[]): CliRun {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
