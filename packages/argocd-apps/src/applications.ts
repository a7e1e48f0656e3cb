// charts/platform, the app-of-apps umbrella chart, and the root Application of every cluster,
// assembled from what the components declared (Application descriptors, CRD bundles) and the
// order their capabilities put them in. Pure; imports no component.
import type {
  ApplicationDescriptor,
  BootstrapStep,
  ChartSpec,
  ClusterRun,
  ComponentsResult,
  CrdBundle,
  DeployedApplication,
  EnvironmentName,
  GeneratedFile,
  GroupKind,
  Issue,
  KubeObject,
  PathSegment,
  PodSecurityLevel,
  ResolvedCluster,
  ResolvedPlatform,
  Values,
  WorkloadProject,
} from '@homelab/core';
import {
  applicationName,
  applicationRetry,
  applicationSyncOptions,
  chartFilePaths,
  compareStrings,
  DEFAULT_GENERATED_BY,
  dependencyLayers,
  error,
  formatCycle,
  generatedHeader,
  groupKindOf,
  mergeValuesShared,
  PLATFORM_CHART,
  ROOT_TARGET_REVISION,
  rootApplicationName,
  rootRevisionParameter,
  SYSTEM_NAMESPACES,
  settingsPath,
  shellQuote,
  yamlDocumentsFile,
} from '@homelab/core';
import { checkApplicationSources, checkProjectPermissions, validateArgoObjects } from './checks.js';

/** The umbrella chart: charts/platform. */
/** AppProject of an Application whose component names no purpose (the default project name). */
export const PLATFORM_PROJECT = 'platform';
/** AppProject of the CRD bundles. */
export const CRDS_PROJECT = 'crds';
/** AppProject of the root Application: it may only create namespaces, Applications and AppProjects. */
export const BOOTSTRAP_PROJECT = 'platform-bootstrap';
/** Argo CD's name for the cluster it runs in. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** Label of a workload project: the namespace it confines its Applications to. */
export const WORKLOAD_PROJECT_LABEL = 'homelab.dev/workload-namespace';

/** The values sorted and without duplicates. */
function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

interface PlannedApplication {
  readonly name: string;
  /** The component that declared it (for a CRD bundle: the component that needs it). */
  readonly component: string;
  readonly bundle: CrdBundle | undefined;
  /** No cascade delete, no prune, no delete (CRD bundles always). */
  readonly critical: boolean;
  readonly installs: readonly GroupKind[];
  readonly namespace: string;
  readonly additionalNamespaces: readonly string[];
  /** Pod Security levels of `additionalNamespaces` (default `restricted`). */
  readonly additionalPodSecurity: { readonly [namespace: string]: PodSecurityLevel };
  /** Namespaces its upstream chart renders Namespace objects for. */
  readonly chartNamespaces: readonly string[];
  readonly dependsOn: readonly string[];
  /** Its component syncs late (`syncLate`): as late as the Applications after it allow. */
  readonly late?: boolean;
  /** `undefined`: the Application does not create or label its namespace. */
  readonly podSecurity: PodSecurityLevel | undefined;
  readonly serverSideApply: boolean;
  readonly applyOutOfSyncOnly: boolean;
  readonly clusterResources: readonly GroupKind[];
  readonly ignoreDifferences: readonly Values[];
  readonly source: Values;
  /** The chart it deploys, absent for a CRD bundle. */
  readonly chart: string | undefined;
  /** The place of the definition it comes from, for issues. */
  readonly origin: readonly PathSegment[];
  /** The AppProject it belongs to (one per purpose). */
  readonly project: string;
  /** Namespaced kinds its upstream chart renders, when the component lists them. */
  readonly namespacedResources: readonly GroupKind[] | undefined;
}

/** An Application as layer 4 sees it (core's DeployedApplication without its objects). */
export type PlannedDeployment = Omit<DeployedApplication, 'objects'> & {
  /** The chart it deploys (`charts/<chart>`), absent for a CRD bundle. */
  readonly chart: string | undefined;
};

export interface AssembledApplications {
  /** charts/platform (absent when no cluster runs a GitOps controller). */
  readonly chart: ChartSpec | undefined;
  /** Per cluster, its Applications in wave order. */
  readonly deployed: { readonly [cluster: string]: readonly PlannedDeployment[] };
  /** `clusters/<cluster>/root-application.yaml` and `namespaces.yaml` per cluster. */
  readonly files: GeneratedFile[];
  /** Per cluster: the runbook steps that hand the cluster to Argo CD. */
  readonly bootstrap: { readonly [cluster: string]: readonly BootstrapStep[] };
  /** Per cluster: the runbook's first steps (create the platform's namespaces). */
  readonly firstSteps: { readonly [cluster: string]: readonly BootstrapStep[] };
  /** Per cluster: the namespaces the root Application creates before the first wave. */
  readonly namespaces: { readonly [cluster: string]: readonly string[] };
  readonly issues: Issue[];
}

/**
 * An Application's source: `charts/<chart>` of the platform repository with the cluster's two
 * layers. Its `targetRevision` is the environment's; for a child of the root Application that
 * is only the fallback of a plain `helm template`, since the root's parameters set it to the
 * revision the root follows (rootRevisionParameters).
 */
function chartSource(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  chart: string,
  release: string,
  apiVersions: readonly string[] | undefined,
): Values {
  return {
    repoURL: platform.repositoryUrl,
    path: `charts/${chart}`,
    targetRevision: cluster.profile.targetRevision,
    helm: {
      releaseName: release,
      valueFiles: [`env/${cluster.environment}.yaml`, `clusters/${cluster.name}.yaml`],
      // Argo CD passes these to Helm instead of the live cluster's API versions.
      ...(apiVersions === undefined || apiVersions.length === 0
        ? {}
        : { apiVersions: [...apiVersions] }),
    },
  };
}

