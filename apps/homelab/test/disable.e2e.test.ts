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

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(appDir, '../../packages/cli/dist/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'homelab-disable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(): string {
  const result = spawnSync(
    process.execPath,
    [bin, 'build', '--config', 'platform.yaml', '--out', 'out'],
    {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('disabling Argo CD on every cluster', () => {
  it('removes charts/argo-cd generated files and the Argo CD Applications', () => {
    // Given the reference platform, built
    copyFileSync(join(appDir, 'platform.yaml'), join(dir, 'platform.yaml'));
    build();
    expect(existsSync(join(dir, 'out/charts/argo-cd/Chart.yaml'))).toBe(true);
    expect(readFileSync(join(dir, 'out/charts/platform/clusters/dev.yaml'), 'utf8')).toContain(
      'name: dev-argocd',
    );

    // When argocd is disabled everywhere and the platform is rebuilt
    const text = readFileSync(join(dir, 'platform.yaml'), 'utf8');
    const disabled = text.replace(/^( {6})argocd:\n/gm, '$1argocd:\n$1  enabled: false\n');
    expect(disabled.match(/enabled: false/g)).toHaveLength(3);
    writeFileSync(join(dir, 'platform.yaml'), disabled);
    const summary = build();

    // Then the chart's generated files are gone (its package.json stays: changesets owns it)
    expect(summary).toMatch(/, 12 removed in /);
    for (const file of [
      'Chart.yaml',
      'values.yaml',
      'templates/manifests.yaml',
      'clusters/dev.yaml',
    ]) {
      expect(existsSync(join(dir, 'out/charts/argo-cd', file)), file).toBe(false);
    }
    expect(existsSync(join(dir, 'out/charts/argo-cd/package.json'))).toBe(true);
    // and no cluster's umbrella layer deploys Argo CD any more
    for (const cluster of ['dev', 'staging', 'prod']) {
      const layer = readFileSync(join(dir, `out/charts/platform/clusters/${cluster}.yaml`), 'utf8');
      expect(layer).not.toContain(`name: ${cluster}-argocd`);
      expect(layer).toContain(`name: ${cluster}-cilium`);
    }
  });
});
