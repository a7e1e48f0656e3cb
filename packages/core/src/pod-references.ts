// What a pod names that must exist before it runs: its ServiceAccount, PriorityClass and
// RuntimeClass (the API server's admission plugins refuse the pod without them, so its controller
// never creates it), the ConfigMaps and Secrets of its volumes and environment (the kubelet leaves
// it in ContainerCreating or CreateContainerConfigError), and the PersistentVolumeClaims it mounts
// (the scheduler leaves it Pending). Pure: no fs, no env, no clock.
//
// Reads a pod spec as written in a manifest (`podTemplateOf`), as the Kubernetes API defines
// those fields (k8s.io/api core/v1 `PodSpec`, `Volume`, `EnvVar`, `EnvFromSource`); a reference
// marked `optional: true` is left out (the kubelet runs the pod without it).
import { isJson as isTable, list, type Json as Table } from './json-access.js';
import { podTemplateOf } from './pod-security.js';
import { compareStrings } from './yaml.js';

export type PodReferenceKind =
  | 'ServiceAccount'
  | 'PriorityClass'
  | 'RuntimeClass'
  | 'ConfigMap'
  | 'Secret'
  | 'PersistentVolumeClaim';

/** One object a pod names. */
export interface PodReference {
  readonly kind: PodReferenceKind;
  /** The pod's namespace; `''` for the cluster-scoped PriorityClass and RuntimeClass. */
  readonly namespace: string;
  readonly name: string;
  /** The key of a ConfigMap or Secret it reads (`configMapKeyRef`, a volume's `items`). */
  readonly key?: string;
  /** Where in the pod spec, e.g. `volumes[2].configMap` or `containers[0].env[1]`. */
  readonly path: string;
}

