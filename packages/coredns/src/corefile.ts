// The Corefile of a cluster, from its resolved settings: the cluster zone served from the
// Kubernetes API, split-horizon zones of the home domain from inline records (the rest of each
// zone forwarded), stub domains forwarded to their own servers, everything else to the
// forwarders, all behind the cache. Pure.

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
  for (const zone of input.zones) {
    lines.push(
      '',
      `${zone.name}:${DNS_PORT} {`,
      '    errors',
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
      `    forward . ${stub.servers.join(' ')}`,
      ...cacheBlock(input.cache, '    '),
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
