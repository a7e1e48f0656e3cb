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
  compareStrings,
  type Declaration,
  type DeclareInput,
  error,
  type FlowDeclaration,
  handOverApply,
  haPlan,
  type Issue,
  isIp,
  type JsonSchema,
  type KubeObject,
  type MonitorDeclaration,
  nthAddress,
  type PathSegment,
  parseIp,
  type RenderInput,
  type ResolvedCluster,
  type ServiceDeclaration,
  shellQuote,
  type Values,
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

const DNS_NAME = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RECORD_NAME =
  /^(@|\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*)$/;

export interface ResolvedCorednsSettings {
  readonly forwarders: readonly string[];
  readonly cache: CacheSettings;
  readonly zones: readonly { name: string; records: { name: string; address: string }[] }[];
  readonly stubDomains: readonly { domain: string; servers: string[] }[];
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
    if (value.length <= 253 && DNS_NAME.test(value)) return true;
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
  const forwarders = (settings.forwarders ?? cluster.network.nameservers).filter((value, index) =>
    settings.forwarders === undefined
      ? isIp(value)
      : address(value, path('forwarders', index), 'a forwarder'),
  );
  const zones: { name: string; records: { name: string; address: string }[] }[] = [];
  (settings.zones ?? []).forEach((zone, index) => {
    if (!name(zone.name, path('zones', index, 'name'), 'a split-horizon zone')) return;
    if (zone.name === CLUSTER_DOMAIN || zone.name.endsWith(`.${CLUSTER_DOMAIN}`)) {
      issues.push(
        error({
          code: 'coredns-zone',
          path: path('zones', index, 'name'),
          value: zone.name,
          message: `is the cluster's own domain, which the kubernetes plugin answers`,
          expected: 'a zone of your home domain',
        }),
      );
      return;
    }
    const records: { name: string; address: string }[] = [];
    zone.records.forEach((record, r) => {
      const where = path('zones', index, 'records', r);
      if (!RECORD_NAME.test(record.name)) {
        issues.push(
          error({
            code: 'coredns-name',
            path: [...where, 'name'],
            value: record.name,
            message: 'is not a host name relative to the zone',
            expected: '@ or lower-case labels such as nas or git.home',
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
    const servers = stub.servers.filter((server, s) =>
      address(server, path('stubDomains', index, 'servers', s), 'a stub domain server'),
    );
    stubDomains.push({ domain: stub.domain, servers });
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

/** The flows CoreDNS needs: the API server, and port 53 of every upstream it forwards to. */
function flows(settings: ResolvedCorednsSettings): FlowDeclaration[] {
  const upstreams = [
    ...new Set([...settings.forwarders, ...settings.stubDomains.flatMap((stub) => stub.servers)]),
  ].sort(compareStrings);
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
        peer: { kind: 'cidr', cidr: `${upstream}/${upstream.includes(':') ? 128 : 32}` },
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
    flows: flows(settings),
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
          `helm template ${NAME} ${chart} --namespace ${COREDNS_NAMESPACE} \\`,
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
    clusters[entry.cluster.name] = {
      manifests: manifests(settings, ha, address, gateway) as unknown as Values,
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
