// Evaluating Gatekeeper constraints on objects the way Gatekeeper does for a CREATE: the
// constraint's `spec.match` (kinds, namespaces, excluded namespaces, name), Gatekeeper's own
// exemptions, then every validation of the template's K8sNativeValidation source in CEL, with
// `variables.anyObject` and `variables.params` bound as Gatekeeper binds them. An expression that
// fails to evaluate denies (Gatekeeper's default failure policy for CEL is Fail). Pure.
import {
  type CelEnv,
  type CelInput,
  type CelResult,
  type CelValue,
  celEnv,
  celList,
  celMap,
  isCelError,
  isCelList,
  parse,
  plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { RE2JS } from '@bufbuild/re2';
import type { JsonValue, KubeObject } from '@homelab/core';
import { prebuiltTree } from './cel-trees.js';

type Json = { [key: string]: JsonValue };

function record(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}

function list(value: unknown): JsonValue[] {
  return Array.isArray(value) ? (value as JsonValue[]) : [];
}

function strings_(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

/** A compiled pattern, as CEL's `matches` calls it. */
interface Matcher {
  test(text: string): boolean;
}

/**
 * A compiled pattern that remembers its answer for each text: RE2's DFA runs in JavaScript, and
 * the image policies match the same images again and again (the registry pattern once per
 * allowed registry of every container, the same images on every cluster). A match is a pure
 * function of pattern and text, so the answer is the one RE2 gives.
 */
function rememberingMatcher(compiled: RE2JS): Matcher {
  const answers = new Map<string, boolean>();
  return {
    test(text: string): boolean {
      let answer = answers.get(text);
      if (answer === undefined) {
        answer = compiled.test(text);
        // Texts are images and names (a few hundred); the bound keeps a hostile input small.
        if (answers.size < 10_000) answers.set(text, answer);
      }
      return answer;
    },
  };
}

const patterns = new Map<string, Matcher>();

/**
 * RE2, as CEL's `matches` uses it, with each pattern compiled once: the library's own `matches`
 * compiles its pattern on every call, and the image policies call it for every container of every
 * workload. Same engine, same errors (an invalid pattern throws, uncached, each time).
 */
export const cachedRe2 = {
  compile(pattern: string): Matcher {
    let compiled = patterns.get(pattern);
    if (compiled === undefined) {
      compiled = rememberingMatcher(RE2JS.compile(pattern));
      // Patterns come from the templates (a handful); the bound keeps a hostile input small.
      if (patterns.size < 1000) patterns.set(pattern, compiled);
    }
    return compiled;
  },
};

let environment: CelEnv | undefined;
function env(): CelEnv {
  environment ??= celEnv({ funcs: strings, re2: cachedRe2 });
  return environment;
}

type Program = (bindings: Record<string, unknown>) => CelResult;
const programs = new Map<string, Program>();

/**
 * A compiled expression (parsed and planned once per text). Throws on a syntax error. The parse
 * tree of an expression of our own templates comes prebuilt with the package (see cel-trees.ts);
 * `plan` reads only the tree, so both give the same program.
 */
export function compile(expression: string): Program {
  let program = programs.get(expression);
  if (program === undefined) {
    const planned = plan(env(), prebuiltTree(expression) ?? parse(expression));
    program = (bindings) => planned(bindings as never);
    programs.set(expression, program);
  }
  return program;
}

/** A CEL value as plain JSON-ish data (lists materialised), for messages. */
function plain(value: CelValue): unknown {
  if (isCelList(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.size; i++) out.push(plain(value.get(i) as CelValue));
    return out;
  }
  return value;
}

/** The K8sNativeValidation source of a ConstraintTemplate. */
interface CelSource {
  readonly variables: readonly { readonly name: string; readonly expression: string }[];
  readonly validations: readonly {
    readonly expression: string;
    readonly message?: string;
    readonly messageExpression?: string;
  }[];
}

/** The CEL source of a template (the first K8sNativeValidation code of its target). */
export function celSource(template: KubeObject): CelSource | undefined {
  const target = list(record(template.spec).targets)[0];
  const code = list(record(target).code).find(
    (entry) => record(entry).engine === 'K8sNativeValidation',
  );
  if (code === undefined) return undefined;
  const source = record(record(code).source);
  return {
    variables: list(source.variables).map((variable) => ({
      name: String(record(variable).name),
      expression: String(record(variable).expression),
    })),
    validations: list(source.validations).map((validation) => {
      const spec = record(validation);
      return {
        expression: String(spec.expression),
        ...(typeof spec.message === 'string' ? { message: spec.message } : {}),
        ...(typeof spec.messageExpression === 'string'
          ? { messageExpression: spec.messageExpression }
          : {}),
      };
    }),
  };
}

/**
 * A value as the CEL value the library's `toCel` makes of it, converted once, to the leaves.
 *
 * The library converts a plain object or an array lazily on each access, and again on every
 * access: `variables.anyObject.spec.template.spec.containers` copies each of those objects'
 * entries into a new map each time an expression reads it, for every validation of every
 * constraint. Converted here once per object, `toCel` returns the converted maps and lists as
 * they are (it passes CEL maps and lists through). Anything `toCel` would not turn into a plain
 * map or list (undefined, a class instance, an object without Object's prototype or with an own
 * `constructor` or `$typeName`, which `toCel` reads) is left as it is, for the library to convert,
 * or fail on, when an expression reads it, exactly as before.
 */
export function celValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return celList(value.map(celValue) as CelInput[]);
  if (
    Object.getPrototypeOf(value) !== Object.prototype ||
    Object.hasOwn(value, 'constructor') ||
    Object.hasOwn(value, '$typeName')
  ) {
    return value;
  }
  const entries = new Map<string, CelInput>();
  for (const key of Object.keys(value)) {
    entries.set(key, celValue((value as Record<string, unknown>)[key]) as CelInput);
  }
  return celMap(entries);
}

/** What the expressions read of the object under review: built once, read by every constraint. */
interface Review {
  readonly object: unknown;
  /** The object before an UPDATE (`oldObject`); null on a CREATE. */
  readonly oldObject: unknown;
  readonly request: unknown;
}

/**
 * `value` as admission sees it: the API server decodes a manifest into its typed object (a custom
 * resource: prunes it by its structural schema), where a `null` member is no member at all (an
 * `omitempty` field: k8s.io/api core/v1 `PodSpec.Volumes`, `Container.VolumeMounts`). Charts render
 * such nulls (kube-prometheus-stack's operator: `volumes: null`). Kubernetes' CEL would read one as
 * present (`has()` true, and iterating it fails: gator of Gatekeeper v3.23.0 denies the operator's
 * Deployment so), @bufbuild/cel as absent to `has()` and present to `size()`; without them the two
 * read the same object. A null list item stays (a list keeps its length).
 */
export function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member !== null) out[key] = withoutNulls(member);
  }
  return out;
}

