import { describe, expect, it } from 'vitest';
import type { ClusterRun } from './components.js';
import { fileDocuments, yamlDocumentsFile } from './emitted.js';
import { handOverApply, SECRET_APPLY } from './hand-over.js';
import { formatPath, type Issue } from './issues.js';
import { resolvePlatform } from './resolve.js';
import { boundedWait, readCommand, WAIT_SECONDS } from './runbook-shell.js';
import {
  applicationManualSync,
  applicationRetry,
  pauseAutoSyncCommands,
  resumeAutoSyncCommands,
  rootManualSync,
  sameRetry,
  syncOperationPatch,
} from './sync-options.js';
import {
  applicationLayers,
  autoSyncPause,
  awkNumericEquality,
  boundedWaits,
  clientSideApplySize,
  criticalNotCascaded,
  criticalObjectsPruned,
  type DeployedApplication,
  type DeployedCluster,
  deployedValues,
  guardsChained,
  handMadeSecretApply,
  handOverFieldManager,
  healthWhileCordoned,
  healthWhileCordonedCheck,
  kindsBeforeUse,
  manualSyncOptions,
  namespacesBeforeUse,
  SENTINEL_LINE,
  type SystemInput,
  secretReferences,
  sedDocuments,
  shellComments,
  storageBeforeClaims,
  terminalReadAlone,
  valuesSource,
  volumeClaimsOf,
  zshExpansions,
} from './system.js';
import { testCluster, testDefinition } from './testing-factory.js';
import type { JsonValue, KubeObject } from './types.js';
import { generatedHeader, parseAllDocuments, shellQuote } from './yaml.js';

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

describe('critical-objects-pruned', () => {
  // A critical Application syncs with Prune=false; gitops-engine v3.4 `isPruningDisabled` reads
  // the live object's own `Prune` option before that default, so only an object carrying
  // Prune=true is pruned once the definition drops it.
  const safe = application('argocd', {}, ['Prune=false', 'Delete=false']);
  const annotated = (object: KubeObject, options: string | undefined): KubeObject => ({
    ...object,
    metadata: {
      ...object.metadata,
      ...(options === undefined
        ? {}
        : { annotations: { 'argocd.argoproj.io/sync-options': options } }),
    },
  });
  const argocd = (objects: KubeObject[], critical = true) =>
    app({
      name: 'argocd',
      wave: 2,
      critical,
      application: safe,
      objects: objects.map((object) => ({
        object,
        source: `charts/argo-cd/clusters/dev.yaml#manifests.${object.kind.toLowerCase()}-${object.metadata.name}`,
      })),
    });
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
  };
  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } };
  const claim: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'data',
      namespace: 'argocd',
      annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' },
    },
  };

  it('accepts objects with Prune=true among their options, and CRDs, Namespaces and claims without', () => {
    expect(
      criticalObjectsPruned.check(
        input([
          argocd([
            annotated(route, 'Prune=true'),
            annotated(route, 'SkipDryRunOnMissingResource=true, Prune=true'),
            crd,
            namespace,
            claim,
          ]),
        ]),
      ),
    ).toEqual([]);
  });

  it("refuses Argo CD's HTTPRoute without Prune=true: SSO turned off would leave it serving", () => {
    const issues = criticalObjectsPruned.check(input([argocd([annotated(route, undefined)])]));
    expect(issues).toMatchObject([
      {
        code: 'critical-objects-pruned',
        severity: 'error',
        output: 'charts/argo-cd/clusters/dev.yaml#manifests.httproute-r',
        value: 'HTTPRoute argocd/r',
        message:
          'HTTPRoute argocd/r is generated into the critical Application dev-argocd (argocd, Prune=false) on cluster "dev" without Prune=true of its own: once the definition drops it, it stays in the cluster and the Application stays OutOfSync ("requires pruning") for good',
        expected:
          'argocd.argoproj.io/sync-options: Prune=true on the object, where its component (or the provider that makes it for argocd) generates it',
      },
    ]);
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0].components.argocd');
  });

  it('names the merged options as the fix, and refuses Prune=false, Prune=confirm, and Prune=true after a Prune=false', () => {
    const storageClass: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
    };
    const issues = criticalObjectsPruned.check(
      input([
        argocd([
          annotated(storageClass, 'Replace=true,Force=true'),
          annotated(route, 'Prune=false'),
          annotated(route, 'SkipDryRunOnMissingResource=true,Prune=confirm'),
          // gitops-engine reads the first Prune= option (GetAnnotationOptionValue)
          annotated(route, 'Prune=false,Prune=true'),
        ]),
      ]),
    );
    expect(issues.map((issue) => [issue.value, issue.expected])).toEqual([
      [
        'StorageClass fast',
        'argocd.argoproj.io/sync-options: Replace=true,Force=true,Prune=true on the object, where its component (or the provider that makes it for argocd) generates it',
      ],
      [
        'HTTPRoute argocd/r',
        'argocd.argoproj.io/sync-options: Prune=true on the object, where its component (or the provider that makes it for argocd) generates it',
      ],
      [
        'HTTPRoute argocd/r',
        'argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true,Prune=true on the object, where its component (or the provider that makes it for argocd) generates it',
      ],
      [
        'HTTPRoute argocd/r',
        'argocd.argoproj.io/sync-options: Prune=true on the object, where its component (or the provider that makes it for argocd) generates it',
      ],
    ]);
  });

  it('leaves ordinary Applications alone: their default already prunes', () => {
    expect(
      criticalObjectsPruned.check(input([argocd([annotated(route, undefined)], false)])),
    ).toEqual([]);
  });
});