/** What happens to a pod whose `reference` does not exist (or lacks the key it reads). */
export function missingEffect(reference: PodReference): string {
  switch (reference.kind) {
    case 'ServiceAccount':
      return 'the API server refuses the pod (ServiceAccount admission: "error looking up service account"), so its controller never creates it';
    case 'PriorityClass':
      return 'the API server refuses the pod (Priority admission: "no PriorityClass with name … was found"), so its controller never creates it';
    case 'RuntimeClass':
      return 'the API server refuses the pod (RuntimeClass admission), so its controller never creates it';
    case 'PersistentVolumeClaim':
      return 'the scheduler leaves the pod Pending';
    default:
      if (reference.path.endsWith('.subPath')) {
        return 'the kubelet mounts an empty directory where the container expects the file';
      }
      return reference.path.includes('.env')
        ? 'the kubelet does not start the container (CreateContainerConfigError)'
        : 'the kubelet cannot mount the volume: the pod stays in ContainerCreating (FailedMount)';
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const optional = (ref: Table): boolean => ref.optional === true;

/** The keys a volume source's `items` project (none: the whole object). */
function itemKeys(source: Table): (string | undefined)[] {
  const keys = list(source.items).flatMap((item) =>
    isTable(item) && text(item.key) !== undefined ? [item.key as string] : [],
  );
  return keys.length > 0 ? keys : [undefined];
}

/**
 * The objects `object`'s pod names, when it is a workload (`podTemplateOf`), in `namespace` (the
 * namespace it is applied to). Empty for any other object.
 */
export function podReferences(object: unknown, namespace: string): PodReference[] {
  const template = podTemplateOf(object);
  if (template === undefined) return [];
  const spec = template.spec as Table;
  const out: PodReference[] = [];
  const add = (kind: PodReferenceKind, name: string, path: string, key?: string): void => {
    const scoped = kind === 'PriorityClass' || kind === 'RuntimeClass' ? '' : namespace;
    out.push({ kind, namespace: scoped, name, path, ...(key === undefined ? {} : { key }) });
  };
  const account = text(spec.serviceAccountName) ?? text(spec.serviceAccount);
  if (account !== undefined) {
    add(
      'ServiceAccount',
      account,
      text(spec.serviceAccountName) ? 'serviceAccountName' : 'serviceAccount',
    );
  }
  const priority = text(spec.priorityClassName);
  if (priority !== undefined) add('PriorityClass', priority, 'priorityClassName');
  const runtime = text(spec.runtimeClassName);
  if (runtime !== undefined) add('RuntimeClass', runtime, 'runtimeClassName');

  list(spec.volumes).forEach((volume, index) => {
    if (!isTable(volume)) return;
    const at = `volumes[${index}]`;
    const configMap = volume.configMap;
    if (isTable(configMap) && text(configMap.name) && !optional(configMap)) {
      for (const key of itemKeys(configMap)) {
        add('ConfigMap', configMap.name as string, `${at}.configMap`, key);
      }
    }
    const secret = volume.secret;
    if (isTable(secret) && text(secret.secretName) && !optional(secret)) {
      for (const key of itemKeys(secret)) {
        add('Secret', secret.secretName as string, `${at}.secret`, key);
      }
    }
    const claim = volume.persistentVolumeClaim;
    if (isTable(claim) && text(claim.claimName)) {
      add('PersistentVolumeClaim', claim.claimName as string, `${at}.persistentVolumeClaim`);
    }
    const projected = volume.projected;
    if (isTable(projected)) {
      list(projected.sources).forEach((source, sourceIndex) => {
        if (!isTable(source)) return;
        const sourceAt = `${at}.projected.sources[${sourceIndex}]`;
        for (const kind of ['configMap', 'secret'] as const) {
          const ref = source[kind];
          if (!isTable(ref) || !text(ref.name) || optional(ref)) continue;
          for (const key of itemKeys(ref)) {
            add(
              kind === 'configMap' ? 'ConfigMap' : 'Secret',
              ref.name as string,
              `${sourceAt}.${kind}`,
              key,
            );
          }
        }
      });
    }
  });

  for (const field of ['initContainers', 'containers'] as const) {
    list(spec[field]).forEach((container, index) => {
      if (!isTable(container)) return;
      const at = `${field}[${index}]`;
      list(container.env).forEach((env, envIndex) => {
        const from = isTable(env) ? env.valueFrom : undefined;
        if (!isTable(from)) return;
        for (const [kind, field] of [
          ['ConfigMap', 'configMapKeyRef'],
          ['Secret', 'secretKeyRef'],
        ] as const) {
          const ref = from[field];
          if (!isTable(ref) || !text(ref.name) || optional(ref)) continue;
          add(kind, ref.name as string, `${at}.env[${envIndex}].valueFrom.${field}`, text(ref.key));
        }
      });
      list(container.envFrom).forEach((envFrom, envIndex) => {
        if (!isTable(envFrom)) return;
        for (const [kind, field] of [
          ['ConfigMap', 'configMapRef'],
          ['Secret', 'secretRef'],
        ] as const) {
          const ref = envFrom[field];
          if (!isTable(ref) || !text(ref.name) || optional(ref)) continue;
          add(kind, ref.name as string, `${at}.envFrom[${envIndex}].${field}`);
        }
      });
      // A file mounted alone (`subPath`) from a whole ConfigMap or Secret volume (no `items`):
      // the file is the key of that name. Without it the kubelet makes an empty directory there.
      list(container.volumeMounts).forEach((mount, mountIndex) => {
        if (!isTable(mount) || text(mount.subPath) === undefined) return;
        const volume = list(spec.volumes).find(
          (candidate) => isTable(candidate) && candidate.name === mount.name,
        );
        if (!isTable(volume)) return;
        const key = (mount.subPath as string).split('/')[0] as string;
        for (const [kind, source, name] of [
          ['ConfigMap', volume.configMap, 'name'],
          ['Secret', volume.secret, 'secretName'],
        ] as const) {
          if (!isTable(source) || !text(source[name]) || optional(source)) continue;
          if (list(source.items).length > 0) continue;
          add(kind, source[name] as string, `${at}.volumeMounts[${mountIndex}].subPath`, key);
        }
      });
    });
  }
  return out;
}

/** An object the cluster will have: rendered, made by a controller, or there from the start. */
export interface ExistingObject {
  readonly kind: PodReferenceKind;
  readonly namespace: string;
  readonly name: string;
  /** Its keys, when known (a ConfigMap's or Secret's data); `undefined`: any key. */
  readonly keys?: readonly string[];
}

/**
 * What every cluster has without anyone applying it: the `default` ServiceAccount and the
 * `kube-root-ca.crt` ConfigMap (key `ca.crt`) in every namespace (kube-controller-manager's
 * serviceaccount and root-ca-cert-publisher controllers), and the two system PriorityClasses
 * (kube-apiserver's scheduling post-start hook).
 */
export function builtInObjects(namespaces: Iterable<string>): ExistingObject[] {
  const out: ExistingObject[] = [
    { kind: 'PriorityClass', namespace: '', name: 'system-cluster-critical' },
    { kind: 'PriorityClass', namespace: '', name: 'system-node-critical' },
  ];
  for (const namespace of namespaces) {
    out.push({ kind: 'ServiceAccount', namespace, name: 'default' });
    out.push({ kind: 'ConfigMap', namespace, name: 'kube-root-ca.crt', keys: ['ca.crt'] });
  }
  return out;
}

/** The object an applied object is, as a pod may name it (`undefined`: another kind). */
export function existingObjectOf(object: unknown, namespace: string): ExistingObject | undefined {
  if (!isTable(object) || !isTable(object.metadata)) return undefined;
  const name = text(object.metadata.name);
  if (name === undefined) return undefined;
  const kind = object.kind;
  const core = object.apiVersion === 'v1';
  const namespaced = text(object.metadata.namespace) ?? namespace;
  if (core && (kind === 'ConfigMap' || kind === 'Secret')) {
    const keys = [object.data, object.binaryData, object.stringData].flatMap((part) =>
      isTable(part) ? Object.keys(part) : [],
    );
    return { kind, namespace: namespaced, name, keys };
  }
  if (core && (kind === 'ServiceAccount' || kind === 'PersistentVolumeClaim')) {
    return { kind, namespace: namespaced, name };
  }
  if (kind === 'PriorityClass' && object.apiVersion === 'scheduling.k8s.io/v1') {
    return { kind, namespace: '', name };
  }
  if (kind === 'RuntimeClass' && object.apiVersion === 'node.k8s.io/v1') {
    return { kind, namespace: '', name };
  }
  return undefined;
}

/** A reference nothing satisfies, with the workload that makes it. */
export interface UnresolvedPodReference {
  readonly workload: string;
  readonly reference: PodReference;
  /** Why it fails: no such object, or the object lacks the key. */
  readonly problem: string;
}

/**
 * The references of `workloads`' pods that no object of `existing` satisfies: no object of that
 * kind, namespace and name, or one whose known keys lack the key read. Sorted by workload, then
 * path.
 */
export function unresolvedPodReferences(
  workloads: readonly { readonly namespace: string; readonly object: unknown }[],
  existing: readonly ExistingObject[],
): UnresolvedPodReference[] {
  const byId = new Map<string, ExistingObject[]>();
  for (const object of existing) {
    const id = `${object.kind}/${object.namespace}/${object.name}`;
    byId.set(id, [...(byId.get(id) ?? []), object]);
  }
  const out: UnresolvedPodReference[] = [];
  const reported = new Set<string>();
  for (const { namespace, object } of workloads) {
    const meta = (object as { metadata?: Table } | null)?.metadata ?? {};
    const workloadNamespace = text(meta.namespace) ?? namespace;
    const references = podReferences(object, workloadNamespace);
    if (references.length === 0) continue;
    const workload = `${String((object as { kind?: unknown }).kind)} ${workloadNamespace}/${String(meta.name)}`;
    for (const reference of references) {
      const found = byId.get(`${reference.kind}/${reference.namespace}/${reference.name}`);
      const at =
        reference.namespace === '' ? reference.name : `${reference.namespace}/${reference.name}`;
      if (found === undefined) {
        // Once per place, not per key it projects.
        const id = `${workload}\0${reference.path}`;
        if (!reported.has(id))
          out.push({ workload, reference, problem: `no ${reference.kind} ${at}` });
        reported.add(id);
        continue;
      }
      const key = reference.key;
      if (key === undefined) continue;
      if (found.some(({ keys }) => keys === undefined || keys.includes(key))) continue;
      out.push({ workload, reference, problem: `${reference.kind} ${at} has no key "${key}"` });
    }
  }
  return out.sort(
    (a, b) =>
      compareStrings(a.workload, b.workload) || compareStrings(a.reference.path, b.reference.path),
  );
}

/** A probe or lifecycle hook that names a port its container does not declare. */
export interface UnresolvedProbePort {
  readonly workload: string;
  /** e.g. `containers[0].readinessProbe.httpGet.port`. */
  readonly path: string;
  readonly port: string;
  /** What the kubelet does about it. */
  readonly effect: string;
}

const PROBE_EFFECT: { readonly [field: string]: string } = {
  readinessProbe: 'the pod never becomes Ready (no endpoints; a rollout waits on it)',
  livenessProbe: 'the kubelet restarts the container after every failureThreshold probes',
  startupProbe: 'the kubelet kills the container once failureThreshold probes have failed',
  postStart: 'the kubelet kills the container (FailedPostStartHook)',
  preStop: 'the hook fails on every stop (FailedPreStopHook)',
};

/**
 * The probes (readiness, liveness, startup) and lifecycle hooks (postStart, preStop) of a
 * workload's containers (init containers too: a sidecar's probes run) whose `httpGet` or
 * `tcpSocket` port is a name its own container does not declare in `ports` and not a number
 * written as text: the kubelet resolves it in that container only
 * (k8s.io/kubernetes pkg/probe `ResolveContainerPort`, pkg/kubelet/lifecycle `resolvePort`), and
 * fails the probe or hook with "port … not found". The API server only checks the name's form.
 */
export function unresolvedProbePorts(object: unknown, namespace: string): UnresolvedProbePort[] {
  const template = podTemplateOf(object);
  if (template === undefined) return [];
  const meta = isTable((object as Table).metadata) ? ((object as Table).metadata as Table) : {};
  const workload = `${String((object as Table).kind)} ${text(meta.namespace) ?? namespace}/${String(meta.name)}`;
  const out: UnresolvedProbePort[] = [];
  for (const field of ['initContainers', 'containers'] as const) {
    list(template.spec[field]).forEach((container, index) => {
      if (!isTable(container)) return;
      const names = new Set(
        list(container.ports).flatMap((port) =>
          isTable(port) && text(port.name) !== undefined ? [port.name as string] : [],
        ),
      );
      const handlers: [string, string, unknown][] = [
        ...(['readinessProbe', 'livenessProbe', 'startupProbe'] as const).map(
          (probe): [string, string, unknown] => [probe, probe, container[probe]],
        ),
        ...(['postStart', 'preStop'] as const).map((hook): [string, string, unknown] => [
          hook,
          `lifecycle.${hook}`,
          isTable(container.lifecycle) ? container.lifecycle[hook] : undefined,
        ]),
      ];
      for (const [kind, at, handler] of handlers) {
        if (!isTable(handler)) continue;
        for (const action of ['httpGet', 'tcpSocket'] as const) {
          const port = isTable(handler[action]) ? handler[action].port : undefined;
          if (typeof port !== 'string' || names.has(port) || /^\d+$/.test(port)) continue;
          out.push({
            workload,
            path: `${field}[${index}].${at}.${action}.port`,
            port,
            effect: PROBE_EFFECT[kind] as string,
          });
        }
      }
    });
  }
  return out;
}
