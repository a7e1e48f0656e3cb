// The OpenID Connect client Argo CD declares; the `oidc-provider` registers it. Pure.
import type { OidcClientRequest, ResolvedCluster } from '@homelab/core';
import type { ResolvedArgocdSettings } from './settings.js';

/** Host name of the Argo CD server on a cluster. */
export function argocdHost(cluster: ResolvedCluster): string {
  return `argocd.${cluster.domain}`;
}

/** Scopes Argo CD requests (`groups` feeds the RBAC policy). */
export const ARGOCD_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/**
 * The confidential client Argo CD logs users in with. The secret is only a reference: the same
 * Kubernetes Secret key Argo CD reads, filled by the secrets provider.
 */
export function argocdOidcClient(
  cluster: ResolvedCluster,
  settings: ResolvedArgocdSettings,
): OidcClientRequest | undefined {
  if (settings.oidc === undefined) return undefined;
  return {
    id: settings.oidc.clientId,
    name: 'Argo CD',
    redirectUris: [`https://${argocdHost(cluster)}/auth/callback`],
    scopes: ARGOCD_OIDC_SCOPES,
    pkce: false,
    public: false,
    secret: settings.oidc.clientSecret,
    policy: 'one_factor',
    groups: [...new Set([...settings.adminGroups, ...settings.readonlyGroups])].sort(),
  };
}
