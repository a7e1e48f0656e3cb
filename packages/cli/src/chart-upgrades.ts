// Whether the clusters can move to the upstream release each chart pins now, from the one the
// last build's chart pinned (`charts/<chart>/Chart.yaml`'s dependency): a chart whose component
// says how its upstream moves (`ChartDependency.upgradePath`: Cilium one minor release up or back,
// Longhorn one up and none back) is refused a pin outside that path (`chart-upgrade-path`, an
// error); one whose upstream only recommends its path (cert-manager: one minor release up) is
// warned of (the path's `severity`). An upstream value naming the release a cluster was first
// installed with (Cilium's `upgradeCompatibility`) must be set for a move up a minor release and
// never changes once set (`chart-upgrade-compatibility`). Skipped with --allow-immutable-changes,
// like every comparison with the last build. Pure.
import {
  type ChartSpec,
  type ChartUpgradePath,
  chartUpgradeRefusal,
  error,
  type Issue,
  parseYaml,
  type ResolvedPlatform,
  settingsPath,
  warning,
} from '@homelab/core';

/** The version of dependency `name` in a Chart.yaml's text, if it lists one. */
function dependencyVersion(chartYaml: string | undefined, name: string): string | undefined {
  if (chartYaml === undefined) return undefined;
  let chart: unknown;
  try {
    chart = parseYaml(chartYaml);
  } catch {
    return undefined;
  }
  const dependencies = (chart as { dependencies?: unknown } | null)?.dependencies;
  if (!Array.isArray(dependencies)) return undefined;
  for (const dependency of dependencies) {
    const entry = dependency as { name?: unknown; version?: unknown } | null;
    if (entry?.name === name && typeof entry.version === 'string') return entry.version;
  }
  return undefined;
}

/** The value at `key` under the upstream chart's key in a values layer, if it is a string. */
function layerValue(layer: unknown, chart: string, key: string): string | undefined {
  const upstream = (layer as { [key: string]: unknown } | null | undefined)?.[chart];
  const value = (upstream as { [key: string]: unknown } | null | undefined)?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** Minor release number of `1.19.6` or `1.19`, if it parses. */
function minorOf(version: string): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.|$)/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/**
 * The upstream value naming the release whose defaults an installation keeps
 * (`ChartUpgradePath.compatibility`, Cilium's `upgradeCompatibility`), against the last build's
 * layer of each cluster that ran the chart (`chart-upgrade-compatibility`, an error): it never
 * changes once a build set it; a move up a minor release needs it set; and first set on a running
 * cluster, it names the minor release the cluster runs. Each is what keeps the running
 * installation on the defaults it started with: any other value switches them under it.
 */
