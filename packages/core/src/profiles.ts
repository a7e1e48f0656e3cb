// Environment profiles (DESIGN.md, "Environments") and the HA helpers components call to turn a
// profile into Kubernetes terms. Pure.
import type { EnvironmentName, PlatformDefinition } from './generated/platform.js';
import { error, type Issue, type PathSegment, warning } from './issues.js';
import type {
  EnvironmentProfile,
  HaPlan,
  HaRequest,
  JsonValue,
  ResolvedCluster,
  ResourceBase,
  Values,
} from './types.js';

/** The topology key replicas are spread over. */
export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/** Git revision every environment follows unless `repository.targetRevision` says otherwise. */
export const DEFAULT_TARGET_REVISION = 'main';

/** The built-in profiles, before the definition's `environments` overrides. */
export const DEFAULT_PROFILES: { readonly [E in EnvironmentName]: EnvironmentProfile } = {
  development: {
    name: 'development',
    replicas: 1,
    podDisruptionBudget: false,
    antiAffinity: 'none',
    topologySpread: 'none',
    rollout: 'default',
    autoSync: { prune: true, selfHeal: true },
    targetRevision: DEFAULT_TARGET_REVISION,
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
    targetRevision: DEFAULT_TARGET_REVISION,
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
    targetRevision: DEFAULT_TARGET_REVISION,
    resourceScale: 2,
  },
};

/** The three profiles with `environments.<name>` and `repository.targetRevision.<name>` applied. */
export function environmentProfiles(
  definition: Pick<PlatformDefinition, 'environments' | 'repository'>,
): { readonly [E in EnvironmentName]: EnvironmentProfile } {
  const profile = (name: EnvironmentName): EnvironmentProfile => {
    const base = DEFAULT_PROFILES[name];
    const override = definition.environments?.[name] ?? {};
    return {
      name,
      replicas: override.replicas ?? base.replicas,
      podDisruptionBudget: override.podDisruptionBudget ?? base.podDisruptionBudget,
      antiAffinity: override.antiAffinity ?? base.antiAffinity,
      topologySpread: override.topologySpread ?? base.topologySpread,
      rollout: override.rollout ?? base.rollout,
      autoSync: {
        prune: override.autoSync?.prune ?? base.autoSync.prune,
        selfHeal: override.autoSync?.selfHeal ?? base.autoSync.selfHeal,
      },
      targetRevision: definition.repository.targetRevision?.[name] ?? base.targetRevision,
      resourceScale: override.resourceScale ?? base.resourceScale,
    };
  };
  return {
    development: profile('development'),
    staging: profile('staging'),
    production: profile('production'),
  };
}