function reviewOf(object: KubeObject, old?: KubeObject): Review {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  return {
    object: celValue(withoutNulls(object)),
    oldObject: old === undefined ? null : celValue(withoutNulls(old)),
    request: celValue({
      operation: old === undefined ? 'CREATE' : 'UPDATE',
      kind: { group, version, kind: object.kind },
      name: object.metadata.name,
      namespace: object.metadata.namespace ?? '',
    }),
  };
}

/**
 * `variables` as the library makes it of a record on each read (a map of its entries, each
 * converted when read), made once for the record as it stands: the record only changes between
 * two expressions, when a variable is added.
 */
function variablesMap(variables: Record<string, unknown>): unknown {
  return celMap(new Map(Object.entries(variables) as [string, CelInput][]));
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Binds `variables.<name>` to what `variables` holds under that name, besides `variables` itself.
 * CEL resolves a dotted name to the longest name bound (`variables.containers` is looked up as
 * `variables.containers`, then as `variables` and its `containers`), and the library looks each
 * name it does not find up in its type registry too, on every read: bound, the first lookup finds
 * the very value the second would. Only names that are identifiers: `variables.a.b` must not
 * find a variable named `a.b`.
 */
function bindVariable(bindings: Record<string, unknown>, name: string, value: unknown): void {
  if (IDENTIFIER.test(name)) bindings[`variables.${name}`] = value;
}

/** The messages of every failing validation, on an object and parameters converted before. */
function validate(source: CelSource, review: Review, parameters: unknown): string[] {
  const variables: Record<string, unknown> = {
    anyObject: review.object,
    params: parameters,
  };
  const bindings: Record<string, unknown> = {
    object: review.object,
    oldObject: review.oldObject,
    request: review.request,
    variables: variablesMap(variables),
  };
  bindVariable(bindings, 'anyObject', review.object);
  bindVariable(bindings, 'params', parameters);
  for (const variable of source.variables) {
    const value = compile(variable.expression)(bindings);
    if (isCelError(value)) {
      return [`variable ${variable.name} fails to evaluate: ${value.message}`];
    }
    variables[variable.name] = value;
    bindings.variables = variablesMap(variables);
    bindVariable(bindings, variable.name, value);
  }
  const messages: string[] = [];
  for (const validation of source.validations) {
    const result = compile(validation.expression)(bindings);
    if (isCelError(result)) {
      messages.push(`evaluation error (denied): ${result.message}`);
      continue;
    }
    if (result === true) continue;
    if (validation.messageExpression !== undefined) {
      const message = compile(validation.messageExpression)(bindings);
      messages.push(
        isCelError(message)
          ? (validation.message ?? validation.expression)
          : String(plain(message)),
      );
    } else {
      messages.push(validation.message ?? `failed: ${validation.expression}`);
    }
  }
  return messages;
}

/**
 * The messages of every failing validation (empty: the object passes): its CREATE, or with `old`
 * the UPDATE from `old` to it.
 */
export function runValidations(
  source: CelSource,
  object: KubeObject,
  parameters: JsonValue | undefined,
  old?: KubeObject,
): string[] {
  return validate(
    source,
    reviewOf(object, old),
    celValue(parameters === undefined ? null : parameters),
  );
}

const globs = new Map<string, RegExp>();

/** Gatekeeper's namespace glob: a leading or trailing `*` (compiled once per pattern). */
function globMatch(pattern: string, value: string): boolean {
  let glob = globs.get(pattern);
  if (glob === undefined) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    glob = new RegExp(`^${source}$`);
    globs.set(pattern, glob);
  }
  return glob.test(value);
}

