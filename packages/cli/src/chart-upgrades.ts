// Whether the clusters can move to the upstream release each chart pins now, from the one the
// last build's chart pinned (`charts/<chart>/Chart.yaml`'s dependency): a chart whose component
// says how its upstream moves (`ChartDependency.upgradePath`: Cilium one minor release up or back,
// Longhorn one up and none back) is refused a pin outside that path (`chart-upgrade-path`, an
// error); one whose upstream only recommends its path (cert-manager: one minor release up) is
// warned of (the path's `severity`). Skipped with --allow-immutable-changes, like every
// comparison with the last build. Pure.
import {
  type ChartSpec,
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
    if (deployed === undefined || deployed === dependency.version) continue;
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
