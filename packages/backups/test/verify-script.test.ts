// The restore-verification script against a real restic repository, backed up the way VolSync's
// mover does it (`restic backup .` from the volume's root). Needs a restic binary (PATH, or
// RESTIC_BIN); without one the suite is skipped and says so — it never passes without running.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PREVIOUS_SNAPSHOT_AWK, REPOSITORY_KEY_SED, VERIFY_SCRIPT } from '../src/verify-script.js';

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

/**
 * BusyBox's userland (BUSYBOX_DIR: `busybox` and a link per applet, as .ci/install-busybox makes
 * it): the restic image the verification runs in is Alpine, with BusyBox's sh, sed, awk, find and
 * sha256sum and no GNU tools. Without it the script runs with this machine's sh and tools.
 */
const busybox = ((dir) =>
  dir !== undefined && existsSync(join(dir, 'busybox')) && existsSync(join(dir, 'sed'))
    ? dir
    : undefined)(process.env.BUSYBOX_DIR);
if (busybox === undefined) {
  console.warn(
    "verify-script.test.ts: the script runs with this machine's sh and tools, not BusyBox's as in the restic image (set BUSYBOX_DIR: .ci/install-busybox)",
  );
}
/** The PATH of the script's tools, without restic. */
const TOOLS = busybox ?? '/usr/bin:/bin';

