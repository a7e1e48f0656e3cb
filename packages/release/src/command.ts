// `pnpm release [record|check|changeset] [--no-tag] [--out <dir>]`
//   (default)  package every chart into <out>/<chart>-<version>.tgz, merge <out>/index.yaml,
//              tag <package>@<version> in git for versions not tagged yet
//   record     write charts/.versions.json (run by `pnpm version-packages` after regenerating)
//   check      the version-increment guard on charts/ as it is on disk (`homelab check` runs the
//              same guard on what the build would generate)
//   changeset  write one changeset bumping every chart on disk that changed without one
//              (`homelab changeset` does it for what the build would generate)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatIssue, HomelabError, hasErrors, type Issue, sortIssues } from '@homelab/core';
import { parse } from 'yaml';
import { writeChangesets } from './changesets.js';
import { VERSION_RECORD_PATH } from './digest.js';
import {
  chartsNeedingChangeset,
  checkChartVersions,
  recordVersions,
  serializeVersionRecord,
} from './guard.js';
import { packagedFiles, packChart } from './pack.js';
import { readChartFolders, readChartStates } from './repo.js';
import { buildIndex, type IndexEntryInput } from './repo-index.js';

function findRoot(start: string): string {
  let dir = resolve(start);
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new HomelabError(`no pnpm-workspace.yaml above ${start}`);
    dir = parent;
  }
  return dir;
}

function git(root: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** The release commit's time (`git log -1 --format=%ct`), else `SOURCE_DATE_EPOCH`. */
export function releaseEpoch(root: string, env: NodeJS.ProcessEnv): number {
  let fromGit = '';
  try {
    fromGit = git(root, ['log', '-1', '--format=%ct']);
  } catch {
    fromGit = '';
  }
  const text = fromGit !== '' ? fromGit : (env.SOURCE_DATE_EPOCH ?? '');
  if (!/^\d+$/.test(text)) {
    throw new HomelabError(
      'no release time: not in a git repository with a commit, and SOURCE_DATE_EPOCH is not set',
    );
  }
  return Number(text);
}

function writeAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, content);
  renameSync(temp, path);
}

function printIssues(issues: readonly Issue[]): void {
  for (const issue of sortIssues(issues)) {
    console.error(`${issue.severity === 'error' ? 'error' : 'warning'}  ${formatIssue(issue)}`);
  }
}

function release(root: string, out: string, tag: boolean): number {
  const epoch = releaseEpoch(root, process.env);
  const entries: IndexEntryInput[] = [];
  const tags: string[] = [];
  for (const chart of readChartFolders(root)) {
    const leaked = packagedFiles(chart.files)
      .map(([path]) => path)
      .filter((path) => path === 'package.json' || path === 'CHANGELOG.md');
    if (leaked.length > 0) {
      throw new HomelabError(
        `charts/${chart.name}/.helmignore does not keep ${leaked.join(', ')} out of the archive`,
      );
    }
    const archive = packChart(chart.files, {
      chart: chart.name,
      version: chart.version,
      mtime: epoch,
    });
    const file = `${chart.name}-${chart.version}.tgz`;
    writeAtomic(join(out, file), archive);
    const chartYaml = chart.files.get('Chart.yaml');
    const metadata = parse(new TextDecoder().decode(chartYaml)) as { [key: string]: unknown };
    entries.push({
      metadata,
      digest: createHash('sha256').update(archive).digest('hex'),
      url: file,
    });
    tags.push(`${chart.packageName}@${chart.version}`);
    console.log(`packaged ${join(out, file)}`);
  }
  const indexPath = join(out, 'index.yaml');
  const existing = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : undefined;
  writeAtomic(indexPath, buildIndex(existing, entries, epoch));
  console.log(`wrote ${indexPath}`);
  if (tag) {
    const present = new Set(git(root, ['tag', '--list']).split('\n'));
    for (const name of tags) {
      if (present.has(name)) continue;
      git(root, ['tag', '-a', name, '-m', name]);
      // changesets/action reads these lines to create GitHub releases.
      console.log(`New tag: ${name}`);
    }
  }
  return 0;
}

function record(root: string): number {
  const { charts, record: existing, issues } = readChartStates(root);
  if (hasErrors(issues)) {
    printIssues(issues);
    return 1;
  }
  const result = recordVersions(charts, existing);
  writeAtomic(join(root, VERSION_RECORD_PATH), serializeVersionRecord(result.record));
  console.log(`wrote ${VERSION_RECORD_PATH}`);
  printIssues(result.issues);
  return hasErrors(result.issues) ? 1 : 0;
}

function check(root: string): number {
  const { charts, issues } = readChartStates(root);
  const all = [...issues, ...checkChartVersions(charts)];
  printIssues(all);
  return hasErrors(all) ? 1 : 0;
}

function changeset(root: string): number {
  const changed = chartsNeedingChangeset(readChartStates(root).charts);
  const files = writeChangesets(
    changed.map((chart) =>
      chart.packageName === undefined
        ? { name: chart.name }
        : { name: chart.name, packageName: chart.packageName },
    ),
  );
  for (const file of files) {
    writeAtomic(join(root, file.path), file.content);
    console.log(`wrote ${file.path}`);
  }
  if (files.length === 0) console.log('no chart changed without a changeset');
  return 0;
}

export function main(argv: readonly string[], cwd: string): number {
  const args = [...argv];
  const root = findRoot(cwd);
  const command = args[0] !== undefined && !args[0].startsWith('-') ? args.shift() : 'publish';
  const outIndex = args.indexOf('--out');
  const out = resolve(root, outIndex === -1 ? 'release' : (args[outIndex + 1] ?? 'release'));
  switch (command) {
    case 'publish':
      return release(root, out, !args.includes('--no-tag'));
    case 'record':
      return record(root);
    case 'check':
      return check(root);
    case 'changeset':
      return changeset(root);
    default:
      console.error(`unknown command ${command}: expected record, check, changeset or none`);
      return 2;
  }
}
