// The platform's pins (every registered component's and Talos') against the repository's
// vendor/: what `homelab vendor verify` checks in CI, and the pins themselves well formed.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinIssues, verifyVendor } from '@homelab/vendor';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';
import { platformPins } from '../src/vendor.js';

const vendorDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'vendor');

describe('the platform pins', () => {
  const pins = platformPins(REGISTRY);

  it('are well formed', () => {
    expect(pinIssues(pins)).toEqual([]);
  });

  it("are exactly what the repository's vendor/ holds, byte for byte as locked", () => {
    expect(pins.length).toBeGreaterThan(20);
    expect(verifyVendor(vendorDir, pins)).toEqual([]);
  });
});
