import { formatPath, mergeValues, type VolumeRequest } from '@homelab/core';
import {
  testComponent,
  testDefinition,
  testGateway,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { applicationsComponent } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const storage = testComponent({ name: 'storage', provides: ['storage'] });

const PAPERLESS = {
  volumes: {
    data: {
      size: '20Gi',
      tier: 'standard',
      owner: { user: 1000, group: 1000 },
      backup: {
        schedule: { production: '30 */6 * * *' },
        retention: { production: { hourly: 24, daily: 14 } },
      },
    },
    cache: { size: '5Gi', tier: 'fast-storage' },
  },
};

function run(apps: AnyJson, clusters = testReferenceClusters()) {
  return testRun(testDefinition(clusters, { components: { applications: { apps } } }), [
    storage,
    applicationsComponent,
  ]);
}

const declared = (result: ReturnType<typeof run>, cluster: number) =>
  result.components.clusters[cluster]?.contributions.get('applications') as AnyJson;

describe('applications of the definition', () => {
  const result = run({
    paperless: PAPERLESS,
    wiki: { namespace: 'docs', podSecurity: 'baseline' },
  });

  test('declare their volumes, with the backup policy of the cluster environment', () => {
    const DATA = [
      'clusters',
      0,
      'components',
      'applications',
      'apps',
      'paperless',
      'volumes',
      'data',
    ];
    const dev = declared(result, 0).volumes as VolumeRequest[];
    const prod = declared(result, 2).volumes as VolumeRequest[];
    expect(dev.map((v) => v.name)).toEqual(['cache', 'data']);
    expect(dev[0]?.backup).toBeUndefined();
    expect(dev[1]).toEqual({
      name: 'data',
      namespace: 'paperless',
      size: '20Gi',
      tier: 'standard',
      owner: { user: 1000, group: 1000 },
      labels: { 'app.kubernetes.io/name': 'paperless' },
      backup: { schedule: '0 2 * * *', retention: { daily: 3 }, verify: true },
      // The providers' issues about the volume (its backup's names, its owner) point here.
      origin: ['clusters', 0, 'components', 'applications', 'apps', 'paperless', 'volumes', 'data'],
      // and those about one field of its claim (a changed tier or size) at the setting itself.
      origins: {
        size: [...DATA, 'size'],
        tier: [...DATA, 'tier'],
        accessMode: [...DATA, 'accessMode'],
        // The schedule of dev is the default: at the volume's backup, where one would write it.
        backupSchedule: [...DATA, 'backup'],
      },
    });
    // Production's is written: its issues (not a cron schedule) point at that line.
    expect(prod[1]?.origins?.backupSchedule).toEqual([
      'clusters',
      2,
      ...DATA.slice(2),
      'backup',
      'schedule',
      'production',
    ]);
    expect(prod[1]?.backup).toEqual({
      schedule: '30 */6 * * *',
      retention: { hourly: 24, daily: 14 },
      verify: true,
    });
  });

  test('declare the restic Secret of every backed-up volume', () => {
    expect(declared(result, 0).secrets).toEqual([
      expect.objectContaining({
        name: 'data-restic',
        namespace: 'paperless',
        keys: [
          'RESTIC_REPOSITORY',
          'RESTIC_PASSWORD',
          'AWS_ACCESS_KEY_ID',
          'AWS_SECRET_ACCESS_KEY',
        ],
      }),
    ]);
  });

  test("name the restic repository of the backup provider's prefix in the Secret's description", () => {
    // Given a backup provider that knows its repositories (its S3 bucket is in the definition)
    const backup = testComponent({
      name: 'backup',
      provides: ['backup'],
      contribution: (cluster) => ({
        facts: {
          backup: {
            verification: true,
            resticRepositoryPrefix: `s3:http://nas.home.arpa:9000/backups/restic/${cluster}`,
          },
        },
      }),
    });
    const withBackup = testRun(
      testDefinition(testReferenceClusters(), {
        components: { applications: { apps: { paperless: PAPERLESS } } },
      }),
      [storage, backup, applicationsComponent],
    );
    // Then the runbook's secrets step says what RESTIC_REPOSITORY must be on each cluster
    const contributions = withBackup.components.clusters[2]?.contributions.get('applications');
    expect(contributions?.secrets?.[0]?.description).toBe(
      'restic repository URL, repository password and S3 credentials of the backups of volume paperless/data; RESTIC_REPOSITORY must be s3:http://nas.home.arpa:9000/backups/restic/prod/paperless/data',
    );
  });

  test("ask the backup provider's populator to fill a new claim of each backed-up volume, and have their Application leave the field of existing claims", () => {
    // Given a backup provider with a volume populator (VolSync's)
    const backup = testComponent({
      name: 'backup',
      provides: ['backup'],
      contribution: () => ({
        facts: {
          backup: {
            verification: true,
            populator: { apiGroup: 'volsync.backube', kind: 'ReplicationDestination' },
          },
        },
      }),
    });
    const withPopulator = testRun(
      testDefinition(testReferenceClusters(), {
        components: { applications: { apps: { paperless: PAPERLESS } } },
      }),
      [storage, backup, applicationsComponent],
    );
    const contribution = declared(withPopulator, 2);
    const volumes = contribution.volumes as VolumeRequest[];
    // Then only the backed-up volume names its bootstrap
    expect(volumes.map((v) => [v.name, v.dataSourceRef])).toEqual([
      ['cache', undefined],
      [
        'data',
        { apiGroup: 'volsync.backube', kind: 'ReplicationDestination', name: 'data-bootstrap' },
      ],
    ]);
    // and the Application ignores the immutable field of every claim: an upgraded platform's
    // claims have none, and a claim keeps its field when its backups are turned off later
    const ignored = (name: string) => ({
      group: '',
      kind: 'PersistentVolumeClaim',
      name,
      namespace: 'paperless',
      jsonPointers: ['/spec/dataSource', '/spec/dataSourceRef'],
    });
    expect(contribution.application.ignoreDifferences).toEqual([ignored('cache'), ignored('data')]);
    // Without a populator: no claim names one, and the field is still left to the live claims
    expect((declared(result, 2).volumes as VolumeRequest[])[1]?.dataSourceRef).toBeUndefined();
    expect(declared(result, 2).application.ignoreDifferences).toEqual([
      ignored('cache'),
      ignored('data'),
    ]);
  });

  test('deploy into their namespaces: the first is the destination, the others are declared', () => {
    expect(declared(result, 0).application).toEqual({
      name: 'applications',
      namespace: 'docs',
      additionalNamespaces: ['paperless'],
      // The root Application creates the others with these levels (Cilium's policies and the
      // backups' objects for them come in earlier waves than this Application).
      additionalPodSecurity: { paperless: 'restricted' },
      podSecurity: 'baseline',
      // Every claim's dataSourceRef is the live claim's (immutable; a populator's, or none).
      ignoreDifferences: ['cache', 'data'].map((name) => ({
        group: '',
        kind: 'PersistentVolumeClaim',
        name,
        namespace: 'paperless',
        jsonPointers: ['/spec/dataSource', '/spec/dataSourceRef'],
      })),
      clusterResources: [],
      // No upstream chart: the AppProject allows exactly what the manifests render.
      namespacedResources: [],
    });
    const chart = result.components.components.find((c) => c.component.name === 'applications')
      ?.output.chart;
    const manifests = mergeValues(chart?.values ?? {}, chart?.clusters.dev ?? {})
      .manifests as AnyJson;
    expect(manifests['namespace-paperless']).toBeUndefined();
    expect(manifests['namespace-docs']).toBeUndefined();
  });

  test('declare a workload project per application to the GitOps provider, with the repositories the definition names (any by default); none without one', () => {
    const gitops = testComponent({
      name: 'gitops',
      provides: ['gitops'],
      contribution: () => ({ facts: { gitops: { namespace: 'argocd', version: 'v3.4.4' } } }),
    });
    const withGitops = testRun(
      testDefinition(testReferenceClusters(), {
        components: {
          applications: {
            apps: {
              paperless: { ...PAPERLESS, repositories: ['https://git.example.com/paperless/*'] },
              wiki: { namespace: 'docs', podSecurity: 'baseline' },
            },
          },
        },
      }),
      [storage, gitops, applicationsComponent],
    );
    expect(
      withGitops.components.clusters[2]?.contributions.get('applications')?.workloadProjects,
    ).toEqual([
      {
        name: 'app-paperless',
        namespace: 'paperless',
        description: "paperless's own workloads, in namespace paperless",
        sourceRepos: ['https://git.example.com/paperless/*'],
        origin: ['clusters', 2, 'components', 'applications', 'apps', 'paperless'],
      },
      {
        name: 'app-wiki',
        namespace: 'docs',
        description: "wiki's own workloads, in namespace docs",
        sourceRepos: ['*'],
        origin: ['clusters', 2, 'components', 'applications', 'apps', 'wiki'],
      },
    ]);
    // The onboarding names the project only where Argo CD runs.
    const onboarding = (run: typeof result, cluster: number) =>
      (run.components.clusters[cluster]?.contributions.get('applications')?.bootstrap ?? [])
        .flatMap((step) => step.body ?? [])
        .join('\n');
    expect(onboarding(withGitops, 2)).toContain(
      '- **paperless**, namespace `paperless`, AppProject `app-paperless`:',
    );
    // Argo CD v3.4.4 syncs a Namespace only when it is missing or managedNamespaceMetadata is
    // set (controller/sync_namespace.go), and then checks it against the project, which
    // permits no cluster-scoped kind.
    expect(onboarding(withGitops, 2)).toContain(
      "no cluster-scoped kind, so no `managedNamespaceMetadata` either (the\nnamespace and its Pod Security labels are the platform's; `CreateNamespace=true` changes\nnothing, the namespace exists)",
    );
    expect(declared(result, 2).workloadProjects).toBeUndefined();
    // Different repositories in one namespace: each project deploys there, a warning at each.
    const shared = testRun(
      testDefinition(testReferenceClusters(), {
        components: {
          applications: {
            apps: {
              wiki: { namespace: 'docs', repositories: ['https://git.example.com/wiki.git'] },
              blog: { namespace: 'docs', allowRoles: true },
            },
          },
        },
      }),
      [storage, gitops, applicationsComponent],
    );
    const sharedDeclared = shared.components.clusters[2]?.contributions.get('applications');
    expect(
      sharedDeclared?.workloadProjects?.map((project) => [project.name, project.allowRoles]),
    ).toEqual([
      ['app-blog', true],
      ['app-wiki', undefined],
    ]);
    expect(
      shared.components.issues
        .filter((issue) => issue.code === 'applications-repositories' && issue.path[1] === 2)
        .map((issue) => [issue.severity, formatPath(issue.path)]),
    ).toEqual([
      ['warning', 'clusters[2].components.applications.apps.blog'],
      ['warning', 'clusters[2].components.applications.apps.wiki.repositories'],
    ]);
    expect(onboarding(result, 2)).toContain('- **paperless**, namespace `paperless`: Pod Security');
    expect(onboarding(result, 2)).toContain('(no GitOps controller runs on this');
  });

  test('an application switched off on a cluster is not there', () => {
    const clusters = testReferenceClusters();
    (clusters[0] as AnyJson).components = {
      applications: { apps: { paperless: { enabled: false } } },
    };
    const partial = run({ paperless: PAPERLESS }, clusters);
    expect(declared(partial, 0).application).toBeUndefined();
    expect(declared(partial, 1).volumes).toHaveLength(2);
    const chart = partial.components.components.find((c) => c.component.name === 'applications')
      ?.output.chart;
    expect(Object.keys(chart?.clusters ?? {})).toEqual(['staging', 'prod']);
  });

  test('no applications: no Application and no chart', () => {
    const none = run({});
    expect(declared(none, 0).application).toBeUndefined();
    expect(
      none.components.components.find((c) => c.component.name === 'applications')?.output.chart,
    ).toBeUndefined();
  });

  test('two applications in one namespace with different Pod Security levels are an error', () => {
    const clash = run({
      a: { namespace: 'shared' },
      b: { namespace: 'shared', podSecurity: 'privileged' },
    });
    expect(
      clash.components.issues
        .filter((i) => i.severity === 'error')
        .map((i) => [i.code, formatPath(i.path)]),
    ).toEqual([
      ['applications-namespace', 'clusters[0].components.applications.apps.b.podSecurity'],
      ['applications-namespace', 'clusters[1].components.applications.apps.b.podSecurity'],
      ['applications-namespace', 'clusters[2].components.applications.apps.b.podSecurity'],
    ]);
  });

  test("an application in a component's namespace (or Kubernetes' own) is an error at its namespace, naming the component", () => {
    const monitoring = testComponent({
      name: 'monitoring',
      contribution: () => ({
        application: {
          namespace: 'monitoring',
          additionalNamespaces: ['monitoring-extra'],
          podSecurity: 'privileged',
          clusterResources: [],
        },
        flows: [],
      }),
    });
    const result = testRun(
      testDefinition(testReferenceClusters(), {
        components: {
          applications: {
            apps: {
              dashboards: { namespace: 'monitoring' },
              extra: { namespace: 'monitoring-extra', flows: [] },
              monitoring: {},
              tools: { namespace: 'kube-system' },
              wiki: {},
            },
          },
        },
      }),
      [storage, monitoring, applicationsComponent],
    );
    const errors = result.components.issues.filter(
      (i) => i.severity === 'error' && formatPath(i.path).startsWith('clusters[0].'),
    );
    expect(errors.map((i) => [i.code, formatPath(i.path), i.value])).toEqual([
      [
        'applications-namespace',
        'clusters[0].components.applications.apps.dashboards.namespace',
        'monitoring',
      ],
      [
        'applications-namespace',
        'clusters[0].components.applications.apps.extra.namespace',
        'monitoring-extra',
      ],
      [
        'applications-namespace',
        'clusters[0].components.applications.apps.monitoring',
        'monitoring',
      ],
      [
        'applications-namespace',
        'clusters[0].components.applications.apps.tools.namespace',
        'kube-system',
      ],
    ]);
    expect(errors[0]?.message).toBe(
      `puts dashboards into "monitoring", the namespace monitoring deploys into on cluster "dev": without flows dashboards takes the whole namespace out of Cilium's default deny (monitoring's pods would accept and send anything), the namespace has one Pod Security level and one set of Gatekeeper exemptions for both, and the applications' AppProject would deploy into monitoring's namespace`,
    );
    expect(errors[0]?.expected).toBe(
      "a namespace of dashboards's own (e.g. namespace: dashboards), used by no component",
    );
    // With flows the default deny is not the problem; the shared namespace still is.
    expect(errors[1]?.message).not.toContain('default deny');
    expect(errors[2]?.expected).toBe(
      "a namespace of monitoring's own (e.g. namespace: monitoring-app), used by no component",
    );
    expect(errors[3]?.message).toContain('a namespace of Kubernetes itself on cluster "dev"');
    expect(result.components.issues.filter((i) => i.severity === 'error')).toHaveLength(12);
  });

  test('two applications sharing a namespace cannot both have a volume of one name: an error at the second', () => {
    const shared = run({
      paperless: PAPERLESS,
      wiki: {
        namespace: 'paperless',
        volumes: { data: { size: '5Gi', tier: 'standard', backup: {} } },
      },
    });
    expect(
      shared.components.issues
        .filter((issue) => issue.severity === 'error')
        .map((issue) => [issue.code, formatPath(issue.path), issue.message]),
    ).toEqual(
      [0, 1, 2].map((cluster) => [
        'applications-volume',
        `clusters[${cluster}].components.applications.apps.wiki.volumes.data`,
        'is the claim paperless/data, which paperless declares too (wiki shares its namespace): one claim would overwrite the other, with one backup for both',
      ]),
    );
    // paperless keeps its volume, as declared.
    expect(
      (declared(shared, 2).volumes as VolumeRequest[]).map((v) => [v.name, v.size, v.owner]),
    ).toEqual([
      ['cache', '5Gi', undefined],
      ['data', '20Gi', { user: 1000, group: 1000 }],
    ]);
  });

  test("a flow's selector and peerSelector are Kubernetes labels (schema): Cilium refuses a policy selecting by anything else", () => {
    const flow = (labels: { [key: string]: unknown }) => ({
      x: {
        flows: [{ name: 'db', application: 'x', ports: [{ port: 5432 }], reason: 'r', ...labels }],
      },
    });
    const long = 'r'.repeat(64);
    expect(() => run(flow({ peerSelector: { 'app.kubernetes.io/name': long } }))).toThrow(
      `components.applications.apps.x.flows[0].peerSelector["app.kubernetes.io/name"]: "${long}" does not have the expected form (expected a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`,
    );
    expect(() => run(flow({ selector: { 'bad key': 'x' } }))).toThrow(
      'components.applications.apps.x.flows[0].selector',
    );
    // 63 characters, a prefixed key, an empty value: labels Kubernetes and Cilium take.
    expect(() =>
      run(flow({ peerSelector: { 'app.kubernetes.io/name': 'r'.repeat(63), tier: '' } })),
    ).not.toThrow();
  });

  test('a volume needs a size and a tier (schema)', () => {
    expect(() => run({ x: { volumes: { data: { size: '1Gi' } } } })).toThrow(
      'clusters[0].components.applications.apps.x.volumes.data.tier: required key "tier" is missing',
    );
  });
});

describe('routes of the applications', () => {
  /** The platform Gateway, with or without forward authentication. */
  const gateway = (forwardAuth: boolean) => testGateway(() => ({ forwardAuth }));
  const runWith = (apps: AnyJson, others = [gateway(false)]) =>
    testRun(testDefinition(testReferenceClusters(), { components: { applications: { apps } } }), [
      storage,
      ...others,
      applicationsComponent,
    ]);
  const errors = (result: ReturnType<typeof runWith>) =>
    result.components.issues
      .filter((i) => i.severity === 'error')
      .map((i) => [i.code, formatPath(i.path), i.message]);

  test("become route requests to the gateway: the host, the application's Service, its login", () => {
    const result = runWith({
      paperless: {
        routes: [{ host: 'paperless', service: 'paperless', port: 8000, auth: 'app' }],
      },
      status: {
        namespace: 'monitoring-public',
        routes: [
          {
            host: 'status',
            service: 'uptime',
            port: 80,
            auth: 'none',
            reason: 'the public status page of the homelab',
          },
        ],
      },
    });
    expect(errors(result)).toEqual([]);
    expect(declared(result, 1).routes).toEqual([
      {
        name: 'paperless',
        host: 'paperless',
        namespace: 'paperless',
        service: 'paperless',
        port: 8000,
        labels: { 'app.kubernetes.io/name': 'paperless' },
        auth: { kind: 'app' },
        // Its Service comes with the application's own workloads, deployed separately.
        workloads: 'external',
        // Where the definition declares it: the gateway's issues about the route point there.
        origin: ['clusters', 1, 'components', 'applications', 'apps', 'paperless', 'routes', 0],
      },
      {
        name: 'status',
        host: 'status',
        namespace: 'monitoring-public',
        service: 'uptime',
        port: 80,
        labels: { 'app.kubernetes.io/name': 'status' },
        auth: { kind: 'none', reason: 'the public status page of the homelab' },
        workloads: 'external',
        origin: ['clusters', 1, 'components', 'applications', 'apps', 'status', 'routes', 0],
      },
    ]);
  });

  test('forward auth: two factors unless the route says, only where the gateway can do it', () => {
    const apps = {
      wiki: {
        routes: [
          {
            host: 'wiki',
            service: 'wiki',
            port: 3000,
            auth: 'forward-auth',
            groups: ['family'],
          },
        ],
      },
    };
    expect(declared(runWith(apps, [gateway(true)]), 0).routes[0].auth).toEqual({
      kind: 'forward-auth',
      policy: 'two_factor',
      groups: ['family'],
    });
    const refused = runWith(apps, [gateway(false)]);
    expect(declared(refused, 0).routes).toBeUndefined();
    expect(errors(refused)[0]).toEqual([
      'applications-route',
      'clusters[0].components.applications.apps.wiki.routes[0].auth',
      'asks for forward authentication, which the gateway on cluster "dev" cannot do: wiki would be open to anyone who reaches it',
    ]);
  });

  test('under default deny, a route needs a flow admitting the Gateway: without one, an error at the route', () => {
    const route = { host: 'paperless', service: 'paperless', port: 8000, auth: 'app' };
    const redis = {
      name: 'broker',
      application: 'paperless',
      peerSelector: { 'app.kubernetes.io/name': 'paperless-redis' },
      ports: [{ port: 6379 }],
    };
    const closed = runWith({ paperless: { flows: [redis], routes: [route] } });
    expect(declared(closed, 0).routes).toBeUndefined();
    expect(errors(closed)).toEqual(
      [0, 1, 2].map((cluster) => [
        'applications-route',
        `clusters[${cluster}].components.applications.apps.paperless.routes[0]`,
        'sends paperless.<cluster domain> to Service paperless in paperless, which is under default deny (paperless declares flows), but no flow of paperless admits the Gateway: Cilium drops every request it forwards',
      ]),
    );
    // With the flow, or outside default deny (no flows, or sharing the namespace with an
    // application that declares none), the route stands.
    const web = { name: 'web', gateway: true, ports: [{ port: 8000 }] };
    expect(errors(runWith({ paperless: { flows: [redis, web], routes: [route] } }))).toEqual([]);
    expect(errors(runWith({ paperless: { routes: [route] } }))).toEqual([]);
    expect(
      errors(
        runWith({
          paperless: { flows: [redis], routes: [route] },
          tika: { namespace: 'paperless' },
        }),
      ),
    ).toEqual([]);
  });

  test('a route without a gateway, an open route without a reason, settings of another auth, a host twice: errors at the route', () => {
    const route = { service: 'web', port: 80 };
    expect(
      errors(runWith({ a: { routes: [{ ...route, host: 'a', auth: 'app' }] } }, [])).map(
        ([code, path]) => [code, path],
      ),
    ).toEqual(
      [0, 1, 2].map((cluster) => [
        'applications-route',
        `clusters[${cluster}].components.applications.apps.a.routes[0]`,
      ]),
    );
    const result = runWith({
      a: {
        routes: [
          { ...route, host: 'a', auth: 'none' },
          { ...route, host: 'b', auth: 'app', policy: 'one_factor' },
          { ...route, host: 'c', auth: 'app', reason: 'because it is ours' },
        ],
      },
      b: { routes: [{ ...route, host: 'c', auth: 'app' }] },
    });
    expect(errors(result).filter((e) => String(e[1]).startsWith('clusters[0]'))).toEqual([
      [
        'applications-route',
        'clusters[0].components.applications.apps.a.routes[0].auth',
        'leaves a.<cluster domain> open to anyone who reaches the Gateway without saying why',
      ],
      [
        'applications-route',
        'clusters[0].components.applications.apps.a.routes[1].policy',
        "is only read with auth: forward-auth (this route's auth is app)",
      ],
      [
        'applications-route',
        'clusters[0].components.applications.apps.a.routes[2].reason',
        "is only read with auth: none (this route's auth is app)",
      ],
      [
        'applications-route',
        'clusters[0].components.applications.apps.b.routes[0].host',
        'is routed by a too: one host goes to one Service',
      ],
    ]);
  });
});

describe("an application's own Secrets", () => {
  test('are declared for the secrets provider, in its namespace, with their keys and what they hold', () => {
    const result = run({
      paperless: PAPERLESS,
      notes: {
        secrets: {
          'notes-env': { keys: ['SECRET_KEY', 'DB_PASSWORD'], description: 'session key' },
          plain: { keys: ['token'] },
        },
      },
    });
    expect(result.components.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const secrets = (declared(result, 2).secrets as AnyJson[]).map((secret) => [
      `${secret.namespace}/${secret.name}`,
      secret.keys,
      secret.description,
    ]);
    // The volume's backup Secret, then the applications' own: no readers (the workloads are
    // the user's, the rotation guide says to restart them), no rotation notes
    expect(secrets).toEqual([
      [
        'paperless/data-restic',
        ['RESTIC_REPOSITORY', 'RESTIC_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
        'restic repository URL, repository password and S3 credentials of the backups of volume paperless/data',
      ],
      ['notes/notes-env', ['SECRET_KEY', 'DB_PASSWORD'], 'session key of application notes'],
      ['notes/plain', ['token'], 'secret of application notes'],
    ]);
    expect(
      (declared(result, 2).secrets as AnyJson[]).filter((secret) => secret.readers !== undefined),
    ).toHaveLength(1);
  });

  test("a name the platform's Secrets take in the namespace is an error at the application's", () => {
    const result = run({
      paperless: { ...PAPERLESS, secrets: { 'data-restic': { keys: ['x'] } } },
      wiki: { namespace: 'paperless', secrets: { shared: { keys: ['a'] } } },
      other: { namespace: 'paperless', secrets: { shared: { keys: ['b'] } } },
    });
    expect(
      result.components.issues
        .filter((issue) => issue.severity === 'error' && issue.path[1] === 2)
        .map((issue) => [issue.code, formatPath(issue.path), issue.message]),
    ).toEqual([
      [
        'applications-secret',
        'clusters[2].components.applications.apps.paperless.secrets.data-restic',
        'is the Secret paperless/data-restic, which the platform makes already (restic repository URL, repository password and S3 credentials of the backups of volume paperless/data): one would overwrite the other',
      ],
      [
        'applications-secret',
        'clusters[2].components.applications.apps.wiki.secrets.shared',
        'is the Secret paperless/shared, which the platform makes already (secret of application other): one would overwrite the other',
      ],
    ]);
  });
});
