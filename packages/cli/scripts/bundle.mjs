#!/usr/bin/env node
// Bundles the CLI for a fast start (run by `build` after tsc, from the package folder):
//
//   dist/cli.bundle.cjs        dist/main.js and everything it imports (our packages, yaml, ajv's
//                              generated validators, the kubernetes-models schemas, …) in one
//                              CommonJS module, inside Node's module wrapper (a function
//                              expression the launcher compiles and calls): one read and one
//                              compile instead of hundreds of ES modules resolved, read and
//                              linked one by one.
//   dist/homelab.cjs           the executable (package.json "bin"), from scripts/launcher.cjs:
//                              runs the bundle with V8's code cache.
//   dist/cli.bundle.cjs.cache  that code cache, written by a training run: a build of the
//                              workspace's platform definition into a temporary folder.
//
// File-relative loads: our packages load build-time generated modules (ajv standalone
// validators, the precompiled README template) and the platform schema with
// `const require = createRequire(import.meta.url)`. esbuild cannot see through a local
// `require`, so the plugin below drops that line in our packages' dist files: the `require(…)`
// calls then are ordinary CommonJS requires that esbuild resolves and inlines (lazily: a
// required module runs on its first `require`). A bundle that still creates a file-relative
// `require`, or that imports anything at run time other than Node's built-in modules, fails
// this script.
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const WRAPPER_OPEN =
  '(function (exports, require, module, __filename, __dirname, __homelabModuleUrl) {';
const WRAPPER_CLOSE = '\n})\n';
const LOCAL_REQUIRE = /^const require = createRequire\(import\.meta\.url\);$/m;
const OUR_DIST = /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/][^\\/]+\.js$/;

/** Drops `const require = createRequire(import.meta.url);` from our packages' dist files. */
const inlineLocalRequires = {
  name: 'inline-local-requires',
  setup(context) {
    context.onLoad({ filter: OUR_DIST }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!LOCAL_REQUIRE.test(text)) return undefined;
      return {
        contents: text.replace(LOCAL_REQUIRE, '/* require: resolved by esbuild (bundle) */'),
        loader: 'js',
      };
    });
  },
};

/** `re2-wasm` → scripts/re2-regexp.cjs (see that file: no WebAssembly compile per build). */
const re2AsRegExp = {
  name: 're2-as-regexp',
  setup(context) {
    context.onResolve({ filter: /^re2-wasm$/ }, () => ({
      path: join(process.cwd(), 'scripts', 're2-regexp.cjs'),
    }));
  },
};

const result = await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/cli.bundle.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The launcher passes the bundle's URL: `new URL('../package.json', import.meta.url)` still
  // finds this package's package.json.
  define: { 'import.meta.url': '__homelabModuleUrl' },
  plugins: [inlineLocalRequires, re2AsRegExp],
  // Minified: the bundle's size is what a start costs (read, decode, code-cache check), and
  // minifying halves it. Pure ASCII (esbuild escapes every other character; minifying drops
  // the comments that could hold one), so that the launcher reads it as a one-byte string.
  // Internal-error stack traces point into the minified file: dist/cli.bundle.cjs.map maps them.
  minify: true,
  charset: 'ascii',
  sourcemap: 'external',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const problems = [];
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  for (const imported of output.imports) {
    if (imported.external && !isBuiltin(imported.path)) {
      problems.push(`${file} imports ${imported.path} (${imported.kind}) at run time`);
    } else if (imported.kind === 'dynamic-import') {
      problems.push(`${file} keeps a dynamic import of ${imported.path}`);
    }
  }
}
// Node's CommonJS wrapper, written into the file on its first line (so that stack traces keep
// esbuild's lines): the launcher compiles the file as it is read, without concatenating a copy of
// its 7 MB. `__homelabModuleUrl` is what the bundle has in place of `import.meta.url`.
const bundled = `${WRAPPER_OPEN}${readFileSync('dist/cli.bundle.cjs', 'utf8')}${WRAPPER_CLOSE}`;
writeFileSync('dist/cli.bundle.cjs', bundled);
if (!isAscii(readFileSync('dist/cli.bundle.cjs'))) {
  problems.push('dist/cli.bundle.cjs is not pure ASCII (the launcher reads it as Latin-1)');
}
if (/createRequire\)?\(__homelabModuleUrl\)/.test(bundled)) {
  problems.push('dist/cli.bundle.cjs still creates a file-relative require (import.meta.url)');
}
if (problems.length > 0) {
  console.error(`bundle.mjs: the bundle is not self-contained:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

copyFileSync('scripts/launcher.cjs', 'dist/homelab.cjs');
chmodSync('dist/homelab.cjs', 0o755);
rmSync('dist/cli.bundle.cjs.cache', { force: true });

// Training run: the functions a build runs get into the code cache. Its outcome does not matter
// (an invalid definition still trains the loader); only a missing cache is reported.
const out = mkdtempSync(join(tmpdir(), 'homelab-bundle-'));
try {
  const training = spawnSync(process.execPath, ['dist/homelab.cjs', 'build', '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, HOMELAB_CODE_CACHE: 'write', NO_COLOR: '1' },
  });
  let cacheBytes = 0;
  try {
    cacheBytes = readFileSync('dist/cli.bundle.cjs.cache').length;
  } catch {
    console.error(
      `bundle.mjs: the training run wrote no code cache (exit ${training.status}); the CLI works, only slower to start\n${training.stderr}`,
    );
  }
  if (cacheBytes > 0) {
    console.log(
      `bundle.mjs: dist/cli.bundle.cjs ${(bundled.length / 1024).toFixed(0)} KiB, code cache ${(cacheBytes / 1024).toFixed(0)} KiB`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
