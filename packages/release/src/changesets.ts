import { createHash } from 'node:crypto';
import { didYouMean, error, type GeneratedFile, type Issue } from '@homelab/core';
import { parse } from 'yaml';
import { compareCodeUnits } from './files.js';

/** The workspace package name of `charts/<chart>` (its `package.json` `name`). */
export function chartPackageName(chart: string): string {
  return `@homelab/chart-${chart}`;
}

export type BumpType = 'major' | 'minor' | 'patch';

const BUMPS: readonly string[] = ['major', 'minor', 'patch'];

/**
 * A changeset's front matter as @changesets/parse 0.4 finds it (`mdRegex`): leading whitespace,
 * `---`, the YAML, a line that is `---` after optional indentation.
 */
const FRONT_MATTER = /\s*---([\s\S]*?)\n\s*---(\s*(?:\n|$)[\s\S]*)/;

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
    const match = FRONT_MATTER.exec(file.content);
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

/**
 * What `changeset version` would refuse in the pending changesets, found before it runs (`homelab
 * check`): a file without front matter, front matter that is no YAML mapping, a bump that is none
 * of major, minor, patch, none, and a chart package (`@homelab/chart-<name>`) the workspace does
 * not have (`chartPackages`: the charts' package names), or, where the workspace's other packages
 * are known (`otherPackages`, from its `pnpm-workspace.yaml`), any package it does not have.
 * Changesets 2.x fails the whole `pnpm version-packages` on any of them ("could not parse
 * changeset", "which is not in the workspace"), while `pendingBumps` skips them: check passed,
 * and the release job failed.
 */
export function changesetProblems(
  files: readonly { readonly path: string; readonly content: string }[],
  chartPackages: ReadonlySet<string>,
  otherPackages?: ReadonlySet<string>,
): Issue[] {
  const issues: Issue[] = [];
  const problem = (path: string, message: string, expected: string) =>
    issues.push(error({ code: 'changeset-invalid', path: [], output: path, message, expected }));
  const FRONT =
    'front matter between two --- lines, one `"<package>": <major|minor|patch>` per line';
  for (const file of files) {
    const base = file.path.split('/').pop() ?? '';
    if (!base.endsWith('.md') || base.toLowerCase() === 'readme.md') continue;
    const match = FRONT_MATTER.exec(file.content);
    if (!match) {
      problem(file.path, 'has no front matter: changeset version cannot parse it', FRONT);
      continue;
    }
    let front: unknown;
    try {
      front = parse(match[1] ?? '');
    } catch (cause) {
      problem(
        file.path,
        `has front matter that is not YAML (${(cause as Error).message.split('\n')[0]}): changeset version cannot parse it`,
        FRONT,
      );
      continue;
    }
    if (front === null || front === undefined) continue; // an empty changeset bumps nothing
    if (typeof front !== 'object' || Array.isArray(front)) {
      problem(file.path, 'has front matter that is no mapping of packages to bumps', FRONT);
      continue;
    }
    for (const [name, bump] of Object.entries(front)) {
      if (typeof bump !== 'string' || ![...BUMPS, 'none'].includes(bump)) {
        problem(
          file.path,
          `bumps ${name} by ${JSON.stringify(bump)}: changeset version knows major, minor, patch and none`,
          `"${name}": patch (or minor, major)`,
        );
      }
      if (name.startsWith('@homelab/chart-') && !chartPackages.has(name)) {
        problem(
          file.path,
          `names ${name}, which is no chart of the workspace: changeset version refuses the whole run`,
          `a chart package the workspace has (${[...chartPackages].sort(compareCodeUnits).join(', ')})`,
        );
      } else if (
        otherPackages !== undefined &&
        !name.startsWith('@homelab/chart-') &&
        !otherPackages.has(name)
      ) {
        const known = [...otherPackages].sort(compareCodeUnits);
        const near = didYouMean(name, known);
        problem(
          file.path,
          `names ${name}, which is no package of the workspace${near === undefined ? '' : ` (did you mean ${near}?)`}: changeset version refuses the whole run`,
          near === undefined
            ? `a package the workspace has (${known.join(', ')})`
            : `"${near}": ${typeof bump === 'string' ? bump : 'patch'}`,
        );
      }
    }
  }
  return issues;
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
