// Every issue carries the definition's file:line:col, also those raised late (by a component, by
// output validation, by a system check). A component names its settings on a cluster
// (`clusters[0].components.cilium.hubble.ui`); the value may be set there, or platform-wide in
// `components.cilium.hubble.ui`, or nowhere (a default): the issue points where it is set, else at
// the closest place the user can set it. Pure.
import type { Issue, PathSegment } from './issues.js';
import type { Locator } from './schema-validate.js';

type Table = { [key: string]: unknown };

/** How many leading segments of `path` exist in `data`. */
function matchedDepth(data: unknown, path: readonly PathSegment[]): number {
  let node: unknown = data;
  let depth = 0;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(node) || segment >= node.length) break;
      node = node[segment];
    } else {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) break;
      if (!Object.hasOwn(node, segment)) break;
      node = (node as Table)[segment];
    }
    depth++;
  }
  return depth;
}

/** The places a component setting can be written, most specific first. */
function candidates(data: unknown, path: readonly PathSegment[]): PathSegment[][] {
  const [first, index, components, name, ...rest] = path;
  if (
    first === 'clusters' &&
    typeof index === 'number' &&
    components === 'components' &&
    typeof name === 'string'
  ) {
    return [[...path], ['components', name, ...rest]];
  }
  if (first === 'components' && typeof index === 'string') {
    const component = index;
    const after = path.slice(2);
    const clusters = (data as Table | undefined)?.clusters;
    const count = Array.isArray(clusters) ? clusters.length : 0;
    return [
      [...path],
      ...Array.from({ length: count }, (_, i) => [
        'clusters',
        i,
        'components',
        component,
        ...after,
      ]),
    ];
  }
  return [[...path]];
}

/** The index of the component name in a candidate (its settings start after it). */
function componentDepth(candidate: readonly PathSegment[]): number {
  return candidate[0] === 'components'
    ? 2
    : candidate[0] === 'clusters' && candidate[2] === 'components'
      ? 4
      : candidate.length;
}

/**
 * The path an issue should name and where the file has it: the first candidate written in full;
 * else the candidate whose written part reaches deepest into the component's settings; else the
 * first candidate.
 */
export function placeOf(data: unknown, path: readonly PathSegment[]): PathSegment[] {
  const options = candidates(data, path);
  let best: PathSegment[] | undefined;
  let bestDepth = -1;
  for (const candidate of options) {
    const depth = matchedDepth(data, candidate);
    if (depth === candidate.length) return candidate;
    const into = depth - componentDepth(candidate);
    if (into >= 0 && into > bestDepth) {
      best = candidate;
      bestDepth = into;
    }
  }
  return best ?? options[0] ?? [...path];
}

/** Issues with a position: each issue without one gets the place `placeOf` finds for its path. */
export function positionIssues(issues: readonly Issue[], data: unknown, locate: Locator): Issue[] {
  return issues.map((issue) => {
    if (issue.position !== undefined) return issue;
    const path = placeOf(data, issue.path);
    const position = locate(path, false, issue.within);
    return position === undefined ? { ...issue, path } : { ...issue, path, position };
  });
}
