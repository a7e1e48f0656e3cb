// An offline mirror of upstream (`homelab vendor sync --mirror DIR`): a folder laid out as vendor/
// is, marked by the SOURCES.md that says where its files come from. Checked before sync reads or
// reuses anything, so a mistyped path is refused even when vendor/ is already current; its files
// are read bounded, regular files only, never through a symlink or out of the mirror.
import { type Dirent, lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import {
  errnoCode,
  errnoReason,
  fileKind,
  HomelabError,
  MAX_ARTIFACT_BYTES,
  readFailureCode,
  readRegularFile,
  type WordedErrno,
} from '@homelab/core';

/** The file that marks a mirror: at its top, or in a folder directly under it (`charts/`). */
export const MIRROR_MARKER = 'SOURCES.md';

const WHAT_A_MIRROR_IS = `A mirror is a folder laid out as vendor/ is, with a ${MIRROR_MARKER} saying where its files come from (at its top or in a folder directly under it, as charts/${MIRROR_MARKER})`;

/** The errno codes the mirror check words with their code (`permission denied (EACCES)`). */
const WORDED: readonly WordedErrno[] = ['EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG'];

/**
 * Why the mirror or one of its files cannot be used. A missing path keeps the mirror's own words,
 * without the code (`it does not exist`, `a part of its path is not a folder`).
 */
function reasonOf(cause: unknown): string {
  const code = errnoCode(cause);
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'ENOTDIR') return 'a part of its path is not a folder';
  return errnoReason(cause, WORDED);
}

/** What is where a folder was expected: any device is `a device`. */
function kindOf(stat: Stats): string {
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return fileKind(stat) ?? 'not a folder';
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Why `dir` is not an offline mirror, naming it (`/x is not an offline mirror: it does not
 * exist. A mirror is …`), or `undefined` when it is one: an existing folder (a symlink to one is
 * followed: it is the path the user gave) with a regular `SOURCES.md` at its top or in a folder
 * directly under it. Reads no file.
 */
export function mirrorProblem(dir: string): string | undefined {
  const not = (reason: string): string =>
    `${dir} is not an offline mirror: ${reason}. ${WHAT_A_MIRROR_IS}`;
  let stat: Stats;
  try {
    stat = statSync(dir);
  } catch (cause) {
    return not(reasonOf(cause));
  }
  if (!stat.isDirectory()) return not(`it is ${kindOf(stat)}, not a folder`);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    return not(`its entries cannot be listed: ${reasonOf(cause)}`);
  }
  const markers = [
    join(dir, MIRROR_MARKER),
    ...entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name, MIRROR_MARKER)),
  ];
  if (markers.some(isRegularFile)) return undefined;
  return not(`it has no ${MIRROR_MARKER}`);
}

/** Reads the files of a mirror; see `mirrorReader`. */
export type MirrorReader = (path: string) => Buffer;

/**
 * A reader of `<dir>/<vendor path>` for a folder `mirrorProblem` accepts (throws a
 * `HomelabError` with its sentence otherwise). Each file must be a regular file of at most
 * `MAX_ARTIFACT_BYTES` whose folder lies inside the mirror; the reader throws a `HomelabError`
 * naming the file otherwise: `<file> is not in the mirror` when nothing is there, `cannot read
 * <file>: it is a named pipe (FIFO), not a regular file` (a folder, a symlink, a device, too large
 * alike), `cannot read <file>: its folder leads out of the mirror …` for a symlinked folder.
 */
export function mirrorReader(dir: string): MirrorReader {
  const problem = mirrorProblem(dir);
  if (problem !== undefined) throw new HomelabError(problem);
  const root = realpathSync(dir);
  return (path) => {
    const file = join(dir, path);
    const missing = (cause: unknown) => new HomelabError(`${file} is not in the mirror`, { cause });
    let folder: string;
    try {
      folder = realpathSync(dirname(file));
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(cause);
      throw new HomelabError(`cannot read ${file}: ${reasonOf(cause)}`, { cause });
    }
    if (folder !== root && !folder.startsWith(`${root}${sep}`)) {
      throw new HomelabError(
        `cannot read ${file}: its folder leads out of the mirror (to ${folder}) through a symbolic link; a mirror's folders must be inside it`,
      );
    }
    try {
      return readRegularFile(file, { maxBytes: MAX_ARTIFACT_BYTES });
    } catch (cause) {
      const code = readFailureCode(cause);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(cause);
      throw cause;
    }
  };
}
