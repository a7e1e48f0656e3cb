import type { UpstreamPin } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { pinIssues } from './validate.js';

const file = (path: string): UpstreamPin => ({
  kind: 'file',
  path,
  url: 'https://example.org/f',
  version: 'v1',
  licence: 'MIT',
});

describe('pinIssues', () => {
  it('refuses unsafe names, non-HTTP repositories and duplicate or nested files', () => {
    const pins: UpstreamPin[] = [
      {
        kind: 'helm-chart',
        name: '../x',
        version: '1.0.0',
        repository: 'oci://ghcr.io/x',
        licence: 'MIT',
      },
      file('lock.json'),
      file('crds/a.yaml'),
      file('crds/a.yaml'),
      file('crds/a.yaml/b.yaml'),
      file('/abs/path'),
    ];
    expect(pinIssues(pins).map((i) => `${i.output} ${i.code}: ${i.message}`)).toEqual([
      'pins[0].name pin-invalid: is not a chart name',
      'pins[0].repository pin-invalid: is not an HTTP(S) Helm repository URL',
      'pins[1].path pin-invalid: is not a path inside vendor/',
      'pins[3] pin-duplicate: claims the same vendor file as pins[2]',
      'pins[5].path pin-invalid: is not a path inside vendor/',
      'pins[4] pin-duplicate: lies inside the file of pins[2] (crds/a.yaml)',
    ]);
  });
});
