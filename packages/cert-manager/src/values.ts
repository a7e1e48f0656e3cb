// The values of charts/cert-manager, by layer: what every cluster shares (base), what the
// environment profile decides (replicas, disruption budgets, requests and limits), and what
// depends on the cluster (placement, DNS servers for the ACME self-check). Pure.
import {
  checkHaInvariants,
  type EnvironmentName,
  type EnvironmentProfile,
  type HaPlan,
  haPlan,
  type Issue,
  type PathSegment,
  type ResolvedCluster,
  type Values,
} from '@homelab/core';
import { CERT_MANAGER_NAMESPACE, type ResolvedIssuer } from './settings.js';

/** The key the upstream chart's values live under (its dependency name). */
export const CERT_MANAGER_VALUES_KEY = 'cert-manager';

/** The Helm release (the Application's name without the cluster prefix). */
export const CERT_MANAGER_RELEASE = 'cert-manager';

/** The chart's three Deployments: where their values live and the pod labels that select them. */
export const WORKLOADS = [
  { key: 'controller', values: [], name: 'cert-manager', component: 'controller' },
  { key: 'webhook', values: ['webhook'], name: 'webhook', component: 'webhook' },
  { key: 'cainjector', values: ['cainjector'], name: 'cainjector', component: 'cainjector' },
] as const;

export type Workload = (typeof WORKLOADS)[number]['key'];

type Resources = {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
};

/**
 * Requests and memory limits per environment. No CPU limit: a throttled webhook times out
 * admission requests. The controller and the CA injector hold informer caches that grow with the
 * cluster's certificates; the webhook only validates.
 */
export const RESOURCES: {
  readonly [E in EnvironmentName]: { readonly [W in Workload]: Resources };
} = {
  development: {
    controller: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    webhook: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    cainjector: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  },
  staging: {
    controller: { requests: { cpu: '25m', memory: '96Mi' }, limits: { memory: '384Mi' } },
    webhook: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } },
    cainjector: { requests: { cpu: '25m', memory: '96Mi' }, limits: { memory: '384Mi' } },
  },
  production: {
    controller: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    webhook: { requests: { cpu: '25m', memory: '64Mi' }, limits: { memory: '192Mi' } },
    cainjector: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
  },
};

/** The post-install API check Job (an Argo CD PostSync hook): small everywhere. */
const STARTUP_API_CHECK_RESOURCES: Resources = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { memory: '64Mi' },
};

function resources(value: Resources): Values {
  return {
    requests: { ...value.requests },
    limits: { ...value.limits },
  };
}

/** Puts `value` under the workload's values path (`webhook.…`; the controller's are top-level). */
function at(path: readonly string[], value: Values): Values {
  return path.reduceRight<Values>((inner, key) => ({ [key]: inner }), value);
}

function merge(...parts: Values[]): Values {
  const out: Values = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      const existing = out[key];
      out[key] =
        typeof existing === 'object' &&
        existing !== null &&
        !Array.isArray(existing) &&
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value)
          ? merge(existing, value)
          : value;
    }
  }
  return out;
}

/** Base layer: the same on every cluster. */
export function baseValues(): Values {
  return {
    [CERT_MANAGER_VALUES_KEY]: {
      // The CRDs come with the chart, in cert-manager's own Application; `keep` annotates them
      // helm.sh/resource-policy: keep, which Argo CD honours as Delete=false: deleting the
      // Application never deletes every Certificate and Issuer of the cluster with the CRDs.
      crds: { enabled: true, keep: true },
      // Leader election in cert-manager's own namespace, not kube-system: the Application
      // deploys into one namespace only.
      // commonLabels: on every object the chart renders (the admission policy requires
      // app.kubernetes.io/part-of on workloads; the chart sets no part-of of its own).
      global: {
        leaderElection: { namespace: CERT_MANAGER_NAMESPACE },
        commonLabels: { 'app.kubernetes.io/part-of': 'cert-manager' },
      },
      startupapicheck: { resources: resources(STARTUP_API_CHECK_RESOURCES) },
    },
  };
}

/** Environment layer: replicas, disruption budgets, requests and limits of the profile. */
export function environmentValues(profile: EnvironmentProfile): Values {
  const parts: Values[] = [];
  for (const workload of WORKLOADS) {
    const values: Values = {
      replicaCount: profile.replicas,
      resources: resources(RESOURCES[profile.name][workload.key]),
    };
    if (profile.podDisruptionBudget) {
      // maxUnavailable, never minAvailable: a budget that blocks a node drain is refused.
      values.podDisruptionBudget = { enabled: true, maxUnavailable: 1 };
    }
    parts.push(at(workload.values, values));
  }
  return { [CERT_MANAGER_VALUES_KEY]: merge(...parts) };
}

function placement(plan: HaPlan): Values {
  const values: Values = {};
  if (plan.affinity !== undefined) values.affinity = plan.affinity;
  if (plan.topologySpreadConstraints !== undefined) {
    values.topologySpreadConstraints = plan.topologySpreadConstraints;
  }
  if (plan.strategy !== undefined) values.strategy = plan.strategy;
  return values;
}

/** The pod labels of a workload's replicas (the chart's selector labels). */
export function workloadSelector(workload: (typeof WORKLOADS)[number]): {
  [key: string]: string;
} {
  return {
    'app.kubernetes.io/component': workload.component,
    'app.kubernetes.io/instance': CERT_MANAGER_RELEASE,
    'app.kubernetes.io/name': workload.name,
  };
}

/** Cluster layer: placement from the profile and the cluster's nodes, the ACME DNS servers. */
export function clusterValues(
  cluster: ResolvedCluster,
  issuer: ResolvedIssuer,
  path: (...segments: PathSegment[]) => PathSegment[],
  issues: Issue[],
): Values {
  const parts: Values[] = [];
  for (const workload of WORKLOADS) {
    const at_ = path();
    const { plan, issues: planIssues } = haPlan(cluster, {
      selector: workloadSelector(workload),
      path: at_,
    });
    issues.push(...planIssues, ...checkHaInvariants(cluster, plan, at_));
    const values = placement(plan);
    if (Object.keys(values).length > 0) parts.push(at(workload.values, values));
  }
  if (issuer.type === 'acme' && issuer.recursiveNameservers.length > 0) {
    parts.push({
      dns01RecursiveNameservers: issuer.recursiveNameservers.join(','),
      dns01RecursiveNameserversOnly: true,
    });
  }
  return { [CERT_MANAGER_VALUES_KEY]: merge(...parts) };
}
