// @homelab/gateway: the platform Gateway. Provides `gateway` (the HTTPS entry of each cluster;
// every declared route becomes an HTTPRoute or GRPCRoute in its consumer's chart), needs a
// `gateway-class` (the controller) and `certificates` (the issuer of its wildcard certificate).
// Renders charts/gateway: per cluster the Gateway with a pinned address, its Certificate and the
// HTTP → HTTPS redirect. Pure.
//
// A Gateway of its own, after cert-manager: a Gateway whose HTTPS listener references a Secret
// that does not exist yet is Degraded in Argo CD (ResolvedRefs false), and an app-of-apps wave
// waits for Healthy. In the CNI's Application (before cert-manager, which needs the CNI) it would
// never turn Healthy; here the Certificate comes first and the Gateway once it is Ready.
import {
  type ApplicationDescriptor,
  type BootstrapStep,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  type ConsumerManifests,
  cidrContains,
  compareStrings,
  type Declaration,
  type DeclareInput,
  error,
  type Issue,
  isDnsLabel,
  type KubeObject,
  type RenderCluster,
  type RenderInput,
  type RouteRequest,
  shellQuote,
  type Values,
  warning,
} from '@homelab/core';
import { pinnedAddress } from './address.js';
import { GATEWAY_CHANGES } from './changes.js';
import { GATEWAY_CHECKS } from './checks.js';
import { LISTENER_PORTS, LISTENERS, PLATFORM_GATEWAY } from './constants.js';
import { type GatewayInput, gatewayManifests, routeKey, routeObject } from './manifests.js';
import { type GatewaySettings, gatewaySettingsSpec } from './settings.js';
import { GATEWAY_UPSTREAM } from './versions.js';

/** Chart folder (charts/gateway). */
export const GATEWAY_CHART_NAME = 'gateway';

function descriptor(): ApplicationDescriptor {
  return {
    chart: GATEWAY_CHART_NAME,
    namespace: PLATFORM_GATEWAY.namespace,
    // No pods here: the gateway class's controller serves the Gateway from its own namespace.
    podSecurity: 'restricted',
    clusterResources: [],
    // No upstream chart: the project allows exactly what the manifests render.
    namespacedResources: [],
  };
}

/**
 * Private IPv4 ranges (RFC 1918) and IPv6 unique local addresses (RFC 4193): what dnsmasq's
 * `--stop-dns-rebind` and routers' rebinding checks refuse in an answer from upstream.
 */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

export function dnsStep(domain: string, address: string | undefined): BootstrapStep {
  const gateway = `gateway/${PLATFORM_GATEWAY.name}`;
  return {
    title: 'Point DNS at the Gateway',
    when: 'after-handover',
    body: [
      address === undefined
        ? `Every route is a name under \`${domain}\`. The Gateway's address is not pinned: once it is`
        : `Every route is a name under \`${domain}\`, served by the Gateway at \`${address}\`. Once it is`,
      'programmed, create one wildcard record in your DNS (and nothing else: HTTP redirects to HTTPS):',
      '',
      `    *.${domain}.  IN  ${address?.includes(':') ? 'AAAA' : 'A'}  ${address ?? '<the address printed below>'}`,
      ...(address === undefined || PRIVATE_RANGES.some((range) => cidrContains(range, address))
        ? [
            '',
            `${address === undefined ? 'Where the address is a private one and the record' : 'The address is a private one: where the record'} is in public DNS, a LAN`,
            'resolver with DNS-rebind protection drops the answer, and the names resolve nowhere on the LAN',
            "(dnsmasq's `--stop-dns-rebind`, on by default in OpenWrt: `option rebind_protection`; pfSense's",
            `and OPNsense's rebinding checks): allow the domain there (dnsmasq \`--rebind-domain-ok=/${domain}/\`,`,
            `OpenWrt \`list rebind_domain '${domain}'\`), or serve the record from that resolver instead.`,
          ]
        : []),
    ],
    // `wait --for=condition=…` fails at once while the Gateway (or its CRD) does not exist yet:
    // right after the hand-over Argo CD has not synced it. `--for=create` (kubectl 1.31+) waits.
    commands: [
      `kubectl wait --for=create crd/gateways.gateway.networking.k8s.io --timeout=30m`,
      `kubectl wait --for=condition=Established crd/gateways.gateway.networking.k8s.io --timeout=5m`,
      `kubectl -n ${PLATFORM_GATEWAY.namespace} wait --for=create ${gateway} --timeout=30m`,
      `kubectl -n ${PLATFORM_GATEWAY.namespace} wait --for=condition=Programmed ${gateway} --timeout=10m`,
      `kubectl -n ${PLATFORM_GATEWAY.namespace} get ${gateway} -o jsonpath='{.status.addresses[*].value}{"\\n"}'`,
      `kubectl -n ${PLATFORM_GATEWAY.namespace} get certificate,httproute`,
      `curl -sI --max-time 30 ${shellQuote(`http://gateway-check.${domain}/`)} | head -n 1`,
    ],
    after: [
      'The last command asks the Gateway for a page over plain HTTP: it answers `301 Moved Permanently`',
      '(the redirect to HTTPS) once the record resolves.',
    ],
  };
}