const root = mkdtempSync(join(tmpdir(), 'homelab-verify-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function environment(name: string): NodeJS.ProcessEnv {
  const dir = join(root, name);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'restore'), { recursive: true });
  return {
    PATH: `${dirname(restic ?? '/')}:${busybox ?? process.env.PATH ?? ''}`,
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
  test.skipIf(busybox === undefined)(
    "runs with BusyBox's sh and tools, as in the restic image",
    () => {
      const env = environment('busybox');
      const shell = run(
        'sh',
        ['-c', 'readlink "/proc/$$/exe"; sed --version 2>&1 | head -n 1'],
        env,
      );
      expect(shell.out).toBe(
        `${join(busybox as string, 'busybox')}\nThis is not GNU sed version 4.0\n`,
      );
    },
  );

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
    "verifies a good backup whose Secret names the definition's repository, with or without a trailing slash",
    () => {
      const env = backedUp('expected');
      const repository = env.RESTIC_REPOSITORY as string;
      for (const expected of [repository, repository.replace(/\/$/, '')]) {
        const result = run('sh', ['-c', VERIFY_SCRIPT], {
          ...env,
          RESTIC_REPOSITORY: `${repository}/`,
          EXPECTED_RESTIC_REPOSITORY: expected,
        });
        expect(result.status, result.out).toBe(0);
        expect(result.out).toMatch(/verified snapshot [0-9a-f]{8}: 4 files, 70012 bytes/);
      }
    },
    SLOW,
  );

  test(
    'removes the lock a killed restic left, which refused the check, and verifies',
    async () => {
      // Given a backup killed while it held its lock (a mover on a node that was drained or
      // lost): restic never ignores a lock, so the exclusive check is refused
      const env = backedUp('killed');
      const locks = join(env.RESTIC_REPOSITORY as string, 'locks');
      const killed = spawn(restic as string, ['backup', '--stdin', '--stdin-filename', 'x'], {
        env,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      // A lock is there once its file has its final name (restic's local backend writes
      // `<id>-tmp-<random>` and renames it: internal/backend/local/local.go), which restic's
      // listing ignores before the rename.
      const written = () => readdirSync(locks).filter((name) => /^[0-9a-f]{64}$/.test(name));
      const deadline = Date.now() + 60_000;
      while (written().length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      killed.kill('SIGKILL');
      await new Promise((resolve) => killed.once('exit', resolve));
      expect(written()).toHaveLength(1);
      const refused = run(restic as string, ['check'], env);
      expect(refused.status).not.toBe(0);
      expect(refused.out).toContain('repository is already locked');
      // Then the verification removes it (stale: its process is gone) and passes
      const result = run('sh', ['-c', VERIFY_SCRIPT], env);
      expect(result.status, result.out).toBe(0);
      expect(result.out).toContain('successfully removed 1 locks');
      expect(result.out).toMatch(/verified snapshot [0-9a-f]{8}: 4 files, 70012 bytes/);
      expect(written()).toHaveLength(0);
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
    'fails when the latest snapshot is older than the backup schedule allows',
    () => {
      // Given a repository whose latest snapshot was taken 3 hours ago (VolSync's mover skipped
      // every backup since: the volume was empty, and it exits 0 on an empty volume)
      const env = environment('stale');
      const data = join(root, 'stale', 'data');
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'a.txt'), 'alpha\n');
      expect(run(restic as string, ['init'], env).status).toBe(0);
      const time = new Date(Date.now() - 3 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);
      const backup = run(
        restic as string,
        ['backup', '--host', 'volsync', '--exclude=lost+found', '--time', time, '.'],
        { ...env, TZ: 'UTC' },
        data,
      );
      expect(backup.status, backup.out).toBe(0);
      // When the schedule allows 2 hours, it fails; when it allows 4, it passes
      const stale = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SNAPSHOT_AGE_MINUTES: '120' });
      expect(stale.status, stale.out).toBe(1);
      expect(stale.out).toMatch(
        /VERIFICATION FAILED: the latest snapshot [0-9a-f]{8} is 18[0-9] minutes old .* more than the 120 its backup schedule allows/,
      );
      const fresh = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SNAPSHOT_AGE_MINUTES: '240' });
      expect(fresh.status, fresh.out).toBe(0);
    },
    SLOW,
  );

  test(
    'reads a snapshot time recorded with a zone offset',
    () => {
      // restic records the mover's local time with its offset: 1 hour ago at +05:00 is 1 hour ago
      const env = environment('zoned');
      const data = join(root, 'zoned', 'data');
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'a.txt'), 'alpha\n');
      expect(run(restic as string, ['init'], env).status).toBe(0);
      const local = new Date(Date.now() - 3600_000 + 5 * 3600_000).toISOString();
      const time = local.replace('T', ' ').slice(0, 19);
      const backup = run(
        restic as string,
        ['backup', '--host', 'volsync', '--time', time, '.'],
        { ...env, TZ: 'Etc/GMT-5' },
        data,
      );
      expect(backup.status, backup.out).toBe(0);
      const tooOld = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SNAPSHOT_AGE_MINUTES: '50' });
      expect(tooOld.out).toMatch(/is (59|60|61) minutes old \(taken [0-9T:.-]+\+05:00\)/);
      const ok = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SNAPSHOT_AGE_MINUTES: '70' });
      expect(ok.status, ok.out).toBe(0);
    },
    SLOW,
  );

  test(
    'fails on a snapshot that records no files',
    () => {
      // Given a backup of a volume with directories only (its data did not reach the claim)
      const env = environment('hollow');
      const data = join(root, 'hollow', 'data');
      mkdirSync(join(data, 'media', 'thumbnails'), { recursive: true });
      expect(run(restic as string, ['init'], env).status).toBe(0);
      const backup = run(restic as string, ['backup', '--host', 'volsync', '.'], env, data);
      expect(backup.status, backup.out).toBe(0);
      const result = run('sh', ['-c', VERIFY_SCRIPT], env);
      expect(result.status).toBe(1);
      expect(result.out).toMatch(
        /VERIFICATION FAILED: snapshot [0-9a-f]{8} records no files: the volume held no data when it was backed up/,
      );
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
  test(
    'fails when the latest snapshot shrank more than MAX_SHRINK_PERCENT from the one before',
    () => {
      // Given the volume backed up whole (70012 bytes), then, an hour later, after the app
      // started over on an empty claim and wrote a small file (6 bytes of 70012: 99 % less)
      const env = backedUp('shrunk');
      const data = join(root, 'shrunk', 'data');
      rmSync(join(data, 'docs'), { recursive: true });
      const later = new Date(Date.now() + 3600_000).toISOString().replace('T', ' ').slice(0, 19);
      const backup = run(
        restic as string,
        ['backup', '--host', 'volsync', '--exclude=lost+found', '--time', later, '.'],
        { ...env, TZ: 'UTC' },
        data,
      );
      expect(backup.status, backup.out).toBe(0);
      // When at most 50 % may go, it fails naming the snapshot before and its time; when 100 %
      // may (the setting's "never"), and without the variable, it passes
      const shrunk = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SHRINK_PERCENT: '50' });
      expect(shrunk.status, shrunk.out).toBe(1);
      expect(shrunk.out).toMatch(
        /VERIFICATION FAILED: snapshot ([0-9a-f]{8}) holds 6 bytes, 100% less than the 70012 bytes of snapshot (?!\1)[0-9a-f]{8} before it \(taken [0-9T:.-]+(Z|[+-]00:00)\), more than the 50% a backup may shrink/,
      );
      for (const extra of [{ MAX_SHRINK_PERCENT: '100' }, {}]) {
        const passed = run('sh', ['-c', VERIFY_SCRIPT], { ...env, ...extra });
        expect(passed.status, passed.out).toBe(0);
        expect(passed.out).toMatch(/verified snapshot [0-9a-f]{8}: 2 files, 6 bytes/);
      }
    },
    SLOW,
  );

  test(
    "a restore as VolSync's mover runs it names the snapshot and its time on a line VolSync's log filter keeps",
    () => {
      // The disaster-recovery runbook has the operator read, in a bootstrap's result
      // (`latestMoverStatus.logs`), which snapshot filled the claim and when it was taken.
      const env = { ...backedUp('named'), TZ: 'UTC' };
      const listed = run(restic as string, ['snapshots', '--json'], env);
      expect(listed.status, listed.out).toBe(0);
      const [snapshot] = JSON.parse(listed.out) as { short_id: string; time: string }[];
      const target = join(root, 'named', 'restore');
      // mover-restic/entry.sh v0.16.0, do_restore: `restic restore <id> -t . --host <host>
      // --include-xattr "user.*"` in the claim's folder
      const restored = run(
        restic as string,
        [
          'restore',
          snapshot?.short_id ?? '',
          '-t',
          '.',
          '--host',
          'volsync',
          '--include-xattr',
          'user.*',
        ],
        env,
        target,
      );
      expect(restored.status, restored.out).toBe(0);
      const line = restored.out.split('\n').find((l) => l.startsWith('restoring '));
      const named =
        /^restoring snapshot ([0-9a-f]{8}) of \[.*\] at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d+ \+0000 UTC by \S+ to \.$/.exec(
          line ?? '',
        );
      expect({ id: named?.[1], at: named?.[2] }).toEqual({
        id: snapshot?.short_id,
        at: new Date(snapshot?.time ?? '').toISOString().replace('T', ' ').slice(0, 19),
      });
      // VolSync v0.16.0's restic log filter (internal/controller/mover/restic/logfilter.go,
      // resticRegex): only the lines it matches reach latestMoverStatus.logs
      const volsyncKeeps =
        /^\s*([pP]rocessed)\s.+([fF]iles)|^\s*([sS]napshot)\s.+([sS]aved)|^\s*(No eligible)|(No data)|(Directory is empty)|^\s*([cC]reated)|^\s*([rR]epository)\s.+([oO]pened)|^\s*([rR]estoring)|^\s*([nN]o parent snapshot)|^\s*([uU]sing parent snapshot)|^\s*([aA]dded to the repository)|^\s*([sS]uccessfully)|(RESTORE_OPTIONS)|([iI]nitialize [dD]ir)|^\s*([fF]atal)|^\s*(ERROR)|^\s*([rR]estic completed in)/;
      expect(volsyncKeeps.test(line ?? '')).toBe(true);
      expect(volsyncKeeps.test('Summary: Restored 4 files/dirs')).toBe(false);
    },
    SLOW,
  );

  test(
    'passes a snapshot that shrank less than MAX_SHRINK_PERCENT, or grew',
    () => {
      // Given 70012 bytes, then 40006 (43 % less), then 70018 again
      const env = backedUp('trimmed');
      const data = join(root, 'trimmed', 'data');
      const backupAt = (hours: number) => {
        const at = new Date(Date.now() + hours * 3600_000)
          .toISOString()
          .replace('T', ' ')
          .slice(0, 19);
        const backup = run(
          restic as string,
          ['backup', '--host', 'volsync', '--exclude=lost+found', '--time', at, '.'],
          { ...env, TZ: 'UTC' },
          data,
        );
        expect(backup.status, backup.out).toBe(0);
      };
      writeFileSync(join(data, 'docs', 'b.bin'), Buffer.alloc(40_000, 7));
      backupAt(1);
      const trimmed = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SHRINK_PERCENT: '50' });
      expect(trimmed.status, trimmed.out).toBe(0);
      expect(trimmed.out).toMatch(/verified snapshot [0-9a-f]{8}: 4 files, 40012 bytes/);
      // The same drop is more than 40 % allows
      const strict = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SHRINK_PERCENT: '40' });
      expect(strict.status, strict.out).toBe(1);
      expect(strict.out).toContain('holds 40012 bytes, 43% less than the 70012 bytes of snapshot');
      writeFileSync(join(data, 'docs', 'b.bin'), Buffer.alloc(70_006, 7));
      backupAt(2);
      const grown = run('sh', ['-c', VERIFY_SCRIPT], { ...env, MAX_SHRINK_PERCENT: '1' });
      expect(grown.status, grown.out).toBe(0);
      expect(grown.out).toMatch(/verified snapshot [0-9a-f]{8}: 4 files, 70018 bytes/);
    },
    SLOW,
  );
});

