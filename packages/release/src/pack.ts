import { tar } from '@homelab/core';
import { gzipSync } from 'fflate';
import { parse } from 'yaml';
import { type ChartFiles, type FileContent, sortedEntries, toBytes } from './files.js';
import { isPackaged, parseHelmignore } from './helmignore.js';
import { ReleaseRefused } from './refusal.js';

export interface PackOptions {
  /** Chart name: the archive's top folder; must equal `Chart.yaml`'s `name`. */
  readonly chart: string;
  /** Must equal `Chart.yaml`'s `version` (a stale build is refused). */
  readonly version: string;
  /** Modification time of every entry, seconds since the epoch (the release commit's time). */
  readonly mtime: number;
}

/** The files of a chart folder that `helm package` would put in the archive, sorted by path. */
export function packagedFiles(files: ChartFiles): [string, FileContent][] {
  const entries = sortedEntries(files);
  const ignore = entries.find(([path]) => path === '.helmignore');
  const rules = parseHelmignore(
    ignore === undefined ? undefined : new TextDecoder().decode(toBytes(ignore[1])),
  );
  return entries.filter(([path]) => isPackaged(rules, path));
}

/** Reads `name` and `version` from a chart's `Chart.yaml` text. */
export function chartIdentity(chartYaml: string): { name: unknown; version: unknown } {
  const data: unknown = parse(chartYaml);
  if (typeof data !== 'object' || data === null) return { name: undefined, version: undefined };
  const { name, version } = data as { name?: unknown; version?: unknown };
  return { name, version };
}

/**
 * Why a chart's `Chart.yaml` is not the one the build writes for `chart` at `version` (its
 * `package.json` version; `undefined`: it is): a version bumped by hand or by `changeset version`
 * without the build, whose content and digest are still the previous version's. Release and
 * record both refuse it (the sentence ends with "regenerate (pnpm build)": add before what).
 */
export function staleChartYaml(
  chartYaml: string,
  chart: string,
  version: string,
): string | undefined {
  const { name, version: found } = chartIdentity(chartYaml);
  if (name === chart && found === version) return undefined;
  return `charts/${chart}/Chart.yaml is ${String(name)} ${String(found)}, expected ${chart} ${version}: regenerate (pnpm build)`;
}

/**
 * A reproducible Helm chart archive (`<chart>-<version>.tgz`): a tar of the files Helm would
 * package (`.helmignore` honoured), each under `<chart>/`, sorted by path, mode 0644, owner and
 * group 0 with empty names, one fixed mtime; gzip with mtime 0, no file name, a fixed OS byte,
 * compressed by a pure-JavaScript deflate (fflate) so the bytes do not depend on the zlib build.
 */
export function packChart(files: ChartFiles, options: PackOptions): Uint8Array {
  const kept = packagedFiles(files);
  const chartYaml = kept.find(([path]) => path === 'Chart.yaml');
  if (chartYaml === undefined) {
    throw new ReleaseRefused(`charts/${options.chart}: no Chart.yaml to package`);
  }
  const stale = staleChartYaml(
    new TextDecoder().decode(toBytes(chartYaml[1])),
    options.chart,
    options.version,
  );
  if (stale !== undefined) throw new ReleaseRefused(`${stale} before releasing`);
  const archive = tar(
    kept.map(([path, content]) => ({
      path: `${options.chart}/${path}`,
      data: toBytes(content),
      mode: 0o644,
      mtime: options.mtime,
    })),
  );
  return gzipSync(archive, { level: 9, mtime: 0 });
}
