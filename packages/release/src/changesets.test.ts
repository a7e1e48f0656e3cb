import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesetProblems, pendingBumps, writeChangesets } from './changesets.js';
import { readWorkspacePackageNames } from './repo.js';

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

describe('changesetProblems', () => {
  const charts = new Set(['@homelab/chart-cilium', '@homelab/chart-coredns']);
  const file = (name: string, content: string) => ({ path: `.changeset/${name}.md`, content });

  it('passes valid changesets, an empty one, the README, and generator packages', () => {
    expect(
      changesetProblems(
        [
          file('a', '---\n"@homelab/chart-cilium": patch\n"@homelab/core": minor\n---\n\nx\n'),
          file('b', '---\n"@homelab/chart-coredns": none\n---\n'),
          file('c', '---\n---\n\nnothing\n'),
          // leading blank lines and an indented closing line, as @changesets/parse takes them
          file('d', '\n\n---\n"@homelab/chart-cilium": minor\n  ---\n\nx\n'),
          { path: '.changeset/README.md', content: '# Changesets\n' },
        ],
        charts,
      ),
    ).toEqual([]);
  });

  it('refuses what changeset version would: no front matter, not YAML, an unknown bump, a chart the workspace lacks', () => {
    const issues = changesetProblems(
      [
        file('none', 'no front matter\n'),
        file('yaml', '---\n"@homelab/chart-cilium: patch\n---\n'),
        file('list', '---\n- a\n---\n'),
        file('huge', '---\n"@homelab/chart-cilium": huge\n---\n'),
        file('typo', '---\n"@homelab/chart-cillium": patch\n---\n'),
      ],
      charts,
    );
    expect(issues.map((issue) => [issue.severity, issue.code, issue.output])).toEqual([
      ['error', 'changeset-invalid', '.changeset/none.md'],
      ['error', 'changeset-invalid', '.changeset/yaml.md'],
      ['error', 'changeset-invalid', '.changeset/list.md'],
      ['error', 'changeset-invalid', '.changeset/huge.md'],
      ['error', 'changeset-invalid', '.changeset/typo.md'],
    ]);
    expect(issues[3]?.message).toBe(
      'bumps @homelab/chart-cilium by "huge": changeset version knows major, minor, patch and none',
    );
    expect(issues[4]?.message).toBe(
      'names @homelab/chart-cillium, which is no chart of the workspace: changeset version refuses the whole run',
    );
  });
});

describe('changesetProblems with the workspace packages known', () => {
  const charts = new Set(['@homelab/chart-cilium']);
  const others = new Set(['@homelab/core', '@homelab/cli', '@homelab/cilium']);
  const file = (name: string, content: string) => ({ path: `.changeset/${name}.md`, content });

  it('refuses a misspelt package that is no chart, naming the nearest one with its bump', () => {
    const issues = changesetProblems(
      [
        file('ok', '---\n"@homelab/core": minor\n"@homelab/chart-cilium": patch\n---\n'),
        file('typo', '---\n"@homelab/cor": minor\n---\n'),
        file('far', '---\n"left-pad": patch\n---\n'),
      ],
      charts,
      others,
    );
    expect(
      issues.map((issue) => [issue.code, issue.output, issue.message, issue.expected]),
    ).toEqual([
      [
        'changeset-invalid',
        '.changeset/typo.md',
        'names @homelab/cor, which is no package of the workspace (did you mean @homelab/core?): changeset version refuses the whole run',
        '"@homelab/core": minor',
      ],
      [
        'changeset-invalid',
        '.changeset/far.md',
        'names left-pad, which is no package of the workspace: changeset version refuses the whole run',
        'a package the workspace has (@homelab/cilium, @homelab/cli, @homelab/core)',
      ],
    ]);
  });

  it('leaves packages that are no chart alone where the workspace is unknown', () => {
    expect(changesetProblems([file('typo', '---\n"@homelab/cor": minor\n---\n')], charts)).toEqual(
      [],
    );
  });
});

describe('readWorkspacePackageNames', () => {
  const write = (path: string, content: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  };

  it('reads the packages pnpm-workspace.yaml names, without the root package', () => {
    const root = mkdtempSync(join(tmpdir(), 'homelab-workspace-'));
    try {
      write(join(root, 'package.json'), '{"name":"root"}');
      write(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - ./apps/one\n');
      write(join(root, 'packages/a/package.json'), '{"name":"@x/a"}');
      write(join(root, 'packages/b/package.json'), '{"name":"@x/b"}');
      write(join(root, 'packages/c/README.md'), 'no package');
      write(join(root, 'apps/one/package.json'), '{"name":"one"}');
      write(join(root, 'apps/two/package.json'), '{"name":"two"}');
      expect([...(readWorkspacePackageNames(root) ?? [])].sort()).toEqual(['@x/a', '@x/b', 'one']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('is undefined without the file or with a pattern it does not read', () => {
    const root = mkdtempSync(join(tmpdir(), 'homelab-workspace-'));
    try {
      expect(readWorkspacePackageNames(root)).toBeUndefined();
      write(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/**\n');
      expect(readWorkspacePackageNames(root)).toBeUndefined();
      write(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - "!packages/x"\n');
      expect(readWorkspacePackageNames(root)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
