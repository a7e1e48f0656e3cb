import { describe, expect, it } from 'vitest';
import type { ClusterRun } from './components.js';
import { formatPath } from './issues.js';
import { resolvePlatform } from './resolve.js';
import {
  criticalNotCascaded,
  type DeployedApplication,
  type DeployedCluster,
  kindsBeforeUse,
  type SystemInput,
} from './system.js';
import { testCluster, testDefinition } from './testing-factory.js';
import type { KubeObject } from './types.js';

const platform = resolvePlatform(testDefinition([testCluster('dev', 'development', 1)]));
const cluster = platform.clusters[0] as (typeof platform.clusters)[number];

function application(
  name: string,
  extra: Partial<KubeObject['metadata']> = {},
  syncOptions: string[] = [],
): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: `dev-${name}`, namespace: 'argocd', ...extra },
    spec: { syncPolicy: { syncOptions } },
  };
}

function app(
  overrides: Partial<DeployedApplication> & Pick<DeployedApplication, 'name' | 'wave'>,
): DeployedApplication {
  return {
    component: overrides.name,
    bundle: undefined,
    namespace: overrides.name,
    application: application(overrides.name),
    objects: [],
    installs: [],
    critical: false,
    origin: ['clusters', 0, 'components', overrides.name],
    ...overrides,
  };
}

function input(applications: DeployedApplication[]): SystemInput {
  const deployed: DeployedCluster = { cluster, run: {} as ClusterRun, applications };
  return { platform, clusters: [deployed], files: [] };
}

const route: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: 'argocd' },
};
const gatewayKinds = [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }];

describe('kinds-before-use', () => {
  it('accepts a custom resource whose CRD an earlier wave installs, and core kinds anywhere', () => {
    const issues = kindsBeforeUse.check(
      input([
        app({ name: 'gateway-api-crds', wave: 0, installs: gatewayKinds }),
        app({
          name: 'argocd',
          wave: 2,
          objects: [
            { object: route, source: 'charts/argo-cd/clusters/dev.yaml#manifests.r' },
            {
              object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
              source: 'x',
            },
          ],
        }),
      ]),
    );
    expect(issues).toEqual([]);
  });

  it('refuses a custom resource whose CRD arrives in the same or a later wave (the Gateway API before Cilium, broken)', () => {
    // Given the CRD bundle moved after its user, as issue 9 found it
    const issues = kindsBeforeUse.check(
      input([
        app({
          name: 'cilium',
          wave: 0,
          objects: [{ object: route, source: 'charts/cilium/clusters/dev.yaml#manifests.r' }],
        }),
        app({ name: 'gateway-api-crds', wave: 1, installs: gatewayKinds }),
      ]),
    );
    expect(issues).toMatchObject([
      {
        code: 'kinds-before-use',
        output: 'charts/cilium/clusters/dev.yaml#manifests.r',
        value: 'gateway.networking.k8s.io/HTTPRoute',
        message:
          'cilium (wave 0) applies a HTTPRoute whose CRD gateway-api-crds installs in wave 1 on cluster "dev": not before it',
      },
    ]);
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0].components.cilium');
  });

  it('refuses a custom resource nothing installs', () => {
    const issues = kindsBeforeUse.check(
      input([app({ name: 'argocd', wave: 1, objects: [{ object: route, source: 's' }] })]),
    );
    expect(issues.map((issue) => issue.message)).toEqual([
      'argocd applies a HTTPRoute on cluster "dev", but no Application there installs its CRD (gateway.networking.k8s.io)',
    ]);
  });

  it('lets an Application use kinds it registers itself only with SkipDryRunOnMissingResource', () => {
    const pool = (annotated: boolean): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: {
        name: 'p',
        ...(annotated
          ? {
              annotations: {
                'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
              },
            }
          : {}),
      },
    });
    const cilium = (annotated: boolean) =>
      app({
        name: 'cilium',
        wave: 1,
        installs: [{ group: 'cilium.io', kind: 'CiliumLoadBalancerIPPool' }],
        objects: [{ object: pool(annotated), source: 's' }],
      });
    expect(kindsBeforeUse.check(input([cilium(true)]))).toEqual([]);
    expect(kindsBeforeUse.check(input([cilium(false)])).map((issue) => issue.code)).toEqual([
      'kinds-before-use',
    ]);
  });
});

describe('critical-not-cascaded', () => {
  const safe = application('cilium', {}, ['ServerSideApply=true', 'Prune=false', 'Delete=false']);

  it('accepts a critical Application without the finalizer that neither prunes nor deletes', () => {
    expect(
      criticalNotCascaded.check(
        input([app({ name: 'cilium', wave: 1, critical: true, application: safe })]),
      ),
    ).toEqual([]);
  });

  it('refuses the resources finalizer on the CNI (a rename would delete pod networking)', () => {
    const cascading = application(
      'cilium',
      { finalizers: ['resources-finalizer.argocd.argoproj.io'] },
      ['Prune=false', 'Delete=false'],
    );
    const issues = criticalNotCascaded.check(
      input([app({ name: 'cilium', wave: 1, critical: true, application: cascading })]),
    );
    expect(issues).toMatchObject([
      { code: 'critical-not-cascaded', output: 'Application dev-cilium' },
    ]);
    expect(issues[0]?.message).toContain('carries resources-finalizer.argocd.argoproj.io');
  });

  it('refuses a CRD bundle Argo CD may prune', () => {
    const pruning = application('gateway-api-crds', {}, ['ServerSideApply=true']);
    const bundle = {
      name: 'gateway-api-crds',
      description: 'd',
      version: 'v1',
      source: { repoURL: 'r', path: 'p', targetRevision: 'v1' },
      kinds: [],
      clusterResources: [],
      install: [],
    };
    const issues = criticalNotCascaded.check(
      input([app({ name: 'gateway-api-crds', wave: 0, bundle, application: pruning })]),
    );
    expect(issues.map((issue) => issue.expected)).toEqual([
      'sync options Prune=false and Delete=false on a critical Application',
    ]);
  });

  it('leaves ordinary Applications alone', () => {
    const ordinary = application('widget', {
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    });
    expect(
      criticalNotCascaded.check(input([app({ name: 'widget', wave: 3, application: ordinary })])),
    ).toEqual([]);
  });
});
