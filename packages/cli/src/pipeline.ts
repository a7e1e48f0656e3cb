// The build pipeline (DESIGN.md, "Data flow"): load → resolve → components (declare, render) →
// assemblers (argocd-apps, talos-config) → chart files → output validation → secret scan →
// positions. Pure: `generate` reads nothing and writes nothing; the CLI reads the definition and
// hands the files to core's writer.
import { assembleApplications } from '@homelab/argocd-apps';
import {
  atOrAboveFloor,
  type ChangeCheck,
  type ChangedObject,
  type ChartSpec,
  type ClusterContribution,
  CORE_CHECKS,
  type ComponentsResult,
  chartFiles,
  compareStrings,
  crossesFloorDownwards,
  type DeployedCluster,
  type DeployedObject,
  error,
  FORM_MESSAGE,
  fieldOrigin,
  formatPath,
  type GeneratedFile,
  hasErrors,
  hasImmutableFields,
  type Issue,
  immutableChanges,
  type JsonValue,
  type KubeObject,
  loadDefinition,
  loadModelValidators,
  type ManifestOrigins,
  manifestLayer,
  mergeClusterIssues,
  mergeValuesShared,
  normaliseLineEnds,
  type ObjectValidator,
  type PathSegment,
  PLATFORM_CHART,
  parseYaml,
  positionIssues,
  type Registry,
  type ResolvedCluster,
  type ResolvedPlatform,
  renderChart,
  resolvePlatform,
  rootApplicationName,
  runComponents,
  runSystemChecks,
  type SourcedObject,
  type SystemCheck,
  type SystemInput,
  type SystemReport,
  settingsPath,
  shareEnvironmentValues,
  sortIssues,
  systemReports,
  typeMessage,
  type Values,
  validateObjects,
} from '@homelab/core';
import { renderTalos, TALOS_CHECKS } from '@homelab/talos-config';
import { chartUpgradeIssues } from './chart-upgrades.js';
import { claimChangeIssues } from './claim-changes.js';
import {
  addedHandMadeSecretIssues,
  applicationLoginIssues,
  clusterChangeIssues,
  diskEncryptionIssues,
  installerIssues,
  nodeAddressIssues,
  nodeRoleIssues,
  removedClusterIssues,
  removedNodeIssues,
  rootApplicationIssues,
} from './cluster-changes.js';
import { validatorsFor } from './definition.js';
import { projectChangeIssues } from './project-changes.js';
import { REGISTRY } from './registry.js';
import { findSecrets, maskIssues, type SecretFinding } from './secrets.js';

/** The command every generated file names in its first line. */
export const GENERATED_BY = 'pnpm build';

/** Version of a chart whose package.json does not exist yet. */
export const DEFAULT_CHART_VERSION = '0.1.0';

export interface GenerateInput {
  /** The definition's text. */
  readonly text: string;
  /** Its file name, used in issue positions only (never in output). */
  readonly file: string;
  /**
   * Its path as the generated runbooks name it: relative to the repository root, POSIX
   * (default `apps/homelab/platform.yaml`); `null`: outside the repository.
   */
  readonly source?: string | null;
  /** Current version of each chart (`charts/<chart>/package.json`), by chart name. */
  readonly chartVersions: Readonly<Record<string, string>>;
  /**
   * The files of a chart as the last build wrote them (`charts/<chart>/`, paths relative to it),
   * `undefined` where there is none: what the clusters run now, to find changes of fields the
   * API server never updates (`immutable-field-changed`) and volume claims moved or left behind
   * (`volume-claim-moved`, `volume-claim-left`). Without it nothing is compared.
   */
  readonly previousChart?: (chart: string) => ReadonlyMap<string, string> | undefined;
  /**
   * The files of a cluster as the last build wrote them (`clusters/<cluster>/`, paths relative
   * to it: `DEPLOYED_CLUSTER_FILES`), `undefined` for a cluster it did not build: what the
   * cluster's nodes were configured with, to refuse what a running cluster cannot take
   * (`cluster-network-changed`, `talos-upgrade-path`, `kubernetes-upgrade-path`), and the root
   * Application it was given by hand (`root-application-changed`, a warning). Without it nothing
   * is compared.
   */
  readonly previousCluster?: (cluster: string) => ReadonlyMap<string, string> | undefined;
  /**
   * The clusters the last build wrote (the folders `clusters/<cluster>/` of a root Application
   * or a control-plane patch): one the definition no longer has is a warning (`cluster-removed`).
   * Without it nothing is compared.
   */
  readonly previousClusters?: readonly string[];
}

export interface GenerateOptions {
  /** The components (default: the registry). Tests add a component through this alone. */
  readonly registry?: Registry;
  /**
   * Tests only: what the system checks read, changed before they run (a fault of the generated
   * output reintroduced on purpose). Default: the output as generated.
   */
  readonly beforeSystemChecks?: (input: SystemInput) => SystemInput;
}

