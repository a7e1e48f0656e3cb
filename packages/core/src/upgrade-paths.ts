// Whether a running cluster can move from one Talos or Kubernetes release to another: the rules
// the build applies when it compares a cluster with what the last build generated for it
// (`talos-upgrade-path`, `kubernetes-upgrade-path`). Pure.
import { SUPPORTED_TALOS } from './semantic.js';
import type { ChartUpgradePath } from './types.js';

/** Why a cluster cannot take the step, and what it can take instead. */
export interface UpgradeRefusal {
  readonly why: string;
  readonly instead: string;
}

type Triple = readonly [number, number, number];

/** `v1.13.9`, `1.34.4`, `v1.12.0-beta.1` as major, minor, patch (pre-release aside). */
function triple(version: string): Triple | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** What Talos' `UpgradeableFrom` says of installing a release over a node on a host release. */
export type TalosInstallVerdict = 'installs' | 'too-old' | 'too-new' | 'denied';

/**
 * Whether the installer of Talos release line `line` (`1.13`) installs over a node running `host`,
 * as its pre-flight check does (`TalosVersion.UpgradeableFrom`, in the order it checks): `too-old`
 * below `MinimumHostUpgradeVersion`, `too-new` at or above `MaximumHostDowngradeVersion`, `denied`
 * for one of `DeniedHostUpgradeVersions`, else `installs`; major.minor.patch compared, pre-release
 * aside. Undefined for a line this platform does not support or a host that does not parse. The
 * Talos suite checks it against the installer code of every supported release
 * (apps/homelab/test/talos-compatibility.test.ts).
 */
export function talosInstallsOver(line: string, host: string): TalosInstallVerdict | undefined {
  const from = triple(host);
  const path = SUPPORTED_TALOS[line]?.upgradeFrom;
  if (from === undefined || path === undefined) return undefined;
  const minimum = triple(path.minimum);
  const below = triple(path.below);
  if (minimum === undefined || below === undefined) return undefined;
  if (compare(from, minimum) < 0) return 'too-old';
  if (compare(from, below) >= 0) return 'too-new';
  if (path.denied.some((version) => triple(version)?.join('.') === from.join('.'))) return 'denied';
  return 'installs';
}

/**
 * Refuses moving a cluster's nodes from Talos `deployed` to `next` (`talosctl upgrade --image` of
 * each node) when Talos' `UpgradeableFrom` refuses it (`SUPPORTED_TALOS[…].upgradeFrom`: a host
 * too old, too new to go down to `next`, or denied), or when it goes back to an earlier minor
 * release, which Talos installs but this platform does not: the nodes keep the machine config
 * written for the newer release (1.12's `HostnameConfig`, `LinkConfig` and `ResolverConfig`
 * documents, which Talos 1.11 does not know), and the patches of the older one are applied by
 * `apply-config` only after the reboot into it. A patch release down within one minor release is
 * Talos' own rollback and passes. Versions that do not parse, or a `next` outside the supported
 * releases (the definition's `talos-version` check reports it): nothing to say.
 */
