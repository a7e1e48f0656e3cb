// End-to-end: a user adapts the platform to their own homelab, in a scratch copy of the
// repository, and the project's own checks and tests still pass there. The user's
// apps/homelab/platform.yaml may be anything valid; no test may depend on what it holds.
//
// The scratch copy holds every file git tracks or would track (`git ls-files --cached --others
// --exclude-standard`: sources, vendor/, the committed charts/ and clusters/), with links to this
// checkout's node_modules/ and built dist/ folders (nothing is installed or compiled there).
// A fresh copy per scenario (SCENARIOS): the reference adapted to a user's homelab, and a
// homelab started small from examples/single-node. In each, as a user would:
// 1. write apps/homelab/platform.yaml. The adapted reference: their own domain, a fourth
//    cluster, a new production worker, monitoring off on the development cluster (and so on the
//    fourth, made from it), their
//    production cluster named `live`; and settings the reference leaves at their defaults, each of
//    which once built as valid and then failed a suite here: Cilium 1.20, an SSH deploy key for the
//    repository, their own allowed registries, an alert rule on their application's metrics, a
//    second application whose backups are not verified; Kubernetes 1.35 on staging, 1.33 on
//    production and 1.36 on the fourth cluster. The small one: examples/single-node (one node, no
//    Bitwarden, no backups) on Kubernetes 1.32;
// 2. `homelab build` (what `pnpm build` runs in apps/homelab), `homelab changeset`, then the steps
//    of `pnpm version-packages`: `changeset version`, `homelab build`, `homelab release record`;
// 3. `homelab check` passes;
// 4. the test suites that read the user's file or the committed output run there and pass:
//    SUITES below. Every other suite reads examples/ or builds its own scratch output (the last
//    test here checks that no other test file names the user's file, however it spells the path),
//    so it cannot depend on the user's edits; running only these keeps this test to a few
//    minutes per scenario.
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
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from './cli-issues.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const vitestBin = join(repo, 'node_modules/vitest/vitest.mjs');
const changesetBin = join(repo, 'node_modules/@changesets/cli/bin.js');

/** The suites that read apps/homelab/platform.yaml or the committed charts/ and clusters/. */
const SUITES: {
  readonly dir: string;
  readonly files: readonly string[];
  /** Suites of the committed output only: they never name the user's file (run all the same). */
  readonly outputOnly?: readonly string[];
}[] = [
  {
    dir: 'apps/homelab',
    // helm-harness: discovers renders from the committed output and the user's file (no Helm).
    // helm: the real Helm renders every chart of the committed output for every cluster, with
    // the user's file's Kubernetes versions. It needs `helm` on PATH: without it (outside CI) it
    // says "not run" and skips its tests, so here it proves nothing; with it, it takes about a
    // minute for the four clusters of the edited definition.
    // amtool: the real amtool checks every cluster's rendered Alertmanager configuration and
    // routes the user's file promises (needs amtool and helm; without them it says "not run").
    // argocd-machinery: Argo CD's own code reads every cluster's rendered Argo CD configuration and
    // enforces RBAC on the groups the user's file gives its Argo CD (needs argocd-machinery and
    // helm; without them it says "not run").
    files: [
      'test/helm-harness.test.ts',
      'test/helm.test.ts',
      'test/amtool.test.ts',
      'test/argocd-machinery.test.ts',
    ],
    // talos-machinery: Talos' own machinery runs every runbook's talosctl commands on the
    // committed clusters/ (needs the talos-machinery builds; without them it says "not run").
    // promtool: the real promtool checks every PrometheusRule of the committed output and runs
    // the platform's alert scenarios on each cluster's rules (needs promtool, and helm for the
    // check; without them it says "not run").
    // shellcheck: the real ShellCheck checks every ```sh block of the committed runbooks and
    // every shell script of the committed charts (needs shellcheck; without it it says "not run").
    // gator, authelia: the real gator and Authelia on every cluster's committed output
    // (discoverRenders' default; without the tools they say "not run").
    // interactive-shells: every ```sh block of the committed runbooks pasted into interactive bash
    // and zsh (needs zsh; without it it says "not run").
    outputOnly: [
      'test/talos-machinery.test.ts',
      'test/promtool.test.ts',
      'test/shellcheck.test.ts',
      'test/interactive-shells.test.ts',
      'test/gator.test.ts',
      'test/authelia.test.ts',
    ],
  },
];

