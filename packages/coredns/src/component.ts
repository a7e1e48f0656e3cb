// @homelab/coredns: the cluster DNS from Git. Talos ships CoreDNS as a bootstrap manifest whose
// configuration it reconciles on upgrades and which its machine config cannot configure beyond
// the image (`cluster.coreDNS` has only `disabled` and `image`), so this component asks Talos to
// disable its CoreDNS (`cluster.coreDNS.disabled: true`) and deploys CoreDNS itself: a pinned
// image, a Corefile from the definition, replicas per environment, the Service on the address
// every kubelet points pods at (the 10th address of the service network, Talos' default). No
// upstream chart: charts/coredns carries the objects as data. Provides `dns`. Pure.
import {
  type ApplicationDescriptor,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  checkHaInvariants,
  cidrContains,
  compareStrings,
  type Declaration,
  type DeclareInput,
  DNS_NAME_MAX_LENGTH,
  error,
  type FlowDeclaration,
  formatPath,
  handOverApply,
  haPlan,
  type Issue,
  type IssueInput,
  isDnsLabel,
  isDnsName,
  isIp,
  type JsonSchema,
  type KubeObject,
  type MonitorDeclaration,
  nthAddress,
  type PathSegment,
  PRUNE,
  parseIp,
  type RenderInput,
  type ResolvedCluster,
  type ServiceDeclaration,
  shellQuote,
  TALOS_HOST_DNS_ADDRESS,
  type Values,
  warning,
  withSyncOption,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import {
  type CacheSettings,
  corefile,
  DNS_PORT,
  HEALTH_PORT,
  METRICS_PORT,
  READY_PORT,
} from './corefile.js';
import type { CorednsSettings } from './generated/settings.js';
import { COREDNS_IMAGE, COREDNS_VERSION } from './versions.js';

export type { CorednsSettings };

/** Namespace CoreDNS runs in (its own, so that the platform's policies apply to it). */
export const COREDNS_NAMESPACE = 'coredns';
/** The cluster DNS domain Talos configures every kubelet with. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** Pod labels: the conventional `k8s-app: kube-dns`, which tools and Cilium's docs expect. */
export const DNS_SELECTOR = { 'k8s-app': 'kube-dns' } as const;
const NAME = 'coredns';

const DEFAULT_CACHE: CacheSettings = { ttl: 30, successSize: 9984, denialSize: 9984 };

/**
 * Why a record's name is not a host the `hosts` plugin answers, or undefined: `@` (the zone
 * itself) or lower-case DNS labels, the whole name at most 253 characters. The hosts plugin
 * (plugin/hosts/hostsfile.go `lookupStaticHost`) looks a query's name up in a map of the names it
 * was given, exactly: a `*` label is that character, not a wildcard, so `*.lab.example.com`
 * answers only a query for that literal name.
 */
function recordNameProblem(
  name: string,
  zone: string,
): { message: string; expected: string } | undefined {
  if (name === '@') return undefined;
  const expected = '@ or lower-case labels such as nas or git.home';
  const labels = name.split('.');
  if (labels.some((label) => label.includes('*'))) {
    return {
      message: `is a wildcard, and the hosts plugin that answers the zone's records has no wildcards: it looks a query's name up exactly, so "${name}.${zone}" would answer only a query for that literal name, never another host of ${zone}`,
      expected:
        'one record per host name (nas, git, …); for every name below a domain, a stubDomains entry naming a DNS server that serves the wildcard',
    };
  }
  const bad = labels.find((label) => !isDnsLabel(label));
  if (bad !== undefined) {
    return {
      message:
        bad === ''
          ? 'has an empty label (a dot at an end, or two in a row)'
          : `has the label "${bad}", which is not a DNS label (lower-case letters, digits and "-", at most 63 characters, a letter or digit at each end)`,
      expected,
    };
  }
  if (name.length + 1 + zone.length > DNS_NAME_MAX_LENGTH) {
    return {
      message: `makes "${name}.${zone}", longer than the ${DNS_NAME_MAX_LENGTH} characters of a DNS name`,
      expected: 'a shorter host name',
    };
  }
  return undefined;
}

export interface ResolvedCorednsSettings {
  readonly forwarders: readonly string[];
  readonly cache: CacheSettings;
  readonly zones: readonly { name: string; records: { name: string; address: string }[] }[];
  readonly stubDomains: readonly { domain: string; servers: string[] }[];
}

/** Where an address lies inside a cluster, and why Cilium's CIDR rule for it never matches. */
export interface ClusterPlace {
  readonly kind: 'pod' | 'service' | 'pool' | 'node';
  /** `the Service network 10.96.0.0/12`, `LoadBalancer pool "default" (…)`, `node cp1's address`. */
  readonly where: string;
  readonly why: string;
}

/**
 * The part of the cluster an address belongs to, the way Cilium's flow planner tells
 * (`flow-cidr-cluster`): its pod or Service network, a LoadBalancer pool, a node's own address.
 * Undefined for an address outside the cluster (the router, a LAN server, a public resolver).
 */
export function clusterPlace(cluster: ResolvedCluster, address: string): ClusterPlace | undefined {
  const { network } = cluster;
  const pods = "CIDR rules never select the cluster's pods";
  if (cidrContains(network.podCidr, address)) {
    return { kind: 'pod', where: `the pod network ${network.podCidr}`, why: `Cilium's ${pods}` };
  }
  if (cidrContains(network.serviceCidr, address)) {
    return {
      kind: 'service',
      where: `the Service network ${network.serviceCidr}`,
      why: `Cilium translates a ClusterIP to a backend pod before the policy applies, and its ${pods}`,
    };
  }
  const pool = network.loadBalancerPools.find((candidate) => cidrContains(candidate.cidr, address));
  if (pool !== undefined) {
    return {
      kind: 'pool',
      where: `LoadBalancer pool "${pool.name}" (${pool.cidr})`,
      why: `Cilium's socket load balancer translates a LoadBalancer address to a backend pod when a pod connects, before the policy applies, and its ${pods}`,
    };
  }
  const text = parseIp(address)?.text;
  const node = cluster.nodes.find((candidate) => parseIp(candidate.address)?.text === text);
  if (text !== undefined && node !== undefined) {
    return {
      kind: 'node',
      where: `the address of node ${node.hostname}`,
      why: "the nodes carry Cilium's host / remote-node identities, which CIDR rules do not select under the default policy-cidr-match-mode the platform keeps",
    };
  }
  return undefined;
}

/**
 * How CoreDNS' `forward` plugin (plugin/forward/forward.go, policy.go, pkg/proxy at the pinned
 * release) treats an upstream it cannot reach: each query walks the upstreams in a fresh random
 * order (`policy random`, the default); one that draws the unreachable upstream first waits out
 * the 2 s read timeout before the next is tried, and a health check (`. IN NS`, every 0.5 s while
 * failing) takes the upstream out only once more than `max_fails` (2) checks failed.
 */
const FORWARD_POLICY =
  `CoreDNS ${COREDNS_VERSION}'s forward plugin walks a zone's upstreams in a fresh random order for each query (policy random, its default): ` +
  'a query that draws an unreachable one first waits out its 2s read timeout before the next is tried, ' +
  'until health checks every 0.5s mark it down (after more than max_fails 2 failures)';

const EXTRA_FLOW =
  'an extra flow in components.cilium.networkPolicy.flows from { component: coredns } to { component: <the component that runs the server>, selector: <its pods> } on port 53 UDP and TCP (Cilium then matches the pods the address leads to); ' +
  'a server that no component of the definition deploys cannot be allowed: serve the domain from outside the cluster';

/**
 * The servers of one zone (`.`: the forwarders) that lie inside the cluster. Every forwarder of
 * the root zone inside it is an error: no name outside the cluster resolves until the in-cluster
 * server runs, and Argo CD, which deploys it, must resolve the repository first (at bootstrap,
 * and again after an outage that takes the server down). Some of them, or a stub domain's server,
 * is a warning: Cilium's CIDR rule for it never matches (see `clusterPlace`), so under default
 * deny its queries are dropped.
 */
function insideServers(
  cluster: ResolvedCluster,
  servers: readonly { readonly value: string; readonly at: PathSegment[] }[],
  zone: string,
): Issue[] {
  const placed = servers.flatMap(({ value, at }) => {
    const place = clusterPlace(cluster, value);
    return place === undefined ? [] : [{ value, at, place }];
  });
  const all = placed.length === servers.length;
  const inCluster = (place: ClusterPlace) =>
    `lies inside cluster "${cluster.name}" (${place.where})`;
  const dropped = (place: ClusterPlace, zoneOf = '') =>
    `${place.why}, so under Cilium's default deny no CIDR rule can allow it and CoreDNS' queries${zoneOf} to it are dropped`;
  const router =
    clusterPlace(cluster, cluster.network.gateway) === undefined
      ? `the router (${cluster.network.gateway}) or `
      : '';
  return placed.map(({ value, at, place }): Issue => {
    const input = (message: string, expected: string): IssueInput => ({
      code: 'coredns-forwarder-cluster',
      path: at,
      value,
      message,
      expected,
    });
    if (zone === '.' && all) {
      return error(
        input(
          `${inCluster(place)}, and so does every other forwarder of the root zone: no name outside the cluster resolves until a DNS server inside it answers, and that server is deployed by Argo CD, which needs DNS to reach the repository first, a deadlock at bootstrap and again after any outage that takes the server down; nor does CoreDNS reach it: ${dropped(place)}`,
          `a resolver outside the cluster as a forwarder: ${router}a public resolver such as 1.1.1.1; a DNS server inside the cluster can answer its own domain as the server of a stubDomains entry`,
        ),
      );
    }
    if (zone === '.') {
      return warning(
        input(
          `${inCluster(place)}: ${dropped(place)}, and nothing answers there before Argo CD deploys the server; ${FORWARD_POLICY}; where it does answer (no default deny), it gets only part of the queries (a filtering server is bypassed for the rest)`,
          `only resolvers outside the cluster as forwarders (${router}a public resolver); a DNS server inside the cluster can answer its own domain as the server of a stubDomains entry`,
        ),
      );
    }
    return warning(
      input(
        `${inCluster(place)}: ${dropped(place, ` for ${zone}`)}${all ? `: no name of ${zone} resolves` : `; ${FORWARD_POLICY}`}`,
        place.kind === 'node'
          ? "a server outside the cluster: nothing in the definition can allow this one (an extra flow of components.cilium.networkPolicy.flows names a component's pods, a host or a network, never the nodes' identities)"
          : place.kind === 'pod'
            ? `the address of the Service in front of the server (a pod's address changes when it is recreated), with ${EXTRA_FLOW}`
            : EXTRA_FLOW,
      ),
    );
  });
}

/** The settings with their defaults, and every address or name that is not one, where it is written. */
export function resolveCorednsSettings(
  settings: CorednsSettings,
  cluster: ResolvedCluster,
  path: (...segments: PathSegment[]) => PathSegment[],
): { settings: ResolvedCorednsSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  const address = (value: string, where: PathSegment[], what: string): boolean => {
    if (isIp(value)) return true;
    issues.push(
      error({
        code: 'coredns-address',
        path: where,
        value,
        message: `is not an IP address; ${what} must be an address (CoreDNS forwards to addresses, it does not resolve names to find them)`,
        expected: 'an IPv4 or IPv6 address such as 1.1.1.1',
      }),
    );
    return false;
  };
  const name = (value: string, where: PathSegment[], what: string): boolean => {
    // A zone or a stub domain may be one label (`lan`, `home`): a LAN's private suffix, which
    // CoreDNS serves like any other zone.
    if (isDnsName(value, { singleLabel: true })) return true;
    issues.push(
      error({
        code: 'coredns-name',
        path: where,
        value,
        message: `is not a DNS name (${what})`,
        expected: 'lower-case labels separated by dots, no trailing dot, e.g. lab.example.com',
      }),
    );
    return false;
  };
  // Where each forwarder is written: the setting, else the cluster's nameservers (or its gateway,
  // their default).
  const forwarderAt = (index: number): PathSegment[] =>
    settings.forwarders !== undefined
      ? path('forwarders', index)
      : cluster.definition.network.nameservers !== undefined
        ? ['clusters', cluster.index, 'network', 'nameservers', index]
        : ['clusters', cluster.index, 'network', 'gateway'];
  const written = (settings.forwarders ?? cluster.network.nameservers)
    .map((value, index) => ({ value, at: forwarderAt(index) }))
    .filter(({ value, at }) =>
      settings.forwarders === undefined ? isIp(value) : address(value, at, 'a forwarder'),
    );
  const forwarders = written.map(({ value }) => value);
  // Forwarders inside the cluster: apart from the other issues, which they must not hide.
  const inside: Issue[] = insideServers(cluster, written, '.');
  // Each zone and stub domain is a server block of its own (`<name>:53 { … }`). CoreDNS v1.12.1
  // refuses to start with two blocks for one zone and port (core/dnsserver/register.go: "cannot
  // serve … - it is already defined"), and a block for the cluster's domain, or a name under it,
  // is more specific than the kubernetes plugin's: it would answer the cluster's Service names.
  const served = new Map<string, string>();
  const clashes = (value: string, where: PathSegment[], what: string): boolean => {
    if (value === CLUSTER_DOMAIN || value.endsWith(`.${CLUSTER_DOMAIN}`)) {
      issues.push(
        error({
          code: 'coredns-zone',
          path: where,
          value,
          message: `is the cluster's own domain (${CLUSTER_DOMAIN}) or a name under it, which the kubernetes plugin answers: a server block for it would take the cluster's Service names away from it`,
          expected: `${what} of your home domain, outside ${CLUSTER_DOMAIN}`,
        }),
      );
      return true;
    }
    const first = served.get(value);
    if (first !== undefined) {
      issues.push(
        error({
          code: 'coredns-zone',
          path: where,
          value,
          message: `is already served as ${first}: CoreDNS v1.12.1 refuses a second server block for the same zone ("cannot serve ${value}:${DNS_PORT} - it is already defined") and does not start, and the cluster has no DNS`,
          expected: `each name once among the zones and stub domains: merge the records into one zone, or the servers into one stub domain`,
        }),
      );
      return true;
    }
    served.set(value, `${what} at ${formatPath(where)}`);
    return false;
  };
  const zones: { name: string; records: { name: string; address: string }[] }[] = [];
  (settings.zones ?? []).forEach((zone, index) => {
    if (!name(zone.name, path('zones', index, 'name'), 'a split-horizon zone')) return;
    if (clashes(zone.name, path('zones', index, 'name'), 'a split-horizon zone')) return;
    const records: { name: string; address: string }[] = [];
    zone.records.forEach((record, r) => {
      const where = path('zones', index, 'records', r);
      const problem = recordNameProblem(record.name, zone.name);
      if (problem !== undefined) {
        issues.push(
          error({
            code: 'coredns-name',
            path: [...where, 'name'],
            value: record.name,
            message: problem.message,
            expected: problem.expected,
          }),
        );
        return;
      }
      if (address(record.address, [...where, 'address'], 'a record')) {
        records.push({
          name: record.name,
          address: parseIp(record.address)?.text ?? record.address,
        });
      }
    });
    zones.push({ name: zone.name, records });
  });
  const stubDomains: { domain: string; servers: string[] }[] = [];
  (settings.stubDomains ?? []).forEach((stub, index) => {
    if (!name(stub.domain, path('stubDomains', index, 'domain'), 'a stub domain')) return;
    if (clashes(stub.domain, path('stubDomains', index, 'domain'), 'a stub domain')) return;
    const servers = stub.servers
      .map((server, s) => ({ value: server, at: path('stubDomains', index, 'servers', s) }))
      .filter(({ value, at }) => address(value, at, 'a stub domain server'));
    inside.push(...insideServers(cluster, servers, stub.domain));
    stubDomains.push({ domain: stub.domain, servers: servers.map(({ value }) => value) });
  });
  if (forwarders.length === 0 && issues.length === 0) {
    issues.push(
      error({
        code: 'coredns-address',
        path: path('forwarders'),
        message: `cluster "${cluster.name}" has no resolver address to forward to`,
        expected: 'forwarders, or network.nameservers given as addresses',
      }),
    );
  }
  issues.push(...inside);
  return {
    settings: {
      forwarders,
      cache: {
        ttl: settings.cache?.ttl ?? DEFAULT_CACHE.ttl,
        successSize: settings.cache?.successSize ?? DEFAULT_CACHE.successSize,
        denialSize: settings.cache?.denialSize ?? DEFAULT_CACHE.denialSize,
      },
      zones,
      stubDomains,
    },
    issues,
  };
}

/** The Service address kubelets send DNS queries to: Talos' default, the service network's 10th. */
export function dnsServiceAddress(cluster: ResolvedCluster): string | undefined {
  return nthAddress(cluster.network.serviceCidr, 10);
}

/**
 * The flows CoreDNS needs: the API server, and port 53 of every upstream it forwards to outside
 * the cluster. An upstream inside it gets no CIDR flow: Cilium's CIDR rule would never match it
 * (`clusterPlace`), and the issue at the forwarder (`coredns-forwarder-cluster`) says what to do.
 */
function flows(settings: ResolvedCorednsSettings, cluster: ResolvedCluster): FlowDeclaration[] {
  const upstreams = [
    ...new Set([...settings.forwarders, ...settings.stubDomains.flatMap((stub) => stub.servers)]),
  ]
    .filter((upstream) => clusterPlace(cluster, upstream) === undefined)
    .sort(compareStrings);
  return [
    {
      name: 'apiserver',
      direction: 'egress',
      namespace: COREDNS_NAMESPACE,
      selector: { ...DNS_SELECTOR },
      peer: { kind: 'kube-apiserver' },
      ports: [{ port: 6443, protocol: 'TCP' }],
      reason: 'the kubernetes plugin watches Services and EndpointSlices',
    },
    ...upstreams.map(
      (upstream): FlowDeclaration => ({
        name: `upstream-${upstream.replace(/[^0-9a-f]+/gi, '-')}`,
        direction: 'egress',
        namespace: COREDNS_NAMESPACE,
        selector: { ...DNS_SELECTOR },
        // Talos' host DNS resolver is on every node's lo: a node address to Cilium (the host
        // identity), which no CIDR rule selects; the pod's own node answers
        peer:
          parseIp(upstream)?.text === TALOS_HOST_DNS_ADDRESS
            ? { kind: 'host' }
            : { kind: 'cidr', cidr: `${upstream}/${upstream.includes(':') ? 128 : 32}` },
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        reason: `CoreDNS forwards to ${upstream}`,
      }),
    ),
    {
      name: 'metrics',
      direction: 'ingress',
      namespace: COREDNS_NAMESPACE,
      selector: { ...DNS_SELECTOR },
      peer: { kind: 'capability', capability: 'metrics' },
      ports: [{ port: METRICS_PORT, protocol: 'TCP' }],
      reason: 'the metrics provider scrapes the prometheus plugin',
    },
  ];
}

/** CoreDNS' own metrics (the `prometheus` plugin) and what is worth an alert. */
function monitors(): MonitorDeclaration[] {
  return [
    {
      name: 'coredns',
      namespace: COREDNS_NAMESPACE,
      target: { kind: 'service', selector: { ...DNS_SELECTOR }, port: 'metrics' },
      rules: [
        {
          alert: 'CoreDNSDown',
          // absent(… == 1), not sum(up) < 1: a pod that is Pending, evicted or deleted has no
          // address, so no scrape target and no `up` series at all; the sum of nothing is
          // nothing, and the alert would stay silent exactly when no CoreDNS pod runs.
          expr: `absent(up{namespace="${COREDNS_NAMESPACE}", service="kube-dns"} == 1)`,
          for: { development: '15m', staging: '5m', production: '2m' },
          severity: 'critical',
          summary: 'No CoreDNS pod answers: every name lookup in the cluster fails.',
        },
        {
          alert: 'CoreDNSServfailRatioHigh',
          expr:
            `sum(rate(coredns_dns_responses_total{namespace="${COREDNS_NAMESPACE}", rcode="SERVFAIL"}[5m]))` +
            ` / sum(rate(coredns_dns_responses_total{namespace="${COREDNS_NAMESPACE}"}[5m])) > $threshold`,
          threshold: { development: 0.2, staging: 0.1, production: 0.05 },
          for: { development: '30m', staging: '15m', production: '10m' },
          severity: 'warning',
          summary: 'CoreDNS answers many queries with SERVFAIL: an upstream forwarder may be down.',
        },
      ],
    },
  ];
}

/** The ports of the `kube-dns` Service: the kubelets' `clusterDNS`, and the metrics. */
const SERVICE_PORTS = [
  { name: 'dns', port: 53, targetPort: DNS_PORT, protocol: 'UDP' },
  { name: 'dns-tcp', port: 53, targetPort: DNS_PORT, protocol: 'TCP' },
  { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT, protocol: 'TCP' },
] as const;

/**
 * The `kube-dns` Service as a declaration (`services`): a component whose setting names
 * `kube-dns.coredns.svc` reaches CoreDNS' pods on their ports, never the whole namespace.
 */
function service(): ServiceDeclaration {
  return {
    name: 'kube-dns',
    namespace: COREDNS_NAMESPACE,
    selector: { ...DNS_SELECTOR },
    ports: SERVICE_PORTS.map(({ port, targetPort, protocol }) => ({ port, targetPort, protocol })),
  };
}

function descriptor(): ApplicationDescriptor {
  return {
    namespace: COREDNS_NAMESPACE,
    podSecurity: 'restricted',
    project: 'network',
    // The cluster DNS: Talos' own CoreDNS is disabled in the patches, so deleting this one leaves
    // every name lookup failing (Argo CD's fetch of the repository included) until Talos' comes
    // back from re-applied patches.
    critical: true,
    // No upstream chart: every kind it deploys is in its rendered manifests (the project is
    // computed from them).
    clusterResources: [],
    namespacedResources: [],
  };
}

function declare(input: DeclareInput<CorednsSettings>): Declaration {
  const { cluster } = input;
  const { settings, issues } = resolveCorednsSettings(input.settings, cluster, input.path);
  const address = dnsServiceAddress(cluster);
  const chart = `charts/${NAME}`;
  return {
    application: descriptor(),
    talos: { disableCoreDns: true },
    flows: flows(settings, cluster),
    services: [service()],
    monitors: monitors(),
    facts: {
      dns: {
        clusterDomain: CLUSTER_DOMAIN,
        namespace: COREDNS_NAMESPACE,
        selector: { ...DNS_SELECTOR },
      },
    },
    bootstrap: [
      {
        title: 'Install CoreDNS from the generated chart (by hand)',
        body: [
          "Talos' own CoreDNS is disabled in the patches: the cluster has no DNS until this chart",
          `runs. Argo CD needs it to reach Git, so it is installed once by hand (Argo CD, where it runs, then adopts it).`,
          `Its Service holds \`${address ?? 'the 10th address of the service network'}\`, where every kubelet sends pods' queries.`,
        ],
        commands: [
          `helm template ${NAME} ${chart} --namespace ${COREDNS_NAMESPACE} --kube-version ${shellQuote(cluster.kubernetesVersion)} \\`,
          `  -f ${chart}/env/${shellQuote(`${cluster.environment}.yaml`)} -f ${chart}/clusters/${shellQuote(`${cluster.name}.yaml`)} \\`,
          `  | ${handOverApply('-')}`,
          `kubectl -n ${COREDNS_NAMESPACE} rollout status deployment/${NAME} --timeout=5m`,
        ],
      },
    ],
    issues,
  };
}

const LABELS = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': NAME };

/** The objects of one cluster. */
function manifests(
  settings: ResolvedCorednsSettings,
  ha: { plan: ReturnType<typeof haPlan>['plan'] },
  address: string,
  gateway: GatewayZone | undefined,
): { [key: string]: KubeObject } {
  const { plan } = ha;
  const metadata = (name: string, extra: { [key: string]: string } = {}) => ({
    name,
    namespace: COREDNS_NAMESPACE,
    labels: { ...LABELS, ...extra },
  });
  const out: { [key: string]: KubeObject } = {
    'serviceaccount-coredns': {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(NAME),
    },
    'clusterrole-coredns': {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `homelab:${NAME}`, labels: { ...LABELS } },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        {
          apiGroups: ['discovery.k8s.io'],
          resources: ['endpointslices'],
          verbs: ['list', 'watch'],
        },
      ],
    },
    'clusterrolebinding-coredns': {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `homelab:${NAME}`, labels: { ...LABELS } },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: `homelab:${NAME}`,
      },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: COREDNS_NAMESPACE }],
    },
    'configmap-coredns': {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadata(NAME),
      data: {
        Corefile: corefile({
          clusterDomain: CLUSTER_DOMAIN,
          forwarders: settings.forwarders,
          cache: settings.cache,
          zones: settings.zones,
          stubDomains: settings.stubDomains,
          ...(gateway === undefined ? {} : { gateway }),
        }),
      },
    },
    'deployment-coredns': {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(NAME, { ...DNS_SELECTOR }),
      spec: {
        replicas: plan.replicas,
        selector: { matchLabels: { ...DNS_SELECTOR } },
        ...(plan.strategy === undefined ? {} : { strategy: plan.strategy }),
        template: {
          metadata: {
            labels: { ...DNS_SELECTOR, ...LABELS },
            // A new Corefile is picked up by the reload plugin; no restart needed.
          },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: 'system-cluster-critical',
            ...(plan.affinity === undefined ? {} : { affinity: plan.affinity }),
            ...(plan.topologySpreadConstraints === undefined
              ? {}
              : { topologySpreadConstraints: plan.topologySpreadConstraints }),
            tolerations: [
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              {
                key: 'node-role.kubernetes.io/control-plane',
                operator: 'Exists',
                effect: 'NoSchedule',
              },
            ],
            securityContext: {
              runAsNonRoot: true,
              // The image's user (distroless nonroot) by number, so the kubelet can verify it.
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: NAME,
                image: COREDNS_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: DNS_PORT, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: DNS_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                ],
                resources: {
                  requests: { cpu: '100m', memory: '70Mi' },
                  limits: { memory: '170Mi' },
                },
                livenessProbe: {
                  httpGet: { path: '/health', port: HEALTH_PORT, scheme: 'HTTP' },
                  initialDelaySeconds: 60,
                  timeoutSeconds: 5,
                  failureThreshold: 5,
                },
                readinessProbe: {
                  httpGet: { path: '/ready', port: READY_PORT, scheme: 'HTTP' },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  // Port 53: the binary carries cap_net_bind_service; the runtime lets pods bind
                  // low ports (containerd 2's unprivileged ports, Talos' runtime).
                  capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [
              {
                name: 'config',
                configMap: { name: NAME, items: [{ key: 'Corefile', path: 'Corefile' }] },
              },
            ],
          },
        },
      },
    },
    'service-kube-dns': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata('kube-dns', { ...DNS_SELECTOR }),
      spec: {
        selector: { ...DNS_SELECTOR },
        clusterIP: address,
        ports: SERVICE_PORTS.map((port) => ({ ...port })),
      },
    },
  };
  if (plan.podDisruptionBudget !== undefined) {
    out['poddisruptionbudget-coredns'] = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(NAME),
      spec: {
        maxUnavailable: plan.podDisruptionBudget.maxUnavailable,
        selector: { matchLabels: { ...DNS_SELECTOR } },
      },
    };
  }
  return out;
}