describe('secret-references', () => {
  /** A cluster run whose only facts are the secrets provider's producer, and its bootstrap secrets. */
  function run(bootstrap: { namespace: string; name: string; keys: string[] }[] = []): ClusterRun {
    return {
      contributions: new Map([
        [
          'store',
          {
            bootstrapSecrets: bootstrap.map((secret) => ({
              ...secret,
              description: 'token',
              commands: [],
            })),
          },
        ],
      ]),
      facts: {
        secrets: {
          store: 'test store',
          producer: {
            group: 'store.example',
            kind: 'StoredSecret',
            secretName: ['spec', 'name'],
            keys: ['spec', 'entries', 'key'],
          },
        },
      },
    } as unknown as ClusterRun;
  }

  const stored = (name: string, keys: string[]): KubeObject => ({
    apiVersion: 'store.example/v1',
    kind: 'StoredSecret',
    metadata: { name, namespace: 'argocd' },
    spec: { name, entries: keys.map((key) => ({ key, id: 'x' })) },
  });

  /** Argo CD with its chart values on disk (values.yaml and the cluster layer). */
  function argocd(objects: KubeObject[], _clusterValues: string): DeployedApplication {
    return app({
      name: 'argocd',
      wave: 2,
      namespace: 'argocd',
      application: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'dev-argocd', namespace: 'argocd' },
        spec: {
          source: {
            path: 'charts/argo-cd',
            helm: { valueFiles: ['env/development.yaml', 'clusters/dev.yaml'] },
          },
        },
      },
      objects: objects.map((object) => ({
        object,
        source: `charts/argo-cd#${object.metadata.name}`,
      })),
    });
  }

  function check(
    applications: DeployedApplication[],
    clusterValues: string,
    bootstrap: Parameters<typeof run>[0] = [],
  ) {
    const deployed: DeployedCluster = { cluster, run: run(bootstrap), applications };
    return secretReferences.check({
      platform,
      clusters: [deployed],
      files: [
        { path: 'charts/argo-cd/values.yaml', content: 'argo-cd:\n  configs: {}\n' },
        { path: 'charts/argo-cd/clusters/dev.yaml', content: clusterValues },
      ],
    });
  }

  const oidc =
    'argo-cd:\n  configs:\n    cm:\n      oidc.config: |\n        clientID: argocd\n        clientSecret: $argocd-oidc:client-secret\n';

  it('accepts a `$<secret>:<key>` reference the secrets provider makes, with that key', () => {
    const issues = check([argocd([stored('argocd-oidc', ['client-secret'])], oidc)], oidc);
    expect(issues).toEqual([]);
  });

  it('refuses a `$<secret>:<key>` reference nothing makes (the Secret is not declared)', () => {
    const issues = check([argocd([], oidc)], oidc);
    expect(issues).toMatchObject([
      {
        code: 'secret-references',
        value: 'argocd/argocd-oidc',
        output: 'charts/argo-cd (values on cluster dev)#argo-cd.configs.cm["oidc.config"]',
      },
    ]);
    expect(issues[0]?.message).toBe(
      'argocd references Secret argocd/argocd-oidc (key "client-secret") on cluster "dev", which nothing makes: no Secret of the platform, no object of the secrets provider, no hand-made bootstrap secret',
    );
  });

  it('leaves a declared Secret to the unfulfilled-request warning when no secrets provider runs', () => {
    const deployed: DeployedCluster = {
      cluster,
      run: {
        contributions: new Map([
          [
            'argocd',
            { secrets: [{ name: 'argocd-oidc', namespace: 'argocd', keys: ['client-secret'] }] },
          ],
        ]),
        providers: new Map(),
        facts: {},
      } as unknown as ClusterRun,
      applications: [argocd([], oidc)],
    };
    const files = [{ path: 'charts/argo-cd/values.yaml', content: oidc }];
    expect(secretReferences.check({ platform, clusters: [deployed], files })).toEqual([]);
    // with a secrets provider, the declared key is the provider's to make (or to report)
    const declaredKey = {
      ...deployed,
      run: { ...deployed.run, providers: new Map([['secrets', 'store']]) } as unknown as ClusterRun,
    };
    expect(secretReferences.check({ platform, clusters: [declaredKey], files })).toEqual([]);
    // and a reference to a Secret nobody declares, with a provider that does not make it, is an error
    const undeclared = { ...deployed.run, contributions: new Map() } as unknown as ClusterRun;
    const withProvider = {
      ...deployed,
      run: { ...undeclared, providers: new Map([['secrets', 'store']]) } as unknown as ClusterRun,
    };
    expect(
      secretReferences.check({ platform, clusters: [withProvider], files }).map((i) => i.code),
    ).toEqual(['secret-references']);
  });

  it('reports a reference in one object that several clusters deploy on each of them', () => {
    // A chart's objects are shared between clusters (one object, memoized walk): the reference
    // counts per cluster, and a second namespace of the same object is its own walk.
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'server' },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'server', envFrom: [{ secretRef: { name: 'server-env' } }] }],
          },
        },
      },
    };
    const on = (name: string, namespace: string): DeployedCluster => ({
      cluster: { ...cluster, name },
      run: run(name === 'prod' ? [{ namespace, name: 'server-env', keys: ['A'] }] : []),
      applications: [
        app({
          name: 'server',
          wave: 2,
          namespace,
          objects: [{ object: deployment, source: 'charts/server/values.yaml#manifests.server' }],
        }),
      ],
    });
    const issues = secretReferences.check({
      platform,
      clusters: [on('dev', 'apps'), on('staging', 'apps'), on('prod', 'apps'), on('lab', 'other')],
      files: [],
    });
    expect(issues.map((issue) => [issue.value, issue.output])).toEqual([
      [
        'apps/server-env',
        'charts/server/values.yaml#manifests.server#spec.template.spec.containers[0].envFrom[0].secretRef',
      ],
      [
        'apps/server-env',
        'charts/server/values.yaml#manifests.server#spec.template.spec.containers[0].envFrom[0].secretRef',
      ],
      [
        'other/server-env',
        'charts/server/values.yaml#manifests.server#spec.template.spec.containers[0].envFrom[0].secretRef',
      ],
    ]);
    expect(issues.map((issue) => issue.message.match(/on cluster "([a-z]+)"/)?.[1])).toEqual([
      'dev',
      'staging',
      'lab',
    ]);
  });

  it('refuses a reference to a key the made Secret will not have', () => {
    const issues = check([argocd([stored('argocd-oidc', ['secret'])], oidc)], oidc);
    expect(issues.map((issue) => [issue.value, issue.expected])).toEqual([
      ['client-secret', '"client-secret" among the keys the Secret is made with'],
    ]);
  });

  it('finds env, envFrom and volume references in workloads, and accepts bootstrap secrets', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'argocd' },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                env: [
                  {
                    name: 'T',
                    valueFrom: { secretKeyRef: { name: 'bw-auth-token', key: 'token' } },
                  },
                ],
                envFrom: [{ secretRef: { name: 'web-env' } }],
              },
            ],
            volumes: [
              { name: 'v', secret: { secretName: 'web-files', items: [{ key: 'a', path: 'a' }] } },
            ],
          },
        },
      },
    };
    const issues = check([argocd([deployment, stored('web-files', ['b'])], '{}\n')], '{}\n', [
      { namespace: 'argocd', name: 'bw-auth-token', keys: ['token'] },
    ]);
    expect(issues.map((issue) => [issue.value, issue.output])).toEqual([
      [
        'argocd/web-env',
        'charts/argo-cd#web#spec.template.spec.containers[0].envFrom[0].secretRef',
      ],
      ['a', 'charts/argo-cd#web#spec.template.spec.volumes[0].secret'],
    ]);
  });

  it('accepts the Secret Talos makes for a talos.dev ServiceAccount, and only in its namespace', () => {
    const pod = (namespace: string): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'etcd-backup', namespace },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'backup' }],
            volumes: [{ name: 't', secret: { secretName: 'backup-talos' } }],
          },
        },
      },
    });
    const account: KubeObject = {
      apiVersion: 'talos.dev/v1alpha1',
      kind: 'ServiceAccount',
      metadata: { name: 'backup-talos', namespace: 'argocd' },
      spec: { roles: ['os:etcd:backup'] },
    };
    expect(check([argocd([account, pod('argocd')], '{}\n')], '{}\n')).toEqual([]);
    const elsewhere = check([argocd([account, pod('talos-backup')], '{}\n')], '{}\n');
    expect(elsewhere.map((issue) => issue.value)).toEqual(['talos-backup/backup-talos']);
  });

  it('accepts the Secret cert-manager makes for a Certificate, with its certificate keys', () => {
    const certificateOf = (secretName: string): KubeObject => ({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'argocd-oidc-ca', namespace: 'argocd' },
      spec: { secretName, issuerRef: { name: 'private-ca', kind: 'ClusterIssuer' } },
    });
    const certificate = certificateOf('oidc-ca');
    const config = (key: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cm', namespace: 'argocd' },
      data: { 'oidc.config': `issuer: https://auth.example\nrootCA: $oidc-ca:${key}\n` },
    });
    expect(check([argocd([certificate, config('ca.crt')], '{}\n')], '{}\n')).toEqual([]);
    // By its `secretName`, not the Certificate's name; and no key cert-manager does not write.
    const wrongKey = check([argocd([certificate, config('ca.pem')], '{}\n')], '{}\n');
    expect(wrongKey.map((issue) => issue.value)).toEqual(['ca.pem']);
    const missing = check([argocd([certificateOf('other'), config('ca.crt')], '{}\n')], '{}\n');
    expect(missing.map((issue) => issue.value)).toEqual(['argocd/oidc-ca']);
  });

  it('reads `existingSecret` in chart values as a Secret of the Application namespace', () => {
    const values = 'argo-cd:\n  notifications:\n    existingSecret: notifications-token\n';
    const issues = check([argocd([], values)], values);
    expect(issues.map((issue) => issue.value)).toEqual(['argocd/notifications-token']);
  });

  it('finds `$<secret>:<key>` strings among the scalars of lists and maps, at their paths', () => {
    // Given references in a list of mixed scalars, a nested list and a sparse list
    const sparse: JsonValue[] = [];
    sparse[2] = '$sparse:key';
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job', namespace: 'argocd' },
      spec: {
        args: ['--token', 3, null, true, '$args:key', ['no $ here', '$nested:key']],
        sparse,
        count: 1,
        enabled: false,
        nothing: null,
      },
    };
    const issues = check([argocd([job], '{}\n')], '{}\n');
    expect(issues.map((issue) => [issue.value, issue.output])).toEqual([
      ['argocd/args', 'charts/argo-cd#job#spec.args[4]'],
      ['argocd/nested', 'charts/argo-cd#job#spec.args[5][1]'],
      ['argocd/sparse', 'charts/argo-cd#job#spec.sparse[2]'],
    ]);
  });
});

/** An Application `dev-x` of chart `charts/x` passing `valueFiles`. */
const withValueFiles = (valueFiles: string[]): DeployedApplication =>
  app({
    name: 'x',
    wave: 1,
    application: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'dev-x' },
      spec: { source: { path: 'charts/x', helm: { valueFiles } } },
    },
  });

/** An Application of chart `charts/x` with an environment and a cluster value file. */
const layeredApp = withValueFiles(['env/a.yaml', 'clusters/dev.yaml']);

describe('deployedValues', () => {
  it('merges values.yaml with the Application value files in order, as Helm does', () => {
    const deployed = layeredApp;
    const values = deployedValues(
      {
        platform,
        clusters: [],
        files: [
          { path: 'charts/x/values.yaml', content: 'a: 1\nb: {c: 1, d: 1}\n' },
          { path: 'charts/x/env/a.yaml', content: 'b: {c: 2}\n' },
          { path: 'charts/x/clusters/dev.yaml', content: 'b: {d: null}\ne: 3\n' },
        ],
      },
      deployed,
    );
    expect(values).toEqual({ a: 1, b: { c: 2 }, e: 3 });
  });
});

describe('application-layers', () => {
  it("passes an Application with its cluster's environment layer, then its cluster layer", () => {
    const ok = withValueFiles(['env/development.yaml', 'clusters/dev.yaml']);
    expect(applicationLayers.check(input([ok]))).toEqual([]);
  });

  it('fails one without the environment layer, with the two swapped, or with another environment', () => {
    for (const valueFiles of [
      ['clusters/dev.yaml'],
      ['clusters/dev.yaml', 'env/development.yaml'],
      ['env/production.yaml', 'clusters/dev.yaml'],
    ]) {
      const issues = applicationLayers.check(input([withValueFiles(valueFiles)]));
      expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
        ['application-layers', 'Application dev-x', valueFiles],
      ]);
      expect(issues[0]?.expected).toBe(
        'helm.valueFiles: ["env/development.yaml","clusters/dev.yaml"]',
      );
    }
  });

  it('leaves Applications of other sources (CRD bundles) alone', () => {
    expect(applicationLayers.check(input([app({ name: 'crds', wave: 0 })]))).toEqual([]);
  });
});

