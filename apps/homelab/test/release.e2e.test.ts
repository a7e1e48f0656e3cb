// End-to-end: the release flow in a scratch copy of the repository, with the built bins
// (packages/cli/dist/bin.js, packages/release/dist/bin.js) and the repository's changesets CLI.
// The scratch folder holds what the flow reads and writes: the root package files,
// .changeset/config.json, vendor/ and the reference definition as apps/homelab/platform.yaml; the
// first build creates charts/ (every chart at 0.1.0). The committed charts/ are never read: their
// versions are the user's (after `pnpm version-packages` they are no longer 0.1.0). Its
// node_modules is a link to the repository's, so that `changeset version` finds its changelog
// generator.
//
// `pnpm version-packages` is `changeset version && pnpm build && pnpm homelab release record`; `pnpm build`
// is turbo over the whole monorepo, which the scratch copy does not hold, so its generation step
// runs here as `homelab build` (what apps/homelab's build script runs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { errorLines } from './cli-issues.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const homelabBin = join(repo, 'packages/cli/dist/bin.js');
const changesetBin = join(repo, 'node_modules/@changesets/cli/bin.js');

/** 2026-01-01T00:00:00Z: the release time when there is no git commit to take it from. */
const EPOCH = '1767225600';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

let scratch = '';

function run(bin: string, args: string[]): Result {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', SOURCE_DATE_EPOCH: EPOCH },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const homelab = (...args: string[]): Result => run(homelabBin, args);
const release = (...args: string[]): Result => run(homelabBin, ['release', ...args]);

function read(path: string): string {
  return readFileSync(join(scratch, path), 'utf8');
}

function chartYamlVersion(chart: string): string | undefined {
  return /^version: (\S+)$/m.exec(read(`charts/${chart}/Chart.yaml`))?.[1];
}

/** The chart folders of the scratch copy (each with its package.json), sorted. */
function chartFolders(): string[] {
  return readdirSync(join(scratch, 'charts'))
    .filter((name) => existsSync(join(scratch, 'charts', name, 'package.json')))
    .sort();
}

function recorded(): Record<string, { version: string; digest: string }> {
  return JSON.parse(read('charts/.versions.json'));
}

/** Paths of the regular files in a gzipped tar archive (ustar `prefix` + `name`). */
function tarFiles(archive: Uint8Array): string[] {
  const tar = gunzipSync(archive);
  const field = (block: Buffer, start: number, length: number): string =>
    block
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const files: string[] = [];
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1);
    if (type === '0' || type === '') files.push(prefix === '' ? name : `${prefix}/${name}`);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** `digest` and first `urls` entry of every chart version in a Helm repository index. */
function indexDigests(index: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of index.matchAll(/digest: ([0-9a-f]{64})\n(?:.*\n)*?\s+urls:\n\s+- (\S+)/g)) {
    out[match[2] ?? ''] = match[1] ?? '';
  }
  return out;
}