// Needs no restic: the script stops before its first restic command.
describe('the restore-verification script against the repository the definition names', () => {
  test("fails, without echoing the Secret's value, when the Secret names another repository", () => {
    const env = environment('elsewhere');
    const secret = 's3:https://admin:pw-not-shown@s3.old.example/old-bucket/restic/dev/app/data';
    const expected = 's3:https://s3.lab.example/homelab-backups/restic/dev/app/data';
    const result = run('sh', ['-c', VERIFY_SCRIPT], {
      ...env,
      PATH: TOOLS,
      RESTIC_REPOSITORY: secret,
      EXPECTED_RESTIC_REPOSITORY: expected,
    });
    expect(result.status).toBe(1);
    expect(result.out).toContain(
      `VERIFICATION FAILED: the volume's Secret sets RESTIC_REPOSITORY to another repository than ${expected}`,
    );
    expect(result.out).not.toContain('pw-not-shown');
    expect(result.out).not.toContain('old-bucket');
    // Before any restic command: nothing was checked or restored.
    expect(result.out).not.toContain('1/4');
    // A Secret without RESTIC_REPOSITORY fails the same way (not `set -u`'s "parameter not set").
    const unset = run('sh', ['-c', VERIFY_SCRIPT], {
      ...env,
      PATH: TOOLS,
      RESTIC_REPOSITORY: undefined,
      EXPECTED_RESTIC_REPOSITORY: expected,
    });
    expect(unset.status).toBe(1);
    expect(unset.out).toContain('sets RESTIC_REPOSITORY to another repository than');
  });
});

