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
} from '@homelab/core';
import {
  chartFiles,
  compareStrings,
  DEFAULT_GENERATED_BY,
  dependencyLayers,
  error,
  formatCycle,
  generatedHeader,
  INITIAL_CHART_VERSION,
  settingsPath,
  shellQuote,
  toYamlDocuments,
} from '@homelab/core';
import { checkApplicationSources, checkProjectPermissions, validateArgoObjects } from './checks.js';

/** The umbrella chart: charts/platform. */
export const PLATFORM_CHART = 'platform';
/** AppProject of every component Application. */
export const PLATFORM_PROJECT = 'platform';
/** AppProject of the root Application: it may only create Applications and AppProjects. */
export const BOOTSTRAP_PROJECT = 'platform-bootstrap';
/** Argo CD's name for the cluster it runs in. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

const RETRY = {
  limit: 10,
  backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
} as const;

/** The values sorted and without duplicates. */
function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

interface PlannedApplication {
  readonly name: string;
  readonly namespace: string;
  readonly additionalNamespaces: readonly string[];
  readonly dependsOn: readonly string[];
  /** `undefined`: the Application does not create or label its namespace. */
  readonly podSecurity: PodSecurityLevel | undefined;
  readonly serverSideApply: boolean;
  readonly clusterResources: readonly GroupKind[];
  readonly ignoreDifferences: readonly Values[];
  readonly source: Values;
  /** The place of the definition it comes from, for issues. */
  readonly origin: readonly PathSegment[];
}

export interface AssembledApplications {
  /** charts/platform (absent when no cluster runs a GitOps controller). */
  readonly chart: ChartSpec | undefined;
  /** `clusters/<cluster>/root-application.yaml` per cluster. */
  readonly files: GeneratedFile[];
  /** Per cluster: the runbook steps that hand the cluster to Argo CD. */
  readonly bootstrap: { readonly [cluster: string]: readonly BootstrapStep[] };
  readonly issues: Issue[];
}

function chartSource(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  chart: string,
  release: string,
): Values {
  return {
    repoURL: platform.repositoryUrl,
    path: `charts/${chart}`,
    targetRevision: cluster.profile.targetRevision,
    helm: {
      releaseName: release,
      valueFiles: [`env/${cluster.environment}.yaml`, `clusters/${cluster.name}.yaml`],
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
    // CRDs are cluster-scoped; the destination namespace is only what the project checks.
    namespace: 'kube-system',
    additionalNamespaces: [],
    dependsOn: [],
    podSecurity: undefined,
    // CRDs are often larger than the client-side apply annotation allows.
    serverSideApply: true,
    clusterResources: bundle.clusterResources,
    ignoreDifferences: [],
    source: { ...bundle.source },
    origin: settingsPath(cluster, component),
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
  const syncOptions: string[] = [];
  if (managesNamespace) syncOptions.push('CreateNamespace=true');
  if (app.serverSideApply) syncOptions.push('ServerSideApply=true');
  if (app.ignoreDifferences.length > 0) syncOptions.push('RespectIgnoreDifferences=true');
  const syncPolicy: Values = {
    automated: {
      prune: cluster.profile.autoSync.prune,
      selfHeal: cluster.profile.autoSync.selfHeal,
    },
    syncOptions,
    retry: { limit: RETRY.limit, backoff: { ...RETRY.backoff } },
  };
  if (managesNamespace && app.podSecurity !== undefined) {
    syncPolicy.managedNamespaceMetadata = { labels: podSecurityLabels(app.podSecurity) };
  }
  const spec: Values = {
    project: PLATFORM_PROJECT,
    destination: { server: IN_CLUSTER, namespace: app.namespace },
    source: app.source,
    syncPolicy,
  };
  if (app.ignoreDifferences.length > 0) spec.ignoreDifferences = [...app.ignoreDifferences];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: `${cluster.name}-${app.name}`,
      namespace,
      annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) },
      labels: {
        'app.kubernetes.io/part-of': platform.name,
        'app.kubernetes.io/component': app.name,
      },
      finalizers: [RESOURCES_FINALIZER],
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

function projectObject(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
  apps: readonly PlannedApplication[],
): KubeObject {
  const repos = sortedUnique(apps.map((app) => String(app.source.repoURL)));
  const namespaces = sortedUnique(
    apps.flatMap((app) => [app.namespace, ...app.additionalNamespaces]),
  );
  const kinds = new Map<string, { group: string; kind: string }>();
  for (const app of apps) {
    for (const resource of app.clusterResources) {
      kinds.set(`${resource.group}/${resource.kind}`, {
        group: resource.group,
        kind: resource.kind,
      });
    }
  }
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: PLATFORM_PROJECT,
      namespace,
      annotations: { [SYNC_WAVE_ANNOTATION]: '-1' },
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      description: `Platform components of ${platform.name} on cluster ${cluster.name}`,
      sourceRepos: repos,
      destinations: namespaces.map((namespace) => ({ server: IN_CLUSTER, namespace })),
      clusterResourceWhitelist: [...kinds.keys()]
        .sort(compareStrings)
        .map((key) => kinds.get(key) as { group: string; kind: string }),
      // Any namespaced kind in the permitted namespaces, except Argo CD's own: a component
      // chart must not create Applications or projects that escape this one.
      namespaceResourceWhitelist: [{ group: '*', kind: '*' }],
      namespaceResourceBlacklist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
        { group: 'argoproj.io', kind: 'ApplicationSet' },
      ],
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
      description: `The root Application of ${platform.name}: Applications and AppProjects only`,
      sourceRepos: [platform.repositoryUrl],
      destinations: [{ server: IN_CLUSTER, namespace }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
      ],
    },
  };
}

