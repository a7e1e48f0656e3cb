// @homelab/argocd: the Argo CD component. Provides `gitops` (the controller the app-of-apps runs
// on); renders charts/argo-cd, the upstream argo-cd chart with the platform's values; declares
// its route, its OIDC client and Secret, its Application and its bootstrap step. Pure.
import type {
  ApplicationDescriptor,
  BootstrapStep,
  ChartSpec,
  Component,
  ComponentOutput,
  Declaration,
  DeclareInput,
  EnvironmentName,
  EnvironmentProfile,
  FlowDeclaration,
  GroupKind,
  HaPlan,
  Issue,
  JsonValue,
  PeerContribution,
  RenderCluster,
  RenderInput,
  ResolvedCluster,
  ResolvedPlatform,
  ResourceBase,
  Values,
} from '@homelab/core';
import {
  boundedWait,
  checkHaInvariants,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  ensureNamespace,
  error,
  handOverApply,
  haPlan,
  requireVariable,
  type ShellRead,
  shellQuote,
  toYaml,
  urlFlowPeer,
  WAIT_SECONDS,
  warning,
  workloadResources,
} from '@homelab/core';
import {
  applicationHealthCheck,
  excludedKindsCheck,
  localAdminCheck,
  oidcPkceCheck,
  oidcRefreshCheck,
  oidcScopesCheck,
  oidcTrustCheck,
  rbacDefaultCheck,
  repositoryTrustCheck,
  resourceHealthCheck,
  serverInsecureCheck,
} from './checks.js';
import { RESOURCE_EXCLUSIONS } from './exclusions.js';
import { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA, healthKey } from './health.js';
import { argocdMonitors } from './monitors.js';
import {
  argocdHost,
  argocdOidcClients,
  DEFAULT_TOKEN_LIFESPANS,
  OIDC_CA_SECRET,
  oidcCaCertificate,
  refreshTokenThreshold,
  webScopes,
} from './oidc.js';
import {
  knownHostsValue,
  repositoryAccessCheck,
  repositoryIssues,
  repositorySecret,
} from './repository.js';
import {
  ARGOCD_NAMESPACE,
  type ArgocdSettings,
  argocdSecretRef,
  argocdSettingsSpec,
  type ResolvedArgocdSettings,
  resolveArgocdSettings,
} from './settings.js';
import { ARGOCD_APP_VERSION, ARGOCD_CHART, ARGOCD_IMAGES, ARGOCD_UPSTREAM } from './versions.js';

/** The values sorted and without duplicates. */
function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

/** Chart folder (charts/argo-cd) and the key its upstream values live under. */
export const ARGOCD_CHART_NAME = 'argo-cd';

/** The shell variable the login section keeps the local admin's initial password in. */
const INITIAL_PASSWORD = 'ARGOCD_INITIAL_PASSWORD';

/** The local admin's new password, typed at the login section's prompt. */
const ADMIN_PASSWORD: ShellRead = {
  variable: 'ARGOCD_ADMIN_PASSWORD',
  prompt: 'new password for the Argo CD admin account (8 to 32 characters)',
};

/** Resource names are `argocd-<component>` whatever the Helm release is called. */
const FULLNAME = 'argocd';
const SERVER_SERVICE = `${FULLNAME}-server`;
const SERVER_HTTP_PORT = 80;
/** The argocd-server Service port (the chart's `servicePortHttps`) that speaks h2c for gRPC. */
const SERVER_GRPC_PORT = 443;

/** The replicated Deployments of the chart and the pod labels that select them. */
const WORKLOADS = [
  { key: 'server', name: `${FULLNAME}-server` },
  { key: 'repoServer', name: `${FULLNAME}-repo-server` },
  { key: 'applicationSet', name: `${FULLNAME}-applicationset-controller` },
] as const;

/** Pod labels of the chart's workloads (`app.kubernetes.io/name: argocd-<component>`). */
const POD = {
  server: { 'app.kubernetes.io/name': 'argocd-server' },
  repoServer: { 'app.kubernetes.io/name': 'argocd-repo-server' },
  controller: { 'app.kubernetes.io/name': 'argocd-application-controller' },
  applicationSet: { 'app.kubernetes.io/name': 'argocd-applicationset-controller' },
  notifications: { 'app.kubernetes.io/name': 'argocd-notifications-controller' },
  redis: { 'app.kubernetes.io/name': 'argocd-redis' },
  redisSecretInit: { 'app.kubernetes.io/name': 'argocd-redis-secret-init' },
  haproxy: { 'app.kubernetes.io/name': 'argocd-redis-ha-haproxy' },
  redisHa: { app: 'redis-ha' },
} as const;

const SERVER_PORT = 8080;
const REPO_SERVER_PORT = 8081;
const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;
/** The containers' `metrics` ports (`--metrics-port` of the chart 10.1.1). */
const CONTROLLER_METRICS_PORT = 8082;
const SERVER_METRICS_PORT = 8083;
const REPO_SERVER_METRICS_PORT = 8084;
const API_PORTS = [{ port: 6443, protocol: 'TCP' as const }];

/**
 * The flows Argo CD needs (zero trust): the Gateway to the server, the API server from every
 * controller, the server and controllers to the repo-server and Redis (HAProxy in front of Redis
 * HA in production), Redis HA's replication and sentinels, the repo-server to the hosts the
 * platform is fetched from, and Prometheus to the metrics ports of the controller, the server
 * and the repo-server.
 */