// What restic v0.18.1's `ParseConfig` (internal/backend/s3/config.go) makes of each URL:
// endpoint, HTTP rather than HTTPS, bucket, prefix. The first block is restic's own table
// (config_test.go); the second was printed by running that ParseConfig on these URLs.
const RESTIC_PARSES: ReadonlyArray<readonly [string, string]> = [
  ['s3://eu-central-1/bucketname', 'eu-central-1 https bucketname '],
  ['s3://eu-central-1/bucketname/', 'eu-central-1 https bucketname '],
  [
    's3://eu-central-1/bucketname/prefix/directory',
    'eu-central-1 https bucketname prefix/directory',
  ],
  [
    's3://eu-central-1/bucketname/prefix/directory/',
    'eu-central-1 https bucketname prefix/directory',
  ],
  ['s3:eu-central-1/foobar', 'eu-central-1 https foobar '],
  ['s3:eu-central-1/foobar/', 'eu-central-1 https foobar '],
  ['s3:eu-central-1/foobar/prefix/directory', 'eu-central-1 https foobar prefix/directory'],
  ['s3:eu-central-1/foobar/prefix/directory/', 'eu-central-1 https foobar prefix/directory'],
  ['s3:hostname.foo/foobar', 'hostname.foo https foobar '],
  ['s3:hostname.foo/foobar/prefix/directory', 'hostname.foo https foobar prefix/directory'],
  ['s3:https://hostname/foobar', 'hostname https foobar '],
  ['s3:https://hostname:9999/foobar', 'hostname:9999 https foobar '],
  ['s3:https://hostname:9999/foobar/', 'hostname:9999 https foobar '],
  ['s3:http://hostname:9999/foobar', 'hostname:9999 http foobar '],
  ['s3:http://hostname:9999/foobar/', 'hostname:9999 http foobar '],
  ['s3:http://hostname:9999/bucket/prefix/directory', 'hostname:9999 http bucket prefix/directory'],
  [
    's3:http://hostname:9999/bucket/prefix/directory/',
    'hostname:9999 http bucket prefix/directory',
  ],
  [
    's3:https://s3.example.com/backups/restic/prod/app/data',
    's3.example.com https backups restic/prod/app/data',
  ],
  [
    's3:s3.example.com/backups/restic/prod/app/data',
    's3.example.com https backups restic/prod/app/data',
  ],
  [
    's3://s3.example.com/backups/restic/prod/app/data/',
    's3.example.com https backups restic/prod/app/data',
  ],
  [
    's3:https://s3.example.com/backups/restic/prod/app/data//',
    's3.example.com https backups restic/prod/app/data',
  ],
  [
    's3:https://s3.example.com/backups/restic//prod/app/data',
    's3.example.com https backups restic/prod/app/data',
  ],
  [
    's3:https://s3.example.com//backups/restic/prod/app/data',
    's3.example.com https  backups/restic/prod/app/data',
  ],
  [
    's3:http://s3.example.com/backups/restic/prod/app/data',
    's3.example.com http backups restic/prod/app/data',
  ],
  [
    's3:https://s3.example.com:443/backups/restic/prod/app/data',
    's3.example.com:443 https backups restic/prod/app/data',
  ],
  [
    's3:https://s3.example.com/backups/restic/prod/app',
    's3.example.com https backups restic/prod/app',
  ],
  ['s3:https://s3.example.com/backups', 's3.example.com https backups '],
  ['s3:https://s3.example.com/backups/', 's3.example.com https backups '],
  ['s3:https://s3.example.com/backups//', 's3.example.com https backups /'],
];