function bundleApplication(
  cluster: ResolvedCluster,
  component: string,
  bundle: CrdBundle,
): PlannedApplication {
  return {
    name: bundle.name,
    component,
    bundle,
    critical: true,
    installs: bundle.kinds,
    // CRDs are cluster-scoped; the destination namespace is only what the project checks.
    namespace: 'kube-system',
    additionalNamespaces: [],
    additionalPodSecurity: {},
    chartNamespaces: [],
    dependsOn: [],
    podSecurity: undefined,
    // CRDs are often larger than the client-side apply annotation allows.
    serverSideApply: true,
    applyOutOfSyncOnly: false,
    clusterResources: bundle.clusterResources,
    ignoreDifferences: [],
    source: { ...bundle.source },
    chart: undefined,
    origin: settingsPath(cluster, component),
    project: CRDS_PROJECT,
    namespacedResources: [],
  };
}

function applicationObject(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
  app: PlannedApplication,
  wave: number,
  managesNamespace: boolean,
): KubeObject {
  // The same options every sync the generated documents start by hand carries (core
  // `syncOperationPatch`; the system check `manual-sync-options`).
  const syncOptions = applicationSyncOptions({
    createNamespace: managesNamespace,
    serverSideApply: app.serverSideApply,
    applyOutOfSyncOnly: app.applyOutOfSyncOnly,
    respectIgnoreDifferences: app.ignoreDifferences.length > 0,
    critical: app.critical,
  });
  const syncPolicy: Values = {
    automated: {
      prune: cluster.profile.autoSync.prune,
      selfHeal: cluster.profile.autoSync.selfHeal,
    },
    syncOptions,
    // Every sync the generated documents start by hand carries it too (core `ManualSync`).
    retry: applicationRetry(),
  };
  if (managesNamespace && app.podSecurity !== undefined) {
    syncPolicy.managedNamespaceMetadata = { labels: podSecurityLabels(app.podSecurity) };
  }
  const spec: Values = {
    project: app.project,
    destination: { server: IN_CLUSTER, namespace: app.namespace },
    source: app.source,
    syncPolicy,
  };
  if (app.ignoreDifferences.length > 0) spec.ignoreDifferences = [...app.ignoreDifferences];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: applicationName(cluster, app.name),
      namespace,
      annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) },
      labels: {
        'app.kubernetes.io/part-of': platform.name,
        'app.kubernetes.io/component': app.name,
      },
      ...(app.critical ? {} : { finalizers: [RESOURCES_FINALIZER] }),
    },
    spec,
  };
}

function podSecurityLabels(level: PodSecurityLevel): { [key: string]: string } {
  return {
    'pod-security.kubernetes.io/audit': level,
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/warn': level,
  };
}

function groupKindKey(kind: GroupKind): string {
  return `${kind.group}/${kind.kind}`;
}

function sortedKinds(kinds: Iterable<GroupKind>): GroupKind[] {
  const unique = new Map<string, GroupKind>();
  for (const kind of kinds) unique.set(groupKindKey(kind), { group: kind.group, kind: kind.kind });
  return [...unique.keys()].sort(compareStrings).map((key) => unique.get(key) as GroupKind);
}

/** The objects a chart renders on a cluster: its layers merged as Helm merges value files. */
export function renderedObjects(spec: ChartSpec, cluster: ResolvedCluster): KubeObject[] {
  const layer = spec.clusters[cluster.name];
  if (layer === undefined) return [];
  const environment = spec.environments[cluster.environment];
  const manifests = mergeValuesShared(spec.values, ...(environment ? [environment] : []), layer)
    .manifests as { [key: string]: unknown } | undefined;
  if (typeof manifests !== 'object' || manifests === null || Array.isArray(manifests)) return [];
  return Object.keys(manifests)
    .sort(compareStrings)
    .map((key) => manifests[key])
    .filter(
      (object): object is KubeObject =>
        typeof object === 'object' &&
        object !== null &&
        typeof (object as KubeObject).kind === 'string' &&
        typeof (object as KubeObject).apiVersion === 'string',
    );
}

/** What a project must allow: the kinds and namespaces its Applications deploy. */
export interface ProjectScope {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly clusterResources: readonly GroupKind[];
  /** `undefined`: an Application's upstream chart does not list its namespaced kinds. */
  readonly namespacedResources: readonly GroupKind[] | undefined;
}

/**
 * The scope of a project, computed from its Applications: the namespaces they deploy to and that
 * their rendered objects name, the cluster-scoped kinds of their rendered objects (an object
 * without a namespace) and of their upstream charts (what the component declares), and the
 * namespaced kinds likewise.
 */
export function projectScope(
  name: string,
  apps: readonly PlannedApplication[],
  rendered: (app: PlannedApplication) => readonly KubeObject[],
): ProjectScope {
  const namespaces = new Set<string>();
  const cluster: GroupKind[] = [];
  const namespaced: GroupKind[] = [];
  let complete = true;
  for (const app of apps) {
    namespaces.add(app.namespace);
    for (const extra of app.additionalNamespaces) namespaces.add(extra);
    cluster.push(...app.clusterResources);
    if (app.namespacedResources === undefined) complete = false;
    else namespaced.push(...app.namespacedResources);
    for (const object of rendered(app)) {
      const kind = groupKindOf(object);
      const namespace = object.metadata.namespace;
      if (namespace === undefined) cluster.push(kind);
      else {
        namespaces.add(namespace);
        namespaced.push(kind);
      }
    }
  }
  return {
    name,
    namespaces: [...namespaces].sort(compareStrings),
    clusterResources: sortedKinds(cluster),
    namespacedResources: complete ? sortedKinds(namespaced) : undefined,
  };
}

/** Argo CD's own kinds, which no component chart may create (they would escape the project). */
const ARGO_KINDS: readonly GroupKind[] = [
  { group: 'argoproj.io', kind: 'AppProject' },
  { group: 'argoproj.io', kind: 'Application' },
  { group: 'argoproj.io', kind: 'ApplicationSet' },
];

