// The one module that writes the generated trees (DESIGN.md, "Atomic and safe").
//
// A file is the build's when its first line carries the generated-by marker
// (`isGeneratedContent`); every other file under a managed root is the user's (a chart's
// package.json and CHANGELOG.md belong to changesets, node_modules/ to pnpm) and is kept
// byte-for-byte, symlinks as symlinks. `writeTree` builds each managed root's new tree in
// `<outRoot>/.homelab-stage-<pid>/`, then swaps the trees with renames and deletes the old
// ones; if anything fails before the swaps complete, the earlier swaps are undone and the stage
// removed, so the managed roots are left exactly as they were.
import * as nodeFs from 'node:fs';
import { dirname, join } from 'node:path';
import { chartPackageJson } from './chart.js';
import { HomelabError } from './issues.js';
import type { GeneratedFile } from './types.js';
import { compareStrings, isGeneratedContent } from './yaml.js';

/** The file-system calls the writer makes; tests inject failures through `WriteOptions.fs`. */
export interface WriterFs {
  readonly lstatSync: typeof nodeFs.lstatSync;
  readonly readdirSync: (path: string) => string[];
  readonly readFileSync: (path: string) => Buffer;
  readonly readlinkSync: (path: string) => string;
  readonly writeFileSync: (
    path: string,
    data: string | Uint8Array,
    options?: { mode?: number },
  ) => void;
  readonly symlinkSync: (target: string, path: string) => void;
  readonly mkdirSync: (path: string, options: { recursive: true }) => unknown;
  readonly renameSync: (from: string, to: string) => void;
  readonly rmSync: (path: string, options: { recursive: true; force: true }) => void;
  readonly chmodSync: (path: string, mode: number) => void;
  readonly existsSync: (path: string) => boolean;
}

const realFs: WriterFs = {
  lstatSync: nodeFs.lstatSync,
  readdirSync: (path) => nodeFs.readdirSync(path),
  readFileSync: (path) => nodeFs.readFileSync(path),
  readlinkSync: (path) => nodeFs.readlinkSync(path),
  writeFileSync: (path, data, options) => nodeFs.writeFileSync(path, data, options),
  symlinkSync: (target, path) => nodeFs.symlinkSync(target, path),
  mkdirSync: (path, options) => nodeFs.mkdirSync(path, options),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
  rmSync: (path, options) => nodeFs.rmSync(path, options),
  chmodSync: (path, mode) => nodeFs.chmodSync(path, mode),
  existsSync: (path) => nodeFs.existsSync(path),
};

export interface WriteOptions {
  /** Top-level folders the build owns. Default `['charts', 'clusters']`. */
  readonly managedRoots?: readonly string[];
  /** Replace some file-system calls (tests). */
  readonly fs?: Partial<WriterFs>;
  /** Stage folder name under `outRoot`. Default `.homelab-stage-<pid>`. */
  readonly stageName?: string;
}

