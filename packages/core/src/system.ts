// Validation layer 4 (DESIGN.md, "Validation layers"): the platform as a whole would come up.
// Every file can pass its schema while the cluster never converges: a custom resource applied
// before its CRD, a CNI deleted by a rename, a Secret nothing creates. Each such fact is a system
// check over the platform as Argo CD will deploy it; core brings the general ones, components add
// their own (`Component.checks`). Pure.
import type { ClusterRun } from './components.js';
import type { CrdBundle, GroupKind } from './contract.js';
import { error, type Issue, type PathSegment } from './issues.js';
import type { GeneratedFile, KubeObject, ResolvedCluster, ResolvedPlatform } from './types.js';

/** An object an Application applies, and where it is generated. */
export interface DeployedObject {
  readonly object: KubeObject;
  /** e.g. `charts/argo-cd/clusters/dev.yaml#manifests.httproute-argocd-server` */
  readonly source: string;
}

/** One Application of a cluster's app-of-apps, with what it applies. */
export interface DeployedApplication {
  /** Application name without the cluster prefix (`cilium`, `gateway-api-crds`). */
  readonly name: string;
  /** The component that declared it (for a CRD bundle: the component that needs it). */
  readonly component: string;
  readonly bundle: CrdBundle | undefined;
  readonly wave: number;
  readonly namespace: string;
  /** The Argo CD Application object. */
  readonly application: KubeObject;
  /** What its chart renders on the cluster (our manifests; upstream objects are layer 5's). */
  readonly objects: readonly DeployedObject[];
  /** Kinds it installs: a bundle's CRDs, or what the component's descriptor says it installs. */
  readonly installs: readonly GroupKind[];
  /** Whether the descriptor marks it critical (the CNI, the GitOps controller). */
  readonly critical: boolean;
  /** Where the definition has what made it. */
  readonly origin: readonly PathSegment[];
}

export interface DeployedCluster {
  readonly cluster: ResolvedCluster;
  readonly run: ClusterRun;
  /** In wave order; empty when no component provides `gitops` on the cluster. */
  readonly applications: readonly DeployedApplication[];
}

export interface SystemInput {
  readonly platform: ResolvedPlatform;
  readonly clusters: readonly DeployedCluster[];
  readonly files: readonly GeneratedFile[];
}

/** One fact about the running platform, checked on everything the build generates. */
export interface SystemCheck {
  /** Stable identifier, the code of its issues: `kinds-before-use`. */
  readonly name: string;
  /** One sentence: what must hold (docs/system-checks.md lists them). */
  readonly description: string;
  check(input: SystemInput): Issue[];
  /**
   * What the check found, for `homelab validate --report` (a matrix, a summary): plain text
   * lines, without a trailing newline. Only run when asked.
   */
  report?(input: SystemInput): string[];
}

/** One check's report section. */
export interface SystemReport {
  readonly name: string;
  readonly lines: readonly string[];
}

/** API groups the API server serves without any CRD. */
const BUILT_IN_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

/** The group and kind of an object (`apiVersion: cilium.io/v2` → group `cilium.io`). */
export function groupKindOf(object: KubeObject): GroupKind {
  const slash = object.apiVersion.lastIndexOf('/');
  return { group: slash === -1 ? '' : object.apiVersion.slice(0, slash), kind: object.kind };
}

function key(kind: GroupKind): string {
  return `${kind.group}/${kind.kind}`;
}

function skipsDryRun(object: KubeObject): boolean {
  const options = object.metadata.annotations?.['argocd.argoproj.io/sync-options'] ?? '';
  return options.split(',').some((option) => option.trim() === 'SkipDryRunOnMissingResource=true');
}

