// JSON-Schema validation (ajv, draft 2020-12), with every ajv error mapped to an Issue a user can
// act on: the path, the value found, what was expected.
//
// Start-up cost matters (the CLI validates once per process): validators are generated as ajv
// standalone code at build time (scripts/standalone.mjs), so the CLI neither loads the ajv compiler
// nor compiles. Without that module (tests run from src/) or when it is stale, each schema is
// compiled on first use. `loadGenerated` is the one loader of build-time generated modules.
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020.js';
import {
  error,
  formatPath,
  type Issue,
  type PathSegment,
  type SourcePosition,
  type ValuePosition,
} from './issues.js';

export type { PathSegment };

/**
 * Finds where a path of the definition sits in its source; `key` asks for the key's position;
 * `within`, a line and column inside the string at `path` (its first character is 1:1): that
 * character, where the file writes the string as a literal block scalar (`key: |`), whose lines
 * are the file's; otherwise the value's own position.
 */
export type Locator = (
  path: readonly PathSegment[],
  key?: boolean,
  within?: ValuePosition,
) => SourcePosition | undefined;

const require = createRequire(import.meta.url);

/** Ajv options and named draft 2020-12 schemas: what scripts/standalone.mjs generates code from. */
export interface StandaloneSource {
  readonly options: Options;
  readonly schemas: { readonly [name: string]: object };
}

/** Options of every validator of this module: all errors, strict schemas, errors with data. */
export const VALIDATOR_OPTIONS: Options = { allErrors: true, strict: true, verbose: true };

/** The ajv compiler, loaded on first use only (a CommonJS package, so `require` is synchronous). */
function newAjv(options: Options): Ajv2020 {
  const ajv = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new ajv.Ajv2020(options);
}

/** The text a generated validator module carries; equals scripts/standalone.mjs `standaloneFingerprint`. */
export function validatorFingerprint(source: StandaloneSource): string {
  return JSON.stringify({ options: source.options, schemas: source.schemas });
}

type GeneratedModule = { readonly [name: string]: unknown };

/**
 * The one loader of build-time generated modules (standalone validators, precompiled templates):
 * the exports of `load()` when it succeeds and carries `fingerprint`, otherwise `undefined` (not
 * generated because the code runs from src/, or stale): the caller then compiles at run time.
 */
export function loadGenerated(
  load: () => unknown,
  fingerprint: string,
): GeneratedModule | undefined {
  let module: unknown;
  try {
    module = load();
  } catch {
    return undefined;
  }
  if (typeof module !== 'object' || module === null) return undefined;
  const exports = module as GeneratedModule;
  return exports.fingerprint === fingerprint ? exports : undefined;
}

/**
 * Validate functions by schema name for `source`: those of the build-time generated module
 * `generated()` returns (loaded on the first call) when its fingerprint matches `source`,
 * otherwise each compiled with ajv on its first use.
 */
export function standaloneValidators(
  source: StandaloneSource,
  generated: () => unknown,
): (name: string) => ValidateFunction {
  let module: GeneratedModule | undefined;
  let loaded = false;
  let ajv: Ajv2020 | undefined;
  const compiled = new Map<string, ValidateFunction>();
  return (name) => {
    if (!loaded) {
      module = loadGenerated(generated, validatorFingerprint(source));
      loaded = true;
    }
    const fromModule = module?.[name];
    if (typeof fromModule === 'function') return fromModule as ValidateFunction;
    let validate = compiled.get(name);
    if (validate === undefined) {
      const schema = source.schemas[name];
      if (schema === undefined) throw new Error(`no schema named "${name}"`);
      ajv ??= newAjv(source.options);
      validate = ajv.compile(schema);
      compiled.set(name, validate);
    }
    return validate;
  };
}

/** The message of a string that does not match its schema pattern. */
export const FORM_MESSAGE = 'does not have the expected form';