/** The platform Gateway on a cluster: its zone, its address and the hosts routed through it. */
interface GatewayZone {
  readonly domain: string;
  readonly address: string;
  /** Full names of the routed hosts (`auth.dev.lab.example.com`), sorted. */
  readonly hosts: readonly string[];
}

/**
 * The platform Gateway on the cluster, from the `gateway` provider's facts and the routes the
 * components declare (declarations every component's render sees), when its address is pinned.
 * Components call routed hosts of the cluster through the Gateway (an OIDC issuer at
 * `auth.<domain>`: Argo CD's and Grafana's logins): unless CoreDNS answers those names, they
 * resolve only where the forwarders know them, and a lab domain outside public DNS (or the
 * runbook's record in a LAN DNS the forwarders never ask) leaves every such call with NXDOMAIN.
 * Only the routed hosts are answered, never a wildcard: other names of the domain (an S3
 * endpoint, a mail server) keep resolving through the forwarders. A stub domain of the definition
 * that is the Gateway's zone would be a second server block for one zone, which CoreDNS refuses
 * at start: an error at that stub domain.
 */
function gatewayZone(
  entry: RenderInput<CorednsSettings>['clusters'][number],
  issues: Issue[],
): GatewayZone | undefined {
  const facts = entry.others.find((peer) => peer.contribution.facts?.gateway !== undefined)
    ?.contribution.facts?.gateway;
  if (facts?.address === undefined || !isIp(facts.address)) return undefined;
  const domain = facts.domain;
  const hosts = [
    ...new Set(
      entry.others.flatMap((peer) =>
        (peer.contribution.routes ?? []).map((route) => `${route.host}.${domain}`),
      ),
    ),
  ].sort(compareStrings);
  if (hosts.length === 0) return undefined;
  let clash = false;
  (entry.settings.stubDomains ?? []).forEach((stub, index) => {
    if (stub.domain !== domain) return;
    clash = true;
    issues.push(
      error({
        code: 'coredns-zone',
        path: entry.path('stubDomains', index, 'domain'),
        value: stub.domain,
        message: `is the zone of cluster "${entry.cluster.name}"'s platform Gateway, whose routed hosts CoreDNS answers with the Gateway's address (${facts.address})`,
        expected: 'a stub domain other than the Gateway domain of a cluster',
      }),
    );
  });
  if (clash) return undefined;
  return { domain, address: parseIp(facts.address)?.text ?? facts.address, hosts };
}