describe('valuesSource', () => {
  const deployed = layeredApp;
  const input = {
    platform,
    clusters: [],
    files: [
      { path: 'charts/x/values.yaml', content: 'a: 1\nb: {c: 1, d: 1}\n' },
      { path: 'charts/x/env/a.yaml', content: 'b: {c: 2}\nrules: [x]\n' },
      { path: 'charts/x/clusters/dev.yaml', content: 'b: {d: null}\ne: 3\n' },
    ],
  };

  it('names the last layer that sets the value', () => {
    expect(valuesSource(input, deployed, ['rules'])).toBe('charts/x/env/a.yaml#rules');
    expect(valuesSource(input, deployed, ['b', 'c'])).toBe('charts/x/env/a.yaml#b.c');
    expect(valuesSource(input, deployed, ['b', 'd'])).toBe('charts/x/clusters/dev.yaml#b.d');
    expect(valuesSource(input, deployed, ['a'])).toBe('charts/x/values.yaml#a');
    expect(valuesSource(input, deployed, ['e'])).toBe('charts/x/clusters/dev.yaml#e');
  });

  it('is undefined for a value no file sets', () => {
    expect(valuesSource(input, deployed, ['nowhere'])).toBeUndefined();
    expect(valuesSource(input, deployed, ['a', 'deeper'])).toBeUndefined();
  });
});

describe('client-side-apply-size', () => {
  const big: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dashboards', namespace: 'monitoring' },
    data: { 'all.json': 'x'.repeat(200_000) },
  } as KubeObject;
  const source = 'charts/monitoring/clusters/dev.yaml#manifests.configmap-dashboards';

  it('refuses an object whose last-applied copy takes its annotations over 262144 bytes', () => {
    // Given a 200 kB ConfigMap with a 100 kB annotation of its own: stored twice, over the limit
    const annotated = {
      ...big,
      metadata: { ...big.metadata, annotations: { note: 'y'.repeat(100_000) } },
    } as KubeObject;
    const issues = clientSideApplySize.check(
      input([app({ name: 'monitoring', wave: 3, objects: [{ object: annotated, source }] })]),
    );
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['client-side-apply-size', source, 'ConfigMap/dashboards'],
    ]);
    expect(issues[0]?.message).toMatch(
      /^monitoring applies ConfigMap\/dashboards client-side on cluster "dev": .* come to 4\d{5} bytes, over the 262144/,
    );
    expect(issues[0]?.expected).toContain('ServerSideApply=true for monitoring');
  });

  it('passes the same object when it fits, or when the Application applies server-side', () => {
    expect(
      clientSideApplySize.check(
        input([app({ name: 'monitoring', wave: 3, objects: [{ object: big, source }] })]),
      ),
    ).toEqual([]);
    const huge = { ...big, data: { 'all.json': 'x'.repeat(300_000) } } as KubeObject;
    const serverSide = app({
      name: 'monitoring',
      wave: 3,
      application: application('monitoring', {}, ['ServerSideApply=true']),
      objects: [{ object: huge, source }],
    });
    expect(clientSideApplySize.check(input([serverSide]))).toEqual([]);
    const clientSide = { ...serverSide, application: application('monitoring') };
    expect(clientSideApplySize.check(input([clientSide])).map((issue) => issue.code)).toEqual([
      'client-side-apply-size',
    ]);
  });
});

describe('hand-over-field-manager', () => {
  const runbook = (commands: string[]): SystemInput['files'][number] => ({
    path: 'clusters/dev/RUNBOOK.md',
    content: [
      '# Cluster `dev`: runbook',
      '',
      'Prose may name `kubectl apply --server-side -f -`; only the commands count.',
      '',
      '```sh',
      ...commands,
      '```',
      '',
    ].join('\n'),
  });
  const withRunbook = (commands: string[], applications = [app({ name: 'cilium', wave: 1 })]) => ({
    ...input(applications),
    files: [runbook(commands)],
  });
  const cilium = [
    'helm template cilium charts/cilium --namespace kube-system \\',
    '  -f charts/cilium/env/development.yaml -f charts/cilium/clusters/dev.yaml \\',
  ];

  it('refuses a hand install applied server-side as kubectl, which Argo CD could never take fields off', () => {
    // Given the runbook's Cilium install under kubectl's own server-side manager
    const issues = handOverFieldManager.check(
      withRunbook([...cilium, '  | kubectl apply --server-side -f -']),
    );
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'hand-over-field-manager',
        'clusters/dev/RUNBOOK.md:8',
        '| kubectl apply --server-side -f -',
      ],
    ]);
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0]');
    expect(issues[0]?.expected).toContain('--field-manager=argocd-controller');
    // Another manager than Argo CD's is no better
    expect(
      handOverFieldManager
        .check(withRunbook(['kubectl apply --server-side --field-manager=me -f crds.yaml']))
        .map((issue) => issue.output),
    ).toEqual(['clusters/dev/RUNBOOK.md:6']);
  });

  it('passes hand installs applied as argocd-controller, client-side applies, and clusters without Argo CD', () => {
    expect(handOverApply('-')).toBe(
      'kubectl apply --server-side --field-manager=argocd-controller -f -',
    );
    expect(
      handOverFieldManager.check(
        withRunbook([
          ...cilium,
          `  | ${handOverApply('-')}`,
          handOverApply('https://example.com/crds.yaml'),
          'kubectl apply --server-side --field-manager argocd-controller -f crds.yaml',
          'kubectl apply -f clusters/dev/namespaces.yaml',
        ]),
      ),
    ).toEqual([]);
    // Nothing adopts what a cluster without Applications installs by hand
    expect(
      handOverFieldManager.check(withRunbook(['kubectl apply --server-side -f crds.yaml'], [])),
    ).toEqual([]);
  });
});

describe('hand-made-secret-apply', () => {
  const documentWith = (path: string, commands: string[]): SystemInput['files'][number] => ({
    path,
    content: ['# A guide', '', '```sh', ...commands, '```', ''].join('\n'),
  });
  const withDocument = (path: string, commands: string[]) => ({
    ...input([app({ name: 'cilium', wave: 1 })]),
    files: [documentWith(path, commands)],
  });
  const token =
    'kubectl -n argocd create secret generic bw-auth-token --from-file=token=<(printf \'%s\' "$T") --dry-run=client -o yaml';

  it('refuses a hand-made Secret applied client-side, whose values the last-applied annotation copies', () => {
    // Given the token Secret piped into a client-side apply, on one line and continued
    const issues = handMadeSecretApply.check(
      withDocument('clusters/dev/rotating-secrets.md', [
        `${token} | kubectl apply -f -`,
        'kubectl -n cert-manager create secret generic aws \\',
        '  --from-file=key=<(printf x) \\',
        '  --dry-run=client -o yaml | kubectl apply -f -',
      ]),
    );
    // Then both are reported, at the line of their apply
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['hand-made-secret-apply', 'clusters/dev/rotating-secrets.md:4'],
      ['hand-made-secret-apply', 'clusters/dev/rotating-secrets.md:7'],
    ]);
    expect(issues[0]?.expected).toContain(SECRET_APPLY);
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0]');
  });

  it('passes a server-side apply of a Secret, and client-side applies of what is no Secret', () => {
    expect(SECRET_APPLY).toBe('kubectl apply --server-side --force-conflicts -f -');
    expect(
      handMadeSecretApply.check(
        withDocument('clusters/dev/RUNBOOK.md', [
          `${token} | ${SECRET_APPLY}`,
          `${token} | kubectl label --local -f - a=b -o yaml | ${SECRET_APPLY}`,
          'kubectl create namespace x --dry-run=client -o yaml | kubectl apply -f -',
          'git show main:root.yaml | kubectl apply -f -',
        ]),
      ),
    ).toEqual([]);
    // and hand-over-field-manager leaves a hand-made Secret under kubectl's manager alone
    // (Argo CD never adopts it), while still refusing a hand install under it
    expect(
      handOverFieldManager
        .check(withDocument('clusters/dev/RUNBOOK.md', [`${token} | ${SECRET_APPLY}`]))
        .map((issue) => issue.code),
    ).toEqual([]);
    expect(
      handOverFieldManager
        .check(
          withDocument('clusters/dev/RUNBOOK.md', ['kubectl apply --server-side -f crds.yaml']),
        )
        .map((issue) => issue.code),
    ).toEqual(['hand-over-field-manager']);
  });
});

/** Application `dev-policy` (wave 2), automated with prune and self-heal, with `syncOptions`. */
function policyApplication(syncOptions: string[]): DeployedApplication {
  return app({
    name: 'policy',
    wave: 2,
    application: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'dev-policy', namespace: 'argocd' },
      spec: {
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions,
          retry: applicationRetry(),
        },
      },
    },
  });
}