function rootApplication(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  namespace: string,
): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    // No resources finalizer: deleting the root must not take the whole platform with it.
    metadata: {
      name: `${cluster.name}-${PLATFORM_CHART}`,
      namespace,
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      project: BOOTSTRAP_PROJECT,
      destination: { server: IN_CLUSTER, namespace },
      source: chartSource(platform, cluster, PLATFORM_CHART, PLATFORM_CHART),
      syncPolicy: {
        automated: {
          prune: cluster.profile.autoSync.prune,
          selfHeal: cluster.profile.autoSync.selfHeal,
        },
        retry: { limit: RETRY.limit, backoff: { ...RETRY.backoff } },
      },
    },
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
 * or uses (through components without an Application of their own) and after its CRD bundles.
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
    for (const provider of run.dependsOn.get(component) ?? []) {
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
        namespace: descriptor.namespace,
        additionalNamespaces: sortedUnique(descriptor.additionalNamespaces ?? []),
        dependsOn: sortedUnique([...before(component), ...bundles.map((bundle) => bundle.name)]),
        podSecurity: descriptor.podSecurity,
        serverSideApply: descriptor.serverSideApply === true,
        clusterResources: descriptor.clusterResources,
        ignoreDifferences: descriptor.ignoreDifferences ?? [],
        source: chartSource(platform, cluster, chart, descriptor.releaseName ?? name),
        origin: settingsPath(cluster, component),
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
): ChartSpec['readme'] {
  const lines = ['| cluster | Applications in sync-wave order (wave: name) |', '|---|---|'];
  for (const row of rows) lines.push(`| ${row.cluster} | ${row.apps.join(', ')} |`);
  return {
    summary:
      'The app-of-apps of the platform: for each cluster, the Argo CD AppProject `platform` and ' +
      'one Application per enabled component plus the Gateway API CRDs, ordered in sync waves ' +
      'computed from the dependencies the components declare. It has no upstream dependency; ' +
      'its cluster layer selects the cluster. The root Application in ' +
      '`clusters/<cluster>/root-application.yaml` installs it.',
    sections: [
      { heading: 'Applications', body: lines.join('\n') },
      {
        heading: 'Sync policy',
        body:
          'Automated sync with prune and self-heal as the environment profile says, retry with ' +
          'exponential backoff, `CreateNamespace=true` with Pod Security labels through ' +
          '`managedNamespaceMetadata`, `ServerSideApply=true` where a component asks for it, and ' +
          'the resources finalizer, so that removing a component from the definition removes ' +
          'what it deployed.',
      },
    ],
  };
}

