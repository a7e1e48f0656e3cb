import type { FlowDeclaration } from '@homelab/core';

/** A flow's name: who, which way, to or from what, on which first port (a DNS label). */
export function flowName(
  direction: FlowDeclaration['direction'],
  app: string,
  peer: FlowDeclaration['peer'],
  ports: readonly number[],
): string {
  const what =
    peer.kind === 'fqdn'
      ? peer.name
      : peer.kind === 'cidr'
        ? peer.cidr
        : peer.kind === 'capability' || peer.kind === 'consumers'
          ? `${peer.kind}-${peer.capability}`
          : peer.kind === 'service'
            ? `${peer.service}.${peer.namespace}`
            : peer.kind;
  const name = `${app}-${direction === 'egress' ? 'to' : 'from'}-${what}-${ports[0] ?? 'any'}`;
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 63)
    .replace(/-$/, '');
}
