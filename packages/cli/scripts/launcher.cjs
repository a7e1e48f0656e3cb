#!/usr/bin/env node
// The `homelab` executable (package.json "bin"; copied to dist/ by scripts/bundle.mjs). It runs
// dist/cli.bundle.cjs, the whole CLI bundled by esbuild into one CommonJS file, compiled with
// V8's code cache dist/cli.bundle.cjs.cache: the bytecode of every function a build of the
// workspace's platform ran, written at build time by a training run (HOMELAB_CODE_CACHE=write).
// V8 checks the cache against the source, its own version and its flags and ignores a cache
// that does not match (the CLI then compiles as usual): a stale or missing cache costs time,
// never correctness. The bundle is pure ASCII (scripts/bundle.mjs refuses anything else), so it
// is read as Latin-1: a one-byte string, decoded without UTF-8's cost. CommonJS, because an ES module entry point costs Node a few ms more.
'use strict';
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');

const filename = join(__dirname, 'cli.bundle.cjs');
const cacheFile = `${filename}.cache`;
const training = process.env.HOMELAB_CODE_CACHE === 'write';

let cachedData;
if (!training) {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache: compile.
  }
}
// The bundle is a function expression (scripts/bundle.mjs wraps the module in Node's CommonJS
// wrapper, on its first line, so that stack traces keep the bundle's lines): compiled as read.
// `__homelabModuleUrl` is what the bundle has in place of `import.meta.url`.
const source = readFileSync(filename, 'latin1');
const script = new Script(source, cachedData ? { filename, cachedData } : { filename });
const bundle = { exports: {} };
script.runInThisContext()(
  bundle.exports,
  createRequire(filename),
  bundle,
  filename,
  __dirname,
  pathToFileURL(filename).href,
);
// The bundle's identity (size, modification time, inode): `homelab build` reuses the record of
// an unchanged build only when it was made by this very file.
const stats = statSync(filename);
const tool = `${filename}:${stats.size}:${stats.mtimeMs}:${stats.ino}`;
bundle.exports.main({ tool }).then((code) => {
  process.exitCode = code;
  if (training) writeFileSync(cacheFile, script.createCachedData());
});