/** The runbook step that hands a cluster to Argo CD: apply its root Application. */
function handOver(cluster: ResolvedCluster, namespace: string): BootstrapStep {
  const file = `clusters/${cluster.name}/root-application.yaml`;
  return {
    title: 'Hand the cluster to Argo CD',
    body: [
      'The root Application installs the platform umbrella chart; from here on Git is the only',
      'deployment path. Watch the Applications converge wave by wave:',
    ],
    commands: [
      `kubectl apply -f ${shellQuote(file)}`,
      `kubectl -n ${shellQuote(namespace)} get applications -w`,
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
): AssembledApplications {
  const issues: Issue[] = [];
  const charts = new Map<string, string>();
  for (const run of components.components) {
    if (run.output.chart !== undefined) charts.set(run.component.name, run.output.chart.name);
  }
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  const files: GeneratedFile[] = [];
  const bootstrap: { [cluster: string]: BootstrapStep[] } = {};
  const readmeRows: { cluster: string; apps: string[] }[] = [];
  const objects: { output: string; origin: readonly PathSegment[]; object: KubeObject }[] = [];
  let appVersion: string | undefined;

  for (const run of components.clusters) {
    const gitops = run.facts.gitops;
    if (gitops === undefined) continue;
    appVersion ??= gitops.version;
    const { cluster } = run;
    const namespace = gitops.namespace;
    const { apps, waves } = planCluster(platform, run, charts, issues);
    const owners = namespaceOwners(cluster, apps, waves, issues);
    const manifests: { [name: string]: KubeObject } = {};
    const ordered = [...apps].sort(
      (a, b) =>
        (waves.get(a.name) ?? 0) - (waves.get(b.name) ?? 0) || compareStrings(a.name, b.name),
    );
    const layer = `charts/${PLATFORM_CHART}/clusters/${cluster.name}.yaml`;
    for (const app of ordered) {
      const object = applicationObject(
        platform,
        cluster,
        namespace,
        app,
        waves.get(app.name) ?? 0,
        owners.has(app.name),
      );
      manifests[`application-${app.name}`] = object;
      objects.push({
        output: `${layer}#manifests.application-${app.name}`,
        origin: app.origin,
        object,
      });
    }
    const project = projectObject(platform, cluster, namespace, apps);
    manifests[`appproject-${PLATFORM_PROJECT}`] = project;
    objects.push({
      output: `${layer}#manifests.appproject-${PLATFORM_PROJECT}`,
      origin: ['clusters', cluster.index],
      object: project,
    });
    clusters[cluster.name] = { manifests: manifests as unknown as Values };
    environments[cluster.environment] = {};
    readmeRows.push({
      cluster: cluster.name,
      apps: ordered.map((app) => `${waves.get(app.name) ?? '?'}: ${app.name}`),
    });

    const root = rootApplication(platform, cluster, namespace);
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
    files.push({
      path: rootPath,
      content: toYamlDocuments([bootstrapProjectObject, root], {
        header: generatedHeader(DEFAULT_GENERATED_BY),
      }),
    });
    bootstrap[cluster.name] = [handOver(cluster, namespace)];
  }

  if (Object.keys(clusters).length === 0) return { chart: undefined, files, bootstrap, issues };

  const chart: ChartSpec = {
    name: PLATFORM_CHART,
    description: 'The app-of-apps: Argo CD Applications and AppProjects of every cluster',
    appVersion: appVersion ?? '0.0.0',
    values: {},
    environments,
    clusters,
    readme: readme(readmeRows),
  };

  // What will be on disk, so that every Application's path and value files can be checked.
  const generated = new Set<string>();
  for (const spec of [
    chart,
    ...components.components.flatMap((run) => (run.output.chart ? [run.output.chart] : [])),
  ]) {
    for (const file of chartFiles(spec, INITIAL_CHART_VERSION).files) generated.add(file.path);
  }
  issues.push(
    ...validateArgoObjects(objects),
    ...checkApplicationSources(objects, platform.repositoryUrl, generated),
    ...checkProjectPermissions(objects),
  );
  return { chart, files, bootstrap, issues };
}
