// The Corefile of a cluster, from its resolved settings: the cluster zone served from the
// Kubernetes API, the platform Gateway's routed hosts answered with its address, split-horizon
// zones of the home domain from inline records (the rest of each zone forwarded), stub domains
// forwarded to their own servers, everything else to the forwarders, all behind the cache. Every
// server block has the `prometheus` plugin: CoreDNS counts a query only in a block that has it
// (its README: "For each zone that you want to see metrics for"; the blocks share the one
// listener), so without it the SERVFAIL alert would never see a stub domain's or a split zone's
// servers fail. Pure.

/** The port the server blocks listen on (the Service's target port). */
export const DNS_PORT = 53;
/** `health` plugin port (liveness) and `ready` plugin port (readiness). */
export const HEALTH_PORT = 8080;
export const READY_PORT = 8181;
/** `prometheus` plugin port. */
export const METRICS_PORT = 9153;

export interface CacheSettings {
  readonly ttl: number;
  readonly successSize: number;
  readonly denialSize: number;
}

export interface CorefileInput {
  /** The cluster's DNS domain (`cluster.local`). */
  readonly clusterDomain: string;
  readonly forwarders: readonly string[];
  readonly cache: CacheSettings;
  readonly zones: readonly {
    readonly name: string;
    readonly records: readonly { readonly name: string; readonly address: string }[];
  }[];
  readonly stubDomains: readonly { readonly domain: string; readonly servers: readonly string[] }[];
  /**
   * The platform Gateway's zone (`dev.lab.example.com`: its listeners take `*.<domain>`), its
   * address, and the hosts routed through it (full names): each is answered with the address.
   */
  readonly gateway?: {
    readonly domain: string;
    readonly address: string;
    readonly hosts: readonly string[];
  };
}

function cacheBlock(cache: CacheSettings, indent: string): string[] {
  return [
    `${indent}cache ${cache.ttl} {`,
    `${indent}    success ${cache.successSize}`,
    `${indent}    denial ${cache.denialSize}`,
    `${indent}}`,
  ];
}

function fqdn(name: string, zone: string): string {
  return name === '@' ? zone : `${name}.${zone}`;
}

/** The Corefile text (ends with a newline). */
export function corefile(input: CorefileInput): string {
  const lines: string[] = [];
  const forwarders = input.forwarders.join(' ');
  lines.push(
    `.:${DNS_PORT} {`,
    '    errors',
    '    health {',
    '        lameduck 5s',
    '    }',
    '    ready',
    `    kubernetes ${input.clusterDomain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '        ttl 30',
    '    }',
    `    prometheus :${METRICS_PORT}`,
    `    forward . ${forwarders} {`,
    '        max_concurrent 1000',
    '    }',
    ...cacheBlock(input.cache, '    '),
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
  );
  const gateway =
    input.gateway !== undefined && input.gateway.hosts.length > 0 ? input.gateway : undefined;
  if (gateway !== undefined) {
    // More specific than a zone of the home domain that holds it, so CoreDNS picks this block for
    // the Gateway's names: a pod calling `auth.<domain>` reaches the Gateway whatever the
    // forwarders know about the domain; every other name is forwarded as before. The records the
    // definition gives for names in the zone come first and win over a routed host of the same
    // name; a split-horizon zone that is the Gateway's zone is this block (two blocks for one
    // zone would not start).
    const inZone = (name: string): boolean =>
      name === gateway.domain || name.endsWith(`.${gateway.domain}`);
    const records = input.zones.flatMap((zone) =>
      zone.records
        .map((record) => ({ address: record.address, name: fqdn(record.name, zone.name) }))
        .filter((record) => inZone(record.name)),
    );
    const named = new Set(records.map((record) => record.name));
    const routed = gateway.hosts.filter((host) => !named.has(host));
    lines.push(
      '',
      `${gateway.domain}:${DNS_PORT} {`,
      '    errors',
      `    prometheus :${METRICS_PORT}`,
      '    hosts {',
      ...records.map((record) => `        ${record.address} ${record.name}`),
      ...(routed.length > 0 ? [`        ${gateway.address} ${routed.join(' ')}`] : []),
      '        ttl 60',
      '        fallthrough',
      '    }',
      `    forward . ${forwarders}`,
      ...cacheBlock(input.cache, '    '),
      '}',
    );
  }
  for (const zone of input.zones) {
    if (gateway !== undefined && zone.name === gateway.domain) continue;
    lines.push(
      '',
      `${zone.name}:${DNS_PORT} {`,
      '    errors',
      `    prometheus :${METRICS_PORT}`,
      '    hosts {',
      ...zone.records.map((record) => `        ${record.address} ${fqdn(record.name, zone.name)}`),
      '        ttl 60',
      '        fallthrough',
      '    }',
      `    forward . ${forwarders}`,
      ...cacheBlock(input.cache, '    '),
      '}',
    );
  }
  for (const stub of input.stubDomains) {
    lines.push(
      '',
      `${stub.domain}:${DNS_PORT} {`,
      '    errors',
      `    prometheus :${METRICS_PORT}`,
      `    forward . ${stub.servers.join(' ')}`,
      ...cacheBlock(input.cache, '    '),
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