/** Every kind is installed before an Application applies objects of it. */
export const kindsBeforeUse: SystemCheck = {
  name: 'kinds-before-use',
  description:
    'Every custom resource an Application applies has its CRD installed by an earlier sync wave, or by the same Application with SkipDryRunOnMissingResource (a CRD its controller registers at start).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const installers = new Map<string, DeployedApplication[]>();
      for (const app of deployed.applications) {
        for (const kind of app.installs) {
          installers.set(key(kind), [...(installers.get(key(kind)) ?? []), app]);
        }
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          const kind = groupKindOf(object);
          if (BUILT_IN_GROUPS.has(kind.group)) continue;
          const by = installers.get(key(kind)) ?? [];
          const where = { path: app.origin, output: source };
          if (by.length === 0) {
            issues.push(
              error({
                code: 'kinds-before-use',
                ...where,
                value: key(kind),
                message: `${app.name} applies a ${kind.kind} on cluster "${deployed.cluster.name}", but no Application there installs its CRD (${kind.group})`,
                expected: `a component that installs ${kind.group} enabled on the cluster, before ${app.name}`,
              }),
            );
            continue;
          }
          if (by.some((installer) => installer.wave < app.wave)) continue;
          if (by.some((installer) => installer.name === app.name) && skipsDryRun(object)) continue;
          const first = by[0] as DeployedApplication;
          issues.push(
            error({
              code: 'kinds-before-use',
              ...where,
              value: key(kind),
              message:
                first.name === app.name
                  ? `${app.name} applies a ${kind.kind} whose CRD it installs itself (cluster "${deployed.cluster.name}"), without SkipDryRunOnMissingResource: the first sync fails its dry run`
                  : `${app.name} (wave ${app.wave}) applies a ${kind.kind} whose CRD ${first.name} installs in wave ${first.wave} on cluster "${deployed.cluster.name}": not before it`,
              expected: `the CRD installed in an earlier wave than ${app.name}`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** The CNI, the CRD bundles and the GitOps controller are never cascade-deleted or pruned. */
export const criticalNotCascaded: SystemCheck = {
  name: 'critical-not-cascaded',
  description:
    'Applications the cluster cannot lose (CRD bundles, the CNI, the GitOps controller) carry no cascade-delete finalizer, and their resources are never pruned or deleted by Argo CD: removing them is a runbook step, not a commit.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        if (!app.critical && app.bundle === undefined) continue;
        const metadata = app.application.metadata;
        const finalizers = Array.isArray(metadata.finalizers)
          ? (metadata.finalizers as string[])
          : [];
        if (finalizers.includes(RESOURCES_FINALIZER)) {
          issues.push(
            error({
              code: 'critical-not-cascaded',
              path: app.origin,
              output: `Application ${app.application.metadata.name}`,
              message: `carries ${RESOURCES_FINALIZER}: deleting or renaming it would delete what ${app.name} runs, and cluster "${deployed.cluster.name}" cannot work without it`,
              expected: 'no resources finalizer on a critical Application',
            }),
          );
        }
        const annotations = (app.application.metadata.annotations ?? {}) as {
          [key: string]: string;
        };
        const options = annotations['argocd.argoproj.io/sync-options'] ?? '';
        const spec = app.application.spec as
          | { syncPolicy?: { syncOptions?: string[] } }
          | undefined;
        const all = [...options.split(','), ...(spec?.syncPolicy?.syncOptions ?? [])].map((o) =>
          o.trim(),
        );
        if (!all.includes('Prune=false') || !all.includes('Delete=false')) {
          issues.push(
            error({
              code: 'critical-not-cascaded',
              path: app.origin,
              output: `Application ${app.application.metadata.name}`,
              message: `lets Argo CD prune or delete what ${app.name} runs on cluster "${deployed.cluster.name}"`,
              expected: 'sync options Prune=false and Delete=false on a critical Application',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** The checks core brings; components add their own. */
export const CORE_CHECKS: readonly SystemCheck[] = [kindsBeforeUse, criticalNotCascaded];

/** The report sections of the checks that have one, in check order. */
export function systemReports(input: SystemInput, checks: readonly SystemCheck[]): SystemReport[] {
  const out: SystemReport[] = [];
  for (const check of checks) {
    if (check.report === undefined) continue;
    out.push({ name: check.name, lines: check.report(input) });
  }
  return out;
}

/** Every check's issues, in check order. */
export function runSystemChecks(input: SystemInput, checks: readonly SystemCheck[]): Issue[] {
  return checks.flatMap((check) => check.check(input));
}