function sha256(path: string): string {
  return createHash('sha256')
    .update(readFileSync(join(scratch, path)))
    .digest('hex');
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'homelab-release-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml']) {
    copyFileSync(join(repo, file), join(scratch, file));
  }
  // The archives carry the vendored upstream charts their Chart.yaml depends on.
  cpSync(join(repo, 'vendor'), join(scratch, 'vendor'), { recursive: true });
  mkdirSync(join(scratch, '.changeset'));
  copyFileSync(join(repo, '.changeset/config.json'), join(scratch, '.changeset/config.json'));
  mkdirSync(join(scratch, 'apps/homelab'), { recursive: true });
  copyFileSync(
    join(repo, 'examples/reference/platform.yaml'),
    join(scratch, 'apps/homelab/platform.yaml'),
  );
  symlinkSync(join(repo, 'node_modules'), join(scratch, 'node_modules'), 'dir');
});

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe('the release flow in a scratch copy', { timeout: 120_000 }, () => {
  let before: Record<string, { version: string; digest: string }> = {};

  it('builds the reference platform; check fails until homelab changeset records the new charts', () => {
    expect(homelab('build').status).toBe(0);
    // New charts: nothing guards their content until their first version is recorded.
    const unguarded = homelab('check');
    expect(unguarded.status).toBe(1);
    expect(errorLines(unguarded.stderr)).toContain(
      'charts/cilium: "0.1.0" is not in charts/.versions.json, so nothing guards its content: ' +
        'record its first version (pnpm homelab changeset) (expected an entry for cilium in ' +
        'charts/.versions.json, or a pending changeset for the chart)',
    );
    // Nothing is released while a chart is unrecorded: a failed check, exit 1 as for check.
    const early = release('--no-tag', '--out', 'release');
    expect(early.status).toBe(1);
    expect(early.stderr).toContain('nothing released: charts/applications 0.1.0 is not in');
    expect(existsSync(join(scratch, 'release'))).toBe(false);
    const changeset = homelab('changeset');
    expect(changeset.status).toBe(0);
    expect(changeset.stdout).toMatch(
      /^recorded the first version of \d+ new charts in charts\/\.versions\.json: charts\/applications 0\.1\.0, /,
    );
    expect(readdirSync(join(scratch, '.changeset'))).toEqual(['config.json']);
    before = recorded();
    expect(Object.keys(before)).toEqual(chartFolders());
    expect(before.cilium?.version).toBe('0.1.0');
    const check = homelab('check');
    expect(errorLines(check.stderr)).toEqual([]);
    expect(check.stdout).toMatch(
      /^check passed: \d+ files match the definition in \d+ ms( \(\d+ warnings?\))?\n$/,
    );
    expect(check.status).toBe(0);
  });

  it('fails check after a pool CIDR change is built, saying to add a changeset for cilium only', () => {
    // Given the dev cluster's load-balancer pool shrank (around the Gateway's pinned address)
    const definition = read('apps/homelab/platform.yaml');
    expect(definition).toContain('cidr: 10.10.10.224/27');
    writeFileSync(
      join(scratch, 'apps/homelab/platform.yaml'),
      definition.replace('cidr: 10.10.10.224/27', 'cidr: 10.10.10.240/28'),
    );
    // When the output is rebuilt
    const build = homelab('build');
    expect(build.status).toBe(0);
    expect(read('charts/cilium/clusters/dev.yaml')).toContain('10.10.10.240/28');
    // Then check fails on the unversioned chart, and only on it
    const check = homelab('check');
    expect(check.status).toBe(1);
    expect(errorLines(check.stderr).join('\n')).toBe(
      'charts/cilium/Chart.yaml: charts/cilium changed since 0.1.0: add a changeset (pnpm changeset) ' +
        '(expected a version above 0.1.0, or a pending changeset for the chart)',
    );
    expect(check.stdout).toBe(
      'check failed: 1 chart version error: charts/cilium changed without a new version; ' +
        'add a changeset (`pnpm homelab changeset` writes one for every such chart)\n',
    );
  });

  it('writes the changeset for @homelab/chart-cilium with homelab changeset; check passes with it pending', () => {
    const changeset = homelab('changeset');
    expect(changeset.status).toBe(0);
    expect(changeset.stdout.split('\n')[0]).toBe('wrote .changeset/charts-d15570a7.md');
    expect(read('.changeset/charts-d15570a7.md')).toBe(
      '---\n"@homelab/chart-cilium": patch\n---\n\nRegenerated chart content: charts/cilium.\n',
    );
    const check = homelab('check');
    expect(errorLines(check.stderr)).toEqual([]);
    expect(check.status).toBe(0);
    // A second run has nothing left to write.
    expect(homelab('changeset').stdout).toBe(
      'no chart changed without a new version: no changeset to write\n',
    );
  });

  it('changeset version bumps the package and writes the CHANGELOG; the rebuild carries the version into Chart.yaml', () => {
    const version = run(changesetBin, ['version']);
    expect(version.status).toBe(0);
    expect(existsSync(join(scratch, '.changeset/charts-d15570a7.md'))).toBe(false);
    expect(JSON.parse(read('charts/cilium/package.json')).version).toBe('0.1.1');
    expect(read('charts/cilium/CHANGELOG.md')).toBe(
      '# @homelab/chart-cilium\n\n## 0.1.1\n\n### Patch Changes\n\n- Regenerated chart content: charts/cilium.\n',
    );
    expect(JSON.parse(read('charts/argo-cd/package.json')).version).toBe('0.1.0');
    // Before the rebuild, Chart.yaml is behind its package: check says so.
    expect(chartYamlVersion('cilium')).toBe('0.1.0');
    expect(homelab('check').stdout).toContain('  changed  charts/cilium/Chart.yaml\n');
    // The rebuild (pnpm build's generation step) follows package.json.
    expect(homelab('build').status).toBe(0);
    expect(chartYamlVersion('cilium')).toBe('0.1.1');
    expect(chartYamlVersion('argo-cd')).toBe('0.1.0');
    // Until recorded, the new version is not the recorded one.
    const check = homelab('check');
    expect(check.status).toBe(1);
    expect(check.stderr).toContain(
      'charts/cilium: "0.1.1" is not the version 0.1.0 recorded in charts/.versions.json',
    );
  });

  it('records the new version and digest; check passes', () => {
    const record = release('record');
    expect(record.status).toBe(0);
    const after = recorded();
    expect(after.cilium?.version).toBe('0.1.1');
    expect(after.cilium?.digest).not.toBe(before.cilium?.digest);
    expect(after['argo-cd']).toEqual(before['argo-cd']);
    expect(after.platform).toEqual(before.platform);
    const check = homelab('check');
    expect(errorLines(check.stderr)).toEqual([]);
    expect(check.status).toBe(0);
  });

  it('pnpm version-packages --help or an unknown option changes nothing', () => {
    writeFileSync(
      join(scratch, '.changeset/pending.md'),
      '---\n"@homelab/chart-argo-cd": patch\n---\n\nPending.\n',
    );
    for (const arg of ['--help', '--bogus']) {
      const result = release('version', arg);
      expect(result.status).toBe(arg === '--help' ? 0 : 2);
    }
    expect(existsSync(join(scratch, '.changeset/pending.md'))).toBe(true);
    expect(JSON.parse(read('charts/argo-cd/package.json')).version).toBe('0.1.0');
    rmSync(join(scratch, '.changeset/pending.md'));
  });

  it('releases reproducible archives and an index whose digests are their sha256', () => {
    const first = release('--no-tag', '--out', 'release');
    expect(first.status).toBe(0);
    const names = readdirSync(join(scratch, 'release')).sort();
    // Every chart folder of the repository, at the version its package.json has now.
    const archives = chartFolders().map(
      (chart) =>
        `${chart}-${(JSON.parse(read(`charts/${chart}/package.json`)) as { version: string }).version}.tgz`,
    );
    expect(archives).toContain('cilium-0.1.1.tgz');
    expect(names).toEqual([...archives, 'index.yaml'].sort());
    const index = read('release/index.yaml');
    expect(index).toMatch(/^apiVersion: v1\n/);
    expect(indexDigests(index)).toEqual(
      Object.fromEntries(archives.map((name) => [name, sha256(`release/${name}`)])),
    );
    expect(index).toContain('created: 2026-01-01T00:00:00Z');
    const bytes = Object.fromEntries(names.map((name) => [name, sha256(`release/${name}`)]));

    const second = release('--no-tag', '--out', 'release');
    expect(second.status).toBe(0);
    expect(Object.fromEntries(names.map((name) => [name, sha256(`release/${name}`)]))).toEqual(
      bytes,
    );

    const files = tarFiles(readFileSync(join(scratch, 'release/cilium-0.1.1.tgz')));
    expect(files).toContain('cilium/Chart.yaml');
    expect(files).toContain('cilium/values.yaml');
    expect(files.every((file) => file.startsWith('cilium/'))).toBe(true);
    // `helm install` of the archive alone needs the upstream chart inside it.
    const chartYaml = parse(read('charts/cilium/Chart.yaml')) as {
      dependencies: { name: string; version: string }[];
    };
    const upstream = chartYaml.dependencies.find(({ name }) => name === 'cilium')?.version;
    expect(upstream).toMatch(/^\d+\.\d+\.\d+$/);
    expect(files).toContain(`cilium/charts/cilium-${upstream}.tgz`);
    expect(files.filter((file) => /(^|\/)(package\.json|CHANGELOG\.md)$/.test(file))).toEqual([]);
    const tar = gunzipSync(readFileSync(join(scratch, 'release/cilium-0.1.1.tgz')));
    expect(tar.toString('latin1')).toContain('\nversion: 0.1.1\n');
  });
});
