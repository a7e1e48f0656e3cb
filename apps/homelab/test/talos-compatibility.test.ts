// Talos' compatibility rules, as the platform encodes them, against Talos' own code: for every
// supported Talos release, the talos-machinery build of that release (tools/talos-machinery)
// answers `upgradeable-from` (the installer's pre-flight check, `UpgradeableFrom`: which host
// releases it installs over) and `kubernetes-supported` (what a node checks of its Kubernetes
// version at runtime, `SupportedWith`) for a grid of versions around every bound, and core's
// `talosInstallsOver` and `kubernetesSupportedBy` (SUPPORTED_TALOS, read by the
// `talos-upgrade-path` and `kubernetes-version` checks) must give the same verdict for each.
// A bound copied wrong from Talos' source, or moved by a new patch release, fails here.
//
// Needs the talos-machinery builds (`.ci/install-talos-machinery`; `.ci/run` passes them in
// TALOS_MACHINERY_DIRS, else the tools cache). Without them the suite is skipped and says "not
// run"; with CI=true a missing build fails.
import { spawnSync } from 'node:child_process';
import {
  kubernetesSupportedBy,
  SUPPORTED_TALOS,
  type TalosInstallVerdict,
  talosInstallsOver,
} from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { IN_CI } from './helm/harness.js';
import { findTalosMachinery, releaseLine, type TalosMachinery } from './talos-machinery/harness.js';

const tools = findTalosMachinery();
const lines = Object.keys(SUPPORTED_TALOS);

function suiteRuns(): boolean {
  if (tools.size > 0 || IN_CI) return true;
  console.log(
    'talos compatibility suite: not run: talos-machinery not found (build it: .ci/install-talos-machinery)',
  );
  return false;
}
const suite = suiteRuns() ? describe : describe.skip;

/** Every `1.<minor>.<patch>` for the minors and patches given, with and without a `v`. */
function grid(minors: readonly number[], patches: readonly number[], prefix: string): string[] {
  return minors.flatMap((minor) => patches.map((patch) => `${prefix}1.${minor}.${patch}`));
}

/** The tool's answer for each argument: `ok`, or Talos' error. */
function verdicts(
  tool: TalosMachinery,
  command: 'upgradeable-from' | 'kubernetes-supported',
  versions: readonly string[],
): Map<string, string> {
  const result = spawnSync(tool.path, [command, ...versions], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) {
    const stale = result.stderr.includes('unknown command')
      ? ` (a build from older sources of tools/talos-machinery: rebuild it with .ci/install-talos-machinery)`
      : '';
    throw new Error(
      `${tool.path} ${command} exited ${result.status}: ${result.stderr.trim()}${stale}`,
    );
  }
  const answers = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    answers.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return answers;
}

/** Talos' error words as the verdict of `talosInstallsOver`. */
function installVerdict(answer: string): TalosInstallVerdict | 'unknown' {
  if (answer === 'ok') return 'installs';
  if (/ is too old to upgrade to Talos /.test(answer)) return 'too-old';
  if (/ is too new to downgrade to Talos /.test(answer)) return 'too-new';
  if (/ is denied for upgrade to Talos /.test(answer)) return 'denied';
  return 'unknown';
}

describe('talos compatibility suite harness', () => {
  it("reads Talos' installer errors as verdicts", () => {
    expect(installVerdict('ok')).toBe('installs');
    expect(installVerdict('host version 1.8.9 is too old to upgrade to Talos 1.11.6')).toBe(
      'too-old',
    );
    expect(installVerdict('host version 1.13.0 is too new to downgrade to Talos 1.11.6')).toBe(
      'too-new',
    );
    expect(installVerdict('host version 1.10.3 is denied for upgrade to Talos 1.12.11')).toBe(
      'denied',
    );
    expect(installVerdict('upgrades to version 1.14.0 are not supported')).toBe('unknown');
  });
});

suite('talos compatibility suite', () => {
  it('has a talos-machinery build for every supported Talos release line', () => {
    expect([...tools.values()].map((tool) => releaseLine(tool.version).slice(1)).sort()).toEqual(
      [...lines].sort(),
    );
  });

  for (const line of lines) {
    const tool = () => {
      const found = [...tools.values()].find(
        (candidate) => releaseLine(candidate.version) === `v${line}`,
      );
      if (found === undefined) expect.fail(`no talos-machinery build of Talos ${line}`);
      return found;
    };

    it(`Talos ${line}: installs over exactly the host releases SUPPORTED_TALOS says (UpgradeableFrom)`, () => {
      const [major, minor] = line.split('.').map(Number) as [number, number];
      const minors = Array.from({ length: 9 }, (_, i) => minor - 5 + i);
      const hosts = [
        ...grid(minors, [0, 1, 2, 3, 5, 8, 13, 21, 99], 'v'),
        `v${major}.${minor - 2}.0-beta.1`,
        `v${major}.${minor + 2}.0-alpha.0`,
      ];
      const answers = verdicts(tool(), 'upgradeable-from', hosts);
      const wrong = hosts.flatMap((host) => {
        const talos = installVerdict(answers.get(host) ?? '');
        const ours = talosInstallsOver(line, host);
        return talos === ours ? [] : [`${host}: Talos says ${talos}, the platform ${ours}`];
      });
      expect(wrong).toEqual([]);
      // The grid reaches both bounds: some hosts too old, some too new, some installed over.
      const seen = new Set(hosts.map((host) => talosInstallsOver(line, host)));
      expect([...seen].sort()).toEqual(['installs', 'too-new', 'too-old']);
    });

    it(`Talos ${line}: runs exactly the Kubernetes releases SUPPORTED_TALOS says (SupportedWith)`, () => {
      const [low, high] = SUPPORTED_TALOS[line]?.kubernetes ?? [0, 0];
      const minors = Array.from({ length: high - low + 5 }, (_, i) => low - 2 + i);
      const versions = grid(minors, [0, 1, 4, 15, 98, 99, 100], '');
      const answers = verdicts(tool(), 'kubernetes-supported', versions);
      const wrong = versions.flatMap((version) => {
        const answer = answers.get(version) ?? '';
        const talos = answer === 'ok';
        if (!talos && !/ is too (old|new) to be used with Talos /.test(answer)) {
          return [`${version}: Talos answered ${JSON.stringify(answer)}`];
        }
        const ours = kubernetesSupportedBy(line, version);
        return talos === ours ? [] : [`${version}: Talos says ${talos}, the platform ${ours}`];
      });
      expect(wrong).toEqual([]);
      expect(versions.filter((version) => kubernetesSupportedBy(line, version)).length).toBe(
        (high - low + 1) * 7 - 2,
      );
    });
  }
});
