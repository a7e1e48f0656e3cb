#!/usr/bin/env node
// The unbundled `homelab` executable (dist/bin.js; tests run it). The installed `bin` is the
// bundle dist/homelab.cjs (scripts/bundle.mjs), which starts faster and runs the same `main`.
import { main } from './main.js';

process.exitCode = await main();
