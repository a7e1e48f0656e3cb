// The release a running Cilium was first installed with (`chart-upgrade-compatibility`), through
// the whole pipeline on the reference platform (examples/reference/platform.yaml), the last
// build's charts standing for what the clusters run. Cilium's upgrade guide sets the chart's
// `upgradeCompatibility` to that release "to minimize datapath disruption during the upgrade":
// from 1.20 it keeps Envoy's xDS mode of the release before (the chart's `envoyXdsMode`), which
// the cilium-config ConfigMap and Envoy's bootstrap otherwise both switch to `ads`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CILIUM_UPGRADE_PATH } from '@homelab/cilium';
import type { ChartSpec, GeneratedFile, Issue, Values } from '@homelab/core';
import {
  composeDefinitionSchema,
  definitionValidator,
  formatIssue,
  loadDefinition,
  parseAllDocuments,
  parseYaml,
  resolvePlatform,
} from '@homelab/core';
import { findHelm, vendored } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { chartUpgradeIssues } from '../src/chart-upgrades.js';
import { generate } from '../src/pipeline.js';
import { REGISTRY } from '../src/registry.js';
import { buildOver, CILIUM_LINE, withCilium } from './cilium-reference.js';

const found = (issues: readonly Issue[]): Issue[] =>
  issues.filter((issue) => issue.code === 'chart-upgrade-compatibility');

/** `cilium.upgradeCompatibility` of a cluster layer of charts/cilium. */
function layerCompatibility(files: readonly GeneratedFile[], cluster: string): unknown {
  const file = files.find((f) => f.path === `charts/cilium/clusters/${cluster}.yaml`);
  expect(file, `charts/cilium/clusters/${cluster}.yaml`).toBeDefined();
  const layer = parseYaml(file?.content ?? '') as { cilium?: { upgradeCompatibility?: unknown } };
  return layer.cilium?.upgradeCompatibility;
}