function projectObject(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
  scope: ProjectScope,
  apps: readonly PlannedApplication[],
): KubeObject {
  const repos = sortedUnique(apps.map((app) => String(app.source.repoURL)));
  const namespaced =
    scope.namespacedResources === undefined
      ? {
          // Any namespaced kind in the permitted namespaces, except Argo CD's own.
          namespaceResourceWhitelist: [{ group: '*', kind: '*' }],
          namespaceResourceBlacklist: ARGO_KINDS.map((kind) => ({ ...kind })),
        }
      : {
          namespaceResourceWhitelist: scope.namespacedResources
            .filter((kind) => !ARGO_KINDS.some((argo) => groupKindKey(argo) === groupKindKey(kind)))
            .map((kind) => ({ ...kind })),
        };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: scope.name,
      namespace,
      annotations: { [SYNC_WAVE_ANNOTATION]: '-1' },
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      description: `${scope.name} of ${platform.name} on cluster ${cluster.name}: ${sortedUnique(apps.map((app) => app.name)).join(', ')}`,
      sourceRepos: repos,
      destinations: scope.namespaces.map((destination) => ({
        server: IN_CLUSTER,
        namespace: destination,
      })),
      clusterResourceWhitelist: scope.clusterResources.map((kind) => ({ ...kind })),
      ...namespaced,
    },
  };
}

/**
 * Kubernetes' own workload groups: kinds an application's own workloads use as well as the
 * platform (its claims, its restore verification's CronJob), which a workload project allows.
 * Argo CD permits kinds, not names: an object of one of these kinds named as the platform's
 * would be shared by two Applications (the onboarding says so).
 */
const WORKLOAD_GROUPS: ReadonlySet<string> = new Set(['', 'apps', 'batch']);
/**
 * API groups a workload project never permits, whatever the platform renders in its namespace
 * today: the kinds that decide what reaches the pods. A network policy's allow rules add to the
 * platform's (Kubernetes' NetworkPolicy and Cilium's policies alike: the cluster-wide default
 * deny is one policy, so a namespace under it may hold no policy of the platform's yet), and a
 * route, Gateway, Ingress or Envoy configuration of the namespace would reach the pods through
 * Cilium's shared `ingress` identity, around the routes and forward auth the definition
 * declares.
 */
const TRAFFIC_GROUPS: readonly string[] = [
  'cilium.io',
  'gateway.networking.k8s.io',
  'gateway.networking.x-k8s.io',
  'networking.k8s.io',
];
/**
 * RBAC's namespaced kinds: Argo CD applies them as its controller, above Kubernetes' escalation
 * checks, so a RoleBinding of a workload project could grant `admin` in the namespace (network
 * policies and routes included) to any subject. Permitted only where the definition says.
 */
const RBAC_KINDS: readonly GroupKind[] = [
  { group: 'rbac.authorization.k8s.io', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
];

/**
 * The AppProject of workloads the platform does not deploy (an application's own): its
 * Applications deploy into the project's namespace only, no cluster-scoped kind (so no
 * `managedNamespaceMetadata`: the namespace and its Pod Security labels stay the platform's),
 * and none of Argo CD's kinds, the traffic groups, RBAC's kinds (unless `allowRoles`) and the
 * other kinds the platform renders in that namespace outside Kubernetes' workload groups (Secrets
 * from the secret store, backups).
 */
export function workloadProjectObject(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
  project: WorkloadProject,
  rendered: readonly KubeObject[],
): KubeObject {
  const governed = rendered
    .filter((object) => object.metadata.namespace === project.namespace)
    .map(groupKindOf)
    .filter((kind) => !WORKLOAD_GROUPS.has(kind.group) && !TRAFFIC_GROUPS.includes(kind.group))
    .filter(
      (kind) =>
        project.allowRoles !== true ||
        !RBAC_KINDS.some((rbac) => groupKindKey(rbac) === groupKindKey(kind)),
    );
  const refused = [
    ...ARGO_KINDS,
    ...TRAFFIC_GROUPS.map((group) => ({ group, kind: '*' })),
    ...(project.allowRoles === true ? [] : RBAC_KINDS),
    ...governed,
  ];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: project.name,
      namespace,
      annotations: { [SYNC_WAVE_ANNOTATION]: '-1' },
      labels: {
        'app.kubernetes.io/part-of': platform.name,
        [WORKLOAD_PROJECT_LABEL]: project.namespace,
      },
    },
    spec: {
      description: `${project.description} on cluster ${cluster.name} (deployed by your own Applications, not by ${platform.name})`,
      sourceRepos: [...project.sourceRepos],
      destinations: [{ server: IN_CLUSTER, namespace: project.namespace }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [{ group: '*', kind: '*' }],
      namespaceResourceBlacklist: sortedKinds(refused).map((kind) => ({ ...kind })),
    },
  };
}

function bootstrapProject(platform: ResolvedPlatform, namespace: string): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: BOOTSTRAP_PROJECT,
      namespace,
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      description: `The root Application of ${platform.name}: the platform's namespaces, Applications and AppProjects only`,
      sourceRepos: [platform.repositoryUrl],
      destinations: [{ server: IN_CLUSTER, namespace }],
      // The platform's namespaces (platformNamespaces), before every Application.
      clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
      namespaceResourceWhitelist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
      ],
    },
  };
}

/**
 * The root Application's Helm parameters: every child Application that deploys a chart of the
 * platform repository gets the revision the root itself follows as its `targetRevision`. The
 * values file keeps the environment's revision (what `helm template` without parameters gives),
 * but a root pinned to a tag renders the chart committed at that tag, whose values name the
 * revision of that time (usually `main`): without the parameter, the children would follow it and
 * the pin would hold for the root only. With it, the root and its children follow one revision
 * (a branch, a tag or a commit). The revision as written, not the commit it resolves to: a child
 * on a branch picks up a fix on its own, even while the root's sync waits on that child. A CRD
 * bundle keeps its own upstream revision. Argo CD v3.4's repo-server replaces
 * `$ARGOCD_APP_SOURCE_TARGET_REVISION` in a Helm parameter's value with the root's
 * `spec.source.targetRevision` (`reposerver/repository/repository.go`, `env.Envsubst`); core's
 * `root-revision-parameters` check holds every child to a parameter.
 */
