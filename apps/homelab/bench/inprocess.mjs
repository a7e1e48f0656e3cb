// Child of the benchmark: imports the pipeline once, then builds the definition given in
// argv[2] into a fresh folder `argv[3]` times, after `argv[4]` warm-up builds (default 1). Prints JSON:
// { ms: [...], generateMs: [...], writeMs: [...], gcMs: [...], cpuMs: [...], files, maxRssKiB }: per
// build the whole time, the pipeline's share (`generate`, pure), the writer's (file-system bound),
// the time V8's garbage collector paused the build (PerformanceObserver 'gc' entries) and the
// CPU time the process spent on it (user + system, all threads: `process.cpuUsage`; unlike the
// wall time it leaves out the time the build waited for a CPU on a loaded machine). A separate
// process per scenario keeps peak RSS per scenario.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { runtime } from '@homelab/cli';

const [definitionPath, iterationsText, warmupsText] = process.argv.slice(2);
const iterations = Number(iterationsText ?? '3');
const warmups = Number(warmupsText ?? '1');
const text = readFileSync(definitionPath, 'utf8');
let gcTotal = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcTotal += entry.duration;
}).observe({ entryTypes: ['gc'] });

async function buildOnce() {
  const out = mkdtempSync(join(tmpdir(), 'homelab-bench-'));
  try {
    const gcBefore = gcTotal;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = await runtime.generate({ text, file: definitionPath, chartVersions: {} });
    const generated = performance.now();
    if (result.issues.some((issue) => issue.severity === 'error')) {
      const first = result.issues.find((issue) => issue.severity === 'error');
      throw new Error(`definition has errors, e.g. ${runtime.formatIssue(first)}`);
    }
    runtime.writeTree(out, result.files);
    const written = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    // GC entries are delivered asynchronously (after the next turns of the event loop, one
    // setImmediate is not enough): let them arrive before reading the total.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      gcMs: gcTotal - gcBefore,
      cpuMs: (cpu.user + cpu.system) / 1000,
      ms: written - started,
      generateMs: generated - started,
      writeMs: written - generated,
      files: result.files.length,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

for (let i = 0; i < warmups; i++) await buildOnce();
const ms = [];
const generateMs = [];
const writeMs = [];
const gcMs = [];
const cpuMs = [];
let files = 0;
for (let i = 0; i < iterations; i++) {
  const run = await buildOnce();
  ms.push(run.ms);
  generateMs.push(run.generateMs);
  writeMs.push(run.writeMs);
  gcMs.push(run.gcMs);
  cpuMs.push(run.cpuMs);
  files = run.files;
}
process.stdout.write(
  `${JSON.stringify({ ms, generateMs, writeMs, gcMs, cpuMs, files, maxRssKiB: process.resourceUsage().maxRSS })}\n`,
);
