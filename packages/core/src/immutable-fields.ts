// Fields the API server never lets an update change: a commit that changes one in a generated
// chart never syncs. Argo CD v3.4.4 applies the object (client-side `kubectl apply`, or a
// server-side apply), the API server refuses it (`field is immutable`, `spec is immutable after
// creation …`, `cannot change roleRef`), and the automated sync retries the refused apply without
// end while the Application stays OutOfSync. Argo CD deletes and creates the object instead only
// with `Replace=true,Force=true` in its own sync options (gitops-engine `pkg/sync/sync_context.go`:
// `kubectl replace --force`), and runs a hook anew on every sync: neither is compared here.

import type { ManifestOrigin } from './contract.js';
import type { PathSegment } from './issues.js';
import { isJson as isTable } from './json-access.js';
import { objectSyncOptions } from './sync-options.js';
import type { KubeObject } from './types.js';

/** One change of a field the API server refuses to update. */
export interface ImmutableChange {
  /** `<kind> <namespace>/<name>` (or `<kind> <name>` for a cluster-scoped object). */
  readonly object: string;
  /** The object as rendered now (one of `after`). */
  readonly subject: KubeObject;
  /** The field, e.g. `spec.storageClassName`. */
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
  /** The API server's refusal, in its words. */
  readonly refusal: string;
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isTable(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** JSON with object keys sorted: two values are the same when their canonical texts are. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isTable(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const BINARY: { readonly [suffix: string]: number } = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: { readonly [suffix: string]: number } = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A Kubernetes quantity in bytes (`20Gi`, `500M`, `1e9`); `undefined` when it is none. */
export function quantityBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|e[0-9]+)?$/.exec(value);
  if (match === null) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (suffix.startsWith('e')) return number * 10 ** Number(suffix.slice(1));
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  return factor === undefined ? undefined : number * factor;
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet']);

/** The fields of `kind` that an update may not change, with the API server's refusal. */
function immutableFields(kind: string, group: string): { path: string[]; refusal: string }[] {
  if (group === '' && kind === 'PersistentVolumeClaim') {
    const refusal =
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';
    return [
      { path: ['spec', 'storageClassName'], refusal },
      { path: ['spec', 'accessModes'], refusal },
      { path: ['spec', 'volumeMode'], refusal },
      { path: ['spec', 'selector'], refusal },
      { path: ['spec', 'dataSource'], refusal },
      { path: ['spec', 'dataSourceRef'], refusal },
    ];
  }
  if (
    group === 'rbac.authorization.k8s.io' &&
    (kind === 'RoleBinding' || kind === 'ClusterRoleBinding')
  ) {
    return [{ path: ['roleRef'], refusal: 'roleRef: Invalid value: cannot change roleRef' }];
  }
  if (group === 'apps' && WORKLOADS.has(kind)) {
    const fields = [
      { path: ['spec', 'selector'], refusal: 'spec.selector: Invalid value: field is immutable' },
    ];
    if (kind === 'StatefulSet') {
      const refusal =
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
      fields.push(
        { path: ['spec', 'volumeClaimTemplates'], refusal },
        { path: ['spec', 'serviceName'], refusal },
        { path: ['spec', 'podManagementPolicy'], refusal },
      );
    }
    return fields;
  }
  if (group === 'batch' && kind === 'Job') {
    return [
      { path: ['spec', 'template'], refusal: 'spec.template: Invalid value: field is immutable' },
      { path: ['spec', 'selector'], refusal: 'spec.selector: Invalid value: field is immutable' },
    ];
  }
  if (group === 'storage.k8s.io' && kind === 'StorageClass') {
    return [
      {
        path: ['provisioner'],
        refusal: 'provisioner: Forbidden: updates to provisioner are forbidden.',
      },
      {
        path: ['parameters'],
        refusal: 'parameters: Forbidden: updates to parameters are forbidden.',
      },
      {
        path: ['reclaimPolicy'],
        refusal: 'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.',
      },
      {
        path: ['volumeBindingMode'],
        refusal: 'volumeBindingMode: Forbidden: field is immutable',
      },
    ];
  }
  return [];
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Argo CD runs a hook anew (it is no update of the last one). */
function isHook(object: KubeObject): boolean {
  const annotations = object.metadata.annotations ?? {};
  return 'helm.sh/hook' in annotations || 'argocd.argoproj.io/hook' in annotations;
}

function identity(object: KubeObject): string {
  return `${groupOf(object.apiVersion)}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function describe(object: KubeObject): string {
  const namespace = object.metadata.namespace;
  return `${object.kind} ${namespace === undefined ? '' : `${namespace}/`}${object.metadata.name}`;
}

/** Whether an update of `object` could be refused for an immutable field `immutableChanges` reads. */
export function hasImmutableFields(object: KubeObject): boolean {
  if (isHook(object)) return false;
  const options = objectSyncOptions(object);
  if (options.includes('Replace=true') && options.includes('Force=true')) return false;
  return immutableFields(object.kind, groupOf(object.apiVersion)).length > 0;
}

/**
 * Whether an Application's `ignoreDifferences` (`ignored`, with the `RespectIgnoreDifferences=true`
 * every Application with entries syncs with) covers `field` (`['spec', 'dataSourceRef']`) of
 * `object`: Argo CD v3.4.4 then applies the live value of the field to a live object
 * (`normalizeTargetResources`), never Git's, so Git's change of it never reaches the API server.
 * An entry matches on group, kind and (where it names them) name and namespace, and covers the
 * field through a JSON pointer to it or to a parent of it.
 */
export function ignoredField(
  object: KubeObject,
  field: readonly string[],
  ignored: readonly { readonly [key: string]: unknown }[],
): boolean {
  const group = groupOf(object.apiVersion);
  const pointer = `/${field.join('/')}`;
  return ignored.some((entry) => {
    if ((typeof entry.group === 'string' ? entry.group : '') !== group) return false;
    if (entry.kind !== object.kind) return false;
    if (entry.name !== undefined && entry.name !== object.metadata.name) return false;
    if (entry.namespace !== undefined && entry.namespace !== object.metadata.namespace)
      return false;
    const pointers = Array.isArray(entry.jsonPointers) ? entry.jsonPointers : [];
    return pointers.some(
      (item) => typeof item === 'string' && (item === pointer || pointer.startsWith(`${item}/`)),
    );
  });
}

/**
 * The immutable fields that change from `before` (an object as a chart rendered it before, i.e.
 * as the cluster has it) to `after` (the same object, by group, kind, namespace and name, as the
 * chart renders it now): what Argo CD can never apply. A claim's storage request may grow (the
 * API server resizes where the class allows expansion) but not shrink. Left out: objects only on
 * one side (created or pruned), hooks, and objects that sync with `Replace=true` and `Force=true`
 * (deleted and created anew), and fields the Application ignores (`ignored`: its
 * `ignoreDifferences`, see `ignoredField`), which Argo CD leaves as the cluster has them.
 */
export function immutableChanges(
  before: readonly KubeObject[],
  after: readonly KubeObject[],
  ignored: readonly { readonly [key: string]: unknown }[] = [],
): ImmutableChange[] {
  const previous = new Map(before.map((object) => [identity(object), object]));
  const changes: ImmutableChange[] = [];
  for (const object of after) {
    const old = previous.get(identity(object));
    if (old === undefined || !hasImmutableFields(object)) continue;
    for (const { path, refusal } of immutableFields(object.kind, groupOf(object.apiVersion))) {
      const was = at(old, ...path);
      const is = at(object, ...path);
      if (canonical(was) === canonical(is)) continue;
      if (ignoredField(object, path, ignored)) continue;
      changes.push({
        object: describe(object),
        subject: object,
        field: path.join('.'),
        before: was,
        after: is,
        refusal,
      });
    }
    if (groupOf(object.apiVersion) === '' && object.kind === 'PersistentVolumeClaim') {
      const was = at(old, 'spec', 'resources', 'requests', 'storage');
      const is = at(object, 'spec', 'resources', 'requests', 'storage');
      const wasBytes = quantityBytes(was);
      const isBytes = quantityBytes(is);
      if (wasBytes !== undefined && isBytes !== undefined && isBytes < wasBytes) {
        changes.push({
          object: describe(object),
          subject: object,
          field: 'spec.resources.requests.storage',
          before: was,
          after: is,
          refusal:
            'spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
        });
      }
    }
  }
  return changes;
}

/**
 * The definition's place of the setting behind one field of an object (`spec.storageClassName`):
 * the field's own origin, else its closest listed parent's, else the object's; `undefined`
 * where the object's origin is unknown.
 */
export function fieldOrigin(
  origin: ManifestOrigin | undefined,
  field: string,
): readonly PathSegment[] | undefined {
  if (origin === undefined) return undefined;
  for (let at = field; at.length > 0; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
    const found = origin.fields?.[at];
    if (found !== undefined) return found;
  }
  return origin.path;
}
