// Volume claims a build takes away from a running cluster, found by comparing each cluster's
// PersistentVolumeClaims as the last build's charts render them with the claims rendered now.
// A claim the platform generates syncs with `Prune=false,Delete=false` (the storage provider's
// volume claims, `persistentVolumeClaim` in packages/longhorn/src/manifests.ts): Argo CD v3.4.4
// never deletes it, so a claim the definition no longer has stays on the cluster with its volume
// and data, and nothing mounts or backs it up any more. (One without `Prune=false` is pruned, its
// volume with it where its class deletes on release: the messages say which.)
// - `volume-claim-moved` (an error): a claim of the same name appears in another namespace of the
//   same cluster (an application renamed, so its namespace with it, or given another
//   `namespace`). The new claim is another volume: it starts empty (a volume with backups is
//   filled from the restic repository of its new place, which no backup ever wrote), while the
//   application's data stays behind in the old claim.
// - `volume-claim-left` (a warning): any other claim gone (a volume or an application removed,
//   a volume renamed): its data stays, and its space stays taken, until it is deleted by hand.
// Pure: the pipeline renders both sides (`generate`, with `previousChart`).
import {
  type ChangedObject,
  error,
  type Issue,
  type KubeObject,
  objectSyncOptions,
  type PathSegment,
  warning,
} from '@homelab/core';

/** One PersistentVolumeClaim of a cluster, with the chart that deploys it (core's `ChangedObject`). */
export type DeployedClaim = ChangedObject;

/** How to build anyway, where the move is meant. */
const ALLOW = 'build with --allow-immutable-changes (it skips this comparison with the last build)';

function isClaim(object: KubeObject): boolean {
  return object.apiVersion === 'v1' && object.kind === 'PersistentVolumeClaim';
}

/** What Argo CD does with a claim gone from Git, in words. */
function fate(object: KubeObject): string {
  return objectSyncOptions(object).includes('Prune=false')
    ? 'Argo CD leaves it on the cluster with its data (the claim syncs with Prune=false)'
    : 'Argo CD prunes it (the Application syncs with prune), its volume and data with it where its class deletes on release';
}

function claimName(object: KubeObject): string {
  return `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
}

/**
 * The claims of one cluster that the last build deployed (`before`) and this one does not
 * (`after`): moved to another namespace under the same name, an error at the new claim's
 * setting; otherwise left on the cluster, a warning at `fallback` (the cluster's settings of the
 * chart's component: the volume itself is gone from the definition). Only what is in `before`
 * and not in `after` counts: unchanged charts need not be given at all.
 */
export function claimChangeIssues(
  cluster: { readonly name: string },
  before: readonly DeployedClaim[],
  after: readonly DeployedClaim[],
  fallback: (chart: string) => readonly PathSegment[],
): Issue[] {
  const now = new Map<string, DeployedClaim>();
  for (const claim of after) if (isClaim(claim.object)) now.set(claimName(claim.object), claim);
  const was = new Set(
    before.filter((claim) => isClaim(claim.object)).map((claim) => claimName(claim.object)),
  );
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const claim of before) {
    if (!isClaim(claim.object)) continue;
    const old = claimName(claim.object);
    if (now.has(old) || seen.has(old)) continue;
    seen.add(old);
    const { name } = claim.object.metadata;
    const namespace = claim.object.metadata.namespace ?? 'default';
    const moved = [...now.values()].find(
      (candidate) =>
        candidate.object.metadata.name === name && !was.has(claimName(candidate.object)),
    );
    if (moved !== undefined) {
      const target = claimName(moved.object);
      issues.push(
        error({
          code: 'volume-claim-moved',
          path: moved.origin ?? fallback(moved.chart),
          // The chart, not the cluster's layer: one move on several clusters reads once.
          output: `charts/${moved.chart}`,
          value: target,
          message: `would replace the volume claim ${old}, which the last build deployed on cluster "${cluster.name}": another namespace makes another volume. For ${old}, ${fate(claim.object)}; ${target} starts empty (with backups, its restore reads the restic repository of ${target}, to which no backup was ever written)`,
          expected: `the claim kept in namespace "${namespace}" (an application renamed: give it \`namespace: ${namespace}\`); to move the data on purpose, ${ALLOW}, stop the workloads, copy the data from ${old} into ${target} before they start there${objectSyncOptions(claim.object).includes('Prune=false') ? `, then delete ${old} by hand (\`kubectl -n ${namespace} delete persistentvolumeclaim ${name}\`)` : ''}`,
        }),
      );
      continue;
    }
    const kept = objectSyncOptions(claim.object).includes('Prune=false');
    issues.push(
      warning({
        code: 'volume-claim-left',
        path: fallback(claim.chart),
        output: `charts/${claim.chart}`,
        value: old,
        message: `is a volume claim the last build deployed on cluster "${cluster.name}" that this build no longer has: ${fate(claim.object)}${kept ? ', and nothing mounts it or backs it up any more' : ''}`,
        expected: kept
          ? `the volume kept in the definition while its data is needed; once it is not, delete the claim by hand (\`kubectl -n ${namespace} delete persistentvolumeclaim ${name}\`; where its class deletes on release, its volume and data go with it)`
          : 'the volume kept in the definition while its data is needed',
      }),
    );
  }
  return issues;
}
