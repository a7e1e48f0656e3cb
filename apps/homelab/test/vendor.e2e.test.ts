// `homelab vendor verify` and `homelab upgrade-check` on the repository's own vendor/, and on a
// scratch copy with one vendored byte changed.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'homelab-vendor-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function homelab(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('homelab vendor verify', () => {
  it('passes on the committed vendor/', () => {
    const result = homelab(repo, 'vendor', 'verify');
    expect(result.stdout).toContain(
      'vendor verified: every file matches vendor/lock.json and the pins',
    );
    expect(result.status).toBe(0);
  });

  it('fails, naming the file, when one vendored byte changed', () => {
    writeFileSync(join(scratch, 'pnpm-workspace.yaml'), 'packages: []\n');
    cpSync(join(repo, 'vendor'), join(scratch, 'vendor'), { recursive: true });
    appendFileSync(join(scratch, 'vendor/charts/cilium/1.18.12/cilium-1.18.12.tgz'), '\0');
    const result = homelab(scratch, 'vendor', 'verify');
    expect(result.stderr).toContain(
      'vendor/charts/cilium/1.18.12/cilium-1.18.12.tgz'.replace('vendor/', ''),
    );
    expect(result.stderr).toContain('has changed: its sha256 differs from lock.json');
    expect(result.status).toBe(1);
  });
});

describe('homelab upgrade-check', () => {
  it('reports what Cilium 1.20.0 changes for the values the reference platform sets', () => {
    const result = homelab(
      repo,
      'upgrade-check',
      'cilium',
      '1.20.0',
      '--config',
      join(repo, 'examples/reference/platform.yaml'),
    );
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('cilium: cilium 1.19.6 → 1.20.0');
    // The operator image moves with the release: a default we rely on that changed.
    expect(result.stdout).toContain('default   operator.image.tag: "v1.19.6" -> "v1.20.0"');
  });

  it('refuses a version the component does not pin, listing the pinned ones', () => {
    const result = homelab(
      repo,
      'upgrade-check',
      'cilium',
      '9.9.9',
      '--config',
      join(repo, 'examples/reference/platform.yaml'),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cilium pins no cilium chart 9.9.9');
  });
});
