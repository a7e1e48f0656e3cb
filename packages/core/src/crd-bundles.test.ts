import { describe, expect, it } from 'vitest';
import type { CrdBundle } from './contract.js';
import { atOrAboveFloor, crossesFloorDownwards } from './crd-bundles.js';

function bundle(version: string, floor?: string): CrdBundle {
  return {
    name: 'gateway-api-crds',
    description: `Gateway API ${version} CRDs`,
    version,
    source: { repoURL: 'https://example.org/crds', path: 'crds', targetRevision: version },
    kinds: [],
    clusterResources: [],
    install: [],
    ...(floor === undefined ? {} : { noDowngradeBelow: { version: floor, why: 'why', undo: [] } }),
  };
}

describe('CRD bundle floors', () => {
  it('compares release tags as versions, not as text', () => {
    expect(atOrAboveFloor(bundle('v1.6.1', 'v1.5.0'))).toBe(true);
    expect(atOrAboveFloor(bundle('v1.5.0', 'v1.5.0'))).toBe(true);
    expect(atOrAboveFloor(bundle('v1.4.1', 'v1.5.0'))).toBe(false);
    // Text order would put v1.10.0 below v1.5.0.
    expect(atOrAboveFloor(bundle('v1.10.0', 'v1.5.0'))).toBe(true);
    expect(atOrAboveFloor(bundle('v1.5.0-rc.1', 'v1.5.0'))).toBe(false);
  });

  it('says nothing without a floor or for a revision that is no release', () => {
    expect(atOrAboveFloor(bundle('v1.6.1'))).toBeUndefined();
    expect(atOrAboveFloor(bundle('main', 'v1.5.0'))).toBeUndefined();
    expect(atOrAboveFloor(bundle('v1.4.1', 'v1.5.0'), '3f2c1a9')).toBeUndefined();
  });

  it('finds a move from at or above the floor to below it, and only that', () => {
    expect(crossesFloorDownwards(bundle('v1.4.1', 'v1.5.0'), 'v1.6.1')).toBe(true);
    expect(crossesFloorDownwards(bundle('v1.4.1', 'v1.5.0'), 'v1.5.0')).toBe(true);
    expect(crossesFloorDownwards(bundle('v1.6.1', 'v1.5.0'), 'v1.4.1')).toBe(false);
    expect(crossesFloorDownwards(bundle('v1.3.0', 'v1.5.0'), 'v1.4.1')).toBe(false);
    expect(crossesFloorDownwards(bundle('v1.6.1', 'v1.5.0'), 'v1.6.1')).toBe(false);
    expect(crossesFloorDownwards(bundle('v1.4.1', 'v1.5.0'), 'main')).toBe(false);
    expect(crossesFloorDownwards(bundle('v1.4.1'), 'v1.6.1')).toBe(false);
  });
});