/**
 * An error at each record of a split-horizon zone whose name a component's route serves through
 * the platform Gateway (`<host>.<gateway domain>`). The CNI's policies take a call to a routed
 * host for a call through the Gateway (core's `clusterRoutedHost`: Cilium's Envoy takes such a
 * connection before a toFQDNs rule could match it), so every egress flow to that name becomes a
 * flow to the Gateway, while this record, which wins over the route in CoreDNS (corefile.ts),
 * sends the pods to its own address: every such call is dropped. Where the cluster's domain is the
 * zone's own (production's `lab.example.com`), a route named like a host of the LAN (`s3`, `ldap`,
 * `nas`) silently cut the backups or the logins off, on that cluster only.
 */
function recordsOfRoutedHosts(entry: RenderInput<CorednsSettings>['clusters'][number]): Issue[] {
  const domain = entry.others.find((peer) => peer.contribution.facts?.gateway !== undefined)
    ?.contribution.facts?.gateway?.domain;
  if (domain === undefined) return [];
  const routes = new Map<string, string>();
  for (const peer of entry.others) {
    for (const route of peer.contribution.routes ?? []) {
      const name = `${route.host}.${domain}`;
      if (!routes.has(name)) routes.set(name, `the route "${route.name}" of ${peer.component}`);
    }
  }
  const issues: Issue[] = [];
  (entry.settings.zones ?? []).forEach((zone, zoneIndex) => {
    (zone.records ?? []).forEach((record, recordIndex) => {
      const name = record.name === '@' ? zone.name : `${record.name}.${zone.name}`;
      const route = routes.get(name);
      if (route === undefined) return;
      issues.push(
        error({
          code: 'coredns-record-routed',
          path: entry.path('zones', zoneIndex, 'records', recordIndex, 'name'),
          value: record.name,
          message: `names ${name}, which ${route} serves through the platform Gateway on cluster "${entry.cluster.name}": the network policies send every call to ${name} through the Gateway, while this record answers ${record.address}, so each is dropped (a component reaching its server at ${name} loses it)`,
          expected: `another host for that route, or no record of ${name} here (CoreDNS then answers it with the Gateway's address)`,
        }),
      );
    });
  });
  return issues;
}

