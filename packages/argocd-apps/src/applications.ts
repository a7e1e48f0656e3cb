// charts/platform, the app-of-apps umbrella chart, and the root Application of every cluster.
// Pure: builds data from the resolved platform and the components' outputs.

import { gatewayApiVersionFor, resolveCiliumVersion } from '@homelab/cilium';
import type {
  ApplicationDescriptor,
  ChartSpec,
  ComponentOutput,
  EnvironmentName,
  GeneratedFile,
  Issue,
  KubeObject,
  PodSecurityLevel,
  ResolvedCluster,
  ResolvedPlatform,
  Values,
} from '@homelab/core';
import {
  chartFiles,
  DEFAULT_GENERATED_BY,
  error,
  generatedHeader,
  INITIAL_CHART_VERSION,
  toYamlDocuments,
} from '@homelab/core';
import { checkApplicationSources, checkProjectPermissions, validateArgoObjects } from './checks.js';
import { formatCycle, syncWaves } from './graph.js';
import { compareStrings, manifestMap, sortedUnique } from './internal/order.js';
import { ARGOCD_NAMESPACE } from './settings.js';
import { ARGOCD_APP_VERSION } from './versions.js';

/** The umbrella chart: charts/platform. */
export const PLATFORM_CHART = 'platform';
/** AppProject of every component Application. */
export const PLATFORM_PROJECT = 'platform';
/** AppProject of the root Application: it may only create Applications and AppProjects. */
export const BOOTSTRAP_PROJECT = 'platform-bootstrap';
/** The Application that installs the Gateway API CRDs (standard channel). */
export const GATEWAY_API_CRDS = 'gateway-api-crds';
export const GATEWAY_API_REPOSITORY = 'https://github.com/kubernetes-sigs/gateway-api';
export const GATEWAY_API_PATH = 'config/crd/standard';
/** The CNI: every other component needs pod networking first. */
export const CNI_COMPONENT = 'cilium';
/** Components that turn declared secrets into Kubernetes Secrets; consumers sync after them. */
export const SECRETS_PROVIDERS: readonly string[] = ['bitwarden-sm'];
/** Argo CD's name for the cluster it runs in. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

const RETRY = {
  limit: 10,
  backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
} as const;

/**
 * A descriptor may name namespaces its chart creates besides its destination (e.g. Cilium's
 * `cilium-secrets`); the project must permit them. Optional, not yet part of core's contract.
 */
type Descriptor = ApplicationDescriptor;

interface PlannedApplication {
  readonly name: string;
  readonly component: string;
  readonly namespace: string;
  readonly additionalNamespaces: readonly string[];
  readonly dependsOn: readonly string[];
  /** `undefined`: the Application does not create or label its namespace. */
  readonly podSecurity: PodSecurityLevel | undefined;
  readonly serverSideApply: boolean;
  readonly clusterResources: readonly { readonly group: string; readonly kind: string }[];
  readonly ignoreDifferences: readonly Values[];
  readonly source: Values;
  /** Path in the definition, for issues. */
  readonly path: string;
}

export interface AssembledApplications {
  /** charts/platform; its cluster layers hold each cluster's Applications and AppProject. */
  readonly chart: ChartSpec;
  /** `clusters/<cluster>/root-application.yaml` per cluster. */
  readonly files: GeneratedFile[];
  readonly issues: Issue[];
}

function gatewayApiClusterResources(tag: string): { group: string; kind: string }[] {
  const resources = [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }];
  // From v1.5.0 the standard channel also ships the safe-upgrades ValidatingAdmissionPolicy.
  const [major = 0, minor = 0] = tag.replace(/^v/, '').split('.').map(Number);
  if (major > 1 || (major === 1 && minor >= 5)) {
    resources.push(
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
    );
  }
  return resources;
}

