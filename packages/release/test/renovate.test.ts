// Every `renovate:` annotation the project owns (packages/*/src and the example definitions
// under examples/) is matched by a custom manager of renovate.json, which extracts exactly the
// version on the line after it. apps/homelab/platform.yaml is the user's file: what they write
// there (a comment between an annotation and its value, no annotation at all) is theirs, and
// Renovate manages whatever annotations of theirs its managers match.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SUPPORTED_TALOS } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';

interface Manager {
  readonly customType: string;
  readonly managerFilePatterns: readonly string[];
  readonly matchStrings: readonly string[];
}

const root = repoRoot();
interface PackageRule {
  readonly matchDepNames?: readonly string[];
  readonly separateMultipleMinor?: boolean;
  readonly allowedVersions?: string;
}

const config = JSON.parse(readFileSync(join(root, 'renovate.json'), 'utf8')) as {
  customManagers: Manager[];
  ignorePaths: string[];
  packageRules: PackageRule[];
};

/** The options the package rules give `depName` (later rules win, as in Renovate). */
function rulesFor(depName: string): PackageRule {
  return Object.assign(
    {},
    ...config.packageRules.filter((rule) => rule.matchDepNames?.includes(depName) ?? false),
  ) as PackageRule;
}

/**
 * Renovate's branch bucket of an update from `from` to `to` (lib/workers/repository/process/
 * lookup/bucket.ts, `getBucket`, with `separateMajorMinor` at its default, true): each bucket is
 * one pull request, to the newest release in it.
 */
function bucket(rule: PackageRule, from: string, to: string): string {
  const [fromMajor, fromMinor] = from.replace(/^v/, '').split('.').map(Number);
  const [toMajor, toMinor] = to.replace(/^v/, '').split('.').map(Number);
  if (toMajor !== fromMajor) return 'major';
  if (toMinor !== fromMinor)
    return rule.separateMultipleMinor ? `v${toMajor}.${toMinor}` : 'non-major';
  return 'non-major';
}

/** Renovate's `allowedVersions` as a `/regex/` (the form renovate.json uses). */
function allowed(rule: PackageRule, version: string): boolean {
  if (rule.allowedVersions === undefined) return true;
  const match = /^\/(.*)\/$/.exec(rule.allowedVersions);
  if (!match) throw new Error(`expected a /regex/ allowedVersions, got ${rule.allowedVersions}`);
  return new RegExp(match[1] ?? '').test(version);
}

/** Renovate's `/regex/` file patterns (globs are not used in renovate.json). */
function filePattern(pattern: string): RegExp {
  const match = /^\/(.*)\/([a-z]*)$/.exec(pattern);
  if (!match) throw new Error(`renovate.json: expected a /regex/ file pattern, got ${pattern}`);
  return new RegExp(match[1] ?? '', match[2]);
}

const managers = config.customManagers.map((manager) => ({
  files: manager.managerFilePatterns.map(filePattern),
  // Renovate runs each matchString globally over the file; JS supports `(?<name>…)` as is.
  regexes: manager.matchStrings.map((source) => new RegExp(source, 'g')),
}));

interface Extracted {
  readonly index: number;
  readonly groups: { readonly [name: string]: string | undefined };
}

function extract(path: string, text: string): Extracted[] {
  const out: Extracted[] = [];
  for (const manager of managers) {
    if (!manager.files.some((file) => file.test(path))) continue;
    for (const regex of manager.regexes) {
      for (const match of text.matchAll(regex)) {
        out.push({ index: match.index ?? 0, groups: { ...match.groups } });
      }
    }
  }
  return out;
}

function walk(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

/** `packages/*\/src/**\/*.ts` and `examples/**\/*.yaml` (never the user's apps/). */
function annotatedFiles(): string[] {
  const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const src = join(root, 'packages', entry.name, 'src');
      try {
        return walk(src, (path) => path.endsWith('.ts'));
      } catch {
        return [];
      }
    });
  const examples = walk(join(root, 'examples'), (path) => /\.ya?ml$/.test(path));
  return [...packages, ...examples]
    .map((path) => relative(root, path).split('\\').join('/'))
    .sort();
}

