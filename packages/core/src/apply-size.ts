// What a client-side apply adds to an object's annotations, and whether that still fits.
//
// `kubectl apply` without `--server-side`, which Argo CD runs unless an Application or the object
// asks for `ServerSideApply=true`, stores the whole object it applied in the annotation
// `kubectl.kubernetes.io/last-applied-configuration` (k8s.io/kubectl `util.GetModifiedConfiguration`:
// the object without that annotation, encoded as JSON by `encoding/json`, newline included). The
// API server refuses an object whose annotations, keys and values, sum to more than 256 KiB
// (k8s.io/apimachinery `ValidateAnnotationsSize`, `TotalAnnotationSizeLimitB`): large CRDs and big
// ConfigMaps fail the sync with `metadata.annotations: Too long: must have at most 262144 bytes`.
// Argo CD 3 tracks what it applied with the annotation `argocd.argoproj.io/tracking-id`
// (`<application>:<group>/<kind>:<namespace>/<name>`), which it adds before applying, so it
// counts twice: as an annotation and inside the stored object. Pure.
import { objectSyncOptions } from './sync-options.js';
import type { KubeObject, Values } from './types.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';
/** `TotalAnnotationSizeLimitB`: 256 KiB for all of an object's annotations, keys and values. */
export const ANNOTATIONS_LIMIT_BYTES = 256 * 1024;

/**
 * Bytes of `value` as Go's `encoding/json` writes it: compact, UTF-8, and with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped as `\u003c` … (`json.Encoder` escapes HTML by default), which
 * `JSON.stringify` leaves as they are.
 */
export function goJsonBytes(value: unknown): number {
  const text = JSON.stringify(value) ?? 'null';
  // One byte each (three for U+2028/9) that Go writes as six.
  const html = text.match(/[<>&]/g)?.length ?? 0;
  const separators = text.match(/[\u2028\u2029]/g)?.length ?? 0;
  return Buffer.byteLength(text, 'utf8') + 5 * html + 3 * separators;
}

/** Argo CD's tracking id of `object` applied by `application` into `namespace` (its default). */
export function trackingId(application: string, object: KubeObject, namespace: string): string {
  const slash = object.apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : object.apiVersion.slice(0, slash);
  return `${application}:${group}/${object.kind}:${object.metadata.namespace ?? namespace}/${object.metadata.name}`;
}

/**
 * The bytes of `object`'s annotations once Argo CD (annotation tracking, `tracking`) and a
 * client-side apply have added theirs. An upper bound by at most the namespace's length: the
 * tracking id of a cluster-scoped object carries no namespace, and which kinds are cluster-scoped
 * is the API server's to say.
 */
export function clientSideApplyAnnotationBytes(object: KubeObject, tracking: string): number {
  const annotations: Record<string, string> = { ...(object.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED_ANNOTATION];
  annotations[TRACKING_ANNOTATION] = tracking;
  const applied: Values = {
    ...(object as unknown as Values),
    metadata: { ...(object.metadata as Values), annotations },
  };
  // The stored object, its newline, and the annotation's key.
  let bytes = goJsonBytes(applied) + 1 + LAST_APPLIED_ANNOTATION.length;
  for (const [key, value] of Object.entries(annotations)) {
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return bytes;
}

function syncOptions(values: unknown): string[] {
  return Array.isArray(values)
    ? values.filter((item): item is string => typeof item === 'string').map((item) => item.trim())
    : [];
}

/**
 * Whether Argo CD applies `object` without a last-applied annotation: server-side
 * (`ServerSideApply=true`) or by replacing it (`Replace=true`), asked by the Application's
 * `syncPolicy.syncOptions` or by the object's `argocd.argoproj.io/sync-options` annotation.
 */
export function appliedWithoutLastApplied(application: KubeObject, object: KubeObject): boolean {
  const spec = (application as unknown as { spec?: { syncPolicy?: { syncOptions?: unknown } } })
    .spec;
  const options = [...syncOptions(spec?.syncPolicy?.syncOptions), ...objectSyncOptions(object)];
  return options.includes('ServerSideApply=true') || options.includes('Replace=true');
}

/** One object that a client-side apply would make too large. */
export interface OversizedApply {
  readonly object: KubeObject;
  readonly bytes: number;
}

/**
 * The objects `application` would fail to apply client-side: those applied with a last-applied
 * annotation whose annotations would exceed {@link ANNOTATIONS_LIMIT_BYTES}. `namespace` is the
 * Application's destination namespace (the namespace of objects that name none).
 */
export function oversizedClientSideApplies(
  application: KubeObject,
  objects: readonly KubeObject[],
  namespace: string,
): OversizedApply[] {
  const out: OversizedApply[] = [];
  for (const object of objects) {
    if (appliedWithoutLastApplied(application, object)) continue;
    const tracking = trackingId(application.metadata.name, object, namespace);
    const bytes = clientSideApplyAnnotationBytes(object, tracking);
    if (bytes > ANNOTATIONS_LIMIT_BYTES) out.push({ object, bytes });
  }
  return out;
}
