// `pnpm bench`: build times and peak memory of the reference platform and of synthetic fleets of
// 10 and 100 clusters, in-process and as a CLI process, next to a bare `node -e 0` start measured
// in the same run. Medians of several iterations. Prints PASS/FAIL per target; always exits 0
// (timings are noisy; the numbers are for the reader).
//
// The CLI is the installed executable, packages/cli/dist/homelab.cjs (the bundle), or
// dist/bin.js in a copy built before the bundle existed. In-process rows are split into the
// pipeline (`generate`, pure computation) and the writer (file-system bound: on a VM whose disk
// is rate-limited, writing 1,000+ files can cost more than generating them).
//
// BENCH_BASELINE=<folder>: also runs the CLI of another built copy of the repository,
// alternating with this one run by run, and prints its rows as "CLI (baseline)": a before/after
// comparison within one run, under the same load.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fleetDefinition } from '../../../examples/fleet/generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..');
const repo = join(appDir, '../..');
/** The CLI executable of a built copy of the repository. */
function cliOf(root) {
  const bundled = join(root, 'packages/cli/dist/homelab.cjs');
  return existsSync(bundled) ? bundled : join(root, 'packages/cli/dist/bin.js');
}
const bin = cliOf(repo);
const inprocess = join(here, 'inprocess.mjs');
const rssHook = join(here, 'rss-hook.mjs');
const reference = join(appDir, 'platform.yaml');

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? '5');
const BASELINE = process.env.BENCH_BASELINE;
const baselineBin = BASELINE ? cliOf(BASELINE) : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'homelab-bench-'));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `node args…` once; returns wall ms. Throws when it fails. */
function spawnTimed(args, env = {}) {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const ms = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(
      `node ${args.join(' ')} exited ${result.status}\n${result.stderr}${result.stdout}`,
    );
  }
  return { ms, stdout: result.stdout };
}

/** Peak RSS (KiB) of one run of `node args…`, reported by the preloaded hook. */
function spawnRss(args) {
  const file = join(scratch, `rss-${Math.random().toString(36).slice(2)}`);
  spawnTimed(['--import', rssHook, ...args], { BENCH_RSS_FILE: file });
  return Number(readFileSync(file, 'utf8'));
}

function measureProcess(argsFor, iterations) {
  const ms = [];
  spawnTimed(argsFor()); // warm the file-system cache
  for (let i = 0; i < iterations; i++) ms.push(spawnTimed(argsFor()).ms);
  return { ms: median(ms), rssKiB: spawnRss(argsFor()) };
}

function cliArgs(cli, definition) {
  return () => [cli, 'build', '--config', definition, '--out', mkdtempSync(join(scratch, 'out-'))];
}

/** The CLI of this repository and of the baseline (when set), run alternately. */
function measureCli(definition, iterations) {
  const clis = baselineBin ? [bin, baselineBin] : [bin];
  const ms = clis.map(() => []);
  for (const cli of clis) spawnTimed(cliArgs(cli, definition)()); // warm the file-system cache
  for (let i = 0; i < iterations; i++) {
    clis.forEach((cli, k) => {
      ms[k].push(spawnTimed(cliArgs(cli, definition)()).ms);
    });
  }
  return clis.map((cli, k) => ({
    ms: median(ms[k]),
    rssKiB: spawnRss(cliArgs(cli, definition)()),
  }));
}

/**
 * The reference target as a ratio measured in one window: bare `node -e 0` and a CLI build run
 * alternately, so that load on this shared machine hits both alike; the median of the per-pair
 * ratios. (The table's bare-node row is measured before everything else and drifts with load.)
 */
function measurePairedRatio(definition, iterations) {
  const ratios = [];
  for (let i = 0; i < iterations; i++) {
    const node = spawnTimed(['-e', '0']).ms;
    const cli = spawnTimed(cliArgs(bin, definition)()).ms;
    ratios.push(cli / node);
  }
  return median(ratios);
}

function measureInProcess(definition, iterations) {
  const { stdout } = spawnTimed([inprocess, definition, String(iterations)]);
  const report = JSON.parse(stdout);
  return {
    ms: median(report.ms),
    generateMs: median(report.generateMs),
    writeMs: median(report.writeMs),
    rssKiB: report.maxRssKiB,
    files: report.files,
  };
}

