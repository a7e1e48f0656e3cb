// Pins of upstream artifacts: what `vendor/` holds (DESIGN.md, "Vendored upstream"). An offline
// mirror given to `homelab vendor sync --mirror DIR` has the same layout, so a mirror is read at
// `<mirror>/<vendorPath>` and tests read `vendor/<vendorPath>` with the same relative paths.

/** An upstream artifact a component needs, at a pinned version. */
export type UpstreamPin = HelmChartPin | FilePin;

/** A published Helm chart archive, resolved through its repository's `index.yaml`. */
export interface HelmChartPin {
  readonly kind: 'helm-chart';
  readonly name: string;
  readonly version: string;
  /** Helm repository URL; index.yaml is at <repository>/index.yaml */
  readonly repository: string;
  /** SPDX licence identifier of the chart. */
  readonly licence: string;
  /**
   * Where the repository's index.yaml points the chart's archives when not at the repository
   * itself. `github-releases`: chart-releaser's `https://github.com/<owner>/<repo>/releases/download/<chart>-<version>/<chart>-<version>.tgz`,
   * which GitHub redirects to `release-assets.githubusercontent.com`; whoever fetches the chart
   * (Argo CD's repo-server, under default deny) must reach both hosts.
   */
  readonly archives?: 'github-releases';
}

/** The hosts a chart archive on GitHub Releases is downloaded from: the release URL, then its redirect. */
export const GITHUB_RELEASE_HOSTS: readonly string[] = [
  'https://github.com',
  'https://release-assets.githubusercontent.com',
];

/** One verbatim upstream file: a schema, a CRD bundle, a manifest. */
export interface FilePin {
  readonly kind: 'file';
  /** vendor-relative path, e.g. upstream/talos/v1.12.11/config.schema.json */
  readonly path: string;
  /** where upstream publishes it (release asset / raw file at a tag) */
  readonly url: string;
  readonly version: string;
  /** SPDX licence identifier of the file. */
  readonly licence: string;
}

/**
 * The most bytes one artifact may have, downloaded or read from vendor/ or a mirror: 256 MiB,
 * some 180 times the largest vendored one (Argo CD's ApplicationSet CRD, 1.4 MB), and what
 * `homelab release` allows a vendored archive. A larger file is refused by name, never loaded.
 */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

/** vendor-relative path of a chart archive: `charts/<name>/<version>/<name>-<version>.tgz`. */
export function chartArchivePath(name: string, version: string): string {
  return `charts/${name}/${version}/${name}-${version}.tgz`;
}

/** vendor-relative path of a pin: charts/<name>/<version>/<name>-<version>.tgz for charts, `path` for files. */
export function vendorPath(pin: UpstreamPin): string {
  return pin.kind === 'helm-chart' ? chartArchivePath(pin.name, pin.version) : pin.path;
}
