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
