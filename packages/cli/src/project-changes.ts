// AppProjects for the user's own Applications (the workload projects a component declares,
// `workloadProjects`, which the GitOps provider renders labelled `homelab.dev/workload-namespace`)
// that the last build deployed on a cluster and this one no longer has: an application removed
// or renamed takes its project with it at the root's next sync. Argo CD v3.4.4 neither
// reconciles nor deletes an Application whose project is gone (`finalizeApplicationDeletion`
// returns the project's lookup error), and the namespace stays (`Prune=false,Delete=false`), so
// an Application of the user's still in the project stays, with what it deployed, until its
// finalizer is taken off by hand. `workload-project-removed`, a warning: the build writes; the
// user deletes those Applications before the commit syncs. Pure: the pipeline renders both
// sides (`generate`, with `previousChart`).
import { WORKLOAD_PROJECT_LABEL } from '@homelab/argocd-apps';
import {
  type ChangedObject,
  compareStrings,
  type Issue,
  type KubeObject,
  type PathSegment,
  warning,
} from '@homelab/core';

function isWorkloadProject(object: KubeObject): boolean {
  return (
    object.apiVersion === 'argoproj.io/v1alpha1' &&
    object.kind === 'AppProject' &&
    typeof object.metadata.labels?.[WORKLOAD_PROJECT_LABEL] === 'string'
  );
}

/**
 * The workload projects of one cluster that the last build deployed (`before`) and this one does
 * not (`after`), each a warning at `path` (where the cluster's workload projects are declared:
 * the project itself is gone from the definition). Only what is in `before` counts.
 */
export function projectChangeIssues(
  cluster: { readonly name: string },
  before: readonly ChangedObject[],
  after: readonly ChangedObject[],
  path: readonly PathSegment[],
): Issue[] {
  const now = new Set(
    after
      .filter(({ object }) => isWorkloadProject(object))
      .map(({ object }) => `${object.metadata.namespace ?? ''}/${object.metadata.name}`),
  );
  const gone = new Map<string, ChangedObject>();
  for (const entry of before) {
    const { object } = entry;
    if (!isWorkloadProject(object)) continue;
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (!now.has(key) && !gone.has(key)) gone.set(key, entry);
  }
  return [...gone.keys()].sort(compareStrings).map((key) => {
    const { chart, object } = gone.get(key) as ChangedObject;
    const { name } = object.metadata;
    const argocd = object.metadata.namespace ?? 'argocd';
    const workloads = object.metadata.labels?.[WORKLOAD_PROJECT_LABEL] ?? '';
    return warning({
      code: 'workload-project-removed',
      path: [...path],
      output: `charts/${chart}`,
      value: name,
      message: `is the AppProject for your own Applications in namespace "${workloads}" that the last build deployed on cluster "${cluster.name}" and this build removes (its application removed or renamed): the root's next sync deletes it, and Argo CD v3.4.4 neither reconciles nor deletes an Application whose project is gone, so one of yours still in it stays, with what it deployed (the namespace stays too), until its finalizer is taken off by hand`,
      expected: `your Applications in project "${name}" deleted before this change syncs (\`kubectl -n ${argocd} get applications.argoproj.io -o custom-columns=NAME:.metadata.name,PROJECT:.spec.project\` lists them with their project; \`kubectl -n ${argocd} delete applications.argoproj.io <name>\` deletes one with what it deployed); one left behind afterwards: \`kubectl -n ${argocd} patch applications.argoproj.io <name> --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]'\`, then what it deployed deleted by hand`,
    });
  });
}
