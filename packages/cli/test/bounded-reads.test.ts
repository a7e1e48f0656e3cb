// Files the CLI reads besides the definition (a chart's package.json, charts/.versions.json,
// .changeset/*.md) are read bounded: a FIFO, a folder or a symlink there is refused at once,
// naming the path (exit 2: a fault of the output tree), never waited on or echoed. (`release -o
// /proc/x` is tested in packages/release: this repository's own charts are refused before that.)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnCli } from './spawn-cli.js';

const root = repoRoot();
const config = join(root, 'examples', 'single-node', 'platform.yaml');
let out = '';

const homelab = (...args: string[]) => spawnCli(root, args);

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'homelab-bounded-'));
  expect(homelab('build', '--config', config, '--out', out).status).toBe(0);
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Puts `make(path)` at `path` for one test, restoring what was there after. */
function withEntry(path: string, make: (path: string) => void, body: () => void): void {
  const saved = spawnSync('cat', [path], { encoding: 'utf8', timeout: 5_000 }).stdout;
  rmSync(path, { recursive: true, force: true });
  make(path);
  try {
    body();
  } finally {
    rmSync(path, { recursive: true, force: true });
    if (saved !== '') writeFileSync(path, saved);
  }
}

const fifo = (path: string) => execFileSync('mkfifo', [path]);

describe('a chart package.json in the output tree', () => {
  test.each(['build', 'check', 'diff', 'changeset'])(
    'that is a FIFO makes %s refuse at once, naming it, exit 2',
    (command) => {
      const file = join(out, 'charts', 'coredns', 'package.json');
      withEntry(file, fifo, () => {
        const { status, stderr } = homelab(command, '--config', config, '--out', out);
        expect(status).toBe(2);
        expect(stderr).toContain(
          `cannot read ${file}: it is a named pipe (FIFO), not a regular file`,
        );
      });
    },
    40_000,
  );

  test('that is a symlink to /etc/passwd is refused, never read or echoed', () => {
    const file = join(out, 'charts', 'coredns', 'package.json');
    withEntry(
      file,
      (path) => symlinkSync('/etc/passwd', path),
      () => {
        const { status, stderr } = homelab('build', '--config', config, '--out', out);
        expect(status).toBe(2);
        expect(stderr).toContain(`cannot read ${file}: it is a symbolic link`);
        expect(stderr).not.toContain('root:');
      },
    );
  }, 40_000);

  test('that is not JSON is reported at a line and column, its content never quoted, not blamed on the definition', () => {
    const file = join(out, 'charts', 'coredns', 'package.json');
    withEntry(
      file,
      (path) => writeFileSync(path, 'root:x:0:0:secret\n'),
      () => {
        const { status, stderr } = homelab('build', '--config', config, '--out', out);
        expect(status).toBe(1);
        expect(stderr).toContain(
          'charts/coredns/package.json: is not valid JSON at line 1 column 1',
        );
        expect(stderr).not.toContain('secret');
        expect(stderr).not.toContain('in the platform definition');
        expect(stderr).toContain('1 error(s) in the output tree');
      },
    );
  }, 40_000);
});

describe('the version record and the changesets', () => {
  test.each(['check', 'changeset'])(
    'a FIFO at charts/.versions.json makes %s refuse at once, exit 2',
    (command) => {
      const file = join(out, 'charts', '.versions.json');
      withEntry(file, fifo, () => {
        const { status, stderr } = homelab(command, '--config', config, '--out', out);
        expect(status).toBe(2);
        expect(stderr).toContain(`cannot read ${file}: it is a named pipe (FIFO)`);
      });
    },
    40_000,
  );

  test.each([
    ['a FIFO', fifo, 'it is a named pipe (FIFO), not a regular file'],
    ['a folder', (path: string) => mkdirSync(path), 'it is a folder (EISDIR)'],
    [
      'a symlink out of the tree',
      (path: string) => symlinkSync('/etc/passwd', path),
      'it is a symbolic link',
    ],
  ] as const)(
    '%s in .changeset/ is refused by check, naming it, exit 2',
    (_, make, reason) => {
      mkdirSync(join(out, '.changeset'), { recursive: true });
      const file = join(out, '.changeset', 'odd.md');
      withEntry(file, make, () => {
        const { status, stderr } = homelab('check', '--config', config, '--out', out);
        expect(status).toBe(2);
        expect(stderr).toContain(`cannot read ${file}: ${reason}`);
        expect(stderr).not.toContain('internal error');
      });
    },
    40_000,
  );
});

describe('an output folder under /proc', () => {
  test.each([
    [
      ['changeset', '--config', config, '-o', '/proc/x'],
      'cannot create the output folder /proc/x: it does not exist (ENOENT)',
    ],
    [
      // /proc exists: the first write is the build's lock, taken before the output is read.
      ['changeset', '--config', config, '-o', '/proc'],
      'cannot write the lock /proc/.homelab-lock.',
    ],
  ])(
    '%j fails at once, naming the folder',
    (args, message) => {
      const { status, stderr } = homelab(...args);
      expect(status).toBe(2);
      expect(stderr).toContain(message);
    },
    40_000,
  );
});

describe("the writer's own files in the output folder", () => {
  test('a FIFO as the lock makes build refuse at once, naming it, exit 2, the tree left alone', () => {
    const file = join(out, '.homelab-lock');
    withEntry(file, fifo, () => {
      const { status, stderr } = homelab('build', '--config', config, '--out', out);
      expect(status).toBe(2);
      expect(stderr).toContain(
        `cannot read the lock ${file}: it is a named pipe (FIFO), not a regular file`,
      );
      expect(lstatSync(file).isFIFO()).toBe(true);
    });
  }, 40_000);

  test('a FIFO as the build record is no record: build rebuilds and puts a real record there', () => {
    const file = join(out, '.homelab-build.json');
    withEntry(file, fifo, () => {
      const { status, stdout } = homelab('build', '--config', config, '--out', out);
      expect(status).toBe(0);
      expect(stdout).toMatch(/^built \d+ files: 0 written, \d+ unchanged, 0 removed/m);
      expect(lstatSync(file).isFile()).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('key');
    });
  }, 40_000);

  test('a FIFO as the journal of a killed build makes build refuse at once, naming it, exit 2', () => {
    // A stage of a process that is gone (pid 2^22 + 1 is above Linux's pid_max limit).
    const stage = join(out, '.homelab-stage-4194305');
    mkdirSync(stage);
    try {
      fifo(join(stage, 'journal.json'));
      const { status, stderr } = homelab('build', '--config', config, '--out', out);
      expect(status).toBe(2);
      expect(stderr).toContain(
        `cannot read the journal ${join(stage, 'journal.json')}: it is a named pipe (FIFO), not a regular file`,
      );
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }, 40_000);
});