export function argocdFlows(cluster: ResolvedCluster): FlowDeclaration[] {
  const flow = (
    name: string,
    direction: FlowDeclaration['direction'],
    selector: { readonly [key: string]: string },
    peer: FlowDeclaration['peer'],
    ports: FlowDeclaration['ports'],
    reason: string,
  ): FlowDeclaration => ({
    name,
    direction,
    namespace: ARGOCD_NAMESPACE,
    selector: { ...selector },
    peer,
    ports,
    reason,
  });
  const tcp = (port: number): FlowDeclaration['ports'] => [{ port, protocol: 'TCP' }];
  const api = { kind: 'kube-apiserver' } as const;
  const flows: FlowDeclaration[] = [
    flow(
      'server-gateway',
      'ingress',
      POD.server,
      { kind: 'gateway' },
      tcp(SERVER_PORT),
      'the Gateway forwards argocd.<domain> to the server',
    ),
    flow(
      'server-apiserver',
      'egress',
      POD.server,
      api,
      API_PORTS,
      'the server reads and writes Applications',
    ),
    flow(
      'controller-apiserver',
      'egress',
      POD.controller,
      api,
      API_PORTS,
      'the application controller syncs the cluster',
    ),
    flow(
      'applicationset-apiserver',
      'egress',
      POD.applicationSet,
      api,
      API_PORTS,
      'the ApplicationSet controller writes Applications',
    ),
    flow(
      'notifications-apiserver',
      'egress',
      POD.notifications,
      api,
      API_PORTS,
      'the notifications controller watches Applications',
    ),
    flow(
      'redis-secret-init-apiserver',
      'egress',
      POD.redisSecretInit,
      api,
      API_PORTS,
      'the pre-install Job creates the Redis password Secret',
    ),
    flow(
      'repo-server-sources',
      'egress',
      POD.repoServer,
      { kind: 'deployment-sources' },
      [],
      'the repo-server fetches the platform repository, the upstream charts and the CRD bundles',
    ),
  ];
  for (const [name, selector] of [
    ['server', POD.server],
    ['controller', POD.controller],
    ['applicationset', POD.applicationSet],
  ] as const) {
    flows.push(
      flow(
        `${name}-repo-server`,
        'egress',
        selector,
        { kind: 'self', selector: { ...POD.repoServer } },
        tcp(REPO_SERVER_PORT),
        `the ${name} asks the repo-server for manifests`,
      ),
    );
  }
  // Prometheus (the `metrics` provider) scrapes the metrics ports the monitors select
  // (monitors.ts: the chart's metrics Services, `http-metrics` → the containers' `metrics`).
  for (const [name, selector, port] of [
    ['controller', POD.controller, CONTROLLER_METRICS_PORT],
    ['server', POD.server, SERVER_METRICS_PORT],
    ['repo-server', POD.repoServer, REPO_SERVER_METRICS_PORT],
  ] as const) {
    flows.push(
      flow(
        `${name}-metrics`,
        'ingress',
        selector,
        { kind: 'capability', capability: 'metrics' },
        tcp(port),
        `Prometheus scrapes the ${name}`,
      ),
    );
  }
  const redisClients = [
    ['server', POD.server],
    ['controller', POD.controller],
    ['repo-server', POD.repoServer],
  ] as const;
  if (usesRedisHa(cluster)) {
    for (const [name, selector] of redisClients) {
      flows.push(
        flow(
          `${name}-redis`,
          'egress',
          selector,
          { kind: 'self', selector: { ...POD.haproxy } },
          tcp(REDIS_PORT),
          `the ${name} caches in Redis (through HAProxy)`,
        ),
      );
    }
    flows.push(
      flow(
        'haproxy-redis',
        'egress',
        POD.haproxy,
        { kind: 'self', selector: { ...POD.redisHa } },
        [...tcp(REDIS_PORT), ...tcp(SENTINEL_PORT)],
        'HAProxy finds the Redis master through the sentinels',
      ),
      flow(
        'redis-ha-replication',
        'egress',
        POD.redisHa,
        { kind: 'self', selector: { ...POD.redisHa } },
        [...tcp(REDIS_PORT), ...tcp(SENTINEL_PORT)],
        'Redis replicas and sentinels talk to each other',
      ),
    );
  } else {
    for (const [name, selector] of redisClients) {
      flows.push(
        flow(
          `${name}-redis`,
          'egress',
          selector,
          { kind: 'self', selector: { ...POD.redis } },
          tcp(REDIS_PORT),
          `the ${name} caches in Redis`,
        ),
      );
    }
  }
  return flows;
}

/**
 * With an OIDC login the server calls the issuer (discovery document, token endpoint, keys; the
 * CLI's tokens are checked there too): through the Gateway when the issuer is a routed host of
 * the cluster (`auth.<domain>`, Authelia), the pods behind it when it is a Service of the cluster
 * (`<service>.<namespace>.svc[.<cluster domain>]`, on the URL's port), else the issuer's host by
 * name (core's `urlFlowPeer`).
 */