/**
 * Files that name the user's file but do not read it, or read it only for the SUITES, each with
 * why. Any other test file that names it fails the last test here.
 */
const NAMES_WITHOUT_READING: ReadonlyMap<string, string> = new Map([
  ['apps/homelab/test/user-edit.e2e.test.ts', "this file: writes the scratch copy's"],
  ['apps/homelab/test/helm/harness.ts', "the helm suites' machinery (discoverRenders' default)"],
  [
    'apps/homelab/test/release.e2e.test.ts',
    'writes the reference definition at that path in its own scratch folder',
  ],
  ['packages/cli/src/cli.test.ts', 'writes it in a fake workspace of its own'],
  [
    'packages/talos-config/test/runbook.test.ts',
    "the runbook's default name of the definition, as text; reads no file",
  ],
  [
    'packages/release/test/renovate.test.ts',
    "a path to match renovate.json's file patterns against; it reads examples/",
  ],
]);

/**
 * Whether `text`, the source of the file `file` (repository-relative), names
 * apps/homelab/platform.yaml in its code (comment lines left out): as one string, as path
 * segments of one call (`join(REPO, 'apps', 'homelab', 'platform.yaml')`, over several lines
 * too), or relative to the file's own folder (`join(here, '..', 'platform.yaml')`).
 */
