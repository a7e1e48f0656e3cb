// tools/argocd-machinery runs the Argo CD the argo-cd chart deploys (the Argo CD suite of
// apps/homelab, Layer 5): a chart bump that moves ARGOCD_APP_VERSION must move the tool's Argo CD
// with it, or the suite would check another release's code (it also compares the built tool's
// version at run time, where the tool is built).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { expect, it } from 'vitest';
import { ARGOCD_APP_VERSION } from '../src/versions.js';

const tool = join(repoRoot(), 'tools', 'argocd-machinery');

it("builds tools/argocd-machinery on Argo CD's module at the chart's appVersion, with gitops-engine pinned by tree id", () => {
  const goMod = readFileSync(join(tool, 'go.mod'), 'utf8');
  const required = /^\s*github\.com\/argoproj\/argo-cd\/v3 (\S+)$/m.exec(goMod)?.[1];
  expect(required).toBe(ARGOCD_APP_VERSION);
  const goSum = readFileSync(join(tool, 'go.sum'), 'utf8');
  expect(goSum).toContain(`github.com/argoproj/argo-cd/v3 ${ARGOCD_APP_VERSION} h1:`);
  // gitops-engine comes from the tag in git (the proxy refuses it), never from a local path
  // written into go.mod: the install script adds that replace to a staged copy.
  expect(goMod).not.toMatch(/github\.com\/argoproj\/argo-cd\/gitops-engine\s*=>/);
  expect(readFileSync(join(tool, 'gitops-engine-tree'), 'utf8').trim()).toMatch(/^[0-9a-f]{40}$/);
});
