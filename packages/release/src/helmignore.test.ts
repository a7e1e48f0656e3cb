import { chartFiles } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { globToRegExp, isIgnored, isPackaged, parseHelmignore } from './helmignore.js';

function kept(helmignore: string, paths: string[]): string[] {
  const rules = parseHelmignore(helmignore);
  return paths.filter((path) => isPackaged(rules, path));
}

describe('.helmignore rules (Helm pkg/ignore)', () => {
  it('skips comments and blank lines, and trims spaces', () => {
    expect(kept('# package.json\n\n   values.yaml   \n', ['package.json', 'values.yaml'])).toEqual([
      'package.json',
    ]);
  });

  it('matches a rule without a slash against the base name at any depth', () => {
    expect(kept('*.md\n', ['README.md', 'docs/x.md', 'docs/x.mdx', 'values.yaml'])).toEqual([
      'docs/x.mdx',
      'values.yaml',
    ]);
  });

  it('matches a rule with a slash against the whole path, `*` not crossing `/`', () => {
    expect(kept('templates/*.txt\n', ['templates/a.txt', 'templates/sub/a.txt', 'a.txt'])).toEqual([
      'templates/sub/a.txt',
      'a.txt',
    ]);
  });

  it('anchors a rule with a leading slash to the chart root', () => {
    expect(kept('/CHANGELOG.md\n', ['CHANGELOG.md', 'docs/CHANGELOG.md'])).toEqual([
      'docs/CHANGELOG.md',
    ]);
  });

  it('applies a trailing-slash rule to directories only, skipping everything below them', () => {
    expect(
      kept('node_modules/\n', ['node_modules/x/index.js', 'node_modules', 'a/node_modules/y']),
    ).toEqual(['node_modules']);
  });

  it('supports ?, character classes, ranges and ^ negation', () => {
    expect(
      kept('a[b-d].txt\nx?.yaml\n[^v]*.json\n', [
        'ab.txt',
        'ae.txt',
        'x1.yaml',
        'x12.yaml',
        'values.schema.json',
        'other.json',
      ]),
    ).toEqual(['ae.txt', 'x12.yaml', 'values.schema.json']);
  });

  // The table of helm's own pkg/ignore TestIgnore (names in its testdata: cargo/ and mast/ are
  // directories, the rest files).
  it.each([
    ['helm.txt', 'helm.txt', true],
    ['helm.*', 'helm.txt', true],
    ['helm.*', 'rudder.txt', false],
    ['*.txt', 'tiller.txt', true],
    ['*.txt', 'cargo/a.txt', true],
    ['cargo/*.txt', 'cargo/a.txt', true],
    ['cargo/*.*', 'cargo/a.txt', true],
    ['cargo/*.txt', 'mast/a.txt', false],
    ['ru[c-e]?er.txt', 'rudder.txt', true],
    ['templates/.?*', 'templates/.dotfile', true],
    ['.*', '.', false],
    ['.*', './', false],
    ['.*', '.joonix', true],
    ['.*', 'helm.txt', false],
    ['.*', '', false],
    ['cargo/', 'cargo', true],
    ['cargo/', 'cargo/', true],
    ['cargo/', 'mast/', false],
    ['helm.txt/', 'helm.txt', false],
    ['!helm.txt', 'helm.txt', false],
    ['!helm.txt', 'tiller.txt', true],
    ['!*.txt', 'cargo', true],
    ['!cargo/', 'mast/', true],
    ['/a.txt', 'a.txt', true],
    ['/a.txt', 'cargo/a.txt', false],
    ['/cargo/a.txt', 'cargo/a.txt', true],
  ] as const)('helm: rule %s on %s ignores: %s', (rule, name, expected) => {
    const rules = parseHelmignore(rule).filter((r) => r.raw === rule);
    const isDir = ['cargo', 'cargo/', 'mast/', '.', './', ''].includes(name);
    expect(isIgnored(rules, name, isDir)).toBe(expected);
  });

  it('keeps Helm’s negation: a `!rule` ignores what it does not match, the rest goes on', () => {
    // Helm's docs suggest `!Chart.yaml`, `!values.yaml`, `*` keeps both files; its code ignores a
    // path at the first negated rule that does not match it, and lets a match fall through to the
    // rules below, so `*` still ignores it.
    expect(kept('!Chart.yaml\n!values.yaml\n*\n', ['Chart.yaml', 'values.yaml'])).toEqual([]);
    expect(kept('!*.yaml\n', ['Chart.yaml', 'values.yaml', 'README.md'])).toEqual([
      'Chart.yaml',
      'values.yaml',
    ]);
  });

  it('ignores dot files in templates/ by default', () => {
    expect(kept('', ['templates/.hidden', 'templates/manifests.yaml', '.helmignore'])).toEqual([
      'templates/manifests.yaml',
      '.helmignore',
    ]);
  });

  it('refuses ** and malformed globs, naming the line', () => {
    expect(() => parseHelmignore('ok\n**/x\n')).toThrow(/line 2: "\*\*\/x": double-star/);
    expect(() => parseHelmignore('[abc\n')).toThrow(/line 1: "\[abc" is not a valid glob/);
    expect(globToRegExp('[]a]')).toBeUndefined();
    expect(globToRegExp('a\\')).toBeUndefined();
    expect(globToRegExp('[z-a]')).toBeUndefined();
  });

  it('treats regex metacharacters and escapes literally', () => {
    expect(globToRegExp('a.b(c)+')?.test('a.b(c)+')).toBe(true);
    expect(globToRegExp('a.b')?.test('axb')).toBe(false);
    expect(globToRegExp('\\*')?.test('*')).toBe(true);
    expect(globToRegExp('\\*')?.test('x')).toBe(false);
  });
});

describe('the .helmignore @homelab/core generates', () => {
  const helmignore = (): string => {
    const { files } = chartFiles(
      {
        name: 'demo',
        description: 'Demo',
        appVersion: '1.0.0',
        dependency: { name: 'up', version: '1.2.3', repository: 'https://charts.example.com' },
        values: {},
        environments: {},
        clusters: {},
        readme: { summary: 'Demo.' },
      },
      '0.1.0',
    );
    const file = files.find((candidate) => candidate.path === 'charts/demo/.helmignore');
    if (file === undefined) throw new Error('no .helmignore');
    return file.content;
  };

  it('packages the dependency archive and Chart.lock that `helm dependency build` adds', () => {
    expect(
      kept(helmignore(), ['charts/up-1.2.3.tgz', 'Chart.lock', 'Chart.yaml', 'values.yaml']),
    ).toEqual(['charts/up-1.2.3.tgz', 'Chart.lock', 'Chart.yaml', 'values.yaml']);
  });

  it('leaves out what changesets and pnpm own', () => {
    expect(kept(helmignore(), ['package.json', 'CHANGELOG.md', 'node_modules/x/index.js'])).toEqual(
      [],
    );
  });
});
