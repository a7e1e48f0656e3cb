// The repository's own vendor/: the lock written the way sync writes it, with its copyleft
// artifacts marked. That it holds exactly the platform's pins (the registry's) is checked in
// packages/cli/test/vendor-pins.test.ts, where the registry is.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLock, serializeLock } from '../src/lock.js';

const vendorDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'vendor');

describe("the repository's vendor/", () => {
  it('has its lock in the canonical form and marks the AGPL and MPL artifacts copyleft', () => {
    const text = readFileSync(join(vendorDir, 'lock.json'), 'utf8');
    const { lock } = parseLock(text);
    expect(serializeLock(lock?.artifacts ?? [])).toBe(text);
    const copyleft = (lock?.artifacts ?? []).filter((a) => a.copyleft);
    expect([...new Set(copyleft.map((a) => a.licence))].sort()).toEqual(['AGPL-3.0', 'MPL-2.0']);
    expect(copyleft.filter((a) => a.kind === 'helm-chart').map((a) => a.name)).toEqual([
      'sm-operator',
      'volsync',
    ]);
  });
});
