// `homelab validate --report` through the real pipeline: its table of components per cluster.
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';

/** `homelab validate --report` of an example: its exit code and stdout. */
async function report(example: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await run(
    // Not compared with the repository's output, which the user's definition builds.
    [
      'validate',
      '--report',
      '--allow-immutable-changes',
      '--config',
      join(repoRoot(), `examples/${example}/platform.yaml`),
    ],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: () => {},
      cwd: repoRoot(),
      env: {},
      isTTY: false,
    },
  );
  return { code, stdout };
}

describe('validate --report', { timeout: 120_000 }, () => {
  it('lines up "provides" in one column, the longest component name included', async () => {
    // Given the single-node example, whose components include snapshot-controller (19 letters)
    const { code, stdout } = await report('single-node');
    expect(code).toBe(0);
    // Then every component line has "provides" at the same column
    const rows = stdout.split('\n').filter((line) => / provides /.test(line));
    expect(rows.map((row) => row.trim().split(' ')[0])).toContain('snapshot-controller');
    const columns = new Set(rows.map((row) => row.indexOf(' provides ')));
    expect([...columns]).toEqual(['  snapshot-controller'.length]);
  });

  it('says what each sync wave comes after, whose facts a component only reads, and who syncs late', async () => {
    const { code, stdout } = await report('reference');
    expect(code).toBe(0);
    const prod = stdout.slice(stdout.indexOf('cluster prod'));
    const row = (name: string) =>
      prod
        .split('\n')
        .find((line) => line.trim().startsWith(`${name} `))
        ?.replace(/\s+/g, ' ')
        .trim();
    expect(row('argocd')).toBe(
      'argocd provides gitops; after bitwarden-sm, cert-manager, cilium, coredns, gateway; reads authelia',
    );
    expect(row('authelia')).toBe(
      'authelia provides oidc-provider; after bitwarden-sm, cilium, gateway, longhorn; syncs late',
    );
    expect(row('backups')).toMatch(/; reads argocd$/);
  });
});
