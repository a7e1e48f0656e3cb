import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GeneratedFile, Issue } from '@homelab/core';
import { error, formatIssue, warning } from '@homelab/core';
import { chartDigest } from '@homelab/release';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from './cli.js';
import { run, workspaceRoot } from './cli.js';
import type { GenerateInput } from './pipeline.js';
import type { FileChange, ReleaseState, Runtime } from './runtime-types.js';

interface Fake {
  io: CliIo;
  out: () => string;
  err: () => string;
  writes: (readonly GeneratedFile[])[];
  inputs: GenerateInput[];
  changesets: (readonly GeneratedFile[])[];
  /** Contents written to charts/.versions.json. */
  records: string[];
  /** Runtime calls that act, in order: `changeset version`, `writeTree`. */
  calls: string[];
}

const files: GeneratedFile[] = [
  { path: 'charts/cilium/values.yaml', content: 'a: 2\n' },
  { path: 'clusters/dev/talos/controlplane.yaml', content: 'machine: {}\n' },
];

let workspace: string;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'homelab-cli-'));
  writeFileSync(join(workspace, 'pnpm-workspace.yaml'), 'packages: []\n');
  mkdirSync(join(workspace, 'apps/homelab'), { recursive: true });
  writeFileSync(join(workspace, 'apps/homelab/platform.yaml'), 'platform: {}\n');
});

afterEach(() => {
  rmSync(workspace, { recursive: true, force: true });
});

function fake(
  options: {
    issues?: Issue[];
    differences?: FileChange[];
    env?: Record<string, string>;
    isTTY?: boolean;
    cwd?: string;
    fail?: Error;
    created?: string[];
    files?: GeneratedFile[];
    release?: Partial<ReleaseState>;
    changesetStatus?: number;
    readChart?: Runtime['readChart'];
    readClusterFiles?: Runtime['readClusterFiles'];
    readClusterNames?: Runtime['readClusterNames'];
  } = {},
): Fake {
  let stdout = '';
  let stderr = '';
  const writes: (readonly GeneratedFile[])[] = [];
  const inputs: GenerateInput[] = [];
  const changesets: (readonly GeneratedFile[])[] = [];
  const records: string[] = [];
  const calls: string[] = [];
  let clock = 1000;
  const runtime: Runtime = {
    generate: (input) => {
      if (options.fail) throw options.fail;
      inputs.push(input);
      const issues = options.issues ?? [];
      const generated = options.files ?? files;
      return { files: issues.some((issue) => issue.severity === 'error') ? [] : generated, issues };
    },
    readChartVersions: () => ({ cilium: '0.2.0' }),
    ...(options.readChart === undefined ? {} : { readChart: options.readChart }),
    ...(options.readClusterFiles === undefined
      ? {}
      : { readClusterFiles: options.readClusterFiles }),
    ...(options.readClusterNames === undefined
      ? {}
      : { readClusterNames: options.readClusterNames }),
    writeTree: (_root, written) => {
      calls.push('writeTree');
      writes.push(written);
      return { written: 1, unchanged: 1, removed: 0, created: options.created ?? [] };
    },
    diffTree: () => options.differences ?? [],
    readReleaseState: () => ({
      record: {},
      pending: [],
      packageNames: {},
      issues: [],
      chartPaths: {},
      ...options.release,
    }),
    writeChangesets: (_root, written) => {
      changesets.push(written);
      return written.map((file) => file.path);
    },
    writeVersionRecord: (_root, content) => {
      records.push(content);
    },
    changesetVersion: () => {
      calls.push('changeset version');
      return options.changesetStatus ?? 0;
    },
    formatIssue,
  };
  return {
    io: {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      cwd: options.cwd ?? workspace,
      env: options.env ?? {},
      isTTY: options.isTTY ?? false,
      now: () => {
        clock += 206;
        return clock;
      },
      runtime: async () => runtime,
    },
    out: () => stdout,
    err: () => stderr,
    writes,
    inputs,
    changesets,
    records,
    calls,
  };
}

/** A last build whose every chart holds `values.yaml: {}`, and the charts read from it. */
function lastBuildCharts(): { read: string[]; readChart: NonNullable<Runtime['readChart']> } {
  const read: string[] = [];
  return {
    read,
    readChart: (outRoot, chart) => {
      read.push(`${outRoot} ${chart}`);
      return new Map([['values.yaml', '{}\n']]);
    },
  };
}

const badCidr = (file: string): Issue =>
  error({
    code: 'cidr',
    path: ['clusters', 0, 'network', 'podCidr'],
    message: 'is not a CIDR',
    value: '10.244.0.0/33',
    expected: 'a.b.c.d/n',
    position: { file, line: 14, column: 9 },
  });

