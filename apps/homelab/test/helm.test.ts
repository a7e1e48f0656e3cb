// Layer 5 (DESIGN.md, "Validation layers"): the real Helm renders every generated chart for every
// cluster, with the vendored upstream chart and the value files its Argo CD Application names, as
// Argo CD v3.4 would. What it renders must (a) pass the upstream values.schema.json, (b) validate
// object by object, (c) run at the Pod Security level of its namespace, and (d) contain exactly
// the `manifests` objects the TypeScript merge computes.
//
// Needs `helm` on PATH (`.ci/run` installs the Helm Argo CD v3.4.4 embeds). Without it the suite
// is skipped and says "not run: helm not found" (a skipped test is not a passed one); with
// CI=true a missing Helm fails the run. A definition with Argo CD off on every cluster has no root
// Application in its output: then the renders of the committed output are skipped and say
// "not run: no cluster has a root Application in the committed output". The tests of argocd-cm's
// health checks run them with Argo CD's own code (tools/argocd-machinery, found as the
// argocd-machinery suite finds it); without it they say "not run", and fail in CI.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { APPLICATION_HEALTH_KEY, healthKey } from '@homelab/argocd';
import { entityReachesPods, podsReachPods } from '@homelab/cilium';
import { type GenerateResult, generate, REGISTRY } from '@homelab/cli';
import {
  blockingDisruptionBudgets,
  builtInObjects,
  type ClusterContribution,
  type DisruptionBudget,
  disruptionBudgets,
  type ExistingObject,
  existingObjectOf,
  type FlowPort,
  formatIssue,
  type KubeObject,
  loadModelValidators,
  missingEffect,
  parseAllDocuments,
  parseYaml,
  podReferences,
  podTemplateOf,
  readChartDir,
  renderChart,
  secretMadeFrom,
  type UnresolvedPodReference,
  unresolvedPodReferences,
  unresolvedProbePorts,
  unresolvedRoleReferences,
  validateObjects,
} from '@homelab/core';
import {
  alertTargetProblems,
  clusterMadeServices,
  DEFINITION_RULES,
  scrapeTargets,
} from '@homelab/monitoring';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  ARGOCD_MACHINERY_INSTALL,
  type ArgocdRequest,
  type ArgocdResponse,
  argocdCheck,
  argocdHealth,
  clustersDeployingArgocd,
  findArgocdMachinery,
  groupOf,
  isBuiltinGroup,
  kindScopes,
  type SyncQuestion,
} from './argocd-machinery.js';
import {
  CILIUM_MACHINERY_INSTALL,
  CILIUM_MACHINERY_VERSIONS,
  ciliumCheck,
  findCiliumMachinery,
} from './cilium-machinery.js';
import type { FoundTool } from './find-tool.js';
import {
  type ChartRender,
  chartTemplateFiles,
  ciliumConfigNodePorts,
  clientSideApplyOf,
  clusterCrdSchemas,
  committedOutputRenders,
  crdApiVersions,
  crdBundleObjects,
  deletionHooks,
  discoverRenders,
  finalizerDiffHooks,
  findHelm,
  firewallAllows,
  flowProblems,
  gatekeeperEngineProblems,
  grpcRouteProblems,
  type HelmResult,
  helmSuiteRuns,
  helmWarnings,
  hostConnections,
  hostDnsRoutingConflict,
  hostFirewallProblems,
  IN_CI,
  lintArgs,
  listDefaultProblems,
  liveRenderDifferences,
  manifestDifferences,
  namespacePolicies,
  neverRunByArgoCd,
  type PodSecurityResult,
  type PreparedChart,
  podSecurityExemptions,
  podSecurityOf,
  preflightProblems,
  prepareChart,
  REPO,
  type RenderedDocument,
  type RoleFirewall,
  renderDrift,
  renderedPods,
  renderedSourceProblems,
  renderedWebhooks,
  roleFirewall,
  rotationGuideEntries,
  rotationGuideProblems,
  rotationPatchProblems,
  routeBackendProblems,
  runHelm,
  scrapeReachProblems,
  serviceEndpointProblems,
  splitHelmOutput,
  templateArgs,
  undeclaredImages,
  unexplainedHelmWarnings,
  upgradeOnlyPreSyncHooks,
  upstreamImageReferences,
  upstreamSchemaProblems,
  vendoredChartArchive,
  vendoredCrdBundleObjects,
  webhookReachProblems,
} from './helm/harness.js';
import { secretsMadeByJob } from './helm/made-at-run-time.js';
import {
  findKubeMachinery,
  KUBE_MACHINERY_INSTALL,
  KUBE_MACHINERY_VERSIONS,
  type KubeItem,
  kubeBootstrapRbac,
  kubeCheck,
  kubeMachineryVersionFor,
  kubeMinorOf,
} from './kube-machinery.js';

const helm = findHelm();
// Argo CD's own code (tools/argocd-machinery) reads argocd-cm and runs its health checks; without
// it those tests say "not run" (and fail in CI).
const argocd = findArgocdMachinery();
if (argocd === undefined && !IN_CI && helm !== undefined) {
  console.log(
    `helm suite: not run: Argo CD's health checks (argocd-machinery not found: ${ARGOCD_MACHINERY_INSTALL})`,
  );
}
const onArgocd = argocd !== undefined || IN_CI ? it : it.skip;
// Cilium's own policy parsing (tools/cilium-machinery, one build per Cilium release it has a
// module for) reads the CiliumNetworkPolicies Helm renders; without the builds that test says
// "not run" (and fails in CI).
const ciliumTools = new Map(
  CILIUM_MACHINERY_VERSIONS.map((version) => [version, findCiliumMachinery(version)] as const),
);
const ciliumMissing = [...ciliumTools].filter(([, tool]) => tool === undefined).map(([v]) => v);
if (ciliumMissing.length > 0 && !IN_CI && helm !== undefined) {
  console.log(
    `helm suite: not run: Cilium's policy parsing of ${ciliumMissing.join(', ')} (cilium-machinery not found: ${CILIUM_MACHINERY_INSTALL})`,
  );
}
const onCilium = ciliumMissing.length < ciliumTools.size || IN_CI ? it : it.skip;
// The Kubernetes API server's own create path (tools/kube-machinery, one build per Kubernetes
// release) reads every object a cluster applies, with the build of the cluster's own minor;
// without the builds those tests say "not run" (and fail in CI).
const kubeTools = new Map(
  KUBE_MACHINERY_VERSIONS.map((version) => [version, findKubeMachinery(version)] as const),
);
const kubeMissing = [...kubeTools].filter(([, tool]) => tool === undefined).map(([v]) => v);
if (kubeMissing.length > 0 && !IN_CI && helm !== undefined) {
  console.log(
    `helm suite: not run: the API server's validation of Kubernetes ${kubeMissing.join(', ')} (kube-machinery not found: ${KUBE_MACHINERY_INSTALL})`,
  );
}
const onKube = kubeMissing.length < kubeTools.size || IN_CI ? it : it.skip;
/** The kube-machinery builds found (in CI: all of them, else the test fails). */
function foundKubeTools(): FoundTool[] {
  if (IN_CI) expect(kubeMissing, 'kube-machinery builds not found').toEqual([]);
  return [...kubeTools.values()].filter((tool) => tool !== undefined);
}
const discovery = discoverRenders();

interface Rendered {
  readonly prepared?: PreparedChart;
  readonly lint?: HelmResult;
  readonly template?: HelmResult;
  readonly documents?: readonly RenderedDocument[];
  /**
   * The render on the live cluster: with the API versions of every CRD the cluster's charts and
   * the vendored CRD bundles install, as Argo CD passes the cluster's (unless the Application
   * pins `helm.apiVersions`).
   */
  readonly live?: HelmResult;
  /** Why the chart could not be prepared or Helm's output not read. */
  readonly failure?: string;
  /** When the first `helm template` started (ms since the epoch): the second waits a second. */
  readonly startedAt?: number;
}

const rendered = new Map<ChartRender, Rendered>();
const counts = { renders: 0, objects: 0, objectProblems: 0, pods: 0, notDeployed: 0, images: 0 };
/** Objects too large for a client-side apply, all applied server-side (by render). */
const serverSideOnly: string[] = [];
/** What Helm printed on stderr for renders that succeeded (warnings), by render. */
const warnings: string[] = [];
let scratch = '';
let helmHome = '';
/** Per cluster: the API versions it serves once every CRD is installed (the live render's). */
const liveApiVersions = new Map<string, string[]>();

function renderAll(): void {
  if (helm === undefined) {
    // Only in CI (elsewhere the suite is skipped): every test fails, saying why.
    for (const render of discovery.renders) {
      rendered.set(render, {
        failure: 'helm not found on PATH: CI must install it (.ci/run does: .ci/install-helm)',
      });
    }
    return;
  }
  scratch = mkdtempSync(join(tmpdir(), 'homelab-helm-'));
  helmHome = join(scratch, '.helm-home');
  mkdirSync(helmHome);
  const home = helmHome;
  for (const render of discovery.renders) {
    try {
      const prepared = prepareChart(render, scratch);
      const lint = runHelm(helm, lintArgs(render, prepared), prepared.dir, home);
      const startedAt = Date.now();
      const template = runHelm(helm, templateArgs(render, prepared), prepared.dir, home);
      const documents = template.status === 0 ? splitHelmOutput(template.stdout) : undefined;
      if (template.status === 0) {
        counts.renders++;
        for (const line of helmWarnings(template.stderr)) {
          warnings.push(`${render.cluster} ${render.path}: ${line}`);
        }
      }
      rendered.set(render, {
        prepared,
        lint,
        template,
        startedAt,
        ...(documents ? { documents } : {}),
      });
    } catch (cause) {
      rendered.set(render, { failure: cause instanceof Error ? cause.message : String(cause) });
    }
  }
  // Then as on the live cluster, once every CRD is installed.
  const bundles = vendoredCrdBundleObjects();
  for (const { cluster } of discovery.clusters) {
    liveApiVersions.set(
      cluster,
      crdApiVersions([
        ...bundles,
        ...[...rendered.entries()]
          .filter(([other]) => other.cluster === cluster)
          .flatMap(([, other]) => (other.documents ?? []).map(({ object }) => object)),
      ]),
    );
  }
  for (const render of discovery.renders) {
    const result = rendered.get(render);
    if (result?.prepared === undefined || result.documents === undefined) continue;
    const apiVersions = liveApiVersions.get(render.cluster) ?? [];
    const live = runHelm(
      helm,
      templateArgs(render, result.prepared, apiVersions),
      result.prepared.dir,
      home,
    );
    rendered.set(render, { ...result, live });
  }
}

/**
 * Every document Helm rendered for `cluster`, each object in a namespace: its own, else its
 * Application's (where Argo CD applies an object that names none).
 */
function namespacedDocuments(cluster: string): RenderedDocument[] {
  return [...rendered.entries()]
    .filter(([render]) => render.cluster === cluster)
    .flatMap(([render, result]) =>
      (result.documents ?? []).map(({ source, object }) => ({
        source,
        object: {
          ...object,
          metadata: {
            ...object.metadata,
            namespace: object.metadata.namespace ?? render.namespace,
          },
        } as KubeObject,
      })),
    );
}

/** What the sync check hands Argo CD's code for a cluster (see `argocdSyncRequest`). */
interface SyncRequest extends ArgocdRequest {
  readonly sync: readonly SyncQuestion[];
  /** Per question: the Application's name, and per resource `<group>/<kind> <namespace>/<name>`. */
  readonly labels: readonly { readonly application: string; readonly resources: string[] }[];
  /** What the suite could not ask: an Application of a project the cluster lacks, a kind no API serves. */
  readonly unknown: readonly string[];
}

/**
 * The questions of Argo CD's sync checks on `cluster`, once every Application is synced: its Argo
 * CD's ConfigMaps and Secrets as Helm rendered them (the namespace of argocd-cm), and for each
 * Application of the cluster (the root and those charts/platform holds) its AppProject (from
 * clusters/<cluster>/root-application.yaml or a render of the cluster) and every object its source
 * renders: its chart's render (Helm hooks Argo CD never runs left out), or a CRD bundle's vendored
 * objects. Each object's scope is the cluster's (`kindScopes`, with every CRD the cluster gets).
 */
