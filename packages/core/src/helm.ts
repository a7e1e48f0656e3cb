// Helm's value-merge semantics and the rendering of a chart of our contract, computed without
// Helm (DESIGN.md, "Chart shape"). Pure: no fs, no clock, no environment.
//
// What `helm template <chart> -f a.yaml -f b.yaml` does with values (Helm 3.17.1 and later,
// pkg/cli/values/options.go `mergeMaps` then pkg/chart/common/util/coalesce.go):
// 1. The value files are merged in order: maps merge deeply, anything else (scalars, lists,
//    `null`) in a later file replaces what an earlier one had.
// 2. The result is coalesced onto the chart's values.yaml: maps merge deeply, the user's
//    scalars and lists win, and a user `null` DELETES the key, but only where values.yaml has
//    that key. A `null` for a key values.yaml lacks stays `null` (it is passed on to the
//    subchart, whose own defaults it then deletes: helm/helm#30587).
// 3. Helm validates the coalesced values against values.schema.json.
// Our single template ranges over `.Values.manifests`: Go's `range` over a map visits keys in
// sorted order, and `toYaml` of each entry is one document.
import { Ajv } from 'ajv';
import { error, formatPath, HomelabError, type Issue } from './issues.js';
import { isJsonTable as isTable } from './json-access.js';
import type { GeneratedFile, JsonValue, KubeObject, Values } from './types.js';
import { compareStrings, parseYaml, toYamlDocuments } from './yaml.js';

type Table = { [key: string]: JsonValue };

// Keys by index rather than Object.entries: copying a fleet's values clones millions of
// mappings, and entries allocates an array per member.
function clone<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = clone(value[i] as JsonValue);
    return out as T;
  }
  if (isTable(value)) {
    const out: Table = {};
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      out[key] = clone(value[key] as JsonValue);
    }
    return out as T;
  }
  return value;
}

// One merge, which shares every subtree no layer changes with the layers; `mergeValues` copies
// its result, `mergeValuesShared` hands it out as it is.

/** Step 1: how Helm merges `-f` files (later wins; maps merge; `null` is just a value). */
function mergeMaps(a: Table, b: Table): Table {
  const out: Table = { ...a };
  for (const key of Object.keys(b)) {
    const value = b[key] as JsonValue;
    const previous = out[key];
    out[key] = isTable(value) && isTable(previous) ? mergeMaps(previous, value) : value;
  }
  return out;
}

/**
 * Step 2, for nested tables: `dst` (the user's) wins; a `null` in `dst` deletes `src`'s key.
 * Copy on write: `dst` itself when nothing changes, else a new table.
 */
function coalesceTables(dst: Table, src: Table): Table {
  let out: Table | undefined;
  for (const key of Object.keys(src)) {
    const value = src[key] as JsonValue;
    if (!Object.hasOwn(dst, key)) {
      out ??= { ...dst };
      out[key] = value;
      continue;
    }
    const mine = dst[key];
    if (mine === null) {
      out ??= { ...dst };
      delete out[key];
    } else if (isTable(mine) && isTable(value)) {
      const merged = coalesceTables(mine, value);
      if (merged !== mine) {
        out ??= { ...dst };
        out[key] = merged;
      }
    }
    // Otherwise the user's value stands (Helm warns when a table meets a non-table).
  }
  return out ?? dst;
}

/**
 * Merges value layers as `helm template` does: `layers[0]` is the chart's values.yaml, the
 * others are `-f` files in order (see the file comment for the exact rules). Returns a new
 * object sharing nothing with the layers, which are not modified. `mergeValues(x)`,
 * `mergeValues(x, {})` and `mergeValues({}, x)` all equal `x`.
 */
export function mergeValues(...layers: readonly Values[]): Values {
  return clone(mergeValuesShared(...layers));
}

/**
 * `mergeValues` without the copy: equal to it, but the result shares every subtree no layer
 * changes with the layers. For readers only: neither the result nor the layers may be modified
 * afterwards. A fleet's charts merge the same environment layer for every cluster; copying it
 * each time was a third of the merge's cost and most of its memory.
 */
