// The `homelab` process: `run` wired to the real process streams, arguments and environment.
// The only module that touches `process`; its callers are the two executables, `bin.ts` (the
// unbundled CLI, dist/bin.js) and the bundled one (dist/homelab.cjs, see scripts/bundle.mjs).
import { run } from './cli.js';

/** Runs the command line of this process; resolves to its exit code. */
export function main(): Promise<number> {
  return run(process.argv.slice(2), {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    cwd: process.cwd(),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  });
}
