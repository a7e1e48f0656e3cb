import { describe, expect, it } from 'vitest';
import { kubernetesSupportedBy, SUPPORTED_TALOS } from './semantic.js';
import {
  chartUpgradeRefusal,
  kubernetesUpgradeRefusal,
  talosInstallsOver,
  talosUpgradeRefusal,
  upgradePathReadme,
} from './upgrade-paths.js';

describe('talosInstallsOver', () => {
  it("answers as talos112's UpgradeableFrom: from 1.10.0, below 1.14.0, pre-releases by their core", () => {
    expect(talosInstallsOver('1.12', 'v1.9.99')).toBe('too-old');
    expect(talosInstallsOver('1.12', 'v1.10.0-beta.1')).toBe('installs');
    expect(talosInstallsOver('1.12', 'v1.10.0')).toBe('installs');
    expect(talosInstallsOver('1.12', '1.13.99')).toBe('installs');
    expect(talosInstallsOver('1.12', 'v1.14.0')).toBe('too-new');
    expect(talosInstallsOver('1.12', 'v2.0.0')).toBe('too-new');
  });

  it('says nothing of a line it does not support or a host it cannot read', () => {
    expect(talosInstallsOver('1.14', 'v1.13.0')).toBeUndefined();
    expect(talosInstallsOver('1.12', 'latest')).toBeUndefined();
  });
});

describe('kubernetesSupportedBy', () => {
  it("answers as talos111's SupportedWith: from 1.29.0, below 1.34.99", () => {
    expect(kubernetesSupportedBy('1.11', '1.28.15')).toBe(false);
    expect(kubernetesSupportedBy('1.11', '1.29.0')).toBe(true);
    expect(kubernetesSupportedBy('1.11', '1.34.98')).toBe(true);
    expect(kubernetesSupportedBy('1.11', '1.34.99')).toBe(false);
    expect(kubernetesSupportedBy('1.11', '1.35.0')).toBe(false);
  });

  it('says nothing of a line it does not support or a version that is no 1.<minor>.<patch>', () => {
    expect(kubernetesSupportedBy('1.14', '1.34.0')).toBeUndefined();
    expect(kubernetesSupportedBy('1.12', 'v1.34.0')).toBeUndefined();
    expect(kubernetesSupportedBy('1.12', '1.34')).toBeUndefined();
  });
});

describe('talosUpgradeRefusal', () => {
  it('lets a node move up a patch or one minor release, and roll back a patch release', () => {
    expect(talosUpgradeRefusal('v1.12.11', 'v1.12.11')).toBeUndefined();
    expect(talosUpgradeRefusal('v1.12.10', 'v1.12.11')).toBeUndefined();
    expect(talosUpgradeRefusal('v1.12.11', 'v1.13.9')).toBeUndefined();
    expect(talosUpgradeRefusal('v1.11.6', 'v1.12.11')).toBeUndefined();
    expect(talosUpgradeRefusal('v1.13.9', 'v1.13.8')).toBeUndefined();
  });

  it('refuses skipping a minor release that Talos would install over (talos113 minimum: 1.11.0)', () => {
    const refusal = talosUpgradeRefusal('v1.11.6', 'v1.13.9');
    expect(refusal?.why).toBe(
      'it skips Talos 1.12: Talos migrates the machine configuration between adjacent minor releases only (its "Supported upgrade paths": the latest patch release of every intermediate minor release), although Talos 1.13 would install over v1.11.6',
    );
    expect(refusal?.instead).toContain('v1.12.x (its latest patch release) first');
  });

  it('refuses a host older than the minimum of the new release (talos113: 1.11.0)', () => {
    const refusal = talosUpgradeRefusal('v1.10.7', 'v1.13.9');
    expect(refusal?.why).toBe(
      'Talos 1.13 installs only over Talos 1.11.0 or later (its MinimumHostUpgradeVersion): talosctl upgrade refuses a node on v1.10.7 ("host version 1.10.7 is too old to upgrade")',
    );
    expect(refusal?.instead).toContain('v1.11.x (its latest patch release) first');
  });

  it('refuses going down to a release the host is too new for (talos111: below 1.13.0)', () => {
    expect(talosUpgradeRefusal('v1.13.0', 'v1.11.6')?.why).toContain(
      'installs only over releases below 1.13.0 (its MaximumHostDowngradeVersion)',
    );
  });

  it("refuses an earlier minor release Talos would install: the nodes' config is the newer release's", () => {
    const refusal = talosUpgradeRefusal('v1.12.11', 'v1.11.6');
    expect(refusal?.why).toContain('goes back to an earlier minor release');
    expect(refusal?.instead).toBe('Talos 1.12 (v1.12.11) or a later release on this cluster');
  });

  it('says nothing of versions it cannot read or releases outside the supported lines', () => {
    expect(talosUpgradeRefusal('latest', 'v1.12.11')).toBeUndefined();
    expect(talosUpgradeRefusal('v1.12.11', 'v1.14.0')).toBeUndefined();
  });

  it('has an upgrade path for every supported line, each installing over its previous line', () => {
    for (const [line, { upgradeFrom }] of Object.entries(SUPPORTED_TALOS)) {
      const [major, minor] = line.split('.').map(Number) as [number, number];
      expect(talosUpgradeRefusal(`v${major}.${minor - 1}.0`, `v${line}.0`), line).toBeUndefined();
      expect(upgradeFrom.denied).toEqual([]);
    }
  });
});