function namesUserDefinition(text: string, file: string): boolean {
  const code = text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
    .join('\n');
  // Adjacent string arguments as one path: `'apps', 'homelab'` reads `'apps/homelab'`.
  const joined = code.replace(/(['"`])\s*,\s*(['"`])/g, '/');
  if (/(apps\/|['"`])homelab\/platform\.ya?ml\b/.test(joined)) return true;
  for (const match of joined.matchAll(/['"`]((?:\.\.?\/)+)platform\.ya?ml\b/g)) {
    const resolved = posix.join(posix.dirname(file), match[1] ?? '', 'platform.yaml');
    if (resolved === 'apps/homelab/platform.yaml') return true;
  }
  return false;
}

/** 2026-01-01T00:00:00Z: the release time when there is no git commit to take it from. */
const EPOCH = '1767225600';

let scratch = '';

/**
 * Runs `node bin args…` in the scratch copy. The suites' run takes about 5 minutes on a quiet
 * machine here and went past 9 under load (killed: status 143): it gets 15 minutes, the other
 * commands 9.
 */
function run(bin: string, args: string[], cwd = scratch, timeout = 540_000) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', HOMELAB_DEBUG: '', SOURCE_DATE_EPOCH: EPOCH },
    timeout,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const homelab = (...args: string[]) => run(join(scratch, 'packages/cli/dist/bin.js'), args);

/** A cluster's Kubernetes version line in the examples. */
const KUBERNETES_1_34 = '      version: 1.34.4\n';

/** `definition` with cluster `name`'s Kubernetes at `version` (it is at 1.34.4 in the examples). */
function onKubernetes(definition: string, name: string, version: string): string {
  const cluster = definition.indexOf(`  - name: ${name}\n`);
  const at = definition.indexOf(KUBERNETES_1_34, cluster);
  expect(cluster).toBeGreaterThan(0);
  expect(at).toBeGreaterThan(cluster);
  return `${definition.slice(0, at)}      version: ${version}\n${definition.slice(at + KUBERNETES_1_34.length)}`;
}

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
  // No monitoring on the dev cluster: the suites test what a component renders where it runs.
  const grafanaDev =
    '      monitoring:\n        grafana:\n          oidc:\n            clientId: grafana-dev\n';
  expect(text).toContain(grafanaDev);
  text = text.replace(grafanaDev, '      monitoring:\n        enabled: false\n');
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
    .replaceAll('grafana-dev', 'grafana-edge')
    // Restic repository entries of its own: each repository URL names its cluster, and one
    // entry holds one value (bitwarden-entry-values refuses one shared with dev); and an OIDC
    // signing key of its own (bitwarden-own-entry warns of one shared with dev: whoever reads
    // dev's entry would sign what edge's Argo CD accepts).
    .replace(
      '    components:\n',
      '    components:\n      bitwarden-sm:\n        secrets:\n          paperless/data-restic:\n' +
        '            RESTIC_REPOSITORY: 5a1f0c3e-0000-4000-8000-000000000030\n' +
        '          wiki/pages-restic:\n' +
        '            RESTIC_REPOSITORY: 5a1f0c3e-0000-4000-8000-000000000031\n' +
        '          authelia/authelia-files:\n' +
        '            oidc.jwk.rs256.pem: 5a1f0c3e-0000-4000-8000-000000000032\n',
    );
  expect(edge).toContain('5a1f0c3e-0000-4000-8000-000000000030');
  // Kubernetes releases of their own: the API server's validation runs with the build of each
  // cluster's minor (1.36 on edge, Talos 1.13 with Cilium 1.20; 1.35 on staging, Talos 1.12;
  // 1.33 on production, the oldest Cilium 1.20 is tested on).
  expect(edge).toContain(KUBERNETES_1_34);
  const edgeOn136 = edge.replace(KUBERNETES_1_34, '      version: 1.36.3\n');
  text = onKubernetes(text, 'staging', '1.35.4');
  text = onKubernetes(text, 'prod', '1.33.12');
  // Cilium 1.20 (its chart's admission policy, the Gateway API v1.6 bundle), keeping the
  // defaults of the release the committed build runs (chart-upgrade-compatibility).
  text = text.replace(
    '  cilium:\n    gatewayApi: true\n',
    `  cilium:\n    version: 1.20.0\n    upgradeCompatibility: "${committedCiliumDefaults()}"\n    gatewayApi: true\n`,
  );
  // The repository read with an SSH deploy key (the runbook's deploy-key command).
  const https = '  url: https://github.com/example/homelab-platform.git\n';
  expect(text).toContain(https);
  text = text.replace(
    https,
    '  url: git@github.com:example/homelab-platform.git\n  access: ssh-key\n' +
      '  sshKnownHosts:\n    - github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
  );
  // Their own allowed registries: those of every image the platform runs.
  text = text.replace(
    '  policy:\n',
    "  policy:\n    allowedRegistries: ['docker.io/', 'ecr-public.aws.com/', 'ghcr.io/', 'quay.io/', 'registry.k8s.io/']\n",
  );
  // An alert on their application's metrics (its own ServiceMonitor comes with the application).
  const monitoring = '  monitoring:\n    grafana:\n';
  expect(text).toContain(monitoring);
  text = text.replace(
    monitoring,
    '  monitoring:\n    rules:\n      - alert: PaperlessDown\n        expr: up{job="paperless"} == 0\n' +
      '        for: 5m\n        severity: warning\n        summary: paperless is down\n' +
      '    grafana:\n',
  );
  // A second application: its own namespace, a volume whose backups are not verified.
  const paperless = '  applications:\n    apps:\n';
  expect(text).toContain(paperless);
  text = text.replace(
    paperless,
    `${paperless}      wiki:\n        flows:\n          - name: web\n            gateway: true\n` +
      '            ports: [{ port: 3000 }]\n            reason: the Gateway forwards wiki.<domain>\n' +
      '        routes:\n          - host: wiki\n            service: wiki\n            port: 3000\n' +
      '            auth: app\n        volumes:\n          pages:\n            size: 5Gi\n' +
      '            tier: standard\n            owner: { user: 1000, group: 1000 }\n' +
      '            backup:\n              verify: false\n',
  );
  const inventory = '      talos-backup/talos-backup-s3:\n        AWS_ACCESS_KEY_ID: c0f16519';
  expect(text).toContain(inventory);
  text = text.replace(
    inventory,
    '      wiki/pages-restic:\n' +
      ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'RESTIC_PASSWORD', 'RESTIC_REPOSITORY']
        .map((key, index) => `        ${key}: 5a1f0c3e-0000-4000-8000-00000000000${index}\n`)
        .join('') +
      inventory,
  );
  // Staging maps its own repository entry for the wiki too (as it does for paperless).
  const stagingRepository =
    '          paperless/data-restic:\n            RESTIC_REPOSITORY: 68af2069-5dac-410b-85f2-ef81f915bd62\n';
  expect(text).toContain(stagingRepository);
  text = text.replace(
    stagingRepository,
    `${stagingRepository}          wiki/pages-restic:\n            RESTIC_REPOSITORY: 5a1f0c3e-0000-4000-8000-000000000020\n`,
  );
  // Production maps its own entries (an entry shared with other clusters is a warning).
  const prodInventory =
    '          talos-backup/talos-backup-s3:\n            AWS_ACCESS_KEY_ID: 334cf5f9';
  expect(text).toContain(prodInventory);
  text = text.replace(
    prodInventory,
    '          wiki/pages-restic:\n' +
      ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'RESTIC_PASSWORD', 'RESTIC_REPOSITORY']
        .map((key, index) => `            ${key}: 5a1f0c3e-0000-4000-8000-00000000001${index}\n`)
        .join('') +
      prodInventory,
  );
  // Their production cluster is called `live`: no test may know the reference's cluster names.
  expect(text).toContain('\n  - name: prod\n');
  text = text.replace('\n  - name: prod\n', '\n  - name: live\n');
  return `${text.trimEnd()}\n\n${edgeOn136.trimEnd()}\n`;
}

/** A scratch copy of this checkout (see the header), made for one scenario. */
/**
 * The Cilium release whose defaults the committed build's clusters run with: the
 * `upgradeCompatibility` of its first cluster layer that sets one, else the minor release its
 * charts/cilium pins (what a user moving their clusters to Cilium 1.20 sets).
 */
function committedCiliumDefaults(): string {
  const chart = join(repo, 'charts/cilium');
  for (const layer of readdirSync(join(chart, 'clusters')).sort()) {
    const match = /^ {2}upgradeCompatibility: ["']?([0-9.]+)["']?$/m.exec(
      readFileSync(join(chart, 'clusters', layer), 'utf8'),
    );
    if (match !== null) return match[1] as string;
  }
  const pinned = /^ {4}version: (\d+\.\d+)\./m.exec(
    readFileSync(join(chart, 'Chart.yaml'), 'utf8'),
  );
  if (pinned === null) throw new Error('charts/cilium/Chart.yaml pins no release');
  return pinned[1] as string;
}

function makeScratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-user-'));
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: repo, encoding: 'utf8' },
  );
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(repo, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(repo, file), join(dir, file));
  }
  return dir;
}

/** A definition a user may write, and what its build must give. */
interface Scenario {
  readonly name: string;
  /** The user's apps/homelab/platform.yaml, made from the scratch copy's examples/. */
  readonly definition: () => string;
  /** The folders of clusters/ after the build. */
  readonly clusters: readonly string[];
  /** Further facts of the first build's output. */
  readonly built?: () => void;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'the reference adapted: own domain, a fourth cluster, a new worker, Cilium 1.20, …',
    definition: () =>
      adapt(readFileSync(join(scratch, 'examples/reference/platform.yaml'), 'utf8')),
    clusters: ['dev', 'edge', 'live', 'staging'],
    built: () => {
      expect(
        readFileSync(join(scratch, 'clusters/live/talos/nodes/prod-worker-4.yaml'), 'utf8'),
      ).toContain('10.30.10.24');
      expect(existsSync(join(scratch, 'charts/monitoring/clusters/dev.yaml'))).toBe(false);
    },
  },
  {
    // A homelab started small: one node, no Bitwarden, no backups, no SSO provider. The suites'
    // tests of what it lacks say "not run"; each of those once failed here instead.
    name: 'a single-node homelab on Kubernetes 1.32, without Bitwarden or backups (examples/single-node)',
    definition: () => {
      // On Kubernetes 1.32 (Talos 1.12 and Cilium 1.19, the default, support it).
      const text = readFileSync(join(scratch, 'examples/single-node/platform.yaml'), 'utf8');
      expect(text).toContain(KUBERNETES_1_34);
      return text.replace(KUBERNETES_1_34, '      version: 1.32.13\n');
    },
    clusters: ['home'],
    built: () => {
      expect(existsSync(join(scratch, 'charts/sm-operator/clusters/home.yaml'))).toBe(false);
    },
  },
];