export interface GenerateResult {
  /** Every generated file, sorted by path; empty when there are errors. */
  readonly files: GeneratedFile[];
  /** Every issue, errors and warnings, positioned, sorted and de-duplicated. */
  readonly issues: Issue[];
  readonly platform?: ResolvedPlatform;
  /** What the components declared and rendered (for reports). */
  readonly components?: ComponentsResult;
  /** The system checks' report sections (`validate --report`), computed when called. */
  readonly reports?: () => SystemReport[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKubeObject(value: unknown): value is KubeObject {
  return (
    isObject(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isObject(value.metadata)
  );
}

/**
 * A chart's values on one cluster as Helm merges them for its Application (the environment and
 * cluster layers over the base), or `undefined` when the chart is not on that cluster.
 */
function clusterValues(spec: ChartSpec, cluster: ResolvedCluster): Values | undefined {
  const clusterLayer = spec.clusters[cluster.name];
  if (clusterLayer === undefined) return undefined;
  const envLayer = spec.environments[cluster.environment];
  return mergeValuesShared(spec.values, ...(envLayer ? [envLayer] : []), clusterLayer);
}

/**
 * The `manifests` a chart's values render on one cluster (its environment and cluster layers
 * merged over the base as Helm merges them), or `undefined` when the chart is not on that
 * cluster. Merged once per chart and cluster: the output validation and the system checks both
 * read it, neither changes it.
 */
type RenderedManifests = (spec: ChartSpec, cluster: ResolvedCluster) => unknown;

function renderedManifests(): RenderedManifests {
  const merged = new Map<ChartSpec, Map<string, unknown>>();
  return (spec, cluster) => {
    let byCluster = merged.get(spec);
    if (byCluster === undefined) {
      byCluster = new Map();
      merged.set(spec, byCluster);
    }
    if (byCluster.has(cluster.name)) return byCluster.get(cluster.name);
    const rendered = clusterValues(spec, cluster)?.manifests;
    byCluster.set(cluster.name, rendered);
    return rendered;
  };
}

/**
 * Where manifest `name` of a chart is on a cluster, as issues name it:
 * `charts/<chart>/<layer>#manifests.<name>`, the layer that gives it (`manifestLayer`).
 */
type ManifestSource = (spec: ChartSpec, cluster: ResolvedCluster, name: string) => string;

/**
 * `ManifestSource`, one string per chart, layer and name: most objects of a fleet sit in an
 * environment's layer (core layers.ts), the same place on each of its clusters, and the system
 * checks hold the source of every object on every cluster until the build ends (a fleet of 100
 * clusters: 19,000 sources, 1,400 of them distinct).
 */
function manifestSources(): ManifestSource {
  const bySpec = new Map<ChartSpec, Map<string, string>>();
  return (spec, cluster, name) => {
    let sources = bySpec.get(spec);
    if (sources === undefined) {
      sources = new Map();
      bySpec.set(spec, sources);
    }
    const place = `${manifestLayer(spec, cluster, name)}#manifests.${name}`;
    let source = sources.get(place);
    if (source === undefined) {
      source = `charts/${spec.name}/${place}`;
      sources.set(place, source);
    }
    return source;
  };
}

/**
 * The objects a chart renders, per value-file set Argo CD uses (each cluster's environment and
 * cluster layers over the base), de-duplicated: identical objects are validated once. `origin`
 * gives the place of the definition each cluster's objects come from.
 */
function chartManifests(
  spec: ChartSpec,
  platform: ResolvedPlatform,
  origin: (cluster: number) => readonly PathSegment[],
  render: RenderedManifests,
  sourceOf: ManifestSource,
): { manifests: SourcedObject[]; issues: Issue[] } {
  const seen = new Set<string>();
  const seenObjects = new Map<object, string>();
  const manifests: SourcedObject[] = [];
  const issues: Issue[] = [];
  for (const cluster of platform.clusters) {
    if (spec.clusters[cluster.name] === undefined) continue;
    const setOrigin = origin(cluster.index);
    const rendered = render(spec, cluster);
    if (rendered === undefined || rendered === null) continue;
    if (!isObject(rendered)) {
      issues.push(
        error({
          code: 'manifests-shape',
          path: setOrigin,
          output: `charts/${spec.name}/clusters/${cluster.name}.yaml#manifests`,
          message: 'is not a map of name to object',
          expected: 'manifests: {<name>: <Kubernetes object>}',
        }),
      );
      continue;
    }
    for (const name of Object.keys(rendered).sort()) {
      const object = rendered[name];
      if (object === null || object === undefined) continue;
      const source = sourceOf(spec, cluster, name);
      if (!isKubeObject(object)) {
        issues.push(
          error({
            code: 'manifests-shape',
            path: setOrigin,
            output: source,
            message: 'is not a Kubernetes object',
            expected: 'an object with apiVersion, kind and metadata',
          }),
        );
        continue;
      }
      // The same object under the same name (an environment's shared layer, merged without
      // copying for each of its clusters) is the same manifest: no need to serialise it.
      if (seenObjects.get(object) === name) continue;
      seenObjects.set(object, name);
      const key = `${name}\u0000${JSON.stringify(object)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      manifests.push({ source, object, origin: setOrigin });
    }
  }
  return { manifests, issues };
}

/** The objects a chart renders on one cluster (its layers merged as Helm merges them). */
function clusterObjects(
  spec: ChartSpec,
  cluster: ResolvedCluster,
  render: RenderedManifests,
  sourceOf: ManifestSource,
): DeployedObject[] {
  const rendered = render(spec, cluster);
  if (!isObject(rendered)) return [];
  return Object.keys(rendered)
    .sort()
    .flatMap((name) => {
      const object = rendered[name];
      return isKubeObject(object)
        ? [
            {
              object,
              source: sourceOf(spec, cluster, name),
            },
          ]
        : [];
    });
}

/**
 * The section of the backups' disaster-recovery runbook that replaces a protected volume's claim
 * (packages/backups `MOVE_VOLUME_HEADING`; a test holds the two together): the way to move a
 * volume that a claim's immutable fields leave.
 */
const MOVED_CLAIM = "Moving a volume's claim";

/** A chart's generated files (`charts/<chart>/`, paths relative to it), gathered once per chart. */
type ChartFolder = (chart: string) => ReadonlyMap<string, string>;

function chartFolders(files: readonly GeneratedFile[]): ChartFolder {
  return remembered((chart) => {
    const prefix = `charts/${chart}/`;
    return new Map(
      files
        .filter((file) => file.path.startsWith(prefix))
        .map((file) => [file.path.slice(prefix.length), file.content]),
    );
  });
}

/**
 * What a chart renders from the files the last build wrote (`previous`, its folder) with
 * `layers` (value files of that folder), `undefined` where they do not render: rendered once per
 * chart and layers, for every comparison that asks. The values only: the schema is the build's
 * own, checked on the new layers, so the old render costs no schema validation.
 */
type PreviousRender = (
  chart: string,
  previous: ReadonlyMap<string, string>,
  layers: readonly string[],
) => { readonly objects: KubeObject[]; readonly values: Values } | undefined;

function previousRenders(): PreviousRender {
  const rendered = new Map<string, { objects: KubeObject[]; values: Values } | undefined>();
  return (chart, previous, layers) => {
    const key = [chart, ...layers].join('\u0000');
    if (!rendered.has(key)) {
      const old = new Map([...previous].filter(([path]) => path !== 'values.schema.json'));
      try {
        rendered.set(key, renderChart(old, layers, { root: '' }));
      } catch {
        rendered.set(key, undefined);
      }
    }
    return rendered.get(key);
  };
}

/**
 * A change the API server refuses to apply, found by rendering the chart as the last build wrote
 * it and as it is now, per cluster (its environment and cluster layers, as its Application
 * lists them): the commit would never sync (Argo CD retries the refused apply without end, the
 * Application OutOfSync). A claim's storage class, access modes or a smaller size are the usual
 * cause (a volume's `tier`, `accessMode`, `size` in the definition); the claim must be replaced
 * instead (a volume with backups: refilled from a backup taken just before, `MOVED_CLAIM`), any
 * other object made under a new name. A chart or cluster layer the last build did not write, or
 * one it cannot render, is new: nothing to compare.
 */
function immutableFieldIssues(
  spec: ChartSpec,
  component: string | undefined,
  origins: ManifestOrigins | undefined,
  platform: ResolvedPlatform,
  render: RenderedManifests,
  previous: ReadonlyMap<string, string> | undefined,
  folder: ChartFolder,
  previousRender: PreviousRender,
  previousPlatform: ReadonlyMap<string, string> | undefined,
  ignoredOn: (cluster: string) => readonly Values[] = () => [],
): Issue[] {
  if (previous === undefined) return [];
  const now = folder(spec.name);
  const issues: Issue[] = [];
  for (const cluster of platform.clusters) {
    const clusterLayer = `clusters/${cluster.name}.yaml`;
    if (spec.clusters[cluster.name] === undefined || !previous.has(clusterLayer)) continue;
    // A cluster moved to another environment ran the old environment's layer, which the new
    // one does not name (the Applications of charts/platform list each cluster's layers): the
    // objects deployed are unknown, so nothing is compared.
    const deployedEnvironments = new Set(
      [...(previousPlatform?.get(clusterLayer) ?? '').matchAll(/\benv\/([a-z-]+)\.yaml\b/g)].map(
        (match) => match[1],
      ),
    );
    if (deployedEnvironments.size > 0 && !deployedEnvironments.has(cluster.environment)) continue;
    const layers = [`env/${cluster.environment}.yaml`, clusterLayer].filter((file) =>
      previous.has(file),
    );
    // Layers as the last build wrote them render what it rendered.
    if (['values.yaml', ...layers].every((file) => previous.get(file) === now.get(file))) continue;
    // Each object with its manifest key, which names its origin (what the component said of it).
    const rendered = render(spec, cluster);
    const keys = new Map<KubeObject, string>();
    if (isObject(rendered)) {
      for (const [key, object] of Object.entries(rendered)) {
        if (isKubeObject(object) && hasImmutableFields(object)) keys.set(object, key);
      }
    }
    const after = [...keys.keys()];
    if (after.length === 0) continue;
    const clusterOrigins = origins?.[cluster.name];
    const fallback =
      component === undefined ? ['clusters', cluster.index] : settingsPath(cluster, component);
    const before = previousRender(spec.name, previous, layers)?.objects;
    if (before === undefined) continue;
    // Fields the chart's Application ignores (RespectIgnoreDifferences): Argo CD keeps the live value.
    for (const change of immutableChanges(before, after, ignoredOn(cluster.name))) {
      const key = keys.get(change.subject);
      // The setting the user changed (a volume's tier, size), where the component says which
      // one made the field; else the component's settings on the cluster.
      const origin = fieldOrigin(
        key === undefined ? undefined : clusterOrigins?.[key],
        change.field,
      );
      issues.push(
        error({
          code: 'immutable-field-changed',
          path: origin === undefined ? fallback : [...origin],
          // The chart, not the cluster's layer: one change on several clusters reads once
          // (mergeClusterIssues), `on clusters "dev", "prod" and "staging"`.
          output: `charts/${spec.name}`,
          value: change.after as JsonValue,
          message: `would change ${change.object}'s ${change.field} on cluster "${cluster.name}", which the last build wrote as ${JSON.stringify(change.before)} (its charts in the output folder, which Argo CD deploys once committed); the API server never updates that field of a deployed object (${change.refusal}), so Argo CD would retry the refused apply without end and the Application stay OutOfSync`,
          expected: `${JSON.stringify(change.before)} while the object is deployed; ${change.subject.kind === 'PersistentVolumeClaim' ? `to change it, the claim is replaced: a volume with backups moves with its data ("${MOVED_CLAIM}" in clusters/<cluster>/disaster-recovery.md: a backup now, this change built with --allow-immutable-changes, the new claim filled from that backup), a volume without starts empty (a new name too)` : 'to change it, a new object under a new name, then remove the old one'}. Where the last build's object was never synced to the cluster, or you deleted it from the cluster first, build with --allow-immutable-changes (it skips this comparison with the last build)`,
        }),
      );
    }
  }
  return issues;
}