describe('manual-sync-options', () => {
  const policy = policyApplication(['ServerSideApply=true', 'RespectIgnoreDifferences=true']);
  const retry = applicationRetry();
  const doc = (commands: string[]): SystemInput['files'][number] => ({
    path: 'clusters/dev/rotating-secrets.md',
    content: ['# Rotating', '', '   ```sh', ...commands.map((c) => `   ${c}`), '   ```', ''].join(
      '\n',
    ),
  });
  const withDoc = (commands: string[]) => ({ ...input([policy]), files: [doc(commands)] });
  const patch = (name: string, json: string) =>
    `kubectl -n argocd patch application ${name} --type merge -p ${shellQuote(json)}`;

  it('refuses a sync by hand without the Application’s sync options or prune, and of an Application the cluster lacks', () => {
    // Given the bare sync the documents used to write: Argo CD would apply client-side
    const bare = '{"operation":{"initiatedBy":{"username":"runbook"},"sync":{}}}';
    const issues = manualSyncOptions.check(
      withDoc([
        patch('dev-policy', bare),
        'kubectl -n argocd wait --for=jsonpath={.status.sync.status}=Synced application dev-policy',
        patch(
          'dev-policy',
          syncOperationPatch('runbook', {
            syncOptions: ['ServerSideApply=true'],
            prune: true,
            retry,
          }),
        ),
        patch('dev-gone', syncOperationPatch('runbook', { syncOptions: [], prune: true, retry })),
      ]),
    );
    const retried = JSON.stringify({ retry });
    expect(issues.map((issue) => [issue.code, issue.output, issue.value, issue.expected])).toEqual([
      [
        'manual-sync-options',
        'clusters/dev/rotating-secrets.md:4',
        '{"prune":false,"syncOptions":[]}',
        '{"prune":true,"syncOptions":["ServerSideApply=true","RespectIgnoreDifferences=true"]}',
      ],
      // Nor its retry: Argo CD would give up at the first error
      ['manual-sync-options', 'clusters/dev/rotating-secrets.md:4', '{"retry":{}}', retried],
      [
        'manual-sync-options',
        'clusters/dev/rotating-secrets.md:6',
        '{"prune":true,"syncOptions":["ServerSideApply=true"]}',
        '{"prune":true,"syncOptions":["ServerSideApply=true","RespectIgnoreDifferences=true"]}',
      ],
      [
        'manual-sync-options',
        'clusters/dev/rotating-secrets.md:7',
        'dev-gone',
        'one of its Applications: dev-policy',
      ],
    ]);
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0]');
  });

  it('passes the sync the Application asks for, in any order, and patches that start no sync', () => {
    const own = applicationManualSync(policy.application);
    expect(own).toEqual({
      syncOptions: ['ServerSideApply=true', 'RespectIgnoreDifferences=true'],
      prune: true,
      retry: {
        limit: -1,
        refresh: true,
        backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
      },
    });
    expect(
      manualSyncOptions.check(
        withDoc([
          patch('dev-policy', syncOperationPatch('runbook', own)),
          patch(
            'dev-policy',
            syncOperationPatch(
              'disaster-recovery',
              {
                syncOptions: ['RespectIgnoreDifferences=true', 'ServerSideApply=true'],
                prune: true,
                retry,
              },
              [{ kind: 'PersistentVolumeClaim', name: 'data', namespace: 'gatekeeper-system' }],
            ),
          ),
          patch('dev-policy', '{"spec":{"syncPolicy":{"automated":null}}}'),
          patch('dev-gone', '{"spec":{"syncPolicy":{"automated":null}}}'),
        ]),
      ),
    ).toEqual([]);
    // An Application without automated policy syncs without prune
    expect(
      applicationManualSync({ ...policy.application, spec: { syncPolicy: { syncOptions: [] } } }),
    ).toEqual({ syncOptions: [], prune: false, retry: { limit: 5 } });
  });

  it('refuses a sync by hand whose retry is not its Application’s, and passes the same in another spelling', () => {
    // Given the sync the documents wrote before: the Application's options and prune, no retry
    const noRetry = JSON.stringify({
      operation: {
        initiatedBy: { username: 'runbook' },
        sync: {
          prune: true,
          syncOptions: ['ServerSideApply=true', 'RespectIgnoreDifferences=true'],
        },
      },
    });
    const limited = syncOperationPatch('runbook', {
      ...applicationManualSync(policy.application),
      retry: { ...retry, limit: 5 },
    });
    const issues = manualSyncOptions.check(
      withDoc([patch('dev-policy', noRetry), patch('dev-policy', limited)]),
    );
    expect(issues.map((issue) => [issue.output, issue.value, issue.expected])).toEqual([
      ['clusters/dev/rotating-secrets.md:4', '{"retry":{}}', JSON.stringify({ retry })],
      [
        'clusters/dev/rotating-secrets.md:5',
        JSON.stringify({ retry: { ...retry, limit: 5 } }),
        JSON.stringify({ retry }),
      ],
    ]);
    expect(issues[0]?.message).toContain('first error ends it');
    // Key order, an explicit zero and an empty backoff are what Argo CD decodes the same
    const spelled = JSON.stringify({
      operation: {
        retry: {
          backoff: { maxDuration: '5m', factor: 2, duration: '10s' },
          refresh: true,
          limit: -1,
        },
        sync: {
          syncOptions: ['RespectIgnoreDifferences=true', 'ServerSideApply=true'],
          prune: true,
        },
      },
    });
    expect(manualSyncOptions.check(withDoc([patch('dev-policy', spelled)]))).toEqual([]);
    expect(sameRetry({ limit: 0, backoff: {} }, undefined)).toBe(true);
    // An Application without retry: its automated sync retries five times (Argo CD's default)
    const bare = app({
      name: 'bare',
      wave: 2,
      application: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'dev-bare', namespace: 'argocd' },
        spec: { syncPolicy: { automated: { prune: true } } },
      },
    });
    const bareSync = (json: string) =>
      manualSyncOptions.check({ ...input([bare]), files: [doc([patch('dev-bare', json)])] });
    expect(
      bareSync(syncOperationPatch('runbook', applicationManualSync(bare.application))),
    ).toEqual([]);
    expect(
      bareSync(syncOperationPatch('runbook', { syncOptions: [], prune: true, retry: {} })).map(
        (issue) => issue.expected,
      ),
    ).toEqual(['{"retry":{"limit":5}}']);
  });

  it('writes the retry into the operation as a merge patch kubectl accepts', () => {
    const json = JSON.parse(
      syncOperationPatch('runbook', applicationManualSync(policy.application), [
        { kind: 'PersistentVolumeClaim', name: 'data' },
      ]),
    );
    expect(json).toEqual({
      operation: {
        initiatedBy: { username: 'runbook' },
        sync: {
          prune: true,
          syncOptions: ['ServerSideApply=true', 'RespectIgnoreDifferences=true'],
          resources: [{ kind: 'PersistentVolumeClaim', name: 'data' }],
        },
        retry: {
          limit: -1,
          refresh: true,
          backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
        },
      },
    });
  });
});