function compatibilityIssues(
  spec: ChartSpec,
  component: string,
  platform: ResolvedPlatform,
  previous: ReadonlyMap<string, string> | undefined,
  deployed: string,
): Issue[] {
  const dependency = spec.dependency;
  const compatibility = dependency?.upgradePath?.compatibility;
  if (dependency === undefined || compatibility === undefined || previous === undefined) return [];
  const from = minorOf(deployed);
  const to = minorOf(dependency.version);
  if (from === undefined || to === undefined) return [];
  const { product } = dependency.upgradePath as ChartUpgradePath;
  const key = `${dependency.name}.${compatibility.value}`;
  const fromLine = `${from[0]}.${from[1]}`;
  const skip = `build with --allow-immutable-changes (it skips this comparison with the last build) where the clusters never ran ${deployed} or are rebuilt from scratch`;
  const issues: Issue[] = [];
  for (const cluster of platform.clusters) {
    const layer = spec.clusters[cluster.name];
    if (layer === undefined || !previous.has(`clusters/${cluster.name}.yaml`)) continue;
    // The value as Helm sees it: the cluster's layer over its environment's over the base (the
    // writer moves a value every cluster of an environment shares into the environment's layer).
    const read = (layers: readonly unknown[]) =>
      layers
        .map((values) => layerValue(values, dependency.name, compatibility.value))
        .findLast((value) => value !== undefined);
    const parsed = (path: string): unknown => {
      const text = previous.get(path);
      if (text === undefined) return undefined;
      try {
        return parseYaml(text);
      } catch {
        return undefined;
      }
    };
    const before = read([
      parsed('values.yaml'),
      parsed(`env/${cluster.environment}.yaml`),
      parsed(`clusters/${cluster.name}.yaml`),
    ]);
    const now = read([spec.values, spec.environments[cluster.environment], layer]);
    if (before !== undefined && now !== before) {
      issues.push(
        error({
          code: 'chart-upgrade-compatibility',
          path: settingsPath(cluster, component, compatibility.setting),
          output: `charts/${spec.name}`,
          ...(now === undefined ? {} : { value: now }),
          message: `would ${now === undefined ? 'remove' : 'change'} ${key} "${before}" on cluster "${cluster.name}" (the last build's layer of charts/${spec.name} for it sets it)${now === undefined ? '' : ` to "${now}"`}: the running ${product} would switch to the defaults of ${now === undefined ? 'a new installation' : `a ${now} installation`} (${compatibility.source})`,
          expected: `${compatibility.setting}: "${before}" kept; ${skip}`,
        }),
      );
      continue;
    }
    if (before !== undefined) continue;
    if (now === undefined) {
      if (to[0] !== from[0] || to[1] <= from[1]) continue;
      issues.push(
        error({
          code: 'chart-upgrade-compatibility',
          path: settingsPath(cluster, component, 'version'),
          output: `charts/${spec.name}`,
          value: dependency.version,
          message: `would move ${product} on cluster "${cluster.name}" from ${deployed}, which the last build's charts/${spec.name}/Chart.yaml pins, to ${dependency.version} with the defaults of a new ${to[0]}.${to[1]} installation: ${key} is not set (${compatibility.source})`,
          expected: `${compatibility.setting}: "${fromLine}" (the release whose defaults the cluster runs with now) in the cluster's components.${component}, or in components.${component} for every cluster; ${skip}`,
        }),
      );
      continue;
    }
    // First set on a running cluster: it names the release whose defaults it runs with now.
    const named = minorOf(now);
    if (named !== undefined && named[0] === from[0] && named[1] === from[1]) continue;
    issues.push(
      error({
        code: 'chart-upgrade-compatibility',
        path: settingsPath(cluster, component, compatibility.setting),
        output: `charts/${spec.name}`,
        value: now,
        message: `would switch ${product} ${deployed} on cluster "${cluster.name}" (the last build's charts/${spec.name}/Chart.yaml pins it), running with the defaults of its own release, to those of a ${now} installation`,
        expected: `"${fromLine}", the release whose defaults the cluster runs with now; ${skip}`,
      }),
    );
  }
  return issues;
}

/**
 * An error (a warning where the path's `severity` says so) on each cluster that ran a chart whose
 * upstream pin moves outside its upgrade path (one per cluster, merged into one by the chart's
 * output): at the component's `version`.
 */
export function chartUpgradeIssues(
  charts: readonly { readonly spec: ChartSpec; readonly component: string | undefined }[],
  platform: ResolvedPlatform,
  previousChart: (chart: string) => ReadonlyMap<string, string> | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const { spec, component } of charts) {
    const dependency = spec.dependency;
    if (dependency?.upgradePath === undefined || component === undefined) continue;
    const previous = previousChart(spec.name);
    const deployed = dependencyVersion(previous?.get('Chart.yaml'), dependency.name);
    if (deployed === undefined) continue;
    issues.push(...compatibilityIssues(spec, component, platform, previous, deployed));
    if (deployed === dependency.version) continue;
    const refusal = chartUpgradeRefusal(deployed, dependency.version, dependency.upgradePath);
    if (refusal === undefined) continue;
    for (const cluster of platform.clusters) {
      // Only a cluster that ran the chart (the last build wrote its layer) and runs it now.
      if (spec.clusters[cluster.name] === undefined) continue;
      if (!previous?.has(`clusters/${cluster.name}.yaml`)) continue;
      const issue = dependency.upgradePath.severity === 'warning' ? warning : error;
      issues.push(
        issue({
          code: 'chart-upgrade-path',
          path: settingsPath(cluster, component, 'version'),
          output: `charts/${spec.name}`,
          value: dependency.version,
          message: `would move ${dependency.upgradePath.product} on cluster "${cluster.name}" from ${deployed}, which the last build's charts/${spec.name}/Chart.yaml pins (Argo CD deploys it once committed), to ${dependency.version}: ${refusal.why}`,
          expected: `${refusal.instead}; build with --allow-immutable-changes (it skips this comparison with the last build) where the clusters never ran ${deployed} or are rebuilt from scratch`,
        }),
      );
    }
  }
  return issues;
}
