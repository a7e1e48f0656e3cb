// The platform's pins (every registered component's and Talos') against the repository's
// vendor/: what `homelab vendor verify` checks in CI, and the pins themselves well formed.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinIssues, verifyVendor } from '@homelab/vendor';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';
import { platformPins, upgradeCheck } from '../src/vendor.js';

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

describe('homelab upgrade-check', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const cilium = REGISTRY.find((component) => component.name === 'cilium');
  if (cilium === undefined) throw new Error('no cilium component');
  const spec = (version: string) =>
    ({
      name: 'cilium',
      dependency: { name: 'cilium', version, repository: 'https://helm.cilium.io' },
      values: { cilium: { kubeProxyReplacement: true } },
      environments: {},
      clusters: {},
    }) as unknown as Parameters<typeof upgradeCheck>[2];

  it('compares the release in use with a newer pinned one', () => {
    const check = upgradeCheck(root, cilium, spec('1.19.6'), '1.20.0');
    expect([check.from, check.to]).toEqual(['1.19.6', '1.20.0']);
  });

  it('refuses to compare a release with itself, as it would after the pin moved', () => {
    // Given the chart already on the target release (a Renovate bump merged, then rebuilt)
    // Then there is no "nothing changed" report, but the reason and when to run it
    expect(() => upgradeCheck(root, cilium, spec('1.20.0'), '1.20.0')).toThrow(
      'cilium already uses cilium 1.20.0: upgrade-check compares the release in use with a newer pinned one, so run it before moving the pin',
    );
  });
});