const definitions = [{ label: 'reference (3 clusters)', path: reference, clusters: 3 }];
for (const count of [10, 100]) {
  const path = join(scratch, `fleet-${count}.yaml`);
  writeFileSync(path, fleetDefinition(count));
  definitions.push({ label: `fleet of ${count}`, path, clusters: count });
}

console.log(
  `homelab bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${ITERATIONS} iterations, medians`,
);
console.log(`CLI: ${bin}${baselineBin ? `; baseline CLI: ${baselineBin}` : ''}`);
const bare = measureProcess(() => ['-e', '0'], ITERATIONS * 2);
const rows = [{ label: 'bare node -e 0', mode: 'process', ...bare, clusters: undefined }];
const results = {};
for (const definition of definitions) {
  const iterations =
    definition.clusters >= 100 ? Math.max(3, Math.ceil(ITERATIONS / 2)) : ITERATIONS;
  const inProc = measureInProcess(definition.path, iterations);
  const [cli, baseline] = measureCli(definition.path, iterations);
  results[definition.clusters] = { inProc, cli, baseline };
  rows.push({
    label: definition.label,
    mode: 'in-process',
    ...inProc,
    clusters: definition.clusters,
  });
  rows.push({
    label: definition.label,
    mode: '  generate',
    ms: inProc.generateMs,
    clusters: definition.clusters,
  });
  rows.push({
    label: definition.label,
    mode: '  write',
    ms: inProc.writeMs,
    clusters: definition.clusters,
  });
  rows.push({ label: definition.label, mode: 'CLI', ...cli, clusters: definition.clusters });
  if (baseline) {
    rows.push({
      label: definition.label,
      mode: 'CLI (baseline)',
      ...baseline,
      clusters: definition.clusters,
    });
  }
}

const header = ['scenario', 'mode', 'wall ms', '× node', 'peak RSS MiB', 'ms/cluster'];
const table = rows.map((row) => [
  row.label,
  row.mode,
  row.ms.toFixed(1),
  (row.ms / bare.ms).toFixed(2),
  row.rssKiB === undefined ? '' : (row.rssKiB / 1024).toFixed(1),
  row.clusters ? (row.ms / row.clusters).toFixed(2) : '',
]);
const widths = header.map((title, i) =>
  Math.max(title.length, ...table.map((cells) => cells[i].length)),
);
const line = (cells) =>
  cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((width) => '-'.repeat(width)).join('  '));
for (const cells of table) console.log(line(cells));

const tableRatio = results[3].cli.ms / bare.ms;
const referenceRatio = measurePairedRatio(reference, ITERATIONS * 2);
const perCluster10 = results[10].inProc.ms / 10;
const perCluster100 = results[100].inProc.ms / 100;
const marginal = (results[100].inProc.ms - results[10].inProc.ms) / 90;
const generatePerCluster10 = results[10].inProc.generateMs / 10;
const generatePerCluster100 = results[100].inProc.generateMs / 100;
const targets = [
  [
    `reference platform as CLI ≤ 8× bare node start: ${referenceRatio.toFixed(2)}× (median of ${ITERATIONS * 2} alternating pairs; table rows: ${tableRatio.toFixed(2)}×)`,
    referenceRatio <= 8,
  ],
  [
    `100-cluster fleet ≤ 3000 ms as CLI: ${results[100].cli.ms.toFixed(0)} ms`,
    results[100].cli.ms <= 3000,
  ],
  [
    `linear growth (in-process ms/cluster at 100 ≤ 1.5× at 10): ${perCluster100.toFixed(2)} vs ${perCluster10.toFixed(2)} ms/cluster (marginal ${marginal.toFixed(2)} ms/cluster)`,
    perCluster100 <= 1.5 * perCluster10,
  ],
  [
    `linear growth of the pipeline alone (generate ms/cluster at 100 ≤ 1.5× at 10): ${generatePerCluster100.toFixed(2)} vs ${generatePerCluster10.toFixed(2)} ms/cluster`,
    generatePerCluster100 <= 1.5 * generatePerCluster10,
  ],
];
console.log('');
for (const [text, ok] of targets) console.log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
if (results[3].baseline) {
  const before = results[3].baseline.ms / bare.ms;
  console.log(
    `note  baseline (${BASELINE}) reference platform as CLI: ${before.toFixed(2)}× bare node start, this copy ${referenceRatio.toFixed(2)}×`,
  );
}
rmSync(scratch, { recursive: true, force: true });
