// The restore-verification script against a real restic repository, backed up the way VolSync's
// mover does it (`restic backup .` from the volume's root). Needs a restic binary (PATH, or
// RESTIC_BIN); without one the suite is skipped and says so — it never passes without running.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { VERIFY_SCRIPT } from '../src/verify-script.js';

function findRestic(): string | undefined {
  const candidates = [
    process.env.RESTIC_BIN,
    ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'restic')),
    join(process.env.HOME ?? '', 'go/bin/restic'),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    if (spawnSync(candidate, ['version']).status === 0) return candidate;
  }
  return undefined;
}

const restic = findRestic();
if (restic === undefined) {
  console.warn('verify-script.test.ts: not run (no restic binary; set RESTIC_BIN)');
}

const root = mkdtempSync(join(tmpdir(), 'homelab-verify-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function environment(name: string): NodeJS.ProcessEnv {
  const dir = join(root, name);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'restore'), { recursive: true });
  return {
    PATH: `${dirname(restic ?? '/')}:${process.env.PATH ?? ''}`,
    HOME: join(dir, 'tmp'),
    TMPDIR: join(dir, 'tmp'),
    RESTIC_REPOSITORY: join(dir, 'repo'),
    RESTIC_PASSWORD: 'test-password-not-a-secret',
    RESTIC_CACHE_DIR: join(dir, 'cache'),
    RESTORE_ROOT: join(dir, 'restore'),
    READ_DATA_SUBSET: '100%',
    SAMPLE_FILES: '3',
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const result = spawnSync(command, args, { env, cwd, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** A repository with one snapshot of a small tree, taken as VolSync's mover takes it. */
function backedUp(name: string): NodeJS.ProcessEnv {
  const env = environment(name);
  const data = join(root, name, 'data');
  mkdirSync(join(data, 'docs', 'deep'), { recursive: true });
  mkdirSync(join(data, 'lost+found'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'alpha\n');
  writeFileSync(join(data, 'docs', 'b.bin'), Buffer.alloc(70_000, 7));
  writeFileSync(join(data, 'docs', 'deep', 'c with space.txt'), 'gamma\n');
  writeFileSync(join(data, 'empty'), '');
  expect(run(restic as string, ['init'], env).status).toBe(0);
  const backup = run(
    restic as string,
    ['backup', '--host', 'volsync', '--exclude=lost+found', '.'],
    env,
    data,
  );
  expect(backup.status, backup.out).toBe(0);
  return env;
}

// restic is slow on a loaded machine: each case gets five minutes.
const SLOW = 300_000;

describe.skipIf(restic === undefined)('the restore-verification script with restic', () => {
  test(
    'verifies a good backup: counts, bytes and sampled checksums match',
    () => {
      const env = backedUp('good');
      const result = run('sh', ['-c', VERIFY_SCRIPT], env);
      expect(result.status, result.out).toBe(0);
      expect(result.out).toMatch(
        /verified snapshot [0-9a-f]{8}: 4 files, 70012 bytes restored as recorded; 3 sampled files match/,
      );
    },
    SLOW,
  );

  test(
    'fails on a repository without a snapshot',
    () => {
      const env = environment('empty');
      expect(run(restic as string, ['init'], env).status).toBe(0);
      const result = run('sh', ['-c', VERIFY_SCRIPT], env);
      expect(result.status).toBe(1);
      expect(result.out).toContain('VERIFICATION FAILED: the repository has no snapshot yet');
    },
    SLOW,
  );

  test(
    'fails when a data pack of the repository is damaged',
    () => {
      const env = backedUp('damaged');
      const data = join(env.RESTIC_REPOSITORY as string, 'data');
      for (const dir of readdirSync(data)) {
        for (const pack of readdirSync(join(data, dir))) appendFileSync(join(data, dir, pack), 'x');
      }
      const result = run('sh', ['-c', VERIFY_SCRIPT], env);
      expect(result.status).toBe(1);
      expect(result.out).toContain(
        'VERIFICATION FAILED: restic check found errors in the repository',
      );
    },
    SLOW,
  );
});
