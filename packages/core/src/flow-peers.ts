// Which flow peer a URL or host a component calls is (zero trust): a routed host of the cluster
// is the platform Gateway (its address is the Gateway's), a Service of the cluster the pods behind
// it, an IP address a network, anything else a host by DNS name. Pure.
import type {
  BackupPodFlow,
  ClusterContribution,
  FlowDeclaration,
  FlowPeer,
  FlowPort,
} from './contract.js';
import { isIpv4, isIpv6 } from './net.js';

const DEFAULT_PORTS: { readonly [protocol: string]: number } = { 'https:': 443, 'http:': 80 };

/**
 * The peer and port of an `http(s)` URL a component's pods call: `{ kind: 'gateway', host }`
 * when the host is `<label>.<gatewayDomain>` (a route of the cluster), else the host's peer by
 * `hostFlowPeer` (a Service of the cluster, a network for an IP address, a public name). The
 * port is the URL's (443, 80 by default); for a Service it is the Service's port, which the CNI
 * provider maps to the pods' (see `hostFlowPeer`); for the API server's Service it is the API
 * server's own (`flowPeerPorts`).
 * Undefined when `url` is not an http(s) URL.
 */
export function urlFlowPeer(
  url: string,
  gatewayDomain: string | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { peer: FlowPeer; ports: FlowPort[] } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const fallback = DEFAULT_PORTS[parsed.protocol];
  if (fallback === undefined || parsed.hostname === '') return undefined;
  const ports: FlowPort[] = [
    { port: parsed.port === '' ? fallback : Number(parsed.port), protocol: 'TCP' },
  ];
  const host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const routed = routedHostPeer(host, gatewayDomain);
  if (routed !== undefined) return { peer: routed, ports };
  const peer = hostFlowPeer(host, clusterDomain);
  return peer === undefined ? undefined : { peer, ports: flowPeerPorts(peer, ports) };
}

/**
 * The platform Gateway, where `hostname` is a host it routes: `<label>.<gatewayDomain>`, one
 * label (a route's `host`). Cilium applies no `toFQDNs` rule to a connection to a name its own
 * Gateway serves (Envoy is a hop in the data path: cilium/cilium#47768): such a call must be a
 * `gateway` peer, which the CNI provider allows through its Envoy to the route's backends.
 */
export function routedHostPeer(
  hostname: string,
  gatewayDomain: string | undefined,
): FlowPeer | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const domain = gatewayDomain?.toLowerCase();
  if (domain === undefined || !host.endsWith(`.${domain}`)) return undefined;
  const label = host.slice(0, -domain.length - 1);
  return label !== '' && !label.includes('.') && label !== '*'
    ? { kind: 'gateway', host: label }
    : undefined;
}

/**
 * The route label of `hostname` where the cluster's own Gateway serves it (a host of the domain the
 * `gateway` provider's facts name that a component's route claims), else undefined. Cilium's Envoy
 * takes a connection to such a host before a toFQDNs rule could match it (cilium/cilium#47768), so
 * a call to it goes through the Gateway, and it is no service outside the cluster.
 */
export function clusterRoutedHost(
  hostname: string,
  contributions: ReadonlyMap<string, ClusterContribution>,
): string | undefined {
  const contributed = [...contributions.values()];
  const domain = contributed.find((contribution) => contribution.facts?.gateway !== undefined)
    ?.facts?.gateway?.domain;
  const label = routedHostPeer(hostname, domain);
  const host = label?.kind === 'gateway' ? label.host : undefined;
  return host !== undefined &&
    contributed.some((contribution) => (contribution.routes ?? []).some((r) => r.host === host))
    ? host
    : undefined;
}

/**
 * The flow peer of a host a component's pods dial (from a setting: a URL's host, a `host:port`),
 * the one rule every component follows:
 * - an IP address is that address as a network (`/32`, `/128`). An address of the cluster's pod
 *   or Service network, or of one of its LoadBalancer pools, is no usable peer (Cilium's CIDR
 *   rules never match the cluster's pods, and it translates a ClusterIP or LoadBalancer address
 *   to a pod before the policy applies): the CNI provider warns about such a `cidr` peer;
 * - a Service of the cluster, `<service>.<namespace>.svc[.<clusterDomain>]`, is a `service` peer
 *   (the pods behind it): a toFQDNs rule would allow the ClusterIP its name resolves to, never
 *   the pod the connection reaches. The caller's port is the Service's (`portsOf` unset): the
 *   CNI provider maps it to the pods' port (the targetPort) where a component declares the
 *   Service it renders (`ClusterContribution.services`), and otherwise takes it as the pods'
 *   port with a warning (a caller whose setting states the pods' port sets `portsOf: 'pods'`);
 * - the API server's Service, `kubernetes.default.svc[.<clusterDomain>]` and the short names a
 *   pod's DNS search path expands to it (`kubernetes.default`, and `kubernetes` from the
 *   `default` namespace), is the API server (`kube-apiserver`), on its own port
 *   (`flowPeerPorts`): Cilium translates its ClusterIP to the API server's host address (the
 *   Service's endpoints, 6443 on Talos) and gives that the `kube-apiserver` identity, so neither
 *   a `service` peer (no pods behind it) nor a toFQDNs rule (the ClusterIP) ever matches;
 * - any other name is a host outside the cluster, by name (`fqdn`).
 * Undefined for an empty host.
 */
