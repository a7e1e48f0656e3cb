// Which flow peer a URL a component calls is (zero trust): a routed host of the cluster is the
// platform Gateway (its address is the Gateway's), an IP address a network, anything else a host
// by DNS name. Pure.
import type { BackupPodFlow, FlowDeclaration, FlowPeer, FlowPort } from './contract.js';
import { isIpv4, isIpv6 } from './net.js';

const DEFAULT_PORTS: { readonly [protocol: string]: number } = { 'https:': 443, 'http:': 80 };

/**
 * The peer and port of an `http(s)` URL a component's pods call: `{ kind: 'gateway', host }`
 * when the host is `<label>.<gatewayDomain>` (a route of the cluster), a `/32` (`/128`) network
 * for an IP address, else the host by name. Undefined when `url` is not an http(s) URL.
 */
export function urlFlowPeer(
  url: string,
  gatewayDomain: string | undefined,
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
  if (isIpv4(host)) return { peer: { kind: 'cidr', cidr: `${host}/32` }, ports };
  if (isIpv6(host)) return { peer: { kind: 'cidr', cidr: `${host}/128` }, ports };
  const domain = gatewayDomain?.toLowerCase();
  if (domain !== undefined && host.endsWith(`.${domain}`)) {
    const label = host.slice(0, -domain.length - 1);
    if (label !== '' && !label.includes('.'))
      return { peer: { kind: 'gateway', host: label }, ports };
  }
  return { peer: { kind: 'fqdn', name: host }, ports };
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
