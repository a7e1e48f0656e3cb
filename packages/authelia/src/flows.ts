// The flows Authelia needs (zero trust), from the upstream chart (0.11.5) and the settings:
// - the Gateway forwards auth.<domain> (and every forward-auth check) to the server (9091);
// - the server checks its clock at start-up against the chart's NTP server (udp
//   time.cloudflare.com:123; `ntp.disable_failure: false`): it refuses to start when its clock is
//   more than `max_desync` (3 s) off the server's; a server it cannot reach costs a 5-second wait
//   and a warning, and the check goes unchecked (internal/ntp/ntp.go, StartupCheck);
// - the server reaches the LDAP directory, PostgreSQL, Redis and the SMTP server the settings
//   name: a Service of the cluster (`<service>.<namespace>.svc[.<cluster domain>]`) as the pods
//   behind it, on the address' port (taken as the pods'), an address as a network, any other
//   host by name (core's `hostFlowPeer`).
// - the metrics provider scrapes its metrics listener (9959, `telemetry.metrics`, switched on in
//   values.ts). Pure.
import {
  DEFAULT_CLUSTER_DOMAIN,
  type FlowDeclaration,
  type FlowPeer,
  type FlowPort,
  flowPeerPort,
  hostFlowPeer,
} from '@homelab/core';
import { AUTHELIA_NAMESPACE, type ResolvedAutheliaSettings } from './settings.js';
import { AUTHELIA_METRICS_PORT, POD_SELECTOR } from './values.js';

/** The server's port (the chart's `server.port`). */
export const AUTHELIA_PORT = 9091;

/** The chart's NTP server (`configMap.ntp.address`). */
export const NTP_SERVER = { host: 'time.cloudflare.com', port: 123 } as const;

const DEFAULT_PORTS: { readonly [scheme: string]: number } = {
  'ldap:': 389,
  'ldaps:': 636,
};

/**
 * Peer and port of an address in the settings (`ldaps://ldap.example.com`, `tcp://db:5432`), on a
 * cluster whose DNS domain is `clusterDomain`.
 */
export function addressPeer(
  address: string,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { peer: FlowPeer; port: number } | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
  return port === undefined ? undefined : hostPeer(url.hostname, port, clusterDomain);
}

function hostPeer(
  hostname: string,
  port: number,
  clusterDomain: string,
): { peer: FlowPeer; port: number } | undefined {
  const peer = hostFlowPeer(hostname, clusterDomain);
  return peer === undefined ? undefined : { peer, port: flowPeerPort(peer, port) };
}

/** Every flow of Authelia with `settings` on a cluster whose DNS domain is `clusterDomain`. */
export function autheliaFlows(
  settings: ResolvedAutheliaSettings,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowDeclaration[] {
  const flow = (
    name: string,
    direction: FlowDeclaration['direction'],
    peer: FlowPeer,
    ports: readonly FlowPort[],
    reason: string,
  ): FlowDeclaration => ({
    name,
    direction,
    namespace: AUTHELIA_NAMESPACE,
    selector: { ...POD_SELECTOR },
    peer,
    ports,
    reason,
  });
  const tcp = (port: number): FlowPort[] => [{ port, protocol: 'TCP' }];
  const flows: FlowDeclaration[] = [
    flow(
      'gateway',
      'ingress',
      { kind: 'gateway' },
      tcp(AUTHELIA_PORT),
      'the Gateway forwards the portal, the OIDC endpoints and the forward-auth checks',
    ),
    flow(
      'metrics',
      'ingress',
      { kind: 'capability', capability: 'metrics' },
      tcp(AUTHELIA_METRICS_PORT),
      'the metrics provider scrapes the metrics listener',
    ),
    flow(
      'ntp',
      'egress',
      { kind: 'fqdn', name: NTP_SERVER.host },
      [{ port: NTP_SERVER.port, protocol: 'UDP' }],
      'Authelia checks its clock at start-up and refuses to start when it is more than 3 s off',
    ),
  ];
  const external = (name: string, address: string | undefined, reason: string): void => {
    const target = address === undefined ? undefined : addressPeer(address, clusterDomain);
    if (target !== undefined)
      flows.push(flow(name, 'egress', target.peer, tcp(target.port), reason));
  };
  if (settings.users.kind === 'ldap') {
    external('ldap', settings.users.address, 'users and groups come from the LDAP directory');
  }
  if (settings.storage.kind === 'postgres') {
    external('postgres', settings.storage.address, 'Authelia keeps its state in PostgreSQL');
  }
  if (settings.session.kind === 'redis') {
    const target = hostPeer(settings.session.host, settings.session.port, clusterDomain);
    if (target !== undefined) {
      flows.push(
        flow('redis', 'egress', target.peer, tcp(target.port), 'sessions are shared through Redis'),
      );
    }
  }
  external('smtp', settings.smtp?.address, 'Authelia mails one-time codes and notifications');
  return flows;
}