describe('kubernetesUpgradeRefusal', () => {
  it('lets a cluster stay, move up a patch or one minor release, and roll back a patch release', () => {
    expect(kubernetesUpgradeRefusal('1.34.4', '1.34.4')).toBeUndefined();
    expect(kubernetesUpgradeRefusal('1.34.4', '1.34.6')).toBeUndefined();
    expect(kubernetesUpgradeRefusal('1.34.4', '1.35.0')).toBeUndefined();
    expect(kubernetesUpgradeRefusal('1.34.4', '1.34.2')).toBeUndefined();
  });

  it('refuses a skipped minor release, naming the one to go through', () => {
    const refusal = kubernetesUpgradeRefusal('1.33.12', '1.35.4');
    expect(refusal?.why).toBe(
      'Kubernetes upgrades one minor release at a time: talosctl upgrade-k8s refuses the path 1.33->1.35, which skips 1.34',
    );
    expect(refusal?.instead).toContain('1.34.x first');
  });

  it('refuses an earlier minor release', () => {
    const refusal = kubernetesUpgradeRefusal('1.34.4', '1.33.12');
    expect(refusal?.why).toContain('does not go back to an earlier minor release');
    expect(refusal?.instead).toBe(
      'Kubernetes 1.34 (1.34.4, or another 1.34 patch release) or 1.35 on this cluster',
    );
  });

  it('says nothing of versions it cannot read', () => {
    expect(kubernetesUpgradeRefusal('1.34', '1.36.0')).toBeUndefined();
  });
});

describe('chartUpgradeRefusal', () => {
  const rollback = { product: 'Cilium', rollback: 'minor', source: 'its upgrade guide' } as const;
  const patch = { product: 'Talos', rollback: 'patch', source: 'its upgrade guide' } as const;
  const forward = { product: 'Longhorn', rollback: 'none', source: 'its upgrade guide' } as const;

  it('passes the next minor release, a patch release either way, and one minor back where the upstream rolls back', () => {
    expect(chartUpgradeRefusal('1.19.6', '1.20.0', rollback)).toBeUndefined();
    expect(chartUpgradeRefusal('1.19.6', '1.19.2', rollback)).toBeUndefined();
    expect(chartUpgradeRefusal('1.19.6', '1.19.8', forward)).toBeUndefined();
    expect(chartUpgradeRefusal('1.19.6', '1.19.6', forward)).toBeUndefined();
    expect(chartUpgradeRefusal('1.20.0', '1.19.6', rollback)).toBeUndefined();
    expect(chartUpgradeRefusal('v1.8.1', 'v1.9.0', forward)).toBeUndefined();
  });

  it('refuses a skipped minor release, naming it and the release to pass through', () => {
    expect(chartUpgradeRefusal('1.18.12', '1.20.0', rollback)).toEqual({
      why: 'Cilium moves one minor release at a time and 1.18->1.20 skips 1.19 (its upgrade guide)',
      instead:
        'Cilium 1.19.x first (built, committed and synced by Argo CD on every cluster), then 1.20.0',
    });
    expect(chartUpgradeRefusal('1.18.12', '2.0.0', rollback)?.why).toBe(
      'Cilium moves one minor release at a time and 1.18->2.0 skips minor releases (its upgrade guide)',
    );
  });

  it('refuses going back more than one minor release, or at all where the upstream does not roll back', () => {
    expect(chartUpgradeRefusal('1.20.0', '1.18.12', rollback)).toEqual({
      why: 'Cilium does not go back from 1.20 to 1.18 (its upgrade guide)',
      instead: 'Cilium 1.20 (1.20.0, or another 1.20 patch release), 1.21 or 1.19 on this cluster',
    });
    expect(chartUpgradeRefusal('1.9.0', '1.8.1', forward)).toEqual({
      why: 'Longhorn does not go back from 1.9 to 1.8 (its upgrade guide)',
      instead: 'Longhorn 1.9.0, a later 1.9 patch release or 1.10 on this cluster',
    });
    // Not even a patch release back where the upstream goes back to nothing.
    expect(chartUpgradeRefusal('1.8.2', '1.8.1', forward)).toEqual({
      why: 'Longhorn does not go back from 1.8.2 to 1.8.1 (its upgrade guide)',
      instead: 'Longhorn 1.8.2, a later 1.8 patch release or 1.9 on this cluster',
    });
    expect(chartUpgradeRefusal('1.8.2', '1.8.1', patch)).toBeUndefined();
    expect(chartUpgradeRefusal('1.9.0', '1.8.9', patch)).toEqual({
      why: 'Talos does not go back from 1.9 to 1.8 (its upgrade guide)',
      instead: 'Talos 1.9 (1.9.0, or another 1.9 patch release) or 1.10 on this cluster',
    });
    expect(chartUpgradeRefusal('2.0.0', '1.20.0', rollback)?.why).toBe(
      'Cilium does not go back from 2.0 to 1.20 (its upgrade guide)',
    );
  });

  it('refuses no release back where the upstream says nothing of going back, and still a skipped minor release up', () => {
    const unstated = { product: 'cert-manager', source: 'its upgrade guide' } as const;
    expect(chartUpgradeRefusal('v1.21.1', 'v1.19.4', unstated)).toBeUndefined();
    expect(chartUpgradeRefusal('v1.21.1', 'v1.21.0', unstated)).toBeUndefined();
    expect(chartUpgradeRefusal('v1.21.1', 'v1.22.0', unstated)).toBeUndefined();
    expect(chartUpgradeRefusal('v1.19.4', 'v1.21.1', unstated)).toEqual({
      why: 'cert-manager moves one minor release at a time and 1.19->1.21 skips 1.20 (its upgrade guide)',
      instead:
        'cert-manager 1.20.x first (built, committed and synced by Argo CD on every cluster), then v1.21.1',
    });
  });

  it('says nothing of versions that do not parse', () => {
    expect(chartUpgradeRefusal('latest', '1.20.0', rollback)).toBeUndefined();
    expect(chartUpgradeRefusal('1.19.6', '1.20', rollback)).toBeUndefined();
  });
});

