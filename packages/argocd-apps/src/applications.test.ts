import type { ComponentOutput, KubeObject, ResolvedPlatform } from '@homelab/core';
import { chartFiles, parseAllDocuments, renderChart } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import {
  AUTHELIA,
  BITWARDEN,
  CILIUM,
  fakeOutput,
  LONGHORN,
  REPO,
  referencePlatform,
} from '../test/factory.js';
import {
  assembleApplications,
  GATEWAY_API_REPOSITORY,
  SYNC_WAVE_ANNOTATION,
} from './applications.js';
import { renderArgocd } from './argocd.js';

type Obj = KubeObject & { spec: Record<string, unknown> };

function syncPolicyOf(app: Obj | undefined): { syncOptions?: string[]; automated?: unknown } {
  return (app?.spec.syncPolicy ?? {}) as { syncOptions?: string[]; automated?: unknown };
}

function outputsFor(platform: ResolvedPlatform, extra: ComponentOutput[] = []): ComponentOutput[] {
  const others = [
    fakeOutput(platform, CILIUM),
    fakeOutput(platform, BITWARDEN),
    fakeOutput(platform, LONGHORN),
    fakeOutput(platform, AUTHELIA),
    ...extra,
  ];
  return [...others, renderArgocd(platform, others)];
}

/** The umbrella rendered for one cluster with core's Helm render, as Argo CD would. */
function render(platform: ResolvedPlatform, outputs: ComponentOutput[], cluster: string) {
  const assembled = assembleApplications(platform, outputs);
  const resolved = platform.clusters.find((candidate) => candidate.name === cluster);
  if (resolved === undefined) throw new Error(`no cluster ${cluster}`);
  const { files } = chartFiles(assembled.chart, '0.1.0');
  const rendered = renderChart(files, [
    `env/${resolved.environment}.yaml`,
    `clusters/${cluster}.yaml`,
  ]);
  const objects = rendered.objects as Obj[];
  const apps = objects.filter((object) => object.kind === 'Application');
  const byName = new Map(apps.map((app) => [app.metadata.name, app]));
  const wave = (name: string): number =>
    Number(byName.get(`${cluster}-${name}`)?.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);
  return { assembled, rendered, objects, apps, byName, wave };
}

