import { describe, expect, test } from 'vitest';
import type { Cluster as ClusterDefinition } from './generated/platform.js';
import { testDefinition as definition, testCluster } from './testing-factory.js';

/** Cluster `c<n>` (development unless said) on its own address plan. */
function cluster(
  n: number,
  overrides: Partial<ClusterDefinition> & { controlPlanes?: number; workers?: number } = {},
): ClusterDefinition {
  return testCluster(`c${n}`, overrides.environment ?? 'development', n, overrides);
}

import type { Cluster } from './generated/platform.js';
import { formatPath } from './issues.js';
import { checkHaInvariants, environmentProfiles, haPlan } from './profiles.js';
import { resolvePlatform } from './resolve.js';
import type { HaPlan, ResolvedCluster } from './types.js';

const selector = { 'app.kubernetes.io/name': 'operator' };
const request = { selector, path: ['clusters', 0, 'components', 'x'] };

function resolved(c: Cluster, overrides = {}): ResolvedCluster {
  const platform = resolvePlatform(definition([c], overrides));
  const first = platform.clusters[0];
  if (!first) throw new Error('no cluster');
  return first;
}

describe('environmentProfiles', () => {
  test('match the DESIGN.md table by default', () => {
    const profiles = environmentProfiles(definition([cluster(1)]));
    expect(profiles).toEqual({
      development: {
        name: 'development',
        replicas: 1,
        podDisruptionBudget: false,
        antiAffinity: 'none',
        topologySpread: 'none',
        rollout: 'default',
        autoSync: { prune: true, selfHeal: true },
        targetRevision: 'main',
        resourceScale: 1,
      },
      staging: {
        name: 'staging',
        replicas: 2,
        podDisruptionBudget: true,
        antiAffinity: 'preferred',
        topologySpread: 'ScheduleAnyway',
        rollout: 'rolling',
        autoSync: { prune: true, selfHeal: true },
        targetRevision: 'main',
        resourceScale: 1,
      },
      production: {
        name: 'production',
        replicas: 3,
        podDisruptionBudget: true,
        antiAffinity: 'required',
        topologySpread: 'DoNotSchedule',
        rollout: 'rolling-zero-unavailable',
        autoSync: { prune: true, selfHeal: true },
        targetRevision: 'main',
        resourceScale: 2,
      },
    });
  });

  test('overrides replace only the keys they give', () => {
    const profiles = environmentProfiles(
      definition([cluster(1)], {
        environments: { staging: { replicas: 3, autoSync: { prune: false } } },
      }),
    );
    expect(profiles.staging).toMatchObject({
      replicas: 3,
      podDisruptionBudget: true,
      antiAffinity: 'preferred',
      autoSync: { prune: false, selfHeal: true },
    });
    expect(profiles.production.replicas).toBe(3);
  });
});

