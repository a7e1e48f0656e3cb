// What the API server adds to a custom resource from its CRD's `default`s, and which of those
// additions Argo CD sees as a difference forever. Pure.
//
// The API server applies a structural schema's defaults to every object it stores (apiextensions
// `schema/defaulting/algorithm.go`): a property missing from an object whose schema gives it a
// `default` gets that value, recursively, into list items and `additionalProperties` values too.
// Argo CD predicts the live object from the manifest and compares: for a custom resource applied
// client-side it computes a JSON merge patch, which replaces a list whole; under server-side
// apply an atomic list (the default for a CRD list) is replaced whole too. A default added inside
// a list the manifest sets is therefore a difference after every sync (the Application stays
// OutOfSync, self-heal applies it again and again); a default added outside any list is not (a
// field the manifest leaves out is not compared). `defaultsInsideLists` names the first kind.

/** A CRD version's `openAPIV3Schema`, or a part of one. */
export interface StructuralSchema {
  readonly type?: unknown;
  readonly default?: unknown;
  readonly properties?: { readonly [name: string]: StructuralSchema };
  readonly additionalProperties?: StructuralSchema | boolean;
  readonly items?: StructuralSchema;
  readonly nullable?: boolean;
}

/** A field the API server would add from its CRD's default. */
export interface DefaultedField {
  /** Where, e.g. `spec.rules[0].backendRefs[0].kind`. */
  readonly path: string;
  /** The value it would get. */
  readonly value: unknown;
  /** Whether the path goes through a list (Argo CD then reports it as a difference). */
  readonly insideList: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** A null the schema does not allow, which the API server replaces by the default. */
function nonNullableNull(value: unknown, schema: StructuralSchema | undefined): boolean {
  return value === null && schema !== undefined && schema.nullable !== true;
}

function childSchema(schema: StructuralSchema, key: string): StructuralSchema | undefined {
  const property = schema.properties?.[key];
  if (property !== undefined) return property;
  return isRecord(schema.additionalProperties)
    ? (schema.additionalProperties as StructuralSchema)
    : undefined;
}

function walk(
  value: unknown,
  schema: StructuralSchema | undefined,
  path: string,
  insideList: boolean,
  out: DefaultedField[],
): unknown {
  if (schema === undefined) return value;
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      const at = `${path}[${index}]`;
      let next = item;
      if (nonNullableNull(item, schema.items) && schema.items?.default !== undefined) {
        next = copy(schema.items.default);
        out.push({ path: at, value: next, insideList: true });
      }
      return walk(next, schema.items, at, true, out);
    });
  }
  if (!isRecord(value)) return value;
  const result: { [key: string]: unknown } = { ...value };
  const join = (key: string) => (path === '' ? key : `${path}.${key}`);
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (property.default === undefined) continue;
    if (!(key in result) || nonNullableNull(result[key], property)) {
      result[key] = copy(property.default);
      out.push({ path: join(key), value: result[key], insideList });
    }
  }
  for (const key of Object.keys(result)) {
    result[key] = walk(result[key], childSchema(schema, key), join(key), insideList, out);
  }
  return result;
}

/**
 * The object as the API server stores it after applying the schema's defaults (the object
 * itself is not changed), and every field a default added, defaults inside defaults included.
 */
export function applyCrdDefaults(
  object: unknown,
  schema: StructuralSchema,
): { readonly object: unknown; readonly added: readonly DefaultedField[] } {
  const added: DefaultedField[] = [];
  const defaulted = walk(copy(object as Json), schema, '', false, added);
  return { object: defaulted, added };
}

/**
 * The fields the API server would add to `object` from its CRD's defaults inside a list: each
 * one Argo CD reports as a difference after every sync. `metadata` and `status` are left out
 * (the API server does not default the one, Argo CD does not compare the other).
 */
export function defaultsInsideLists(object: unknown, schema: StructuralSchema): DefaultedField[] {
  if (!isRecord(object)) return [];
  const { metadata: _metadata, status: _status, ...rest } = object;
  return applyCrdDefaults(rest, schema).added.filter((field) => field.insideList);
}

/** A CRD's served versions, by `<group>/<version>/<kind>`, as `defaultsInsideLists` takes them. */
export function crdSchemas(crd: unknown): Map<string, StructuralSchema> {
  const out = new Map<string, StructuralSchema>();
  if (!isRecord(crd) || crd.kind !== 'CustomResourceDefinition' || !isRecord(crd.spec)) return out;
  const { group, names, versions } = crd.spec;
  if (typeof group !== 'string' || !isRecord(names) || typeof names.kind !== 'string') return out;
  for (const version of Array.isArray(versions) ? versions : []) {
    if (!isRecord(version) || typeof version.name !== 'string' || !isRecord(version.schema)) {
      continue;
    }
    const schema = version.schema.openAPIV3Schema;
    if (isRecord(schema)) {
      out.set(`${group}/${version.name}/${names.kind}`, schema as StructuralSchema);
    }
  }
  return out;
}
