// Reading a repository or output-tree file (a chart's package.json, charts/.versions.json, a
// changeset, vendor/lock.json), bounded: opened without blocking and without following a final
// symlink, checked to be a regular file, read up to a size limit. A FIFO never hangs the
// command, a folder or a device is refused by name, and a symlink to /etc/passwd is never read.
import * as nodeFs from 'node:fs';
import { errnoCode, errnoReason, fileKind, type WordedErrno } from './file-reasons.js';
import { HomelabError } from './issues.js';

/** Bytes a repository file read through `readRegularFile` may have unless told otherwise. */
export const MAX_REPOSITORY_FILE_BYTES = 16 * 1024 * 1024;

export interface ReadRegularFileOptions {
  /** Refuse a file larger than this. Default `MAX_REPOSITORY_FILE_BYTES`. */
  readonly maxBytes?: number;
}

/** The errno codes a refusal words (`permission denied (EACCES)`); another keeps Node's message. */
const WORDED: readonly WordedErrno[] = [
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'ELOOP',
  'ENXIO',
  'ENAMETOOLONG',
  'EIO',
  'EMFILE',
  'ENFILE',
];

function kindOf(stat: nodeFs.Stats): string {
  const kind = fileKind(stat);
  if (kind === undefined) return 'not a regular file';
  if (stat.isSymbolicLink()) return `${kind} (not followed: make it a regular file)`;
  return `${kind}, not a regular file`;
}

/**
 * `readRegularFile`'s refusal, `cannot read <path>: <reason>`, with its parts: the `reason` alone
 * (for a caller that names the path itself) and the errno `code`. Its cause is the errno error, or
 * a made-up one with its code. Its name stays `HomelabError`: the CLI reports it as a fault.
 */
export class FileReadError extends HomelabError {
  /** Why, without the path: `it is a folder (EISDIR)`, `it is a named pipe (FIFO), not a regular file`. */
  readonly reason: string;
  /**
   * `ENOENT`, `EISDIR`, `ELOOP`, …; `EINVAL` for a file that is not a regular one, `EFBIG` for
   * one too large; `undefined` when the failure had no code.
   */
  readonly code: string | undefined;

  constructor(path: string, reason: string, cause: unknown) {
    super(`cannot read ${path}: ${reason}`, { cause });
    this.reason = reason;
    this.code = errnoCode(cause);
  }
}

function refusal(path: string, reason: string, cause: unknown): FileReadError {
  return new FileReadError(path, reason, cause);
}

function errnoRefusal(path: string, cause: unknown): FileReadError {
  return refusal(path, errnoReason(cause, WORDED), cause);
}

/** The errno code under a refusal of `readRegularFile` (`ENOENT`, `EISDIR`, …), if any. */
export function readFailureCode(cause: unknown): string | undefined {
  return errnoCode(cause instanceof HomelabError ? cause.cause : cause);
}

/**
 * The bytes of `path`, which must be a regular file of at most `maxBytes` bytes. Opened with
 * `O_NONBLOCK` (a FIFO with no writer does not hang) and `O_NOFOLLOW` (a symlink is refused, not
 * followed); the size limit holds while reading (files under /proc report size 0). Throws a
 * `FileReadError` `cannot read <path>: <reason>` carrying the reason and the errno code (also
 * `readFailureCode`): `ENOENT` for a missing file, `EISDIR` for a folder, `ELOOP` for a symlink.
 */
export function readRegularFile(path: string, options: ReadRegularFileOptions = {}): Buffer {
  const maxBytes = options.maxBytes ?? MAX_REPOSITORY_FILE_BYTES;
  const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = nodeFs.constants;
  let fd: number;
  try {
    fd = nodeFs.openSync(path, O_RDONLY | (O_NONBLOCK ?? 0) | (O_NOFOLLOW ?? 0));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ELOOP') {
      // O_NOFOLLOW: the last component is a symlink (or a real loop further up).
      let link: nodeFs.Stats | undefined;
      try {
        link = nodeFs.lstatSync(path);
      } catch {
        link = undefined;
      }
      if (link?.isSymbolicLink()) throw refusal(path, `it is ${kindOf(link)}`, cause);
    }
    throw errnoRefusal(path, cause);
  }
  try {
    const stat = nodeFs.fstatSync(fd);
    if (stat.isDirectory()) {
      const cause = Object.assign(new Error('is a folder'), { code: 'EISDIR' });
      throw errnoRefusal(path, cause);
    }
    if (!stat.isFile()) {
      const cause = Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
      throw refusal(path, `it is ${kindOf(stat)}`, cause);
    }
    const tooLarge = (): FileReadError =>
      refusal(path, `it is larger than ${maxBytes} bytes, more than such a file may have`, {
        code: 'EFBIG',
      });
    if (stat.size > maxBytes) throw tooLarge();
    let buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(stat.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) break;
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      let read: number;
      try {
        read = nodeFs.readSync(fd, buffer, length, buffer.length - length, null);
      } catch (cause) {
        throw errnoRefusal(path, cause);
      }
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw tooLarge();
    return buffer.subarray(0, length);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/** `readRegularFile`, but `undefined` when nothing is at `path` (ENOENT, ENOTDIR). */
export function readRegularFileIfPresent(
  path: string,
  options: ReadRegularFileOptions = {},
): Buffer | undefined {
  try {
    return readRegularFile(path, options);
  } catch (cause) {
    const code = readFailureCode(cause);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw cause;
  }
}

/** A JSON syntax error's place, without any of the text (a file's content is never echoed). */
export interface JsonSyntaxProblem {
  readonly line: number;
  readonly column: number;
  /** `is not valid JSON at line L column C` (or `… : the text ends too early`). */
  readonly message: string;
}

function prefixIsValidStart(text: string, end: number): boolean {
  try {
    JSON.parse(text.slice(0, end));
    return true;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : '';
    if (message.startsWith('Unexpected end of JSON input')) return true;
    const at = /at position (\d+)/.exec(message);
    return at !== null && Number(at[1]) >= end;
  }
}

/**
 * Where `text` stops being JSON, or `undefined` when it parses. JSON.parse's own message quotes
 * the text (`Unexpected token 'r', "root:x:0:0"...`), so only its position is kept: from the
 * message when it has one, else the longest prefix that still starts a JSON value (binary search).
 */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  let message: string;
  try {
    JSON.parse(text);
    return undefined;
  } catch (cause) {
    message = cause instanceof Error ? cause.message : '';
  }
  let offset: number;
  const at = /at position (\d+)/.exec(message);
  if (at !== null) offset = Number(at[1]);
  else if (message.startsWith('Unexpected end of JSON input')) offset = text.length;
  else {
    // prefixIsValidStart(0) holds and prefixIsValidStart(text.length) does not.
    let low = 0;
    let high = text.length;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (prefixIsValidStart(text, middle)) low = middle;
      else high = middle;
    }
    offset = low;
  }
  const before = text.slice(0, offset).split(/\r\n?|\n/);
  const line = before.length;
  const column = (before[before.length - 1] ?? '').length + 1;
  return {
    line,
    column,
    message:
      offset >= text.length
        ? `is not valid JSON: the text ends at line ${line} column ${column} before the value does`
        : `is not valid JSON at line ${line} column ${column}`,
  };
}
