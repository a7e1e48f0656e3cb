import { describe, expect, it } from 'vitest';
import { pendingBumps, writeChangesets } from './changesets.js';

describe('writeChangesets', () => {
  it('writes one changeset with a patch bump for every changed chart', () => {
    const files = writeChangesets([{ name: 'longhorn' }, { name: 'cilium' }]);
    expect(files).toHaveLength(1);
    expect(files[0]?.path).toMatch(/^\.changeset\/charts-[0-9a-f]{8}\.md$/);
    expect(files[0]?.content).toBe(
      '---\n"@homelab/chart-cilium": patch\n"@homelab/chart-longhorn": patch\n---\n\n' +
        'Regenerated chart content: charts/cilium, charts/longhorn.\n',
    );
  });

  it('names the file after the charts, so the same charts give the same file', () => {
    const a = writeChangesets([{ name: 'cilium' }, { name: 'longhorn' }]);
    const b = writeChangesets([{ name: 'longhorn' }, { name: 'cilium' }]);
    const c = writeChangesets([{ name: 'cilium' }]);
    expect(a[0]?.path).toBe(b[0]?.path);
    expect(c[0]?.path).not.toBe(a[0]?.path);
  });

  it('uses a given package name and summary', () => {
    const [file] = writeChangesets([{ name: 'x', packageName: '@acme/x' }], {
      summary: 'Pool moved.',
    });
    expect(file?.content).toBe('---\n"@acme/x": patch\n---\n\nPool moved.\n');
  });

  it('writes nothing when no chart changed', () => {
    expect(writeChangesets([])).toEqual([]);
  });
});

describe('pendingBumps', () => {
  it('reads the packages and the largest bump of every pending changeset', () => {
    const bumps = pendingBumps([
      { path: '.changeset/README.md', content: '---\nnot: patch\n---\n' },
      { path: '.changeset/a.md', content: '---\n"@homelab/chart-cilium": patch\n---\n\nx\n' },
      {
        path: '.changeset/b.md',
        content: "---\n'@homelab/chart-cilium': minor\n'@homelab/cli': patch\n---\n\ny\n",
      },
      { path: '.changeset/config.json', content: '{}' },
      { path: '.changeset/c.md', content: 'no frontmatter' },
    ]);
    expect([...bumps.entries()].sort()).toEqual([
      ['@homelab/chart-cilium', 'minor'],
      ['@homelab/cli', 'patch'],
    ]);
  });

  it('reads back what writeChangesets writes', () => {
    const files = writeChangesets([{ name: 'cilium' }]);
    expect([...pendingBumps(files).entries()]).toEqual([['@homelab/chart-cilium', 'patch']]);
  });
});
