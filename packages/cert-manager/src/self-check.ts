// Layer 4 check of cert-manager's ACME DNS-01 self-check against the cluster DNS (DESIGN.md,
// "Validation layers"). Before it tells the ACME server a challenge is ready, cert-manager
// (v1.21.1, pkg/issuer/acme/dns/util/wait.go) checks that the TXT record is visible: it finds the
// record's zone (`FindZoneByFqdn`: an SOA query per label, climbing from `_acme-challenge.<name>`
// until an answer holds an SOA) and the zone's NS records through its recursive nameservers,
// those of `/etc/resolv.conf` (the cluster's CoreDNS) unless `--dns01-recursive-nameservers`
// names others (cmd/controller/app/controller.go); then it asks the zone's nameservers (or, with
// `--dns01-recursive-nameservers-only`, the recursive ones) for the TXT record. Route 53's solver
// finds the zone the same way (`FindZoneByFqdn`); Cloudflare's asks Cloudflare's API instead
// (v1.21.1 `FindNearestZoneForFQDN`), so there only the self-check goes wrong. Where CoreDNS
// answers a name of that climb from a view
// that is not the public one, the search goes wrong:
// - a stub domain (a server block forwarding to servers other than the forwarders of `.`): a LAN
//   server authoritative for the home domain returns its own SOA and nameservers, which never see
//   the record the provider published, and the challenge waits forever;
// - a `hosts` record for the name itself (a split-horizon zone's apex): CoreDNS's hosts plugin
//   (v1.12.1 plugin/hosts/hosts.go) answers any other type for a name it holds with an empty
//   NOERROR, no SOA, so where that apex is the provider's zone the climb passes over it and lands
//   on its parent (`com.`), whose nameservers never hold the record (a warning: the definition
//   does not say which name is the provider's zone).
// Pure.
import type {
  DeployedApplication,
  Issue,
  JsonValue,
  KubeObject,
  SystemCheck,
  SystemInput,
} from '@homelab/core';
import { deployedValues, error, parseIp, warning } from '@homelab/core';
import { CERT_MANAGER_GROUP } from './issuers.js';

// biome-ignore lint/suspicious/noExplicitAny: navigation into plain JSON objects
type Json = any;

/** One server block of a Corefile: its zones, what `forward .` sends to, what `hosts` answers. */
export interface ServerBlock {
  /** Zones without the trailing dot, lower case; the root zone is `''`. */
  readonly zones: readonly string[];
  /** The `forward` plugin's upstreams (addresses as written), or undefined without one. */
  readonly forward: readonly string[] | undefined;
  /** Names the `hosts` plugin holds records for (lower case, no trailing dot). */
  readonly hosts: ReadonlySet<string>;
}

function zoneOf(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  const host = withoutScheme.replace(/:\d+$/, '').toLowerCase();
  return host === '.' ? '' : host.replace(/\.$/, '');
}

/**
 * The server blocks of a Corefile (the Caddyfile syntax CoreDNS reads: `zone[:port] … {`, one
 * directive per line, `#` comments), as far as the self-check needs them.
 */
export function serverBlocks(corefile: string): ServerBlock[] {
  const blocks: ServerBlock[] = [];
  let depth = 0;
  let current: { zones: string[]; forward: string[] | undefined; hosts: Set<string> } | undefined;
  let inHosts = false;
  for (const raw of corefile.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const tokens = line.split(/\s+/);
    const opens = line.endsWith('{');
    const words = opens ? tokens.slice(0, -1) : tokens;
    if (line === '}') {
      depth--;
      if (depth === 1) inHosts = false;
      if (depth === 0 && current !== undefined) {
        blocks.push(current);
        current = undefined;
      }
      continue;
    }
    if (depth === 0) {
      if (opens) {
        current = { zones: words.map(zoneOf), forward: undefined, hosts: new Set() };
        depth = 1;
      }
      continue;
    }
    if (current !== undefined && depth === 1) {
      if (words[0] === 'forward' && words[1] === '.') current.forward = words.slice(2);
      if (words[0] === 'hosts' && opens) inHosts = true;
    } else if (current !== undefined && inHosts && depth === 2) {
      const [address, ...names] = words;
      if (address !== undefined && parseIp(address) !== undefined) {
        for (const name of names) current.hosts.add(name.toLowerCase().replace(/\.$/, ''));
      }
    }
    if (opens) depth++;
  }
  return blocks;
}

function inZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/** The block CoreDNS serves `name` from: the one with the longest zone that holds it. */
function blockFor(
  blocks: readonly ServerBlock[],
  name: string,
): { block: ServerBlock; zone: string } | undefined {
  let best: { block: ServerBlock; zone: string } | undefined;
  for (const block of blocks) {
    for (const zone of block.zones) {
      if (!inZone(name, zone)) continue;
      if (best === undefined || zone.length > best.zone.length) best = { block, zone };
    }
  }
  return best;
}

