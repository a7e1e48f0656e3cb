// End-to-end: the built CLI (packages/cli/dist/bin.js) as a child process, on copies of the
// reference definition and on the invalid fixtures (test/fixtures/invalid/<case>/).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLines } from './cli-issues.js';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..');
const repo = join(appDir, '../..');
const bin = join(repo, 'packages/cli/dist/bin.js');
const reference = join(repo, 'examples/reference/platform.yaml');
const invalidRoot = join(here, 'fixtures/invalid');

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder holding a copy of the reference definition as `platform.yaml`. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-e2e-'));
  scratch.push(dir);
  copyFileSync(reference, join(dir, 'platform.yaml'));
  return dir;
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function homelab(cwd: string, args: string[], env: Record<string, string> = {}): Result {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir`, sorted, with a hash of its bytes: the tree's fingerprint. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (current: string): void => {
    if (!existsSync(current)) return;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const SUMMARY = /^built (\d+) files: (\d+) written, (\d+) unchanged, (\d+) removed in \d+ ms/m;

function built(
  dir: string,
  env: Record<string, string> = {},
): { result: Result; tree: Record<string, string> } {
  const result = homelab(dir, ['build', '--config', 'platform.yaml', '--out', 'out'], env);
  return { result, tree: fingerprint(join(dir, 'out')) };
}

describe('homelab build on the reference platform', { timeout: 120_000 }, () => {
  it('builds, then check passes and a second build writes nothing', () => {
    const dir = workspace();
    const first = built(dir);
    expect(errorLines(first.result.stderr)).toEqual([]);
    expect(first.result.status).toBe(0);
    const [, files, written, unchanged, removed] = SUMMARY.exec(first.result.stdout) ?? [];
    expect(Number(files)).toBeGreaterThan(10);
    expect([Number(unchanged), Number(removed)]).toEqual([0, 0]);
    expect(Number(written)).toBe(Number(files));
    expect(first.result.stdout).toMatch(/; created [^\n]*out\/charts\/cilium\/package\.json/);
    expect(
      JSON.parse(readFileSync(join(dir, 'out/charts/cilium/package.json'), 'utf8')).version,
    ).toBe('0.1.0');
    expect(Object.keys(first.tree)).toContain('charts/cilium/Chart.yaml');
    expect(Object.keys(first.tree)).toContain('clusters/prod/talos/controlplane.yaml');

    // New charts: their first version is recorded (charts/.versions.json) before check passes.
    const unrecorded = homelab(dir, ['check', '--config', 'platform.yaml', '--out', 'out']);
    expect(unrecorded.status).toBe(1);
    expect(unrecorded.stdout).toContain('have no recorded version yet');
    const changeset = homelab(dir, ['changeset', '--config', 'platform.yaml', '--out', 'out']);
    expect(changeset.status).toBe(0);
    expect(existsSync(join(dir, 'out/charts/.versions.json'))).toBe(true);
    const check = homelab(dir, ['check', '--config', 'platform.yaml', '--out', 'out']);
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/^check passed: \d+ files match the definition/);

    const second = built(dir);
    expect(second.result.status).toBe(0);
    const [, files2, written2, unchanged2, removed2] = SUMMARY.exec(second.result.stdout) ?? [];
    expect([Number(written2), Number(unchanged2), Number(removed2)]).toEqual([
      0,
      Number(files2),
      0,
    ]);
    // The same tree, with the record homelab changeset added.
    const { 'charts/.versions.json': versions, ...generated } = second.tree;
    expect(versions).toBeDefined();
    expect(generated).toEqual(first.tree);
  });

  it('writes identical bytes under another time zone and locale', () => {
    const plain = built(workspace());
    const exotic = built(workspace(), {
      TZ: 'Pacific/Kiritimati',
      LANG: 'tr_TR.UTF-8',
      LC_ALL: 'tr_TR.UTF-8',
    });
    expect(exotic.result.status).toBe(0);
    expect(Object.keys(exotic.tree).length).toBeGreaterThan(10);
    expect(exotic.tree).toEqual(plain.tree);
  });

  it('check lists an edited generated file and exits 1; diff shows it as a unified diff', () => {
    const dir = workspace();
    expect(built(dir).result.status).toBe(0);
    appendFileSync(join(dir, 'out/charts/cilium/values.yaml'), 'edited: by hand\n');
    rmSync(join(dir, 'out/charts/cilium/README.md'));

    const check = homelab(dir, ['check', '--config', 'platform.yaml', '--out', 'out']);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('  changed  out/charts/cilium/values.yaml\n');
    expect(check.stdout).toContain('  missing  out/charts/cilium/README.md\n');
    expect(check.stdout).toMatch(
      /check failed: 2 of \d+ files differ from what build would write \(1 changed, 1 missing, 0 stale\)/,
    );

    const diff = homelab(dir, ['diff', '--config', 'platform.yaml', '--out', 'out']);
    expect(diff.status).toBe(0);
    expect(diff.stdout).toContain(
      '--- a/charts/cilium/values.yaml\n+++ b/charts/cilium/values.yaml\n',
    );
    expect(diff.stdout).toContain('\n-edited: by hand\n');
    expect(diff.stdout).toContain('--- /dev/null\n+++ b/charts/cilium/README.md\n');
    expect(errorLines(diff.stderr)).toEqual([
      '2 files would change (1 changed, 1 added, 0 removed)',
    ]);
    expect(
      homelab(dir, ['diff', '--exit-code', '--config', 'platform.yaml', '--out', 'out']).status,
    ).toBe(1);
  });

  it('validate checks everything and writes nothing', () => {
    const dir = workspace();
    const result = homelab(dir, ['validate', '--config', 'platform.yaml']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^valid: 3 clusters, \d+ files would be generated/);
    expect(readdirSync(dir)).toEqual(['platform.yaml']);
  });

  it('prints a JSON report that parses', () => {
    const dir = workspace();
    const result = homelab(dir, ['build', '--json', '--config', 'platform.yaml', '--out', 'out']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      issues: unknown[];
      summary: { files: number; written: number };
    };
    expect(report.ok).toBe(true);
    expect(report.summary.files).toBe(report.summary.written);
    expect(report.summary.files).toBeGreaterThan(10);
  });
});

interface Expected {
  note: string;
  line: number;
  path: string;
  /** Part of the message, where the case is about what the message says. */
  message?: string;
  /** How many errors, where the case is about one mistake giving one message (no cascade). */
  errors?: number;
}

const cases = readdirSync(invalidRoot).sort();

describe('invalid definitions', { timeout: 120_000 }, () => {
  // One built tree that every failed build must leave byte-identical.
  const dir = workspace();
  let before: Record<string, string> = {};

  it('start from a built tree', () => {
    expect(built(dir).result.status).toBe(0);
    before = fingerprint(join(dir, 'out'));
    expect(Object.keys(before).length).toBeGreaterThan(10);
  });

  it.each(cases)(
    '%s: exits 1 with file:line and the path, no stack trace, tree untouched',
    (name) => {
      const expected = JSON.parse(
        readFileSync(join(invalidRoot, name, 'expected.json'), 'utf8'),
      ) as Expected;
      // Given a built tree (never vacuously empty)…
      expect(Object.keys(before).length).toBeGreaterThan(10);
      copyFileSync(join(invalidRoot, name, 'platform.yaml'), join(dir, 'bad.yaml'));
      const result = homelab(dir, ['build', '--config', 'bad.yaml', '--out', 'out']);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toContain('    at ');
      expect(result.stderr).toMatch(new RegExp(`^bad\\.yaml:${expected.line}:\\d+ {2}`, 'm'));
      expect(result.stderr).toContain(`  ${expected.path}: `);
      if (expected.message !== undefined) expect(result.stderr).toContain(expected.message);
      expect(result.stderr).toMatch(
        /\nbuild failed: \d+ errors?(, \d+ warnings?)? in bad\.yaml; nothing written\n$/,
      );
      if (expected.errors !== undefined) {
        expect(result.stderr).toMatch(
          new RegExp(`\\nbuild failed: ${expected.errors} errors?(, \\d+ warnings?)? in `),
        );
        // --json reports the same errors.
        const json = homelab(dir, ['validate', '--json', '--config', 'bad.yaml']);
        const report = JSON.parse(json.stdout) as { issues: { severity: string; path: string }[] };
        const errors = report.issues.filter((issue) => issue.severity === 'error');
        expect(errors.map((issue) => issue.path)).toHaveLength(expected.errors);
        expect(errors[0]?.path).toBe(expected.path);
      }
      expect(fingerprint(join(dir, 'out'))).toEqual(before);
    },
  );

  it('reports the invalid definition in JSON too', () => {
    copyFileSync(join(invalidRoot, 'bad-cidr', 'platform.yaml'), join(dir, 'bad.yaml'));
    const result = homelab(dir, ['validate', '--json', '--config', 'bad.yaml']);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      issues: { path: string; file: string; line: number }[];
    };
    expect(report.ok).toBe(false);
    expect(report.issues).toContainEqual(
      expect.objectContaining({ path: 'clusters[0].network.podCidr', file: 'bad.yaml', line: 19 }),
    );
  });

  it('a missing --config exits 1 with a clear message', () => {
    const result = homelab(dir, ['build', '--config', 'nope.yaml', '--out', 'out']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'homelab: cannot read the platform definition nope.yaml: no such file (use --config FILE)\n',
    );
  });
});

describe('usage errors', () => {
  it('exit 2 with the usage for an unknown command or option', () => {
    const dir = workspace();
    const command = homelab(dir, ['deploy']);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain("homelab: unknown command 'deploy'");
    expect(command.stderr).toContain('Usage: homelab <command> [options]');
    const option = homelab(dir, ['build', '--force']);
    expect(option.status).toBe(2);
    expect(option.stderr).toContain("Unknown option '--force'");
  });
});

describe('the runbooks name the definition they were generated from', { timeout: 120_000 }, () => {
  const generatedFrom = (runbook: string): string | undefined =>
    /is generated from (.*);$/m.exec(runbook)?.[1];

  it('by its path in the repository the runbooks are in, else in the workspace, never absolute', () => {
    const dir = workspace();
    // the definition inside the output root (the repository): its path there
    mkdirSync(join(dir, 'out/infra'), { recursive: true });
    copyFileSync(join(dir, 'platform.yaml'), join(dir, 'out/infra/homelab.yaml'));
    const inside = homelab(dir, ['build', '--config', 'out/infra/homelab.yaml', '--out', 'out']);
    expect(inside.status, inside.stderr).toBe(0);
    const runbook = () => readFileSync(join(dir, 'out/clusters/prod/RUNBOOK.md'), 'utf8');
    expect(generatedFrom(runbook())).toBe('`infra/homelab.yaml`');
    expect(runbook()).toContain('`components.<name>.enabled: false` in `infra/homelab.yaml`');
    // beside the output root, in the workspace (this folder): its path in the workspace
    const beside = homelab(dir, ['build', '--config', 'platform.yaml', '--out', 'out']);
    expect(beside.status, beside.stderr).toBe(0);
    expect(generatedFrom(runbook())).toBe('`platform.yaml`');
    // outside both: no path that depends on the machine
    const elsewhere = mkdtempSync(join(tmpdir(), 'homelab-e2e-def-'));
    scratch.push(elsewhere);
    copyFileSync(join(dir, 'platform.yaml'), join(elsewhere, 'platform.yaml'));
    const outside = homelab(dir, [
      'build',
      '--config',
      join(elsewhere, 'platform.yaml'),
      '--out',
      'out',
    ]);
    expect(outside.status, outside.stderr).toBe(0);
    expect(generatedFrom(runbook())).toBe('the platform definition');
    expect(runbook()).not.toContain(elsewhere);
  });
});
