import { createHash } from 'node:crypto';
import type { GeneratedFile } from '@homelab/core';
import { parse } from 'yaml';
import { compareCodeUnits } from './files.js';

/** The workspace package name of `charts/<chart>` (its `package.json` `name`). */
export function chartPackageName(chart: string): string {
  return `@homelab/chart-${chart}`;
}

export type BumpType = 'major' | 'minor' | 'patch';

const BUMPS: readonly string[] = ['major', 'minor', 'patch'];

/**
 * Packages that pending changesets (`.changeset/*.md`, not yet applied by `changeset version`)
 * bump, with the largest bump each gets. Files that are not changesets (README.md, config.json,
 * no frontmatter) are skipped.
 */
export function pendingBumps(
  files: readonly { readonly path: string; readonly content: string }[],
): Map<string, BumpType> {
  const bumps = new Map<string, BumpType>();
  for (const file of files) {
    const base = file.path.split('/').pop() ?? '';
    if (!base.endsWith('.md') || base.toLowerCase() === 'readme.md') continue;
    const match = /^---\r?\n([\s\S]*?)\r?\n?---/.exec(file.content);
    if (!match) continue;
    let front: unknown;
    try {
      front = parse(match[1] ?? '');
    } catch {
      continue;
    }
    if (typeof front !== 'object' || front === null) continue;
    for (const [name, bump] of Object.entries(front)) {
      if (typeof bump !== 'string' || !BUMPS.includes(bump)) continue;
      const before = bumps.get(name);
      if (before === undefined || BUMPS.indexOf(bump) < BUMPS.indexOf(before)) {
        bumps.set(name, bump as BumpType);
      }
    }
  }
  return bumps;
}

/** A chart to write a changeset for. */
export interface ChangedChart {
  readonly name: string;
  /** Defaults to `chartPackageName(name)`. */
  readonly packageName?: string;
}

/**
 * One changeset (`.changeset/<name>.md`) that bumps every given chart by a patch, for a CLI to
 * write in one go (`homelab changeset`). The file name derives from the charts, so the same
 * charts give the same file. No charts, no file.
 */
export function writeChangesets(
  charts: readonly ChangedChart[],
  options: { readonly summary?: string } = {},
): GeneratedFile[] {
  if (charts.length === 0) return [];
  const sorted = [...charts].sort((a, b) => compareCodeUnits(a.name, b.name));
  const packages = sorted.map((chart) => chart.packageName ?? chartPackageName(chart.name));
  const id = createHash('sha256').update(packages.join('\n')).digest('hex').slice(0, 8);
  const names = sorted.map((chart) => chart.name);
  const summary =
    options.summary ??
    `Regenerated chart content: ${names.map((name) => `charts/${name}`).join(', ')}.`;
  const front = packages.map((pkg) => `${JSON.stringify(pkg)}: patch`).join('\n');
  return [
    {
      path: `.changeset/charts-${id}.md`,
      content: `---\n${front}\n---\n\n${summary.trim()}\n`,
    },
  ];
}
