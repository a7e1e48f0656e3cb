// The Prometheus Operator's kinds that name credentials, and where: what the `provider-token` and
// `monitor-files` policies read. The operator (its ClusterRole reads every Secret) resolves each
// Secret reference in the object's own namespace and puts the value into the configuration of the
// Prometheus or Alertmanager that selects the object, which sends it out: to a scrape target (a
// ServiceMonitor's `bearerTokenSecret`), a proxy (`proxyConnectHeader`), a remote-write endpoint,
// a notification receiver (an AlertmanagerConfig's webhook credentials). A file reference
// (`bearerTokenFile`, a Telegram receiver's `botTokenFile`) is read by Prometheus or Alertmanager
// from its own pod, and sent out the same way. The platform's Prometheus and Alertmanager select
// these objects in every namespace, so an application's own ServiceMonitor naming the secrets
// provider's token, or Prometheus' own service account token file, would have it sent to a
// target of its choice.
//
// The paths come from the operator's CRDs as the monitoring chart ships them (the pinned
// kube-prometheus-stack, vendored): `credentialPaths` and `filePaths` read them,
// `scripts/monitor-credentials.mjs` writes src/generated/monitor-credentials.ts, and a test holds
// the two equal. Pure.
import type { JsonValue, KubeObject } from '@homelab/core';

/** A Prometheus Operator kind and paths under its `spec`. */
export interface CredentialKind {
  readonly group: string;
  /**
   * The API version the CRD serves and stores (its `spec.versions` entry with `storage: true`):
   * an object of the kind is `${group}/${version}`.
   */
  readonly version: string;
  readonly kind: string;
  /**
   * Each path, from `spec`: object keys, `[]` for each item of a list on the way, `{}` for each
   * value of a map (`proxyConnectHeader`: header names to selectors).
   */
  readonly paths: readonly (readonly string[])[];
}

type Schema = {
  readonly type?: string;
  readonly properties?: { readonly [key: string]: Schema };
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
};

/**
 * The kinds whose objects the platform's Prometheus and Alertmanager read from every namespace
 * (the operator brings up instances of its own namespace only: the monitoring chart's values):
 * the kinds `monitor-files` covers.
 */
export const CROSS_NAMESPACE_KINDS: readonly string[] = [
  'AlertmanagerConfig',
  'PodMonitor',
  'Probe',
  'ScrapeConfig',
  'ServiceMonitor',
];

/** The last path segments of a selector that names a ConfigMap (same shape, not a Secret). */
const CONFIG_MAP_SELECTORS = new Set(['configMap', 'configMapKeyRef']);

type CrdVersion = {
  readonly name: string;
  readonly served?: boolean;
  readonly storage?: boolean;
  readonly schema?: { readonly openAPIV3Schema?: Schema };
};

/**
 * The version a CustomResourceDefinition stores and serves: its one `spec.versions` entry with
 * `storage: true` (the API server accepts no CRD without one), which must be served too.
 */
function storageVersion(name: string, versions: readonly CrdVersion[]): string {
  const stored = versions.filter((version) => version.storage === true);
  const [version] = stored;
  if (stored.length !== 1 || version === undefined) {
    const found = versions.map((each) => `${each.name} (storage: ${each.storage ?? false})`);
    throw new Error(
      `CustomResourceDefinition ${name}: expected one version with storage: true in spec.versions, found ${stored.length} (${found.join(', ') || 'no versions'})`,
    );
  }
  if (version.served === false) {
    throw new Error(
      `CustomResourceDefinition ${name}: its storage version ${version.name} is not served (served: false), so no object can be written in it`,
    );
  }
  return version.name;
}

/**
 * The paths of a CustomResourceDefinition's `spec` (every served version's, merged) where `found`
 * says so (`true`: a path; `false`: look deeper), through properties, list items and map values
 * (`additionalProperties`); with the kind's `storageVersion` (an error when it has none).
 */