describe('PREVIOUS_SNAPSHOT_AWK: the snapshot before the latest', () => {
  // `restic snapshots --json`, oldest first, as the script's grep leaves it. 46e40205 reads as a
  // number too large for a double: BusyBox's awk found it unequal to itself when ids were
  // compared as they are (`$4 == latest`), and the latest was taken for the one before it.
  const ids = [
    '"time":"2026-12-05T04:40:33.982948686Z"',
    '"short_id":"e0a93886"',
    '"time":"2026-12-05T05:40:34Z"',
    '"short_id":"46e40205"',
    '',
  ].join('\n');
  /** The program's output for `latest`, by the awk of `path`; `program` defaults to the script's. */
  const previous = (latest: string, path = process.env.PATH, program = PREVIOUS_SNAPSHOT_AWK) => {
    const result = spawnSync('awk', ['-F', '"', '-v', `latest=${latest}`, program], {
      input: ids,
      encoding: 'utf8',
      env: { PATH: path },
    });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trim();
  };
  const awks: [string, string | undefined][] = [['this machine', process.env.PATH]];
  if (busybox !== undefined) awks.push(['BusyBox', busybox]);

  test.each(awks)(
    'with the awk of %s, names the one before, and none before the first',
    (_, path) => {
      expect(previous('46e40205', path)).toBe('e0a93886 2026-12-05T04:40:33.982948686Z');
      expect(previous('e0a93886', path)).toBe('');
    },
  );

  test.skipIf(busybox === undefined)(
    "BusyBox's awk compares a numeric-looking id unequal to itself (broken on purpose: ids compared as they are)",
    () => {
      const asTheyAre = PREVIOUS_SNAPSHOT_AWK.replace('$4 "" == latest ""', '$4 == latest');
      expect(asTheyAre).not.toBe(PREVIOUS_SNAPSHOT_AWK);
      expect(previous('46e40205', busybox, asTheyAre)).toBe('46e40205 2026-12-05T05:40:34Z');
    },
  );

  test('is the program the script runs', () => {
    expect(VERIFY_SCRIPT).toContain(`-v latest="$id" '${PREVIOUS_SNAPSHOT_AWK}'`);
  });
});

