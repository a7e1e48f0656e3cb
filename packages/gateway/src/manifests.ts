// The objects of the platform Gateway, as plain data: the Gateway (HTTPS for *.<domain> with the
// wildcard certificate, HTTP that only redirects), its Certificate, the redirect, and the route
// of every declared route request (placed in the consumer's chart). Pure.
//
// Every field the Gateway API CRDs default inside a list is written out with its default value
// (`API_DEFAULTS`): the API server stores the defaulted form, and Argo CD replaces a list whole
// when it predicts the live object (a JSON merge patch for a custom resource applied client-side,
// an atomic list under server-side apply), so a default left out shows the object OutOfSync after
// every sync, and self-heal applies it again and again.
import type { CapabilityFacts, KubeObject, RouteRequest, Values } from '@homelab/core';
import type { PinnedAddress } from './address.js';
import {
  GATEWAY_API_GROUP,
  LISTENER_PORTS,
  LISTENERS,
  NAMESPACE_NAME_LABEL,
  PLATFORM_GATEWAY,
  REDIRECT_ROUTE,
  SERVER_USAGES,
  WILDCARD_CERTIFICATE,
} from './constants.js';

const API_VERSION = `${GATEWAY_API_GROUP}/v1`;

/**
 * The defaults the Gateway API CRDs (v1.3.0 and v1.4.1, standard channel) give fields inside
 * lists that we would otherwise leave out: a listener's `allowedRoutes.kinds[].group`, a route
 * rule's `backendRefs[]` `group`, `kind` and `weight`, an HTTPRoute rule's `matches` (a PathPrefix
 * match of `/`).
 */
export const API_DEFAULTS = {
  routeKindGroup: GATEWAY_API_GROUP,
  backendRef: { group: '', kind: 'Service', weight: 1 },
  httpRouteMatches: [{ path: { type: 'PathPrefix', value: '/' } }],
} as const;

/** A rule's `backendRefs` entry for a Service port, with its defaults written out. */
function serviceBackendRef(service: string, port: number): Values {
  return { ...API_DEFAULTS.backendRef, name: service, port };
}

/** An HTTPRoute rule's `matches` as the API server stores a rule that matches every path. */
function everyPath(): Values[] {
  return API_DEFAULTS.httpRouteMatches.map((match) => ({ path: { ...match.path } }));
}

export interface GatewayInput {
  readonly domain: string;
  readonly gatewayClass: CapabilityFacts['gateway-class'];
  readonly issuerRef: CapabilityFacts['certificates']['issuerRef'];
  /** The address to pin, when the gateway class can. */
  readonly address: PinnedAddress | undefined;
  /** Namespaces whose routes may attach to the HTTPS listener (sorted, unique). */
  readonly routeNamespaces: readonly string[];
}

/** `allowedRoutes.namespaces` of the HTTPS listener: exactly the namespaces that declare routes. */
function allowedNamespaces(namespaces: readonly string[]): Values {
  if (namespaces.length === 0) return { from: 'Same' };
  return {
    from: 'Selector',
    selector: {
      matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...namespaces] }],
    },
  };
}

/** The platform Gateway of one cluster. */
export function gateway(input: GatewayInput): KubeObject {
  const hostname = `*.${input.domain}`;
  const spec: Values = { gatewayClassName: input.gatewayClass.name };
  if (input.address !== undefined) {
    spec.addresses = [{ type: 'IPAddress', value: input.address.address }];
    // A pool that serves only Services with some labels: the Gateway's Service must carry them.
    const selector = Object.entries(input.address.pool.serviceSelector ?? {})
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (selector.length > 0) spec.infrastructure = { labels: Object.fromEntries(selector) };
  }
  spec.listeners = [
    {
      name: LISTENERS.http,
      protocol: 'HTTP',
      port: LISTENER_PORTS.http,
      hostname,
      // Only the redirect, from the Gateway's own namespace: nothing is served in plain HTTP.
      allowedRoutes: {
        namespaces: { from: 'Same' },
        kinds: [{ group: API_DEFAULTS.routeKindGroup, kind: 'HTTPRoute' }],
      },
    },
    {
      name: LISTENERS.https,
      protocol: 'HTTPS',
      port: LISTENER_PORTS.https,
      hostname,
      tls: {
        mode: 'Terminate',
        certificateRefs: [{ group: '', kind: 'Secret', name: WILDCARD_CERTIFICATE.secretName }],
      },
      allowedRoutes: { namespaces: allowedNamespaces(input.routeNamespaces) },
    },
  ];
  return {
    apiVersion: API_VERSION,
    kind: 'Gateway',
    metadata: { name: PLATFORM_GATEWAY.name, namespace: PLATFORM_GATEWAY.namespace },
    spec,
  };
}

