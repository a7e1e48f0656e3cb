// Test support shared by the packages' conformance suites. Not part of the generator: it reads
// the file system, so only tests import it (`@homelab/core/testing`). Upstream data comes from
// the repository's own `vendor/` only, so a fresh clone tests itself.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartFiles } from './chart.js';
import type { ComponentsResult } from './components.js';
import { mergeValues } from './helm.js';
import { replaceBoundedWait } from './runbook-shell.js';
import type { DeployedCluster } from './system.js';
import { readChartArchiveBytes, readChartArchiveFile } from './tar.js';
import type { ChartSpec, KubeObject } from './types.js';
import { chartArchivePath } from './upstream.js';
import { parseAllDocuments } from './yaml.js';

export type { UnknownValueKeysOptions } from './conformance.js';
export { FREE_FORM_KEYS, unknownValueKeys } from './conformance.js';
export type { TestComponentSpec } from './testing-factory.js';
export {
  testCertificates,
  testCluster,
  testComponent,
  testDefinition,
  testGateway,
  testMac,
  testNetwork,
  testNode,
  testNodes,
  testReferenceClusters,
  testRun,
  validDefinition,
} from './testing-factory.js';

/**
 * `text` with each bounded wait (core `boundedWait`) written as
 * `wait <seconds>s every <interval>s until <condition>`, what is around it on its line kept: the
 * values a test compares, without the wait's message and shell plumbing.
 */
export function readWaits(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      replaceBoundedWait(
        line,
        (wait) => `wait ${wait.seconds}s every ${wait.interval}s until ${wait.condition}`,
      ),
    )
    .join('\n');
}

/** The repository root (the folder holding pnpm-workspace.yaml). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above @homelab/core');
    dir = parent;
  }
  return dir;
}

/**
 * Absolute path into the repository's `vendor/` folder (the pinned upstream artifacts, see
 * `vendor/lock.json`). Throws, loudly, when the file is missing: a conformance test without its
 * upstream data must fail, never pass.
 */
export function vendored(...segments: string[]): string {
  const path = join(repoRoot(), 'vendor', ...segments);
  if (!existsSync(path)) {
    throw new Error(
      `vendored upstream artifact not found: ${path}. Pin it and run \`homelab vendor sync\` ` +
        '(vendor/ is committed: a missing file means the checkout is incomplete or the pin is missing).',
    );
  }
  return path;
}

/** Absolute path of a vendored upstream file under `vendor/upstream/` (see `vendored`). */
export function upstreamReference(...segments: string[]): string {
  return vendored('upstream', ...segments);
}

/** Reads a vendored file under `vendor/upstream/` as text (see `upstreamReference`). */
export function readUpstream(...segments: string[]): string {
  return readFileSync(upstreamReference(...segments), 'utf8');
}

const chartArchives = new Map<string, Uint8Array>();

/**
 * Reads `<chart>/<file>` out of the vendored chart archive
 * `vendor/charts/<chart>/<version>/<chart>-<version>.tgz`, in memory, as text:
 * `readVendoredChartFile('cilium', '1.18.12', 'values.yaml')`.
 */
export function readVendoredChartFile(chart: string, version: string, file: string): string {
  const path = vendored(chartArchivePath(chart, version));
  let archive = chartArchives.get(path);
  if (archive === undefined) {
    archive = readFileSync(path);
    chartArchives.set(path, archive);
  }
  return readChartArchiveFile(archive, `${chart}/${file}`);
}

/**
 * A file of a dependency vendored inside a chart archive (`charts/<dependency>-<version>.tgz`):
 * `readVendoredSubchartFile('argo-cd', '10.1.1', 'redis-ha', '4.38.0', 'values.yaml')`.
 */
export function readVendoredSubchartFile(
  chart: string,
  version: string,
  dependency: string,
  dependencyVersion: string,
  file: string,
): string {
  const parent = readFileSync(vendored(chartArchivePath(chart, version)));
  const nested = readChartArchiveBytes(
    parent,
    `${chart}/charts/${dependency}-${dependencyVersion}.tgz`,
  );
  return readChartArchiveFile(nested, `${dependency}/${file}`);
}

/**
 * Evaluates generated CommonJS code (a build-time generated module) as if it were a file of the
 * folder `requireFrom` (an `import.meta.url`): its `require`s resolve there. Returns its exports.
 */
export function evaluateCommonJs(code: string, requireFrom: string): { [name: string]: unknown } {
  const module = { exports: {} as { [name: string]: unknown } };
  const run = new Function('module', 'exports', 'require', code) as (
    m: typeof module,
    e: typeof module.exports,
    r: NodeJS.Require,
  ) => void;
  run(module, module.exports, createRequire(requireFrom));
  return module.exports;
}