/** `_acme-challenge.<name>` and each name above it, as cert-manager's zone search climbs. */
export function zoneSearch(dnsName: string): string[] {
  const base = dnsName.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
  const labels = `_acme-challenge.${base}`.split('.');
  return labels.map((_, index) => labels.slice(index).join('.'));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

/** Where CoreDNS's answers about a name of the zone search may not be the public ones. */
export interface PrivateView {
  /** `stub`: a server block forwarding elsewhere; `apex`: a hosts record of a zone's apex. */
  readonly kind: 'stub' | 'apex';
  /** The server block's zone (the same for every name it serves). */
  readonly zone: string;
  /** What CoreDNS does there, and what becomes of the self-check. */
  readonly reason: string;
}

/**
 * How CoreDNS answers `name` unlike the public DNS: from a stub domain (a server block whose
 * `forward .` is not the root block's), or, for the apex of a server block's zone, from a hosts
 * record (the hosts plugin answers an SOA query for a name it holds with an empty NOERROR). A
 * hosts record below an apex (`nas.<zone>`, a routed host) is no zone apex: passing over it is
 * what the climb does anyway.
 */
export function privateView(blocks: readonly ServerBlock[], name: string): PrivateView | undefined {
  const found = blockFor(blocks, name);
  if (found === undefined || found.zone === '') return undefined;
  const zone = found.zone;
  if (name === zone && found.block.hosts.has(name)) {
    return {
      kind: 'apex',
      zone,
      reason: `CoreDNS answers ${name}, the apex of its server block, from a hosts record: an SOA query for it gets an empty answer, so where ${name} is the zone your DNS provider holds, the zone search passes over it to ${name.split('.').slice(1).join('.') || '.'}, whose nameservers the self-check then asks for the challenge record, which they never hold (and Route 53's solver looks for a hosted zone of that name), so no certificate is issued`,
    };
  }
  const root = blocks.find((block) => block.zones.includes(''));
  if (!sameSet(found.block.forward ?? [], root?.forward ?? [])) {
    const upstream = found.block.forward ?? [];
    const how =
      upstream.length === 0
        ? `CoreDNS answers ${zone} itself (a server block without its forwarders)`
        : `CoreDNS forwards ${zone} to ${upstream.join(' ')} (a stub domain), not to its forwarders`;
    return {
      kind: 'stub',
      zone,
      reason: `${how}, so the SOA and nameservers it returns there are that server's view of the zone, not the public one: the self-check asks nameservers that never see the challenge record, and no certificate is issued`,
    };
  }
  return undefined;
}

function deepGet(values: Json, path: readonly string[]): Json {
  return path.reduce(
    (node, key) => (node === null || typeof node !== 'object' ? undefined : node[key]),
    values,
  );
}

/**
 * cert-manager's `--dns01-recursive-nameservers` on a cluster, from the values Helm renders its
 * chart with there (the chart's values.yaml and the Application's value files, merged as Helm
 * merges them, read through the checks' shared cache): the upstream chart's
 * `dns01RecursiveNameservers`, a comma-separated list.
 */
function selfCheckFlags(
  input: SystemInput,
  app: DeployedApplication,
  valuesKey: string,
): { nameservers: string[] } {
  const list = deepGet((deployedValues(input, app) ?? {}) as Json, [
    valuesKey,
    'dns01RecursiveNameservers',
  ]);
  if (typeof list !== 'string') return { nameservers: [] };
  return {
    nameservers: list
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  };
}

/** The address of a `host:port` or `[v6]:port` nameserver. */
function hostOf(nameserver: string): string {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(nameserver);
  return match?.[1] ?? match?.[2] ?? nameserver;
}

function isCertManager(object: KubeObject, kind: string): boolean {
  return object.apiVersion === `${CERT_MANAGER_GROUP}/v1` && object.kind === kind;
}

/** Where charts/cert-manager lives and the key of the upstream chart's values. */
const CHART = 'charts/cert-manager';
const VALUES_KEY = 'cert-manager';

/**
 * Every ACME DNS-01 certificate's self-check finds the public zone: where cert-manager's
 * recursive nameservers are the cluster's CoreDNS (none set, or its Service's address among
 * them), no name of the zone search is served from a stub domain or a hosts record.
 */
export const acmeSelfCheckDns: SystemCheck = {
  name: 'acme-self-check-dns',
  description:
    "Where an ACME issuer solves DNS-01 and cert-manager's recursive nameservers are the cluster's CoreDNS (no issuer.acme.recursiveNameservers, or CoreDNS's own address among them), CoreDNS answers every name of cert-manager's zone search (`_acme-challenge.<name>` and each name above it) as the public DNS does: through its forwarders, never from a stub domain's servers or a hosts record of that very name. Why: cert-manager finds the challenge record's zone by SOA queries up the tree and asks that zone's NS records for the TXT record; a LAN server's own view of the home domain returns nameservers that never see the record, and a hosts record answers SOA with nothing, so the search misses the zone: the challenge never passes and no certificate is issued.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const objects = deployed.applications.flatMap((app) =>
        app.objects.map(({ object, source }) => ({ object, source, app })),
      );
      const issuers = objects.filter(
        ({ object }) =>
          isCertManager(object, 'ClusterIssuer') &&
          Array.isArray((object.spec as Json)?.acme?.solvers) &&
          ((object.spec as Json).acme.solvers as Json[]).some((solver) => solver?.dns01),
      );
      // No DNS-01 issuer, no self-check: nothing more to read (the values merge costs a YAML
      // parse of each layer).
      if (issuers.length === 0) continue;
      const dnsNamespace = deployed.run.facts.dns?.namespace;
      if (dnsNamespace === undefined) continue;
      const configMap = objects.find(
        ({ object }) =>
          object.kind === 'ConfigMap' &&
          (object.metadata.namespace ?? '') === dnsNamespace &&
          typeof (object as Json).data?.Corefile === 'string',
      );
      if (configMap === undefined) continue;
      const blocks = serverBlocks((configMap.object as Json).data.Corefile as string);
      const dnsAddresses = new Set(
        objects
          .filter(
            ({ object }) =>
              object.kind === 'Service' && (object.metadata.namespace ?? '') === dnsNamespace,
          )
          .flatMap(({ object }) => {
            const spec = (object.spec ?? {}) as Json;
            return [spec.clusterIP, ...(spec.clusterIPs ?? [])].filter(
              (ip: JsonValue) => typeof ip === 'string',
            ) as string[];
          })
          .map((ip) => parseIp(ip)?.text ?? ip),
      );
      const chart = deployed.applications.find(
        (app) => (app.application.spec as Json)?.source?.path === CHART,
      );
      const flags =
        chart === undefined ? { nameservers: [] } : selfCheckFlags(input, chart, VALUES_KEY);
      const throughCluster = flags.nameservers.filter((ns) =>
        dnsAddresses.has(parseIp(hostOf(ns))?.text ?? hostOf(ns)),
      );
      // cert-manager (cmd/controller/app/controller.go) uses /etc/resolv.conf's nameservers only
      // where none are given; `--dns01-recursive-nameservers-only` decides whether the TXT record
      // is asked of the zone's nameservers or of these, but the zone is found through these.
      if (flags.nameservers.length > 0 && throughCluster.length === 0) continue;
      const how =
        throughCluster.length > 0
          ? `asks ${throughCluster.join(', ')}, the cluster's CoreDNS,`
          : 'has no recursiveNameservers, so cert-manager asks the cluster DNS (/etc/resolv.conf)';
      for (const issuer of issuers) {
        const name = issuer.object.metadata.name;
        const certificates = objects.filter(({ object }) => {
          if (!isCertManager(object, 'Certificate')) return false;
          const ref = (object.spec as Json)?.issuerRef ?? {};
          return ref.kind === 'ClusterIssuer' && ref.name === name;
        });
        // One issue per issuer and server block: the certificates' names, the names asked there.
        const problems = new Map<
          string,
          { view: PrivateView; names: Set<string>; asked: Set<string> }
        >();
        for (const certificate of certificates) {
          const dnsNames: string[] = (certificate.object.spec as Json)?.dnsNames ?? [];
          for (const dnsName of dnsNames) {
            for (const step of zoneSearch(dnsName)) {
              const view = privateView(blocks, step);
              if (view === undefined) continue;
              const key = `${view.kind} ${view.zone}`;
              const entry = problems.get(key) ?? { view, names: new Set(), asked: new Set() };
              entry.names.add(dnsName);
              entry.asked.add(step);
              problems.set(key, entry);
            }
          }
        }
        for (const { view, names, asked } of problems.values()) {
          // A stub domain is another view of the zone by design: an error. A hosts record of a
          // zone's apex breaks the search only where that apex is the provider's zone, which the
          // definition does not say: a warning.
          const issue = view.kind === 'stub' ? error : warning;
          issues.push(
            issue({
              code: 'acme-self-check-dns',
              path: issuer.app.origin,
              output: issuer.source,
              message: `ClusterIssuer ${name} on cluster "${deployed.cluster.name}" ${how} to find the zone of the DNS-01 challenge record of ${[...names].sort().join(', ')} (it asks ${[...asked].join(', ')} there): ${view.reason}`,
              expected:
                'issuer.acme.recursiveNameservers: resolvers outside the cluster that answer the public zone (e.g. ["1.1.1.1:53"]); cert-manager then asks only those',
            }),
          );
        }
      }
    }
    return issues;
  },
};
