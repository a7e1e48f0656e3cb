import { describe, expect, it } from 'vitest';
import type { ClusterRun } from './components.js';
import { resolvePlatform } from './resolve.js';
import {
  replicasBeyondNodes,
  replicasFitNodes,
  rolloutPods,
  rolloutSurgeRoom,
  stuckRollout,
} from './rollout-room.js';
import type { DeployedApplication, SystemInput } from './system.js';
import { testCluster, testDefinition, testReferenceClusters } from './testing-factory.js';
import type { JsonValue, KubeObject, Values } from './types.js';

// prod of the reference fleet: 3 control planes (tainted: it has workers) and 3 workers.
const platform = resolvePlatform(testDefinition(testReferenceClusters()));
const prod = platform.clusters.find((c) => c.name === 'prod') as (typeof platform.clusters)[number];

/** redis-ha's HAProxy as argo-cd 10.1.1 renders it in production: 3 replicas, one per node. */
function haproxy(strategy: JsonValue = { type: 'RollingUpdate' }, extra: Values = {}): KubeObject {
  const labels = { app: 'redis-ha-haproxy', release: 'argocd', component: 'haproxy' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'argocd-redis-ha-haproxy', namespace: 'argocd' },
    spec: {
      replicas: 3,
      strategy,
      template: {
        metadata: { labels: { ...labels, revision: '1' } },
        spec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          },
          ...extra,
        },
      },
    },
  };
}

function input(objects: KubeObject[], cluster = prod): SystemInput {
  const app: DeployedApplication = {
    name: 'argocd',
    component: 'argocd',
    bundle: undefined,
    wave: 4,
    namespace: 'argocd',
    application: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'prod-argocd' },
    },
    objects: objects.map((object) => ({ object, source: 'helm template prod-argocd' })),
    installs: [],
    critical: true,
    origin: ['clusters', 2, 'components', 'argocd'],
  };
  return {
    platform,
    clusters: [{ cluster, run: {} as ClusterRun, applications: [app] }],
    files: [],
  };
}

describe('rollout-surge-room', () => {
  it('rounds as the Deployment controller does: 25% of 3 is a surge of 1 and none unavailable', () => {
    expect(rolloutPods('25%', 3, true)).toBe(1);
    expect(rolloutPods('25%', 3, false)).toBe(0);
    expect(rolloutPods(2, 3, false)).toBe(2);
  });

  it("refuses the chart's default rollout of three replicas, one per worker, on three workers", () => {
    const issues = rolloutSurgeRoom.check(input([haproxy()]));
    expect(issues.map((issue) => [issue.code, issue.severity, issue.value])).toEqual([
      ['rollout-surge-room', 'error', 'Deployment argocd/argocd-redis-ha-haproxy'],
    ]);
    expect(issues[0]?.message).toContain('3 replicas on the 3 node(s) of cluster "prod"');
  });

  it('passes maxUnavailable 1 with no surge, and a Recreate strategy', () => {
    const oneDown = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
    expect(
      rolloutSurgeRoom.check(input([haproxy(oneDown), haproxy({ type: 'Recreate' })])),
    ).toEqual([]);
  });

  it('counts the control planes for pods that tolerate their taint', () => {
    const tolerates = {
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }],
    };
    expect(stuckRollout(prod, haproxy(undefined, tolerates))).toBeUndefined();
    expect(
      stuckRollout(prod, haproxy(undefined, { tolerations: [{ operator: 'Exists' }] })),
    ).toBeUndefined();
    expect(stuckRollout(prod, haproxy())).toEqual({ replicas: 3, nodes: 3, maxSurge: 1 });
  });

  it('says nothing of a node selector it cannot read, nor of anti-affinity on other pods', () => {
    expect(
      stuckRollout(prod, haproxy(undefined, { nodeSelector: { 'example.com/pool': 'a' } })),
    ).toBeUndefined();
    expect(
      stuckRollout(prod, haproxy(undefined, { nodeSelector: { 'kubernetes.io/os': 'linux' } })),
    ).toEqual({
      replicas: 3,
      nodes: 3,
      maxSurge: 1,
    });
    const other = haproxy();
    const spec = other.spec as { template: { metadata: { labels: object } } };
    spec.template.metadata.labels = { app: 'something-else' };
    expect(stuckRollout(prod, other)).toBeUndefined();
  });
});

