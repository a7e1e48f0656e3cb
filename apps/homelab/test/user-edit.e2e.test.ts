// End-to-end: a user adapts the platform to their own homelab, in a scratch copy of the
// repository, and the project's own checks and tests still pass there. The user's
// apps/homelab/platform.yaml may be anything valid; no test may depend on what it holds.
//
// The scratch copy holds every file git tracks or would track (`git ls-files --cached --others
// --exclude-standard`: sources, vendor/, the committed charts/ and clusters/), with links to this
// checkout's node_modules/ and built dist/ folders (nothing is installed or compiled there).
// In it, as a user would:
// 1. edit apps/homelab/platform.yaml: their own domain, a fourth cluster, a new production worker;
// 2. `homelab build` (what `pnpm build` runs in apps/homelab), `homelab changeset`, then the steps
//    of `pnpm version-packages`: `changeset version`, `homelab build`, `homelab release record`;
// 3. `homelab check` passes;
// 4. the test suites that read the user's file or the committed output run there and pass:
//    SUITES below. Every other suite reads examples/ or builds its own scratch output (the last
//    test here checks that no other test file names the user's file), so it cannot depend on the
//    user's edits; running only these keeps this test to a few minutes.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
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
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const vitestBin = join(repo, 'node_modules/vitest/vitest.mjs');
const changesetBin = join(repo, 'node_modules/@changesets/cli/bin.js');

/** The suites that read apps/homelab/platform.yaml or the committed charts/ and clusters/. */
const SUITES: { readonly dir: string; readonly files: readonly string[] }[] = [
  {
    dir: 'apps/homelab',
    // helm-harness: discovers renders from the committed output and the user's file;
    // release.e2e: the release flow (it used to copy the committed charts/).
    files: ['test/helm-harness.test.ts', 'test/release.e2e.test.ts'],
  },
  // renovate: every version pin of the user's file is annotated.
  { dir: 'packages/release', files: ['test/renovate.test.ts'] },
];

/** 2026-01-01T00:00:00Z: the release time when there is no git commit to take it from. */
const EPOCH = '1767225600';

let scratch = '';

function run(bin: string, args: string[], cwd = scratch) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', SOURCE_DATE_EPOCH: EPOCH },
    timeout: 540_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const homelab = (...args: string[]) => run(join(scratch, 'packages/cli/dist/bin.js'), args);

/** Error lines of a CLI run (the platform warns until its secrets and SSO providers exist). */
const errorLines = (stderr: string) =>
  stderr.split('\n').filter((line) => line !== '' && !line.endsWith('[warning]'));

/** The edits of a user who adapts the reference platform to their homelab. */
function adapt(definition: string): string {
  // Their own domain, everywhere it appears.
  let text = definition.replaceAll('lab.example.com', 'home.example.org');
  // A fourth production worker, after prod-worker-3.
  const worker3 = text.indexOf('      - hostname: prod-worker-3\n');
  const workerEnd = text.indexOf('    components:\n', worker3);
  expect(worker3).toBeGreaterThan(0);
  const worker4 = text
    .slice(worker3, workerEnd)
    .replace('prod-worker-3', 'prod-worker-4')
    .replace('10.30.10.23', '10.30.10.24')
    .replace('00:1a:2b:1e:10:17', '00:1a:2b:1e:10:18')
    .replace('S6B0NL0W200003', 'S6B0NL0W200004')
    .replace('WD-WX32000003', 'WD-WX32000004');
  text = text.slice(0, workerEnd) + worker4 + text.slice(workerEnd);
  // A fourth cluster, `edge`, made from the dev cluster on its own addresses.
  const dev = text.indexOf('  - name: dev\n');
  const devEnd = text.indexOf('  - name: staging\n');
  expect(dev).toBeGreaterThan(0);
  const edge = text
    .slice(dev, devEnd)
    .replace('name: dev', 'name: edge')
    .replaceAll('dev-cp-1', 'edge-cp-1')
    .replaceAll('10.10.10.', '10.40.10.')
    .replaceAll('argocd-dev', 'argocd-edge')
    .replaceAll('grafana-dev', 'grafana-edge');
  return `${text.trimEnd()}\n\n${edge.trimEnd()}\n`;
}

