// The one module that writes the generated trees (DESIGN.md, "Atomic and safe").
//
// A file is the build's when its first line carries the generated-by marker
// (`isGeneratedContent`); everything else under a managed root is the user's (a chart's
// package.json and CHANGELOG.md belong to changesets, node_modules/ to pnpm) and is never
// read, copied, moved or re-created: only the build's own files change, in place.
//
// One write is one transaction over every managed root (charts/ and clusters/ together):
//   1. lock     `<out>/.homelab-lock` is created exclusively (write a temp file, link it; the
//               lock names pid, host and start time); a lock whose process is gone is stale.
//   2. recover  a journal left by a killed write is completed, stage folders without one are
//               removed (`recoverOutput`).
//   3. stage    every new or changed file is written into `<out>/.homelab-stage-<pid>/` (or
//               `<root>/.homelab-stage-<pid>/` when the root is on another file system), a new
//               folder as a whole staged folder; nothing under the roots changes yet.
//   4. commit   the journal (the list of renames and removals) is written to a temp file and
//               renamed to `journal.json`: before this rename the old tree is intact and the
//               stage is garbage; after it, the write is decided and any later build completes it.
//   5. apply    each operation, idempotent (a rename whose source is gone is done), then the
//               journal and the stage are removed.
// A process killed at any point leaves the old output, the new output, or a committed journal
// that the next homelab command completes before it reads or writes anything.
import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { chartPackageJson } from './chart.js';
import { errnoCode, errnoReason, type WordedErrno } from './file-reasons.js';
import { error, HomelabError, type Issue, ValidationError } from './issues.js';
import {
  FileReadError,
  jsonSyntaxProblem,
  readFailureCode,
  readRegularFile,
  readRegularFileIfPresent,
} from './read-file.js';
import type { GeneratedFile } from './types.js';
import { compareStrings, isGeneratedContent } from './yaml.js';

/** The file-system calls the writer makes; tests inject failures through `WriteOptions.fs`. */
export interface WriterFs {
  readonly lstatSync: (path: string) => nodeFs.Stats;
  readonly statSync: (path: string) => nodeFs.Stats;
  readonly readdirSync: (path: string) => string[];
  readonly readFileSync: (path: string) => Buffer;
  readonly writeFileSync: (
    path: string,
    data: string | Uint8Array,
    options?: { mode?: number; flag?: string },
  ) => void;
  /** Creates one folder (not its parents). */
  readonly mkdirSync: (path: string) => void;
  readonly renameSync: (from: string, to: string) => void;
  readonly linkSync: (existing: string, path: string) => void;
  readonly unlinkSync: (path: string) => void;
  readonly rmdirSync: (path: string) => void;
  readonly rmSync: (path: string, options: { recursive: true; force: true }) => void;
  readonly chmodSync: (path: string, mode: number) => void;
}

/** Bytes one file of the output tree (or the lock, the journal, the build record) may have. */
const MAX_OUTPUT_FILE_BYTES = 256 * 1024 * 1024;

/**
 * `readRegularFile` for the writer: a FIFO, socket or device where the lock, a journal, the
 * build record or an output file is expected is refused, never waited on (a plain read of a FIFO
 * with no writer hangs the build for ever), and the read is size-bounded. The failure keeps the
 * errno-style `code` the writer's callers test (`ENOENT`, `EISDIR`, `ELOOP`; `EINVAL` for a file
 * that is not a regular one), its message the reason alone (the caller names action and path).
 */
function boundedRead(path: string): Buffer {
  try {
    return readRegularFile(path, { maxBytes: MAX_OUTPUT_FILE_BYTES });
  } catch (cause) {
    const reason =
      cause instanceof FileReadError
        ? cause.reason
        : cause instanceof Error
          ? cause.message
          : String(cause);
    throw Object.assign(new Error(reason), { code: readFailureCode(cause) ?? 'EIO' });
  }
}

const realFs: WriterFs = {
  lstatSync: (path) => nodeFs.lstatSync(path),
  statSync: (path) => nodeFs.statSync(path),
  readdirSync: (path) => nodeFs.readdirSync(path),
  readFileSync: (path) => boundedRead(path),
  writeFileSync: (path, data, options) => nodeFs.writeFileSync(path, data, options),
  mkdirSync: (path) => nodeFs.mkdirSync(path),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
  linkSync: (existing, path) => nodeFs.linkSync(existing, path),
  unlinkSync: (path) => nodeFs.unlinkSync(path),
  rmdirSync: (path) => nodeFs.rmdirSync(path),
  rmSync: (path, options) => nodeFs.rmSync(path, options),
  chmodSync: (path, mode) => nodeFs.chmodSync(path, mode),
};

export interface WriteOptions {
  /** Top-level folders the build owns. Default `['charts', 'clusters']`. */
  readonly managedRoots?: readonly string[];
  /** Replace some file-system calls (tests). */
  readonly fs?: Partial<WriterFs>;
  /**
   * Called before each step of a write or recovery with a running number and a label (`lock`,
   * `stage charts/x/values.yaml`, `commit`, `apply replace charts/x/values.yaml`, …). For tests
   * that interrupt a write at a chosen step (the CLI maps `HOMELAB_WRITER_TRACE` and
   * `HOMELAB_WRITER_PAUSE_AT` to it).
   */
  readonly onStep?: (step: number, label: string) => void;
  /**
   * Record this build in `<out>/.homelab-build.json` once the tree is written (see
   * `readBuildRecord`): `key` names its inputs, `issues` are replayed by a build that reuses it.
   * Every write first removes the record, so a write without one (or a killed one) leaves none.
   */
  readonly record?: { readonly key: string; readonly issues: readonly Issue[] };
}

export interface WritePlan {
  /** New or changed files (including a chart package.json created for a new chart). */
  readonly written: string[];
  readonly unchanged: string[];
  /** Generated earlier (marker on the first line), no longer generated. */
  readonly removed: string[];
  /**
   * Generated paths where something the build did not generate already is (a file without the
   * marker, a folder, a symlink, a FIFO): the writer never replaces those; `writeTree` refuses.
   */
  readonly conflicts: string[];
}

export interface FileDiff {
  readonly path: string;
  /** `null`: the file does not exist yet. */
  readonly before: string | null;
  /** `null`: the build removes the file. */
  readonly after: string | null;
}

/** What `recoverOutput` found and did. */
export interface RecoveryReport {
  /** Stage folders whose committed journal was completed (relative to the output root). */
  readonly completed: string[];
  /** Stage folders of writes killed before their commit, removed. */
  readonly removed: string[];
}

