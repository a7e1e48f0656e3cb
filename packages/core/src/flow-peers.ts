// Which flow peer a URL or host a component calls is (zero trust): a routed host of the cluster
// is the platform Gateway (its address is the Gateway's), a Service of the cluster the pods behind
// it, an IP address a network, anything else a host by DNS name. Pure.
import type { BackupPodFlow, FlowDeclaration, FlowPeer, FlowPort } from './contract.js';
import { isIpv4, isIpv6 } from './net.js';

const DEFAULT_PORTS: { readonly [protocol: string]: number } = { 'https:': 443, 'http:': 80 };

/**
 * The peer and port of an `http(s)` URL a component's pods call: `{ kind: 'gateway', host }`
 * when the host is `<label>.<gatewayDomain>` (a route of the cluster), else the host's peer by
 * `hostFlowPeer` (a Service of the cluster, a network for an IP address, a public name). The
 * port is the URL's (443, 80 by default); for a Service it is taken as the pods' port (see
 * `hostFlowPeer`). Undefined when `url` is not an http(s) URL.
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
  const domain = gatewayDomain?.toLowerCase();
  if (domain !== undefined && host.endsWith(`.${domain}`)) {
    const label = host.slice(0, -domain.length - 1);
    if (label !== '' && !label.includes('.'))
      return { peer: { kind: 'gateway', host: label }, ports };
  }
  const peer = hostFlowPeer(host, clusterDomain);
  return peer === undefined ? undefined : { peer, ports };
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
 *   the pod the connection reaches. The flow's ports are the pods': the caller's port (the
 *   Service's) is only right where the Service maps it to the same `targetPort`, which the
 *   definition does not say;
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
  const service = clusterServiceName(host, clusterDomain);
  if (service !== undefined) return { kind: 'service', ...service };
  return { kind: 'fqdn', name: host };
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
 * movers and the restore verification to the backup repository. Empty without the fact.
 */
export function backupFlows(
  podFlows: readonly BackupPodFlow[] | undefined,
  namespace: string,
): FlowDeclaration[] {
  return (podFlows ?? []).map((flow) => ({
    name: `backup-${flow.name}-${namespace}`,
    direction: 'egress',
    namespace,
    selector: { ...flow.selector },
    peer: flow.peer,
    ports: flow.ports.map((port) => ({ ...port })),
    reason: flow.reason,
  }));
}
