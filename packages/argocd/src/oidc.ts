// The OpenID Connect clients Argo CD declares; the `oidc-provider` registers them. Pure.
import type { OidcClientRequest, PathSegment, ResolvedCluster, Values } from '@homelab/core';
import { PRUNE, SYNC_OPTIONS_ANNOTATION } from '@homelab/core';
import type { ResolvedArgocdSettings } from './settings.js';

/** Host name of the Argo CD server on a cluster. */
export function argocdHost(cluster: ResolvedCluster): string {
  return `argocd.${cluster.domain}`;
}

/** Scopes Argo CD's web login requests (`groups` feeds the RBAC policy). */
export const ARGOCD_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/**
 * The scopes of the web login: with `renewSessions`, also `offline_access`, for the refresh token
 * the server caches at the login and renews the browser's session with, before the ID token
 * expires (`refreshTokenThreshold`, below). Without it Authelia issues none (oauthelia2 issues
 * refresh tokens only where `offline_access` was granted), and the UI fails with 401s once the ID
 * token's hour is over (argoproj/argo-cd#12189).
 */
export function webScopes(renewSessions: boolean): readonly string[] {
  return renewSessions ? [...ARGOCD_OIDC_SCOPES, 'offline_access'] : ARGOCD_OIDC_SCOPES;
}

/**
 * The lifespans (seconds) of Authelia 4.39's tokens by default: ID and access token an hour,
 * refresh token 90 minutes (internal/configuration/schema/identity_providers.go, v4.39.19).
 * Assumed where the `oidc-provider` does not state its own, as the issuer is Authelia's address
 * until one runs.
 */
export const DEFAULT_TOKEN_LIFESPANS = {
  idToken: 3600,
  accessToken: 3600,
  refreshToken: 5400,
} as const;

/** Seconds as a duration Go's `time.ParseDuration` reads (`1h30m`, `30m`, `45s`, `0s`). */
export function goDuration(seconds: number): string {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const text = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  return text === '' ? '0s' : text;
}

/**
 * `oidc.config` `refreshTokenThreshold`: half the provider's ID token lifespan (30m for
 * Authelia's hour). What Argo CD v3.4.4 does with it (read at that tag): a request whose ID token
 * verifies and has less than the threshold left (server/server.go `getClaims`,
 * util/oidc/oidc.go `CheckAndRefreshToken`) is refreshed with the refresh token the server cached
 * at the web login (`HandleCallback`, the cache entry living as long as the ID token), through
 * `oauth2.ReuseTokenSourceWithExpiry` with the threshold as early expiry (`GetTokenSourceFromCache`:
 * it counts the access token's expiry, an hour too); the new ID token goes back to the browser as
 * the `argocd.token` cookie (`translateGrpcCookieHeader`). An expired ID token is refused before
 * any refresh (fixed only in v3.4.7, #27777): a session lives on only if the UI makes a request in
 * the last threshold of its ID token. Half the hour gives the UI in use a 30-minute window, and
 * renews a session at most every 30 minutes (each renewal is a call to the provider, and
 * concurrent requests can race on one refresh token, whose reuse oauthelia2 answers by revoking
 * the session's tokens). Below the ID token's lifespan, or every request would refresh. A browser
 * closed for longer than the ID token logs in again.
 */
export function refreshTokenThreshold(idTokenLifespan: number): string {
  return goDuration(idTokenLifespan / 2);
}

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
 * The clients Argo CD logs users in with: the web UI's (confidential, PKCE, its secret only a
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
    // With offline_access (`renewSessions`: the refresh token that renews the browser's
    // session), Authelia 4.39 asks for consent at every web login, whatever the client's consent
    // mode (oidc.RequesterRequiresExplicitConsent, v4.39.19): one click per login, and a login
    // then lasts as long as the UI is in use instead of an hour.
    scopes: webScopes(oidc.renewSessions),
    idTokenClaims: ARGOCD_ID_TOKEN_CLAIMS,
    // oidc.config's enablePKCEAuthentication: the server's login sends an S256 challenge and its
    // code exchange the verifier, with the client secret (v3.4.4 util/oidc/oidc.go `usePKCE`),
    // so a login code read on its way back (a log, a proxy) is of no use without the verifier.
    pkce: true,
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
    // `argocd login --sso` requests the web login's scopes and adds offline_access whenever the
    // provider advertises it (v3.4.4 pkg/apiclient/apiclient.go `OIDCConfig`); with
    // `renewSessions` it is among them already, and the provider reads each once (oauthelia2
    // `AppendRequestedScope`).
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
 * issuer (discovery, token, userinfo) trusting the system roots, or, where `rootCA` is set, the
 * certificates of `rootCA` alone (a pool of its own in place of the system's), so without it a
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
