import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { generatePlatformTypes } from '../scripts/platform-types.mjs';

test('src/generated/platform.ts matches the schema (run `pnpm --filter @homelab/core gen:types`)', async () => {
  const committed = readFileSync(new URL('./generated/platform.ts', import.meta.url), 'utf8');
  expect(committed).toBe(await generatePlatformTypes());
});

test('every property of the definition schema has a description and objects are closed', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../schema/definition.schema.json', import.meta.url), 'utf8'),
  ) as unknown;
  const problems: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as { [key: string]: unknown };
    if (record.type === 'object' && record.additionalProperties === undefined) {
      problems.push(`${path}: object without additionalProperties`);
    }
    const properties = record.properties as
      | { [key: string]: { description?: unknown } }
      | undefined;
    for (const [key, property] of Object.entries(properties ?? {})) {
      if (typeof property.description !== 'string') problems.push(`${path}.${key}: no description`);
    }
    for (const [key, child] of Object.entries(record)) visit(child, `${path}/${key}`);
  };
  visit(schema, '#');
  expect(problems).toEqual([]);
});