/** The message of a value of the wrong type: `is a string`, `is a list`… */
export function typeMessage(value: unknown): string {
  return `is ${jsonType(value)}`;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

const TYPE_WORDS: { readonly [type: string]: string } = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** Levenshtein distance, for did-you-mean on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + cost);
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest known key, when it is close enough to be a typo. */
export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(key.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function decodePointer(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && /^\d+$/.test(token)) {
      segments.push(Number(token));
      current = current[Number(token)];
    } else {
      segments.push(token);
      current =
        typeof current === 'object' && current !== null
          ? (current as { [key: string]: unknown })[token]
          : undefined;
    }
  }
  return segments;
}

function schemaObject(value: unknown): { [key: string]: unknown } {
  return typeof value === 'object' && value !== null ? (value as { [key: string]: unknown }) : {};
}

/**
 * The words for a string form: the `description` of the schema that holds the `pattern` (every
 * `$defs` entry of the definition schema says what its pattern means, e.g. "A DNS label: …").
 */
function describedForm(schema: { [key: string]: unknown }): string | undefined {
  if (typeof schema.description !== 'string') return undefined;
  const text = stripPeriod(schema.description);
  // "A DNS label: …" reads as "(expected a DNS label: …)".
  return /^An? /.test(text) ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
}

/**
 * Why a string missed its pattern, where a common slip explains it: a character outside ASCII (a
 * look-alike letter or dash pasted from a document), or a value that matches once lowercased,
 * without a trailing dot, a prefix length or surrounding spaces. Undefined when none does.
 */
