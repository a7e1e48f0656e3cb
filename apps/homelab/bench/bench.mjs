// `pnpm bench`: the performance targets of the build, measured in one run as ratios of paired
// medians (each pair runs its two sides back to back, so that load on this shared machine hits
// both alike). Prints the numbers and PASS/FAIL per target; always exits 0 (timings are noisy:
// the numbers are for the reader).
//
// 1. The reference platform (examples/reference) built by the installed CLI
//    (packages/cli/dist/homelab.cjs) into an empty folder, against a bare `node -e 0` start:
//    ≤ 4×.
// 2. The 100-cluster fleet (examples/fleet), cold (empty output folder), by the CLI, against
//    cdk8s synthesizing the same fleet's Argo CD objects (Applications, AppProjects) and Cilium
//    objects (cdk8s-fleet.mjs, objects read from a homelab build of the fleet): ≤ 2×.
// 3. An unchanged rebuild (the same definition into the folder the cold build of the pair just
//    wrote) writes no file and takes ≤ 40 % of the cold build.
// 4. Linear growth: in-process builds (inprocess.mjs: pipeline + writer, in one process, after
//    warm-up builds of at least 200 clusters in all) of 10, 100 and 200 clusters, in interleaved
//    rounds; the 200-cluster time is within 10 % of the line through 10 and 100. The same line
//    through the builds' CPU time is printed beside it, for the reader: not the target.
//
// BENCH_ITERATIONS (default 3): pairs per ratio (the reference ratio uses three times as many:
// they are short). BENCH_ROUNDS (default 5): rounds of the linear-growth measurement.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readChartDir, renderChart } from '@homelab/core';
import { fleetDefinition } from '../../../examples/fleet/generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const bundled = join(repo, 'packages/cli/dist/homelab.cjs');
const bin = existsSync(bundled) ? bundled : join(repo, 'packages/cli/dist/bin.js');
const inprocess = join(here, 'inprocess.mjs');
const peer = join(here, 'cdk8s-fleet.mjs');
const reference = join(repo, 'examples/reference/platform.yaml');
const fleet = join(repo, 'examples/fleet/platform.yaml');

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? '3');
// Builds of one size vary by ±15 % from run to run here, as much as the 10 % the linearity target
// allows: its medians take more rounds than the ratios.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '5');
const scratch = mkdtempSync(join(tmpdir(), 'homelab-bench-'));
let folders = 0;
const freshFolder = () => {
  const dir = join(scratch, `out-${folders++}`);
  mkdirSync(dir);
  return dir;
};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `node args…` once; returns wall ms and stdout. Throws when it fails. */
function spawnTimed(args) {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(
      `node ${args.join(' ')} exited ${result.status}\n${result.stderr}${result.stdout}`,
    );
  }
  return { ms, stdout: result.stdout };
}

/** `homelab build --json` of `definition` into `out`: wall ms and the build summary. */
function cliBuild(definition, out) {
  const { ms, stdout } = spawnTimed([bin, 'build', '--json', '--config', definition, '--out', out]);
  return { ms, summary: JSON.parse(stdout).summary };
}

const f = (ms) => `${ms.toFixed(0)} ms`;
const results = [];
function target(text, ok) {
  results.push([text, ok]);
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
}

console.log(
  `homelab bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}, ${ITERATIONS} pairs per ratio, medians`,
);
console.log(`CLI: ${bin}\n`);

