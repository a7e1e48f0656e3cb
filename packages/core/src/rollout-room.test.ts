import { describe, expect, it } from 'vitest';
import type { ClusterRun } from './components.js';
import { resolvePlatform } from './resolve.js';
import { rolloutPods, rolloutSurgeRoom, stuckRollout } from './rollout-room.js';
import type { DeployedApplication, SystemInput } from './system.js';
import { testDefinition, testReferenceClusters } from './testing-factory.js';
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

function input(objects: KubeObject[]): SystemInput {
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
    clusters: [{ cluster: prod, run: {} as ClusterRun, applications: [app] }],
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
