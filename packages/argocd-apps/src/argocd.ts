// charts/argo-cd: the upstream argo-cd chart with the platform's values. Pure.

import { PLATFORM_GATEWAY } from '@homelab/cilium';
import type {
  ApplicationDescriptor,
  ChartSpec,
  ClusterContribution,
  Component,
  ComponentOutput,
  EnvironmentName,
  EnvironmentProfile,
  HaPlan,
  Issue,
  JsonValue,
  KubeObject,
  ResolvedCluster,
  ResolvedPlatform,
  Values,
} from '@homelab/core';
import { checkHaInvariants, haPlan, toYaml, warning } from '@homelab/core';
import { compareStrings, manifestMap, sortedUnique } from './internal/order.js';
import { ARGOCD_OIDC_SCOPES, argocdHost, oidcIssuer } from './oidc.js';
import {
  ARGOCD_COMPONENT,
  ARGOCD_NAMESPACE,
  argocdSecretRef,
  type ResolvedArgocdSettings,
  resolveArgocdSettings,
} from './settings.js';
import { ARGOCD_APP_VERSION, ARGOCD_CHART } from './versions.js';

/** Chart folder (charts/argo-cd) and the key its upstream values live under. */
export const ARGOCD_CHART_NAME = 'argo-cd';

/** Resource names are `argocd-<component>` whatever the Helm release is called. */
const FULLNAME = 'argocd';
const SERVER_SERVICE = `${FULLNAME}-server`;
const SERVER_HTTP_PORT = 80;

/**
 * Argo CD has no health check for `argoproj.io/Application` since 1.8; without it the sync
 * waves of an app-of-apps do not wait for child applications to become healthy. This is the
 * check of the Argo CD operator manual ("Resource Health", Argocd App).
 */