/** The lock on an output root; `release` removes it. */
export interface OutputLock {
  readonly path: string;
  release(): void;
}

const DEFAULT_ROOTS = ['charts', 'clusters'] as const;
/** Folders inside a managed root that are never the build's: never looked into. */
const OPAQUE_DIRS = new Set(['node_modules', '.git']);
const STAGE_PREFIX = '.homelab-stage-';
const LOCK_NAME = '.homelab-lock';
const JOURNAL = 'journal.json';
const JOURNAL_VERSION = 1;

interface DiskEntry {
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  /** Content of regular files. */
  readonly content?: Buffer;
  readonly mode: number;
}

interface Desired {
  /** Relative path → content, every generated file plus chart package.json files to create. */
  readonly files: Map<string, string>;
  /** Relative paths of chart package.json files the writer creates. */
  readonly created: Set<string>;
}

/** One step of a committed write; paths relative to the output root. */
type Operation =
  /** A staged folder or file renamed to where nothing is (a new root, a new folder). */
  | { readonly op: 'tree'; readonly from: string; readonly to: string }
  /** A staged file renamed over the generated file it replaces. */
  | { readonly op: 'replace'; readonly from: string; readonly to: string }
  /** A staged file linked where no file is (never replaces one), then unlinked from the stage. */
  | { readonly op: 'create'; readonly from: string; readonly to: string }
  /** A generated file no longer generated. */
  | { readonly op: 'remove'; readonly path: string }
  /** A folder the removals emptied (left when anything else is in it). */
  | { readonly op: 'prune'; readonly path: string };

interface Journal {
  readonly version: number;
  readonly pid: number;
  /** Stage folders of this write, relative to the output root (removed when it is done). */
  readonly stages: string[];
  readonly operations: Operation[];
}

// ---------------------------------------------------------------------------------------------
// Faults

/** The errno codes a fault words (`no space left on the device (ENOSPC)`); another keeps Node's message. */
const WORDED: readonly WordedErrno[] = [
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EBUSY',
  'EACCES',
  'EPERM',
  'EXDEV',
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'ENOTEMPTY',
  'EEXIST',
  'EMFILE',
  'ENFILE',
  'EIO',
  'ELOOP',
  'ENAMETOOLONG',
];

/** `cannot <action> <path>: <cause> (<CODE>)`: what failed, where, and why. */
export function fileSystemFault(action: string, path: string, cause: unknown): HomelabError {
  return fault(action, path, cause);
}

function fault(action: string, path: string, cause: unknown): HomelabError {
  if (cause instanceof HomelabError) return cause;
  return new HomelabError(`cannot ${action} ${path}: ${errnoReason(cause, WORDED)}`, { cause });
}

/** The file-system error under a HomelabError that wraps it. */
function rootCause(cause: unknown): unknown {
  return cause instanceof HomelabError && cause.cause !== undefined ? cause.cause : cause;
}

/** Runs a file-system call; a failure becomes a HomelabError naming the action and path. */
function attempt<T>(action: string, path: string, call: () => T): T {
  try {
    return call();
  } catch (cause) {
    throw fault(action, path, cause);
  }
}

/**
 * `mkdir -p`, one folder at a time. (Node's recursive mkdirSync never returns for a path under
 * /proc/sys, where mkdir keeps failing with ENOENT although the parent exists.)
 */
function makeDirs(fs: WriterFs, path: string, action: string): void {
  try {
    fs.mkdirSync(path);
    return;
  } catch (cause) {
    const code = errnoCode(cause);
    if (code === 'EEXIST') {
      if (lstatOrUndefined(fs, path)?.isDirectory() || isDirectoryThroughLink(fs, path)) return;
      throw fault(action, path, { code: 'ENOTDIR' });
    }
    if (code !== 'ENOENT' || dirname(path) === path) throw fault(action, path, cause);
  }
  makeDirs(fs, dirname(path), action);
  try {
    fs.mkdirSync(path);
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST' && lstatOrUndefined(fs, path)?.isDirectory()) return;
    throw fault(action, path, cause);
  }
}

/**
 * Creates `path` and its missing parents, one folder at a time (never Node's recursive mkdir,
 * which loops under /proc); an existing folder (or a symlink to one) is fine. Throws
 * `cannot <action> <path>: <cause> (<CODE>)`, e.g. `cannot create the output folder /proc/x: it
 * does not exist (ENOENT)`. For the commands that write outside `writeTree` (changeset, release).
 */
export function makeFolder(path: string, action = 'create the folder'): void {
  makeDirs(realFs, path, action);
}

function isDirectoryThroughLink(fs: WriterFs, path: string): boolean {
  try {
    return fs.statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function lstatOrUndefined(fs: WriterFs, path: string): nodeFs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return undefined;
    throw fault('inspect', path, cause);
  }
}

// ---------------------------------------------------------------------------------------------
// Steps (test hook)

class Steps {
  private count = 0;
  constructor(private readonly hook: WriteOptions['onStep']) {}
  step(label: string): void {
    this.count += 1;
    this.hook?.(this.count, label);
  }
}

// ---------------------------------------------------------------------------------------------
// Lock

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  /** Start time of the process in clock ticks since boot (Linux), to tell a reused pid. */
  readonly since?: string;
}

