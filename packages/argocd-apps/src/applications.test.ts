import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AnyComponent,
  ChartSpec,
  KubeObject,
  PlatformDefinition,
  RenderInput,
  Values,
} from '@homelab/core';
import {
  ROOT_TARGET_REVISION as APP_REVISION,
  chartFiles,
  formatIssue,
  INITIAL_CHART_VERSION,
  parseAllDocuments,
  renderChart,
  rootRevisionParameter as revisionParameterName,
  rootRevisionParameters as rootRevisionCheck,
  type SystemInput,
  toYaml,
  toYamlDocuments,
} from '@homelab/core';
import { testComponent, testRun } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import {
  argocd,
  authelia,
  bitwarden,
  CILIUM_IGNORE_DIFFERENCES,
  cilium,
  FLEET,
  fleetDefinition,
  GATEWAY_API_CRDS,
  GATEWAY_API_REPOSITORY,
  longhorn,
  REPO,
} from '../test/fleet.js';
import {
  assembleApplications,
  SYNC_WAVE_ANNOTATION,
  workloadProjectObject,
} from './applications.js';

type Obj = KubeObject & { spec: Record<string, unknown> };

function syncPolicyOf(app: Obj | undefined): {
  syncOptions?: string[];
  automated?: unknown;
  managedNamespaceMetadata?: unknown;
} {
  return (app?.spec.syncPolicy ?? {}) as { syncOptions?: string[]; automated?: unknown };
}

/** The chart of a test component: `manifests` in the layer of each cluster it runs on. */
function manifestsChart(
  name: string,
  input: RenderInput<Values>,
  manifests: { readonly [key: string]: unknown },
): { chart: ChartSpec } {
  return {
    chart: {
      name,
      description: `${name} (test component)`,
      appVersion: '1.0.0',
      values: {},
      environments: {},
      clusters: Object.fromEntries(
        input.clusters.map((entry) => [entry.cluster.name, { manifests } as unknown as Values]),
      ),
      readme: { summary: `${name} for tests.` },
    },
  };
}

/** The components run on `definition`, assembled, and the umbrella rendered as Argo CD would. */
function assemble(
  definition: PlatformDefinition = fleetDefinition(),
  registry: readonly AnyComponent[] = FLEET,
) {
  const { platform, components } = testRun(definition, registry);
  const assembled = assembleApplications(platform, components);
  const render = (cluster: string) => {
    const resolved = platform.clusters.find((candidate) => candidate.name === cluster);
    if (resolved === undefined) throw new Error(`no cluster ${cluster}`);
    if (assembled.chart === undefined) throw new Error('no umbrella chart');
    const { files } = chartFiles(assembled.chart, INITIAL_CHART_VERSION);
    const rendered = renderChart(files, [
      `env/${resolved.environment}.yaml`,
      `clusters/${cluster}.yaml`,
    ]);
    const objects = rendered.objects as Obj[];
    const apps = objects.filter((object) => object.kind === 'Application');
    const byName = new Map(apps.map((app) => [app.metadata.name, app]));
    const wave = (name: string): number =>
      Number(byName.get(`${cluster}-${name}`)?.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);
    return { rendered, objects, apps, byName, wave };
  };
  return { platform, components, assembled, render };
}

const reference = assemble();