describe('homelab build', () => {
  it('writes the files and prints the one-line summary', async () => {
    const cli = fake();
    expect(await run(['build'], cli.io)).toBe(0);
    expect(cli.writes).toEqual([files]);
    expect(cli.out()).toBe('built 2 files: 1 written, 1 unchanged, 0 removed in 206 ms\n');
    expect(cli.inputs[0]).toEqual({
      text: 'platform: {}\n',
      file: join(workspace, 'apps/homelab/platform.yaml'),
      // the runbooks name it relative to the output root, never by the machine's absolute path
      source: 'apps/homelab/platform.yaml',
      chartVersions: { cilium: '0.2.0' },
    });
  });

  it("compares with the last build's charts (immutable-field-changed) unless --allow-immutable-changes", async () => {
    const { read, readChart } = lastBuildCharts();
    const compared = fake({ readChart });
    expect(await run(['build'], compared.io)).toBe(0);
    expect(compared.inputs[0]?.previousChart?.('cilium')?.get('values.yaml')).toBe('{}\n');
    expect(read).toEqual([`${workspace} cilium`]);
    const allowed = fake({ readChart });
    expect(await run(['build', '--allow-immutable-changes'], allowed.io)).toBe(0);
    expect(allowed.inputs[0]?.previousChart).toBeUndefined();
    expect(allowed.writes).toEqual([files]);
    expect(read).toHaveLength(1);
  });

  it("compares with the last build's cluster files (cluster-network-changed, …-upgrade-path) unless --allow-immutable-changes", async () => {
    const read: string[] = [];
    const readClusterFiles: NonNullable<Runtime['readClusterFiles']> = (outRoot, cluster) => {
      read.push(`${outRoot} ${cluster}`);
      return new Map([['talos/controlplane.yaml', 'cluster: {}\n']]);
    };
    const compared = fake({ readClusterFiles });
    expect(await run(['build'], compared.io)).toBe(0);
    expect(compared.inputs[0]?.previousCluster?.('dev')?.get('talos/controlplane.yaml')).toBe(
      'cluster: {}\n',
    );
    expect(read).toEqual([`${workspace} dev`]);
    // Skipped by the flag, for a cluster rebuilt from scratch, and by the reports.
    const allowed = fake({ readClusterFiles });
    expect(await run(['build', '--allow-immutable-changes'], allowed.io)).toBe(0);
    expect(allowed.inputs[0]?.previousCluster).toBeUndefined();
    expect(allowed.writes).toEqual([files]);
    const report = fake({ readClusterFiles });
    expect(await run(['vendor', 'outdated'], report.io)).toBe(0);
    expect(report.inputs[0]?.previousCluster).toBeUndefined();
    expect(read).toHaveLength(1);
  });

  it('passes the clusters the last build wrote (cluster-removed) unless --allow-immutable-changes', async () => {
    const listed: string[] = [];
    const readClusterNames: NonNullable<Runtime['readClusterNames']> = (outRoot) => {
      listed.push(outRoot);
      return ['dev', 'old-lab'];
    };
    const compared = fake({ readClusterNames });
    expect(await run(['build'], compared.io)).toBe(0);
    expect(compared.inputs[0]?.previousClusters).toEqual(['dev', 'old-lab']);
    expect(listed).toEqual([workspace]);
    const allowed = fake({ readClusterNames });
    expect(await run(['build', '--allow-immutable-changes'], allowed.io)).toBe(0);
    expect(allowed.inputs[0]?.previousClusters).toBeUndefined();
    const report = fake({ readClusterNames });
    expect(await run(['vendor', 'outdated'], report.io)).toBe(0);
    expect(report.inputs[0]?.previousClusters).toBeUndefined();
    expect(listed).toHaveLength(1);
  });

  it("leaves the last build's charts out of the upgrade reports (vendor outdated): they deploy nothing", async () => {
    const { readChart } = lastBuildCharts();
    const report = fake({ readChart });
    expect(await run(['vendor', 'outdated'], report.io)).toBe(0);
    expect(report.inputs).toHaveLength(1);
    expect(report.inputs[0]?.previousChart).toBeUndefined();
    // The same fake compares on a build, so the report's leaving it out is the command's.
    const built = fake({ readChart });
    expect(await run(['build'], built.io)).toBe(0);
    expect(built.inputs[0]?.previousChart).toBeDefined();
  });

  it('names the files the writer created besides the generated ones', async () => {
    const cli = fake({ created: ['charts/cilium/package.json'] });
    expect(await run(['build'], cli.io)).toBe(0);
    expect(cli.out()).toBe(
      'built 2 files: 1 written, 1 unchanged, 0 removed in 206 ms; created charts/cilium/package.json\n',
    );
  });

  it('shows a file far outside cwd by its absolute path', async () => {
    const cli = fake({
      issues: [badCidr('/elsewhere/deep/platform.yaml')],
      cwd: join(workspace, 'apps/homelab'),
    });
    expect(await run(['validate'], cli.io)).toBe(1);
    expect(cli.err().split('\n')[0]).toMatch(/^\/elsewhere\/deep\/platform\.yaml:14:9 {2}clusters/);
  });

  it('finds the workspace root from a subfolder', async () => {
    const cli = fake({ cwd: join(workspace, 'apps/homelab') });
    expect(await run(['build'], cli.io)).toBe(0);
    expect(cli.inputs[0]?.file).toBe(join(workspace, 'apps/homelab/platform.yaml'));
    expect(workspaceRoot(join(workspace, 'apps/homelab'))).toBe(workspace);
  });

  it('prints issues with the file relative to cwd, writes nothing and exits 1', async () => {
    const cli = fake({
      issues: [badCidr(join(workspace, 'apps/homelab/platform.yaml'))],
      cwd: join(workspace, 'apps'),
    });
    expect(await run(['build'], cli.io)).toBe(1);
    expect(cli.writes).toEqual([]);
    expect(cli.err()).toBe(
      'homelab/platform.yaml:14:9  clusters[0].network.podCidr: "10.244.0.0/33" is not a CIDR (expected a.b.c.d/n)\n' +
        'build failed: 1 error in homelab/platform.yaml; nothing written\n',
    );
  });

  it('run as a package script (pnpm build through turbo, in apps/homelab), shows files from the workspace root', async () => {
    const cli = fake({
      issues: [badCidr(join(workspace, 'apps/homelab/platform.yaml'))],
      cwd: join(workspace, 'apps/homelab'),
      env: { npm_lifecycle_event: 'build' },
    });
    expect(await run(['build', '--config', 'platform.yaml'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'apps/homelab/platform.yaml:14:9  clusters[0].network.podCidr: "10.244.0.0/33" is not a CIDR (expected a.b.c.d/n)\n' +
        'build failed: 1 error in apps/homelab/platform.yaml; nothing written\n',
    );
  });

  it('carries warnings, and refuses them with --strict', async () => {
    const issues = [
      warning({
        code: 'even',
        path: ['clusters', 1, 'nodes'],
        message: 'has an even number of control planes',
      }),
    ];
    const lenient = fake({ issues });
    expect(await run(['build'], lenient.io)).toBe(0);
    expect(lenient.err()).toBe(
      'clusters[1].nodes: has an even number of control planes [warning]\n',
    );
    expect(lenient.out()).toContain('(1 warning)');
    const strict = fake({ issues });
    expect(await run(['build', '--strict'], strict.io)).toBe(1);
    expect(strict.writes).toEqual([]);
  });

  it('indents the lines of a message after its first, and marks a warning at its end', async () => {
    const issues = [
      warning({
        code: 'shared',
        path: ['clusters', 1, 'components', 'bitwarden-sm'],
        message: 'shares an entry with cluster "dev"',
        expected: 'an entry of its own:\nsecrets:\n  argocd-oidc:\n    client-secret: <id>',
      }),
      warning({ code: 'even', path: ['clusters', 1, 'nodes'], message: 'has two control planes' }),
    ];
    const cli = fake({ issues });
    expect(await run(['build'], cli.io)).toBe(0);
    expect(cli.err()).toBe(
      'clusters[1].components.bitwarden-sm: shares an entry with cluster "dev" (expected an entry of its own:\n' +
        '    secrets:\n' +
        '      argocd-oidc:\n' +
        '        client-secret: <id>) [warning]\n' +
        'clusters[1].nodes: has two control planes [warning]\n',
    );
  });

  it('prints a JSON report with --json and nothing else', async () => {
    const cli = fake({ issues: [badCidr(join(workspace, 'p.yaml'))] });
    expect(await run(['build', '--json'], cli.io)).toBe(1);
    expect(cli.err()).toBe('');
    const report = JSON.parse(cli.out());
    expect(report.ok).toBe(false);
    expect(report.issues).toEqual([
      {
        severity: 'error',
        code: 'cidr',
        path: 'clusters[0].network.podCidr',
        segments: ['clusters', 0, 'network', 'podCidr'],
        output: null,
        message: 'is not a CIDR',
        value: '10.244.0.0/33',
        expected: 'a.b.c.d/n',
        file: 'p.yaml',
        line: 14,
        column: 9,
      },
    ]);
    expect(report.summary).toMatchObject({ files: 0, written: 0 });
  });

  it('reports a missing --config as the user mistake it is (exit 1)', async () => {
    const cli = fake();
    expect(await run(['build', '--config', 'nope.yaml'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'homelab: cannot read the platform definition nope.yaml: no such file (use --config FILE)\n',
    );
    expect(cli.writes).toEqual([]);
  });

  it('shows a HomelabError (a refused write) as its message, exit 2', async () => {
    const refused = Object.assign(
      new Error('refusing to overwrite files the build did not generate: charts/x/a.yaml'),
      {
        name: 'HomelabError',
      },
    );
    const cli = fake({ fail: refused });
    expect(await run(['build'], cli.io)).toBe(2);
    expect(cli.err()).toBe(
      'homelab: refusing to overwrite files the build did not generate: charts/x/a.yaml\n',
    );
  });

  it('turns an unexpected exception into exit 2 without a stack, unless HOMELAB_DEBUG=1', async () => {
    const quiet = fake({ fail: new TypeError('boom') });
    expect(await run(['build'], quiet.io)).toBe(2);
    expect(quiet.err()).toBe(
      'homelab: internal error: TypeError: boom\n(set HOMELAB_DEBUG=1 for the stack trace)\n',
    );
    const debug = fake({ fail: new TypeError('boom'), env: { HOMELAB_DEBUG: '1' } });
    expect(await run(['build'], debug.io)).toBe(2);
    expect(debug.err()).toMatch(/\n {4}at /);
  });

  it('names the path and the cause of a file-system error that escaped, exit 2, never "internal error"', async () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open '/x/charts'"), {
      code: 'EACCES',
      syscall: 'open',
      path: '/x/charts',
    });
    const cli = fake({ fail: denied });
    expect(await run(['build'], cli.io)).toBe(2);
    expect(cli.err()).toBe('homelab: cannot open /x/charts: permission denied (EACCES)\n');
  });

  it('still prints one JSON document with --json when the write fails (exit 2)', async () => {
    const full = Object.assign(
      new Error(
        'could not write the new charts/ (nothing was changed): cannot write /x: no space left on the device (ENOSPC)',
      ),
      { name: 'HomelabError' },
    );
    const cli = fake({ fail: full });
    expect(await run(['build', '--json'], cli.io)).toBe(2);
    expect(JSON.parse(cli.out())).toEqual({
      ok: false,
      issues: [
        {
          severity: 'error',
          code: 'fault',
          path: '(root)',
          segments: [],
          output: null,
          message: full.message,
          value: null,
          expected: null,
          file: null,
          line: null,
          column: null,
        },
      ],
      summary: { ms: expect.any(Number) },
    });
  });

  it('still prints JSON with --json when the definition cannot be read (exit 1)', async () => {
    const cli = fake();
    expect(await run(['validate', '--json', '--config', '/dev/zero'], cli.io)).toBe(1);
    const output = JSON.parse(cli.out()) as {
      ok: boolean;
      issues: { code: string; message: string }[];
    };
    expect(output.ok).toBe(false);
    expect(output.issues.map((issue) => [issue.code, issue.message])).toEqual([
      [
        'unreadable-definition',
        'cannot read the platform definition /dev/zero: it is a character device, not a regular file (use --config FILE)',
      ],
    ]);
  });

  it('shows issues thrown while reading the output root with their value, and as JSON with --json', async () => {
    const thrown = Object.assign(new Error('1 error(s) in the platform definition'), {
      name: 'ValidationError',
      issues: [
        error({
          code: 'chart-version',
          path: [],
          output: 'charts/a/package.json#version',
          value: 'not-a-version',
          message: 'is not a semantic version; it would become the chart version in Chart.yaml',
          expected: 'a semantic version such as 0.1.0',
          position: { file: join(workspace, 'charts/a/package.json'), line: 3, column: 14 },
        }),
      ],
    });
    const text = fake({ fail: thrown });
    expect(await run(['build'], text.io)).toBe(1);
    expect(text.err().split('\n')[0]).toBe(
      'charts/a/package.json:3:14  charts/a/package.json#version: "not-a-version" is not a semantic version; it would become the chart version in Chart.yaml (expected a semantic version such as 0.1.0)',
    );
    const json = fake({ fail: thrown });
    expect(await run(['build', '--json'], json.io)).toBe(1);
    expect(JSON.parse(json.out()).issues[0]).toMatchObject({
      code: 'chart-version',
      value: 'not-a-version',
      file: 'charts/a/package.json',
      line: 3,
    });
  });

  it('indents the lines after the first of an issue thrown while reading, as of one found by the build', async () => {
    const thrown = Object.assign(new Error('1 error(s) in the platform definition'), {
      name: 'ValidationError',
      issues: [
        error({
          code: 'mapping',
          path: ['components', 'bitwarden-sm'],
          message: 'maps no entry for argocd-oidc',
          expected: 'these lines:\nsecrets:\n  argocd-oidc: <id>',
        }),
      ],
    });
    const cli = fake({ fail: thrown });
    expect(await run(['build'], cli.io)).toBe(1);
    expect(cli.err().split('\n').slice(0, 3)).toEqual([
      'components.bitwarden-sm: maps no entry for argocd-oidc (expected these lines:',
      '    secrets:',
      '      argocd-oidc: <id>)',
    ]);
  });

  it('colours output on a terminal, not with NO_COLOR', async () => {
    const tty = fake({ isTTY: true });
    await run(['build'], tty.io);
    expect(tty.out()).toContain('\u001b[32mbuilt\u001b[39m');
    const noColor = fake({ isTTY: true, env: { NO_COLOR: '1' } });
    await run(['build'], noColor.io);
    expect(noColor.out()).not.toContain('\u001b[');
  });
});

describe('homelab validate', () => {
  it('writes nothing and says the definition is valid', async () => {
    const cli = fake();
    expect(await run(['validate'], cli.io)).toBe(0);
    expect(cli.writes).toEqual([]);
    expect(cli.out()).toBe('valid: 0 clusters, 2 files would be generated; checked in 206 ms\n');
  });
});

describe('homelab check', () => {
  it('passes when nothing differs', async () => {
    const cli = fake();
    expect(await run(['check'], cli.io)).toBe(0);
    expect(cli.out()).toBe('check passed: 2 files match the definition in 206 ms\n');
  });

  it('lists the files that differ and exits 1', async () => {
    const cli = fake({
      differences: [
        { path: 'charts/cilium/README.md', before: null, after: '# x\n' },
        { path: 'charts/cilium/values.yaml', before: 'a: 1\n', after: 'a: 2\n' },
        { path: 'clusters/old/x.yaml', before: 'x: 1\n', after: null },
      ],
    });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.out()).toBe(
      [
        '  changed  charts/cilium/values.yaml',
        '  missing  charts/cilium/README.md',
        '  stale    clusters/old/x.yaml',
        'check failed: 3 of 4 files differ from what build would write (1 changed, 1 missing, 1 stale); run `homelab build` and commit the result',
        '',
      ].join('\n'),
    );
    expect(cli.writes).toEqual([]);
  });
});