describe('auto-sync-pause', () => {
  const policy = policyApplication(['ServerSideApply=true']);
  const rootFile: SystemInput['files'][number] = {
    path: 'clusters/dev/root-application.yaml',
    content: [
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Application',
      'metadata:',
      '  name: dev-platform',
      '  namespace: argocd',
      'spec:',
      '  syncPolicy:',
      '    automated:',
      '      prune: true',
      '      selfHeal: true',
      '    retry:',
      '      limit: -1',
      '      refresh: true',
      '      backoff:',
      '        duration: 10s',
      '        factor: 2',
      '        maxDuration: 5m',
      '',
    ].join('\n'),
  };
  // One document, its blocks' commands from line 3 on (`# Restore`, a blank line, the fence).
  const withDoc = (...blocks: string[][]): SystemInput => ({
    ...input([policy]),
    files: [
      rootFile,
      {
        path: 'clusters/dev/disaster-recovery.md',
        content: ['# Restore', '', ...blocks.flatMap((b) => ['```sh', ...b, '```', ''])].join('\n'),
      },
    ],
  });
  const off = (name: string) =>
    `kubectl -n argocd patch application ${name} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`;
  const on = (name: string) =>
    `kubectl -n argocd patch application ${name} --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}'`;
  const found = (doc: SystemInput) =>
    autoSyncPause.check(doc).map((issue) => [issue.output, issue.value, issue.message]);
  const sync = (name: string) =>
    `kubectl -n argocd patch application ${name} --type merge -p ${shellQuote(syncOperationPatch('runbook', name === 'dev-platform' ? rootManualSync(true) : applicationManualSync(policy.application)))}`;

  it('refuses a pause that leaves the running syncs on, and a hand-back without a sync', () => {
    // Given the disaster recovery's blocks as they were: the policy taken away, then put back
    const issues = found(
      withDoc(
        [off('dev-platform'), off('dev-policy'), 'restore'],
        [on('dev-policy'), on('dev-platform')],
      ),
    );
    expect(issues.map(([output, value]) => [output, value])).toEqual([
      ['clusters/dev/disaster-recovery.md:4', 'dev-platform'],
      ['clusters/dev/disaster-recovery.md:5', 'dev-policy'],
      // and the child's before the root's sync has ended
      ['clusters/dev/disaster-recovery.md:5', 'dev-policy'],
      ['clusters/dev/disaster-recovery.md:10', 'dev-policy'],
      ['clusters/dev/disaster-recovery.md:11', 'dev-platform'],
    ]);
    expect(issues[0]?.[2]).toContain('without ending the sync it may be running');
    expect(issues[2]?.[2]).toContain(
      'before the sync of its root Application "dev-platform" has ended',
    );
    expect(issues[3]?.[2]).toContain(
      'never auto-syncs again a revision whose last sync failed or was ended',
    );
    const [first] = autoSyncPause.check(withDoc([off('dev-platform')]));
    expect(first?.expected).toBe(pauseAutoSyncCommands('argocd', 'dev-platform').join('\n'));
    expect(formatPath(first?.path ?? [])).toBe('clusters[0]');
  });

  it('passes the pause and the hand-back core writes, the root first', () => {
    const pause = [
      ...pauseAutoSyncCommands('argocd', 'dev-platform'),
      ...pauseAutoSyncCommands('argocd', 'dev-policy'),
    ];
    const back = [
      ...resumeAutoSyncCommands(
        'argocd',
        'dev-policy',
        { prune: true, selfHeal: true },
        'runbook',
        applicationManualSync(policy.application),
      ),
      ...resumeAutoSyncCommands(
        'argocd',
        'dev-platform',
        { prune: true, selfHeal: true },
        'runbook',
        rootManualSync(true),
      ),
    ];
    expect(found(withDoc(pause, ['restore'], back))).toEqual([]);
    // the syncs by hand carry the root's own options (manual-sync-options knows the root)
    expect(manualSyncOptions.check(withDoc(pause, back))).toEqual([]);
    // and the root's policy put back by applying its file, then a sync by hand of it
    expect(
      found(
        withDoc(pause, [
          sync('dev-policy'),
          on('dev-policy'),
          'kubectl apply -f clusters/dev/root-application.yaml',
          sync('dev-platform'),
        ]),
      ),
    ).toEqual([]);
  });

  it('refuses the child taken first, an unguarded end, an end after another step, and the root file applied without a sync', () => {
    const [, guarded, wait] = pauseAutoSyncCommands('argocd', 'dev-policy');
    const unguarded = `kubectl -n argocd patch application dev-policy --type json -p '[{"op":"replace","path":"/status/operationState/phase","value":"Terminating"}]'`;
    const root = pauseAutoSyncCommands('argocd', 'dev-platform');
    expect(
      found(withDoc([...pauseAutoSyncCommands('argocd', 'dev-policy'), ...root])).map(([o, v]) => [
        o,
        v,
      ]),
    ).toEqual([['clusters/dev/disaster-recovery.md:4', 'dev-policy']]);
    expect(
      found(withDoc([...root, off('dev-policy'), unguarded, wait as string])).map(([o, v]) => [
        o,
        v,
      ]),
    ).toEqual([['clusters/dev/disaster-recovery.md:7', 'dev-policy']]);
    expect(
      found(
        withDoc([
          ...root,
          off('dev-policy'),
          'kubectl scale deployment x --replicas=0',
          guarded as string,
          wait as string,
        ]),
      ).map(([o, v]) => [o, v]),
    ).toEqual([['clusters/dev/disaster-recovery.md:7', 'dev-policy']]);
    expect(
      found(withDoc(root, ['kubectl apply -f clusters/dev/root-application.yaml'])).map(
        ([o, v]) => [o, v],
      ),
    ).toEqual([['clusters/dev/disaster-recovery.md:10', 'dev-platform']]);
  });

  it('refuses a sync by hand of the root with other options than its own', () => {
    const issues = manualSyncOptions.check(
      withDoc([
        `kubectl -n argocd patch application dev-platform --type merge -p ${shellQuote(syncOperationPatch('runbook', { syncOptions: ['ServerSideApply=true'], prune: false, retry: applicationRetry() }))}`,
      ]),
    );
    expect(issues.map((issue) => [issue.output, issue.value, issue.expected])).toEqual([
      [
        'clusters/dev/disaster-recovery.md:4',
        '{"prune":false,"syncOptions":["ServerSideApply=true"]}',
        '{"prune":true,"syncOptions":[]}',
      ],
    ]);
  });
});

describe('namespaces-before-use', () => {
  const policy = (namespace: string): KubeObject => ({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'p', namespace },
  });
  const cni = (namespaces: string[]) =>
    app({
      name: 'cilium',
      wave: 1,
      namespace: 'kube-system',
      objects: namespaces.map((namespace) => ({
        object: policy(namespace),
        source: `charts/cilium/clusters/dev.yaml#manifests.p-${namespace}`,
      })),
    });
  const withRoot = (applications: DeployedApplication[], namespaces: string[]): SystemInput => {
    const base = input(applications);
    return { ...base, clusters: base.clusters.map((entry) => ({ ...entry, namespaces })) };
  };

  it("accepts objects in system namespaces, in the root Application's, and in its own created destination", () => {
    const own = app({
      name: 'web',
      wave: 3,
      application: application('web', {}, ['CreateNamespace=true']),
      objects: [{ object: policy('web'), source: 'x' }],
    });
    expect(
      namespacesBeforeUse.check(
        withRoot([cni(['kube-system', 'monitoring']), own], ['monitoring']),
      ),
    ).toEqual([]);
  });

  it('refuses an earlier wave applying into a namespace a later Application creates (Cilium before its consumers, broken)', () => {
    const later = app({
      name: 'monitoring',
      wave: 7,
      application: application('monitoring', {}, ['CreateNamespace=true']),
    });
    const issues = namespacesBeforeUse.check(withRoot([cni(['monitoring']), later], []));
    expect(issues.map((issue) => [issue.code, issue.value, issue.output])).toEqual([
      [
        'namespaces-before-use',
        'CiliumNetworkPolicy monitoring/p',
        'charts/cilium/clusters/dev.yaml#manifests.p-monitoring',
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'cilium (wave 1) applies a CiliumNetworkPolicy into namespace "monitoring" on cluster "dev", which nothing creates before it: the sync fails with namespaces "monitoring" not found',
    );
  });

  it('names the later Application whose Namespace object comes too late, and accepts an earlier one', () => {
    const namespace = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
    const creator = (wave: number) =>
      app({ name: 'backups', wave, objects: [{ object: namespace('talos-backup'), source: 'y' }] });
    const late = namespacesBeforeUse.check(withRoot([cni(['talos-backup']), creator(8)], []));
    expect(late.map((issue) => issue.message)).toEqual([
      'cilium (wave 1) applies a CiliumNetworkPolicy into namespace "talos-backup" on cluster "dev", which backups creates only in wave 8: the sync fails with namespaces "talos-backup" not found, and the later waves never come',
    ]);
    expect(namespacesBeforeUse.check(withRoot([creator(0), cni(['talos-backup'])], []))).toEqual(
      [],
    );
  });
});

describe('storage-before-claims', () => {
  const storageClass = (name: string, isDefault = false): KubeObject => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      annotations: { 'storageclass.kubernetes.io/is-default-class': String(isDefault) },
    },
  });
  const spire = (storageClassName?: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'spire-server', namespace: 'cilium-spire' },
    spec: {
      volumeClaimTemplates: [
        {
          metadata: { name: 'spire-data' },
          spec: storageClassName === undefined ? {} : { storageClassName },
        },
      ],
    },
  });
  const storage = (wave: number) =>
    app({
      name: 'longhorn',
      wave,
      objects: [
        { object: storageClass('standard', true), source: 's' },
        { object: storageClass('fast'), source: 's' },
      ],
    });
  const cni = (object: KubeObject) =>
    app({ name: 'cilium', wave: 1, objects: [{ object, source: 'charts/cilium#spire' }] });

  it('reads the claims of PersistentVolumeClaims, StatefulSets and the Prometheus Operator', () => {
    expect(volumeClaimsOf(spire('fast'))).toEqual([
      { name: 'spire-server/spire-data', class: 'fast' },
    ]);
    expect(
      volumeClaimsOf({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'Prometheus',
        metadata: { name: 'k8s' },
        spec: { storage: { volumeClaimTemplate: { spec: {} } } },
      }),
    ).toEqual([{ name: 'k8s' }]);
    expect(
      volumeClaimsOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }),
    ).toEqual([]);
  });

  it('accepts a claim of a class an earlier wave deploys, by name or as the default', () => {
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'paperless' },
      spec: {},
    };
    const issues = storageBeforeClaims.check(
      input([
        storage(5),
        app({ name: 'applications', wave: 9, objects: [{ object: claim, source: 'a' }] }),
        app({ name: 'db', wave: 6, objects: [{ object: spire('fast'), source: 'b' }] }),
      ]),
    );
    expect(issues).toEqual([]);
  });

  it('refuses a claim of the CNI on the storage provider that needs the CNI (SPIRE on Longhorn, broken)', () => {
    const issues = storageBeforeClaims.check(input([cni(spire('standard')), storage(5)]));
    expect(issues.map((issue) => [issue.code, issue.value, issue.output])).toEqual([
      ['storage-before-claims', 'StatefulSet spire-server/spire-data', 'charts/cilium#spire'],
    ]);
    expect(issues[0]?.message).toBe(
      'cilium (wave 1) claims a volume of StorageClass "standard" on cluster "dev", which longhorn deploys only in wave 5: the claim stays Pending, cilium never becomes healthy and the later waves never come',
    );
    // The default class, claimed without a name, is the same class.
    expect(storageBeforeClaims.check(input([cni(spire()), storage(5)]))).toHaveLength(1);
  });

  it('refuses a class nothing deploys, and a claim without a class when there is no default', () => {
    const none = storageBeforeClaims.check(input([cni(spire('local-path'))]));
    expect(none.map((issue) => issue.message)).toEqual([
      'cilium claims a volume of StorageClass "local-path" on cluster "dev", which no Application deploys: the claim stays Pending',
    ]);
    const noDefault = storageBeforeClaims.check(input([cni(spire())]));
    expect(noDefault[0]?.message).toContain('without a storage class, and no StorageClass');
    // `storageClassName: ""` binds a volume made by hand: nothing to wait for.
    expect(storageBeforeClaims.check(input([cni(spire(''))]))).toEqual([]);
  });
});

