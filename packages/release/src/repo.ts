// Reads a repository's charts, version record and pending changesets from disk for the guard,
// the changeset writer and the release script. Reading only: nothing here writes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  HomelabError,
  type Issue,
  jsonSyntaxProblem,
  readChartVersions,
  readRegularFile,
  readRegularFileIfPresent,
} from '@homelab/core';
import { parse } from 'yaml';
import { chartPackageName, pendingBumps } from './changesets.js';
import { chartDigest, VERSION_RECORD_PATH } from './digest.js';
import { compareCodeUnits } from './files.js';
import { type ChartState, parseVersionRecord, type VersionRecord } from './guard.js';
import { chartIdentity } from './pack.js';

/** A chart folder as found on disk. */
export interface ChartFolder {
  readonly name: string;
  readonly dir: string;
  readonly packageName: string;
  /** `package.json` version (changesets owns it). */
  readonly version: string;
  /**
   * Every file below the folder by relative path, except what the build never writes there and
   * git ignores: `node_modules/` (pnpm's), and what `helm dependency build` leaves (`charts/`,
   * `Chart.lock`; the release puts the vendored dependency archives in itself).
   */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** Top-level entries of a chart folder that are not the chart's (see `ChartFolder.files`). */
const NOT_CHART_FILES: ReadonlySet<string> = new Set(['node_modules', 'charts', 'Chart.lock']);

function walk(
  dir: string,
  prefix: string,
  out: Map<string, Uint8Array>,
  skip: ReadonlySet<string>,
): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    compareCodeUnits(a.name, b.name),
  );
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (skip.has(rel)) continue;
    if (entry.isDirectory()) {
      walk(join(dir, entry.name), rel, out, skip);
    } else if (entry.isFile()) {
      out.set(rel, readRegularFile(join(dir, entry.name)));
    }
  }
}

/** Every file of a folder, recursively, as bytes (node_modules/ skipped). */
export function readFolder(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  walk(dir, '', files, new Set(['node_modules']));
  return files;
}

/** A chart folder's own files (see `ChartFolder.files`). */
function readChartFiles(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  walk(dir, '', files, NOT_CHART_FILES);
  return files;
}

function listPaths(dir: string, prefix: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    compareCodeUnits(a.name, b.name),
  );
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (prefix === '' && NOT_CHART_FILES.has(rel)) continue;
    if (entry.isDirectory()) listPaths(join(dir, entry.name), rel, out);
    else if (entry.isFile()) out.push(rel);
  }
}

/**
 * The file paths of every folder under `<root>/charts/`, by folder name, as `readChartFolders`
 * reads them (`ChartFolder.files`), without reading a byte: what `foreignChartFiles` compares
 * with a build's files.
 */