describe('homelab check: an unreadable version record', () => {
  it('says to fix the record, where its problem is, not to run changeset (which refuses it)', async () => {
    // Given charts/.versions.json that is no JSON
    const problem: Issue = {
      severity: 'error',
      code: 'version-record',
      path: [],
      output: 'charts/.versions.json',
      message: 'is not valid JSON: the text ends at line 2, column 1',
    };
    const cli = fake({ files: released, release: { issues: [problem] } });
    // When checked, then only its problem is reported, and the advice is to fix or restore it
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'charts/.versions.json: is not valid JSON: the text ends at line 2, column 1\n',
    );
    expect(cli.out()).toBe(
      'check failed: 1 chart version error: charts/.versions.json is unreadable (above), so no chart ' +
        'version is checked: fix it there, or restore it (git checkout -- charts/.versions.json)\n',
    );
    const json = fake({ files: released, release: { issues: [problem] } });
    expect(await run(['check', '--json'], json.io)).toBe(1);
    const { summary } = JSON.parse(json.out()) as { summary: Record<string, unknown> };
    expect([summary.unversioned, summary.unrecorded]).toEqual([[], []]);
  });
});

describe('homelab check --json: one summary shape', () => {
  it('has the same keys when the definition fails as when it builds', async () => {
    const ok = fake({ files: released, release: { record } });
    expect(await run(['check', '--json'], ok.io)).toBe(0);
    const failed = fake({
      issues: [{ severity: 'error', code: 'schema', path: ['platform'], message: 'is wrong' }],
    });
    expect(await run(['check', '--json'], failed.io)).toBe(1);
    const keys = (out: string) =>
      Object.keys((JSON.parse(out) as { summary: object }).summary).sort();
    expect(keys(failed.out())).toEqual(keys(ok.out()));
    expect(keys(failed.out())).toContain('unrecorded');
  });
});

