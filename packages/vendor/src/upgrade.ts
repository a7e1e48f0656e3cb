// What a new upstream chart release means for the values we set under it: the report a Renovate
// pull request needs (`homelab upgrade-check`). Pure: two values.yaml texts and our values in.
//
// For every key path we set that the old release defines (keys under free-form maps, or known
// only from the schema, have no default to compare and are left to the conformance check):
// - removed: the new release no longer has it (when a map we set keys in is gone, each of our
//   keys under it is reported);
// - renamed: instead of removed, when the new release has a key of the same name that the old
//   one did not, under another parent (best effort: a common name such as `enabled` must also
//   share the first key or its parent's name, a name used once in the new release need not; the
//   candidates sharing most trailing then leading segments win, narrowed to those with the old
//   default when some have it);
// - retyped: the default's type changed (map, list, string, number, boolean; `null` is untyped);
// - defaultsChanged: in every map we set keys of (not the root), the keys we do NOT set whose
//   default changed, was added or was removed (a `null` default counts as none): Helm merges
//   those into what we deploy.
import { formatPath, parseYaml, type Values } from '@homelab/core';

export type ValueType = 'map' | 'list' | 'string' | 'number' | 'boolean' | 'null';

export interface RemovedKey {
  readonly path: string;
  /** The value we set there. */
  readonly ours: unknown;
}

export interface RenamedKey {
  readonly path: string;
  /** Where the new release probably has it (one or more paths, sorted). */
  readonly candidates: readonly string[];
  readonly ours: unknown;
}

export interface RetypedKey {
  readonly path: string;
  readonly from: ValueType;
  readonly to: ValueType;
  readonly ours: unknown;
}

export interface ChangedDefault {
  readonly path: string;
  /** The old default; absent when the new release added the key. */
  readonly from?: unknown;
  /** The new default; absent when the new release removed the key. */
  readonly to?: unknown;
}

export interface ValuesUpgradeReport {
  readonly removed: readonly RemovedKey[];
  readonly renamed: readonly RenamedKey[];
  readonly retyped: readonly RetypedKey[];
  readonly defaultsChanged: readonly ChangedDefault[];
}

type Tree = { [key: string]: unknown };

function isMap(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(tree: Tree, key: string): boolean {
  return Object.hasOwn(tree, key);
}

function typeOf(value: unknown): ValueType {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'list';
  if (isMap(value)) return 'map';
  const type = typeof value;
  return type === 'number' || type === 'boolean' ? type : 'string';
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => equal(item, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => has(b, k) && equal(a[k], b[k]))
    );
  }
  return false;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys(tree: Tree): string[] {
  return Object.keys(tree).sort(compare);
}

/** Every key path of a values tree (maps and leaves), with its value. */
function allPaths(tree: Tree): Map<string, { segments: string[]; value: unknown }> {
  const out = new Map<string, { segments: string[]; value: unknown }>();
  const walk = (node: Tree, segments: string[]): void => {
    for (const key of Object.keys(node)) {
      const path = [...segments, key];
      out.set(JSON.stringify(path), { segments: path, value: node[key] });
      const child = node[key];
      if (isMap(child)) walk(child, path);
    }
  };
  walk(tree, []);
  return out;
}

function sharedSuffix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

function sharedPrefix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function parseValues(text: string, which: string): Tree {
  const data = parseYaml(text);
  if (data === null || data === undefined) return {};
  if (!isMap(data)) throw new TypeError(`the ${which} values.yaml is not a map`);
  return data;
}

/**
 * The upgrade report for our values (`ours`, the merged values we set under the upstream chart)
 * from the release whose values.yaml is `oldValuesYaml` to the one whose values.yaml is
 * `newValuesYaml`. Every list is sorted by path.
 */