function declare(input: DeclareInput<GatewaySettings>): Declaration {
  const { cluster } = input;
  const issues: Issue[] = [];
  const gatewayClass = input.provided['gateway-class'];
  if (gatewayClass === undefined || input.provided.certificates === undefined) {
    // Its providers are enabled but publish nothing here (Cilium with gatewayApi: false): no
    // Gateway, no facts, so consumers declare no routes; one that does anyway is refused in render.
    issues.push(
      warning({
        code: 'gateway-unavailable',
        path: input.path(),
        message: `cluster "${cluster.name}" has no ${gatewayClass === undefined ? 'gateway class' : 'certificate issuer'}, so it gets no platform Gateway and nothing is reachable over HTTPS`,
        expected: `a ${gatewayClass === undefined ? 'gateway class (e.g. cilium gatewayApi: true)' : 'certificates provider'} on the cluster, or gateway enabled: false there`,
      }),
    );
    return { issues };
  }
  let address: string | undefined;
  if (gatewayClass.staticAddresses) {
    const result = pinnedAddress(cluster, input.settings.address, input.path('address'));
    issues.push(...result.issues);
    address = result.pinned?.address;
  } else if (input.settings.address !== undefined) {
    issues.push(
      error({
        code: 'gateway-address',
        path: input.path('address'),
        value: input.settings.address,
        message: `cannot be pinned: gateway class "${gatewayClass.name}" does not honour spec.addresses`,
        expected: 'no address (DNS follows the address the Gateway gets), or a class that pins it',
      }),
    );
  } else {
    issues.push(
      warning({
        code: 'gateway-address',
        path: input.path(),
        message: `the Gateway of cluster "${cluster.name}" gets whatever address gateway class "${gatewayClass.name}" picks; DNS records must follow it`,
        expected: 'a gateway class that honours spec.addresses',
      }),
    );
  }
  return {
    application: descriptor(),
    // The Gateway runs no pods of its own: the gateway class's proxy serves it (Cilium's Envoy,
    // the cilium-envoy DaemonSet in kube-system, identity `ingress`), and the flows through it
    // are its routes' owners' (an ingress from the Gateway) and its callers' (an egress to it).
    // Nothing to allow here.
    flows: [],
    bootstrap: [dnsStep(cluster.domain, address)],
    facts: {
      gateway: {
        name: PLATFORM_GATEWAY.name,
        namespace: PLATFORM_GATEWAY.namespace,
        domain: cluster.domain,
        httpsListener: LISTENERS.https,
        listenerPorts: [LISTENER_PORTS.http, LISTENER_PORTS.https],
        address,
        forwardAuth: gatewayClass.forwardAuth,
      },
    },
    issues,
  };
}

/** The routes the cluster's other components declare, checked; issues for those refused. */
function acceptedRoutes(
  entry: RenderCluster<GatewaySettings>,
  forwardAuth: boolean,
  issues: Issue[],
): { component: string; routes: RouteRequest[] }[] {
  const hosts = new Map<string, string>();
  const accepted = new Map<string, RouteRequest[]>();
  // The components' own routes claim their hosts first (in component name order), then the
  // routes the definition declares (`origin`: an application's), so that a user's route on a
  // platform host (`auth`, `argocd`) is the one refused, at its own position.
  const declared = (route: RouteRequest): boolean => route.origin !== undefined;
  const passes = [(route: RouteRequest) => !declared(route), declared];
  for (const pass of passes) {
    for (const peer of entry.others) {
      const componentPath = ['clusters', entry.cluster.index, 'components', peer.component];
      const routes = accepted.get(peer.component) ?? [];
      for (const route of peer.contribution.routes ?? []) {
        if (!pass(route)) continue;
        // At the route's own setting when the definition declares it, else at the component.
        const problem = (message: string, expected: string, field: 'host' | 'auth'): void => {
          const path = route.origin === undefined ? componentPath : [...route.origin, field];
          issues.push(error({ code: 'gateway-route', path, value: route.name, message, expected }));
        };
        if (!isDnsLabel(route.host)) {
          problem(
            `declares route "${route.name}" with host "${route.host}", which is not a DNS label`,
            'a host of lower-case letters, digits and "-" (the first label of <host>.<cluster domain>)',
            'host',
          );
          continue;
        }
        const owner = hosts.get(route.host);
        if (owner !== undefined) {
          problem(
            `declares route "${route.name}" for ${route.host}.<cluster domain>, which ${owner} already routes on cluster "${entry.cluster.name}"`,
            'another host: one route per host',
            'host',
          );
          continue;
        }
        if (route.auth.kind === 'forward-auth' && !forwardAuth) {
          problem(
            `declares route "${route.name}" with forward auth, which the gateway class of cluster "${entry.cluster.name}" cannot do (no external authorizer)`,
            'auth app (the application logs users in, e.g. through its OIDC client), or a gateway class with forward auth',
            'auth',
          );
          continue;
        }
        hosts.set(route.host, `${peer.component} (route "${route.name}")`);
        routes.push(route);
      }
      if (routes.length > 0) accepted.set(peer.component, routes);
    }
  }
  return entry.others.flatMap((peer) => {
    const routes = accepted.get(peer.component);
    return routes === undefined ? [] : [{ component: peer.component, routes }];
  });
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      'The platform Gateway of every cluster: HTTPS on port 443 for `*.<cluster domain>` with a ' +
      'wildcard certificate from the cluster’s issuer, HTTP on port 80 only redirecting to HTTPS, ' +
      'routes only from the namespaces that declare them, and an address pinned from the ' +
      'cluster’s LoadBalancer pools so that DNS never chases it.',
    sections: [
      {
        heading: 'Order',
        body:
          'The Certificate carries sync wave -1: Argo CD applies the Gateway once the certificate ' +
          'is Ready, so its HTTPS listener never references a missing Secret. The Application ' +
          'comes after the gateway class (the CNI) and the certificates provider (cert-manager).',
      },
      {
        heading: 'Routes',
        body:
          'Each route a component declares becomes an HTTPRoute (a GRPCRoute when it asks for ' +
          'grpc) in that component’s chart, attached to the `https` listener, for ' +
          '`<host>.<cluster domain>`. The HTTPS listener admits exactly the namespaces of those ' +
          'routes (`kubernetes.io/metadata.name In [...]`); the HTTP listener admits only the ' +
          'redirect of its own namespace.',
      },
    ],
  };
}

