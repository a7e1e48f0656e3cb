// The build pipeline, written against an `Engine` so that it can be tested with fakes.
// `pipeline.ts` binds it to the real packages. Pure: no fs, no env, no clock.
import type {
  ChartSpec,
  Component,
  ComponentOutput,
  GeneratedFile,
  Issue,
  KubeObject,
  PlatformDefinition,
  ResolvedPlatform,
  TalosRequirements,
  Values,
} from '@homelab/core';
import { error, formatPath, hasErrors, normaliseLineEnds, sortIssues } from '@homelab/core';
import { findSecrets, maskIssues, type SecretFinding } from '../secrets.js';

export interface GenerateInput {
  /** The definition's text. */
  readonly text: string;
  /** Its file name, used in issue positions only (never in output). */
  readonly file: string;
  /** Current version of each chart (`charts/<chart>/package.json`), by chart name. */
  readonly chartVersions: Readonly<Record<string, string>>;
}

export interface GenerateResult {
  /** Every generated file, sorted by path; empty when there are errors. */
  readonly files: GeneratedFile[];
  /** Every issue, errors and warnings, sorted and de-duplicated. */
  readonly issues: Issue[];
  readonly platform?: ResolvedPlatform;
}

export interface FilesResult {
  readonly files: readonly GeneratedFile[];
  readonly issues: readonly Issue[];
}

/**
 * A rendered object to validate and where it comes from (core's `SourcedObject`): the chart,
 * the value file that selects it (Argo CD's last `helm.valueFiles` entry) and the manifest key,
 * e.g. `charts/cilium/clusters/dev.yaml#manifests.pool-default`.
 */
export interface ManifestToValidate {
  readonly source: string;
  readonly object: KubeObject;
}

/**
 * A stage that needs every component's output (argocd-apps: Applications from every descriptor;
 * bitwarden-sm: BitwardenSecrets from every secret requirement). Runs after the components.
 */
export interface Assembler {
  readonly name: string;
  assemble(platform: ResolvedPlatform, outputs: readonly ComponentOutput[]): ComponentOutput;
}

/** What the pipeline needs from the other packages. */
export interface Engine {
  loadDefinition(
    text: string,
    file: string,
  ): { readonly definition?: PlatformDefinition | undefined; readonly issues: readonly Issue[] };
  resolvePlatform(definition: PlatformDefinition): {
    readonly platform?: ResolvedPlatform | undefined;
    readonly issues: readonly Issue[];
  };
  readonly components: readonly Component[];
  readonly assemblers: readonly Assembler[];
  renderTalos(
    platform: ResolvedPlatform,
    requirementsByCluster: Readonly<Record<string, readonly TalosRequirements[]>>,
  ): FilesResult;
  chartFiles(spec: ChartSpec, version: string): FilesResult;
  /** Helm's merge: maps merge deeply, lists and scalars replace, `null` deletes. */
  mergeValues(layers: readonly Values[]): Values;
  /** Output validation; may load schemas on demand, hence a promise. */
  validateManifests(
    manifests: readonly ManifestToValidate[],
  ): Promise<readonly Issue[]> | readonly Issue[];
}

export const DEFAULT_CHART_VERSION = '0.1.0';

/** Loader issues that refuse a file before reading its content (size, nesting, aliases). */
const RESOURCE_LIMITS = new Set([
  'yaml-too-large',
  'too-large',
  'yaml-too-deep',
  'yaml-alias-limit',
]);

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
 * The objects a chart renders, per value-file set Argo CD uses (each cluster's environment and
 * cluster layers over the base), de-duplicated: identical objects are validated once.
 */
