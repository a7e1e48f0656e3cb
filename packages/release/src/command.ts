// What `homelab release` and `homelab release record` do (the CLI parses the command line):
//   publishCharts         package every chart into <out>/<chart>-<version>.tgz, merge
//                         <out>/index.yaml, tag <package>@<version> in git for versions not tagged
//   recordVersionsOnDisk  write charts/.versions.json (run by `pnpm version-packages` after
//                         regenerating)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  chartArchivePath,
  formatIssue,
  HomelabError,
  hasErrors,
  type Issue,
  MAX_ARTIFACT_BYTES,
  makeFolder,
  readRegularFile,
  readRegularFileIfPresent,
  sortIssues,
} from '@homelab/core';
import { lockedFileProblem } from '@homelab/vendor';
import { parse } from 'yaml';
import { VERSION_RECORD_PATH } from './digest.js';
import { type FileContent, toBytes } from './files.js';
import { type ChartState, recordVersions, serializeVersionRecord } from './guard.js';
import { packagedFiles, packChart, staleChartYaml } from './pack.js';
import { ReleaseRefused } from './refusal.js';
import { readChartFolders, readChartStates } from './repo.js';
import { buildIndex, type IndexEntryInput } from './repo-index.js';

function git(root: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/**
 * The modification time of every entry of every archive: a constant (1980-01-01T00:00:00Z), so
 * that an archive's bytes depend on the chart's content only. Taken from the release commit, a
 * chart that did not change would be packed again with other bytes at every release (each run
 * packs every chart), and the published digest of a version would move.
 */
export const ARCHIVE_MTIME = 315_532_800;

/**
 * The latest release time `index.yaml` can hold: 9999-12-31T23:59:59Z. `created` is RFC 3339,
 * whose year has four digits (a later one prints as `+010000-…`, which Helm cannot read).
 */
export const MAX_RELEASE_EPOCH = 253_402_300_799;

/**
 * The release commit's time (`git log -1 --format=%ct`), else `SOURCE_DATE_EPOCH` (the
 * reproducible-builds convention: whole seconds since 1970-01-01T00:00:00Z). Throws
 * `HomelabError` (a fault of the environment, exit 2) when there is neither, or when the
 * `SOURCE_DATE_EPOCH` it would use is not such a number within what `index.yaml` can hold.
 */
export function releaseEpoch(
  root: string,
  env: Readonly<Record<string, string | undefined>>,
): number {
  let fromGit = '';
  try {
    fromGit = git(root, ['log', '-1', '--format=%ct']);
  } catch {
    fromGit = '';
  }
  if (/^\d+$/.test(fromGit)) return Number(fromGit);
  const text = env.SOURCE_DATE_EPOCH ?? '';
  if (text === '') {
    throw new HomelabError(
      'no release time: not in a git repository with a commit, and SOURCE_DATE_EPOCH is not set',
    );
  }
  if (!/^\d+$/.test(text) || Number(text) > MAX_RELEASE_EPOCH) {
    throw new HomelabError(
      `no release time: not in a git repository with a commit, and SOURCE_DATE_EPOCH is ${JSON.stringify(text)}, not whole seconds since 1970-01-01T00:00:00Z from 0 to ${MAX_RELEASE_EPOCH} (9999-12-31T23:59:59Z, the latest time index.yaml's created can hold)`,
    );
  }
  return Number(text);
}

function writeAtomic(path: string, content: string | Uint8Array): void {
  makeFolder(dirname(path));
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, content);
  renameSync(temp, path);
}

/** Where a release command writes its lines. */
export interface ReleaseIo {
  readonly root: string;
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
}

function printIssues(io: ReleaseIo, issues: readonly Issue[]): void {
  for (const issue of sortIssues(issues)) {
    io.error(`${issue.severity === 'error' ? 'error' : 'warning'}  ${formatIssue(issue)}`);
  }
}

