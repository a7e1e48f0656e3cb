// Upstream versions this package pins. Renovate updates the chart through the comment below
// (a `customManagers` regex rule matches `// renovate: datasource=… depName=… registryUrl=…`
// followed by a `version: '…'` line).
import type { UpstreamPin } from '@homelab/core';

/** The upstream argo-cd Helm chart wrapped by charts/argo-cd. */
export const ARGOCD_CHART = {
  name: 'argo-cd',
  repository: 'https://argoproj.github.io/argo-helm',
  // renovate: datasource=helm depName=argo-cd registryUrl=https://argoproj.github.io/argo-helm
  version: '10.1.1',
} as const;

/** Argo CD release shipped by that chart (its `appVersion`). */
export const ARGOCD_APP_VERSION = 'v3.4.4';

/**
 * The image repositories chart 10.1.1 runs with our values (the Helm suite checks every image it
 * renders is here): Argo CD itself, Redis, and HAProxy in front of Redis HA.
 */
export const ARGOCD_IMAGES = {
  argocd: 'quay.io/argoproj/argocd',
  redis: 'ecr-public.aws.com/docker/library/redis',
  haproxy: 'ecr-public.aws.com/docker/library/haproxy',
} as const;

const ARGOCD_RAW = 'https://raw.githubusercontent.com/argoproj/argo-cd';

/**
 * The upstream artifacts @homelab/argocd pins: the argo-cd chart (with its redis-ha dependency
 * inside), and the Argo CD CRDs of its app version, which the conformance tests check the
 * generated Applications and AppProjects against.
 */
export const ARGOCD_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: ARGOCD_CHART.name,
    version: ARGOCD_CHART.version,
    repository: ARGOCD_CHART.repository,
    licence: 'Apache-2.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/argoproj/argo-helm/releases/download/argo-cd-<version>/…
    archives: 'github-releases',
  },
  ...['application', 'applicationset', 'appproject'].map(
    (name): UpstreamPin => ({
      kind: 'file',
      path: `upstream/argo-cd/crds-${ARGOCD_APP_VERSION}/${name}-crd.yaml`,
      url: `${ARGOCD_RAW}/${ARGOCD_APP_VERSION}/manifests/crds/${name}-crd.yaml`,
      version: ARGOCD_APP_VERSION,
      licence: 'Apache-2.0',
    }),
  ),
];
