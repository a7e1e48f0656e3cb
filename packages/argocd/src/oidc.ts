// The OpenID Connect clients Argo CD declares; the `oidc-provider` registers them. Pure.
import type { OidcClientRequest, PathSegment, ResolvedCluster, Values } from '@homelab/core';
import { PRUNE, SYNC_OPTIONS_ANNOTATION } from '@homelab/core';
import type { ResolvedArgocdSettings } from './settings.js';

/** Host name of the Argo CD server on a cluster. */
export function argocdHost(cluster: ResolvedCluster): string {
  return `argocd.${cluster.domain}`;
}

/** Scopes Argo CD requests (`groups` feeds the RBAC policy). */
export const ARGOCD_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/**
 * Claims Argo CD reads from the ID token: its RBAC takes `groups` from the token the browser or
 * the CLI presents (`rbac.scopes: [groups]`), and its user name is the token's `email`, else the
 * opaque `sub` (util/session/sessionmanager.go `Username`, v3.4.4): the name in the UI's user
 * info, in every sync's `initiatedBy` and in the audit events. Authelia 4.39 puts neither in the
 * ID token unless the client's claims policy names them. The userinfo endpoint is no substitute: with
 * `enableUserInfoGroups` the server reads userinfo with an access token it cached at a web login
 * only (util/oidc/oidc.go `GetUserInfo`, v3.4.4), so a CLI session (`argocd login --sso`) gets
 * "invalid session" unless its user logged in through the web UI within the hour.
 */
export const ARGOCD_ID_TOKEN_CLAIMS: readonly string[] = ['email', 'groups'];

/**
 * Where `argocd login --sso` listens for the provider's redirect (the CLI's default
 * `--sso-port` 8085 on localhost).
 */
export const ARGOCD_CLI_REDIRECT = 'http://localhost:8085/auth/callback';

/** The groups the clients let in, each with the setting that names it. */
function groupsWithOrigins(
  settings: ResolvedArgocdSettings,
  path: (...segments: PathSegment[]) => PathSegment[],
): { groups: string[]; origins: PathSegment[][] } {
  const byGroup = new Map<string, PathSegment[]>();
  settings.adminGroups.forEach((group, index) => {
    if (!byGroup.has(group)) byGroup.set(group, path('adminGroups', index));
  });
  settings.readonlyGroups.forEach((group, index) => {
    if (!byGroup.has(group)) byGroup.set(group, path('readonlyGroups', index));
  });
  const groups = [...byGroup.keys()].sort();
  return { groups, origins: groups.map((group) => byGroup.get(group) as PathSegment[]) };
}

/**
 * The clients Argo CD logs users in with: the web UI's (confidential, its secret only a
 * reference: the same Secret key Argo CD reads, filled by the secrets provider), and the CLI's
 * (`argocd login --sso`: public, PKCE, a loopback redirect). Both trust `issuer`.
 */
export function argocdOidcClients(
  cluster: ResolvedCluster,
  settings: ResolvedArgocdSettings,
  issuer: string,
  path: (...segments: PathSegment[]) => PathSegment[],
): OidcClientRequest[] {
  const oidc = settings.oidc;
  if (oidc === undefined) return [];
  const { groups, origins } = groupsWithOrigins(settings, path);
  const urls = [`https://${argocdHost(cluster)}`, ...settings.additionalUrls];
  const web: OidcClientRequest = {
    id: oidc.clientId,
    name: 'Argo CD',
    redirectUris: urls.map((url) => `${url}/auth/callback`),
    scopes: ARGOCD_OIDC_SCOPES,
    idTokenClaims: ARGOCD_ID_TOKEN_CLAIMS,
    pkce: false,
    public: false,
    secret: oidc.clientSecret,
    policy: oidc.policy,
    groups,
    issuer,
    origins: {
      client: path('oidc'),
      redirectUris: [
        path('oidc'),
        ...settings.additionalUrls.map((_, i) => path('additionalUrls', i)),
      ],
      groups: origins,
    },
  };
  if (oidc.cliClientId === undefined) return [web];
  const cli: OidcClientRequest = {
    id: oidc.cliClientId,
    name: 'Argo CD CLI',
    redirectUris: [ARGOCD_CLI_REDIRECT],
    scopes: [...ARGOCD_OIDC_SCOPES, 'offline_access'],
    idTokenClaims: ARGOCD_ID_TOKEN_CLAIMS,
    pkce: true,
    public: true,
    policy: oidc.policy,
    groups,
    issuer,
    origins: { client: path('oidc'), redirectUris: [path('oidc', 'cli')], groups: origins },
  };
  return [web, cli];
}

/**
 * The Secret that brings a private CA to Argo CD: `oidc.config`'s `rootCA` reads its `ca.crt`
 * (`$argocd-oidc-ca:ca.crt`), which Argo CD resolves only from Secrets labelled
 * `app.kubernetes.io/part-of: argocd`.
 */
export const OIDC_CA_SECRET = 'argocd-oidc-ca';

/**
 * The Certificate whose Secret carries the platform's private CA into Argo CD's namespace:
 * cert-manager puts the CA of the issuer that signed it in `ca.crt`. Argo CD's server calls the
 * issuer (discovery, token, userinfo) with the system roots plus `rootCA` only, so without it a
 * private CA ends every SSO login with "x509: certificate signed by unknown authority"
 * (util/settings/settings.go `OIDCTLSConfig`, v3.4.4).
 */
export function oidcCaCertificate(
  issuerRef: { readonly group: string; readonly kind: string; readonly name: string },
  namespace: string,
): Values {
  const labels = { 'app.kubernetes.io/part-of': 'argocd' };
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: OIDC_CA_SECRET,
      namespace,
      labels,
      // Argo CD's Application is critical (Prune=false): without its own Prune=true the
      // Certificate would stay, and keep the Application OutOfSync, once SSO or the private CA
      // is dropped (gitops-engine v3.4 isPruningDisabled reads the object's option first).
      // cert-manager v1 leaves the Secret it made when a Certificate goes.
      annotations: { [SYNC_OPTIONS_ANNOTATION]: PRUNE },
    },
    spec: {
      secretName: OIDC_CA_SECRET,
      secretTemplate: { labels },
      commonName: OIDC_CA_SECRET,
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { ...issuerRef },
    },
  };
}
