// Preloaded with `node --import` by the benchmark: on exit, writes the process's peak resident
// set size (KiB, from process.resourceUsage().maxRSS) to the file named by BENCH_RSS_FILE.
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS));
  });
}
