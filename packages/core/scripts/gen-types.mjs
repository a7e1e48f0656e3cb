// Regenerates src/generated/platform.ts from schema/definition.schema.json.
// Usage: node scripts/gen-types.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { generatePlatformTypes } from './platform-types.mjs';

const target = new URL('../src/generated/platform.ts', import.meta.url);
const next = await generatePlatformTypes();
if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== next) {
    console.error('src/generated/platform.ts is stale: run pnpm --filter @homelab/core gen:types');
    process.exit(1);
  }
} else {
  writeFileSync(target, next);
}