/**
 * Variants of `value` with one thing wrong each: a wrong type, an unknown key (`unknownKey`), a
 * missing key, a duplicated list item, an empty or odd string, out-of-range numbers. For tests
 * that compare two validators of the same schema over many invalid inputs.
 */
export function oneFaultVariants(value: unknown, unknownKey: string): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, replace: (next: unknown) => unknown): void => {
    if (Array.isArray(node)) {
      out.push(replace(42), replace([]));
      if (node.length > 0) out.push(replace([...node, node[0]]));
      node.forEach((item, i) => {
        walk(item, (next) => replace(node.map((other, j) => (j === i ? next : other))));
      });
    } else if (typeof node === 'object' && node !== null) {
      const table = node as { [key: string]: unknown };
      out.push(replace('text'), replace({ ...table, [unknownKey]: 1 }));
      for (const key of Object.keys(table)) {
        const { [key]: _removed, ...without } = table;
        out.push(replace(without));
        walk(table[key], (next) => replace({ ...table, [key]: next }));
      }
    } else if (typeof node === 'string') {
      out.push(replace(12345), replace(`${node} !`), replace(''));
    } else if (typeof node === 'number') {
      out.push(replace('7'), replace(-1), replace(0), replace(1.5), replace(99999999999));
    } else {
      out.push(replace('yes'), replace(null));
    }
  };
  walk(value, (next) => next);
  return out;
}

/**
 * The `helm` binary on PATH (or `$HELM`), or `undefined`: suites that need the real Helm say
 * "not run" without it (CI always has it).
 */
export function findHelm(): string | undefined {
  const explicit = process.env.HELM;
  if (explicit !== undefined && existsSync(explicit)) return explicit;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'helm'))) return join(dir, 'helm');
  }
  return undefined;
}

/** The tools cache of .ci/install-* (HOMELAB_TOOLS_DIR, else ~/.cache/homelab-platform/tools). */
export function toolsCache(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.HOMELAB_TOOLS_DIR ??
    join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'homelab-platform', 'tools')
  );
}

/**
 * zsh 5.9 (macOS' login shell, where operators paste the runbooks), from `ZSH_DIR` (`.ci/run`
 * installs it with .ci/install-zsh), else the tools cache that script fills; `undefined` where
 * neither holds it.
 */
export function findZsh(): string | undefined {
  const dirs = [
    ...(process.env.ZSH_DIR ? [process.env.ZSH_DIR] : []),
    join(toolsCache(), 'zsh-5.9'),
  ];
  return dirs.map((dir) => join(dir, 'zsh')).find((path) => existsSync(path));
}

/**
 * The folder of the One True AWK as `awk` (Kernighan's awk, from which macOS' comes): ORIGINAL_AWK_DIR
 * (`.ci/run` installs it with .ci/install-original-awk), else the tools cache that script fills;
 * `undefined` where neither holds it.
 */
export function findOriginalAwk(): string | undefined {
  const dirs = [
    ...(process.env.ORIGINAL_AWK_DIR ? [process.env.ORIGINAL_AWK_DIR] : []),
    join(toolsCache(), 'original-awk-20220912'),
  ];
  return dirs.find((dir) => existsSync(join(dir, 'awk')));
}

/**
 * Whether `suite` runs its awk programs with the One True AWK too: where found, and in CI (where
 * a missing one fails the test that needs it). Elsewhere it says so and they run with this
 * machine's awk only.
 */
export function originalAwkRuns(suite: string): boolean {
  if (findOriginalAwk() !== undefined) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') return true;
  console.log(
    `${suite}: awk programs run with this machine's awk only, not macOS' One True AWK: not found (.ci/install-original-awk, ORIGINAL_AWK_DIR)`,
  );
  return false;
}

/** A shell a test runs a runbook block in: how to start it, the script after `args`. */
export interface PasteShell {
  readonly name: 'sh' | 'bash' | 'zsh';
  readonly command: string;
  /** The options before the script: `['-c']`, `['-f', '-c']` (zsh without its rc files). */
  readonly args: readonly string[];
}

/**
 * The shells a test runs a runbook block in with stubbed tools, as operators paste it: `first`
 * (`sh`, or `bash` for a block that needs bash's features, which zsh has too), then zsh where
 * `findZsh()` finds it. zsh does not split an unquoted `$var`, and reads `${x,,}` or `${!x}`
 * otherwise: a block that works in one and not the other gives different calls. `options` are
 * set in both (`['-e', '-u', '-o', 'pipefail']`). Where zsh is not found, only `first`
 * (`zshTestRuns` then says so, or fails in CI).
 */