export function chartFolderPaths(root: string): Record<string, string[]> {
  const chartsDir = join(root, 'charts');
  const out: Record<string, string[]> = {};
  if (!existsSync(chartsDir)) return out;
  for (const entry of readdirSync(chartsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const paths: string[] = [];
    listPaths(join(chartsDir, entry.name), '', paths);
    out[entry.name] = paths;
  }
  return out;
}

/**
 * The chart folders under `<root>/charts/` (those with a `Chart.yaml`), sorted by name. Their
 * `package.json` files are first checked as `homelab build` checks them (core's
 * `readChartVersions`): one that is no JSON or whose version is no semantic version is a
 * `ValidationError` at its line and column (exit 1), so `release record` never records
 * `not-a-version`, nor `release` packs it.
 */
export function readChartFolders(root: string): ChartFolder[] {
  const chartsDir = join(root, 'charts');
  if (!existsSync(chartsDir)) return [];
  readChartVersions(root);
  const folders: ChartFolder[] = [];
  const names = readdirSync(chartsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort(compareCodeUnits);
  for (const name of names) {
    const dir = join(chartsDir, name);
    if (!existsSync(join(dir, 'Chart.yaml'))) continue;
    let packageName = chartPackageName(name);
    let version = '';
    const pkgPath = join(dir, 'package.json');
    const pkgBytes = readRegularFileIfPresent(pkgPath);
    if (pkgBytes !== undefined) {
      const pkgText = pkgBytes.toString('utf8');
      const problem = jsonSyntaxProblem(pkgText);
      if (problem !== undefined) throw new HomelabError(`${pkgPath} ${problem.message}`);
      const pkg = JSON.parse(pkgText) as {
        name?: unknown;
        version?: unknown;
      };
      if (typeof pkg.name === 'string') packageName = pkg.name;
      if (typeof pkg.version === 'string') version = pkg.version;
    }
    if (version === '') {
      const chartVersion = chartIdentity(
        readRegularFile(join(dir, 'Chart.yaml')).toString('utf8'),
      ).version;
      if (typeof chartVersion === 'string') version = chartVersion;
    }
    folders.push({ name, dir, packageName, version, files: readChartFiles(dir) });
  }
  return folders;
}

/** Pending changeset files (`.changeset/*.md`) of the repository. */
export function readChangesetFiles(root: string): { path: string; content: string }[] {
  const dir = join(root, '.changeset');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.md'))
    .sort(compareCodeUnits)
    .map((file) => ({
      path: `.changeset/${file}`,
      content: readRegularFile(join(dir, file)).toString('utf8'),
    }));
}

/**
 * The names of the workspace's packages, as pnpm finds them from `pnpm-workspace.yaml`'s
 * `packages` (`<folder>/*` and `<folder>` entries; `package.json` files that name themselves),
 * without the root's own package, which changesets does not version in a workspace.
 * Undefined where there is no such file, or an entry of another form (`**`, `!`, other globs):
 * the caller then cannot tell a misspelt package from a real one.
 */
export function readWorkspacePackageNames(root: string): Set<string> | undefined {
  const file = readRegularFileIfPresent(join(root, 'pnpm-workspace.yaml'));
  if (file === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = parse(file.toString('utf8'));
  } catch {
    return undefined;
  }
  const patterns = (parsed as { packages?: unknown } | null)?.packages;
  if (!Array.isArray(patterns)) return undefined;
  const folders: string[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') return undefined;
    const plain = pattern.replace(/^\.\//, '').replace(/\/$/, '');
    if (/^[\w.@-]+(\/[\w.@-]+)*\/\*$/.test(plain)) {
      const parent = join(root, plain.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const entry of readdirSync(parent, { withFileTypes: true })) {
        if (entry.isDirectory()) folders.push(join(parent, entry.name));
      }
    } else if (/^[\w.@-]+(\/[\w.@-]+)*$/.test(plain)) {
      folders.push(join(root, plain));
    } else {
      return undefined;
    }
  }
  const names = new Set<string>();
  for (const folder of folders) {
    const bytes = readRegularFileIfPresent(join(folder, 'package.json'));
    if (bytes === undefined) continue;
    const text = bytes.toString('utf8');
    if (jsonSyntaxProblem(text) !== undefined) continue;
    const name = (JSON.parse(text) as { name?: unknown } | null)?.name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

/** `charts/.versions.json` of the repository, parsed (missing → empty record). */
export function readVersionRecord(root: string): { record: VersionRecord; issues: Issue[] } {
  const path = join(root, VERSION_RECORD_PATH);
  return parseVersionRecord(readRegularFileIfPresent(path)?.toString('utf8'));
}

/**
 * Everything the version-increment guard needs, read from a repository: each chart's version
 * and digest now, its recorded entry and whether a pending changeset bumps it. Feed the result
 * to `checkChartVersions` (`homelab check`) or `chartsNeedingChangeset` + `writeChangesets`.
 */
export function readChartStates(
  root: string,
  folders: readonly ChartFolder[] = readChartFolders(root),
): {
  charts: ChartState[];
  record: VersionRecord;
  issues: Issue[];
} {
  const { record, issues } = readVersionRecord(root);
  const bumps = pendingBumps(readChangesetFiles(root));
  const charts = folders.map((folder): ChartState => {
    const recorded = record[folder.name];
    return {
      name: folder.name,
      packageName: folder.packageName,
      version: folder.version,
      digest: chartDigest(folder.files),
      ...(recorded === undefined ? {} : { recorded }),
      pendingChangeset: bumps.has(folder.packageName),
    };
  });
  return { charts, record, issues };
}
