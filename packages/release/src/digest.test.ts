import { describe, expect, it } from 'vitest';
import { chartDigest } from './digest.js';

const chart = new Map<string, string>([
  ['Chart.yaml', 'apiVersion: v2\nname: cilium\nversion: 1.2.0\n'],
  ['values.yaml', 'cilium:\n  ipam:\n    mode: kubernetes\n'],
  ['templates/manifests.yaml', '{{- range $name, $obj := .Values.manifests }}\n'],
]);

describe('chartDigest', () => {
  // Checked by hand: printf of the framed bytes (path NUL length NUL content, sorted) | sha256sum.
  it('is a fixed sha256 for fixed content (the same on every machine)', () => {
    expect(chartDigest(chart)).toBe(
      'sha256:2782be464def6ba9dbc5c604b65b97cf77323bea83dd64650cc4ef2c289632d7',
    );
  });

  it('does not depend on the order the files are given in, nor on their container', () => {
    const reversed = [...chart.entries()].reverse().map(([path, content]) => ({ path, content }));
    expect(chartDigest(reversed)).toBe(chartDigest(chart));
  });

  it('treats text and its UTF-8 bytes alike', () => {
    const bytes = new Map(
      [...chart.entries()].map(([path, text]) => [path, new TextEncoder().encode(text)] as const),
    );
    expect(chartDigest(bytes)).toBe(chartDigest(chart));
  });

  it('ignores package.json, CHANGELOG.md and node_modules/', () => {
    const withOwned = new Map(chart);
    withOwned.set('package.json', '{"name":"@homelab/chart-cilium","version":"1.2.0"}\n');
    withOwned.set('CHANGELOG.md', '# @homelab/chart-cilium\n');
    withOwned.set('node_modules/x/index.js', 'x');
    expect(chartDigest(withOwned)).toBe(chartDigest(chart));
  });

  it("leaves out what the chart's .helmignore keeps out of the archive, and only that", () => {
    // Given the chart with the generated .helmignore
    const ignoring = new Map(chart);
    ignoring.set('.helmignore', '# generated\npackage.json\n*.orig\n.DS_Store\n');
    const digest = chartDigest(ignoring);
    // When an editor leaves files the .helmignore ignores (and Helm's own templates/.?* rule)
    const withJunk = new Map(ignoring);
    withJunk.set('values.yaml.orig', 'old values\n');
    withJunk.set('.DS_Store', 'finder');
    withJunk.set('templates/.manifests.yaml.swp', 'swap');
    // Then the digest does not move; a file that would be packed moves it
    expect(chartDigest(withJunk)).toBe(digest);
    withJunk.set('extra.txt', 'hi\n');
    expect(chartDigest(withJunk)).not.toBe(digest);
  });

  it('changes when one byte of a value changes', () => {
    const changed = new Map(chart);
    changed.set('values.yaml', 'cilium:\n  ipam:\n    mode: kubernetez\n');
    expect(chartDigest(changed)).not.toBe(chartDigest(chart));
  });

  it('changes when content moves from one file to another', () => {
    const a = new Map([
      ['a', 'xy'],
      ['b', ''],
    ]);
    const b = new Map([
      ['a', 'x'],
      ['b', 'y'],
    ]);
    expect(chartDigest(a)).not.toBe(chartDigest(b));
  });

  it('changes when a file is renamed', () => {
    const renamed = new Map(chart);
    renamed.delete('values.yaml');
    renamed.set('values.yml', chart.get('values.yaml') ?? '');
    expect(chartDigest(renamed)).not.toBe(chartDigest(chart));
  });
});
