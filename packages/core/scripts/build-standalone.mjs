#!/usr/bin/env node
// Writes build-time generated modules into a package's dist/ (see standalone.mjs). Run from the
// package folder after tsc:
//   node scripts/build-standalone.mjs validators <module.js> <export> <out.cjs>
//   node scripts/build-standalone.mjs template <module.js> <export> <out.cjs>
// <module.js> exports <export>: for `validators` `{ options, schemas }`, for `template`
// `{ template, options }`.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { precompiledTemplateModule, standaloneValidatorsModule } from './standalone.mjs';

const [kind, modulePath, exportName, out] = process.argv.slice(2);
if (!kind || !modulePath || !exportName || !out || !['validators', 'template'].includes(kind)) {
  console.error('usage: build-standalone.mjs validators|template <module.js> <export> <out.cjs>');
  process.exit(2);
}
const module = await import(pathToFileURL(resolve(modulePath)).href);
const source = module[exportName];
if (source === undefined) {
  console.error(`${modulePath} does not export ${exportName}`);
  process.exit(2);
}
const code =
  kind === 'validators'
    ? standaloneValidatorsModule(source)
    : precompiledTemplateModule(source.template, source.options);
writeFileSync(resolve(out), code);