export function mergeValuesShared(...layers: readonly Values[]): Values {
  const [defaults, ...files] = layers;
  let user: Table = {};
  for (const file of files) user = mergeMaps(user, file);
  return defaults === undefined ? user : coalesceTables(user, defaults);
}

/** The one template of every chart (DESIGN.md), without its generated-by comment line. */
export const MANIFESTS_TEMPLATE = [
  '{{- range $name, $obj := .Values.manifests }}',
  '---',
  '{{ toYaml $obj }}',
  '{{- end }}',
  '',
].join('\n');

export interface RenderedChart {
  /** The coalesced values, as the templates see them (`.Values`). */
  readonly values: Values;
  /** One per non-null `manifests` entry, in Go's `range` order (sorted keys). */
  readonly objects: KubeObject[];
  /** Manifest keys of `objects`, same order. */
  readonly keys: string[];
  /** The documents (`---` separated) `helm template` prints for the template. */
  readonly yaml: string;
  /**
   * What Helm would refuse or what would not apply: values.schema.json violations, null or
   * malformed `manifests` entries, two entries for the same object.
   */
  readonly issues: Issue[];
}

export interface RenderOptions {
  /**
   * Folder of the chart inside `files` (e.g. `charts/cilium`). Default: the folder of the only
   * `Chart.yaml` in `files`.
   */
  readonly root?: string;
}

/**
 * What a chart of our contract renders for `helm template <chart> -f <valueFiles…>`: the
 * chart's values.yaml coalesced with the value files (paths relative to the chart, as in an
 * Argo CD Application's `helm.valueFiles`), validated against values.schema.json when the chart
 * has one, then every `manifests` entry in sorted key order. Throws `HomelabError` when the
 * chart is not of our contract (its template differs) or a value file is missing or not YAML:
 * those are faults of the build, not of the user's definition.
 */
export function renderChart(
  files: ReadonlyMap<string, string> | readonly GeneratedFile[],
  valueFiles: readonly string[],
  options: RenderOptions = {},
): RenderedChart {
  const byPath = toMap(files);
  const root = chartRoot(byPath, options.root);
  const read = (relative: string): string | undefined => byPath.get(`${root}${relative}`);

  const template = read('templates/manifests.yaml');
  if (template === undefined) throw new HomelabError(`${root}templates/manifests.yaml is missing`);
  if (stripLeadingComments(template) !== MANIFESTS_TEMPLATE) {
    throw new HomelabError(
      `${root}templates/manifests.yaml is not the contract's template; cannot compute its output`,
    );
  }

  const layers = [readValues(read, root, 'values.yaml', true)];
  for (const file of valueFiles) layers.push(readValues(read, root, file, false));
  const values = mergeValues(...layers);

  const issues: Issue[] = [];
  const schemaText = read('values.schema.json');
  if (schemaText !== undefined)
    issues.push(...schemaIssues(`${root}values.schema.json`, schemaText, values));

  const objects: KubeObject[] = [];
  const keys: string[] = [];
  const manifests = values.manifests;
  const seen = new Map<string, string>();
  if (isTable(manifests)) {
    for (const key of Object.keys(manifests).sort(compareStrings)) {
      const entry = manifests[key];
      const output = `${root}values#${formatPath(['manifests', key])}`;
      if (entry === null || entry === undefined) {
        issues.push(
          error({
            path: [],
            output,
            message:
              'is null after merging the layers: Helm deletes a key only where values.yaml defines it, so this renders a "null" document',
            expected: 'define the manifest in values.yaml, or override it with an object',
            code: 'manifest-null',
          }),
        );
        continue;
      }
      const problem = manifestShapeProblem(entry);
      if (problem !== undefined) {
        issues.push(
          error({
            path: [],
            output,
            message: problem,
            value: entry,
            code: 'manifest-shape',
            expected: 'an object with apiVersion, kind and metadata.name',
          }),
        );
        continue;
      }
      const object = entry as KubeObject;
      const identity = objectIdentity(object);
      const other = seen.get(identity);
      if (other !== undefined) {
        issues.push(
          error({
            path: [],
            output,
            message: `renders the same object as manifests.${other} (${identity})`,
            code: 'manifest-duplicate',
          }),
        );
      } else {
        seen.set(identity, key);
      }
      objects.push(object);
      keys.push(key);
    }
  } else if (manifests !== undefined && manifests !== null) {
    issues.push(
      error({
        path: [],
        output: `${root}values#manifests`,
        message: 'is not a map',
        value: manifests,
        code: 'manifest-shape',
        expected: 'a map of objects',
      }),
    );
  }

  return { values, objects, keys, yaml: toYamlDocuments(objects), issues };
}