/**
 * What each cluster's objects change against the last build: per cluster, the objects of every
 * chart whose layers changed, rendered as the last build wrote them (the environment layer its
 * Application lists there) and as they are now, handed to the volume-claim comparison
 * (`claim-changes.ts`: a claim moved to another namespace, an error; otherwise left on the
 * cluster, a warning) and to every component's `changes` checks. A chart no longer on the
 * cluster renders nothing now; a cluster layer the last build did not write, or one it cannot
 * render, has nothing to compare.
 */
function changeIssues(
  charts: readonly {
    readonly spec: ChartSpec;
    readonly component: string | undefined;
    readonly origins?: ManifestOrigins | undefined;
  }[],
  platform: ResolvedPlatform,
  render: RenderedManifests,
  previousChart: (chart: string) => ReadonlyMap<string, string> | undefined,
  folder: ChartFolder,
  previousRender: PreviousRender,
  checks: readonly ChangeCheck[],
  removedCharts: readonly { readonly name: string; readonly component: string | undefined }[] = [],
  projectOwners: (cluster: string) => readonly string[] = () => [],
): Issue[] {
  const previousPlatform = previousChart(PLATFORM_CHART);
  const issues: Issue[] = [];
  for (const cluster of platform.clusters) {
    const clusterLayer = `clusters/${cluster.name}.yaml`;
    // The environment layer the cluster's Applications list in the last build's charts/platform.
    const deployed = /\benv\/([a-z-]+)\.yaml\b/.exec(
      previousPlatform?.get(clusterLayer) ?? '',
    )?.[1];
    const before: ChangedObject[] = [];
    const after: ChangedObject[] = [];
    const beforeValues = new Map<string, Values>();
    const afterValues = new Map<string, Values>();
    const components = new Map<string, string | undefined>();
    for (const { spec, component, origins } of charts) {
      const previous = previousChart(spec.name);
      if (previous === undefined || !previous.has(clusterLayer)) continue;
      components.set(spec.name, component);
      const oldLayers = [`env/${deployed ?? cluster.environment}.yaml`, clusterLayer].filter(
        (file) => previous.has(file),
      );
      const now = folder(spec.name);
      const newLayers = [`env/${cluster.environment}.yaml`, clusterLayer];
      if (
        oldLayers.length === newLayers.length &&
        oldLayers.every((file, index) => file === newLayers[index]) &&
        ['values.yaml', ...oldLayers].every((file) => previous.get(file) === now.get(file))
      ) {
        continue;
      }
      const last = previousRender(spec.name, previous, oldLayers);
      if (last === undefined) continue;
      for (const object of last.objects) before.push({ chart: spec.name, object });
      beforeValues.set(spec.name, last.values);
      const values = clusterValues(spec, cluster);
      if (values === undefined) continue;
      afterValues.set(spec.name, values);
      const rendered = render(spec, cluster);
      if (!isObject(rendered)) continue;
      for (const [key, object] of Object.entries(rendered)) {
        if (!isKubeObject(object)) continue;
        const origin = origins?.[cluster.name]?.[key]?.path;
        after.push({ chart: spec.name, object, ...(origin === undefined ? {} : { origin }) });
      }
    }
    // A chart the build no longer writes at all (the last application removed, a component
    // disabled everywhere): what it deployed on the cluster is gone, as a cluster layer dropped.
    for (const { name, component } of removedCharts) {
      const previous = previousChart(name);
      if (previous === undefined || !previous.has(clusterLayer)) continue;
      const oldLayers = [`env/${deployed ?? cluster.environment}.yaml`, clusterLayer].filter(
        (file) => previous.has(file),
      );
      const last = previousRender(name, previous, oldLayers);
      if (last === undefined) continue;
      for (const object of last.objects) before.push({ chart: name, object });
      beforeValues.set(name, last.values);
      components.set(name, component);
    }
    if (before.length === 0) continue;
    for (const check of checks) {
      issues.push(...check.check({ cluster, before, after, beforeValues, afterValues }));
    }
    // The workload projects gone: at the settings of the component that declares the cluster's
    // (the only one), else at the cluster.
    const owners = projectOwners(cluster.name);
    issues.push(
      ...projectChangeIssues(
        cluster,
        before,
        after,
        owners.length === 1 && owners[0] !== undefined
          ? settingsPath(cluster, owners[0])
          : ['clusters', cluster.index],
      ),
    );
    issues.push(
      ...claimChangeIssues(cluster, before, after, (chart) => {
        const component = components.get(chart);
        return component === undefined
          ? ['clusters', cluster.index]
          : settingsPath(cluster, component);
      }),
    );
  }
  return issues;
}