/** charts/gateway, and the route of every declared route placed in its consumer's chart. */
function render(input: RenderInput<GatewaySettings>): ComponentOutput {
  const issues: Issue[] = [];
  const clusters: { [cluster: string]: Values } = {};
  const forConsumers: ConsumerManifests[] = [];
  let appVersion: string | undefined;
  for (const entry of input.clusters) {
    const gatewayClass = entry.provided['gateway-class'];
    const certificates = entry.provided.certificates;
    if (gatewayClass === undefined || certificates === undefined) {
      // No Gateway here (see declare): a route declared anyway is refused, never dropped.
      for (const peer of entry.others) {
        const routes = (peer.contribution.routes ?? []).map((route) => route.name);
        if (routes.length === 0) continue;
        issues.push(
          error({
            code: 'gateway-route',
            path: ['clusters', entry.cluster.index, 'components', peer.component],
            value: routes,
            message: `declares route(s) on cluster "${entry.cluster.name}", which has no platform Gateway to serve them`,
            expected: `a gateway class and a certificates provider on cluster "${entry.cluster.name}", or no routes from ${peer.component}`,
          }),
        );
      }
      continue;
    }
    appVersion ??= gatewayClass.gatewayApiVersion;
    const accepted = acceptedRoutes(entry, gatewayClass.forwardAuth, issues);
    const routeNamespaces = [
      ...new Set(accepted.flatMap(({ routes }) => routes.map((route) => route.namespace))),
    ].sort(compareStrings);
    const pinned = gatewayClass.staticAddresses
      ? pinnedAddress(entry.cluster, entry.settings.address, entry.path('address')).pinned
      : undefined;
    const gatewayInput: GatewayInput = {
      domain: entry.cluster.domain,
      gatewayClass,
      issuerRef: certificates.issuerRef,
      address: pinned,
      routeNamespaces,
    };
    // KubeObjects are plain JSON data; their type only names the fields we rely on.
    clusters[entry.cluster.name] = {
      manifests: gatewayManifests(gatewayInput) as unknown as Values,
    };
    for (const { component, routes } of accepted) {
      const manifests: { [key: string]: KubeObject } = {};
      for (const route of routes)
        manifests[routeKey(route)] = routeObject(entry.cluster.domain, route);
      forConsumers.push({ component, cluster: entry.cluster.name, manifests });
    }
  }
  if (appVersion === undefined) return { issues };
  const chart: ChartSpec = {
    name: GATEWAY_CHART_NAME,
    description: 'The platform Gateway: HTTPS for the cluster domain, HTTP only redirects',
    // No upstream chart: the Gateway API release its objects are written against.
    appVersion,
    values: {},
    environments: {},
    clusters,
    readme: readme(),
  };
  return { chart, forConsumers, issues };
}

/** The platform Gateway as a component. */
export const gatewayComponent: Component<GatewaySettings> = {
  name: 'gateway',
  description:
    'The platform Gateway: HTTPS with a wildcard certificate, routes for every component.',
  settings: gatewaySettingsSpec,
  provides: ['gateway'],
  needs: ['gateway-class', 'certificates'],
  upstream: GATEWAY_UPSTREAM,
  checks: GATEWAY_CHECKS,
  changes: GATEWAY_CHANGES,
  declare,
  render,
};
