// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// The platform Gateway is reached through one wildcard DNS record the operator made by hand (the
// runbook's "Point DNS at the Gateway": `*.<cluster domain>  IN  A  <address>`). Nothing in the
// cluster changes that record: a new address or a new domain leaves every route unreachable by
// its name until the record is changed by hand.
import {
  type ChangeCheck,
  type ChangedObject,
  isJson as isTable,
  settingsPath,
  warning,
} from '@homelab/core';
import { GATEWAY_API_GROUP, PLATFORM_GATEWAY } from './constants.js';

/** The platform Gateway's addresses and listener hostnames among `objects`, if it is there. */
function platformGateway(
  objects: readonly ChangedObject[],
): { chart: string; addresses: string[]; hostnames: string[] } | undefined {
  for (const { chart, object } of objects) {
    if (
      object.apiVersion !== `${GATEWAY_API_GROUP}/v1` ||
      object.kind !== 'Gateway' ||
      object.metadata.name !== PLATFORM_GATEWAY.name ||
      object.metadata.namespace !== PLATFORM_GATEWAY.namespace
    ) {
      continue;
    }
    const spec = isTable(object.spec) ? object.spec : {};
    const addresses = (Array.isArray(spec.addresses) ? spec.addresses : []).flatMap((entry) =>
      isTable(entry) && typeof entry.value === 'string' ? [entry.value] : [],
    );
    const hostnames = (Array.isArray(spec.listeners) ? spec.listeners : []).flatMap((entry) =>
      isTable(entry) && typeof entry.hostname === 'string' ? [entry.hostname] : [],
    );
    return { chart, addresses, hostnames: [...new Set(hostnames)].sort() };
  }
  return undefined;
}

/** The record type of an address: AAAA for IPv6, A otherwise. */
function recordType(address: string): string {
  return address.includes(':') ? 'AAAA' : 'A';
}

/**
 * The platform Gateway's address or hostnames changed against the last build's: the wildcard
 * record in the operator's DNS still names the old ones. A warning with the record to make.
 */
export const dnsRecordCheck: ChangeCheck = {
  name: 'gateway-dns-record',
  description:
    "The platform Gateway keeps the address and hostnames the last build deployed, or the build names the DNS record to change: the wildcard record that sends every route's name to the Gateway is made by hand, and nothing in the cluster moves it.",
  check({ cluster, before, after }) {
    const was = platformGateway(before);
    const now = platformGateway(after);
    if (was === undefined || now === undefined) return [];
    // No address to name: the gateway component pins one by default (the pool's last), so none
    // means the address setting was refused (its error says why); a record naming nothing
    // ("→ ") would only confuse.
    if (now.addresses.length === 0) return [];
    const sameAddresses = was.addresses.join(',') === now.addresses.join(',');
    const sameHostnames = was.hostnames.join(',') === now.hostnames.join(',');
    if (sameAddresses && sameHostnames) return [];
    const records = now.hostnames.flatMap((hostname) =>
      now.addresses.map((address) => `${hostname}.  IN  ${recordType(address)}  ${address}`),
    );
    const old = was.hostnames.flatMap((hostname) =>
      was.addresses.map((address) => `${hostname} → ${address}`),
    );
    return [
      warning({
        code: 'gateway-dns-record',
        // The address setting, or the cluster's domain (its own, else where it comes from).
        path: sameAddresses
          ? ['clusters', cluster.index, 'domain']
          : settingsPath(cluster, 'gateway', 'address'),
        output: `charts/${now.chart}`,
        value: now.addresses.join(', '),
        message: `moves the platform Gateway of cluster "${cluster.name}" from ${old.join(', ')}, which the last build deployed and your DNS record names, to ${now.hostnames.map((hostname) => `${hostname} → ${now.addresses.join(', ')}`).join(', ')}: nothing in the cluster changes that record, so every route is unreachable by its name until it is changed by hand`,
        expected: `once Argo CD synced the change and the Gateway is programmed, the wildcard record in your DNS (the runbook's "Point DNS at the Gateway"): ${records.map((record) => `\`${record}\``).join(', ')}${sameHostnames ? '' : `, and the old one (${was.hostnames.join(', ')}) removed`}`,
      }),
    ];
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const GATEWAY_CHANGES: readonly ChangeCheck[] = [dnsRecordCheck];
