#!/usr/bin/env node
import { main } from './command.js';

try {
  process.exitCode = main(process.argv.slice(2), process.cwd());
} catch (cause) {
  console.error(`error  ${cause instanceof Error ? cause.message : String(cause)}`);
  process.exitCode = 1;
}