function formHint(value: unknown, pattern: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
  // Blamed only where the characters outside ASCII are what the pattern refuses: the value
  // matches without them (a display name in an address fails for its spaces, not its ü).
  const chars = [...value];
  const foreign = chars.findIndex((char) => (char.codePointAt(0) ?? 0) > 0x7f);
  if (
    foreign >= 0 &&
    regex.test(chars.filter((char) => (char.codePointAt(0) ?? 0) <= 0x7f).join(''))
  ) {
    const char = chars[foreign] as string;
    const code = (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    return `it holds U+${code} (${JSON.stringify(char)}) at character ${foreign + 1}, outside ASCII: a look-alike of a letter or dash pasted from a document? Type it again`;
  }
  const candidates: [string, string][] = [
    [value.trim(), 'without the spaces around it'],
    [value.toLowerCase(), 'in lowercase'],
    [value.replace(/\.$/, ''), 'without the trailing dot'],
    [value.toLowerCase().replace(/\.$/, ''), 'in lowercase, without the trailing dot'],
    [value.replace(/\/\d{1,3}$/, ''), 'without the prefix length'],
  ];
  for (const [candidate, how] of candidates) {
    if (candidate !== value && regex.test(candidate)) return `${how}: ${JSON.stringify(candidate)}`;
  }
  return undefined;
}

function stripPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function toIssue(e: ErrorObject, data: unknown, locate: Locator): Issue {
  const at = decodePointer(e.instancePath, data);
  const parent = schemaObject(e.parentSchema);
  const params = e.params as { [key: string]: unknown };
  const value: unknown = e.data;
  const base = { code: 'schema', path: at };
  const position = locate(at);
  const withPosition = (p: SourcePosition | undefined) => (p ? { position: p } : {});

  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const properties = schemaObject(parent.properties);
      const known = Object.keys(properties).sort();
      // A key written one level too high (`grafana.policy` for `grafana.oidc.policy`): the
      // mapping of this level that has it.
      const under = known.filter((name) =>
        Object.hasOwn(schemaObject(schemaObject(properties[name]).properties), key),
      );
      const close = didYouMean(key, known);
      const parentKey = close === undefined && under.length === 1 ? under[0] : undefined;
      const hint =
        close !== undefined
          ? `; did you mean "${close}"?`
          : parentKey !== undefined
            ? `; did you mean "${parentKey}.${key}"? (a key of ${parentKey}, indented under it)`
            : '';
      const path = [...at, key];
      return error({
        ...base,
        path,
        value: key,
        message: `is not a known key${hint}`,
        expected: known.length > 0 ? `one of: ${known.join(', ')}` : 'no keys here',
        ...withPosition(locate(path, true) ?? position),
      });
    }
    case 'required': {
      const key = String(params.missingProperty);
      const property = schemaObject(schemaObject(parent.properties)[key]);
      const description =
        typeof property.description === 'string' ? stripPeriod(property.description) : undefined;
      // "Address plan of the cluster." reads as "(expected network: address plan of the cluster)".
      const what =
        description === undefined || /^[A-Z]{2}/.test(description)
          ? description
          : `${description.charAt(0).toLowerCase()}${description.slice(1)}`;
      // The values it takes, where the schema lists them (`role`: controlplane or worker).
      const values = Array.isArray(property.enum)
        ? `, one of ${quoteList(property.enum as unknown[])}`
        : '';
      return error({
        ...base,
        path: [...at, key],
        message: `required key "${key}" is missing`,
        expected: what === undefined ? `a key "${key}"${values}` : `${key}: ${what}${values}`,
        ...withPosition(position),
      });
    }
    case 'type': {
      if (value === null) {
        // `longhorn:` with nothing after it, or its keys not indented under it: YAML's null.
        const types = Array.isArray(params.type) ? params.type : [params.type];
        const under = types.includes('object')
          ? ', its keys indented under it'
          : types.includes('array')
            ? ', its items indented under it, each after "- "'
            : types.includes('string')
              ? ' after the colon; a value that starts with "#" is a YAML comment, so quote it'
              : '';
        return error({
          ...base,
          message: 'is empty',
          expected: `${typeWords(params.type)}${under}`,
          ...withPosition(position),
        });
      }
      // `version: 1.34`, `name: true`: YAML read as a number or a boolean what was meant as text.
      const scalar = typeof value === 'number' || typeof value === 'boolean';
      const form = typeof parent.pattern === 'string' ? describedForm(parent) : undefined;
      return error({
        ...base,
        value,
        message: typeMessage(value),
        expected:
          scalar && params.type === 'string'
            ? `a string${form === undefined ? '' : `: ${form}`} (YAML reads an unquoted ${String(value)} as ${jsonType(value)}; quote a value that looks like one)`
            : typeof value === 'string' &&
                (params.type === 'integer'
                  ? /^-?\d+$/.test(value.trim())
                  : params.type === 'number' && /^-?\d+(\.\d+)?$/.test(value.trim()))
              ? `${typeWords(params.type)} (without the quotes: YAML reads "${value}" as text)`
              : typeWords(params.type),
        ...withPosition(position),
      });
    }
    case 'enum':
      return error({
        ...base,
        value,
        message: 'is not an allowed value',
        expected: `one of ${quoteList(params.allowedValues as unknown[])}`,
        ...withPosition(position),
      });
    case 'const':
      return error({
        ...base,
        value,
        message: 'is not the allowed value',
        expected: `${JSON.stringify(params.allowedValue)}${typeof parent.description === 'string' ? ` (${stripPeriod(parent.description)})` : ''}`,
        ...withPosition(position),
      });
    case 'pattern': {
      const pattern = String(params.pattern);
      const hint = formHint(value, pattern);
      const form = describedForm(parent) ?? `a string matching ${pattern}`;
      return error({
        ...base,
        value,
        message: FORM_MESSAGE,
        expected: hint === undefined ? form : `${form}; ${hint}`,
        ...withPosition(position),
      });
    }
    case 'propertyNames': {
      const key = String(params.propertyName);
      const path = [...at, key];
      const names = schemaObject(parent.propertyNames);
      const pattern = String(names.pattern ?? '');
      return error({
        ...base,
        path,
        value: key,
        message: 'is not a valid key here',
        expected: describedForm(names) ?? `a key matching ${pattern}`,
        ...withPosition(locate(path, true) ?? position),
      });
    }
    case 'minItems':
    case 'maxItems':
      return error({
        ...base,
        value,
        message: `has ${Array.isArray(value) ? value.length : 0} item(s)`,
        expected: `${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(params.limit)} item(s)`,
        ...withPosition(position),
      });
    case 'minProperties':
    case 'maxProperties': {
      const count = value !== null && typeof value === 'object' ? Object.keys(value).length : 0;
      const known = Object.keys(schemaObject(parent.properties)).sort();
      const limit = Number(params.limit);
      const exactlyOne = parent.minProperties === 1 && parent.maxProperties === 1;
      return error({
        ...base,
        value,
        message: `has ${count} key(s)`,
        expected: exactlyOne
          ? `exactly one of: ${known.join(', ')}`
          : `${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${limit} key(s)${known.length > 0 ? ` of: ${known.join(', ')}` : ''}`,
        ...withPosition(position),
      });
    }
    case 'maxLength': {
      // A value too long also fails a pattern that bounds its length (a DNS label's): reported
      // once, as too long, with the form the pattern asks for.
      const form = describedForm(parent);
      return error({
        ...base,
        value,
        message: `is too long: ${typeof value === 'string' ? value.length : 0} characters`,
        expected: `at most ${String(params.limit)} characters${form === undefined ? '' : ` (${form})`}`,
        ...withPosition(position),
      });
    }
    case 'minLength':
      return error({
        ...base,
        value,
        message: `has ${typeof value === 'string' ? value.length : 0} character(s)`,
        expected: `at least ${String(params.limit)} character(s)`,
        ...withPosition(position),
      });
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return error({
        ...base,
        value,
        message: 'is out of range',
        expected: `a number ${String(params.comparison)} ${String(params.limit)}`,
        ...withPosition(position),
      });
    case 'uniqueItems': {
      const later = Math.max(Number(params.i), Number(params.j));
      const earlier = Math.min(Number(params.i), Number(params.j));
      const path = [...at, later];
      return error({
        ...base,
        path,
        value: Array.isArray(value) ? (value[later] as unknown) : undefined,
        message: `is a duplicate of ${formatPath([...at, earlier])}`,
        expected: 'each item once',
        ...withPosition(locate(path) ?? position),
      });
    }
    case 'oneOf':
    case 'anyOf': {
      const branches = Array.isArray(e.schema) ? (e.schema as unknown[]) : [];
      const forms = branches.map((branch) => {
        const b = schemaObject(branch);
        const described = describedForm(b);
        if (described !== undefined) return described;
        const pattern = typeof b.pattern === 'string' ? b.pattern : undefined;
        return `${typeWords(b.type)}${pattern ? ` matching ${pattern}` : ''}`;
      });
      const passing = params.passingSchemas;
      if (value === null && !Array.isArray(passing)) {
        // `installDisk:` with nothing after it, or its keys not indented under it: YAML's null.
        return error({
          ...base,
          message: 'is empty',
          expected: `one of: ${forms.join('; or ')}${branches.some((b) => schemaObject(b).type === 'object' || typeof schemaObject(b).$ref === 'string') ? ' (a mapping with its keys indented under it)' : ''}`,
          ...withPosition(position),
        });
      }
      return error({
        ...base,
        value,
        message: Array.isArray(passing)
          ? 'matches more than one of the allowed forms'
          : 'matches none of the allowed forms',
        expected: `one of: ${forms.join('; or ')}`,
        ...withPosition(position),
      });
    }
    case 'not': {
      // Every `not` of the definition's schema is a platform-only key in a cluster's components
      // ("Only in the top-level …"), read here as "(expected only in the top-level …)".
      const described = describedForm(parent);
      const reason =
        described === undefined
          ? undefined
          : `${described.charAt(0).toLowerCase()}${described.slice(1)}`;
      return error({
        ...base,
        message: 'is not allowed here',
        ...(reason === undefined ? {} : { expected: reason }),
        ...withPosition(locate(at, true) ?? position),
      });
    }
    default:
      return error({
        ...base,
        value,
        message: e.message ?? `fails the schema's ${e.keyword} rule`,
        ...withPosition(position),
      });
  }
}