function processSince(pid: number | 'self'): string | undefined {
  try {
    const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the command name in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function parseLock(text: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return {
      pid: parsed.pid,
      host: parsed.host,
      started: typeof parsed.started === 'string' ? parsed.started : 'an unknown time',
      ...(typeof parsed.since === 'string' ? { since: parsed.since } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Lock files this process holds (a pid can come back in a new container with the same number). */
const held = new Set<string>();
/** The step counter of each lock `holdOutput` holds: a write under it numbers its steps on. */
const heldSteps = new Map<string, Steps>();

/** Whether the process that holds a lock is gone (only decidable on this host). */
function isStale(lock: LockContent, lockPath: string): boolean {
  if (lock.host !== hostname()) return false;
  // Our pid but not our lock: an earlier process that had the same pid, so it is gone.
  if (lock.pid === process.pid) return !held.has(lockPath);
  try {
    process.kill(lock.pid, 0);
  } catch (cause) {
    return errnoCode(cause) === 'ESRCH';
  }
  // Alive: the same process, unless the pid was reused since.
  const since = processSince(lock.pid);
  return lock.since !== undefined && since !== undefined && since !== lock.since;
}

function busy(outRoot: string, lockPath: string, holder: LockContent | undefined): HomelabError {
  const who = holder
    ? `pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}, started ${holder.started}`
    : 'its lock file is unreadable';
  return new HomelabError(
    `another homelab build is running in ${outRoot} (${who}); wait for it to finish, ` +
      `or delete ${lockPath} if that process is gone`,
  );
}

/**
 * Takes the exclusive lock on `outRoot` (`.homelab-lock`, created with link(2) from a complete
 * temp file, so it never exists half-written). A lock whose process has died is taken over.
 * Throws HomelabError "another homelab build is running (pid N, started …)" otherwise.
 */
export function lockOutput(outRoot: string, options: Pick<WriteOptions, 'fs'> = {}): OutputLock {
  const fs = withFs(options);
  const lockPath = join(outRoot, LOCK_NAME);
  // Held by `holdOutput` in this process: a write or read under it nests.
  if (heldSteps.has(lockPath)) return { path: lockPath, release: () => {} };
  makeDirs(fs, outRoot, 'create the output folder');
  const since = processSince('self');
  const content: LockContent = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    ...(since === undefined ? {} : { since }),
  };
  const text = `${JSON.stringify(content)}\n`;
  const temp = join(outRoot, `${LOCK_NAME}.${process.pid}.tmp`);
  attempt('write the lock', temp, () => fs.writeFileSync(temp, text, { mode: 0o644 }));
  try {
    for (let attemptNo = 0; attemptNo < 5; attemptNo++) {
      try {
        fs.linkSync(temp, lockPath);
        held.add(lockPath);
        return {
          path: lockPath,
          release: () => {
            held.delete(lockPath);
            try {
              if (fs.readFileSync(lockPath).toString('utf8') === text) fs.unlinkSync(lockPath);
            } catch {
              // Already gone: nothing to release.
            }
          },
        };
      } catch (cause) {
        if (errnoCode(cause) !== 'EEXIST') throw fault('create the lock', lockPath, cause);
      }
      let heldText: string;
      try {
        heldText = fs.readFileSync(lockPath).toString('utf8');
      } catch (cause) {
        if (errnoCode(cause) === 'ENOENT') continue; // released meanwhile
        throw fault('read the lock', lockPath, cause);
      }
      const holder = parseLock(heldText);
      if (!holder || !isStale(holder, lockPath)) throw busy(outRoot, lockPath, holder);
      // Take the stale lock aside (atomic: only one process can move this file), then check
      // that it is the stale one we judged, not a fresh lock created in between.
      const aside = join(outRoot, `${LOCK_NAME}.stale-${process.pid}`);
      try {
        fs.renameSync(lockPath, aside);
      } catch (cause) {
        if (errnoCode(cause) === 'ENOENT') continue;
        throw fault('remove the stale lock', lockPath, cause);
      }
      const moved = fs.readFileSync(aside).toString('utf8');
      if (moved !== heldText) {
        try {
          fs.linkSync(aside, lockPath);
        } catch {
          // Someone holds a newer lock anyway.
        }
        fs.unlinkSync(aside);
        throw busy(outRoot, lockPath, parseLock(moved));
      }
      fs.unlinkSync(aside);
    }
    throw busy(outRoot, lockPath, undefined);
  } finally {
    try {
      fs.unlinkSync(temp);
    } catch {
      // A leftover temp file is removed by the next lock of the same pid, or harmlessly stays.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    return errnoCode(cause) !== 'ESRCH';
  }
}

/** Temp and set-aside lock files of processes killed while taking a lock. */
function removeLockLeftovers(fs: WriterFs, outRoot: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(outRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^\.homelab-lock\.(?:stale-)?(\d+)(?:\.tmp)?$/.exec(name);
    if (!match || Number(match[1]) === process.pid || isAlive(Number(match[1]))) continue;
    try {
      fs.unlinkSync(join(outRoot, name));
    } catch {
      // Gone already.
    }
  }
}

/** The holder of a live lock on `outRoot`, if another process holds one. */
function liveLock(fs: WriterFs, outRoot: string): LockContent | undefined | null {
  let text: string;
  try {
    text = fs.readFileSync(join(outRoot, LOCK_NAME)).toString('utf8');
  } catch {
    return null;
  }
  const holder = parseLock(text);
  const lockPath = join(outRoot, LOCK_NAME);
  if (holder && (held.has(lockPath) || isStale(holder, lockPath))) return null;
  return holder;
}

// ---------------------------------------------------------------------------------------------
// Recovery

function isStageName(name: string): boolean {
  return name.startsWith(STAGE_PREFIX);
}

function readJournal(fs: WriterFs, file: string): Journal | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file).toString('utf8');
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return undefined;
    throw fault('read the journal', file, cause);
  }
  let parsed: Journal;
  try {
    parsed = JSON.parse(text) as Journal;
  } catch (cause) {
    throw new HomelabError(
      `the journal ${file} of an interrupted build is not valid JSON; inspect it, then delete its folder`,
      { cause },
    );
  }
  if (parsed.version !== JOURNAL_VERSION || !Array.isArray(parsed.operations)) {
    throw new HomelabError(
      `the journal ${file} of an interrupted build has an unknown format; delete its folder`,
    );
  }
  return parsed;
}

/** A journal path must stay under the output root, in a managed root or a stage folder. */
function checkJournalPath(path: string, roots: readonly string[], file: string): void {
  const segments = path.split('/');
  const bad =
    path === '' ||
    path.startsWith('/') ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    !(roots.includes(segments[0] as string) || isStageName(segments[0] as string));
  if (bad) throw new HomelabError(`the journal ${file} names a path outside the output: ${path}`);
}

/** Stage folders under the output root and directly under each managed root. */
function findStages(fs: WriterFs, outRoot: string, roots: readonly string[]): string[] {
  const stages: string[] = [];
  const list = (relative: string): void => {
    const dir = relative === '' ? outRoot : join(outRoot, relative);
    const stat = lstatOrUndefined(fs, dir);
    if (!stat) return;
    if (relative !== '' && !(stat.isDirectory() || stat.isSymbolicLink())) return;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return;
      throw fault('list', dir, cause);
    }
    for (const name of names.sort(compareStrings)) {
      if (isStageName(name)) stages.push(relative === '' ? name : `${relative}/${name}`);
    }
  };
  list('');
  for (const root of roots) list(root);
  return stages;
}

/** Whether anything of an interrupted write is under `outRoot`: a stage folder, a lock file. */
function hasLeftovers(fs: WriterFs, outRoot: string, roots: readonly string[]): boolean {
  if (findStages(fs, outRoot, roots).length > 0) return true;
  try {
    return fs.readdirSync(outRoot).some((name) => name.startsWith(LOCK_NAME));
  } catch {
    return false;
  }
}

/**
 * Completes the committed journal of a killed write and removes the stage folders of writes
 * killed before they committed. The caller holds the lock (`writeTree` does this first).
 */
function recoverLocked(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
  steps: Steps,
): RecoveryReport {
  const completed: string[] = [];
  const removed: string[] = [];
  removeLockLeftovers(fs, outRoot);
  const stages = findStages(fs, outRoot, roots);
  const done = new Set<string>();
  for (const stage of stages) {
    if (stage.includes('/')) continue; // a root's stage belongs to the main one
    const journalFile = join(outRoot, stage, JOURNAL);
    const journal = readJournal(fs, journalFile);
    if (!journal) continue;
    for (const operation of journal.operations) {
      for (const path of operationPaths(operation)) checkJournalPath(path, roots, journalFile);
    }
    steps.step(`recover ${stage}`);
    applyJournal(fs, outRoot, journal, steps);
    finish(fs, outRoot, stage, journal, steps);
    completed.push(stage);
    for (const path of journal.stages) done.add(path);
  }
  for (const stage of stages) {
    if (done.has(stage)) continue;
    const path = join(outRoot, stage);
    if (!lstatOrUndefined(fs, path)) continue;
    steps.step(`discard ${stage}`);
    discardStage(fs, path);
    removed.push(stage);
  }
  return { completed, removed };
}

/**
 * Removes a stage without a journal. A stage of the writer before journals (`<root>.old`,
 * `<root>.new`) may hold the only copy of a tree: a missing root is put back from `.old` first.
 */
function discardStage(fs: WriterFs, stage: string): void {
  const outRoot = dirname(stage);
  let names: string[] = [];
  try {
    names = fs.readdirSync(stage);
  } catch {
    names = [];
  }
  for (const name of names) {
    const legacy = /^(.+)\.old$/.exec(name);
    if (!legacy) continue;
    const live = join(outRoot, legacy[1] as string);
    if (!lstatOrUndefined(fs, live)) {
      attempt('restore the old tree', live, () => fs.renameSync(join(stage, name), live));
    }
  }
  attempt('remove the stage folder', stage, () =>
    fs.rmSync(stage, { recursive: true, force: true }),
  );
}

/**
 * Completes an interrupted write (a committed journal) or discards one killed before its
 * commit, and removes the lock a killed build left, taking the lock meanwhile (so it refuses,
 * like a write, while another build runs). `writeTree` does this itself; for other commands
 * that read the output. Does nothing (and takes no lock) when nothing is left over.
 */
export function recoverOutput(outRoot: string, options: WriteOptions = {}): RecoveryReport {
  const fs = withFs(options);
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  if (!hasLeftovers(fs, outRoot, roots)) return { completed: [], removed: [] };
  const lock = lockOutput(outRoot, options);
  try {
    return recoverLocked(fs, outRoot, roots, new Steps(options.onStep));
  } finally {
    lock.release();
  }
}

/**
 * For a command that reads the output before it writes or compares it (the CLI's `build`,
 * `check`, `diff`, `changeset`): takes the lock on `outRoot` (throws "another homelab build is
 * running" while another process holds it), then completes a committed journal of a killed write
 * and removes stages without one, so that every read until `release()` sees one whole tree that
 * no other build changes. `writeTree`, `diffTree` and `planWrite` under it nest (they neither
 * lock again nor release); a write's steps number on from this lock's (`lock`, `recover …`).
 * An output folder that does not exist is neither created nor locked: the writer does both.
 */
export function holdOutput(outRoot: string, options: WriteOptions = {}): OutputLock {
  const fs = withFs(options);
  // No folder yet: nothing to read, and nothing may be written before the definition is known
  // to be valid (a refused build leaves no folder behind). The writer creates it and locks then.
  if (lstatOrUndefined(fs, outRoot) === undefined) return { path: '', release: () => {} };
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  const steps = new Steps(options.onStep);
  steps.step('lock');
  const lock = lockOutput(outRoot, options);
  if (heldSteps.has(lock.path)) return lock; // nested: the outer hold recovered already
  try {
    recoverLocked(fs, outRoot, roots, steps);
  } catch (cause) {
    lock.release();
    throw cause;
  }
  heldSteps.set(lock.path, steps);
  return {
    path: lock.path,
    release: () => {
      heldSteps.delete(lock.path);
      lock.release();
    },
  };
}

function operationPaths(operation: Operation): string[] {
  return operation.op === 'remove' || operation.op === 'prune'
    ? [operation.path]
    : [operation.from, operation.to];
}

/** Applies every operation; each is idempotent, so a journal can be applied again. */
function applyJournal(fs: WriterFs, outRoot: string, journal: Journal, steps: Steps): void {
  for (const operation of journal.operations) {
    steps.step(
      `apply ${operation.op} ${operation.op === 'remove' || operation.op === 'prune' ? operation.path : operation.to}`,
    );
    applyOperation(fs, outRoot, operation);
  }
}

function applyOperation(fs: WriterFs, outRoot: string, operation: Operation): void {
  switch (operation.op) {
    case 'remove': {
      const path = join(outRoot, operation.path);
      const stat = lstatOrUndefined(fs, path);
      if (!stat?.isFile()) return;
      // Only the build's own file: one the user replaced meanwhile stays.
      const content = attempt('read', path, () => fs.readFileSync(path));
      if (!isGeneratedContent(content.toString('utf8'))) return;
      try {
        fs.unlinkSync(path);
      } catch (cause) {
        if (errnoCode(cause) !== 'ENOENT') throw fault('remove', path, cause);
      }
      return;
    }
    case 'prune': {
      const path = join(outRoot, operation.path);
      try {
        fs.rmdirSync(path);
      } catch (cause) {
        const code = errnoCode(cause);
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR')
          throw fault('remove the emptied folder', path, cause);
      }
      return;
    }
    case 'replace':
    case 'tree':
    case 'create': {
      const from = join(outRoot, operation.from);
      const to = join(outRoot, operation.to);
      if (!lstatOrUndefined(fs, from)) return; // done before
      makeDirs(fs, dirname(to), 'create the folder');
      if (operation.op === 'replace') {
        attempt('replace', to, () => fs.renameSync(from, to));
        return;
      }
      if (operation.op === 'tree') {
        const there = lstatOrUndefined(fs, to);
        if (there?.isDirectory()) {
          // An empty folder someone created meanwhile gives way; anything else is theirs.
          try {
            fs.rmdirSync(to);
          } catch (cause) {
            throw fault('move the new folder into place at', to, cause);
          }
        } else if (there) {
          throw fault('move the new folder into place at', to, { code: 'EEXIST' });
        }
        attempt('move the new folder into place at', to, () => fs.renameSync(from, to));
        return;
      }
      try {
        fs.linkSync(from, to);
      } catch (cause) {
        const code = errnoCode(cause);
        if (code === 'EEXIST') {
          // Linked before the kill, or someone's file: never replaced either way.
        } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          // No hard links on this file system: rename, still never over a file.
          if (!lstatOrUndefined(fs, to)) attempt('create', to, () => fs.renameSync(from, to));
        } else throw fault('create', to, cause);
      }
      try {
        fs.unlinkSync(from);
      } catch (cause) {
        if (errnoCode(cause) !== 'ENOENT') throw fault('remove the staged copy', from, cause);
      }
      return;
    }
  }
}

