#!/usr/bin/env node
// Writes schema/platform.schema.json: the definition schema composed from every registered
// component's settings fragment (what editors complete platform.yaml against). Run from the
// package folder after tsc (the build does). The TypeScript types come from the same schemas, per
// part: core's src/generated/platform.ts (the definition without component settings) and each
// component's src/generated/settings.ts, each with a test that fails when it is stale.
import { writeFileSync } from 'node:fs';
import { definitionSchema } from '../dist/definition.js';

writeFileSync(
  new URL('../schema/platform.schema.json', import.meta.url),
  `${JSON.stringify(definitionSchema, null, 2)}\n`,
);
