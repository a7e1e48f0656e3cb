// Reading the platform definition from disk, bounded: the size limit holds while reading (a
// `/dev/zero` or a FIFO never fills memory), only regular files are read, and the bytes must
// be UTF-8 (an invalid byte is reported where it is, never silently replaced). Imports no value
// from @homelab/core, so that `--help` and usage errors stay fast (cli.ts loads this eagerly).
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { Issue } from '@homelab/core';

/** Bytes a definition may have: core's `LOAD_LIMITS.maxBytes` (a test keeps the two equal). */
export const MAX_DEFINITION_BYTES = 2 * 1024 * 1024;

export type DefinitionRead =
  /** The text, line ends as in the file (the loader normalises them). */
  | { readonly kind: 'text'; readonly text: string }
  /** The file was read but cannot be a definition (too large, not UTF-8): an issue at a position. */
  | { readonly kind: 'issue'; readonly issue: Issue }
  /** The file cannot be read at all (missing, a directory, a device, no permission). */
  | { readonly kind: 'unreadable'; readonly reason: string };

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openReason(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENXIO':
      return 'it is a socket or a device without a reader';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return `${(cause as Error).message}`;
  }
}

/**
 * Reads `path` as a platform definition: opened without blocking (a FIFO with no writer does
 * not hang), checked to be a regular file, read up to `maxBytes + 1` bytes, decoded as strict
 * UTF-8 (a leading BOM is dropped).
 */
export function readDefinitionFile(
  path: string,
  maxBytes: number = MAX_DEFINITION_BYTES,
): DefinitionRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    return { kind: 'unreadable', reason: openReason(cause) };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      return { kind: 'unreadable', reason: `it is ${kindOf(stat)}, not a regular file` };
    }
    const tooLarge = (): DefinitionRead => ({
      kind: 'issue',
      issue: {
        severity: 'error',
        code: 'yaml-too-large',
        path: [],
        message: `the file is larger than a platform definition may be (reading stopped after ${maxBytes} bytes)`,
        expected: `at most ${maxBytes} bytes (2 MiB)`,
        position: { file: path, line: 1, column: 1 },
      },
    });
    if (stat.size > maxBytes) return tooLarge();
    // Files under /proc and the like report size 0: read in chunks, never past the limit.
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(stat.size + 1, 64 * 1024)));
    let chunks = buffer;
    let length = 0;
    for (;;) {
      if (length === chunks.length) {
        if (length > maxBytes) break;
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, chunks.length * 2));
        chunks.copy(bigger, 0, 0, length);
        chunks = bigger;
      }
      let read: number;
      try {
        read = readSync(fd, chunks, length, chunks.length - length, null);
      } catch (cause) {
        return { kind: 'unreadable', reason: openReason(cause) };
      }
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) return tooLarge();
    return decodeDefinition(chunks.subarray(0, length), path);
  } finally {
    closeSync(fd);
  }
}

/** Strict UTF-8 decoding; an invalid sequence is an issue at its line and column. */
export function decodeDefinition(bytes: Uint8Array, file: string): DefinitionRead {
  try {
    return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
    const lines = before.split(/\r\n?|\n/);
    const last = lines[lines.length - 1] ?? '';
    const byte = bytes[offset] ?? 0;
    return {
      kind: 'issue',
      issue: {
        severity: 'error',
        code: 'encoding',
        path: [],
        message:
          offset >= bytes.length
            ? 'is not valid UTF-8: the file ends inside a multi-byte character'
            : `is not valid UTF-8: byte 0x${byte.toString(16).padStart(2, '0')} at byte offset ${offset} does not belong to a UTF-8 character`,
        expected: 'UTF-8 text (save the file as UTF-8; Latin-1 or UTF-16 files are not read)',
        position: { file, line: lines.length, column: last.length + 1 },
      },
    };
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min = 0x80;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0; // overlong
      if (b === 0xed) max = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) min = 0x90; // overlong
      if (b === 0xf4) max = 0x8f; // beyond U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined) return i;
      const low = k === 1 ? min : 0x80;
      const high = k === 1 ? max : 0xbf;
      if (next < low || next > high) return i;
    }
    i += need + 1;
  }
  return bytes.length;
}