describe('sedDocuments (root-revision-move reads the sed output without parsing)', () => {
  const repoURL = 'https://git.example.com/homelab.git';
  const project = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: { name: 'platform-bootstrap', namespace: 'argocd' },
    spec: { sourceRepos: [repoURL], destinations: [{ namespace: '*', server: '*' }] },
  };
  const application = (targetRevision: unknown, name = 'root') => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd' },
    spec: {
      project: 'platform-bootstrap',
      destination: { namespace: 'argocd', server: 'https://kubernetes.default.svc' },
      source: {
        repoURL,
        path: 'charts/platform',
        targetRevision,
        helm: {
          valueFiles: ['clusters/dev.yaml'],
          parameters: [
            {
              name: 'manifests.application-a.spec.source.targetRevision',
              value: '$ARGOCD_APP_SOURCE_TARGET_REVISION',
              forceString: true,
            },
          ],
        },
      },
    },
  });
  const rootFile = (documents: unknown[], header = true) =>
    yamlDocumentsFile(
      'clusters/dev/root-application.yaml',
      documents,
      header ? { header: generatedHeader('x') } : {},
    );
  /** The text with every `    targetRevision:` line put as `line`, as the runbook's sed does. */
  const sed = (text: string, line: string) =>
    text
      .split('\n')
      .map((old) => (old.startsWith('    targetRevision: ') ? line : old))
      .join('\n');
  /**
   * Whether the documents were known without parsing; when they were, they are what parsing
   * reads (keys in the same order).
   */
  const known = (
    text: string,
    documents: readonly unknown[],
    revision: string,
    line = `    targetRevision: ${JSON.stringify(revision)}`,
  ): boolean => {
    const sedText = sed(text, line);
    const sentinelText = sed(text, SENTINEL_LINE);
    const read = sedDocuments(documents, revision, sedText, sentinelText);
    if (read === undefined) return false;
    expect(JSON.stringify(read.after)).toBe(JSON.stringify(parseAllDocuments(sedText)));
    expect(JSON.stringify(read.moved)).toBe(JSON.stringify(parseAllDocuments(sentinelText)));
    return true;
  };

  it('reads what parsing reads, for revisions the emitter writes plain or quoted', () => {
    for (const revision of [
      'main',
      'v1.2.3',
      'release/2026.1',
      'true',
      'no',
      '1.10',
      '0x10',
      'null',
      '~',
      '',
      ' padded ',
      'a"b\\c',
      "it's",
      '#x',
      'x # y',
      'x: y',
      '- x',
      '|',
      '>-',
      '*a',
      '&a b',
      '!!int 1',
      '{a: 1}',
      '[a]',
      '%x',
      '@x',
      '`x`',
    ]) {
      const file = rootFile([project, application(revision)]);
      expect(known(file.content, fileDocuments(file), revision), revision).toBe(true);
    }
  });

  it('reads a root whose revision is no string, and one without header', () => {
    const numeric = rootFile([project, application(5)]);
    expect(known(numeric.content, fileDocuments(numeric), '5')).toBe(true);
    const bare = rootFile([project, application('main')], false);
    expect(bare.content.startsWith('---\n')).toBe(true);
    expect(known(bare.content, fileDocuments(bare), 'main')).toBe(true);
  });

  it('leaves to parsing what it cannot show', () => {
    const file = rootFile([project, application('main')]);
    const documents = fileDocuments(file);
    // Not the revision's JSON string, or another revision
    expect(known(file.content, documents, 'main', "    targetRevision: 'main'")).toBe(false);
    expect(known(file.content, documents, 'main', '    targetRevision: main')).toBe(false);
    expect(known(file.content, documents, 'main', '    targetRevision: "HEAD"')).toBe(false);
    expect(known(file.content, documents, 'main', '    targetRevision: "main" # x')).toBe(false);
    // A revision outside printable ASCII, or the sentinel itself (no line tells them apart)
    const accented = rootFile([project, application('é')]);
    expect(known(accented.content, fileDocuments(accented), 'é')).toBe(false);
    const sentinel = rootFile([project, application('sentinel')]);
    expect(known(sentinel.content, fileDocuments(sentinel), 'sentinel')).toBe(false);
    // Something before the documents that is not a comment line
    expect(known(`a: 1\n${file.content}`, documents, 'main')).toBe(false);
    expect(known(`# x\r${file.content}`, documents, 'main')).toBe(false);
    // The sed changes a second Application too; no Application; one without a source
    const two = rootFile([project, application('main'), application('main', 'other')]);
    expect(known(two.content, fileDocuments(two), 'main')).toBe(false);
    expect(known(file.content, [project], 'main')).toBe(false);
    const sourceless = { ...application('main'), spec: { project: 'platform-bootstrap' } };
    expect(known(file.content, [project, sourceless], 'main')).toBe(false);
    // Documents that are not the file's: the sed's text is not their emission
    const renamed = { ...application('main'), metadata: { name: 'other', namespace: 'argocd' } };
    expect(known(file.content, [project, renamed], 'main')).toBe(false);
    // Their revision does not matter: the sed's line is in its place either way
    expect(known(file.content, [project, application('v2')], 'main')).toBe(true);
  });
});