function selectorOf(request: HaRequest): { [key: string]: string } {
  return Object.fromEntries(Object.entries(request.selector).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * What the cluster's environment asks of a replicated workload, in Kubernetes terms:
 * - PodDisruptionBudget `maxUnavailable: 1` (never `minAvailable`, so it never blocks a drain);
 * - pod anti-affinity on `kubernetes.io/hostname`, preferred (weight 100) or required;
 * - one topology spread constraint, `maxSkew: 1` over hostnames, `nodeTaintsPolicy: Honor` so
 *   that tainted control planes do not count as empty domains;
 * - Deployment `strategy`: RollingUpdate (`maxSurge 1, maxUnavailable 1`), or for production
 *   `maxSurge 1, maxUnavailable 0`.
 *
 * "Required when nodes allow": when the replicas outnumber the schedulable nodes, required
 * anti-affinity becomes preferred and DoNotSchedule becomes ScheduleAnyway, with a warning.
 * For a Deployment rolled out with `maxUnavailable 0`, the surge pod needs one more node than
 * there are replicas; when the cluster does not have it, the anti-affinity is preferred instead
 * of required (without a warning: the DoNotSchedule spread still keeps one replica per node).
 */
export function haPlan(
  cluster: ResolvedCluster,
  request: HaRequest,
): { plan: HaPlan; issues: Issue[] } {
  const issues: Issue[] = [];
  const profile = cluster.profile;
  const replicas = request.replicas ?? profile.replicas;
  const nodes = cluster.schedulableNodes.length;
  const selector = selectorOf(request);
  const isDeployment = (request.kind ?? 'Deployment') === 'Deployment';

  let antiAffinity = profile.antiAffinity;
  let topologySpread = profile.topologySpread;
  if (replicas > nodes && (antiAffinity === 'required' || topologySpread === 'DoNotSchedule')) {
    const changes: string[] = [];
    if (antiAffinity === 'required') {
      antiAffinity = 'preferred';
      changes.push('pod anti-affinity from required to preferred');
    }
    if (topologySpread === 'DoNotSchedule') {
      topologySpread = 'ScheduleAnyway';
      changes.push('topology spread from DoNotSchedule to ScheduleAnyway');
    }
    issues.push(
      warning({
        code: 'ha-downgrade',
        path: request.path,
        value: replicas,
        message: `replicas need ${replicas} distinct nodes but cluster "${cluster.name}" has ${nodes} schedulable node(s); ${changes.join(' and ')}`,
        expected: `at most ${nodes} replica(s), or more schedulable nodes`,
      }),
    );
  }
  const zeroUnavailable = isDeployment && profile.rollout === 'rolling-zero-unavailable';
  if (antiAffinity === 'required' && zeroUnavailable && replicas + 1 > nodes) {
    antiAffinity = 'preferred';
  }

  const matchLabels = { ...selector };
  let affinity: Values | undefined;
  if (antiAffinity === 'preferred') {
    affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: HOSTNAME_TOPOLOGY_KEY,
              labelSelector: { matchLabels: { ...selector } },
            },
          },
        ],
      },
    };
  } else if (antiAffinity === 'required') {
    affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { topologyKey: HOSTNAME_TOPOLOGY_KEY, labelSelector: { matchLabels: { ...selector } } },
        ],
      },
    };
  }

  const topologySpreadConstraints: Values[] | undefined =
    topologySpread === 'none'
      ? undefined
      : [
          {
            maxSkew: 1,
            topologyKey: HOSTNAME_TOPOLOGY_KEY,
            whenUnsatisfiable: topologySpread,
            nodeTaintsPolicy: 'Honor',
            labelSelector: { matchLabels },
          },
        ];

  let strategy: Values | undefined;
  if (isDeployment && profile.rollout === 'rolling') {
    strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
  } else if (zeroUnavailable) {
    strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  }

  return {
    plan: {
      replicas,
      podDisruptionBudget: profile.podDisruptionBudget ? { maxUnavailable: 1 } : undefined,
      affinity,
      topologySpreadConstraints,
      strategy,
    },
    issues,
  };
}

function isRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function intOrPercent(value: unknown, replicas: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+%$/.test(value)) {
    const exact = (replicas * Number(value.slice(0, -1))) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return undefined;
}

/**
 * Enforces DESIGN.md "Environments" on a plan as a component finally uses it (a component may
 * adjust the plan, so the build checks rather than trusts):
 * - a PodDisruptionBudget never blocks a drain (`minAvailable` ≥ replicas, or `maxUnavailable` 0);
 * - required anti-affinity and DoNotSchedule never ask for more distinct nodes than the cluster
 *   has schedulable;
 * - a zero-unavailable rollout with required anti-affinity has a free node for its surge pod.
 */
