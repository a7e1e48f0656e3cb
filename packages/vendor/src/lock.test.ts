import type { UpstreamPin } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { lockEntry, parseLock, pinDifferences, serializeLock } from './lock.js';

const chart: UpstreamPin = {
  kind: 'helm-chart',
  name: 'sm-operator',
  version: '2.0.3',
  repository: 'https://charts.bitwarden.com',
  licence: 'AGPL-3.0',
};
const file: UpstreamPin = {
  kind: 'file',
  path: 'crds/gateway-api/v1.3.0/experimental-tlsroutes.yaml',
  url: 'https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.3.0/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml',
  version: 'v1.3.0',
  licence: 'Apache-2.0',
};

describe('serializeLock', () => {
  const a = lockEntry(
    chart,
    '1'.repeat(64),
    'download',
    'https://example.org/sm-operator-2.0.3.tgz',
  );
  const b = lockEntry(file, '2'.repeat(64), 'mirror');

  it('sorts by path, orders keys, marks copyleft and ends with a newline', () => {
    const text = serializeLock([a, b]);
    expect(serializeLock([b, a])).toBe(text);
    expect(text.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(text);
    expect(parsed.artifacts.map((x: { path: string }) => x.path)).toEqual([
      'charts/sm-operator/2.0.3/sm-operator-2.0.3.tgz',
      'crds/gateway-api/v1.3.0/experimental-tlsroutes.yaml',
    ]);
    expect(Object.keys(parsed.artifacts[0])).toEqual([
      'path',
      'kind',
      'name',
      'version',
      'source',
      'url',
      'sha256',
      'licence',
      'copyleft',
      'via',
    ]);
    expect(parsed.artifacts.map((x: { copyleft: boolean }) => x.copyleft)).toEqual([true, false]);
  });

  it('parses back to the same artifacts', () => {
    expect(parseLock(serializeLock([b, a]))).toEqual({
      lock: { lockfileVersion: 1, artifacts: [a, b] },
      issues: [],
    });
  });
});

describe('parseLock', () => {
  it('reports malformed entries with their index and fields', () => {
    const text = JSON.stringify({
      lockfileVersion: 1,
      artifacts: [
        {
          path: '../../etc/passwd',
          kind: 'file',
          version: 'v1',
          source: 'x',
          sha256: 'zz',
          licence: 'MIT',
          copyleft: false,
          via: 'mirror',
        },
      ],
    });
    expect(parseLock(text).issues.map((i) => [i.output, i.message])).toEqual([
      ['lock.json: artifacts[0]', 'has a missing or malformed path, sha256'],
    ]);
  });

  it('refuses another lockfile version and duplicate paths', () => {
    expect(parseLock('{"lockfileVersion": 2, "artifacts": []}').issues[0]?.message).toBe(
      'has no lockfileVersion 1',
    );
    const entry = lockEntry(file, '3'.repeat(64), 'mirror');
    const twice = JSON.stringify({ lockfileVersion: 1, artifacts: [entry, entry] });
    expect(parseLock(twice).issues.map((i) => i.message)).toEqual([
      'lists crds/gateway-api/v1.3.0/experimental-tlsroutes.yaml twice',
    ]);
  });
});

describe('pinDifferences', () => {
  it('is empty for the entry of the same pin, whatever the digest or origin', () => {
    expect(pinDifferences(lockEntry(chart, '4'.repeat(64), 'mirror'), chart)).toEqual([]);
  });

  it('names what changed', () => {
    const entry = lockEntry(chart, '4'.repeat(64), 'mirror');
    expect(
      pinDifferences(entry, { ...chart, version: '2.0.4', repository: 'https://x.org' }),
    ).toEqual([
      'version "2.0.3" (pinned: "2.0.4")',
      'source "https://charts.bitwarden.com" (pinned: "https://x.org")',
    ]);
  });
});
