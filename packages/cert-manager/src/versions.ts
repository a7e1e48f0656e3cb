// The upstream pin of @homelab/cert-manager. Renovate bumps the chart through the comment below
// (the `customManagers` rule of renovate.json); a bump outside the settings schema's `version`
// enum fails the typecheck, so a new release is added there, reviewed and tested first.
import type { ChartUpgradePath, UpstreamPin } from '@homelab/core';
import type { CertManagerSettings } from './generated/settings.js';

/** cert-manager chart versions the definition may ask for (`components.cert-manager.version`). */
export type CertManagerVersion = NonNullable<CertManagerSettings['version']>;

/** The upstream cert-manager Helm chart wrapped by charts/cert-manager. */
export const CERT_MANAGER_CHART = {
  name: 'cert-manager',
  repository: 'https://charts.jetstack.io',
  // renovate: datasource=helm depName=cert-manager registryUrl=https://charts.jetstack.io
  version: 'v1.21.1',
} as const satisfies { readonly version: CertManagerVersion } & { readonly [key: string]: string };

/** The cert-manager release of that chart (its `appVersion`). */
export const CERT_MANAGER_APP_VERSION = 'v1.21.1';

/**
 * How a running cert-manager moves from the release the last build pinned (`chart-upgrade-path`):
 * its upgrade guide recommends one minor release at a time, so a bump that skips one is a
 * warning, not an error; it says nothing of going back, so no earlier release is refused.
 */
export const CERT_MANAGER_UPGRADE_PATH: ChartUpgradePath = {
  product: 'cert-manager',
  severity: 'warning',
  source:
    'its upgrade guide: "We recommend that you upgrade cert-manager one minor version at a time, always choosing the latest patch version for the minor version"',
};

/**
 * What @homelab/cert-manager pins: the chart archive, which also carries the CRDs
 * (`templates/crd-*.yaml`) the conformance tests check our issuers and certificates against.
 */
export const CERT_MANAGER_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: CERT_MANAGER_CHART.name,
    version: CERT_MANAGER_CHART.version,
    repository: CERT_MANAGER_CHART.repository,
    licence: 'Apache-2.0',
  },
];