export function rootRevisionParameters(
  platform: ResolvedPlatform,
  manifests: { readonly [key: string]: KubeObject },
): Values[] {
  return Object.keys(manifests)
    .sort(compareStrings)
    .filter((key) => {
      const object = manifests[key];
      if (object?.kind !== 'Application') return false;
      const source = (object.spec as { source?: { repoURL?: unknown } } | undefined)?.source;
      return source?.repoURL === platform.repositoryUrl;
    })
    .map((key) => ({
      name: rootRevisionParameter(key),
      value: ROOT_TARGET_REVISION,
      forceString: true,
    }));
}

function rootApplication(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
  parameters: readonly Values[],
): KubeObject {
  const source = chartSource(platform, cluster, PLATFORM_CHART, PLATFORM_CHART, undefined);
  if (parameters.length > 0) {
    source.helm = { ...(source.helm as Values), parameters: [...parameters] };
  }
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    // No resources finalizer: deleting the root must not take the whole platform with it.
    metadata: {
      name: rootApplicationName(cluster),
      namespace,
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      project: BOOTSTRAP_PROJECT,
      destination: { server: IN_CLUSTER, namespace },
      source,
      syncPolicy: {
        automated: {
          prune: cluster.profile.autoSync.prune,
          selfHeal: cluster.profile.autoSync.selfHeal,
        },
        // Every sync the generated documents start by hand carries it too (core `ManualSync`).
        retry: applicationRetry(),
      },
    },
  };
}

/** The sync wave of the root's Namespace objects: before every Application. */
const NAMESPACE_WAVE = '-1';

/**
 * The namespaces the root Application creates before the first wave, each with its Pod Security
 * level: every namespace an Application deploys into (its destination, its additional
 * namespaces, the namespaces its objects name) but the system namespaces and those a chart
 * creates itself (a Namespace object of ours, or of the upstream chart: `chartNamespaces`). An Application's `CreateNamespace=true` alone comes too late when an earlier
 * wave uses the namespace (Cilium's policies for every namespace, in wave 1); so the root creates
 * them all, with their labels, and no Application manages their metadata too. A chart's
 * own Namespace object that an earlier wave needs is an error: the root cannot create it without
 * two Applications claiming the object.
 */
function platformNamespaces(
  cluster: ResolvedCluster,
  apps: readonly PlannedApplication[],
  waves: ReadonlyMap<string, number>,
  owners: ReadonlySet<string>,
  rendered: (app: PlannedApplication) => readonly KubeObject[],
  issues: Issue[],
): Map<string, PodSecurityLevel> {
  const wave = (app: PlannedApplication): number => waves.get(app.name) ?? 0;
  const ordered = inWaveOrder(apps, waves);
  const firstUse = new Map<string, PlannedApplication>();
  const chartCreates = new Map<string, PlannedApplication>();
  // The level of the Application that owns the namespace (namespaceOwners), else the first
  // `additionalPodSecurity` that names it.
  const level = new Map<string, PodSecurityLevel>();
  for (const app of apps) {
    if (owners.has(app.name) && app.podSecurity !== undefined) {
      level.set(app.namespace, app.podSecurity);
    }
  }
  const use = (namespace: string, app: PlannedApplication): void => {
    if (SYSTEM_NAMESPACES.has(namespace) || firstUse.has(namespace)) return;
    firstUse.set(namespace, app);
  };
  for (const app of ordered) {
    for (const [namespace, podSecurity] of Object.entries(app.additionalPodSecurity)) {
      if (!level.has(namespace)) level.set(namespace, podSecurity);
    }
    if (app.chart === undefined) continue; // a CRD bundle: cluster-scoped objects only
    use(app.namespace, app);
    for (const namespace of app.additionalNamespaces) use(namespace, app);
    for (const namespace of app.chartNamespaces) {
      if (!chartCreates.has(namespace)) chartCreates.set(namespace, app);
    }
    for (const object of rendered(app)) {
      if (object.kind === 'Namespace' && object.apiVersion === 'v1') {
        if (!chartCreates.has(object.metadata.name)) chartCreates.set(object.metadata.name, app);
      } else if (object.metadata.namespace !== undefined) use(object.metadata.namespace, app);
    }
  }
  const out = new Map<string, PodSecurityLevel>();
  for (const namespace of [...firstUse.keys()].sort(compareStrings)) {
    const user = firstUse.get(namespace) as PlannedApplication;
    const creator = chartCreates.get(namespace);
    if (creator === undefined) {
      out.set(namespace, level.get(namespace) ?? 'restricted');
      continue;
    }
    if (wave(creator) <= wave(user)) continue;
    issues.push(
      error({
        code: 'namespace-created-late',
        path: creator.origin,
        value: namespace,
        message: `${creator.name} renders the Namespace "${namespace}" (wave ${wave(creator)}), but ${user.name} deploys into it in wave ${wave(user)} on cluster "${cluster.name}"`,
        expected: `no Namespace object for "${namespace}" in ${creator.name}'s chart: list it in additionalNamespaces (with additionalPodSecurity) and the root Application creates it before the first wave`,
      }),
    );
  }
  return out;
}

/** The Applications in sync-wave order, then by name. */
function inWaveOrder(
  apps: readonly PlannedApplication[],
  waves: ReadonlyMap<string, number>,
): PlannedApplication[] {
  return [...apps].sort(
    (a, b) => (waves.get(a.name) ?? 0) - (waves.get(b.name) ?? 0) || compareStrings(a.name, b.name),
  );
}

