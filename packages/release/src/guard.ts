import { error, formatPath, type Issue, jsonSyntaxProblem } from '@homelab/core';
import semver from 'semver';
import { VERSION_RECORD_PATH } from './digest.js';
import { compareCodeUnits } from './files.js';

/** A chart's version and content digest as recorded when its version last moved. */
export interface RecordedVersion {
  readonly version: string;
  readonly digest: string;
}

/** The content of `charts/.versions.json`: chart name → recorded version and digest. */
export type VersionRecord = { readonly [chart: string]: RecordedVersion };

/** A chart as the current build left it, with what the record says about it. */
export interface ChartState {
  /** Folder name under `charts/`. */
  readonly name: string;
  /** Its workspace package name (`package.json` `name`), when known. */
  readonly packageName?: string;
  /** The chart's version now (its `package.json`, which `Chart.yaml` repeats). */
  readonly version: string;
  /** `chartDigest` of the folder now. */
  readonly digest: string;
  /** The record's entry for this chart, if any. */
  readonly recorded?: RecordedVersion;
  /** A changeset not yet applied (`.changeset/*.md`) bumps this chart's package. */
  readonly pendingChangeset?: boolean;
}

/** True when the chart's content moved while its version stayed at the recorded one. */
export function changedWithoutVersion(chart: ChartState): boolean {
  return (
    chart.recorded !== undefined &&
    chart.recorded.version === chart.version &&
    chart.recorded.digest !== chart.digest
  );
}

/** Charts whose content changed since their recorded version and that no changeset bumps yet. */
export function chartsNeedingChangeset(charts: readonly ChartState[]): ChartState[] {
  return charts.filter((chart) => changedWithoutVersion(chart) && chart.pendingChangeset !== true);
}

/**
 * Charts missing from the record that no pending changeset bumps: new charts (the build created
 * their package.json), whose first version is the one they have now. `homelab changeset` records
 * them; until then nothing guards their content, so `homelab check` fails on them. A chart that
 * a pending changeset bumps is recorded by `pnpm version-packages`, at its new version.
 */
export function chartsToRecord(charts: readonly ChartState[]): ChartState[] {
  return charts.filter((chart) => chart.recorded === undefined && chart.pendingChangeset !== true);
}

/** The record with each given chart's current version and digest added (its first version). */
export function recordNewCharts(
  existing: VersionRecord,
  charts: readonly ChartState[],
): VersionRecord {
  const record: { [chart: string]: RecordedVersion } = { ...existing };
  for (const chart of charts) record[chart.name] = { version: chart.version, digest: chart.digest };
  return record;
}

/** Whether `version` is below `recorded` (both valid semver). */
function isBelow(version: string, recorded: string): boolean {
  return (
    semver.valid(version) !== null &&
    semver.valid(recorded) !== null &&
    semver.lt(version, recorded)
  );
}

/**
 * A chart whose version is below the one recorded: what was released at the recorded version
 * (and every version between) stays the latest to Helm, and a lower version with new content
 * would be published under a number already passed. The usual cause: the chart's folder was
 * deleted while its record entry stayed, and the build made a new package.json at 0.1.0.
 */
function decreased(name: string, version: string, recorded: string): Issue {
  return error({
    code: 'chart-version-decreased',
    path: [],
    output: `charts/${name}`,
    value: version,
    message: `is below the version ${recorded} recorded in ${VERSION_RECORD_PATH}; versions only move up (a chart folder deleted and made again starts at 0.1.0)`,
    expected: `charts/${name}/package.json's version set to ${recorded} (then a changeset moves it above), never below`,
  });
}

function notIncremented(chart: ChartState): Issue {
  return error({
    code: 'chart-version-not-incremented',
    path: [],
    output: `charts/${chart.name}/Chart.yaml`,
    message: `charts/${chart.name} changed since ${chart.version}: add a changeset (pnpm changeset)`,
    expected: `a version above ${chart.version}, or a pending changeset for the chart`,
  });
}

/**
 * The version-increment guard (`homelab check`): a chart whose content differs from the digest
 * recorded for its current version needs a changeset. Pure: the caller reads the charts, the
 * record and the pending changesets.
 */
