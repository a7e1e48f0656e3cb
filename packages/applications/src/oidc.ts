// An application that logs its users in through the platform's OIDC provider (a route's `oidc`):
// the client the provider registers for the route's host, the Secret of the application's
// namespace that holds the client secret (the provider's copy comes from the same store entry),
// the flow of the pods behind the route to the issuer under default deny, and what the onboarding
// step tells the user to configure. Pure.
import {
  type CapabilityFacts,
  DEFAULT_CLUSTER_DOMAIN,
  type FlowDeclaration,
  type KubeObject,
  type OidcClientRequest,
  type PathSegment,
  type PodLabels,
  type SecretKeyRef,
  urlFlowPeer,
} from '@homelab/core';
import { labels } from './flows.js';
import type { ApplicationFlow, ApplicationRoute } from './generated/settings.js';

/** What an application asks for when `scopes` says nothing. */
export const DEFAULT_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/** The key of the client secret in its Secret when `clientSecret` says nothing. */
export const DEFAULT_OIDC_SECRET_KEY = 'client-secret';

type OidcProvider = CapabilityFacts['oidc-provider'];

/** A route's OIDC login, resolved on a cluster. */
export interface OidcLogin {
  readonly app: string;
  readonly namespace: string;
  /** The route's host label (`paperless` → `paperless.<domain>`). */
  readonly host: string;
  readonly client: OidcClientRequest;
  /**
   * The Secret of the application's namespace whose `ca.crt` is the platform's private CA, which
   * signed the issuer's certificate (a Certificate of the cluster's issuer there): the application
   * must trust it to call the issuer. Undefined where public roots sign it, or for a public client
   * (the browser calls the issuer, not the pods).
   */
  readonly caSecret?: string;
  /** Where its client secret's Secret is set (`oidc.clientSecret`, else `oidc`). */
  readonly secretOrigin: readonly PathSegment[];
}

/**
 * The Secret (and Certificate) in an application's namespace that holds the platform's private
 * CA in `ca.crt`, where a confidential client's pods call an issuer it signed.
 */
export const PLATFORM_CA_SECRET = 'platform-ca';

/**
 * The name of the flow the platform adds for a route's login, below the application's name (the
 * flow is `<app>-oidc-<host>`, and `-2`, `-3`… for more pod selectors).
 */
export function oidcFlowName(host: string): string {
  return `oidc-${host}`;
}

/**
 * The client the OIDC provider registers for `route` (its `oidc`, which is set): redirect URIs on
 * the route's host, the secret a key of a Secret in the application's namespace (none for a public
 * client).
 */
export function oidcClientRequest(input: {
  readonly app: string;
  readonly namespace: string;
  readonly route: ApplicationRoute & { readonly oidc: NonNullable<ApplicationRoute['oidc']> };
  readonly domain: string;
  readonly provider: OidcProvider;
  readonly at: (...rest: PathSegment[]) => PathSegment[];
}): OidcClientRequest {
  const { route, at } = input;
  const oidc = route.oidc;
  const id = oidc.clientId ?? route.host;
  const isPublic = oidc.public ?? false;
  const secret: SecretKeyRef | undefined = isPublic
    ? undefined
    : {
        namespace: input.namespace,
        name: oidc.clientSecret?.secretName ?? `${id}-oidc`,
        key: oidc.clientSecret?.key ?? DEFAULT_OIDC_SECRET_KEY,
      };
  const groups = oidc.groups ?? [];
  return {
    id,
    name: oidc.name ?? input.app,
    redirectUris: oidc.redirectPaths.map((path) => `https://${route.host}.${input.domain}${path}`),
    scopes: [...(oidc.scopes ?? DEFAULT_OIDC_SCOPES)],
    pkce: oidc.pkce ?? true,
    public: isPublic,
    ...(secret === undefined ? {} : { secret }),
    ...(isPublic || oidc.tokenEndpointAuthMethod === undefined
      ? {}
      : { tokenEndpointAuthMethod: oidc.tokenEndpointAuthMethod }),
    issuer: input.provider.issuer,
    ...(oidc.idTokenClaims === undefined ? {} : { idTokenClaims: [...oidc.idTokenClaims] }),
    origins: {
      client: at('oidc'),
      redirectUris: oidc.redirectPaths.map((_, index) => at('oidc', 'redirectPaths', index)),
      groups: groups.map((_, index) => at('oidc', 'groups', index)),
    },
    policy: oidc.policy ?? 'one_factor',
    ...(groups.length > 0 ? { groups: [...groups] } : {}),
  };
}