export function checkHaInvariants(
  cluster: ResolvedCluster,
  plan: HaPlan,
  path: readonly PathSegment[],
): Issue[] {
  const issues: Issue[] = [];
  const nodes = cluster.schedulableNodes.length;
  const replicas = plan.replicas;
  if (!Number.isInteger(replicas) || replicas < 1) {
    issues.push(
      error({
        code: 'ha-replicas',
        path,
        value: replicas,
        message: 'replica count must be a positive integer',
        expected: 'an integer ≥ 1',
      }),
    );
    return issues;
  }

  const pdb: unknown = plan.podDisruptionBudget;
  if (isRecord(pdb)) {
    const minAvailable = intOrPercent(pdb.minAvailable, replicas, true);
    const maxUnavailable = intOrPercent(pdb.maxUnavailable, replicas, false);
    if (minAvailable !== undefined && minAvailable >= replicas) {
      issues.push(
        error({
          code: 'ha-pdb-blocks-drain',
          path: [...path, 'podDisruptionBudget', 'minAvailable'],
          value: pdb.minAvailable as JsonValue,
          message: `a PodDisruptionBudget with minAvailable ${minAvailable} for ${replicas} replica(s) never allows an eviction, so it blocks every node drain`,
          expected: 'maxUnavailable: 1',
        }),
      );
    }
    if (maxUnavailable !== undefined && maxUnavailable < 1) {
      issues.push(
        error({
          code: 'ha-pdb-blocks-drain',
          path: [...path, 'podDisruptionBudget', 'maxUnavailable'],
          value: pdb.maxUnavailable as JsonValue,
          message:
            'a PodDisruptionBudget with maxUnavailable 0 never allows an eviction, so it blocks every node drain',
          expected: 'maxUnavailable: 1',
        }),
      );
    }
    if (minAvailable === undefined && maxUnavailable === undefined) {
      issues.push(
        error({
          code: 'ha-pdb',
          path: [...path, 'podDisruptionBudget'],
          value: pdb as JsonValue,
          message: 'a PodDisruptionBudget needs maxUnavailable',
          expected: 'maxUnavailable: 1',
        }),
      );
    }
  }

  const antiAffinity = isRecord(plan.affinity) ? plan.affinity.podAntiAffinity : undefined;
  const requiredTerms = isRecord(antiAffinity)
    ? asArray(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution)
    : [];
  const requiredOnHostname = requiredTerms.some(
    (term) => isRecord(term) && term.topologyKey === HOSTNAME_TOPOLOGY_KEY,
  );
  if (requiredOnHostname && replicas > nodes) {
    issues.push(
      error({
        code: 'ha-too-few-nodes',
        path: [...path, 'affinity'],
        value: replicas,
        message: `required pod anti-affinity puts ${replicas} replicas on distinct nodes but cluster "${cluster.name}" has ${nodes} schedulable node(s); some replicas would never schedule`,
        expected: `at most ${nodes} replica(s), or preferred anti-affinity`,
      }),
    );
  }

  const hardSpread = asArray(plan.topologySpreadConstraints).some(
    (constraint) =>
      isRecord(constraint) &&
      constraint.whenUnsatisfiable === 'DoNotSchedule' &&
      constraint.topologyKey === HOSTNAME_TOPOLOGY_KEY,
  );
  if (hardSpread && replicas > nodes) {
    issues.push(
      error({
        code: 'ha-too-few-nodes',
        path: [...path, 'topologySpreadConstraints'],
        value: replicas,
        message: `DoNotSchedule topology spread asks for ${replicas} distinct nodes but cluster "${cluster.name}" has ${nodes} schedulable node(s)`,
        expected: `at most ${nodes} replica(s), or ScheduleAnyway`,
      }),
    );
  }

  const rolling = isRecord(plan.strategy) ? plan.strategy.rollingUpdate : undefined;
  if (requiredOnHostname && replicas <= nodes && isRecord(rolling)) {
    const maxUnavailable = intOrPercent(rolling.maxUnavailable, replicas, false);
    const maxSurge = intOrPercent(rolling.maxSurge, replicas, true) ?? 0;
    if (maxUnavailable === 0 && maxSurge > 0 && replicas + 1 > nodes) {
      issues.push(
        error({
          code: 'ha-rollout-stuck',
          path: [...path, 'strategy'],
          value: plan.strategy as JsonValue,
          message: `a rollout with maxUnavailable 0 needs a node free of replicas for its surge pod, but required anti-affinity already puts ${replicas} replicas on the ${nodes} schedulable node(s) of cluster "${cluster.name}"`,
          expected: 'preferred anti-affinity, maxUnavailable 1, or one more schedulable node',
        }),
      );
    }
  }
  return issues;
}

function quantity(text: string, unit: 'm' | 'Mi'): number {
  const match = new RegExp(`^(\\d+)${unit}$`).exec(text);
  if (match === null) throw new Error(`resource quantity "${text}" is not <integer>${unit}`);
  return Number(match[1]);
}

/**
 * A workload's `resources` for the cluster's profile: the base requests scaled by the profile's
 * `resourceScale`, and a memory limit of twice the memory request (CPU is never limited: a
 * throttled controller is slower, an OOM-killed one is gone; memory is, so one leaking pod
 * cannot starve its node).
 */
export function workloadResources(profile: EnvironmentProfile, base: ResourceBase): Values {
  const cpu = Math.ceil(quantity(base.cpu, 'm') * profile.resourceScale);
  const memory = Math.ceil(quantity(base.memory, 'Mi') * profile.resourceScale);
  return {
    requests: { cpu: `${cpu}m`, memory: `${memory}Mi` },
    limits: { memory: `${memory * 2}Mi` },
  };
}
