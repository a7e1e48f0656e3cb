// Pinned upstream artifacts (DESIGN.md, "Vendored upstream"): what a component pins, and where
// `homelab vendor sync` puts it under vendor/. Pure.

/** An upstream artifact a component pins; `homelab vendor sync` fetches it into vendor/. */
export type UpstreamPin = HelmChartPin | FilePin;

/** A published Helm chart archive. */
export interface HelmChartPin {
  readonly kind: 'helm-chart';
  readonly name: string;
  readonly version: string;
  /** Helm repository URL; index.yaml is at <repository>/index.yaml. */
  readonly repository: string;
  /** SPDX licence identifier. */
  readonly licence: string;
}

/** A file published upstream (a release asset, or a raw file at a tag). */
export interface FilePin {
  readonly kind: 'file';
  /** vendor-relative path, e.g. upstream/talos/v1.12.11/config.schema.json */
  readonly path: string;
  /** Where upstream publishes it. */
  readonly url: string;
  readonly version: string;
  /** SPDX licence identifier. */
  readonly licence: string;
}

/** vendor-relative path of a pin: charts/<name>/<version>/<name>-<version>.tgz for charts, `path` for files. */
export function vendorPath(pin: UpstreamPin): string {
  return pin.kind === 'helm-chart'
    ? `charts/${pin.name}/${pin.version}/${pin.name}-${pin.version}.tgz`
    : pin.path;
}
