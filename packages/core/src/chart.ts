// The files of a wrapper chart (DESIGN.md, "Chart shape"). Pure: returns data, writes nothing.
import { emitValuesFile } from './emitted.js';
import { MANIFESTS_TEMPLATE, mergeValuesShared } from './helm.js';
import { error, formatPath, type Issue, warning } from './issues.js';
import { isJsonTable as isTable } from './json-access.js';
import { renderReadme } from './readme-template.js';
import type { ChartSpec, EnvironmentName, GeneratedFile, JsonValue, Values } from './types.js';
import { ENVIRONMENTS } from './types.js';
import { upgradePathReadme } from './upgrade-paths.js';
import {
  compareStrings,
  DEFAULT_GENERATED_BY,
  generatedHeader,
  templateMarkerIssues,
  toJson,
} from './yaml.js';

export interface ChartFilesOptions {
  /** The command named in every file's generated-by line. Default `pnpm build`. */
  readonly command?: string;
}

export interface ChartFiles {
  readonly files: GeneratedFile[];
  readonly issues: Issue[];
}

/** Version of a chart's package.json when the writer creates it. */
export const INITIAL_CHART_VERSION = '0.1.0';

/** Workspace package name of `charts/<chart>`: `@homelab/chart-<chart>`. */
export function chartPackageName(chart: string): string {
  return `@homelab/chart-${chart}`;
}

/**
 * The package.json the writer creates once, when `charts/<chart>` first appears. It has no
 * generated-by marker: from then on it belongs to changesets (which bumps `version`).
 */
export function chartPackageJson(chart: string): string {
  const content = { name: chartPackageName(chart), version: INITIAL_CHART_VERSION, private: true };
  return `${JSON.stringify(content, null, 2)}\n`;
}

/**
 * Lines of every chart's .helmignore after the generated-by line. Never `*.tgz`: Helm applies
 * .helmignore to `charts/<dependency>-<version>.tgz` as well (pkg/chart/loader `LoadDir`), so a
 * `*.tgz` rule drops the upstream chart that `helm dependency build` put there and every
 * `helm install` or Argo CD sync fails with "found in Chart.yaml, but missing in charts/
 * directory". `Chart.lock` and `charts/` stay in the package: they are the dependency.
 */
const HELMIGNORE = [
  '# Files changesets and pnpm own: not part of the packaged chart.',
  'package.json',
  'CHANGELOG.md',
  'node_modules/',
  '# VCS, editors, OS',
  '.git/',
  '.gitignore',
  '.DS_Store',
  '*.swp',
  '*.bak',
  '*.tmp',
  '*.orig',
  '*~',
  '.idea/',
  '.vscode/',
];

/** The files of every chart besides its env/ and clusters/ layers, as `chartFiles` writes them. */
const FIXED_FILES = [
  'Chart.yaml',
  'values.yaml',
  'values.schema.json',
  'templates/manifests.yaml',
  '.helmignore',
  'README.md',
];

/**
 * The paths `chartFiles(spec, …)` returns, without generating any content: what an Application
 * may point at (argocd-apps checks its value files against them).
 */
export function chartFilePaths(spec: ChartSpec): string[] {
  return [
    ...FIXED_FILES,
    ...ENVIRONMENTS.map((env) => `env/${env}.yaml`),
    ...Object.keys(spec.clusters).map((cluster) => `clusters/${cluster}.yaml`),
  ]
    .map((file) => `charts/${spec.name}/${file}`)
    .sort(compareStrings);
}

/**
 * The files of `charts/<spec.name>/` for chart version `version` (the chart's package.json
 * version): Chart.yaml, values.yaml, env/<environment>.yaml for every environment (an empty
 * layer is still written: Argo CD Applications list it), clusters/<cluster>.yaml,
 * values.schema.json, templates/manifests.yaml, .helmignore and README.md, each with a
 * generated-by first line (JSON: a `$comment` member). Problems of the spec (a `{{` in a value,
 * a top-level key the chart's schema does not know, a malformed manifest, a `null` that Helm
 * would not delete) are returned as issues; the files are returned all the same.
 */
