// tools/kube-machinery runs the API server of each Kubernetes release it has a module for
// (versions/<tag>), a cluster checked by the build of its own minor: one build of every minor a
// definition may put a cluster on (1.30 to 1.36 with the Talos and Cilium releases the platform
// supports), so that no cluster goes unchecked. One of them is the release whose rules the
// platform's own Pod Security port applies (the Helm suite's API server validation, Layer 5):
// moving one without the other would check objects against two releases.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { POD_SECURITY_LATEST_VERSION } from './pod-security.js';
import { SUPPORTED_TALOS } from './semantic.js';
import { repoRoot } from './testing.js';

const versions = join(repoRoot(), 'tools', 'kube-machinery', 'versions');

it("builds tools/kube-machinery once per Kubernetes minor, one of them the Pod Security port's, each with Kubernetes' staging modules at its own release", () => {
  const tags = readdirSync(versions);
  expect(tags.length).toBeGreaterThan(0);
  const minors = new Set<string>();
  for (const tag of tags) {
    const goMod = readFileSync(join(versions, tag, 'go.mod'), 'utf8');
    const version = /^\s*k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1];
    expect(version, tag).toBe(tag);
    const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(tag) ?? [];
    expect(minor, tag).toBeDefined();
    expect(minors.has(minor as string), `two builds of 1.${minor}`).toBe(false);
    minors.add(minor as string);
    // Kubernetes' go.mod points its staging modules at ./staging: the tool replaces each with the
    // tag of the same release (v0.<minor>.<patch>), never a folder. A module the Go module proxy
    // does not serve at that patch may take another patch of the same minor, named in go.mod's
    // comments.
    const comments = goMod
      .split('\n')
      .filter((line) => line.trimStart().startsWith('//'))
      .join('\n');
    const replaced = [...goMod.matchAll(/^\s*(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
    expect(replaced.length, tag).toBeGreaterThanOrEqual(30);
    for (const [, module, target, replacement] of replaced) {
      expect(target, module).toBe(module);
      if (replacement === `v0.${minor}.${patch}`) continue;
      expect(replacement, `${tag} ${module}`).toMatch(new RegExp(`^v0\\.${minor}\\.\\d+$`));
      expect(comments, `${tag}: ${module} at ${replacement} without a word why`).toContain(
        (module as string).replace(/^k8s\.io\//, ''),
      );
    }
    expect(goMod).not.toMatch(/=> \.\//);
  }
  expect([...minors].map((minor) => `v1.${minor}`)).toContain(POD_SECURITY_LATEST_VERSION);
});

it('has a build of every Kubernetes minor a cluster may run: one a supported Talos release runs and a supported Cilium release is tested on', () => {
  // Cilium's ranges are in @homelab/cilium (CILIUM_RELEASES' `kubernetes`), which @homelab/core
  // does not depend on: read from its source.
  const cilium = readFileSync(join(repoRoot(), 'packages', 'cilium', 'src', 'versions.ts'), 'utf8');
  const ciliumRanges = [...cilium.matchAll(/^\s*kubernetes: \[(\d+), (\d+)\],$/gm)].map(
    ([, low, high]) => [Number(low), Number(high)] as const,
  );
  expect(ciliumRanges.length).toBeGreaterThan(0);
  const runs = (ranges: readonly (readonly [number, number])[], minor: number) =>
    ranges.some(([low, high]) => low <= minor && minor <= high);
  const talosRanges = Object.values(SUPPORTED_TALOS).map(({ kubernetes }) => kubernetes);
  const lowest = Math.min(...talosRanges.map(([low]) => low));
  const highest = Math.max(...talosRanges.map(([, high]) => high));
  const allowed: string[] = [];
  for (let minor = lowest; minor <= highest; minor++) {
    if (runs(talosRanges, minor) && runs(ciliumRanges, minor)) allowed.push(`v1.${minor}`);
  }
  expect(allowed).toContain(POD_SECURITY_LATEST_VERSION);
  const built = readdirSync(versions)
    .map((tag) => /^(v1\.\d+)\./.exec(tag)?.[1])
    .sort((a, b) => (a ?? '').localeCompare(b ?? '', 'en', { numeric: true }));
  expect(built).toEqual(allowed);
});
