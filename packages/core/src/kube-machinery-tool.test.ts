// tools/kube-machinery runs the API server of the Kubernetes release whose rules the platform's
// own Pod Security port applies (the Helm suite's API server validation, Layer 5): moving one
// without the other would check objects against two different releases.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { POD_SECURITY_LATEST_VERSION } from './pod-security.js';
import { repoRoot } from './testing.js';

it("builds tools/kube-machinery on the Kubernetes minor of the Pod Security port, with Kubernetes' staging modules at the same release", () => {
  const goMod = readFileSync(join(repoRoot(), 'tools', 'kube-machinery', 'go.mod'), 'utf8');
  const version = /^\s*k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1];
  expect(version).toMatch(/^v1\.\d+\.\d+$/);
  const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(version as string) ?? [];
  expect(`v1.${minor}`).toBe(POD_SECURITY_LATEST_VERSION);
  // Kubernetes' go.mod points its staging modules at ./staging: the tool replaces each with the
  // tag of the same release (v0.<minor>.<patch>), never a folder.
  const replaced = [...goMod.matchAll(/^\s*(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
  expect(replaced.length).toBeGreaterThanOrEqual(30);
  for (const [, module, target, tag] of replaced) {
    expect(target, module).toBe(module);
    expect(tag, module).toBe(`v0.${minor}.${patch}`);
  }
  expect(goMod).not.toMatch(/=> \.\//);
});
