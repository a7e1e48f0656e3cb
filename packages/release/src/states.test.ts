import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chartDigest } from './digest.js';
import { checkChartVersions } from './guard.js';
import { chartFolderPaths, readChartStates } from './repo.js';
import { chartStatesFromBuild, foreignChartFiles } from './states.js';

const files = [
  { path: 'charts/cilium/Chart.yaml', content: 'apiVersion: v2\nname: cilium\nversion: 0.1.0\n' },
  { path: 'charts/cilium/values.yaml', content: 'cilium:\n  ipam:\n    mode: kubernetes\n' },
  { path: 'charts/platform/Chart.yaml', content: 'apiVersion: v2\nname: platform\n' },
  { path: 'charts/notachart/values.yaml', content: 'a: 1\n' },
  { path: 'clusters/dev/talos/controlplane.yaml', content: 'machine: {}\n' },
];

const base = {
  files,
  versions: { cilium: '0.1.0' },
  defaultVersion: '0.1.0',
  record: {},
  pending: [],
};

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('chartStatesFromBuild', () => {
  it('makes one state per generated chart folder, digesting its files relative to the folder', () => {
    const states = chartStatesFromBuild(base);
    expect(states.map((state) => state.name)).toEqual(['cilium', 'platform']);
    expect(states[0]).toEqual({
      name: 'cilium',
      packageName: '@homelab/chart-cilium',
      version: '0.1.0',
      digest: chartDigest(
        new Map([
          ['Chart.yaml', 'apiVersion: v2\nname: cilium\nversion: 0.1.0\n'],
          ['values.yaml', 'cilium:\n  ipam:\n    mode: kubernetes\n'],
        ]),
      ),
      pendingChangeset: false,
    });
  });

  it('gives a chart without package.json the default version and the recorded entry when there is one', () => {
    const states = chartStatesFromBuild({
      ...base,
      defaultVersion: '9.9.9',
      record: { platform: { version: '9.9.9', digest: 'sha256:00' } },
    });
    expect(states[1]?.version).toBe('9.9.9');
    expect(states[1]?.recorded).toEqual({ version: '9.9.9', digest: 'sha256:00' });
    expect(states[0]?.recorded).toBeUndefined();
  });

  it('marks a chart that a pending changeset bumps, by its package name', () => {
    const states = chartStatesFromBuild({
      ...base,
      packageNames: { platform: '@acme/platform-chart' },
      pending: ['@acme/platform-chart'],
    });
    expect(states.map((state) => [state.packageName, state.pendingChangeset])).toEqual([
      ['@homelab/chart-cilium', false],
      ['@acme/platform-chart', true],
    ]);
  });

  it('digests exactly as readChartStates digests the folder once the build wrote it', () => {
    // Given the build's files written to disk, beside the files changesets and pnpm own
    const root = mkdtempSync(join(tmpdir(), 'homelab-states-'));
    scratch.push(root);
    const onDisk = [
      ...files,
      {
        path: 'charts/cilium/package.json',
        content: '{"name":"@homelab/chart-cilium","version":"0.1.0"}\n',
      },
      { path: 'charts/cilium/CHANGELOG.md', content: '# @homelab/chart-cilium\n' },
      { path: 'charts/cilium/node_modules/x/index.js', content: 'x\n' },
    ];
    for (const file of onDisk) {
      mkdirSync(dirname(join(root, file.path)), { recursive: true });
      writeFileSync(join(root, file.path), file.content);
    }
    // When both digest it
    const fromBuild = chartStatesFromBuild(base).map((state) => [state.name, state.digest]);
    const fromDisk = readChartStates(root).charts.map((state) => [state.name, state.digest]);
    // Then they agree
    expect(fromBuild).toEqual(fromDisk);
  });

  it('feeds the guard: a changed build at the recorded version needs a changeset', () => {
    const recorded = chartStatesFromBuild(base)[0];
    const changed = files.map((file) =>
      file.path === 'charts/cilium/values.yaml' ? { ...file, content: 'cilium: {}\n' } : file,
    );
    const record = { cilium: { version: '0.1.0', digest: recorded?.digest ?? '' } };
    const issues = checkChartVersions(chartStatesFromBuild({ ...base, files: changed, record }));
    expect(
      issues.filter((issue) => issue.output?.startsWith('charts/cilium/')).map((i) => i.message),
    ).toEqual(['charts/cilium changed since 0.1.0: add a changeset (pnpm changeset)']);
  });
});

describe('foreignChartFiles', () => {
  it('names the files of a chart folder the build does not write that a release would pack', () => {
    // Given a built chart folder with the generated .helmignore, and what else lies in it
    const dir = mkdtempSync(join(tmpdir(), 'homelab-foreign-'));
    scratch.push(dir);
    const built = [
      ...files,
      { path: 'charts/cilium/.helmignore', content: 'package.json\nCHANGELOG.md\n*.orig\n' },
    ];
    for (const file of [
      ...built,
      {
        path: 'charts/cilium/package.json',
        content: '{"name":"@homelab/chart-cilium","version":"0.1.0"}',
      },
      { path: 'charts/cilium/CHANGELOG.md', content: '# x\n' },
      { path: 'charts/cilium/node_modules/x/index.js', content: 'x' },
      { path: 'charts/cilium/charts/cilium-1.19.6.tgz', content: 'helm dependency build' },
      { path: 'charts/cilium/Chart.lock', content: 'dependencies: []\n' },
      { path: 'charts/cilium/values.yaml.orig', content: 'an editor left it\n' },
      { path: 'charts/cilium/extra.txt', content: 'hi\n' },
      { path: 'charts/cilium/templates/notes.yaml', content: 'by hand\n' },
      { path: 'charts/old/extra.txt', content: 'a chart no longer built\n' },
    ]) {
      mkdirSync(dirname(join(dir, file.path)), { recursive: true });
      writeFileSync(join(dir, file.path), file.content);
    }
    // When compared with the build's files, then only what would be packed is named
    expect(foreignChartFiles(built, chartFolderPaths(dir))).toEqual([
      'charts/cilium/extra.txt',
      'charts/cilium/templates/notes.yaml',
    ]);
    // And each of them is what moves the digest release computes from the folder
    const [state] = readChartStates(dir).charts.filter((chart) => chart.name === 'cilium');
    const generated = built.filter((file) => file.path.startsWith('charts/cilium/'));
    const digestOf = (extra: Record<string, string>) =>
      chartDigest([
        ...generated.map((file) => ({
          path: file.path.slice('charts/cilium/'.length),
          content: file.content,
        })),
        ...Object.entries(extra).map(([path, content]) => ({ path, content })),
      ]);
    expect(state?.digest).not.toBe(digestOf({}));
    expect(state?.digest).toBe(
      digestOf({ 'extra.txt': 'hi\n', 'templates/notes.yaml': 'by hand\n' }),
    );
  });
});