export interface PublishOptions extends ReleaseIo {
  /** Folder of the archives and index.yaml. */
  readonly out: string;
  /** Create git tags for new versions. */
  readonly tag: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The chart's files with the archive of every dependency its Chart.yaml declares under `charts/`,
 * taken from vendor/ (what `helm dependency build` would put there), so that a released archive
 * installs with a plain `helm install`, offline.
 */
export function withDependencies(
  root: string,
  chart: string,
  files: ReadonlyMap<string, FileContent>,
): ReadonlyMap<string, FileContent> {
  const chartYaml = files.get('Chart.yaml');
  if (chartYaml === undefined) return files;
  const data = parse(new TextDecoder().decode(toBytes(chartYaml))) as {
    dependencies?: { name?: unknown; version?: unknown }[];
  } | null;
  const out = new Map<string, FileContent>(files);
  for (const dependency of data?.dependencies ?? []) {
    const { name, version } = dependency;
    if (typeof name !== 'string' || typeof version !== 'string') continue;
    const vendored = join(root, 'vendor', chartArchivePath(name, version));
    if (!existsSync(vendored)) {
      throw new ReleaseRefused(
        `charts/${chart} depends on ${name} ${version}, which vendor/ does not hold: run homelab vendor sync`,
      );
    }
    const bytes = readRegularFile(vendored, { maxBytes: MAX_ARTIFACT_BYTES });
    // The bytes `homelab vendor verify` would accept, or none: an archive edited in vendor/ would
    // be released (and its digest listed in index.yaml for good) under the chart's version.
    const problem = lockedFileProblem(join(root, 'vendor'), chartArchivePath(name, version), bytes);
    if (problem !== undefined) {
      throw new ReleaseRefused(
        `charts/${chart} bundles ${name} ${version} from vendor/, which does not match the lock: ${problem}; restore it with homelab vendor sync (homelab vendor verify checks the rest)`,
      );
    }
    out.set(`charts/${name}-${version}.tgz`, bytes);
  }
  return out;
}

/** Why a chart's content is not the one recorded for its version (`undefined`: it is). */
export function unrecordedReason(chart: ChartState): string | undefined {
  const { recorded } = chart;
  if (recorded === undefined)
    return `charts/${chart.name} ${chart.version} is not in ${VERSION_RECORD_PATH}`;
  if (recorded.version !== chart.version) {
    return `charts/${chart.name} is at ${chart.version}, ${VERSION_RECORD_PATH} records ${recorded.version}`;
  }
  if (recorded.digest !== chart.digest) {
    return `charts/${chart.name} changed since ${chart.version} was recorded (a file edited, added or removed there; pnpm homelab check names a file the build does not write)`;
  }
  return undefined;
}

/**
 * A tag names the commit at HEAD, not the working tree: released from a tree whose charts or
 * version record are not committed (the usual slip: `pnpm version-packages`, then `pnpm release`
 * before the commit), `<package>@<version>` would name a commit that holds the previous version's
 * content, and an environment pinned to that tag (`repository.targetRevision`) would deploy it
 * under the new version's name. Untracked files count (a new chart), ignored ones do not (what
 * `helm dependency build` leaves).
 */
function refuseUncommittedCharts(root: string): void {
  let status: string;
  try {
    // Not `git()`: its trim would take the first line's leading status column.
    status = execFileSync(
      'git',
      ['status', '--porcelain', '--untracked-files=all', '--', 'charts'],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    ).trimEnd();
  } catch (cause) {
    throw new HomelabError(
      `cannot tag the release, nothing written: git status in ${root} failed: ${gitProblem(cause)} (tagging needs a git repository with a commit; release with --no-tag to package only)`,
      { cause },
    );
  }
  if (status === '') return;
  const paths = status.split('\n').map((line) => line.slice(3));
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? `, … (${paths.length})` : '');
  throw new ReleaseRefused(
    `charts/ has changes not committed (${shown}), and a tag names the commit at HEAD, which does not hold them: commit them first (git add charts .changeset && git commit), or package only with --no-tag`,
  );
}