describe('homelab check: pending changesets', () => {
  it('fails on a changeset changeset version would refuse, naming it, the record still read', async () => {
    const bad = {
      severity: 'error' as const,
      code: 'changeset-invalid',
      path: [],
      output: '.changeset/typo.md',
      message: 'names @homelab/chart-cillium, which is no chart of the workspace',
    };
    const cli = fake({ files: released, release: { record, issues: [bad] } });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      '.changeset/typo.md: names @homelab/chart-cillium, which is no chart of the workspace\n',
    );
    expect(cli.out()).toBe(
      'check failed: .changeset/typo.md is a changeset `changeset version` (pnpm version-packages) would refuse (above): fix or remove it\n',
    );
  });
});

describe('homelab check: the command it says to run', () => {
  it('names --config and --out where they are not the defaults', async () => {
    // Given another definition, and another output folder, than the workspace's
    writeFileSync(join(workspace, 'other.yaml'), 'platform: {}\n');
    const differences = [{ path: 'charts/cilium/values.yaml', before: 'a: 1\n', after: 'a: 2\n' }];
    const cli = fake({ differences, cwd: workspace });
    expect(await run(['check', '--config', 'other.yaml', '--out', 'my out'], cli.io)).toBe(1);
    // Then the hint builds that definition into that folder (`homelab build` alone would build
    // apps/homelab/platform.yaml into the workspace)
    expect(cli.out().split('\n').at(-2)).toBe(
      "check failed: 1 of 2 files differ from what build would write (1 changed, 0 missing, 0 stale); run `homelab build --config other.yaml --out 'my out'` and commit the result",
    );
  });
});

