// tools/talos-machinery holds one build of Talos' machinery per Talos release whose schema the
// conformance tests use (TALOS_UPSTREAM, prereleases aside): the Talos suite of apps/homelab
// (Layer 5) validates each cluster with the build of its release, so a release added here
// without a build would leave its clusters unchecked by Talos' own code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { TALOS_UPSTREAM, talosSupportedVersions } from '../src/versions.js';

const tool = join(repoRoot(), 'tools', 'talos-machinery');
const released = TALOS_UPSTREAM.filter(
  (pin) => pin.kind === 'file' && pin.path.endsWith('/config.schema.json'),
)
  .map((pin) => pin.version)
  .filter((tag) => !tag.includes('-'));

describe('tools/talos-machinery', () => {
  it('has a build for every pinned Talos release, and no other', () => {
    expect(readdirSync(join(tool, 'versions')).sort()).toEqual([...released].sort());
    expect(released.map((tag) => tag.replace(/^v(\d+\.\d+)\..*$/, '$1')).sort()).toEqual(
      [...talosSupportedVersions].sort(),
    );
  });

  it("pins each build to Talos' machinery module of exactly that release", () => {
    for (const tag of released) {
      const goMod = readFileSync(join(tool, 'versions', tag, 'go.mod'), 'utf8');
      expect(goMod).toContain(`\tgithub.com/siderolabs/talos/pkg/machinery ${tag}\n`);
      const goSum = readFileSync(join(tool, 'versions', tag, 'go.sum'), 'utf8');
      // Built from the module proxy: the module's own hash is in go.sum. Built from a git clone
      // (the proxy does not serve the release): the tree id of pkg/machinery at the tag is pinned.
      const fromGit = existsSync(join(tool, 'versions', tag, 'machinery-tree'));
      if (fromGit) {
        expect(goMod).toContain('replace github.com/siderolabs/talos/pkg/machinery => ./machinery');
        expect(readFileSync(join(tool, 'versions', tag, 'machinery-tree'), 'utf8').trim()).toMatch(
          /^[0-9a-f]{40}$/,
        );
      } else {
        expect(goSum).toMatch(
          new RegExp(
            `^github.com/siderolabs/talos/pkg/machinery ${tag.replaceAll('.', '\\.')} h1:`,
            'm',
          ),
        );
      }
    }
  });
});