/** Removes the journal (the write is complete), then the stage folders. */
function finish(
  fs: WriterFs,
  outRoot: string,
  stage: string,
  journal: Journal,
  steps: Steps,
): void {
  steps.step('journal removed');
  attempt('remove the journal', join(outRoot, stage, JOURNAL), () =>
    fs.rmSync(join(outRoot, stage, JOURNAL), { recursive: true, force: true }),
  );
  for (const path of journal.stages) {
    steps.step(`remove ${path}`);
    try {
      fs.rmSync(join(outRoot, path), { recursive: true, force: true });
    } catch {
      // A leftover stage without a journal is removed by the next write.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Plan

/** What `writeTree` would do, without writing. Throws `HomelabError` for a bad file path. */
export function planWrite(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): WritePlan {
  return readOnly(outRoot, files, options).plan;
}

/** The changes `writeTree` would make, with old and new contents, sorted by path. */
export function diffTree(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): FileDiff[] {
  const { existing, desired, plan } = readOnly(outRoot, files, options);
  const textOf = (path: string): string | null => {
    const entry = existing.get(path);
    return entry?.content ? entry.content.toString('utf8') : null;
  };
  const diffs: FileDiff[] = [
    ...plan.written.map((path) => ({
      path,
      before: textOf(path),
      after: desired.files.get(path) ?? null,
    })),
    ...plan.removed.map((path) => ({ path, before: textOf(path), after: null })),
  ];
  return diffs.sort((a, b) => compareStrings(a.path, b.path));
}

/**
 * For reading commands: refuses while another build writes, completes an interrupted write
 * first (under the lock), then reads.
 */
function readOnly(outRoot: string, files: readonly GeneratedFile[], options: WriteOptions) {
  const fs = withFs(options);
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  const holder = liveLock(fs, outRoot);
  if (holder !== null) throw busy(outRoot, join(outRoot, LOCK_NAME), holder);
  recoverOutput(outRoot, options);
  return prepare(fs, outRoot, roots, files);
}

/** What is on disk under the managed roots, what should be, and the plan. */
function prepare(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
  files: readonly GeneratedFile[],
) {
  const existing = scanRoots(fs, outRoot, roots);
  const desired = desiredFiles(files, roots, existing);
  return { existing, desired, plan: comparePlan(existing, desired) };
}

// ---------------------------------------------------------------------------------------------
// Write

/**
 * Writes the generated files under `outRoot` as one transaction (see the file comment) and
 * returns what changed. Nothing is touched when nothing changed. Throws `HomelabError` on
 * conflicts, bad paths, another running build, or a file-system fault (naming the path and the
 * cause); until the commit the managed roots are exactly as they were.
 */
export function writeTree(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): WritePlan {
  const fs = withFs(options);
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  const outer = heldSteps.get(join(outRoot, LOCK_NAME));
  const steps = outer ?? new Steps(options.onStep);
  if (outer === undefined) steps.step('lock');
  const lock = lockOutput(outRoot, options);
  try {
    removeRecord(fs, outRoot);
    recoverLocked(fs, outRoot, roots, steps);
    const { existing, desired, plan } = prepare(fs, outRoot, roots, files);
    if (plan.conflicts.length > 0) {
      throw new HomelabError(
        `refusing to overwrite what the build did not generate: ${plan.conflicts.join(', ')} ` +
          '(no "generated by" first line, or not a regular file; move them away or delete them)',
      );
    }
    if (plan.written.length > 0 || plan.removed.length > 0) {
      commitAndApply(fs, outRoot, roots, existing, desired, plan, steps);
    }
    if (options.record) {
      writeRecord(fs, outRoot, roots, [...desired.files.keys()], files.length, options.record);
    }
    steps.step('unlock');
    return plan;
  } finally {
    lock.release();
  }
}

function commitAndApply(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
  existing: Map<string, DiskEntry>,
  desired: Desired,
  plan: WritePlan,
  steps: Steps,
): void {
  const stageName = `${STAGE_PREFIX}${process.pid}`;
  const touched = roots.filter((root) =>
    [...plan.written, ...plan.removed].some((path) => path.startsWith(`${root}/`)),
  );
  // Each root's files are staged on its own file system, so that renames stay atomic.
  const stageOf = new Map<string, string>();
  const outDevice = attempt('inspect', outRoot, () => fs.statSync(outRoot).dev);
  for (const root of touched) {
    const rootPath = join(outRoot, root);
    const link = lstatOrUndefined(fs, rootPath);
    if (link === undefined) {
      stageOf.set(root, stageName);
      continue;
    }
    let target: nodeFs.Stats;
    try {
      target = fs.statSync(rootPath);
    } catch (cause) {
      throw fault(`follow the symlink ${root} at`, rootPath, cause);
    }
    if (!target.isDirectory()) {
      throw new HomelabError(
        `${rootPath} is not a folder${link.isSymbolicLink() ? ' (a symlink to something else)' : ''}; the build writes ${root}/ there`,
      );
    }
    stageOf.set(root, target.dev === outDevice ? stageName : `${root}/${stageName}`);
  }
  const stages = [...new Set(stageOf.values())].sort(compareStrings);
  const operations: Operation[] = [];
  const mainStage = join(outRoot, stageName);

  try {
    for (const stage of stages) {
      steps.step(`stage ${stage}`);
      fs.rmSync(join(outRoot, stage), { recursive: true, force: true });
      makeDirs(fs, join(outRoot, stage), 'create the stage folder');
    }
    let counter = 0;
    const stagePath = (root: string): string => `${stageOf.get(root)}/${++counter}`;
    // New files whose folder does not exist yet go in as one staged folder per new folder.
    const trees = new Map<string, string>();
    const existingDirs = new Set(
      [...existing].filter(([, entry]) => entry.kind === 'dir').map(([path]) => path),
    );
    // A replaced file keeps its mode exactly; new files get 0644 (less the umask).
    const writes: { path: string; staged: string; content: string; mode?: number }[] = [];
    for (const path of plan.written) {
      const content = desired.files.get(path) as string;
      const root = path.split('/')[0] as string;
      const missing = existingDirs.has(root)
        ? parentsOf(path).find((parent) => parent.includes('/') && !existingDirs.has(parent))
        : root;
      if (missing !== undefined) {
        let staged = trees.get(missing);
        if (staged === undefined) {
          staged = stagePath(root);
          trees.set(missing, staged);
          operations.push({ op: 'tree', from: staged, to: missing });
        }
        writes.push({ path, staged: `${staged}${path.slice(missing.length)}`, content });
        continue;
      }
      const entry = existing.get(path);
      const staged = stagePath(root);
      if (entry?.kind === 'file') {
        operations.push({ op: 'replace', from: staged, to: path });
        writes.push({ path, staged, content, mode: entry.mode & 0o7777 });
      } else {
        operations.push({ op: 'create', from: staged, to: path });
        writes.push({ path, staged, content });
      }
    }
    const made = new Set<string>();
    for (const write of writes) {
      steps.step(`stage ${write.path}`);
      const target = join(outRoot, write.staged);
      const parent = dirname(target);
      if (!made.has(parent)) {
        makeDirs(fs, parent, 'create the folder');
        made.add(parent);
      }
      attempt('write', target, () =>
        fs.writeFileSync(target, write.content, { mode: write.mode ?? 0o644, flag: 'wx' }),
      );
      const mode = write.mode;
      if (mode !== undefined) attempt('set the mode of', target, () => fs.chmodSync(target, mode));
    }
    for (const path of plan.removed) operations.push({ op: 'remove', path });
    for (const folder of emptiedFolders(existing, desired, plan.removed)) {
      operations.push({ op: 'prune', path: folder });
    }
    const journal: Journal = { version: JOURNAL_VERSION, pid: process.pid, stages, operations };
    steps.step('commit');
    const temp = join(mainStage, `${JOURNAL}.tmp`);
    attempt('write the journal', temp, () =>
      fs.writeFileSync(temp, `${JSON.stringify(journal)}\n`, { mode: 0o644 }),
    );
    attempt('commit the journal', join(mainStage, JOURNAL), () =>
      fs.renameSync(temp, join(mainStage, JOURNAL)),
    );
  } catch (cause) {
    for (const stage of stages) {
      try {
        fs.rmSync(join(outRoot, stage), { recursive: true, force: true });
      } catch {
        // Removed by the next write's recovery.
      }
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new HomelabError(
      `could not write the new ${touched.join('/ and ')}/ (nothing was changed): ${detail}`,
      { cause: rootCause(cause) },
    );
  }

  const journal: Journal = { version: JOURNAL_VERSION, pid: process.pid, stages, operations };
  try {
    applyJournal(fs, outRoot, journal, steps);
    finish(fs, outRoot, stageName, journal, steps);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new HomelabError(
      `the write of ${touched.join('/ and ')}/ stopped part-way: ${detail}; the next homelab ` +
        `build completes it (its journal is ${join(mainStage, JOURNAL)})`,
      { cause: rootCause(cause) },
    );
  }
}

/** Folders that only held files the write removes: pruned, deepest first. */
function emptiedFolders(
  existing: Map<string, DiskEntry>,
  desired: Desired,
  removed: readonly string[],
): string[] {
  const candidates = new Set<string>();
  for (const path of removed) {
    for (const parent of parentsOf(path)) if (parent.includes('/')) candidates.add(parent);
  }
  // Anything that stays keeps its folders: files, symlinks, the rest, and folders that are no
  // candidates (a user's empty folder); a candidate folder only through what stays inside it.
  const keeps = new Set<string>();
  const removedSet = new Set(removed);
  for (const [path, entry] of existing) {
    if (removedSet.has(path) || (entry.kind === 'dir' && candidates.has(path))) continue;
    for (const parent of parentsOf(path)) keeps.add(parent);
  }
  for (const path of desired.files.keys()) {
    for (const parent of parentsOf(path)) keeps.add(parent);
  }
  return [...candidates]
    .filter((folder) => !keeps.has(folder))
    .sort((a, b) => b.split('/').length - a.split('/').length || compareStrings(a, b));
}

// ---------------------------------------------------------------------------------------------
// Build record: an unchanged rebuild skips generation
//
// `<out>/.homelab-build.json` holds the key of the build that wrote the tree (a digest of its
// inputs, computed by the CLI), its issues, and the identity of every file it wrote and every
// folder above them: size, modification and status-change times and inode. A later build with
// the same key reuses it when all of them are still exactly so: a file edited, replaced,
// touched or removed, or an entry added to or removed from one of those folders (a stray file,
// a new chart folder), changes one of them, and the build runs in full. The status-change time
// cannot be set from user space, so a restored modification time does not hide an edit.

const RECORD_NAME = '.homelab-build.json';
const RECORD_VERSION = 1;

/** What a reusable build record gives back. */
export interface BuildRecord {
  readonly key: string;
  /** Generated files of that build. */
  readonly files: number;
  readonly issues: readonly Issue[];
}

/** `[path, kind, size, mtimeMs, ctimeMs, ino]`; path relative to the output root. */
type RecordEntry = [string, 'file' | 'dir', number, number, number, number];

interface RecordFile {
  readonly version: number;
  readonly key: string;
  readonly files: number;
  readonly issues: readonly Issue[];
  readonly entries: readonly RecordEntry[];
}

function recordEntry(fs: WriterFs, outRoot: string, path: string): RecordEntry | undefined {
  const stats = lstatOrUndefined(fs, join(outRoot, path));
  if (stats === undefined || !(stats.isFile() || stats.isDirectory())) return undefined;
  return [
    path,
    stats.isFile() ? 'file' : 'dir',
    stats.isFile() ? stats.size : 0,
    stats.mtimeMs,
    stats.ctimeMs,
    stats.ino,
  ];
}

function removeRecord(fs: WriterFs, outRoot: string): void {
  const path = join(outRoot, RECORD_NAME);
  if (lstatOrUndefined(fs, path) === undefined) return;
  attempt('remove the build record', path, () => fs.unlinkSync(path));
}

/** Writes the record (temp file, then rename); a record that cannot be written is skipped. */
function writeRecord(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
  paths: readonly string[],
  files: number,
  record: NonNullable<WriteOptions['record']>,
): void {
  const folders = new Set<string>(roots);
  for (const path of paths) for (const parent of parentsOf(path)) folders.add(parent);
  const entries: RecordEntry[] = [];
  for (const path of [...[...folders].sort(compareStrings), ...paths]) {
    const entry = recordEntry(fs, outRoot, path);
    // A root that does not exist (nothing generated there) is recorded as absent: skip it.
    if (entry === undefined && roots.includes(path)) continue;
    if (entry === undefined) return;
    entries.push(entry);
  }
  const content: RecordFile = {
    version: RECORD_VERSION,
    key: record.key,
    files,
    issues: record.issues,
    entries,
  };
  const path = join(outRoot, RECORD_NAME);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, `${JSON.stringify(content)}\n`, { mode: 0o644 });
    fs.renameSync(temp, path);
  } catch {
    try {
      fs.unlinkSync(temp);
    } catch {
      // Nothing to clean up.
    }
  }
}

/**
 * The record of the build that wrote `outRoot`'s managed trees when its key is `key` and the
 * trees are exactly as it left them (see above); `undefined` otherwise, and also while another
 * build holds the lock or a killed write's stage or journal is still there (the full build
 * handles those). Reads and stats only; writes nothing.
 */
export function readBuildRecord(
  outRoot: string,
  key: string,
  options: Pick<WriteOptions, 'fs' | 'managedRoots'> = {},
): BuildRecord | undefined {
  const fs = withFs(options);
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  let record: RecordFile;
  try {
    record = JSON.parse(fs.readFileSync(join(outRoot, RECORD_NAME)).toString('utf8'));
  } catch {
    return undefined;
  }
  if (
    typeof record !== 'object' ||
    record === null ||
    record.version !== RECORD_VERSION ||
    record.key !== key ||
    !Array.isArray(record.entries) ||
    !Array.isArray(record.issues) ||
    typeof record.files !== 'number'
  ) {
    return undefined;
  }
  try {
    return unchangedSince(fs, outRoot, roots, record);
  } catch {
    return undefined; // a folder that cannot be read: the full build says why
  }
}

function unchangedSince(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
  record: RecordFile,
): BuildRecord | undefined {
  const names = fs.readdirSync(outRoot);
  if (names.some((name) => name.startsWith(LOCK_NAME) || name.startsWith(STAGE_PREFIX))) {
    return undefined;
  }
  const recordedRoots = new Set<string>();
  for (const entry of record.entries) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') return undefined;
    const now = recordEntry(fs, outRoot, entry[0]);
    if (now === undefined || now.some((value, index) => value !== entry[index])) return undefined;
    if (roots.includes(entry[0])) recordedRoots.add(entry[0]);
  }
  // A managed root that appeared since (nothing was generated there) holds something to remove.
  for (const root of roots) {
    if (!recordedRoots.has(root) && lstatOrUndefined(fs, join(outRoot, root)) !== undefined) {
      return undefined;
    }
  }
  return { key: record.key, files: record.files, issues: record.issues };
}

// ---------------------------------------------------------------------------------------------
// Reading

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Line and column of the `"version"` value in a package.json text (1:1 when not found). */
function versionPosition(text: string): { line: number; column: number } {
  const match = /"version"\s*:\s*/.exec(text);
  const offset = match ? match.index + match[0].length : 0;
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1] ?? '').length + 1 };
}

