// The upstream pins of @homelab/longhorn. Renovate bumps LONGHORN_CHART_VERSION (the
// `customManagers` rule of renovate.json); a bump must also be added to the settings' `version`
// enum, and the conformance suite checks our values and custom resources against it.
import type { ChartUpgradePath, UpstreamPin } from '@homelab/core';
import type { LonghornSettings } from './generated/settings.js';

/** Longhorn chart versions the definition may ask for. */
export type LonghornVersion = NonNullable<LonghornSettings['version']>;

// renovate: datasource=helm depName=longhorn registryUrl=https://charts.longhorn.io
export const LONGHORN_CHART_VERSION = '1.8.1' satisfies LonghornVersion;

/**
 * The next release, vendored for upgrade readiness only (`homelab upgrade-check longhorn
 * 1.12.1`); not selectable until its values and CRDs pass the conformance suite, and Longhorn
 * upgrades one minor release at a time (1.8 → 1.9 → 1.10 → 1.11 → 1.12).
 */
export const LONGHORN_NEXT_CHART_VERSION = '1.12.1';

export const LONGHORN_REPOSITORY = 'https://charts.longhorn.io';

/**
 * How a running Longhorn moves between releases (`components.longhorn.version` against the last
 * build's, `chart-upgrade-path`): longhorn-manager v1.8.1 checks the path before it starts
 * (upgrade/upgrade.go, `CheckUpgradePath` in upgrade/util/util.go, `checkLHUpgradePath`) and
 * fails to start on a minor release skipped or any release back, a patch release included:
 * the storage of every cluster stops with it.
 */
export const LONGHORN_UPGRADE_PATH: ChartUpgradePath = {
  product: 'Longhorn',
  rollback: 'none',
  source:
    'longhorn-manager refuses to start: "upgrading from … for minor version is not supported", "downgrading from … is not supported" (upgrade/util/util.go `checkLHUpgradePath`)',
};

/**
 * The image repositories of Longhorn 1.8.1's pods (Docker Hub's `longhornio/`): those the chart
 * renders, and those it hands the manager to start (`--engine-image` and the other `--…-image`
 * flags, the driver deployer's `CSI_…_IMAGE` variables). The Helm suite checks every one it
 * renders is here.
 */
export const LONGHORN_IMAGE_REPOSITORIES: readonly string[] = [
  'backing-image-manager',
  'csi-attacher',
  'csi-node-driver-registrar',
  'csi-provisioner',
  'csi-resizer',
  'csi-snapshotter',
  'livenessprobe',
  'longhorn-engine',
  'longhorn-instance-manager',
  'longhorn-manager',
  'longhorn-share-manager',
  'longhorn-ui',
  'support-bundle-kit',
].map((name) => `docker.io/longhornio/${name}`);

/** Upstream app version by chart version (the chart's appVersion). */
export const LONGHORN_APP_VERSIONS: { readonly [V in LonghornVersion]: string } = {
  '1.8.1': 'v1.8.1',
};

/** The CSI driver Longhorn registers. */
export const LONGHORN_CSI_DRIVER = 'driver.longhorn.io';

/** The chart archives (their CRDs are in templates/crds.yaml, read by the conformance tests). */
export const LONGHORN_UPSTREAM: readonly UpstreamPin[] = [
  LONGHORN_CHART_VERSION,
  LONGHORN_NEXT_CHART_VERSION,
].map(
  (version): UpstreamPin => ({
    kind: 'helm-chart',
    name: 'longhorn',
    version,
    repository: LONGHORN_REPOSITORY,
    licence: 'Apache-2.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/longhorn/charts/releases/download/longhorn-<version>/…
    archives: 'github-releases',
  }),
);