/**
 * The names the platform's pods dial (egress flows to an `fqdn` peer) that lie in a split-horizon
 * zone of the definition without a record there: CoreDNS serves the zone from its records and
 * passes every other name of it on to the forwarders (`hosts … fallthrough`, then `forward`),
 * which answer only what public DNS holds. A lab domain outside public DNS (the reason for a
 * split-horizon zone) leaves each such call with NXDOMAIN: Authelia's LDAP and database,
 * the backups' S3 endpoint. A warning per cluster and zone, naming the names and what dials
 * them; names under a more specific stub domain or the Gateway's zone are answered there.
 */
function unansweredZoneNames(
  entry: RenderInput<CorednsSettings>['clusters'][number],
  settings: ResolvedCorednsSettings,
  gateway: GatewayZone | undefined,
): Issue[] {
  const issues: Issue[] = [];
  const within = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);
  const others = [
    ...settings.stubDomains.map((stub) => stub.domain),
    ...(gateway === undefined ? [] : [gateway.domain]),
  ];
  (entry.settings.zones ?? []).forEach((written, index) => {
    const zone = settings.zones.find((resolved) => resolved.name === written.name);
    if (zone === undefined) return;
    const answered = new Set(
      zone.records.map((record) =>
        record.name === '@' ? zone.name : `${record.name}.${zone.name}`,
      ),
    );
    const dialled = new Map<string, Set<string>>();
    for (const peer of entry.others) {
      for (const flow of peer.contribution.flows ?? []) {
        if (flow.direction !== 'egress' || flow.peer.kind !== 'fqdn') continue;
        const name = flow.peer.name.toLowerCase().replace(/\.$/, '');
        if (name.startsWith('*') || !within(name, zone.name) || answered.has(name)) continue;
        // A more specific zone of the Corefile answers it.
        if (others.some((other) => other.length > zone.name.length && within(name, other)))
          continue;
        dialled.set(name, (dialled.get(name) ?? new Set()).add(peer.component));
      }
    }
    if (dialled.size === 0) return;
    const names = [...dialled.keys()].sort(compareStrings);
    const list = names
      .map((name) => `${name} (${[...(dialled.get(name) ?? [])].sort(compareStrings).join(', ')})`)
      .join(', ');
    issues.push(
      warning({
        code: 'coredns-zone-unanswered',
        path: entry.path('zones', index),
        value: names,
        message: `the platform on cluster "${entry.cluster.name}" dials ${list} in the split-horizon zone ${zone.name}, which has no record for ${names.length === 1 ? 'it' : 'them'}: CoreDNS asks the forwarders (${settings.forwarders.join(', ')}), which answer only what public DNS holds, so where ${zone.name} is not in public DNS every such call fails with NXDOMAIN`,
        expected: `a record per name under the zone's records (${names.map((name) => `{ name: ${name.slice(0, -zone.name.length - 1)}, address: <its LAN address> }`).join(', ')}), or a stubDomains entry naming the LAN's DNS server for the zone; nothing where public DNS answers these names`,
      }),
    );
  });
  return issues;
}