export function checkChartVersions(charts: readonly ChartState[]): Issue[] {
  const issues: Issue[] = [];
  for (const chart of [...charts].sort((a, b) => compareCodeUnits(a.name, b.name))) {
    const { recorded } = chart;
    if (recorded === undefined) {
      // A pending changeset bumps it: `pnpm version-packages` records it at its new version.
      if (chart.pendingChangeset === true) continue;
      issues.push(
        error({
          code: 'chart-version-unrecorded',
          path: [],
          output: `charts/${chart.name}`,
          value: chart.version,
          message: `is not in ${VERSION_RECORD_PATH}, so nothing guards its content: record its first version (pnpm homelab changeset)`,
          expected: `an entry for ${chart.name} in ${VERSION_RECORD_PATH}, or a pending changeset for the chart`,
        }),
      );
      continue;
    }
    if (recorded.version === chart.version) {
      if (recorded.digest !== chart.digest && chart.pendingChangeset !== true) {
        issues.push(notIncremented(chart));
      }
      continue;
    }
    const below = isBelow(chart.version, recorded.version);
    issues.push(
      below
        ? decreased(chart.name, chart.version, recorded.version)
        : error({
            code: 'chart-version-unrecorded',
            path: [],
            output: `charts/${chart.name}`,
            value: chart.version,
            message: `is not the version ${recorded.version} recorded in ${VERSION_RECORD_PATH}: record the new version (pnpm version-packages runs pnpm homelab release record)`,
            expected: recorded.version,
          }),
    );
  }
  return issues;
}

/**
 * The record after a version move (`pnpm version-packages` → `pnpm homelab release record`): charts
 * whose version moved, and charts not recorded yet, get their current version and digest. A
 * chart the build no longer writes (its component disabled) keeps its entry: its `package.json`
 * stays, so a chart that comes back comes back at the version it had, and only the entry tells
 * that its new content is not what was released at that version. A chart whose content changed
 * at its recorded version keeps its old entry (recording never hides an unversioned change) and
 * yields the guard's error.
 */
export function recordVersions(
  charts: readonly ChartState[],
  existing: VersionRecord,
): { record: VersionRecord; issues: Issue[] } {
  const record: { [chart: string]: RecordedVersion } = {};
  const issues: Issue[] = [];
  for (const chart of [...charts].sort((a, b) => compareCodeUnits(a.name, b.name))) {
    const old = existing[chart.name];
    if (old !== undefined && isBelow(chart.version, old.version)) {
      // Never recorded below: `release` would publish new content under a passed number.
      record[chart.name] = { version: old.version, digest: old.digest };
      issues.push(decreased(chart.name, chart.version, old.version));
      continue;
    }
    if (old !== undefined && old.version === chart.version && old.digest !== chart.digest) {
      record[chart.name] = { version: old.version, digest: old.digest };
      // A pending changeset bumps it: the next `changeset version` moves it, then it is recorded.
      if (chart.pendingChangeset !== true) issues.push(notIncremented(chart));
      continue;
    }
    record[chart.name] = { version: chart.version, digest: chart.digest };
  }
  for (const [name, entry] of Object.entries(existing)) {
    if (record[name] === undefined) record[name] = { version: entry.version, digest: entry.digest };
  }
  return { record, issues };
}

/** `charts/.versions.json` as committed: sorted keys, two-space indent, final newline. */
export function serializeVersionRecord(record: VersionRecord): string {
  const sorted: { [chart: string]: RecordedVersion } = {};
  for (const name of Object.keys(record).sort(compareCodeUnits)) {
    const entry = record[name];
    if (entry) sorted[name] = { digest: entry.digest, version: entry.version };
  }
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

function isRecordedVersion(value: unknown): value is RecordedVersion {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entry = value as { [key: string]: unknown };
  return (
    typeof entry.version === 'string' &&
    typeof entry.digest === 'string' &&
    Object.keys(entry).every((key) => key === 'version' || key === 'digest')
  );
}

/** Parses `charts/.versions.json`; a malformed file or entry becomes an issue, never a throw. */
export function parseVersionRecord(text: string | undefined): {
  record: VersionRecord;
  issues: Issue[];
} {
  if (text === undefined) return { record: {}, issues: [] };
  const problem = jsonSyntaxProblem(text);
  if (problem !== undefined) {
    return {
      record: {},
      issues: [
        error({
          code: 'version-record',
          path: [],
          output: VERSION_RECORD_PATH,
          message: problem.message,
          expected: '{"<chart>": {"version": "x.y.z", "digest": "sha256:…"}}',
        }),
      ],
    };
  }
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return {
      record: {},
      issues: [
        error({
          code: 'version-record',
          path: [],
          output: VERSION_RECORD_PATH,
          value: data,
          message: 'is not an object',
          expected: '{"<chart>": {"version": "x.y.z", "digest": "sha256:…"}}',
        }),
      ],
    };
  }
  const record: { [chart: string]: RecordedVersion } = {};
  const issues: Issue[] = [];
  for (const [name, entry] of Object.entries(data)) {
    if (isRecordedVersion(entry)) {
      record[name] = { version: entry.version, digest: entry.digest };
    } else {
      issues.push(
        error({
          code: 'version-record',
          path: [],
          output: `${VERSION_RECORD_PATH}:${formatPath([name])}`,
          value: entry,
          message: 'is not a recorded version',
          expected: '{"version": "x.y.z", "digest": "sha256:…"}',
        }),
      );
    }
  }
  return { record, issues };
}