/**
 * `charts/<chart>/package.json` versions by chart name (charts without one are left out).
 * Throws `ValidationError` with an issue at the file for a package.json that is not JSON or
 * whose version is not a semantic version (it becomes the chart's version in Chart.yaml).
 */
export function readChartVersions(outRoot: string): Record<string, string> {
  const charts = join(outRoot, 'charts');
  const versions: Record<string, string> = {};
  const issues: Issue[] = [];
  let names: string[];
  try {
    names = nodeFs.readdirSync(charts);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return versions;
    throw fault('list', charts, cause);
  }
  for (const name of names.sort(compareStrings)) {
    if (isStageName(name)) continue;
    const file = join(charts, name, 'package.json');
    // A FIFO, a folder or a symlink here is refused by name (a fault of the output tree).
    const bytes = readRegularFileIfPresent(file);
    if (bytes === undefined) continue;
    const text = bytes.toString('utf8');
    const at = (line: number, column: number) => ({ file, line, column });
    const problem = jsonSyntaxProblem(text);
    if (problem !== undefined) {
      issues.push(
        error({
          code: 'chart-package',
          path: [],
          output: `charts/${name}/package.json`,
          message: problem.message,
          expected: 'the package.json changesets keeps: {"name", "version", "private"}',
          position: at(problem.line, problem.column),
        }),
      );
      continue;
    }
    const parsed: unknown = JSON.parse(text);
    const version = (parsed as { version?: unknown } | null)?.version;
    const { line, column } = versionPosition(text);
    if (typeof version !== 'string' || !SEMVER.test(version)) {
      issues.push(
        error({
          code: 'chart-version',
          path: [],
          output: `charts/${name}/package.json#version`,
          ...(version === undefined ? {} : { value: version }),
          message:
            typeof version === 'string'
              ? 'is not a semantic version; it would become the chart version in Chart.yaml'
              : 'is missing or not a string',
          expected:
            'a semantic version such as 0.1.0 (changesets sets it: `pnpm version-packages`)',
          position: at(line, column),
        }),
      );
      continue;
    }
    versions[name] = version;
  }
  if (issues.length > 0)
    throw new ValidationError(issues, { subject: `the output tree (${charts}/*/package.json)` });
  return versions;
}

