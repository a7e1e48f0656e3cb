// tools/cilium-machinery runs the Cilium releases the platform deploys (the Helm suite's policy
// parsing, Layer 5), one module per release under tools/cilium-machinery/versions/<tag>: each
// supported release (CILIUM_RELEASES) has one, but a release the Go module proxy does not serve,
// and a module is of exactly its folder's release (the suite also compares the built tool's
// version with each cluster's rendered agent image at run time).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { expect, it } from 'vitest';
import { CILIUM_CHART_VERSION, CILIUM_RELEASES } from '../src/versions.js';

const versions = join(repoRoot(), 'tools', 'cilium-machinery', 'versions');

/**
 * Supported releases without a module, each with the reason: the suite names their clusters as
 * not checked by Cilium's parser.
 */
const NOT_BUILT: { readonly [appVersion: string]: string } = {
  '1.18.12':
    'the Go module proxy does not serve github.com/cilium/cilium v1.18.12 ("not available")',
};

it('builds tools/cilium-machinery for every supported Cilium release the Go module proxy serves, the default one included, each on its own release', () => {
  const tags = readdirSync(versions).sort();
  const appVersions = Object.values(CILIUM_RELEASES).map((release) => release.appVersion);
  expect(tags).toEqual(
    appVersions
      .filter((version) => NOT_BUILT[version] === undefined)
      .map((version) => `v${version}`)
      .sort(),
  );
  expect(tags).toContain(`v${CILIUM_RELEASES[CILIUM_CHART_VERSION].appVersion}`);
  for (const tag of tags) {
    const goMod = readFileSync(join(versions, tag, 'go.mod'), 'utf8');
    expect(/^\s*github\.com\/cilium\/cilium (\S+)$/m.exec(goMod)?.[1], tag).toBe(tag);
    expect(readFileSync(join(versions, tag, 'go.sum'), 'utf8')).toContain(
      `github.com/cilium/cilium ${tag} h1:`,
    );
    // Cilium builds against its own forks (replaces in its go.mod), which a dependent module
    // does not inherit: each module copies its release's.
    expect(goMod, tag).toMatch(
      /^replace sigs\.k8s\.io\/controller-tools => github\.com\/cilium\/controller-tools /m,
    );
  }
});
