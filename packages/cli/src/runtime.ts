// The real runtime of the CLI, imported lazily (`--help` and usage errors never load it).
import { spawnSync } from 'node:child_process';
import {
  type Dirent,
  existsSync,
  lstatSync,
  readdirSync,
  realpathSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { WriteOptions } from '@homelab/core';
import {
  compareStrings,
  diffTree,
  formatIssue,
  HomelabError,
  holdOutput,
  jsonSyntaxProblem,
  makeFolder,
  readChartDir,
  readChartVersions,
  readRegularFileIfPresent,
  writeTree,
} from '@homelab/core';
import { CLUSTER_MARKERS, DEPLOYED_CLUSTER_FILES } from './cluster-changes.js';
import { generate } from './pipeline.js';
import type { ReleaseState, Runtime } from './runtime-types.js';

/** Whether `path` is a regular file (not followed through a symbolic link). */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** `package.json` `name` of every chart folder under `<outRoot>/charts/` that has one. */
function chartPackageNames(outRoot: string): Record<string, string> {
  const charts = join(outRoot, 'charts');
  const names: Record<string, string> = {};
  if (!existsSync(charts)) return names;
  for (const entry of readdirSync(charts, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(charts, entry.name, 'package.json');
    const bytes = readRegularFileIfPresent(file);
    if (bytes === undefined) continue;
    const text = bytes.toString('utf8');
    const problem = jsonSyntaxProblem(text);
    if (problem !== undefined) throw new HomelabError(`${file} ${problem.message}`);
    const parsed: unknown = JSON.parse(text);
    const name = (parsed as { name?: unknown } | null)?.name;
    if (typeof name === 'string') names[entry.name] = name;
  }
  return names;
}

/**
 * Refuses a `.changeset` that is a symlink out of the output root: `homelab changeset` would
 * write there, and its pending changesets would be read from there.
 */
function checkChangesetDir(outRoot: string): void {
  const dir = join(outRoot, '.changeset');
  let isLink = false;
  try {
    isLink = lstatSync(dir).isSymbolicLink();
  } catch {
    return; // missing: created as a real folder when needed
  }
  if (!isLink) return;
  let target: string;
  try {
    target = realpathSync(dir);
  } catch (cause) {
    throw new HomelabError(`${dir} is a symlink that cannot be followed; make it a folder`, {
      cause,
    });
  }
  const root = realpathSync(outRoot);
  const inside = relative(root, target);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || inside.startsWith(sep)) {
    throw new HomelabError(
      `${dir} is a symlink to ${target}, outside ${root}; refusing to read or write changesets there (make .changeset a folder of the repository)`,
    );
  }
}

/** Imports @homelab/release (semver, packing, …) only for the commands that need it. */
async function readReleaseState(outRoot: string): Promise<ReleaseState> {
  checkChangesetDir(outRoot);
  const {
    changesetProblems,
    chartFolderPaths,
    pendingBumps,
    readChangesetFiles,
    readVersionRecord,
    readWorkspacePackageNames,
  } = await import('@homelab/release');
  const { record, issues } = readVersionRecord(outRoot);
  const changesets = readChangesetFiles(outRoot);
  const packageNames = chartPackageNames(outRoot);
  return {
    record,
    pending: [...pendingBumps(changesets).keys()].sort(compareStrings),
    packageNames,
    issues: [
      ...issues,
      ...changesetProblems(
        changesets,
        new Set(Object.values(packageNames)),
        readWorkspacePackageNames(outRoot),
      ),
    ],
    chartPaths: chartFolderPaths(outRoot),
  };
}

function writeChangesets(
  outRoot: string,
  files: readonly { path: string; content: string }[],
): string[] {
  makeFolder(outRoot, 'create the output folder');
  checkChangesetDir(outRoot);
  const written: string[] = [];
  for (const file of files) {
    const target = join(outRoot, file.path);
    const existing = readRegularFileIfPresent(target);
    if (existing !== undefined) {
      if (existing.toString('utf8') === file.content) continue;
      throw new HomelabError(`refusing to overwrite ${file.path}: it exists with other content`);
    }
    makeFolder(dirname(target));
    writeFileSync(target, file.content, { flag: 'wx' });
    written.push(file.path);
  }
  return written;
}

/** Writes charts/.versions.json through a temporary file and a rename. */
function writeVersionRecord(outRoot: string, content: string): void {
  makeFolder(outRoot, 'create the output folder');
  const target = join(outRoot, 'charts', '.versions.json');
  makeFolder(dirname(target));
  const temp = `${target}.tmp-${process.pid}`;
  writeFileSync(temp, content);
  renameSync(temp, target);
}

/** `changeset version` of the workspace's @changesets/cli, in `root`, its output passed through. */
function changesetVersion(root: string): number {
  const bin = join(root, 'node_modules', '@changesets', 'cli', 'bin.js');
  if (!existsSync(bin)) {
    throw new HomelabError(
      `${bin} does not exist: the changesets CLI is not installed in ${root} (pnpm install)`,
    );
  }
  const result = spawnSync(process.execPath, [bin, 'version'], { cwd: root, stdio: 'inherit' });
  if (result.error !== undefined) {
    throw new HomelabError(`cannot run changeset version: ${result.error.message}`, {
      cause: result.error,
    });
  }
  return result.status ?? 1;
}

/**
 * The writer's test hook from the environment (for the kill test; see packages/core/README.md):
 * `HOMELAB_WRITER_TRACE=1` prints `homelab-writer-step <n> <label>` on stderr before each step;
 * `HOMELAB_WRITER_PAUSE_AT=<n>` prints `homelab-writer-paused <n> <label>` at step n and waits
 * there (up to 60 s) so that a test can kill the process at exactly that point.
 */
export function writerStepHook(
  env: Readonly<Record<string, string | undefined>>,
): WriteOptions['onStep'] {
  const trace = env.HOMELAB_WRITER_TRACE === '1';
  const pauseAt = Number(env.HOMELAB_WRITER_PAUSE_AT ?? Number.NaN);
  if (!trace && !Number.isInteger(pauseAt)) return undefined;
  return (step, label) => {
    if (trace) writeSync(2, `homelab-writer-step ${step} ${label}\n`);
    if (step === pauseAt) {
      writeSync(2, `homelab-writer-paused ${step} ${label}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  };
}

export const runtime: Runtime = {
  generate,
  readChartVersions,
  readChart: (outRoot, chart) => {
    const dir = join(outRoot, 'charts', chart);
    return existsSync(join(dir, 'Chart.yaml')) ? readChartDir(dir) : undefined;
  },
  readClusterFiles: (outRoot, cluster) => {
    const dir = join(outRoot, 'clusters', cluster);
    const files = new Map<string, string>();
    for (const path of DEPLOYED_CLUSTER_FILES) {
      const bytes = readRegularFileIfPresent(join(dir, ...path.split('/')));
      if (bytes !== undefined) files.set(path, bytes.toString('utf8'));
    }
    return files.has('talos/controlplane.yaml') ? files : undefined;
  },
  readClusterNames: (outRoot) => {
    const root = join(outRoot, 'clusters');
    let entries: Dirent[];
    try {
      entries = readdirSync(root, { withFileTypes: true });
    } catch {
      return []; // No clusters/ (a first build) or not a folder: the writer reports it.
    }
    return entries
      .filter(
        (entry) =>
          entry.isDirectory() &&
          CLUSTER_MARKERS.some((marker) =>
            isRegularFile(join(root, entry.name, ...marker.split('/'))),
          ),
      )
      .map((entry) => entry.name)
      .sort(compareStrings);
  },
  writeTree: (outRoot, files, record) => {
    const onStep = writerStepHook(process.env);
    const plan = writeTree(outRoot, files, {
      ...(onStep ? { onStep } : {}),
      ...(record ? { record } : {}),
    });
    const generated = new Set(files.map((file) => file.path));
    return {
      written: plan.written.filter((path) => generated.has(path)).length,
      unchanged: plan.unchanged.length,
      removed: plan.removed.length,
      created: plan.written.filter((path) => !generated.has(path)),
    };
  },
  diffTree,
  holdOutput: (outRoot) => {
    const onStep = writerStepHook(process.env);
    return holdOutput(outRoot, onStep ? { onStep } : {});
  },
  readReleaseState,
  writeChangesets,
  writeVersionRecord,
  changesetVersion,
  formatIssue,
};
