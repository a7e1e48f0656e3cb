#!/usr/bin/env node
// Writes schema/platform.schema.json: the definition schema composed from every registered
// component's settings fragment (what editors complete platform.yaml against). With `--types`,
// also regenerates src/generated/definition.ts from it (json-schema-to-typescript). Run from the
// package folder after tsc; a test fails when either file is stale.
import { writeFileSync } from 'node:fs';
import { generateDefinitionTypes } from '@homelab/core/scripts/platform-types.mjs';
import { definitionSchema } from '../dist/definition.js';

const schema = `${JSON.stringify(definitionSchema, null, 2)}\n`;
writeFileSync(new URL('../schema/platform.schema.json', import.meta.url), schema);
if (process.argv.includes('--types')) {
  const types = await generateDefinitionTypes(
    definitionSchema,
    'pnpm --filter @homelab/cli gen:types',
    'schema/platform.schema.json',
  );
  writeFileSync(new URL('../src/generated/definition.ts', import.meta.url), types);
}