export function chartFiles(
  spec: ChartSpec,
  version: string,
  options: ChartFilesOptions = {},
): ChartFiles {
  const command = options.command ?? DEFAULT_GENERATED_BY;
  const dir = `charts/${spec.name}`;
  const header = generatedHeader(command);
  const files: GeneratedFile[] = [];
  const issues: Issue[] = [];
  const add = (path: string, content: string): void => {
    files.push({ path: `${dir}/${path}`, content });
  };
  /** Adds a values file; returns whether a key or string of `values` contains `{{`. */
  const addValues = (path: string, values: Values): boolean => {
    const { file, templateMarker } = emitValuesFile(`${dir}/${path}`, values, { header });
    files.push(file);
    return templateMarker;
  };

  const base: Values = { ...spec.values, manifests: spec.values.manifests ?? {} };
  const envLayers = ENVIRONMENTS.map((env) => ({
    env,
    file: `env/${env}.yaml`,
    values: spec.environments[env] ?? {},
  }));
  const clusterLayers = Object.keys(spec.clusters)
    .sort(compareStrings)
    .map((cluster) => ({
      cluster,
      file: `clusters/${cluster}.yaml`,
      values: spec.clusters[cluster] ?? {},
    }));

  const allowedKeys = new Set(['global', 'manifests', ...Object.keys(spec.valuesSchema ?? {})]);
  if (spec.dependency) allowedKeys.add(spec.dependency.name);

  const layerIssues = (
    file: string,
    values: Values,
    isBase: boolean,
    templateMarker: boolean,
  ): void => {
    const where = `${dir}/${file}`;
    if (templateMarker) {
      issues.push(...templateMarkerIssues(values).map((issue) => prefixed(issue, where)));
    }
    for (const key of Object.keys(values).sort(compareStrings)) {
      if (!allowedKeys.has(key)) {
        issues.push(
          error({
            path: [],
            output: `${where}#${formatPath([key])}`,
            message: 'is not a key of this chart; values.schema.json refuses it',
            expected: [...allowedKeys].sort(compareStrings).join(', '),
            code: 'chart-unknown-key',
          }),
        );
      }
    }
    if (spec.dependency) {
      const dependencyValues = values[spec.dependency.name];
      if (dependencyValues !== undefined && !isTable(dependencyValues)) {
        issues.push(
          error({
            path: [],
            output: `${where}#${formatPath([spec.dependency.name])}`,
            message: 'holds the upstream chart values and must be a map',
            value: dependencyValues,
            code: 'chart-dependency-values',
          }),
        );
      }
    }
    issues.push(...manifestIssues(where, values.manifests, isBase ? undefined : base.manifests));
    if (isBase) issues.push(...baseNullWarnings(where, values));
  };

  // A values file, so that the checks reading Chart.yaml (its dependencies) get its data back
  // without parsing it (emitted.ts).
  addValues('Chart.yaml', chartYaml(spec, version));
  // Each layer's checks follow its emission, which tells whether the layer holds a `{{` at all
  // (sparing the marker check a walk of every layer). The checks throw nothing, so the result,
  // or the first emitter error, is what checking every layer and then emitting them gave.
  layerIssues('values.yaml', base, true, addValues('values.yaml', base));
  for (const layer of envLayers) {
    layerIssues(layer.file, layer.values, false, addValues(layer.file, layer.values));
  }
  for (const layer of clusterLayers) {
    layerIssues(layer.file, layer.values, false, addValues(layer.file, layer.values));
  }
  add('values.schema.json', toJson(valuesSchema(spec), command));
  add('templates/manifests.yaml', `${header}\n${MANIFESTS_TEMPLATE}`);
  add('.helmignore', `${[header, ...HELMIGNORE].join('\n')}\n`);
  add('README.md', readme(spec, version, command, base, envLayers, clusterLayers));

  files.sort((a, b) => compareStrings(a.path, b.path));
  return { files, issues };
}

function chartYaml(spec: ChartSpec, version: string): Values {
  const chart: Values = {
    apiVersion: 'v2',
    name: spec.name,
    description: spec.description,
    type: 'application',
    version,
    appVersion: spec.appVersion,
  };
  if (spec.dependency) {
    chart.dependencies = [
      {
        name: spec.dependency.name,
        version: spec.dependency.version,
        repository: spec.dependency.repository,
      },
    ];
  }
  return chart;
}

/**
 * values.schema.json, JSON Schema draft-07 (what every Helm 3 release validates with):
 * `manifests` is a map of objects with apiVersion, kind and metadata.name; the upstream
 * chart's key is a map (the upstream chart's own schema checks its content); `global` is
 * allowed (Helm passes it to subcharts); the chart's own keys come from `spec.valuesSchema`;
 * nothing else is accepted.
 */