/** Links `<dir>/<name>` of the scratch copy to this checkout's, when this checkout has it. */
function linkBuilt(dir: string, name: string): void {
  const source = join(repo, dir, name);
  if (!existsSync(source)) return;
  symlinkSync(source, join(scratch, dir, name), 'dir');
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'homelab-user-'));
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: repo, encoding: 'utf8' },
  );
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(repo, file))) continue;
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    copyFileSync(join(repo, file), join(scratch, file));
  }
  linkBuilt('.', 'node_modules');
  linkBuilt('apps/homelab', 'node_modules');
  for (const pkg of readdirSync(join(repo, 'packages'))) {
    if (!existsSync(join(scratch, 'packages', pkg))) continue;
    linkBuilt(join('packages', pkg), 'node_modules');
    linkBuilt(join('packages', pkg), 'dist');
  }
});

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe("a user's own definition in a scratch copy", { timeout: 600_000 }, () => {
  it('builds, versions and checks the edited definition', () => {
    // Given the user's edits
    const file = join(scratch, 'apps/homelab/platform.yaml');
    writeFileSync(
      file,
      adapt(readFileSync(join(scratch, 'examples/reference/platform.yaml'), 'utf8')),
    );
    // When they build, write changesets and version the packages
    const build = homelab('build');
    expect(errorLines(build.stderr)).toEqual([]);
    expect(build.status).toBe(0);
    expect(readdirSync(join(scratch, 'clusters')).sort()).toEqual([
      'dev',
      'edge',
      'prod',
      'staging',
    ]);
    expect(
      readFileSync(join(scratch, 'clusters/prod/talos/nodes/prod-worker-4.yaml'), 'utf8'),
    ).toContain('10.30.10.24');
    const changeset = homelab('changeset');
    expect(changeset.status, changeset.stderr).toBe(0);
    const version = run(changesetBin, ['version']);
    expect(version.status, version.stderr).toBe(0);
    expect(homelab('build').status).toBe(0);
    const record = homelab('release', 'record');
    expect(record.status, record.stderr).toBe(0);
    // Then the versions moved and check passes
    const cilium = JSON.parse(
      readFileSync(join(scratch, 'charts/cilium/package.json'), 'utf8'),
    ) as {
      version: string;
    };
    expect(cilium.version).not.toBe('0.1.0');
    const check = homelab('check');
    expect(errorLines(check.stderr)).toEqual([]);
    expect(check.stdout).toMatch(/^check passed: /);
    expect(check.status).toBe(0);
  });

  it.each(SUITES)(
    "runs the suites of $dir that read the user's file or output, all passing",
    ({ dir, files }) => {
      const report = join(scratch, `vitest-${dir.replaceAll('/', '-')}.json`);
      const result = run(
        vitestBin,
        [
          'run',
          '--testTimeout=300000',
          '--hookTimeout=300000',
          '--reporter=json',
          `--outputFile=${report}`,
          ...files,
        ],
        join(scratch, dir),
      );
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      const summary = JSON.parse(readFileSync(report, 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        testResults: { name: string }[];
      };
      expect(summary.numFailedTests).toBe(0);
      expect(summary.numPassedTests).toBeGreaterThan(0);
      expect(
        summary.testResults.map((suite) => relative(join(scratch, dir), suite.name)).sort(),
      ).toEqual([...files].sort());
    },
  );

  it("leaves no other test file naming the user's file", () => {
    const covered = new Set(
      SUITES.flatMap(({ dir, files }) => files.map((file) => join(dir, file))),
    );
    // This file and the helm harness (helm.test.ts renders the same discovery with the real Helm)
    // are accounted for; cli unit tests build their own fake workspace.
    const allowed = new Set([
      'apps/homelab/test/user-edit.e2e.test.ts',
      'apps/homelab/test/helm/harness.ts',
      'packages/cli/src/cli.test.ts',
      'packages/cli/src/args.ts',
    ]);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name === 'dist') continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.test\.ts$|harness\.ts$/.test(entry.name)) {
          const name = relative(repo, path).split('\\').join('/');
          if (covered.has(name) || allowed.has(name)) continue;
          // Code that names the file (comments saying it is never read do not count).
          const code = readFileSync(path, 'utf8')
            .split('\n')
            .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line));
          if (code.some((line) => line.includes('apps/homelab/platform.yaml')))
            offenders.push(name);
        }
      }
    };
    walk(join(repo, 'apps'));
    walk(join(repo, 'packages'));
    expect(offenders).toEqual([]);
  });
});