export interface WritePlan {
  /** New or changed files (including a chart package.json created for a new chart). */
  readonly written: string[];
  readonly unchanged: string[];
  /** Generated earlier (marker on the first line), no longer generated. */
  readonly removed: string[];
  /**
   * Generated paths where a file the build did not generate (no marker) already exists: the
   * writer never overwrites those; `writeTree` refuses the whole write.
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

const DEFAULT_ROOTS = ['charts', 'clusters'] as const;
/** Folders inside a managed root that are never the build's: copied over without looking in. */
const OPAQUE_DIRS = new Set(['node_modules', '.git']);

interface DiskEntry {
  readonly kind: 'file' | 'symlink' | 'other';
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

/** What `writeTree` would do, without writing. Throws `HomelabError` for a bad file path. */
export function planWrite(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): WritePlan {
  return prepare(outRoot, files, options).plan;
}

/** The file system, what is on disk under the managed roots, what should be, and the plan. */
function prepare(outRoot: string, files: readonly GeneratedFile[], options: WriteOptions) {
  const fs = withFs(options);
  const roots = options.managedRoots ?? DEFAULT_ROOTS;
  const existing = scanRoots(fs, outRoot, roots);
  const desired = desiredFiles(files, roots, existing);
  return { fs, roots, existing, desired, plan: comparePlan(existing, desired) };
}

/** The changes `writeTree` would make, with old and new contents, sorted by path. */
export function diffTree(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): FileDiff[] {
  const { existing, desired, plan } = prepare(outRoot, files, options);
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
 * Writes the generated files under `outRoot`, atomically per the file comment, and returns
 * what changed. Nothing is touched when nothing changed. Throws `HomelabError` (the managed
 * roots unchanged) on conflicts, bad paths or a file-system failure.
 */
export function writeTree(
  outRoot: string,
  files: readonly GeneratedFile[],
  options: WriteOptions = {},
): WritePlan {
  const { fs, roots, existing, desired, plan } = prepare(outRoot, files, options);
  if (plan.conflicts.length > 0) {
    throw new HomelabError(
      `refusing to overwrite files the build did not generate: ${plan.conflicts.join(', ')} ` +
        '(they have no "generated by" first line; move them away or delete them)',
    );
  }
  if (plan.written.length === 0 && plan.removed.length === 0) return plan;

  const stage = join(outRoot, options.stageName ?? `.homelab-stage-${process.pid}`);
  const changedRoots = roots.filter((root) =>
    [...plan.written, ...plan.removed].some((path) => path.startsWith(`${root}/`)),
  );
  try {
    fs.rmSync(stage, { recursive: true, force: true });
    fs.mkdirSync(stage, { recursive: true });
    for (const root of changedRoots) buildRoot(fs, outRoot, stage, root, existing, desired);
  } catch (cause) {
    safeRemove(fs, stage);
    throw new HomelabError(`could not prepare the new ${changedRoots.join(' and ')} trees`, {
      cause,
    });
  }

  const swapped: { root: string; hadOld: boolean }[] = [];
  try {
    for (const root of changedRoots) {
      const live = join(outRoot, root);
      const hadOld = fs.existsSync(live);
      if (hadOld) fs.renameSync(live, join(stage, `${root}.old`));
      try {
        fs.renameSync(join(stage, `${root}.new`), live);
      } catch (cause) {
        if (hadOld) fs.renameSync(join(stage, `${root}.old`), live);
        throw cause;
      }
      swapped.push({ root, hadOld });
    }
  } catch (cause) {
    // Undo in reverse order: put each old tree back.
    for (const { root, hadOld } of swapped.reverse()) {
      const live = join(outRoot, root);
      try {
        fs.renameSync(live, join(stage, `${root}.failed`));
        if (hadOld) fs.renameSync(join(stage, `${root}.old`), live);
      } catch {
        // Leave the stage in place: it holds the old tree for manual recovery.
        throw new HomelabError(
          `could not swap in the new ${root} tree, nor restore the old one; it is in ${stage}/${root}.old`,
          { cause },
        );
      }
    }
    safeRemove(fs, stage);
    throw new HomelabError(`could not swap in the new ${changedRoots.join(' and ')} trees`, {
      cause,
    });
  }
  safeRemove(fs, stage);
  return plan;
}

/** `charts/<chart>/package.json` versions by chart name (charts without one are left out). */
export function readChartVersions(outRoot: string): Record<string, string> {
  const charts = join(outRoot, 'charts');
  const versions: Record<string, string> = {};
  if (!nodeFs.existsSync(charts)) return versions;
  for (const name of nodeFs.readdirSync(charts).sort(compareStrings)) {
    const file = join(charts, name, 'package.json');
    if (!nodeFs.existsSync(file)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(nodeFs.readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new HomelabError(`charts/${name}/package.json is not valid JSON`, { cause });
    }
    const version = (parsed as { version?: unknown } | null)?.version;
    if (typeof version !== 'string') {
      throw new HomelabError(`charts/${name}/package.json has no "version" string`);
    }
    versions[name] = version;
  }
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
      else if (stat.isFile()) out.set(path, nodeFs.readFileSync(join(dir, path), 'utf8'));
    }
  };
  walk('');
  return out;
}

// ---------------------------------------------------------------------------------------------

function withFs(options: WriteOptions): WriterFs {
  return options.fs ? { ...realFs, ...options.fs } : realFs;
}

function safeRemove(fs: WriterFs, path: string): void {
  try {
    fs.rmSync(path, { recursive: true, force: true });
  } catch {
    // The stage is ours and disposable; a leftover one is removed by the next write.
  }
}

/** Every entry under the managed roots, by relative POSIX path (opaque folders as one entry). */
function scanRoots(
  fs: WriterFs,
  outRoot: string,
  roots: readonly string[],
): Map<string, DiskEntry> {
  const entries = new Map<string, DiskEntry>();
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(join(outRoot, relative)).sort(compareStrings)) {
      const path = `${relative}/${name}`;
      const stat = fs.lstatSync(join(outRoot, path));
      if (stat.isSymbolicLink()) entries.set(path, { kind: 'symlink', mode: stat.mode });
      else if (stat.isDirectory()) {
        if (OPAQUE_DIRS.has(name)) entries.set(path, { kind: 'other', mode: stat.mode });
        else walk(path);
      } else if (stat.isFile()) {
        entries.set(path, {
          kind: 'file',
          content: fs.readFileSync(join(outRoot, path)),
          mode: stat.mode,
        });
      } else entries.set(path, { kind: 'other', mode: stat.mode });
    }
  };
  for (const root of roots) {
    if (fs.existsSync(join(outRoot, root))) walk(root);
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
  if (segments.some((segment) => OPAQUE_DIRS.has(segment))) {
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

/** A generated path whose parent folder exists on disk as a file or symlink. */
function blockedByExisting(path: string, existing: Map<string, DiskEntry>): boolean {
  return parentsOf(path).some((parent) => existing.has(parent));
}

/** Builds `<stage>/<root>.new`: the user's entries carried over, then the generated files. */
function buildRoot(
  fs: WriterFs,
  outRoot: string,
  stage: string,
  root: string,
  existing: Map<string, DiskEntry>,
  desired: Desired,
): void {
  const target = join(stage, `${root}.new`);
  fs.mkdirSync(target, { recursive: true });
  const inRoot = (path: string): string => join(target, path.slice(root.length + 1));
  const made = new Set<string>();
  const ensureParent = (file: string): void => {
    const parent = dirname(file);
    if (made.has(parent)) return;
    fs.mkdirSync(parent, { recursive: true });
    made.add(parent);
  };

  for (const [path, entry] of existing) {
    if (!path.startsWith(`${root}/`) || desired.files.has(path)) continue;
    const from = join(outRoot, path);
    const to = inRoot(path);
    if (entry.kind === 'file') {
      const content = entry.content as Buffer;
      if (isGeneratedContent(content.toString('utf8'))) continue; // stale: removed
      ensureParent(to);
      fs.writeFileSync(to, content, { mode: entry.mode & 0o7777 });
      fs.chmodSync(to, entry.mode & 0o7777);
    } else if (entry.kind === 'symlink') {
      ensureParent(to);
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else {
      copyOpaque(fs, from, to, ensureParent);
    }
  }
  for (const [path, content] of desired.files) {
    if (!path.startsWith(`${root}/`)) continue;
    const to = inRoot(path);
    ensureParent(to);
    const entry = existing.get(path);
    const mode = entry?.kind === 'file' ? entry.mode & 0o7777 : 0o644;
    fs.writeFileSync(to, content, { mode });
    if (entry?.kind === 'file') fs.chmodSync(to, mode);
  }
}

/** Copies a folder the build does not own (node_modules/), symlinks as symlinks. */
function copyOpaque(
  fs: WriterFs,
  from: string,
  to: string,
  ensureParent: (file: string) => void,
): void {
  const stat = fs.lstatSync(from);
  if (stat.isSymbolicLink()) {
    ensureParent(to);
    fs.symlinkSync(fs.readlinkSync(from), to);
  } else if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const name of fs.readdirSync(from).sort(compareStrings)) {
      copyOpaque(fs, join(from, name), join(to, name), ensureParent);
    }
    fs.chmodSync(to, stat.mode & 0o7777);
  } else if (stat.isFile()) {
    ensureParent(to);
    fs.writeFileSync(to, fs.readFileSync(from), { mode: stat.mode & 0o7777 });
    fs.chmodSync(to, stat.mode & 0o7777);
  }
  // Sockets, FIFOs and devices are not carried over.
}