export function valuesUpgradeReport(
  oldValuesYaml: string,
  newValuesYaml: string,
  ours: Values,
): ValuesUpgradeReport {
  const oldTree = parseValues(oldValuesYaml, 'old');
  const newTree = parseValues(newValuesYaml, 'new');
  const oldPaths = allPaths(oldTree);
  const newPaths = [...allPaths(newTree).values()];
  const newOnly = newPaths.filter((p) => !oldPaths.has(JSON.stringify(p.segments)));
  const leafCount = new Map<string, number>();
  for (const { segments } of newPaths) {
    const leaf = segments[segments.length - 1] ?? '';
    leafCount.set(leaf, (leafCount.get(leaf) ?? 0) + 1);
  }

  const removed: RemovedKey[] = [];
  const renamed: RenamedKey[] = [];
  const retyped: RetypedKey[] = [];
  const defaultsChanged: ChangedDefault[] = [];

  const renameCandidates = (segments: string[], oldDefault: unknown): string[] => {
    const leaf = segments[segments.length - 1] ?? '';
    const score = (c: { segments: string[] }): [number, number] => [
      sharedSuffix(c.segments, segments),
      sharedPrefix(c.segments, segments),
    ];
    // A common name (`enabled`) needs more than itself in common: the same first key or the
    // same parent name. A name the new release uses once is evidence enough.
    const unique = leafCount.get(leaf) === 1;
    const same = newOnly.filter((c) => {
      if (c.segments[c.segments.length - 1] !== leaf) return false;
      const [suffix, prefix] = score(c);
      return unique || prefix >= 1 || suffix >= 2;
    });
    if (same.length === 0) return [];
    const best = same.reduce<[number, number]>(
      (top, c) => {
        const [s, p] = score(c);
        return s > top[0] || (s === top[0] && p > top[1]) ? [s, p] : top;
      },
      [0, 0],
    );
    let chosen = same.filter((c) => {
      const [s, p] = score(c);
      return s === best[0] && p === best[1];
    });
    const sameDefault = chosen.filter((c) => equal(c.value, oldDefault));
    if (sameDefault.length > 0) chosen = sameDefault;
    return chosen.map((c) => formatPath(c.segments)).sort(compare);
  };

  const union = (a: Tree, b: Tree): string[] =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compare);

  /** Records how the default of `key` moved from `from` to `to` (recursing into maps). */
  const diffKey = (from: Tree, to: Tree, key: string, segments: string[]): void => {
    const path = [...segments, key];
    // A `null` default is no default (Helm's coalescing treats it as unset): its appearance or
    // disappearance changes nothing we deploy.
    if (!has(to, key)) {
      if (from[key] !== null) defaultsChanged.push({ path: formatPath(path), from: from[key] });
    } else if (!has(from, key)) {
      if (to[key] !== null) defaultsChanged.push({ path: formatPath(path), to: to[key] });
    } else {
      const before = from[key];
      const after = to[key];
      if (isMap(before) && isMap(after)) {
        for (const child of union(before, after)) diffKey(before, after, child, path);
      } else if (!equal(before, after)) {
        defaultsChanged.push({ path: formatPath(path), from: before, to: after });
      }
    }
  };

  /** A key we set that the new release does not have: report each of our keys under it. */
  const gone = (path: string[], value: unknown, before: unknown): void => {
    if (isMap(value) && isMap(before)) {
      const known = sortedKeys(value).filter((k) => has(before, k));
      if (known.length > 0) {
        for (const k of known) gone([...path, k], value[k], before[k]);
        return;
      }
    }
    const candidates = renameCandidates(path, before);
    if (candidates.length > 0) renamed.push({ path: formatPath(path), candidates, ours: value });
    else removed.push({ path: formatPath(path), ours: value });
  };

  const walk = (mine: Tree, oldNode: Tree, newNode: Tree, segments: string[]): void => {
    if (segments.length > 0) {
      // Defaults we rely on: the keys of this map that we leave to upstream.
      for (const key of union(oldNode, newNode)) {
        if (!has(mine, key)) diffKey(oldNode, newNode, key, segments);
      }
    }
    for (const key of sortedKeys(mine)) {
      if (!has(oldNode, key)) continue;
      const path = [...segments, key];
      const value = mine[key];
      const before = oldNode[key];
      if (!has(newNode, key)) {
        gone(path, value, before);
        continue;
      }
      const after = newNode[key];
      const from = typeOf(before);
      const to = typeOf(after);
      if (from !== to && from !== 'null' && to !== 'null') {
        retyped.push({ path: formatPath(path), from, to, ours: value });
        continue;
      }
      if (isMap(value) && isMap(before) && isMap(after)) walk(value, before, after, path);
    }
  };
  walk(ours, oldTree, newTree, []);

  const byPath = (a: { path: string }, b: { path: string }) => compare(a.path, b.path);
  return {
    removed: removed.sort(byPath),
    renamed: renamed.sort(byPath),
    retyped: retyped.sort(byPath),
    defaultsChanged: defaultsChanged.sort(byPath),
  };
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The report as text, one line per finding, grouped; says so when nothing affects us. */
export function formatValuesUpgradeReport(report: ValuesUpgradeReport): string {
  const lines: string[] = [];
  for (const r of report.removed) lines.push(`removed   ${r.path} (we set ${show(r.ours)})`);
  for (const r of report.renamed) {
    lines.push(`renamed?  ${r.path} -> ${r.candidates.join(' | ')} (we set ${show(r.ours)})`);
  }
  for (const r of report.retyped) {
    lines.push(`retyped   ${r.path}: ${r.from} -> ${r.to} (we set ${show(r.ours)})`);
  }
  for (const d of report.defaultsChanged) {
    const change = !('from' in d)
      ? `added, ${show(d.to)}`
      : !('to' in d)
        ? `removed, was ${show(d.from)}`
        : `${show(d.from)} -> ${show(d.to)}`;
    lines.push(`default   ${d.path}: ${change}`);
  }
  if (lines.length === 0)
    return 'no key we set was removed, renamed or retyped; no default we rely on changed\n';
  return `${lines.join('\n')}\n`;
}
