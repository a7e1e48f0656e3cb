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

/** The lines of stderr that are not warnings (the reference platform warns until its secrets and SSO providers exist). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.endsWith('[warning]'));
}

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
  expect(errorLines(result.stderr)).toEqual([]);
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('disabling Argo CD on every cluster', () => {
  it('removes charts/argo-cd, the app-of-apps and the hand-over, keeping what changesets own', () => {
    // Given the reference platform, built
    copyFileSync(
      join(appDir, '../../examples/reference/platform.yaml'),
      join(dir, 'platform.yaml'),
    );
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

    // Then the Argo CD chart's generated files are gone, and with no GitOps controller on any
    // cluster, so are the app-of-apps, the root Applications and the namespaces they create
    // (30 files: 12 + 12 + 3 + 3); the package.json of both charts stays: changesets owns it
    expect(summary).toMatch(/, 30 removed in /);
    for (const chart of ['argo-cd', 'platform']) {
      for (const file of [
        'Chart.yaml',
        'values.yaml',
        'templates/manifests.yaml',
        'clusters/dev.yaml',
      ]) {
        expect(existsSync(join(dir, 'out/charts', chart, file)), `${chart}/${file}`).toBe(false);
      }
      expect(existsSync(join(dir, 'out/charts', chart, 'package.json'))).toBe(true);
    }
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect(existsSync(join(dir, `out/clusters/${cluster}/root-application.yaml`))).toBe(false);
      expect(existsSync(join(dir, `out/clusters/${cluster}/namespaces.yaml`))).toBe(false);
      // and the runbook neither installs Argo CD nor hands the cluster over to it
      const runbook = readFileSync(join(dir, `out/clusters/${cluster}/RUNBOOK.md`), 'utf8');
      expect(runbook).not.toContain('charts/argo-cd');
      expect(runbook).not.toContain('root-application.yaml');
      expect(runbook).toContain('helm template cilium charts/cilium');
    }
  });
});