/** `read` called once per name; later calls return the first answer. */
function remembered<T>(read: (name: string) => T): (name: string) => T {
  const answers = new Map<string, T>();
  return (name) => {
    if (!answers.has(name)) answers.set(name, read(name));
    return answers.get(name) as T;
  };
}

/**
 * The revision each CRD bundle Application of a cluster layer of charts/platform has, as the last
 * build wrote it: by the bundle's name (the Application's `app.kubernetes.io/component` label).
 */
function deployedBundleRevisions(layer: string | undefined): Map<string, string> {
  const revisions = new Map<string, string>();
  if (layer === undefined) return revisions;
  let values: unknown;
  try {
    values = parseYaml(layer);
  } catch {
    return revisions;
  }
  const manifests = (values as { manifests?: unknown } | null)?.manifests;
  if (typeof manifests !== 'object' || manifests === null) return revisions;
  for (const object of Object.values(manifests)) {
    const app = object as {
      kind?: unknown;
      metadata?: { labels?: Record<string, unknown> };
      spec?: { source?: { targetRevision?: unknown } };
    } | null;
    const name = app?.metadata?.labels?.['app.kubernetes.io/component'];
    const revision = app?.spec?.source?.targetRevision;
    if (app?.kind === 'Application' && typeof name === 'string' && typeof revision === 'string') {
      revisions.set(name, revision);
    }
  }
  return revisions;
}

