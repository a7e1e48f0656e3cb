import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { HomelabError } from './issues.js';
import {
  jsonSyntaxProblem,
  readFailureCode,
  readRegularFile,
  readRegularFileIfPresent,
} from './read-file.js';
import { makeFolder, readChartVersions } from './writer.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'read-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (cause) {
    return cause;
  }
  throw new Error('did not throw');
}

describe('readRegularFile', () => {
  test('reads a regular file', () => {
    writeFileSync(join(dir, 'a.json'), '{"a":1}');
    expect(readRegularFile(join(dir, 'a.json')).toString('utf8')).toBe('{"a":1}');
  });

  test('refuses a FIFO at once, naming it', () => {
    const path = join(dir, 'pipe');
    execFileSync('mkfifo', [path]);
    const cause = thrown(() => readRegularFile(path));
    expect(cause).toBeInstanceOf(HomelabError);
    expect((cause as Error).message).toBe(
      `cannot read ${path}: it is a named pipe (FIFO), not a regular file`,
    );
  }, 5_000);

  test('refuses a folder with the writer wording', () => {
    const path = join(dir, 'dir.md');
    mkdirSync(path);
    const cause = thrown(() => readRegularFile(path));
    expect((cause as Error).message).toBe(`cannot read ${path}: it is a folder (EISDIR)`);
    expect(readFailureCode(cause)).toBe('EISDIR');
  });

  test('refuses a symlink without reading its target', () => {
    const path = join(dir, 'package.json');
    symlinkSync('/etc/passwd', path);
    const cause = thrown(() => readRegularFile(path));
    expect((cause as Error).message).toBe(
      `cannot read ${path}: it is a symbolic link (not followed: make it a regular file)`,
    );
  });

  test('refuses a file over the limit', () => {
    writeFileSync(join(dir, 'big'), 'x'.repeat(100));
    expect(
      (thrown(() => readRegularFile(join(dir, 'big'), { maxBytes: 10 })) as Error).message,
    ).toBe(
      `cannot read ${join(dir, 'big')}: it is larger than 10 bytes, more than such a file may have`,
    );
  });

  test('IfPresent gives undefined for a missing file only', () => {
    expect(readRegularFileIfPresent(join(dir, 'none'))).toBeUndefined();
    mkdirSync(join(dir, 'x'));
    expect(() => readRegularFileIfPresent(join(dir, 'x'))).toThrow('it is a folder (EISDIR)');
  });
});

describe('jsonSyntaxProblem', () => {
  test.each([
    ['root:x:0:0:root', 'is not valid JSON at line 1 column 1'],
    ['{\n  "a": 1,\n}', 'is not valid JSON at line 3 column 1'],
    ['{"a": tru }', 'is not valid JSON at line 1 column 10'],
    ['{"a": 1', 'is not valid JSON: the text ends at line 1 column 8 before the value does'],
  ])('places %j without quoting it', (text, message) => {
    expect(jsonSyntaxProblem(text)?.message).toBe(message);
  });

  test('is undefined for JSON', () => {
    expect(jsonSyntaxProblem('{"a": [1, 2]}')).toBeUndefined();
  });
});

describe('readChartVersions', () => {
  test('reports a package.json that is not JSON at its place, content not quoted, as an output-tree error', () => {
    mkdirSync(join(dir, 'charts', 'x'), { recursive: true });
    writeFileSync(join(dir, 'charts', 'x', 'package.json'), 'root:x:0:0:secret');
    const cause = thrown(() => readChartVersions(dir)) as Error & { issues: { message: string }[] };
    expect(cause.message).toBe(
      `1 error(s) in the output tree (${join(dir, 'charts')}/*/package.json)`,
    );
    expect(cause.issues[0]?.message).toBe('is not valid JSON at line 1 column 1');
  });

  test('refuses a FIFO package.json at once', () => {
    mkdirSync(join(dir, 'charts', 'x'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'charts', 'x', 'package.json')]);
    expect(() => readChartVersions(dir)).toThrow('it is a named pipe (FIFO), not a regular file');
  }, 5_000);
});

describe('makeFolder', () => {
  test('fails at once under /proc instead of looping', () => {
    expect(() => makeFolder('/proc/x/y', 'create the output folder')).toThrow(
      'cannot create the output folder /proc/x: it does not exist (ENOENT)',
    );
  }, 5_000);
});