export function valuesSchema(spec: ChartSpec): Values {
  const properties: Values = {
    global: { type: 'object', description: 'Helm global values, passed to subcharts.' },
    manifests: {
      type: 'object',
      description:
        'Extra Kubernetes objects by stable name; templates/manifests.yaml renders each entry.',
      additionalProperties: {
        type: 'object',
        required: ['apiVersion', 'kind', 'metadata'],
        properties: {
          apiVersion: { type: 'string', minLength: 1 },
          kind: { type: 'string', minLength: 1 },
          metadata: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
  };
  if (spec.dependency) {
    properties[spec.dependency.name] = {
      type: 'object',
      description: `Values of the upstream ${spec.dependency.name} chart ${spec.dependency.version}.`,
    };
  }
  for (const [key, schema] of Object.entries(spec.valuesSchema ?? {})) properties[key] = schema;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `Values of the ${spec.name} chart`,
    type: 'object',
    additionalProperties: false,
    properties,
  };
}

function prefixed(issue: Issue, where: string): Issue {
  return { ...issue, output: `${where}#${issue.output ?? ''}` };
}

function manifestIssues(
  where: string,
  manifests: JsonValue | undefined,
  baseManifests: JsonValue | undefined,
): Issue[] {
  if (manifests === undefined) return [];
  if (!isTable(manifests)) {
    return [
      error({
        path: [],
        output: `${where}#manifests`,
        message: 'is not a map of objects',
        value: manifests,
        expected: 'a map {<stable-name>: <object>} (a map so that layers merge)',
        code: 'manifest-shape',
      }),
    ];
  }
  // The issues in key order, as a walk of the sorted keys finds them: each key has one issue at
  // most, so the few found are sorted instead of the map's keys (hundreds in a chart's layer), and
  // an issue's output is only written for a key that has one.
  const found: { key: string; issue: Issue }[] = [];
  const isBase = baseManifests === undefined;
  for (const key of Object.keys(manifests)) {
    const entry = manifests[key];
    const inBase = isTable(baseManifests) && Object.hasOwn(baseManifests, key);
    if (entry === null) {
      if (isBase || !inBase) {
        found.push({
          key,
          issue: error({
            path: [],
            output: manifestOutput(where, key),
            message: isBase
              ? 'is null in values.yaml'
              : 'is null, but Helm deletes a key only where values.yaml defines it: this would render a "null" document',
            expected: 'an object, or null only for a manifest values.yaml defines',
            code: 'manifest-null',
          }),
        });
      }
      continue;
    }
    if (!isTable(entry)) {
      found.push({
        key,
        issue: error({
          path: [],
          output: manifestOutput(where, key),
          message: 'is not an object',
          value: entry,
          code: 'manifest-shape',
        }),
      });
      continue;
    }
    // An override of a manifest the base defines may be partial; anything else is whole.
    if (inBase) continue;
    const missing: string[] = [];
    if (typeof entry.apiVersion !== 'string' || entry.apiVersion === '') missing.push('apiVersion');
    if (typeof entry.kind !== 'string' || entry.kind === '') missing.push('kind');
    const metadata = entry.metadata;
    if (!isTable(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      missing.push('metadata.name');
    }
    if (missing.length > 0 && isBase) {
      found.push({
        key,
        issue: error({
          path: [],
          output: manifestOutput(where, key),
          message: `has no ${missing.join(', ')}`,
          expected: 'a Kubernetes object with apiVersion, kind and metadata.name',
          code: 'manifest-shape',
        }),
      });
    }
  }
  return found.sort((a, b) => compareStrings(a.key, b.key)).map(({ issue }) => issue);
}

function manifestOutput(where: string, key: string): string {
  return `${where}#${formatPath(['manifests', key])}`;
}

/** A `null` in values.yaml deletes nothing reliably (helm/helm#10812, #32132): say so. */
function baseNullWarnings(where: string, values: Values): Issue[] {
  const issues: Issue[] = [];
  const walk = (node: JsonValue, path: (string | number)[]): void => {
    if (node === null) {
      issues.push(
        warning({
          path: [],
          output: `${where}#${formatPath(path)}`,
          message:
            "is null in values.yaml; Helm does not reliably delete subchart defaults from a chart's own values.yaml",
          expected: 'the null in an env/ or clusters/ layer, or an explicit value',
          code: 'values-null-in-base',
        }),
      );
    } else if (isTable(node)) {
      for (const key of Object.keys(node).sort(compareStrings))
        walk(node[key] as JsonValue, [...path, key]);
    }
  };
  for (const key of Object.keys(values).sort(compareStrings)) {
    if (key !== 'manifests') walk(values[key] as JsonValue, [key]);
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// README

interface EnvLayer {
  readonly env: EnvironmentName;
  readonly file: string;
  readonly values: Values;
}
interface ClusterLayer {
  readonly cluster: string;
  readonly file: string;
  readonly values: Values;
}

function readme(
  spec: ChartSpec,
  version: string,
  command: string,
  base: Values,
  envLayers: readonly EnvLayer[],
  clusterLayers: readonly ClusterLayer[],
): string {
  const keysOf = (values: Values): string => {
    const keys = Object.keys(values).sort(compareStrings);
    return keys.length === 0 ? '(empty)' : keys.map((key) => `\`${cell(key)}\``).join(', ');
  };
  const layers = [
    { label: 'base', file: 'values.yaml', keys: keysOf(base) },
    ...envLayers.map((layer) => ({
      label: `environment ${layer.env}`,
      file: layer.file,
      keys: keysOf(layer.values),
    })),
    ...clusterLayers.map((layer) => ({
      label: `cluster ${layer.cluster}`,
      file: layer.file,
      keys: keysOf(layer.values),
    })),
  ];

  // Effective values (base merged with each environment layer) of the keys the environment
  // layers set, where they differ.
  const setKeys = new Set(
    envLayers.flatMap((layer) => [...flatten(withoutManifests(layer.values)).keys()]),
  );
  // Only read: the merge may share subtrees with the layers. Helm merges each top-level key on
  // its own, so the manifests (most of a chart's data) are left out before merging, not after.
  const baseValues = withoutManifests(base);
  const effective =
    setKeys.size === 0
      ? []
      : envLayers.map((layer) =>
          flatten(mergeValuesShared(baseValues, withoutManifests(layer.values))),
        );
  const envRows = [...setKeys]
    .sort(compareStrings)
    .map((key) => ({ key: cell(key), values: effective.map((map) => map.get(key)) }))
    .filter((row) => new Set(row.values.map((value) => value ?? '\u0000absent')).size > 1)
    .map((row) => ({
      key: row.key,
      cells: row.values.map((value) => (value === undefined ? '—' : `\`${cell(value)}\``)),
    }));

  const manifestRows: { file: string; key: string; kind: string; name: string }[] = [];
  const addManifests = (file: string, values: Values): void => {
    const manifests = values.manifests;
    if (!isTable(manifests)) return;
    for (const key of Object.keys(manifests).sort(compareStrings)) {
      const entry = manifests[key];
      const kind = isTable(entry) && typeof entry.kind === 'string' ? entry.kind : '—';
      const metadata = isTable(entry) ? entry.metadata : undefined;
      const name = isTable(metadata) && typeof metadata.name === 'string' ? metadata.name : '—';
      manifestRows.push({
        file,
        key: cell(key),
        kind: entry === null ? '(removed)' : cell(kind),
        name: cell(name),
      });
    }
  };
  addManifests('values.yaml', base);
  for (const layer of envLayers) addManifests(layer.file, layer.values);
  for (const layer of clusterLayers) addManifests(layer.file, layer.values);

  const text = renderReadme({
    header: generatedHeader(command, 'markdown'),
    name: spec.name,
    description: spec.description,
    summary: spec.readme.summary,
    version,
    appVersion: spec.appVersion,
    dependency: spec.dependency,
    layers,
    environments: envLayers.map((layer) => layer.env),
    envRows,
    manifestRows,
    sections: [
      ...(spec.readme.sections ?? []),
      // Where the upstream has an upgrade path: what the build enforces, from the same path.
      ...(spec.dependency?.upgradePath === undefined
        ? []
        : [upgradePathReadme(spec.name, spec.dependency.name, spec.dependency.upgradePath)]),
    ],
  });
  // One blank line at most between blocks, exactly one final newline.
  return `${text.replace(/\n{3,}/g, '\n\n').replace(/\s+$/, '')}\n`;
}

function withoutManifests(values: Values): Values {
  const { manifests: _manifests, ...rest } = values;
  return rest;
}

/** Leaf paths (`a.b[0].c`) to their JSON text; empty maps and lists are leaves. */
function flatten(values: Values): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (node: JsonValue, path: (string | number)[]): void => {
    if (isTable(node) && Object.keys(node).length > 0) {
      for (const key of Object.keys(node)) walk(node[key] as JsonValue, [...path, key]);
    } else {
      out.set(formatPath(path), JSON.stringify(node));
    }
  };
  for (const key of Object.keys(values)) walk(values[key] as JsonValue, [key]);
  return out;
}

/** Text safe inside a Markdown table cell (and inside backticks). */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/`/g, "'").replace(/\n/g, ' ');
}
