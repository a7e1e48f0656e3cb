// The real runtime of the CLI, imported lazily (`--help` and usage errors never load it).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  compareStrings,
  diffTree,
  formatIssue,
  HomelabError,
  readChartVersions,
  writeTree,
} from '@homelab/core';
import { generate } from './pipeline.js';
import type { ReleaseState, Runtime } from './runtime-types.js';

/** `package.json` `name` of every chart folder under `<outRoot>/charts/` that has one. */
function chartPackageNames(outRoot: string): Record<string, string> {
  const charts = join(outRoot, 'charts');
  const names: Record<string, string> = {};
  if (!existsSync(charts)) return names;
  for (const entry of readdirSync(charts, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(charts, entry.name, 'package.json');
    if (!existsSync(file)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new HomelabError(`charts/${entry.name}/package.json is not valid JSON`, { cause });
    }
    const name = (parsed as { name?: unknown } | null)?.name;
    if (typeof name === 'string') names[entry.name] = name;
  }
  return names;
}

/** Imports @homelab/release (semver, packing, …) only for the commands that need it. */
async function readReleaseState(outRoot: string): Promise<ReleaseState> {
  const { pendingBumps, readChangesetFiles, readVersionRecord } = await import('@homelab/release');
  const { record, issues } = readVersionRecord(outRoot);
  return {
    record,
    pending: [...pendingBumps(readChangesetFiles(outRoot)).keys()].sort(compareStrings),
    packageNames: chartPackageNames(outRoot),
    issues,
  };
}

function writeChangesets(
  outRoot: string,
  files: readonly { path: string; content: string }[],
): string[] {
  const written: string[] = [];
  for (const file of files) {
    const target = join(outRoot, file.path);
    if (existsSync(target)) {
      if (readFileSync(target, 'utf8') === file.content) continue;
      throw new HomelabError(`refusing to overwrite ${file.path}: it exists with other content`);
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content, { flag: 'wx' });
    written.push(file.path);
  }
  return written;
}

export const runtime: Runtime = {
  generate,
  readChartVersions,
  writeTree: (outRoot, files) => {
    const plan = writeTree(outRoot, files);
    const generated = new Set(files.map((file) => file.path));
    return {
      written: plan.written.filter((path) => generated.has(path)).length,
      unchanged: plan.unchanged.length,
      removed: plan.removed.length,
      created: plan.written.filter((path) => !generated.has(path)),
    };
  },
  diffTree,
  readReleaseState,
  writeChangesets,
  formatIssue,
};
