// Layers of a dependency graph (longest path), with unknown dependencies and cycles reported:
// the order components are declared in, and the sync waves of the app-of-apps. Pure.
import { compareStrings } from './yaml.js';

/** One node of the graph: an Application and the names it must come after. */
export interface DependencyNode {
  readonly name: string;
  readonly dependsOn: readonly string[];
  /**
   * Placed in the latest wave its dependents allow (one before the earliest of them; the last
   * wave when nothing depends on it) instead of the earliest its dependencies allow.
   */
  readonly late?: boolean;
}

export type DependencyProblem =
  | { readonly kind: 'unknown'; readonly from: string; readonly missing: string }
  | { readonly kind: 'cycle'; readonly cycle: readonly string[] };

export interface DependencyLayers {
  /**
   * Wave per node: 0 for nodes without dependencies, else 1 + the highest wave it depends on;
   * a `late` node as late as the nodes depending on it allow.
   */
  readonly waves: ReadonlyMap<string, number>;
  /** Node names in wave order (ties by name). Nodes on a cycle are left out. */
  readonly order: readonly string[];
  readonly problems: readonly DependencyProblem[];
}

/**
 * Orders the nodes by a longest-path layering of the dependency graph, so that every node's
 * wave is strictly greater than the waves of everything it depends on; then moves each `late`
 * node to the latest wave below every node that depends on it (the last wave when none does),
 * which keeps that order. Unknown dependencies
 * and cycles are reported (a cycle as the chain of "depends on" from a node back to itself,
 * e.g. `['cilium', 'longhorn', 'cilium']`), never thrown. Deterministic: independent of input order.
 */
export function dependencyLayers(nodes: readonly DependencyNode[]): DependencyLayers {
  const problems: DependencyProblem[] = [];
  const names = [...new Set(nodes.map((node) => node.name))].sort(compareStrings);
  const edges = new Map<string, string[]>();
  for (const name of names) edges.set(name, []);
  for (const node of [...nodes].sort((a, b) => compareStrings(a.name, b.name))) {
    const targets = edges.get(node.name) ?? [];
    for (const dependency of [...new Set(node.dependsOn)].sort(compareStrings)) {
      if (!edges.has(dependency)) {
        problems.push({ kind: 'unknown', from: node.name, missing: dependency });
        continue;
      }
      if (!targets.includes(dependency)) targets.push(dependency);
    }
    edges.set(node.name, targets);
  }

  // Depth-first search; a grey node met again closes a cycle.
  const state = new Map<string, 'grey' | 'black'>();
  const onCycle = new Set<string>();
  const seenCycles = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'grey');
    stack.push(name);
    for (const next of edges.get(name) ?? []) {
      const seen = state.get(next);
      if (seen === 'grey') {
        const cycle = stack.slice(stack.indexOf(next));
        const key = canonicalCycle(cycle);
        if (!seenCycles.has(key)) {
          seenCycles.add(key);
          // Read as "depends on": cilium → longhorn → cilium.
          problems.push({ kind: 'cycle', cycle: [...cycle, next] });
        }
        for (const member of cycle) onCycle.add(member);
      } else if (seen === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(name, 'black');
  };
  for (const name of names) if (!state.has(name)) visit(name);

  // Longest-path layering over the nodes that do not reach a cycle.
  const waves = new Map<string, number>();
  const blocked = new Set<string>(onCycle);
  const wave = (name: string, trail: Set<string>): number | undefined => {
    if (blocked.has(name) || trail.has(name)) return undefined;
    const known = waves.get(name);
    if (known !== undefined) return known;
    trail.add(name);
    let result = 0;
    for (const dependency of edges.get(name) ?? []) {
      const before = wave(dependency, trail);
      if (before === undefined) {
        trail.delete(name);
        blocked.add(name);
        return undefined;
      }
      result = Math.max(result, before + 1);
    }
    trail.delete(name);
    waves.set(name, result);
    return result;
  };
  for (const name of names) wave(name, new Set());

  // Late nodes, latest first: a late node's dependents have higher waves, so they are final
  // (moved already, if late themselves) when it is placed.
  const late = new Set(nodes.filter((node) => node.late === true).map((node) => node.name));
  if (late.size > 0) {
    const last = Math.max(...waves.values());
    const dependents = new Map<string, string[]>();
    for (const [name, targets] of edges) {
      for (const target of targets)
        dependents.set(target, [...(dependents.get(target) ?? []), name]);
    }
    const latestFirst = [...late]
      .filter((name) => waves.has(name))
      .sort((a, b) => (waves.get(b) ?? 0) - (waves.get(a) ?? 0) || compareStrings(a, b));
    for (const name of latestFirst) {
      const after = (dependents.get(name) ?? []).flatMap((dependent) => {
        const placed = waves.get(dependent);
        return placed === undefined ? [] : [placed];
      });
      waves.set(name, after.length > 0 ? Math.min(...after) - 1 : last);
    }
  }

  const order = names
    .filter((name) => waves.has(name))
    .sort((a, b) => (waves.get(a) ?? 0) - (waves.get(b) ?? 0) || compareStrings(a, b));
  return { waves, order, problems };
}

/** The cycle rotated to start at its smallest name, so that one cycle is reported once. */
function canonicalCycle(cycle: readonly string[]): string {
  let start = 0;
  cycle.forEach((name, index) => {
    if (compareStrings(name, cycle[start] as string) < 0) start = index;
  });
  return [...cycle.slice(start), ...cycle.slice(0, start)].join('\u0000');
}

/** `cilium → longhorn → cilium` */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}