/** A platform namespace with its Pod Security labels; Argo CD's annotations where it runs. */
function namespaceObject(name: string, level: PodSecurityLevel, gitops = true): KubeObject {
  const metadata = { name, labels: podSecurityLabels(level) };
  if (!gitops) return { apiVersion: 'v1', kind: 'Namespace', metadata };
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      ...metadata,
      annotations: {
        [SYNC_WAVE_ANNOTATION]: NAMESPACE_WAVE,
        // Removing a component never deletes a namespace with everything in it (its volumes).
        'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      },
    },
  };
}

/** The first runbook step: the namespaces exist before anything is installed by hand. */
function createNamespaces(cluster: ResolvedCluster, file: string, gitops = true): BootstrapStep {
  return {
    title: "Create the platform's namespaces",
    body: [
      'Every namespace of the platform exists before anything is installed: Cilium, installed by',
      'hand below, applies the network policies of every namespace, and the API server refuses an',
      gitops
        ? `object whose namespace does not exist. The root Application (\`${rootApplicationName(cluster)}\`) adopts them.`
        : 'object whose namespace does not exist.',
    ],
    commands: [`kubectl apply -f ${shellQuote(file)}`],
  };
}

/** Which Application creates and labels each namespace: the first by wave, then by name. */
function namespaceOwners(
  cluster: ResolvedCluster,
  apps: readonly PlannedApplication[],
  waves: ReadonlyMap<string, number>,
  issues: Issue[],
): Set<string> {
  const owners = new Set<string>();
  const byNamespace = new Map<string, PlannedApplication[]>();
  for (const app of apps) {
    if (app.podSecurity === undefined) continue;
    const list = byNamespace.get(app.namespace) ?? [];
    list.push(app);
    byNamespace.set(app.namespace, list);
  }
  for (const namespace of [...byNamespace.keys()].sort(compareStrings)) {
    const list = (byNamespace.get(namespace) ?? []).sort(
      (a, b) =>
        (waves.get(a.name) ?? 0) - (waves.get(b.name) ?? 0) || compareStrings(a.name, b.name),
    );
    const levels = sortedUnique(list.map((app) => app.podSecurity ?? ''));
    if (levels.length > 1) {
      issues.push(
        error({
          code: 'namespace-pod-security',
          path: ['clusters', cluster.index, 'components'],
          value: list.map((app) => `${app.name}: ${app.podSecurity}`).join(', '),
          message: `components share namespace "${namespace}" but ask for different Pod Security levels`,
          expected: 'one Pod Security level per namespace',
        }),
      );
    }
    const first = list[0];
    if (first !== undefined) owners.add(first.name);
  }
  return owners;
}

/**
 * The Applications of one cluster: one per CRD bundle and one per component that declares an
 * Application. Each comes after the Applications of the components whose capabilities it needs
 * or uses (through components without an Application of their own; a capability it only reads
 * orders nothing) and after its CRD bundles; a component that syncs late (`syncLate`) as late as
 * the Applications after it allow.
 */
function planCluster(
  platform: ResolvedPlatform,
  run: ClusterRun,
  charts: ReadonlyMap<string, string>,
  issues: Issue[],
): { apps: PlannedApplication[]; waves: ReadonlyMap<string, number> } {
  const { cluster } = run;
  const appName = new Map<string, string>();
  for (const component of run.order) {
    const descriptor = run.contributions.get(component)?.application;
    if (descriptor !== undefined) appName.set(component, descriptor.name ?? component);
  }
  /**
   * The Applications a component must come after: its providers', found through the graph. A
   * provider without an Application of its own stands for its CRD bundles and its providers.
   */
  const before = (component: string, seen = new Set<string>()): string[] => {
    const out: string[] = [];
    for (const provider of run.startsAfter.get(component) ?? []) {
      if (seen.has(provider)) continue;
      seen.add(provider);
      const name = appName.get(provider);
      if (name !== undefined) out.push(name);
      else {
        out.push(...(run.contributions.get(provider)?.crds ?? []).map((bundle) => bundle.name));
        out.push(...before(provider, seen));
      }
    }
    return out;
  };

  const apps: PlannedApplication[] = [];
  const seen = new Map<string, string>();
  const add = (app: PlannedApplication, owner: string): void => {
    const previous = seen.get(app.name);
    if (previous !== undefined) {
      issues.push(
        error({
          code: 'duplicate-application',
          path: app.origin,
          value: app.name,
          message: `Application name "${app.name}" on cluster "${cluster.name}" is also used by ${previous}`,
          expected: 'a unique Application name per cluster',
        }),
      );
      return;
    }
    seen.set(app.name, owner);
    apps.push(app);
  };

  for (const component of run.order) {
    const contribution = run.contributions.get(component);
    const bundles = contribution?.crds ?? [];
    for (const bundle of bundles) add(bundleApplication(cluster, component, bundle), component);
    const descriptor: ApplicationDescriptor | undefined = contribution?.application;
    if (descriptor === undefined) continue;
    const name = descriptor.name ?? component;
    const chart = descriptor.chart ?? charts.get(component);
    if (chart === undefined) {
      issues.push(
        error({
          code: 'application-chart',
          path: settingsPath(cluster, component),
          value: component,
          message: `${component} declares an Application but renders no chart`,
          expected: 'an Application descriptor naming its chart, or a chart',
        }),
      );
      continue;
    }
    add(
      {
        name,
        component,
        bundle: undefined,
        critical: descriptor.critical === true,
        installs: descriptor.installs ?? [],
        namespace: descriptor.namespace,
        additionalNamespaces: sortedUnique(descriptor.additionalNamespaces ?? []),
        additionalPodSecurity: { ...(descriptor.additionalPodSecurity ?? {}) },
        chartNamespaces: sortedUnique(descriptor.chartNamespaces ?? []),
        dependsOn: sortedUnique([...before(component), ...bundles.map((bundle) => bundle.name)]),
        late: run.syncLate.has(component),
        podSecurity: descriptor.podSecurity,
        serverSideApply: descriptor.serverSideApply === true,
        applyOutOfSyncOnly: descriptor.applyOutOfSyncOnly === true,
        clusterResources: descriptor.clusterResources,
        ignoreDifferences: descriptor.ignoreDifferences ?? [],
        source: chartSource(
          platform,
          cluster,
          chart,
          descriptor.releaseName ?? name,
          descriptor.helmApiVersions,
        ),
        chart,
        origin: settingsPath(cluster, component),
        project: descriptor.project ?? component,
        namespacedResources: descriptor.namespacedResources,
      },
      component,
    );
  }

  const { waves, problems } = dependencyLayers(apps);
  for (const problem of problems) {
    if (problem.kind === 'cycle') {
      issues.push(
        error({
          code: 'dependency-cycle',
          path: ['clusters', cluster.index, 'components'],
          value: formatCycle(problem.cycle),
          message: `dependency cycle on cluster "${cluster.name}": ${formatCycle(problem.cycle)}`,
          expected: 'components whose needs form no cycle',
        }),
      );
    }
  }
  return { apps, waves };
}

