import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { verifyVendor } from './verify.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vendor-verify-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a FIFO at vendor/lock.json is refused at once, naming it', () => {
  execFileSync('mkfifo', [join(dir, 'lock.json')]);
  expect(() => verifyVendor(dir)).toThrow(
    `cannot read ${join(dir, 'lock.json')}: it is a named pipe (FIFO), not a regular file`,
  );
}, 5_000);

test('a folder at vendor/lock.json is refused naming it, not an EISDIR crash', () => {
  mkdirSync(join(dir, 'lock.json'));
  expect(() => verifyVendor(dir)).toThrow(
    `cannot read ${join(dir, 'lock.json')}: it is a folder (EISDIR)`,
  );
});
