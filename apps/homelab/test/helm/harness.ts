// The real Helm on the committed charts (DESIGN.md, "Validation layers" 5): which charts to render
// for which cluster (read from the committed output, as Argo CD reads it), how Argo CD v3.4 runs
// `helm template`, and what the suite checks in the result. Helm itself runs in helm.test.ts; the
// functions here are plain and tested on their own in harness.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGISTRY } from '@homelab/cli';
import {
  ANNOTATIONS_LIMIT_BYTES,
  appliedWithoutLastApplied,
  cidrContainsCidr,
  composeDefinitionSchema,
  crdSchemas,
  defaultsInsideLists,
  definitionValidator,
  enforcedPodSecurity,
  formatIssue,
  imageRepository,
  type KubeObject,
  labelSelectorMatches,
  loadDefinition,
  mergeValues,
  objectIdentity,
  oversizedClientSideApplies,
  type PodSecurityLevel,
  parseAllDocuments,
  parseYaml,
  podSecurityViolations,
  podTemplateOf,
  readChartDir,
  renderChart,
  type StructuralSchema,
  type Values,
} from '@homelab/core';
import { Ajv, type AnySchema } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { isDocument, parseAllDocuments as parseYamlStream } from 'yaml';
import { readTarGz } from './tar.js';

/** The repository root (apps/homelab/test/helm → four levels up). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * Where the vendored archive of an upstream chart lives: `vendor/charts/<chart>/<version>/
 * <chart>-<version>.tgz` (DESIGN.md, "Vendored upstream"). The suite finds archives only here.
 */
export function vendoredChartArchive(name: string, version: string, root = REPO): string {
  return join(root, 'vendor', 'charts', name, version, `${name}-${version}.tgz`);
}

// ---------------------------------------------------------------------------------------------
// Helm on PATH

/** CI=true (or 1): a missing Helm fails the Helm suites instead of skipping them. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Whether a Helm suite runs: with `helm` found, or in CI (where each of its tests then fails,
 * saying Helm is missing). Otherwise it is skipped, and `notRun` is printed: a skipped suite
 * says "not run", it never passes.
 */
export function helmSuiteRuns(helm: HelmBinary | undefined, notRun: string): boolean {
  if (helm !== undefined || IN_CI) return true;
  console.log(notRun);
  return false;
}

/**
 * Whether the Helm suite's renders of the committed output run: only where some cluster has a
 * root Application (a definition may turn Argo CD off on every cluster; then nothing in the
 * output is rendered by Argo CD, and nothing by the suite). Otherwise they are skipped, and
 * `notRun` is printed: skipped, never passed.
 */
export function committedOutputRenders(discovery: Discovery, notRun: string): boolean {
  if (discovery.clusters.length > 0) return true;
  console.log(notRun);
  return false;
}

export interface HelmBinary {
  readonly path: string;
  /** What `helm version --template {{.Version}}` prints, e.g. `v3.19.4`. */
  readonly version: string;
}

/** The first executable `helm` on `pathEnv` (the PATH), with its version; `undefined` if none. */
export function findHelm(pathEnv = process.env.PATH ?? ''): HelmBinary | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'helm');
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const version = execFileSync(candidate, ['version', '--template', '{{.Version}}'], {
      encoding: 'utf8',
    }).trim();
    return { path: candidate, version };
  }
  return undefined;
}

export interface HelmResult {
  readonly args: readonly string[];
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs Helm in `cwd` with its config, cache and data folders under `home` (no user repository
 * list, no plugins, no network: every dependency is already in the chart's `charts/`).
 */
export function runHelm(
  helm: HelmBinary,
  args: readonly string[],
  cwd: string,
  home: string,
): HelmResult {
  const result = spawnSync(helm.path, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: join(home, 'no-kubeconfig'),
    },
  });
  if (result.error) throw result.error;
  return {
    args,
    status: result.status ?? 1,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

// ---------------------------------------------------------------------------------------------
// What to render: the Applications of the committed output

type Table = { [key: string]: unknown };

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) node = isTable(node) ? node[key] : undefined;
  return node;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/** One `helm template` of a generated chart for one cluster, as its Application asks for it. */
export interface ChartRender {
  readonly cluster: string;
  /** The Kubernetes version of the cluster (Argo CD passes the live cluster's). */
  readonly kubeVersion: string;
  /** The Application that deploys it (`metadata.name`). */
  readonly application: string;
  /** `spec.source.path`, e.g. `charts/cilium`. */
  readonly path: string;
  /** `helm.releaseName`, else the Application's name (as Argo CD does). */
  readonly releaseName: string;
  /** `helm.namespace`, else `destination.namespace`. */
  readonly namespace: string;
  /** `helm.valueFiles`, relative to the chart. */
  readonly valueFiles: readonly string[];
  /**
   * `helm.apiVersions`: what Argo CD passes Helm instead of the live cluster's API versions
   * (empty: the cluster's, which the suite renders without and then with its CRDs' APIs).
   */
  readonly apiVersions: readonly string[];
}

export interface ClusterApplications {
  readonly cluster: string;
  readonly kubeVersion: string;
  /** The root Application(s) and every Application they deploy. */
  readonly applications: readonly KubeObject[];
}

export interface Discovery {
  readonly clusters: readonly ClusterApplications[];
  readonly renders: readonly ChartRender[];
  /** Applications that deploy no chart of this repository, with the reason. */
  readonly skipped: readonly { readonly application: string; readonly reason: string }[];
}

function applicationsIn(objects: readonly unknown[]): KubeObject[] {
  return objects.filter(
    (object): object is KubeObject =>
      isTable(object) &&
      object.apiVersion === 'argoproj.io/v1alpha1' &&
      object.kind === 'Application',
  );
}

/**
 * Every chart × cluster to render, from the committed output: each cluster's
 * `clusters/<cluster>/root-application.yaml` (the root Application of charts/platform), the
 * Applications that chart holds for the cluster (computed from its value layers), and for each
 * Application that deploys a chart folder of this repository its release name, namespace and
 * value files. The Kubernetes version of each cluster comes from the platform definition.
 */
export function discoverRenders(
  root = REPO,
  definitionFile = join(root, 'apps', 'homelab', 'platform.yaml'),
): Discovery {
  const loaded = loadDefinition(
    readFileSync(definitionFile, 'utf8'),
    definitionFile,
    definitionValidator(composeDefinitionSchema(REGISTRY)),
  );
  if (loaded.definition === undefined) {
    throw new Error(
      `${definitionFile} does not load: ${loaded.issues.map(formatIssue).join('; ')}`,
    );
  }
  const kubeVersions = new Map(
    loaded.definition.clusters.map((cluster) => [cluster.name, cluster.kubernetes.version]),
  );
  const clusters: ClusterApplications[] = [];
  const renders: ChartRender[] = [];
  const skipped: { application: string; reason: string }[] = [];
  const clustersDir = join(root, 'clusters');
  for (const cluster of readdirSync(clustersDir).sort()) {
    const rootFile = join(clustersDir, cluster, 'root-application.yaml');
    if (!existsSync(rootFile)) continue;
    const kubeVersion = kubeVersions.get(cluster);
    if (kubeVersion === undefined) {
      throw new Error(`clusters/${cluster} has no cluster "${cluster}" in ${definitionFile}`);
    }
    const roots = applicationsIn(parseAllDocuments(readFileSync(rootFile, 'utf8')));
    if (roots.length === 0)
      throw new Error(`clusters/${cluster}/root-application.yaml has no Application`);
    const applications: KubeObject[] = [];
    const queue = [...roots];
    const repoURLs = new Set(roots.map((app) => String(at(app, 'spec', 'source', 'repoURL'))));
    while (queue.length > 0) {
      const app = queue.shift() as KubeObject;
      applications.push(app);
      const name = app.metadata.name;
      const source = at(app, 'spec', 'source');
      if (at(app, 'spec', 'sources') !== undefined || !isTable(source)) {
        skipped.push({ application: name, reason: 'has no single spec.source' });
        continue;
      }
      const path = String(source.path ?? '');
      if (!repoURLs.has(String(source.repoURL))) {
        skipped.push({
          application: name,
          reason: `deploys ${String(source.repoURL)} ${path}@${String(source.targetRevision)}, not a chart of this repository`,
        });
        continue;
      }
      if (!existsSync(join(root, path, 'Chart.yaml'))) {
        skipped.push({ application: name, reason: `${path} is not a Helm chart (no Chart.yaml)` });
        continue;
      }
      const helm = isTable(source.helm) ? source.helm : {};
      const valueFiles = strings(helm.valueFiles);
      const render: ChartRender = {
        cluster,
        kubeVersion,
        application: name,
        path,
        releaseName: typeof helm.releaseName === 'string' ? helm.releaseName : name,
        namespace: String(helm.namespace ?? at(app, 'spec', 'destination', 'namespace') ?? ''),
        valueFiles,
        apiVersions: strings(helm.apiVersions),
      };
      renders.push(render);
      // The Applications this chart holds (the app-of-apps): rendered as Argo CD will.
      const rendered = renderChart(readChartDir(join(root, path)), valueFiles);
      queue.push(...applicationsIn(rendered.objects));
    }
    clusters.push({ cluster, kubeVersion, applications });
  }
  return { clusters, renders, skipped };
}

// ---------------------------------------------------------------------------------------------
// The scratch copy of a chart with its vendored dependencies

/** A chart inside a dependency archive (the dependency itself or one nested in it). */
export interface UpstreamChart {
  /** Chart names from the dependency down, e.g. `['argo-cd', 'redis-ha']`. */
  readonly chart: readonly string[];
  /** Its values.schema.json, if it has one. */
  readonly schema?: Table;
  /** Its own values.yaml. */
  readonly defaults: Values;
  /** The http(s) documents the schema `$ref`s (without fragment). */
  readonly remoteRefs: readonly string[];
  /** Folder of the vendored archive it came from (remote documents are looked for there). */
  readonly vendorDir: string;
}

export interface PreparedChart {
  /** The scratch chart folder Helm runs in. */
  readonly dir: string;
  /** `name` in Chart.yaml. */
  readonly name: string;
  readonly dependencies: readonly {
    readonly name: string;
    readonly version: string;
    readonly archive: string;
  }[];
  /** Every chart of the dependencies (nested ones too), parents before children. */
  readonly upstreamCharts: readonly UpstreamChart[];
  /** Helm cannot validate offline (a schema `$ref`s a remote document): the suite does. */
  readonly skipSchemaValidation: boolean;
}

/** Files Argo CD never sees in a chart folder: gitignored leftovers of `helm dependency build`. */
const NOT_IN_GIT = new Set(['node_modules', 'charts', 'Chart.lock']);

function copyTree(from: string, to: string, top: boolean): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (top && NOT_IN_GIT.has(name)) continue;
    if (name === 'node_modules') continue;
    const source = join(from, name);
    const stat = statSync(source);
    if (stat.isDirectory()) copyTree(source, join(to, name), false);
    else if (stat.isFile()) copyFileSync(source, join(to, name));
  }
}

/** The distinct http(s) documents a JSON Schema `$ref`s, without their fragments. */
export function remoteSchemaRefs(schema: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
    } else if (isTable(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && /^https?:\/\//.test(value)) {
          found.add(value.replace(/#.*$/, ''));
        } else {
          walk(value);
        }
      }
    }
  };
  walk(schema);
  return [...found].sort();
}

function chartsOfArchive(
  archive: Buffer,
  parents: readonly string[],
  vendorDir: string,
): UpstreamChart[] {
  const files = readTarGz(archive);
  const top = [...files.keys()][0]?.split('/')[0];
  if (top === undefined) return [];
  const chart = [...parents, top];
  const schemaText = files.get(`${top}/values.schema.json`)?.toString('utf8');
  const schema = schemaText === undefined ? undefined : (JSON.parse(schemaText) as Table);
  const valuesText = files.get(`${top}/values.yaml`)?.toString('utf8') ?? '';
  const out: UpstreamChart[] = [
    {
      chart,
      ...(schema === undefined ? {} : { schema }),
      defaults: (parseYaml(valuesText) ?? {}) as Values,
      remoteRefs: remoteSchemaRefs(schema),
      vendorDir,
    },
  ];
  const nested = new RegExp(`^${top}/charts/[^/]+\\.tgz$`);
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (nested.test(path)) out.push(...chartsOfArchive(bytes, chart, vendorDir));
  }
  return out;
}

/**
 * Copies `<root>/<render.path>` into `scratch` as Argo CD sees it in Git (no node_modules/,
 * charts/ or Chart.lock) and puts each dependency of its Chart.yaml, from vendor/, under
 * `charts/<name>-<version>.tgz` (what `helm dependency build` would put there). Throws when a
 * dependency is not pinned to one version or its archive is not vendored.
 */