function readme(
  rows: readonly { cluster: string; apps: readonly string[] }[],
  late: ReadonlyMap<string, string>,
): ChartSpec['readme'] {
  const lines = ['| cluster | Applications in sync-wave order (wave: name) |', '|---|---|'];
  for (const row of rows) lines.push(`| ${row.cluster} | ${row.apps.join(', ')} |`);
  // A sync waits for every Application of a wave before the next: one that cannot become
  // healthy holds back every later wave.
  if (late.size > 0) {
    lines.push(
      '',
      'A component whose workloads check services outside the cluster at start-up syncs in the latest wave the Applications that need it allow, so that an outage there holds back only those (a sync waits for every Application of a wave before the next):',
      '',
      ...[...late]
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([component, reason]) => `- ${component}: ${reason}`),
    );
  }
  return {
    summary:
      'The app-of-apps of the platform: for each cluster, one Argo CD AppProject per purpose (allowing exactly the kinds and namespaces its Applications render) and ' +
      'one Application per enabled component that declares one plus one per CRD bundle a component ' +
      'ships (such as the Gateway API CRDs), ordered in sync waves computed from the capabilities the components ' +
      'need and use. It has no upstream dependency; ' +
      'its cluster layer selects the cluster. The root Application in ' +
      '`clusters/<cluster>/root-application.yaml` installs it.',
    sections: [
      { heading: 'Applications', body: lines.join('\n') },
      {
        heading: 'Sync policy',
        body:
          'Automated sync with prune and self-heal as the environment profile says, retries ' +
          'without end from the latest revision with exponential backoff (up to 5 minutes), the namespaces created and labelled (Pod Security) by the root ' +
          'Application before the first wave (`CreateNamespace=true` with ' +
          '`managedNamespaceMetadata` only for a namespace the root does not create, such as ' +
          '`kube-system`), `ServerSideApply=true` where a component asks for it, and ' +
          'the resources finalizer, so that removing a component from the definition removes ' +
          'what it deployed. Critical Applications (CRD bundles and the components that declare ' +
          'themselves critical, such as the CNI, the cluster DNS, Argo CD, the secrets and storage providers) are the ' +
          'exception: no finalizer, and `Prune=false`/`Delete=false`, so that a rename or a removed ' +
          'component never deletes what the cluster runs on; removing one is a runbook step.',
      },
    ],
  };
}

/** Whether a component's own runbook step installs `chart` (`helm template <release> charts/<chart>`). */
function installedByStep(run: ClusterRun, chart: string): boolean {
  const command = new RegExp(
    `^helm template \\S+ charts/${chart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`,
    'm',
  );
  for (const contribution of run.contributions.values()) {
    for (const step of contribution.bootstrap ?? []) {
      if (step.when === undefined && step.commands.some((line) => command.test(line))) return true;
    }
  }
  return false;
}

/**
 * On a cluster no GitOps controller runs on, nothing deploys the charts the app-of-apps would:
 * an error naming them, unless a component's own runbook step installs each (Cilium, CoreDNS)
 * and the CRD bundles (their own runbook steps).
 */
function undeployedCharts(
  cluster: ResolvedCluster,
  run: ClusterRun,
  ordered: readonly PlannedApplication[],
  providers: readonly string[],
): Issue | undefined {
  const left = ordered.filter((app) => app.chart !== undefined && !installedByStep(run, app.chart));
  if (left.length === 0) return undefined;
  const [provider] = providers;
  return error({
    code: 'no-gitops-controller',
    path:
      provider === undefined
        ? ['clusters', cluster.index, 'components']
        : settingsPath(cluster, provider),
    message: `no component provides "gitops" on cluster "${cluster.name}", so nothing deploys ${left.map((app) => app.name).join(', ')} (the runbook installs only the CNI, the cluster DNS and the CRD bundles by hand)`,
    expected: `${provider === undefined ? 'a registered component that provides "gitops"' : `${providers.join(' or ')} enabled on cluster "${cluster.name}" (it provides "gitops")`}, or those components disabled there`,
  });
}

/**
 * The runbook step that hands a cluster to Argo CD: apply its root Application, once the platform
 * repository holds at the cluster's revision what the build wrote here. Argo CD renders the
 * repository, not the operator's working tree: an entry id mapped in the secrets step and built
 * again, or any change not pushed, would reach the cluster without it (a Secret missing keys, an
 * older chart). `git diff` against the fetched revision lists what differs and stops the list.
 */