/** `apiVersion/kind/namespace/name`, the identity Kubernetes (and Argo CD) keys objects by. */
export function objectIdentity(object: KubeObject): string {
  const namespace = object.metadata.namespace ?? '';
  return `${object.apiVersion}/${object.kind}/${namespace}/${object.metadata.name}`;
}

function manifestShapeProblem(entry: JsonValue): string | undefined {
  if (!isTable(entry)) return 'is not an object';
  const missing: string[] = [];
  if (typeof entry.apiVersion !== 'string' || entry.apiVersion === '') missing.push('apiVersion');
  if (typeof entry.kind !== 'string' || entry.kind === '') missing.push('kind');
  const metadata = entry.metadata;
  if (!isTable(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    missing.push('metadata.name');
  }
  return missing.length === 0 ? undefined : `has no ${missing.join(', ')}`;
}

function toMap(
  files: ReadonlyMap<string, string> | readonly GeneratedFile[],
): ReadonlyMap<string, string> {
  if (!Array.isArray(files)) return files as ReadonlyMap<string, string>;
  const map = new Map<string, string>();
  for (const file of files as readonly GeneratedFile[]) map.set(file.path, file.content);
  return map;
}

function chartRoot(files: ReadonlyMap<string, string>, root: string | undefined): string {
  if (root !== undefined) {
    const prefix = root === '' || root.endsWith('/') ? root : `${root}/`;
    if (!files.has(`${prefix}Chart.yaml`)) throw new HomelabError(`${prefix}Chart.yaml is missing`);
    return prefix;
  }
  const charts = [...files.keys()].filter(
    (path) => path === 'Chart.yaml' || path.endsWith('/Chart.yaml'),
  );
  if (charts.length !== 1) {
    throw new HomelabError(
      charts.length === 0
        ? 'no Chart.yaml among the files'
        : `several charts among the files (${charts.sort(compareStrings).join(', ')}); pass options.root`,
    );
  }
  return (charts[0] as string).slice(0, -'Chart.yaml'.length);
}

function stripLeadingComments(text: string): string {
  const lines = text.split('\n');
  let start = 0;
  while (start < lines.length && (lines[start] ?? '').startsWith('#')) start++;
  return lines.slice(start).join('\n');
}

function readValues(
  read: (relative: string) => string | undefined,
  root: string,
  file: string,
  optional: boolean,
): Values {
  const text = read(file);
  if (text === undefined) {
    if (optional) return {};
    throw new HomelabError(`value file ${root}${file} does not exist`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw new HomelabError(`value file ${root}${file} is not valid YAML`, { cause });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTable(parsed)) throw new HomelabError(`value file ${root}${file} is not a map`);
  return parsed as Values;
}

function schemaIssues(file: string, schemaText: string, values: Values): Issue[] {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (cause) {
    throw new HomelabError(`${file} is not valid JSON`, { cause });
  }
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema as object);
  if (validate(values)) return [];
  return (validate.errors ?? []).map((problem) => {
    const segments = problem.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
    const extra =
      problem.keyword === 'additionalProperties'
        ? ` (${String((problem.params as { additionalProperty?: unknown }).additionalProperty)})`
        : '';
    return error({
      path: [],
      output: `${file}#${formatPath(segments)}`,
      message: `${problem.message ?? 'is invalid'}${extra}, per ${file}`,
      code: 'values-schema',
    });
  });
}