describe('assembleApplications', () => {
  it.each(['dev', 'staging', 'prod'])(
    'renders one valid Application per enabled component on %s, plus its CRD bundle',
    (cluster) => {
      const { rendered, apps } = reference.render(cluster);
      expect(reference.components.issues).toEqual([]);
      expect(reference.assembled.issues).toEqual([]);
      expect(rendered.issues).toEqual([]);
      expect(apps.map((app) => app.metadata.name).sort()).toEqual(
        ['argocd', 'authelia', 'bitwarden-sm', 'cilium', 'gateway-api-crds', 'longhorn'].map(
          (name) => `${cluster}-${name}`,
        ),
      );
    },
  );

  it('orders the CRD bundle before the component that declares it, and the CNI before everything else', () => {
    const { apps, wave } = reference.render('prod');
    expect(wave('gateway-api-crds')).toBe(0);
    expect(wave('cilium')).toBe(1);
    for (const app of apps) {
      const name = app.metadata.name.replace(/^prod-/, '');
      if (name === 'gateway-api-crds' || name === 'cilium') continue;
      expect(wave(name), name).toBeGreaterThan(wave('cilium'));
    }
  });

  it('puts each Application after the Applications of the providers of what it needs and uses', () => {
    const { wave } = reference.render('staging');
    // bitwarden-sm needs cni; longhorn uses its secrets; authelia needs storage; argocd uses
    // the OIDC provider.
    expect(['bitwarden-sm', 'longhorn', 'authelia', 'argocd'].map((name) => wave(name))).toEqual([
      2, 3, 4, 5,
    ]);
  });

  it('orders through providers that have no Application of their own', () => {
    // `issuer` deploys nothing through Argo CD but needs the secrets provider: whoever needs
    // its certificates comes after bitwarden-sm.
    const issuer = testComponent({
      name: 'issuer',
      provides: ['certificates'],
      needs: ['secrets'],
    });
    const web = testComponent({
      name: 'web',
      needs: ['cni', 'certificates'],
      contribution: () => ({
        application: { namespace: 'web', podSecurity: 'restricted', clusterResources: [] },
      }),
    });
    const { render, components } = assemble(fleetDefinition(), [
      cilium,
      bitwarden,
      issuer,
      web,
      argocd,
    ]);
    const { wave, byName } = render('dev');
    expect(components.issues).toEqual([]);
    expect(byName.has('dev-issuer')).toBe(false);
    expect([wave('bitwarden-sm'), wave('web')]).toEqual([2, 3]);
  });

  it('puts the consumers of a provider without an Application after its CRD bundles', () => {
    // `snapshots` only installs CRDs (no Application of its own): what needs its capability
    // must wait for them, as a component waits for its own bundles.
    const bundle = { ...GATEWAY_API_CRDS, name: 'snapshot-crds' };
    const snapshots = testComponent({
      name: 'snapshots',
      provides: ['volume-snapshots'],
      contribution: () => ({ crds: [bundle] }),
    });
    const backup = testComponent({
      name: 'backup',
      needs: ['volume-snapshots'],
      contribution: () => ({
        application: { namespace: 'backup', podSecurity: 'restricted', clusterResources: [] },
      }),
    });
    const { render, components, assembled } = assemble(fleetDefinition(), [
      cilium,
      snapshots,
      backup,
      argocd,
    ]);
    expect([...components.issues, ...assembled.issues]).toEqual([]);
    const { wave, byName } = render('prod');
    expect(byName.has('prod-snapshots')).toBe(false);
    expect([wave('snapshot-crds'), wave('backup')]).toEqual([0, 1]);
  });

  it("passes a component's helmApiVersions as the Application's helm.apiVersions, and none otherwise", () => {
    // Argo CD v3.4 passes Helm the live cluster's API versions unless the source lists its own
    // (GetAPIVersionsOrDefault): a chart that branches on a CRD an earlier wave installs
    // (VolSync's ServiceMonitor) renders on the cluster what the build renders only with them.
    const pinned = testComponent({
      name: 'pinned',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace: 'pinned',
          podSecurity: 'restricted',
          clusterResources: [],
          helmApiVersions: ['v1'],
        },
      }),
    });
    const { render, components, assembled } = assemble(fleetDefinition(), [cilium, pinned, argocd]);
    expect([...components.issues, ...assembled.issues]).toEqual([]);
    const { byName } = render('dev');
    const helmOf = (name: string) =>
      (byName.get(name)?.spec.source as { helm?: { apiVersions?: unknown } } | undefined)?.helm;
    expect(helmOf('dev-pinned')?.apiVersions).toEqual(['v1']);
    expect(helmOf('dev-cilium')).toBeDefined();
    expect(helmOf('dev-cilium')?.apiVersions).toBeUndefined();
  });

  it('removes the Application of a component that is disabled on a cluster', () => {
    const definition = fleetDefinition({
      clusters: (clusters) => {
        for (const cluster of clusters.slice(0, 2)) {
          cluster.components = { longhorn: { enabled: false } };
        }
      },
    });
    const { render, components } = assemble(definition, [cilium, bitwarden, longhorn, argocd]);
    expect(components.issues).toEqual([]);
    const dev = render('dev');
    const prod = render('prod');
    expect(dev.byName.has('dev-longhorn')).toBe(false);
    expect(prod.byName.has('prod-longhorn')).toBe(true);
    const project = dev.objects.find((object) => object.kind === 'AppProject');
    expect(JSON.stringify(project)).not.toContain('longhorn');
  });

  it('skips clusters where no component provides gitops, and refuses charts nothing would deploy there', () => {
    const definition = fleetDefinition({
      clusters: (clusters) => {
        const [dev] = clusters;
        dev.components = { argocd: { enabled: false } };
      },
    });
    const { assembled } = assemble(definition);
    expect(Object.keys(assembled.chart?.clusters ?? {})).toEqual(['staging', 'prod']);
    expect(Object.keys(assembled.chart?.environments ?? {}).sort()).toEqual([
      'production',
      'staging',
    ]);
    // dev keeps its namespaces (for what its runbook installs by hand), no root Application.
    expect(assembled.files.map((file) => file.path)).toEqual([
      'clusters/dev/namespaces.yaml',
      'clusters/staging/root-application.yaml',
      'clusters/staging/namespaces.yaml',
      'clusters/prod/root-application.yaml',
      'clusters/prod/namespaces.yaml',
    ]);
    const devNamespaces = parseAllDocuments(assembled.files[0]?.content ?? '') as KubeObject[];
    expect(devNamespaces.map((object) => object.metadata.name)).toEqual([
      'authelia',
      'cilium-secrets',
      'longhorn-system',
      'sm-operator-system',
    ]);
    // No Argo CD there: nothing in them names it.
    expect(devNamespaces.every((object) => object.metadata.annotations === undefined)).toBe(true);
    expect(Object.keys(assembled.bootstrap)).toEqual(['staging', 'prod']);
    expect(assembled.firstSteps.dev?.[0]?.commands).toEqual([
      'kubectl apply -f clusters/dev/namespaces.yaml',
    ]);
    expect(assembled.issues.map(formatIssue)).toEqual([
      'clusters[0].components: no component provides "gitops" on cluster "dev", so nothing deploys cilium, bitwarden-sm, longhorn, authelia (the runbook installs only the CNI, the cluster DNS and the CRD bundles by hand) (expected a registered component that provides "gitops", or those components disabled there)',
    ]);
    const named = testRun(definition, FLEET);
    const withProvider = assembleApplications(named.platform, named.components, {
      gitopsProviders: ['argocd'],
    });
    expect(withProvider.issues.map((issue) => issue.expected)).toEqual([
      'argocd enabled on cluster "dev" (it provides "gitops"), or those components disabled there',
    ]);
    const none = assemble(fleetDefinition(), [cilium, bitwarden, longhorn, authelia]);
    expect([none.assembled.chart, none.assembled.bootstrap]).toEqual([undefined, {}]);
    expect(none.assembled.issues.map((issue) => issue.code)).toEqual([
      'no-gitops-controller',
      'no-gitops-controller',
      'no-gitops-controller',
    ]);
  });

  it('accepts a cluster without gitops whose charts its runbook installs by hand', () => {
    const installing = (when: 'after-handover' | undefined) =>
      testComponent({
        name: 'cilium',
        provides: ['cni'],
        contribution: () => ({
          application: {
            namespace: 'kube-system',
            podSecurity: 'privileged',
            clusterResources: [],
          },
          bootstrap: [
            {
              title: 'Install Cilium',
              body: [],
              commands: [
                'helm template cilium charts/cilium --namespace kube-system \\\n  | kubectl apply --server-side -f -',
              ],
              ...(when === undefined ? {} : { when }),
            },
          ],
        }),
      });
    const { assembled } = assemble(fleetDefinition(), [installing(undefined)]);
    expect(assembled.issues).toEqual([]);
    expect(assembled.chart).toBeUndefined();
    // The same command as a step after the hand-over is no install before everything else.
    const late = assemble(fleetDefinition(), [installing('after-handover')]);
    expect(late.assembled.issues.map((issue) => issue.message)).toEqual(
      ['dev', 'staging', 'prod'].map(
        (cluster) =>
          `no component provides "gitops" on cluster "${cluster}", so nothing deploys cilium (the runbook installs only the CNI, the cluster DNS and the CRD bundles by hand)`,
      ),
    );
  });

  it('assembles nothing on clusters whose needs form a cycle; the run names the cycle', () => {
    const looping = testComponent({
      name: 'cilium',
      provides: ['cni'],
      needs: ['storage'],
      contribution: () => ({
        application: { namespace: 'kube-system', podSecurity: 'privileged', clusterResources: [] },
      }),
    });
    const { components, assembled } = assemble(fleetDefinition(), [looping, longhorn, argocd]);
    expect(components.issues.map((issue) => [issue.code, issue.path, issue.value])).toEqual(
      [0, 1, 2].map((index) => [
        'capability-cycle',
        ['clusters', index, 'components', 'cilium'],
        'cilium → longhorn → cilium',
      ]),
    );
    expect(components.issues[0]?.message).toBe(
      'components need each other in a cycle on cluster "dev": cilium → longhorn → cilium (read "needs a capability of")',
    );
    expect([assembled.chart, assembled.issues]).toEqual([undefined, []]);
  });

  it('reports a need that nothing enabled provides, naming both ends, and still places the Application', () => {
    const definition = fleetDefinition({
      clusters: (clusters) => {
        const [dev] = clusters;
        dev.components = { longhorn: { enabled: false } };
      },
    });
    const { components, assembled, render } = assemble(definition);
    expect(components.issues.map(formatIssue)).toEqual([
      'clusters[0].components.authelia: authelia needs "storage", which no component enabled on cluster "dev" provides (expected longhorn enabled on cluster "dev" (it provides "storage"), or authelia disabled)',
    ]);
    expect(assembled.issues).toEqual([]);
    expect(render('dev').wave('authelia')).toBe(3);
  });

  it('refuses two Applications of one name on a cluster', () => {
    const twin = testComponent({
      name: 'twin',
      needs: ['cni'],
      contribution: () => ({
        application: {
          name: 'longhorn',
          namespace: 'twin',
          podSecurity: 'restricted',
          clusterResources: [],
        },
      }),
    });
    // twin comes first in dependency order (it needs only the CNI; longhorn also uses secrets):
    // the second claim of the name, longhorn's, is the one refused.
    const { assembled } = assemble(fleetDefinition(), [...FLEET, twin]);
    expect(
      assembled.issues.map((issue) => [issue.code, issue.path, issue.value, issue.message]),
    ).toEqual(
      ['dev', 'staging', 'prod'].map((cluster, index) => [
        'duplicate-application',
        ['clusters', index, 'components', 'longhorn'],
        'longhorn',
        `Application name "longhorn" on cluster "${cluster}" is also used by twin`,
      ]),
    );
  });

  it('refuses an Application whose component renders no chart', () => {
    const chartless = testComponent({
      name: 'chartless',
      needs: ['cni'],
      chart: false,
      contribution: () => ({
        application: { namespace: 'x', podSecurity: 'restricted', clusterResources: [] },
      }),
    });
    const { assembled } = assemble(fleetDefinition(), [...FLEET, chartless]);
    expect(assembled.issues.map((issue) => [issue.code, issue.path, issue.message])).toEqual(
      [0, 1, 2].map((index) => [
        'application-chart',
        ['clusters', index, 'components', 'chartless'],
        'chartless declares an Application but renders no chart',
      ]),
    );
  });

  it('points every component Application at its chart with the cluster layers', () => {
    const { byName } = reference.render('prod');
    expect(byName.get('prod-longhorn')?.spec).toMatchObject({
      // No purpose declared: the component's own project.
      project: 'longhorn',
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
    const dev = reference.render('dev');
    expect(dev.byName.get('dev-longhorn')?.spec.source).toMatchObject({ targetRevision: 'main' });
  });

  it('installs a CRD bundle from its pinned source, server-side, never pruned or cascaded, without managing a namespace', () => {
    const { byName } = reference.render('dev');
    const crds = byName.get('dev-gateway-api-crds');
    expect(crds?.spec.source).toEqual(GATEWAY_API_CRDS.source);
    expect(crds?.spec.destination).toEqual({
      server: 'https://kubernetes.default.svc',
      namespace: 'kube-system',
    });
    // CRD bundles are critical: never pruned or deleted by Argo CD (critical-not-cascaded)
    expect(syncPolicyOf(crds).syncOptions).toEqual([
      'ServerSideApply=true',
      'Prune=false',
      'Delete=false',
    ]);
    expect(crds?.metadata.finalizers).toBeUndefined();
    expect(crds?.spec.project).toBe('crds');
  });

  it('syncs only what differs where the descriptor asks (objects Argo CD replaces)', () => {
    const { byName } = reference.render('dev');
    expect(syncPolicyOf(byName.get('dev-longhorn')).syncOptions).toContain(
      'ApplyOutOfSyncOnly=true',
    );
    for (const [name, app] of byName) {
      if (name === 'dev-longhorn') continue;
      const options = syncPolicyOf(app).syncOptions ?? [];
      expect([name, options.includes('ApplyOutOfSyncOnly=true')]).toEqual([name, false]);
    }
  });

  it('sets sync policy, finalizer, Pod Security labels and ignoreDifferences from the descriptors and the profile', () => {
    const { byName } = reference.render('staging');
    const cilium = byName.get('staging-cilium');
    const authelia = byName.get('staging-authelia');
    expect(cilium?.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    // kube-system exists on every cluster and Talos exempts it from Pod Security: Cilium's
    // Application neither creates it nor manages its labels, an UPDATE of the Namespace on every
    // sync that Gatekeeper's namespace webhook (failing closed) refuses while it is down.
    expect(cilium?.spec.destination).toEqual({
      server: 'https://kubernetes.default.svc',
      namespace: 'kube-system',
    });
    expect(cilium?.spec.syncPolicy).toEqual({
      automated: { prune: true, selfHeal: true },
      syncOptions: ['ServerSideApply=true', 'RespectIgnoreDifferences=true'],
      retry: {
        limit: -1,
        refresh: true,
        backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
      },
    });
    expect(cilium?.spec.ignoreDifferences).toEqual(CILIUM_IGNORE_DIFFERENCES);
    // The root creates and labels authelia's namespace: Authelia's Application leaves its
    // metadata alone (Argo CD would apply it with `sync-options: ServerSideApply=true`, over the
    // root's `Prune=false,Delete=false`, argo-cd v3.4.4 controller/sync_namespace.go).
    expect(syncPolicyOf(authelia).syncOptions).toEqual([]);
    expect(syncPolicyOf(authelia).managedNamespaceMetadata).toBeUndefined();
    const root = reference
      .render('staging')
      .objects.find((object) => object.kind === 'Namespace' && object.metadata.name === 'authelia');
    expect(root?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(authelia?.spec.ignoreDifferences).toBeUndefined();
  });

  it('leaves the metadata of every namespace the root creates to the root Application', () => {
    // Given the Applications and the root's Namespaces of every cluster
    for (const cluster of ['dev', 'staging', 'prod']) {
      const { objects } = reference.render(cluster);
      const rootNamespaces = new Set(
        objects
          .filter((object) => object.kind === 'Namespace')
          .map((object) => object.metadata.name),
      );
      expect(rootNamespaces.size).toBeGreaterThan(0);
      for (const app of objects.filter((object) => object.kind === 'Application') as Obj[]) {
        const destination = app.spec.destination as { namespace: string };
        if (!rootNamespaces.has(destination.namespace)) continue;
        // Then no Application creates or labels one of them: two owners of one namespace's
        // metadata would overwrite each other's sync options on every sync.
        expect(syncPolicyOf(app).syncOptions, app.metadata.name).not.toContain(
          'CreateNamespace=true',
        );
        expect(syncPolicyOf(app).managedNamespaceMetadata, app.metadata.name).toBeUndefined();
      }
    }
  });

  it('takes prune and self-heal from the environment profile', () => {
    const { render } = assemble(
      fleetDefinition({ environments: { staging: { autoSync: { prune: false } } } }),
    );
    expect(syncPolicyOf(render('staging').byName.get('staging-longhorn')).automated).toEqual({
      prune: false,
      selfHeal: true,
    });
    expect(syncPolicyOf(render('prod').byName.get('prod-longhorn')).automated).toEqual({
      prune: true,
      selfHeal: true,
    });
  });

  it('makes one project per purpose, each allowing exactly what its Applications deploy', () => {
    const { objects } = reference.render('dev');
    const byProject = new Map(
      objects
        .filter((object) => object.kind === 'AppProject')
        .map((object) => [object.metadata.name, object as Obj]),
    );
    const projects = {
      // biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
      get: (name: string): any => byProject.get(name),
      keys: () => byProject.keys(),
    };
    expect([...projects.keys()].sort()).toEqual(
      ['argocd', 'authelia', 'bitwarden-sm', 'cilium', 'crds', 'longhorn'].sort(),
    );
    const crds = projects.get('crds');
    expect(crds.spec.sourceRepos).toEqual([GATEWAY_API_REPOSITORY]);
    expect(crds.spec.clusterResourceWhitelist).toEqual([
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
    ]);
    const cilium = projects.get('cilium');
    expect(cilium.spec.sourceRepos).toEqual([REPO]);
    expect(cilium.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual([
      'cilium-secrets',
      'kube-system',
    ]);
    expect(cilium.spec.clusterResourceWhitelist).toEqual([
      { group: 'cilium.io', kind: 'CiliumLoadBalancerIPPool' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
    ]);
    // The test components list no namespaced kinds of their upstream charts: any namespaced
    // kind but Argo CD's own.
    expect(cilium.spec.namespaceResourceBlacklist).toEqual([
      { group: 'argoproj.io', kind: 'AppProject' },
      { group: 'argoproj.io', kind: 'Application' },
      { group: 'argoproj.io', kind: 'ApplicationSet' },
    ]);
    const longhorn = projects.get('longhorn');
    expect(longhorn.spec.clusterResourceWhitelist).toEqual([
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ]);
    expect(longhorn.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual([
      'longhorn-system',
    ]);
  });

  it('computes a project from the rendered objects: their kinds and namespaces, nothing more', () => {
    const widget = testComponent({
      name: 'widget',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace: 'widget',
          podSecurity: 'restricted',
          project: 'apps',
          clusterResources: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }],
          namespacedResources: [{ group: 'apps', kind: 'Deployment' }],
        },
      }),
      render: (input) =>
        manifestsChart('widget', input, {
          policy: {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: 'p', namespace: 'widget-extra' },
          },
          class: {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: 'c' },
          },
        }),
    });
    const { assembled } = assemble(fleetDefinition(), [cilium, argocd, widget]);
    // biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
    const layer = assembled.chart?.clusters.dev?.manifests as any;
    const project = layer['appproject-apps'];
    expect(project.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual([
      'widget',
      'widget-extra',
    ]);
    expect(project.spec.clusterResourceWhitelist).toEqual([
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ]);
    expect(project.spec.namespaceResourceWhitelist).toEqual([
      { group: 'apps', kind: 'Deployment' },
      { group: 'networking.k8s.io', kind: 'NetworkPolicy' },
    ]);
    expect(project.spec.namespaceResourceBlacklist).toBeUndefined();
    expect(layer['application-widget'].spec.project).toBe('apps');
  });

  it('refuses two components that label one namespace with different Pod Security levels', () => {
    const shared = (name: string, podSecurity: 'restricted' | 'privileged') =>
      testComponent({
        name,
        needs: ['cni'],
        contribution: () => ({
          application: { namespace: 'shared', podSecurity, clusterResources: [] },
        }),
      });
    const { assembled } = assemble(fleetDefinition(), [
      cilium,
      argocd,
      shared('one', 'restricted'),
      shared('two', 'privileged'),
    ]);
    const issues = assembled.issues.filter((issue) => issue.code === 'namespace-pod-security');
    expect(issues.map((issue) => [issue.path, issue.value])).toEqual(
      [0, 1, 2].map((index) => [
        ['clusters', index, 'components'],
        'one: restricted, two: privileged',
      ]),
    );
    expect(issues[0]?.message).toBe(
      'components share namespace "shared" but ask for different Pod Security levels',
    );
  });

  it('writes a root Application per cluster that installs charts/platform with its layers', () => {
    const { files } = reference.assembled;
    const roots = files.filter((file) => file.path.endsWith('/root-application.yaml'));
    expect(roots.map((file) => file.path)).toEqual([
      'clusters/dev/root-application.yaml',
      'clusters/staging/root-application.yaml',
      'clusters/prod/root-application.yaml',
    ]);
    const prod = roots[2]?.content ?? '';
    expect(prod.split('\n')[0]).toBe('# generated by pnpm build; do not edit.');
    const [project, root] = parseAllDocuments(prod) as Obj[];
    expect(project?.kind).toBe('AppProject');
    // The platform's namespaces are the root's (before the first wave).
    expect(project?.spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(project?.spec.namespaceResourceWhitelist).toEqual([
      { group: 'argoproj.io', kind: 'AppProject' },
      { group: 'argoproj.io', kind: 'Application' },
    ]);
    expect(root?.metadata.name).toBe('prod-platform');
    expect(root?.metadata.finalizers).toBeUndefined();
    expect(root?.spec).toMatchObject({
      project: 'platform-bootstrap',
      destination: { namespace: 'argocd' },
      source: {
        path: 'charts/platform',
        targetRevision: 'v1.0.0',
        helm: { valueFiles: ['env/production.yaml', 'clusters/prod.yaml'] },
      },
      // A wave fails while one of its Applications is Degraded; Argo CD never auto-syncs a
      // failed revision again once the retries ran out: the root retries until it converges,
      // each time from the latest revision (a fix committed meanwhile).
      syncPolicy: { retry: { limit: -1, refresh: true } },
    });
  });

  it('pins every child Application of the platform repository to the revision the root follows', () => {
    // Given the root Application and the umbrella chart's layer of every cluster
    const { assembled, platform } = reference;
    for (const cluster of ['dev', 'staging', 'prod']) {
      const file = assembled.files.find(
        (candidate) => candidate.path === `clusters/${cluster}/root-application.yaml`,
      );
      const [, root] = parseAllDocuments(file?.content ?? '') as Obj[];
      const helm =
        (root?.spec.source as { helm: { parameters?: Values[] } } | undefined)?.helm ?? {};
      const manifests = (assembled.chart?.clusters[cluster]?.manifests ?? {}) as {
        [key: string]: Obj;
      };
      const children = Object.keys(manifests).filter(
        (key) => manifests[key]?.kind === 'Application',
      );
      const fromRepository = children.filter(
        (key) =>
          (manifests[key]?.spec.source as { repoURL?: string } | undefined)?.repoURL ===
          platform.repositoryUrl,
      );
      // Then each of them has exactly one parameter, naming a real key of the layer, that Argo CD
      // fills with the root's own targetRevision (a string, never a number)
      expect(fromRepository.length).toBeGreaterThan(3);
      expect(helm.parameters).toEqual(
        fromRepository.sort().map((key) => ({
          name: `manifests.${key}.spec.source.targetRevision`,
          value: '$ARGOCD_APP_SOURCE_TARGET_REVISION',
          forceString: true,
        })),
      );
      for (const parameter of helm.parameters ?? []) {
        const [head, key, ...rest] = String(parameter.name).split('.');
        expect([head, rest.join('.')]).toEqual(['manifests', 'spec.source.targetRevision']);
        expect(manifests[key ?? '']?.kind).toBe('Application');
        // No key needs escaping: Helm would split it at a dot or a comma
        expect(key).toMatch(/^[a-z0-9][-a-z0-9]*$/);
      }
      // and a CRD bundle keeps its own upstream tag
      const bundles = children.filter((key) => !fromRepository.includes(key));
      expect(bundles.length).toBeGreaterThan(0);
      for (const key of bundles) {
        expect(helm.parameters?.map((parameter) => parameter.name)).not.toContain(
          revisionParameterName(key),
        );
      }
    }
  });

  it('applies the root parameters as Helm --set-string does: every child follows the root revision', () => {
    // Given prod pinned to v1.0.0, rendered by Argo CD at the tag whose committed values still
    // say `main` (the pin of the time the tag was made)
    const { assembled } = reference;
    const file = assembled.files.find(
      (candidate) => candidate.path === 'clusters/prod/root-application.yaml',
    );
    const [, root] = parseAllDocuments(file?.content ?? '') as Obj[];
    const parameters =
      (
        root?.spec.source as
          | { helm?: { parameters?: { name: string; value: string }[] } }
          | undefined
      )?.helm?.parameters ?? [];
    const tag = 'v1.0.0';
    if (assembled.chart === undefined) throw new Error('no umbrella chart');
    const { files } = chartFiles(assembled.chart, INITIAL_CHART_VERSION);
    const stale = files.map((entry) =>
      entry.path.endsWith('clusters/prod.yaml')
        ? {
            ...entry,
            content: entry.content.replaceAll('targetRevision: v1.0.0', 'targetRevision: main'),
          }
        : entry,
    );
    // When the parameters are applied with $ARGOCD_APP_SOURCE_TARGET_REVISION replaced, as the repo-server does
    const overrides: { [key: string]: Values } = {};
    for (const { name, value } of parameters) {
      const key = name.split('.')[1] ?? '';
      expect(value).toBe(APP_REVISION);
      overrides[key] = { spec: { source: { targetRevision: value.replace(APP_REVISION, tag) } } };
    }
    // (the parameters as one more value layer: Helm merges --set values last)
    const rendered = renderChart(
      [
        ...stale,
        { path: 'charts/platform/parameters.yaml', content: toYaml({ manifests: overrides }) },
      ],
      ['env/production.yaml', 'clusters/prod.yaml', 'parameters.yaml'],
    );
    // Then every Application of the platform repository follows the tag, and no child is left
    // on `main`
    const apps = (rendered.objects as Obj[]).filter((object) => object.kind === 'Application');
    const revisions = apps.map((app) => [
      app.metadata.name,
      (app.spec.source as { repoURL: string; targetRevision: string }).repoURL === REPO
        ? (app.spec.source as { targetRevision: string }).targetRevision
        : 'upstream',
    ]);
    expect(revisions.filter(([, revision]) => revision !== 'upstream').length).toBeGreaterThan(3);
    for (const [name, revision] of revisions) expect([name, revision]).not.toEqual([name, 'main']);
    expect(revisions.every(([, revision]) => revision === tag || revision === 'upstream')).toBe(
      true,
    );
  });

  it('passes the root-revision-parameters check, which a missing or stale parameter breaks', () => {
    // Given the generated root files and charts/platform, as the pipeline hands them to the checks
    const { assembled, platform, components } = reference;
    if (assembled.chart === undefined) throw new Error('no umbrella chart');
    const chart = chartFiles(assembled.chart, INITIAL_CHART_VERSION).files;
    const systemInput = (files: typeof chart): SystemInput => ({
      platform,
      clusters: components.clusters.map((run) => ({
        cluster: run.cluster,
        run,
        applications: (assembled.deployed[run.cluster.name] ?? []).map((app) => ({
          ...app,
          objects: [],
        })),
      })),
      files,
    });
    expect(rootRevisionCheck.check(systemInput([...assembled.files, ...chart]))).toEqual([]);
    // When prod's root loses the parameter of longhorn and gains one for a key that is not there
    const edited = assembled.files.map((file) => {
      if (file.path !== 'clusters/prod/root-application.yaml') return file;
      const [project, root] = parseAllDocuments(file.content) as [Obj, Obj];
      const helm = (root.spec.source as { helm: { parameters: Values[] } }).helm;
      helm.parameters = [
        ...helm.parameters.filter(
          (parameter) => parameter.name !== revisionParameterName('application-longhorn'),
        ),
        { name: revisionParameterName('application-gone'), value: APP_REVISION, forceString: true },
      ];
      return { path: file.path, content: toYamlDocuments([project, root]) };
    });
    // Then both are errors, on prod only
    const issues = rootRevisionCheck.check(systemInput([...edited, ...chart]));
    expect(issues.map((issue) => [issue.code, issue.value, issue.path])).toEqual([
      [
        'root-revision-parameters',
        'manifests.application-longhorn.spec.source.targetRevision',
        ['clusters', 2, 'components', 'longhorn'],
      ],
      [
        'root-revision-parameters',
        'manifests.application-gone.spec.source.targetRevision',
        ['clusters', 2],
      ],
    ]);
    expect(issues[0]?.message).toContain('Application prod-longhorn on cluster "prod"');
  });

  it('escapes what Helm would split a --set key at', () => {
    expect(revisionParameterName('application-a.b,c')).toBe(
      'manifests.application-a\\.b\\,c.spec.source.targetRevision',
    );
    expect(revisionParameterName('application-x')).toBe(
      'manifests.application-x.spec.source.targetRevision',
    );
  });

  it('creates every namespace of the platform before the first wave, with its Pod Security level', () => {
    const { assembled } = reference;
    // biome-ignore lint/suspicious/noExplicitAny: test navigation into plain objects
    const prod = assembled.chart?.clusters.prod?.manifests as { [key: string]: any };
    const namespaces = Object.values(prod).filter((object) => object.kind === 'Namespace');
    const applications = Object.values(prod).filter((object) => object.kind === 'Application');
    // Every destination namespace but the system ones, each once.
    const destinations = [
      ...new Set(applications.map((app) => app.spec.destination.namespace as string)),
    ]
      .filter((name) => name !== 'kube-system')
      .sort();
    expect(namespaces.map((object) => object.metadata.name).sort()).toEqual(
      expect.arrayContaining(destinations),
    );
    expect(assembled.namespaces.prod).toEqual(namespaces.map((object) => object.metadata.name));
    for (const namespace of namespaces) {
      expect(namespace.metadata.annotations[SYNC_WAVE_ANNOTATION]).toBe('-1');
      // Removing a component never deletes a namespace, and its volumes, with it.
      expect(namespace.metadata.annotations['argocd.argoproj.io/sync-options']).toBe(
        'Prune=false,Delete=false',
      );
      // The same labels as the managed namespace metadata of the Application deploying there.
      const owner = applications.find(
        (app) =>
          app.spec.destination.namespace === namespace.metadata.name &&
          app.spec.syncPolicy.managedNamespaceMetadata !== undefined,
      );
      if (owner !== undefined) {
        expect(namespace.metadata.labels).toEqual(
          owner.spec.syncPolicy.managedNamespaceMetadata.labels,
        );
      }
    }
    // The runbook applies the same objects first.
    const file = assembled.files.find((entry) => entry.path === 'clusters/prod/namespaces.yaml');
    expect(parseAllDocuments(file?.content ?? '')).toEqual(namespaces);
    expect(assembled.firstSteps.prod?.[0]?.commands).toEqual([
      'kubectl apply -f clusters/prod/namespaces.yaml',
    ]);
  });

  it('refuses a Namespace a chart renders for a namespace an earlier wave uses', () => {
    /** A component with an Application in namespace `name` whose chart renders `object`. */
    const withObject = (
      name: string,
      needs: ('cni' | 'certificates')[],
      object: KubeObject,
    ): AnyComponent =>
      testComponent({
        name,
        ...(name === 'early' ? { provides: ['certificates' as const] } : {}),
        needs,
        contribution: () => ({
          application: { namespace: name, podSecurity: 'restricted', clusterResources: [] },
        }),
        render: (input) => manifestsChart(name, input, { object }),
      });
    const early = withObject('early', ['cni'], {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'shared-late' },
    });
    const late = withObject('late', ['cni', 'certificates'], {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shared-late' },
    });
    const { assembled } = assemble(fleetDefinition(), [cilium, bitwarden, early, late, argocd]);
    const issues = assembled.issues.filter((issue) => issue.code === 'namespace-created-late');
    expect(issues.map((issue) => issue.message)).toContainEqual(
      expect.stringMatching(
        /^late renders the Namespace "shared-late" \(wave (\d+)\), but early deploys into it in wave (\d+) on cluster "dev"$/,
      ),
    );
    // Not created by the root as well: one owner per object.
    const dev = assembled.chart?.clusters.dev?.manifests as { [key: string]: Obj };
    expect(dev['namespace-shared-late']).toBeUndefined();
  });

  it('hands each cluster to the GitOps controller with a runbook step applying its root Application', () => {
    expect(reference.assembled.bootstrap.staging).toEqual([
      {
        title: 'Hand the cluster to Argo CD',
        body: [
          "The root Application installs the platform umbrella chart at `main` (the environment's",
          '`repository.targetRevision`), and every Application it creates follows that same revision;',
          'from here on Git is the only deployment path. Argo CD adopts what the steps above',
          'installed by hand, then installs the rest wave by wave ("Watching the platform converge"',
          'below says how to follow it; "Moving this cluster to another revision", how to pin it).',
          '',
          `Argo CD renders \`charts/\` from \`${REPO}\` at \`main\`, not from this working`,
          'tree: the commands apply the root Application only where nothing under `charts/` and',
          '`clusters/` is left uncommitted (`git status` lists what is, new files included) and the',
          'repository holds them as built here (`git diff` lists what differs; the entry ids mapped in',
          'the secrets step among them). Where either lists files, commit them with the definition,',
          'push, and run the commands again.',
        ],
        commands: [
          'git status --short --untracked-files=all -- charts clusters | { ! grep .; } &&',
          `git fetch --quiet ${REPO} main &&`,
          'git --no-pager diff --stat --exit-code FETCH_HEAD -- charts clusters &&',
          'kubectl apply -f clusters/staging/root-application.yaml &&',
          'kubectl -n argocd get application staging-platform',
        ],
      },
    ]);
  });

  it('hands over only what the repository holds: run by bash in a scratch clone, an untracked file, an unpushed commit and a pushed one', () => {
    const [step] = reference.assembled.bootstrap.staging ?? [];
    const dir = mkdtempSync(join(tmpdir(), 'handover-'));
    try {
      const git = (cwd: string, ...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
          cwd,
          encoding: 'utf8',
        });
      const remote = join(dir, 'remote.git');
      const work = join(dir, 'work');
      git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
      git(dir, 'clone', '--quiet', remote, work);
      mkdirSync(join(work, 'charts'), { recursive: true });
      mkdirSync(join(work, 'bin'));
      writeFileSync(join(work, 'charts/a.yaml'), 'a: 1\n');
      git(work, 'add', 'charts');
      git(work, 'commit', '--quiet', '-m', 'first');
      git(work, 'push', '--quiet', 'origin', 'main');
      // kubectl: a stand-in that says it ran
      writeFileSync(join(work, 'bin/kubectl'), '#!/bin/sh\necho "kubectl $*"\n', { mode: 0o755 });
      const run = () => {
        const result = spawnSync(
          'bash',
          ['-c', (step?.commands ?? []).join('\n').replaceAll(REPO, remote)],
          {
            cwd: work,
            encoding: 'utf8',
            env: { PATH: `${join(work, 'bin')}:${process.env.PATH ?? ''}`, HOME: dir },
          },
        );
        return { status: result.status, out: result.stdout };
      };
      // In step with the repository: applied
      expect(run().out).toContain('kubectl apply -f clusters/staging/root-application.yaml');
      // A new file nobody committed (a new cluster's layer): stopped, and listed
      writeFileSync(join(work, 'charts/b.yaml'), 'b: 1\n');
      const untracked = run();
      expect(untracked.status).not.toBe(0);
      expect(untracked.out).toContain('?? charts/b.yaml');
      expect(untracked.out).not.toContain('kubectl apply');
      // Committed, not pushed: stopped at the diff, which names it
      git(work, 'add', 'charts');
      git(work, 'commit', '--quiet', '-m', 'second');
      const unpushed = run();
      expect(unpushed.status).not.toBe(0);
      expect(unpushed.out).toContain('charts/b.yaml');
      expect(unpushed.out).not.toContain('kubectl apply');
      // Pushed: applied
      git(work, 'push', '--quiet', 'origin', 'main');
      expect(run().out).toContain('kubectl apply -f clusters/staging/root-application.yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the chart appVersion from the GitOps controller and lists the waves in its README', () => {
    const chart = reference.assembled.chart;
    expect(chart?.appVersion).toBe('v3.4.4');
    const body = chart?.readme.sections?.find((section) => section.heading === 'Applications');
    expect(body?.body.split('\n')[2]).toBe(
      '| dev | 0: gateway-api-crds, 1: cilium, 2: bitwarden-sm, 3: longhorn, 4: authelia, 5: argocd |',
    );
  });

  it('is deterministic, whatever the order of the registry', () => {
    const again = assemble(fleetDefinition(), [...FLEET].reverse());
    expect(JSON.stringify(again.assembled.chart)).toBe(JSON.stringify(reference.assembled.chart));
    expect(again.assembled.files).toEqual(reference.assembled.files);
  });

  it("makes each workload project a component declares: its namespace only, no cluster-scoped kind, none of the platform's kinds there but Kubernetes' workload groups; a name the platform's projects take is an error", () => {
    const web = testComponent({
      name: 'web',
      needs: ['cni'],
      contribution: () => ({
        application: { namespace: 'web', podSecurity: 'restricted', clusterResources: [] },
        workloadProjects: [
          {
            name: 'app-web',
            namespace: 'web',
            description: "web's own workloads",
            sourceRepos: ['https://git.example.com/web.git'],
            origin: ['components', 'web', 'apps', 'web'],
          },
          {
            name: 'argocd',
            namespace: 'web',
            description: 'a second project under a name the platform takes',
            sourceRepos: ['*'],
            origin: ['components', 'web', 'apps', 'argocd'],
          },
        ],
      }),
      render: (input) =>
        manifestsChart('web', input, {
          widget: {
            apiVersion: 'example.com/v1',
            kind: 'Widget',
            metadata: { name: 'w', namespace: 'web' },
          },
          job: {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            metadata: { name: 'j', namespace: 'web' },
          },
          claim: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'c', namespace: 'web' },
          },
          elsewhere: {
            apiVersion: 'example.com/v1',
            kind: 'Gadget',
            metadata: { name: 'g', namespace: 'other' },
          },
        }),
    });
    const { assembled, render } = assemble(fleetDefinition(), [cilium, web, argocd]);
    expect(assembled.issues.map((issue) => [issue.code, issue.path, issue.value])).toEqual(
      ['dev', 'staging', 'prod'].map(() => [
        'argocd-workload-project',
        ['components', 'web', 'apps', 'argocd'],
        'argocd',
      ]),
    );
    const projects = render('prod').objects.filter((object) => object.kind === 'AppProject');
    const project = projects.find((object) => object.metadata.name === 'app-web');
    expect(project?.metadata.labels?.['homelab.dev/workload-namespace']).toBe('web');
    expect(project?.spec).toEqual({
      description:
        "web's own workloads on cluster prod (deployed by your own Applications, not by homelab)",
      sourceRepos: ['https://git.example.com/web.git'],
      destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'web' }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [{ group: '*', kind: '*' }],
      // Argo CD's kinds, every kind of the groups that decide what reaches the pods (whether or
      // not the platform renders one there), RBAC's Role and RoleBinding, and the platform's
      // Widget there; not its CronJob or claim (Kubernetes' workload groups), not the Gadget of
      // another namespace.
      namespaceResourceBlacklist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
        { group: 'argoproj.io', kind: 'ApplicationSet' },
        { group: 'cilium.io', kind: '*' },
        { group: 'example.com', kind: 'Widget' },
        { group: 'gateway.networking.k8s.io', kind: '*' },
        { group: 'gateway.networking.x-k8s.io', kind: '*' },
        { group: 'networking.k8s.io', kind: '*' },
        { group: 'rbac.authorization.k8s.io', kind: 'Role' },
        { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
      ],
    });
    // The purpose project keeps its name; the second declaration made nothing.
    expect(projects.filter((object) => object.metadata.name === 'argocd')).toHaveLength(1);
  });

  it('permits Roles and RoleBindings in a workload project only where it says allowRoles', () => {
    const blacklist = (allowRoles: boolean | undefined) =>
      (
        workloadProjectObject(
          reference.platform,
          reference.platform.clusters[0] as NonNullable<(typeof reference.platform.clusters)[0]>,
          'argocd',
          {
            name: 'app-web',
            namespace: 'web',
            description: "web's own workloads",
            sourceRepos: ['*'],
            ...(allowRoles === undefined ? {} : { allowRoles }),
            origin: [],
          },
          [
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'Role',
              metadata: { name: 'platform-role', namespace: 'web' },
            },
          ],
        ).spec as { namespaceResourceBlacklist: { group: string; kind: string }[] }
      ).namespaceResourceBlacklist.filter((entry) => entry.group === 'rbac.authorization.k8s.io');
    expect(blacklist(undefined)).toEqual([
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
      { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
    ]);
    expect(blacklist(false)).toEqual(blacklist(undefined));
    // Allowed: the platform's own Role there does not take the kind back out.
    expect(blacklist(true)).toEqual([]);
  });
});
