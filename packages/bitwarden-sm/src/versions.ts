// Upstream versions this package pins. Renovate updates the chart through the comment below
// (the `customManagers` regex rule of renovate.json).
import type { UpstreamPin } from '@homelab/core';

/**
 * The upstream sm-operator Helm chart wrapped by charts/sm-operator. AGPL-3.0: vendored
 * unmodified, used as a dependency; nothing of it is copied into this package (the
 * BitwardenSecret schema in validators.ts is our own, written from the documented fields).
 */
export const SM_OPERATOR_CHART = {
  name: 'sm-operator',
  repository: 'https://charts.bitwarden.com',
  // renovate: datasource=helm depName=sm-operator registryUrl=https://charts.bitwarden.com
  version: '2.0.3',
} as const;

/** The operator release that chart ships (its `appVersion`). */
export const SM_OPERATOR_APP_VERSION = '2.1.0';

/** The upstream artifacts @homelab/bitwarden-sm pins (`homelab vendor sync` fetches them). */
export const BITWARDEN_SM_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: SM_OPERATOR_CHART.name,
    version: SM_OPERATOR_CHART.version,
    repository: SM_OPERATOR_CHART.repository,
    licence: 'AGPL-3.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/bitwarden/helm-charts/releases/download/sm-operator-<version>/…
    archives: 'github-releases',
  },
];
