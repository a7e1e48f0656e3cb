// Names of what the gateway component creates. Stable: a rename moves every route and the
// certificate Secret.

/** The platform Gateway: `<namespace>/<name>`, what every declared route attaches to. */
export const PLATFORM_GATEWAY = { name: 'platform', namespace: 'gateway' } as const;

/** The HTTPS listener routes attach to (`sectionName`), and the HTTP one that only redirects. */
export const LISTENERS = { https: 'https', http: 'http' } as const;
/** The ports of those listeners. */
export const LISTENER_PORTS = { https: 443, http: 80 } as const;

/** The wildcard Certificate of the cluster domain and the Secret the HTTPS listener serves. */
export const WILDCARD_CERTIFICATE = {
  name: 'platform-wildcard',
  secretName: 'platform-wildcard-tls',
} as const;

/**
 * The key usages of a certificate an HTTPS listener serves (cert-manager's `usages`): `server
 * auth` puts the serverAuth extended key usage in it, which Apple's TLS clients require.
 */
export const SERVER_USAGES = ['digital signature', 'server auth'] as const;

/** The HTTPRoute on the HTTP listener that redirects every request to HTTPS. */
export const REDIRECT_ROUTE = 'https-redirect';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The label Kubernetes puts on every namespace with its own name (allowedRoutes selects it). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