// 1. Reference platform vs a bare node start.
{
  spawnTimed(['-e', '0']);
  cliBuild(reference, freshFolder()); // warm the file-system cache
  const node = [];
  const cli = [];
  const inside = [];
  const ratios = [];
  for (let i = 0; i < ITERATIONS * 3; i++) {
    const bare = spawnTimed(['-e', '0']).ms;
    const build = cliBuild(reference, freshFolder());
    node.push(bare);
    cli.push(build.ms);
    inside.push(build.summary.ms);
    ratios.push(build.ms / bare);
  }
  const ratio = median(ratios);
  console.log(
    `reference platform: CLI build ${f(median(cli))}, node -e 0 ${f(median(node))} (medians of ${ratios.length} pairs)`,
  );
  // Where the CLI's time goes: the build's own clock (`--json` summary.ms, from the command's
  // start to its end) and the rest of the wall time (node's start, loading the bundle, exit).
  console.log(
    `  of which the build itself (its summary's ms) ${f(median(inside))}; node start-up, bundle load and exit ${f(median(cli.map((ms, i) => ms - inside[i])))}`,
  );
  target(
    `reference build as the installed CLI ≤ 4× a bare node start: ${ratio.toFixed(2)}×`,
    ratio <= 4,
  );
  // Not a target: the same build with start-up and JIT warm-up taken out (in one process, after
  // warm-up builds), against the same bare start. What the CLI cannot go below on this machine.
  const warm = JSON.parse(spawnTimed([inprocess, reference, String(ITERATIONS * 3)]).stdout);
  const warmMs = median(warm.ms);
  console.log(
    `  for comparison, the same build warm in one process: ${f(warmMs)} (pipeline ${f(median(warm.generateMs))}, writer ${f(median(warm.writeMs))}) = ${(warmMs / median(node)).toFixed(2)}× node -e 0`,
  );
}

// 2 and 3. The 100-cluster fleet: cold CLI build, unchanged rebuild, cdk8s synth.
{
  const prepared = freshFolder();
  const first = cliBuild(fleet, prepared); // warms the caches; its output gives the peer its objects
  const definition = JSON.parse(
    fleetDefinition(100)
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n'),
  );
  const charts = ['platform', 'cilium'].map((chart) =>
    readChartDir(join(prepared, 'charts', chart)),
  );
  const objects = {};
  let count = 0;
  for (const cluster of definition.clusters) {
    objects[cluster.name] = charts.flatMap((files) =>
      Object.values(
        renderChart(files, [`env/${cluster.environment}.yaml`, `clusters/${cluster.name}.yaml`])
          .values.manifests ?? {},
      ),
    );
    count += objects[cluster.name].length;
  }
  const objectsFile = join(scratch, 'fleet-objects.json');
  writeFileSync(objectsFile, JSON.stringify(objects));
  spawnTimed([peer, objectsFile, freshFolder()]); // warm
  const cold = [];
  const rebuild = [];
  const synth = [];
  const peerRatios = [];
  const rebuildRatios = [];
  let written = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const out = freshFolder();
    const build = cliBuild(fleet, out);
    const again = cliBuild(fleet, out);
    const cdk8s = spawnTimed([peer, objectsFile, freshFolder()]);
    cold.push(build.ms);
    rebuild.push(again.ms);
    synth.push(cdk8s.ms);
    written.push(again.summary.written);
    peerRatios.push(build.ms / cdk8s.ms);
    rebuildRatios.push(again.ms / build.ms);
  }
  written = [...new Set(written)];
  console.log(
    `\n100-cluster fleet: ${first.summary.files} files; cold CLI build ${f(median(cold))}, unchanged rebuild ${f(median(rebuild))}, cdk8s synth of its ${count} Argo CD and Cilium objects ${f(median(synth))} (medians of ${ITERATIONS})`,
  );
  const peerRatio = median(peerRatios);
  target(`100-cluster cold build ≤ 2× cdk8s: ${peerRatio.toFixed(2)}×`, peerRatio <= 2);
  const rebuildRatio = median(rebuildRatios);
  target(
    `unchanged rebuild writes nothing and takes ≤ 40 % of a cold build: ${written.join('/')} files written, ${(rebuildRatio * 100).toFixed(0)} %`,
    written.length === 1 && written[0] === 0 && rebuildRatio <= 0.4,
  );
}