describe('homelab check: the counts', () => {
  it('counts a chart package.json the build would create among the files, text and JSON alike', async () => {
    // Given an empty output folder: every generated file missing, and the package.json the
    // writer creates for each new chart
    const differences = [
      ...files.map((file) => ({ path: file.path, before: null, after: file.content })),
      { path: 'charts/cilium/package.json', before: null, after: '{}\n' },
    ];
    const cli = fake({ differences });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.out().split('\n').at(-2)).toBe(
      'check failed: 3 of 3 files differ from what build would write (0 changed, 3 missing, 0 stale); run `homelab build` and commit the result',
    );
    const json = fake({ differences });
    expect(await run(['check', '--json'], json.io)).toBe(1);
    const { summary } = JSON.parse(json.out()) as { summary: { files: number; missing: string[] } };
    expect([summary.files, summary.missing.length]).toEqual([3, 3]);
  });
});

// A chart as the build generates it, at version 0.2.0 (the fake's readChartVersions), and the
// same chart after a value changed.
const released: GeneratedFile[] = [
  { path: 'charts/cilium/Chart.yaml', content: 'apiVersion: v2\nname: cilium\nversion: 0.2.0\n' },
  { path: 'charts/cilium/values.yaml', content: 'cilium:\n  ipam:\n    mode: kubernetes\n' },
  { path: 'clusters/dev/talos/controlplane.yaml', content: 'machine: {}\n' },
];
const edited: GeneratedFile[] = released.map((file) =>
  file.path === 'charts/cilium/values.yaml'
    ? { ...file, content: 'cilium:\n  ipam:\n    mode: cluster-pool\n' }
    : file,
);
/** The record as `pnpm homelab release record` writes it after releasing `released`. */
const record = {
  cilium: {
    version: '0.2.0',
    digest: chartDigest(
      released
        .filter((file) => file.path.startsWith('charts/cilium/'))
        .map((file) => ({ path: file.path.slice('charts/cilium/'.length), content: file.content })),
    ),
  },
};
const GUARD_LINE =
  'charts/cilium/Chart.yaml: charts/cilium changed since 0.2.0: add a changeset (pnpm changeset) ' +
  '(expected a version above 0.2.0, or a pending changeset for the chart)\n';