export function pasteShells(
  first: 'sh' | 'bash' = 'sh',
  options: readonly string[] = [],
): PasteShell[] {
  const shells: PasteShell[] = [
    {
      name: first,
      command: first,
      args: [...(first === 'bash' ? ['--norc', '--noprofile'] : []), ...options, '-c'],
    },
  ];
  const zsh = findZsh();
  if (zsh !== undefined) shells.push({ name: 'zsh', command: zsh, args: ['-f', ...options, '-c'] });
  return shells;
}

/**
 * Whether a suite's test that zsh is there runs: where zsh is found, or in CI (`CI=true`, which
 * installs it: the test then fails on a missing zsh). Elsewhere the suite says once that its
 * blocks ran in sh/bash only, and skips that test (a skipped test is not a passed one).
 */
export function zshTestRuns(suite: string): boolean {
  if (findZsh() !== undefined) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') return true;
  console.log(
    `${suite}: runbook blocks run in sh/bash only, not in zsh: zsh not found (.ci/install-zsh, ZSH_DIR)`,
  );
  return false;
}

export interface HelmTemplateOptions {
  /** The wrapper chart as the build generates it. */
  readonly spec: ChartSpec;
  readonly release: string;
  readonly namespace: string;
  /** Value files of the chart, e.g. `['env/development.yaml', 'clusters/dev.yaml']`. */
  readonly valueFiles: readonly string[];
  /** Extra `helm template` flags (e.g. `--skip-schema-validation`). */
  readonly flags?: readonly string[];
}

/**
 * `helm template` of a generated wrapper chart with its vendored upstream dependency (copied
 * into its charts/ folder, no network), parsed into objects. Throws with Helm's error output
 * when Helm fails. Needs `findHelm()`.
 */