/**
 * The text files of a chart folder, by path relative to it (node_modules/ left out), for
 * `renderChart` in tests and for `homelab check`.
 */
export function readChartDir(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (relative: string): void => {
    const absolute = relative === '' ? dir : join(dir, relative);
    for (const name of nodeFs.readdirSync(absolute).sort(compareStrings)) {
      if (OPAQUE_DIRS.has(name)) continue;
      const path = relative === '' ? name : `${relative}/${name}`;
      const stat = nodeFs.lstatSync(join(dir, path));
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) out.set(path, readRegularFile(join(dir, path)).toString('utf8'));
    }
  };
  walk('');
  return out;
}

// ---------------------------------------------------------------------------------------------

function withFs(options: Pick<WriteOptions, 'fs'>): WriterFs {
  return options.fs ? { ...realFs, ...options.fs } : realFs;
}

/**
 * Every entry under the managed roots, by relative POSIX path: files with their content,
 * folders, symlinks (never followed) and the rest (FIFOs, sockets, devices: never opened).
 * Opaque folders (node_modules/) and stage folders are recorded as one entry, never entered. A
 * managed root that is a symlink to a folder is followed (written through).
 */
function scanRoots(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
): Map<string, DiskEntry> {
  const entries = new Map<string, DiskEntry>();
  const walk = (relative: string): void => {
    const dir = join(outRoot, relative);
    const names = attempt('list', dir, () => fs.readdirSync(dir));
    for (const name of names.sort(compareStrings)) {
      const path = `${relative}/${name}`;
      if (!relative.includes('/') && isStageName(name)) continue;
      const full = join(outRoot, path);
      const stat = attempt('inspect', full, () => fs.lstatSync(full));
      if (stat.isSymbolicLink()) entries.set(path, { kind: 'symlink', mode: stat.mode });
      else if (stat.isDirectory()) {
        entries.set(path, { kind: OPAQUE_DIRS.has(name) ? 'other' : 'dir', mode: stat.mode });
        if (!OPAQUE_DIRS.has(name)) walk(path);
      } else if (stat.isFile()) {
        entries.set(path, {
          kind: 'file',
          content: attempt('read', full, () => fs.readFileSync(full)),
          mode: stat.mode,
        });
      } else entries.set(path, { kind: 'other', mode: stat.mode });
    }
  };
  for (const root of roots) {
    const rootPath = join(outRoot, root);
    const stat = lstatOrUndefined(fs, rootPath);
    if (!stat) continue;
    let target = stat;
    if (stat.isSymbolicLink()) {
      try {
        target = fs.statSync(rootPath);
      } catch (cause) {
        throw fault(`follow the symlink ${root} at`, rootPath, cause);
      }
    }
    if (!target.isDirectory()) {
      throw new HomelabError(`${rootPath} is not a folder; the build writes ${root}/ there`);
    }
    entries.set(root, { kind: 'dir', mode: target.mode });
    walk(root);
  }
  return entries;
}