describe('homelab check: the version-increment guard', () => {
  it('passes a chart whose generated content matches the digest recorded for its version', async () => {
    const cli = fake({ files: released, release: { record } });
    expect(await run(['check'], cli.io)).toBe(0);
    expect(cli.err()).toBe('');
    expect(cli.out()).toBe('check passed: 3 files match the definition in 206 ms\n');
  });

  it('fails a chart that changed at its recorded version and says to add a changeset', async () => {
    const cli = fake({ files: edited, release: { record } });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(GUARD_LINE);
    expect(cli.out()).toBe(
      'check failed: 1 chart version error: charts/cilium changed without a new version; ' +
        'add a changeset (`pnpm homelab changeset` writes one for every such chart)\n',
    );
  });

  it('fails on a file in a chart folder the build does not write, which a release would pack', async () => {
    // Given the released chart on disk with a file beside it the build never wrote
    const chartPaths = {
      cilium: ['Chart.yaml', 'CHANGELOG.md', 'extra.txt', 'package.json', 'values.yaml'],
    };
    const cli = fake({ files: released, release: { record, chartPaths } });
    // When checked, then it fails naming the file, text and JSON alike
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'charts/cilium/extra.txt: is not written by the build, yet it would be packed into charts/cilium ' +
        'and counts in its content digest (homelab release refuses the chart); a changeset does not ' +
        'change that (expected only generated files in a chart folder: remove it (or move it out of charts/))\n',
    );
    expect(cli.out()).toBe(
      'check failed: charts/cilium/extra.txt is not generated but would be packed into its chart (above): remove it\n',
    );
    const json = fake({ files: released, release: { record, chartPaths } });
    expect(await run(['check', '--json'], json.io)).toBe(1);
    const report = JSON.parse(json.out()) as {
      ok: boolean;
      issues: { code: string; output: string }[];
      summary: { foreign: string[] };
    };
    expect([report.ok, report.summary.foreign]).toEqual([false, ['charts/cilium/extra.txt']]);
    expect(report.issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['chart-foreign-file', 'charts/cilium/extra.txt'],
    ]);
    // And changeset does not say there is nothing to do
    const changeset = fake({ files: released, release: { record, chartPaths } });
    expect(await run(['changeset'], changeset.io)).toBe(1);
    expect(changeset.err().split('\n').at(-2)).toBe(
      'changeset failed: no chart changed without a new version, but charts/cilium/extra.txt would be ' +
        'packed into its chart (above): remove it; no changeset written',
    );
    expect(changeset.changesets).toEqual([]);
    // A changed chart beside it: the changeset is written, and the file still fails the command
    const both = fake({ files: edited, release: { record, chartPaths } });
    expect(await run(['changeset'], both.io)).toBe(1);
    expect(both.changesets.flat().map((file) => file.path)).toEqual([
      expect.stringMatching(/^\.changeset\/charts-[0-9a-f]{8}\.md$/),
    ]);
    expect(both.err().split('\n').at(-2)).toBe(
      'changeset failed: charts/cilium/extra.txt would still be packed into its chart (above): remove it',
    );
  });

  it('passes the changed chart when a pending changeset bumps its package', async () => {
    const cli = fake({
      files: edited,
      release: { record, pending: ['@homelab/chart-cilium'] },
    });
    expect(await run(['check'], cli.io)).toBe(0);
    expect(cli.err()).toBe('');
  });

  it('does not count a changeset for another package', async () => {
    const cli = fake({ files: edited, release: { record, pending: ['@homelab/chart-longhorn'] } });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(GUARD_LINE);
  });

  it('asks to record a version that moved without being recorded', async () => {
    const cli = fake({
      files: edited,
      release: { record: { cilium: { version: '0.1.0', digest: record.cilium.digest } } },
    });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'charts/cilium: "0.2.0" is not the version 0.1.0 recorded in charts/.versions.json: record the ' +
        'new version (pnpm version-packages runs pnpm homelab release record) (expected 0.1.0)\n',
    );
    expect(cli.out()).toBe('check failed: 1 chart version error (above)\n');
  });

  it('fails on a chart missing from the record, saying to record its first version', async () => {
    // Unrecorded, its content is guarded by nothing: `homelab changeset` records it.
    const cli = fake({ files: released });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.err()).toBe(
      'charts/cilium: "0.2.0" is not in charts/.versions.json, so nothing guards its content: ' +
        'record its first version (pnpm homelab changeset) (expected an entry for cilium in ' +
        'charts/.versions.json, or a pending changeset for the chart)\n',
    );
    expect(cli.out()).toBe(
      'check failed: 1 chart version error: charts/cilium has no recorded version yet; run ' +
        '`pnpm homelab changeset` (it writes a changeset for every changed chart and records every new one)\n',
    );
    const json = fake({ files: released });
    expect(await run(['check', '--json'], json.io)).toBe(1);
    expect(JSON.parse(json.out()).summary.unrecorded).toEqual(['charts/cilium']);
  });

  it('passes a chart missing from the record that a pending changeset bumps', async () => {
    // version-packages records it at its new version.
    const cli = fake({ files: released, release: { pending: ['@homelab/chart-cilium'] } });
    expect(await run(['check'], cli.io)).toBe(0);
    expect(cli.err()).toBe('');
  });

  it('reports both stale output and an unversioned chart', async () => {
    const cli = fake({
      files: edited,
      release: { record },
      differences: [{ path: 'charts/cilium/values.yaml', before: 'a\n', after: 'b\n' }],
    });
    expect(await run(['check'], cli.io)).toBe(1);
    expect(cli.out().split('\n')).toEqual([
      '  changed  charts/cilium/values.yaml',
      'check failed: 1 of 3 files differ from what build would write (1 changed, 0 missing, 0 stale); run `homelab build` and commit the result',
      'check failed: 1 chart version error: charts/cilium changed without a new version; add a changeset (`pnpm homelab changeset` writes one for every such chart)',
      '',
    ]);
  });

  it('puts the guard into the JSON report', async () => {
    const cli = fake({ files: edited, release: { record } });
    expect(await run(['check', '--json'], cli.io)).toBe(1);
    const report = JSON.parse(cli.out());
    expect(report.ok).toBe(false);
    expect(report.summary.unversioned).toEqual(['charts/cilium']);
    expect(report.issues.map((issue: { code: string }) => issue.code)).toEqual([
      'chart-version-not-incremented',
    ]);
  });
});

describe('homelab changeset', () => {
  it('writes one changeset bumping every chart that changed without a new version, and prints it', async () => {
    const cli = fake({ files: edited, release: { record } });
    expect(await run(['changeset'], cli.io)).toBe(0);
    const content =
      '---\n"@homelab/chart-cilium": patch\n---\n\nRegenerated chart content: charts/cilium.\n';
    expect(cli.changesets).toEqual([[{ path: '.changeset/charts-d15570a7.md', content }]]);
    expect(cli.out()).toBe(
      `wrote .changeset/charts-d15570a7.md\n${content}` +
        '1 chart to bump: charts/cilium; edit the summary if you like, commit it with the change; ' +
        '`pnpm version-packages` applies it\n',
    );
    expect(cli.writes).toEqual([]);
  });

  it('uses the package name of the chart folder', async () => {
    const cli = fake({
      files: edited,
      release: { record, packageNames: { cilium: '@acme/cilium-chart' } },
    });
    expect(await run(['changeset'], cli.io)).toBe(0);
    expect(cli.changesets[0]?.[0]?.content).toContain('"@acme/cilium-chart": patch');
  });

  it('writes nothing when every chart matches its record or already has a changeset', async () => {
    const unchanged = fake({ files: released, release: { record } });
    expect(await run(['changeset'], unchanged.io)).toBe(0);
    expect(unchanged.changesets).toEqual([]);
    expect(unchanged.out()).toBe('no chart changed without a new version: no changeset to write\n');
    const pending = fake({
      files: edited,
      release: { record, pending: ['@homelab/chart-cilium'] },
    });
    expect(await run(['changeset'], pending.io)).toBe(0);
    expect(pending.changesets).toEqual([]);
  });

  it('records the first version of a new chart, keeping the other entries, and writes no changeset for it', async () => {
    const other = { version: '1.0.0', digest: 'sha256:0000' };
    const cli = fake({ files: released, release: { record: { longhorn: other } } });
    expect(await run(['changeset'], cli.io)).toBe(0);
    expect(cli.changesets).toEqual([[]]);
    expect(cli.records.map((text) => JSON.parse(text))).toEqual([
      { cilium: record.cilium, longhorn: other },
    ]);
    expect(cli.out()).toBe(
      'recorded the first version of 1 new chart in charts/.versions.json: charts/cilium 0.2.0; commit it with the change\n',
    );
    // Once recorded, check passes on it.
    const check = fake({ files: released, release: { record: JSON.parse(cli.records[0] ?? '') } });
    expect(await run(['check'], check.io)).toBe(0);
  });

  it('does not record a new chart that a pending changeset bumps', async () => {
    const cli = fake({ files: released, release: { pending: ['@homelab/chart-cilium'] } });
    expect(await run(['changeset'], cli.io)).toBe(0);
    expect(cli.records).toEqual([]);
    expect(cli.out()).toBe('no chart changed without a new version: no changeset to write\n');
  });

  it('writes nothing for an invalid definition and exits 1', async () => {
    const cli = fake({ files: edited, release: { record }, issues: [badCidr('p.yaml')] });
    expect(await run(['changeset'], cli.io)).toBe(1);
    expect(cli.changesets).toEqual([]);
    expect(cli.err()).toContain('changeset failed: 1 error in');
  });

  it('refuses to decide on an unreadable version record', async () => {
    const broken = error({
      code: 'version-record',
      path: [],
      output: 'charts/.versions.json',
      message: 'is not valid JSON (Unexpected end of JSON input)',
    });
    const cli = fake({ files: edited, release: { record: {}, issues: [broken] } });
    expect(await run(['changeset'], cli.io)).toBe(1);
    expect(cli.changesets).toEqual([]);
    expect(cli.err()).toBe(
      'charts/.versions.json: is not valid JSON (Unexpected end of JSON input)\n' +
        'changeset failed: the version record is unreadable\n',
    );
  });
});

