// Upstream versions this package pins. Renovate updates the chart through the comment below
// (a `customManagers` regex rule matches `// renovate: datasource=… depName=… registryUrl=…`
// followed by a `version: '…'` line).

/** The upstream argo-cd Helm chart wrapped by charts/argo-cd. */
export const ARGOCD_CHART = {
  name: 'argo-cd',
  repository: 'https://argoproj.github.io/argo-helm',
  // renovate: datasource=helm depName=argo-cd registryUrl=https://argoproj.github.io/argo-helm
  version: '10.1.1',
} as const;

/** Argo CD release shipped by that chart (its `appVersion`). */
export const ARGOCD_APP_VERSION = 'v3.4.4';
