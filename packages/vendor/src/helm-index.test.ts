import type { HelmChartPin } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { findChartInIndex, indexUrl, resolveChartUrl } from './helm-index.js';

const digest = 'a'.repeat(64);
const pin = (version: string, repository = 'https://charts.example.org/stable'): HelmChartPin => ({
  kind: 'helm-chart',
  name: 'demo',
  version,
  repository,
  licence: 'Apache-2.0',
});

const INDEX = `apiVersion: v1
entries:
  demo:
    - version: 1.10
      urls: [demo-1.10.tgz]
      digest: ${digest}
    - version: 1.1
      urls: [https://downloads.example.org/demo-1.1.tgz]
      digest: sha256:${'B'.repeat(64)}
    - version: 2.0.0
      urls: [demo-2.0.0.tgz]
    - version: 3.0.0
      urls: []
      digest: ${digest}
`;

describe('indexUrl and resolveChartUrl', () => {
  it('put index.yaml under the repository, with or without a trailing slash', () => {
    expect(indexUrl('https://helm.cilium.io')).toBe('https://helm.cilium.io/index.yaml');
    expect(indexUrl('https://charts.example.org/stable/')).toBe(
      'https://charts.example.org/stable/index.yaml',
    );
  });

  it('resolve a relative archive URL against the repository path, as Helm does', () => {
    expect(resolveChartUrl('https://charts.example.org/stable', 'demo-1.0.0.tgz')).toBe(
      'https://charts.example.org/stable/demo-1.0.0.tgz',
    );
    expect(resolveChartUrl('https://charts.example.org/stable', 'https://x.org/demo.tgz')).toBe(
      'https://x.org/demo.tgz',
    );
  });
});

describe('findChartInIndex', () => {
  it('finds a version by its text (1.10 is not 1.1) and resolves its URL', () => {
    expect(findChartInIndex(INDEX, pin('1.10'))).toEqual({
      url: 'https://charts.example.org/stable/demo-1.10.tgz',
      digest,
    });
  });

  it('accepts a sha256: prefixed digest and an absolute URL', () => {
    expect(findChartInIndex(INDEX, pin('1.1'))).toEqual({
      url: 'https://downloads.example.org/demo-1.1.tgz',
      digest: 'b'.repeat(64),
    });
  });

  it('refuses an entry without a digest or without a URL', () => {
    expect(() => findChartInIndex(INDEX, pin('2.0.0'))).toThrow(
      'https://charts.example.org/stable/index.yaml: demo 2.0.0 has no sha256 digest; refusing an unverifiable download',
    );
    expect(() => findChartInIndex(INDEX, pin('3.0.0'))).toThrow('demo 3.0.0 has no download URL');
  });

  it('names a missing version and a missing chart', () => {
    expect(() => findChartInIndex(INDEX, pin('9.9.9'))).toThrow(
      'https://charts.example.org/stable/index.yaml has no version 9.9.9 of demo (it lists 4, first: 1.10, 1.1, 2.0.0, 3.0.0)',
    );
    expect(() => findChartInIndex(INDEX, { ...pin('1.1'), name: 'other' })).toThrow(
      'https://charts.example.org/stable/index.yaml has no chart named other',
    );
  });

  it('refuses text that is not a Helm index', () => {
    expect(() => findChartInIndex('<html>login</html>', pin('1.1'))).toThrow(
      'https://charts.example.org/stable/index.yaml is not a Helm repository index (no "entries")',
    );
  });
});