function argocdSyncRequest(cluster: string): SyncRequest {
  const entries = [...rendered.entries()].filter(([render]) => render.cluster === cluster);
  const applications =
    discovery.clusters.find((entry) => entry.cluster === cluster)?.applications ?? [];
  const rootDocuments = parseAllDocuments(
    readFileSync(join(REPO, 'clusters', cluster, 'root-application.yaml'), 'utf8'),
  ) as KubeObject[];
  const bundles = new Map(
    applications.map((application) => [application, crdBundleObjects(application)] as const),
  );
  const renderedObjects = entries.flatMap(([, result]) =>
    (result.documents ?? []).map(({ object }) => object),
  );
  const scope = kindScopes([
    ...renderedObjects,
    ...[...bundles.values()].flatMap((objects) => objects ?? []),
  ]);
  const projects = new Map(
    [...rootDocuments, ...renderedObjects]
      .filter((object) => object?.kind === 'AppProject')
      .map((object) => [object.metadata.name, object] as const),
  );
  // Argo CD's namespace: where Helm rendered argocd-cm.
  const argocdRender = entries.find(([, result]) =>
    (result.documents ?? []).some(
      ({ object }) => object.kind === 'ConfigMap' && object.metadata.name === 'argocd-cm',
    ),
  );
  const namespace = argocdRender?.[0].namespace ?? '';
  const objects = (argocdRender?.[1].documents ?? [])
    .map(({ object }) => object)
    .filter(
      (object) =>
        object.apiVersion === 'v1' &&
        (object.kind === 'ConfigMap' || object.kind === 'Secret') &&
        (object.metadata.namespace ?? namespace) === namespace,
    );
  const sync: SyncQuestion[] = [];
  const labels: { application: string; resources: string[] }[] = [];
  const unknown: string[] = [];
  for (const application of applications) {
    const name = application.metadata.name;
    const projectName = String((application.spec as { project?: unknown }).project ?? '');
    const project = projects.get(projectName);
    if (project === undefined) {
      unknown.push(`${name}: its project "${projectName}" is no AppProject of the cluster`);
      continue;
    }
    const render = entries.find(([candidate]) => candidate.application === name);
    const sourceObjects = render
      ? (render[1].documents ?? [])
          .map(({ object }) => object)
          .filter((object) => !neverRunByArgoCd(object))
      : ((bundles.get(application) ?? []) as KubeObject[]);
    const resourceLabels: string[] = [];
    const resources = sourceObjects.map((object) => {
      const namespaced = scope(object);
      const label = `${groupOf(object)}/${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
      resourceLabels.push(label);
      if (namespaced === undefined)
        unknown.push(`${name}: ${label}: no API of the cluster serves the kind`);
      return {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace ?? '',
        namespaced: namespaced ?? null,
      };
    });
    sync.push({ project, application, resources });
    labels.push({ application: name, resources: resourceLabels });
  }
  return { namespace, objects, sync, labels, unknown };
}

/** The request itself, without the suite's labels. */
function asked({ namespace, objects, sync }: SyncRequest): ArgocdRequest {
  return { namespace, objects, sync };
}

/** Every refusal in Argo CD's answer to a sync request, one line each, naming the Application. */
function syncRefusals(request: SyncRequest, sync: ArgocdResponse['sync']): string[] {
  expect(sync?.length).toBe(request.sync.length);
  return (sync ?? []).flatMap((answer, index) => {
    const label = request.labels[index];
    const application = label?.application ?? `sync[${index}]`;
    return [
      ...(answer.projectError ? [`${application}: its project: ${answer.projectError}`] : []),
      ...(answer.applicationError ? [`${application}: ${answer.applicationError}`] : []),
      ...answer.applicationConditions.map((condition) => `${application}: ${condition}`),
      ...answer.resources.flatMap(({ error }, at) =>
        error ? [`${application}: ${label?.resources[at] ?? at}: ${error}`] : [],
      ),
    ];
  });
}

/**
 * Whether Helm renders `kind` (named `name`, when given) on `cluster`. The user's definition may
 * leave a component off a cluster (monitoring on dev) or name its clusters otherwise: a test of
 * what a component renders runs on the clusters that have it, never on names of the reference.
 */
/**
 * Panel types built into Grafana 13.2 (public/app/plugins/panel; the Angular ones, graph and
 * singlestat, are gone since 12): what a dashboard may use with no plugin installed.
 */
const GRAFANA_CORE_PANELS = new Set([
  'alertlist',
  'annolist',
  'barchart',
  'bargauge',
  'candlestick',
  'canvas',
  'dashlist',
  'flamegraph',
  'gauge',
  'geomap',
  'heatmap',
  'histogram',
  'logs',
  'news',
  'nodeGraph',
  'piechart',
  'row',
  'stat',
  'state-timeline',
  'status-history',
  'table',
  'text',
  'timeseries',
  'traces',
  'trend',
  'xychart',
]);

/** The dashboards a ConfigMap provisions for Grafana's sidecar (label grafana_dashboard). */
function dashboardJsons(object: KubeObject): { key: string; json: Record<string, unknown> }[] {
  const labels = (object.metadata.labels ?? {}) as Record<string, string>;
  if (object.kind !== 'ConfigMap' || labels.grafana_dashboard === undefined) return [];
  const data = ((object as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
  return Object.entries(data).map(([key, text]) => ({ key, json: JSON.parse(text) }));
}

/** The data source uids a ConfigMap provisions (label grafana_datasource, its datasource.yaml). */
function datasourceUids(object: KubeObject): string[] {
  const labels = (object.metadata.labels ?? {}) as Record<string, string>;
  if (object.kind !== 'ConfigMap' || labels.grafana_datasource === undefined) return [];
  const data = ((object as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
  return Object.values(data).flatMap((text) => {
    const parsed = parseYaml(text) as { datasources?: { uid?: string }[] } | null;
    return (parsed?.datasources ?? []).flatMap((source) =>
      source.uid === undefined ? [] : [source.uid],
    );
  });
}

/** What keeps a dashboard from loading: a panel type not built in, a data source not provisioned. */
function dashboardProblems(
  json: Record<string, unknown>,
  provisioned: readonly string[],
): string[] {
  const problems: string[] = [];
  const uid = (source: unknown) => {
    const value = (source as { uid?: unknown } | null | undefined)?.uid;
    // A template variable, or one of Grafana's own: the Grafana, Mixed and Dashboard data sources
    if (typeof value !== 'string' || value.startsWith('$') || /^-- \w+ --$/.test(value)) return;
    if (!provisioned.includes(value)) {
      problems.push(
        `names data source uid "${value}", which the chart does not provision (${provisioned.join(', ')})`,
      );
    }
  };
  const walk = (panels: unknown) => {
    for (const panel of Array.isArray(panels) ? panels : []) {
      const entry = panel as {
        type?: string;
        datasource?: unknown;
        targets?: unknown;
        panels?: unknown;
      };
      if (entry.type !== undefined && !GRAFANA_CORE_PANELS.has(entry.type)) {
        problems.push(
          `panel "${entry.type}" is no panel Grafana 13.2 has built in (no plugin is installed: GRAFANA_PLUGINS)`,
        );
      }
      uid(entry.datasource);
      for (const target of Array.isArray(entry.targets) ? entry.targets : [])
        uid((target as { datasource?: unknown }).datasource);
      walk(entry.panels);
    }
  };
  walk(json.panels);
  const templating = (json.templating as { list?: unknown[] } | undefined)?.list ?? [];
  for (const variable of templating) uid((variable as { datasource?: unknown }).datasource);
  return problems;
}

/** The sections of an INI text (grafana.ini as the Grafana chart renders it): keys and values. */
function iniSections(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> = {};
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      current = {};
      sections.set(header[1] as string, current);
    } else if (line !== '' && !line.startsWith(';') && !line.startsWith('#')) {
      const at = line.indexOf('=');
      if (at > 0) current[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return sections;
}

function rendersOn(cluster: string, kind: string, name?: string): boolean {
  return [...rendered.entries()].some(
    ([render, result]) =>
      render.cluster === cluster &&
      (result.documents ?? []).some(
        ({ object }) =>
          object.kind === kind && (name === undefined || object.metadata.name === name),
      ),
  );
}

/**
 * Marks a test "not run" (skipped, never counted as passed), saying why: the user's definition
 * has nothing it checks (a component it disables, a case only other definitions show; the
 * reference platform, which the project's own CI builds, has each).
 */
function notRun(context: TestContext, why: string): never {
  console.log(`helm suite: not run: ${why}`);
  context.skip(why);
  throw new Error(why);
}

/**
 * The first cluster, in the definition's order, that `has` holds for: a test of a case the
 * reference platform shows on its prod (say, a guide entry for Grafana's OIDC client) runs on
 * whichever cluster of the user's definition has it, whatever the clusters are named. The test
 * is "not run", naming what it looked for, when no cluster has it.
 */
function clusterWhere(
  context: TestContext,
  what: string,
  has: (cluster: string) => boolean,
): string {
  const cluster = discovery.clusters.map((entry) => entry.cluster).find(has);
  if (cluster === undefined) notRun(context, `no cluster of the definition has ${what}`);
  return cluster;
}

/**
 * The contributions of the components whose Application deploys the render's chart on its
 * cluster, from the build of the definition (an Application's chart defaults to the one its
 * component renders, contract.ts). Fails the test when the build has no such cluster.
 */
function deployingContributions(render: ChartRender): [string, ClusterContribution][] {
  const run = built?.components?.clusters.find((entry) => entry.cluster.name === render.cluster);
  expect(run, 'the build of the definition').toBeDefined();
  const rendered = new Map(
    (built?.components?.components ?? []).map((entry) => [
      entry.component.name,
      entry.output.chart?.name,
    ]),
  );
  return [...(run?.contributions.entries() ?? [])].filter(
    ([component, contribution]) =>
      `charts/${contribution.application?.chart ?? rendered.get(component)}` === render.path,
  );
}

/** The documents of a render, failing the test with Helm's own words when there are none. */
function documentsOf(render: ChartRender): readonly RenderedDocument[] {
  const result = rendered.get(render);
  if (result?.failure !== undefined) expect.fail(result.failure);
  if (result?.documents === undefined) {
    expect.fail(`helm template failed: ${result?.template?.stderr.trim() ?? 'not run'}`);
  }
  return result.documents;
}

/**
 * The argocd-cm ConfigMap Helm rendered on each cluster that renders objects of `kind`, and its
 * entry `key` (a health script; `undefined` where argocd-cm lacks it).
 */
function healthScriptsWhere(
  kind: string,
  key: string,
): [string, KubeObject | undefined, string | undefined][] {
  const byCluster = new Map<string, { objects: number; cm: KubeObject | undefined }>();
  for (const [render, result] of rendered.entries()) {
    const entry = byCluster.get(render.cluster) ?? { objects: 0, cm: undefined };
    for (const { object } of result.documents ?? []) {
      if (object.kind === kind) entry.objects++;
      if (object.kind === 'ConfigMap' && object.metadata.name === 'argocd-cm') entry.cm = object;
    }
    byCluster.set(render.cluster, entry);
  }
  return [...byCluster]
    .filter(([, entry]) => entry.objects > 0)
    .map(([cluster, entry]) => [
      cluster,
      entry.cm,
      (entry.cm as { data?: Record<string, string> } | undefined)?.data?.[key],
    ]);
}

/** Every Namespace object Helm rendered for a cluster (their labels set Pod Security levels too). */
function namespacesOf(cluster: string): KubeObject[] {
  return [...rendered.entries()]
    .filter(([render]) => render.cluster === cluster)
    .flatMap(([, result]) => result.documents ?? [])
    .map((document) => document.object)
    .filter((object) => object.apiVersion === 'v1' && object.kind === 'Namespace');
}

/** A top-level key the schema types as boolean. */
function booleanKey(schema: { [key: string]: unknown } | undefined): string | undefined {
  const properties = (schema?.properties ?? {}) as { [key: string]: { type?: unknown } };
  return Object.keys(properties)
    .sort()
    .find((key) => properties[key]?.type === 'boolean');
}

const suite = helmSuiteRuns(
  helm,
  'helm suite: not run: helm not found (install it: go install helm.sh/helm/v3/cmd/helm@v3.19.4)',
)
  ? describe
  : describe.skip;
const title =
  helm === undefined
    ? IN_CI
      ? 'helm suite (helm not found on PATH)'
      : 'helm suite (not run: helm not found)'
    : `helm suite (${helm.version})`;

// A definition may turn Argo CD off on every cluster: the output then has no root Application,
// nothing Argo CD renders, and the renders below do not run (they say so; skipped, not passed).
const committed = committedOutputRenders(
  discovery,
  'helm suite: not run: no cluster has a root Application in the committed output',
)
  ? describe
  : describe.skip;

/** The build of the definition the renders come from (what each component declared). */
let built: GenerateResult | undefined;

suite(title, () => {
  beforeAll(renderAll, 15 * 60_000);
  beforeAll(async () => {
    const file = join(REPO, 'apps', 'homelab', 'platform.yaml');
    built = await generate({ text: readFileSync(file, 'utf8'), file, chartVersions: {} });
  }, 120_000);

  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    const notRendered = discovery.skipped.map(
      ({ application, reason }) => `${application} ${reason}`,
    );
    console.log(
      `helm suite: ${counts.renders} chart×cluster renders, ${counts.objects} objects validated (${counts.objectProblems} problems), ${counts.pods} pod templates checked against Pod Security (${counts.notDeployed} Helm test hooks left out: Argo CD never runs them), ${counts.images} image references of upstream charts declared by their components`,
    );
    const large = [...new Set(serverSideOnly.map((line) => line.split(':')[0]))];
    console.log(
      `helm suite: ${serverSideOnly.length} objects too large for a client-side apply, each applied server-side${large.length > 0 ? ` (${large.join(', ')})` : ''}`,
    );
    for (const warning of warnings) console.log(`helm suite: Helm warned: ${warning}`);
    if (notRendered.length > 0)
      console.log(
        `helm suite: not rendered (no chart of this repository): ${notRendered.join('; ')}`,
      );
  });

  it("finds Longhorn's pre-upgrade checker, rendered by the real Helm from the vendored chart, as an upgrade-only hook", () => {
    if (helm === undefined) expect.fail('helm not found on PATH');
    // The vendored archive itself, whatever the definition deploys: what the checker the
    // longhorn component switches off (preUpgradeChecker.jobEnabled) would put in front of a sync.
    const versions = readdirSync(join(REPO, 'vendor', 'charts', 'longhorn')).sort();
    const archive = vendoredChartArchive('longhorn', versions[versions.length - 1] as string);
    const hooks = (enabled: boolean) => {
      const result = runHelm(
        helm as NonNullable<typeof helm>,
        [
          'template',
          archive,
          '--namespace',
          'longhorn-system',
          '--kube-version',
          '1.34.0',
          '--set',
          `preUpgradeChecker.jobEnabled=${enabled}`,
        ],
        scratch || tmpdir(),
        helmHome || tmpdir(),
      );
      expect(result.status, result.stderr).toBe(0);
      return upgradeOnlyPreSyncHooks(splitHelmOutput(result.stdout).map(({ object }) => object));
    };
    expect(hooks(true)).toEqual([
      'Job/longhorn-pre-upgrade: helm.sh/hook pre-upgrade runs as an Argo CD PreSync hook on every sync, the first one included, where Helm runs it only on upgrades',
    ]);
    expect(hooks(false)).toEqual([]);
  });

  it('removes a subchart table default a value file sets to null, with the one warning the suite explains (helm/helm#31118)', () => {
    if (helm === undefined) expect.fail('helm not found on PATH');
    // A parent chart with an unpacked subchart whose default is a table, and a value file that
    // nulls it: what charts/cilium does to operator.affinity.podAntiAffinity on one-node clusters.
    const dir = mkdtempSync(join(scratch || tmpdir(), 'null-over-table-'));
    const child = join(dir, 'charts', 'child');
    mkdirSync(join(child, 'templates'), { recursive: true });
    writeFileSync(
      join(dir, 'Chart.yaml'),
      'apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n  - name: child\n    version: 0.1.0\n',
    );
    writeFileSync(join(dir, 'values.yaml'), 'child: {}\n');
    writeFileSync(join(child, 'Chart.yaml'), 'apiVersion: v2\nname: child\nversion: 0.1.0\n');
    writeFileSync(
      join(child, 'values.yaml'),
      'affinity:\n  podAntiAffinity:\n    required: [a]\n  nodeAffinity:\n    preferred: [b]\n',
    );
    writeFileSync(
      join(child, 'templates', 'affinity.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: affinity\ndata:\n  affinity: {{ toJson .Values.affinity | quote }}\n',
    );
    writeFileSync(join(dir, 'layer.yaml'), 'child:\n  affinity:\n    podAntiAffinity: null\n');
    const result = runHelm(helm, ['template', '.', '-f', 'layer.yaml'], dir, helmHome || dir);
    expect(result.status, result.stderr).toBe(0);
    const [document] = splitHelmOutput(result.stdout);
    const data = (document?.object.data ?? {}) as { affinity?: string };
    // podAntiAffinity is gone; the rest of the default table stays.
    expect(JSON.parse(data.affinity ?? 'null')).toEqual({ nodeAffinity: { preferred: ['b'] } });
    expect(result.stderr).toContain(
      'cannot overwrite table with non table for parent.child.affinity.podAntiAffinity',
    );
    // The merged values (values.yaml, then layer.yaml) hold the null: the warning is explained.
    const merged = { child: { affinity: { podAntiAffinity: null } } };
    expect(helmWarnings(result.stderr).length).toBeGreaterThan(0);
    expect(unexplainedHelmWarnings(result.stderr, 'parent', merged)).toEqual([]);
  });

  committed("the committed output, as each cluster's Argo CD renders it", () => {
    it('finds a chart to render for every cluster', () => {
      const clusters = discovery.clusters.map(({ cluster }) => cluster);
      expect(clusters.length).toBeGreaterThan(0);
      expect([...new Set(discovery.renders.map((render) => render.cluster))]).toEqual(clusters);
    });

    it("finds VolSync's own ServiceMonitor only on the live cluster when the backups Application does not pin helm.apiVersions", (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      const backups = [...rendered.entries()].filter(
        ([render]) => render.path === 'charts/backups',
      );
      if (backups.length === 0) notRun(context, 'no cluster deploys charts/backups');
      // The Application pins what Helm sees on every cluster …
      for (const [render] of backups) expect(render.apiVersions).toEqual(['v1']);
      // … which matters where the Prometheus Operator's CRDs are live (monitoring enabled).
      const entry = backups.find(([render]) =>
        (liveApiVersions.get(render.cluster) ?? []).includes(
          'monitoring.coreos.com/v1/ServiceMonitor',
        ),
      );
      if (entry === undefined) return;
      const [render, result] = entry;
      const prepared = result.prepared as PreparedChart;
      // The Application pins what Helm sees (the backups component's helmApiVersions) …
      expect(render.apiVersions).toEqual(['v1']);
      const apiVersions = liveApiVersions.get(render.cluster) ?? [];
      expect(apiVersions).toContain('monitoring.coreos.com/v1/ServiceMonitor');
      // … without it, Argo CD would pass the cluster's, with the Prometheus Operator's CRDs.
      const unpinned = runHelm(
        helm,
        templateArgs({ ...render, apiVersions: [] }, prepared, apiVersions),
        prepared.dir,
        helmHome,
      );
      expect(unpinned.status, unpinned.stderr).toBe(0);
      expect(liveRenderDifferences(documentsOf(render), splitHelmOutput(unpinned.stdout))).toEqual([
        'ServiceMonitor /volsync (backups/charts/volsync/templates/servicemonitor-volsync.yaml): only on the cluster',
      ]);
    });

    it("finds the keys Cilium's chart makes at render when its Hubble certificates come from Helm (hubble.tls.auto.method helm), not from its CronJob", () => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      const entry = [...rendered.entries()].find(
        ([render, result]) =>
          result.prepared?.dependencies.some(({ name }) => name === 'cilium') === true &&
          render.path === 'charts/cilium',
      );
      if (entry === undefined) expect.fail('no cluster deploys charts/cilium');
      const [render, result] = entry;
      const prepared = result.prepared as PreparedChart;
      // The committed values make no key at render: the CronJob makes them in the cluster.
      const layer = join(prepared.dir, 'hubble-tls-by-helm.yaml');
      writeFileSync(layer, 'cilium:\n  hubble:\n    tls:\n      auto:\n        method: helm\n');
      const broken = { ...render, valueFiles: [...render.valueFiles, 'hubble-tls-by-helm.yaml'] };
      const twice = [0, 1].map((attempt) => {
        if (attempt > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
        const run = runHelm(helm, templateArgs(broken, prepared), prepared.dir, helmHome);
        expect(run.status, run.stderr).toBe(0);
        return splitHelmOutput(run.stdout);
      });
      const drift = renderDrift(
        twice[0] as RenderedDocument[],
        twice[1] as RenderedDocument[],
        chartTemplateFiles(prepared),
      );
      rmSync(layer);
      // Every certificate Secret changes, each template's genSignedCert and the CA's genCA named.
      expect(drift.length).toBeGreaterThan(1);
      expect(drift).toContainEqual(
        expect.stringMatching(
          /^Secret kube-system\/hubble-server-certs \(cilium\/charts\/cilium\/templates\/hubble\/tls-helm\/server-secret\.yaml\): changed between two renders at data\..*; the template calls genCA, genSignedCert, lookup$/,
        ),
      );
      expect(drift).toContainEqual(
        expect.stringMatching(
          /^Secret kube-system\/cilium-ca \(cilium\/charts\/cilium\/templates\/cilium-ca-secret\.yaml\): changed between two renders at data\..*; the template calls genCA, lookup$/,
        ),
      );
    });

    it('has Helm enforce the upstream values.schema.json: a value of the wrong type fails helm template', () => {
      // Proves check (a) can fail: the first rendered chart whose upstream schema Helm enforces
      // gets a string where that schema wants a boolean.
      const target = [...rendered.entries()].flatMap(([render, result]) => {
        const prepared = result.prepared;
        if (prepared === undefined || prepared.skipSchemaValidation) return [];
        return prepared.upstreamCharts
          .filter((chart) => chart.chart.length === 1)
          .map((chart) => ({
            render,
            prepared,
            chart: chart.chart[0] as string,
            key: booleanKey(chart.schema),
          }))
          .filter((candidate) => candidate.key !== undefined);
      })[0];
      if (helm === undefined) expect.fail('helm not found on PATH');
      if (target === undefined)
        expect.fail('no rendered chart has an upstream values.schema.json with a boolean key');
      const wrong = join(target.prepared.dir, 'wrong-type.yaml');
      writeFileSync(wrong, `${target.chart}:\n  ${target.key}: not-a-boolean\n`);
      const args = [...templateArgs(target.render, target.prepared), '--values', wrong];
      const result = runHelm(helm, args, target.prepared.dir, helmHome);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
      expect(result.stderr).toContain(target.key as string);
    });

    describe('the rotation guide (clusters/<cluster>/rotating-secrets.md)', () => {
      /** Every object Helm rendered for a cluster, with its Application's namespace. */
      const clusterDocuments = (cluster: string) =>
        [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([render]) =>
            documentsOf(render).map(({ object }) => ({ object, namespace: render.namespace })),
          );
      const guideOf = (cluster: string): string => {
        const file = built?.files.find(
          (candidate) => candidate.path === `clusters/${cluster}/rotating-secrets.md`,
        );
        if (file === undefined) expect.fail(`no rotating-secrets.md for cluster ${cluster}`);
        return file.content;
      };

      it('restarts only workloads Helm renders whose pods read the Secret, and names every rendered reader', (context) => {
        const checked = discovery.clusters.filter(({ cluster }) =>
          built?.files.some((file) => file.path === `clusters/${cluster}/rotating-secrets.md`),
        );
        if (checked.length === 0) notRun(context, 'no cluster has a rotation guide');
        for (const { cluster } of checked) {
          expect(rotationGuideProblems(guideOf(cluster), clusterDocuments(cluster))).toEqual([]);
        }
        // The OIDC client of Argo CD (prod in the reference): one entry fills both sides; Argo CD
        // re-reads its Secret, Authelia reads the client secret files at start and is the one
        // restart.
        const prod = rotationGuideEntries(
          guideOf(
            clusterWhere(
              context,
              "a rotation guide with Argo CD's and Grafana's OIDC clients and Longhorn's backup credentials",
              (cluster) =>
                checked.some((entry) => entry.cluster === cluster) &&
                [
                  'argocd/argocd-oidc',
                  'monitoring/grafana-oidc',
                  'longhorn-system/longhorn-backup-s3',
                ].every((secret) => guideOf(cluster).includes(secret)),
            ),
          ),
        );
        const argocd = prod.find((entry) => entry.secrets.includes('argocd/argocd-oidc'));
        expect(argocd?.secrets).toEqual(['argocd/argocd-oidc', 'authelia/authelia-oidc-clients']);
        expect(argocd?.restarts).toEqual(['authelia/deployment/authelia']);
        const grafana = prod.find((entry) => entry.secrets.includes('monitoring/grafana-oidc'));
        expect(grafana?.restarts).toEqual([
          'authelia/deployment/authelia',
          'monitoring/deployment/grafana',
        ]);
        const longhorn = prod.filter((entry) =>
          entry.secrets.includes('longhorn-system/longhorn-backup-s3'),
        );
        expect(longhorn.length).toBeGreaterThan(0);
        expect(longhorn.flatMap((entry) => entry.restarts)).toEqual([]);
      });

      it("turns the Deployment Helm renders into Authelia's idle pod and re-encrypts with the key file its pods read", () => {
        const authelia = discovery.clusters
          .map(({ cluster }) => cluster)
          .filter((cluster) => rendersOn(cluster, 'Deployment', 'authelia'));
        for (const cluster of authelia) {
          const guide = guideOf(cluster);
          expect(guide).toContain('patch deployment authelia --type=json');
          expect(rotationPatchProblems(guide, clusterDocuments(cluster)), cluster).toEqual([]);
        }
        // Broken on purpose, on a cluster whose guide re-encrypts (prod in the reference): a
        // probe the chart does not render, another container first, the new key read from
        // another file.
        const target = authelia.find((cluster) =>
          guideOf(cluster).includes('"$(cat /secrets/internal/storage.encryption.key)"'),
        );
        if (target === undefined) return;
        const guide = guideOf(target);
        expect(
          rotationPatchProblems(
            guide
              .replace('/containers/0/startupProbe', '/containers/0/startupProbes')
              .replace('"value":"authelia"}', '"value":"sidecar"}')
              .replaceAll(
                '"$(cat /secrets/internal/storage.encryption.key)"',
                '"$(cat /secrets/internal/storage.key)"',
              ),
            clusterDocuments(target),
          ),
        ).toEqual([
          'authelia/deployment/authelia: test /spec/template/spec/containers/0/name fails ("authelia")',
          'authelia/deployment/authelia: remove /spec/template/spec/containers/0/startupProbes, which the rendered object lacks',
          'the re-encryption reads the new key from /secrets/internal/storage.key, the rendered Deployment from /secrets/internal/storage.encryption.key',
        ]);
      });

      it('rolls the operator out when its settings change: Helm puts the settings label on its pod template', (context) => {
        // The operator reads its ConfigMap (envFrom) once at start; the chart has no checksum.
        const renders = [...rendered.keys()].filter(
          (render) => render.path === 'charts/sm-operator',
        );
        if (renders.length === 0) notRun(context, 'no cluster deploys charts/sm-operator');
        for (const render of renders) {
          const objects = documentsOf(render).map(({ object }) => object);
          const deployment = objects.find((object) => object.kind === 'Deployment');
          const config = objects.find((object) => object.kind === 'ConfigMap');
          const labels = (deployment?.spec as { template?: { metadata?: { labels?: object } } })
            ?.template?.metadata?.labels as { [key: string]: string } | undefined;
          const data = config?.data as { [key: string]: string } | undefined;
          // The label fingerprints exactly what the ConfigMap gives the operator.
          const settings = {
            cloudRegion: data?.BW_API_URL === 'https://api.bitwarden.eu' ? 'EU' : 'US',
            bwSecretsManagerRefreshInterval: Number(data?.BW_SECRETS_MANAGER_REFRESH_INTERVAL),
          };
          let hash = 0x811c9dc5;
          for (const byte of new TextEncoder().encode(JSON.stringify(settings))) {
            hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
          }
          expect(labels?.['homelab.dev/operator-settings']).toBe(
            hash.toString(16).padStart(8, '0'),
          );
        }
      });

      it('fails a restart of a workload Helm does not render, and a rendered reader the guide leaves out', (context) => {
        // A cluster whose guide restarts Grafana for its OIDC client (prod in the reference).
        const cluster = clusterWhere(
          context,
          "a rotation guide restarting Grafana for its OIDC client, Argo CD's OIDC client beside it",
          (name) =>
            built?.files.some((file) => file.path === `clusters/${name}/rotating-secrets.md`) ===
              true &&
            guideOf(name).includes('rollout restart deployment/grafana') &&
            guideOf(name).includes('argocd/argocd-oidc'),
        );
        const documents = clusterDocuments(cluster);
        const renamed = guideOf(cluster).replaceAll(
          'rollout restart deployment/grafana',
          'rollout restart deployment/monitoring-grafana',
        );
        expect(rotationGuideProblems(renamed, documents)).toContain(
          'entry ' +
            rotationGuideEntries(guideOf(cluster)).find((entry) =>
              entry.secrets.includes('monitoring/grafana-oidc'),
            )?.id +
            ': restarts monitoring/deployment/monitoring-grafana, which Helm does not render',
        );
        const unnamed = guideOf(cluster)
          .split('\n')
          .filter(
            (line) =>
              !line.startsWith('- `deployment/grafana` in `monitoring` (Secret `grafana-oidc`)'),
          )
          .join('\n');
        expect(rotationGuideProblems(unnamed, documents)).toEqual([
          'monitoring/deployment/grafana reads Secret monitoring/grafana-oidc, which the guide does not name it a reader of',
        ]);
        // Argo CD's server reads its client secret through the API, not from its pod template:
        // restarting it for that Secret is a restart of a workload that does not read it.
        const wrong = guideOf(cluster).replace(
          'kubectl -n authelia rollout restart deployment/authelia\n',
          'kubectl -n argocd rollout restart deployment/argocd-server\n',
        );
        expect(rotationGuideProblems(wrong, documents).join('\n')).toContain(
          'restarts argocd/deployment/argocd-server, whose pods read none of argocd/argocd-oidc, authelia/authelia-oidc-clients',
        );
      });
    });

    describe('released archives (homelab release), each installed alone', () => {
      // What a user of the Helm repository gets: the archive `homelab release` packs, with no
      // repository checkout and no `helm dependency build`. It must render the same objects as the
      // chart folder Argo CD renders from git.
      //
      // `homelab release` publishes only the content recorded for each version, and the committed
      // output may hold changes whose changesets are still pending: the charts are released from
      // a scratch workspace holding a copy of them (vendor/ linked, no version record), each
      // recorded there at its current version with `homelab release record`, as
      // `pnpm version-packages` records them before a release.
      let released = '';
      beforeAll(() => {
        if (helm === undefined) return;
        released = join(scratch, 'released');
        const workspace = join(scratch, 'release-workspace');
        mkdirSync(workspace);
        writeFileSync(join(workspace, 'pnpm-workspace.yaml'), 'packages: []\n');
        cpSync(join(REPO, 'charts'), join(workspace, 'charts'), {
          recursive: true,
          filter: (source) =>
            !source.split(/[\\/]/).includes('node_modules') && !source.endsWith('.versions.json'),
        });
        symlinkSync(join(REPO, 'vendor'), join(workspace, 'vendor'));
        const homelab = (...args: string[]) =>
          spawnSync(process.execPath, [join(REPO, 'packages/cli/dist/bin.js'), ...args], {
            cwd: workspace,
            encoding: 'utf8',
            env: { ...process.env, NO_COLOR: '1', SOURCE_DATE_EPOCH: '1767225600' },
          });
        const record = homelab('release', 'record');
        if (record.status !== 0) throw new Error(`homelab release record failed: ${record.stderr}`);
        const result = homelab('release', '--no-tag', '--out', released);
        if (result.status !== 0) throw new Error(`homelab release failed: ${result.stderr}`);
      }, 5 * 60_000);

      const firstRenderOfEachChart = [
        ...new Map(discovery.renders.map((render) => [render.path, render])).values(),
      ];
      for (const render of firstRenderOfEachChart) {
        it(`${render.path}: helm template of the archive alone gives what the chart folder gives (cluster ${render.cluster})`, () => {
          if (helm === undefined) expect.fail('helm not found on PATH');
          const fromGit = documentsOf(render);
          const prepared = rendered.get(render)?.prepared as PreparedChart;
          const version = /^version: (\S+)$/m.exec(
            readFileSync(join(REPO, render.path, 'Chart.yaml'), 'utf8'),
          )?.[1];
          const archive = join(released, `${prepared.name}-${version}.tgz`);
          expect(existsSync(archive), archive).toBe(true);
          const args = ['template', archive, ...templateArgs(render, prepared).slice(2)].map(
            (arg) =>
              arg.startsWith(prepared.dir)
                ? join(REPO, render.path, arg.slice(prepared.dir.length))
                : arg,
          );
          const result = runHelm(helm, args, scratch, helmHome);
          expect(result.status, result.stderr).toBe(0);
          const alone = splitHelmOutput(result.stdout);
          expect(alone.map(({ object }) => object)).toEqual(fromGit.map(({ object }) => object));
          // Not both empty by accident: the archive renders its manifests and its dependencies.
          const manifests = renderChart(readChartDir(join(REPO, render.path)), render.valueFiles);
          expect(renderedSourceProblems(alone, prepared, manifests.objects.length)).toEqual([]);
        });
      }
    });

    onArgocd(
      "has each cluster's Argo CD report a child Application's own health, so that the app-of-apps' sync waves wait (argocd-cm read and its Lua run by Argo CD's own code on Applications of each state)",
      () => {
        const tool = argocd as NonNullable<typeof argocd>;
        // The Argo CD of every cluster: the argocd-cm ConfigMap Helm rendered there.
        const configMaps = [...rendered.entries()].flatMap(([render, result]) =>
          (result.documents ?? [])
            .filter(
              ({ object }) => object.kind === 'ConfigMap' && object.metadata.name === 'argocd-cm',
            )
            .map(({ object }) => ({ cluster: render.cluster, object })),
        );
        expect(configMaps.map(({ cluster }) => cluster).sort()).toEqual(
          clustersDeployingArgocd(discovery),
        );
        const child = (status?: unknown) => ({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: 'child', namespace: 'argocd' },
          ...(status === undefined ? {} : { status }),
        });
        const states = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Suspended'];
        for (const { cluster, object } of configMaps) {
          const script = (object as { data?: Record<string, string> }).data?.[
            APPLICATION_HEALTH_KEY
          ];
          expect(typeof script, `cluster ${cluster}: argocd-cm ${APPLICATION_HEALTH_KEY}`).toBe(
            'string',
          );
          // A child between its own waves, or retrying a failed sync: Argo CD 3.4 leaves its
          // missing resources out of its health (Healthy), while its sync runs
          const running = (phase: string, health = 'Healthy', message = 'waiting for wave 3') =>
            child({
              health: { status: health },
              operationState: { phase, message },
            });
          const health = argocdHealth(tool, object, [
            child(),
            child({ sync: { status: 'Synced' } }),
            ...states.map((state) => child({ health: { status: state } })),
            child({ health: { status: 'Degraded', message: 'crash loop' } }),
            running('Running'),
            running('Terminating', 'Missing', ''),
            running('Running', 'Degraded'),
            running('Succeeded'),
            running('Failed'),
            { ...child({ health: { status: 'Healthy' } }), operation: { sync: {} } },
          ]);
          // Argo CD waits for a wave until every Application of it is Healthy.
          expect(
            health.map(({ status }) => status),
            cluster,
          ).toEqual([
            'Progressing',
            'Progressing',
            ...states,
            'Degraded',
            'Progressing',
            'Progressing',
            'Degraded',
            'Healthy',
            'Healthy',
            'Progressing',
          ]);
          expect(health[states.length + 2], cluster).toEqual({
            status: 'Degraded',
            message: 'crash loop',
            error: '',
          });
          expect(health[states.length + 3]?.message, cluster).toBe(
            'its own sync is still running: waiting for wave 3',
          );
          // A child whose spec the root just changed keeps its old status until its controller
          // compared the new sources: Progressing until then, whatever that status says. Equal
          // sources as Argo CD compares them (Go structs): what the spec holds empty, false or
          // zero, or the status writes empty, counts as absent.
          const source = {
            repoURL: 'https://git.example/p.git',
            path: 'charts/a',
            targetRevision: 'v2',
          };
          const compared = (
            spec: Record<string, unknown>,
            comparedTo: Record<string, unknown> | undefined,
            status = 'Healthy',
          ) => ({
            ...child({
              health: { status },
              ...(comparedTo === undefined ? {} : { sync: { status: 'Synced', comparedTo } }),
            }),
            spec,
          });
          const specs = argocdHealth(tool, object, [
            compared({ source }, { source: { ...source, targetRevision: 'v1' } }),
            compared({ source }, undefined),
            compared({ source }, { source: { ...source, targetRevision: 'v1' } }, 'Degraded'),
            compared(
              { source: { ...source, directory: { recurse: false }, helm: { valueFiles: [] } } },
              { source: { ...source, chart: '' }, destination: { namespace: 'a' } },
            ),
            compared({ source }, { source }, 'Degraded'),
            compared(
              { sources: [source, { ...source, path: 'b' }] },
              { sources: [source, { ...source, path: 'b' }] },
            ),
            compared(
              { sources: [source, { ...source, path: 'b' }] },
              { sources: [source, { ...source, path: 'c' }] },
            ),
            compared({ sources: [source, { ...source, path: 'b' }] }, { sources: [source] }),
            compared(
              { sourceHydrator: { drySource: source } },
              { source: { ...source, path: 'hydrated' } },
            ),
            {
              ...compared({ source }, { source: { ...source, targetRevision: 'v1' } }, 'Unknown'),
              status: {
                health: { status: 'Unknown' },
                sync: {
                  status: 'Unknown',
                  comparedTo: { source: { ...source, targetRevision: 'v1' } },
                },
                conditions: [
                  { type: 'InvalidSpecError', message: 'repository not permitted in project' },
                ],
              },
            },
          ]);
          expect(
            specs.map(({ status }) => status),
            cluster,
          ).toEqual([
            'Progressing',
            'Progressing',
            'Progressing',
            'Healthy',
            'Degraded',
            'Healthy',
            'Progressing',
            'Progressing',
            'Healthy',
            'Unknown',
          ]);
          expect(specs.at(-1)?.message, cluster).toBe('repository not permitted in project');
          expect(specs[0]?.message, cluster).toBe(
            'its controller has not compared its new spec with Git yet',
          );
        }
      },
    );

    /**
     * What a cluster's Applications apply, each object with the namespace it goes to when it names
     * none (its Application's): every render's objects but Helm hooks Argo CD never runs.
     */
    function appliedItems(cluster: string): KubeItem[] {
      return [
        ...[...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([render, result]) =>
            (result.documents ?? [])
              .map(({ object }) => object)
              .filter((object) => !neverRunByArgoCd(object))
              .map((object) => ({ namespace: render.namespace, object })),
          ),
        ...bundleItems(cluster),
      ];
    }

    /**
     * What the cluster's CRD bundle Applications apply (their vendored tags: the CRDs, and from
     * the Gateway API v1.5 its safe-upgrades admission policy), each object once.
     */
    function bundleItems(cluster: string): KubeItem[] {
      const applications =
        discovery.clusters.find((entry) => entry.cluster === cluster)?.applications ?? [];
      const seen = new Set<string>();
      return applications.flatMap((application) => {
        const destination = (application.spec as { destination?: { namespace?: string } })
          ?.destination?.namespace;
        return (crdBundleObjects(application) ?? []).flatMap((object) => {
          const { kind, metadata } = object as KubeObject;
          const key = `${kind}/${metadata?.name}`;
          if (seen.has(key)) return [];
          seen.add(key);
          return [{ namespace: destination ?? 'default', object }];
        });
      });
    }

    /**
     * The CustomResourceDefinitions a cluster has: those its renders hold and those of its CRD
     * bundle Applications (their vendored tags).
     */
    function clusterCrds(cluster: string): KubeObject[] {
      const applications =
        discovery.clusters.find((entry) => entry.cluster === cluster)?.applications ?? [];
      return [
        ...[...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object)),
        ...applications.flatMap((application) => crdBundleObjects(application) ?? []),
      ].filter(
        (object): object is KubeObject =>
          (object as KubeObject | null)?.kind === 'CustomResourceDefinition',
      );
    }

    /**
     * API groups whose kinds are registered at run time, no CRD rendered or vendored: Cilium's
     * operator registers cilium.io, Gatekeeper makes a constraint kind per ConstraintTemplate,
     * Talos registers talos.dev's ServiceAccount.
     */
    const RUNTIME_GROUPS = new Set(['cilium.io', 'constraints.gatekeeper.sh', 'talos.dev']);

    onKube(
      `has each cluster's own Kubernetes API server (kube-machinery ${KUBE_MACHINERY_VERSIONS.join(', ')}, by the cluster's minor) accept every object Helm renders and the CRD bundles apply: built-in kinds through their registry strategies, custom resources against the cluster's CRDs (pruning, defaults, schema, CEL rules), then the ValidatingAdmissionPolicies they bind`,
      (context) => {
        foundKubeTools();
        const run: { cluster: string; tool: FoundTool }[] = [];
        const notRun: string[] = [];
        for (const { cluster, kubeVersion } of discovery.clusters) {
          const version = kubeMachineryVersionFor(kubeVersion);
          const tool = version === undefined ? undefined : kubeTools.get(version);
          if (tool !== undefined) run.push({ cluster, tool });
          else {
            notRun.push(
              `${cluster} (Kubernetes ${kubeVersion}: ${version === undefined ? `kube-machinery has no build of ${kubeMinorOf(kubeVersion)}` : `kube-machinery ${version} not found`})`,
            );
          }
        }
        if (notRun.length > 0) {
          console.log(`helm suite: the API server's validation: not run on ${notRun.join(', ')}`);
        }
        if (run.length === 0) context.skip();
        let checked = 0;
        let custom = 0;
        const warned: string[] = [];
        let explained = 0;
        const policiesRun = new Set<string>();
        for (const { cluster, tool } of run) {
          const items = appliedItems(cluster);
          const response = kubeCheck(tool, items, clusterCrds(cluster));
          expect(response.kubernetesVersion).toBe(tool.version);
          expect(response.items.length, cluster).toBe(items.length);
          // Validating admission ran with every bound policy the cluster's Applications apply.
          const objects = items.map(({ object }) => object as KubeObject);
          const bound = new Set(
            objects
              .filter(({ kind }) => kind === 'ValidatingAdmissionPolicyBinding')
              .map(({ spec }) => (spec as { policyName?: string } | undefined)?.policyName),
          );
          expect(response.admissionPolicies, cluster).toEqual(
            objects
              .filter(
                ({ kind, metadata }) =>
                  kind === 'ValidatingAdmissionPolicy' && bound.has(metadata.name),
              )
              .map(({ metadata }) => metadata.name)
              .sort(),
          );
          for (const policy of response.admissionPolicies) policiesRun.add(`${cluster}: ${policy}`);
          const problems = response.items.flatMap((result, index) => {
            const object = items[index]?.object as KubeObject;
            const name = `${object.apiVersion} ${result.kind} ${result.namespace}/${result.name}`;
            if (!result.checked) {
              if (RUNTIME_GROUPS.has(groupOf(object))) return [];
              return [
                isBuiltinGroup(groupOf(object))
                  ? `${name}: no registry strategy in kube-machinery`
                  : `${name}: no CustomResourceDefinition of the cluster serves it`,
              ];
            }
            checked++;
            if (!isBuiltinGroup(groupOf(object))) custom++;
            for (const warning of result.warnings) {
              // Explained: Longhorn v1.8.1's CRDs give some `type: string` fields (sizes)
              // `format: int64`, no string format the API server knows: it warns
              // (apiextensions-apiserver, strategy WarningsOnCreate) and validates those fields
              // as plain strings (StripUnsupportedFormatsPostProcess), as Longhorn expects.
              if (
                result.kind === 'CustomResourceDefinition' &&
                warning === 'unrecognized format "int64"'
              ) {
                explained++;
                continue;
              }
              // Explained: Argo CD's own cascade finalizer (ResourcesFinalizerName of Argo CD
              // v3.4.4, application_defaults.go) has no path; the API server advises one for
              // every finalizer. `…/foreground` is Argo CD's equivalent with a path. Up to
              // Kubernetes 1.31 the advice does not name the path (apiextensions-apiserver
              // pkg/registry/customresource/validator.go, validateKubeFinalizerName).
              if (
                result.kind === 'Application' &&
                /^metadata\.finalizers: "resources-finalizer\.argocd\.argoproj\.io": prefer a domain-qualified finalizer name (including a path \(\/\) )?to avoid accidental conflicts with other finalizer writers$/.test(
                  warning,
                )
              ) {
                explained++;
                continue;
              }
              warned.push(`${cluster} ${name}: ${warning}`);
            }
            return [
              ...(result.error ? [`${name}: ${result.error}`] : []),
              ...result.unknownFields.map((field) => `${name}: unknown field ${field} (pruned)`),
            ];
          });
          expect(problems, cluster).toEqual([]);
        }
        expect(checked).toBeGreaterThan(0);
        expect(custom).toBeGreaterThan(0);
        expect(warned).toEqual([]);
        console.log(
          `helm suite: the Kubernetes API server accepted ${checked} objects (${custom} custom resources) on ${run.map(({ cluster, tool }) => `${cluster} (${tool.version})`).join(', ')}, with no warning but ${explained} explained ones (unrecognized format "int64" in CRDs, Argo CD's finalizer without a path); ValidatingAdmissionPolicies in force: ${policiesRun.size === 0 ? 'none rendered' : [...policiesRun].join(', ')}`,
        );
      },
    );

    onKube(
      "has the API server refuse, broken on purpose: a Deployment whose selector misses its pod template's labels, a ConfigMap key with a slash, a label value over 63 characters, an HTTPRoute path its CRD's CEL rule refuses, a custom resource field its CRD lacks, an admission policy whose CEL does not compile, a binding with an unknown action",
      (context) => {
        const clusters = discovery.clusters;
        if (clusters.length === 0) {
          context.skip();
          return;
        }
        for (const tool of foundKubeTools()) {
          // The objects of a cluster on the build's minor, else those of the first cluster.
          const cluster = (
            clusters.find(
              ({ kubeVersion }) => kubeMachineryVersionFor(kubeVersion) === tool.version,
            ) ?? (clusters[0] as (typeof clusters)[number])
          ).cluster;
          const items = appliedItems(cluster);
          const find = (kind: string) => {
            const item = items.find(({ object }) => (object as KubeObject).kind === kind);
            if (item === undefined) expect.fail(`${cluster} renders no ${kind}`);
            return structuredClone(item) as { namespace: string; object: KubeObject & Table };
          };
          const deployment = find('Deployment');
          const configMap = find('ConfigMap');
          const labelled = find('ServiceAccount');
          // An HTTPRoute of the vendored Gateway API (on any cluster the definition may have).
          const httpRoute = () => ({
            namespace: 'suite',
            object: {
              apiVersion: 'gateway.networking.k8s.io/v1',
              kind: 'HTTPRoute',
              metadata: { name: 'suite' },
              spec: {
                parentRefs: [{ name: 'gateway', namespace: 'gateway' }],
                hostnames: ['suite.example.com'],
                rules: [
                  {
                    matches: [{ path: { type: 'PathPrefix', value: '/' } }],
                    backendRefs: [{ name: 'suite', port: 80 }],
                  },
                ],
              },
            } as KubeObject & Table,
          });
          const route = httpRoute();
          const extraField = httpRoute();
          const crds = [
            ...clusterCrds(cluster),
            ...vendoredCrdBundleObjects().filter(
              (object) => object.kind === 'CustomResourceDefinition',
            ),
          ];
          // An admission policy and its binding (Cilium 1.20's chart renders one).
          const policy = {
            namespace: 'suite',
            object: {
              apiVersion: 'admissionregistration.k8s.io/v1',
              kind: 'ValidatingAdmissionPolicy',
              metadata: { name: 'suite' },
              spec: {
                failurePolicy: 'Fail',
                matchConstraints: {
                  resourceRules: [
                    {
                      apiGroups: ['gateway.networking.k8s.io'],
                      apiVersions: ['v1'],
                      operations: ['CREATE'],
                      resources: ['gateways'],
                    },
                  ],
                },
                validations: [{ expression: 'has(object.spec.listeners)', message: 'listeners' }],
              },
            } as KubeObject & Table,
          };
          const binding = {
            namespace: 'suite',
            object: {
              apiVersion: 'admissionregistration.k8s.io/v1',
              kind: 'ValidatingAdmissionPolicyBinding',
              metadata: { name: 'suite' },
              spec: { policyName: 'suite', validationActions: ['Deny'] },
            } as KubeObject & Table,
          };
          const all = [deployment, configMap, labelled, route, extraField, policy, binding];
          const control = kubeCheck(tool, all, crds).items;
          expect(control.map(({ error }) => error)).toEqual(['', '', '', '', '', '', '']);
          expect(control.map(({ checked }) => checked)).toEqual(all.map(() => true));

          const template = (deployment.object.spec as Table).template as { metadata: Table };
          template.metadata = { ...template.metadata, labels: { 'suite.invalid/other': 'pods' } };
          configMap.object.data = { 'suite/key': 'value' };
          labelled.object.metadata = {
            ...labelled.object.metadata,
            labels: { ...labelled.object.metadata.labels, suite: 'x'.repeat(64) },
          };
          const rules = (route.object.spec as { rules: { matches?: Table[] }[] }).rules;
          rules[0] = { ...rules[0], matches: [{ path: { type: 'PathPrefix', value: 'suite' } }] };
          (extraField.object.spec as Table).suiteField = true;
          (policy.object.spec as { validations: Table[] }).validations = [
            { expression: 'has(object.spec.(', message: 'listeners' },
          ];
          (binding.object.spec as Table).validationActions = ['Block'];
          const broken = kubeCheck(tool, all, crds).items;
          // Up to Kubernetes 1.33 the labels print as a Go map, from 1.34 on as JSON.
          expect(broken[0]?.error, tool.version).toMatch(
            /spec\.template\.metadata\.labels: Invalid value: (map\[string\]string)?\{"suite\.invalid\/other":"pods"\}: `selector` does not match template `labels`/,
          );
          expect(broken[1]?.error, tool.version).toContain(
            'data[suite/key]: Invalid value: "suite/key"',
          );
          // "characters" up to Kubernetes 1.34, "bytes" from 1.35 on.
          expect(broken[2]?.error, tool.version).toMatch(
            new RegExp(
              `metadata\\.labels: Invalid value: "${'x'.repeat(64)}": must be no more than 63 (characters|bytes)`,
            ),
          );
          // A CEL rule's refusal names the value "object" up to Kubernetes 1.34, nothing from 1.35.
          expect(broken[3]?.error, tool.version).toMatch(
            /spec\.rules\[0\]\.matches\[0\]\.path: Invalid value: ("object": )?value must be an absolute path and start with '\/' when type one of \['Exact', 'PathPrefix'\]/,
          );
          expect(broken[4]?.error, tool.version).toBe('');
          expect(broken[4]?.unknownFields, tool.version).toEqual(['spec.suiteField']);
          expect(broken[5]?.error, tool.version).toContain(
            'spec.validations[0].expression: Invalid value: "has(object.spec.(": compilation failed',
          );
          expect(broken[6]?.error, tool.version).toContain(
            'spec.validationActions[0]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn"',
          );
        }
      },
    );

    onKube(
      "has validating admission run the upstream ValidatingAdmissionPolicies on the objects they match, broken on purpose: Cilium 1.20's gateway.cilium.io (rendered by the real Helm) refuses a terminating listener with two certificates, the Gateway API's safe-upgrades refuses the HTTPRoute CRD of the newest vendored bundle before v1.5, a Warn binding warns",
      () => {
        if (helm === undefined) expect.fail('helm not found on PATH');
        // Cilium's policy and binding from the newest vendored chart, as Helm renders them on a
        // cluster with the Gateway API (whatever the definition pins).
        const newest = readdirSync(join(REPO, 'vendor', 'charts', 'cilium'))
          .map((version) => ({ version, parts: version.split('.').map(Number) }))
          .sort((a, b) => {
            for (let i = 0; i < 3; i++) {
              const order = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
              if (order !== 0) return order;
            }
            return 0;
          })
          .at(-1)?.version as string;
        const rendered = runHelm(
          helm,
          [
            'template',
            'cilium',
            vendoredChartArchive('cilium', newest),
            '--namespace',
            'kube-system',
            '--kube-version',
            '1.34.0',
            '--show-only',
            'templates/cilium-gateway-api-validating-admission-policy.yaml',
            '--set',
            'gatewayAPI.enabled=true',
            '--set',
            'gatewayAPI.gatewayClass.create=true',
          ],
          scratch || tmpdir(),
          helmHome || tmpdir(),
        );
        expect(rendered.status, rendered.stderr).toBe(0);
        const cilium = splitHelmOutput(rendered.stdout).map(({ object }) => object);
        expect(cilium.map(({ kind }) => kind)).toEqual([
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
        ]);
        // The Gateway API's own policy and CRDs, from its newest vendored standard bundle.
        const bundle = vendoredCrdBundleObjects().filter(
          (object) =>
            object.metadata.annotations?.['gateway.networking.k8s.io/channel'] === 'standard',
        );
        const bundleVersion = (object: KubeObject) =>
          object.metadata.annotations?.['gateway.networking.k8s.io/bundle-version'] ?? '';
        const safeUpgrades = bundle.filter(
          (object) => object.metadata.name === 'safe-upgrades.gateway.networking.k8s.io',
        );
        expect(safeUpgrades.map(({ kind }) => kind).sort()).toEqual([
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
        ]);
        const current = bundleVersion(safeUpgrades[0] as KubeObject);
        const crds = bundle.filter(
          (object) =>
            object.kind === 'CustomResourceDefinition' && bundleVersion(object) === current,
        );
        const httpRoutes = crds.find(
          ({ metadata }) => metadata.name === 'httproutes.gateway.networking.k8s.io',
        ) as KubeObject;
        // The same CRD from the newest vendored bundle before v1.5 (Cilium 1.19's v1.4.1).
        const olderHttpRoutes = bundle
          .filter(
            (object) =>
              object.metadata.name === 'httproutes.gateway.networking.k8s.io' &&
              Number(bundleVersion(object).split('.')[1]) < 5,
          )
          .sort((a, b) => bundleVersion(a).localeCompare(bundleVersion(b), 'en', { numeric: true }))
          .at(-1) as KubeObject;
        expect(bundleVersion(olderHttpRoutes)).toMatch(/^v1\.[0-4]\./);
        const gateway = (name: string, certificates: number) => ({
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name },
          spec: {
            gatewayClassName: 'cilium',
            listeners: [
              {
                name: 'https',
                port: 443,
                protocol: 'HTTPS',
                hostname: 'suite.example.com',
                tls: {
                  mode: 'Terminate',
                  certificateRefs: Array.from({ length: certificates }, (_, i) => ({
                    name: `suite-${i}`,
                  })),
                },
              },
            ],
          },
        });
        const warnPolicy = {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name: 'suite-warn' },
          spec: {
            matchConstraints: {
              resourceRules: [
                {
                  apiGroups: [''],
                  apiVersions: ['v1'],
                  operations: ['CREATE'],
                  resources: ['configmaps'],
                },
              ],
            },
            validations: [
              {
                expression: "!has(object.data) || !('suite' in object.data)",
                message: 'the suite key',
              },
            ],
          },
        };
        const warnBinding = {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name: 'suite-warn' },
          spec: { policyName: 'suite-warn', validationActions: ['Warn'] },
        };
        const configMap = (data: Table) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'suite' },
          data,
        });
        const policies = [...cilium, ...safeUpgrades, warnPolicy, warnBinding];
        for (const tool of foundKubeTools()) {
          const check = (objects: readonly unknown[]) =>
            kubeCheck(
              tool,
              [...policies, ...objects].map((object) => ({ namespace: 'suite', object })),
              crds,
            );
          const control = check([gateway('one', 1), httpRoutes, configMap({ other: 'x' })]);
          expect(control.admissionPolicies).toEqual([
            'gateway.cilium.io',
            'safe-upgrades.gateway.networking.k8s.io',
            'suite-warn',
          ]);
          expect(control.items.map(({ error }) => error)).toEqual(control.items.map(() => ''));
          expect(control.items.flatMap(({ warnings }) => warnings)).toEqual([]);

          // The bundle's own CRD marked as a v1.5 one: the newest policy refuses it too (the floor
          // of crd-bundle-downgrade, v1.5.0, holds for the pinned v1.4 and v1.3 bundles).
          const v15HttpRoutes = structuredClone(httpRoutes);
          (v15HttpRoutes.metadata.annotations as Table)[
            'gateway.networking.k8s.io/bundle-version'
          ] = 'v1.5.1';
          const broken = check([
            gateway('two', 2),
            olderHttpRoutes,
            configMap({ suite: 'x' }),
            v15HttpRoutes,
          ]);
          const [twoCertificates, older, warned, v15] = broken.items.slice(policies.length);
          expect(twoCertificates?.error).toBe(
            `gateways.gateway.networking.k8s.io "two" is forbidden: ValidatingAdmissionPolicy 'gateway.cilium.io' with binding 'gateway.cilium.io' denied request: cilium GatewayClass requires exactly one certificateRef per listener when tls.mode is Terminate.`,
          );
          expect(older?.error).toContain(
            `customresourcedefinitions.apiextensions.k8s.io "httproutes.gateway.networking.k8s.io" is forbidden: ValidatingAdmissionPolicy 'safe-upgrades.gateway.networking.k8s.io' with binding 'safe-upgrades.gateway.networking.k8s.io' denied request: Installing CRDs with version before v1.5.0 is prohibited by default.`,
          );
          expect(warned?.error).toBe('');
          expect(warned?.warnings).toEqual([
            "Validation failed for ValidatingAdmissionPolicy 'suite-warn' with binding 'suite-warn': the suite key",
          ]);
          expect(v15?.error).toContain(
            "ValidatingAdmissionPolicy 'safe-upgrades.gateway.networking.k8s.io' with binding 'safe-upgrades.gateway.networking.k8s.io' denied request",
          );
        }
      },
    );

    /**
     * The keys of `configMap` (argocd-cmd-params-cm) that no container of `objects` reads: Argo
     * CD's components take those settings only as environment variables the chart maps from the
     * ConfigMap (`configMapKeyRef`), so a key no container maps is set for nothing.
     */
    function unreadConfigKeys(
      configMap: string,
      keys: readonly string[],
      objects: readonly KubeObject[],
    ): string[] {
      const read = new Set<string>();
      for (const object of objects) {
        const pod = (object.spec as { template?: { spec?: Table } } | undefined)?.template?.spec;
        const containers = [
          ...((pod?.containers as Table[] | undefined) ?? []),
          ...((pod?.initContainers as Table[] | undefined) ?? []),
        ];
        for (const container of containers) {
          for (const env of (container.env as Table[] | undefined) ?? []) {
            const ref = (env.valueFrom as { configMapKeyRef?: { name?: string; key?: string } })
              ?.configMapKeyRef;
            if (ref?.name === configMap && typeof ref.key === 'string') read.add(ref.key);
          }
        }
      }
      return keys.filter((key) => !read.has(key));
    }
    type Table = { [key: string]: unknown };

    it('has every argocd-cmd-params-cm key the platform sets read by an Argo CD component (the chart maps each to an environment variable), and finds a misspelled one', () => {
      let checked = 0;
      for (const [render, result] of rendered.entries()) {
        const objects = (result.documents ?? []).map(({ object }) => object);
        if (
          !objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'argocd-cmd-params-cm')
        )
          continue;
        // The keys the platform's value layers set under `<dependency>.configs.params`.
        const keys = new Set<string>();
        for (const file of ['values.yaml', ...render.valueFiles]) {
          const values = parseYaml(readFileSync(join(REPO, render.path, file), 'utf8')) as Table;
          for (const dependency of Object.values(values ?? {})) {
            const params = ((dependency as Table | null)?.configs as Table | undefined)?.params;
            for (const key of Object.keys((params as Table | undefined) ?? {})) keys.add(key);
          }
        }
        expect(keys.size, `${render.cluster} ${render.path}`).toBeGreaterThan(0);
        expect(
          unreadConfigKeys('argocd-cmd-params-cm', [...keys], objects),
          `${render.cluster} ${render.path}`,
        ).toEqual([]);
        // Broken on purpose: a key with a typo is read by nothing.
        expect(
          unreadConfigKeys('argocd-cmd-params-cm', [...keys, 'server.insecurez'], objects),
        ).toEqual(['server.insecurez']);
        checked++;
      }
      expect(checked).toBe(clustersDeployingArgocd(discovery).length);
    });

    onArgocd(
      "has each cluster's Argo CD permit every Application and every object it syncs: its AppProject valid, its source repository and destination allowed, each rendered object's kind and namespace allowed (Argo CD's own checks, on its rendered settings)",
      () => {
        const tool = argocd as NonNullable<typeof argocd>;
        const clusters = clustersDeployingArgocd(discovery);
        expect(clusters.length).toBeGreaterThan(0);
        let applications = 0;
        let objects = 0;
        for (const cluster of clusters) {
          const request = argocdSyncRequest(cluster);
          expect(request.unknown, cluster).toEqual([]);
          expect(request.objects.length, cluster).toBeGreaterThan(0);
          const response = argocdCheck(tool, asked(request));
          expect(syncRefusals(request, response.sync), cluster).toEqual([]);
          // Every object is asked about, in the namespace Argo CD gives it.
          for (const [index, answer] of (response.sync ?? []).entries()) {
            const question = request.sync[index] as SyncQuestion;
            expect(answer.resources.length).toBe(question.resources.length);
            answer.resources.forEach(({ namespace }, at) => {
              const resource = question.resources[at];
              if (resource?.namespaced === false) expect(namespace).toBe('');
              else expect(namespace, request.labels[index]?.resources[at]).not.toBe('');
            });
          }
          applications += request.sync.length;
          objects += request.sync.reduce((sum, question) => sum + question.resources.length, 0);
        }
        expect(objects).toBeGreaterThan(applications);
        console.log(
          `helm suite: Argo CD's sync permissions: ${applications} Applications and ${objects} objects on ${clusters.length} clusters, all permitted by their AppProjects`,
        );
      },
    );

    onArgocd(
      'has Argo CD refuse, broken on purpose: a kind the AppProject does not list, a namespace outside its destinations, a repository outside its sourceRepos, the in-cluster destination switched off, a kind the cluster does not serve',
      () => {
        const tool = argocd as NonNullable<typeof argocd>;
        const cluster = clustersDeployingArgocd(discovery)[0];
        if (cluster === undefined) expect.fail('no cluster deploys Argo CD');
        const base = argocdSyncRequest(cluster);
        type Project = {
          metadata: { name: string };
          spec: {
            namespaceResourceWhitelist?: { group: string; kind: string }[];
            destinations?: { namespace?: string; server?: string }[];
            sourceRepos?: string[];
          };
        };
        /** The namespaced object of a question whose kind its project lists by name. */
        const listedObject = (question: SyncQuestion) =>
          question.resources.find(
            (resource) =>
              resource.namespaced === true &&
              resource.namespace !== '' &&
              ((question.project as Project).spec.namespaceResourceWhitelist ?? []).some(
                (entry) => entry.group === groupOf(resource) && entry.kind === resource.kind,
              ),
          );
        // A child Application with such an object.
        const index = base.sync.findIndex(
          (question, at) => at > 0 && listedObject(question) !== undefined,
        );
        expect(index).toBeGreaterThan(0);
        const question = base.sync[index] as SyncQuestion;
        const resource = listedObject(question) as NonNullable<ReturnType<typeof listedObject>>;
        const project = question.project as Project;
        const application = base.labels[index]?.application as string;
        const group = groupOf(resource);
        const refusals = (change: (request: SyncRequest) => SyncRequest): string[] => {
          const request = change(structuredClone(base));
          return syncRefusals(request, argocdCheck(tool, asked(request)).sync);
        };
        const withProject = (edit: (copy: typeof project) => void) => (request: SyncRequest) => {
          const copy = structuredClone(project);
          edit(copy);
          const sync = [...request.sync];
          sync[index] = { ...question, project: copy };
          return { ...request, sync };
        };
        // The control: the request as built is permitted.
        expect(refusals((request) => request)).toEqual([]);

        const kindOff = refusals(
          withProject((copy) => {
            copy.spec.namespaceResourceWhitelist = (
              copy.spec.namespaceResourceWhitelist ?? []
            ).filter((entry) => !(entry.group === group && entry.kind === resource.kind));
          }),
        );
        expect(kindOff).toContainEqual(
          `${application}: ${group}/${resource.kind} ${resource.namespace}/${resource.name}: resource ${group}:${resource.kind} is not permitted in project ${project.metadata.name}`,
        );

        const namespaceOff = refusals(
          withProject((copy) => {
            copy.spec.destinations = (copy.spec.destinations ?? []).filter(
              (destination) => destination.namespace !== resource.namespace,
            );
            if (copy.spec.destinations.length === 0) {
              copy.spec.destinations = [
                { namespace: 'suite-elsewhere', server: 'https://kubernetes.default.svc' },
              ];
            }
          }),
        );
        expect(namespaceOff).toContainEqual(
          `${application}: ${group}/${resource.kind} ${resource.namespace}/${resource.name}: namespace ${resource.namespace} is not permitted in project '${project.metadata.name}'`,
        );

        const repoOff = refusals(
          withProject((copy) => {
            copy.spec.sourceRepos = ['https://git.suite.invalid/other.git'];
          }),
        );
        expect(repoOff).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^${application}: application repo \\S+ is not permitted in project '${project.metadata.name}'$`,
            ),
          ),
        );

        // argocd-cm with the in-cluster destination off: every Application targets it.
        const inClusterOff = refusals((request) => ({
          ...request,
          objects: request.objects.map((object) => {
            const typed = object as KubeObject & { data?: Record<string, string> };
            return typed.kind === 'ConfigMap' && typed.metadata.name === 'argocd-cm'
              ? { ...typed, data: { ...typed.data, 'cluster.inClusterEnabled': 'false' } }
              : object;
          }),
        }));
        expect(inClusterOff).toContainEqual(
          expect.stringMatching(
            new RegExp(`^${application}: .*cluster "https://kubernetes.default.svc" is disabled`),
          ),
        );

        // A kind no API of the cluster serves (its CRD never installed): no permission check can pass.
        const unserved = refusals((request) => {
          const sync = [...request.sync];
          sync[index] = {
            ...question,
            resources: question.resources.map((entry) =>
              entry === resource ? { ...entry, namespaced: null } : entry,
            ),
          };
          return { ...request, sync };
        });
        expect(unserved).toEqual([
          `${application}: ${group}/${resource.kind} ${resource.namespace}/${resource.name}: failed to get API resource info for ${group}/${resource.kind}: unable to verify permissions`,
        ]);
      },
    );

    onArgocd(
      "has Argo CD confine an application's own workloads to its workload project: its namespace only, no cluster-scoped kind, no network policy, route, Gateway or Ingress, nor a kind the platform renders there outside Kubernetes' workload groups (Argo CD's own checks on the AppProject Helm rendered)",
      (context) => {
        const tool = argocd as NonNullable<typeof argocd>;
        const WORKLOAD_GROUPS = new Set(['', 'apps', 'batch']);
        const group = (apiVersion: string) =>
          apiVersion.includes('/') ? (apiVersion.split('/')[0] as string) : '';
        let confined = 0;
        for (const cluster of clustersDeployingArgocd(discovery)) {
          const base = argocdSyncRequest(cluster);
          const onCluster = [...rendered.entries()]
            .filter(([render]) => render.cluster === cluster)
            .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object));
          const projects = onCluster.filter(
            (object) =>
              object.kind === 'AppProject' &&
              object.metadata.labels?.['homelab.dev/workload-namespace'] !== undefined,
          );
          for (const project of projects) {
            const name = project.metadata.name;
            const namespace = project.metadata.labels?.['homelab.dev/workload-namespace'] as string;
            const repos = (project.spec as { sourceRepos: string[] }).sourceRepos;
            const repoURL = repos.includes('*') ? 'https://git.suite.invalid/own.git' : repos[0];
            const resource = (
              apiVersion: string,
              kind: string,
              where: string,
              namespaced = true,
            ) => ({
              apiVersion,
              kind,
              name: 'suite-own',
              namespace: namespaced ? where : '',
              namespaced,
            });
            // What an application's own workloads are: Argo CD permits each.
            const own = [
              resource('apps/v1', 'Deployment', namespace),
              resource('v1', 'Service', namespace),
              resource('v1', 'ConfigMap', namespace),
              resource('v1', 'Secret', namespace),
              resource('v1', 'PersistentVolumeClaim', namespace),
              resource('batch/v1', 'CronJob', namespace),
              resource('v1', 'ServiceAccount', namespace),
            ];
            // What decides what reaches the pods, refused whatever the platform renders there:
            // network policies (their allows add to the platform's), routes, Gateways, Ingresses
            // and Envoy configurations (Cilium's shared ingress identity passes them).
            const traffic = [
              resource('cilium.io/v2', 'CiliumNetworkPolicy', namespace),
              resource('cilium.io/v2', 'CiliumEnvoyConfig', namespace),
              resource('networking.k8s.io/v1', 'NetworkPolicy', namespace),
              resource('networking.k8s.io/v1', 'Ingress', namespace),
              resource('gateway.networking.k8s.io/v1', 'HTTPRoute', namespace),
              resource('gateway.networking.k8s.io/v1', 'GRPCRoute', namespace),
              resource('gateway.networking.k8s.io/v1', 'Gateway', namespace),
            ];
            // The other kinds the platform renders there, read off Helm's renders (not off the
            // project): the BitwardenSecret, VolSync's objects.
            const governed = new Map<string, { apiVersion: string; kind: string }>();
            for (const object of onCluster) {
              if (object.metadata.namespace !== namespace) continue;
              if (WORKLOAD_GROUPS.has(groupOf(object))) continue;
              if (traffic.some((entry) => group(entry.apiVersion) === groupOf(object))) continue;
              if (groupOf(object) === 'rbac.authorization.k8s.io') continue;
              governed.set(`${groupOf(object)}:${object.kind}`, object);
            }
            const refused = [
              ...traffic,
              ...[...governed.values()].map((kind) =>
                resource(kind.apiVersion, kind.kind, namespace),
              ),
              resource('rbac.authorization.k8s.io/v1', 'ClusterRole', namespace, false),
              resource('v1', 'Namespace', namespace, false),
              resource('argoproj.io/v1alpha1', 'Application', namespace),
            ];
            const elsewhere = resource('apps/v1', 'Deployment', 'kube-system');
            const application = {
              apiVersion: 'argoproj.io/v1alpha1',
              kind: 'Application',
              metadata: { name: `suite-${name}`, namespace: base.namespace },
              spec: {
                project: name,
                source: { repoURL, path: '.', targetRevision: 'main' },
                destination: { server: 'https://kubernetes.default.svc', namespace },
              },
            };
            const request: SyncRequest = {
              ...base,
              sync: [{ project, application, resources: [...own, ...refused, elsewhere] }],
              labels: [
                {
                  application: `suite-${name}`,
                  resources: [...own, ...refused, elsewhere].map(
                    (entry) => `${entry.apiVersion} ${entry.kind} ${entry.namespace}`,
                  ),
                },
              ],
            };
            const refusals = syncRefusals(request, argocdCheck(tool, asked(request)).sync);
            expect(refusals.sort(), `${cluster} ${name}`).toEqual(
              [
                ...refused.map(
                  (entry) =>
                    `suite-${name}: ${entry.apiVersion} ${entry.kind} ${entry.namespace}: resource ${group(entry.apiVersion)}:${entry.kind} is not permitted in project ${name}`,
                ),
                `suite-${name}: apps/v1 Deployment kube-system: namespace kube-system is not permitted in project '${name}'`,
              ].sort(),
            );
            // The platform's own kinds there besides traffic are among the refused (the
            // BitwardenSecret of the application's Secrets or volumes, VolSync's objects), where
            // it renders any.
            if (
              onCluster.some(
                (object) =>
                  object.metadata.namespace === namespace && object.kind === 'ReplicationSource',
              )
            )
              expect([...governed.keys()], `${cluster} ${name}`).toContain(
                'volsync.backube:ReplicationSource',
              );
            confined++;
          }
        }
        if (confined === 0)
          notRun(context, 'no application of the definition (no workload project)');
        console.log(
          `helm suite: ${confined} workload project(s) confine their Applications as Argo CD checks them`,
        );
      },
    );

    it("has each cluster's Argo CD that renews a browser's session (oidc.renewSessions) do so with a refresh token the cluster's Authelia issues it, and the others request none (argocd-cm and Authelia's configuration as Helm rendered them)", () => {
      /** The data of the ConfigMap `name` Helm rendered on each cluster. */
      const configMapData = (name: string): Map<string, Record<string, string>> =>
        new Map(
          [...rendered.entries()].flatMap(([render, result]) =>
            (result.documents ?? [])
              .filter(({ object }) => object.kind === 'ConfigMap' && object.metadata.name === name)
              .map(
                ({ object }) =>
                  [
                    render.cluster,
                    (object as { data?: Record<string, string> }).data ?? {},
                  ] as const,
              ),
          ),
        );
      const authelia = configMapData('authelia');
      const withOidc = [...configMapData('argocd-cm')].filter(
        ([, data]) => data['oidc.config'] !== undefined,
      );
      let renewing = 0;
      for (const [cluster, data] of withOidc) {
        const config = parseYaml(data['oidc.config'] as string) as {
          clientID: string;
          requestedScopes: string[];
          refreshTokenThreshold?: string;
        };
        if (config.refreshTokenThreshold === undefined) {
          // The session ends with the ID token: no refresh token asked for, no consent screen.
          expect(config.requestedScopes, cluster).not.toContain('offline_access');
          continue;
        }
        renewing++;
        // Argo CD v3.4.4 refreshes an ID token with less than this left (a Go duration): half of
        // Authelia's hour, the lifespan its rendered configuration keeps (below).
        expect(config.refreshTokenThreshold, cluster).toBe('30m');
        expect(config.requestedScopes, cluster).toContain('offline_access');
        // Where Authelia runs, it registers the web client for a refresh token, and its ID
        // tokens live longer than the threshold: the chart's defaults, no lifespans set.
        // The chart's configMap.key default (authelia 0.11.5 templates/configMap.yaml).
        const configuration = authelia.get(cluster)?.['configuration.yaml'];
        if (configuration === undefined) continue;
        const oidc = (
          parseYaml(configuration) as {
            identity_providers: {
              oidc: {
                lifespans: Record<string, string>;
                clients: { client_id: string; scopes: string[]; grant_types: string[] }[];
              };
            };
          }
        ).identity_providers.oidc;
        const client = oidc.clients.find((candidate) => candidate.client_id === config.clientID);
        expect(client?.scopes, cluster).toContain('offline_access');
        expect(client?.grant_types, cluster).toContain('refresh_token');
        expect(oidc.lifespans, cluster).toMatchObject({
          id_token: '1 hour',
          access_token: '1 hour',
          refresh_token: '1 hour and 30 minutes',
        });
      }
      console.log(
        `argocd sessions: ${withOidc.length} cluster(s) with OIDC, ${renewing} renewing the browser's session`,
      );
      // No Authelia skipped by a wrong key: each holds its configuration there.
      for (const data of authelia.values())
        expect(Object.keys(data)).toContain('configuration.yaml');
    });

    onArgocd(
      "has the Argo CD of each cluster with Gatekeeper wait for Gatekeeper to make each ConstraintTemplate's constraint kind before the constraints' wave (argocd-cm read and its Lua run by Argo CD's own code on templates of each state)",
      () => {
        const tool = argocd as NonNullable<typeof argocd>;
        const key = healthKey('templates.gatekeeper.sh', 'ConstraintTemplate');
        // Clusters without Gatekeeper have nothing to wait for (the user's definition may have none).
        const gated = healthScriptsWhere('ConstraintTemplate', key);
        const template = (status?: unknown) => ({
          apiVersion: 'templates.gatekeeper.sh/v1',
          kind: 'ConstraintTemplate',
          metadata: { name: 'homelabpodsecurity' },
          ...(status === undefined ? {} : { status }),
        });
        for (const [cluster, cm, script] of gated) {
          expect(typeof script, `cluster ${cluster}: argocd-cm ${key}`).toBe('string');
          const [fresh, notCreated, noErrors, refused, created] = argocdHealth(
            tool,
            cm as KubeObject,
            [
              template(),
              template({ created: false }),
              template({ created: false, byPod: [{ id: 'gatekeeper-audit-1', errors: [] }] }),
              template({
                created: false,
                byPod: [
                  {
                    id: 'gatekeeper-controller-manager-1',
                    errors: [{ code: 'ingest_error', message: 'no such key: podSpec' }],
                  },
                ],
              }),
              template({
                created: true,
                byPod: [{ id: 'gatekeeper-audit-1', observedGeneration: 1 }],
              }),
            ],
          );
          // Just applied: Gatekeeper has not reported yet, so the constraints' wave waits.
          expect(fresh?.status, cluster).toBe('Progressing');
          expect(notCreated?.status, cluster).toBe('Progressing');
          expect(noErrors?.status, cluster).toBe('Progressing');
          // Gatekeeper refused the template (its message, from the pod that reported it).
          expect(refused, cluster).toEqual({
            status: 'Degraded',
            message: 'gatekeeper-controller-manager-1: no such key: podSpec',
            error: '',
          });
          // The constraint kind exists.
          expect(created?.status, cluster).toBe('Healthy');
        }
      },
    );

    onArgocd(
      "has the Argo CD of each cluster with BitwardenSecrets report whether the operator filled each one (argocd-cm read and its Lua run by Argo CD's own code on BitwardenSecrets of each state)",
      () => {
        const tool = argocd as NonNullable<typeof argocd>;
        const key = healthKey('k8s.bitwarden.com', 'BitwardenSecret');
        // Clusters without the operator have no BitwardenSecret (the user's definition may have none).
        const filled = healthScriptsWhere('BitwardenSecret', key);
        const secret = (conditions?: unknown[]) => ({
          apiVersion: 'k8s.bitwarden.com/v1',
          kind: 'BitwardenSecret',
          metadata: { name: 'argocd-oidc', namespace: 'argocd' },
          ...(conditions === undefined ? {} : { status: { conditions } }),
        });
        // As sm-operator v2 writes them (bitwardensecret_controller.go LogFailingReconciliation,
        // LogCompletion): a failure is type FailedSync with status False.
        const failed = {
          type: 'FailedSync',
          status: 'False',
          reason: 'ReconciliationFailed',
          message: 'Error pulling Secret Manager secrets from API - 401 Unauthorized',
        };
        const synced = {
          type: 'SuccessfulSync',
          status: 'True',
          reason: 'ReconciliationComplete',
          message: 'Completed sync for argocd/argocd-oidc',
        };
        for (const [cluster, cm, script] of filled) {
          expect(typeof script, `cluster ${cluster}: argocd-cm ${key}`).toBe('string');
          const health = argocdHealth(tool, cm as KubeObject, [
            secret(),
            secret([]),
            secret([failed]),
            secret([synced]),
            secret([synced, failed]),
            secret([failed, synced]),
          ]);
          // Just applied: the operator has not reported yet.
          expect(health[0]?.status, cluster).toBe('Progressing');
          expect(health[1]?.status, cluster).toBe('Progressing');
          // It cannot fill it: the operator's words, not the consumers' CreateContainerConfigError.
          expect(health[2], cluster).toEqual({
            status: 'Degraded',
            message: 'Error pulling Secret Manager secrets from API - 401 Unauthorized',
            error: '',
          });
          // Filled (also once a later sync failed: the Secret keeps the last values).
          expect(
            health.slice(3).map(({ status }) => status),
            cluster,
          ).toEqual(['Healthy', 'Healthy', 'Healthy']);
        }
      },
    );

    it('alerts only on scrape jobs the cluster scrapes: every job (and, for up, Service and namespace) an alert selects has a target, and every metric family an alert reads has its exporter scraped', () => {
      // Where Prometheus runs: a cluster with monitoring off scrapes nothing and alerts on nothing.
      for (const { cluster } of discovery.clusters) {
        if (!rendersOn(cluster, 'Prometheus')) continue;
        // An object Helm renders without a namespace lands in the Application's (VolSync's
        // `volsync-metrics` Service in volsync-system): Argo CD applies it there.
        const objects = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([render, result]) =>
            (result.documents ?? []).map(({ object }) =>
              object.metadata.namespace === undefined
                ? { ...object, metadata: { ...object.metadata, namespace: render.namespace } }
                : object,
            ),
          );
        const targets = scrapeTargets(objects, clusterMadeServices(objects)).map(
          (target) => target.job,
        );
        // Talos' control plane at the node addresses, the kubelet, the API server, the platform's.
        for (const job of ['kube-scheduler', 'kube-controller-manager', 'kube-etcd', 'kubelet']) {
          expect(targets, cluster).toContain(job);
        }
        expect(targets, cluster).toContain('apiserver');
        expect(targets, cluster).not.toContain('kube-proxy');
        // The definition's own rules may alert on what the user's applications' own
        // ServiceMonitors scrape (deployed outside the platform, in any namespace Prometheus
        // watches): only the platform's alerts must find their targets here.
        const platformAlerts = objects.filter(
          (object) =>
            !(
              object.kind === 'PrometheusRule' &&
              object.metadata.namespace === 'monitoring' &&
              object.metadata.name === DEFINITION_RULES
            ),
        );
        expect(alertTargetProblems(platformAlerts), cluster).toEqual([]);
      }
    });

    it('finds the storage alerts silent for ever where nothing scrapes longhorn-manager (its ServiceMonitor dropped), though they name no job (broken on purpose)', (context) => {
      // A cluster whose Prometheus scrapes Longhorn (prod in the reference).
      const cluster = clusterWhere(
        context,
        "Longhorn's metrics scraped and its alerts",
        (name) => rendersOn(name, 'Prometheus') && rendersOn(name, 'DaemonSet', 'longhorn-manager'),
      );
      const objects = [...rendered.entries()]
        .filter(([render]) => render.cluster === cluster)
        .flatMap(([render, result]) =>
          (result.documents ?? []).map(({ object }) =>
            object.metadata.namespace === undefined
              ? ({
                  ...object,
                  metadata: { ...object.metadata, namespace: render.namespace },
                } as KubeObject)
              : object,
          ),
        );
      const longhornMonitors = objects.filter(
        (object) =>
          object.kind === 'ServiceMonitor' &&
          JSON.stringify(object.spec).includes('"longhorn-system"'),
      );
      if (longhornMonitors.length === 0) expect.fail(`${cluster} scrapes no Longhorn`);
      const problems = alertTargetProblems(
        objects.filter((object) => !longhornMonitors.includes(object)),
      );
      expect(problems).toContain(
        'PrometheusRule monitoring/longhorn: alert LonghornVolumeFaulted reads longhorn_volume_robustness, which only longhorn-manager exports, and nothing on the cluster scrapes it',
      );
    });

    it("finds kube-prometheus-stack's KubeProxyDown and KubeSchedulerDown without a target on Talos (kube-proxy replaced, the scheduler's endpoints dropped)", (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      const cluster = clusterWhere(context, 'charts/monitoring', (name) =>
        rendersOn(name, 'Prometheus'),
      );
      const entry = [...rendered.entries()].find(
        ([render]) => render.path === 'charts/monitoring' && render.cluster === cluster,
      );
      if (entry === undefined) expect.fail(`${cluster} deploys no charts/monitoring`);
      const [render, result] = entry;
      const prepared = result.prepared as PreparedChart;
      // The chart's defaults back: kube-proxy scraped and alerted on, the scheduler found by
      // kubeadm's pod labels (Talos' static pods carry other ones; no chart renders them).
      const defaults = join(prepared.dir, 'chart-defaults.yaml');
      writeFileSync(
        defaults,
        'kube-prometheus-stack:\n  kubeProxy:\n    enabled: true\n  defaultRules:\n    rules:\n      kubeProxy: true\n  kubeScheduler:\n    endpoints: []\n',
      );
      const run = runHelm(
        helm,
        [...templateArgs(render, prepared), '--values', defaults],
        prepared.dir,
        helmHome,
      );
      expect(run.status, run.stderr).toBe(0);
      const objects = [...rendered.entries()]
        .filter(([other]) => other.cluster === cluster && other !== render)
        .flatMap(([, other]) => (other.documents ?? []).map(({ object }) => object))
        .concat(splitHelmOutput(run.stdout).map(({ object }) => object));
      const problems = alertTargetProblems(objects);
      expect(problems).toContain(
        'PrometheusRule monitoring/monitoring-kubernetes-system-kube-proxy: alert KubeProxyDown selects up{job="kube-proxy"}, which no ServiceMonitor or PodMonitor on the cluster scrapes',
      );
      expect(problems).toContain(
        'PrometheusRule monitoring/monitoring-kubernetes-system-scheduler: alert KubeSchedulerDown selects up{job="kube-scheduler"}, which no ServiceMonitor or PodMonitor on the cluster scrapes',
      );
    });

    it('runs the Prometheus Operator with instances in its own namespace only, where every instance the charts render lives', (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      // The operator-instance-namespaces check reads the values; this is what the chart makes of
      // them: the operator's flags. An operator without them brings up a Prometheus or
      // Alertmanager made in any namespace, with that namespace's Secrets in its configuration.
      const renders = [...rendered.entries()].filter(
        ([render, result]) =>
          render.path === 'charts/monitoring' &&
          (result.documents ?? []).some(({ object }) => object.kind === 'Prometheus'),
      );
      if (renders.length === 0) notRun(context, 'no cluster deploys a Prometheus');
      const instanceKinds = new Set([
        'Prometheus',
        'PrometheusAgent',
        'Alertmanager',
        'ThanosRuler',
      ]);
      for (const [render, result] of renders) {
        const objects = (result.documents ?? []).map(({ object }) => object);
        const namespace = objects.find((object) => object.kind === 'Prometheus')?.metadata
          .namespace;
        const operators = objects.filter(
          (object) =>
            object.kind === 'Deployment' &&
            JSON.stringify(object).includes('--prometheus-config-reloader='),
        );
        expect([render.cluster, operators.length]).toEqual([render.cluster, 1]);
        const containers = ((
          operators[0]?.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } }
        )?.template?.spec?.containers ?? []) as { args?: string[] }[];
        const flags = containers
          .flatMap((container) => container.args ?? [])
          .filter((arg) =>
            /^--(prometheus|alertmanager|thanos-ruler)-instance-namespaces=/.test(arg),
          )
          .sort();
        expect([render.cluster, flags]).toEqual([
          render.cluster,
          [
            `--alertmanager-instance-namespaces=${namespace}`,
            `--prometheus-instance-namespaces=${namespace}`,
            `--thanos-ruler-instance-namespaces=${namespace}`,
          ],
        ]);
        const elsewhere = [...rendered.entries()]
          .filter(([other]) => other.cluster === render.cluster)
          .flatMap(([, other]) => (other.documents ?? []).map(({ object }) => object))
          .filter(
            (object) =>
              instanceKinds.has(object.kind) &&
              object.apiVersion.startsWith('monitoring.coreos.com/') &&
              object.metadata.namespace !== namespace,
          )
          .map((object) => `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`);
        expect([render.cluster, elsewhere]).toEqual([render.cluster, []]);
      }
    });

    it("starts Grafana with its image's plugins only: none downloaded, installed or updated at start", (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      // Grafana 13.2 installs its preinstall list from grafana.com at every start and updates
      // bundled plugins in place (GRAFANA_PLUGINS in packages/monitoring/src/values.ts): what
      // the chart renders must turn both off, and add no plugin or dashboard download of its own.
      const grafanas = [...rendered.entries()].filter(
        ([render, result]) =>
          render.path === 'charts/monitoring' &&
          (result.documents ?? []).some(
            ({ object }) => object.kind === 'Deployment' && object.metadata.name === 'grafana',
          ),
      );
      if (grafanas.length === 0) notRun(context, 'no cluster deploys Grafana');
      for (const [render, result] of grafanas) {
        const objects = (result.documents ?? []).map(({ object }) => object);
        const config = objects.find(
          (object) => object.kind === 'ConfigMap' && object.metadata.name === 'grafana',
        ) as (KubeObject & { data?: Record<string, string> }) | undefined;
        const ini = iniSections(config?.data?.['grafana.ini'] ?? '');
        expect([render.cluster, ini.get('plugins')]).toEqual([
          render.cluster,
          {
            plugin_admin_enabled: 'false',
            preinstall_auto_update: 'false',
            preinstall_disabled: 'true',
            public_key_retrieval_disabled: 'true',
          },
        ]);
        expect([
          render.cluster,
          ini.get('security')?.disable_gravatar,
          ini.get('snapshots')?.external_enabled,
        ]).toEqual([render.cluster, 'true', 'false']);
        expect([render.cluster, ini.get('analytics')?.check_for_plugin_updates]).toEqual([
          render.cluster,
          'false',
        ]);
        // The chart's `plugins` value becomes GF_PLUGINS_PREINSTALL_SYNC (a start that fails
        // offline), `dashboards` a curl init container, `shadowBundledPlugins` an empty folder
        // over the bundled plugins (the Prometheus data source among them).
        const deployment = objects.find(
          (object) => object.kind === 'Deployment' && object.metadata.name === 'grafana',
        );
        const pod = JSON.stringify(
          (deployment as { spec?: { template?: unknown } } | undefined)?.spec?.template ?? {},
        );
        expect([
          render.cluster,
          pod.match(/GF_PLUGINS_\w*|GF_INSTALL_PLUGINS|download-dashboards|plugins-bundled/g),
        ]).toEqual([render.cluster, null]);
      }
      // The reading: a section's keys, as grafana.ini's INI text gives them
      expect(iniSections('[a]\nx = 1\n; c\n[b.c]\ny=two words\n')).toEqual(
        new Map([
          ['a', { x: '1' }],
          ['b.c', { y: 'two words' }],
        ]),
      );
    });

    it('provisions dashboards Grafana loads offline: their data sources provisioned by uid, their panels built into Grafana', (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      // With no plugin downloaded at start (GRAFANA_PLUGINS), a panel of a plugin's type shows
      // "Panel plugin not found", and a data source uid the chart does not provision "Datasource
      // not found": the dashboards' ConfigMaps (label grafana_dashboard) against the data sources'
      // ConfigMap (label grafana_datasource) of the same render.
      const renders = [...rendered.entries()].filter(
        ([render, result]) =>
          render.path === 'charts/monitoring' &&
          (result.documents ?? []).some(({ object }) => dashboardJsons(object).length > 0),
      );
      if (renders.length === 0) notRun(context, 'no cluster provisions a dashboard');
      for (const [render, result] of renders) {
        const objects = (result.documents ?? []).map(({ object }) => object);
        const provisioned = objects.flatMap((object) => datasourceUids(object));
        expect([render.cluster, provisioned]).toEqual([
          render.cluster,
          expect.arrayContaining(['prometheus', 'alertmanager']),
        ]);
        const problems = objects.flatMap((object) =>
          dashboardJsons(object).flatMap(({ key, json }) =>
            dashboardProblems(json, provisioned).map(
              (problem) =>
                `${render.cluster}: ConfigMap ${object.metadata.name} ${key}: ${problem}`,
            ),
          ),
        );
        expect([...new Set(problems)]).toEqual([]);
      }
      // Broken on purpose: a panel of a plugin's type and another uid
      const panel = {
        type: 'grafana-clock-panel',
        datasource: { type: 'prometheus', uid: 'prom' },
      };
      expect(
        dashboardProblems({ panels: [{ type: 'row', panels: [panel] }] }, ['prometheus']),
      ).toEqual([
        'panel "grafana-clock-panel" is no panel Grafana 13.2 has built in (no plugin is installed: GRAFANA_PLUGINS)',
        'names data source uid "prom", which the chart does not provision (prometheus)',
      ]);
    });

    it("finds the lost L2 announcement alert silent for ever where kube-state-metrics' leases collector is off, or its ClusterRole drops leases, though kube-state-metrics is scraped (broken on purpose)", (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      // A cluster whose monitoring deploys CiliumL2AnnouncementLost (one announcing by L2).
      const entry = [...rendered.entries()].find(
        ([render, result]) =>
          render.path === 'charts/monitoring' &&
          (result.documents ?? []).some(({ object }) =>
            JSON.stringify(object.spec ?? {}).includes('"alert":"CiliumL2AnnouncementLost"'),
          ),
      );
      if (entry === undefined) notRun(context, 'no cluster deploys CiliumL2AnnouncementLost');
      const [render, result] = entry;
      const prepared = result.prepared as PreparedChart;
      const others = [...rendered.entries()]
        .filter(([other]) => other.cluster === render.cluster && other !== render)
        .flatMap(([, other]) => (other.documents ?? []).map(({ object }) => object));
      const rerender = (values: string): KubeObject[] => {
        const file = join(prepared.dir, 'broken-ksm.yaml');
        writeFileSync(file, values);
        const run = runHelm(
          helm,
          [...templateArgs(render, prepared), '--values', file],
          prepared.dir,
          helmHome,
        );
        expect(run.status, run.stderr).toBe(0);
        return others.concat(splitHelmOutput(run.stdout).map(({ object }) => object));
      };
      // The chart's collectors (kube-state-metrics chart 8.4.0's default list) without leases:
      // the Deployment's --resources and the ClusterRole both lose them.
      const shipped = (result.documents ?? [])
        .map(({ object }) => object)
        .find(
          (object) => object.kind === 'Deployment' && object.metadata.name === 'kube-state-metrics',
        );
      const args = JSON.stringify(shipped?.spec ?? {});
      const collectors = /--resources=([a-z,]+)/.exec(args)?.[1]?.split(',') ?? [];
      expect(collectors).toContain('leases');
      const off = rerender(
        `kube-prometheus-stack:\n  kube-state-metrics:\n    collectors: [${collectors.filter((c) => c !== 'leases').join(', ')}]\n`,
      );
      const problems = alertTargetProblems(off);
      expect(problems.filter((p) => p.includes('CiliumL2AnnouncementLost'))).toEqual([
        expect.stringMatching(
          /alert CiliumL2AnnouncementLost reads kube_lease_owner, which kube-state-metrics never exports: Deployment monitoring\/kube-state-metrics runs without its leases collector/,
        ),
        expect.stringMatching(
          /alert CiliumL2AnnouncementLost reads kube_lease_renew_time, which kube-state-metrics never exports: Deployment monitoring\/kube-state-metrics runs without its leases collector/,
        ),
      ]);
      // The collector on, its ClusterRole without the leases rule.
      const noRole = off.map((object) =>
        object.kind === 'Deployment' && object.metadata.name === 'kube-state-metrics'
          ? (JSON.parse(
              JSON.stringify(object).replace('--resources=', '--resources=leases,'),
            ) as KubeObject)
          : object,
      );
      expect(
        alertTargetProblems(noRole).filter((p) => p.includes('CiliumL2AnnouncementLost')),
      ).toEqual([
        expect.stringContaining(
          "reads kube_lease_owner, which kube-state-metrics never exports: Deployment monitoring/kube-state-metrics's ServiceAccount monitoring/kube-state-metrics may not list and watch leases.coordination.k8s.io",
        ),
        expect.stringContaining('reads kube_lease_renew_time'),
      ]);
    });

    /**
     * What a cluster has for its pods to name: the built-in objects of every namespace, every
     * object its Applications apply, the Secrets its objects make (the secrets provider's
     * producers, cert-manager's Certificates, Talos' ServiceAccounts), the Secrets the definition's
     * components declare (filled by the secrets provider, or the unfulfilled-request warning
     * without one) or list as hand-made bootstrap secrets, and the Secrets upstream jobs make at
     * run time (Cilium's certgen, Argo CD's redis-secret-init).
     */
    function podReferenceTargets(cluster: string, items: readonly KubeItem[]): ExistingObject[] {
      const run = built?.components?.clusters.find((entry) => entry.cluster.name === cluster);
      expect(run, `the build of cluster ${cluster}`).toBeDefined();
      const producer = run?.facts?.secrets?.producer;
      const namespaceOf = ({ namespace, object }: KubeItem) =>
        (object as KubeObject).metadata?.namespace ?? namespace;
      const declared = [...(run?.contributions.values() ?? [])].flatMap((contribution) => [
        ...(contribution.secrets ?? []),
        ...(contribution.bootstrapSecrets ?? []),
      ]);
      return [
        ...builtInObjects(new Set(items.map(namespaceOf))),
        ...items.flatMap(({ namespace, object }) => existingObjectOf(object, namespace) ?? []),
        ...items.flatMap((item) => {
          const made = secretMadeFrom(item.object as KubeObject, producer);
          return made === undefined
            ? []
            : [{ kind: 'Secret' as const, namespace: namespaceOf(item), ...made }];
        }),
        ...declared.map(({ namespace, name, keys }) => ({
          kind: 'Secret' as const,
          namespace,
          name,
          keys,
        })),
        ...items.flatMap(({ namespace, object }) => secretsMadeByJob(object, namespace)),
      ];
    }

    const formatUnresolved = ({ workload, reference, problem }: UnresolvedPodReference) =>
      `${workload} ${reference.path}: ${problem}: ${missingEffect(reference)}`;

    it('has every object a pod names exist on its cluster: its ServiceAccount, PriorityClass and RuntimeClass, the ConfigMaps and Secrets of its volumes and environment with the keys it reads (a file mounted by subPath too), its PersistentVolumeClaims', () => {
      const counts = new Map<string, number>();
      for (const { cluster } of discovery.clusters) {
        const items = appliedItems(cluster);
        const problems = unresolvedPodReferences(items, podReferenceTargets(cluster, items));
        expect(problems.map(formatUnresolved), cluster).toEqual([]);
        for (const { namespace, object } of items) {
          for (const { kind } of podReferences(
            object,
            (object as KubeObject).metadata?.namespace ?? namespace,
          )) {
            counts.set(kind, (counts.get(kind) ?? 0) + 1);
          }
        }
      }
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      console.log(
        `helm suite: every object a pod names exists on its cluster: ${[...counts]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([kind, count]) => `${count} ${kind} references`)
          .join(', ')} on ${discovery.clusters.map(({ cluster }) => cluster).join(', ')}`,
      );
    });

    it('finds, broken on purpose, a rendered pod naming a missing ServiceAccount, PriorityClass, RuntimeClass, ConfigMap and claim, and a key its Secret lacks (an optional ConfigMap is no problem)', () => {
      const cluster = discovery.clusters[0]?.cluster;
      if (cluster === undefined) expect.fail('no cluster in the committed output');
      const items = appliedItems(cluster);
      const targets = podReferenceTargets(cluster, items);
      const index = items.findIndex(({ object }) => (object as KubeObject).kind === 'Deployment');
      expect(index, `${cluster} renders no Deployment`).toBeGreaterThanOrEqual(0);
      const original = items[index] as KubeItem;
      const deployment = structuredClone(original.object) as KubeObject & {
        spec: { template: { spec: Table & { containers: Table[]; volumes?: Table[] } } };
      };
      const namespace = deployment.metadata.namespace ?? original.namespace;
      // A Secret of the cluster with known keys, read at a key it lacks.
      const secret = targets.find(
        (target) =>
          target.kind === 'Secret' && target.namespace === namespace && target.keys !== undefined,
      );
      const pod = deployment.spec.template.spec;
      pod.serviceAccountName = 'suite-missing';
      pod.priorityClassName = 'suite-missing';
      pod.runtimeClassName = 'suite-missing';
      pod.volumes = [
        ...(pod.volumes ?? []),
        { name: 'suite-config', configMap: { name: 'suite-missing' } },
        { name: 'suite-optional', configMap: { name: 'suite-missing', optional: true } },
        { name: 'suite-claim', persistentVolumeClaim: { claimName: 'suite-missing' } },
      ];
      const container = pod.containers[0] as Table & { env?: Table[] };
      container.env = [
        ...(container.env ?? []),
        ...(secret === undefined
          ? []
          : [
              {
                name: 'SUITE',
                valueFrom: { secretKeyRef: { name: secret.name, key: 'suite-missing' } },
              },
            ]),
      ];
      const broken = [...items];
      broken[index] = { namespace: original.namespace, object: deployment };
      const found = unresolvedPodReferences(broken, targets).map(
        ({ reference, problem }) => `${reference.path}: ${problem}`,
      );
      const volumes = (pod.volumes ?? []).length;
      const envIndex = (container.env ?? []).length - 1;
      expect(found.sort()).toEqual(
        [
          `serviceAccountName: no ServiceAccount ${namespace}/suite-missing`,
          'priorityClassName: no PriorityClass suite-missing',
          'runtimeClassName: no RuntimeClass suite-missing',
          `volumes[${volumes - 3}].configMap: no ConfigMap ${namespace}/suite-missing`,
          `volumes[${volumes - 1}].persistentVolumeClaim: no PersistentVolumeClaim ${namespace}/suite-missing`,
          ...(secret === undefined
            ? []
            : [
                `containers[0].env[${envIndex}].valueFrom.secretKeyRef: Secret ${namespace}/${secret.name} has no key "suite-missing"`,
              ]),
        ].sort(),
      );
      // The control: the render as it is has none.
      expect(unresolvedPodReferences(items, targets)).toEqual([]);
    });

    it('has every Service with a selector select a pod of its cluster, with each port it targets by name declared there (else it has no endpoints)', () => {
      let services = 0;
      for (const { cluster } of discovery.clusters) {
        const documents = appliedItems(cluster).map(({ namespace, object }) => {
          const copy = structuredClone(object) as KubeObject;
          copy.metadata = { ...copy.metadata, namespace: copy.metadata?.namespace ?? namespace };
          return { source: '', object: copy };
        });
        services += documents.filter(
          ({ object }) => object.apiVersion === 'v1' && object.kind === 'Service',
        ).length;
        expect(serviceEndpointProblems(documents), cluster).toEqual([]);
      }
      console.log(
        `helm suite: ${services} Services on ${discovery.clusters.map(({ cluster }) => cluster).join(', ')}, every one with a selector selecting a rendered pod that declares every port it targets by name`,
      );
    });

    it("has every probe and lifecycle hook that names a port name one its own container declares (else the kubelet's probe errors: never Ready, or restarted)", () => {
      let named = 0;
      for (const { cluster } of discovery.clusters) {
        const items = appliedItems(cluster);
        for (const { object } of items) {
          named += (
            JSON.stringify(podTemplateOf(object)?.spec ?? {}).match(/"port":"[^"]*[a-z][^"]*"/g) ??
            []
          ).length;
        }
        expect(
          items
            .flatMap(({ namespace, object }) => unresolvedProbePorts(object, namespace))
            .map(
              ({ workload, path, port, effect }) =>
                `${workload} ${path}: no port named "${port}" in its container: ${effect}`,
            ),
          cluster,
        ).toEqual([]);
      }
      console.log(
        `helm suite: ${named} probe and hook ports by name on ${discovery.clusters.map(({ cluster }) => cluster).join(', ')}, each declared by its container`,
      );
    });

    /** A PodDisruptionBudget's refusal, in words. */
    const formatBlocking = ({ budget, workloads, expected, rule }: DisruptionBudget) =>
      `PodDisruptionBudget ${budget} (${rule}) over ${workloads.join(', ')}: ${expected} pod(s), none may be evicted: a drain waits on them until it times out`;

    it('has every PodDisruptionBudget allow an eviction once its pods are healthy, so that a node drain (the runbook before a Talos upgrade, Talos itself) finishes', () => {
      let budgets = 0;
      let over = 0;
      for (const { cluster } of discovery.clusters) {
        const items = appliedItems(cluster);
        budgets += items.filter(
          ({ object }) => (object as KubeObject).kind === 'PodDisruptionBudget',
        ).length;
        over += disruptionBudgets(items).length;
        expect(blockingDisruptionBudgets(items).map(formatBlocking), cluster).toEqual([]);
      }
      console.log(
        `helm suite: ${budgets} PodDisruptionBudgets on ${discovery.clusters.map(({ cluster }) => cluster).join(', ')}, ${over} of them over workloads of the charts, each allowing an eviction once its pods are healthy`,
      );
    });

    it('finds, broken on purpose, a rendered PodDisruptionBudget whose minAvailable is raised to its pods, and one turned to maxUnavailable 0', () => {
      const found = discovery.clusters.flatMap(({ cluster }) => {
        const items = appliedItems(cluster);
        return disruptionBudgets(items)
          .filter(({ expected }) => expected > 0)
          .map((budget) => ({ cluster, items, budget }));
      })[0];
      if (found === undefined) {
        // A definition may deploy no budget (a single-node homelab): the same over a workload of
        // the render, with a budget of the suite's own.
        const cluster = discovery.clusters[0]?.cluster;
        if (cluster === undefined) expect.fail('no cluster in the committed output');
        const items = appliedItems(cluster);
        const deployment = items.find(
          ({ object }) => (object as KubeObject).kind === 'Deployment',
        ) as KubeItem;
        const labels = (
          deployment.object as { spec: { template: { metadata: { labels: Table } } } }
        ).spec.template.metadata.labels;
        const own = {
          namespace: (deployment.object as KubeObject).metadata.namespace ?? deployment.namespace,
          object: {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: 'suite' },
            spec: { maxUnavailable: 0, selector: { matchLabels: labels } },
          },
        };
        expect(blockingDisruptionBudgets([...items, own]).map(({ budget }) => budget)).toEqual([
          `${own.namespace}/suite`,
        ]);
        return;
      }
      const { items, budget } = found;
      const index = items.findIndex(({ namespace, object }) => {
        const meta = (object as KubeObject).metadata;
        return (
          (object as KubeObject).kind === 'PodDisruptionBudget' &&
          `${meta.namespace ?? namespace}/${meta.name}` === budget.budget
        );
      });
      const original = items[index] as KubeItem;
      const raise = (spec: Table) => {
        const changed = [...items];
        const object = structuredClone(original.object) as KubeObject & { spec: Table };
        object.spec = { selector: object.spec.selector, ...spec };
        changed[index] = { namespace: original.namespace, object };
        return blockingDisruptionBudgets(changed).map(formatBlocking);
      };
      expect(blockingDisruptionBudgets(items)).toEqual([]);
      expect(raise({ minAvailable: budget.expected })).toEqual([
        `PodDisruptionBudget ${budget.budget} (minAvailable: ${budget.expected}) over ${budget.workloads.join(', ')}: ${budget.expected} pod(s), none may be evicted: a drain waits on them until it times out`,
      ]);
      expect(raise({ maxUnavailable: 0 })).toHaveLength(1);
      expect(raise({ maxUnavailable: 1 })).toEqual([]);
    });

    /**
     * Bindings of upstream charts whose role nothing makes, each with why the component works
     * regardless (the binding grants nothing; what it was for comes from elsewhere).
     */
    const EXPLAINED_ROLE_REFERENCES = new Map([
      [
        'RoleBinding cilium-spire/spire-server-pod roleRef: no ClusterRole spire-server-pod',
        "Cilium's chart (1.18.12, 1.19.6 and 1.20.0, templates/spire/server/rolebinding.yaml) binds a ClusterRole `<server service account>-pod` it never renders; the rights SPIRE's server needs (pods and nodes get, tokenreviews create) are in ClusterRole spire-server, which its ClusterRoleBinding grants",
      ],
    ]);

    onKube(
      "has every RBAC binding's role and ServiceAccounts exist on its cluster: roles the charts render or the cluster's own API server creates (kube-machinery bootstrap-rbac of its minor)",
      (context) => {
        const explained = new Set<string>();
        const run: string[] = [];
        const notRun: string[] = [];
        let bindings = 0;
        for (const { cluster, kubeVersion } of discovery.clusters) {
          const version = kubeMachineryVersionFor(kubeVersion);
          const tool = version === undefined ? undefined : kubeTools.get(version);
          if (tool === undefined) {
            if (IN_CI && version !== undefined) expect.fail(`kube-machinery ${version} not found`);
            notRun.push(`${cluster} (Kubernetes ${kubeVersion})`);
            continue;
          }
          const bootstrap = kubeBootstrapRbac(tool);
          expect(bootstrap.kubernetesVersion).toBe(tool.version);
          expect(bootstrap.clusterRoles).toContain('cluster-admin');
          const items = appliedItems(cluster);
          bindings += items.filter(({ object }) =>
            ['RoleBinding', 'ClusterRoleBinding'].includes((object as KubeObject).kind),
          ).length;
          const problems = unresolvedRoleReferences(items, bootstrap).flatMap((found) => {
            const line = `${found.binding} ${found.path}: ${found.problem}`;
            if (EXPLAINED_ROLE_REFERENCES.has(line)) {
              explained.add(line);
              return [];
            }
            return [`${line}: ${found.effect}`];
          });
          expect(problems, cluster).toEqual([]);
          run.push(cluster);
        }
        if (notRun.length > 0) {
          console.log(
            `helm suite: RBAC references: not run on ${notRun.join(', ')}: no kube-machinery build of that minor`,
          );
        }
        if (run.length === 0) context.skip();
        console.log(
          `helm suite: every role and ServiceAccount ${bindings} RBAC bindings name exists on ${run.join(', ')}${explained.size > 0 ? `, but ${[...explained].map((line) => `${line} (${EXPLAINED_ROLE_REFERENCES.get(line)})`).join('; ')}` : ''}`,
        );
      },
    );

    onKube(
      "finds, broken on purpose, a rendered binding whose role is renamed away and whose ServiceAccount is misspelt, and a binding to the API server's own Role once the cluster's own roles are left out",
      () => {
        const tool = foundKubeTools()[0] as FoundTool;
        const cluster = discovery.clusters[0]?.cluster;
        if (cluster === undefined) expect.fail('no cluster in the committed output');
        const items = appliedItems(cluster);
        const bootstrap = kubeBootstrapRbac(tool);
        const control = unresolvedRoleReferences(items, bootstrap).map(
          ({ binding, problem }) => `${binding}: ${problem}`,
        );
        type Binding = KubeObject & {
          roleRef: { kind: string; name: string };
          subjects?: { kind: string; name: string; namespace?: string }[];
        };
        const index = items.findIndex(({ object }) => {
          const binding = object as Binding;
          return (
            binding.kind === 'ClusterRoleBinding' &&
            binding.subjects?.some(({ kind }) => kind === 'ServiceAccount') === true &&
            !bootstrap.clusterRoles.includes(binding.roleRef.name)
          );
        });
        expect(
          index,
          `${cluster} renders no ClusterRoleBinding of its own role`,
        ).toBeGreaterThanOrEqual(0);
        const broken = structuredClone(items[index]?.object) as Binding;
        const name = broken.metadata.name;
        broken.roleRef = { ...broken.roleRef, name: `${broken.roleRef.name}-suite` };
        const subject = broken.subjects?.findIndex(({ kind }) => kind === 'ServiceAccount') ?? -1;
        const account = broken.subjects?.[subject] as { name: string; namespace?: string };
        account.name = `${account.name}-suite`;
        const changed = [...items];
        changed[index] = { namespace: items[index]?.namespace ?? '', object: broken };
        expect(
          unresolvedRoleReferences(changed, bootstrap)
            .map(({ binding, path, problem }) => `${binding} ${path}: ${problem}`)
            .filter((line) => line.startsWith(`ClusterRoleBinding ${name} `)),
        ).toEqual([
          `ClusterRoleBinding ${name} roleRef: no ClusterRole ${broken.roleRef.name}`,
          `ClusterRoleBinding ${name} subjects[${subject}]: no ServiceAccount ${account.namespace}/${account.name}`,
        ]);
        // A binding to one of the API server's own Roles (as a webhook server or an aggregated
        // API binds it) resolves with the cluster's own roles, and not without them.
        const reader = {
          namespace: 'kube-system',
          object: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'suite-reader' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'Role',
              name: 'extension-apiserver-authentication-reader',
            },
            subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' }],
          },
        };
        expect(
          unresolvedRoleReferences([...items, reader], bootstrap).map(
            ({ binding, problem }) => `${binding}: ${problem}`,
          ),
        ).toEqual(control);
        expect(
          unresolvedRoleReferences([reader], { clusterRoles: [], roles: [] }).map(
            ({ problem }) => problem,
          ),
        ).toEqual(['no Role kube-system/extension-apiserver-authentication-reader']);
      },
    );

    it('lets the API server reach every admission and conversion webhook the charts render, through the Cilium policies Helm renders', () => {
      let webhooks = 0;
      for (const { cluster } of discovery.clusters) {
        const documents = namespacedDocuments(cluster);
        const objects = documents.map(({ object }) => object);
        webhooks += renderedWebhooks(objects).length;
        expect(
          webhookReachProblems(objects, documents, (pod, port) =>
            entityReachesPods(objects, 'remote-node', pod, port as FlowPort),
          ),
          cluster,
        ).toEqual([]);
      }
      console.log(`helm suite: ${webhooks} webhook(s) the API server calls, each reachable`);
    });

    it("finds a webhook the API server cannot reach once its pods' ingress from remote-node is gone, or allows kube-apiserver only", (context) => {
      const found: string[] = [];
      for (const { cluster } of discovery.clusters) {
        const documents = namespacedDocuments(cluster);
        const objects = documents.map(({ object }) => object);
        // Each ingress rule from the remote-node entity: removed, or narrowed to kube-apiserver.
        for (const narrow of [false, true]) {
          const broken = objects.flatMap((object): KubeObject[] => {
            if (object.kind !== 'CiliumNetworkPolicy') return [object];
            const spec = object.spec as { ingress?: { fromEntities?: string[] }[] };
            const fromNodes = (rule: { fromEntities?: string[] }) =>
              (rule.fromEntities ?? []).includes('remote-node');
            if (!(spec.ingress ?? []).some(fromNodes)) return [object];
            if (!narrow) return [];
            const ingress = (spec.ingress ?? []).map((rule) =>
              fromNodes(rule) ? { ...rule, fromEntities: ['kube-apiserver'] } : rule,
            );
            return [{ ...object, spec: { ...spec, ingress } } as KubeObject];
          });
          found.push(
            ...webhookReachProblems(broken, documents, (pod, port) =>
              entityReachesPods(broken, 'remote-node', pod, port as FlowPort),
            ),
          );
        }
      }
      if (found.length === 0) {
        // No webhook rendered, or none behind a policy's ingress from the nodes (no default deny).
        notRun(
          context,
          discovery.clusters.every(
            ({ cluster }) =>
              renderedWebhooks(namespacedDocuments(cluster).map(({ object }) => object)).length ===
              0,
          )
            ? 'no webhook rendered: the broken-on-purpose webhook test has nothing to break'
            : "no webhook's pods allow the nodes by a policy (no default deny): nothing to break",
        );
      }
      expect(
        found.every((line) =>
          line.includes("drop the API server's connections (from remote-node)"),
        ),
      ).toBe(true);
    });

    it('lets Prometheus scrape every target the ServiceMonitors and PodMonitors of the charts name, through the Cilium policies Helm renders', () => {
      let targets = 0;
      for (const { cluster } of discovery.clusters) {
        const documents = namespacedDocuments(cluster);
        const objects = documents.map(({ object }) => object);
        const found = scrapeReachProblems(objects, documents, (from, to, port) =>
          podsReachPods(objects, from, to, port as FlowPort),
        );
        targets += found.targets;
        expect(found.problems, cluster).toEqual([]);
      }
      console.log(
        `helm suite: ${targets} scrape target(s) of Prometheus behind pod policies, each reachable`,
      );
    });

    it("finds the targets Prometheus cannot scrape once the policies' ingress from Prometheus is gone (broken on purpose)", (context) => {
      const found: string[] = [];
      for (const { cluster } of discovery.clusters) {
        const documents = namespacedDocuments(cluster);
        const objects = documents.map(({ object }) => object);
        const fromPrometheus = (rule: {
          fromEndpoints?: { matchLabels?: { [key: string]: string } }[];
        }) =>
          (rule.fromEndpoints ?? []).some(
            (peer) => peer.matchLabels?.['app.kubernetes.io/name'] === 'prometheus',
          );
        const broken = objects.map((object): KubeObject => {
          if (object.kind !== 'CiliumNetworkPolicy') return object;
          const spec = object.spec as { ingress?: { fromEndpoints?: [] }[] };
          if (!(spec.ingress ?? []).some(fromPrometheus)) return object;
          return {
            ...object,
            spec: {
              ...spec,
              ingress: (spec.ingress ?? []).filter((rule) => !fromPrometheus(rule)),
            },
          } as KubeObject;
        });
        found.push(
          ...scrapeReachProblems(broken, documents, (from, to, port) =>
            podsReachPods(broken, from, to, port as FlowPort),
          ).problems,
        );
      }
      if (found.length === 0) {
        notRun(
          context,
          'no scrape target behind a policy that admits Prometheus (no default deny, or no Prometheus): nothing to break',
        );
      }
      expect(found.every((line) => line.includes('the target is down for good (TargetDown)'))).toBe(
        true,
      );
    });

    it('runs every CEL (K8sNativeValidation) ConstraintTemplate with a Gatekeeper started with that engine on', () => {
      for (const { cluster } of discovery.clusters) {
        const objects = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object));
        expect(gatekeeperEngineProblems(objects), cluster).toEqual([]);
      }
    });

    it("routes every request of the Gateway to a pod: each route's Service port, target port and pods, as Helm renders them", () => {
      for (const { cluster } of discovery.clusters) {
        const renders = [...rendered.entries()].filter(([render]) => render.cluster === cluster);
        const documents = renders.flatMap(([, result]) => result.documents ?? []);
        // The applications' routes lead to workloads the user deploys (flows say `external`).
        const external = new Set(
          renders
            .filter(([render]) => render.path === 'charts/applications')
            .flatMap(([, result]) => result.documents ?? [])
            .map(({ object }) => `${object.metadata.namespace}/${object.metadata.name}`),
        );
        expect(routeBackendProblems(documents, external), cluster).toEqual([]);
      }
    });

    it("carries the Argo CD CLI's gRPC-web through Cilium's Gateway: gRPC requests routed to the argocd-server port Helm renders with appProtocol kubernetes.io/h2c", (context) => {
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const documents = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([, result]) => result.documents ?? []);
        const server = documents.find(
          ({ object }) => object.kind === 'Service' && object.metadata.name === 'argocd-server',
        );
        const routed = documents.some(
          ({ object }) =>
            object.kind === 'HTTPRoute' &&
            JSON.stringify(object.spec).includes('"name":"argocd-server"'),
        );
        if (server === undefined || !routed) continue;
        const grpc = new Set([`${server.object.metadata.namespace}/argocd-server`]);
        expect(grpcRouteProblems(documents, grpc), cluster).toEqual([]);
        // Broken on purpose: the port without its protocol, and the route without its rule
        const plain = documents.map((document) => {
          if (document !== server) return document;
          const spec = document.object.spec as { ports: { appProtocol?: string }[] };
          const ports = spec.ports.map(({ appProtocol: _, ...port }) => port);
          return { ...document, object: { ...document.object, spec: { ...spec, ports } } };
        });
        expect(grpcRouteProblems(plain, grpc), cluster).toEqual([
          expect.stringContaining('whose appProtocol is unset, not kubernetes.io/h2c'),
        ]);
        const oneRule = documents.map((document) =>
          document.object.kind === 'HTTPRoute'
            ? {
                ...document,
                object: {
                  ...document.object,
                  spec: {
                    ...(document.object.spec as object),
                    rules: ((document.object.spec as { rules: unknown[] }).rules ?? []).slice(-1),
                  },
                } as KubeObject,
              }
            : document,
        );
        expect(grpcRouteProblems(oneRule, grpc), cluster).toEqual([
          expect.stringContaining('without a rule for gRPC requests'),
        ]);
        checked++;
      }
      if (checked === 0) notRun(context, 'no cluster routes argocd-server through the Gateway');
    });

    it('renders no custom resource that leaves out a field its CRD defaults inside a list (Argo CD would show it OutOfSync after every sync)', () => {
      for (const { cluster, applications } of discovery.clusters) {
        const objects = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object));
        const schemas = clusterCrdSchemas(applications, objects);
        // The Gateway API bundle's at least, wherever Argo CD deploys it.
        expect(schemas.size, `${cluster}: CRD schemas`).toBeGreaterThan(0);
        expect(listDefaultProblems(objects, schemas), cluster).toEqual([]);
      }
    });

    it("has the runbook renew Hubble's CA through the CronJob Helm renders, which keeps its CA in the Secret the runbook deletes", () => {
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const objects = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster && render.path === 'charts/cilium')
          .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object));
        if (objects.length === 0) continue;
        const runbook = readFileSync(join(REPO, 'clusters', cluster, 'RUNBOOK.md'), 'utf8');
        const from = runbook.indexOf("## Later: renewing Hubble's certificate authority");
        expect(from, `${cluster}: the runbook renews Hubble's CA`).toBeGreaterThan(0);
        const section = runbook.slice(from, runbook.indexOf('\n## ', from + 1));
        const cronJobName = /--from=cronjob\/([\w-]+)/.exec(section)?.[1];
        const deleted = /kubectl -n (\S+) delete secret (\S+) /.exec(section);
        const cronJob = objects.find(
          (object) => object.kind === 'CronJob' && object.metadata.name === cronJobName,
        );
        expect(cronJob, `${cluster}: CronJob ${cronJobName}`).toBeDefined();
        const container = (
          (cronJob as KubeObject).spec as {
            jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } };
          }
        ).jobTemplate.spec.template.spec.containers[0];
        // certgen v0.4.6: --ca-reuse-secret loads the CA Secret it made once and never renews
        // it (3 years, no --ca-validity-duration given): the Secret the runbook deletes.
        expect(container?.args).toEqual(
          expect.arrayContaining([
            '--ca-generate=true',
            '--ca-reuse-secret',
            `--ca-secret-namespace=${deleted?.[1]}`,
            `--ca-secret-name=${deleted?.[2]}`,
          ]),
        );
        expect(container?.args.some((arg) => arg.startsWith('--ca-validity-duration'))).toBe(false);
        expect(cronJob?.metadata.namespace).toBe(deleted?.[1]);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });

    it("has the runbook's Cilium pre-flight, run with the real Helm as written, pull every image the agents restart into and render nothing Argo CD runs", (context) => {
      if (helm === undefined) expect.fail('helm not found on PATH');
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const entry = [...rendered.entries()].find(
          ([render]) => render.cluster === cluster && render.path === 'charts/cilium',
        );
        if (entry === undefined) continue;
        const [, result] = entry;
        if (result.prepared === undefined || result.documents === undefined)
          expect.fail(`${cluster}: charts/cilium did not render: ${result.failure}`);
        const runbook = readFileSync(join(REPO, 'clusters', cluster, 'RUNBOOK.md'), 'utf8');
        const from = runbook.indexOf('## Later: before Cilium moves to another release');
        expect(from, `${cluster}: the runbook's pre-flight section`).toBeGreaterThan(0);
        const block = runbook.slice(runbook.indexOf('```sh\n', from) + 6).split('\n```')[0] ?? '';
        // The block's first render, up to its pipe into kubectl, as the operator's shell runs it
        // from the repository's root (the chart folder with its dependency, as
        // `helm dependency update` leaves it)
        const start = block.indexOf('helm template ');
        const pipe = block.indexOf('| kubectl create -f -');
        expect(
          [start >= 0, pipe > start],
          `${cluster}: the render piped into kubectl create`,
        ).toEqual([true, true]);
        const command = block.slice(start, pipe);
        const preflight = (text: string) => {
          const root = mkdtempSync(join(scratch, `preflight-${cluster}-`));
          mkdirSync(join(root, 'charts'));
          symlinkSync(result.prepared?.dir as string, join(root, 'charts', 'cilium'));
          const run = spawnSync('sh', ['-c', text], {
            cwd: root,
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
            env: {
              PATH: `${dirname(helm.path)}${delimiter}${process.env.PATH ?? ''}`,
              HOME: helmHome,
              HELM_CACHE_HOME: join(helmHome, 'cache'),
              HELM_CONFIG_HOME: join(helmHome, 'config'),
              HELM_DATA_HOME: join(helmHome, 'data'),
              KUBECONFIG: join(helmHome, 'no-kubeconfig'),
            },
          });
          expect(run.status, `${cluster}: ${text}\n${run.stderr}`).toBe(0);
          return splitHelmOutput(run.stdout).map(({ object }) => object);
        };
        const objects = preflight(command);
        const chart = result.documents.map(({ object }) => object);
        const waits = [...block.matchAll(/rollout status (daemonset|deployment)\/(\S+)/g)].map(
          ([, kind, name]) => ({
            kind: kind === 'daemonset' ? 'DaemonSet' : 'Deployment',
            name: name as string,
          }),
        );
        expect(
          waits.map(({ kind }) => kind),
          cluster,
        ).toEqual(['DaemonSet', 'Deployment']);
        expect(preflightProblems(objects, chart, waits), cluster).toEqual([]);
        // The same render twice in the block: the delete removes what the creation made
        expect(block.split(command).length - 1, `${cluster}: the render of create and delete`).toBe(
          2,
        );
        // Broken on purpose: without --show-only the render holds the chart's Hubble and the
        // pools, which the delete would remove; a pre-flight without Envoy's container leaves
        // the new Envoy image to the restart
        const whole = preflight(command.replace(/--show-only \S+/, ''));
        expect(
          preflightProblems(whole, chart, waits).filter((problem) =>
            problem.includes("is also the chart's"),
          ).length,
          cluster,
        ).toBeGreaterThan(0);
        const envoy = chart.filter(
          (object) => object.kind === 'DaemonSet' && object.metadata.name === 'cilium-envoy',
        ).length;
        if (envoy > 0) {
          const withoutEnvoy = objects.map((object) =>
            object.kind === 'DaemonSet'
              ? (JSON.parse(
                  JSON.stringify(object, (name, value) =>
                    name === 'containers'
                      ? (value as { name: string }[]).filter(
                          (container) => !container.name.includes('envoy'),
                        )
                      : value,
                  ),
                ) as KubeObject)
              : object,
          );
          expect(preflightProblems(withoutEnvoy, chart, waits), cluster).toEqual([
            expect.stringMatching(
              /^DaemonSet kube-system\/cilium-envoy runs \S*cilium-envoy\S*, which no pre-flight DaemonSet pulls$/,
            ),
          ]);
        }
        checked++;
      }
      if (checked === 0) notRun(context, 'no cluster renders charts/cilium');
    });

    it('has the SPIRE watchdog read and restart the pods and containers Helm renders from the vendored Cilium chart', () => {
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const objects = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster && render.path === 'charts/cilium')
          .flatMap(([, result]) => (result.documents ?? []).map(({ object }) => object));
        const cronJob = objects.find(
          (object) => object.kind === 'CronJob' && object.metadata.name === 'spire-watchdog',
        );
        // Every cluster that runs a SPIRE server has its watchdog, and no other.
        expect(cronJob !== undefined, `${cluster}: a spire-watchdog CronJob`).toBe(
          rendersOn(cluster, 'StatefulSet', 'spire-server'),
        );
        if (cronJob === undefined) continue;
        checked++;
        const template = (object: KubeObject) =>
          ((object.spec as { template?: unknown } | undefined)?.template ?? {}) as {
            metadata?: { labels?: { [key: string]: string } };
            spec?: { containers?: { name: string; readinessProbe?: unknown }[] };
          };
        const pod = (
          cronJob.spec as {
            jobTemplate: { spec: { template: { spec: { containers: { command: string[] }[] } } } };
          }
        ).jobTemplate.spec.template.spec;
        const script = pod.containers[0]?.command[2] ?? '';
        // Each read: `kubectl -n <namespace> get pods -l <selector> … @.name=="<container>"`.
        const reads = [
          ...script.matchAll(
            /kubectl -n (\S+) get pods -l (\S+) -o jsonpath='[^']*?@\.name=="([^"]+)"/g,
          ),
        ].map(([, namespace, selector, container]) => ({ namespace, selector, container }));
        expect(
          reads.map((read) => read.selector),
          cluster,
        ).toEqual([
          'app=spire-server',
          'io.cilium/app=operator,name=cilium-operator',
          'app=spire-agent',
        ]);
        for (const { namespace, selector, container } of reads) {
          const labels = (selector ?? '').split(',').map((pair) => pair.split('='));
          const workloads = objects.filter(
            (object) =>
              ['Deployment', 'DaemonSet', 'StatefulSet'].includes(object.kind) &&
              object.metadata.namespace === namespace &&
              labels.every(
                ([key, value]) => template(object).metadata?.labels?.[key ?? ''] === value,
              ),
          );
          // One workload's pods, with the container the script reads the start of, probed ready.
          expect(
            workloads.map((object) => `${object.kind}/${object.metadata.name}`),
            `${cluster}: ${selector}`,
          ).toHaveLength(1);
          const found = template(workloads[0] as KubeObject).spec?.containers?.find(
            (candidate) => candidate.name === container,
          );
          expect(
            found?.readinessProbe,
            `${cluster}: ${selector} container ${container}`,
          ).toBeDefined();
        }
        // What it restarts is rendered under those names.
        const restarts = [...script.matchAll(/kubectl -n (\S+) rollout restart (\w+)\/([\w-]+);/g)];
        expect(restarts.map(([, namespace, kind, name]) => `${namespace} ${kind}/${name}`)).toEqual(
          ['cilium-spire daemonset/spire-agent', 'kube-system deployment/cilium-operator'],
        );
        for (const [, namespace, kind, name] of restarts) {
          expect(
            objects.some(
              (object) =>
                object.kind.toLowerCase() === kind &&
                object.metadata.name === name &&
                object.metadata.namespace === namespace,
            ),
            `${cluster}: ${kind}/${name}`,
          ).toBe(true);
        }
      }
      // Staging and prod in the reference; a definition without mutual authentication has none.
      expect(checked).toBe(
        discovery.clusters.filter(({ cluster }) =>
          rendersOn(cluster, 'StatefulSet', 'spire-server'),
        ).length,
      );
    });

    /** Each role's firewall from the cluster's generated patches, with the nodes of that role. */
    function clusterFirewalls(cluster: string): {
      firewalls: RoleFirewall[];
      podCidr: string;
      nodes: string[];
    } {
      const resolved = built?.platform?.clusters.find((candidate) => candidate.name === cluster);
      if (resolved === undefined) expect.fail(`${cluster}: not in the build of platform.yaml`);
      const firewalls = (['controlplane', 'worker'] as const).flatMap((role) => {
        const file = join(REPO, 'clusters', cluster, 'talos', `${role}.yaml`);
        if (!existsSync(file)) return [];
        const nodes = resolved.nodes
          .filter((node) => node.role === role)
          .map((node) => node.address);
        return [roleFirewall(role, nodes, readFileSync(file, 'utf8'))];
      });
      return {
        firewalls,
        podCidr: resolved.network.podCidr,
        nodes: resolved.nodes.map((node) => node.address),
      };
    }

    it("lets through each node's Talos firewall every connection the rendered objects make to a host-network port (Services of host-network pods a monitor, webhook, route or client dials; Endpoints on the nodes)", (context) => {
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const { firewalls, podCidr, nodes } = clusterFirewalls(cluster);
        const documents = namespacedDocuments(cluster);
        const objects = documents.map(({ object }) => object);
        const { connections, unused } = hostConnections(objects, documents, nodes);
        checked += connections.length;
        if (unused.length > 0) {
          console.log(
            `helm suite: ${cluster}: host-network Services nothing rendered dials: ${unused.join(', ')}`,
          );
        }
        expect(hostFirewallProblems(connections, firewalls, podCidr), cluster).toEqual([]);
      }
      if (checked === 0) notRun(context, 'no rendered object dials a host-network port');
      console.log(
        `helm suite: ${checked} connection(s) to host-network ports, each allowed by the nodes' firewall`,
      );
    });

    it("finds a host port an upstream chart moves (Cilium's agent metrics on 9972), or a rule the firewall loses (node-exporter's 9100), dropped by the nodes (broken on purpose)", () => {
      // Where the ServiceMonitors that dial those ports exist (monitoring on the cluster).
      for (const { cluster } of discovery.clusters) {
        if (!rendersOn(cluster, 'ServiceMonitor', 'node-exporter')) continue;
        const { firewalls, podCidr, nodes } = clusterFirewalls(cluster);
        const documents = namespacedDocuments(cluster);
        // Cilium's agent container port `prometheus` moved: its Service targets the name.
        const moved = documents.map((document) =>
          document.object.kind === 'DaemonSet' && document.object.metadata.name === 'cilium'
            ? {
                ...document,
                object: JSON.parse(
                  JSON.stringify(document.object).replaceAll(
                    '"containerPort":9962',
                    '"containerPort":9972',
                  ),
                ) as KubeObject,
              }
            : document,
        );
        const movedObjects = moved.map(({ object }) => object);
        const agent = hostFirewallProblems(
          hostConnections(movedObjects, moved, nodes).connections,
          firewalls,
          podCidr,
        );
        expect(agent, cluster).toContainEqual(
          expect.stringMatching(
            /^ServiceMonitor monitoring\/cilium-agent through Service kube-system\/cilium-agent:9962: port 9972\/TCP on the (controlplane|worker) nodes is not allowed from 10\.244\.0\.0\/16/,
          ),
        );
        // node-exporter's port gone from every rule.
        const lost = firewalls.map((firewall) => ({
          ...firewall,
          rules: firewall.rules.map((rule) => ({
            ...rule,
            ports: rule.ports.filter(([lo, hi]) => !(lo <= 9100 && 9100 <= hi)),
          })),
        }));
        const objects = documents.map(({ object }) => object);
        expect(
          hostFirewallProblems(
            hostConnections(objects, documents, nodes).connections,
            lost,
            podCidr,
          ),
          cluster,
        ).toContainEqual(
          // In node-exporter's own namespace (monitoring's privileged one).
          expect.stringMatching(
            /^ServiceMonitor ([a-z0-9-]+)\/node-exporter through Service \1\/node-exporter:9100: port 9100\/TCP on the controlplane nodes is not allowed from/,
          ),
        );
      }
    });

    /** The cilium-config Helm rendered for a cluster, if Cilium is deployed there. */
    function ciliumConfig(cluster: string): { [key: string]: unknown } | undefined {
      const config = [...rendered.entries()]
        .filter(([render]) => render.cluster === cluster)
        .flatMap(([, result]) => result.documents ?? [])
        .find(
          ({ object }) => object.kind === 'ConfigMap' && object.metadata.name === 'cilium-config',
        );
      return config === undefined
        ? undefined
        : ((config.object as { data?: { [key: string]: unknown } }).data ?? {});
    }

    /**
     * The Cilium release Helm renders for a cluster: the tag of the `cilium-agent` container of
     * the `cilium` DaemonSet (`v1.19.6`), if Cilium is deployed there.
     */
    function ciliumAgentVersion(cluster: string): string | undefined {
      const daemonSet = [...rendered.entries()]
        .filter(([render]) => render.cluster === cluster)
        .flatMap(([, result]) => result.documents ?? [])
        .find(({ object }) => object.kind === 'DaemonSet' && object.metadata.name === 'cilium');
      const containers =
        (
          daemonSet?.object as
            | {
                spec?: { template?: { spec?: { containers?: { name: string; image: string }[] } } };
              }
            | undefined
        )?.spec?.template?.spec?.containers ?? [];
      const image = containers.find((container) => container.name === 'cilium-agent')?.image;
      return image === undefined ? undefined : /:(v[^@]+)/.exec(image)?.[1];
    }

    /** The CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies Helm renders for a cluster. */
    function ciliumPolicies(cluster: string): KubeObject[] {
      return [...rendered.entries()]
        .filter(([render]) => render.cluster === cluster)
        .flatMap(([, result]) => result.documents ?? [])
        .map(({ object }) => object)
        .filter(
          (object) =>
            object.apiVersion === 'cilium.io/v2' &&
            (object.kind === 'CiliumNetworkPolicy' ||
              object.kind === 'CiliumClusterwideNetworkPolicy') &&
            !neverRunByArgoCd(object),
        );
    }

    /** A cilium-config's data as the agent reads it: every value a string. */
    function configStrings(data: { [key: string]: unknown }): { [key: string]: string } {
      return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, String(value)]));
    }

    /**
     * The clusters whose rendered Cilium release has a cilium-machinery build, each with it, and
     * the others with the reason. A release with a module under tools/cilium-machinery/versions
     * whose build is missing fails in CI.
     */
    function ciliumMachineryClusters(): {
      run: { cluster: string; tool: FoundTool }[];
      other: string[];
    } {
      const run: { cluster: string; tool: FoundTool }[] = [];
      const other: string[] = [];
      for (const { cluster } of discovery.clusters) {
        if (ciliumConfig(cluster) === undefined) continue;
        const version = ciliumAgentVersion(cluster) ?? 'no cilium-agent image';
        const tool = ciliumTools.get(version);
        if (tool !== undefined) run.push({ cluster, tool });
        else if (!ciliumTools.has(version)) {
          other.push(
            `${cluster} (Cilium ${version}: no tools/cilium-machinery/versions/${version})`,
          );
        } else if (IN_CI) expect.fail(`${cluster}: cilium-machinery ${version} not built`);
        else other.push(`${cluster} (Cilium ${version}: cilium-machinery not built)`);
      }
      return { run, other };
    }

    onCilium(
      "has each cluster's Cilium agent import every CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy Helm renders there, under the agent options of its cilium-config (Cilium's own Parse of the cluster's release: no policy refused, no field pruned)",
      (context) => {
        const { run, other } = ciliumMachineryClusters();
        if (other.length > 0) {
          console.log(`helm suite: Cilium's policy parsing: not run on ${other.join(', ')}`);
        }
        if (run.length === 0) {
          console.log("helm suite: Cilium's policy parsing: not run: no cluster it can check");
          context.skip();
        }
        let policies = 0;
        for (const { cluster, tool } of run) {
          const data = ciliumConfig(cluster) as { [key: string]: unknown };
          const objects = ciliumPolicies(cluster);
          const response = ciliumCheck(tool, {
            clusterName: String(data['cluster-name'] ?? ''),
            config: configStrings(data),
            policies: objects,
          });
          expect(response.ciliumVersion, cluster).toBe(tool.version);
          expect(response.policies.length, cluster).toBe(objects.length);
          const problems = response.policies.flatMap((policy) => {
            const name = `${policy.kind} ${policy.namespace}/${policy.name}`;
            return [
              ...(policy.error ? [`${name}: ${policy.error}`] : []),
              ...(policy.unknownFields ? [`${name}: ${policy.unknownFields}`] : []),
              ...(policy.error === '' && policy.rules < 1 ? [`${name}: no rule imported`] : []),
            ];
          });
          expect(problems, cluster).toEqual([]);
          policies += objects.length;
        }
        console.log(
          `helm suite: Cilium's agent parsed ${policies} policies on ${run.map(({ cluster, tool }) => `${cluster} (${tool.version})`).join(', ')}, none refused`,
        );
      },
    );

    onCilium(
      "has Cilium's agent refuse, broken on purpose, in every release built: more than 40 ports in one rule, an L7 rule where cilium-config turns the L7 proxy off, a misspelled field",
      () => {
        const tools = [...ciliumTools.values()].filter(
          (tool): tool is FoundTool => tool !== undefined,
        );
        if (IN_CI) expect(tools.length).toBe(ciliumTools.size);
        expect(tools.length).toBeGreaterThan(0);
        // Policies of their own (a definition may turn default deny off and render none).
        const base = {
          apiVersion: 'cilium.io/v2',
          kind: 'CiliumNetworkPolicy',
          metadata: { name: 'suite', namespace: 'suite' },
        };
        type Spec = { [key: string]: unknown };
        const withSpec = (spec: Spec) => ({ ...structuredClone(base), spec, specs: undefined });
        const selector = { matchLabels: { 'app.kubernetes.io/name': 'suite' } };
        const ports = (count: number) =>
          Array.from({ length: count }, (_, index) => ({
            port: String(10000 + index),
            protocol: 'TCP',
          }));
        const dns = {
          endpointSelector: selector,
          egress: [
            {
              toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }],
              toPorts: [
                {
                  ports: [{ port: '53', protocol: 'UDP' }],
                  rules: { dns: [{ matchPattern: '*' }] },
                },
              ],
            },
          ],
        };
        const probes = [
          withSpec({
            endpointSelector: selector,
            ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: ports(40) }] }],
          }),
          withSpec({
            endpointSelector: selector,
            ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: ports(41) }] }],
          }),
          withSpec(dns),
          withSpec({
            endpointSelector: selector,
            egres: [{ toEntities: ['world'] }],
            egress: [{ toEntities: ['world'] }],
          }),
        ];
        for (const tool of tools) {
          // The agent's defaults (an empty cilium-config): the L7 proxy on.
          const config: { [key: string]: string } = {};
          const asRendered = ciliumCheck(tool, { config, policies: probes });
          expect(asRendered.ciliumVersion).toBe(tool.version);
          expect(asRendered.options['enable-l7-proxy'], tool.version).toBe(true);
          expect(
            asRendered.policies.map(({ error }) => error),
            tool.version,
          ).toEqual([
            '',
            'Invalid CiliumNetworkPolicy spec: too many ports, the max is 40',
            '',
            '',
          ]);
          expect(asRendered.policies.map(({ unknownFields }) => unknownFields)).toEqual([
            '',
            '',
            '',
            'json: unknown field "egres"',
          ]);
          const proxyOff = ciliumCheck(tool, {
            config: { ...config, 'enable-l7-proxy': 'false' },
            policies: [probes[2]],
          });
          expect(proxyOff.options['enable-l7-proxy']).toBe(false);
          expect(proxyOff.policies[0]?.error).toBe(
            'Invalid CiliumNetworkPolicy spec: L7 policy is not supported since L7 proxy is not enabled',
          );
        }
      },
    );

    /** What the role patches drop of the node-to-node ports a cilium-config opens. */
    function ciliumNodePortProblems(cluster: string, data: { [key: string]: unknown }): string[] {
      const { firewalls, nodes } = clusterFirewalls(cluster);
      const problems: string[] = [];
      for (const { port, protocol, why } of ciliumConfigNodePorts(data)) {
        for (const firewall of firewalls) {
          if (firewall.nodes.length === 0) continue;
          const missing = nodes
            .map((node) => `${node}/32`)
            .filter((source) => !firewallAllows(firewall, port, protocol, source));
          if (missing.length > 0) {
            problems.push(
              `${cluster} ${firewall.role}: ${port}/${protocol} (${why}) not allowed from ${missing.join(', ')}`,
            );
          }
        }
      }
      return problems;
    }

    it('allows between the nodes every port the agents open by the cilium-config Helm renders (tunnel, health, Hubble, mutual authentication)', () => {
      let checked = 0;
      for (const { cluster } of discovery.clusters) {
        const data = ciliumConfig(cluster);
        if (data === undefined) continue;
        checked++;
        expect(ciliumConfigNodePorts(data).length, cluster).toBeGreaterThanOrEqual(3);
        expect(ciliumNodePortProblems(cluster, data), cluster).toEqual([]);
      }
      expect(checked).toBeGreaterThan(0);
    });

    it("finds a Geneve tunnel, or a moved health port, the nodes' firewall drops (broken on purpose)", () => {
      for (const { cluster } of discovery.clusters) {
        const data = ciliumConfig(cluster);
        if (data === undefined) continue;
        expect(
          ciliumNodePortProblems(cluster, {
            ...data,
            'tunnel-protocol': 'geneve',
            'cluster-health-port': '4241',
          }),
          cluster,
        ).toEqual(
          expect.arrayContaining([
            expect.stringMatching(
              /^\S+ controlplane: 6081\/UDP \(the geneve tunnel\) not allowed from /,
            ),
            expect.stringMatching(
              /^\S+ controlplane: 4241\/TCP \(the node health endpoint\) not allowed from /,
            ),
          ]),
        );
      }
    });

    it("leaves pods' DNS working where Talos forwards kube-dns to its host resolver (Cilium's cilium-config against the cluster's Talos patches)", () => {
      for (const { cluster, applications } of discovery.clusters) {
        const config = [...rendered.entries()]
          .filter(([render]) => render.cluster === cluster)
          .flatMap(([, result]) => result.documents ?? [])
          .find(
            ({ object }) => object.kind === 'ConfigMap' && object.metadata.name === 'cilium-config',
          );
        const cilium = applications.some(
          (application) =>
            application.metadata.labels?.['app.kubernetes.io/component'] === 'cilium',
        );
        // Where Cilium is deployed, Helm rendered its configuration.
        expect(config !== undefined, `${cluster}: cilium-config`).toBe(cilium);
        if (config === undefined) continue;
        const talos = join(REPO, 'clusters', cluster, 'talos');
        const files = [
          'controlplane.yaml',
          'worker.yaml',
          ...readdirSync(join(talos, 'nodes')).map((file) => `nodes/${file}`),
        ].filter((file) => existsSync(join(talos, file)));
        const patches = new Map(
          files.map((file) => [file, parseAllDocuments(readFileSync(join(talos, file), 'utf8'))]),
        );
        expect(patches.size, `${cluster}: Talos patches`).toBeGreaterThan(2);
        const data = (config.object as { data?: Record<string, unknown> }).data ?? {};
        expect(data['kube-proxy-replacement'], `${cluster}: cilium-config`).toBeDefined();
        expect(hostDnsRoutingConflict(data, patches), cluster).toBeUndefined();
      }
    });

    for (const render of discovery.renders) {
      describe(`${render.path} for cluster ${render.cluster} (Application ${render.application}, namespace ${render.namespace})`, () => {
        it('passes helm lint --strict with the value files of its Application', () => {
          const result = rendered.get(render);
          if (result?.failure !== undefined) expect.fail(result.failure);
          expect(result?.lint?.stdout ?? '').toContain('1 chart(s) linted, 0 chart(s) failed');
          expect(result?.lint?.status, result?.lint?.stdout).toBe(0);
        });

        it('renders with helm template, its values accepted by every values.schema.json', () => {
          const result = rendered.get(render);
          if (result?.failure !== undefined) expect.fail(result.failure);
          expect(result?.template?.status, result?.template?.stderr).toBe(0);
          const prepared = result?.prepared as PreparedChart;
          // What our wrapper's schema says (Helm checked it too, unless it had to skip schemas).
          const ours = renderChart(readChartDir(prepared.dir), render.valueFiles);
          expect(ours.issues.map(formatIssue)).toEqual([]);
          // Schemas with a remote $ref: Helm skipped them offline, the suite validates them.
          if (prepared.skipSchemaValidation) {
            expect(upstreamSchemaProblems(ours.values, prepared.upstreamCharts)).toEqual([]);
          }
        });

        it('prints no Helm warning but the one a null removing an upstream default causes (helm/helm#31118)', () => {
          const result = rendered.get(render);
          if (result?.failure !== undefined) expect.fail(result.failure);
          const prepared = result?.prepared as PreparedChart;
          const { values } = renderChart(readChartDir(prepared.dir), render.valueFiles);
          expect(
            unexplainedHelmWarnings(result?.template?.stderr ?? '', prepared.name, values),
          ).toEqual([]);
        });

        it('renders on the live cluster, where Argo CD passes its API versions, what the suite checks here', () => {
          const documents = documentsOf(render);
          const live = rendered.get(render)?.live;
          expect(live?.status, live?.stderr).toBe(0);
          expect(liveRenderDifferences(documents, splitHelmOutput(live?.stdout ?? ''))).toEqual([]);
        });

        it('renders the same objects twice, a second apart: no key, certificate, password or time made at render (Argo CD would never be in sync)', () => {
          const documents = documentsOf(render);
          const result = rendered.get(render) as Rendered;
          const prepared = result.prepared as PreparedChart;
          // At least a second after the first render began, so that a time of day (`now`)
          // rendered to the second differs too.
          const wait = (result.startedAt ?? 0) + 1100 - Date.now();
          if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
          const again = runHelm(
            helm as NonNullable<typeof helm>,
            templateArgs(render, prepared),
            prepared.dir,
            helmHome,
          );
          expect(again.status, again.stderr).toBe(0);
          expect(
            renderDrift(documents, splitHelmOutput(again.stdout), chartTemplateFiles(prepared)),
          ).toEqual([]);
        });

        it('renders only objects that validate against their schemas', async () => {
          const documents = documentsOf(render);
          // Layer 2 exactly as the build runs it (packages/cli/src/pipeline.ts): the core kinds'
          // kubernetes-models validators and every registered component's validators.
          const objects = documents.map(({ source, object }) => ({
            source: `${render.cluster}:${source} ${object.kind}/${object.metadata.name}`,
            object,
          }));
          const issues = validateObjects(objects, [
            ...(await loadModelValidators(objects)),
            ...REGISTRY.flatMap((component) => component.validators ?? []),
          ]);
          counts.objects += documents.length;
          counts.objectProblems += issues.length;
          expect(issues.map(formatIssue)).toEqual([]);
          // As many objects as the chart's manifests and dependencies give: none only where the
          // chart has no dependency and no manifests for this cluster (nothing deployed there yet).
          const prepared = rendered.get(render)?.prepared as PreparedChart;
          const manifests = renderChart(readChartDir(join(REPO, render.path)), render.valueFiles);
          expect(renderedSourceProblems(documents, prepared, manifests.objects.length)).toEqual([]);
        });

        it('declares flows (zero trust) that select pods Helm renders, on ports their containers declare', () => {
          const documents = documentsOf(render);
          const deploying = deployingContributions(render);
          if (deploying.length === 0) {
            // A chart no component's Application deploys (the app-of-apps) runs no pods.
            expect(renderedPods(documents, render.namespace)).toEqual([]);
            return;
          }
          const flows = deploying.flatMap(([, contribution]) => contribution.flows ?? []);
          expect(flowProblems(flows, renderedPods(documents, render.namespace))).toEqual([]);
        });

        it('declares the image repositories its upstream chart runs and hands its controllers (what the allowed registries must admit)', () => {
          const documents = documentsOf(render);
          const declared: { [namespace: string]: string[] } = {};
          for (const [, contribution] of deployingContributions(render)) {
            for (const [namespace, repositories] of Object.entries(
              contribution.application?.imageRepositories ?? {},
            )) {
              declared[namespace] = [...(declared[namespace] ?? []), ...repositories];
            }
          }
          const references = upstreamImageReferences(documents, render.namespace);
          counts.images += references.length;
          expect(undeclaredImages(references, declared)).toEqual([]);
        });

        it('runs every pod at the Pod Security level its namespace enforces', () => {
          const documents = documentsOf(render);
          const cluster = discovery.clusters.find(({ cluster: name }) => name === render.cluster);
          const { policies, problems } = namespacePolicies(
            cluster?.applications ?? [],
            namespacesOf(render.cluster),
            podSecurityExemptions(render.cluster),
          );
          const result: PodSecurityResult = podSecurityOf(documents, render.namespace, policies);
          counts.pods += result.checked;
          counts.notDeployed += result.notDeployed.length;
          expect(problems).toEqual([]);
          expect(result.violations).toEqual([]);
        });

        it('applies server-side every object too large for a client-side apply (the last-applied copy)', () => {
          const documents = documentsOf(render);
          const application = discovery.clusters
            .find(({ cluster }) => cluster === render.cluster)
            ?.applications.find(({ metadata }) => metadata.name === render.application);
          expect(application, `Application ${render.application}`).toBeDefined();
          const result = clientSideApplyOf(application as KubeObject, documents, render.namespace);
          serverSideOnly.push(...result.serverSideOnly);
          expect(result.problems).toEqual([]);
        });

        it('declares the deletion hooks of a critical chart, which Argo CD runs when it deletes the Application', () => {
          const documents = documentsOf(render);
          const run = built?.components?.clusters.find(
            (entry) => entry.cluster.name === render.cluster,
          );
          const charts = new Map(
            (built?.components?.components ?? []).map((entry) => [
              entry.component.name,
              entry.output.chart?.name,
            ]),
          );
          const critical = [...(run?.contributions.entries() ?? [])].filter(
            ([component, contribution]) =>
              contribution.application?.critical === true &&
              `charts/${contribution.application.chart ?? charts.get(component)}` === render.path,
          );
          const hooks = deletionHooks(documents.map(({ object }) => object));
          // A critical Application carries no finalizer of its own, but Argo CD adds one for such
          // a hook: its runbook removal must say so (ApplicationDescriptor.uninstall).
          const undeclared = critical
            .filter(([, contribution]) => contribution.application?.uninstall === undefined)
            .map(([component]) => component);
          expect(hooks.length === 0 ? [] : undeclared, hooks.join('; ')).toEqual([]);
        });

        it('renders no deletion hook for an Application the root lists finalizers of (their list would differ forever)', () => {
          const application = discovery.clusters
            .find(({ cluster }) => cluster === render.cluster)
            ?.applications.find(({ metadata }) => metadata.name === render.application);
          expect(application, `Application ${render.application}`).toBeDefined();
          const objects = documentsOf(render).map(({ object }) => object);
          expect(finalizerDiffHooks(application as KubeObject, objects)).toEqual([]);
        });

        it('renders no upgrade-only pre-upgrade hook, which Argo CD would run before the first sync', () => {
          const documents = documentsOf(render);
          expect(upgradeOnlyPreSyncHooks(documents.map(({ object }) => object))).toEqual([]);
        });

        it('renders from .Values.manifests exactly the objects the TypeScript merge computes', () => {
          const documents = documentsOf(render);
          const prepared = rendered.get(render)?.prepared as PreparedChart;
          const fromManifests = documents
            .filter(({ source }) => source === `${prepared.name}/templates/manifests.yaml`)
            .map(({ object }) => object);
          const ours = renderChart(readChartDir(join(REPO, render.path)), render.valueFiles);
          expect(manifestDifferences(fromManifests, ours.objects)).toEqual([]);
          expect(fromManifests).toHaveLength(ours.objects.length);
        });
      });
    }
  });
});