describe('terminal-read-alone, bounded-waits and shell-comments', () => {
  const withDocument = (path: string, ...blocks: string[][]) => ({
    ...input([app({ name: 'cilium', wave: 1 })]),
    files: [
      {
        path,
        content: [
          '# A runbook',
          '',
          ...blocks.flatMap((lines) => ['```sh', ...lines, '```', '']),
        ].join('\n'),
      },
    ],
  });

  it('refuses a read followed by a command in its block, naming the file, line and fix', () => {
    // Given a block that reads a token and then uses it
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['kubectl get nodes'],
        [
          'read -rs BWS_ACCESS_TOKEN && export BWS_ACCESS_TOKEN',
          'kubectl -n x create secret generic t --from-literal=t="$BWS_ACCESS_TOKEN"',
        ],
      ),
    );
    // Then the read is reported at its line, in block 2
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'terminal-read-alone',
        'clusters/dev/RUNBOOK.md:8',
        'read -rs BWS_ACCESS_TOKEN && export BWS_ACCESS_TOKEN',
      ],
    ]);
    expect(issues[0]?.message).toContain('shell block 2 of clusters/dev/RUNBOOK.md');
    expect(issues[0]?.expected).toContain('alone at the end of its own block');
    expect(formatPath(issues[0]?.path ?? [])).toBe('clusters[0]');
  });

  it('refuses a command that takes the terminal over with lines after it, and passes a piped one', () => {
    // Given a shell opened in a pod, then a command; an edit alone at the end; a piped exec -i
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['kubectl -n authelia exec -it deployment/authelia -- sh', 'kubectl get pods'],
        ['kubectl get nodes', 'kubectl -n argocd edit configmap argocd-cm'],
        [
          "kubectl get secret k -o jsonpath='{.data.k}' | base64 -d | kubectl -n a exec -i deploy/a -- sh -c 'cat > /tmp/k'",
          'kubectl get pods',
        ],
      ),
    );
    // Then only the shell is reported, at its line, with what goes wrong
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'terminal-read-alone',
        'clusters/dev/RUNBOOK.md:4',
        'kubectl -n authelia exec -it deployment/authelia -- sh',
      ],
    ]);
    expect(issues[0]?.message).toContain('runs `kubectl exec -i`, which takes the terminal over');
    expect(issues[0]?.message).toContain("the container's shell");
    expect(issues[0]?.expected).toContain('alone at the end of its own block');
  });

  it('refuses a git commit that opens the editor with commands after it, and passes it last or with -m', () => {
    // Given a commit with a line after it; a commit last, the push chained on its own line (the
    // shell read that line before the editor opened); a commit with its message, a line after it
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['pnpm build', 'git add charts clusters && git commit', 'git status'],
        ['pnpm build', 'git add charts clusters && git commit && git push'],
        ['git commit -m "platform: dev" && git status', 'kubectl apply -f root.yaml'],
      ),
    );
    // Then the first is reported, at its line, naming the editor
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['terminal-read-alone', 'clusters/dev/RUNBOOK.md:5', 'git add charts clusters && git commit'],
    ]);
    expect(issues[0]?.message).toContain('runs `git commit`, which takes the terminal over');
    expect(issues[0]?.message).toContain('the editor git opens for the commit message');
    expect(issues[0]?.expected).toContain('git commit -m');
  });

  it('refuses talosctl health while the block keeps a node cordoned, and passes it once uncordoned or deleted', () => {
    // Given the rolling reboot as it was (health before the uncordon) and as it is now
    const issues = healthWhileCordonedCheck.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        [
          'kubectl drain prod-cp-1 --ignore-daemonsets --timeout=5m &&',
          'talosctl reboot -n 10.0.0.11 &&',
          'talosctl health -n 10.0.0.11 &&',
          'kubectl uncordon prod-cp-1',
        ],
        [
          'kubectl drain prod-cp-1 --ignore-daemonsets --timeout=5m &&',
          'talosctl reboot -n 10.0.0.11 &&',
          'kubectl uncordon prod-cp-1 &&',
          'talosctl health -n 10.0.0.11',
        ],
        // a cordon, then the node deleted (retired), then the health check; and one line
        [
          'kubectl cordon w-1',
          'talosctl reset -n 10.0.0.21',
          'kubectl delete node w-1',
          'talosctl health -n 10.0.0.11',
        ],
        ['kubectl cordon w-2 && talosctl health -n 10.0.0.11 && kubectl uncordon w-2'],
      ),
    );
    // Then the old order at its health line, naming the node; the one-line list too
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['health-while-cordoned', 'clusters/dev/RUNBOOK.md:6'],
      ['health-while-cordoned', 'clusters/dev/RUNBOOK.md:25'],
    ]);
    expect(issues[0]?.message).toContain('while node "prod-cp-1" is cordoned');
    expect(issues[1]?.message).toContain('while node "w-2" is cordoned');
    expect(healthWhileCordoned([{ line: 1, text: 'talosctl health -n 10.0.0.11' }])).toEqual([]);
  });

  it('refuses a guard that ends a line unchained with lines after it, and passes a chained one', () => {
    // Given the drain-gave-up block as it was (the guard alone, then commands using NODE) and as
    // it is now (chained by a trailing &&)
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansions
    const issues = guardsChained.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        [
          ': "${NODE:?set it to the hostname}"',
          'kubectl get pods -A --field-selector spec.nodeName="$NODE"',
        ],
        [
          ': "${NODE:?set it to the hostname}" &&',
          'kubectl get pods -A --field-selector spec.nodeName="$NODE"',
        ],
      ),
    );
    // Then the first is reported at its line, saying the next lines run anyway
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['guards-chained', 'clusters/dev/RUNBOOK.md:4', ': "${NODE:?set it to the hostname}"'],
    ]);
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell parameter expansions
    expect(issues[0]?.message).toContain('the next lines run anyway');
    expect(issues[0]?.expected).toContain('followed by `&&`');
  });

  it('refuses a kubeconfig fetch that may ask with commands after it, and passes it with --force', () => {
    // Given the kubeconfig step without --force (a second run asks rename or overwrite on stdin)
    // and with it
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 10.10.10.11', 'export KUBECONFIG=x'],
        [
          'talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 10.10.10.11 --force',
          'export KUBECONFIG=x',
        ],
      ),
    );
    // Then the first is reported at its line, naming the question and --force
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['terminal-read-alone', 'clusters/dev/RUNBOOK.md:4'],
    ]);
    expect(issues[0]?.message).toContain(
      'runs `talosctl kubeconfig`, which takes the terminal over',
    );
    expect(issues[0]?.message).toContain('rename or overwrite');
    expect(issues[0]?.expected).toContain('talosctl kubeconfig --force');
  });

  it('refuses a command that streams until Ctrl-C with commands after it, and passes it last', () => {
    // Given a followed log with a check after it, and a port-forward that ends its block
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['kubectl -n authelia logs -f deployment/authelia', 'kubectl -n authelia get pods'],
        [
          'kubectl -n authelia get pods',
          'kubectl -n argocd port-forward svc/argocd-server 8080:443',
        ],
      ),
    );
    // Then the followed log is reported, saying the lines after it never run
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['terminal-read-alone', 'clusters/dev/RUNBOOK.md:4'],
    ]);
    expect(issues[0]?.message).toContain(
      'runs `kubectl logs -f`, which holds the terminal until interrupted',
    );
    expect(issues[0]?.message).toContain('they never run');
    expect(issues[0]?.expected).toContain('`kubectl logs` without -f');
  });

  it('refuses a git push or fetch with commands after it, and passes one that ends its block', () => {
    // Given the revision move as it was (a push, then a fetch, then the root's apply), and as it is
    // now (everything that must follow the push chained on its line, the rest in the next block)
    const issues = terminalReadAlone.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        ['git push', 'git fetch origin --tags', 'kubectl apply -f root.yaml'],
        [
          'pnpm build && git add charts clusters &&',
          'git commit &&',
          'git push &&',
          'git fetch origin --tags',
        ],
        ['kubectl apply -f root.yaml'],
      ),
    );
    // Then the push is reported, at its line, naming the credential prompts and the fix
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['terminal-read-alone', 'clusters/dev/RUNBOOK.md:4', 'git push'],
    ]);
    expect(issues[0]?.message).toContain('runs `git push`, which may read the terminal');
    expect(issues[0]?.message).toContain('an unknown SSH host key');
    expect(issues[0]?.expected).toContain('`git push` at the end of its block');
  });

  it('refuses the admin login that prompts for its password with commands after it', () => {
    // Given the login section as it was: the password prompt took the next pasted line
    const issues = terminalReadAlone.check(
      withDocument('clusters/dev/RUNBOOK.md', [
        'argocd admin initial-password -n argocd',
        'argocd login argocd.dev.lab.example.com --grpc-web --username admin',
        'argocd account update-password',
        'kubectl -n argocd delete secret argocd-initial-admin-secret --timeout=1m',
      ]),
    );
    // Then the login is reported at its line, saying the next line becomes the password
    expect(issues.map((issue) => [issue.output, issue.value])).toEqual([
      [
        'clusters/dev/RUNBOOK.md:5',
        'argocd login argocd.dev.lab.example.com --grpc-web --username admin',
      ],
    ]);
    expect(issues[0]?.message).toContain('runs `argocd login`');
    expect(issues[0]?.message).toContain('the next line is taken for the password');
    expect(issues[0]?.expected).toContain('--password');
  });

  it('passes a read alone in its block, the commands in the next', () => {
    expect(
      terminalReadAlone.check(
        withDocument(
          'clusters/dev/disaster-recovery.md',
          [readCommand({ variable: 'AWS_ACCESS_KEY_ID', prompt: 'S3 access key id' })],
          ['aws s3 ls', 'kubectl get pods | while read -r pod; do echo "$pod"; done'],
        ),
      ),
    ).toEqual([]);
  });

  it('refuses a wait loop without a deadline, and passes a boundedWait', () => {
    // Given an unbounded until loop and a bounded one
    const issues = boundedWaits.check(
      withDocument(
        'clusters/dev/rotating-secrets.md',
        [
          'kubectl scale deployment x --replicas=0',
          'until [ -z "$(kubectl get pods -o name)" ]; do sleep 5; done',
        ],
        [
          boundedWait({
            condition: 'kubectl get nodes',
            seconds: WAIT_SECONDS.apiServer,
            interval: 10,
            message: 'the API server does not answer',
          }),
        ],
      ),
    );
    // Then only the unbounded one is reported, at its line
    expect(issues.map((issue) => [issue.code, issue.output])).toEqual([
      ['bounded-waits', 'clusters/dev/rotating-secrets.md:5'],
    ]);
    expect(issues[0]?.value).toBe('until [ -z "$(kubectl get pods -o name)" ]; do sleep 5; done');
    expect(issues[0]?.expected).toContain('boundedWait');
  });

  it('refuses a rollout status or drain without a --timeout, a curl without a --max-time, and passes those with one', () => {
    // Given a drain, a rollout status and a curl without a bound, and each with one
    const issues = boundedWaits.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        [
          'kubectl cordon dev-w-1 && kubectl drain dev-w-1 --ignore-daemonsets --timeout=5m',
          'kubectl -n argocd rollout status deployment/argocd-server --timeout=10m',
        ],
        [
          'kubectl drain dev-w-1 --ignore-daemonsets --delete-emptydir-data &&',
          '  talosctl -n 10.0.0.21 reboot',
          'kubectl -n argocd rollout status deployment/argocd-server',
          'curl -sI http://gateway-check.dev.example.com/ | head -n 1',
          'curl -sI --max-time 30 http://gateway-check.dev.example.com/ | head -n 1',
        ],
      ),
    );
    // Then the three unbounded ones are reported at their lines, with the fix
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'bounded-waits',
        'clusters/dev/RUNBOOK.md:9',
        'kubectl drain dev-w-1 --ignore-daemonsets --delete-emptydir-data',
      ],
      [
        'bounded-waits',
        'clusters/dev/RUNBOOK.md:11',
        'kubectl -n argocd rollout status deployment/argocd-server',
      ],
      [
        'bounded-waits',
        'clusters/dev/RUNBOOK.md:12',
        'curl -sI http://gateway-check.dev.example.com/',
      ],
    ]);
    expect(issues[0]?.message).toContain('shell block 2 of clusters/dev/RUNBOOK.md');
    expect(issues[0]?.message).toContain('zero means infinite');
    expect(issues[1]?.message).toContain('zero means never');
    expect(issues[0]?.expected).toContain('--timeout=5m');
    expect(issues[2]?.message).toContain('never answers');
    expect(issues[2]?.expected).toContain('--max-time 30');
  });

  it('refuses a kubectl delete that waits without a --timeout, and passes one with a bound or --wait=false', () => {
    // Given an Application delete and a pod delete without a bound, and deletes that are bounded
    const issues = boundedWaits.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        [
          'kubectl -n argocd delete application dev-longhorn --ignore-not-found --timeout=15m',
          'kubectl -n x delete pvc data --wait=false',
        ],
        [
          'kubectl -n argocd delete application dev-longhorn --ignore-not-found',
          'kubectl get pods -o name | while read -r pod; do kubectl delete "$pod"; done',
          'kubectl delete node dev-w-1 --timeout=2m',
          'kubectl delete -f removed.yaml --dry-run=client',
        ],
      ),
    );
    // Then the two unbounded deletes are reported at their lines, with the fix
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'bounded-waits',
        'clusters/dev/RUNBOOK.md:9',
        'kubectl -n argocd delete application dev-longhorn --ignore-not-found',
      ],
      ['bounded-waits', 'clusters/dev/RUNBOOK.md:10', 'kubectl delete "$pod"'],
    ]);
    expect(issues[0]?.message).toContain('for up to a week');
    expect(issues[0]?.expected).toContain('--wait=false');
  });

  it('refuses a word zsh expands, at its line, and passes quoted and pattern words', () => {
    // Given an unquoted jsonpath, a URL with ?, `==` and `~name`, and words that are none
    const issues = zshExpansions.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        [
          "kubectl get pods -o jsonpath='{.items[*].metadata.name}' | grep -c '?'",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions
          'CLAIM=a/b && [[ "$CLAIM" == */* ]] && echo "${CLAIM%%/*}" $((2 * 3)) "$@" $?',
        ],
        [
          'kubectl get pods -o jsonpath={.items[*].metadata.name}',
          'curl -s https://auth.example.com/?rd=x && [ "$A" == b ] && ls ~admin',
        ],
      ),
    );
    // Then the four words are reported at their lines, in block 2, with the fix
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['zsh-expansions', 'clusters/dev/RUNBOOK.md:9', 'jsonpath={.items[*].metadata.name}'],
      ['zsh-expansions', 'clusters/dev/RUNBOOK.md:10', 'https://auth.example.com/?rd=x'],
      ['zsh-expansions', 'clusters/dev/RUNBOOK.md:10', '=='],
      ['zsh-expansions', 'clusters/dev/RUNBOOK.md:10', '~admin'],
    ]);
    expect(issues[0]?.message).toContain('shell block 2 of clusters/dev/RUNBOOK.md');
    expect(issues[0]?.message).toContain('no matches found');
    expect(issues[2]?.message).toContain('= not found');
    expect(issues[3]?.message).toContain('named directory');
    expect(issues[0]?.expected).toContain('quoted');
  });

  it('refuses a # comment in a block, at its line, and passes # in quotes and words', () => {
    // Given a comment after a command, a comment line, and # that is no comment
    const issues = shellComments.check(
      withDocument(
        'clusters/dev/RUNBOOK.md',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        ["sed -e 's#^s3://#s3:https://#' file", 'echo "${#NODE}" "# quoted"'],
        ['curl -sI http://x/ | head -n 1   # 301 to https', '# a note'],
      ),
    );
    // Then both comments are reported at their lines, in block 2, with the fix
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      [
        'shell-comments',
        'clusters/dev/RUNBOOK.md:9',
        'curl -sI http://x/ | head -n 1   # 301 to https',
      ],
      ['shell-comments', 'clusters/dev/RUNBOOK.md:10', '# a note'],
    ]);
    expect(issues[0]?.message).toContain('shell block 2 of clusters/dev/RUNBOOK.md');
    expect(issues[0]?.message).toContain('zsh');
    expect(issues[0]?.expected).toContain("a step's body or after");
  });

  it('reads a block that recurs once, and reports each place at its own lines', () => {
    // Given one block with a fault of each shell check, in two documents at different lines
    // (the checks read a recurring block's text once per build)
    const block = [
      'read -rs TOKEN',
      'echo ok # note',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell guard
      ': "${NODE:?set NODE}"',
      'kubectl rollout status deploy/x',
      'until kubectl get ns x; do sleep 5; done',
      'kubectl get pods -o jsonpath={.items[*].metadata.name}',
    ];
    const document = (path: string, before: number) => ({
      path,
      content: ['# A runbook', ...Array(before).fill(''), '```sh', ...block, '```', ''].join('\n'),
    });
    const twice = {
      ...input([app({ name: 'cilium', wave: 1 })]),
      files: [
        document('clusters/dev/RUNBOOK.md', 1),
        document('clusters/dev/disaster-recovery.md', 6),
      ],
    };
    const outputs = (check: { check: (input: SystemInput) => readonly Issue[] }) =>
      check.check(twice).map((issue) => issue.output);
    // Then each check reports both places, each at its own line (the block starts on line 4,
    // then on line 9)
    expect(outputs(terminalReadAlone)).toEqual([
      'clusters/dev/RUNBOOK.md:4',
      'clusters/dev/disaster-recovery.md:9',
    ]);
    expect(outputs(shellComments)).toEqual([
      'clusters/dev/RUNBOOK.md:5',
      'clusters/dev/disaster-recovery.md:10',
    ]);
    expect(outputs(guardsChained)).toEqual([
      'clusters/dev/RUNBOOK.md:6',
      'clusters/dev/disaster-recovery.md:11',
    ]);
    expect(outputs(boundedWaits)).toEqual([
      'clusters/dev/RUNBOOK.md:8',
      'clusters/dev/RUNBOOK.md:7',
      'clusters/dev/disaster-recovery.md:13',
      'clusters/dev/disaster-recovery.md:12',
    ]);
    expect(outputs(zshExpansions)).toEqual([
      'clusters/dev/RUNBOOK.md:9',
      'clusters/dev/disaster-recovery.md:14',
    ]);
  });

  it('refuses an awk test of two values that may read as numbers, in a block and in a script', () => {
    // Given a runbook block that compares a field with a -v value as they are, one that
    // concatenates "" (a string comparison), a CronJob whose script compares a field with a -v
    // value, and a ConfigMap's script that compares an array element with a field
    const script = `id=$(restic snapshots | awk -v want="$1" '$1 != "" && $2 == want { print $1 }')`;
    const cronJob: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'verify', namespace: 'backups' },
      spec: {
        jobTemplate: {
          spec: { template: { spec: { containers: [{ command: ['sh', '-c', script] }] } } },
        },
      },
    };
    const issues = awkNumericEquality.check({
      ...withDocument(
        'clusters/dev/RUNBOOK.md',
        ['talosctl etcd members | awk -v node="$NODE" \'$(2 + o) "" == node { print }\''],
        [
          'echo ok',
          'kubectl get pods | awk -v claim="$CLAIM" \\',
          "  '{ for (i = 2; i <= NF; i++) if ($i == claim) print $1 }'",
        ],
      ),
      clusters: [
        {
          ...(withDocument('x').clusters[0] as DeployedCluster),
          applications: [
            app({
              name: 'backups',
              wave: 3,
              objects: [
                { object: cronJob, source: 'charts/backups/clusters/dev.yaml#manifests.verify' },
                {
                  object: {
                    apiVersion: 'v1',
                    kind: 'ConfigMap',
                    metadata: { name: 'scripts', namespace: 'backups' },
                    data: { 'check.sh': "awk -F, 'a[$1] != $2 { n++ }' list" },
                  },
                  source: 'charts/backups/clusters/dev.yaml#manifests.scripts',
                },
              ],
            }),
          ],
        },
      ],
    });
    // Then the block's test is reported at its line (block 2), the scripts' at their objects
    expect(issues.map((issue) => [issue.code, issue.output, issue.value])).toEqual([
      ['awk-numeric-equality', 'clusters/dev/RUNBOOK.md:10', '$i == claim'],
      ['awk-numeric-equality', 'charts/backups/clusters/dev.yaml#manifests.verify', '$2 == want'],
      ['awk-numeric-equality', 'charts/backups/clusters/dev.yaml#manifests.scripts', 'a[$1] != $2'],
    ]);
    expect(issues[0]?.message).toContain('shell block 2 of clusters/dev/RUNBOOK.md');
    expect(issues[0]?.message).toContain('`1e1` equals `10`');
    expect(issues[1]?.message).toContain('CronJob verify of Application backups');
    expect(issues[1]?.path).toEqual(['clusters', 0, 'components', 'backups']);
    expect(issues[0]?.expected).toContain('concatenated with ""');
    // Broken on purpose: with each side concatenated with "", nothing is reported
    const fixed = awkNumericEquality.check(
      withDocument('clusters/dev/RUNBOOK.md', [
        'kubectl get pods | awk -v claim="$CLAIM" \'{ for (i = 2; i <= NF; i++) if ($i "" == claim) print $1 }\'',
      ]),
    );
    expect(fixed).toEqual([]);
  });
});