export function talosUpgradeRefusal(deployed: string, next: string): UpgradeRefusal | undefined {
  const from = triple(deployed);
  const to = triple(next);
  if (from === undefined || to === undefined) return undefined;
  const line = `${to[0]}.${to[1]}`;
  const path = SUPPORTED_TALOS[line]?.upgradeFrom;
  const verdict = talosInstallsOver(line, deployed);
  if (path === undefined || verdict === undefined) return undefined;
  const fromLine = `${from[0]}.${from[1]}`;
  if (verdict === 'too-old') {
    return {
      why: `Talos ${line} installs only over Talos ${path.minimum} or later (its MinimumHostUpgradeVersion): talosctl upgrade refuses a node on ${deployed} ("host version ${deployed.replace(/^v/, '')} is too old to upgrade")`,
      instead: `a Talos release that installs over ${deployed}, one minor release at a time: v${from[0]}.${from[1] + 1}.x (its latest patch release) first, built, committed and upgraded node by node as the runbook's "Upgrades" says, then ${next}`,
    };
  }
  if (verdict === 'too-new') {
    return {
      why: `Talos ${line} installs only over releases below ${path.below} (its MaximumHostDowngradeVersion): talosctl upgrade refuses a node on ${deployed} ("host version ${deployed.replace(/^v/, '')} is too new to downgrade")`,
      instead: `Talos ${fromLine} (${deployed}) or later on this cluster`,
    };
  }
  if (to[0] === from[0] && to[1] > from[1] + 1) {
    // Talos' "Supported upgrade paths": the configuration's migration is tested only between
    // adjacent minor releases; the path goes through the latest patch release of each one.
    return {
      why: `it skips Talos ${from[0]}.${from[1] + 1}: Talos migrates the machine configuration between adjacent minor releases only (its "Supported upgrade paths": the latest patch release of every intermediate minor release), although Talos ${line} would install over ${deployed}`,
      instead: `one minor release at a time: v${from[0]}.${from[1] + 1}.x (its latest patch release) first, built, committed and upgraded node by node as the runbook's "Upgrades" says, then ${next}`,
    };
  }
  if (verdict === 'denied') {
    return {
      why: `Talos ${line} refuses to install over ${deployed} (its DeniedHostUpgradeVersions)`,
      instead: `another patch release of Talos ${fromLine} first, then ${next}`,
    };
  }
  if (to[0] < from[0] || (to[0] === from[0] && to[1] < from[1])) {
    return {
      why: `it goes back to an earlier minor release: the nodes keep the machine config written for Talos ${fromLine} (from 1.12 on, the HostnameConfig, LinkConfig and ResolverConfig documents, which Talos 1.11 does not know), and the patches for ${line} are applied only once the nodes run it`,
      instead: `Talos ${fromLine} (${deployed}) or a later release on this cluster`,
    };
  }
  return undefined;
}

/**
 * Refuses moving a cluster from Kubernetes `deployed` to `next` (`talosctl upgrade-k8s --to`)
 * where Talos refuses the path: Talos v1.13.9 `pkg/cluster/kubernetes/talos_managed.go` `Upgrade`
 * checks `upgrade.Path.IsSupported` of siderolabs/go-kubernetes (`kubernetes/upgrade/path.go`),
 * which allows a minor release to itself or to the next one only. So: no earlier minor release
 * (and Kubernetes supports no downgrade of one: etcd keeps what the newer API server stored),
 * and no minor release skipped (1.33 to 1.35). A patch release down within one minor release
 * passes, as it does for talosctl. Versions that do not parse: nothing to say.
 */
export function kubernetesUpgradeRefusal(
  deployed: string,
  next: string,
): UpgradeRefusal | undefined {
  const from = triple(deployed);
  const to = triple(next);
  if (from === undefined || to === undefined) return undefined;
  const fromLine = `${from[0]}.${from[1]}`;
  const toLine = `${to[0]}.${to[1]}`;
  if (to[0] < from[0] || (to[0] === from[0] && to[1] < from[1])) {
    return {
      why: `Kubernetes does not go back to an earlier minor release (etcd keeps the objects as the ${fromLine} API server stored them) and talosctl upgrade-k8s refuses the path ${fromLine}->${toLine}`,
      instead: `Kubernetes ${fromLine} (${deployed}, or another ${fromLine} patch release) or ${from[0]}.${from[1] + 1} on this cluster`,
    };
  }
  if (to[0] !== from[0] || to[1] > from[1] + 1) {
    return {
      why: `Kubernetes upgrades one minor release at a time: talosctl upgrade-k8s refuses the path ${fromLine}->${toLine}, which skips ${to[0] === from[0] && to[1] === from[1] + 2 ? `${from[0]}.${from[1] + 1}` : 'minor releases'}`,
      instead: `${from[0]}.${from[1] + 1}.x first (built, committed and upgraded with the runbook's "Upgrades"), then ${next}`,
    };
  }
  return undefined;
}

/**
 * Refuses moving a running installation of an upstream chart from release `deployed` (the last
 * build's pin) to `next` where its upgrade path (`ChartDependency.upgradePath`) does not go: more
 * than one minor release up, across a major release, or back further than its `rollback` allows
 * (one minor release, a patch release within its own minor release, or nothing; no `rollback`:
 * any release back passes). A patch release up passes. Versions that do not parse: nothing to
 * say. (Whether the refusal is an error or a warning is the path's `severity`: the caller's.)
 */