/**
 * The flows of the pods behind a route to the issuer (the login code exchanged for tokens, the
 * user read at the userinfo endpoint, the discovery document and keys fetched): through the
 * Gateway where the issuer is a routed host of the cluster (`auth.<domain>`), else by core's
 * `urlFlowPeer`. The pods behind the route are those the application's `gateway: true` flows
 * admit, one flow per distinct selector.
 */
export function oidcFlows(
  login: OidcLogin,
  flows: readonly ApplicationFlow[],
  defaultSelector: PodLabels,
  gatewayDomain: string | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowDeclaration[] {
  const issuer = login.client.issuer;
  // A public client's tokens are fetched by the browser (a single-page or native application).
  if (issuer === undefined || login.client.public) return [];
  const target = urlFlowPeer(issuer, gatewayDomain, clusterDomain);
  if (target === undefined) return [];
  const selectors = new Map<string, PodLabels>();
  for (const flow of flows) {
    if (flow.gateway !== true) continue;
    const selector = labels(flow.selector) ?? defaultSelector;
    selectors.set(JSON.stringify(Object.entries(selector).sort()), selector);
  }
  if (selectors.size === 0) {
    selectors.set(JSON.stringify(Object.entries(defaultSelector).sort()), defaultSelector);
  }
  const base = `${login.app}-${oidcFlowName(login.host)}`;
  return [...selectors.values()].map((selector, index) => ({
    name: index === 0 ? base : `${base}-${index + 1}`,
    direction: 'egress',
    namespace: login.namespace,
    selector,
    peer: target.peer,
    ports: target.ports,
    reason: `${login.app} exchanges the login code for tokens and reads the user at the OIDC issuer (${issuer}), client ${login.client.id}`,
    workloads: 'external',
  }));
}

/**
 * The onboarding's text of a route's login: what to configure in the application. The CLI's
 * `application-login-changed` reads it back from the last build's runbook, part by part (split at
 * "; " outside parentheses), and names the parts that changed: keep one setting per part.
 */
export function oidcLoginText(login: OidcLogin): string {
  const client = login.client;
  const issuer = client.issuer ?? '<issuer>';
  const parts = [
    `through the platform's OIDC provider: configure the application with issuer \`${issuer}\` (discovery \`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration\`)`,
    `client id \`${client.id}\``,
    client.secret === undefined
      ? 'no client secret (a public client)'
      : `the client secret from key \`${client.secret.key}\` of the Secret \`${client.secret.name}\` (filled from the secret store; the provider reads the same entry), sent ${client.tokenEndpointAuthMethod === 'client_secret_post' ? "in the token request's body (`client_secret_post`)" : 'with HTTP basic auth (`client_secret_basic`)'}: the provider refuses the other method`,
    `redirect URI${client.redirectUris.length === 1 ? '' : 's'} ${client.redirectUris.map((uri) => `\`${uri}\``).join(', ')}`,
    `scopes ${client.scopes.map((scope) => `\`${scope}\``).join(' ')}`,
    client.pkce ? 'PKCE with S256 (required)' : 'no PKCE',
    `the provider asks for ${client.policy === 'two_factor' ? 'two factors' : 'one factor'}${client.groups === undefined || client.groups.length === 0 ? '' : ` and lets in ${client.groups.map((group) => `\`${group}\``).join(', ')} only`}`,
    `the user's claims (name, email${client.scopes.includes('groups') ? ', `groups`' : ''}) are at the userinfo endpoint${
      (client.idTokenClaims ?? []).length > 0
        ? `, and ${(client.idTokenClaims ?? []).map((claim) => `\`${claim}\``).join(', ')} in the ID token too`
        : ', not in the ID token (`idTokenClaims` puts them there)'
    }`,
    ...(login.caSecret === undefined
      ? []
      : [
          `the issuer's certificate is signed by the platform's private CA: trust key \`ca.crt\` of the Secret \`${login.caSecret}\` (cert-manager makes it in the namespace), e.g. mounted and named by \`SSL_CERT_FILE\` or \`REQUESTS_CA_BUNDLE\` (that CA alone: add the public roots to the bundle if the application calls other HTTPS hosts too), or its calls to the issuer fail certificate verification`,
        ]),
  ];
  return parts.join('; ');
}

/**
 * The Certificate that puts the platform's private CA into `namespace` (its Secret's `ca.crt`;
 * the certificate itself is of no use): what the application's pods trust to call the issuer.
 */
export function platformCaCertificate(
  namespace: string,
  issuerRef: CapabilityFacts['certificates']['issuerRef'],
): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: PLATFORM_CA_SECRET,
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'applications' },
    },
    spec: {
      secretName: PLATFORM_CA_SECRET,
      commonName: PLATFORM_CA_SECRET,
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { ...issuerRef },
    },
  };
}
