// Cilium's shortening of generated names, against the values its own Go code
// (pkg/shortener/shortener.go of v1.19.6, run with `go run`) printed for the same names.
import { describe, expect, it } from 'vitest';
import { shortenK8sResourceName } from '../src/shortener.js';

describe('shortenK8sResourceName', () => {
  it('keeps a name of up to 63 characters', () => {
    expect(shortenK8sResourceName('cilium-gateway-platform')).toBe('cilium-gateway-platform');
    const longest = `cilium-gateway-a${'12345678901234567890123456789012345678901234567'}`;
    expect(longest.length).toBe(63);
    expect(shortenK8sResourceName(longest)).toBe(longest);
  });

  it("cuts a longer one to 52 characters, a dash and ten of its hash in kubectl's encoding", () => {
    expect(
      shortenK8sResourceName(
        `cilium-gateway-a${'123456789012345678901234567890123456789012345678'}`,
      ),
    ).toBe('cilium-gateway-a123456789012345678901234567890123456-6h58gb279h');
    expect(
      shortenK8sResourceName(
        'cilium-gateway-a-very-long-gateway-name-for-the-homelab-platform-in-the-lab',
      ),
    ).toBe('cilium-gateway-a-very-long-gateway-name-for-the-home-4fc7dtmgg5');
    expect(
      shortenK8sResourceName(
        'a-very-long-gateway-name-for-the-homelab-platform-in-the-lab-of-mine',
      ),
    ).toBe('a-very-long-gateway-name-for-the-homelab-platform-in-h9mff27bm9');
  });
});