describe('haPlan', () => {
  test('development: one replica and nothing else', () => {
    const { plan, issues } = haPlan(resolved(cluster(1)), request);
    expect(plan).toEqual({
      replicas: 1,
      podDisruptionBudget: undefined,
      affinity: undefined,
      topologySpreadConstraints: undefined,
      strategy: undefined,
    });
    expect(issues).toEqual([]);
  });

  test('staging: two replicas, PDB, preferred anti-affinity, ScheduleAnyway, rolling', () => {
    const { plan, issues } = haPlan(
      resolved(cluster(1, { environment: 'staging', controlPlanes: 3 })),
      request,
    );
    expect(plan).toEqual({
      replicas: 2,
      podDisruptionBudget: { maxUnavailable: 1 },
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: 'kubernetes.io/hostname',
                labelSelector: { matchLabels: selector },
              },
            },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          nodeTaintsPolicy: 'Honor',
          labelSelector: { matchLabels: selector },
        },
      ],
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
    });
    expect(issues).toEqual([]);
  });

  test('production with room for a surge pod: required anti-affinity, DoNotSchedule, zero unavailable', () => {
    const { plan, issues } = haPlan(
      resolved(cluster(1, { environment: 'production', controlPlanes: 3, workers: 4 })),
      request,
    );
    expect(plan.replicas).toBe(3);
    expect(plan.podDisruptionBudget).toEqual({ maxUnavailable: 1 });
    expect(plan.affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
        ],
      },
    });
    expect(plan.topologySpreadConstraints?.[0]?.whenUnsatisfiable).toBe('DoNotSchedule');
    expect(plan.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(issues).toEqual([]);
  });

  test('production on exactly as many nodes as replicas: a Deployment prefers anti-affinity so the surge pod can schedule', () => {
    const prod = resolved(cluster(1, { environment: 'production', controlPlanes: 3, workers: 3 }));
    const { plan, issues } = haPlan(prod, request);
    expect(Object.keys(plan.affinity?.podAntiAffinity ?? {})).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(plan.topologySpreadConstraints?.[0]?.whenUnsatisfiable).toBe('DoNotSchedule');
    expect(issues).toEqual([]);
    expect(checkHaInvariants(prod, plan, request.path)).toEqual([]);
  });

  test('2 of 4 workers tainted NoSchedule: no strict one-per-node placement, a warning naming 2 nodes', () => {
    const given = cluster(1, { environment: 'production', controlPlanes: 3, workers: 4 });
    given.nodes
      .filter((n) => n.role === 'worker')
      .slice(2)
      .forEach((n) => {
        n.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
      });
    const prod = resolved(given);
    const { plan, issues } = haPlan(prod, { ...request, kind: 'StatefulSet' });
    expect(Object.keys(plan.affinity?.podAntiAffinity ?? {})).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(plan.topologySpreadConstraints?.[0]?.whenUnsatisfiable).toBe('ScheduleAnyway');
    expect(issues.map((issue) => issue.code)).toEqual(['ha-downgrade']);
    expect(issues[0]?.message).toContain('has 2 schedulable node(s)');
    expect(checkHaInvariants(prod, plan, request.path)).toEqual([]);

    // The same cluster untainted keeps required anti-affinity: the taints made the difference.
    const untainted = resolved(
      cluster(1, { environment: 'production', controlPlanes: 3, workers: 4 }),
    );
    expect(
      Object.keys(
        haPlan(untainted, { ...request, kind: 'StatefulSet' }).plan.affinity?.podAntiAffinity ?? {},
      ),
    ).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
  });

  test('a StatefulSet keeps required anti-affinity when replicas equal nodes, and gets no strategy', () => {
    const prod = resolved(cluster(1, { environment: 'production', controlPlanes: 3, workers: 3 }));
    const { plan } = haPlan(prod, { ...request, kind: 'StatefulSet' });
    expect(Object.keys(plan.affinity?.podAntiAffinity ?? {})).toEqual([
      'requiredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(plan.strategy).toBeUndefined();
    expect(checkHaInvariants(prod, plan, request.path)).toEqual([]);
  });

  test('more replicas than schedulable nodes: downgrade with a warning naming the numbers', () => {
    const prod = resolved(cluster(1, { environment: 'production', controlPlanes: 1, workers: 2 }));
    const { plan, issues } = haPlan(prod, request);
    expect(Object.keys(plan.affinity?.podAntiAffinity ?? {})).toEqual([
      'preferredDuringSchedulingIgnoredDuringExecution',
    ]);
    expect(plan.topologySpreadConstraints?.[0]?.whenUnsatisfiable).toBe('ScheduleAnyway');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'warning',
      code: 'ha-downgrade',
      path: ['clusters', 0, 'components', 'x'],
      value: 3,
    });
    expect(issues[0]?.message).toContain('has 2 schedulable node(s)');
    expect(checkHaInvariants(prod, plan, request.path)).toEqual([]);
  });

  test('a component may ask for its own replica count', () => {
    const { plan } = haPlan(resolved(cluster(1, { environment: 'staging', controlPlanes: 3 })), {
      ...request,
      replicas: 1,
    });
    expect(plan.replicas).toBe(1);
    expect(plan.podDisruptionBudget).toEqual({ maxUnavailable: 1 });
  });

  test('selector keys come out sorted, whatever the order given', () => {
    const { plan } = haPlan(resolved(cluster(1, { environment: 'staging', controlPlanes: 3 })), {
      selector: { b: '2', a: '1' },
      path: ['x'],
    });
    const term = plan.topologySpreadConstraints?.[0] as {
      labelSelector: { matchLabels: object };
    };
    expect(Object.keys(term.labelSelector.matchLabels)).toEqual(['a', 'b']);
  });
});

