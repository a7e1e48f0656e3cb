// Secrets that upstream charts' own jobs make on the cluster at run time, read from the jobs as
// Helm renders them: the pods that mount or read these Secrets wait for them, and nothing else in
// the render makes them. Each maker is the upstream code's own behaviour at the pinned release.
import { type ExistingObject, parseYaml, podTemplateOf } from '@homelab/core';

type Table = { readonly [key: string]: unknown };

const isTable = (value: unknown): value is Table =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The containers of a pod template, init containers first. */
function containersOf(object: unknown): Table[] {
  const spec = podTemplateOf(object)?.spec as Table | undefined;
  return [...list(spec?.initContainers), ...list(spec?.containers)].filter(isTable);
}

/** A container's command and arguments, as one list of strings. */
function argv(container: Table): string[] {
  return [...list(container.command), ...list(container.args)].filter(
    (arg): arg is string => typeof arg === 'string',
  );
}

/**
 * The Secrets a Job or CronJob of an upstream chart makes when it runs, in `namespace` (the
 * namespace it is applied to when it names none):
 * - Cilium's certgen (`hubble-generate-certs`, and clustermesh's): every certificate of its
 *   `CILIUM_CERTGEN_CONFIG` (`certs[].name`, `namespace`), each with `ca.crt`, `tls.crt` and
 *   `tls.key`, and its CA Secret (`--ca-secret-name`, with `ca.crt` and `ca.key`) when it generates
 *   one (`--ca-generate=true`): cilium/certgen v0.4.6 (the chart's certgen image)
 *   `internal/generate`;
 * - Argo CD's `argocd admin redis-initial-password` (the argo-cd chart's redis-secret-init hook
 *   Job): Secret `argocd-redis` with key `auth` in its own namespace (Argo CD v3.4.4
 *   `common.RedisInitialCredentials`, `RedisInitialCredentialsKey`).
 */
export function secretsMadeByJob(object: unknown, namespace: string): ExistingObject[] {
  if (!isTable(object) || (object.kind !== 'Job' && object.kind !== 'CronJob')) return [];
  const own = isTable(object.metadata) ? object.metadata.namespace : undefined;
  const at = typeof own === 'string' && own !== '' ? own : namespace;
  const out: ExistingObject[] = [];
  for (const container of containersOf(object)) {
    const args = argv(container);
    if (args.includes('redis-initial-password')) {
      out.push({ kind: 'Secret', namespace: at, name: 'argocd-redis', keys: ['auth'] });
    }
    const config = list(container.env).find(
      (env): env is Table => isTable(env) && env.name === 'CILIUM_CERTGEN_CONFIG',
    );
    if (config === undefined || typeof config.value !== 'string') continue;
    const parsed = parseYaml(config.value) as { certs?: unknown };
    for (const cert of list(parsed?.certs)) {
      if (!isTable(cert) || typeof cert.name !== 'string') continue;
      const certNamespace = typeof cert.namespace === 'string' ? cert.namespace : at;
      out.push({
        kind: 'Secret',
        namespace: certNamespace,
        name: cert.name,
        keys: ['ca.crt', 'tls.crt', 'tls.key'],
      });
    }
    const flag = (name: string) =>
      args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
    const caName = flag('ca-secret-name');
    if (caName !== undefined && flag('ca-generate') === 'true') {
      out.push({
        kind: 'Secret',
        namespace: flag('ca-secret-namespace') ?? at,
        name: caName,
        keys: ['ca.crt', 'ca.key'],
      });
    }
  }
  return out;
}
