// The platform's pins (every registered component's and Talos') against the repository's
// vendor/: what `homelab vendor verify` checks in CI, and the pins themselves well formed.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml, readChartArchiveFile } from '@homelab/core';
import { pinIssues, verifyVendor } from '@homelab/vendor';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';
import { platformPins, upgradeCheck } from '../src/vendor.js';

const vendorDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'vendor');

describe('the platform pins', () => {
  const pins = platformPins(REGISTRY);

  it('are well formed', () => {
    expect(pinIssues(pins)).toEqual([]);
  });

  it("are exactly what the repository's vendor/ holds, byte for byte as locked", () => {
    expect(pins.length).toBeGreaterThan(20);
    expect(verifyVendor(vendorDir, pins)).toEqual([]);
  });
});

interface ChartYaml {
  readonly appVersion?: string;
  readonly dependencies?: readonly { readonly name: string; readonly version: string }[];
}

/**
 * Where a generated chart's `appVersion` (the component's app version constant, which also names
 * the release in its README and the runbooks) is not the one of the upstream chart it wraps, as
 * vendored: a Renovate pull request moves only the chart version, so the constant stays behind.
 */
function staleAppVersions(root: string, charts: readonly string[]): string[] {
  const out: string[] = [];
  for (const chart of charts) {
    const ours = parseYaml(
      readFileSync(join(root, 'charts', chart, 'Chart.yaml'), 'utf8'),
    ) as ChartYaml;
    for (const dependency of ours.dependencies ?? []) {
      const { name, version } = dependency;
      const archive = join(root, 'vendor', 'charts', name, version, `${name}-${version}.tgz`);
      if (!existsSync(archive)) {
        out.push(`charts/${chart}: ${name} ${version} is not vendored (run homelab vendor sync)`);
        continue;
      }
      const upstream = parseYaml(
        readChartArchiveFile(readFileSync(archive), `${name}/Chart.yaml`),
      ) as ChartYaml;
      if (upstream.appVersion !== ours.appVersion) {
        out.push(
          `charts/${chart}: appVersion ${ours.appVersion}, but ${name} ${version} ships ${upstream.appVersion}`,
        );
      }
    }
  }
  return out;
}

describe('the generated charts', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const charts = readdirSync(join(root, 'charts'), { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(join(root, 'charts', entry.name, 'Chart.yaml')),
    )
    .map((entry) => entry.name)
    .sort();

  it('name the application release of the upstream chart they wrap, as vendored', () => {
    const wrapping = charts.filter(
      (chart) =>
        ((parseYaml(readFileSync(join(root, 'charts', chart, 'Chart.yaml'), 'utf8')) as ChartYaml)
          .dependencies?.length ?? 0) > 0,
    );
    // Whichever components the user's definition enables: Argo CD at least wraps its chart.
    expect(wrapping).toContain('argo-cd');
    expect(staleAppVersions(root, charts)).toEqual([]);
  });

  it('are caught when a chart bump leaves the app version behind', () => {
    // Given argo-cd's chart as Renovate leaves it after a chart-only bump: the dependency moved,
    // the appVersion (ARGOCD_APP_VERSION) did not. Simulated on a scratch root whose vendored
    // argo-cd 10.1.1 ships v3.4.4 while the chart says v3.3.0.
    const scratch = mkdtempSync(join(tmpdir(), 'vendor-pins-'));
    const chartDir = join(scratch, 'charts', 'argo-cd');
    const vendored = join(scratch, 'vendor', 'charts', 'argo-cd', '10.1.1');
    for (const dir of [chartDir, vendored]) mkdirSync(dir, { recursive: true });
    copyFileSync(
      join(root, 'vendor', 'charts', 'argo-cd', '10.1.1', 'argo-cd-10.1.1.tgz'),
      join(vendored, 'argo-cd-10.1.1.tgz'),
    );
    writeFileSync(
      join(chartDir, 'Chart.yaml'),
      'apiVersion: v2\nname: argo-cd\nversion: 0.1.0\nappVersion: v3.3.0\ndependencies:\n  - name: argo-cd\n    version: 10.1.1\n    repository: https://argoproj.github.io/argo-helm\n',
    );
    expect(staleAppVersions(scratch, ['argo-cd'])).toEqual([
      'charts/argo-cd: appVersion v3.3.0, but argo-cd 10.1.1 ships v3.4.4',
    ]);
  });
});

describe('homelab upgrade-check', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const cilium = REGISTRY.find((component) => component.name === 'cilium');
  if (cilium === undefined) throw new Error('no cilium component');
  const spec = (version: string) =>
    ({
      name: 'cilium',
      dependency: { name: 'cilium', version, repository: 'https://helm.cilium.io' },
      values: { cilium: { kubeProxyReplacement: true } },
      environments: {},
      clusters: {},
    }) as unknown as Parameters<typeof upgradeCheck>[2];

  it('compares the release in use with a newer pinned one', () => {
    const check = upgradeCheck(root, cilium, spec('1.19.6'), '1.20.0');
    expect([check.from, check.to]).toEqual(['1.19.6', '1.20.0']);
  });

  it('refuses to compare a release with itself, as it would after the pin moved', () => {
    // Given the chart already on the target release (a Renovate bump merged, then rebuilt)
    // Then there is no "nothing changed" report, but the reason and when to run it
    expect(() => upgradeCheck(root, cilium, spec('1.20.0'), '1.20.0')).toThrow(
      'cilium already uses cilium 1.20.0: upgrade-check compares the release in use with another pinned one (newer, or older to go back), so run it before moving the pin',
    );
  });

  it('compares with an older pinned release too, the report of going back', () => {
    const check = upgradeCheck(root, cilium, spec('1.19.6'), '1.18.12');
    expect([check.from, check.to]).toEqual(['1.19.6', '1.18.12']);
  });

  it('refuses a component that wraps no upstream chart as a refused request (exit 1), like an unknown one', () => {
    const coredns = REGISTRY.find((component) => component.name === 'coredns');
    if (coredns === undefined) throw new Error('no coredns component');
    const { dependency: _, ...own } = { ...spec('1.19.6'), name: 'coredns' };
    let caught: unknown;
    try {
      upgradeCheck(root, coredns, own, '1.0.0');
    } catch (cause) {
      caught = cause;
    }
    expect([(caught as Error).name, (caught as Error).message]).toEqual([
      'UserError',
      'coredns wraps no upstream chart: nothing to upgrade (homelab vendor outdated lists the charts with newer pinned releases)',
    ]);
  });
});