// 4. Linear growth, in-process. The three sizes are measured in rounds (10, 100, 200, then the
// next round in rotated order), each run in a fresh process: a load change on the shared machine
// then falls on all three sizes, not on one of them. Each process first builds its fleet until it
// has built at least 200 clusters (20 warm-up builds of 10 clusters, 2 of 100, 1 of 200), then
// measures one build: the three are then measured at the same JIT warmth. With one warm-up build
// each, a 10-cluster build was still in V8's baseline tiers (its next builds took ~40 % less),
// which bent the line by warm-up, not by the build's own growth.
{
  const SIZES = [10, 100, 200];
  const warmups = (clusters) => Math.ceil(SIZES.at(-1) / clusters);
  const paths = {};
  const runs = Object.fromEntries(SIZES.map((clusters) => [clusters, []]));
  for (const clusters of SIZES) {
    paths[clusters] = join(scratch, `fleet-${clusters}.yaml`);
    writeFileSync(paths[clusters], fleetDefinition(clusters));
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = SIZES.map((_, i) => SIZES[(i + round) % SIZES.length]);
    for (const clusters of order) {
      const { stdout } = spawnTimed([inprocess, paths[clusters], '1', String(warmups(clusters))]);
      const report = JSON.parse(stdout);
      runs[clusters].push({
        ms: report.ms[0],
        generateMs: report.generateMs[0],
        writeMs: report.writeMs[0],
        gcMs: report.gcMs[0],
        cpuMs: report.cpuMs[0],
        files: report.files,
        rssMiB: report.maxRssKiB / 1024,
      });
    }
  }
  const times = {};
  for (const clusters of SIZES) {
    const of = (field) => median(runs[clusters].map((run) => run[field]));
    times[clusters] = {
      ms: of('ms'),
      generateMs: of('generateMs'),
      writeMs: of('writeMs'),
      gcMs: of('gcMs'),
      cpuMs: of('cpuMs'),
      files: runs[clusters][0].files,
      rssMiB: Math.max(...runs[clusters].map((run) => run.rssMiB)),
    };
  }
  console.log('');
  for (const [clusters, time] of Object.entries(times)) {
    console.log(
      `in-process, ${clusters} clusters: ${f(time.ms)} (pipeline ${f(time.generateMs)}, writer ${f(time.writeMs)}; garbage collection ${f(time.gcMs)}, ${((time.gcMs / time.ms) * 100).toFixed(0)} %; ${time.files} files; ${(time.ms / clusters).toFixed(1)} ms/cluster; peak RSS ${time.rssMiB.toFixed(0)} MiB; medians of ${runs[clusters].length})`,
    );
  }
  const deviationOf = (field) => {
    const slope = (times[100][field] - times[10][field]) / 90;
    const predicted = times[100][field] + slope * 100;
    return { predicted, deviation: times[200][field] / predicted - 1 };
  };
  const percent = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  const pipeline = deviationOf('generateMs');
  const writer = deviationOf('writeMs');
  // Not the target: the same line drawn through the builds' CPU time, which leaves out the time
  // a build waited for a CPU on this shared machine (GC threads' work included).
  const cpu = deviationOf('cpuMs');
  console.log(
    `  of which the pipeline: ${percent(pipeline.deviation)} from its line; the writer: ${percent(writer.deviation)}; CPU time (${times[10].cpuMs.toFixed(0)} / ${times[100].cpuMs.toFixed(0)} / ${times[200].cpuMs.toFixed(0)} ms): ${percent(cpu.deviation)}`,
  );
  const { predicted, deviation } = deviationOf('ms');
  target(
    `linear from 10 to 200 clusters (200 within 10 % of the line through 10 and 100): predicted ${f(predicted)}, measured ${f(times[200].ms)} (${percent(deviation)})`,
    Math.abs(deviation) <= 0.1,
  );
}

console.log(
  `\n${results.filter(([, ok]) => ok).length} of ${results.length} targets met (load average at the end: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')})`,
);
rmSync(scratch, { recursive: true, force: true });