describe('homelab release version (pnpm version-packages)', () => {
  it('runs changeset version, then the build, then records the versions', async () => {
    const cli = fake();
    expect(await run(['release', 'version'], cli.io)).toBe(0);
    expect(cli.calls).toEqual(['changeset version', 'writeTree']);
    expect(readFileSync(join(workspace, 'charts/.versions.json'), 'utf8')).toBe('{}\n');
  });

  it('never acts on --help or an unknown option (pnpm appends them to the script)', async () => {
    const help = fake();
    expect(await run(['release', 'version', '--help'], help.io)).toBe(0);
    expect(help.out()).toContain('Usage: homelab release version [options]');
    const bogus = fake();
    expect(await run(['release', 'version', '--bogus'], bogus.io)).toBe(2);
    for (const cli of [help, bogus]) expect(cli.calls).toEqual([]);
    expect(existsSync(join(workspace, 'charts/.versions.json'))).toBe(false);
  });

  it('refuses an invalid definition before changeset version: nothing versioned, built or recorded', async () => {
    const cli = fake({
      issues: [{ severity: 'error', code: 'schema', path: ['platform'], message: 'is wrong' }],
    });
    expect(await run(['release', 'version'], cli.io)).toBe(1);
    expect(cli.calls).toEqual([]);
    expect(cli.err()).toBe(
      'platform: is wrong\n' +
        'version failed: 1 error in apps/homelab/platform.yaml; nothing versioned, built or recorded\n',
    );
    expect(existsSync(join(workspace, 'charts/.versions.json'))).toBe(false);
  });

  it('refuses an unreadable --config before changeset version', async () => {
    const cli = fake();
    expect(await run(['release', 'version', '--config', 'nope.yaml'], cli.io)).toBe(1);
    expect(cli.calls).toEqual([]);
    expect(cli.err()).toMatch(/^homelab: cannot read the platform definition .*nope\.yaml: /);
    expect(existsSync(join(workspace, 'charts/.versions.json'))).toBe(false);
  });

  it('refuses a file in a chart folder the build does not write before changeset version: the record would take it, and release pack it', async () => {
    const chartPaths = {
      cilium: ['Chart.yaml', 'CHANGELOG.md', 'extra.txt', 'package.json', 'values.yaml'],
    };
    const cli = fake({ files: released, release: { record, chartPaths } });
    expect(await run(['release', 'version'], cli.io)).toBe(1);
    expect(cli.calls).toEqual([]);
    expect(cli.err()).toBe(
      'charts/cilium/extra.txt: is not written by the build, yet it would be packed into charts/cilium ' +
        'and counts in its content digest (homelab release refuses the chart); a changeset does not ' +
        'change that (expected only generated files in a chart folder: remove it (or move it out of charts/))\n' +
        'version failed: charts/cilium/extra.txt is not generated but would be recorded and packed into its chart (above): remove it; nothing versioned, built or recorded\n',
    );
    expect(existsSync(join(workspace, 'charts/.versions.json'))).toBe(false);
  });

  it('stops when changeset version fails: nothing built or recorded', async () => {
    const cli = fake({ changesetStatus: 1 });
    expect(await run(['release', 'version'], cli.io)).toBe(1);
    expect(cli.calls).toEqual(['changeset version']);
    expect(cli.err()).toBe(
      'version failed: changeset version exited with 1; nothing built or recorded\n',
    );
    expect(existsSync(join(workspace, 'charts/.versions.json'))).toBe(false);
  });
});

describe('homelab diff', () => {
  it('prints a unified diff of what build would change and exits 0', async () => {
    const cli = fake({
      differences: [{ path: 'charts/cilium/values.yaml', before: 'a: 1\n', after: 'a: 2\n' }],
    });
    expect(await run(['diff'], cli.io)).toBe(0);
    expect(cli.out()).toBe(
      '--- a/charts/cilium/values.yaml\n+++ b/charts/cilium/values.yaml\n@@ -1,1 +1,1 @@\n-a: 1\n+a: 2\n',
    );
    expect(cli.err()).toBe('1 file would change (1 changed, 0 added, 0 removed)\n');
  });

  it('exits 1 with --exit-code when something would change', async () => {
    const cli = fake({
      differences: [
        { path: 'clusters/dev/talos/controlplane.yaml', before: null, after: 'a: 1\n' },
      ],
    });
    expect(await run(['diff', '--exit-code'], cli.io)).toBe(1);
    expect(cli.out()).toBe(
      '--- /dev/null\n+++ b/clusters/dev/talos/controlplane.yaml\n@@ -0,0 +1,1 @@\n+a: 1\n',
    );
  });
});

