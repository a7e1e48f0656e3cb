// Build-time code generation (run by `pnpm build` after tsc, never at run time): modules in
// dist/ that let the CLI start without compiling anything.
// - ajv standalone validators: CommonJS code that validates exactly as `ajv.compile` would
//   (same errors, schemaPath and params included), so the ajv compiler is never loaded.
// - the README template of every chart, precompiled for the Handlebars runtime.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const GENERATED =
  '// Generated at build time by @homelab/core scripts/standalone.mjs; do not edit.';

/** The text a generated module carries, compared at load so a stale module is never used. */
export function standaloneFingerprint(source) {
  return JSON.stringify({ options: source.options, schemas: source.schemas });
}

/**
 * A CommonJS module exporting one ajv standalone validate function per named schema of
 * `source` (`{ options, schemas: { <name>: <draft 2020-12 schema> } }`), plus `fingerprint`.
 */
export function standaloneValidatorsModule(source) {
  const { Ajv2020 } = require('ajv/dist/2020.js');
  const standaloneCode = require('ajv/dist/standalone').default;
  const fingerprint = standaloneFingerprint(source);
  const ajv = new Ajv2020({ ...source.options, code: { source: true } });
  const names = Object.keys(source.schemas).sort();
  for (const name of names) ajv.addSchema(source.schemas[name], name);
  const code = standaloneCode(ajv, Object.fromEntries(names.map((name) => [name, name])));
  return `${GENERATED}\n${code}\nexports.fingerprint = ${JSON.stringify(fingerprint)};\n`;
}

/**
 * A CommonJS module exporting `render`: `template` precompiled with `options` and bound to the
 * Handlebars runtime (which is a fraction of the compiler), plus `fingerprint`.
 */
export function precompiledTemplateModule(template, options) {
  const Handlebars = require('handlebars');
  const fingerprint = JSON.stringify({ template, options });
  // A copy: Handlebars adds its defaults to the options object it is given.
  const spec = Handlebars.precompile(template, { ...options });
  return [
    GENERATED,
    "'use strict';",
    "const Handlebars = require('handlebars/runtime');",
    `exports.render = Handlebars.template(${spec});`,
    `exports.fingerprint = ${JSON.stringify(fingerprint)};`,
    '',
  ].join('\n');
}
