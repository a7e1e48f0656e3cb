// `homelab vendor sync|verify|outdated` and `homelab upgrade-check`: the pins every registered
// component declares (plus Talos' schemas), fetched into vendor/, checked against the lock, and
// the upgrade report of a newer vendored release. Imported lazily by the CLI.
import { join } from 'node:path';
import {
  type AnyComponent,
  type ChartSpec,
  type HelmChartPin,
  HomelabError,
  mergeValues,
  type Registry,
  readChartArchiveFile,
  readFailureCode,
  readRegularFile,
  type UpstreamPin,
  type Values,
  vendorPath,
} from '@homelab/core';
import { TALOS_UPSTREAM } from '@homelab/talos-config';
import {
  formatValuesUpgradeReport,
  httpFetcher,
  MAX_ARTIFACT_BYTES,
  mirrorProblem,
  type SyncResult,
  syncVendor,
  type ValuesUpgradeReport,
  valuesUpgradeReport,
  verifyVendor,
} from '@homelab/vendor';
import { UserError } from './user-error.js';

/** Every pin of the platform: the registered components' and Talos' schemas, by vendored path. */
export function platformPins(registry: Registry): UpstreamPin[] {
  const byPath = new Map<string, UpstreamPin>();
  for (const pin of [...registry.flatMap((component) => component.upstream), ...TALOS_UPSTREAM]) {
    byPath.set(vendorPath(pin), pin);
  }
  return [...byPath.keys()].sort().map((path) => byPath.get(path) as UpstreamPin);
}

/**
 * `homelab vendor sync [--mirror DIR]`. A `--mirror` that names no offline mirror (missing, not a
 * folder, no SOURCES.md) is the user's argument gone wrong, like an unreadable `--config`: a
 * `UserError` (exit 1), raised before anything is read, reused or written.
 */
export async function sync(
  root: string,
  registry: Registry,
  mirror: string | undefined,
  log: (line: string) => void,
): Promise<SyncResult> {
  const problem = mirror === undefined ? undefined : mirrorProblem(mirror);
  if (problem !== undefined) {
    throw new UserError(
      `--mirror ${problem}; pass its path, or leave --mirror out to download from upstream`,
    );
  }
  const result = await syncVendor({
    pins: platformPins(registry),
    vendorDir: join(root, 'vendor'),
    source: mirror === undefined ? { fetch: httpFetcher() } : { mirror },
    onArtifact: (path, how) => log(`${how.padEnd(8)} ${path}`),
  });
  // What no pin needs any more is gone from vendor/: named, as what was kept or fetched is.
  for (const path of result.removed) log(`${'removed'.padEnd(8)} ${path}`);
  return result;
}

export function verify(root: string, registry: Registry) {
  return verifyVendor(join(root, 'vendor'), platformPins(registry));
}

/** The chart pins of a component, by version. */
function chartPins(component: AnyComponent): HelmChartPin[] {
  return component.upstream.filter((pin): pin is HelmChartPin => pin.kind === 'helm-chart');
}

function compareVersions(a: string, b: string): number {
  const pa = a
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
  const pb = b
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What we set under the upstream chart, merged over every cluster's layers (for the report). */
export function ourUpstreamValues(spec: ChartSpec): Values {
  const key = spec.dependency?.name;
  if (key === undefined) return {};
  const layers: Values[] = [];
  const pick = (values: Values | undefined): void => {
    const under = values?.[key];
    if (typeof under === 'object' && under !== null && !Array.isArray(under))
      layers.push(under as Values);
  };
  pick(spec.values);
  for (const env of Object.values(spec.environments)) pick(env);
  for (const cluster of Object.values(spec.clusters)) pick(cluster);
  return mergeValues({}, ...layers);
}

export interface UpgradeCheck {
  readonly component: string;
  readonly chart: string;
  readonly from: string;
  readonly to: string;
  readonly report: ValuesUpgradeReport;
  readonly text: string;
}

/**
 * The upgrade report of `component`'s chart from the version its chart uses to `to` (a version
 * it pins, so that the archive is vendored): every key we set that the new release removed,
 * renamed or retyped, and the defaults we rely on that changed. `to` may be older than the
 * release in use (the report of going back to it). Refusals (no upstream chart, the release in
 * use, a version not pinned) are `UserError`s: exit 1, as for an unknown component.
 */
export function upgradeCheck(
  root: string,
  component: AnyComponent,
  spec: ChartSpec,
  to: string,
): UpgradeCheck {
  const dependency = spec.dependency;
  if (dependency === undefined) {
    // A refused request about the definition's components, as an unknown one is: exit 1.
    throw new UserError(
      `${component.name} wraps no upstream chart: nothing to upgrade (homelab vendor outdated lists the charts with newer pinned releases)`,
    );
  }
  if (to === dependency.version) {
    // After the pin moved (a Renovate pull request), both sides are the new release: the report
    // would compare a release with itself and find nothing, whatever changed.
    throw new UserError(
      `${component.name} already uses ${dependency.name} ${to}: upgrade-check compares the release in use with another pinned one (newer, or older to go back), so run it before moving the pin (homelab vendor outdated lists the newer pinned releases)`,
    );
  }
  const pins = chartPins(component).filter((pin) => pin.name === dependency.name);
  const target = pins.find((pin) => pin.version === to);
  if (target === undefined) {
    const known = pins.map((pin) => pin.version).sort(compareVersions);
    throw new UserError(
      `${component.name} pins no ${dependency.name} chart ${to}: add it to the component's upstream pins and run homelab vendor sync (pinned: ${known.join(', ') || 'none'})`,
    );
  }
  const read = (version: string): string => {
    const path = join(
      root,
      'vendor',
      `charts/${dependency.name}/${version}/${dependency.name}-${version}.tgz`,
    );
    let bytes: Uint8Array;
    try {
      // Bounded: a FIFO, a folder or a symlink in place of the archive is refused by name.
      bytes = readRegularFile(path, { maxBytes: MAX_ARTIFACT_BYTES });
    } catch (cause) {
      const code = readFailureCode(cause);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw cause;
      throw new HomelabError(
        `vendor/ has no ${dependency.name} ${version}: run homelab vendor sync`,
        { cause },
      );
    }
    return readChartArchiveFile(bytes, `${dependency.name}/values.yaml`);
  };
  const report = valuesUpgradeReport(read(dependency.version), read(to), ourUpstreamValues(spec));
  return {
    component: component.name,
    chart: dependency.name,
    from: dependency.version,
    to,
    report,
    text: formatValuesUpgradeReport(report),
  };
}

/** The newest pinned release of each component's chart that is newer than the one in use. */
export function outdated(
  registry: Registry,
  charts: ReadonlyMap<string, ChartSpec>,
): { component: AnyComponent; spec: ChartSpec; newest: string }[] {
  const out: { component: AnyComponent; spec: ChartSpec; newest: string }[] = [];
  for (const component of registry) {
    const spec = charts.get(component.name);
    const dependency = spec?.dependency;
    if (spec === undefined || dependency === undefined) continue;
    const newer = chartPins(component)
      .filter(
        (pin) =>
          pin.name === dependency.name && compareVersions(pin.version, dependency.version) > 0,
      )
      .map((pin) => pin.version)
      .sort(compareVersions);
    const newest = newer[newer.length - 1];
    if (newest !== undefined) out.push({ component, spec, newest });
  }
  return out;
}
