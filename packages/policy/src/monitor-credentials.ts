// The Prometheus Operator's kinds that name Secrets as credentials, and where: what the
// `provider-token` policy reads to keep the secrets provider's token out of them. The operator
// (its ClusterRole reads every Secret) resolves each such reference in the object's own namespace
// and puts the value into the configuration of the Prometheus or Alertmanager that selects the
// object, which sends it out: to a scrape target (a ServiceMonitor's `bearerTokenSecret`), a
// remote-write endpoint, a notification receiver (an AlertmanagerConfig's webhook credentials).
// The platform's Prometheus and Alertmanager select these objects in every namespace, so an
// application's own ServiceMonitor naming the token would have it sent to a target of its choice.
//
// The paths come from the operator's CRDs as the monitoring chart ships them (the pinned
// kube-prometheus-stack, vendored): `credentialPaths` reads them, `scripts/monitor-credentials.mjs`
// writes src/generated/monitor-credentials.ts, and a test holds the two equal. Pure.

/** A Prometheus Operator kind and the paths under `spec` of the Secret keys it reads. */
export interface CredentialKind {
  readonly group: string;
  readonly kind: string;
  /**
   * Each path of a Secret key selector (`{name, key, optional}`), from `spec`: object keys, `[]`
   * for each item of a list on the way, `{}` for each value of a map (`proxyConnectHeader`: header
   * names to selectors).
   */
  readonly paths: readonly (readonly string[])[];
}

type Schema = {
  readonly type?: string;
  readonly properties?: { readonly [key: string]: Schema };
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
};

/** The last path segments of a selector that names a ConfigMap (same shape, not a Secret). */
const CONFIG_MAP_SELECTORS = new Set(['configMap', 'configMapKeyRef']);

/**
 * The credential paths of one CustomResourceDefinition (every served version's, merged): every
 * object of exactly the properties `key`, `name` and `optional` (the operator's
 * `SecretKeySelector`, the pod spec's `secretKeyRef`) that is not a ConfigMap's, through
 * properties, list items and map values (`additionalProperties`).
 */
export function credentialPaths(crd: unknown): CredentialKind {
  const spec = (crd as { spec: { group: string; names: { kind: string }; versions: unknown[] } })
    .spec;
  const found = new Map<string, readonly string[]>();
  const walk = (schema: Schema | undefined, path: readonly string[]): void => {
    if (schema === undefined) return;
    if (schema.type === 'array') {
      walk(schema.items, [...path, '[]']);
      return;
    }
    const properties = schema.properties ?? {};
    const keys = Object.keys(properties).sort();
    if (keys.join(',') === 'key,name,optional') {
      if (!CONFIG_MAP_SELECTORS.has(path.at(-1) ?? '')) found.set(path.join('.'), path);
      return;
    }
    for (const key of keys) walk(properties[key], [...path, key]);
    if (typeof schema.additionalProperties === 'object') {
      walk(schema.additionalProperties, [...path, '{}']);
    }
  };
  for (const version of spec.versions as {
    served?: boolean;
    schema?: { openAPIV3Schema?: Schema };
  }[]) {
    if (version.served === false) continue;
    walk(version.schema?.openAPIV3Schema?.properties?.spec, []);
  }
  return {
    group: spec.group,
    kind: spec.names.kind,
    paths: [...found.keys()].sort().map((key) => found.get(key) as readonly string[]),
  };
}

type Trie = { [segment: string]: Trie };
const END = '';

/**
 * A CEL expression true when an object of the kind names one of `variables.params.secrets` at one
 * of its credential paths. The paths are merged into a tree (one `has` per shared prefix), and a
 * list is walked with `exists` (a map too, over its keys); a path through a missing field is
 * false, never an error.
 */
export function credentialReferenceExpression(kind: CredentialKind): string {
  const root: Trie = {};
  for (const path of kind.paths) {
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
        if (segment === END) {
          return `(has(${ref}.name) && ${ref}.name in variables.params.secrets)`;
        }
        if (segment === '[]') {
          const item = `i${items++}`;
          return `${ref}.exists(${item}, ${at(child, item)})`;
        }
        if (segment === '{}') {
          const key = `k${items++}`;
          return `${ref}.exists(${key}, ${at(child, `${ref}[${key}]`)})`;
        }
        return `(${field(ref, segment)} && ${at(child, select(ref, segment))})`;
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

function field(ref: string, segment: string): string {
  return IDENTIFIER.test(segment) && !RESERVED.has(segment)
    ? `has(${ref}.${segment})`
    : `${JSON.stringify(segment).replace(/^"|"$/g, "'")} in ${ref}`;
}

function select(ref: string, segment: string): string {
  return IDENTIFIER.test(segment) && !RESERVED.has(segment)
    ? `${ref}.${segment}`
    : `${ref}[${JSON.stringify(segment).replace(/^"|"$/g, "'")}]`;
}

/**
 * src/generated/monitor-credentials.ts for the kinds read from `source` (the chart and version
 * whose CRDs they are): one kind per line group, its paths one per line, kinds by name.
 */
export function monitorCredentialsModule(kinds: readonly CredentialKind[], source: string): string {
  const sorted = [...kinds]
    .filter((kind) => kind.paths.length > 0)
    .sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  const lines = [
    `// Generated by scripts/monitor-credentials.mjs from the CRDs of ${source} (vendor/): do not`,
    '// edit. The Prometheus Operator kinds that name Secrets as credentials, and where (see',
    '// src/monitor-credentials.ts).',
    "import type { CredentialKind } from '../monitor-credentials.js';",
    '',
    `export const MONITOR_CREDENTIALS_SOURCE = ${JSON.stringify(source)};`,
    '',
    'export const MONITOR_CREDENTIALS: readonly CredentialKind[] = [',
    ...sorted.flatMap((kind) => [
      `  { group: ${JSON.stringify(kind.group)}, kind: ${JSON.stringify(kind.kind)}, paths: [`,
      ...kind.paths.map((path) => `    ${JSON.stringify(path)},`),
      '  ] },',
    ]),
    '];',
    '',
  ];
  return lines.join('\n');
}
