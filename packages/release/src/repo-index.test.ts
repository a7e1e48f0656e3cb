import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildIndex, rfc3339 } from './repo-index.js';

const T1 = 1_700_000_000; // 2023-11-14T22:13:20Z
const T2 = 1_710_000_000; // 2024-03-09T16:00:00Z

function metadata(version: string, name = 'cilium') {
  return {
    apiVersion: 'v2',
    name,
    version,
    appVersion: '1.18.12',
    description: 'Cilium for the platform',
    type: 'application',
    dependencies: [{ name: 'cilium', version: '1.18.12', repository: 'https://helm.cilium.io' }],
  };
}

type Index = {
  apiVersion: string;
  generated: string;
  entries: {
    [chart: string]: { version: string; digest: string; created: string; urls: string[] }[];
  };
};

describe('buildIndex', () => {
  it('writes a Helm repository index with the Chart.yaml fields, digest, url and times', () => {
    const text = buildIndex(undefined, [{ metadata: metadata('1.2.0'), digest: 'ab12' }], T1);
    expect(text).toBe(
      [
        'apiVersion: v1',
        'entries:',
        '  cilium:',
        '    - apiVersion: v2',
        '      appVersion: 1.18.12',
        '      created: 2023-11-14T22:13:20Z',
        '      dependencies:',
        '        - name: cilium',
        '          repository: https://helm.cilium.io',
        '          version: 1.18.12',
        '      description: Cilium for the platform',
        '      digest: ab12',
        '      name: cilium',
        '      type: application',
        '      urls:',
        '        - cilium-1.2.0.tgz',
        '      version: 1.2.0',
        'generated: 2023-11-14T22:13:20Z',
        '',
      ].join('\n'),
    );
  });

  it('merges with an existing index: other versions and charts stay, newest version first', () => {
    const first = buildIndex(
      undefined,
      [
        { metadata: metadata('1.2.0'), digest: 'd120' },
        { metadata: metadata('1.10.0'), digest: 'd1100' },
        { metadata: metadata('0.1.0', 'longhorn'), digest: 'dl' },
      ],
      T1,
    );
    const merged = parse(
      buildIndex(first, [{ metadata: metadata('1.9.0'), digest: 'd190' }], T2),
    ) as Index;
    expect(merged.entries.cilium?.map((e) => [e.version, e.digest, e.created])).toEqual([
      ['1.10.0', 'd1100', '2023-11-14T22:13:20Z'],
      ['1.9.0', 'd190', '2024-03-09T16:00:00Z'],
      ['1.2.0', 'd120', '2023-11-14T22:13:20Z'],
    ]);
    expect(merged.entries.longhorn?.map((e) => e.version)).toEqual(['0.1.0']);
    expect(merged.generated).toBe('2024-03-09T16:00:00Z');
  });

  it('refuses another archive for a version the index already lists: a released version never changes', () => {
    const first = buildIndex(undefined, [{ metadata: metadata('1.2.0'), digest: 'old' }], T1);
    expect(() => buildIndex(first, [{ metadata: metadata('1.2.0'), digest: 'new' }], T2)).toThrow(
      'index.yaml already lists cilium 1.2.0 with another archive (digest old, now new): a released version never changes. Its chart content is the one recorded for the version, so either that record was rewritten for other content or the bytes packed with it moved (a dependency archive vendor/lock.json locks afresh, another packer); both need a new version (add a changeset, pnpm version-packages)',
    );
  });

  it('names the existing index by its path when it is no YAML or no Helm index', () => {
    const input = [{ metadata: metadata('1.2.0'), digest: 'x' }];
    expect(() => buildIndex('entries: [\n', input, T1, '/r/release/index.yaml')).toThrow(
      /^the existing \/r\/release\/index\.yaml is not valid YAML \(.+[^:]\): a Helm repository index is expected there; restore it or move it away$/,
    );
    expect(() => buildIndex('a: 1\n', input, T1, '/r/release/index.yaml')).toThrow(
      'the existing /r/release/index.yaml is not a Helm repository index (apiVersion v1)',
    );
  });

  it('keeps the first created time of an archive released again with the same digest', () => {
    const first = buildIndex(undefined, [{ metadata: metadata('1.2.0'), digest: 'same' }], T1);
    const again = parse(
      buildIndex(first, [{ metadata: metadata('1.2.0'), digest: 'same' }], T2),
    ) as Index;
    expect(again.entries.cilium?.[0]?.created).toBe('2023-11-14T22:13:20Z');
  });

  it('is the same text for the same input', () => {
    const input = [{ metadata: metadata('1.2.0'), digest: 'x' }];
    expect(buildIndex(undefined, input, T1)).toBe(buildIndex(undefined, input, T1));
  });

  it('refuses an existing file that is not a Helm index', () => {
    expect(() => buildIndex('apiVersion: v2\n', [], T1)).toThrow(/not a Helm repository index/);
    expect(() => buildIndex('entries: [\n', [], T1)).toThrow(/not valid YAML/);
  });

  it('formats times as RFC 3339 in UTC', () => {
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00Z');
  });
});
