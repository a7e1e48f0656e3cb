// Why a path could not be used, in words: a file-system error's reason (`permission denied
// (EACCES)`) and what kind of file is where another was expected (`a named pipe (FIFO)`). One
// wording for every message that names a path and its cause: core's bounded reader and writer,
// vendor's mirror check.
import type { Stats } from 'node:fs';

const WORDS = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  ENXIO: 'it is a socket or a device without a reader',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'an input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EBUSY: 'it is busy (a mount point, or a file another program holds)',
  EXDEV: 'it is on another file system',
  ENOTEMPTY: 'the folder is not empty',
  EEXIST: 'it already exists',
} as const;

/** An errno code `errnoReason` has words for. */
export type WordedErrno = keyof typeof WORDS;

const EVERY_CODE = Object.keys(WORDS) as readonly WordedErrno[];

/** The errno code of a file-system error (`ENOENT`, `EACCES`, …), if it has one. */
export function errnoCode(cause: unknown): string | undefined {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Why a file-system call failed, in words and with its code: `permission denied (EACCES)`,
 * `it does not exist (ENOENT)`. A code outside `codes` (default: every code there are words for),
 * or an error without one, keeps the error's own message: a caller lists the codes it words.
 */
export function errnoReason(cause: unknown, codes: readonly WordedErrno[] = EVERY_CODE): string {
  const code = errnoCode(cause);
  const worded = codes.find((known) => known === code);
  if (worded !== undefined) return `${WORDS[worded]} (${worded})`;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * What kind of file `stat` (of `lstat`, `stat` or `fstat`) describes, as a message names it:
 * `a file`, `a folder`, `a symbolic link`, `a named pipe (FIFO)`, `a socket`, `a character
 * device`, `a block device`; `undefined` for a kind Node does not tell apart.
 */
export function fileKind(stat: Stats): string | undefined {
  if (stat.isFile()) return 'a file';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return undefined;
}
