import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mirrorProblem, mirrorReader } from './mirror.js';

const WHAT =
  'A mirror is a folder laid out as vendor/ is, with a SOURCES.md saying where its files come from (at its top or in a folder directly under it, as charts/SOURCES.md)';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vendor-mirror-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A mirror at `<dir>/mirror` with charts/SOURCES.md and one schema file. */
function mirror(): string {
  const root = join(dir, 'mirror');
  mkdirSync(join(root, 'charts'), { recursive: true });
  mkdirSync(join(root, 'upstream/demo/v1'), { recursive: true });
  writeFileSync(join(root, 'charts/SOURCES.md'), '# where the archives come from\n');
  writeFileSync(join(root, 'upstream/demo/v1/schema.json'), '{}\n');
  return root;
}

describe('mirrorProblem', () => {
  it('accepts a folder with a SOURCES.md in a folder directly under it', () => {
    expect(mirrorProblem(mirror())).toBeUndefined();
  });

  it('accepts a folder with a SOURCES.md at its top, and a symlink to a mirror', () => {
    const top = join(dir, 'top');
    mkdirSync(top);
    writeFileSync(join(top, 'SOURCES.md'), 'provenance\n');
    symlinkSync(top, join(dir, 'link'));
    expect(mirrorProblem(top)).toBeUndefined();
    expect(mirrorProblem(join(dir, 'link'))).toBeUndefined();
  });

  it('refuses a path that does not exist, naming it and saying what a mirror is', () => {
    const missing = join(dir, 'nonexistent');
    expect(mirrorProblem(missing)).toBe(
      `${missing} is not an offline mirror: it does not exist. ${WHAT}`,
    );
  });

  it('refuses a file and a FIFO without opening them', () => {
    writeFileSync(join(dir, 'README.md'), 'a file\n');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    expect(mirrorProblem(join(dir, 'README.md'))).toBe(
      `${join(dir, 'README.md')} is not an offline mirror: it is a file, not a folder. ${WHAT}`,
    );
    expect(mirrorProblem(join(dir, 'pipe'))).toBe(
      `${join(dir, 'pipe')} is not an offline mirror: it is a named pipe (FIFO), not a folder. ${WHAT}`,
    );
  }, 5_000);

  it('refuses a folder without a SOURCES.md (the repository root, vendor/ itself)', () => {
    mkdirSync(join(dir, 'charts/demo/1.2.3'), { recursive: true });
    writeFileSync(join(dir, 'charts/demo/1.2.3/demo-1.2.3.tgz'), 'bytes');
    writeFileSync(join(dir, 'lock.json'), '{}');
    expect(mirrorProblem(dir)).toBe(
      `${dir} is not an offline mirror: it has no SOURCES.md. ${WHAT}`,
    );
  });

  it('does not take a folder named SOURCES.md, or one deeper down, for the mark', () => {
    mkdirSync(join(dir, 'charts/SOURCES.md'), { recursive: true });
    mkdirSync(join(dir, 'upstream/demo'), { recursive: true });
    writeFileSync(join(dir, 'upstream/demo/SOURCES.md'), 'too deep\n');
    expect(mirrorProblem(dir)).toBe(
      `${dir} is not an offline mirror: it has no SOURCES.md. ${WHAT}`,
    );
  });
});

describe('mirrorReader', () => {
  it('throws the problem of a folder that is no mirror', () => {
    expect(() => mirrorReader(join(dir, 'nonexistent'))).toThrow(
      `${join(dir, 'nonexistent')} is not an offline mirror: it does not exist.`,
    );
  });

  it('reads a regular file at <mirror>/<path>', () => {
    const read = mirrorReader(mirror());
    expect(read('upstream/demo/v1/schema.json').toString('utf8')).toBe('{}\n');
  });

  it('names a file that is not there, also under a folder that is not there', () => {
    const root = mirror();
    const read = mirrorReader(root);
    expect(() => read('upstream/demo/v1/missing.json')).toThrow(
      `${join(root, 'upstream/demo/v1/missing.json')} is not in the mirror`,
    );
    expect(() => read('crds/demo/v1/crd.yaml')).toThrow(
      `${join(root, 'crds/demo/v1/crd.yaml')} is not in the mirror`,
    );
  });

  it('refuses a FIFO, a folder and a symlink in place of a file, naming it', () => {
    const root = mirror();
    const read = mirrorReader(root);
    const file = (name: string) => join(root, 'upstream/demo/v1', name);
    execFileSync('mkfifo', [file('pipe.json')]);
    mkdirSync(file('folder.json'));
    writeFileSync(join(dir, 'secret'), 'root:x:0:0\n');
    symlinkSync(join(dir, 'secret'), file('link.json'));
    expect(() => read('upstream/demo/v1/pipe.json')).toThrow(
      `cannot read ${file('pipe.json')}: it is a named pipe (FIFO), not a regular file`,
    );
    expect(() => read('upstream/demo/v1/folder.json')).toThrow(
      `cannot read ${file('folder.json')}: it is a folder (EISDIR)`,
    );
    expect(() => read('upstream/demo/v1/link.json')).toThrow(
      `cannot read ${file('link.json')}: it is a symbolic link (not followed: make it a regular file)`,
    );
  }, 5_000);

  it('refuses a file whose folder is a symlink out of the mirror', () => {
    const root = mirror();
    mkdirSync(join(dir, 'outside/v2'), { recursive: true });
    writeFileSync(join(dir, 'outside/v2/schema.json'), 'not from the mirror\n');
    symlinkSync(join(dir, 'outside'), join(root, 'upstream/other'));
    const read = mirrorReader(root);
    expect(() => read('upstream/other/v2/schema.json')).toThrow(
      `cannot read ${join(root, 'upstream/other/v2/schema.json')}: its folder leads out of the mirror (to ${realpathSync(join(dir, 'outside/v2'))}) through a symbolic link; a mirror's folders must be inside it`,
    );
  });
});