export function helmTemplate(helm: string, options: HelmTemplateOptions): KubeObject[] {
  const { spec } = options;
  const dir = mkdtempSync(join(tmpdir(), `homelab-helm-${spec.name}-`));
  try {
    for (const file of chartFiles(spec, '0.1.0').files) {
      // The generated .helmignore lists `*.tgz`, which Helm also applies to
      // charts/<dependency>.tgz ("missing in charts/ directory"); left out here so that the
      // render tests the chart's content. (A fault of the generated .helmignore, reported.)
      if (file.path.endsWith('/.helmignore')) continue;
      const path = join(dir, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
    const chartDir = join(dir, 'charts', spec.name);
    if (spec.dependency !== undefined) {
      const archive = vendored(chartArchivePath(spec.dependency.name, spec.dependency.version));
      mkdirSync(join(chartDir, 'charts'), { recursive: true });
      copyFileSync(
        archive,
        join(chartDir, 'charts', `${spec.dependency.name}-${spec.dependency.version}.tgz`),
      );
    }
    const result = spawnSync(
      helm,
      [
        'template',
        options.release,
        chartDir,
        '--namespace',
        options.namespace,
        ...options.valueFiles.flatMap((file) => ['-f', join(chartDir, file)]),
        ...(options.flags ?? []),
      ],
      { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: join(dir, '.cache') } },
    );
    if (result.status !== 0) {
      throw new Error(`helm template ${spec.name} failed:\n${result.stderr}`);
    }
    return parseAllDocuments(result.stdout).filter(
      (doc): doc is KubeObject => typeof doc === 'object' && doc !== null,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A pod spec of a workload object (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod). */
export function podSpecOf(object: KubeObject): { [key: string]: unknown } | undefined {
  const spec = object.spec as { [key: string]: unknown } | undefined;
  if (spec === undefined) return undefined;
  if (object.kind === 'Pod') return spec;
  if (object.kind === 'CronJob') {
    const job = (spec.jobTemplate as { spec?: { template?: { spec?: unknown } } } | undefined)?.spec
      ?.template?.spec;
    return job as { [key: string]: unknown } | undefined;
  }
  const template = spec.template as { spec?: unknown } | undefined;
  return template?.spec as { [key: string]: unknown } | undefined;
}

/**
 * What keeps a pod spec from passing the Pod Security Standard `restricted` (Kubernetes' rules:
 * no host namespaces or ports, no privileged or privilege escalation, non-root, capabilities
 * dropped to ALL (only NET_BIND_SERVICE added), RuntimeDefault or Localhost seccomp, allowed
 * volume types only). One sentence per problem; empty when it passes.
 */
export function restrictedProblems(pod: { [key: string]: unknown }): string[] {
  const problems: string[] = [];
  type Ctx = { [key: string]: unknown };
  const podContext = (pod.securityContext ?? {}) as Ctx;
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (pod[host] === true) problems.push(`${host} is true`);
  }
  const allowedVolumes = new Set([
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'persistentVolumeClaim',
    'projected',
    'secret',
  ]);
  for (const volume of (pod.volumes ?? []) as Ctx[]) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type !== undefined && !allowedVolumes.has(type)) {
      problems.push(`volume ${String(volume.name)} is of type ${type}`);
    }
  }
  const seccomp = (context: Ctx): string | undefined =>
    (context.seccompProfile as Ctx | undefined)?.type as string | undefined;
  const containers = [
    ...((pod.initContainers ?? []) as Ctx[]),
    ...((pod.containers ?? []) as Ctx[]),
  ];
  for (const container of containers) {
    const name = String(container.name);
    const context = (container.securityContext ?? {}) as Ctx;
    if (context.privileged === true) problems.push(`container ${name} is privileged`);
    if (context.allowPrivilegeEscalation !== false) {
      problems.push(`container ${name} does not set allowPrivilegeEscalation: false`);
    }
    const nonRoot = context.runAsNonRoot ?? podContext.runAsNonRoot;
    if (nonRoot !== true) problems.push(`container ${name} does not run as non-root`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) {
      problems.push(`container ${name} runs as UID 0`);
    }
    const profile = seccomp(context) ?? seccomp(podContext);
    if (profile !== 'RuntimeDefault' && profile !== 'Localhost') {
      problems.push(`container ${name} has no RuntimeDefault seccomp profile`);
    }
    const capabilities = (context.capabilities ?? {}) as { drop?: unknown; add?: unknown };
    const drop = Array.isArray(capabilities.drop) ? capabilities.drop : [];
    if (!drop.includes('ALL')) problems.push(`container ${name} does not drop ALL capabilities`);
    const add = Array.isArray(capabilities.add) ? capabilities.add : [];
    for (const capability of add) {
      if (capability !== 'NET_BIND_SERVICE') {
        problems.push(`container ${name} adds capability ${String(capability)}`);
      }
    }
    for (const port of (container.ports ?? []) as Ctx[]) {
      if (port.hostPort !== undefined && port.hostPort !== 0) {
        problems.push(`container ${name} uses host port ${String(port.hostPort)}`);
      }
    }
  }
  return problems;
}

/** The objects a component's chart renders on a cluster (its layers merged as Helm does). */
export function chartObjects(
  components: ComponentsResult,
  component: string,
  cluster: { readonly name: string; readonly environment: string },
): KubeObject[] {
  const chart = components.components.find((c) => c.component.name === component)?.output.chart;
  const layer = chart?.clusters[cluster.name];
  if (chart === undefined || layer === undefined) return [];
  const env = chart.environments[cluster.environment as keyof typeof chart.environments] ?? {};
  const manifests = mergeValues(chart.values, env, layer).manifests;
  return Object.values((manifests ?? {}) as object) as KubeObject[];
}

/**
 * The platform as layer 4 sees it, without Argo CD: one Application per component chart, in
 * registry order, holding what the chart renders on the cluster (system-check tests).
 */
export function deployedCharts(components: ComponentsResult): DeployedCluster[] {
  return components.clusters.map((clusterRun) => ({
    cluster: clusterRun.cluster,
    run: clusterRun,
    applications: components.components
      .filter((c) => c.output.chart !== undefined && c.clusters.includes(clusterRun.cluster.name))
      .map((c, wave) => ({
        name: c.component.name,
        component: c.component.name,
        bundle: undefined,
        wave,
        namespace: 'test',
        // The chart and value files as argocd-apps writes them, so that `deployedValues` reads
        // the chart's layers merged as Argo CD passes them.
        application: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: { name: c.component.name },
          spec: {
            source: {
              path: `charts/${c.output.chart?.name ?? c.component.name}`,
              helm: {
                valueFiles: [
                  `env/${clusterRun.cluster.environment}.yaml`,
                  `clusters/${clusterRun.cluster.name}.yaml`,
                ],
              },
            },
          },
        },
        objects: chartObjects(components, c.component.name, clusterRun.cluster).map((object) => ({
          object,
          source: `charts/${c.component.name}#${object.metadata.name}`,
        })),
        installs: [],
        critical: false,
        origin: ['components', c.component.name],
      })),
  }));
}

