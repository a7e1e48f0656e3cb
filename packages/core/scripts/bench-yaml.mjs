#!/usr/bin/env node
// Micro benchmark of `toYaml`: the direct emitter against the reference path (the `yaml`
// package's node model), on the data of generated YAML files (default: charts/ and clusters/
// under the current directory, e.g. the repository root after `pnpm build`).
//
//   node packages/core/scripts/bench-yaml.mjs [dir…]
//
// Each emitter runs in its own fresh process (so caches and JIT start cold, as in a build):
// "cold" is the first pass over every document (wall and CPU time, the latter including V8's
// compiler and GC threads), "warm" the fastest of 10 more passes. The
// processes alternate, 7 of each; the fastest of each is printed (the machine's other load only
// ever adds time). Needs `pnpm build` of core first.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const yamlModule = join(here, '..', 'dist', 'yaml.js');

if (process.argv[2] === '--child') {
  const [emitter, ...dirs] = process.argv.slice(3);
  const { parseAllDocuments, toYaml, toYamlReference } = await import(yamlModule);
  const emit = emitter === 'reference' ? toYamlReference : toYaml;
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.yaml')) files.push(path);
    }
  };
  for (const dir of dirs) walk(dir);
  const docs = [];
  for (const file of files) {
    try {
      docs.push(...parseAllDocuments(readFileSync(file, 'utf8')));
    } catch {
      // templates/*.yaml hold Go templates, not YAML data
    }
  }
  // The garbage of reading the files is collected first, not in the emitter's time.
  globalThis.gc?.();
  let bytes = 0;
  let start = performance.now();
  const cpuStart = process.cpuUsage();
  for (const doc of docs) bytes += emit(doc).length;
  const cold = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const coldCpu = (cpu.user + cpu.system) / 1000;
  const warm = [];
  for (let pass = 0; pass < 10; pass++) {
    start = performance.now();
    for (const doc of docs) emit(doc);
    warm.push(performance.now() - start);
  }
  console.log(JSON.stringify({ docs: docs.length, bytes, cold, coldCpu, warm: Math.min(...warm) }));
} else {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['charts', 'clusters'];
  const runs = { direct: [], reference: [] };
  for (let round = 0; round < 7; round++) {
    for (const emitter of ['direct', 'reference']) {
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', `${here}bench-yaml.mjs`, '--child', emitter, ...dirs],
        {
          encoding: 'utf8',
        },
      );
      if (child.status !== 0) throw new Error(child.stderr);
      runs[emitter].push(JSON.parse(child.stdout));
    }
  }
  const { docs, bytes } = runs.direct[0];
  console.log(`${docs} documents, ${bytes} bytes of YAML`);
  const result = {};
  for (const emitter of ['direct', 'reference']) {
    result[emitter] = {
      cold: Math.min(...runs[emitter].map((run) => run.cold)),
      coldCpu: Math.min(...runs[emitter].map((run) => run.coldCpu)),
      warm: Math.min(...runs[emitter].map((run) => run.warm)),
    };
    console.log(
      `${emitter.padEnd(9)}  cold ${result[emitter].cold.toFixed(1)} ms (CPU ${result[emitter].coldCpu.toFixed(1)} ms)  warm ${result[emitter].warm.toFixed(1)} ms`,
    );
  }
  console.log(
    `speed-up  cold ${(result.reference.cold / result.direct.cold).toFixed(1)}× (CPU ${(result.reference.coldCpu / result.direct.coldCpu).toFixed(1)}×)  warm ${(result.reference.warm / result.direct.warm).toFixed(1)}×`,
  );
}