/**
 * Packages every chart, merges the Helm repository index, tags new versions. Releases only
 * charts whose content is the one recorded for their version (a pending changeset, a new chart
 * not recorded yet or an unversioned change would publish other content under a version number).
 * Returns 0, or 1 when the repository's state refuses the release (`ReleaseRefused`, printed as
 * `nothing released: …`: no archive, index or tag written); throws `HomelabError` on a fault of
 * the environment (no git, no release time, an output folder that cannot be created: exit 2).
 */
export function publishCharts(options: PublishOptions): number {
  try {
    return publish(options);
  } catch (cause) {
    if (!(cause instanceof ReleaseRefused)) throw cause;
    options.error(`nothing released: ${cause.message}`);
    return 1;
  }
}

function publish(options: PublishOptions): number {
  const { root, out, tag } = options;
  const states = readChartStates(root);
  if (hasErrors(states.issues)) {
    printIssues(options, states.issues);
    throw new ReleaseRefused(`${VERSION_RECORD_PATH} is unreadable (the errors above)`);
  }
  const unrecorded = states.charts
    .map(unrecordedReason)
    .filter((reason): reason is string => reason !== undefined);
  if (unrecorded.length > 0) {
    throw new ReleaseRefused(
      `${unrecorded.join('; ')}. A release publishes only the content recorded for each version: apply pending changesets and record (pnpm version-packages), or record a new chart (pnpm homelab changeset), commit, then release (pnpm homelab check says what is missing)`,
    );
  }
  if (tag) {
    refuseUncommittedCharts(root);
    checkTagIdentity(root);
  }
  const epoch = releaseEpoch(root, options.env);
  // Created (or found) before anything is packaged, as `homelab build` does: `-o /proc/x` fails
  // at once, never loops; a release refused above creates nothing, and one refused or failed
  // below removes the folders it created while they are still empty.
  const created = missingFolders(out);
  makeFolder(out, 'create the output folder');
  try {
    return packageCharts(options, epoch);
  } catch (cause) {
    for (const folder of created) {
      try {
        rmdirSync(folder);
      } catch {
        break; // not empty (an archive was written): it stays, and so do its parents
      }
    }
    throw cause;
  }
}

/** `path` and its ancestors that do not exist, deepest first. */
function missingFolders(path: string): string[] {
  const missing: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) {
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  return missing;
}

function packageCharts(options: PublishOptions, epoch: number): number {
  const { root, out, tag } = options;
  // Every archive and the index are made in memory before anything is written: a refusal on
  // the way (a stale Chart.yaml, a dependency vendor/ lacks, a released version whose archive
  // would change) leaves the release folder as it was, a released archive never overwritten.
  const archives: { file: string; archive: Uint8Array }[] = [];
  const entries: IndexEntryInput[] = [];
  const tags: string[] = [];
  for (const chart of readChartFolders(root)) {
    const leaked = packagedFiles(chart.files)
      .map(([path]) => path)
      .filter((path) => path === 'package.json' || path === 'CHANGELOG.md');
    if (leaked.length > 0) {
      throw new ReleaseRefused(
        `charts/${chart.name}/.helmignore does not keep ${leaked.join(', ')} out of the archive: regenerate it (pnpm build)`,
      );
    }
    const archive = packChart(withDependencies(root, chart.name, chart.files), {
      chart: chart.name,
      version: chart.version,
      mtime: ARCHIVE_MTIME,
    });
    const file = `${chart.name}-${chart.version}.tgz`;
    archives.push({ file, archive });
    const chartYaml = chart.files.get('Chart.yaml');
    const metadata = parse(new TextDecoder().decode(chartYaml)) as { [key: string]: unknown };
    entries.push({
      metadata,
      digest: createHash('sha256').update(archive).digest('hex'),
      url: file,
    });
    tags.push(`${chart.packageName}@${chart.version}`);
  }
  const indexPath = join(out, 'index.yaml');
  const existing = readRegularFileIfPresent(indexPath)?.toString('utf8');
  const index = buildIndex(existing, entries, epoch, indexPath);
  for (const { file, archive } of archives) {
    writeAtomic(join(out, file), archive);
    options.log(`packaged ${join(out, file)}`);
  }
  writeAtomic(indexPath, index);
  options.log(`wrote ${indexPath}`);
  if (tag) {
    const tagged: string[] = [];
    let step = 'git tag --list';
    try {
      const present = new Set(git(root, ['tag', '--list']).split('\n'));
      for (const name of tags) {
        if (present.has(name)) continue;
        step = `git tag -a ${name}`;
        git(root, ['tag', '-a', name, '-m', name]);
        tagged.push(name);
        // changesets/action reads these lines to create GitHub releases.
        options.log(`New tag: ${name}`);
      }
    } catch (cause) {
      throw new HomelabError(
        `tagging failed after the release was written: ${step}: ${gitProblem(cause)}. Written: ` +
          `${archives.length} archive${archives.length === 1 ? '' : 's'} and index.yaml in ${out}; ` +
          `tagged: ${tagged.length > 0 ? tagged.join(', ') : 'nothing'}. Release again once fixed: the ` +
          'archives are written again with the same bytes and only the missing tags are made',
        { cause },
      );
    }
  }
  return 0;
}