/**
 * A CRD bundle the last build deployed at or above its `noDowngradeBelow` version, now pinned
 * below it (the Gateway API of a cluster moved from Cilium 1.20 back to 1.19): the cluster refuses
 * the older CRDs, so its Application's sync would fail without end and the component that needs
 * them (Cilium's operator) start without them. Compared with charts/platform as the last build
 * wrote it (the bundle Applications' `targetRevision`); a revision that is no version is not
 * compared.
 */
function crdBundleDowngrades(
  runs: readonly {
    readonly cluster: ResolvedCluster;
    readonly contributions: ReadonlyMap<string, ClusterContribution>;
  }[],
  previousPlatform: ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  if (previousPlatform === undefined) return [];
  const issues: Issue[] = [];
  for (const { cluster, contributions } of runs) {
    // Only a bundle now below its floor can have come down; an unchanged layer moved nothing.
    const below = [...contributions.values()].some((contribution) =>
      (contribution.crds ?? []).some((bundle) => atOrAboveFloor(bundle) === false),
    );
    const layer = `clusters/${cluster.name}.yaml`;
    const previous = previousPlatform.get(layer);
    if (!below || previous === undefined) continue;
    const now = files.find((file) => file.path === `charts/${PLATFORM_CHART}/${layer}`)?.content;
    if (now === previous) continue;
    const deployed = deployedBundleRevisions(previous);
    if (deployed.size === 0) continue;
    for (const [component, contribution] of contributions) {
      for (const bundle of contribution.crds ?? []) {
        const floor = bundle.noDowngradeBelow;
        const before = deployed.get(bundle.name);
        if (floor === undefined || before === undefined) continue;
        if (!crossesFloorDownwards(bundle, before)) continue;
        issues.push(
          error({
            code: 'crd-bundle-downgrade',
            path: settingsPath(cluster, component, 'version'),
            output: `charts/${PLATFORM_CHART}`,
            value: bundle.version,
            message: `would take ${bundle.name} on cluster "${cluster.name}" from ${before}, which the last build wrote (its charts in the output folder, which Argo CD deploys once committed), back to ${bundle.version}; a cluster that synced ${floor.version} or later refuses that: ${floor.why}. The Application's sync would fail without end`,
            expected: `${bundle.name} at ${floor.version} or later where a cluster ran it (the ${component} version that brought ${before}); to go back anyway: build with --allow-immutable-changes, commit and push, then on the cluster run ${floor.undo.map((command) => `\`${command}\``).join(', ')}, and Argo CD's sync retries apply ${bundle.version} (where the last build's ${before} never reached the cluster, --allow-immutable-changes alone)`,
          }),
        );
      }
    }
  }
  return issues;
}

/**
 * One error per mistake: a literal secret the scan finds at the very character (path, line and
 * column) where another error points inside the value (`within`: a check that read the value
 * line by line, such as a PEM private key pasted into `caCertificates`, refused as no
 * certificate with what belongs there) is that error's to report; the scan's generic advice to
 * reference a Secret is dropped. The value stays masked (`maskIssues`). The other way round, the
 * schema's "does not have the expected form" or "is a string" (core FORM_MESSAGE, typeMessage) at the path of a scan finding is
 * dropped: the value is a secret (a password where a Bitwarden id or a Secret reference goes,
 * credentials in a URL), which the scan's error says with what goes there. A scan finding beside
 * any other error (an unknown key) is kept.
 */
function onceAtTheirPlace(issues: readonly Issue[], findings: readonly SecretFinding[]): Issue[] {
  const scanned = new Set(findings.map((finding) => finding.issue));
  // The schema's "does not have the expected form" of a value the scan calls a secret (a password
  // pasted where a Bitwarden id or a Secret reference goes, credentials in a URL), or its "is a
  // string" where a reference mapping goes, is the same mistake: the scan's error says what it
  // is and what goes there instead.
  const secretPaths = new Set(
    findings
      .filter((finding) => finding.issue.path.length > 0)
      .map((f) => formatPath(f.issue.path)),
  );
  const sameValue = (issue: Issue): boolean =>
    issue.code === 'schema' &&
    (issue.message === FORM_MESSAGE || issue.message === typeMessage('')) &&
    secretPaths.has(formatPath(issue.path));
  const place = (issue: Issue): string | undefined =>
    issue.position === undefined
      ? undefined
      : `${formatPath(issue.path)}@${issue.position.line}:${issue.position.column}`;
  const taken = new Set(
    issues
      .filter(
        (issue) => issue.severity === 'error' && issue.within !== undefined && !scanned.has(issue),
      )
      .map(place)
      .filter((key) => key !== undefined),
  );
  return issues.filter((issue) => {
    if (!scanned.has(issue)) return !sameValue(issue);
    const key = place(issue);
    return key === undefined || !taken.has(key);
  });
}

/** Loader issues that refuse a file before reading its content (size, nesting, aliases). */
const RESOURCE_LIMITS = new Set([
  'yaml-too-large',
  'too-large',
  'yaml-too-deep',
  'yaml-alias-limit',
]);

function byPath(a: GeneratedFile, b: GeneratedFile): number {
  // Code-unit order: independent of locale.
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * load → resolve → components → assemblers → chart files → output validation → secret scan.
 * Issues of every stage that could run are collected, each with the definition's file:line:col;
 * files are returned only when there is no error.
 */
export async function generate(
  input: GenerateInput,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  const registry = options.registry ?? REGISTRY;
  const issues: Issue[] = [];
  const findings: SecretFinding[] = [];

  const validators = validatorsFor(registry);
  const text = normaliseLineEnds(input.text);
  const loaded = loadDefinition(text, input.file, validators.definition);
  // A literal secret in the definition is an error wherever it is, even where the schema allows
  // it; a file refused for its sheer size or shape is not scanned (nothing of it is used).
  if (!loaded.issues.some((issue) => RESOURCE_LIMITS.has(issue.code))) {
    findings.push(...findSecrets([{ path: input.file, content: text }], { positions: true }));
    issues.push(...findings.map((finding) => finding.issue));
  }
  issues.push(...loaded.issues);
  const definition = loaded.definition;
  let reports: (() => SystemReport[]) | undefined;
  const finish = (
    files: GeneratedFile[],
    platform?: ResolvedPlatform,
    components?: ComponentsResult,
  ): GenerateResult => {
    const positioned = onceAtTheirPlace(
      definition !== undefined && loaded.locate !== undefined
        ? positionIssues(issues, definition, loaded.locate)
        : issues,
      findings,
    );
    // No issue prints a secret the scan found, nor a value under a secret-like key.
    // One cause on several clusters reads once (`on clusters "dev", "prod" and "staging"`).
    const sorted = mergeClusterIssues(sortIssues(maskIssues(positioned, findings)));
    return {
      files: hasErrors(sorted) ? [] : files.sort(byPath),
      issues: sorted,
      ...(platform ? { platform } : {}),
      ...(components ? { components } : {}),
      ...(reports ? { reports } : {}),
    };
  };
  if (definition === undefined || hasErrors(loaded.issues)) return finish([]);

  const platform = resolvePlatform(definition);
  const components = runComponents(platform, registry, { validateSettings: validators.settings });
  issues.push(...components.issues);

  const applications = assembleApplications(platform, components, {
    gitopsProviders: registry
      .filter((component) => component.provides.includes('gitops'))
      .map((component) => component.name),
  });
  issues.push(...applications.issues);
  const talos = renderTalos(platform, components, {
    generatedBy: GENERATED_BY,
    ...(input.source === undefined ? {} : { definition: input.source }),
    firstSteps: applications.firstSteps,
    finalSteps: applications.bootstrap,
    gitops: Object.fromEntries(
      Object.entries(applications.deployed).map(([cluster, deployed]) => [
        cluster,
        { root: rootApplicationName({ name: cluster }), applications: deployed },
      ]),
    ),
  });
  issues.push(...talos.issues);

  const files: GeneratedFile[] = [...applications.files, ...talos.files];
  // Each chart with what an environment's clusters share in its environment layer (core
  // layers.ts): what Helm renders stays the same, the fleet's files shrink.
  const environmentOf = new Map(
    platform.clusters.map((cluster) => [cluster.name, cluster.environment]),
  );
  const shared = (spec: ChartSpec): ChartSpec =>
    shareEnvironmentValues(spec, (cluster) => environmentOf.get(cluster));
  const charts: {
    spec: ChartSpec;
    component: string | undefined;
    origins?: ManifestOrigins | undefined;
  }[] = [
    ...components.components.flatMap((run) =>
      run.output.chart
        ? [
            {
              spec: shared(run.output.chart),
              component: run.component.name,
              origins: run.output.origins,
            },
          ]
        : [],
    ),
    ...(applications.chart ? [{ spec: shared(applications.chart), component: undefined }] : []),
  ];
  for (const run of components.components) files.push(...(run.output.files ?? []));

  const manifests: SourcedObject[] = [];
  const render = renderedManifests();
  const sourceOf = manifestSources();
  for (const { spec, component } of charts) {
    const chart = chartFiles(spec, input.chartVersions[spec.name] ?? DEFAULT_CHART_VERSION, {
      command: GENERATED_BY,
    });
    files.push(...chart.files);
    const chartOrigin: readonly PathSegment[] =
      component === undefined ? ['clusters'] : ['components', component];
    issues.push(
      ...chart.issues.map((issue) =>
        issue.path.length > 0 ? issue : { ...issue, path: chartOrigin },
      ),
    );
    const rendered = chartManifests(
      spec,
      platform,
      (index) => {
        const cluster = platform.clusters[index];
        return component === undefined || cluster === undefined
          ? ['clusters', index]
          : settingsPath(cluster, component);
      },
      render,
      sourceOf,
    );
    manifests.push(...rendered.manifests);
    issues.push(...rendered.issues);
  }
  // The CLI reads a chart's or a cluster's folder on each call; the comparisons below ask for
  // each many times (per cluster, per check): read each once.
  const previousChart = input.previousChart && remembered(input.previousChart);
  const previousCluster = input.previousCluster && remembered(input.previousCluster);
  const folder = chartFolders(files);
  const previousRender = previousRenders();
  if (previousChart !== undefined) {
    for (const { spec, component, origins } of charts) {
      issues.push(
        ...immutableFieldIssues(
          spec,
          component,
          origins,
          platform,
          render,
          previousChart(spec.name),
          folder,
          previousRender,
          previousChart(PLATFORM_CHART),
          (cluster) =>
            component === undefined
              ? []
              : (components.clusters
                  .find((run) => run.cluster.name === cluster)
                  ?.contributions.get(component)?.application?.ignoreDifferences ?? []),
        ),
      );
    }
  }
  if (previousChart !== undefined) {
    issues.push(
      ...changeIssues(
        charts,
        platform,
        render,
        previousChart,
        folder,
        previousRender,
        registry.flatMap((component) => component.changes ?? []),
        Object.keys(input.chartVersions)
          .filter(
            (name) => name !== PLATFORM_CHART && !charts.some((chart) => chart.spec.name === name),
          )
          .sort(compareStrings)
          // A component of the registry named as its chart (applications, backups…) is where the
          // issues go; another chart's (argo-cd, sm-operator) go to the cluster.
          .map((name) => ({
            name,
            component: registry.some((entry) => entry.name === name) ? name : undefined,
          })),
        (cluster) =>
          [
            ...(components.clusters.find((run) => run.cluster.name === cluster)?.contributions ??
              []),
          ]
            .filter(([, contribution]) => contribution.workloadProjects !== undefined)
            .map(([component]) => component),
      ),
    );
    issues.push(...crdBundleDowngrades(components.clusters, previousChart(PLATFORM_CHART), files));
    issues.push(...chartUpgradeIssues(charts, platform, previousChart));
  }
  if (previousCluster !== undefined) {
    issues.push(...clusterChangeIssues(platform, previousCluster));
    issues.push(...rootApplicationIssues(platform, previousCluster, files));
    issues.push(...installerIssues(platform, previousCluster, files));
    issues.push(...removedNodeIssues(platform, previousCluster));
    issues.push(...nodeRoleIssues(platform, previousCluster));
    issues.push(...nodeAddressIssues(platform, previousCluster));
    issues.push(...diskEncryptionIssues(platform, previousCluster, files));
    issues.push(...addedHandMadeSecretIssues(platform, previousCluster, files));
    issues.push(...applicationLoginIssues(platform, previousCluster, files));
  }
  if (input.previousClusters !== undefined) {
    issues.push(...removedClusterIssues(platform, input.previousClusters));
  }
  const componentValidators: ObjectValidator[] = registry.flatMap((component) => [
    ...(component.validators ?? []),
  ]);
  // Layer 4: the platform as Argo CD deploys it, wave by wave.
  const specs = new Map(charts.map(({ spec }) => [spec.name, spec]));
  const deployed: DeployedCluster[] = components.clusters.map((run) => ({
    cluster: run.cluster,
    run,
    namespaces: applications.namespaces[run.cluster.name] ?? [],
    applications: (applications.deployed[run.cluster.name] ?? []).map((app) => {
      const spec = app.chart === undefined ? undefined : specs.get(app.chart);
      return {
        ...app,
        objects: spec === undefined ? [] : clusterObjects(spec, run.cluster, render, sourceOf),
      };
    }),
  }));
  const checks: SystemCheck[] = [
    ...CORE_CHECKS,
    ...TALOS_CHECKS,
    ...registry.flatMap((component) => component.checks ?? []),
  ];
  const generated: SystemInput = { platform, clusters: deployed, files };
  const systemInput = options.beforeSystemChecks?.(generated) ?? generated;
  // A cluster where a component needs a capability nothing provides has its cause reported
  // (`capability-unprovided`); the platform checks there would only repeat it in other words
  // (without a secrets provider, every Secret a component reads is missing), so they run on the
  // other clusters.
  const needs = new Map(registry.map((component) => [component.name, component.needs]));
  const incomplete = new Set(
    components.clusters
      .filter((run) =>
        run.order.some((name) =>
          (needs.get(name) ?? []).some((capability) => !run.providers.has(capability)),
        ),
      )
      .map((run) => run.cluster.name),
  );
  issues.push(
    ...runSystemChecks(
      {
        ...systemInput,
        clusters: systemInput.clusters.filter((entry) => !incomplete.has(entry.cluster.name)),
      },
      checks,
    ),
  );
  reports = () => systemReports(systemInput, checks);
  issues.push(
    ...validateObjects(manifests, [
      ...(await loadModelValidators(manifests)),
      ...componentValidators,
    ]),
  );

  files.sort(byPath);
  for (let i = 1; i < files.length; i++) {
    const previous = files[i - 1];
    const current = files[i];
    if (previous && current && previous.path === current.path) {
      issues.push(
        error({
          code: 'duplicate-output',
          path: [],
          output: current.path,
          message: 'is generated twice; two generators claim the same file',
        }),
      );
    }
  }
  // A secret of the definition that reached the output is reported once, where it is written.
  const inDefinition = findings.map((finding) => finding.secret).filter((s) => s.length >= 3);
  const inOutput = findSecrets(
    files.map((file) => ({ path: file.path, content: file.content })),
  ).filter(
    (finding) =>
      !inDefinition.some(
        (secret) => finding.secret.includes(secret) || secret.includes(finding.secret),
      ),
  );
  findings.push(...inOutput);
  issues.push(...inOutput.map((finding) => finding.issue));
  return finish(files, platform, components);
}