/**
 * The wildcard certificate of the cluster domain. Sync wave -1 in the Gateway's Application:
 * Argo CD waits for it to be Ready before it applies the Gateway, whose HTTPS listener would
 * otherwise reference a missing Secret (ResolvedRefs false: Degraded).
 */
export function wildcardCertificate(input: GatewayInput): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: WILDCARD_CERTIFICATE.name,
      namespace: PLATFORM_GATEWAY.namespace,
      annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
    },
    spec: {
      secretName: WILDCARD_CERTIFICATE.secretName,
      dnsNames: [`*.${input.domain}`],
      // A server certificate: Apple's clients (Safari, and curl or the argocd CLI on macOS,
      // through the system verifier) refuse one without the serverAuth extended key usage, and
      // cert-manager adds none by default (DefaultKeyUsages, v1.21.1: digital signature and key
      // encipherment only); a CA issuer signs exactly what is asked. ECDSA: no key encipherment.
      usages: [...SERVER_USAGES],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { ...input.issuerRef },
    },
  };
}

/** The only route of the HTTP listener: every request answered with a redirect to HTTPS. */
export function httpsRedirect(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'HTTPRoute',
    metadata: { name: REDIRECT_ROUTE, namespace: PLATFORM_GATEWAY.namespace },
    spec: {
      parentRefs: [
        {
          group: GATEWAY_API_GROUP,
          kind: 'Gateway',
          name: PLATFORM_GATEWAY.name,
          sectionName: LISTENERS.http,
        },
      ],
      rules: [
        {
          matches: everyPath(),
          filters: [
            { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } },
          ],
        },
      ],
    },
  };
}

/** The objects of charts/gateway on one cluster, keyed for `manifests`. */
export function gatewayManifests(input: GatewayInput): { [key: string]: KubeObject } {
  return {
    certificate: wildcardCertificate(input),
    gateway: gateway(input),
    [`httproute-${REDIRECT_ROUTE}`]: httpsRedirect(),
  };
}

/** The manifest key of a route's object in its consumer's chart. */
export function routeKey(route: RouteRequest): string {
  return `${route.protocol === 'grpc' ? 'grpcroute' : 'httproute'}-${route.name}`;
}

/**
 * The `matches` of an HTTPRoute rule for gRPC requests (gRPC and gRPC-web: `application/grpc`,
 * `application/grpc-web+proto`, …), the path written out as the API server defaults it. Envoy
 * picks the route on the headers the client sent or on those its `grpc_web` filter rewrote
 * (`application/grpc`): the pattern matches both.
 */
export const GRPC_CONTENT_TYPE = '^application/grpc.*$';

function grpcRequests(): Values[] {
  return API_DEFAULTS.httpRouteMatches.map((match) => ({
    path: { ...match.path },
    headers: [{ type: 'RegularExpression', name: 'Content-Type', value: GRPC_CONTENT_TYPE }],
  }));
}

/** The HTTPRoute (or GRPCRoute) of a declared route: `<host>.<domain>` on the HTTPS listener. */
export function routeObject(domain: string, route: RouteRequest): KubeObject {
  const parentRefs = [
    {
      group: GATEWAY_API_GROUP,
      kind: 'Gateway',
      name: PLATFORM_GATEWAY.name,
      namespace: PLATFORM_GATEWAY.namespace,
      sectionName: LISTENERS.https,
    },
  ];
  const backendRefs = [serviceBackendRef(route.service, route.port)];
  const grpc = route.protocol === 'grpc';
  // Removing headers is in both kinds' standard channel (HTTPRoute and GRPCRoute filters).
  const filters =
    route.removeRequestHeaders === undefined || route.removeRequestHeaders.length === 0
      ? {}
      : {
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { remove: [...route.removeRequestHeaders] },
            },
          ],
        };
  return {
    apiVersion: API_VERSION,
    kind: grpc ? 'GRPCRoute' : 'HTTPRoute',
    metadata: {
      name: route.name,
      namespace: route.namespace,
      ...(route.labels === undefined ? {} : { labels: { ...route.labels } }),
    },
    spec: {
      parentRefs,
      hostnames: [`${route.host}.${domain}`],
      rules: grpc
        ? [{ ...filters, backendRefs }]
        : [
            ...(route.grpcPort === undefined
              ? []
              : [
                  {
                    matches: grpcRequests(),
                    ...filters,
                    backendRefs: [serviceBackendRef(route.service, route.grpcPort)],
                  },
                ]),
            { matches: everyPath(), ...filters, backendRefs },
          ],
    },
  };
}
