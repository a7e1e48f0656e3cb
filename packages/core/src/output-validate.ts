// Validation of every emitted object (DESIGN.md, "Validation layers" 2). Pure.
//
// Core Kubernetes kinds are checked against their OpenAPI schemas with the validators the
// `kubernetes-models` package compiles from them (types, enums, required fields; note that
// those schemas do not refuse unknown fields). Custom resources are checked by validators the
// components provide, e.g. `jsonSchemaValidator` over a CRD's openAPIV3Schema they ship. An
// object whose apiVersion/kind has no validator is an error: every emitted object is checked.
import { Ajv, type ErrorObject } from 'ajv';
import { error, formatPath, type Issue, type PathSegment } from './issues.js';
import {
  type StandaloneSource,
  standaloneValidators,
  VALIDATOR_OPTIONS,
} from './schema-validate.js';
import type { KubeObject } from './types.js';
import { compareStrings } from './yaml.js';

/** One problem inside an object: `path` relative to the object (`spec.replicas`). */
export interface ObjectProblem {
  readonly path: string;
  readonly message: string;
}

/** Checks objects of one apiVersion/kind; returns problems (plain messages or with a path). */
export interface ObjectValidator {
  readonly apiVersion: string;
  readonly kind: string;
  validate(object: unknown): readonly (string | ObjectProblem)[];
}

/** An emitted object and where it comes from, e.g. `manifestSource('cilium', 'lb-pool')`. */
export interface SourcedObject {
  readonly source: string;
  readonly object: KubeObject;
  /** The place of the definition that produced it (a component's settings on a cluster). */
  readonly origin?: readonly PathSegment[];
}

/** `charts/<chart>#manifests.<key>`: how issues about a chart's manifest name it. */
export function manifestSource(chart: string, key: string): string {
  return `charts/${chart}#${formatPath(['manifests', key])}`;
}

type CompiledValidate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

function fromCompiled(
  apiVersion: string,
  kind: string,
  validate: (data: unknown) => boolean,
): ObjectValidator {
  const compiled = validate as CompiledValidate;
  return {
    apiVersion,
    kind,
    validate(object) {
      if (compiled(object)) return [];
      return problemsFromAjv(object, compiled.errors ?? []);
    },
  };
}

/** A kubernetes-models schema module's validate function (ajv standalone code, no messages). */
type SchemaValidate = (data: unknown) => boolean;

/** What a kubernetes-models `_schemas/` module exports. */
interface SchemaModule {
  readonly validate: SchemaValidate;
}

/**
 * The validate function behind a kubernetes-models model class, for packages that do not export
 * their `_schemas/` modules (argo-cd): the class's `validate()` runs it and throws ajv's
 * ValidationError with its errors, to which the package has added English messages; those are
 * dropped, so the errors read as those of the schema module itself.
 */
function modelValidate(model: { readonly prototype: { validate(): void } }): SchemaValidate {
  const validate = (data: unknown): boolean => {
    try {
      model.prototype.validate.call(data);
      compiled.errors = null;
      return true;
    } catch (cause) {
      const errors = (cause as { errors?: unknown }).errors;
      if (!Array.isArray(errors)) throw cause;
      compiled.errors = errors.map((problem: ErrorObject) => {
        const { message: _localized, ...rest } = problem;
        return rest;
      });
      return false;
    }
  };
  const compiled: CompiledValidate = validate;
  return compiled;
}

/**
 * A validator of one apiVersion/kind from a kubernetes-models model class (its `validate()`
 * runs the package's generated schema), for components whose custom resources such a package
 * describes (e.g. `@kubernetes-models/prometheus-operator`).
 */
export function modelClassValidator(
  apiVersion: string,
  kind: string,
  model: { readonly prototype: { validate(): void } },
): ObjectValidator {
  return fromCompiled(apiVersion, kind, modelValidate(model));
}