/** Links `<dir>/<name>` of the scratch copy to this checkout's, when this checkout has it. */
function linkBuilt(dir: string, name: string): void {
  const source = join(repo, dir, name);
  if (!existsSync(source)) return;
  symlinkSync(source, join(scratch, dir, name), 'dir');
}

describe.each(SCENARIOS)(
  "a user's own definition in a scratch copy: $name",
  { timeout: 960_000 },
  (scenario) => {
    beforeAll(() => {
      scratch = makeScratch();
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
      scratch = '';
    });

    it('builds, versions and checks the edited definition', () => {
      // Given the user's definition
      writeFileSync(join(scratch, 'apps/homelab/platform.yaml'), scenario.definition());
      // When they build, write changesets and version the packages
      const build = homelab('build');
      expect(errorLines(build.stderr)).toEqual([]);
      expect(build.status).toBe(0);
      expect(readdirSync(join(scratch, 'clusters')).sort()).toEqual([...scenario.clusters].sort());
      scenario.built?.();
      const changed = chartVersions();
      const changeset = homelab('changeset');
      expect(changeset.status, changeset.stderr).toBe(0);
      const version = run(changesetBin, ['version']);
      expect(version.status, version.stderr).toBe(0);
      expect(homelab('build').status).toBe(0);
      const record = homelab('release', 'record');
      expect(record.status, record.stderr).toBe(0);
      // Then the versions moved and check passes
      const moved = chartVersions();
      expect(
        [...changed].filter(([chart, was]) => moved.get(chart) !== was).length,
      ).toBeGreaterThan(0);
      const check = homelab('check');
      expect(errorLines(check.stderr)).toEqual([]);
      expect(check.stdout).toMatch(/^check passed: /);
      expect(check.status).toBe(0);
    });

    it.each(SUITES)(
      "runs the suites of $dir that read the user's file or output, all passing",
      ({ dir, files: named, outputOnly = [] }) => {
        const files = [...named, ...outputOnly];
        const report = join(scratch, `vitest-${dir.replaceAll('/', '-')}.json`);
        const result = run(
          vitestBin,
          [
            'run',
            '--testTimeout=300000',
            '--hookTimeout=300000',
            '--reporter=json',
            `--outputFile.json=${report}`,
            // Prints the suites' own lines (the dot reporter shows console output, json does not).
            '--reporter=dot',
            ...files,
          ],
          join(scratch, dir),
          900_000,
        );
        expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
        // For the log: which API server releases checked which clusters; the pods', bindings' and
        // budgets' references.
        for (const line of result.stdout.split('\n')) {
          if (
            /^helm suite: (the Kubernetes API server accepted|the API server's validation|every object a pod names|every role and ServiceAccount|RBAC references|\d+ PodDisruptionBudgets|\d+ Services on|\d+ probe and hook ports)/.test(
              line,
            )
          ) {
            console.log(`${scenario.name}: ${line}`);
          }
        }
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
  },
);

/** Each chart's version in the scratch copy (`charts/<chart>/package.json`). */
function chartVersions(): Map<string, string> {
  const versions = new Map<string, string>();
  for (const chart of readdirSync(join(scratch, 'charts'))) {
    const file = join(scratch, 'charts', chart, 'package.json');
    if (!existsSync(file)) continue;
    versions.set(chart, (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version);
  }
  return versions;
}

describe("the guard of the user's file", () => {
  it("finds the user's file however a test spells its path", () => {
    const at = 'apps/homelab/test/x.test.ts';
    const named = [
      "const file = join(REPO, 'apps/homelab/platform.yaml');",
      "const file = join(REPO, 'apps', 'homelab', 'platform.yaml');",
      'const file = join(\n  REPO,\n  "apps",\n  "homelab",\n  "platform.yaml",\n);',
      "const file = join(root, 'apps/homelab', 'platform.yaml');",
      "const file = join(APPS, 'homelab', 'platform.yml');",
      'const file = `$' + '{REPO}/apps/homelab/platform.yaml`;',
      "const file = join(here, '..', 'platform.yaml');",
      "const file = new URL('../platform.yaml', import.meta.url);",
    ];
    expect(named.filter((text) => !namesUserDefinition(text, at))).toEqual([]);
    const other = [
      "// Never reads apps/homelab/platform.yaml, nor join(REPO, 'apps', 'homelab', 'platform.yaml').",
      "const file = join(scratch, 'platform.yaml');",
      "const file = join(REPO, 'examples', 'reference', 'platform.yaml');",
      "const file = join(here, '..', '..', 'platform.yaml');",
      "const file = join(here, 'fixtures', 'homelab-platform.yaml');",
    ];
    expect(other.filter((text) => namesUserDefinition(text, at))).toEqual([]);
    // The helm suite names it in path segments (the old guard looked for the one string only).
    const helmSuite = readFileSync(join(repo, 'apps/homelab/test/helm.test.ts'), 'utf8');
    expect(namesUserDefinition(helmSuite, 'apps/homelab/test/helm.test.ts')).toBe(true);
  });

  it("leaves no other test file naming the user's file", () => {
    const covered = new Set(
      SUITES.flatMap(({ dir, files }) => files.map((file) => join(dir, file))),
    );
    const named: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name === 'dist') continue;
        const path = join(dir, entry.name);
        const name = relative(repo, path).split('\\').join('/');
        if (entry.isDirectory()) walk(path);
        // Test files, the files of test/ folders (harnesses, helpers) and the test factories.
        else if (/\.test\.ts$|\/test\/.+\.ts$|\/src\/testing[^/]*\.ts$/.test(name)) {
          if (namesUserDefinition(readFileSync(path, 'utf8'), name)) named.push(name);
        }
      }
    };
    walk(join(repo, 'apps'));
    walk(join(repo, 'packages'));
    // A suite that renders the committed output of the user's file (`discoverRenders()`, its
    // default) depends on it without naming it: it runs here too.
    const run = new Set(
      SUITES.flatMap(({ dir, files, outputOnly = [] }) =>
        [...files, ...outputOnly].map((file) => join(dir, file)),
      ),
    );
    const rendering = readdirSync(join(repo, 'apps/homelab/test'))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => `apps/homelab/test/${name}`)
      .filter((name) => name !== 'apps/homelab/test/user-edit.e2e.test.ts')
      .filter((name) => /\bdiscoverRenders\(\s*\)/.test(readFileSync(join(repo, name), 'utf8')));
    expect(rendering.length).toBeGreaterThan(0);
    expect(rendering.filter((name) => !run.has(name))).toEqual([]);
    expect(named.filter((name) => !covered.has(name) && !NAMES_WITHOUT_READING.has(name))).toEqual(
      [],
    );
    // Each listed file still names it (a stale entry would hide a new reader of that name).
    expect(
      [...covered, ...NAMES_WITHOUT_READING.keys()].filter((name) => !named.includes(name)),
    ).toEqual([]);
  });
});