/**
 * Whether Gatekeeper takes `namespace` out of admission: one of `patterns` (names, or globs with
 * a leading or trailing `*`: `--exempt-namespace`, a Config's `excludedNamespaces`) matches it.
 */
export function isExemptNamespace(patterns: readonly string[], namespace: string): boolean {
  return patterns.some((pattern) => globMatch(pattern, namespace));
}

/**
 * The namespaces the Gatekeeper `Config` objects among `objects` exempt from every process (`*`)
 * or from the webhook: those admission never reviews.
 */
export function configExemptNamespaces(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  for (const object of objects) {
    if (object.apiVersion !== 'config.gatekeeper.sh/v1alpha1' || object.kind !== 'Config') continue;
    const spec = (object.spec ?? {}) as {
      match?: { excludedNamespaces?: string[]; processes?: string[] }[];
    };
    for (const entry of spec.match ?? []) {
      if (!(entry.processes ?? []).some((process) => process === '*' || process === 'webhook')) {
        continue;
      }
      out.push(...(entry.excludedNamespaces ?? []));
    }
  }
  return out;
}

/** The group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The namespace Gatekeeper matches an object by (a Namespace by its own name). */
export function namespaceOf(object: KubeObject): string | undefined {
  if (object.apiVersion === 'v1' && object.kind === 'Namespace') return object.metadata.name;
  return object.metadata.namespace;
}

/** A constraint's `spec.match`, read once: it is tested on every object of a cluster. */
interface Selector {
  readonly kinds: readonly { readonly groups: string[]; readonly names: string[] }[];
  readonly namespaces: readonly string[];
  readonly excludedNamespaces: readonly string[];
  readonly name: string | undefined;
  /** The answers of the namespace test, by namespace (a cluster has a few dozen). */
  readonly byNamespace: Map<string, boolean>;
}

function selectorOf(constraint: KubeObject): Selector {
  const match = record(record(constraint.spec).match);
  return {
    kinds: list(match.kinds).map((entry) => ({
      groups: strings_(record(entry).apiGroups),
      names: strings_(record(entry).kinds),
    })),
    namespaces: strings_(match.namespaces),
    excludedNamespaces: strings_(match.excludedNamespaces),
    name: typeof match.name === 'string' ? match.name : undefined,
    byNamespace: new Map(),
  };
}