export function chartUpgradeRefusal(
  deployed: string,
  next: string,
  path: ChartUpgradePath,
): UpgradeRefusal | undefined {
  const from = triple(deployed);
  const to = triple(next);
  if (from === undefined || to === undefined) return undefined;
  const fromLine = `${from[0]}.${from[1]}`;
  const toLine = `${to[0]}.${to[1]}`;
  const up = `${from[0]}.${from[1] + 1}`;
  if (compare(to, from) < 0) {
    if (path.rollback === undefined) return undefined;
    const sameLine = to[0] === from[0] && to[1] === from[1];
    const previousLine = to[0] === from[0] && to[1] === from[1] - 1;
    if (path.rollback === 'minor' && (sameLine || previousLine)) return undefined;
    if (path.rollback === 'patch' && sameLine) return undefined;
    const reach = {
      minor: `${path.product} ${fromLine} (${deployed}, or another ${fromLine} patch release)${from[1] > 0 ? `, ${up} or ${from[0]}.${from[1] - 1}` : ` or ${up}`}`,
      patch: `${path.product} ${fromLine} (${deployed}, or another ${fromLine} patch release) or ${up}`,
      none: `${path.product} ${deployed}, a later ${fromLine} patch release or ${up}`,
    }[path.rollback];
    return {
      why: sameLine
        ? `${path.product} does not go back from ${deployed} to ${next} (${path.source})`
        : `${path.product} does not go back from ${fromLine} to ${toLine} (${path.source})`,
      instead: `${reach} on this cluster`,
    };
  }
  if (to[0] !== from[0] || to[1] > from[1] + 1) {
    return {
      why: `${path.product} moves one minor release at a time and ${fromLine}->${toLine} skips ${to[0] === from[0] && to[1] === from[1] + 2 ? up : 'minor releases'} (${path.source})`,
      instead: `${path.product} ${up}.x first (built, committed and synced by Argo CD on every cluster), then ${next}`,
    };
  }
  return undefined;
}

/**
 * The "Upgrades" section of a chart README whose upstream has an upgrade path: how far it moves
 * in one step, what the build does about a step outside it (`chart-upgrade-path`: refused, or a
 * warning `--strict` refuses) and where the upstream says so; Markdown. What the README says is
 * what `chartUpgradeRefusal` and the CLI's check apply, from the same `ChartUpgradePath`.
 */
export function upgradePathReadme(
  chart: string,
  dependency: string,
  path: ChartUpgradePath,
): { readonly heading: string; readonly body: string } {
  const back = {
    minor: 'Back, it goes to the previous minor release or to another patch release of its own.',
    patch: 'Back, it goes only to another patch release of its own minor release.',
    none: 'It never goes back to an earlier release.',
  };
  const outcome =
    path.severity === 'warning'
      ? 'warns of a step outside that path (`--strict` refuses it)'
      : 'refuses a step outside that path';
  const paragraphs = [
    [
      `${path.product} moves up one minor release at a time, never across a major release.`,
      path.rollback === undefined
        ? 'Of going back it says nothing: no earlier release is refused.'
        : back[path.rollback],
      `Source: ${path.source}.`,
    ],
    [
      `\`homelab build\` compares the ${dependency} release this chart pins with the one the last`,
      `build's \`charts/${chart}/Chart.yaml\` pinned, on every cluster that ran it, and ${outcome}`,
      '(`chart-upgrade-path`). `homelab upgrade-check <component> <version>` reports what moving to a',
      'newer pinned release changes in the values we set.',
    ],
  ];
  const compatibility = path.compatibility;
  if (compatibility !== undefined) {
    paragraphs.push([
      `A cluster keeps the defaults of the ${path.product} release it started with through \`${dependency}.${compatibility.value}\``,
      `(the component's \`${compatibility.setting}\` setting). Source: ${compatibility.source}.`,
      'The build refuses moving a cluster that ran the last build up a minor release without it, first',
      'setting it to another release than the one the cluster runs, and changing or removing it once',
      'set (`chart-upgrade-compatibility`): each would switch the running installation to other',
      'defaults.',
    ]);
  }
  return {
    heading: 'Upgrades',
    body: paragraphs.map((words) => wrap(words.join(' '), 100)).join('\n\n'),
  };
}

/** `text` broken into lines of at most `width` characters at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
