// The Gateway API release is a fact of each Cilium release (the one it implements), not a pin
// that moves on its own: Cilium before 1.20 needs TLSRoute `v1alpha2` served, which the Gateway
// API v1.5 bundles no longer serve (TLSRoute is `v1` in the standard channel there), and its
// operator then fails to start ("no matches for kind TLSRoute in version
// gateway.networking.k8s.io/v1alpha2", cilium/cilium#45139 on 1.19.2, #44920 on 1.19.1).
// Cilium 1.20 moved to TLSRoute v1 and needs v1.5.1 or later (its release note, cilium#45251).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import {
  CILIUM_CHART_VERSION,
  CILIUM_RELEASES,
  CILIUM_VERSIONS,
  GATEWAY_API_VERSION,
  gatewayApiVersionFor,
} from '../src/versions.js';

function minorOf(tag: string): [number, number] {
  const match = /^v(\d+)\.(\d+)\.\d+$/.exec(tag);
  if (!match) throw new Error(`not a Gateway API tag: ${tag}`);
  return [Number(match[1]), Number(match[2])];
}

describe('the Gateway API release of each Cilium release', () => {
  it('is the one each release implements', () => {
    expect(Object.fromEntries(CILIUM_VERSIONS.map((v) => [v, gatewayApiVersionFor(v)]))).toEqual({
      '1.18.12': 'v1.3.0',
      '1.19.6': 'v1.4.1',
      '1.20.0': 'v1.6.1',
    });
    expect(GATEWAY_API_VERSION).toBe(gatewayApiVersionFor(CILIUM_CHART_VERSION));
  });

  it('serves TLSRoute v1alpha2 for Cilium before 1.20 (before Gateway API v1.5), v1 from 1.20', () => {
    for (const version of CILIUM_VERSIONS) {
      const [major, minor] = minorOf(CILIUM_RELEASES[version].gatewayApiVersion);
      const ciliumMinor = Number(version.split('.')[1]);
      const tlsRouteV1 = major > 1 || minor >= 5;
      expect({ version, tlsRouteV1 }).toEqual({ version, tlsRouteV1: ciliumMinor >= 20 });
    }
  });

  it('is not a Renovate pin of its own (a bump alone would stop the Cilium 1.19 operator)', () => {
    const text = readFileSync(join(repoRoot(), 'packages/cilium/src/versions.ts'), 'utf8');
    expect(text).not.toMatch(/renovate:.*kubernetes-sigs\/gateway-api/);
  });
});