/** Whether a constraint's `spec.match.kinds` selects objects of this apiVersion and kind. */
function selectsKind(selector: Selector, apiVersion: string, kind: string): boolean {
  if (selector.kinds.length === 0) return true;
  const group = groupOf(apiVersion);
  return selector.kinds.some(
    ({ groups, names }) =>
      (groups.length === 0 || groups.includes('*') || groups.includes(group)) &&
      (names.length === 0 || names.includes('*') || names.includes(kind)),
  );
}

/** Whether a constraint's `spec.match` namespaces and name select the object (kinds aside). */
function selectsPlace(selector: Selector, object: KubeObject): boolean {
  const namespace = namespaceOf(object);
  if (namespace !== undefined && namespace !== '') {
    let selected = selector.byNamespace.get(namespace);
    if (selected === undefined) {
      const { namespaces, excludedNamespaces } = selector;
      selected =
        (namespaces.length === 0 || namespaces.some((pattern) => globMatch(pattern, namespace))) &&
        !excludedNamespaces.some((pattern) => globMatch(pattern, namespace));
      selector.byNamespace.set(namespace, selected);
    }
    if (!selected) return false;
  }
  if (selector.name !== undefined && !globMatch(selector.name, object.metadata.name)) return false;
  return true;
}

/** Whether a constraint's `spec.match` selects the object. */
export function matches(constraint: KubeObject, object: KubeObject): boolean {
  const selector = selectorOf(constraint);
  return selectsKind(selector, object.apiVersion, object.kind) && selectsPlace(selector, object);
}

/** The templates by constraint kind. */
export function templatesByKind(templates: readonly KubeObject[]): Map<string, CelSource> {
  const out = new Map<string, CelSource>();
  for (const template of templates) {
    const kind = record(record(record(record(template.spec).crd).spec).names).kind;
    const source = celSource(template);
    if (typeof kind === 'string' && source !== undefined) out.set(kind, source);
  }
  return out;
}

/** One constraint's verdict on one object. */
export interface Verdict {
  readonly constraint: KubeObject;
  readonly object: KubeObject;
  readonly messages: readonly string[];
}

