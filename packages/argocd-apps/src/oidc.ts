// The OpenID Connect client Argo CD declares; the Authelia component registers it. Pure.
import type { ResolvedCluster, ResolvedPlatform } from '@homelab/core';
import { ARGOCD_NAMESPACE, resolveArgocdSettings, type SecretKeyReference } from './settings.js';

/** Host name of the Argo CD server on a cluster. */
export function argocdHost(cluster: ResolvedCluster): string {
  return `argocd.${cluster.domain}`;
}

/** The OIDC issuer Argo CD trusts: Authelia on the cluster. */
export function oidcIssuer(cluster: ResolvedCluster): string {
  return `https://auth.${cluster.domain}`;
}

/** Scopes Argo CD requests (`groups` feeds the RBAC policy). */
export const ARGOCD_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/**
 * Everything the identity provider needs to register Argo CD as a confidential client
 * (Authelia's `identity_providers.oidc.clients[]`). The secret is only a reference: the same
 * Kubernetes Secret key Argo CD reads, filled by the secrets provider.
 */
export interface ArgocdOidcClient {
  readonly cluster: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly issuer: string;
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  readonly grantTypes: readonly string[];
  readonly responseTypes: readonly string[];
  readonly tokenEndpointAuthMethod: 'client_secret_basic';
  readonly public: false;
  /** Where the client secret lives; namespace `argocd`. */
  readonly secret: SecretKeyReference & { readonly namespace: string };
}

/**
 * The client Argo CD on `cluster` expects, or `undefined` when Argo CD is disabled there or
 * logs in without OIDC. Invalid settings also yield `undefined`; `renderArgocd` reports them.
 */
export function argocdOidcClient(
  _platform: ResolvedPlatform,
  cluster: ResolvedCluster,
): ArgocdOidcClient | undefined {
  const { settings } = resolveArgocdSettings(cluster);
  if (!settings.enabled || settings.oidc === undefined) return undefined;
  return {
    cluster: cluster.name,
    clientId: settings.oidc.clientId,
    clientName: 'Argo CD',
    issuer: oidcIssuer(cluster),
    redirectUris: [`https://${argocdHost(cluster)}/auth/callback`],
    scopes: ARGOCD_OIDC_SCOPES,
    grantTypes: ['authorization_code'],
    responseTypes: ['code'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    public: false,
    secret: { ...settings.oidc.clientSecret, namespace: ARGOCD_NAMESPACE },
  };
}
