import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { parseExtensionTargets } from '../src/extensions.js';
import { OFFICIAL_EXTENSIONS } from '../src/generated/official-extensions.js';
import { extensionsMakefilePath, TALOS_PINNED_RELEASES } from '../src/versions.js';
import { asks, devCluster, doc, longhorn, talos } from './helpers.js';

describe('the official extension lists', () => {
  it('are the vendored Makefiles of the pinned releases (else: pnpm --filter @homelab/talos-config gen:extensions)', () => {
    expect(Object.values(OFFICIAL_EXTENSIONS).map((list) => list.tag)).toEqual([
      ...TALOS_PINNED_RELEASES,
    ]);
    for (const [line, list] of Object.entries(OFFICIAL_EXTENSIONS)) {
      expect(list.tag.startsWith(`${line}.`)).toBe(true);
      const makefile = readFileSync(
        join(repoRoot(), 'vendor', extensionsMakefilePath(list.tag)),
        'utf8',
      );
      expect(list.names).toEqual(parseExtensionTargets(makefile));
      // what the platform's own components ask for is on every list
      expect(list.names).toContain('siderolabs/iscsi-tools');
      expect(list.names).toContain('siderolabs/util-linux-tools');
      expect(list.names).toContain('siderolabs/nonfree-kmod-nvidia-production');
    }
  });

  it('read TARGETS and NONFREE_TARGETS, set or appended, and nothing else', () => {
    const makefile = [
      'TOOLS ?= v1.12.0',
      'TARGETS = zfs',
      'TARGETS += amd-ucode',
      '# TARGETS += commented',
      'NONFREE_TARGETS = nonfree-kmod-nvidia-lts',
      'NONFREE_TARGETS += nonfree-kmod-nvidia-production',
      'all: $(TARGETS)',
    ].join('\n');
    expect(parseExtensionTargets(makefile)).toEqual([
      'siderolabs/amd-ucode',
      'siderolabs/nonfree-kmod-nvidia-lts',
      'siderolabs/nonfree-kmod-nvidia-production',
      'siderolabs/zfs',
    ]);
  });
});

describe('extension names', () => {
  const typo = (version: string) =>
    talos(
      [
        devCluster({
          talos: { version, extensions: ['siderolabs/intel-ucode', 'siderolabs/intel-microcode'] },
        }),
      ],
      [longhorn],
    );

  it('not official on exactly the pinned release: an error at the entry, naming the closest (the files stay: nothing else to report)', () => {
    const { files, issues } = typo('v1.12.11');
    expect(issues.map((i) => [i.severity, i.code, i.path, i.value])).toEqual([
      [
        'error',
        'talos-extension',
        ['clusters', 0, 'talos', 'extensions', 1],
        'siderolabs/intel-microcode',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      '"siderolabs/intel-microcode" is not an official system extension of Talos v1.12.11',
    );
    expect(issues[0]?.expected).toBe(
      '"siderolabs/intel-ucode" (the list: the Makefile\'s TARGETS at https://github.com/siderolabs/extensions/tree/v1.12.11)',
    );
    // rendered all the same, so the system checks find the cluster's files and add nothing
    expect(files.map((f) => f.path)).toContain('clusters/dev/talos/schematic.yaml');
  });

  it('not on the list of another patch release of the line: a warning (patch releases add extensions), files written', () => {
    const { files, issues } = typo('v1.12.6');
    expect(issues.map((i) => [i.severity, i.code, i.path])).toEqual([
      ['warning', 'talos-extension', ['clusters', 0, 'talos', 'extensions', 1]],
    ]);
    expect(issues[0]?.message).toContain('the cluster runs v1.12.6, whose list may differ');
    expect(
      doc(files, 'clusters/dev/talos/schematic.yaml').customization.systemExtensions
        .officialExtensions,
    ).toEqual([
      'siderolabs/intel-microcode',
      'siderolabs/intel-ucode',
      'siderolabs/iscsi-tools',
      'siderolabs/util-linux-tools',
    ]);
  });

  it('official only on another Talos line: names the release that lists it, suggests no other name', () => {
    // Given siderolabs/intel-npu, which siderolabs/extensions builds from v1.13 on
    expect(OFFICIAL_EXTENSIONS['v1.13']?.names).toContain('siderolabs/intel-npu');
    expect(OFFICIAL_EXTENSIONS['v1.12']?.names).not.toContain('siderolabs/intel-npu');
    const { issues } = talos(
      [devCluster({ talos: { version: 'v1.12.11', extensions: ['siderolabs/intel-npu'] } })],
      [longhorn],
    );
    // Then the error says where it exists, not that intel-ucode was meant
    expect(issues.map((i) => [i.severity, i.path, i.message, i.expected])).toEqual([
      [
        'error',
        ['clusters', 0, 'talos', 'extensions', 0],
        '"siderolabs/intel-npu" is not an official system extension of Talos v1.12.11 (Talos v1.13.9 lists it: its line\'s extensions differ)',
        "the cluster's talos.version on a line that lists it (v1.13.9), or another extension for v1.12 (the list: the Makefile's TARGETS at https://github.com/siderolabs/extensions/tree/v1.12.11)",
      ],
    ]);
  });

  it("a component's unknown extension is reported on the component, without a suggestion when none is close", () => {
    const { issues } = talos(
      [devCluster()],
      [longhorn, asks('gpu', { extensions: ['siderolabs/quantum-flux'] })],
    );
    expect(issues.map((i) => [i.severity, i.path, i.message])).toEqual([
      [
        'error',
        ['clusters', 0, 'components', 'gpu'],
        'gpu asks for the Talos system extension "siderolabs/quantum-flux", which is not an official system extension of Talos v1.12.11',
      ],
    ]);
    expect(issues[0]?.expected).toMatch(/^an official extension name \(/);
  });
});