describe('chart-upgrade-compatibility', () => {
  it('refuses moving Cilium 1.19 to 1.20 with the defaults of a new installation, once for the three clusters', async () => {
    const refused = await buildOver(withCilium('1.20.0'), withCilium('1.19.6'));
    expect(refused.files).toEqual([]);
    const issues = found(refused.issues);
    expect(issues).toHaveLength(1);
    const [issue] = issues as [Issue];
    expect(issue.severity).toBe('error');
    expect(issue.path).toEqual(['components', 'cilium', 'version']);
    expect(issue.position).toMatchObject({ line: CILIUM_LINE + 1, column: 14 });
    expect(issue.message).toBe(
      'would move Cilium on clusters "dev", "prod" and "staging" from 1.19.6, which the last build\'s charts/cilium/Chart.yaml pins, to 1.20.0 with the defaults of a new 1.20 installation: cilium.upgradeCompatibility is not set (its upgrade guide: "To minimize datapath disruption during the upgrade, the upgradeCompatibility option should be set to the initial Cilium version which was installed in this cluster")',
    );
    expect(issue.expected).toContain(
      'upgradeCompatibility: "1.19" (the release whose defaults the cluster runs with now) in the cluster\'s components.cilium, or in components.cilium for every cluster;',
    );
  }, 240_000);

  it('moves 1.19 to 1.20 with upgradeCompatibility "1.19", which reaches every cluster layer', async () => {
    const moved = await buildOver(withCilium('1.20.0', '1.19'), withCilium('1.19.6'));
    expect(found(moved.issues)).toEqual([]);
    expect(moved.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(layerCompatibility(moved.files, cluster)).toBe('1.19');
    }
    // Without it the layer says nothing and the chart's own default (a new installation) holds.
    const fresh = await generate({
      text: withCilium('1.20.0'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    expect(layerCompatibility(fresh.files, 'prod')).toBeUndefined();
  }, 240_000);

  it('refuses removing or changing it once a build set it, at its own line', async () => {
    const removed = await buildOver(withCilium('1.20.0'), withCilium('1.20.0', '1.19'));
    expect(removed.files).toEqual([]);
    const [issue] = found(removed.issues);
    expect(issue?.message).toBe(
      'would remove cilium.upgradeCompatibility "1.19" on clusters "dev", "prod" and "staging" (the last build\'s layer of charts/cilium for it sets it): the running Cilium would switch to the defaults of a new installation (its upgrade guide: "To minimize datapath disruption during the upgrade, the upgradeCompatibility option should be set to the initial Cilium version which was installed in this cluster")',
    );
    expect(issue?.expected).toMatch(
      /^upgradeCompatibility: "1\.19" kept; build with --allow-immutable-changes/,
    );
    const changed = await buildOver(withCilium('1.20.0', '1.18'), withCilium('1.20.0', '1.19'));
    const [change] = found(changed.issues);
    expect(change?.path).toEqual(['components', 'cilium', 'upgradeCompatibility']);
    expect(change?.position).toMatchObject({ line: CILIUM_LINE + 2, column: 27 });
    expect(change?.value).toBe('1.18');
    expect(change?.message).toContain(
      'would change cilium.upgradeCompatibility "1.19" on clusters',
    );
    expect(change?.message).toContain(
      'to "1.18": the running Cilium would switch to the defaults of a 1.18 installation',
    );
  }, 240_000);

  it('refuses first setting it to another release than the one the clusters run, and says nothing of a patch release, a move back, or the running release', async () => {
    const later = await buildOver(withCilium('1.20.0', '1.20'), withCilium('1.19.6'));
    const [issue] = found(later.issues);
    expect(issue?.message).toBe(
      'would switch Cilium 1.19.6 on clusters "dev", "prod" and "staging" (the last build\'s charts/cilium/Chart.yaml pins it), running with the defaults of its own release, to those of a 1.20 installation',
    );
    expect(issue?.expected).toMatch(
      /^"1\.19", the release whose defaults the cluster runs with now;/,
    );
    const earlier = await buildOver(withCilium('1.19.6', '1.18'), withCilium('1.19.6'));
    expect(found(earlier.issues)[0]?.message).toContain('to those of a 1.18 installation');
    expect(found((await buildOver(withCilium('1.19.6'), withCilium('1.19.6'))).issues)).toEqual([]);
    expect(found((await buildOver(withCilium('1.19.6'), withCilium('1.20.0'))).issues)).toEqual([]);
    expect(
      found((await buildOver(withCilium('1.19.6', '1.19'), withCilium('1.19.6'))).issues),
    ).toEqual([]);
  }, 360_000);

  it('reads the value as Helm does, the environment layer under the cluster layer (where the writer moves a value the clusters of an environment share)', () => {
    const loaded = loadDefinition(
      withCilium('1.20.0'),
      'platform.yaml',
      definitionValidator(composeDefinitionSchema(REGISTRY)),
    );
    if (loaded.definition === undefined) expect.fail(loaded.issues.map(formatIssue).join('; '));
    const platform = resolvePlatform(loaded.definition);
    const dev = platform.clusters.find((cluster) => cluster.name === 'dev');
    expect(dev?.environment).toBe('development');
    const inEnvironment = { cilium: { upgradeCompatibility: '1.19' } };
    const spec = (environment: Values): ChartSpec =>
      ({
        name: 'cilium',
        description: 'test',
        appVersion: '1.20.0',
        dependency: {
          name: 'cilium',
          version: '1.20.0',
          repository: 'https://helm.cilium.io',
          upgradePath: CILIUM_UPGRADE_PATH,
        },
        values: { cilium: {} },
        environments: { development: environment },
        clusters: { dev: { cilium: { cluster: { name: 'dev' } } } },
      }) as unknown as ChartSpec;
    const last = new Map([
      ['Chart.yaml', 'dependencies:\n  - name: cilium\n    version: 1.20.0\n'],
      ['values.yaml', 'cilium: {}\n'],
      ['env/development.yaml', 'cilium:\n  upgradeCompatibility: "1.19"\n'],
      ['clusters/dev.yaml', 'cilium:\n  cluster:\n    name: dev\n'],
    ]);
    const issues = (environment: Values) =>
      chartUpgradeIssues([{ spec: spec(environment), component: 'cilium' }], platform, (chart) =>
        chart === 'cilium' ? last : undefined,
      ).filter((issue) => issue.code === 'chart-upgrade-compatibility');
    // Kept in the environment's layer: nothing to say.
    expect(issues(inEnvironment)).toEqual([]);
    // Gone from it: removed, though no cluster layer ever held it.
    expect(issues({ cilium: {} }).map((issue) => issue.message)).toEqual([
      expect.stringMatching(/^would remove cilium\.upgradeCompatibility "1\.19" on cluster "dev"/),
    ]);
  });

  it('refuses at the definition a release later than `version`', async () => {
    const result = await generate({
      text: withCilium('1.19.6', '1.20'),
      file: 'platform.yaml',
      chartVersions: {},
    });
    expect(result.files).toEqual([]);
    const issue = result.issues.find((i) => i.code === 'cilium-upgrade-compatibility');
    expect(issue?.message).toBe(
      'is a later release than the Cilium 1.19.6 the cluster runs: it names the release the cluster was first installed with',
    );
    expect(issue?.position).toMatchObject({ line: CILIUM_LINE + 2 });
  }, 120_000);
});

const helm = findHelm();

/** The fields of an Argo CD Application this test reads. */
interface Application {
  readonly kind: string;
  readonly spec: {
    readonly source: {
      readonly path?: string;
      readonly helm: { readonly releaseName: string; readonly valueFiles: readonly string[] };
    };
    readonly destination: { readonly namespace: string };
  };
}

/** A rendered object, as far as a ConfigMap goes. */
type ConfigMapLike = {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly data: { [key: string]: string };
} | null;

/**
 * The cilium-config ConfigMap `helm template` renders from a build's charts/cilium for `cluster`,
 * with the vendored upstream chart and the value files of the cluster's Application.
 */
function renderedCiliumConfig(
  files: readonly GeneratedFile[],
  cluster: string,
): { [key: string]: string } {
  const work = mkdtempSync(join(tmpdir(), 'homelab-cilium-compat-'));
  try {
    for (const file of files) {
      if (!file.path.startsWith('charts/cilium/')) continue;
      mkdirSync(dirname(join(work, file.path)), { recursive: true });
      writeFileSync(join(work, file.path), file.content);
    }
    const chart = join(work, 'charts/cilium');
    const { dependencies } = parseYaml(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as {
      dependencies: { name: string; version: string }[];
    };
    mkdirSync(join(chart, 'charts'));
    for (const { name, version } of dependencies) {
      const archive = `${name}-${version}.tgz`;
      copyFileSync(vendored('charts', name, version, archive), join(chart, 'charts', archive));
    }
    const root = files.find((f) => f.path === `charts/platform/clusters/${cluster}.yaml`);
    const { manifests } = parseYaml(root?.content ?? '{}') as {
      manifests: { [key: string]: Application };
    };
    const application = Object.values(manifests).find(
      (object) => object.kind === 'Application' && object.spec?.source?.path === 'charts/cilium',
    );
    if (application === undefined) expect.fail(`cluster ${cluster} deploys no charts/cilium`);
    const { source, destination } = application.spec;
    const args = [
      'template',
      source.helm.releaseName,
      chart,
      '--namespace',
      destination.namespace,
      ...source.helm.valueFiles.flatMap((f) => ['-f', join(chart, f)]),
    ];
    const run = spawnSync(helm as string, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.status, run.stderr).toBe(0);
    const config = (parseAllDocuments(run.stdout) as ConfigMapLike[]).find(
      (object) => object?.kind === 'ConfigMap' && object.metadata?.name === 'cilium-config',
    );
    if (config === undefined || config === null) expect.fail('helm rendered no cilium-config');
    return config.data;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describe.skipIf(helm === undefined)(
  'what the upstream Cilium 1.20 chart renders with it (not run without helm on PATH)',
  () => {
    it('keeps the agents on the xDS mode of 1.19 (none set: the agent\'s split) with upgradeCompatibility "1.19", and sets ads without it', async () => {
      const kept = await generate({
        text: withCilium('1.20.0', '1.19'),
        file: 'platform.yaml',
        chartVersions: {},
      });
      const fresh = await generate({
        text: withCilium('1.20.0'),
        file: 'platform.yaml',
        chartVersions: {},
      });
      const keptConfig = renderedCiliumConfig(kept.files, 'prod');
      expect(keptConfig['envoy-xds-mode']).toBeUndefined();
      // The rest of the agents' configuration is the same: only the release's new default moves.
      const freshConfig = renderedCiliumConfig(fresh.files, 'prod');
      expect(freshConfig['envoy-xds-mode']).toBe('ads');
      const { 'envoy-xds-mode': _, ...rest } = freshConfig;
      expect(keptConfig).toEqual(rest);
    }, 240_000);
  },
);
