import { describe, expect, it } from 'vitest';
import { chartArchivePath, vendorPath } from './upstream.js';

describe('vendorPath', () => {
  it('puts a chart archive where the mirror has it: charts/<name>/<version>/<name>-<version>.tgz', () => {
    expect(
      vendorPath({
        kind: 'helm-chart',
        name: 'cert-manager',
        version: 'v1.21.1',
        repository: 'https://charts.jetstack.io',
        licence: 'Apache-2.0',
      }),
    ).toBe('charts/cert-manager/v1.21.1/cert-manager-v1.21.1.tgz');
    expect(chartArchivePath('cilium', '1.18.12')).toBe('charts/cilium/1.18.12/cilium-1.18.12.tgz');
  });

  it('keeps a file at the path its pin names', () => {
    expect(
      vendorPath({
        kind: 'file',
        path: 'upstream/talos/v1.12.11/config.schema.json',
        url: 'https://raw.githubusercontent.com/siderolabs/talos/v1.12.11/pkg/machinery/config/schemas/config.schema.json',
        version: 'v1.12.11',
        licence: 'MPL-2.0',
      }),
    ).toBe('upstream/talos/v1.12.11/config.schema.json');
  });
});