export function chartManifests(
  spec: ChartSpec,
  platform: ResolvedPlatform,
  mergeValues: Engine['mergeValues'],
): { manifests: ManifestToValidate[]; issues: Issue[] } {
  const layerSets: { label: string; layers: Values[] }[] = [];
  const clusterNames = Object.keys(spec.clusters);
  if (clusterNames.length > 0) {
    for (const cluster of platform.clusters) {
      const clusterLayer = spec.clusters[cluster.name];
      if (clusterLayer === undefined) continue;
      const envLayer = spec.environments[cluster.environment];
      layerSets.push({
        label: `clusters/${cluster.name}.yaml`,
        layers: [spec.values, ...(envLayer ? [envLayer] : []), clusterLayer],
      });
    }
  } else {
    const envs = Object.entries(spec.environments).filter(
      (entry): entry is [string, Values] => entry[1] !== undefined,
    );
    if (envs.length === 0) layerSets.push({ label: 'values.yaml', layers: [spec.values] });
    for (const [env, layer] of envs) {
      layerSets.push({ label: `env/${env}.yaml`, layers: [spec.values, layer] });
    }
  }
  const seen = new Set<string>();
  const manifests: ManifestToValidate[] = [];
  const issues: Issue[] = [];
  for (const { label, layers } of layerSets) {
    const merged = mergeValues(layers);
    const rendered = merged.manifests;
    if (rendered === undefined || rendered === null) continue;
    if (!isObject(rendered)) {
      issues.push(
        error({
          code: 'manifests-shape',
          path: `charts/${spec.name}/${label}#manifests`,
          message: 'is not a map of name to object',
          expected: 'manifests: {<name>: <Kubernetes object>}',
        }),
      );
      continue;
    }
    for (const name of Object.keys(rendered).sort()) {
      const object = rendered[name];
      if (object === null || object === undefined) continue;
      const path = `charts/${spec.name}/${label}#${formatPath(['manifests', name])}`;
      if (!isKubeObject(object)) {
        issues.push(
          error({
            code: 'manifests-shape',
            path,
            message: 'is not a Kubernetes object',
            expected: 'an object with apiVersion, kind and metadata',
          }),
        );
        continue;
      }
      const key = `${name}\u0000${JSON.stringify(object)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      manifests.push({ source: path, object });
    }
  }
  return { manifests, issues };
}

function byPath(a: GeneratedFile, b: GeneratedFile): number {
  // Code-unit order: independent of locale.
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * load → resolve → components → assemblers → talos-config → chart files → output validation →
 * secret scan → files sorted by path. Issues of every stage that could run are collected; files
 * are returned only when there is no error.
 */
export async function generateWith(engine: Engine, input: GenerateInput): Promise<GenerateResult> {
  const issues: Issue[] = [];
  const findings: SecretFinding[] = [];
  const done = (files: GeneratedFile[], platform?: ResolvedPlatform): GenerateResult => {
    // No issue prints a secret the scan found, nor a value under a secret-like key.
    const sorted = sortIssues(maskIssues(issues, findings));
    const result = { files: hasErrors(sorted) ? [] : files, issues: sorted };
    return platform ? { ...result, platform } : result;
  };

  const text = normaliseLineEnds(input.text);
  const loaded = engine.loadDefinition(text, input.file);
  // A literal secret in the definition is an error wherever it is, even where the schema allows
  // it; a file refused for its sheer size or shape is not scanned (nothing of it is used).
  if (!loaded.issues.some((issue) => RESOURCE_LIMITS.has(issue.code))) {
    findings.push(...findSecrets([{ path: input.file, content: text }], { positions: true }));
    issues.push(...findings.map((finding) => finding.issue));
  }
  issues.push(...loaded.issues);
  if (loaded.definition === undefined || hasErrors(loaded.issues)) return done([]);

  const resolved = engine.resolvePlatform(loaded.definition);
  issues.push(...resolved.issues);
  const platform = resolved.platform;
  if (platform === undefined || hasErrors(resolved.issues)) return done([], platform);

  const outputs: ComponentOutput[] = engine.components.map((component) =>
    component.render(platform),
  );
  for (const assembler of engine.assemblers) outputs.push(assembler.assemble(platform, outputs));
  for (const output of outputs) issues.push(...output.issues);
  const files: GeneratedFile[] = outputs.flatMap((output) => output.files ?? []);

  const requirementsByCluster: Record<string, TalosRequirements[]> = {};
  for (const cluster of platform.clusters) requirementsByCluster[cluster.name] = [];
  for (const output of outputs) {
    for (const [cluster, contribution] of Object.entries(output.clusters)) {
      if (contribution.talos === undefined) continue;
      const list = requirementsByCluster[cluster];
      if (list === undefined) {
        issues.push(
          error({
            code: 'unknown-cluster',
            path: `components.${output.component}`,
            message: `contributes to cluster "${cluster}", which the definition does not declare`,
            value: cluster,
          }),
        );
        continue;
      }
      list.push(contribution.talos);
    }
  }

  const talos = engine.renderTalos(platform, requirementsByCluster);
  files.push(...talos.files);
  issues.push(...talos.issues);

  const manifests: ManifestToValidate[] = [];
  for (const output of outputs) {
    const spec = output.chart;
    if (spec === undefined) continue;
    const chart = engine.chartFiles(spec, input.chartVersions[spec.name] ?? DEFAULT_CHART_VERSION);
    files.push(...chart.files);
    issues.push(...chart.issues);
    const rendered = chartManifests(spec, platform, engine.mergeValues);
    manifests.push(...rendered.manifests);
    issues.push(...rendered.issues);
  }
  issues.push(...(await engine.validateManifests(manifests)));

  files.sort(byPath);
  for (let i = 1; i < files.length; i++) {
    const previous = files[i - 1];
    const current = files[i];
    if (previous && current && previous.path === current.path) {
      issues.push(
        error({
          code: 'duplicate-output',
          path: current.path,
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
  return done(files, platform);
}
