import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { errnoCode, errnoReason, fileKind } from './file-reasons.js';

const errno = (code: string, message = `${code}: some failure`) =>
  Object.assign(new Error(message), { code });

describe('errnoReason', () => {
  test('words a known code and names it', () => {
    expect(errnoReason(errno('EACCES'))).toBe('permission denied (EACCES)');
    expect(errnoReason(errno('ENOSPC'))).toBe('no space left on the device (ENOSPC)');
  });

  test("keeps the error's own message for a code the caller does not word", () => {
    expect(errnoReason(errno('EIO', 'EIO: i/o error, stat /x'), ['EACCES'])).toBe(
      'EIO: i/o error, stat /x',
    );
  });

  test('keeps the message of an error without a code, and a thrown value as text', () => {
    expect(errnoReason(new Error('broken'))).toBe('broken');
    expect(errnoReason('broken')).toBe('broken');
  });

  test('errnoCode is the code only when it is a string', () => {
    expect(errnoCode(errno('ENOENT'))).toBe('ENOENT');
    expect(errnoCode(Object.assign(new Error('x'), { code: 5 }))).toBeUndefined();
    expect(errnoCode(undefined)).toBeUndefined();
  });
});

describe('fileKind', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-reasons-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('names a file, a folder, a symbolic link and a named pipe', () => {
    writeFileSync(join(dir, 'file'), '');
    mkdirSync(join(dir, 'folder'));
    symlinkSync('file', join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const kinds = ['file', 'folder', 'link', 'pipe'].map((name) =>
      fileKind(lstatSync(join(dir, name))),
    );
    expect(kinds).toEqual(['a file', 'a folder', 'a symbolic link', 'a named pipe (FIFO)']);
  });
});
