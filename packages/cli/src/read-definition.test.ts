import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOAD_LIMITS } from '@homelab/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  decodeDefinition,
  firstInvalidUtf8,
  MAX_DEFINITION_BYTES,
  readDefinitionFile,
} from './read-definition.js';

// Every read the module makes, counted: "refused without reading" is asserted on reads, not time.
const reads = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    readSync: (...args: Parameters<typeof fs.readSync>) => {
      reads.calls++;
      return fs.readSync(...args);
    },
  };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homelab-read-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readDefinitionFile', { timeout: 30_000 }, () => {
  it('reads a regular file as text, dropping a leading BOM and keeping line ends', () => {
    const path = join(dir, 'p.yaml');
    writeFileSync(path, '\uFEFFplatform:\r\n  name: x\r');
    expect(readDefinitionFile(path)).toEqual({ kind: 'text', text: 'platform:\r\n  name: x\r' });
  });

  it('uses the loader size limit', () => {
    expect(MAX_DEFINITION_BYTES).toBe(LOAD_LIMITS.maxBytes);
  });

  it.each([
    ['/dev/zero', 'it is a character device, not a regular file'],
    ['/dev/urandom', 'it is a character device, not a regular file'],
  ])('refuses %s without reading it', (path, reason) => {
    reads.calls = 0;
    expect(readDefinitionFile(path)).toEqual({ kind: 'unreadable', reason });
    expect(reads.calls).toBe(0);
  });

  it('refuses a FIFO without waiting for a writer', () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    reads.calls = 0;
    expect(readDefinitionFile(fifo)).toEqual({
      kind: 'unreadable',
      reason: 'it is a named pipe (FIFO), not a regular file',
    });
    expect(reads.calls).toBe(0);
  });

  it('refuses a socket', async () => {
    const path = join(dir, 'sock');
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(path, done));
    try {
      expect(readDefinitionFile(path)).toEqual({
        kind: 'unreadable',
        reason: 'it is a socket or a device without a reader',
      });
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('refuses a directory and a missing file', () => {
    mkdirSync(join(dir, 'd'));
    expect(readDefinitionFile(join(dir, 'd'))).toEqual({
      kind: 'unreadable',
      reason: 'it is a directory, not a regular file',
    });
    expect(readDefinitionFile(join(dir, 'missing.yaml'))).toEqual({
      kind: 'unreadable',
      reason: 'no such file',
    });
  });

  it('accepts exactly the limit and refuses one byte more, at 1:1', () => {
    const path = join(dir, 'p.yaml');
    writeFileSync(path, 'a'.repeat(100));
    reads.calls = 0;
    expect(readDefinitionFile(path, 100)).toEqual({ kind: 'text', text: 'a'.repeat(100) });
    // The count sees the module's reads (what the refusals below assert none of).
    expect(reads.calls).toBeGreaterThan(0);
    writeFileSync(path, 'a'.repeat(101));
    const read = readDefinitionFile(path, 100);
    expect(read).toMatchObject({
      kind: 'issue',
      issue: {
        code: 'yaml-too-large',
        path: [],
        expected: 'at most 100 bytes (2 MiB)',
        position: { file: path, line: 1, column: 1 },
      },
    });
  });

  it('refuses a 1 GiB sparse file from its size, without reading it', () => {
    const path = join(dir, 'huge.yaml');
    writeFileSync(path, '');
    truncateSync(path, 1024 ** 3);
    reads.calls = 0;
    expect(readDefinitionFile(path)).toMatchObject({
      kind: 'issue',
      issue: { code: 'yaml-too-large' },
    });
    expect(reads.calls).toBe(0);
  });

  it('reads a file whose size the kernel reports as 0 up to the limit only', () => {
    // /proc files report size 0; /proc/self/environ is a few KiB: read whole with a large limit,
    // refused with a small one.
    const small = readDefinitionFile('/proc/self/environ', 8);
    expect(small).toMatchObject({ kind: 'issue', issue: { code: 'yaml-too-large' } });
  });

  it('reports invalid UTF-8 at its line and column, never replacing it', () => {
    const path = join(dir, 'latin1.yaml');
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from('platform:\n  name: caf'),
        Buffer.from([0xe9]),
        Buffer.from('\n'),
      ]),
    );
    expect(readDefinitionFile(path)).toEqual({
      kind: 'issue',
      issue: {
        severity: 'error',
        code: 'encoding',
        path: [],
        message:
          'is not valid UTF-8: byte 0xe9 at byte offset 21 does not belong to a UTF-8 character',
        expected: 'UTF-8 text (save the file as UTF-8; Latin-1 or UTF-16 files are not read)',
        position: { file: path, line: 2, column: 12 },
      },
    });
  });
});

describe('decodeDefinition and firstInvalidUtf8', () => {
  it('counts columns in characters after multi-byte ones and lines after CR-only ends', () => {
    const bytes = Buffer.concat([Buffer.from('a\rb\r€é: '), Buffer.from([0xff])]);
    expect(decodeDefinition(bytes, 'f')).toMatchObject({
      kind: 'issue',
      issue: { position: { file: 'f', line: 3, column: 5 } },
    });
  });

  it.each([
    ['ASCII', [0x61, 0x62], 2],
    ['a 4-byte character', [0xf0, 0x9f, 0x98, 0x80], 4],
    ['an overlong 2-byte form', [0x61, 0xc0, 0x80], 1],
    ['an overlong 3-byte form', [0xe0, 0x80, 0x80], 0],
    ['a surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['a truncated sequence at the end', [0x61, 0xe2, 0x82], 1],
    ['0xff', [0xff], 0],
  ])('%s: first invalid byte at %#', (_name, bytes, offset) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(offset);
    const strict = (() => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
        return bytes.length;
      } catch {
        return -1;
      }
    })();
    // The scanner agrees with the platform's strict decoder on what is valid.
    expect(strict === bytes.length).toBe(offset === bytes.length);
  });
});