export function hostFlowPeer(
  hostname: string,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowPeer | undefined {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (host === '') return undefined;
  if (isIpv4(host)) return { kind: 'cidr', cidr: `${host}/32` };
  if (isIpv6(host)) return { kind: 'cidr', cidr: `${host}/128` };
  if (isKubeApiServerHost(host, clusterDomain)) return { kind: 'kube-apiserver' };
  const service = clusterServiceName(host, clusterDomain);
  if (service !== undefined) return { kind: 'service', ...service };
  return { kind: 'fqdn', name: host };
}

/**
 * The port the API server listens on, where a pod's connection to it arrives once Cilium has
 * translated the `kubernetes` Service's ClusterIP (443) to its endpoints: Talos runs
 * kube-apiserver with `--secure-port 6443` (`cluster.apiServer`, the endpoint
 * `https://<address>:6443`), and the egress policy applies to the translated address and port.
 */
export const KUBE_APISERVER_PORT = 6443;

/** The API server's port as a flow's ports (`KUBE_APISERVER_PORT`, TCP). */
export const KUBE_APISERVER_PORTS: readonly FlowPort[] = [
  { port: KUBE_APISERVER_PORT, protocol: 'TCP' },
];

/**
 * Whether `hostname` names the API server's Service: `kubernetes.default.svc`,
 * `kubernetes.default.svc.<clusterDomain>`, or the short names a pod's resolver expands to it
 * (`kubernetes.default` through `svc.<domain>`; `kubernetes` through `<namespace>.svc.<domain>`,
 * the `default` namespace's: a component's pods run elsewhere, where it names nothing, so it is
 * taken as the API server that was meant).
 */
export function isKubeApiServerHost(
  hostname: string,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const domain = clusterDomain.toLowerCase().replace(/\.$/, '');
  return (
    host === 'kubernetes' ||
    host === 'kubernetes.default' ||
    host === 'kubernetes.default.svc' ||
    host === `kubernetes.default.svc.${domain}`
  );
}

/**
 * The ports a flow to `peer` declares for a connection its pods open to `ports`: the API
 * server's own (`KUBE_APISERVER_PORTS`) for the API server, whatever port its Service was
 * called on (Cilium applies the policy after translating the ClusterIP and port); `ports` for
 * any other peer.
 */
export function flowPeerPorts(peer: FlowPeer, ports: readonly FlowPort[]): FlowPort[] {
  return (peer.kind === 'kube-apiserver' ? KUBE_APISERVER_PORTS : ports).map((port) => ({
    ...port,
  }));
}

/** `port`, or the API server's own for the API server (`flowPeerPorts`). */
export function flowPeerPort(peer: FlowPeer, port: number): number {
  return peer.kind === 'kube-apiserver' ? KUBE_APISERVER_PORT : port;
}

/** Talos' cluster DNS domain (`cluster.network.dnsDomain`) when no `dns` provider says otherwise. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * The Service a host name of the cluster's DNS names: `<service>.<namespace>.svc` or
 * `<service>.<namespace>.svc.<clusterDomain>` (Kubernetes' DNS-based service discovery
 * specification, A records of a Service). Undefined for any other name (a public host, a short
 * name the resolver's search path would expand).
 */
export function clusterServiceName(
  host: string,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { service: string; namespace: string } | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  const domain = clusterDomain.toLowerCase().replace(/\.$/, '');
  const stem = name.endsWith(`.svc.${domain}`)
    ? name.slice(0, -(domain.length + 5))
    : name.endsWith('.svc')
      ? name.slice(0, -4)
      : undefined;
  if (stem === undefined) return undefined;
  const labels = stem.split('.');
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (labels.length !== 2 || !labels.every((part) => label.test(part))) return undefined;
  return { service: labels[0] as string, namespace: labels[1] as string };
}

/**
 * The flows a consumer declares for the backup provider's pods in one of its namespaces under
 * default deny that holds a backed-up volume (the provider's `podFlows` fact): egress from the
 * movers and, where a volume there is `verified`, from the restore verification to the backup
 * repository. Empty without the fact.
 */
export function backupFlows(
  podFlows: readonly BackupPodFlow[] | undefined,
  namespace: string,
  verified = true,
): FlowDeclaration[] {
  return (podFlows ?? [])
    .filter((flow) => verified || flow.verification !== true)
    .map((flow) => ({
      name: `backup-${flow.name}-${namespace}`,
      direction: 'egress',
      namespace,
      selector: { ...flow.selector },
      peer: flow.peer,
      ports: flow.ports.map((port) => ({ ...port })),
      reason: flow.reason,
    }));
}
