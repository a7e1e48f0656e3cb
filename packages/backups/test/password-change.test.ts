// The scripts that change a volume's repository password, against a real restic repository.
// Needs a restic binary (PATH, or RESTIC_BIN); without one the suite is skipped and says so — it
// never passes without running. With BUSYBOX_DIR they run with BusyBox's sh and sed, as in the
// restic image.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ADD_KEY_SCRIPT, REMOVE_KEY_SCRIPT } from '../src/password-change.js';

function findRestic(): string | undefined {
  for (const candidate of [
    process.env.RESTIC_BIN,
    ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'restic')),
  ]) {
    if (candidate === undefined || candidate === '') continue;
    if (spawnSync(candidate, ['version']).status === 0) return candidate;
  }
  return undefined;
}

const restic = findRestic();
if (restic === undefined) {
  console.warn('password-change.test.ts: not run (no restic binary; set RESTIC_BIN)');
}
const busybox = ((dir) =>
  dir !== undefined && existsSync(join(dir, 'busybox')) && existsSync(join(dir, 'sed'))
    ? dir
    : undefined)(process.env.BUSYBOX_DIR);

const root = mkdtempSync(join(tmpdir(), 'homelab-password-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const OLD = 'old-password-not-a-secret';
const NEW = 'new-password-not-a-secret';

/**
 * The pod's environment: RESTIC_PASSWORD as the movers read it (the Secret's new value), the
 * kept old password and the Secret's new one as files.
 */
function pod(name: string, newValue = NEW, fileValue = newValue): NodeJS.ProcessEnv {
  const dir = join(root, name);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'old'), OLD);
  writeFileSync(join(dir, 'new'), fileValue);
  return {
    PATH: `${dirname(restic ?? '/')}:${busybox ?? process.env.PATH ?? ''}`,
    HOME: join(dir, 'tmp'),
    TMPDIR: join(dir, 'tmp'),
    RESTIC_REPOSITORY: join(dir, 'repo'),
    RESTIC_CACHE_DIR: join(dir, 'cache'),
    RESTIC_PASSWORD: newValue,
    OLD_PASSWORD_FILE: join(dir, 'old'),
    NEW_PASSWORD_FILE: join(dir, 'new'),
  };
}

function run(script: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync('sh', ['-c', script], { env, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** Whether `password` opens the repository of `env` (restic's own exit code: 12 refused). */
function opens(env: NodeJS.ProcessEnv, password: string): number | null {
  return spawnSync(restic as string, ['cat', 'config'], {
    env: { ...env, RESTIC_PASSWORD: password },
  }).status;
}

/** A repository made with the old password, as the movers made it before the change. */
function withRepository(env: NodeJS.ProcessEnv): void {
  const init = spawnSync(restic as string, ['init'], {
    env: { ...env, RESTIC_PASSWORD: OLD },
    encoding: 'utf8',
  });
  expect(init.status, init.stderr).toBe(0);
}

const SLOW = 300_000;

describe.skipIf(restic === undefined)("changing a repository's password, with restic", () => {
  test(
    'adds a key for the new password with the old one, then removes the old key; run again, each does nothing',
    () => {
      const env = pod('change');
      withRepository(env);
      expect(opens(env, NEW)).toBe(12);

      const added = run(ADD_KEY_SCRIPT, env);
      expect(added.out).toContain('the new password opens the repository\n');
      expect(added.status, added.out).toBe(0);
      expect(opens(env, NEW)).toBe(0);
      expect(opens(env, OLD)).toBe(0);
      const again = run(ADD_KEY_SCRIPT, env);
      expect(again.out).toBe('the new password opens the repository already: nothing to add\n');
      expect(again.status).toBe(0);

      const removed = run(REMOVE_KEY_SCRIPT, env);
      expect(removed.status, removed.out).toBe(0);
      expect(removed.out).toMatch(/removed the old password's key [0-9a-f]{8}\n$/);
      expect(opens(env, OLD)).toBe(12);
      expect(opens(env, NEW)).toBe(0);
      const twice = run(REMOVE_KEY_SCRIPT, env);
      expect(twice.out).toBe(
        'the old password opens no key of the repository: nothing to remove\n',
      );
      expect(twice.status).toBe(0);
      for (const out of [added.out, again.out, removed.out, twice.out]) {
        expect(out).not.toContain(OLD);
        expect(out).not.toContain(NEW);
      }
    },
    SLOW,
  );

  test(
    'says so when the value ends in a line break: restic trims the file, the movers read the variable as it is',
    () => {
      const env = pod('newline', `${NEW}\n`);
      withRepository(env);
      const added = run(ADD_KEY_SCRIPT, env);
      expect(added.status).toBe(1);
      expect(added.out).toContain(
        'the new key does not open the repository with the password the movers read',
      );
      // The old password still opens it: nothing was lost
      expect(opens(env, OLD)).toBe(0);
    },
    SLOW,
  );

  test(
    'a repository not made yet needs nothing; a wrong kept password changes nothing',
    () => {
      const none = pod('none');
      const absent = run(ADD_KEY_SCRIPT, none);
      expect(absent.out).toBe(
        'no repository yet: the next backup makes it with the new password\n',
      );
      expect(absent.status).toBe(0);

      const wrong = pod('wrong');
      withRepository(wrong);
      writeFileSync(wrong.OLD_PASSWORD_FILE as string, 'not-the-old-one');
      const refused = run(ADD_KEY_SCRIPT, wrong);
      expect(refused.status).toBe(1);
      expect(refused.out).toContain('the kept old password did not add a key for the new one');
      expect(opens(wrong, NEW)).toBe(12);
      expect(opens(wrong, OLD)).toBe(0);
      // and the old key is never removed before the new password opens the repository
      const early = run(REMOVE_KEY_SCRIPT, wrong);
      expect(early.status).toBe(1);
      expect(early.out).toContain('run the block that adds it first');
      expect(opens(wrong, OLD)).toBe(0);
    },
    SLOW,
  );

  test(
    'refuses to remove anything when the entry did not change',
    () => {
      const env = pod('same', OLD);
      withRepository(env);
      expect(run(ADD_KEY_SCRIPT, env).out).toContain('nothing to add');
      const removed = run(REMOVE_KEY_SCRIPT, env);
      expect(removed.status).toBe(1);
      expect(removed.out).toMatch(/open the same key \([0-9a-f]{8}\): the entry did not change/);
      expect(opens(env, OLD)).toBe(0);
    },
    SLOW,
  );
});