describe('REPOSITORY_KEY_SED: a repository URL as restic reads it', () => {
  const urls = RESTIC_PARSES.map(([url]) => url);
  /** The key of `url`, by the sh and sed of `path` (this machine's by default). */
  const key = (url: string, path = process.env.PATH): string => {
    const result = spawnSync(
      'sh',
      ['-c', `printf '%s\\n' "$1" | ${REPOSITORY_KEY_SED}`, 'sh', url],
      { encoding: 'utf8', env: { PATH: path } },
    );
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.replace(/\n$/, '');
  };
  const keys = new Map(urls.map((url) => [url, key(url)]));
  const parsed = new Map(RESTIC_PARSES);

  test('never makes one key of two repositories restic tells apart', () => {
    for (const a of urls) {
      for (const b of urls) {
        if (keys.get(a) === keys.get(b)) expect([a, parsed.get(a)]).toEqual([a, parsed.get(b)]);
      }
    }
  });

  test('makes one key of the spellings without https://, with s3://, or with one trailing slash', () => {
    const canonical = 's3:https://s3.example.com/backups/restic/prod/app/data';
    expect(keys.get(canonical)).toBe(canonical);
    expect(key('s3:s3.example.com/backups/restic/prod/app/data')).toBe(canonical);
    expect(key('s3://s3.example.com/backups/restic/prod/app/data/')).toBe(canonical);
    expect(key(`${canonical}/`)).toBe(canonical);
    expect(key('s3:eu-central-1/foobar/')).toBe(key('s3://eu-central-1/foobar'));
    expect(key('s3:http://hostname:9999/foobar/')).toBe('s3:http://hostname:9999/foobar');
    // restic reads these as the canonical one too; the key keeps them apart (the check then asks
    // for the runbook's spelling, never the other way round).
    expect(key(`${canonical}//`)).not.toBe(canonical);
    expect(key('s3:https://s3.example.com/backups/restic//prod/app/data')).not.toBe(canonical);
  });

  test.skipIf(busybox === undefined)(
    "gives every URL the same key with BusyBox's sh and sed (the restore verification's, in the restic image)",
    () => {
      const version = spawnSync('sh', ['-c', 'sed --version 2>&1 | head -n 1'], {
        encoding: 'utf8',
        env: { PATH: busybox },
      });
      expect(version.stdout).toContain('This is not GNU sed');
      for (const url of urls) expect([url, key(url, busybox)]).toEqual([url, keys.get(url)]);
    },
  );

  test('passes a Secret that spells the expected repository another way restic reads alike', () => {
    const env = environment('spelled');
    for (const secret of [
      's3:s3.lab.example/homelab-backups/restic/dev/app/data',
      's3://s3.lab.example/homelab-backups/restic/dev/app/data/',
    ]) {
      const result = run('sh', ['-c', VERIFY_SCRIPT], {
        ...env,
        PATH: TOOLS,
        RESTIC_REPOSITORY: secret,
        EXPECTED_RESTIC_REPOSITORY: 's3:https://s3.lab.example/homelab-backups/restic/dev/app/data',
      });
      // Past the repository check, at the first restic command (none on this PATH).
      expect(result.out).toContain('removing stale locks (restic unlock)');
      expect(result.out).not.toContain('another repository');
    }
    const http = run('sh', ['-c', VERIFY_SCRIPT], {
      ...env,
      PATH: TOOLS,
      RESTIC_REPOSITORY: 's3:http://s3.lab.example/homelab-backups/restic/dev/app/data',
      EXPECTED_RESTIC_REPOSITORY: 's3:https://s3.lab.example/homelab-backups/restic/dev/app/data',
    });
    expect(http.status).toBe(1);
    expect(http.out).toContain('sets RESTIC_REPOSITORY to another repository than');
    expect(http.out).not.toContain('1/4');
  });
});

/**
 * The verification's shell is the pod's PID 1 (`/bin/sh -c`): stopped by the kubelet (the Job's
 * deadline, a drain, an eviction) it gets SIGTERM, and a PID 1 without a handler ignores it and
 * passes nothing on. Run here as PID 1 of a PID namespace (`unshare --pid --fork`, util-linux),
 * with `restic check` slowed down so that it holds its exclusive lock: SIGTERM to that PID 1 must
 * reach restic, which removes its lock (else every backup of the volume fails until the next run).
 */
