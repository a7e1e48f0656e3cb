// Does every key we set under an upstream chart exist in that chart? Used by the components'
// conformance suites (`@homelab/core/testing`), against the upstream values.yaml and
// values.schema.json read in place.
//
// A key path set in `values` is known when:
// 1. the path exists in the upstream values.yaml; or
// 2. a parent on the path is a free-form map upstream: an empty map `{}` in values.yaml, a
//    key whose content is a Kubernetes type or an arbitrary map by convention (labels,
//    annotations, nodeSelector, affinity, resources, …), or a path the chart documents as
//    passed through verbatim (`freeFormPaths`, e.g. argo-cd's `configs.cm`); or
// 3. the deepest parent that values.yaml has is described by the release's values.schema.json
//    and the schema names this key there (`properties`), or accepts any key there
//    (`additionalProperties`/`patternProperties`), and the subtree validates against it.
// A schema that merely does not forbid extra keys does not make a key known: the Cilium schema
// has no `additionalProperties: false`, so "the whole tree validates" would accept any typo.
import { Ajv } from 'ajv';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: unknown };

/** Keys whose content upstream charts pass through as an arbitrary map or a Kubernetes type. */
export const FREE_FORM_KEYS: ReadonlySet<string> = new Set([
  'affinity',
  'annotations',
  'labels',
  'matchLabels',
  'nodeSelector',
  'podAnnotations',
  'podLabels',
  'resources',
]);

export interface UnknownValueKeysOptions {
  /** Key names free-form wherever they appear (default `FREE_FORM_KEYS`). */
  readonly freeFormKeys?: ReadonlySet<string>;
  /** Dotted paths (`configs.cm`) the chart passes through verbatim. */
  readonly freeFormPaths?: ReadonlySet<string>;
}

function isMap(value: unknown): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatPath(path: readonly string[]): string {
  return path
    .map((segment, i) =>
      /^[A-Za-z_$][\w$-]*$/.test(segment)
        ? i === 0
          ? segment
          : `.${segment}`
        : `[${JSON.stringify(segment)}]`,
    )
    .join('');
}

function schemaAt(schema: Schema | undefined, path: readonly string[]): Schema | undefined {
  let current: Schema | undefined = schema;
  for (const segment of path) {
    const properties = current?.properties;
    if (!isMap(properties) || !isMap(properties[segment])) return undefined;
    current = properties[segment] as Schema;
  }
  return current;
}

/**
 * The key paths of `values` that the upstream chart does not know (see the file comment), in
 * the order they appear. `upstreamValues` is the parsed values.yaml, `upstreamSchema` the parsed
 * values.schema.json (optional).
 */
export function unknownValueKeys(
  values: unknown,
  upstreamValues: unknown,
  upstreamSchema?: Schema,
  options: UnknownValueKeysOptions = {},
): string[] {
  const freeForm = options.freeFormKeys ?? FREE_FORM_KEYS;
  const freeFormPaths = options.freeFormPaths ?? new Set<string>();
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  const unknown: string[] = [];

  const bySchema = (parent: readonly string[], key: string, value: Json): boolean => {
    const parentSchema = schemaAt(upstreamSchema, parent);
    if (parentSchema === undefined) return false;
    const properties = parentSchema.properties;
    let sub: unknown;
    if (isMap(properties) && isMap(properties[key])) sub = properties[key];
    else if (isMap(parentSchema.patternProperties)) {
      sub = Object.entries(parentSchema.patternProperties).find(([pattern]) =>
        new RegExp(pattern, 'u').test(key),
      )?.[1];
    }
    if (
      sub === undefined &&
      (parentSchema.additionalProperties === true || isMap(parentSchema.additionalProperties))
    ) {
      sub = parentSchema.additionalProperties === true ? {} : parentSchema.additionalProperties;
    }
    if (sub === undefined) return false;
    return ajv.validate(sub as object, value);
  };

  const walk = (value: Json, upstream: unknown, path: string[]): void => {
    if (!isMap(value)) return;
    for (const key of Object.keys(value)) {
      const child = value[key] as Json;
      const childPath = [...path, key];
      if (isMap(upstream) && Object.hasOwn(upstream, key)) {
        const up = upstream[key];
        if (freeForm.has(key) || freeFormPaths.has(childPath.join('.'))) continue;
        if (isMap(up) && Object.keys(up).length === 0) continue;
        if (isMap(child)) {
          if (isMap(up)) walk(child, up, childPath);
          else if (!bySchema(path, key, child)) {
            // A map where values.yaml has a scalar, list or null: only the schema can say.
            unknown.push(formatPath(childPath));
          }
        }
        continue;
      }
      if (!bySchema(path, key, child)) unknown.push(formatPath(childPath));
    }
  };

  walk(values as Json, upstreamValues, []);
  return unknown;
}