describe('assembleApplications', () => {
  it.each(['dev', 'staging', 'prod'])(
    'renders one valid Application per enabled component on %s, plus the Gateway API CRDs',
    (cluster) => {
      const platform = referencePlatform((clusters) => {
        for (const c of clusters) c.components = { argocd: { adminGroups: ['platform-admins'] } };
      });
      const { assembled, rendered, apps } = render(platform, outputsFor(platform), cluster);
      expect(assembled.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
      expect(rendered.issues).toEqual([]);
      expect(apps.map((app) => app.metadata.name).sort()).toEqual(
        ['argocd', 'authelia', 'bitwarden-sm', 'cilium', 'gateway-api-crds', 'longhorn'].map(
          (name) => `${cluster}-${name}`,
        ),
      );
    },
  );

  it('orders the Gateway API CRDs before Cilium, and Cilium before everything else', () => {
    const platform = referencePlatform();
    const { apps, wave } = render(platform, outputsFor(platform), 'prod');
    expect(wave('gateway-api-crds')).toBe(0);
    expect(wave('cilium')).toBe(1);
    for (const app of apps) {
      const name = app.metadata.name.replace(/^prod-/, '');
      if (name === 'gateway-api-crds' || name === 'cilium') continue;
      expect(wave(name), name).toBeGreaterThan(wave('cilium'));
    }
  });

  it('syncs the secrets provider before every component that consumes secrets', () => {
    const platform = referencePlatform();
    const { wave } = render(platform, outputsFor(platform), 'staging');
    expect(wave('bitwarden-sm')).toBe(2);
    expect(wave('longhorn')).toBe(3);
    // authelia needs longhorn and secrets: one wave after longhorn.
    expect(wave('authelia')).toBe(4);
  });

  it('removes the Application of a component that is disabled on a cluster', () => {
    const platform = referencePlatform();
    const longhornOnProdOnly = fakeOutput(platform, { ...LONGHORN, clusters: ['prod'] });
    const authelia = fakeOutput(platform, { ...AUTHELIA, dependsOn: [] });
    const outputs = [fakeOutput(platform, CILIUM), longhornOnProdOnly, authelia];
    const dev = render(platform, outputs, 'dev');
    const prod = render(platform, outputs, 'prod');
    expect(dev.byName.has('dev-longhorn')).toBe(false);
    expect(prod.byName.has('prod-longhorn')).toBe(true);
    const project = dev.objects.find((object) => object.kind === 'AppProject');
    expect(JSON.stringify(project)).not.toContain('longhorn');
  });

  it('fails on a dependency cycle with a message that names it', () => {
    const platform = referencePlatform();
    const outputs = [
      fakeOutput(platform, { ...CILIUM, dependsOn: ['gateway-api-crds', 'longhorn'] }),
      fakeOutput(platform, LONGHORN),
    ];
    const { issues } = assembleApplications(platform, outputs);
    const cycles = issues.filter((issue) => issue.code === 'dependency-cycle');
    expect(cycles.map((issue) => issue.message)).toEqual([
      'dependency cycle on cluster "dev": cilium → longhorn → cilium',
      'dependency cycle on cluster "staging": cilium → longhorn → cilium',
      'dependency cycle on cluster "prod": cilium → longhorn → cilium',
    ]);
    expect(cycles[0]?.severity).toBe('error');
    expect(cycles[0]?.path).toBe('clusters[0].components');
  });

  it('fails on a dependency that is not enabled on the cluster', () => {
    const platform = referencePlatform();
    const outputs = [
      fakeOutput(platform, CILIUM),
      fakeOutput(platform, { ...AUTHELIA, dependsOn: ['postgres'] }),
    ];
    const unknown = assembleApplications(platform, outputs).issues.filter(
      (issue) => issue.code === 'unknown-dependency',
    );
    expect(unknown).toHaveLength(3);
    expect(unknown[0]).toMatchObject({
      path: 'clusters[0].components.authelia',
      value: 'postgres',
      message: 'authelia depends on "postgres", which is not enabled on cluster "dev"',
    });
  });

  it('points every component Application at its chart with the cluster layers', () => {
    const platform = referencePlatform();
    const { byName } = render(platform, outputsFor(platform), 'prod');
    expect(byName.get('prod-longhorn')?.spec).toMatchObject({
      project: 'platform',
      destination: { server: 'https://kubernetes.default.svc', namespace: 'longhorn-system' },
      source: {
        repoURL: REPO,
        path: 'charts/longhorn',
        targetRevision: 'v1.0.0',
        helm: {
          releaseName: 'longhorn',
          valueFiles: ['env/production.yaml', 'clusters/prod.yaml'],
        },
      },
    });
    const dev = render(platform, outputsFor(platform), 'dev');
    expect(dev.byName.get('dev-longhorn')?.spec.source).toMatchObject({ targetRevision: 'main' });
  });

  it('installs the Gateway API CRDs from the pinned tag as a plain directory', () => {
    const platform = referencePlatform();
    const { byName } = render(platform, outputsFor(platform), 'dev');
    const crds = byName.get('dev-gateway-api-crds');
    expect(crds?.spec.source).toEqual({
      repoURL: GATEWAY_API_REPOSITORY,
      path: 'config/crd/standard',
      targetRevision: 'v1.3.0',
      directory: { recurse: false },
    });
    expect(syncPolicyOf(crds).syncOptions).toEqual(['ServerSideApply=true']);
  });

  it('sets sync policy, finalizer and Pod Security labels from the descriptors and the profile', () => {
    const platform = referencePlatform();
    const { byName } = render(platform, outputsFor(platform), 'staging');
    const cilium = byName.get('staging-cilium');
    const authelia = byName.get('staging-authelia');
    expect(cilium?.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    expect(cilium?.spec.syncPolicy).toEqual({
      automated: { prune: true, selfHeal: true },
      syncOptions: [
        'CreateNamespace=true',
        'ServerSideApply=true',
        'RespectIgnoreDifferences=true',
      ],
      retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
      managedNamespaceMetadata: {
        labels: {
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
        },
      },
    });
    expect(cilium?.spec.ignoreDifferences).toEqual(CILIUM.ignoreDifferences);
    expect(authelia?.spec.syncPolicy).toMatchObject({
      syncOptions: ['CreateNamespace=true'],
      managedNamespaceMetadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
  });

  it('takes prune and self-heal from the environment profile', () => {
    const platform = referencePlatform();
    const overridden: ResolvedPlatform = {
      ...platform,
      environments: {
        ...platform.environments,
        staging: { ...platform.environments.staging, autoSync: { prune: false, selfHeal: true } },
      },
      clusters: platform.clusters.map((cluster) =>
        cluster.environment === 'staging'
          ? {
              ...cluster,
              profile: { ...cluster.profile, autoSync: { prune: false, selfHeal: true } },
            }
          : cluster,
      ),
    };
    const { byName } = render(overridden, outputsFor(overridden), 'staging');
    expect(syncPolicyOf(byName.get('staging-longhorn')).automated).toEqual({
      prune: false,
      selfHeal: true,
    });
  });

  it('builds the platform project from exactly what the components need', () => {
    const platform = referencePlatform();
    const { objects } = render(platform, outputsFor(platform), 'dev');
    const project = objects.find((object) => object.kind === 'AppProject') as Obj;
    expect(project.metadata.name).toBe('platform');
    expect(project.spec.sourceRepos).toEqual([REPO, GATEWAY_API_REPOSITORY]);
    expect(project.spec.destinations).toEqual(
      ['argocd', 'authelia', 'kube-system', 'longhorn-system', 'sm-operator-system'].map(
        (namespace) => ({
          server: 'https://kubernetes.default.svc',
          namespace,
        }),
      ),
    );
    expect(project.spec.clusterResourceWhitelist).toEqual([
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'cilium.io', kind: 'CiliumLoadBalancerIPPool' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ]);
  });

  it('refuses two components that label one namespace with different Pod Security levels', () => {
    const platform = referencePlatform();
    const outputs = [
      fakeOutput(platform, CILIUM),
      fakeOutput(platform, {
        ...AUTHELIA,
        dependsOn: [],
        namespace: 'shared',
        podSecurity: 'restricted',
      }),
      fakeOutput(platform, { ...LONGHORN, namespace: 'shared', podSecurity: 'privileged' }),
    ];
    const issues = assembleApplications(platform, outputs).issues.filter(
      (issue) => issue.code === 'namespace-pod-security',
    );
    expect(issues).toHaveLength(3);
    expect(issues[0]?.message).toBe(
      'components share namespace "shared" but ask for different Pod Security levels',
    );
  });

  it('writes a root Application per cluster that installs charts/platform with its layers', () => {
    const platform = referencePlatform();
    const { files } = assembleApplications(platform, outputsFor(platform));
    expect(files.map((file) => file.path)).toEqual([
      'clusters/dev/root-application.yaml',
      'clusters/staging/root-application.yaml',
      'clusters/prod/root-application.yaml',
    ]);
    const prod = files[2]?.content ?? '';
    expect(prod.split('\n')[0]).toBe('# generated by pnpm build; do not edit.');
    const [project, root] = parseAllDocuments(prod) as Obj[];
    expect(project?.kind).toBe('AppProject');
    expect(project?.spec.namespaceResourceWhitelist).toEqual([
      { group: 'argoproj.io', kind: 'AppProject' },
      { group: 'argoproj.io', kind: 'Application' },
    ]);
    expect(root?.metadata.name).toBe('prod-platform');
    expect(root?.spec).toMatchObject({
      project: 'platform-bootstrap',
      source: {
        path: 'charts/platform',
        targetRevision: 'v1.0.0',
        helm: { valueFiles: ['env/production.yaml', 'clusters/prod.yaml'] },
      },
    });
  });

  it('is deterministic', () => {
    const platform = referencePlatform();
    const outputs = outputsFor(platform);
    const first = assembleApplications(platform, outputs);
    const second = assembleApplications(platform, [...outputs].reverse());
    expect(JSON.stringify(second.chart)).toBe(JSON.stringify(first.chart));
    expect(second.files).toEqual(first.files);
  });
});