function pathsOf(
  crd: unknown,
  found: (schema: Schema, path: readonly string[]) => boolean,
): CredentialKind {
  const { metadata, spec } = crd as {
    metadata?: { name?: string };
    spec: { group: string; names: { kind: string }; versions: readonly CrdVersion[] };
  };
  const version = storageVersion(metadata?.name ?? spec.names.kind, spec.versions);
  const paths = new Map<string, readonly string[]>();
  const walk = (schema: Schema | undefined, path: readonly string[]): void => {
    if (schema === undefined) return;
    if (schema.type === 'array') {
      walk(schema.items, [...path, '[]']);
      return;
    }
    if (path.length > 0 && found(schema, path)) {
      paths.set(path.join('.'), path);
      return;
    }
    const properties = schema.properties ?? {};
    for (const key of Object.keys(properties).sort()) walk(properties[key], [...path, key]);
    if (typeof schema.additionalProperties === 'object') {
      walk(schema.additionalProperties, [...path, '{}']);
    }
  };
  for (const each of spec.versions) {
    if (each.served === false) continue;
    walk(each.schema?.openAPIV3Schema?.properties?.spec, []);
  }
  return {
    group: spec.group,
    version,
    kind: spec.names.kind,
    paths: [...paths.keys()].sort().map((key) => paths.get(key) as readonly string[]),
  };
}

/**
 * The credential paths of one CustomResourceDefinition: every object of exactly the properties
 * `key`, `name` and `optional` (the operator's `SecretKeySelector`, the pod spec's
 * `secretKeyRef`) that is not a ConfigMap's.
 */
export function credentialPaths(crd: unknown): CredentialKind {
  return pathsOf(
    crd,
    (schema, path) =>
      Object.keys(schema.properties ?? {})
        .sort()
        .join(',') === 'key,name,optional' && !CONFIG_MAP_SELECTORS.has(path.at(-1) ?? ''),
  );
}

/**
 * The file paths of one CustomResourceDefinition: its string fields named `…File`, a file of the
 * Prometheus or Alertmanager pod that the configuration reads a credential from
 * (`bearerTokenFile`, `tlsConfig.keyFile`, a Telegram receiver's `botTokenFile`).
 */
export function filePaths(crd: unknown): CredentialKind {
  return pathsOf(
    crd,
    (schema, path) => schema.type === 'string' && (path.at(-1) ?? '').endsWith('File'),
  );
}

/**
 * A CEL expression true when an object of the kind names one of `variables.params.secrets` at one
 * of its credential paths. The paths are merged into a tree (one `has` per shared prefix), and a
 * list is walked with `exists` (a map too, over its keys); a path through a missing field is
 * false, never an error.
 */
export function credentialReferenceExpression(kind: CredentialKind): string {
  return pathsExpression(
    kind.paths,
    (ref) => `(has(${ref}.name) && ${ref}.name in variables.params.secrets)`,
  );
}

/**
 * A CEL expression true when an object of the kind names a file at one of its paths
 * (`filePaths`): the operator leaves an empty one out of the configuration.
 */
export function fileReferenceExpression(kind: CredentialKind): string {
  return pathsExpression(kind.paths, (ref) => `size(${ref}) > 0`);
}

/**
 * An object of `kind` (`apiVersion` `${group}/${version}`) whose `spec` holds `leaf` at `path` and
 * nothing else: what tests and examples use to place a value at a credential path. A `[]` segment
 * is a list of two items, `{}` and the rest of the path (so a check must look past the first
 * item); a `{}` segment a map of two headers, `X-Other` (an empty list) and `Proxy-Authorization`,
 * the rest of the path (as `proxyConnectHeader` maps header names to selectors). An empty path
 * makes `leaf` the whole `spec`.
 */
export function credentialObject(
  kind: CredentialKind,
  path: readonly string[],
  leaf: JsonValue,
  metadata: { readonly name: string; readonly namespace: string },
): KubeObject {
  const build = (rest: readonly string[]): JsonValue => {
    const [segment, ...tail] = rest;
    if (segment === undefined) return leaf;
    if (segment === '[]') return [{}, build(tail)];
    if (segment === '{}') return { 'X-Other': [], 'Proxy-Authorization': build(tail) };
    return { [segment]: build(tail) };
  };
  return {
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: { name: metadata.name, namespace: metadata.namespace },
    spec: build(path),
  };
}

