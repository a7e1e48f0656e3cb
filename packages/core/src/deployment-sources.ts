// The hosts the GitOps controller fetches from (its repo-server's deployment sources): the
// platform's repository, the CRD bundles' and charts' repositories, and the repositories the
// workload projects name. Cilium allows the repo-server's egress to them; the runbook lists them
// among the services outside the cluster. Pure.
import type { ClusterContribution } from './contract.js';
import { hostFlowPeer } from './flow-peers.js';
import { isDnsName } from './net.js';
import type { ResolvedPlatform } from './types.js';
import { compareStrings } from './yaml.js';

const SOURCE_PORTS: { readonly [scheme: string]: number } = {
  'https:': 443,
  'http:': 80,
  'ssh:': 22,
  // A Helm chart in an OCI registry (Argo CD 3.x `oci://registry/…`), fetched over HTTPS.
  'oci:': 443,
};

/**
 * Host and port of a repository URL (`https://host/…`, `ssh://git@host:2222/…`, `git@host:…`,
 * `oci://registry/…`, or a Helm OCI registry without a scheme, `ghcr.io/owner/charts`).
 */
export function sourceHost(url: string): { host: string; port: number } | undefined {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):/.exec(url);
  if (scp?.[1] !== undefined) return { host: scp[1].toLowerCase(), port: 22 };
  const registry = /^([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::(\d+))?\//.exec(url);
  if (registry?.[1] !== undefined) {
    return { host: registry[1].toLowerCase(), port: Number(registry[2] ?? '443') };
  }
  try {
    const parsed = new URL(url);
    const port =
      parsed.port === '' ? (SOURCE_PORTS[parsed.protocol] ?? undefined) : Number(parsed.port);
    if (port === undefined || parsed.hostname === '') return undefined;
    return { host: parsed.hostname.toLowerCase(), port };
  } catch {
    return undefined;
  }
}

/**
 * Hosts an OCI registry sends a client to for the content it names (an HTTP redirect of a blob
 * download, a token service): a Helm chart from the registry is fetched from them too, so the
 * repo-server needs their egress as well. ghcr.io redirects blobs to GitHub's package CDN; Docker
 * Hub serves from registry-1.docker.io, issues tokens at auth.docker.io and redirects blobs to
 * its CDN. quay.io serves blobs from its CDN hosts (Red Hat's firewall guidance for quay.io,
 * access.redhat.com/node/7001746: cdn.quay.io and cdn01–cdn03.quay.io).
 */
const REGISTRY_REDIRECTS: { readonly [host: string]: readonly string[] } = {
  'ghcr.io': ['pkg-containers.githubusercontent.com'],
  'docker.io': ['registry-1.docker.io', 'auth.docker.io', 'production.cloudflare.docker.com'],
  'registry-1.docker.io': ['auth.docker.io', 'production.cloudflare.docker.com'],
  'quay.io': ['cdn.quay.io', 'cdn01.quay.io', 'cdn02.quay.io', 'cdn03.quay.io'],
};

/**
 * The host a workload project's source pattern names (Argo CD's `sourceRepos` glob: a `*` in the
 * path keeps the host), or undefined where the pattern leaves the host open (`*`, `https://*…`).
 */
export function sourcePatternHost(pattern: string): { host: string; port: number } | undefined {
  // A deny pattern (`!https://…`, Argo CD's `isDenyPattern`) names nothing to fetch from.
  if (pattern.startsWith('!')) return undefined;
  const source = sourceHost(pattern);
  if (source === undefined) return undefined;
  return isDnsName(source.host) || hostFlowPeer(source.host)?.kind === 'cidr' ? source : undefined;
}

/**
 * The hosts the GitOps controller fetches from, with their ports: the platform's repository, the
 * CRD bundles' and charts' repositories, and the repositories the workload projects name (the
 * users' own Applications are fetched by the same repo-server).
 */
export function deploymentSources(
  platform: ResolvedPlatform,
  contributions: ReadonlyMap<string, ClusterContribution>,
): { host: string; port: number }[] {
  const seen = new Map<string, { host: string; port: number }>();
  const urls = [platform.repositoryUrl];
  for (const contribution of contributions.values()) {
    for (const bundle of contribution.crds ?? []) urls.push(bundle.source.repoURL);
    urls.push(...(contribution.application?.upstreamRepositories ?? []));
    for (const project of contribution.workloadProjects ?? []) {
      for (const pattern of project.sourceRepos) {
        const source = sourcePatternHost(pattern);
        if (source === undefined) continue;
        seen.set(`${source.host}:${source.port}`, source);
        for (const host of REGISTRY_REDIRECTS[source.host] ?? []) {
          seen.set(`${host}:443`, { host, port: 443 });
        }
      }
    }
  }
  for (const url of urls) {
    const source = sourceHost(url);
    if (source !== undefined) seen.set(`${source.host}:${source.port}`, source);
  }
  return [...seen.keys()]
    .sort(compareStrings)
    .map((key) => seen.get(key) as { host: string; port: number });
}
