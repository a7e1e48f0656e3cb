import { chartPackageName } from './changesets.js';
import { chartDigest, digestCovers } from './digest.js';
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

/**
 * Files in a chart folder on disk that the build does not write and that the chart's content
 * digest covers (`chartDigest`: not `package.json`, `CHANGELOG.md`, `node_modules/`, nor what
 * the generated `.helmignore` keeps out of the archive), as `charts/<chart>/<path>`, sorted: a
 * release would pack them into the chart, and digests the folder with them, so it refuses a
 * chart the build's digest calls unchanged. The build leaves such files alone by design (they
 * are not its own); `homelab check` fails on them. `onDisk`: each chart folder's file paths as
 * `homelab release` reads them (`chartFolderPaths`). Pure.
 */
export function foreignChartFiles(
  files: BuildStatesInput['files'],
  onDisk: Readonly<Record<string, readonly string[]>>,
): string[] {
  const byChart = new Map<string, Map<string, FileContent>>();
  for (const file of files) {
    const match = /^charts\/([^/]+)\/(.+)$/.exec(file.path);
    if (!match) continue;
    const [, name = '', path = ''] = match;
    const chart = byChart.get(name) ?? new Map<string, FileContent>();
    chart.set(path, file.content);
    byChart.set(name, chart);
  }
  const foreign: string[] = [];
  for (const [name, generated] of byChart) {
    if (!generated.has('Chart.yaml')) continue;
    const covers = digestCovers(generated);
    for (const path of onDisk[name] ?? []) {
      if (!generated.has(path) && covers(path)) foreign.push(`charts/${name}/${path}`);
    }
  }
  return foreign.sort(compareCodeUnits);
}