interface Annotation {
  readonly file: string;
  readonly line: number;
  readonly index: number;
  readonly fields: { readonly [key: string]: string };
  /** The version on the next line, read independently of renovate.json. */
  readonly version: string | undefined;
}

/** Comment lines starting with `// renovate:` or `# renovate:`, with the value below them. */
function annotations(file: string, text: string): Annotation[] {
  const out: Annotation[] = [];
  const lines = text.split('\n');
  let offset = 0;
  lines.forEach((line, i) => {
    const comment = /^(\s*)(\/\/|#)\s*renovate:(.*)$/.exec(line);
    if (comment) {
      const fields = Object.fromEntries(
        (comment[3] ?? '')
          .trim()
          .split(/\s+/)
          .map((pair) => pair.split('=') as [string, string]),
      );
      const next = lines[i + 1] ?? '';
      const version =
        comment[2] === '//'
          ? /['"]([^'"]+)['"]/.exec(next)?.[1]
          : /:\s*['"]?([^'"\s#]+)/.exec(next)?.[1];
      out.push({ file, line: i + 1, index: offset + (comment[1] ?? '').length, fields, version });
    }
    offset += line.length + 1;
  });
  return out;
}

describe('renovate.json custom managers', () => {
  it('extract datasource, depName, registryUrl and the quoted version after a TS annotation', () => {
    const text = [
      'export const A = {',
      '  // renovate: datasource=helm depName=argo-cd registryUrl=https://argoproj.github.io/argo-helm',
      "  version: '10.1.1',",
      '} as const;',
      '// renovate: datasource=github-releases depName=kubernetes-sigs/gateway-api',
      "export const GATEWAY_API_VERSION = 'v1.3.0';",
      "export const UNANNOTATED = '9.9.9';",
    ].join('\n');
    expect(extract('packages/x/src/versions.ts', text).map((e) => e.groups)).toEqual([
      expect.objectContaining({
        datasource: 'helm',
        depName: 'argo-cd',
        registryUrl: 'https://argoproj.github.io/argo-helm',
        currentValue: '10.1.1',
      }),
      expect.objectContaining({
        datasource: 'github-releases',
        depName: 'kubernetes-sigs/gateway-api',
        registryUrl: undefined,
        currentValue: 'v1.3.0',
      }),
    ]);
  });

  it('extract the value of a YAML key after a `# renovate:` comment, quoted or not', () => {
    const text = [
      'clusters:',
      '  - name: lab',
      '    # renovate: datasource=github-releases depName=siderolabs/talos',
      '    talosVersion: v1.11.6',
      '    # renovate: datasource=github-releases depName=kubernetes/kubernetes',
      '    kubernetesVersion: "1.34.1" # pinned',
    ].join('\n');
    expect(
      extract('apps/homelab/platform.yaml', text).map((e) => [
        e.groups.depName,
        e.groups.currentValue,
      ]),
    ).toEqual([
      ['siderolabs/talos', 'v1.11.6'],
      ['kubernetes/kubernetes', '1.34.1'],
    ]);
  });

  it.each([
    // talosctl upgrade-k8s: the same or the next minor only (go-kubernetes upgrade.Path).
    ['kubernetes/kubernetes', '1.34.4', ['1.35.3', '1.36.1']],
    // Talos: migrations tested between adjacent minors only.
    ['siderolabs/talos', 'v1.11.6', ['v1.12.11', 'v1.13.9']],
    // Longhorn, cert-manager, Cilium: upgrades from the previous minor only.
    ['longhorn', '1.8.1', ['1.9.2', '1.10.3', '1.11.2', '1.12.1']],
    ['cert-manager', 'v1.21.1', ['v1.22.0', 'v1.23.2']],
    ['cilium', '1.19.6', ['1.20.0', '1.21.1']],
  ])(
    'propose one pull request per minor release of %s (upgraded one minor at a time)',
    (dep, from, to) => {
      const rule = rulesFor(dep);
      expect(to.map((version) => bucket(rule, from, version))).toEqual(
        to.map((version) => `v${version.replace(/^v/, '').split('.').slice(0, 2).join('.')}`),
      );
    },
  );

  it('propose only the Talos release lines the generator writes patches for', () => {
    const rule = rulesFor('siderolabs/talos');
    const lines = Object.keys(SUPPORTED_TALOS);
    expect(lines.map((line) => allowed(rule, `v${line}.4`))).toEqual(lines.map(() => true));
    const minors = lines.map((line) => Number(line.split('.')[1]));
    const next = `v1.${Math.max(...minors) + 1}.0`;
    const older = `v1.${Math.min(...minors) - 1}.9`;
    expect([next, older, 'v2.0.0'].map((version) => allowed(rule, version))).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('leave generated trees to the generator', () => {
    expect(config.ignorePaths).toEqual(expect.arrayContaining(['charts/**', 'clusters/**']));
  });
});

describe('renovate annotations in the repository', () => {
  const found = annotatedFiles().flatMap((file) =>
    annotations(file, readFileSync(join(root, file), 'utf8')),
  );

  it('include the upstream charts, Talos and Kubernetes', () => {
    const deps = found.map((a) => `${a.fields.datasource}:${a.fields.depName}`);
    expect(deps).toEqual(
      expect.arrayContaining([
        'helm:cilium',
        'helm:argo-cd',
        'helm:longhorn',
        'helm:cert-manager',
        'github-releases:siderolabs/talos',
        'github-releases:kubernetes/kubernetes',
      ]),
    );
  });

  it('leave the Gateway API CRDs to the Cilium release that implements them', () => {
    // A bump of the bundle alone (v1.4.1 → v1.5.x, TLSRoute v1alpha2 no longer served) stops the
    // Cilium 1.19 operator (cilium/cilium#45139): the release moves only with Cilium.
    const deps = found.map((a) => a.fields.depName);
    expect(deps).not.toContain('kubernetes-sigs/gateway-api');
  });

  it("read the examples, not the user's definition", () => {
    const files = [...new Set(found.map((a) => a.file))];
    expect(files).toEqual(
      expect.arrayContaining([
        'examples/reference/platform.yaml',
        'examples/single-node/platform.yaml',
      ]),
    );
    expect(files.filter((file) => file.startsWith('apps/'))).toEqual([]);
  });

  it.each([
    ['examples/reference/platform.yaml', 6],
    ['examples/single-node/platform.yaml', 2],
  ])('pin every Talos and Kubernetes version of %s', (file, versions) => {
    const text = readFileSync(join(root, file), 'utf8');
    const versionLines = text.split('\n').filter((line) => /^\s+version: /.test(line)).length;
    const pinned = found.filter((a) => a.file === file).length;
    expect(versionLines).toBe(versions);
    expect(pinned).toBe(versionLines);
  });

  it('are each matched by a manager that extracts the version on the next line', () => {
    const unmatched: string[] = [];
    for (const annotation of found) {
      const text = readFileSync(join(root, annotation.file), 'utf8');
      const hit = extract(annotation.file, text).find((e) => e.index === annotation.index);
      const where = `${annotation.file}:${annotation.line}`;
      if (annotation.version === undefined) unmatched.push(`${where}: no version on the next line`);
      else if (hit === undefined) unmatched.push(`${where}: no manager matches`);
      else if (
        hit.groups.currentValue !== annotation.version ||
        hit.groups.depName !== annotation.fields.depName ||
        hit.groups.datasource !== annotation.fields.datasource ||
        hit.groups.registryUrl !== annotation.fields.registryUrl
      ) {
        unmatched.push(`${where}: extracted ${JSON.stringify(hit.groups)}`);
      }
    }
    expect(unmatched).toEqual([]);
    expect(found.length).toBeGreaterThanOrEqual(3);
  });
});