export function argocdOidcFlows(
  issuer: string,
  gatewayDomain: string | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowDeclaration[] {
  const target = urlFlowPeer(issuer, gatewayDomain, clusterDomain);
  if (target === undefined) return [];
  return [
    {
      name: 'server-oidc-issuer',
      direction: 'egress',
      namespace: ARGOCD_NAMESPACE,
      selector: { ...POD.server },
      peer: target.peer,
      ports: target.ports,
      reason: `the server fetches the OIDC issuer's discovery document, tokens and keys (${issuer})`,
    },
  ];
}

/**
 * Redis HA runs three Redis (with a sentinel each, quorum 2) and three HAProxy pods, each forced
 * onto its own node (redis-ha 4.38.0 `hardAntiAffinity: true`; the argo-cd chart's README: "You
 * need at least 3 worker nodes as the HA mode of redis enforces Pods to run on separate nodes").
 * On fewer nodes it buys nothing: on one node all six pods go down with it; on two, one node
 * holds two of the three sentinels, and losing it leaves one, below the quorum, so no failover
 * happens either (and losing the other is what the single Redis survives too, rescheduled).
 * Three times the pods for no availability: below three schedulable nodes a production cluster
 * runs the chart's single Redis, a cache Argo CD rebuilds when it restarts.
 */
const REDIS_HA_NODES = 3;

/** Cluster-scoped kinds the argo-cd chart creates. */
const CLUSTER_RESOURCES = [
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
] as const;

/** Whether the profile asks for Redis HA (production); each cluster then needs the nodes too. */
function profileWantsRedisHa(profile: EnvironmentProfile): boolean {
  return profile.name === 'production';
}

/** Whether `cluster` runs Redis HA: a production cluster with a node for each of its pods. */
function usesRedisHa(cluster: ResolvedCluster): boolean {
  return profileWantsRedisHa(cluster.profile) && cluster.schedulableNodes.length >= REDIS_HA_NODES;
}

/** CPU and memory requests (and a memory limit) of a small container the profile does not scale. */
function fixedResources(cpu: string, memory: string, limit: string): Values {
  return { requests: { cpu, memory }, limits: { memory: limit } };
}

/**
 * What the environment layer does not set: the one-shot and init containers (the platform's
 * admission policy requires requests on every container; the chart sets none), and the label
 * that says every object of the redis-ha subchart is part of Argo CD, like the chart's own.
 */
const REDIS_HA_VALUES: Values = {
  extraLabels: { 'app.kubernetes.io/part-of': 'argocd' },
  init: { resources: fixedResources('10m', '16Mi', '32Mi') },
  splitBrainDetection: { resources: fixedResources('10m', '16Mi', '32Mi') },
  haproxy: { init: { resources: fixedResources('10m', '16Mi', '32Mi') } },
};

/** Base layer: the same for every cluster. */
function baseValues(): Values {
  return {
    [ARGOCD_CHART_NAME]: {
      fullnameOverride: FULLNAME,
      redisSecretInit: { resources: fixedResources('10m', '32Mi', '64Mi') },
      'redis-ha': REDIS_HA_VALUES,
      global: {
        // Placement comes from the environment profile, per workload (cluster layer).
        affinity: { podAntiAffinity: 'none' },
        // The chart's NetworkPolicies allow every ingress to each component; Cilium enforces the
        // platform's zero-trust policies (from the flows below) instead.
        networkPolicy: { create: false },
      },
      // Login goes straight to Authelia over OIDC; no Dex in between.
      dex: { enabled: false },
      // Metrics Services for the metrics provider's ServiceMonitors (monitors.ts); never the
      // chart's own ServiceMonitors: Argo CD comes before the Prometheus Operator CRDs.
      controller: { metrics: { enabled: true } },
      server: {
        metrics: { enabled: true },
        // The CLI's gRPC and gRPC-web reach the server over HTTP/2 on this port: Cilium's
        // Gateway (v1.19.6) turns gRPC-web into gRPC (its listeners' grpc_web filter) and
        // speaks HTTP/1.1 to a port without this protocol, where argocd-server answers gRPC
        // only over HTTP/2 (server/server.go, cmux): every CLI call ended in an error. The route
        // sends gRPC requests here (`grpcPort`), everything else to port 80.
        service: { servicePortHttpsAppProtocol: 'kubernetes.io/h2c' },
      },
      repoServer: { metrics: { enabled: true } },
      configs: {
        cm: {
          [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA,
          'exec.enabled': false,
          // The chart's exclusions but core Endpoints, which kube-prometheus-stack renders for
          // the control planes (exclusions.ts): Argo CD never creates an excluded kind.
          'resource.exclusions': toYaml(RESOURCE_EXCLUSIONS.map((filter) => ({ ...filter }))),
        },
        params: {
          // TLS ends at the platform Gateway; the server speaks plain HTTP (and gRPC over h2c,
          // Service port 443) behind it, so it must not redirect to HTTPS itself.
          'server.insecure': 'true',
        },
        rbac: {
          // Upstream's default: no role for users no group maps. With `role:readonly` here
          // every SSO user could read everything and `readonlyGroups` would mean nothing.
          'policy.default': '',
          scopes: '[groups]',
        },
      },
    },
  };
}

/** Base requests of Argo CD's workloads; the environment profile scales them. */
const RESOURCES: { readonly [workload: string]: ResourceBase } = {
  controller: { cpu: '250m', memory: '512Mi' },
  server: { cpu: '50m', memory: '128Mi' },
  repoServer: { cpu: '100m', memory: '256Mi' },
  applicationSet: { cpu: '25m', memory: '64Mi' },
  notifications: { cpu: '25m', memory: '64Mi' },
  redis: { cpu: '50m', memory: '64Mi' },
  haproxy: { cpu: '25m', memory: '64Mi' },
  sentinel: { cpu: '25m', memory: '32Mi' },
};

/** Environment layer: the chart's HA recipe, scaled by the profile. */
function environmentValues(profile: EnvironmentProfile): Values {
  const resources = (name: string): Values =>
    workloadResources(profile, RESOURCES[name] as ResourceBase);
  const replicated: Values = { replicas: profile.replicas };
  if (profile.podDisruptionBudget) replicated.pdb = { enabled: true, maxUnavailable: 1 };
  const redisHa = profileWantsRedisHa(profile);
  const values: Values = {
    // One controller: more replicas only shard clusters, and each cluster has its own Argo CD.
    controller: { replicas: 1, resources: resources('controller') },
    notifications: { resources: resources('notifications') },
    'redis-ha': redisHa
      ? {
          enabled: true,
          redis: { resources: resources('redis') },
          sentinel: { resources: resources('sentinel') },
          haproxy: { resources: resources('haproxy') },
        }
      : { enabled: false },
    // The single Redis: every cluster of a production environment with fewer nodes than Redis
    // HA needs runs it (its cluster layer turns Redis HA off), so production sets it up too.
    redis: { resources: resources('redis') },
  };
  for (const workload of WORKLOADS) {
    values[workload.key] = { ...replicated, resources: resources(workload.key) };
  }
  return { [ARGOCD_CHART_NAME]: values };
}

function placementValues(plan: HaPlan): Values {
  const values: Values = {};
  if (plan.affinity !== undefined) values.affinity = plan.affinity;
  if (plan.topologySpreadConstraints !== undefined) {
    values.topologySpreadConstraints = plan.topologySpreadConstraints;
  }
  if (plan.strategy !== undefined) values.deploymentStrategy = plan.strategy;
  return values;
}

function policyCsv(settings: ResolvedArgocdSettings): string {
  const lines = [
    ...sortedUnique(settings.adminGroups).map((group) => `g, ${group}, role:admin`),
    ...sortedUnique(settings.readonlyGroups).map((group) => `g, ${group}, role:readonly`),
  ];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function oidcConfig(
  provider: OidcProvider,
  settings: ResolvedArgocdSettings,
  privateCa: boolean,
): string | undefined {
  if (settings.oidc === undefined) return undefined;
  return toYaml({
    name: settings.oidc.name,
    issuer: provider.issuer,
    clientID: settings.oidc.clientId,
    clientSecret: argocdSecretRef(settings.oidc.clientSecret),
    // The issuer's certificate chains to the platform's private CA: trust it (oidcCaCertificate).
    ...(privateCa ? { rootCA: `$${OIDC_CA_SECRET}:ca.crt` } : {}),
    ...(settings.oidc.cliClientId === undefined ? {} : { cliClientID: settings.oidc.cliClientId }),
    requestedScopes: [...webScopes(settings.oidc.renewSessions)],
    // PKCE on the web login (S256), which the provider requires of the web client (oidc.ts).
    enablePKCEAuthentication: true,
    // With `renewSessions`, the server renews a browser's session with the refresh token of its
    // login (refreshTokenThreshold in oidc.ts); a Go duration (settings.go
    // RefreshTokenThresholdWithConfig: time.ParseDuration, 0 when it fails).
    ...(settings.oidc.renewSessions
      ? { refreshTokenThreshold: refreshTokenThreshold(provider.idTokenLifespan) }
      : {}),
    // The groups come in the ID token (the provider registers the clients with
    // ARGOCD_ID_TOKEN_CLAIMS), never from userinfo: Argo CD reads userinfo only with an access
    // token cached at a web login, which a CLI session does not have.
  });
}

const IGNORE_FIELDS = ['jsonPointers', 'jqPathExpressions', 'managedFieldsManagers'] as const;

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/**
 * System-level `resource.customizations.ignoreDifferences.<group>_<kind>` entries from the
 * kind-wide (`name`-less) ignoreDifferences the other components declare on this cluster.
 * Entries that name a resource stay on that component's Application (argocd-apps puts them
 * there), because the system-level setting cannot be narrowed to one object.
 */
export function systemIgnoreDifferences(others: readonly PeerContribution[]): {
  [key: string]: string;
} {
  const merged = new Map<string, { [field: string]: Set<string> }>();
  for (const peer of others) {
    const entries = peer.contribution.application?.ignoreDifferences ?? [];
    for (const entry of entries) {
      if (entry.name !== undefined || entry.namespace !== undefined) continue;
      const kind = typeof entry.kind === 'string' ? entry.kind : undefined;
      if (kind === undefined) continue;
      const group = typeof entry.group === 'string' ? entry.group : '';
      const key = `resource.customizations.ignoreDifferences.${group === '' ? kind : `${group}_${kind}`}`;
      const fields = merged.get(key) ?? {};
      for (const field of IGNORE_FIELDS) {
        for (const item of stringList(entry[field])) {
          const set = fields[field] ?? new Set<string>();
          set.add(item);
          fields[field] = set;
        }
      }
      merged.set(key, fields);
    }
  }
  const out: { [key: string]: string } = {};
  for (const key of [...merged.keys()].sort(compareStrings)) {
    const fields = merged.get(key) ?? {};
    const body: Values = {};
    for (const field of IGNORE_FIELDS) {
      const set = fields[field];
      if (set !== undefined && set.size > 0) body[field] = sortedUnique(set);
    }
    if (Object.keys(body).length > 0) out[key] = toYaml(body);
  }
  return out;
}

/**
 * The health checks the other components declare for kinds their charts render (argocd-cm
 * `resource.customizations.health.<group>_<kind>`), by key, and the keys two components declare
 * different scripts for (Argo CD takes one script per kind).
 */
export function systemHealthChecks(others: readonly PeerContribution[]): {
  readonly entries: { [key: string]: string };
  readonly conflicts: readonly { readonly key: string; readonly components: readonly string[] }[];
} {
  const scripts = new Map<string, { lua: string; components: string[] }>();
  const conflicts = new Map<string, Set<string>>();
  for (const peer of others) {
    for (const check of peer.contribution.application?.healthChecks ?? []) {
      const key = healthKey(check.group, check.kind);
      if (key === APPLICATION_HEALTH_KEY) {
        conflicts.set(key, new Set(['argocd', peer.component]));
        continue;
      }
      const found = scripts.get(key);
      if (found === undefined) {
        scripts.set(key, { lua: check.lua, components: [peer.component] });
      } else if (found.lua !== check.lua) {
        conflicts.set(key, new Set([...found.components, peer.component]));
      } else {
        found.components.push(peer.component);
      }
    }
  }
  const entries: { [key: string]: string } = {};
  for (const key of [...scripts.keys()].sort(compareStrings)) {
    if (conflicts.has(key)) continue;
    entries[key] = (scripts.get(key) as { lua: string }).lua;
  }
  return {
    entries,
    conflicts: [...conflicts]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([key, components]) => ({ key, components: [...components].sort(compareStrings) })),
  };
}

type OidcProvider = { readonly issuer: string; readonly idTokenLifespan: number };

/**
 * The OIDC issuer Argo CD trusts and the lifespan of its ID tokens: the `oidc-provider`'s, or
 * Authelia's address and default lifespan until one runs (or where it does not state it).
 */
function providerOf(entry: RenderCluster<ArgocdSettings>): OidcProvider {
  const provided = entry.provided['oidc-provider'];
  return {
    issuer: provided?.issuer ?? `https://auth.${entry.cluster.domain}`,
    idTokenLifespan: (provided?.tokenLifespans ?? DEFAULT_TOKEN_LIFESPANS).idToken,
  };
}

function clusterValues(
  entry: RenderCluster<ArgocdSettings>,
  settings: ResolvedArgocdSettings,
  issues: Issue[],
  platform: ResolvedPlatform,
): Values {
  const { cluster } = entry;
  const cm: Values = { 'admin.enabled': settings.localAdmin };
  if (settings.additionalUrls.length > 0) cm.additionalUrls = toYaml([...settings.additionalUrls]);
  const certificates = entry.provided.certificates;
  const privateCa = certificates?.privateCa === true && settings.oidc !== undefined;
  const oidc = oidcConfig(providerOf(entry), settings, privateCa);
  if (oidc !== undefined) cm['oidc.config'] = oidc;
  Object.assign(cm, systemIgnoreDifferences(entry.others));
  const health = systemHealthChecks(entry.others);
  Object.assign(cm, health.entries);
  for (const conflict of health.conflicts) {
    issues.push(
      error({
        code: 'argocd-resource-health',
        path: entry.path(),
        value: conflict.key,
        message: `components ${conflict.components.join(', ')} declare different Argo CD health checks for ${conflict.key.slice('resource.customizations.health.'.length)} on cluster "${cluster.name}"; Argo CD takes one script per kind`,
        expected: 'one health check per kind',
      }),
    );
  }

  const extraHosts = knownHostsValue(platform);
  const values: Values = {
    global: { domain: argocdHost(cluster) },
    configs: {
      cm,
      rbac: { 'policy.csv': policyCsv(settings) },
      // The repository's SSH host keys, when the chart does not ship them.
      ...(extraHosts === undefined ? {} : { ssh: { extraHosts } }),
    },
  };
  for (const workload of WORKLOADS) {
    const path = entry.path(workload.key);
    const { plan, issues: planIssues } = haPlan(cluster, {
      selector: { 'app.kubernetes.io/name': workload.name },
      path,
    });
    issues.push(...planIssues, ...checkHaInvariants(cluster, plan, path));
    const placement = placementValues(plan);
    if (Object.keys(placement).length > 0) values[workload.key] = placement;
  }
  if (usesRedisHa(cluster) && cluster.schedulableNodes.length === REDIS_HA_NODES) {
    // One HAProxy per node on exactly as many nodes as replicas: the chart's rollout (25%,
    // which Kubernetes makes a surge of 1 and none unavailable for 3 replicas) would wait
    // forever for a node free of HAProxy for its surge pod (rollout-surge-room). Replace one
    // at a time instead: the other two serve meanwhile.
    values['redis-ha'] = {
      haproxy: {
        deploymentStrategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
        },
      },
    };
  }
  if (profileWantsRedisHa(cluster.profile) && !usesRedisHa(cluster)) {
    // Fewer nodes than Redis HA needs (REDIS_HA_NODES): the chart's single Redis instead. The
    // chart then points Argo CD at it (`redis.server: argocd-redis:6379` in
    // argocd-cmd-params-cm, its helper `argo-cd.redis.server`), and the flows follow
    // (argocdFlows).
    values['redis-ha'] = { enabled: false };
  }
  return {
    [ARGOCD_CHART_NAME]: values,
    ...(privateCa && certificates !== undefined
      ? {
          manifests: {
            [`certificate-${OIDC_CA_SECRET}`]: oidcCaCertificate(
              certificates.issuerRef,
              ARGOCD_NAMESPACE,
            ),
          },
        }
      : {}),
  };
}

/** Namespaced kinds the upstream chart renders with these values (the Helm suite checks them). */
function namespacedResources(profile: EnvironmentProfile): GroupKind[] {
  const kinds: GroupKind[] = [
    { group: '', kind: 'ConfigMap' },
    { group: '', kind: 'Secret' },
    { group: '', kind: 'Service' },
    { group: '', kind: 'ServiceAccount' },
    { group: 'apps', kind: 'Deployment' },
    { group: 'apps', kind: 'StatefulSet' },
    { group: 'batch', kind: 'Job' },
    { group: 'rbac.authorization.k8s.io', kind: 'Role' },
    { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
  ];
  if (profile.podDisruptionBudget) kinds.push({ group: 'policy', kind: 'PodDisruptionBudget' });
  return kinds;
}

function descriptor(cluster: ResolvedCluster): ApplicationDescriptor {
  const profile = cluster.profile;
  return {
    namespacedResources: namespacedResources(profile),
    chart: ARGOCD_CHART_NAME,
    namespace: ARGOCD_NAMESPACE,
    imageRepositories: {
      [ARGOCD_NAMESPACE]: [
        ARGOCD_IMAGES.argocd,
        ARGOCD_IMAGES.redis,
        ...(usesRedisHa(cluster) ? [ARGOCD_IMAGES.haproxy] : []),
      ],
    },
    // The GitOps controller: deleting it through itself would leave the cluster unmanaged.
    critical: true,
    installs: ['Application', 'AppProject', 'ApplicationSet'].map((kind) => ({
      group: 'argoproj.io',
      kind,
    })),
    podSecurity: 'restricted',
    project: 'gitops',
    // The ApplicationSet CRD is larger than the client-side apply annotation allows.
    serverSideApply: true,
    clusterResources: CLUSTER_RESOURCES.map((resource) => ({ ...resource })),
  };
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      `Argo CD ${ARGOCD_APP_VERSION} (upstream chart argo-cd ${ARGOCD_CHART.version}), the GitOps ` +
      'controller that deploys the platform: single replicas in development, replicated server, ' +
      'repo-server and ApplicationSet controller from staging on, Redis HA on production ' +
      'clusters of three or more schedulable nodes (the single Redis below that). The ' +
      'server sits behind the platform Gateway at `argocd.<cluster domain>`; users log in ' +
      'through Authelia (OIDC) and get exactly what their groups are granted (admin or read-only): there is no default role.',
    sections: [
      {
        heading: 'Application health',
        body:
          '`configs.cm` restores the health check of `argoproj.io/Application`, so that the sync ' +
          'waves of the app-of-apps (`charts/platform`) wait for each child to be healthy. A child ' +
          'reads Progressing while its own sync is requested or running, and while its spec names ' +
          'sources its controller has not compared yet (`status.sync.comparedTo`): changed by the ' +
          'root, it keeps its old Healthy until then, and the next wave would start early.',
      },
      {
        heading: 'Secrets',
        body:
          'The OIDC client secret is only referenced (`$<secret>:<key>` in `oidc.config`). The ' +
          'referenced Secret lives in the `argocd` namespace and must carry the label ' +
          '`app.kubernetes.io/part-of: argocd`, or Argo CD will not read it. Where the ' +
          'certificates provider is a private CA, `oidc.config` trusts it with `rootCA: ' +
          '$argocd-oidc-ca:ca.crt`: the CA cert-manager puts in the Secret of the Certificate ' +
          '`argocd-oidc-ca` the chart deploys (same label), since the server reaches the issuer ' +
          'with the system roots otherwise.',
      },
      {
        heading: 'CLI',
        body:
          'TLS ends at the platform Gateway, which serves `argocd.<cluster domain>` over HTTPS; ' +
          'behind it the server speaks plain HTTP (`server.insecure`). The `argocd` CLI goes ' +
          'through the Gateway with gRPC-web: `argocd login argocd.<cluster domain> --grpc-web`. ' +
          'With a private CA, trust it first (the runbook extracts it), or point the CLI at it ' +
          'for one command: `SSL_CERT_FILE=<platform>-<cluster>-root-ca.crt argocd login ' +
          'argocd.<cluster domain> --grpc-web`.',
      },
      {
        heading: 'Bootstrap',
        body:
          'Install once by hand with the release name `argocd` in the namespace `argocd`, ' +
          'with the value files of the cluster (`env/<environment>.yaml`, ' +
          '`clusters/<cluster>.yaml`); then apply `clusters/<cluster>/root-application.yaml`. ' +
          'From then on the `<cluster>-argocd` Application manages Argo CD from Git.',
      },
    ],
  };
}

function declare(input: DeclareInput<ArgocdSettings>): Declaration {
  const { cluster } = input;
  const { settings, issues } = resolveArgocdSettings(input.settings, input.path);
  if (!settings.localAdmin && settings.oidc === undefined) {
    issues.push(
      warning({
        code: 'argocd-login',
        path: input.path('localAdmin'),
        value: false,
        message:
          'disables the local admin account while no OIDC login is configured; nobody can log in',
        expected: 'localAdmin true, or an oidc section',
      }),
    );
  }
  const issuer = input.provided['oidc-provider']?.issuer ?? `https://auth.${cluster.domain}`;
  const clients = argocdOidcClients(cluster, settings, issuer, input.path);
  const client = clients[0];
  const secret = settings.oidc?.clientSecret;
  const env = cluster.environment;
  const chart = `charts/${ARGOCD_CHART_NAME}`;
  const repository = repositorySecret(input.platform);
  return {
    application: descriptor(cluster),
    // A private repository: the one Secret Argo CD needs before it can read anything from Git.
    ...(repository === undefined ? {} : { bootstrapSecrets: [repository] }),
    flows: [
      ...argocdFlows(cluster),
      // Through the Gateway only to the cluster's own provider (its route serves the issuer);
      // any other issuer is an outside host, by name.
      ...(clients.length === 0
        ? []
        : argocdOidcFlows(
            issuer,
            input.provided['oidc-provider'] === undefined
              ? undefined
              : input.provided.gateway?.domain,
            input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
          )),
    ],
    ...(input.provided.gateway === undefined
      ? {}
      : {
          routes: [
            {
              name: SERVER_SERVICE,
              host: 'argocd',
              namespace: ARGOCD_NAMESPACE,
              service: SERVER_SERVICE,
              port: SERVER_HTTP_PORT,
              grpcPort: SERVER_GRPC_PORT,
              labels: { 'app.kubernetes.io/part-of': 'argocd' },
              auth:
                client === undefined
                  ? { kind: 'app' as const }
                  : { kind: 'app' as const, oidcClient: client.id },
            },
          ],
        }),
    ...(clients.length === 0 ? {} : { oidcClients: clients }),
    ...(secret === undefined
      ? {}
      : {
          secrets: [
            {
              name: secret.name,
              namespace: ARGOCD_NAMESPACE,
              keys: [secret.key],
              // Argo CD reads `$<secret>:<key>` only from Secrets with this label.
              labels: { 'app.kubernetes.io/part-of': 'argocd' },
              description:
                'the OIDC client secret Argo CD presents to the OIDC provider: 40 or more random letters and digits (the provider reads the same entry into its configuration, where a quote breaks it)',
              // The server resolves `$<secret>:<key>` of `oidc.config` from its Secret informer
              // and restarts its own listeners when the resolved OIDC settings change (v3.4.4
              // server.go `watchSettings`, `checkOIDCConfigChange`): no restart needed.
              readers: [
                {
                  kind: 'Deployment',
                  name: SERVER_SERVICE,
                  reads: 'use',
                  how:
                    '`$' +
                    secret.name +
                    ':' +
                    secret.key +
                    '` of `oidc.config`, which the server re-reads when the Secret changes (it restarts its SSO by itself)',
                },
              ],
            },
          ],
        }),
    bootstrap: [
      {
        title: 'Install Argo CD from the generated chart',
        body: [
          'Argo CD is installed once by hand, from the same chart and value layers its own',
          'Application uses; from the hand-over on, it manages itself from Git.',
          ...(input.provided.secrets === undefined || secret === undefined
            ? []
            : [
                `The apply reports no match for the kind that fills \`${secret.name}\` (${input.provided.secrets.store}):`,
                'its CRD arrives with the secrets provider, which Argo CD installs; Argo CD then',
                'creates that object when it syncs itself.',
              ]),
          ...(input.provided.certificates?.privateCa === true && settings.oidc !== undefined
            ? [
                `Likewise for the Certificate \`${OIDC_CA_SECRET}\` (cert-manager, installed by Argo CD`,
                "too): its Secret brings the cluster's private CA to Argo CD (`rootCA` of",
                "`oidc.config`), so that the server trusts the OIDC issuer's certificate.",
              ]
            : []),
        ],
        commands: [
          ensureNamespace(ARGOCD_NAMESPACE),
          `helm dependency update ${chart}`,
          // --skip-tests: the redis-ha subchart's two test Pods (`helm.sh/hook: test-success`)
          // would otherwise be applied as plain Pods that nothing ever deletes.
          `helm template argocd ${chart} --namespace ${ARGOCD_NAMESPACE} --kube-version ${shellQuote(cluster.kubernetesVersion)} --skip-tests \\`,
          `  -f ${chart}/env/${shellQuote(`${env}.yaml`)} -f ${chart}/clusters/${shellQuote(`${cluster.name}.yaml`)} \\`,
          `  | ${handOverApply('-')}`,
          `kubectl -n ${ARGOCD_NAMESPACE} wait --for=condition=Available deployment --all --timeout=10m`,
        ],
      },
      loginStep(cluster, settings, input.provided['oidc-provider'] !== undefined),
    ],
    monitors: argocdMonitors(),
    facts: {
      gitops: { namespace: ARGOCD_NAMESPACE, version: ARGOCD_APP_VERSION, stop: STOP_CONTROLLER },
    },
    issues,
  };
}

/**
 * Stops the application controller (the StatefulSet `argocd-application-controller` of argo-cd
 * chart 10.1.1 with `fullnameOverride: argocd`) and waits until its pods are gone. While it runs,
 * Argo CD v3.4.4 puts `pre-delete-finalizer.argocd.argoproj.io` back on every Application whose
 * chart has a Helm pre-delete hook (controller/appcontroller.go) and runs the hook when the
 * Application is deleted. The loop, not `kubectl wait -l`: that fails when no pod matches.
 */
const STOP_CONTROLLER = [
  `kubectl -n ${ARGOCD_NAMESPACE} scale statefulset argocd-application-controller --replicas=0`,
  boundedWait({
    condition: `[ -z "$(kubectl -n ${ARGOCD_NAMESPACE} get pods -l app.kubernetes.io/name=argocd-application-controller -o name)" ]`,
    seconds: WAIT_SECONDS.argocdStop,
    interval: 5,
    message: `Argo CD's application controller still runs: see kubectl -n ${ARGOCD_NAMESPACE} get pods -l app.kubernetes.io/name=argocd-application-controller and the StatefulSet's replicas`,
  }),
];

/**
 * Who else gets in: the clients ask the cluster's provider to let in only the admin and
 * read-only groups (`OidcClientRequest.groups`; Authelia registers a `default_policy: deny`
 * authorization policy for them), so there anyone else is refused at the provider; with no group
 * named, or an issuer outside the cluster, Argo CD lets them in with no role.
 */
function othersText(settings: ResolvedArgocdSettings, name: string, provider: boolean): string {
  const named = settings.adminGroups.length + settings.readonlyGroups.length > 0;
  return named && provider
    ? `anyone else is refused by ${name} (the client lets in only these groups).`
    : 'anyone else is let in with no rights (there is no default role).';
}

/** The runbook's "Logging in" entry: the URL, SSO, and the local admin where it is enabled. */
function loginStep(
  cluster: ResolvedCluster,
  settings: ResolvedArgocdSettings,
  provider: boolean,
): BootstrapStep {
  const host = argocdHost(cluster);
  const oidc = settings.oidc;
  const groups = (names: readonly string[]): string =>
    names.length === 0 ? 'no group' : names.map((name) => `\`${name}\``).join(', ');
  const body = [
    `Argo CD answers at \`https://${host}/\`.`,
    ...(oidc === undefined
      ? ['No OIDC login is configured (`components.argocd.oidc`): only the local admin logs in.']
      : [
          `Log in with **${oidc.name}**${provider ? '' : ' (no OIDC provider runs on this cluster yet: that button fails until one does)'}; ` +
            `its policy is \`${oidc.policy}\`. Admins: ${groups(settings.adminGroups)}; read-only: ` +
            `${groups(settings.readonlyGroups)}; ${othersText(settings, oidc.name, provider)}`,
          // The refresh token of the web login (offline_access, refreshTokenThreshold): Authelia
          // 4.39 asks for consent to it at every such login (RequesterRequiresExplicitConsent).
          oidc.renewSessions
            ? `The browser's session renews itself while the UI is in use (a refresh token, \`offline_access\`: ${oidc.name} may ask for consent to it at each login), keeping the groups of its login; a browser closed for longer than the ID token logs in again.`
            : "The browser's session ends with the provider's ID token (an hour with Authelia); `oidc.renewSessions` renews it while the UI is in use.",
          ...(oidc.cliClientId === undefined
            ? [
                'The CLI has no OIDC client (`oidc.cli: false`): it logs in as the local admin only.',
              ]
            : [
                `The CLI logs in through the same provider (public client \`${oidc.cliClientId}\`, a browser opens),`,
                'over gRPC-web through the Gateway.',
              ]),
        ]),
    settings.localAdmin
      ? `The local \`admin\` account is **enabled** in this environment (\`localAdmin: true\`): the login that works without ${oidc === undefined ? 'SSO' : oidc.name}. Its first password is in \`argocd-initial-admin-secret\`: the block below logs in with it (\`argocd admin initial-password\` reads it through kubectl), sets the password you type at the prompt (8 to 32 characters, Argo CD's default \`passwordPattern\`), then deletes that Secret; each step runs only if the one before succeeded.${oidc?.cliClientId === undefined ? '' : ` The ${oidc.name} login comes last, so the CLI stays logged in as you.`}`
      : `The local \`admin\` account is **disabled** in this environment (\`localAdmin: false\`; the \`argocd-local-admin\` check allowed it because the OIDC login chain is complete): the only login is ${oidc?.name ?? 'SSO'}.`,
  ];
  const server = shellQuote(host);
  // No command prompts on the terminal (terminal-read-alone): the new password is read in a
  // block of its own, the initial one from its Secret, and each is required non-empty first
  // (empty, argocd prompts). The values pass as arguments: the shell's history keeps the
  // variables, not them.
  const commands = [
    ...(settings.localAdmin
      ? [
          `${requireVariable(ADMIN_PASSWORD.variable, 'empty: read it again')} &&`,
          `${INITIAL_PASSWORD}="$(argocd admin initial-password -n ${ARGOCD_NAMESPACE} | head -n 1)" &&`,
          `${requireVariable(INITIAL_PASSWORD, 'not found: argocd-initial-admin-secret is deleted once the password is changed')} &&`,
          `argocd login ${server} --grpc-web --username admin --password "$${INITIAL_PASSWORD}" &&`,
          `argocd account update-password --current-password "$${INITIAL_PASSWORD}" --new-password "$${ADMIN_PASSWORD.variable}" &&`,
          `kubectl -n ${ARGOCD_NAMESPACE} delete secret argocd-initial-admin-secret --timeout=1m`,
        ]
      : []),
    ...(oidc?.cliClientId === undefined ? [] : [`argocd login ${server} --grpc-web --sso`]),
  ];
  // Break-glass where SSO is the only login: the CLI's core mode runs Argo CD's API in the CLI
  // against the Kubernetes API (v3.4.4 cmd/argocd/commands/login.go: no password asked with
  // --core; headless.go reads the namespace from the kubeconfig's context).
  const after = settings.localAdmin
    ? []
    : [
        `Without ${oidc?.name ?? 'SSO'} (it is down, or its login chain broke) the CLI still reaches Argo CD in core mode, through the Kubernetes API with your kubeconfig: \`kubectl config set-context --current --namespace=${ARGOCD_NAMESPACE}\`, then \`argocd login --core\` (no password: the kubeconfig's rights are its rights) and any \`argocd\` command (\`argocd app list\`); the login above switches back.`,
      ];
  return {
    title: 'Argo CD',
    body,
    ...(settings.localAdmin ? { reads: [ADMIN_PASSWORD] } : {}),
    commands,
    ...(after.length > 0 ? { after } : {}),
    when: 'login',
  };
}

/**
 * charts/argo-cd for every cluster that enables Argo CD. The kind-wide fields the other
 * components declare as generated in-cluster become system-level `ignoreDifferences` in
 * `argocd-cm`.
 */
function render(input: RenderInput<ArgocdSettings>): ComponentOutput {
  // The repository is the definition's, once for every cluster.
  const issues: Issue[] = input.clusters.length > 0 ? repositoryIssues(input.platform) : [];
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  for (const entry of input.clusters) {
    const { settings } = resolveArgocdSettings(entry.settings, entry.path);
    environments.add(entry.cluster.environment);
    clusterLayers[entry.cluster.name] = clusterValues(entry, settings, issues, input.platform);
  }
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings)) {
    environmentLayers[name] = environmentValues(input.platform.environments[name]);
  }
  const chart: ChartSpec = {
    name: ARGOCD_CHART_NAME,
    description: 'Argo CD, the GitOps controller of the platform',
    appVersion: ARGOCD_APP_VERSION,
    dependency: {
      name: ARGOCD_CHART.name,
      version: ARGOCD_CHART.version,
      repository: ARGOCD_CHART.repository,
    },
    values: baseValues(),
    environments: environmentLayers,
    clusters: clusterLayers,
    readme: readme(),
  };
  return { chart, issues };
}

/** Argo CD as a platform component. */
export const argocdComponent: Component<ArgocdSettings> = {
  name: 'argocd',
  description: 'Argo CD, the GitOps controller that deploys the platform.',
  settings: argocdSettingsSpec,
  provides: ['gitops'],
  needs: ['cni'],
  // The cluster DNS first: the repo-server resolves the Git and chart hosts.
  // The certificates provider's private CA, which the server must trust to reach the issuer.
  uses: ['gateway', 'secrets', 'dns', 'certificates'],
  // The issuer of the SSO login: the server fetches its discovery document at a login, not at
  // start-up, so Argo CD's sync does not wait for the provider's.
  reads: ['oidc-provider'],
  upstream: ARGOCD_UPSTREAM,
  checks: [
    localAdminCheck,
    rbacDefaultCheck,
    serverInsecureCheck,
    applicationHealthCheck,
    resourceHealthCheck,
    excludedKindsCheck,
    repositoryAccessCheck,
    repositoryTrustCheck,
    oidcTrustCheck,
    oidcScopesCheck,
    oidcPkceCheck,
    oidcRefreshCheck,
  ],
  declare,
  render,
};