describe.skipIf(restic === undefined)(
  'the restore verification stopped during restic check',
  () => {
    const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((candidate) => existsSync(candidate));

    async function stopped(
      script: string,
      name: string,
      ends = true,
    ): Promise<{ locks: string[]; out: string; status: number | null | undefined }> {
      if (unshare === undefined) throw new Error('unshare (util-linux) is needed for this test');
      const env = environment(name);
      const data = join(root, name, 'data');
      mkdirSync(data, { recursive: true });
      // Random bytes (restic packs do not compress them away), read back at 100 KiB/s: the check
      // holds its lock for minutes
      writeFileSync(join(data, 'big'), randomBytes(48_000_000));
      expect(run(restic as string, ['init'], env).status).toBe(0);
      // Small packs: once signalled, restic ends after the pack it is reading (4 MiB, 4 s)
      expect(
        run(restic as string, ['backup', '--pack-size', '4', '--host', 'volsync', '.'], env, data)
          .status,
      ).toBe(0);
      const wrapper = join(root, name, 'bin');
      mkdirSync(wrapper, { recursive: true });
      writeFileSync(
        join(wrapper, 'restic'),
        `#!/bin/sh\ncase "$1" in check) exec ${restic} --limit-download 1000 "$@";; *) exec ${restic} "$@";; esac\n`,
        { mode: 0o755 },
      );
      const locks = () =>
        run(restic as string, ['list', 'locks', '--no-lock'], env).out.match(/^[0-9a-f]{64}$/gm) ??
        [];
      const child = spawn(unshare, ['--pid', '--fork', 'sh', '-c', script], {
        env: { ...env, PATH: `${wrapper}:${busybox ?? '/usr/bin:/bin'}`, SAMPLE_FILES: '1' },
      });
      let out = '';
      let status: number | null | undefined;
      child.on('exit', (code) => {
        status = code;
      });
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      child.stderr.on('data', (chunk) => {
        out += chunk;
      });
      // By the clock: each look at the locks runs restic, which takes a while on a busy machine
      const until = async (done: () => boolean, seconds: number) => {
        const deadline = Date.now() + seconds * 1000;
        while (Date.now() < deadline && !done())
          await new Promise((resolve) => setTimeout(resolve, 100));
      };
      // The namespace's PID 1: the shell unshare forked (its pid here, once it exists)
      const init = (): number | undefined => {
        const read = spawnSync('cat', [`/proc/${child.pid}/task/${child.pid}/children`], {
          encoding: 'utf8',
        });
        const pid = Number(read.stdout.trim().split(/\s+/)[0]);
        return Number.isInteger(pid) && pid > 1 ? pid : undefined;
      };
      let shell: number | undefined;
      try {
        await until(() => out.includes('create exclusive lock') && locks().length > 0, 120);
        expect(locks().length, out).toBe(1);
        shell = init();
        expect(shell, "the namespace's PID 1").toBeDefined();
        process.kill(shell as number, 'SIGTERM');
        // restic removes its lock within a second of the signal; the check itself would take
        // minutes more
        await until(() => locks().length === 0, 10);
        await until(() => out.includes('signal terminated received'), 5);
        const held = locks();
        // The shell ends once restic has (within the pack it reads): with the handler's status
        if (ends) await until(() => status !== undefined, 30);
        return { locks: held, out, status };
      } finally {
        // Everything of the namespace goes with its PID 1 (the kernel kills the rest)
        const last = shell ?? init();
        if (last !== undefined && last > 1) {
          try {
            process.kill(last, 'SIGKILL');
          } catch {
            // gone already
          }
        }
        child.kill('SIGKILL');
      }
    }

    test(
      'passes SIGTERM on to restic check, which removes its exclusive lock',
      async () => {
        const { locks, out, status } = await stopped(VERIFY_SCRIPT, 'stopped');
        expect(locks, out).toEqual([]);
        expect(out).toContain('signal terminated received, cleaning up');
        // The handler's own end: its message and 143, though restic ended with 130
        expect(out).toContain('VERIFICATION STOPPED: SIGTERM before it ended');
        expect(status, out).toBe(143);
      },
      SLOW,
    );

    test(
      'leaves the lock without the handler (broken on purpose: the trap removed)',
      async () => {
        const broken = VERIFY_SCRIPT.replace(/^trap .*$/m, '');
        expect(broken).not.toBe(VERIFY_SCRIPT);
        const { locks, out } = await stopped(broken, 'unhandled', false);
        expect(locks.length, out).toBe(1);
        expect(out).not.toContain('signal terminated received');
      },
      SLOW,
    );
  },
);
