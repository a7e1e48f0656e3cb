#!/usr/bin/env node
// Generates a component's settings types from its schema fragment (json-schema-to-typescript),
// run from the component's package folder:
//   homelab-gen-types schema/settings.schema.json src/generated/settings.ts CiliumSettings [--check]
// `--check` exits 1 when the file is stale instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateDefinitionTypes } from './platform-types.mjs';

const args = process.argv.slice(2);
const check = args.includes('--check');
const [schemaPath, outPath, typeName] = args.filter((arg) => arg !== '--check');
if (!schemaPath || !outPath || !typeName) {
  console.error('usage: homelab-gen-types <schema.json> <out.ts> <TypeName> [--check]');
  process.exit(2);
}
const schema = JSON.parse(readFileSync(resolve(schemaPath), 'utf8'));
const text = await generateDefinitionTypes(
  { ...schema, title: typeName },
  `homelab-gen-types ${schemaPath} ${outPath} ${typeName}`,
  schemaPath,
  typeName,
);
if (check) {
  let current = '';
  try {
    current = readFileSync(resolve(outPath), 'utf8');
  } catch {}
  if (current !== text) {
    console.error(`${outPath} is stale: run pnpm gen:types`);
    process.exit(1);
  }
} else {
  writeFileSync(resolve(outPath), text);
}
