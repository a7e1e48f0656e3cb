import { describe, expect, it } from 'vitest';
import { globMatch } from './exclusions.js';

describe("globMatch (Argo CD's glob.Match for argocd-cm patterns)", () => {
  it('matches a plain pattern by equality, with no wildcard read into its dots', () => {
    expect(globMatch('discovery.k8s.io', 'discovery.k8s.io')).toBe(true);
    expect(globMatch('discovery.k8s.io', 'discoveryxk8s.io')).toBe(false);
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('', 'apps')).toBe(false);
  });

  it('reads * as any run and ? as one character, the rest literally, the same on every call', () => {
    for (let call = 0; call < 2; call++) {
      expect(globMatch('*.k8s.io', 'metrics.k8s.io')).toBe(true);
      expect(globMatch('*.k8s.io', 'k8s.io')).toBe(false);
      expect(globMatch('*.k8s.io', 'metricsxk8sxio')).toBe(false);
      expect(globMatch('*', '')).toBe(true);
      expect(globMatch('v?', 'v1')).toBe(true);
      expect(globMatch('v?', 'v12')).toBe(false);
      expect(globMatch('(a|b)*', '(a|b)c')).toBe(true);
      expect(globMatch('(a|b)*', 'a')).toBe(false);
    }
  });
});
