// Upstream versions this package pins. Renovate updates the chart through the comment below.
import type { UpstreamPin } from '@homelab/core';

/** The upstream gatekeeper Helm chart wrapped by charts/gatekeeper. */
export const GATEKEEPER_CHART = {
  name: 'gatekeeper',
  repository: 'https://open-policy-agent.github.io/gatekeeper/charts',
  // renovate: datasource=helm depName=gatekeeper registryUrl=https://open-policy-agent.github.io/gatekeeper/charts
  version: '3.23.0',
} as const;

/** Gatekeeper release shipped by that chart (its `appVersion`). */
export const GATEKEEPER_APP_VERSION = 'v3.23.0';

/**
 * The upstream artifacts @homelab/policy pins: the gatekeeper chart (its `crds/` hold the
 * ConstraintTemplate and Config CRDs the conformance tests check our objects against).
 */
export const POLICY_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: GATEKEEPER_CHART.name,
    version: GATEKEEPER_CHART.version,
    repository: GATEKEEPER_CHART.repository,
    licence: 'Apache-2.0',
  },
];