type Trie = { [segment: string]: Trie };
const END = '';

/**
 * `paths` under `spec` as one CEL tree; `leaf` the test on the value at the end of each (its
 * CEL reference), or none: the field being there is the test.
 */
function pathsExpression(
  paths: readonly (readonly string[])[],
  leaf: ((ref: string) => string) | undefined,
): string {
  const root: Trie = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) {
      node[segment] ??= {};
      node = node[segment] as Trie;
    }
    node[END] = {};
  }
  let items = 0;
  const at = (node: Trie, ref: string): string => {
    const parts = Object.keys(node)
      .sort()
      .map((segment) => {
        const child = node[segment] as Trie;
        if (segment === END) return leaf === undefined ? 'true' : leaf(ref);
        if (segment === '[]') {
          const item = `i${items++}`;
          return `${ref}.exists(${item}, ${at(child, item)})`;
        }
        if (segment === '{}') {
          const key = `k${items++}`;
          return `${ref}.exists(${key}, ${at(child, `${ref}[${key}]`)})`;
        }
        const inner = at(child, select(ref, segment));
        return inner === 'true' ? field(ref, segment) : `(${field(ref, segment)} && ${inner})`;
      });
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' || ')})`;
  };
  return at(root, 'variables.anyObject.spec');
}

/** CEL's reserved words, which a field selection cannot name (`x['in']` instead). */
const RESERVED = new Set(
  'as break const continue else false for function if import in let loop null package namespace return true var void while'.split(
    ' ',
  ),
);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoted(segment: string): string {
  return `'${segment.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function field(ref: string, segment: string): string {
  return IDENTIFIER.test(segment) && !RESERVED.has(segment)
    ? `has(${ref}.${segment})`
    : `${quoted(segment)} in ${ref}`;
}

function select(ref: string, segment: string): string {
  return IDENTIFIER.test(segment) && !RESERVED.has(segment)
    ? `${ref}.${segment}`
    : `${ref}[${quoted(segment)}]`;
}

/** A list of kinds as the generated module writes it: by kind, each path on a line. */
function entries(list: readonly CredentialKind[]): string[] {
  return [...list]
    .filter((kind) => kind.paths.length > 0)
    .sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0))
    .flatMap((kind) => [
      `  { group: ${JSON.stringify(kind.group)}, version: ${JSON.stringify(kind.version)}, kind: ${JSON.stringify(kind.kind)}, paths: [`,
      ...kind.paths.map((path) => `    ${JSON.stringify(path)},`),
      '  ] },',
    ]);
}

/**
 * src/generated/monitor-credentials.ts for the CRDs' credential paths (`kinds`) and file paths
 * (`files`, of the kinds read from every namespace only), read from `source` (the chart and
 * version whose CRDs they are).
 */
export function monitorCredentialsModule(
  kinds: readonly CredentialKind[],
  files: readonly CredentialKind[],
  source: string,
): string {
  return [
    `// Generated by scripts/monitor-credentials.mjs from the CRDs of ${source} (vendor/): do not`,
    '// edit. The Prometheus Operator kinds that name Secrets or files as credentials, and where',
    '// (see src/monitor-credentials.ts).',
    "import type { CredentialKind } from '../monitor-credentials.js';",
    '',
    `export const MONITOR_CREDENTIALS_SOURCE = ${JSON.stringify(source)};`,
    '',
    '/** The Secret key selectors (`credentialPaths`) of every kind that has one. */',
    'export const MONITOR_CREDENTIALS: readonly CredentialKind[] = [',
    ...entries(kinds),
    '];',
    '',
    '/** The file paths (`filePaths`) of the kinds read from every namespace. */',
    'export const MONITOR_FILES: readonly CredentialKind[] = [',
    ...entries(files.filter((kind) => CROSS_NAMESPACE_KINDS.includes(kind.kind))),
    '];',
    '',
  ].join('\n');
}
