// Disabling a component in the definition removes its Application and its generated files.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLines } from './cli-issues.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(appDir, '../../packages/cli/dist/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'homelab-disable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBuild() {
  return spawnSync(process.execPath, [bin, 'build', '--config', 'platform.yaml', '--out', 'out'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

function build(): string {
  const result = runBuild();
  expect(errorLines(result.stderr)).toEqual([]);
  expect(result.status).toBe(0);
  return result.stdout;
}

/** `platform.yaml` with `enabled: false` under every cluster's settings of `component`. */
function disabledOnEveryCluster(text: string, component: string): string {
  const disabled = text.replace(
    new RegExp(`^( {6})${component}:\\n`, 'gm'),
    `$1${component}:\n$1  enabled: false\n`,
  );
  expect(disabled.match(/enabled: false/g)).toHaveLength(3);
  return disabled;
}

describe('disabling a component on every cluster', () => {
  // Given the reference platform, built
  copyFileSync(join(appDir, '../../examples/reference/platform.yaml'), join(dir, 'platform.yaml'));
  const reference = readFileSync(join(dir, 'platform.yaml'), 'utf8');

  it('refuses Argo CD disabled while its Applications remain: nothing would deploy them', () => {
    build();
    const before = readFileSync(join(dir, 'out/clusters/dev/root-application.yaml'), 'utf8');
    writeFileSync(join(dir, 'platform.yaml'), disabledOnEveryCluster(reference, 'argocd'));
    const result = runBuild();
    expect(result.status).toBe(1);
    const errors = errorLines(result.stderr).filter((line) => line.includes('"gitops"'));
    expect(errors).toHaveLength(3);
    for (const [index, cluster] of ['dev', 'staging', 'prod'].entries()) {
      expect(errors[index]).toMatch(
        new RegExp(
          `^platform\\.yaml:\\d+:\\d+  clusters\\[${index}\\]\\.components\\.argocd: no component provides "gitops" on cluster "${cluster}", so nothing deploys bitwarden-sm, policy, cert-manager, .*monitoring, .*applications .*\\(expected argocd enabled on cluster "${cluster}"`,
        ),
      );
      // Cilium and CoreDNS are installed by the runbook itself: not named.
      expect(errors[index]).not.toMatch(/deploys [^(]*(cilium|coredns)/);
    }
    // Nothing written: the root Application is still there, unchanged.
    expect(readFileSync(join(dir, 'out/clusters/dev/root-application.yaml'), 'utf8')).toBe(before);
  });

  it('removes the generated files and the Applications of monitoring, keeping what changesets own', () => {
    writeFileSync(join(dir, 'platform.yaml'), reference);
    build();
    expect(readFileSync(join(dir, 'out/charts/platform/clusters/dev.yaml'), 'utf8')).toContain(
      'name: dev-monitoring',
    );
    writeFileSync(join(dir, 'platform.yaml'), disabledOnEveryCluster(reference, 'monitoring'));
    const summary = build();

    // The chart's 12 generated files go (Chart.yaml, values.yaml, values.schema.json,
    // templates/manifests.yaml, .helmignore, README.md, 3 environment and 3 cluster layers)
    expect(summary).toMatch(/, 12 removed in /);
    for (const file of [
      'Chart.yaml',
      'values.yaml',
      'templates/manifests.yaml',
      'clusters/dev.yaml',
    ]) {
      expect(existsSync(join(dir, 'out/charts/monitoring', file)), file).toBe(false);
    }
    // its package.json stays: changesets owns the chart's version and changelog
    expect(existsSync(join(dir, 'out/charts/monitoring/package.json'))).toBe(true);
    for (const cluster of ['dev', 'staging', 'prod']) {
      const apps = readFileSync(join(dir, `out/charts/platform/clusters/${cluster}.yaml`), 'utf8');
      expect(apps).not.toContain(`name: ${cluster}-monitoring`);
      expect(apps).toContain(`name: ${cluster}-argocd`);
      const namespaces = readFileSync(join(dir, `out/clusters/${cluster}/namespaces.yaml`), 'utf8');
      expect(namespaces).not.toMatch(/name: monitoring$/m);
    }
  });
});