/** What a shell line did against a stand-in command (`withStandIn`). */
export interface StandInRun {
  /** The shell's exit status. */
  readonly status: number | null;
  readonly stdout: string;
  /** The stand-in's arguments, one array per call. */
  readonly calls: string[][];
}

/**
 * Runs `line` in `sh` with `command` replaced by a stand-in that answers its calls in turn from
 * `answers`: `ok` exits 0, anything else is printed to stderr and exits 1 (past the list, the last
 * answer repeats). `sleep` returns at once; after `maxSleeps` sleeps the shell exits with status
 * 7, so a loop that would go on for ever is seen as such instead of hanging the test. The line
 * runs in a scratch folder, which is also its `TALOS_DIR`.
 */
export function withStandIn(
  line: string,
  command: string,
  answers: readonly string[],
  maxSleeps = 10,
): StandInRun {
  return runStandIn(line, command, maxSleeps, (dir) => {
    writeFileSync(join(dir, 'answers'), `${answers.join('\n')}\n`);
    return [
      'n=$(wc -l < "$dir/calls")',
      'total=$(wc -l < "$dir/answers")',
      'if [ "$n" -gt "$total" ]; then n=$total; fi',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      'answer=$(sed -n "${n}p" "$dir/answers")',
      'if [ "$answer" = ok ]; then exit 0; fi',
      'printf "%s\\n" "$answer" >&2',
      'exit 1',
    ];
  });
}

/**
 * Runs `line` in `sh` with `command` replaced by a stand-in whose body is `script` (shell, run
 * with the call's arguments, `$dir` the scratch folder where it may keep state between calls,
 * which is also the line's working directory; `dir` of the result: every file left there, by
 * relative path): a stand-in that behaves like the real command
 * (answers by its arguments, changes its state), for lines whose commands run in pipes or
 * depend on each other's output. Calls and `sleep` as in `withStandIn`.
 */
export function withStandInScript(
  line: string,
  command: string,
  script: string,
  maxSleeps = 10,
): StandInRun & { readonly dir: { readonly [file: string]: string } } {
  let files: { [file: string]: string } = {};
  const run = runStandIn(
    line,
    command,
    maxSleeps,
    () => [script],
    (dir) => {
      files = Object.fromEntries(
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
          .filter((name) => name !== command && name !== 'calls')
          .sort()
          .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
      );
    },
  );
  return { ...run, dir: files };
}

function runStandIn(
  line: string,
  command: string,
  maxSleeps: number,
  body: (dir: string) => string[],
  after?: (dir: string) => void,
): StandInRun {
  const dir = mkdtempSync(join(tmpdir(), 'homelab-stand-in-'));
  try {
    const stub = join(dir, command);
    writeFileSync(
      stub,
      [
        '#!/bin/sh',
        `dir='${dir}'`,
        'printf "%s\\036" "$@" >> "$dir/calls"; echo >> "$dir/calls"',
        ...body(dir),
        '',
      ].join('\n'),
    );
    chmodSync(stub, 0o755);
    const script = `s=0; sleep() { s=$((s+1)); [ "$s" -lt ${maxSleeps} ] || exit 7; }\n${line}`;
    // In a scratch folder of its own, which is also its TALOS_DIR: files the line writes stay there.
    const run = spawnSync('sh', ['-c', script], {
      cwd: dir,
      env: {
        ...process.env,
        PATH: `${dir}${delimiter}${process.env.PATH ?? ''}`,
        TALOS_DIR: dir,
      },
      encoding: 'utf8',
    });
    const recorded = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : '';
    const calls = recorded
      .split('\n')
      .filter((entry) => entry !== '')
      .map((entry) => entry.split('\u001e').slice(0, -1));
    after?.(dir);
    return { status: run.status, stdout: run.stdout, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A CRD's openAPIV3Schema as the tests validate against it: every object schema that lists its
 * properties and does not preserve unknown fields is closed (`additionalProperties: false`), and
 * the `x-kubernetes-*` extensions are dropped. The API server prunes unknown fields; a test wants
 * them refused, as a misspelled field would be silently lost.
 */
export function closedCrdSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedCrdSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const original = schema as { [key: string]: unknown };
  const out: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(original)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] =
      key === 'properties'
        ? Object.fromEntries(
            Object.entries(value as object).map(([k, v]) => [k, closedCrdSchema(v)]),
          )
        : closedCrdSchema(value);
  }
  if (
    original.properties !== undefined &&
    original.additionalProperties === undefined &&
    original['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}