function gatewayApiApplication(cluster: ResolvedCluster, tag: string): PlannedApplication {
  return {
    name: GATEWAY_API_CRDS,
    component: GATEWAY_API_CRDS,
    // CRDs are cluster-scoped; the destination namespace is only what the project checks.
    namespace: 'kube-system',
    additionalNamespaces: [],
    dependsOn: [],
    podSecurity: undefined,
    // The HTTPRoute CRD is larger than the client-side apply annotation allows.
    serverSideApply: true,
    clusterResources: gatewayApiClusterResources(tag),
    ignoreDifferences: [],
    source: {
      repoURL: GATEWAY_API_REPOSITORY,
      path: GATEWAY_API_PATH,
      targetRevision: tag,
      directory: { recurse: false },
    },
    path: `clusters[${cluster.index}]`,
  };
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

function componentApplication(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  output: ComponentOutput,
  descriptor: Descriptor,
  consumesSecrets: boolean,
  present: ReadonlySet<string>,
): PlannedApplication {
  const implicit: string[] = [];
  if (descriptor.name === CNI_COMPONENT) implicit.push(GATEWAY_API_CRDS);
  else if (present.has(CNI_COMPONENT)) implicit.push(CNI_COMPONENT);
  if (consumesSecrets && !SECRETS_PROVIDERS.includes(descriptor.name)) {
    implicit.push(...SECRETS_PROVIDERS.filter((provider) => present.has(provider)));
  }
  return {
    name: descriptor.name,
    component: output.component,
    namespace: descriptor.namespace,
    additionalNamespaces: sortedUnique(descriptor.additionalNamespaces ?? []),
    dependsOn: sortedUnique([...descriptor.dependsOn, ...implicit]),
    podSecurity: descriptor.podSecurity,
    serverSideApply: descriptor.serverSideApply === true,
    clusterResources: descriptor.clusterResources,
    ignoreDifferences: descriptor.ignoreDifferences ?? [],
    source: chartSource(platform, cluster, descriptor.chart, descriptor.name),
    path: `clusters[${cluster.index}].components.${output.component}`,
  };
}

function applicationObject(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
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
      namespace: ARGOCD_NAMESPACE,
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
      namespace: ARGOCD_NAMESPACE,
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

function bootstrapProject(platform: ResolvedPlatform): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: BOOTSTRAP_PROJECT,
      namespace: ARGOCD_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      description: `The root Application of ${platform.name}: Applications and AppProjects only`,
      sourceRepos: [platform.repositoryUrl],
      destinations: [{ server: IN_CLUSTER, namespace: ARGOCD_NAMESPACE }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
      ],
    },
  };
}

