// The parts a refusal of `readRegularFile` carries, so that a caller naming the path itself
// (the writer, vendor verify) takes the reason as it is instead of cutting up the message.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { HomelabError } from './issues.js';
import { FileReadError, readRegularFile } from './read-file.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'read-file-refusal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refusal(path: string, maxBytes?: number): FileReadError {
  try {
    readRegularFile(path, maxBytes === undefined ? {} : { maxBytes });
  } catch (cause) {
    if (cause instanceof FileReadError) return cause;
    throw cause;
  }
  throw new Error(`${path} was read`);
}

test.each([
  ['a missing file', (path: string) => path, 'it does not exist (ENOENT)', 'ENOENT'],
  ['a folder', (path: string) => mkdirSync(path), 'it is a folder (EISDIR)', 'EISDIR'],
  [
    'a named pipe',
    (path: string) => execFileSync('mkfifo', [path]),
    'it is a named pipe (FIFO), not a regular file',
    'EINVAL',
  ],
])('the refusal of %s carries its reason and code', (_, make, reason, code) => {
  const path = join(dir, 'entry');
  make(path);
  const cause = refusal(path);
  expect(cause).toBeInstanceOf(HomelabError);
  expect(cause.name).toBe('HomelabError');
  expect(cause.message).toBe(`cannot read ${path}: ${reason}`);
  expect({ reason: cause.reason, code: cause.code }).toEqual({ reason, code });
});

test('the refusal of a file too large carries EFBIG', () => {
  const path = join(dir, 'large');
  writeFileSync(path, 'x'.repeat(10));
  expect(refusal(path, 4)).toMatchObject({
    reason: 'it is larger than 4 bytes, more than such a file may have',
    code: 'EFBIG',
  });
});