function render(input: RenderInput<CorednsSettings>): ComponentOutput {
  const issues: Issue[] = [];
  const clusters: { [cluster: string]: Values } = {};
  for (const entry of input.clusters) {
    const { settings } = resolveCorednsSettings(entry.settings, entry.cluster, entry.path);
    const address = dnsServiceAddress(entry.cluster);
    if (address === undefined) {
      issues.push(
        error({
          code: 'coredns-service',
          path: ['clusters', entry.cluster.index, 'network', 'serviceCidr'],
          value: entry.cluster.network.serviceCidr,
          message: 'has no 10th address for the DNS Service',
          expected: 'a service network of at least 16 addresses',
        }),
      );
      continue;
    }
    const path = entry.path();
    const ha = haPlan(entry.cluster, { selector: { ...DNS_SELECTOR }, path });
    issues.push(...ha.issues, ...checkHaInvariants(entry.cluster, ha.plan, path));
    const gateway = gatewayZone(entry, issues);
    issues.push(...unansweredZoneNames(entry, settings, gateway));
    issues.push(...recordsOfRoutedHosts(entry));
    // Each carries Prune=true: the Application is critical (Prune=false), and what a change of
    // the definition drops (a stub domain's flow, a renamed object) must still go.
    const objects = Object.entries(manifests(settings, ha, address, gateway)).map(
      ([key, object]) => [key, withSyncOption(object, PRUNE)] as const,
    );
    clusters[entry.cluster.name] = {
      manifests: Object.fromEntries(objects) as unknown as Values,
    };
  }
  const chart: ChartSpec = {
    name: NAME,
    description: 'CoreDNS, the cluster DNS, configured from the platform definition',
    appVersion: COREDNS_VERSION,
    values: {},
    environments: {},
    clusters,
    readme: {
      summary:
        `CoreDNS ${COREDNS_VERSION} as the cluster DNS of every cluster, in place of the CoreDNS ` +
        'Talos deploys at bootstrap (disabled in the Talos patches: Talos reconciles its own ' +
        'manifest and offers no way to configure it). The Corefile comes from the definition: ' +
        'forwarders, split-horizon zones of the home domain, stub domains, cache sizes; the hosts ' +
        "routed through the platform Gateway resolve to the Gateway's address. Replicas, " +
        'disruption budget, anti-affinity and spread follow the environment profile; the ' +
        "Service keeps the address kubelets point pods at (the service network's 10th).",
    },
  };
  return { chart, issues };
}

/** CoreDNS as a platform component. */
export const corednsComponent: Component<CorednsSettings> = {
  name: 'coredns',
  description: "CoreDNS, the cluster DNS, deployed from Git with the definition's Corefile.",
  settings: { schema: schemaJson as unknown as JsonSchema, defaults: {} },
  provides: ['dns'],
  needs: ['cni'],
  upstream: [],
  declare,
  render,
};