function handOver(
  cluster: ResolvedCluster,
  namespace: string,
  repositoryUrl: string,
): BootstrapStep {
  const file = `clusters/${cluster.name}/root-application.yaml`;
  const root = rootApplicationName(cluster);
  const revision = cluster.profile.targetRevision;
  return {
    title: 'Hand the cluster to Argo CD',
    body: [
      `The root Application installs the platform umbrella chart at \`${revision}\` (the environment's`,
      '`repository.targetRevision`), and every Application it creates follows that same revision;',
      'from here on Git is the only deployment path. Argo CD adopts what the steps above',
      'installed by hand, then installs the rest wave by wave ("Watching the platform converge"',
      'below says how to follow it; "Moving this cluster to another revision", how to pin it).',
      '',
      `Argo CD renders \`charts/\` from \`${repositoryUrl}\` at \`${revision}\`, not from this working`,
      'tree: the commands apply the root Application only where nothing under `charts/` and',
      '`clusters/` is left uncommitted (`git status` lists what is, new files included) and the',
      'repository holds them as built here (`git diff` lists what differs; the entry ids mapped in',
      'the secrets step among them). Where either lists files, commit them with the definition,',
      'push, and run the commands again.',
    ],
    commands: [
      // `git diff` against a commit compares tracked files only: a file the build made anew (a
      // new cluster's layer, a new chart) shows in `git status` alone.
      'git status --short --untracked-files=all -- charts clusters | { ! grep .; } &&',
      `git fetch --quiet ${shellQuote(repositoryUrl)} ${shellQuote(revision)} &&`,
      'git --no-pager diff --stat --exit-code FETCH_HEAD -- charts clusters &&',
      `kubectl apply -f ${shellQuote(file)} &&`,
      `kubectl -n ${shellQuote(namespace)} get application ${shellQuote(root)}`,
    ],
  };
}

/**
 * The umbrella chart `charts/platform` (one cluster layer per cluster with its Applications and
 * AppProject) and `clusters/<cluster>/root-application.yaml`, for every cluster where a
 * component provides `gitops`. Dependency problems, schema problems of the generated
 * Applications and AppProjects, and broken sources or project permissions come back as issues.
 */
