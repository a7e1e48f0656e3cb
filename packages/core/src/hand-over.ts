// What the runbook installs by hand before Argo CD adopts it (Cilium, CoreDNS, Argo CD itself,
// the CRD bundles), applied so that Argo CD owns every field of it from the start.
//
// A server-side apply records its field manager as the owner of every field it set. Argo CD
// applies server-side as `argocd-controller` (argo-cd v3.4.4 `common.ArgoCDSSAManager`) with
// `--force-conflicts` (gitops-engine `pkg/utils/kube/resource_ops.go`). It takes over only the
// fields of client-side managers (operation `Update`, `kubectl-client-side-apply` unless the
// Application says otherwise: gitops-engine `pkg/sync/sync_context.go`,
// `needsClientSideApplyMigration`); a field owned by another server-side manager stays co-owned.
// When a later version of a chart drops such a field, Argo CD gives up its share and the API
// server keeps the field, because the other manager still owns it (Kubernetes "Server-Side
// Apply": a field removed from a manifest is deleted only if no other field manager owns it;
// kubernetes/kubernetes#99003, fluxcd/kustomize-controller#486). `kubectl apply --server-side`
// applies as `kubectl`: every field of a hand install would stay forever, and Argo CD's
// structured-merge diff, which keeps other managers' fields, would report the object Synced.
// Applied as `argocd-controller`, the hand install is Argo CD's own first apply.
//
// The namespaces exist before anything is installed by hand (the runbook applies
// `namespaces.yaml`, the root Application's Namespaces, with their Pod Security labels and Argo
// CD's annotations). A step that needs a namespace makes it only where it is missing: the idiom
// `kubectl create namespace x --dry-run=client -o yaml | kubectl apply -f -` is a client-side apply
// of a bare Namespace, whose three-way merge deletes every label and annotation the previous
// apply (`namespaces.yaml`, or Argo CD's own, recorded in
// `kubectl.kubernetes.io/last-applied-configuration`) set: the Pod Security labels, the root's
// `Prune=false,Delete=false`, Argo CD's tracking id (k8s.io/kubectl `pkg/cmd/apply/patcher.go`,
// `CreateThreeWayMergePatch` from the last-applied configuration). Pure.

import { LAST_APPLIED_ANNOTATION } from './apply-size.js';
import { shellQuote } from './yaml.js';

/** The field manager Argo CD applies server-side with (argo-cd v3.4.4 `common.ArgoCDSSAManager`). */
export const GITOPS_FIELD_MANAGER = 'argocd-controller';

/** The server-side apply of a hand install that Argo CD adopts later. */
export const HAND_OVER_APPLY = `kubectl apply --server-side --field-manager=${GITOPS_FIELD_MANAGER}`;

/** `kubectl apply` of `target` (a file, a URL, or `-`) as Argo CD's field manager. */
export function handOverApply(target: string): string {
  return `${HAND_OVER_APPLY} -f ${target}`;
}

/**
 * The apply a Secret made by hand is piped into (`kubectl create secret … --dry-run=client -o yaml
 * | …`). Server-side: a client-side apply (`kubectl apply -f -`) stores the whole object, its
 * values included, in the `kubectl.kubernetes.io/last-applied-configuration` annotation, where
 * whoever may read the Secret's metadata reads the token too. kubectl's own field manager, not
 * Argo CD's: Argo CD never adopts a hand-made Secret. `--force-conflicts`: a run again with a new
 * value (a rotated token) of a Secret an earlier `kubectl create` or client-side apply made would
 * otherwise conflict with that manager's ownership of the value; the Secret has no other writer.
 */
export const SECRET_APPLY = 'kubectl apply --server-side --force-conflicts -f -';

/**
 * Removes the last-applied copy an earlier client-side apply left on `namespace/name` (a Secret
 * whose values it holds); nothing happens where there is none.
 */
export function dropLastApplied(namespace: string, kind: string, name: string): string {
  return `kubectl -n ${shellQuote(namespace)} annotate ${kind} ${shellQuote(name)} ${LAST_APPLIED_ANNOTATION}-`;
}

/**
 * Creates `namespace` where it is missing and leaves an existing one as it is (its labels and
 * annotations, which a client-side apply of a bare Namespace would delete).
 */
export function ensureNamespace(namespace: string): string {
  const name = shellQuote(namespace);
  return `kubectl get namespace ${name} >/dev/null 2>&1 || kubectl create namespace ${name}`;
}
