// Values in the layer they vary in (DESIGN.md, "Chart shape"): what every cluster of an
// environment shares is written once, in `env/<environment>.yaml`, and each cluster's layer keeps
// only what is its own. Pure: returns a new chart spec, changes nothing it is given.
//
// Components fill a chart's cluster layers per cluster; on a fleet most of that is the same for
// every cluster of an environment (Cilium's policies, the monitoring rules, …). Written per
// cluster it is hundreds of copies of the same objects: bigger diffs for one change, more bytes to
// generate, scan and write. Moving it changes nothing that Helm or Argo CD render: every
// Application (and every runbook command) passes `env/<environment>.yaml` before
// `clusters/<cluster>.yaml`, and for each cluster
//
//   mergeMaps(shared, own) = mergeMaps(environment, cluster)        (Helm's `-f` merge)
//
// where `shared` is what the merged layers of all the environment's clusters have in common and
// `own` what the cluster's merged layers have beyond it. So the values Helm coalesces onto
// values.yaml, `null`s included, are exactly those before the move. An environment with a single
// cluster is left as the components wrote it: with one cluster nothing says what is per
// environment and what is per cluster. A manifest (`manifests.<name>`) moves whole or not at all,
// so that each object reads in one layer.
import { mergeValuesShared } from './helm.js';
import { isJsonTable as isTable } from './json-access.js';
import type { ChartSpec, EnvironmentName, JsonValue, Values } from './types.js';
import { ENVIRONMENTS } from './types.js';
import { compareStrings } from './yaml.js';

type Table = { [key: string]: JsonValue };

/** Structural equality of JSON values (key order ignored, as in YAML maps). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !jsonEqual(a[key], b[key])) return false;
  }
  return true;
}

/**
 * What all of `tables` have in common: a key every table has, with equal values (taken whole), or
 * with tables in all of them (their common part, when it is not empty). Lists and scalars are
 * never split: they replace in Helm's merge; nor is a table at a path `whole` accepts.
 */
export function sharedValues(
  tables: readonly Table[],
  whole: (path: readonly string[]) => boolean = () => false,
  path: readonly string[] = [],
): Table {
  const [first, ...rest] = tables;
  const shared: Table = {};
  if (first === undefined) return shared;
  for (const key of Object.keys(first).sort(compareStrings)) {
    const value = first[key] as JsonValue;
    if (!rest.every((table) => Object.hasOwn(table, key))) continue;
    if (rest.every((table) => jsonEqual(value, table[key]))) {
      shared[key] = value;
      continue;
    }
    const at = [...path, key];
    if (isTable(value) && rest.every((table) => isTable(table[key])) && !whole(at)) {
      const nested = sharedValues([value, ...rest.map((table) => table[key] as Table)], whole, at);
      if (Object.keys(nested).length > 0) shared[key] = nested;
    }
  }
  return shared;
}

/** A manifest is shared whole or not at all: each object reads in one layer. */
const MANIFEST = (path: readonly string[]): boolean => path.length === 2 && path[0] === 'manifests';

/**
 * What `full` has beyond `shared` (computed by `sharedValues` from it and others), so that Helm's
 * `-f` merge of `shared` then the result gives `full` back.
 */
export function ownValues(full: Table, shared: Table): Table {
  const own: Table = {};
  for (const key of Object.keys(full)) {
    const value = full[key] as JsonValue;
    if (!Object.hasOwn(shared, key)) {
      own[key] = value;
      continue;
    }
    const common = shared[key];
    if (jsonEqual(value, common)) continue;
    // Not equal, so `sharedValues` recursed: both are tables.
    const nested = ownValues(value as Table, common as Table);
    if (Object.keys(nested).length > 0) own[key] = nested;
  }
  return own;
}

/**
 * `spec` with what every cluster of an environment shares in that environment's layer (see the
 * file comment). `environmentOf` gives the environment of each of `spec.clusters`' clusters.
 */
export function shareEnvironmentValues(
  spec: ChartSpec,
  environmentOf: (cluster: string) => EnvironmentName | undefined,
): ChartSpec {
  const environments: { [E in EnvironmentName]?: Values } = { ...spec.environments };
  const clusters: { [cluster: string]: Values } = { ...spec.clusters };
  let changed = false;
  for (const environment of ENVIRONMENTS) {
    const members = Object.keys(spec.clusters)
      .filter((cluster) => environmentOf(cluster) === environment)
      .sort(compareStrings);
    if (members.length < 2) continue;
    const layer = spec.environments[environment] ?? {};
    // Helm's `-f` merge of the two layers (mergeValues over empty defaults is exactly that),
    // sharing their subtrees: nothing here modifies them.
    const full = members.map((cluster) =>
      mergeValuesShared({}, layer, spec.clusters[cluster] ?? {}),
    );
    const shared = sharedValues(full, MANIFEST);
    environments[environment] = shared;
    members.forEach((cluster, index) => {
      clusters[cluster] = ownValues(full[index] as Table, shared);
    });
    changed = true;
  }
  return changed ? { ...spec, environments, clusters } : spec;
}

/**
 * The layer file (relative to the chart folder) that gives manifest `name` on `cluster`: the last
 * of values.yaml, the environment's layer and the cluster's that has it. Issues name it as the
 * place to look.
 */
export function manifestLayer(
  spec: ChartSpec,
  cluster: { readonly name: string; readonly environment: EnvironmentName },
  name: string,
): string {
  const has = (values: Values | undefined): boolean =>
    isTable(values?.manifests) && Object.hasOwn(values.manifests, name);
  if (has(spec.clusters[cluster.name])) return `clusters/${cluster.name}.yaml`;
  if (has(spec.environments[cluster.environment])) return `env/${cluster.environment}.yaml`;
  if (has(spec.values)) return 'values.yaml';
  return `clusters/${cluster.name}.yaml`;
}