/**
 * What git said when it failed (its stderr, on one line: the first line and the `fatal:` one),
 * with how to fix the usual cause: no committer identity, which an annotated tag needs.
 */
function gitProblem(cause: unknown): string {
  const stderr = String((cause as { stderr?: unknown } | undefined)?.stderr ?? '');
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const fatal = lines.find((line) => /^(fatal|error):/.test(line));
  const said =
    lines.length === 0
      ? cause instanceof Error
        ? cause.message
        : String(cause)
      : [...new Set([lines[0], fatal].filter((line) => line !== undefined))].join('; ');
  return /identity unknown|auto-detect|auto-detection/i.test(stderr)
    ? `${said} (git has no user identity for the tag: set it with git config user.name "Your Name" and git config user.email you@example.com, or release with --no-tag to package only)`
    : said;
}

/**
 * Refuses to start a tagged release git could not tag (no committer identity, which an
 * annotated tag needs): a fault of the environment, before anything is written.
 */
function checkTagIdentity(root: string): void {
  try {
    git(root, ['var', 'GIT_COMMITTER_IDENT']);
  } catch (cause) {
    throw new HomelabError(`cannot tag the release, nothing written: ${gitProblem(cause)}`, {
      cause,
    });
  }
}

/**
 * Writes charts/.versions.json from the charts on disk; 0, or 1 with `nothing recorded: …` and
 * the file untouched when the repository's state refuses it, as `release` does: the record
 * unreadable, a `Chart.yaml` older than its `package.json` (the build did not run after the bump:
 * the digest would be the previous version's content under the new version, burning it), or a
 * chart whose content moved at its recorded version. All or nothing: recording the other charts
 * meanwhile would leave a record that is neither the one before nor the one asked for.
 */
export function recordVersionsOnDisk(io: ReleaseIo): number {
  const folders = readChartFolders(io.root);
  const { charts, record: existing, issues } = readChartStates(io.root, folders);
  if (hasErrors(issues)) {
    printIssues(io, issues);
    io.error(`nothing recorded: ${VERSION_RECORD_PATH} is unreadable (the errors above)`);
    return 1;
  }
  const stale = folders
    .map((folder) =>
      staleChartYaml(
        new TextDecoder().decode(folder.files.get('Chart.yaml')),
        folder.name,
        folder.version,
      ),
    )
    .filter((problem): problem is string => problem !== undefined);
  if (stale.length > 0) {
    io.error(`nothing recorded: ${stale.join('; ')} before recording`);
    return 1;
  }
  const result = recordVersions(charts, existing);
  if (hasErrors(result.issues)) {
    printIssues(io, result.issues);
    io.error(
      `nothing recorded: ${VERSION_RECORD_PATH} records a chart's content with its version, and a chart above changed at its recorded version (add a changeset, pnpm homelab changeset, then pnpm version-packages) or went below it (the fix above)`,
    );
    return 1;
  }
  writeAtomic(join(io.root, VERSION_RECORD_PATH), serializeVersionRecord(result.record));
  io.log(`wrote ${VERSION_RECORD_PATH}`);
  printIssues(io, result.issues);
  return 0;
}
