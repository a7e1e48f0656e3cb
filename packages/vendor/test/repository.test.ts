// The repository's own vendor/: exactly the platform's pins, byte for byte as locked (what
// `homelab vendor verify` checks in CI), and the lock written the way sync writes it.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLock, serializeLock } from '../src/lock.js';
import { PLATFORM_PINS } from '../src/pins.js';
import { verifyVendor } from '../src/verify.js';

const vendorDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'vendor');

describe("the repository's vendor/", () => {
  it('holds exactly the platform pins, byte for byte as locked', () => {
    expect(verifyVendor(vendorDir, PLATFORM_PINS)).toEqual([]);
  });

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
