// The `homelab` process: `run` wired to the real process streams, arguments and environment.
// The only module that touches `process`; its callers are the two executables, `bin.ts` (the
// unbundled CLI, dist/bin.js) and the bundled one (dist/homelab.cjs, see scripts/bundle.mjs).
import { run } from './cli.js';

/**
 * Runs the command line of this process; resolves to its exit code. `tool`: the identity of the
 * running code (the bundled executable passes its bundle's), which lets `build` reuse the record
 * of an unchanged build (cli.ts `CliIo.tool`).
 */
export function main(options: { readonly tool?: string } = {}): Promise<number> {
  // A reader that stops early (`homelab diff | head`) closes the pipe: stop quietly, as git does,
  // instead of an unhandled EPIPE stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
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
    ...(options.tool === undefined ? {} : { tool: options.tool }),
  });
}