export function assembleApplications(
  platform: ResolvedPlatform,
  components: ComponentsResult,
  options: {
    /** The registered components that provide `gitops` (named in the `no-gitops-controller` fix). */
    readonly gitopsProviders?: readonly string[];
  } = {},
): AssembledApplications {
  const issues: Issue[] = [];
  const charts = new Map<string, string>();
  const chartSpecs = new Map<string, ChartSpec>();
  for (const run of components.components) {
    if (run.output.chart !== undefined) {
      charts.set(run.component.name, run.output.chart.name);
      chartSpecs.set(run.output.chart.name, run.output.chart);
    }
  }
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  const files: GeneratedFile[] = [];
  const bootstrap: { [cluster: string]: BootstrapStep[] } = {};
  const firstSteps: { [cluster: string]: BootstrapStep[] } = {};
  const namespacesByCluster: { [cluster: string]: string[] } = {};
  const deployed: { [cluster: string]: PlannedDeployment[] } = {};
  const readmeRows: { cluster: string; apps: string[] }[] = [];
  const lateComponents = new Map<string, string>();
  const objects: { output: string; origin: readonly PathSegment[]; object: KubeObject }[] = [];
  let appVersion: string | undefined;

  const gitopsProviders = [...(options.gitopsProviders ?? [])].sort(compareStrings);
  /** What each Application's chart renders on `cluster` (none for a CRD bundle). */
  const renderedOn =
    (cluster: ResolvedCluster) =>
    (app: PlannedApplication): readonly KubeObject[] => {
      const spec = app.chart === undefined ? undefined : chartSpecs.get(app.chart);
      return spec === undefined ? [] : renderedObjects(spec, cluster);
    };
  /** `clusters/<cluster>/namespaces.yaml` and the runbook step applying it, when there are any. */
  const writeNamespaces = (
    cluster: ResolvedCluster,
    objects: readonly KubeObject[],
    gitops: boolean,
  ): void => {
    if (objects.length === 0) return;
    const path = `clusters/${cluster.name}/namespaces.yaml`;
    // With the documents it holds: the system checks read them without parsing the text.
    files.push(yamlDocumentsFile(path, objects, { header: generatedHeader(DEFAULT_GENERATED_BY) }));
    firstSteps[cluster.name] = [createNamespaces(cluster, path, gitops)];
  };
  /**
   * A cluster without a GitOps controller: its namespaces (for what the runbook installs by
   * hand), and an error when charts remain that nothing would deploy.
   */
  const manualCluster = (run: ClusterRun): void => {
    const { cluster } = run;
    const { apps, waves } = planCluster(platform, run, charts, issues);
    if (!apps.some((app) => app.chart !== undefined)) return;
    const owners = namespaceOwners(cluster, apps, waves, issues);
    const namespaces = platformNamespaces(
      cluster,
      apps,
      waves,
      owners,
      renderedOn(cluster),
      issues,
    );
    namespacesByCluster[cluster.name] = [...namespaces.keys()];
    writeNamespaces(
      cluster,
      [...namespaces].map(([name, level]) => namespaceObject(name, level, false)),
      false,
    );
    const undeployed = undeployedCharts(cluster, run, inWaveOrder(apps, waves), gitopsProviders);
    if (undeployed !== undefined) issues.push(undeployed);
  };

  for (const run of components.clusters) {
    const gitops = run.facts.gitops;
    if (gitops === undefined) {
      manualCluster(run);
      continue;
    }
    appVersion ??= gitops.version;
    const { cluster } = run;
    const namespace = gitops.namespace;
    const { apps, waves } = planCluster(platform, run, charts, issues);
    const owners = namespaceOwners(cluster, apps, waves, issues);
    const manifests: { [name: string]: KubeObject } = {};
    const ordered = inWaveOrder(apps, waves);
    const layer = `charts/${PLATFORM_CHART}/clusters/${cluster.name}.yaml`;
    const rendered = renderedOn(cluster);
    const namespaces = platformNamespaces(cluster, apps, waves, owners, rendered, issues);
    deployed[cluster.name] = [];
    for (const app of ordered) {
      const object = applicationObject(
        platform,
        cluster,
        namespace,
        app,
        waves.get(app.name) ?? 0,
        // The root Application creates and labels the platform's namespaces; an Application that
        // managed one's metadata too would overwrite the root's sync options on it (Argo CD
        // applies a managed namespace with `argocd.argoproj.io/sync-options: ServerSideApply=true`).
        // Nor kube-system (the CNI's): it exists before any sync, and a managed namespace is
        // applied again on every sync of its Application (v3.4.4 controller/sync_namespace.go
        // returns true whenever metadata is managed), an UPDATE of the Namespace that an
        // admission webhook failing closed on namespaces (Gatekeeper's check-ignore-label)
        // refuses while its pods are down: the CNI could not sync the fix that brings them back.
        // Talos' admission configuration exempts kube-system (and no other system namespace)
        // from Pod Security, so its labels changed nothing there.
        owners.has(app.name) && !namespaces.has(app.namespace) && app.namespace !== 'kube-system',
      );
      deployed[cluster.name]?.push({
        name: app.name,
        component: app.component,
        bundle: app.bundle,
        wave: waves.get(app.name) ?? 0,
        namespace: app.namespace,
        application: object,
        installs: app.installs,
        critical: app.critical,
        origin: app.origin,
        chart: app.chart,
      });
      manifests[`application-${app.name}`] = object;
      objects.push({
        output: `${layer}#manifests.application-${app.name}`,
        origin: app.origin,
        object,
      });
    }
    const byProject = new Map<string, PlannedApplication[]>();
    for (const app of apps)
      byProject.set(app.project, [...(byProject.get(app.project) ?? []), app]);
    const namespaceObjects = [...namespaces].map(([name, level]) => namespaceObject(name, level));
    for (const object of namespaceObjects) {
      manifests[`namespace-${object.metadata.name}`] = object;
    }
    namespacesByCluster[cluster.name] = [...namespaces.keys()];
    for (const name of [...byProject.keys()].sort(compareStrings)) {
      const members = byProject.get(name) ?? [];
      const scope = projectScope(name, members, rendered);
      const project = projectObject(platform, cluster, namespace, scope, members);
      manifests[`appproject-${name}`] = project;
      objects.push({
        output: `${layer}#manifests.appproject-${name}`,
        origin: ['clusters', cluster.index],
        object: project,
      });
    }
    // Projects for workloads the platform does not deploy (an application's own), confined to
    // their namespace; a name the platform's projects take is an error at its declaration.
    const onCluster = apps.flatMap((app) => rendered(app));
    const taken = new Set([...byProject.keys(), BOOTSTRAP_PROJECT]);
    for (const [component, contribution] of run.contributions) {
      for (const project of contribution.workloadProjects ?? []) {
        if (taken.has(project.name)) {
          issues.push(
            error({
              code: 'argocd-workload-project',
              path: [...project.origin],
              value: project.name,
              message: `is the name of an AppProject ${platform.name} already has on cluster "${cluster.name}" (${component}'s workload project)`,
              expected: 'a project name no other project of the cluster takes',
            }),
          );
          continue;
        }
        taken.add(project.name);
        const object = workloadProjectObject(platform, cluster, namespace, project, onCluster);
        manifests[`appproject-${project.name}`] = object;
        objects.push({
          output: `${layer}#manifests.appproject-${project.name}`,
          origin: [...project.origin],
          object,
        });
      }
    }
    clusters[cluster.name] = { manifests: manifests as unknown as Values };
    environments[cluster.environment] = {};
    for (const [component, reason] of run.syncLate) lateComponents.set(component, reason);
    readmeRows.push({
      cluster: cluster.name,
      apps: ordered.map((app) => `${waves.get(app.name) ?? '?'}: ${app.name}`),
    });

    const root = rootApplication(
      platform,
      cluster,
      namespace,
      rootRevisionParameters(platform, manifests),
    );
    const bootstrapProjectObject = bootstrapProject(platform, namespace);
    const rootPath = `clusters/${cluster.name}/root-application.yaml`;
    objects.push(
      {
        output: `${rootPath}#AppProject`,
        origin: ['clusters', cluster.index],
        object: bootstrapProjectObject,
      },
      { output: `${rootPath}#Application`, origin: ['clusters', cluster.index], object: root },
    );
    // With its documents, which root-revision-parameters and root-revision-move read.
    files.push(
      yamlDocumentsFile(rootPath, [bootstrapProjectObject, root], {
        header: generatedHeader(DEFAULT_GENERATED_BY),
      }),
    );
    bootstrap[cluster.name] = [handOver(cluster, namespace, platform.repositoryUrl)];
    writeNamespaces(cluster, namespaceObjects, true);
  }

  const assembled = {
    deployed,
    files,
    bootstrap,
    firstSteps,
    namespaces: namespacesByCluster,
    issues,
  };
  if (Object.keys(clusters).length === 0) return { chart: undefined, ...assembled };

  const chart: ChartSpec = {
    name: PLATFORM_CHART,
    description: 'The app-of-apps: Argo CD Applications and AppProjects of every cluster',
    appVersion: appVersion ?? '0.0.0',
    values: {},
    environments,
    clusters,
    readme: readme(readmeRows, lateComponents),
  };

  // What will be on disk, so that every Application's path and value files can be checked.
  const generated = new Set<string>();
  for (const spec of [
    chart,
    ...components.components.flatMap((run) => (run.output.chart ? [run.output.chart] : [])),
  ]) {
    for (const path of chartFilePaths(spec)) generated.add(path);
  }
  issues.push(
    ...validateArgoObjects(objects),
    ...checkApplicationSources(objects, platform.repositoryUrl, generated),
    ...checkProjectPermissions(objects),
  );
  return { chart, ...assembled };
}
