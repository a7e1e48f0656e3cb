// The flows cert-manager needs (zero trust), from the upstream chart (v1.21.1) and the issuer:
// - the controller, the CA injector, the webhook and the start-up API check Job talk to the API
//   server (the webhook keeps its serving CA in a Secret);
// - the API server calls the webhook on its secure port (10250, `--secure-port`);
// - Prometheus (the `metrics` provider, when the cluster runs one) scrapes the controller's
//   metrics port (9402, `http-metrics`, what monitoring's fallback monitor selects);
// - with an ACME issuer, the controller calls the ACME server and the DNS-01 provider's API (or
//   the RFC 2136 server), and the recursive nameservers of the DNS-01 self-check when set. Pure.
import {
  DEFAULT_CLUSTER_DOMAIN,
  error,
  type FlowDeclaration,
  type FlowPeer,
  type FlowPort,
  flowPeerPort,
  hostFlowPeer,
  type Issue,
  isIpv4,
  isIpv6,
  type PathSegment,
  warning,
} from '@homelab/core';
import { ACME_SERVERS, CERT_MANAGER_NAMESPACE, type ResolvedIssuer } from './settings.js';

/** Pod labels of the chart's workloads (`app.kubernetes.io/name`, `…/component`). */
export const CERT_MANAGER_PODS = {
  controller: {
    'app.kubernetes.io/name': 'cert-manager',
    'app.kubernetes.io/component': 'controller',
  },
  cainjector: {
    'app.kubernetes.io/name': 'cainjector',
    'app.kubernetes.io/component': 'cainjector',
  },
  webhook: { 'app.kubernetes.io/name': 'webhook', 'app.kubernetes.io/component': 'webhook' },
  startupapicheck: {
    'app.kubernetes.io/name': 'startupapicheck',
    'app.kubernetes.io/component': 'startupapicheck',
  },
} as const;

/** The webhook's `--secure-port` (the chart's `webhook.securePort`). */
export const WEBHOOK_PORT = 10250;
/** The controller's metrics port (`http-metrics`). */
export const METRICS_PORT = 9402;

const API: readonly FlowPort[] = [{ port: 6443, protocol: 'TCP' }];
const tcp = (port: number): FlowPort[] => [{ port, protocol: 'TCP' }];
const dns = (port: number): FlowPort[] => [
  { port, protocol: 'UDP' },
  { port, protocol: 'TCP' },
];

/** The HTTPS APIs of the DNS-01 providers cert-manager calls. */
const PROVIDER_APIS: { readonly [provider: string]: string } = {
  cloudflare: 'api.cloudflare.com',
  route53: 'route53.amazonaws.com',
};

/**
 * A `host:port` (`10.0.0.53:53`, `[2606:4700::1111]:53`, `ns.example.com:53`,
 * `bind.dns.svc.cluster.local:53`) as a flow peer (core's `hostFlowPeer`: a Service of the
 * cluster is the pods behind it, the port taken as theirs).
 */
export function hostPortPeer(
  address: string,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { peer: FlowPeer; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (match === null) return undefined;
  const peer = hostFlowPeer(match[1] ?? match[2] ?? '', clusterDomain);
  return peer === undefined ? undefined : { peer, port: flowPeerPort(peer, Number(match[3])) };
}

/**
 * The problem with a nameserver `address:port` of the settings, at `at`, or none: the schema's
 * pattern takes any digits and dots as an IPv4 address and any five digits as a port, which
 * `hostPortPeer` would turn into a flow with a DNS name no rule can allow, or a port no policy
 * can have; cert-manager could not dial it either.
 */
export function nameserverIssue(address: string, at: PathSegment[]): Issue | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (match === null) return undefined;
  const [, ipv6, host = '', digits = ''] = match;
  const port = Number(digits);
  const problem =
    ipv6 !== undefined && !isIpv6(ipv6)
      ? {
          message: `has "${ipv6}", which is not a valid IPv6 address`,
          expected: 'an IPv6 address in brackets, e.g. [2606:4700:4700::1111]:53',
        }
      : ipv6 === undefined && /^[0-9.]+$/.test(host) && !isIpv4(host)
        ? {
            message: `has "${host}", which is not a valid IPv4 address`,
            expected: 'an IPv4 address of four numbers 0–255, e.g. 1.1.1.1:53',
          }
        : port < 1 || port > 65535
          ? {
              message: `has port ${port}, which is not a port number 1–65535`,
              expected: "a DNS server's port from 1 to 65535, usually 53, e.g. 1.1.1.1:53",
            }
          : undefined;
  return problem === undefined
    ? undefined
    : error({ code: 'cert-manager-nameserver', path: at, value: address, ...problem });
}

function flow(
  name: string,
  direction: FlowDeclaration['direction'],
  selector: { readonly [key: string]: string },
  peer: FlowPeer,
  ports: readonly FlowPort[],
  reason: string,
): FlowDeclaration {
  return {
    name,
    direction,
    namespace: CERT_MANAGER_NAMESPACE,
    selector: { ...selector },
    peer,
    ports,
    reason,
  };
}

/**
 * Every flow of cert-manager with `issuer`; a warning where one cannot be declared and the CNI
 * enforces network policies (`enforced`).
 */