function checkPath(path: string, roots: readonly string[]): void {
  const segments = path.split('/');
  const bad =
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad)
    throw new HomelabError(
      `generated file path ${JSON.stringify(path)} is not a relative POSIX path`,
    );
  if (!roots.includes(segments[0] as string) || segments.length < 2) {
    throw new HomelabError(
      `generated file ${path} is outside the managed roots (${roots.join(', ')})`,
    );
  }
  if (segments.some((segment) => OPAQUE_DIRS.has(segment) || isStageName(segment))) {
    throw new HomelabError(`generated file ${path} is inside a folder the build never writes to`);
  }
}

function desiredFiles(
  files: readonly GeneratedFile[],
  roots: readonly string[],
  existing: Map<string, DiskEntry>,
): Desired {
  const map = new Map<string, string>();
  for (const file of files) {
    checkPath(file.path, roots);
    if (map.has(file.path)) throw new HomelabError(`generated file ${file.path} is produced twice`);
    if (!file.content.endsWith('\n'))
      throw new HomelabError(`generated file ${file.path} has no final newline`);
    map.set(file.path, file.content);
  }
  const created = new Set<string>();
  const charts = new Set<string>();
  for (const path of map.keys()) {
    const segments = path.split('/');
    if (segments[0] === 'charts' && segments.length >= 3) charts.add(segments[1] as string);
  }
  for (const chart of charts) {
    const path = `charts/${chart}/package.json`;
    if (map.has(path) || existing.has(path)) continue;
    map.set(path, chartPackageJson(chart));
    created.add(path);
  }
  // A file and a folder cannot share a path.
  const paths = [...map.keys()];
  const folders = new Set(paths.flatMap((path) => parentsOf(path)));
  for (const path of paths) {
    if (folders.has(path))
      throw new HomelabError(`generated path ${path} is both a file and a folder`);
  }
  return { files: map, created };
}