function issuesOf(validate: ValidateFunction, data: unknown, locate: Locator): Issue[] {
  if (validate(data)) return [];
  const errors = (validate.errors ?? []).filter(
    // `propertyNames` reports the failing inner keyword as well; the outer error names the key.
    (e) => !e.schemaPath.includes('/propertyNames/'),
  );
  // A oneOf/anyOf reports every branch's failure. When exactly one branch has the right type,
  // its errors are the useful ones; otherwise the oneOf itself is, listing the allowed forms.
  const dropped = new Set<ErrorObject>();
  for (const group of errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
    if (dropped.has(group)) continue;
    const prefix = `${group.schemaPath}/`;
    const inside = (e: ErrorObject) =>
      e.instancePath === group.instancePath || e.instancePath.startsWith(`${group.instancePath}/`);
    const byBranch = new Map<string, ErrorObject[]>();
    const attribute = (e: ErrorObject, branch: string) => {
      dropped.add(e);
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    };
    for (const e of errors) {
      if (!inside(e) || !e.schemaPath.startsWith(prefix)) continue;
      attribute(e, e.schemaPath.slice(prefix.length).split('/')[0] ?? '');
    }
    // A branch that is a `$ref` reports its errors at the referenced schema's own paths
    // (`#/additionalProperties`, `#/$defs/x/pattern`), not under the oneOf: ajv reports a failed
    // oneOf right after its branches' errors, so those just before it, inside its value and not
    // from a sibling keyword of the oneOf, are the `$ref` branch's (when it has only one).
    const branches = Array.isArray(group.schema) ? (group.schema as unknown[]) : [];
    const refs = branches.flatMap((b, i) => (typeof schemaObject(b).$ref === 'string' ? [i] : []));
    const [ref] = refs;
    const sibling = `${group.schemaPath.slice(0, group.schemaPath.lastIndexOf('/'))}/`;
    if (refs.length === 1 && ref !== undefined) {
      for (let i = errors.indexOf(group) - 1; i >= 0; i--) {
        const e = errors[i] as ErrorObject;
        if (!inside(e)) break;
        if (e.schemaPath.startsWith(prefix)) continue;
        if (e.schemaPath.startsWith(sibling)) break;
        attribute(e, String(ref));
      }
    }
    const candidates = [...byBranch.values()].filter(
      (branchErrors) =>
        !branchErrors.some((e) => e.keyword === 'type' && e.instancePath === group.instancePath),
    );
    const [only] = candidates;
    if (candidates.length === 1 && only && !Array.isArray(group.params.passingSchemas)) {
      dropped.add(group);
      for (const e of only) dropped.delete(e);
    }
  }
  // One mistake that fails two keywords at one place is reported once, by `kept`: drops the
  // `keyword` error where a `kept` error stands at the same place.
  const reportOnce = (keyword: string, kept: string) => {
    for (const e of errors) {
      if (e.keyword !== keyword || dropped.has(e)) continue;
      if (
        errors.some(
          (o) => o.keyword === kept && o.instancePath === e.instancePath && !dropped.has(o),
        )
      ) {
        dropped.add(e);
      }
    }
  };
  // An empty string fails a pattern and a minimum length at once: reported by the pattern (whose
  // words say what the value should look like).
  reportOnce('minLength', 'pattern');
  // A value over a maximum length fails its pattern too when the pattern bounds the length (a DNS
  // label's `{0,61}`): reported by the length (which says what is wrong).
  reportOnce('pattern', 'maxLength');
  // A misspelt key is both unknown and, when the key it was meant to be is required, missing: one
  // mistake, reported once, as the unknown key with its did-you-mean (which names the fix).
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties' || dropped.has(e)) continue;
    const known = Object.keys(schemaObject(schemaObject(e.parentSchema).properties));
    const meant = didYouMean(String(e.params.additionalProperty), known);
    if (meant === undefined) continue;
    for (const other of errors) {
      if (
        other.keyword === 'required' &&
        other.instancePath === e.instancePath &&
        other.params.missingProperty === meant
      ) {
        dropped.add(other);
      }
    }
  }
  return errors.filter((e) => !dropped.has(e)).map((e) => toIssue(e, data, locate));
}

/**
 * A validator for any draft 2020-12 JSON Schema (compiled once, strict) whose errors come back as
 * issues in the same words as the platform schema's.
 */
export function createSchemaValidator(
  schema: object,
): (data: unknown, locate?: Locator) => Issue[] {
  const validate = newAjv(VALIDATOR_OPTIONS).compile(schema);
  return (data, locate = () => undefined) => issuesOf(validate, data, locate);
}

/** Issues of `data` against a compiled (or generated) validate function. */
export function schemaIssues(
  validate: ValidateFunction,
  data: unknown,
  locate: Locator = () => undefined,
): Issue[] {
  return issuesOf(validate, data, locate);
}