/** A one-node cluster of `environment` (its control plane runs the workloads: no workers). */
function oneNode(environment: 'production' | 'staging') {
  const resolved = resolvePlatform(
    testDefinition([testCluster('home', environment, 9)], {
      environments: { [environment]: { replicas: 1 } },
    }),
  );
  return resolved.clusters[0] as (typeof resolved.clusters)[number];
}

/** redis-ha's Redis StatefulSet as redis-ha 4.38.0 renders it: 3 replicas, one per node. */
function redisServers(kind: 'required' | 'preferred'): KubeObject {
  const labels = { app: 'redis-ha', release: 'argocd' };
  const term = { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'argocd-redis-ha-server', namespace: 'argocd' },
    spec: {
      replicas: 3,
      template: {
        metadata: { labels },
        spec: {
          affinity: {
            podAntiAffinity:
              kind === 'required'
                ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
                : {
                    preferredDuringSchedulingIgnoredDuringExecution: [
                      { weight: 100, podAffinityTerm: term },
                    ],
                  },
          },
        },
      },
    },
  };
}

describe('replicas-fit-nodes', () => {
  it("refuses redis-ha's three Redis and HAProxy forced onto distinct nodes of a one-node cluster", () => {
    const home = oneNode('production');
    expect(home.schedulableNodes).toHaveLength(1);
    const issues = replicasFitNodes.check(
      input([redisServers('required'), haproxy({ type: 'RollingUpdate' })], home),
    );
    expect(issues.map((issue) => [issue.code, issue.severity, issue.value])).toEqual([
      ['replicas-fit-nodes', 'error', 'StatefulSet argocd/argocd-redis-ha-server'],
      ['replicas-fit-nodes', 'error', 'Deployment argocd/argocd-redis-ha-haproxy'],
    ]);
    expect(issues[0]?.message).toContain('2 of them stay Pending forever');
    // the same on staging: Pending is Pending in every environment
    expect(
      replicasFitNodes.check(input([redisServers('required')], oneNode('staging'))),
    ).toHaveLength(1);
  });

  it('warns of replicas meant for distinct nodes sharing the one node of a production cluster only', () => {
    const issues = replicasFitNodes.check(
      input([redisServers('preferred')], oneNode('production')),
    );
    expect(issues.map((issue) => [issue.code, issue.severity, issue.value])).toEqual([
      ['replicas-fit-nodes', 'warning', 'StatefulSet argocd/argocd-redis-ha-server'],
    ]);
    expect(issues[0]?.message).toContain('2 of them share a node');
    expect(replicasFitNodes.check(input([redisServers('preferred')], oneNode('staging')))).toEqual(
      [],
    );
  });

  it("passes three replicas on prod's three workers, and counts only the nodes the pods may run on", () => {
    expect(replicasFitNodes.check(input([redisServers('required'), haproxy()]))).toEqual([]);
    // six replicas on prod's three workers (its control planes keep Talos' taint): too many,
    // unless the pods tolerate that taint too
    const six = haproxy();
    (six.spec as { replicas: number }).replicas = 6;
    expect(replicasBeyondNodes(prod, six)).toEqual({ replicas: 6, nodes: 3, required: true });
    const tolerating = haproxy(undefined, { tolerations: [{ operator: 'Exists' }] });
    (tolerating.spec as { replicas: number }).replicas = 6;
    expect(replicasBeyondNodes(prod, tolerating)).toBeUndefined();
    const single = redisServers('required');
    (single.spec as { replicas: number }).replicas = 1;
    expect(replicasBeyondNodes(oneNode('production'), single)).toBeUndefined();
  });
});