/** `a/b/c` → `['a', 'a/b']`. */
function parentsOf(path: string): string[] {
  const segments = path.split('/');
  return segments.slice(1).map((_, index) => segments.slice(0, index + 1).join('/'));
}

function comparePlan(existing: Map<string, DiskEntry>, desired: Desired): WritePlan {
  const written: string[] = [];
  const unchanged: string[] = [];
  const removed: string[] = [];
  const conflicts: string[] = [];
  for (const [path, content] of desired.files) {
    const entry = existing.get(path);
    if (entry === undefined) {
      if (blockedByExisting(path, existing)) conflicts.push(path);
      else written.push(path);
    } else if (entry.kind !== 'file' || entry.content === undefined) {
      conflicts.push(path);
    } else if (!isGeneratedContent(entry.content.toString('utf8'))) {
      // A user's file, e.g. a README.md written by hand where the build now puts one.
      if (entry.content.toString('utf8') === content) unchanged.push(path);
      else conflicts.push(path);
    } else if (entry.content.equals(Buffer.from(content, 'utf8'))) {
      unchanged.push(path);
    } else {
      written.push(path);
    }
  }
  for (const [path, entry] of existing) {
    if (desired.files.has(path) || entry.kind !== 'file' || entry.content === undefined) continue;
    if (isGeneratedContent(entry.content.toString('utf8'))) removed.push(path);
  }
  const sorted = (list: string[]): string[] => list.sort(compareStrings);
  return {
    written: sorted(written),
    unchanged: sorted(unchanged),
    removed: sorted(removed),
    conflicts: sorted(conflicts),
  };
}

/** A generated path whose parent exists on disk as something other than a folder. */
function blockedByExisting(path: string, existing: Map<string, DiskEntry>): boolean {
  return parentsOf(path).some((parent) => {
    const entry = existing.get(parent);
    return entry !== undefined && entry.kind !== 'dir';
  });
}
