// tools/cilium-machinery runs the Cilium the platform deploys by default (the Helm suite's policy
// parsing, Layer 5): a bump of the default chart that moves its appVersion must move the tool's
// Cilium with it, or the suite would parse with another release's code (it also compares the
// built tool's version with each cluster's rendered agent image at run time).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { expect, it } from 'vitest';
import { CILIUM_CHART_VERSION, CILIUM_RELEASES } from '../src/versions.js';

const tool = join(repoRoot(), 'tools', 'cilium-machinery');

it("builds tools/cilium-machinery on Cilium's module at the default chart's appVersion, with Cilium's own replace directives", () => {
  const goMod = readFileSync(join(tool, 'go.mod'), 'utf8');
  const appVersion = CILIUM_RELEASES[CILIUM_CHART_VERSION].appVersion;
  const required = /^\s*github\.com\/cilium\/cilium (\S+)$/m.exec(goMod)?.[1];
  expect(required).toBe(`v${appVersion}`);
  const goSum = readFileSync(join(tool, 'go.sum'), 'utf8');
  expect(goSum).toContain(`github.com/cilium/cilium v${appVersion} h1:`);
  // Cilium builds against its own gobgp fork (a replace in its go.mod), which a dependent module
  // does not inherit: the tool's go.mod copies it.
  expect(goMod).toMatch(
    /^replace github\.com\/osrg\/gobgp\/v3 => github\.com\/cilium\/gobgp\/v3 /m,
  );
});