describe('upgradePathReadme', () => {
  const paths = {
    minor: { product: 'Cilium', rollback: 'minor', source: 'its guide: "x"' },
    patch: { product: 'Talos', rollback: 'patch', source: 'its guide' },
    none: { product: 'Longhorn', rollback: 'none', source: 'longhorn-manager' },
    silent: { product: 'cert-manager', severity: 'warning', source: 'its guide' },
  } as const;
  const text = (path: (typeof paths)[keyof typeof paths]) =>
    upgradePathReadme('demo', 'upstream', path).body.replace(/\n/g, ' ');

  it('says of going back what chartUpgradeRefusal does with a release back', () => {
    // one minor back, and a patch back
    const back = (path: (typeof paths)[keyof typeof paths]) => [
      chartUpgradeRefusal('1.20.1', '1.19.3', path) === undefined,
      chartUpgradeRefusal('1.20.1', '1.20.0', path) === undefined,
    ];
    expect(back(paths.minor)).toEqual([true, true]);
    expect(text(paths.minor)).toContain(
      'Back, it goes to the previous minor release or to another patch release of its own.',
    );
    expect(back(paths.patch)).toEqual([false, true]);
    expect(text(paths.patch)).toContain(
      'Back, it goes only to another patch release of its own minor release.',
    );
    expect(back(paths.none)).toEqual([false, false]);
    expect(text(paths.none)).toContain('It never goes back to an earlier release.');
    expect(back(paths.silent)).toEqual([true, true]);
    expect(text(paths.silent)).toContain(
      'Of going back it says nothing: no earlier release is refused.',
    );
  });

  it("says up one minor release at a time, refused or warned as the path's severity, with its source", () => {
    for (const path of Object.values(paths)) {
      expect(chartUpgradeRefusal('1.18.0', '1.20.0', path)).toBeDefined();
      expect(chartUpgradeRefusal('1.18.0', '1.19.0', path)).toBeUndefined();
      expect(text(path)).toContain(
        `${path.product} moves up one minor release at a time, never across a major release.`,
      );
      expect(text(path)).toContain(`Source: ${path.source}.`);
      expect(text(path)).toContain("the last build's `charts/demo/Chart.yaml` pinned");
    }
    expect(text(paths.minor)).toContain('and refuses a step outside that path');
    expect(text(paths.silent)).toContain(
      'and warns of a step outside that path (`--strict` refuses it)',
    );
  });

  it("says how a cluster keeps its first release's defaults only where the upstream has a value for it", () => {
    const kept = upgradePathReadme('demo', 'upstream', {
      ...paths.minor,
      compatibility: { value: 'keepDefaults', setting: 'keep', source: 'its guide: "y"' },
    }).body;
    expect(kept.split('\n\n')).toHaveLength(3);
    expect(kept.replace(/\n/g, ' ')).toContain(
      'A cluster keeps the defaults of the Cilium release it started with through `upstream.keepDefaults` (the component\'s `keep` setting). Source: its guide: "y".',
    );
    expect(kept).toContain('(`chart-upgrade-compatibility`)');
    expect(text(paths.minor)).not.toContain('chart-upgrade-compatibility');
  });

  it('wraps its paragraphs at 100 columns', () => {
    const { heading, body } = upgradePathReadme('demo', 'upstream', paths.silent);
    expect(heading).toBe('Upgrades');
    expect(body.split('\n\n')).toHaveLength(2);
    expect(Math.max(...body.split('\n').map((line) => line.length))).toBeLessThanOrEqual(100);
  });
});