describe('homelab diff --json', () => {
  it("prints one JSON document with the differences and each file's patch", async () => {
    const cli = fake({
      differences: [
        { path: 'charts/cilium/values.yaml', before: 'a: 1\n', after: 'a: 2\n' },
        { path: 'clusters/old/x.yaml', before: 'b: 1\n', after: null },
      ],
    });
    expect(await run(['diff', '--json', '--exit-code'], cli.io)).toBe(1);
    const report = JSON.parse(cli.out()) as {
      ok: boolean;
      summary: { changed: string[]; stale: string[]; patches: { path: string; patch: string }[] };
    };
    expect(report.ok).toBe(false);
    expect(report.summary.changed).toEqual(['charts/cilium/values.yaml']);
    expect(report.summary.stale).toEqual(['clusters/old/x.yaml']);
    expect(report.summary.patches).toEqual([
      {
        path: 'charts/cilium/values.yaml',
        patch:
          '--- a/charts/cilium/values.yaml\n+++ b/charts/cilium/values.yaml\n@@ -1,1 +1,1 @@\n-a: 1\n+a: 2\n',
      },
      {
        path: 'clusters/old/x.yaml',
        patch: '--- a/clusters/old/x.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-b: 1\n',
      },
    ]);
    expect(cli.err()).toBe('');
  });

  it('prints ok: true and no patches when nothing would change', async () => {
    const cli = fake();
    expect(await run(['diff', '--json'], cli.io)).toBe(0);
    expect(JSON.parse(cli.out())).toMatchObject({ ok: true, summary: { patches: [] } });
  });

  it('reports an invalid definition as JSON, exit 1', async () => {
    const cli = fake({ issues: [badCidr(join(workspace, 'apps/homelab/platform.yaml'))] });
    expect(await run(['diff', '--json'], cli.io)).toBe(1);
    const report = JSON.parse(cli.out()) as { ok: boolean; issues: { code: string }[] };
    expect(report.ok).toBe(false);
    expect(report.issues.map((issue) => issue.code)).toEqual(['cidr']);
  });
});

describe('usage', () => {
  it('exits 2 with the usage on an unknown command or option', async () => {
    const unknown = fake();
    expect(await run(['deploy'], unknown.io)).toBe(2);
    expect(unknown.err()).toMatch(/^homelab: unknown command 'deploy'\n\nUsage: homelab <command>/);
    const flag = fake();
    expect(await run(['build', '--force'], flag.io)).toBe(2);
    expect(flag.err()).toMatch(/^homelab: Unknown option '--force'\n\nUsage: homelab build/);
  });

  it('with --json, a usage error is one JSON document on stdout too', async () => {
    // Given a script that parses stdout and a typo in an option
    const cli = fake();
    expect(await run(['validate', '--json', '--confg', 'x.yaml'], cli.io)).toBe(2);
    // Then stdout is the failure as JSON, stderr the text with the usage
    const report = JSON.parse(cli.out());
    expect(report.ok).toBe(false);
    expect(
      report.issues.map((issue: { code: string; message: string }) => [issue.code, issue.message]),
    ).toEqual([['usage', "Unknown option '--confg'; did you mean '--config'?"]]);
    expect(cli.err()).toMatch(/^homelab: Unknown option '--confg'/);
    // and without --json, stdout stays empty
    const text = fake();
    expect(await run(['validate', '--confg', 'x.yaml'], text.io)).toBe(2);
    expect(text.out()).toBe('');
  });

  it('with --json=…, a usage error is the same JSON document, and --json=false is refused too', async () => {
    for (const flag of ['--json=1', '--json=false', '--json=']) {
      // Given --json written with a value, which the flag does not take
      const cli = fake();
      // When validate runs with it
      const exit = await run(['validate', flag, '--config', 'platform.yaml'], cli.io);
      // Then it is a usage error (exit 2) reported as JSON on stdout, nothing else there
      expect([flag, exit]).toEqual([flag, 2]);
      const report = JSON.parse(cli.out());
      expect(report).toEqual({
        ok: false,
        issues: [
          {
            severity: 'error',
            code: 'usage',
            path: '(root)',
            segments: [],
            output: null,
            message:
              "Option '--json' does not take an argument: write --json alone, or leave it out",
            value: null,
            expected: null,
            file: null,
            line: null,
            column: null,
          },
        ],
        summary: { ms: 206 },
      });
      expect(cli.err()).toMatch(
        /^homelab: Option '--json' does not take an argument: write --json alone, or leave it out\n\nUsage: homelab validate/,
      );
      // and nothing was validated
      expect(cli.inputs).toEqual([]);
    }
  });

  it('with --json=…, --help still only helps and an unknown option still never acts', async () => {
    const help = fake();
    expect(await run(['build', '--json=1', '--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/^Usage: homelab build \[options\]/);
    expect([help.writes, help.inputs]).toEqual([[], []]);
    const unknown = fake();
    expect(await run(['build', '--json=1', '--force'], unknown.io)).toBe(2);
    expect(JSON.parse(unknown.out()).issues.map((issue: { code: string }) => issue.code)).toEqual([
      'usage',
    ]);
    expect([unknown.writes, unknown.inputs, unknown.calls]).toEqual([[], [], []]);
  });

  it('prints help and the version on stdout with exit 0', async () => {
    const help = fake();
    expect(await run(['--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/^Usage: homelab <command> \[options\]/);
    // every summary starts in one column: two spaces after the longest name, `upgrade-check`
    const lines = help.out().split('\n');
    const start = lines.indexOf('Commands:') + 1;
    const rows = lines.slice(start, lines.indexOf('', start));
    expect(rows.map((row) => row.trim().split(' ')[0])).toContain('upgrade-check');
    const column = '  upgrade-check  '.length;
    for (const row of rows) {
      expect([row.slice(0, column).trim(), row[column - 1], /\S/.test(row[column] ?? '')]).toEqual([
        row.trim().split(' ')[0],
        ' ',
        true,
      ]);
    }
    const version = fake();
    expect(await run(['--version'], version.io)).toBe(0);
    expect(version.out()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