export function prepareChart(
  render: ChartRender,
  scratch: string,
  root = REPO,
  vendorRoot = root,
): PreparedChart {
  const dir = join(scratch, `${render.cluster}-${basename(render.path)}`);
  copyTree(join(root, render.path), dir, true);
  const chartYaml = parseYaml(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Table;
  const dependencies: { name: string; version: string; archive: string }[] = [];
  const upstreamCharts: UpstreamChart[] = [];
  for (const dependency of Array.isArray(chartYaml.dependencies) ? chartYaml.dependencies : []) {
    const name = String(at(dependency, 'name'));
    const version = String(at(dependency, 'version'));
    if (!/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(version)) {
      throw new Error(
        `${render.path}/Chart.yaml: dependency ${name} ${version} is not one pinned version`,
      );
    }
    const archive = vendoredChartArchive(name, version, vendorRoot);
    if (!existsSync(archive)) {
      throw new Error(
        `${render.path}/Chart.yaml needs ${name} ${version}, but ${archive.slice(vendorRoot.length + 1)} does not exist (vendor it: homelab vendor sync)`,
      );
    }
    mkdirSync(join(dir, 'charts'), { recursive: true });
    copyFileSync(archive, join(dir, 'charts', basename(archive)));
    dependencies.push({ name, version, archive });
    upstreamCharts.push(...chartsOfArchive(readFileSync(archive), [], dirname(archive)));
  }
  return {
    dir,
    name: String(chartYaml.name),
    dependencies,
    upstreamCharts,
    skipSchemaValidation: upstreamCharts.some((chart) => chart.remoteRefs.length > 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Helm's command lines, as Argo CD v3.4 builds them

/**
 * `helm template` as Argo CD's repo server runs it (util/helm/cmd.go `template`, called from
 * reposerver/repository/repository.go `helmTemplate`): in the chart folder, `.` with
 * `--name-template <release>`, `--namespace`, `--kube-version` of the destination cluster,
 * `--values` per value file, `--include-crds` (Argo CD passes it unless `skipCrds`), and
 * `--skip-schema-validation` only when the suite has to validate a remote-`$ref` schema itself.
 * `--api-versions` for each of the Application's `helm.apiVersions` (Argo CD passes those
 * instead of the cluster's), else for each of `clusterApiVersions`: none renders as on a
 * cluster without optional APIs; the suite's live render passes the APIs of every CRD the
 * cluster's charts install, as Argo CD passes the live cluster's (`GetAPIVersionsOrDefault`).
 */
export function templateArgs(
  render: ChartRender,
  prepared: PreparedChart,
  clusterApiVersions: readonly string[] = [],
): string[] {
  const apiVersions = render.apiVersions.length > 0 ? render.apiVersions : clusterApiVersions;
  return [
    'template',
    '.',
    '--name-template',
    render.releaseName,
    '--namespace',
    render.namespace,
    '--kube-version',
    render.kubeVersion,
    ...render.valueFiles.flatMap((file) => ['--values', join(prepared.dir, file)]),
    ...apiVersions.flatMap((version) => ['--api-versions', version]),
    '--include-crds',
    ...(prepared.skipSchemaValidation ? ['--skip-schema-validation'] : []),
  ];
}

/**
 * The API versions a cluster serves once the CRDs among `objects` are installed, as Argo CD
 * lists a live cluster's (`APIResourcesToStrings` with kinds): `group/version` and
 * `group/version/Kind` of every served version. Helm adds them to its built-in ones.
 */
export function crdApiVersions(objects: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const group = at(object, 'spec', 'group');
    const kind = at(object, 'spec', 'names', 'kind');
    const versions = at(object, 'spec', 'versions');
    if (typeof group !== 'string' || typeof kind !== 'string' || !Array.isArray(versions)) continue;
    for (const version of versions) {
      if (!isTable(version) || typeof version.name !== 'string' || version.served === false)
        continue;
      out.add(`${group}/${version.name}`);
      out.add(`${group}/${version.name}/${kind}`);
    }
  }
  return [...out].sort();
}

/**
 * What a chart renders on the live cluster (`live`: with the cluster's API versions, as Argo CD
 * renders it) that the suite's render without them (`plain`) does not, or renders differently:
 * one line per object (`kind namespace/name (template): only on the cluster` or `differs on the
 * cluster`), and per object only the suite renders. Every check of the suite, and the AppProject
 * that allows exactly the kinds a chart renders, sees the plain render: an object only the live
 * cluster gets is one nothing checked (VolSync's own ServiceMonitor, a kind its AppProject
 * refuses, so the whole sync fails).
 */
export function liveRenderDifferences(
  plain: readonly RenderedDocument[],
  live: readonly RenderedDocument[],
): string[] {
  const key = ({ object }: RenderedDocument) =>
    `${object.kind} ${String(object.metadata.namespace ?? '')}/${object.metadata.name}`;
  const plainByKey = new Map(plain.map((document) => [key(document), document]));
  const liveKeys = new Set(live.map(key));
  const out: string[] = [];
  for (const document of live) {
    const before = plainByKey.get(key(document));
    if (before === undefined)
      out.push(`${key(document)} (${document.source}): only on the cluster`);
    else if (JSON.stringify(before.object) !== JSON.stringify(document.object)) {
      out.push(`${key(document)} (${document.source}): differs on the cluster`);
    }
  }
  for (const document of plain) {
    if (!liveKeys.has(key(document))) {
      out.push(`${key(document)} (${document.source}): not on the cluster`);
    }
  }
  return out;
}

/** `helm lint --strict` with the same values, namespace and Kubernetes version. */
export function lintArgs(render: ChartRender, prepared: PreparedChart): string[] {
  return [
    'lint',
    '.',
    '--strict',
    '--namespace',
    render.namespace,
    '--kube-version',
    render.kubeVersion,
    ...render.valueFiles.flatMap((file) => ['--values', join(prepared.dir, file)]),
    ...(prepared.skipSchemaValidation ? ['--skip-schema-validation'] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// Helm's output

/** One document of `helm template` output and the template it came from. */
export interface RenderedDocument {
  /** The `# Source:` line, e.g. `cilium/charts/cilium/templates/cilium-agent/daemonset.yaml`. */
  readonly source: string;
  readonly object: KubeObject;
}

/**
 * Parses `helm template` output as Kubernetes reads manifests: YAML 1.1 scalars (sigs.k8s.io/yaml
 * uses go-yaml v2: `yes`/`on` are booleans), timestamps kept as strings (go-yaml v2 decodes them
 * into strings for an untyped target). Empty documents are skipped; anything else that is not an
 * object with apiVersion, kind and metadata.name is an error.
 */
export function splitHelmOutput(stdout: string): RenderedDocument[] {
  const out: RenderedDocument[] = [];
  // Helm prints every document of a template as `---`, `# Source: <template>`, the object, but
  // each file of a chart's crds/ (--include-crds) once, as it is: `---`, `# Source: <file>`, then
  // every document of the file. A document without its own `# Source:` is the previous one's.
  let previous = '';
  for (const chunk of stdout.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim() ?? previous;
    previous = source;
    const documents = parseYamlStream(chunk, {
      version: '1.1',
      merge: true,
      customTags: (tags) =>
        tags.filter((tag) =>
          typeof tag === 'string' ? tag !== 'timestamp' : tag.tag !== 'tag:yaml.org,2002:timestamp',
        ),
    });
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      if (!isDocument(document)) continue;
      if (document.errors.length > 0) {
        throw new Error(
          `helm output from ${source || 'an unknown template'} is not YAML: ${document.errors[0]?.message}`,
        );
      }
      const object = document.toJS() as unknown;
      if (object === null || object === undefined) continue;
      if (
        !isTable(object) ||
        typeof object.apiVersion !== 'string' ||
        typeof object.kind !== 'string' ||
        typeof at(object, 'metadata', 'name') !== 'string'
      ) {
        throw new Error(
          `helm output from ${source || 'an unknown template'} is not a Kubernetes object`,
        );
      }
      out.push({ source, object: object as KubeObject });
    }
  }
  return out;
}

/**
 * What is wrong with where the objects of a render came from, by the `# Source:` Helm prints:
 * the wrapper's own template (`<chart>/templates/manifests.yaml`) must give exactly `manifests`
 * objects, the `manifests` the TypeScript merge computes for the render (none where the chart
 * has none on this cluster); each upstream dependency (`<chart>/charts/<dependency>/…`) at least
 * one (an upstream chart always deploys something, so none means Helm did not render it); and
 * no object may come from anywhere else. A chart that legitimately renders nothing (no
 * dependency, no `manifests` on this cluster) passes with no object; Helm rendering nothing for
 * a chart that should render objects does not.
 */
export function renderedSourceProblems(
  documents: readonly RenderedDocument[],
  chart: { readonly name: string; readonly dependencies: readonly { readonly name: string }[] },
  manifests: number,
): string[] {
  const problems: string[] = [];
  const own = `${chart.name}/templates/manifests.yaml`;
  const fromManifests = documents.filter(({ source }) => source === own).length;
  if (fromManifests !== manifests) {
    problems.push(
      `${own}: Helm rendered ${fromManifests} object(s), the TypeScript merge computes ${manifests}`,
    );
  }
  const prefixes = chart.dependencies.map(({ name }) => `${chart.name}/charts/${name}/`);
  for (const prefix of prefixes) {
    if (!documents.some(({ source }) => source.startsWith(prefix))) {
      problems.push(`${prefix}: Helm rendered no object of this dependency`);
    }
  }
  for (const { source, object } of documents) {
    if (source === own || prefixes.some((prefix) => source.startsWith(prefix))) continue;
    problems.push(
      `${object.kind}/${object.metadata.name} from ${source || 'no template'}: neither the chart's manifests nor a dependency`,
    );
  }
  return problems;
}

/** Helm's `coalesce.go` / `lint` warnings on stderr, one per line. */
export function helmWarnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

const NULL_OVER_TABLE =
  /^coalesce\.go:\d+: warning: cannot overwrite table with non table for (\S+) \(/;

/**
 * The Helm warnings of a render that are not explained. One is: Helm 3 prints "cannot overwrite
 * table with non table for <chart>.<subchart>.<key>" when a value file sets a subchart's table
 * default to `null` to remove it, because it coalesces the parent's values into the subchart's
 * with merge semantics first; the subchart's own coalescing then removes the key as asked
 * (helm/helm#31118: "the end result is as expected"). Such a warning is explained when the
 * merged values (`values`, the chart's own values with the Application's value files) hold
 * `null` at that key. Any other warning (a list or a scalar where the upstream has a table, a
 * lint remark) is returned.
 */
export function unexplainedHelmWarnings(
  stderr: string,
  chartName: string,
  values: Table,
): string[] {
  return helmWarnings(stderr).filter((line) => {
    const key = NULL_OVER_TABLE.exec(line)?.[1];
    if (key === undefined || !key.startsWith(`${chartName}.`)) return true;
    let node: unknown = values;
    const path = key.slice(chartName.length + 1).split('.');
    for (const [index, segment] of path.entries()) {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return true;
      if (!Object.hasOwn(node, segment)) return true;
      node = (node as Table)[segment];
      if (index === path.length - 1) return node !== null;
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// (a) values against upstream schemas Helm cannot resolve offline

function ajvFor(schema: Table): Ajv | Ajv2019 | Ajv2020 {
  const options = { allErrors: true, strict: false, validateFormats: false } as const;
  const dialect = String(schema.$schema ?? '');
  if (dialect.includes('2020-12')) return new Ajv2020(options);
  if (dialect.includes('2019-09')) return new Ajv2019(options);
  return new Ajv(options);
}

/**
 * Problems of `values` against `schema` whose remote `$ref`s resolve to the vendored copies
 * `documents` (URL without fragment → parsed document). A remote document missing from
 * `documents` is a problem of its own.
 */
export function schemaProblems(
  schema: Table,
  values: Values,
  documents: ReadonlyMap<string, unknown>,
): string[] {
  const missing = remoteSchemaRefs(schema).filter((url) => !documents.has(url));
  if (missing.length > 0) return missing.map((url) => `$ref ${url} is not vendored`);
  const ajv = ajvFor(schema);
  for (const [url, document] of documents) ajv.addSchema(document as AnySchema, url);
  const validate = ajv.compile(schema);
  if (validate(values)) return [];
  return (validate.errors ?? []).map(
    (problem) => `${problem.instancePath || '(root)'} ${problem.message ?? problem.keyword}`,
  );
}

/** The vendored copies of a chart's remote documents: files named like the URL, beside the archive. */
export function vendoredRemoteDocuments(chart: UpstreamChart): Map<string, unknown> {
  const documents = new Map<string, unknown>();
  for (const url of chart.remoteRefs) {
    const file = join(chart.vendorDir, basename(new URL(url).pathname));
    if (existsSync(file)) documents.set(url, JSON.parse(readFileSync(file, 'utf8')));
  }
  return documents;
}

/**
 * The values each upstream chart sees, from the wrapper chart's coalesced values (Helm's
 * coalescing: a parent's values under the subchart's name over the subchart's values.yaml, the
 * parent's `global` passed down). `charts` lists parents before children.
 */
export function upstreamValues(
  wrapper: Values,
  charts: readonly UpstreamChart[],
): Map<string, Values> {
  const byPath = new Map<string, Values>();
  for (const chart of charts) {
    const parent =
      chart.chart.length === 1 ? wrapper : byPath.get(chart.chart.slice(0, -1).join('/'));
    if (parent === undefined)
      throw new Error(`${chart.chart.join('/')}: its parent chart is not listed before it`);
    const name = chart.chart[chart.chart.length - 1] as string;
    const values = mergeValues(
      chart.defaults,
      isTable(parent[name]) ? (parent[name] as Values) : {},
    );
    if (isTable(parent.global)) {
      values.global = mergeValues(
        isTable(values.global) ? (values.global as Values) : {},
        parent.global as Values,
      );
    }
    byPath.set(chart.chart.join('/'), values);
  }
  return byPath;
}

/**
 * What Helm would say of the upstream charts' values.schema.json when it cannot validate them
 * offline (a remote `$ref`): every upstream schema checked with ajv against the values its chart
 * sees, remote documents read from their vendored copies. One line per problem.
 */
export function upstreamSchemaProblems(
  wrapper: Values,
  charts: readonly UpstreamChart[],
): string[] {
  const values = upstreamValues(wrapper, charts);
  return charts.flatMap((chart) =>
    chart.schema === undefined
      ? []
      : schemaProblems(
          chart.schema,
          values.get(chart.chart.join('/')) ?? {},
          vendoredRemoteDocuments(chart),
        ).map((problem) => `${chart.chart.join('/')} values.schema.json: ${problem}`),
  );
}

// ---------------------------------------------------------------------------------------------
// (c) Pod Security

export interface NamespacePolicy {
  readonly level: PodSecurityLevel;
  readonly version: string;
  /** Who sets the labels: `Application dev-cilium` or `Namespace cilium-secrets`. */
  readonly setBy: string;
}

/**
 * The namespace Talos' default PodSecurity configuration exempts (talos-config's
 * `TALOS_DEFAULT_EXEMPT_NAMESPACES`, which its patch leaves out: Talos merges its own list with the
 * patch's).
 */
const TALOS_EXEMPT_BY_DEFAULT: readonly string[] = ['kube-system'];

/**
 * The namespaces a cluster's Pod Security admission exempts: Talos' own default
 * (`TALOS_EXEMPT_BY_DEFAULT`) and the
 * `exemptions.namespaces` of the PodSecurity configuration in the cluster's committed
 * control-plane patch (`clusters/<cluster>/talos/controlplane.yaml`).
 */
export function podSecurityExemptions(cluster: string, root = REPO): string[] {
  const out = new Set<string>(TALOS_EXEMPT_BY_DEFAULT);
  const file = join(root, 'clusters', cluster, 'talos', 'controlplane.yaml');
  if (!existsSync(file)) return [...out];
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const plugins = at(document, 'cluster', 'apiServer', 'admissionControl');
    for (const plugin of Array.isArray(plugins) ? plugins : []) {
      if (at(plugin, 'name') !== 'PodSecurity') continue;
      for (const namespace of strings(at(plugin, 'configuration', 'exemptions', 'namespaces'))) {
        out.add(namespace);
      }
    }
  }
  return [...out].sort();
}

/**
 * The enforced Pod Security level of each namespace of a cluster, from the labels Argo CD puts
 * on it (`syncPolicy.managedNamespaceMetadata.labels` of an Application with
 * `CreateNamespace=true`) and from Namespace objects the charts render; a namespace the admission
 * configuration exempts (`exempt`, `podSecurityExemptions`) is privileged whatever its labels (the
 * plugin skips it). Two different policies for one namespace, or a label value the admission
 * plugin refuses, are problems.
 */
export function namespacePolicies(
  applications: readonly KubeObject[],
  namespaces: readonly KubeObject[],
  exempt: readonly string[] = [],
): { policies: Map<string, NamespacePolicy>; problems: string[] } {
  const policies = new Map<string, NamespacePolicy>();
  const problems: string[] = [];
  const add = (namespace: string, labels: unknown, setBy: string): void => {
    const policy = enforcedPodSecurity(isTable(labels) ? labels : undefined);
    if (policy === undefined) return;
    problems.push(...policy.problems.map((problem) => `${setBy}: ${problem}`));
    const previous = policies.get(namespace);
    if (
      previous !== undefined &&
      (previous.level !== policy.level || previous.version !== policy.version)
    ) {
      problems.push(
        `namespace ${namespace}: ${setBy} enforces ${policy.level}:${policy.version}, ${previous.setBy} ${previous.level}:${previous.version}`,
      );
      return;
    }
    if (previous === undefined)
      policies.set(namespace, { level: policy.level, version: policy.version, setBy });
  };
  for (const app of applications) {
    const syncOptions = strings(at(app, 'spec', 'syncPolicy', 'syncOptions'));
    if (!syncOptions.includes('CreateNamespace=true')) continue;
    const namespace = at(app, 'spec', 'destination', 'namespace');
    if (typeof namespace !== 'string') continue;
    add(
      namespace,
      at(app, 'spec', 'syncPolicy', 'managedNamespaceMetadata', 'labels'),
      `Application ${app.metadata.name}`,
    );
  }
  for (const object of namespaces) {
    if (object.apiVersion === 'v1' && object.kind === 'Namespace') {
      add(object.metadata.name, object.metadata.labels, `Namespace ${object.metadata.name}`);
    }
  }
  for (const namespace of exempt) {
    policies.set(namespace, {
      level: 'privileged',
      version: 'latest',
      setBy: "the API server's PodSecurity admission configuration (exempt)",
    });
  }
  return { policies, problems };
}

/** Helm hooks Argo CD never runs (gitops-engine pkg/sync/hook/helm: only the install and upgrade hooks map to sync phases). */
export function neverRunByArgoCd(object: KubeObject): boolean {
  const annotations = object.metadata.annotations ?? {};
  if (annotations['argocd.argoproj.io/hook'] !== undefined)
    return annotations['argocd.argoproj.io/hook'] === 'Skip';
  const types = helmHookTypes(object);
  if (types.length === 0 || (types.length === 1 && types[0] === 'crd-install')) return false;
  const runs = new Set(['pre-install', 'pre-upgrade', 'post-upgrade', 'post-install']);
  return !types.some((type) => runs.has(type));
}

/** The types of an object's `helm.sh/hook` annotation (none when it is no Helm hook). */
function helmHookTypes(object: KubeObject): string[] {
  const hook = object.metadata.annotations?.['helm.sh/hook'];
  return hook === undefined ? [] : hook.split(',').map((type) => type.trim());
}

/**
 * The structural schemas of the CRDs a cluster gets, by `<group>/<version>/<kind>`: those Helm
 * rendered for it (`documents`) and those of its CRD bundle Applications (a repository other than
 * the platform's, pinned to a tag), read from `vendor/crds/<repository name>/<revision>/`, the
 * vendored copy of that tag.
 */
export function clusterCrdSchemas(
  applications: readonly KubeObject[],
  documents: readonly KubeObject[],
  root = REPO,
): Map<string, StructuralSchema> {
  const out = new Map<string, StructuralSchema>();
  const add = (object: unknown) => {
    for (const [key, schema] of crdSchemas(object)) out.set(key, schema);
  };
  for (const application of applications) {
    for (const object of crdBundleObjects(application, root) ?? []) add(object);
  }
  for (const object of documents) add(object);
  return out;
}

/**
 * The objects of a CRD bundle Application (a repository other than the platform's, pinned to a
 * tag): every YAML file of `vendor/crds/<repository name>/<revision>/`, the vendored copy of that
 * tag, in name order (the whole tag's bundle: an Application taking part of it gets no more).
 * `undefined` for an Application whose source has no vendored copy.
 */
export function crdBundleObjects(application: KubeObject, root = REPO): unknown[] | undefined {
  const source = isTable(application.spec) ? application.spec.source : undefined;
  if (!isTable(source) || typeof source.repoURL !== 'string') return undefined;
  const dir = join(
    root,
    'vendor',
    'crds',
    basename(source.repoURL).replace(/\.git$/, ''),
    String(source.targetRevision),
  );
  if (!existsSync(dir)) return undefined;
  const yamlFiles = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .flatMap((entry) =>
        entry.isDirectory()
          ? yamlFiles(join(folder, entry.name))
          : entry.name.endsWith('.yaml')
            ? [join(folder, entry.name)]
            : [],
      );
  return yamlFiles(dir).flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')));
}

/**
 * Custom resources Argo CD would show OutOfSync after every sync: a field the API server fills
 * in from the CRD's `default` inside a list the manifest sets (`defaultsInsideLists`), which
 * Argo CD's prediction of the live object drops (it replaces a list whole: a JSON merge patch
 * client-side, an atomic list server-side). Hooks are left out (Argo CD does not compare them),
 * and so are kinds without a schema here (their CRD is made at run time: Gatekeeper's
 * constraints, Cilium's policies). One line per field.
 */
export function listDefaultProblems(
  objects: readonly KubeObject[],
  schemas: ReadonlyMap<string, StructuralSchema>,
): string[] {
  const out: string[] = [];
  for (const object of objects) {
    const annotations = object.metadata.annotations ?? {};
    if (annotations['argocd.argoproj.io/hook'] !== undefined) continue;
    if (helmHookTypes(object).some((type) => type !== 'crd-install')) continue;
    const [group, version] = object.apiVersion.includes('/')
      ? object.apiVersion.split('/')
      : ['', object.apiVersion];
    const schema = schemas.get(`${group}/${version}/${object.kind}`);
    if (schema === undefined) continue;
    const name = object.metadata.namespace
      ? `${object.metadata.namespace}/${object.metadata.name}`
      : object.metadata.name;
    for (const field of defaultsInsideLists(object, schema)) {
      out.push(
        `${object.kind} ${name}: ${field.path} is left out, and the API server sets it to ${JSON.stringify(field.value)} (the CRD's default): Argo CD compares the list whole and shows ${object.kind} ${name} OutOfSync after every sync`,
      );
    }
  }
  return out;
}

/** What a render holds that a client-side apply could not store (`oversizedClientSideApplies`). */
export interface ClientSideApplyResult {
  /** Objects too large for a client-side apply that the Application applies server-side. */
  readonly serverSideOnly: readonly string[];
  /** One line per object too large for the way its Application applies it. */
  readonly problems: readonly string[];
}

/**
 * Every object of `documents` that `application` deploys (Helm test hooks left out) whose
 * annotations would exceed the API server's limit once Argo CD's tracking id and kubectl's
 * last-applied copy are added: fine where the Application or the object asks for a server-side
 * apply (or a replace), a problem otherwise.
 */
export function clientSideApplyOf(
  application: KubeObject,
  documents: readonly RenderedDocument[],
  namespace: string,
): ClientSideApplyResult {
  const objects = documents.map(({ object }) => object).filter((o) => !neverRunByArgoCd(o));
  // Sized as if applied client-side, then sorted by how the Application applies them.
  const asClientSide = { ...application, spec: {} } as KubeObject;
  const serverSideOnly: string[] = [];
  const problems: string[] = [];
  for (const { object, bytes } of oversizedClientSideApplies(asClientSide, objects, namespace)) {
    const line = `${object.kind}/${object.metadata.name}: ${bytes} bytes of annotations applied client-side (limit ${ANNOTATIONS_LIMIT_BYTES})`;
    if (appliedWithoutLastApplied(application, object)) serverSideOnly.push(line);
    else problems.push(`${line}, and ${application.metadata.name} applies it client-side`);
  }
  return { serverSideOnly, problems };
}

/**
 * Helm hooks that only an upgrade runs under Helm but Argo CD runs on the first sync too: Argo CD
 * maps `pre-install` and `pre-upgrade` alike to PreSync (gitops-engine pkg/sync/hook/helm), so a
 * `pre-upgrade` hook without `pre-install` (an upgrade checker such as Longhorn's pre-upgrade
 * Job) runs before anything of the chart exists, on every sync, and blocks it when it fails. An
 * Argo CD hook annotation on the object replaces Helm's. One line per such object.
 */
export function upgradeOnlyPreSyncHooks(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  for (const object of objects) {
    if (object.metadata.annotations?.['argocd.argoproj.io/hook'] !== undefined) continue;
    const types = helmHookTypes(object);
    if (types.includes('pre-upgrade') && !types.includes('pre-install')) {
      out.push(
        `${object.kind}/${object.metadata.name}: helm.sh/hook ${types.join(',')} runs as an Argo CD PreSync hook on every sync, the first one included, where Helm runs it only on upgrades`,
      );
    }
  }
  return out;
}

/**
 * Objects Argo CD v3.4.4 runs as deletion hooks (controller/hook.go: `argocd.argoproj.io/hook`
 * PreDelete or PostDelete, or `helm.sh/hook` pre-delete or post-delete). Rendered in an
 * Application, each makes Argo CD put its own pre- or post-delete finalizer on it and run the hook
 * when the Application is deleted. One line per such object.
 */
export function deletionHooks(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  for (const object of objects) {
    const argocd = (object.metadata.annotations?.['argocd.argoproj.io/hook'] ?? '')
      .split(',')
      .map((type) => type.trim());
    const types = [
      ...argocd.filter((type) => type === 'PreDelete' || type === 'PostDelete'),
      ...helmHookTypes(object).filter((type) => type === 'pre-delete' || type === 'post-delete'),
    ];
    if (types.length > 0) out.push(`${object.kind}/${object.metadata.name}: ${types.join(',')}`);
  }
  return out;
}

/**
 * The deletion hooks (`deletionHooks`) of an Application that lists finalizers of its own: Argo CD
 * v3.4 adds its pre-/post-delete finalizers to such an Application (controller/appcontroller.go),
 * and the root Application, which applies it client-side, replaces `metadata.finalizers` whole (a
 * JSON merge patch): the child is OutOfSync in the root after every refresh, and self-heal strips
 * Argo CD's finalizers again (argoproj/argo-cd#27533, #17433). A critical Application lists no
 * finalizer, so its hooks differ nothing (they are its runbook's business). One line per hook.
 */
export function finalizerDiffHooks(
  application: KubeObject,
  objects: readonly KubeObject[],
): string[] {
  const finalizers = application.metadata.finalizers;
  if (!Array.isArray(finalizers) || finalizers.length === 0) return [];
  return deletionHooks(objects).map(
    (hook) =>
      `${hook}: Argo CD adds its deletion-hook finalizers to ${application.metadata.name}, whose finalizers the root lists (${finalizers.map(String).join(', ')}): the root shows it OutOfSync forever`,
  );
}

/** `machine.features.hostDNS.forwardKubeDNSToHost` as the documents of one Talos patch set it. */
function forwardsKubeDnsToHost(documents: readonly unknown[]): boolean | undefined {
  let value: boolean | undefined;
  for (const document of documents) {
    if (!isTable(document) || document.kind !== undefined) continue; // multi-doc config documents
    const machine = isTable(document.machine) ? document.machine : {};
    const features = isTable(machine.features) ? machine.features : {};
    const hostDns = isTable(features.hostDNS) ? features.hostDNS : {};
    if (typeof hostDns.forwardKubeDNSToHost === 'boolean') value = hostDns.forwardKubeDNSToHost;
  }
  return value;
}

/**
 * Talos' "forwarding kube-dns to host DNS" (on by default for clusters made by Talos 1.8 and
 * later) and Cilium's eBPF host routing do not work together: pods' DNS queries to the host
 * resolver time out (siderolabs/talos#10002, cilium/cilium#36737; Cilium's Talos install guide:
 * with `kubeProxyReplacement` and `bpf.masquerade`, set `bpf.hostLegacyRouting`). `cilium` is the
 * data of the `cilium-config` ConfigMap Helm rendered (the chart's defaults applied); `patches`
 * the Talos patches of the cluster by file name (`controlplane.yaml`, `worker.yaml`,
 * `nodes/<node>.yaml`), each a list of documents. The conflict, in words, or undefined.
 */
export function hostDnsRoutingConflict(
  cilium: { readonly [key: string]: unknown },
  patches: ReadonlyMap<string, readonly unknown[]>,
): string | undefined {
  const ebpfHostRouting =
    cilium['kube-proxy-replacement'] === 'true' &&
    cilium['enable-bpf-masquerade'] === 'true' &&
    cilium['enable-host-legacy-routing'] !== 'true';
  if (!ebpfHostRouting) return undefined;
  // Each node is its role patch, then its own patch (Talos' default: forwarding on). A role patch
  // that leaves forwarding on counts even where node patches turn it off: conservative.
  const forwarding = [...patches]
    .filter(
      ([file]) =>
        file === 'controlplane.yaml' || file === 'worker.yaml' || file.startsWith('nodes/'),
    )
    .filter(([file, documents]) =>
      file.startsWith('nodes/')
        ? forwardsKubeDnsToHost(documents) === true
        : forwardsKubeDnsToHost(documents) !== false,
    )
    .map(([file]) => file);
  if (forwarding.length === 0) return undefined;
  return `Cilium routes with eBPF host routing (kube-proxy-replacement, enable-bpf-masquerade true, enable-host-legacy-routing not true) while Talos forwards kube-dns to the host resolver (${forwarding.join(', ')}): pods' DNS queries would time out; set bpf.hostLegacyRouting: true or machine.features.hostDNS.forwardKubeDNSToHost: false`;
}

/**
 * Gatekeeper runs a ConstraintTemplate's `K8sNativeValidation` (CEL) code only where its
 * controller and its audit start with `--enable-k8s-native-validation=true`, a flag read once at
 * start-up: otherwise the templates never compile and their constraints admit everything. Among
 * `objects` (everything Helm rendered on a cluster), the Gatekeeper Deployments (image
 * `openpolicyagent/gatekeeper`) must carry the flag, true, wherever a template uses that engine.
 * One line per problem.
 */
export function gatekeeperEngineProblems(objects: readonly KubeObject[]): string[] {
  const celTemplates = objects.filter(
    (object) =>
      object.kind === 'ConstraintTemplate' &&
      JSON.stringify((object as { spec?: unknown }).spec ?? {}).includes(
        '"engine":"K8sNativeValidation"',
      ),
  );
  if (celTemplates.length === 0) return [];
  const problems: string[] = [];
  const deployments = objects.filter((object) => object.kind === 'Deployment');
  let gatekeepers = 0;
  for (const deployment of deployments) {
    const pod = podTemplateOf(deployment);
    const containers = (pod?.spec?.containers ?? []) as { image?: string; args?: string[] }[];
    for (const container of containers) {
      if (!/(^|\/)openpolicyagent\/gatekeeper(:|@|$)/.test(container.image ?? '')) continue;
      gatekeepers++;
      const flag = (container.args ?? []).find((arg) =>
        arg.startsWith('--enable-k8s-native-validation'),
      );
      if (
        flag === '--enable-k8s-native-validation=true' ||
        flag === '--enable-k8s-native-validation'
      )
        continue;
      problems.push(
        `Deployment ${deployment.metadata.name} runs Gatekeeper with ${flag ?? 'no --enable-k8s-native-validation'}, while ${celTemplates.length} ConstraintTemplates use the K8sNativeValidation engine: they would never compile`,
      );
    }
  }
  if (gatekeepers === 0)
    problems.push(
      `${celTemplates.length} ConstraintTemplates, but no Gatekeeper Deployment to run them`,
    );
  return problems;
}

export interface PodSecurityResult {
  /** Pod templates evaluated. */
  readonly checked: number;
  /** Objects left out because Argo CD never creates them (Helm test hooks). */
  readonly notDeployed: readonly string[];
  /** One line per object that the namespace's level refuses, or whose namespace has no level. */
  readonly violations: readonly string[];
}

/** Every pod template among `documents` against the enforced level of its namespace. */
export function podSecurityOf(
  documents: readonly RenderedDocument[],
  defaultNamespace: string,
  policies: ReadonlyMap<string, NamespacePolicy>,
): PodSecurityResult {
  let checked = 0;
  const notDeployed: string[] = [];
  const violations: string[] = [];
  for (const { source, object } of documents) {
    const template = podTemplateOf(object);
    if (template === undefined) continue;
    const name = `${object.kind} ${object.metadata.namespace ?? defaultNamespace}/${object.metadata.name} (${source})`;
    if (neverRunByArgoCd(object)) {
      notDeployed.push(name);
      continue;
    }
    checked++;
    const namespace = object.metadata.namespace ?? defaultNamespace;
    const policy = policies.get(namespace);
    if (policy === undefined) {
      violations.push(
        `${name}: namespace ${namespace} has no enforced Pod Security level (no Application labels it)`,
      );
      continue;
    }
    const found = podSecurityViolations(
      template.spec,
      policy.level,
      policy.version,
      template.metadata,
    );
    if (found.length > 0) {
      violations.push(
        `${name}: violates PodSecurity "${policy.level}:${policy.version}" (set by ${policy.setBy}): ${found.map((v) => v.message).join(', ')}`,
      );
    }
  }
  return { checked, notDeployed, violations };
}

// ---------------------------------------------------------------------------------------------
// (d) Helm's manifests against the TypeScript merge

/** The first path where two parsed values differ, or `undefined` when they are equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path || '(root)'}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (isTable(a) && isTable(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const found = firstDifference(a[key], b[key], path === '' ? key : `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return Object.is(a, b)
    ? undefined
    : `${path || '(root)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/**
 * Differences between the objects Helm rendered from `templates/manifests.yaml` and those the
 * TypeScript merge computes (`renderChart`), keyed by object identity: missing, extra, or the
 * first differing field (Helm's value first).
 */
export function manifestDifferences(
  helm: readonly KubeObject[],
  ours: readonly KubeObject[],
): string[] {
  const byIdentity = (objects: readonly KubeObject[]) =>
    new Map(objects.map((object) => [objectIdentity(object), object]));
  const helmObjects = byIdentity(helm);
  const ourObjects = byIdentity(ours);
  const problems: string[] = [];
  if (helmObjects.size !== helm.length) problems.push('Helm rendered an object twice');
  for (const [identity, object] of ourObjects) {
    const rendered = helmObjects.get(identity);
    if (rendered === undefined) {
      problems.push(`${identity}: computed but not rendered by Helm`);
      continue;
    }
    const difference = firstDifference(rendered, object);
    if (difference !== undefined) problems.push(`${identity}: ${difference}`);
  }
  for (const identity of helmObjects.keys()) {
    if (!ourObjects.has(identity)) problems.push(`${identity}: rendered by Helm but not computed`);
  }
  return problems;
}

/** A pod template Helm rendered: its namespace, labels and container ports. */
export interface RenderedPod {
  readonly workload: string;
  readonly namespace: string;
  readonly labels: { readonly [key: string]: string };
  /** Container ports; `endPort` for a range a process picks its ports from at run time. */
  readonly ports: readonly {
    readonly port: number;
    readonly endPort?: number;
    readonly protocol: string;
    /** The container port's name, which a Service's `targetPort` may name. */
    readonly name?: string;
  }[];
  /** On the node's network (`hostNetwork: true`): no Cilium endpoint, no policy applies. */
  readonly hostNetwork?: true;
}

type PodPort = { readonly port: number; readonly endPort?: number; readonly protocol: string };

const tcp = (port: number, endPort?: number): PodPort =>
  endPort === undefined ? { port, protocol: 'TCP' } : { port, endPort, protocol: 'TCP' };

/**
 * The labels longhorn-manager 1.8.1 puts on its own pod once its webhooks serve (the selectors of
 * the chart's `longhorn-conversion-webhook`, `longhorn-admission-webhook` and
 * `longhorn-recovery-backend` Services): `app/daemon.go` after `StartWebhook` (conversion, then
 * admission), `controller/node_controller.go` (admission and recovery backend), values of
 * `types.GetConversionWebhookLabel`, `GetAdmissionWebhookLabel`, `GetRecoveryBackendLabel`.
 */
const LONGHORN_MANAGER_OWN_LABELS: { readonly [key: string]: string } = {
  'longhorn.io/conversion-webhook': 'longhorn-conversion-webhook',
  'longhorn.io/admission-webhook': 'longhorn-admission-webhook',
  'longhorn.io/recovery-backend': 'longhorn-recovery-backend',
};

/**
 * The pods longhorn-manager 1.8.1 creates at run time once Helm renders its DaemonSet (never
 * Helm's own templates), with their labels and the ports their processes listen on, from the
 * longhorn-manager and longhorn-instance-manager sources at v1.8.1: the instance managers (gRPC
 * 8500–8503 engineapi.InstanceManager*DefaultPort, the engines' iSCSI target 3260, the engine and
 * replica process range 10000–20000 of `--port-range`), the share managers (NFS 2049, gRPC 9600),
 * the backing image pods (8000, sync 8001), the CSI plugin (liveness 9808) and sidecars (metrics
 * 8000, types.CSISidecarMetricsPort), support-bundle-kit's manager (8080) and agents.
 */
const LONGHORN_RUNTIME_PODS: readonly {
  readonly labels: { [key: string]: string };
  readonly ports: readonly PodPort[];
}[] = [
  {
    labels: { 'longhorn.io/component': 'instance-manager' },
    ports: [tcp(8500, 8503), tcp(3260), tcp(10000, 20000)],
  },
  { labels: { 'longhorn.io/component': 'share-manager' }, ports: [tcp(2049), tcp(9600)] },
  { labels: { 'longhorn.io/component': 'backing-image-manager' }, ports: [tcp(8000), tcp(8001)] },
  {
    labels: { 'longhorn.io/component': 'backing-image-data-source' },
    ports: [tcp(8000), tcp(8001)],
  },
  { labels: { app: 'longhorn-csi-plugin' }, ports: [tcp(9808)] },
  ...['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter'].map((app) => ({
    labels: { app },
    ports: [tcp(8000)],
  })),
  { labels: { app: 'support-bundle-manager' }, ports: [tcp(8080)] },
  { labels: { app: 'support-bundle-agent' }, ports: [] },
];

/**
 * Pods a controller makes at run time from an object Helm renders: Longhorn's (above) from its
 * manager DaemonSet, a recurring job's CronJob pods from a `RecurringJob` (types.GetCronJobLabels),
 * VolSync's restic movers from a ReplicationSource or ReplicationDestination (its mover Jobs label
 * their pods `app.kubernetes.io/created-by: volsync`).
 */
function controllerPods(
  object: { kind: string; apiVersion: string; metadata: { name: string; namespace?: string } },
  namespace: string,
): RenderedPod[] {
  const where = object.metadata.namespace ?? namespace;
  if (object.apiVersion === 'apps/v1' && object.kind === 'DaemonSet') {
    if (object.metadata.name !== 'longhorn-manager') return [];
    return LONGHORN_RUNTIME_PODS.map((pod) => ({
      workload: `${Object.values(pod.labels).join(',')} (pods of longhorn-manager)`,
      namespace: where,
      labels: { ...pod.labels },
      ports: pod.ports,
    }));
  }
  if (object.apiVersion.startsWith('longhorn.io/') && object.kind === 'RecurringJob') {
    return [
      {
        workload: `RecurringJob/${object.metadata.name} (CronJob pods of longhorn-manager)`,
        namespace: where,
        labels: {
          'longhorn.io/managed-by': 'longhorn-manager',
          'recurring-job.longhorn.io': object.metadata.name,
        },
        ports: [],
      },
    ];
  }
  if (
    object.apiVersion === 'volsync.backube/v1alpha1' &&
    (object.kind === 'ReplicationSource' || object.kind === 'ReplicationDestination')
  ) {
    return [
      {
        workload: `${object.kind}/${object.metadata.name} (mover pods of VolSync)`,
        namespace: where,
        labels: { 'app.kubernetes.io/created-by': 'volsync' },
        ports: [],
      },
    ];
  }
  return [];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

/**
 * The pods prometheus-operator makes from the custom resources Helm renders (never Helm's own
 * templates): the labels kube-prometheus-stack's Services select them by, and the ports of the
 * operator's containers (web, the config reloader; Alertmanager's cluster mesh).
 */
const OPERATOR_PODS: {
  readonly [kind: string]: {
    readonly labels: (name: string) => { [key: string]: string };
    readonly ports: (portName: string) => readonly {
      readonly port: number;
      readonly protocol: string;
      readonly name: string;
    }[];
  };
} = {
  // prometheus-operator v0.93.1: pkg/prometheus/common.go MakeContainerPorts (`spec.portName`,
  // default `web`), pkg/operator/config_reloader.go (the config-reloader's `reloader-web`, 8080).
  Prometheus: {
    labels: (name) => ({
      'app.kubernetes.io/name': 'prometheus',
      'operator.prometheus.io/name': name,
    }),
    ports: (portName) => [
      { port: 9090, protocol: 'TCP', name: portName },
      { port: 8080, protocol: 'TCP', name: 'reloader-web' },
    ],
  },
  // pkg/alertmanager/statefulset.go (`spec.portName`, default `web`; `mesh-tcp`, `mesh-udp`).
  Alertmanager: {
    labels: (name) => ({ 'app.kubernetes.io/name': 'alertmanager', alertmanager: name }),
    ports: (portName) => [
      { port: 9093, protocol: 'TCP', name: portName },
      { port: 9094, protocol: 'TCP', name: 'mesh-tcp' },
      { port: 9094, protocol: 'UDP', name: 'mesh-udp' },
      { port: 8080, protocol: 'TCP', name: 'reloader-web' },
    ],
  },
};

/**
 * Ports a container listens on by its arguments though its chart lists no `containerPort`
 * (controller-runtime's `--metrics-bind-address=:8443`, `--health-probe-bind-address=:8081`).
 */
function argumentPorts(args: readonly unknown[] | undefined): { port: number; protocol: string }[] {
  const out: { port: number; protocol: string }[] = [];
  for (const arg of args ?? []) {
    const match = typeof arg === 'string' ? /^--[a-z-]*address=[^:]*:(\d+)$/.exec(arg) : null;
    if (match?.[1] !== undefined) out.push({ port: Number(match[1]), protocol: 'TCP' });
  }
  return out;
}

/** Every pod template of the rendered workloads (CronJobs' job templates too). */
export function renderedPods(
  documents: readonly RenderedDocument[],
  namespace: string,
): RenderedPod[] {
  const out: RenderedPod[] = [];
  for (const { object } of documents) {
    const spec = object.spec as { [key: string]: unknown } | undefined;
    const made =
      object.apiVersion === 'monitoring.coreos.com/v1' ? OPERATOR_PODS[object.kind] : undefined;
    if (made !== undefined) {
      const extra = (at(spec, 'podMetadata', 'labels') ?? {}) as { [key: string]: string };
      out.push({
        workload: `${object.kind}/${object.metadata.name} (pods of prometheus-operator)`,
        namespace: object.metadata.namespace ?? namespace,
        labels: { ...extra, ...made.labels(object.metadata.name) },
        ports: made.ports((at(spec, 'portName') as string | undefined) ?? 'web'),
      });
      continue;
    }
    out.push(...controllerPods(object, namespace));
    let template: unknown;
    if (WORKLOAD_KINDS.has(object.kind)) template = spec?.template;
    else if (object.kind === 'CronJob') {
      template = at(spec?.jobTemplate, 'spec', 'template');
    } else continue;
    const labels = {
      ...((at(template, 'metadata', 'labels') ?? {}) as { [key: string]: string }),
      ...(object.apiVersion === 'apps/v1' &&
      object.kind === 'DaemonSet' &&
      object.metadata.name === 'longhorn-manager'
        ? LONGHORN_MANAGER_OWN_LABELS
        : {}),
      // The Job controller labels a Job's pods with its name (batch/v1).
      ...(object.kind === 'Job'
        ? { 'job-name': object.metadata.name, 'batch.kubernetes.io/job-name': object.metadata.name }
        : {}),
    };
    const pod = (at(template, 'spec') ?? {}) as { [key: string]: unknown };
    const containers = [
      ...((pod.containers ?? []) as {
        ports?: { containerPort: number; protocol?: string; name?: string }[];
        args?: unknown[];
      }[]),
      ...((pod.initContainers ?? []) as {
        ports?: { containerPort: number; protocol?: string; name?: string }[];
        args?: unknown[];
      }[]),
    ];
    out.push({
      workload: `${object.kind}/${object.metadata.name}`,
      namespace: object.metadata.namespace ?? namespace,
      labels,
      ports: containers.flatMap((container) => [
        ...(container.ports ?? []).map((port) => ({
          port: port.containerPort,
          protocol: port.protocol ?? 'TCP',
          ...(port.name === undefined ? {} : { name: port.name }),
        })),
        ...argumentPorts(container.args),
      ]),
      ...(pod.hostNetwork === true ? { hostNetwork: true as const } : {}),
    });
  }
  return out;
}

/** The flows-side view the check needs (a FlowDeclaration without its peer details). */
export interface CheckedFlow {
  readonly name: string;
  readonly direction: 'ingress' | 'egress';
  readonly namespace: string;
  readonly selector: { readonly [key: string]: string };
  readonly peer: {
    readonly kind: string;
    readonly selector?: { readonly [key: string]: string };
    readonly namespace?: string;
  };
  readonly ports: readonly {
    readonly port: number;
    readonly endPort?: number;
    readonly protocol: string;
  }[];
  /** `external`: pods deployed outside the platform's charts (an application's workloads). */
  readonly workloads?: 'external';
}

function selectsPod(
  selector: { readonly [key: string]: string },
  namespace: string,
  pod: RenderedPod,
): boolean {
  return (
    pod.namespace === namespace &&
    Object.entries(selector).every(([key, value]) => pod.labels[key] === value)
  );
}

/**
 * What is wrong with a component's flows against what Helm renders for its chart: a selector
 * that selects no rendered pod of its namespace, an ingress port (or the port of an egress to
 * pods of the same component) that no selected pod's container declares.
 */
export function flowProblems(
  flows: readonly CheckedFlow[],
  pods: readonly RenderedPod[],
): string[] {
  const problems: string[] = [];
  const served = (
    selector: { readonly [key: string]: string },
    namespace: string,
    port: PodPort,
  ): boolean =>
    pods.some(
      (pod) =>
        selectsPod(selector, namespace, pod) &&
        pod.ports.some(
          (own) =>
            own.protocol === port.protocol &&
            own.port <= port.port &&
            (port.endPort ?? port.port) <= (own.endPort ?? own.port),
        ),
    );
  for (const flow of flows) {
    // An application's own workloads are not the chart's: nothing here to check them against.
    if (flow.workloads === 'external') continue;
    if (!pods.some((pod) => selectsPod(flow.selector, flow.namespace, pod))) {
      problems.push(
        `${flow.name}: ${JSON.stringify(flow.selector)} selects no pod Helm renders in ${flow.namespace}`,
      );
      continue;
    }
    const destination =
      flow.direction === 'ingress'
        ? flow.selector
        : flow.peer.kind === 'self'
          ? flow.peer.selector
          : undefined;
    if (destination === undefined) continue;
    const where =
      flow.direction === 'egress' ? (flow.peer.namespace ?? flow.namespace) : flow.namespace;
    for (const port of flow.ports) {
      if (!served(destination, where, port)) {
        problems.push(
          `${flow.name}: no pod selected by ${JSON.stringify(destination)} in ${where} declares container port ${port.endPort === undefined ? port.port : `${port.port}-${port.endPort}`}/${port.protocol}`,
        );
      }
    }
  }
  return problems;
}

const ROUTE_KINDS: ReadonlySet<string> = new Set(['HTTPRoute', 'GRPCRoute']);

/** The rendered Services among `objects`, by `<namespace>/<name>`. */
function servicesByName(objects: readonly KubeObject[]): Map<string, KubeObject> {
  return new Map(
    objects
      .filter((object) => object.apiVersion === 'v1' && object.kind === 'Service')
      .map((service) => [`${service.metadata.namespace}/${service.metadata.name}`, service]),
  );
}

/**
 * What keeps a route of the Gateway from reaching a pod, read from what Helm renders for one
 * cluster (every chart): each backend of an HTTPRoute or GRPCRoute must be a Service of the
 * platform with the port the route names; the Service must select pods Helm renders in its
 * namespace; and its `targetPort` must be a port those pods' containers declare (by name, as
 * Kubernetes resolves a named `targetPort` per pod: a pod without the name is no endpoint). Any
 * broken link leaves the Service without endpoints, and Cilium's Envoy answers every request to
 * the host with a 503. An ExternalName Service, or a Service without a selector (its endpoints
 * made by hand), has no pods to check; an application's route whose Service is not rendered
 * (`external`: its workloads come from outside the platform's charts) neither.
 */
export function routeBackendProblems(
  documents: readonly RenderedDocument[],
  /** Routes (`namespace/name`) to workloads deployed outside the platform's charts. */
  external: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  const objects = documents.map(({ object }) => object);
  const services = servicesByName(objects);
  for (const route of objects) {
    if (!route.apiVersion.startsWith('gateway.networking.k8s.io/')) continue;
    if (!ROUTE_KINDS.has(route.kind)) continue;
    const where = `${route.kind} ${route.metadata.namespace}/${route.metadata.name}`;
    const rules = (at(route.spec, 'rules') ?? []) as { backendRefs?: unknown[] }[];
    for (const ref of rules.flatMap((rule) => rule.backendRefs ?? [])) {
      const backend = ref as {
        group?: string;
        kind?: string;
        name: string;
        namespace?: string;
        port?: number;
      };
      if ((backend.group ?? '') !== '' || (backend.kind ?? 'Service') !== 'Service') {
        problems.push(`${where}: backend ${backend.name} is not a Service`);
        continue;
      }
      const namespace = backend.namespace ?? route.metadata.namespace ?? '';
      const service = services.get(`${namespace}/${backend.name}`);
      if (service === undefined) {
        // An application's own Service comes with its workloads, from outside the platform.
        if (external.has(`${route.metadata.namespace}/${route.metadata.name}`)) continue;
        problems.push(`${where}: no Service ${namespace}/${backend.name} is rendered`);
        continue;
      }
      const spec = (service.spec ?? {}) as {
        type?: string;
        selector?: { [key: string]: string };
        ports?: { port: number; targetPort?: number | string; protocol?: string; name?: string }[];
      };
      const port = (spec.ports ?? []).find((candidate) => candidate.port === backend.port);
      if (port === undefined) {
        problems.push(
          `${where}: Service ${namespace}/${backend.name} has no port ${backend.port} (it has ${(spec.ports ?? []).map((candidate) => candidate.port).join(', ') || 'none'})`,
        );
        continue;
      }
      if (spec.type === 'ExternalName' || spec.selector === undefined) continue;
      const selector = spec.selector;
      const pods = renderedPods(documents, namespace).filter((pod) =>
        selectsPod(selector, namespace, pod),
      );
      if (pods.length === 0) {
        problems.push(
          `${where}: Service ${namespace}/${backend.name} selects no pod (${JSON.stringify(selector)})`,
        );
        continue;
      }
      const target = port.targetPort ?? port.port;
      const protocol = port.protocol ?? 'TCP';
      const served = pods.some((pod) =>
        pod.ports.some(
          (own) =>
            own.protocol === protocol &&
            (typeof target === 'string' ? own.name === target : own.port === target),
        ),
      );
      if (!served) {
        problems.push(
          `${where}: Service ${namespace}/${backend.name} port ${port.port} targets ${target}/${protocol}, which no container of its pods (${pods.map((pod) => pod.workload).join(', ')}) declares`,
        );
      }
    }
  }
  return problems;
}

const POD_NAME = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX = 'apps.kubernetes.io/pod-index';

/**
 * The ordinal of a rendered StatefulSet's pod that carries `podName` and `podIndex` (either may be
 * absent), when the set has that many replicas; `undefined` for a pod of another kind.
 */
function ordinalOf(
  pod: RenderedPod,
  podName: string | undefined,
  podIndex: string | undefined,
  replicas: ReadonlyMap<string, number>,
): number | undefined {
  const match = /^StatefulSet\/(.+)$/.exec(pod.workload);
  if (match === null) return undefined;
  const set = match[1] as string;
  const count = replicas.get(`${pod.namespace}/StatefulSet/${set}`) ?? 1;
  for (let ordinal = 0; ordinal < count; ordinal++) {
    if (podName !== undefined && podName !== `${set}-${ordinal}`) continue;
    if (podIndex !== undefined && podIndex !== String(ordinal)) continue;
    return ordinal;
  }
  return undefined;
}

/**
 * What leaves a Service of `documents` (a cluster's renders, each object with its namespace)
 * without endpoints for a port: a selector that selects no pod rendered in its namespace
 * (`renderedPods`: workloads, CronJobs, the pods operators make), or a `targetPort` by name that
 * no container of its pods declares (the EndpointSlice controller resolves a name per pod and
 * leaves out a pod without it; a number needs no declaration). Services without a selector
 * (their endpoints are made by hand or by a controller) and ExternalName Services are left out.
 */
export function serviceEndpointProblems(documents: readonly RenderedDocument[]): string[] {
  const problems: string[] = [];
  const replicas = new Map(
    documents
      .filter(({ object }) => object.apiVersion === 'apps/v1' && object.kind === 'StatefulSet')
      .map(({ object }) => [
        `${object.metadata.namespace ?? ''}/StatefulSet/${object.metadata.name}`,
        (at(object.spec, 'replicas') as number | undefined) ?? 1,
      ]),
  );
  const pods = new Map<string, RenderedPod[]>();
  const podsOf = (namespace: string): RenderedPod[] => {
    let found = pods.get(namespace);
    if (found === undefined) {
      found = renderedPods(
        documents.filter(({ object }) => (object.metadata.namespace ?? namespace) === namespace),
        namespace,
      );
      pods.set(namespace, found);
    }
    return found;
  };
  for (const { object } of documents) {
    if (object.apiVersion !== 'v1' || object.kind !== 'Service') continue;
    const spec = (object.spec ?? {}) as {
      type?: string;
      selector?: { [key: string]: string };
      ports?: { port: number; targetPort?: number | string; protocol?: string; name?: string }[];
    };
    if (spec.type === 'ExternalName') continue;
    if (spec.selector === undefined || Object.keys(spec.selector).length === 0) continue;
    const namespace = object.metadata.namespace ?? '';
    const where = `Service ${namespace}/${object.metadata.name}`;
    // The StatefulSet controller labels each pod with its own name and ordinal
    // (`statefulset.kubernetes.io/pod-name: <set>-<i>`, `apps.kubernetes.io/pod-index: <i>`): a
    // selector of one pod (redis-ha's announce Services) selects that ordinal of a rendered set.
    const { [POD_NAME]: podName, [POD_INDEX]: podIndex, ...shared } = spec.selector;
    const selected = podsOf(namespace).filter(
      (pod) =>
        selectsPod(shared, namespace, pod) &&
        (podName === undefined && podIndex === undefined
          ? true
          : ordinalOf(pod, podName, podIndex, replicas) !== undefined),
    );
    if (selected.length === 0) {
      problems.push(`${where} selects no pod (${JSON.stringify(spec.selector)})`);
      continue;
    }
    for (const port of spec.ports ?? []) {
      if (typeof port.targetPort !== 'string') continue;
      const protocol = port.protocol ?? 'TCP';
      const named = port.targetPort;
      if (
        selected.some((pod) =>
          pod.ports.some((own) => own.name === named && own.protocol === protocol),
        )
      ) {
        continue;
      }
      problems.push(
        `${where} port ${port.port} targets ${named}/${protocol}, which no container of its pods (${selected.map((pod) => pod.workload).join(', ')}) declares`,
      );
    }
  }
  return problems;
}

/** The Secrets (`<namespace>/<name>`) a pod template reads: env, envFrom, secret and projected volumes. */
export function podTemplateSecrets(template: unknown, namespace: string): Set<string> {
  const out = new Set<string>();
  const spec = at(template, 'spec');
  const containers = [
    ...((at(spec, 'containers') ?? []) as unknown[]),
    ...((at(spec, 'initContainers') ?? []) as unknown[]),
  ];
  for (const container of containers) {
    for (const env of (at(container, 'env') ?? []) as unknown[]) {
      const name = at(env, 'valueFrom', 'secretKeyRef', 'name');
      if (typeof name === 'string') out.add(`${namespace}/${name}`);
    }
    for (const from of (at(container, 'envFrom') ?? []) as unknown[]) {
      const name = at(from, 'secretRef', 'name');
      if (typeof name === 'string') out.add(`${namespace}/${name}`);
    }
  }
  for (const volume of (at(spec, 'volumes') ?? []) as unknown[]) {
    const name = at(volume, 'secret', 'secretName');
    if (typeof name === 'string') out.add(`${namespace}/${name}`);
    for (const source of (at(volume, 'projected', 'sources') ?? []) as unknown[]) {
      const projected = at(source, 'secret', 'name');
      if (typeof projected === 'string') out.add(`${namespace}/${projected}`);
    }
  }
  return out;
}

/** What a cluster's rotating-secrets.md says, entry by entry. */
export interface RotationGuideEntry {
  readonly id: string;
  /** `<namespace>/<name>` of every Secret the entry fills. */
  readonly secrets: readonly string[];
  /** `<namespace>/<kind>/<name>` (kind in lower case) of every workload a reader line names, by Secret. */
  readonly readers: ReadonlyMap<string, readonly string[]>;
  /** `<namespace>/<kind>/<name>` of every `kubectl rollout restart`. */
  readonly restarts: readonly string[];
}

/** Parses the entries of a rotation guide (`clusters/<cluster>/rotating-secrets.md`). */
export function rotationGuideEntries(guide: string): RotationGuideEntry[] {
  return guide
    .split(/^## Entry `/m)
    .slice(1)
    .map((section) => {
      const id = section.slice(0, section.indexOf('`'));
      const secrets = [...section.matchAll(/^- key `[^`]+` of Secret `([^`]+)`/gm)].map(
        (match) => match[1] as string,
      );
      const readers = new Map<string, string[]>();
      for (const match of section.matchAll(
        /^- `([a-z]+)\/([^`]+)` in `([^`]+)` \(Secret `([^`]+)`\)/gm,
      )) {
        const secret = `${match[3]}/${match[4]}`;
        readers.set(secret, [
          ...(readers.get(secret) ?? []),
          `${match[3]}/${match[1]}/${match[2]}`,
        ]);
      }
      const restarts = [
        ...section.matchAll(/^kubectl -n (\S+) rollout restart ([a-z]+)\/(\S+)$/gm),
      ].map((match) => `${match[1]}/${match[2]}/${match[3]}`);
      return { id, secrets: [...new Set(secrets)], readers, restarts };
    });
}

/**
 * What a rotation guide gets wrong against what Helm renders for its cluster: a workload it
 * restarts that Helm does not render, or whose pods read none of the entry's Secrets; a workload
 * Helm renders whose pods read a Secret of the guide (env, envFrom, volumes) that the guide does
 * not name as a reader of that Secret (a new value would never reach it).
 */
export function rotationGuideProblems(
  guide: string,
  documents: readonly { readonly object: KubeObject; readonly namespace: string }[],
): string[] {
  const problems: string[] = [];
  const workloads = new Map<string, Set<string>>();
  for (const { object, namespace } of documents) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind)) continue;
    const ns = object.metadata.namespace ?? namespace;
    const template = at(object.spec, 'template');
    workloads.set(
      `${ns}/${object.kind.toLowerCase()}/${object.metadata.name}`,
      podTemplateSecrets(template, ns),
    );
  }
  const entries = rotationGuideEntries(guide);
  for (const entry of entries) {
    for (const restart of entry.restarts) {
      const reads = workloads.get(restart);
      if (reads === undefined) {
        problems.push(`entry ${entry.id}: restarts ${restart}, which Helm does not render`);
        continue;
      }
      if (!entry.secrets.some((secret) => reads.has(secret))) {
        problems.push(
          `entry ${entry.id}: restarts ${restart}, whose pods read none of ${entry.secrets.join(', ')}`,
        );
      }
    }
  }
  const guided = new Map<string, Set<string>>();
  for (const entry of entries) {
    for (const secret of entry.secrets) {
      const named = guided.get(secret) ?? new Set<string>();
      for (const reader of entry.readers.get(secret) ?? []) named.add(reader);
      guided.set(secret, named);
    }
  }
  for (const [workload, reads] of [...workloads].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const secret of [...reads].sort()) {
      const named = guided.get(secret);
      if (named !== undefined && !named.has(workload)) {
        problems.push(
          `${workload} reads Secret ${secret}, which the guide does not name it a reader of`,
        );
      }
    }
  }
  return problems;
}

/**
 * What a rotation guide's JSON patches of workloads get wrong against what Helm renders: a
 * `kubectl -n <ns> patch <kind> <name> --type=json -p '<ops>'` whose workload Helm does not
 * render, whose `test` fails, or whose `replace`/`remove` names a path the rendered object lacks
 * (the API server refuses the whole patch). And, for Authelia's storage key procedure, a
 * re-encryption that reads the new key from another file than the one the rendered Deployment's
 * `AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE` names (the pods would start with another key).
 */
export function rotationPatchProblems(
  guide: string,
  documents: readonly { readonly object: KubeObject; readonly namespace: string }[],
): string[] {
  const problems: string[] = [];
  const find = (namespace: string, kind: string, name: string) =>
    documents.find(
      ({ object, namespace: ns }) =>
        (object.metadata.namespace ?? ns) === namespace &&
        object.kind.toLowerCase() === kind &&
        object.metadata.name === name,
    )?.object;
  for (const match of guide.matchAll(
    /kubectl -n (\S+) patch (deployment|statefulset|daemonset) (\S+) --type=json -p '([^']*)'/g,
  )) {
    const [, namespace, kind, name, ops] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const object = find(namespace, kind, name);
    if (object === undefined) {
      problems.push(`patches ${namespace}/${kind}/${name}, which Helm does not render`);
      continue;
    }
    for (const op of JSON.parse(ops) as { op: string; path: string; value?: unknown }[]) {
      const segments = op.path.split('/').slice(1);
      const parent = segments
        .slice(0, -1)
        .reduce<unknown>(
          (node, key) =>
            typeof node === 'object' && node !== null
              ? (node as { [key: string]: unknown })[key]
              : undefined,
          object,
        );
      const last = segments.at(-1) as string;
      const present =
        typeof parent === 'object' && parent !== null && Object.hasOwn(parent as object, last);
      if (!present) {
        problems.push(
          `${namespace}/${kind}/${name}: ${op.op} ${op.path}, which the rendered object lacks`,
        );
      } else if (
        op.op === 'test' &&
        JSON.stringify((parent as { [key: string]: unknown })[last]) !== JSON.stringify(op.value)
      ) {
        problems.push(
          `${namespace}/${kind}/${name}: test ${op.path} fails (${JSON.stringify((parent as { [key: string]: unknown })[last])})`,
        );
      }
    }
  }
  const reencrypt = /--new-encryption-key "\$\(cat ([^)]+)\)"/.exec(guide);
  if (reencrypt !== null) {
    const deployment = find('authelia', 'deployment', 'authelia');
    const containers = (at(deployment?.spec, 'template', 'spec', 'containers') ?? []) as unknown[];
    const env = containers.flatMap((container) => (at(container, 'env') ?? []) as unknown[]);
    const file = env.find((item) => at(item, 'name') === 'AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE');
    if (at(file, 'value') !== reencrypt[1]) {
      problems.push(
        `the re-encryption reads the new key from ${reencrypt[1]}, the rendered Deployment from ${String(at(file, 'value'))}`,
      );
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Reproducible renders: what Argo CD compares must not change from one render to the next

/**
 * Template functions (Helm 3.19's, Sprig's) whose result changes from one render to the next:
 * keys, certificates, random strings, salted hashes, the clock. Argo CD renders a chart again on
 * every manifest refresh (a new commit, a hard refresh, the repo-server cache expiring: 24 h by
 * default), so an object that holds one differs every time: the Application is OutOfSync for good,
 * and every automated sync applies a new key or certificate (a CA in a webhook's `caBundle`
 * regenerated apart from the serving certificate the pods already loaded breaks the webhook).
 * `lookup` is listed because it is why charts call them: under `helm template`, as Argo CD
 * renders, it always returns nothing, so the branch that keeps the live value never runs.
 */
export const UNSTABLE_TEMPLATE_FUNCTIONS = [
  'genCA',
  'genCAWithKey',
  'genPrivateKey',
  'genSelfSignedCert',
  'genSelfSignedCertWithKey',
  'genSignedCert',
  'genSignedCertWithKey',
  'randAlphaNum',
  'randAlpha',
  'randNumeric',
  'randAscii',
  'randBytes',
  'randInt',
  'uuidv4',
  'htpasswd',
  'bcrypt',
  'shuffle',
  'now',
  'lookup',
] as const;

const UNSTABLE_CALL = new RegExp(
  `(?<![$.\\w])(${UNSTABLE_TEMPLATE_FUNCTIONS.join('|')})(?![\\w])`,
  'g',
);
const ACTION = /\{\{-?\s*([\s\S]*?)\s*-?\}\}/g;
const INCLUDE = /\b(?:include|template)\s+"([^"]+)"/g;
const OPENS_BLOCK = /^(?:if|range|with|define|block)\b/;

interface TemplateUse {
  /** Unstable functions the text calls itself. */
  readonly calls: ReadonlySet<string>;
  /** Named templates it includes. */
  readonly includes: ReadonlySet<string>;
}

/** The calls and includes of a template's actions (`{{ … }}`, comments left out). */
function templateUse(actions: readonly string[]): TemplateUse {
  const calls = new Set<string>();
  const includes = new Set<string>();
  for (const action of actions) {
    if (action.startsWith('/*')) continue;
    for (const match of action.matchAll(UNSTABLE_CALL)) calls.add(match[1] as string);
    for (const match of action.matchAll(INCLUDE)) includes.add(match[1] as string);
  }
  return { calls, includes };
}

/**
 * The unstable functions (`UNSTABLE_TEMPLATE_FUNCTIONS`) the template `source` (a path as Helm's
 * `# Source:` line names it, e.g. `cilium/charts/cilium/templates/cilium-ca-secret.yaml`) calls,
 * itself or through the named templates it includes, at any depth. `files` holds the chart's
 * template files by that path; named templates are global to a chart and its subcharts, as in
 * Helm. Sorted; empty when the template cannot be found.
 */
export function unstableFunctions(files: ReadonlyMap<string, string>, source: string): string[] {
  const defines = new Map<string, string[]>();
  const top = new Map<string, string[]>();
  for (const [path, text] of files) {
    const outside: string[] = [];
    // The actions inside each `define` up to its matching `end` (if/range/with/block nest).
    const stack: { name: string | undefined; actions: string[] }[] = [];
    for (const match of text.matchAll(ACTION)) {
      const action = match[1] as string;
      if (action.startsWith('/*')) continue;
      const current = stack[stack.length - 1];
      if (OPENS_BLOCK.test(action)) {
        const name = /^define\s+"([^"]+)"/.exec(action)?.[1];
        (current?.actions ?? outside).push(action);
        stack.push({ name, actions: name === undefined ? (current?.actions ?? outside) : [] });
        continue;
      }
      if (/^end\b/.test(action)) {
        const closed = stack.pop();
        if (closed?.name !== undefined) defines.set(closed.name, closed.actions);
        continue;
      }
      (current?.actions ?? outside).push(action);
    }
    top.set(path, outside);
  }
  const own = top.get(source);
  if (own === undefined) return [];
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (actions: readonly string[]): void => {
    const use = templateUse(actions);
    for (const call of use.calls) found.add(call);
    for (const name of use.includes) {
      if (seen.has(name)) continue;
      seen.add(name);
      const body = defines.get(name);
      if (body !== undefined) visit(body);
    }
  };
  visit(own);
  return [...found].sort();
}

/**
 * The template files of a prepared chart by the path Helm's `# Source:` lines give them: its own
 * `templates/`, and every file of each dependency archive under `<chart>/charts/` (subcharts of
 * subcharts included).
 */
export function chartTemplateFiles(prepared: PreparedChart): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}/${entry.name}`);
      else files.set(`${prefix}/${entry.name}`, readFileSync(path, 'utf8'));
    }
  };
  walk(join(prepared.dir, 'templates'), `${prepared.name}/templates`);
  for (const { archive } of prepared.dependencies) {
    for (const [path, body] of readTarGz(readFileSync(archive))) {
      if (/\/templates\/|\.tpl$/.test(path)) {
        files.set(`${prepared.name}/charts/${path}`, body.toString('utf8'));
      }
    }
  }
  return files;
}

/**
 * What changed between two renders of one chart with the same values, made at least a second
 * apart (so that the clock moved): every object only one of them holds, or whose content differs
 * (its first differing field), with the template it came from and the unstable functions that
 * template calls (`unstableFunctions`), so the message points at the value that turns them off.
 */
export function renderDrift(
  first: readonly RenderedDocument[],
  second: readonly RenderedDocument[],
  files: ReadonlyMap<string, string> = new Map(),
): string[] {
  const key = ({ object }: RenderedDocument) =>
    `${object.kind} ${String(object.metadata.namespace ?? '')}/${object.metadata.name}`;
  const cause = (source: string): string => {
    const calls = unstableFunctions(files, source);
    return calls.length === 0 ? '' : `; the template calls ${calls.join(', ')}`;
  };
  const before = new Map(first.map((document) => [key(document), document]));
  const after = new Set(second.map(key));
  const out: string[] = [];
  for (const document of second) {
    const earlier = before.get(key(document));
    if (earlier === undefined) {
      out.push(
        `${key(document)} (${document.source}): only in the second render${cause(document.source)}`,
      );
      continue;
    }
    const difference = firstDifference(earlier.object, document.object);
    if (difference !== undefined) {
      out.push(
        `${key(document)} (${document.source}): changed between two renders at ${difference}${cause(document.source)}`,
      );
    }
  }
  for (const document of first) {
    if (!after.has(key(document))) {
      out.push(
        `${key(document)} (${document.source}): only in the first render${cause(document.source)}`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The API server reaches every webhook a chart renders

/** A webhook the API server calls, as a chart renders it: which object names it, and its Service. */
export interface RenderedWebhook {
  /** e.g. `ValidatingWebhookConfiguration cert-manager-webhook webhook.cert-manager.io`. */
  readonly what: string;
  readonly namespace: string;
  readonly service: string;
  /** The Service port the API server dials (443 when the reference leaves it out). */
  readonly port: number;
}

/**
 * The webhooks among `objects` whose endpoint is a Service of the cluster: every webhook of a
 * Validating- or MutatingWebhookConfiguration, a CustomResourceDefinition's conversion webhook,
 * an APIService (the aggregation layer). A webhook called by URL is outside the cluster's pods.
 */
export function renderedWebhooks(objects: readonly KubeObject[]): RenderedWebhook[] {
  const out: RenderedWebhook[] = [];
  const add = (what: string, service: unknown): void => {
    const ref = service as { name?: string; namespace?: string; port?: number } | undefined;
    if (ref?.name === undefined || ref.namespace === undefined) return;
    out.push({ what, namespace: ref.namespace, service: ref.name, port: ref.port ?? 443 });
  };
  for (const object of objects) {
    const name = `${object.kind} ${object.metadata.name}`;
    if (
      object.apiVersion === 'admissionregistration.k8s.io/v1' &&
      (object.kind === 'ValidatingWebhookConfiguration' ||
        object.kind === 'MutatingWebhookConfiguration')
    ) {
      for (const webhook of ((object as { webhooks?: unknown[] }).webhooks ?? []) as {
        name?: string;
        clientConfig?: { service?: unknown };
      }[]) {
        add(`${name} ${webhook.name ?? ''}`.trim(), webhook.clientConfig?.service);
      }
    } else if (object.kind === 'CustomResourceDefinition') {
      const conversion = at(object.spec, 'conversion') as
        | { strategy?: string; webhook?: { clientConfig?: { service?: unknown } } }
        | undefined;
      if (conversion?.strategy === 'Webhook') {
        add(`${name} (conversion)`, conversion.webhook?.clientConfig?.service);
      }
    } else if (object.apiVersion === 'apiregistration.k8s.io/v1' && object.kind === 'APIService') {
      add(name, at(object.spec, 'service'));
    }
  }
  return out;
}

/**
 * What keeps the API server from a webhook the cluster's charts render (`objects`, every object
 * with its namespace; `documents`, the same for `renderedPods`): its Service is not rendered or
 * lacks the port, selects no rendered pod, targets a port no pod declares, or the pods' policies
 * (asked through `reaches`, Cilium's semantics) drop the API server's connection to the target
 * port. Pods on the host network are no Cilium endpoints: nothing to ask. `reaches` answers for
 * the `remote-node` identity: the API server runs on the control planes, and a webhook pod on
 * another node sees its connection from there (in Cilium's tunnel mode from that node's
 * `cilium_host` address, which carries the remote-node identity only, not kube-apiserver's:
 * cilium/cilium#18049; the local host is always allowed, Cilium's `allow-localhost`).
 */
export function webhookReachProblems(
  objects: readonly KubeObject[],
  documents: readonly RenderedDocument[],
  reaches: (pod: RenderedPod, port: { port: number; protocol: string }) => boolean,
): string[] {
  const problems: string[] = [];
  const services = servicesByName(objects);
  const pods = renderedPods(documents, '');
  for (const webhook of renderedWebhooks(objects)) {
    const where = `${webhook.what} (Service ${webhook.namespace}/${webhook.service}:${webhook.port})`;
    const service = services.get(`${webhook.namespace}/${webhook.service}`);
    if (service === undefined) {
      problems.push(`${where}: the Service is not rendered`);
      continue;
    }
    const spec = (service.spec ?? {}) as {
      selector?: { [key: string]: string };
      ports?: { port: number; targetPort?: number | string; protocol?: string }[];
    };
    const port = (spec.ports ?? []).find((candidate) => candidate.port === webhook.port);
    if (port === undefined) {
      problems.push(`${where}: the Service has no port ${webhook.port}`);
      continue;
    }
    if (spec.selector === undefined) continue;
    const selector = spec.selector;
    const selected = pods.filter((pod) => selectsPod(selector, webhook.namespace, pod));
    if (selected.length === 0) {
      problems.push(`${where}: the Service selects no pod (${JSON.stringify(selector)})`);
      continue;
    }
    const target = port.targetPort ?? port.port;
    const protocol = port.protocol ?? 'TCP';
    for (const pod of selected) {
      const own = pod.ports.find(
        (candidate) =>
          candidate.protocol === protocol &&
          (typeof target === 'string' ? candidate.name === target : candidate.port === target),
      );
      // A number is dialled as it is (a container need not declare it); a name only through a
      // container port of that name (a pod without it is no endpoint of the Service).
      const number = typeof target === 'number' ? target : own?.port;
      if (number === undefined) {
        problems.push(
          `${where}: targetPort ${target} names no container port of ${pod.workload}, the API server has nothing to dial`,
        );
        continue;
      }
      if (pod.hostNetwork === true) continue;
      if (!reaches(pod, { port: number, protocol })) {
        problems.push(
          `${where}: the Cilium policies of ${pod.workload} in ${pod.namespace} drop the API server's connections (from remote-node) to port ${number}/${protocol}: every request the webhook intercepts fails (failurePolicy Fail) or skips it (Ignore); declare the ingress flow from the kube-apiserver and remote-node entities`,
        );
      }
    }
  }
  return problems;
}

/**
 * Every scrape target of the ServiceMonitors and PodMonitors among `objects` that the Cilium
 * policies among them keep Prometheus from: for a ServiceMonitor, each endpoint's Service port
 * (by name, or its `targetPort`) mapped through each selected Service's selector to its pods and
 * their container port; for a PodMonitor, each endpoint's container port (`port` by name,
 * `portNumber`) on the selected pods. `reaches` says whether a Prometheus pod (the pods
 * prometheus-operator makes of a `Prometheus`, `renderedPods`) reaches a pod on a port. Services
 * without a selector (endpoints listed by hand: the kubelets, the control plane) and pods on the
 * host network are the host firewall's (`hostFirewallProblems`), not a policy's; a pod without
 * the named port is no target. Returns the problems and how many pod targets were checked.
 */
export function scrapeReachProblems(
  objects: readonly KubeObject[],
  documents: readonly RenderedDocument[],
  reaches: (
    from: RenderedPod,
    to: RenderedPod,
    port: { port: number; protocol: string },
  ) => boolean,
): { problems: string[]; targets: number } {
  const problems: string[] = [];
  let targets = 0;
  const pods = renderedPods(documents, '');
  const prometheus = pods.filter((pod) => pod.workload.startsWith('Prometheus/'));
  if (prometheus.length === 0) return { problems, targets };
  const inNamespaces = (monitor: KubeObject, namespace: string): boolean =>
    monitorNamespaces(monitor.spec, monitor.metadata.namespace ?? '')(namespace);
  const check = (what: string, pod: RenderedPod, target: number | string | undefined) => {
    if (target === undefined || pod.hostNetwork === true) return;
    const number =
      typeof target === 'number'
        ? target
        : pod.ports.find((candidate) => candidate.name === target)?.port;
    // A port name the pod does not declare makes it no target (prometheus-operator keeps the
    // endpoints whose port has that name; a Service's named targetPort leaves the pod out of its
    // endpoints): the monitor's other pods are.
    if (number === undefined) return;
    targets += 1;
    for (const from of prometheus) {
      if (!reaches(from, pod, { port: number, protocol: 'TCP' })) {
        problems.push(
          `${what}: the Cilium policies keep ${from.workload} from ${pod.workload} in ${pod.namespace} on port ${number}/TCP: the target is down for good (TargetDown)`,
        );
      }
    }
  };
  const services = objects.filter((object) => object.kind === 'Service');
  for (const monitor of objects) {
    if (monitor.apiVersion !== 'monitoring.coreos.com/v1') continue;
    const spec = (monitor.spec ?? {}) as {
      selector?: object;
      endpoints?: { port?: string; targetPort?: number | string }[];
      podMetricsEndpoints?: { port?: string; portNumber?: number; targetPort?: number | string }[];
    };
    const name = `${monitor.kind} ${monitor.metadata.namespace ?? ''}/${monitor.metadata.name}`;
    if (monitor.kind === 'ServiceMonitor') {
      for (const service of services) {
        const namespace = service.metadata.namespace ?? '';
        if (!inNamespaces(monitor, namespace)) continue;
        // An empty selector selects every Service (prometheus-operator, as Kubernetes reads it).
        if (!labelSelectorMatches(spec.selector ?? {}, service.metadata.labels ?? {})) continue;
        const serviceSpec = (service.spec ?? {}) as {
          selector?: { [key: string]: string };
          ports?: { name?: string; port: number; targetPort?: number | string }[];
        };
        if (serviceSpec.selector === undefined) continue;
        const selector = serviceSpec.selector;
        const selected = pods.filter((pod) => selectsPod(selector, namespace, pod));
        for (const endpoint of spec.endpoints ?? []) {
          const port =
            endpoint.port === undefined
              ? undefined
              : (serviceSpec.ports ?? []).find((candidate) => candidate.name === endpoint.port);
          if (endpoint.port !== undefined && port === undefined) {
            problems.push(
              `${name}: Service ${namespace}/${service.metadata.name} has no port ${endpoint.port}`,
            );
            continue;
          }
          const target = port === undefined ? endpoint.targetPort : (port.targetPort ?? port.port);
          const what = `${name} → Service ${namespace}/${service.metadata.name}`;
          for (const pod of selected) check(what, pod, target);
        }
      }
    } else if (monitor.kind === 'PodMonitor') {
      for (const pod of pods) {
        if (!inNamespaces(monitor, pod.namespace)) continue;
        if (!labelSelectorMatches(spec.selector ?? {}, pod.labels)) continue;
        for (const endpoint of spec.podMetricsEndpoints ?? []) {
          check(name, pod, endpoint.port ?? endpoint.portNumber ?? endpoint.targetPort);
        }
      }
    }
  }
  return { problems, targets };
}

/** One role's Talos ingress firewall, read from its generated patch (clusters/<c>/talos/<role>.yaml). */
export interface RoleFirewall {
  readonly role: 'controlplane' | 'worker';
  /** The addresses of the cluster's nodes of this role. */
  readonly nodes: readonly string[];
  /** Whether the patch blocks inbound connections (`NetworkDefaultActionConfig` ingress: block). */
  readonly block: boolean;
  readonly rules: readonly {
    readonly protocol: string;
    readonly ports: readonly (readonly [number, number])[];
    readonly subnets: readonly string[];
  }[];
}

/** The firewall of a role patch's documents (Talos' `NetworkRuleConfig` port and subnet forms). */
export function roleFirewall(
  role: 'controlplane' | 'worker',
  nodes: readonly string[],
  patch: string,
): RoleFirewall {
  let block = false;
  const rules: RoleFirewall['rules'][number][] = [];
  for (const document of parseAllDocuments(patch) as { [key: string]: unknown }[]) {
    if (document === null || typeof document !== 'object') continue;
    if (document.kind === 'NetworkDefaultActionConfig') block = document.ingress === 'block';
    if (document.kind !== 'NetworkRuleConfig') continue;
    const selector = (document.portSelector ?? {}) as { ports?: unknown[]; protocol?: unknown };
    rules.push({
      protocol: String(selector.protocol ?? '').toUpperCase(),
      ports: (selector.ports ?? []).flatMap((entry): [number, number][] => {
        const match = /^(\d+)(?:-(\d+))?$/.exec(String(entry));
        return match === null ? [] : [[Number(match[1]), Number(match[2] ?? match[1])]];
      }),
      subnets: (Array.isArray(document.ingress) ? document.ingress : []).map((entry) =>
        String((entry as { subnet?: unknown }).subnet ?? ''),
      ),
    });
  }
  return { role, nodes, block, rules };
}

/**
 * Whether `firewall` lets a new connection to `port`/`protocol` in from every address of
 * `source` (a CIDR; a node's address as /32 or /128): a rule of that protocol whose port ranges
 * hold the port and one of whose subnets holds the whole source (Talos' input and prerouting
 * chains match the source address against the rule's subnets).
 */
export function firewallAllows(
  firewall: RoleFirewall,
  port: number,
  protocol: string,
  source: string,
): boolean {
  if (!firewall.block) return true;
  return firewall.rules.some(
    (rule) =>
      rule.protocol === protocol.toUpperCase() &&
      rule.ports.some(([lo, hi]) => lo <= port && port <= hi) &&
      rule.subnets.some((subnet) => cidrContainsCidr(subnet, source)),
  );
}

/** A connection some rendered object makes to a port of host-network pods or of the nodes. */
export interface HostConnection {
  /** What dials, and through which object (a monitor, a webhook, a Service's DNS name). */
  readonly what: string;
  readonly port: number;
  readonly protocol: string;
  /** `pods`: any pod (the pod CIDR on the same node, another node's address masqueraded). */
  readonly from: 'pods' | 'control-planes' | 'nodes';
  /** The node addresses the target runs on; `undefined`: any node (a host-network pod). */
  readonly at?: readonly string[];
}

function labelsMatch(
  selector: { readonly [key: string]: string } | undefined,
  labels: { readonly [key: string]: string } | undefined,
): boolean {
  return (
    selector !== undefined &&
    Object.entries(selector).every(([key, value]) => labels?.[key] === value)
  );
}

function monitorNamespaces(spec: unknown, own: string): (namespace: string) => boolean {
  const selector = at(spec, 'namespaceSelector') as
    | { any?: boolean; matchNames?: string[] }
    | undefined;
  if (selector?.any === true) return () => true;
  if (selector?.matchNames !== undefined) {
    const names = selector.matchNames;
    return (namespace) => names.includes(namespace);
  }
  return (namespace) => namespace === own;
}

/**
 * Every connection the rendered objects (each with its namespace) make to a port of a
 * host-network pod or of a node's own address: a Service selecting host-network pods (or whose
 * Endpoints are node addresses) that a ServiceMonitor scrapes, a webhook or APIService names, a
 * route sends to, or whose DNS name (`<name>.<namespace>.svc`) a rendered object holds (a
 * client's configuration); a PodMonitor scraping host-network pods. A Service nothing rendered
 * dials is left out (`unused` lists it): no rule is owed to a port nobody connects to.
 */
export function hostConnections(
  objects: readonly KubeObject[],
  documents: readonly RenderedDocument[],
  nodeAddresses: readonly string[],
): { connections: HostConnection[]; unused: string[] } {
  const connections: HostConnection[] = [];
  const unused: string[] = [];
  const pods = renderedPods(documents, '').filter((pod) => pod.hostNetwork === true);
  const text = objects.map((object) => JSON.stringify(object)).join('\n');
  const endpoints = new Map<string, { addresses: string[]; ports: PodPort[] }>();
  for (const object of objects) {
    if (object.apiVersion !== 'v1' || object.kind !== 'Endpoints') continue;
    const subsets = ((object as { subsets?: unknown[] }).subsets ?? []) as {
      addresses?: { ip?: string }[];
      ports?: { port: number; protocol?: string; name?: string }[];
    }[];
    endpoints.set(`${object.metadata.namespace}/${object.metadata.name}`, {
      addresses: subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip ?? '')),
      ports: subsets.flatMap((s) =>
        (s.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
      ),
    });
  }
  // Who dials each Service, by `<namespace>/<name>`, on which of its ports (undefined: all).
  const dialled = new Map<
    string,
    { what: string; from: HostConnection['from']; port?: number | string }[]
  >();
  const dial = (
    key: string,
    entry: { what: string; from: HostConnection['from']; port?: number | string },
  ) => dialled.set(key, [...(dialled.get(key) ?? []), entry]);
  const services = objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Service');
  for (const object of objects) {
    const namespace = object.metadata.namespace ?? '';
    if (object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'ServiceMonitor') {
      const selector = at(object.spec, 'selector', 'matchLabels') as { [key: string]: string };
      const inNamespace = monitorNamespaces(object.spec, namespace);
      const ports = (at(object.spec, 'endpoints') ?? []) as {
        port?: string;
        targetPort?: number | string;
      }[];
      for (const service of services) {
        const where = service.metadata.namespace ?? '';
        if (!inNamespace(where) || !labelsMatch(selector ?? {}, service.metadata.labels)) continue;
        for (const endpoint of ports) {
          dial(`${where}/${service.metadata.name}`, {
            what: `ServiceMonitor ${namespace}/${object.metadata.name}`,
            from: 'pods',
            ...(endpoint.port !== undefined
              ? { port: endpoint.port }
              : endpoint.targetPort !== undefined
                ? { port: endpoint.targetPort }
                : {}),
          });
        }
      }
    }
    if (object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'PodMonitor') {
      const selector = at(object.spec, 'selector', 'matchLabels') as { [key: string]: string };
      const inNamespace = monitorNamespaces(object.spec, namespace);
      const ports = (at(object.spec, 'podMetricsEndpoints') ?? []) as {
        port?: string;
        portNumber?: number;
      }[];
      for (const pod of pods) {
        if (!inNamespace(pod.namespace) || !labelsMatch(selector ?? {}, pod.labels)) continue;
        for (const endpoint of ports) {
          const own = pod.ports.find(
            (p) => p.name === endpoint.port || p.port === endpoint.portNumber,
          );
          if (own === undefined) continue;
          connections.push({
            what: `PodMonitor ${namespace}/${object.metadata.name} scraping ${pod.workload} in ${pod.namespace}`,
            port: own.port,
            protocol: own.protocol,
            from: 'pods',
          });
        }
      }
    }
    if (object.kind === 'HTTPRoute' || object.kind === 'GRPCRoute' || object.kind === 'TLSRoute') {
      for (const rule of (at(object.spec, 'rules') ?? []) as {
        backendRefs?: { name?: string; namespace?: string; port?: number; kind?: string }[];
      }[]) {
        for (const ref of rule.backendRefs ?? []) {
          if ((ref.kind ?? 'Service') !== 'Service' || ref.name === undefined) continue;
          dial(`${ref.namespace ?? namespace}/${ref.name}`, {
            what: `${object.kind} ${namespace}/${object.metadata.name} (the Gateway's Envoy on each node)`,
            from: 'nodes',
            ...(ref.port !== undefined ? { port: ref.port } : {}),
          });
        }
      }
    }
  }
  for (const webhook of renderedWebhooks(objects)) {
    dial(`${webhook.namespace}/${webhook.service}`, {
      what: `${webhook.what} (the API server)`,
      from: 'control-planes',
      port: webhook.port,
    });
  }
  for (const service of services) {
    const namespace = service.metadata.namespace ?? '';
    const key = `${namespace}/${service.metadata.name}`;
    const spec = (service.spec ?? {}) as {
      selector?: { [key: string]: string };
      ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
    };
    const selected =
      spec.selector === undefined
        ? []
        : pods.filter(
            (pod) => pod.namespace === namespace && labelsMatch(spec.selector, pod.labels),
          );
    const backing = spec.selector === undefined ? endpoints.get(key) : undefined;
    const onNodes = (backing?.addresses ?? []).filter((address) => nodeAddresses.includes(address));
    if (selected.length === 0 && onNodes.length === 0) continue;
    const dns = new RegExp(
      `\\b${service.metadata.name.replace(/[.-]/g, '\\$&')}\\.${namespace.replace(/[.-]/g, '\\$&')}\\.svc\\b`,
    );
    const callers = [
      ...(dialled.get(key) ?? []),
      ...(dns.test(text)
        ? [
            {
              what: `a client configured with ${service.metadata.name}.${namespace}.svc`,
              from: 'pods' as const,
            },
          ]
        : []),
    ];
    if (callers.length === 0) {
      unused.push(`Service ${key}`);
      continue;
    }
    for (const caller of callers) {
      const ports = (spec.ports ?? []).filter(
        (p) => caller.port === undefined || p.port === caller.port || p.name === caller.port,
      );
      for (const port of ports) {
        const protocol = port.protocol ?? 'TCP';
        const target = port.targetPort ?? port.port;
        const numbers = new Set<number>();
        for (const pod of selected) {
          const own = pod.ports.find(
            (p) =>
              p.protocol === protocol &&
              (typeof target === 'string' ? p.name === target : p.port === target),
          );
          if (typeof target === 'number') numbers.add(target);
          else if (own !== undefined) numbers.add(own.port);
        }
        if (onNodes.length > 0) {
          // A Service without selector: its Endpoints' port of the same name, else its port.
          numbers.add(typeof target === 'number' ? target : port.port);
        }
        for (const number of numbers) {
          connections.push({
            what: `${caller.what} through Service ${key}:${port.port}`,
            port: number,
            protocol,
            from: caller.from,
            ...(selected.length === 0 ? { at: onNodes } : {}),
          });
        }
      }
    }
  }
  return { connections, unused };
}

/**
 * The connections (`hostConnections`) a node's firewall drops: a role whose nodes a target runs
 * on, whose patch blocks inbound connections, and that has no rule allowing the port from each
 * source the caller connects from (`pods`: the pod CIDR, the same node's pods keeping their
 * address, and every node's address, other nodes' pods masqueraded; `control-planes`: the API
 * server's nodes; `nodes`: every node).
 */
export function hostFirewallProblems(
  connections: readonly HostConnection[],
  firewalls: readonly RoleFirewall[],
  podCidr: string,
): string[] {
  const problems: string[] = [];
  const all = firewalls.flatMap((f) => f.nodes);
  const controlPlanes = firewalls.filter((f) => f.role === 'controlplane').flatMap((f) => f.nodes);
  const host = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;
  for (const connection of connections) {
    const sources =
      connection.from === 'pods'
        ? [podCidr, ...all.map(host)]
        : (connection.from === 'control-planes' ? controlPlanes : all).map(host);
    for (const firewall of firewalls) {
      if (firewall.nodes.length === 0) continue;
      if (connection.at !== undefined && !firewall.nodes.some((n) => connection.at?.includes(n)))
        continue;
      const missing = sources.filter(
        (source) => !firewallAllows(firewall, connection.port, connection.protocol, source),
      );
      if (missing.length === 0) continue;
      problems.push(
        `${connection.what}: port ${connection.port}/${connection.protocol} on the ${firewall.role} nodes is not allowed from ${missing.join(', ')} by their Talos patch (NetworkRuleConfig): the node drops those connections`,
      );
    }
  }
  return problems;
}

/**
 * The ports a Cilium agent opens to the other nodes by the cilium-config Helm renders (the
 * agent's defaults where a key is absent, at 1.18-1.20): the tunnel (`routing-mode` tunnel;
 * `tunnel-port`, else 8472 for vxlan and 6081 for geneve), the node health endpoint
 * (`enable-health-checking`; `cluster-health-port`, else 4240), the Hubble server (`enable-hubble`;
 * the port of `hubble-listen-address`), mutual authentication (`mesh-auth-mutual-enabled`;
 * `mesh-auth-mutual-listener-port`, else 4250).
 */
export function ciliumConfigNodePorts(data: {
  readonly [key: string]: unknown;
}): { port: number; protocol: 'TCP' | 'UDP'; why: string }[] {
  const out: { port: number; protocol: 'TCP' | 'UDP'; why: string }[] = [];
  const text = (key: string) => (data[key] === undefined ? undefined : String(data[key]));
  if ((text('routing-mode') ?? 'tunnel') === 'tunnel') {
    const protocol = text('tunnel-protocol') ?? 'vxlan';
    const port = Number(text('tunnel-port') ?? 0) || (protocol === 'geneve' ? 6081 : 8472);
    out.push({ port, protocol: 'UDP', why: `the ${protocol} tunnel` });
  }
  if (text('enable-health-checking') !== 'false') {
    out.push({
      port: Number(text('cluster-health-port') ?? 4240),
      protocol: 'TCP',
      why: 'the node health endpoint',
    });
  }
  const hubble = text('hubble-listen-address');
  if (text('enable-hubble') === 'true' && hubble !== undefined && hubble !== '') {
    out.push({
      port: Number(hubble.slice(hubble.lastIndexOf(':') + 1)),
      protocol: 'TCP',
      why: 'the Hubble server',
    });
  }
  if (text('mesh-auth-mutual-enabled') === 'true') {
    out.push({
      port: Number(text('mesh-auth-mutual-listener-port') ?? 4250),
      protocol: 'TCP',
      why: 'mutual authentication',
    });
  }
  return out;
}

/**
 * The objects of the vendored CRD bundles (vendor/crds: the Gateway API, the snapshot API), which
 * no Helm chart renders: the runbook installs them.
 */
export function vendoredCrdBundleObjects(): KubeObject[] {
  const out: KubeObject[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) {
        out.push(...(parseAllDocuments(readFileSync(path, 'utf8')) as KubeObject[]));
      }
    }
  };
  const root = join(REPO, 'vendor', 'crds');
  if (existsSync(root)) walk(root);
  return out.filter((object) => object !== null && typeof object === 'object');
}

/**
 * The objects Helm renders for each of `renders` (`helm template` as Argo CD runs it), the charts
 * prepared and Helm's HOME kept under `scratch`: what the real-tool suites hand their tool. A
 * failed render throws with Helm's error.
 */
export function renderedObjects(
  helm: HelmBinary,
  renders: readonly ChartRender[],
  scratch: string,
): { render: ChartRender; objects: KubeObject[] }[] {
  const home = join(scratch, '.helm-home');
  mkdirSync(home, { recursive: true });
  const charts = join(scratch, 'charts');
  mkdirSync(charts, { recursive: true });
  return renders.map((render) => {
    const prepared = prepareChart(render, charts);
    const result = runHelm(helm, templateArgs(render, prepared), prepared.dir, home);
    if (result.status !== 0) {
      throw new Error(`${render.cluster} ${render.path}: helm template failed: ${result.stderr}`);
    }
    return { render, objects: splitHelmOutput(result.stdout).map(({ object }) => object) };
  });
}

/** An image an upstream chart's object runs, or hands a controller to run. */
export interface ImageReference {
  /** The namespace of the object (the render's where it names none). */
  readonly namespace: string;
  readonly image: string;
  /** `<Kind> <name>: <where in it>`, for messages. */
  readonly where: string;
}

/** A container argument that names an image: `--<x>-image` (Longhorn, VolSync) and the Prometheus Operator's config reloader. */
const IMAGE_FLAG = /^--(?:[a-z0-9-]*-image|prometheus-config-reloader)(?:=(.*))?$/;
/** Groups whose resources carry the image their operator runs in `spec.image`. */
const OPERATOR_IMAGE_GROUPS = new Set(['monitoring.coreos.com']);

/**
 * The images the objects of a render's upstream dependencies run (`# Source:` under
 * `<chart>/charts/`, but Helm test hooks, which Argo CD never runs; our own manifests' images
 * are evaluated by the build as they are): every
 * container, init and ephemeral container of a pod template, and the images those containers hand
 * their controllers to start (an argument `--<x>-image[=]<image>` or `--prometheus-config-reloader=`,
 * an environment variable `<X>_IMAGE`), and `spec.image` of the resources of an operator that runs
 * their image (Prometheus, Alertmanager).
 */
export function upstreamImageReferences(
  documents: readonly RenderedDocument[],
  namespace: string,
): ImageReference[] {
  const out: ImageReference[] = [];
  for (const { source, object } of documents) {
    if (!source.includes('/charts/') || neverRunByArgoCd(object)) continue;
    const where = `${object.kind} ${object.metadata.name}`;
    const objectNamespace = object.metadata.namespace ?? namespace;
    const push = (image: unknown, at: string) => {
      if (typeof image === 'string' && image !== '') {
        out.push({ namespace: objectNamespace, image, where: `${where}: ${at}` });
      }
    };
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
    if (OPERATOR_IMAGE_GROUPS.has(group ?? '')) push(at(object, 'spec', 'image'), 'spec.image');
    const spec = podTemplateOf(object)?.spec;
    if (spec === undefined) continue;
    for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
      const containers = spec[list];
      if (!Array.isArray(containers)) continue;
      for (const container of containers) {
        if (!isTable(container)) continue;
        const name = String(container.name);
        push(container.image, `${list} ${name}`);
        const args = [
          ...(Array.isArray(container.command) ? container.command : []),
          ...(Array.isArray(container.args) ? container.args : []),
        ].map(String);
        args.forEach((arg, index) => {
          const flag = IMAGE_FLAG.exec(arg);
          if (flag === null) return;
          push(flag[1] ?? args[index + 1], `${list} ${name}, ${arg.split('=')[0]}`);
        });
        for (const variable of Array.isArray(container.env) ? container.env : []) {
          if (isTable(variable) && /_IMAGE$/.test(String(variable.name))) {
            push(variable.value, `${list} ${name}, env ${String(variable.name)}`);
          }
        }
      }
    }
  }
  return out;
}

/**
 * The images of `references` whose repository (`imageRepository`) the render's components do not
 * declare for the namespace (`ApplicationDescriptor.imageRepositories`): the build's check that
 * the allowed registries admit the platform's images (`policy-registries`) would not see them.
 */
export function undeclaredImages(
  references: readonly ImageReference[],
  declared: { readonly [namespace: string]: readonly string[] },
): string[] {
  return [
    ...new Set(
      references
        .filter(({ namespace, image }) => !declared[namespace]?.includes(imageRepository(image)))
        .map(
          ({ namespace, image, where }) =>
            `${namespace}: ${where}: ${image} (repository ${imageRepository(image)} not declared)`,
        ),
    ),
  ];
}

/** The images of a workload's pod template: its init and regular containers, in order. */
function podTemplateImages(object: KubeObject): string[] {
  const spec = at(object, 'spec', 'template', 'spec');
  if (!isTable(spec)) return [];
  return [spec.initContainers, spec.containers]
    .flatMap((list) => (Array.isArray(list) ? list : []))
    .map((container) => (isTable(container) ? String(container.image ?? '') : ''))
    .filter((image) => image !== '');
}

/**
 * What is wrong with the runbook's Cilium pre-flight (`preflight`: what its `helm template`
 * renders; `chart`: the Cilium chart's render for the same cluster, what Argo CD runs; `waits`:
 * the workloads its `rollout status` commands wait for):
 * - a wait for a workload the pre-flight does not render (the wait fails, or waits for nothing);
 * - an object the chart renders too (same kind, namespace and name): the block's `kubectl create`
 *   fails on it, and its `kubectl delete` removes what Argo CD runs (the agent, Hubble, the
 *   pools, where the render is not limited to the pre-flight templates);
 * - an image of the chart's node agents (the DaemonSets `cilium` and `cilium-envoy`: every node
 *   restarts into them) that no pre-flight DaemonSet pulls.
 */
export function preflightProblems(
  preflight: readonly KubeObject[],
  chart: readonly KubeObject[],
  waits: readonly { readonly kind: string; readonly name: string }[],
): string[] {
  const problems: string[] = [];
  const key = (object: KubeObject) =>
    `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  if (preflight.length === 0) problems.push('the pre-flight renders nothing');
  for (const wait of waits) {
    if (
      !preflight.some((object) => object.kind === wait.kind && object.metadata.name === wait.name)
    )
      problems.push(`waits for ${wait.kind} ${wait.name}, which the pre-flight does not render`);
  }
  const charted = new Set(chart.map(key));
  for (const object of preflight) {
    if (charted.has(key(object)))
      problems.push(`${key(object)} is also the chart's: the pre-flight's delete removes it`);
  }
  const pulled = new Set(
    preflight.filter((object) => object.kind === 'DaemonSet').flatMap(podTemplateImages),
  );
  for (const object of chart) {
    if (object.kind !== 'DaemonSet' || !['cilium', 'cilium-envoy'].includes(object.metadata.name))
      continue;
    for (const image of new Set(podTemplateImages(object))) {
      if (!pulled.has(image))
        problems.push(`${key(object)} runs ${image}, which no pre-flight DaemonSet pulls`);
    }
  }
  return problems;
}

/**
 * What is wrong with how a cluster's routes carry gRPC through Cilium's Gateway (v1.19.6): its
 * listeners' `grpc_web` filter turns every gRPC-web request into gRPC, and Envoy speaks HTTP/1.1
 * to a Service port unless the port says `appProtocol: kubernetes.io/h2c` (with
 * `gatewayAPI.enableAppProtocol`) or the route is a GRPCRoute (`envoy_cluster.go`
 * `clusterMutators`). So:
 * - an HTTPRoute rule that matches gRPC requests (a `Content-Type` header match on
 *   `application/grpc`) must lead to a Service port with that protocol;
 * - a Service named in `grpcServices` (`namespace/name`: a server the runbook's CLI reaches
 *   through the Gateway, Argo CD's) must have such a rule on every route that leads to it.
 */
export function grpcRouteProblems(
  documents: readonly RenderedDocument[],
  grpcServices: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const objects = documents.map(({ object }) => object);
  const services = servicesByName(objects);
  type Rule = {
    matches?: { headers?: { name?: string; value?: string }[] }[];
    backendRefs?: { name: string; namespace?: string; port?: number }[];
  };
  const grpcMatch = (rule: Rule) =>
    (rule.matches ?? []).some((match) =>
      (match.headers ?? []).some(
        (header) =>
          (header.name ?? '').toLowerCase() === 'content-type' &&
          new RegExp(header.value ?? '$^').test('application/grpc') &&
          new RegExp(header.value ?? '$^').test('application/grpc-web+proto'),
      ),
    );
  for (const route of objects) {
    if (route.kind !== 'HTTPRoute' || !route.apiVersion.startsWith('gateway.networking.k8s.io/'))
      continue;
    const where = `HTTPRoute ${route.metadata.namespace}/${route.metadata.name}`;
    const rules = (at(route.spec, 'rules') ?? []) as Rule[];
    const target = (ref: { name: string; namespace?: string }) =>
      `${ref.namespace ?? route.metadata.namespace}/${ref.name}`;
    for (const rule of rules.filter(grpcMatch)) {
      for (const ref of rule.backendRefs ?? []) {
        const service = services.get(target(ref));
        const port = (
          (service?.spec as { ports?: { port: number; appProtocol?: string }[] })?.ports ?? []
        ).find((candidate) => candidate.port === ref.port);
        if (port?.appProtocol !== 'kubernetes.io/h2c')
          problems.push(
            `${where}: its gRPC rule leads to Service ${target(ref)} port ${ref.port}, whose appProtocol is ${port?.appProtocol ?? 'unset'}, not kubernetes.io/h2c: Cilium's Envoy would speak HTTP/1.1 to it`,
          );
      }
    }
    const served = new Set(
      rules.flatMap((rule) => (rule.backendRefs ?? []).map((ref) => target(ref))),
    );
    for (const name of [...served].filter((service) => grpcServices.has(service))) {
      const carried = rules
        .filter(grpcMatch)
        .some((rule) => (rule.backendRefs ?? []).some((ref) => target(ref) === name));
      if (!carried)
        problems.push(
          `${where}: leads to ${name}, whose CLI speaks gRPC-web through the Gateway, without a rule for gRPC requests: Cilium turns them into gRPC over HTTP/1.1, which the server does not answer`,
        );
    }
  }
  return problems;
}