describe('checkHaInvariants', () => {
  const staging = resolved(cluster(1, { environment: 'staging', controlPlanes: 3 }));
  const base: HaPlan = {
    replicas: 2,
    podDisruptionBudget: { maxUnavailable: 1 },
    affinity: undefined,
    topologySpreadConstraints: undefined,
    strategy: undefined,
  };

  test('a single replica with a maxUnavailable 1 PDB does not block drains', () => {
    expect(checkHaInvariants(staging, { ...base, replicas: 1 }, ['p'])).toEqual([]);
  });

  test('minAvailable equal to replicas blocks drains', () => {
    const plan = { ...base, podDisruptionBudget: { minAvailable: 2 } } as unknown as HaPlan;
    const issues = checkHaInvariants(staging, plan, ['p']);
    expect(issues.map((i) => [i.code, formatPath(i.path), i.severity])).toEqual([
      ['ha-pdb-blocks-drain', 'p.podDisruptionBudget.minAvailable', 'error'],
    ]);
  });

  test('minAvailable 100% and maxUnavailable 0 block drains too; minAvailable below replicas does not', () => {
    const percent = { ...base, podDisruptionBudget: { minAvailable: '100%' } } as unknown as HaPlan;
    const zero = { ...base, podDisruptionBudget: { maxUnavailable: 0 } } as unknown as HaPlan;
    const fine = {
      ...base,
      replicas: 3,
      podDisruptionBudget: { minAvailable: 2 },
    } as unknown as HaPlan;
    expect(checkHaInvariants(staging, percent, ['p']).map((i) => i.code)).toEqual([
      'ha-pdb-blocks-drain',
    ]);
    expect(checkHaInvariants(staging, zero, ['p']).map((i) => i.code)).toEqual([
      'ha-pdb-blocks-drain',
    ]);
    expect(checkHaInvariants(staging, fine, ['p'])).toEqual([]);
  });

  test('required anti-affinity for more replicas than nodes is an error', () => {
    const plan: HaPlan = {
      ...base,
      replicas: 4,
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
          ],
        },
      },
    };
    const issues = checkHaInvariants(staging, plan, ['p']);
    expect(issues.map((i) => [i.code, formatPath(i.path)])).toEqual([
      ['ha-too-few-nodes', 'p.affinity'],
    ]);
    expect(issues[0]?.message).toContain('has 3 schedulable node(s)');
  });

  test('DoNotSchedule for more replicas than nodes is an error', () => {
    const plan: HaPlan = {
      ...base,
      replicas: 4,
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' },
      ],
    };
    expect(checkHaInvariants(staging, plan, ['p']).map((i) => formatPath(i.path))).toEqual([
      'p.topologySpreadConstraints',
    ]);
  });

  test('zero-unavailable rollout with required anti-affinity and no spare node is stuck', () => {
    const plan: HaPlan = {
      ...base,
      replicas: 3,
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
          ],
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    };
    expect(checkHaInvariants(staging, plan, ['p']).map((i) => i.code)).toEqual([
      'ha-rollout-stuck',
    ]);
  });

  test('a replica count below one is an error', () => {
    expect(checkHaInvariants(staging, { ...base, replicas: 0 }, ['p']).map((i) => i.code)).toEqual([
      'ha-replicas',
    ]);
  });

  test('every plan haPlan makes passes the invariants, in every environment and size', () => {
    for (const environment of ['development', 'staging', 'production'] as const) {
      for (let workers = 0; workers <= 5; workers++) {
        for (const replicas of [undefined, 1, 2, 3, 5]) {
          const c = resolved(cluster(1, { environment, controlPlanes: 3, workers }));
          const { plan } = haPlan(c, { ...request, ...(replicas ? { replicas } : {}) });
          expect(
            checkHaInvariants(c, plan, ['p']),
            `${environment} ${workers} ${replicas}`,
          ).toEqual([]);
        }
      }
    }
  });
});