export const APPLICATION_HEALTH_LUA = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
`;

export const APPLICATION_HEALTH_KEY = 'resource.customizations.health.argoproj.io_Application';

/** The replicated Deployments of the chart and the pod labels that select them. */
const WORKLOADS = [
  { key: 'server', name: `${FULLNAME}-server` },
  { key: 'repoServer', name: `${FULLNAME}-repo-server` },
  { key: 'applicationSet', name: `${FULLNAME}-applicationset-controller` },
] as const;

/** Redis HA runs three Redis and three HAProxy pods, each forced onto its own node. */
const REDIS_HA_NODES = 3;

/** Cluster-scoped kinds the argo-cd chart creates. */
const CLUSTER_RESOURCES = [
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
] as const;

function usesRedisHa(profile: EnvironmentProfile): boolean {
  return profile.name === 'production';
}

/** Base layer: the same for every cluster. */
function baseValues(): Values {
  return {
    [ARGOCD_CHART_NAME]: {
      fullnameOverride: FULLNAME,
      global: {
        // Placement comes from the environment profile, per workload (cluster layer).
        affinity: { podAntiAffinity: 'none' },
      },
      // Login goes straight to Authelia over OIDC; no Dex in between.
      dex: { enabled: false },
      configs: {
        cm: {
          [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA,
          'exec.enabled': false,
        },
        params: {
          // TLS ends at the platform Gateway; the server speaks plain HTTP (and gRPC over h2c)
          // behind it, so it must not redirect to HTTPS itself.
          'server.insecure': 'true',
        },
        rbac: {
          'policy.default': 'role:readonly',
          scopes: '[groups]',
        },
      },
    },
  };
}

/** Environment layer: the chart's HA recipe, scaled by the profile. */
function environmentValues(profile: EnvironmentProfile): Values {
  const replicated: Values = { replicas: profile.replicas };
  if (profile.podDisruptionBudget) replicated.pdb = { enabled: true, maxUnavailable: 1 };
  const values: Values = {
    // One controller: more replicas only shard clusters, and each cluster has its own Argo CD.
    controller: { replicas: 1 },
    'redis-ha': { enabled: usesRedisHa(profile) },
  };
  for (const workload of WORKLOADS) values[workload.key] = { ...replicated };
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
  cluster: ResolvedCluster,
  settings: ResolvedArgocdSettings,
): string | undefined {
  if (settings.oidc === undefined) return undefined;
  return toYaml({
    name: settings.oidc.name,
    issuer: oidcIssuer(cluster),
    clientID: settings.oidc.clientId,
    clientSecret: argocdSecretRef(settings.oidc.clientSecret),
    requestedScopes: [...ARGOCD_OIDC_SCOPES],
    // Authelia puts the groups claim in the userinfo response, not in the ID token.
    enableUserInfoGroups: true,
    userInfoPath: '/api/oidc/userinfo',
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
export function systemIgnoreDifferences(
  clusterName: string,
  others: readonly ComponentOutput[],
): { [key: string]: string } {
  const merged = new Map<string, { [field: string]: Set<string> }>();
  for (const output of others) {
    const entries = output.clusters[clusterName]?.application?.ignoreDifferences ?? [];
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

function httpRoute(cluster: ResolvedCluster): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: SERVER_SERVICE,
      namespace: ARGOCD_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'argocd' },
    },
    spec: {
      parentRefs: [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: PLATFORM_GATEWAY.name,
          namespace: PLATFORM_GATEWAY.namespace,
        },
      ],
      hostnames: [argocdHost(cluster)],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [{ name: SERVER_SERVICE, port: SERVER_HTTP_PORT }],
        },
      ],
    },
  };
}

function clusterValues(
  cluster: ResolvedCluster,
  settings: ResolvedArgocdSettings,
  others: readonly ComponentOutput[],
  issues: Issue[],
): Values {
  const cm: Values = { 'admin.enabled': settings.localAdmin };
  const oidc = oidcConfig(cluster, settings);
  if (oidc !== undefined) cm['oidc.config'] = oidc;
  Object.assign(cm, systemIgnoreDifferences(cluster.name, others));

  const values: Values = {
    global: { domain: argocdHost(cluster) },
    configs: { cm, rbac: { 'policy.csv': policyCsv(settings) } },
  };
  for (const workload of WORKLOADS) {
    const path = `${settings.path}(${workload.name})`;
    const { plan, issues: planIssues } = haPlan(cluster, {
      selector: { 'app.kubernetes.io/name': workload.name },
      path,
    });
    issues.push(...planIssues, ...checkHaInvariants(cluster, plan, path));
    const placement = placementValues(plan);
    if (Object.keys(placement).length > 0) values[workload.key] = placement;
  }
  if (usesRedisHa(cluster.profile) && cluster.schedulableNodes.length < REDIS_HA_NODES) {
    values['redis-ha'] = { hardAntiAffinity: false, haproxy: { hardAntiAffinity: false } };
    issues.push(
      warning({
        code: 'ha-downgrade',
        path: settings.path,
        value: cluster.schedulableNodes.length,
        message: `Redis HA needs ${REDIS_HA_NODES} distinct nodes but cluster "${cluster.name}" has ${cluster.schedulableNodes.length} schedulable node(s); its pods may share nodes`,
        expected: `at least ${REDIS_HA_NODES} schedulable nodes`,
      }),
    );
  }
  return {
    [ARGOCD_CHART_NAME]: values,
    manifests: manifestMap({ [`httproute-${SERVER_SERVICE}`]: httpRoute(cluster) }),
  };
}

function descriptor(): ApplicationDescriptor {
  return {
    name: ARGOCD_COMPONENT,
    chart: ARGOCD_CHART_NAME,
    namespace: ARGOCD_NAMESPACE,
    // The HTTPRoute attaches to Cilium's Gateway.
    dependsOn: ['cilium'],
    podSecurity: 'restricted',
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
      'repo-server and ApplicationSet controller from staging on, Redis HA in production. The ' +
      'server sits behind the platform Gateway at `argocd.<cluster domain>`; users log in ' +
      'through Authelia (OIDC) and are read-only unless an admin group says otherwise.',
    sections: [
      {
        heading: 'Application health',
        body:
          '`configs.cm` restores the health check of `argoproj.io/Application`, so that the sync ' +
          'waves of the app-of-apps (`charts/platform`) wait for each child to be healthy.',
      },
      {
        heading: 'Secrets',
        body:
          'The OIDC client secret is only referenced (`$<secret>:<key>` in `oidc.config`). The ' +
          'referenced Secret lives in the `argocd` namespace and must carry the label ' +
          '`app.kubernetes.io/part-of: argocd`, or Argo CD will not read it.',
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

/**
 * Argo CD on every cluster that enables it. `others` are the outputs of the other components:
 * the kind-wide fields they declare as generated in-cluster become system-level
 * `ignoreDifferences` in `argocd-cm`.
 */
export function renderArgocd(
  platform: ResolvedPlatform,
  others: readonly ComponentOutput[] = [],
): ComponentOutput {
  const issues: Issue[] = [];
  const clusters: { [cluster: string]: ClusterContribution } = {};
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  const otherOutputs = others.filter((output) => output.component !== ARGOCD_COMPONENT);

  for (const cluster of platform.clusters) {
    const { settings, issues: settingIssues } = resolveArgocdSettings(cluster);
    issues.push(...settingIssues);
    if (!settings.enabled) continue;
    if (!settings.localAdmin && settings.oidc === undefined) {
      issues.push(
        warning({
          code: 'argocd-login',
          path: `${settings.path}.localAdmin`,
          value: false,
          message:
            'disables the local admin account while no OIDC login is configured; nobody can log in',
          expected: 'localAdmin true, or an oidc section',
        }),
      );
    }
    environments.add(cluster.environment);
    clusterLayers[cluster.name] = clusterValues(cluster, settings, otherOutputs, issues);
    const secret = settings.oidc?.clientSecret;
    clusters[cluster.name] = {
      application: descriptor(),
      ...(secret === undefined
        ? {}
        : {
            secrets: [{ name: secret.secretName, namespace: ARGOCD_NAMESPACE, keys: [secret.key] }],
          }),
    };
  }

  if (Object.keys(clusters).length === 0) {
    return { component: ARGOCD_COMPONENT, clusters, issues };
  }
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings)) {
    environmentLayers[name] = environmentValues(platform.environments[name]);
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
  return { component: ARGOCD_COMPONENT, chart, clusters, issues };
}

/** Argo CD as a platform component (without other components' ignoreDifferences). */
export const argocdComponent: Component = {
  name: ARGOCD_COMPONENT,
  render: (platform) => renderArgocd(platform),
};