/** Whether a value is JSON data as it is (no `toJSON`, no undefined, NaN or -0 that JSON changes). */
function isJsonItem(item: unknown): boolean {
  if (item === null || typeof item === 'string' || typeof item === 'boolean') return true;
  if (typeof item === 'number') return Number.isFinite(item) && !Object.is(item, -0);
  if (Array.isArray(item)) return true;
  if (typeof item !== 'object') return false;
  const prototype = Object.getPrototypeOf(item);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A value as JSON text when it is plain JSON data (plain objects, arrays, strings, finite numbers
 * other than -0, booleans, null; no undefined member, no `toJSON`): then equal texts mean equal
 * values, member order included. Otherwise undefined. The text has no line break.
 */
export function jsonKey(value: unknown): string | undefined {
  let plain = true;
  const text = JSON.stringify(value, function (this: unknown, key: string) {
    // The member itself, not what its `toJSON` made of it.
    const item = (this as Record<string, unknown>)[key];
    if (isJsonItem(item)) return item;
    plain = false;
    return null;
  });
  return plain ? text : undefined;
}

/**
 * The messages of validations already run, by the content of what they ran on (template source,
 * parameters, object): the same object deployed on many clusters is evaluated once. CEL is pure,
 * so a verdict depends on nothing else. Give one to several `evaluateConstraints` calls to share it.
 */
export type VerdictCache = Map<string, readonly string[]>;

/**
 * A cache's keys name the constraint (template source and parameters) and the object by a
 * number each, given here on first sight of their JSON text: a key is a few characters, not
 * kilobytes of JSON concatenated for every pair (which made most of a large build's garbage).
 */
const interned = new WeakMap<
  VerdictCache,
  { readonly constraints: Map<string, number>; readonly objects: Map<string, number> }
>();

function internedIn(cache: VerdictCache, kind: 'constraints' | 'objects', text: string): number {
  let tables = interned.get(cache);
  if (tables === undefined) {
    tables = { constraints: new Map(), objects: new Map() };
    interned.set(cache, tables);
  }
  const table = tables[kind];
  let id = table.get(text);
  if (id === undefined) {
    id = table.size;
    table.set(text, id);
  }
  return id;
}

/**
 * Every constraint on every object it matches, after Gatekeeper's exempt namespaces. Returns the
 * verdicts (with their messages: empty when the object passes) and the objects skipped because
 * their namespace is exempt. With a `cache`, an object equal in content to one evaluated before
 * under an equal template and parameters gets that evaluation's messages.
 */
export function evaluateConstraints(
  templates: readonly KubeObject[],
  constraints: readonly KubeObject[],
  objects: readonly KubeObject[],
  exemptNamespaces: readonly string[],
  cache?: VerdictCache,
): { verdicts: Verdict[]; exempt: KubeObject[]; unknownKinds: string[] } {
  const byKind = templatesByKind(templates);
  const verdicts: Verdict[] = [];
  const exempt: KubeObject[] = [];
  const unknownKinds = new Set<string>();
  // A constraint's verdict depends on its template's source and its parameters besides the
  // object: their key, computed once per constraint (undefined: not plain JSON, not cached).
  const constraintKeys = new Map<KubeObject, string | undefined>();
  // Each constraint's parameters as CEL reads them, converted once.
  const celParameters = new Map<KubeObject, { readonly value: unknown }>();
  // Each constraint's `spec.match`, read when first needed.
  const selectors = new Map<KubeObject, Selector>();
  const selector = (constraint: KubeObject): Selector => {
    let found = selectors.get(constraint);
    if (found === undefined) {
      found = selectorOf(constraint);
      selectors.set(constraint, found);
    }
    return found;
  };
  // The constraints that may match objects of one apiVersion and kind: those whose kinds select
  // it, and those without a template (reported below), in their order.
  const byObjectKind = new Map<string, KubeObject[]>();
  const candidates = (object: KubeObject): KubeObject[] => {
    const key = JSON.stringify([object.apiVersion, object.kind]);
    let found = byObjectKind.get(key);
    if (found === undefined) {
      found = constraints.filter(
        (constraint) =>
          !byKind.has(constraint.kind) ||
          selectsKind(selector(constraint), object.apiVersion, object.kind),
      );
      byObjectKind.set(key, found);
    }
    return found;
  };
  // Whether Gatekeeper exempts a namespace, by namespace.
  const exemptByNamespace = new Map<string, boolean>();
  for (const object of objects) {
    const namespace = namespaceOf(object);
    if (namespace !== undefined) {
      let isExempt = exemptByNamespace.get(namespace);
      if (isExempt === undefined) {
        isExempt = isExemptNamespace(exemptNamespaces, namespace);
        exemptByNamespace.set(namespace, isExempt);
      }
      if (isExempt) {
        exempt.push(object);
        continue;
      }
    }
    let objectKey: { value: string | undefined } | undefined;
    // The object as CEL reads it, converted once for every constraint that evaluates it.
    let review: Review | undefined;
    for (const constraint of candidates(object)) {
      const source = byKind.get(constraint.kind);
      if (source === undefined) {
        unknownKinds.add(constraint.kind);
        continue;
      }
      // Its kinds select the object (a candidate); its namespaces and name are left to test.
      if (!selectsPlace(selector(constraint), object)) continue;
      const parameters = record(constraint.spec).parameters;
      const run = () => {
        review ??= reviewOf(object);
        let converted = celParameters.get(constraint);
        if (converted === undefined) {
          converted = { value: celValue(parameters === undefined ? null : parameters) };
          celParameters.set(constraint, converted);
        }
        return validate(source, review, converted.value);
      };
      if (cache === undefined) {
        verdicts.push({ constraint, object, messages: run() });
        continue;
      }
      if (!constraintKeys.has(constraint)) {
        const parametersKey = jsonKey(parameters ?? null);
        const sourceKey = jsonKey(source);
        constraintKeys.set(
          constraint,
          parametersKey === undefined || sourceKey === undefined
            ? undefined
            : String(internedIn(cache, 'constraints', `${sourceKey}\n${parametersKey}`)),
        );
      }
      const forConstraint = constraintKeys.get(constraint);
      if (objectKey === undefined) {
        const text = jsonKey(object);
        objectKey = {
          value: text === undefined ? undefined : String(internedIn(cache, 'objects', text)),
        };
      }
      if (forConstraint === undefined || objectKey.value === undefined) {
        verdicts.push({ constraint, object, messages: run() });
        continue;
      }
      const key = `${forConstraint}:${objectKey.value}`;
      let messages = cache.get(key);
      if (messages === undefined) {
        messages = run();
        cache.set(key, messages);
      }
      verdicts.push({ constraint, object, messages });
    }
  }
  return { verdicts, exempt, unknownKinds: [...unknownKinds].sort() };
}
