// End-to-end: the installed executable (packages/cli/dist/homelab.cjs: the esbuild bundle run
// with V8's code cache) behaves exactly as the unbundled CLI (packages/cli/dist/bin.js) on the
// reference definition and on an invalid one.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..');
const repo = join(appDir, '../..');
const bundled = join(repo, 'packages/cli/dist/homelab.cjs');
const unbundled = join(repo, 'packages/cli/dist/bin.js');
const reference = join(repo, 'examples/reference/platform.yaml');
const invalid = join(here, 'fixtures/invalid/bad-cidr/platform.yaml');

const RECORD = '.homelab-build.json';
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function folderWith(definition: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-bundle-'));
  scratch.push(dir);
  copyFileSync(definition, join(dir, 'platform.yaml'));
  return dir;
}

function homelab(bin: string, cwd: string, args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', HOMELAB_CODE_CACHE: '' },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir` with a hash of its bytes (the bundle's build record aside). */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (current === dir && entry.name === RECORD) continue;
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Output without the timings (`in 123 ms`), which differ from run to run. */
function untimed(text: string): string {
  return text.replace(/ in \d+ ms/g, ' in N ms');
}

describe('the bundled homelab executable', { timeout: 120_000 }, () => {
  it('builds the reference platform into the same files as the unbundled CLI', () => {
    // Given the reference definition in two fresh folders
    const a = folderWith(reference);
    const b = folderWith(reference);

    // When each CLI builds one of them
    const args = ['build', '--config', 'platform.yaml', '--out', 'out'];
    const fromBundle = homelab(bundled, a, args);
    const fromModules = homelab(unbundled, b, args);

    // Then both succeed, say the same and write byte-identical trees
    expect(fromBundle.status).toBe(0);
    expect(fromModules.status).toBe(0);
    expect(untimed(fromBundle.stdout)).toBe(untimed(fromModules.stdout).replaceAll(b, a));
    const tree = fingerprint(join(a, 'out'));
    expect(Object.keys(tree)).toContain('charts/platform/values.yaml');
    expect(tree).toEqual(fingerprint(join(b, 'out')));
    // Only the installed executable records its build (the unbundled CLI has no identity).
    expect(readdirSync(join(a, 'out'))).toContain(RECORD);
    expect(readdirSync(join(b, 'out'))).not.toContain(RECORD);
  });

  it('reuses an unchanged build and generates again when an input or the output changed', () => {
    // Given the reference platform built once by the installed executable
    const dir = folderWith(reference);
    const build = (...extra: string[]) => {
      const result = homelab(bundled, dir, [
        'build',
        '--json',
        '--config',
        'platform.yaml',
        '--out',
        'out',
        ...extra,
      ]);
      const report = JSON.parse(result.stdout) as {
        ok: boolean;
        issues: { severity: string; message: string }[];
        summary: { files: number; written: number; unchanged: number; reused: boolean };
      };
      return { status: result.status, ...report };
    };
    const cold = build();
    expect(cold.status).toBe(0);
    expect(cold.summary.reused).toBe(false);
    expect(cold.summary.written).toBe(cold.summary.files);
    const tree = fingerprint(join(dir, 'out'));

    // When it builds the same definition again, Then it generates nothing, writes nothing and
    // reports the same warnings
    const again = build();
    expect(again.status).toBe(0);
    expect(again.summary).toMatchObject({
      reused: true,
      written: 0,
      unchanged: cold.summary.files,
    });
    expect(again.issues).toEqual(cold.issues);
    expect(cold.issues.some((issue) => issue.severity === 'warning')).toBe(true);
    expect(fingerprint(join(dir, 'out'))).toEqual(tree);
    // --strict still refuses those warnings
    const strict = build('--strict');
    expect(strict.status).toBe(1);
    expect(strict.ok).toBe(false);

    // When a generated file is edited by hand, Then the build generates and restores it
    const values = join(dir, 'out/charts/cilium/values.yaml');
    writeFileSync(values, `${readFileSync(values, 'utf8')}# edited\n`);
    const repaired = build();
    expect(repaired.summary).toMatchObject({ reused: false, written: 1 });
    expect(fingerprint(join(dir, 'out'))).toEqual(tree);
    expect(build().summary.reused).toBe(true);

    // When the definition changes (even a comment), Then the build generates
    writeFileSync(
      join(dir, 'platform.yaml'),
      `${readFileSync(join(dir, 'platform.yaml'), 'utf8')}# a comment\n`,
    );
    const edited = build();
    expect(edited.summary).toMatchObject({ reused: false, written: 0 });
    expect(build().summary.reused).toBe(true);
  });

  it('reports an invalid definition with the same issues and exit code', () => {
    // Given a definition with a bad CIDR
    const dir = folderWith(invalid);

    // When both CLIs validate it
    const fromBundle = homelab(bundled, dir, ['validate', '--config', 'platform.yaml']);
    const fromModules = homelab(unbundled, dir, ['validate', '--config', 'platform.yaml']);

    // Then both exit 1 with the same report
    expect(fromBundle.status).toBe(1);
    expect(fromModules.status).toBe(1);
    expect(fromBundle.stderr).toContain('platform.yaml:');
    expect(untimed(fromBundle.stderr)).toBe(untimed(fromModules.stderr));
    expect(fromBundle.stdout).toBe(fromModules.stdout);
  });

  it('prints the package version', () => {
    const dir = folderWith(reference);
    const pkg = JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')) as {
      version: string;
    };
    expect(homelab(bundled, dir, ['--version']).stdout.trim()).toBe(pkg.version);
  });
});
