import { chartPackageName } from './changesets.js';
import { chartDigest } from './digest.js';
import { compareCodeUnits, type FileContent } from './files.js';
import type { ChartState, VersionRecord } from './guard.js';

/** What the guard needs besides a build's files: read from the repository by the caller. */
export interface BuildStatesInput {
  /** The build's files, paths relative to the output root (`charts/<chart>/…`, `clusters/…`). */
  readonly files: readonly { readonly path: string; readonly content: FileContent }[];
  /** Each chart's version now (`charts/<chart>/package.json`), by chart name. */
  readonly versions: Readonly<Record<string, string>>;
  /** The version of a chart that has no `package.json` yet (the build creates it at this one). */
  readonly defaultVersion: string;
  /** `charts/.versions.json`. */
  readonly record: VersionRecord;
  /** Packages that pending changesets (`.changeset/*.md`) bump. */
  readonly pending: Iterable<string>;
  /** `package.json` `name` of existing chart folders, by chart; else `chartPackageName`. */
  readonly packageNames?: Readonly<Record<string, string>>;
}

/**
 * The chart states of what a build would write, before it is on disk: every chart folder among
 * the files (those with a `charts/<chart>/Chart.yaml`), digested with `chartDigest` exactly as
 * `readChartStates` digests the folder after the build. Pure: `homelab check` runs the guard on
 * this, so the guard means the same before and after `homelab build`.
 */
export function chartStatesFromBuild(input: BuildStatesInput): ChartState[] {
  const byChart = new Map<string, { path: string; content: FileContent }[]>();
  for (const file of input.files) {
    const match = /^charts\/([^/]+)\/(.+)$/.exec(file.path);
    if (!match) continue;
    const [, name = '', path = ''] = match;
    const files = byChart.get(name) ?? [];
    files.push({ path, content: file.content });
    byChart.set(name, files);
  }
  const pending = new Set(input.pending);
  const states: ChartState[] = [];
  for (const name of [...byChart.keys()].sort(compareCodeUnits)) {
    const files = byChart.get(name) ?? [];
    if (!files.some((file) => file.path === 'Chart.yaml')) continue;
    const packageName = input.packageNames?.[name] ?? chartPackageName(name);
    const recorded = input.record[name];
    states.push({
      name,
      packageName,
      version: input.versions[name] ?? input.defaultVersion,
      digest: chartDigest(files),
      ...(recorded === undefined ? {} : { recorded }),
      pendingChangeset: pending.has(packageName),
    });
  }
  return states;
}