function rootApplication(platform: ResolvedPlatform, cluster: ResolvedCluster): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    // No resources finalizer: deleting the root must not take the whole platform with it.
    metadata: {
      name: `${cluster.name}-${PLATFORM_CHART}`,
      namespace: ARGOCD_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': platform.name },
    },
    spec: {
      project: BOOTSTRAP_PROJECT,
      destination: { server: IN_CLUSTER, namespace: ARGOCD_NAMESPACE },
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
          path: `clusters[${cluster.index}].components`,
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

function planCluster(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  outputs: readonly ComponentOutput[],
  gatewayApiTag: string,
  issues: Issue[],
): { apps: PlannedApplication[]; waves: ReadonlyMap<string, number> } {
  const entries: { output: ComponentOutput; descriptor: Descriptor; consumesSecrets: boolean }[] =
    [];
  for (const output of [...outputs].sort((a, b) => compareStrings(a.component, b.component))) {
    const contribution = output.clusters[cluster.name];
    const descriptor = contribution?.application;
    if (descriptor === undefined) continue;
    entries.push({
      output,
      descriptor,
      consumesSecrets: (contribution?.secrets ?? []).length > 0,
    });
  }
  const present = new Set([GATEWAY_API_CRDS, ...entries.map((entry) => entry.descriptor.name)]);
  const apps: PlannedApplication[] = [gatewayApiApplication(cluster, gatewayApiTag)];
  const seen = new Map<string, string>([[GATEWAY_API_CRDS, GATEWAY_API_CRDS]]);
  for (const entry of entries) {
    const previous = seen.get(entry.descriptor.name);
    if (previous !== undefined) {
      issues.push(
        error({
          code: 'duplicate-application',
          path: `clusters[${cluster.index}].components.${entry.output.component}`,
          value: entry.descriptor.name,
          message: `Application name is also used by ${previous}`,
          expected: 'a unique Application name per cluster',
        }),
      );
      continue;
    }
    seen.set(entry.descriptor.name, entry.output.component);
    apps.push(
      componentApplication(
        platform,
        cluster,
        entry.output,
        entry.descriptor,
        entry.consumesSecrets,
        present,
      ),
    );
  }

  const { waves, problems } = syncWaves(apps);
  const enabled = [...present].sort(compareStrings).join(', ');
  for (const problem of problems) {
    if (problem.kind === 'unknown') {
      const app = apps.find((candidate) => candidate.name === problem.from);
      issues.push(
        error({
          code: 'unknown-dependency',
          path: app?.path ?? `clusters[${cluster.index}].components`,
          value: problem.missing,
          message: `${problem.from} depends on "${problem.missing}", which is not enabled on cluster "${cluster.name}"`,
          expected: `one of ${enabled}`,
        }),
      );
    } else {
      issues.push(
        error({
          code: 'dependency-cycle',
          path: `clusters[${cluster.index}].components`,
          value: formatCycle(problem.cycle),
          message: `dependency cycle on cluster "${cluster.name}": ${formatCycle(problem.cycle)}`,
          expected: 'components whose dependsOn form no cycle',
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

/**
 * The umbrella chart `charts/platform` (one cluster layer per cluster with its Applications and
 * AppProject) and `clusters/<cluster>/root-application.yaml`, from every component's output
 * (Argo CD's included). Dependency problems, schema problems of the generated Applications and
 * AppProjects, and broken sources or project permissions come back as issues.
 */
export function assembleApplications(
  platform: ResolvedPlatform,
  outputs: readonly ComponentOutput[],
): AssembledApplications {
  const issues: Issue[] = [];
  const gatewayApiTag = gatewayApiVersionFor(resolveCiliumVersion(platform).version);
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  const files: GeneratedFile[] = [];
  const readmeRows: { cluster: string; apps: string[] }[] = [];
  const objects: { path: string; object: KubeObject }[] = [];

  for (const cluster of platform.clusters) {
    const { apps, waves } = planCluster(platform, cluster, outputs, gatewayApiTag, issues);
    const owners = namespaceOwners(cluster, apps, waves, issues);
    const manifests: { [name: string]: KubeObject } = {};
    const ordered = [...apps].sort(
      (a, b) =>
        (waves.get(a.name) ?? 0) - (waves.get(b.name) ?? 0) || compareStrings(a.name, b.name),
    );
    for (const app of ordered) {
      const object = applicationObject(
        platform,
        cluster,
        app,
        waves.get(app.name) ?? 0,
        owners.has(app.name),
      );
      manifests[`application-${app.name}`] = object;
      objects.push({
        path: `charts/${PLATFORM_CHART}/clusters/${cluster.name}.yaml#manifests.application-${app.name}`,
        object,
      });
    }
    const project = projectObject(platform, cluster, apps);
    manifests[`appproject-${PLATFORM_PROJECT}`] = project;
    objects.push({
      path: `charts/${PLATFORM_CHART}/clusters/${cluster.name}.yaml#manifests.appproject-${PLATFORM_PROJECT}`,
      object: project,
    });
    clusters[cluster.name] = { manifests: manifestMap(manifests) };
    environments[cluster.environment] = {};
    readmeRows.push({
      cluster: cluster.name,
      apps: ordered.map((app) => `${waves.get(app.name) ?? '?'}: ${app.name}`),
    });

    const root = rootApplication(platform, cluster);
    const bootstrap = bootstrapProject(platform);
    const rootPath = `clusters/${cluster.name}/root-application.yaml`;
    objects.push(
      { path: `${rootPath}#AppProject`, object: bootstrap },
      { path: `${rootPath}#Application`, object: root },
    );
    files.push({
      path: rootPath,
      content: toYamlDocuments([bootstrap, root], {
        header: generatedHeader(DEFAULT_GENERATED_BY),
      }),
    });
  }

  const chart: ChartSpec = {
    name: PLATFORM_CHART,
    description: 'The app-of-apps: Argo CD Applications and AppProjects of every cluster',
    appVersion: ARGOCD_APP_VERSION,
    values: {},
    environments,
    clusters,
    readme: readme(readmeRows),
  };

  // What will be on disk, so that every Application's path and value files can be checked.
  const generated = new Set<string>();
  for (const spec of [
    chart,
    ...outputs.flatMap((output) => (output.chart ? [output.chart] : [])),
  ]) {
    for (const file of chartFiles(spec, INITIAL_CHART_VERSION).files) generated.add(file.path);
  }
  issues.push(
    ...validateArgoObjects(objects),
    ...checkApplicationSources(objects, platform.repositoryUrl, generated),
    ...checkProjectPermissions(objects),
  );
  return { chart, files, issues };
}