export function certManagerFlows(
  issuer: ResolvedIssuer | undefined,
  enforced: boolean,
  path: (...segments: PathSegment[]) => PathSegment[],
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { flows: FlowDeclaration[]; issues: Issue[] } {
  const api: FlowPeer = { kind: 'kube-apiserver' };
  const pods = CERT_MANAGER_PODS;
  const flows: FlowDeclaration[] = [
    flow(
      'controller-apiserver',
      'egress',
      pods.controller,
      api,
      API,
      'the controller reconciles Certificates, Issuers and their Secrets',
    ),
    flow(
      'cainjector-apiserver',
      'egress',
      pods.cainjector,
      api,
      API,
      'the CA injector writes CA bundles into webhooks and CRDs',
    ),
    flow(
      'webhook-apiserver',
      'egress',
      pods.webhook,
      api,
      API,
      'the webhook keeps its serving CA in a Secret',
    ),
    flow(
      'startupapicheck-apiserver',
      'egress',
      pods.startupapicheck,
      api,
      API,
      'the post-install Job checks that the API accepts cert-manager resources',
    ),
    flow(
      'webhook-admission',
      'ingress',
      pods.webhook,
      api,
      tcp(WEBHOOK_PORT),
      'the API server calls the admission webhook',
    ),
    flow(
      'controller-metrics',
      'ingress',
      pods.controller,
      { kind: 'capability', capability: 'metrics' },
      tcp(METRICS_PORT),
      'Prometheus scrapes the controller',
    ),
  ];
  const issues: Issue[] = [];
  if (issuer?.type !== 'acme') return { flows, issues };
  const acme = new URL(ACME_SERVERS[issuer.server]).hostname;
  flows.push(
    flow(
      'controller-acme',
      'egress',
      pods.controller,
      { kind: 'fqdn', name: acme },
      tcp(443),
      `the controller orders certificates from the ACME server (${acme})`,
    ),
  );
  const solver = issuer.solver;
  if (solver.provider === 'rfc2136') {
    const refused = nameserverIssue(
      solver.nameserver,
      path('issuer', 'acme', 'dns01', 'rfc2136', 'nameserver'),
    );
    if (refused !== undefined) issues.push(refused);
    const server =
      refused === undefined ? hostPortPeer(solver.nameserver, clusterDomain) : undefined;
    if (server !== undefined) {
      flows.push(
        flow(
          'controller-rfc2136',
          'egress',
          pods.controller,
          server.peer,
          dns(server.port),
          'the controller writes the DNS-01 challenge records (RFC 2136)',
        ),
      );
    }
  } else {
    const host = PROVIDER_APIS[solver.provider] as string;
    flows.push(
      flow(
        'controller-dns01-api',
        'egress',
        pods.controller,
        { kind: 'fqdn', name: host },
        tcp(443),
        `the controller writes the DNS-01 challenge records (${host})`,
      ),
    );
  }
  issuer.recursiveNameservers.forEach((nameserver, index) => {
    // Refused where it is written: its flow would only be refused later, at the component.
    const refused = nameserverIssue(
      nameserver,
      path('issuer', 'acme', 'recursiveNameservers', index),
    );
    if (refused !== undefined) {
      issues.push(refused);
      return;
    }
    const server = hostPortPeer(nameserver, clusterDomain);
    if (server === undefined) return;
    flows.push(
      flow(
        `controller-self-check-${index + 1}`,
        'egress',
        pods.controller,
        server.peer,
        dns(server.port),
        `the DNS-01 self-check asks ${nameserver} whether the challenge record is visible`,
      ),
    );
  });
  if (enforced && issuer.recursiveNameservers.length === 0) {
    // cert-manager v1.21.1 without --dns01-recursive-nameservers-only checks propagation at the
    // zone's authoritative nameservers, on port 53 of each (pkg/issuer/acme/dns/util/wait.go
    // checkDNSPropagation, checkAuthoritativeNss). Those of a Cloudflare or Route 53 zone are
    // the provider's, which no flow names: the Challenge never passes its self-check, the
    // Gateway's certificate is never issued. An RFC 2136 server may be the zone's authoritative
    // nameserver itself, which the flow to it already reaches: a warning there.
    const message =
      "the DNS-01 self-check asks the zone's authoritative nameservers directly (found through the cluster DNS), at addresses no flow names: under the CNI's default deny it cannot see the challenge record and no certificate is issued";
    const expected =
      'issuer.acme.recursiveNameservers (e.g. ["1.1.1.1:53", "9.9.9.9:53"]): cert-manager then asks only those, which its flows allow';
    issues.push(
      solver.provider === 'rfc2136'
        ? warning({
            code: 'cert-manager-self-check',
            path: path('issuer', 'acme'),
            message: `${message}, unless the zone's nameservers are the RFC 2136 server ${solver.nameserver}, which its flow reaches`,
            expected,
          })
        : error({
            code: 'cert-manager-self-check',
            path: path('issuer', 'acme'),
            message: `${message} (the nameservers of a ${solver.provider === 'cloudflare' ? 'Cloudflare' : 'Route 53'} zone are the provider's)`,
            expected,
          }),
    );
  }
  return { flows, issues };
}