/**
 * Kinds validated against the schemas the `kubernetes-models` packages compile from the
 * upstream OpenAPI documents: core Kubernetes (kubernetes-models 5.1), Gateway API
 * (@kubernetes-models/gateway-api) and Argo CD (@kubernetes-models/argo-cd). Each entry imports
 * the standalone validator of its kind on demand, so a build pays only for the kinds it emits.
 * The specifiers are static so that a bundler (the CLI's esbuild bundle) can resolve them.
 */
const MODEL_KINDS: readonly (readonly [
  apiVersion: string,
  kind: string,
  load: () => Promise<SchemaModule>,
])[] = [
  ['v1', 'ConfigMap', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap')],
  // Scrape targets without a selector (kube-prometheus-stack's control-plane endpoints).
  ['v1', 'Endpoints', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Endpoints')],
  ['v1', 'LimitRange', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1LimitRange')],
  ['v1', 'Namespace', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Namespace')],
  ['v1', 'Pod', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Pod')],
  [
    'v1',
    'PersistentVolumeClaim',
    () => import('kubernetes-models/_schemas/IoK8sApiCoreV1PersistentVolumeClaim'),
  ],
  ['v1', 'ResourceQuota', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1ResourceQuota')],
  ['v1', 'Secret', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Secret')],
  ['v1', 'Service', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Service')],
  ['v1', 'ServiceAccount', () => import('kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount')],
  ['apps/v1', 'DaemonSet', () => import('kubernetes-models/_schemas/IoK8sApiAppsV1DaemonSet')],
  ['apps/v1', 'Deployment', () => import('kubernetes-models/_schemas/IoK8sApiAppsV1Deployment')],
  ['apps/v1', 'ReplicaSet', () => import('kubernetes-models/_schemas/IoK8sApiAppsV1ReplicaSet')],
  ['apps/v1', 'StatefulSet', () => import('kubernetes-models/_schemas/IoK8sApiAppsV1StatefulSet')],
  ['batch/v1', 'CronJob', () => import('kubernetes-models/_schemas/IoK8sApiBatchV1CronJob')],
  ['batch/v1', 'Job', () => import('kubernetes-models/_schemas/IoK8sApiBatchV1Job')],
  [
    'policy/v1',
    'PodDisruptionBudget',
    () => import('kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget'),
  ],
  [
    'apiextensions.k8s.io/v1',
    'CustomResourceDefinition',
    () =>
      import(
        'kubernetes-models/_schemas/IoK8sApiextensionsApiserverPkgApisApiextensionsV1CustomResourceDefinition'
      ),
  ],
  [
    'storage.k8s.io/v1',
    'StorageClass',
    () => import('kubernetes-models/_schemas/IoK8sApiStorageV1StorageClass'),
  ],
  [
    'rbac.authorization.k8s.io/v1',
    'ClusterRole',
    () => import('kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRole'),
  ],
  [
    'rbac.authorization.k8s.io/v1',
    'ClusterRoleBinding',
    () => import('kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRoleBinding'),
  ],
  [
    'rbac.authorization.k8s.io/v1',
    'Role',
    () => import('kubernetes-models/_schemas/IoK8sApiRbacV1Role'),
  ],
  [
    'rbac.authorization.k8s.io/v1',
    'RoleBinding',
    () => import('kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding'),
  ],
  [
    'networking.k8s.io/v1',
    'Ingress',
    () => import('kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress'),
  ],
  [
    'networking.k8s.io/v1',
    'NetworkPolicy',
    () => import('kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy'),
  ],
  [
    'scheduling.k8s.io/v1',
    'PriorityClass',
    () => import('kubernetes-models/_schemas/IoK8sApiSchedulingV1PriorityClass'),
  ],
  [
    'admissionregistration.k8s.io/v1',
    'MutatingWebhookConfiguration',
    () =>
      import(
        'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1MutatingWebhookConfiguration'
      ),
  ],
  [
    'admissionregistration.k8s.io/v1',
    'ValidatingWebhookConfiguration',
    () =>
      import(
        'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1ValidatingWebhookConfiguration'
      ),
  ],
  // Cilium 1.20's chart and the Gateway API standard channel from v1.5 ship admission policies.
  [
    'admissionregistration.k8s.io/v1',
    'ValidatingAdmissionPolicy',
    () =>
      import('kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1ValidatingAdmissionPolicy'),
  ],
  [
    'admissionregistration.k8s.io/v1',
    'ValidatingAdmissionPolicyBinding',
    () =>
      import(
        'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1ValidatingAdmissionPolicyBinding'
      ),
  ],
  [
    'gateway.networking.k8s.io/v1',
    'Gateway',
    () => import('@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1Gateway'),
  ],
  [
    'gateway.networking.k8s.io/v1',
    'GatewayClass',
    () => import('@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1GatewayClass'),
  ],
  [
    'gateway.networking.k8s.io/v1',
    'HTTPRoute',
    () => import('@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1HTTPRoute'),
  ],
  [
    'gateway.networking.k8s.io/v1',
    'GRPCRoute',
    () => import('@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1GRPCRoute'),
  ],
  [
    'argoproj.io/v1alpha1',
    'Application',
    () =>
      import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application').then((m) => ({
        validate: modelValidate(m.Application),
      })),
  ],
  [
    'argoproj.io/v1alpha1',
    'AppProject',
    () =>
      import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject').then((m) => ({
        validate: modelValidate(m.AppProject),
      })),
  ],
];

/** apiVersion/kind pairs validated by the kubernetes-models schemas (`loadModelValidators`). */
export const MODEL_VALIDATED_KINDS: readonly {
  readonly apiVersion: string;
  readonly kind: string;
}[] = MODEL_KINDS.map(([apiVersion, kind]) => ({ apiVersion, kind }));

const loadedModels = new Map<string, Promise<ObjectValidator>>();

function loadModel(
  apiVersion: string,
  kind: string,
  load: () => Promise<SchemaModule>,
): Promise<ObjectValidator> {
  const key = `${apiVersion} ${kind}`;
  let loaded = loadedModels.get(key);
  if (loaded === undefined) {
    loaded = load().then((module) => fromCompiled(apiVersion, kind, module.validate));
    loadedModels.set(key, loaded);
  }
  return loaded;
}

/**
 * The kubernetes-models validators for the kinds among `objects` (all of them when `objects`
 * is omitted). Imported on demand: each schema module costs load time, which a build should
 * pay only for the kinds it emits. Pass the result to `validateObjects`.
 */
export async function loadModelValidators(
  objects?: readonly {
    readonly object: { readonly apiVersion?: unknown; readonly kind?: unknown };
  }[],
): Promise<readonly ObjectValidator[]> {
  const wanted =
    objects === undefined
      ? undefined
      : new Set(objects.map(({ object }) => `${String(object.apiVersion)} ${String(object.kind)}`));
  return Promise.all(
    MODEL_KINDS.filter(
      ([apiVersion, kind]) => wanted === undefined || wanted.has(`${apiVersion} ${kind}`),
    ).map(([apiVersion, kind, load]) => loadModel(apiVersion, kind, load)),
  );
}

/**
 * A validator from a JSON Schema (e.g. a CRD version's `openAPIV3Schema`, which components
 * author or derive). `apiVersion`, `kind` and `metadata` are checked by core; the schema sees
 * the whole object. With `strict` (default true), objects the schema describes without
 * `additionalProperties` or `x-kubernetes-preserve-unknown-fields` refuse unknown fields, as
 * the API server prunes them (a typo would otherwise vanish silently).
 */
export function jsonSchemaValidator(
  apiVersion: string,
  kind: string,
  schema: object,
  options: { readonly strict?: boolean } = {},
): ObjectValidator {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const prepared = options.strict === false ? schema : closeObjects(schema, true);
  const compiled = ajv.compile(prepared as object) as CompiledValidate;
  return {
    apiVersion,
    kind,
    validate(object) {
      if (compiled(object)) return [];
      return problemsFromAjv(object, compiled.errors ?? []);
    },
  };
}

/**
 * Checks every object: apiVersion, kind and metadata.name present, then the validator
 * registered for its apiVersion/kind in `validators`: the core ones (`await
 * loadModelValidators(objects)`) plus those the components provide; a later one replaces an earlier
 * one for the same kind. An object without a validator is an error. Issue paths are
 * `<source>.<path in the object>`, e.g. `charts/cilium#manifests.pool.spec.blocks[0]`.
 */
export function validateObjects(
  objects: readonly SourcedObject[],
  validators: readonly ObjectValidator[],
): Issue[] {
  const registry = new Map<string, ObjectValidator>();
  for (const validator of validators) {
    registry.set(`${validator.apiVersion} ${validator.kind}`, validator);
  }
  const issues: Issue[] = [];
  for (const { source, object, origin = [] } of objects) {
    const at = (path: string): { path: readonly PathSegment[]; output: string } => ({
      path: origin,
      output: path === '' || path === '(root)' ? source : `${source}.${path}`,
    });
    const raw = object as unknown as Record<string, unknown>;
    const apiVersion = raw.apiVersion;
    const kind = raw.kind;
    const metadata = raw.metadata as Record<string, unknown> | undefined;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
      issues.push(
        error({
          ...at(''),
          message: 'is not a Kubernetes object: apiVersion and kind must be strings',
          code: 'object-shape',
        }),
      );
      continue;
    }
    if (
      typeof metadata !== 'object' ||
      metadata === null ||
      typeof metadata.name !== 'string' ||
      metadata.name === ''
    ) {
      issues.push(
        error({
          ...at('metadata.name'),
          message: 'is missing',
          expected: 'a name',
          code: 'object-shape',
        }),
      );
    }
    const validator = registry.get(`${apiVersion} ${kind}`);
    if (validator === undefined) {
      issues.push(
        error({
          ...at(''),
          message: `no schema for ${apiVersion} ${kind}: every emitted object must be validated`,
          expected:
            'a validator for this apiVersion/kind (core kinds, or one the component provides)',
          code: 'object-no-schema',
        }),
      );
      continue;
    }
    for (const problem of validator.validate(object)) {
      const { path, message } =
        typeof problem === 'string' ? { path: '', message: problem } : problem;
      issues.push(
        error({
          ...at(path),
          message: `${message} (${apiVersion} ${kind})`,
          code: 'object-schema',
        }),
      );
    }
  }
  return issues;
}

/** Turns ajv errors into problems with object paths (`spec.template.spec.containers[0]`). */
function problemsFromAjv(object: unknown, errors: readonly ErrorObject[]): ObjectProblem[] {
  const problems = new Map<string, ObjectProblem>();
  for (const problem of errors) {
    // kubernetes-models reports a failed `oneOf`/`anyOf` (int-or-string) along with its
    // branches; the branch errors are enough.
    const segments = pointerToSegments(object, problem.instancePath);
    let path = formatPath(segments);
    let message = problem.message ?? messageFor(problem);
    if (problem.keyword === 'additionalProperties') {
      const extra = String((problem.params as { additionalProperty?: unknown }).additionalProperty);
      path = formatPath([...segments, extra]);
      message = 'is not a field of this kind';
    } else if (problem.keyword === 'required') {
      const missing = String((problem.params as { missingProperty?: unknown }).missingProperty);
      path = formatPath([...segments, missing]);
      message = 'is required';
    } else if (problem.keyword === 'enum') {
      const allowed = (problem.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      message = `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
    }
    const normalised = path === '(root)' ? '' : path;
    problems.set(`${normalised}\u0000${message}`, { path: normalised, message });
  }
  return [...problems.values()].sort(
    (a, b) => compareStrings(a.path, b.path) || compareStrings(a.message, b.message),
  );
}

/** The standalone validators of kubernetes-models carry no messages: derive one. */
function messageFor(problem: ErrorObject): string {
  const params = problem.params as Record<string, unknown>;
  switch (problem.keyword) {
    case 'type':
      return `must be ${String(params.type)}`;
    case 'format':
      return `must match format "${String(params.format)}"`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(params.comparison)} ${String(params.limit)}`;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return `fails ${problem.keyword} ${String(params.limit)}`;
    case 'pattern':
      return `must match pattern "${String(params.pattern)}"`;
    default:
      return `fails ${problem.keyword}`;
  }
}

function pointerToSegments(object: unknown, pointer: string): (string | number)[] {
  if (pointer === '') return [];
  const segments: (string | number)[] = [];
  let node: unknown = object;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(part)) {
      segments.push(Number(part));
      node = node[Number(part)];
    } else {
      segments.push(part);
      node =
        typeof node === 'object' && node !== null
          ? (node as Record<string, unknown>)[part]
          : undefined;
    }
  }
  return segments;
}

const JUNCTORS = new Set(['allOf', 'anyOf', 'oneOf', 'not']);
const SCHEMA_KEYWORDS = new Set(['items', 'additionalProperties', 'additionalItems', 'contains']);

/**
 * A copy of a schema where every object schema with `properties` and no say on extra fields
 * gets `additionalProperties: false` (Kubernetes structural-schema pruning made visible).
 */
function closeObjects(schema: unknown, isSchema: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((item) => closeObjects(item, isSchema));
  if (typeof schema !== 'object' || schema === null) return schema;
  const node = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (
      key === 'properties' ||
      key === 'patternProperties' ||
      key === 'definitions' ||
      key === '$defs'
    ) {
      const children: Record<string, unknown> = {};
      for (const [name, child] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        children[name] = closeObjects(child, true);
      }
      out[key] = children;
    } else if (JUNCTORS.has(key) || !SCHEMA_KEYWORDS.has(key)) {
      // Branches of allOf/anyOf/oneOf/not restate fields of the enclosing schema (structural
      // schemas): closing them would refuse valid objects. Non-schema keywords stay as written.
      out[key] = value;
    } else {
      out[key] = closeObjects(value, true);
    }
  }
  if (
    isSchema &&
    typeof node.properties === 'object' &&
    node.additionalProperties === undefined &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** A JSON Schema (draft 2020-12) for the objects of one apiVersion/kind. */
/**
 * Pieces of the hand-written JSON Schemas components write for the kinds they emit (layer 2):
 * Kubernetes name patterns and a map of strings (labels, annotations).
 */
export const KIND_SCHEMA_PARTS = {
  /** A DNS subdomain (RFC 1123): most object names. */
  dnsSubdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  /** A DNS label (RFC 1123): namespaces, Service names, keys of one segment. */
  dnsLabel: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  /** A map of strings: labels, annotations, selectors' matchLabels. */
  stringMap: { type: 'object', additionalProperties: { type: 'string' } },
} as const;

export interface KindSchema {
  readonly apiVersion: string;
  readonly kind: string;
  readonly schema: object;
}

function kindSchemaName(apiVersion: string, kind: string): string {
  return `${apiVersion.replace(/[^A-Za-z0-9]/g, '_')}_${kind}`;
}

/**
 * What scripts/build-standalone.mjs generates validator code from, for `kinds` (a component's
 * `validators.standalone.cjs`, so that the CLI never compiles its schemas).
 */
export function kindValidatorSource(kinds: readonly KindSchema[]): StandaloneSource {
  const schemas: { [name: string]: object } = {};
  for (const { apiVersion, kind, schema } of kinds)
    schemas[kindSchemaName(apiVersion, kind)] = schema;
  return { options: VALIDATOR_OPTIONS, schemas };
}

/**
 * Validators of `kinds`: the generated module `generated()` returns when it was generated from
 * exactly `kindValidatorSource(kinds)`, else each schema compiled on its first use.
 */
export function kindValidators(
  kinds: readonly KindSchema[],
  generated: () => unknown,
): ObjectValidator[] {
  const resolve = standaloneValidators(kindValidatorSource(kinds), generated);
  return kinds.map(({ apiVersion, kind }) => {
    let validate: ((data: unknown) => boolean) | undefined;
    return {
      apiVersion,
      kind,
      validate(object) {
        validate ??= resolve(kindSchemaName(apiVersion, kind));
        if (validate(object)) return [];
        return problemsFromAjv(object, (validate as CompiledValidate).errors ?? []);
      },
    };
  });
}
