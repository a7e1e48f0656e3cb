// The helm suite's own machinery, without Helm: what it renders, how it calls Helm, and that each
// of its checks (a)–(d) fails on a bad input.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podsReachPods } from '@homelab/cilium';
import { type FlowPort, type KubeObject, parseYaml } from '@homelab/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type ChartRender,
  chartTemplateFiles,
  clientSideApplyOf,
  clusterCrdSchemas,
  committedOutputRenders,
  crdApiVersions,
  deletionHooks,
  discoverRenders,
  finalizerDiffHooks,
  findHelm,
  flowProblems,
  gatekeeperEngineProblems,
  hostConnections,
  hostDnsRoutingConflict,
  hostFirewallProblems,
  lintArgs,
  listDefaultProblems,
  liveRenderDifferences,
  manifestDifferences,
  namespacePolicies,
  neverRunByArgoCd,
  type PreparedChart,
  podSecurityExemptions,
  podSecurityOf,
  preflightProblems,
  prepareChart,
  REPO,
  type RenderedDocument,
  remoteSchemaRefs,
  renderDrift,
  renderedPods,
  renderedSourceProblems,
  renderedWebhooks,
  roleFirewall,
  routeBackendProblems,
  schemaProblems,
  scrapeReachProblems,
  serviceEndpointProblems,
  splitHelmOutput,
  templateArgs,
  type UpstreamChart,
  undeclaredImages,
  unexplainedHelmWarnings,
  unstableFunctions,
  upgradeOnlyPreSyncHooks,
  upstreamImageReferences,
  upstreamSchemaProblems,
  upstreamValues,
  vendoredChartArchive,
  webhookReachProblems,
} from './helm/harness.js';
import { readTarGz } from './helm/tar.js';

const scratch = mkdtempSync(join(tmpdir(), 'homelab-harness-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const render: ChartRender = {
  cluster: 'dev',
  kubeVersion: '1.34.4',
  application: 'dev-demo',
  path: 'charts/demo',
  releaseName: 'demo',
  namespace: 'apps',
  valueFiles: ['env/development.yaml', 'clusters/dev.yaml'],
  apiVersions: [],
};
const prepared = (skipSchemaValidation: boolean): PreparedChart => ({
  dir: '/scratch/demo',
  name: 'demo',
  dependencies: [],
  upstreamCharts: [],
  skipSchemaValidation,
});

const application = (name: string, namespace: string, extra: Record<string, unknown>): KubeObject =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd' },
    spec: { destination: { namespace }, ...extra },
  }) as KubeObject;

const labelled = (level: string) => ({
  syncPolicy: {
    syncOptions: ['CreateNamespace=true'],
    managedNamespaceMetadata: { labels: { 'pod-security.kubernetes.io/enforce': level } },
  },
});

const deployment = (securityContext: Record<string, unknown>, namespace?: string): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', ...(namespace ? { namespace } : {}) },
    spec: {
      template: { spec: { containers: [{ name: 'web', image: 'web:1', securityContext }] } },
    },
  }) as KubeObject;

describe('discoverRenders', () => {
  const discovery = discoverRenders();

  it('renders each Application of the committed output that deploys a chart folder of this repository', () => {
    for (const { applications } of discovery.clusters) {
      for (const app of applications) {
        const path = (app.spec as { source?: { path?: string } }).source?.path ?? '';
        const isChart = existsSync(join(REPO, path, 'Chart.yaml'));
        const rendered = discovery.renders.some((r) => r.application === app.metadata.name);
        const skipped = discovery.skipped.some((s) => s.application === app.metadata.name);
        expect({ app: app.metadata.name, rendered, skipped }).toEqual({
          app: app.metadata.name,
          rendered: isChart && path.startsWith('charts/'),
          skipped: !(isChart && path.startsWith('charts/')),
        });
      }
    }
  });

  it('takes release name, namespace and value files from the Application, value files that exist', () => {
    for (const item of discovery.renders) {
      const app = discovery.clusters
        .flatMap(({ applications }) => applications)
        .find((candidate) => candidate.metadata.name === item.application);
      const spec = app?.spec as {
        destination: { namespace: string };
        source: { helm?: { releaseName?: string; valueFiles?: string[] } };
      };
      expect(item.releaseName).toBe(spec.source.helm?.releaseName ?? item.application);
      expect(item.namespace).toBe(spec.destination.namespace);
      expect(item.valueFiles).toEqual(spec.source.helm?.valueFiles ?? []);
      for (const file of item.valueFiles)
        expect(existsSync(join(REPO, item.path, file)), file).toBe(true);
    }
  });

  it('takes the Kubernetes version of each cluster from the platform definition', () => {
    // The definition as data (a name may be quoted, or appear elsewhere in the text).
    const definition = parseYaml(
      readFileSync(join(REPO, 'apps/homelab/platform.yaml'), 'utf8'),
    ) as { clusters: { name: string; kubernetes: { version: string } }[] };
    const versions = new Map(
      definition.clusters.map((cluster) => [cluster.name, cluster.kubernetes.version]),
    );
    for (const { cluster, kubeVersion } of discovery.clusters) {
      expect(kubeVersion).toMatch(/^\d+\.\d+\.\d+$/);
      expect(versions.get(cluster), `cluster ${cluster}`).toBe(kubeVersion);
    }
  });
});

describe('Helm command lines', () => {
  it('runs helm template as Argo CD v3.4 does: chart ".", --name-template, namespace, kube version, values, --include-crds', () => {
    expect(templateArgs(render, prepared(false))).toEqual([
      'template',
      '.',
      '--name-template',
      'demo',
      '--namespace',
      'apps',
      '--kube-version',
      '1.34.4',
      '--values',
      '/scratch/demo/env/development.yaml',
      '--values',
      '/scratch/demo/clusters/dev.yaml',
      '--include-crds',
    ]);
  });

  it("passes the Application's helm.apiVersions, else the cluster's, as --api-versions (Argo CD GetAPIVersionsOrDefault)", () => {
    const cluster = ['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor'];
    const args = (apiVersions: string[]) =>
      templateArgs({ ...render, apiVersions }, prepared(false), cluster).filter(
        (_, index, all) => all[index - 1] === '--api-versions',
      );
    expect(args([])).toEqual(cluster);
    expect(args(['v1'])).toEqual(['v1']);
    expect(templateArgs(render, prepared(false))).not.toContain('--api-versions');
  });

  it('skips Helm schema validation only when the suite validates a remote-$ref schema itself', () => {
    expect(templateArgs(render, prepared(true)).at(-1)).toBe('--skip-schema-validation');
    expect(lintArgs(render, prepared(true)).at(-1)).toBe('--skip-schema-validation');
    expect(lintArgs(render, prepared(false))).not.toContain('--skip-schema-validation');
  });

  it('lints strictly with the same values', () => {
    expect(lintArgs(render, prepared(false)).slice(0, 3)).toEqual(['lint', '.', '--strict']);
  });

  it('finds no helm on an empty PATH', () => {
    expect(findHelm('')).toBeUndefined();
    expect(findHelm(scratch)).toBeUndefined();
  });

  it('looks for vendored archives under vendor/charts/<chart>/<version>/', () => {
    expect(vendoredChartArchive('cilium', '1.18.12', '/repo')).toBe(
      '/repo/vendor/charts/cilium/1.18.12/cilium-1.18.12.tgz',
    );
  });
});

describe('the live render (API versions of the installed CRDs)', () => {
  const crd = (group: string, kind: string, versions: { name: string; served: boolean }[]) =>
    ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${kind.toLowerCase()}s.${group}` },
      spec: { group, names: { kind }, versions },
    }) as unknown as KubeObject;

  it('lists group/version and group/version/Kind of every served version, as Argo CD lists a cluster', () => {
    expect(
      crdApiVersions([
        crd('monitoring.coreos.com', 'ServiceMonitor', [{ name: 'v1', served: true }]),
        crd('example.io', 'Thing', [
          { name: 'v1', served: true },
          { name: 'v1alpha1', served: false },
        ]),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      ]),
    ).toEqual([
      'example.io/v1',
      'example.io/v1/Thing',
      'monitoring.coreos.com/v1',
      'monitoring.coreos.com/v1/ServiceMonitor',
    ]);
  });

  it('names what only the live cluster gets, what differs there, and what it lacks', () => {
    const doc = (kind: string, name: string, data: unknown = {}) => ({
      source: `demo/templates/${name}.yaml`,
      object: { apiVersion: 'v1', kind, metadata: { name, namespace: 'apps' }, data } as KubeObject,
    });
    expect(liveRenderDifferences([doc('ConfigMap', 'a')], [doc('ConfigMap', 'a')])).toEqual([]);
    expect(
      liveRenderDifferences(
        [doc('ConfigMap', 'a'), doc('ConfigMap', 'b')],
        [doc('ConfigMap', 'a', { x: '1' }), doc('ServiceMonitor', 'volsync')],
      ),
    ).toEqual([
      'ConfigMap apps/a (demo/templates/a.yaml): differs on the cluster',
      'ServiceMonitor apps/volsync (demo/templates/volsync.yaml): only on the cluster',
      'ConfigMap apps/b (demo/templates/b.yaml): not on the cluster',
    ]);
  });
});

describe('splitHelmOutput', () => {
  const output = [
    '---',
    '# Source: demo/templates/manifests.yaml',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: a',
    'data:',
    '  enabled: "yes"',
    '  date: 2024-01-01',
    'immutable: yes',
    '---',
    '# Source: demo/charts/up/templates/x.yaml',
    '# nothing rendered',
    '---',
    '# Source: demo/charts/up/templates/svc.yaml',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: b',
    '',
  ].join('\n');

  it('keeps the template each document came from and skips empty documents', () => {
    expect(splitHelmOutput(output).map(({ source, object }) => `${source} ${object.kind}`)).toEqual(
      ['demo/templates/manifests.yaml ConfigMap', 'demo/charts/up/templates/svc.yaml Service'],
    );
  });

  it("gives each document of a crds/ file the file's source (Helm prints it once per file)", () => {
    const crds = [
      '---',
      '# Source: demo/charts/up/crds/crds.yaml',
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata:',
      '  name: as.example.com',
      '---',
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata:',
      '  name: bs.example.com',
      '',
    ].join('\n');
    expect(
      splitHelmOutput(`${crds}${output}`).map(({ source, object }) => `${source} ${object.kind}`),
    ).toEqual([
      'demo/charts/up/crds/crds.yaml CustomResourceDefinition',
      'demo/charts/up/crds/crds.yaml CustomResourceDefinition',
      'demo/templates/manifests.yaml ConfigMap',
      'demo/charts/up/templates/svc.yaml Service',
    ]);
  });

  it('reads scalars as Kubernetes does (YAML 1.1 booleans, timestamps as strings)', () => {
    const [configMap] = splitHelmOutput(output);
    expect(configMap?.object.immutable).toBe(true);
    expect(configMap?.object.data).toEqual({ enabled: 'yes', date: '2024-01-01' });
  });

  it('refuses a document that is not a Kubernetes object', () => {
    expect(() => splitHelmOutput('---\n# Source: demo/templates/x.yaml\n- a\n')).toThrow(
      'helm output from demo/templates/x.yaml is not a Kubernetes object',
    );
  });
});

describe('(a) schemas Helm cannot resolve offline', () => {
  const remote = 'https://charts.example.com/definitions.json';
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { port: { $ref: `${remote}#/definitions/port` } },
  };
  const definitions = { definitions: { port: { type: 'integer', maximum: 65535 } } };

  it('lists the remote documents a schema $refs, without fragments', () => {
    expect(remoteSchemaRefs(schema)).toEqual([remote]);
    expect(remoteSchemaRefs({ properties: { a: { $ref: '#/definitions/x' } } })).toEqual([]);
  });

  it('validates against the vendored copy of a remote document', () => {
    const documents = new Map([[remote, definitions]]);
    expect(schemaProblems(schema, { port: 80 }, documents)).toEqual([]);
    expect(schemaProblems(schema, { port: 70000 }, documents)).toEqual(['/port must be <= 65535']);
  });

  it('says which remote document is not vendored', () => {
    expect(schemaProblems(schema, { port: 80 }, new Map())).toEqual([
      `$ref ${remote} is not vendored`,
    ]);
  });

  it('gives each upstream chart its values: the parent values under its name over its defaults, globals passed down', () => {
    const charts: UpstreamChart[] = [
      { chart: ['up'], defaults: { a: 1, b: 1 }, remoteRefs: [], vendorDir: scratch },
      { chart: ['up', 'sub'], defaults: { c: 1 }, remoteRefs: [], vendorDir: scratch },
    ];
    const values = upstreamValues({ global: { g: true }, up: { b: 2, sub: { c: 3 } } }, charts);
    expect(values.get('up')).toEqual({ a: 1, b: 2, sub: { c: 3 }, global: { g: true } });
    expect(values.get('up/sub')).toEqual({ c: 3, global: { g: true } });
  });

  it('reports an upstream value its remote-$ref schema refuses, naming the chart', () => {
    const vendorDir = join(scratch, 'vendor-up');
    mkdirSync(vendorDir, { recursive: true });
    writeFileSync(join(vendorDir, 'definitions.json'), JSON.stringify(definitions));
    const charts: UpstreamChart[] = [
      { chart: ['up'], schema, defaults: { port: 80 }, remoteRefs: [remote], vendorDir },
    ];
    expect(upstreamSchemaProblems({ up: { port: 8080 } }, charts)).toEqual([]);
    expect(upstreamSchemaProblems({ up: { port: 99999 } }, charts)).toEqual([
      'up values.schema.json: /port must be <= 65535',
    ]);
  });
});

describe('(c) Pod Security of rendered pods', () => {
  const restrictedContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };

  it('reads the enforced level from managedNamespaceMetadata of an Application that creates the namespace', () => {
    const { policies, problems } = namespacePolicies(
      [application('dev-web', 'apps', labelled('restricted'))],
      [],
    );
    expect(problems).toEqual([]);
    expect(policies.get('apps')).toEqual({
      level: 'restricted',
      version: 'latest',
      setBy: 'Application dev-web',
    });
  });

  it('ignores managedNamespaceMetadata without CreateNamespace=true (Argo CD does not apply it)', () => {
    const extra = {
      syncPolicy: {
        managedNamespaceMetadata: labelled('baseline').syncPolicy.managedNamespaceMetadata,
      },
    };
    expect(namespacePolicies([application('dev-web', 'apps', extra)], []).policies.size).toBe(0);
  });

  it('reports two different levels for one namespace', () => {
    const { problems } = namespacePolicies(
      [
        application('a', 'apps', labelled('restricted')),
        application('b', 'apps', labelled('privileged')),
      ],
      [],
    );
    expect(problems).toEqual([
      'namespace apps: Application b enforces privileged:latest, Application a restricted:latest',
    ]);
  });

  it('reads the level of a Namespace object a chart renders', () => {
    const namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'extra', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    } as KubeObject;
    expect(namespacePolicies([], [namespace]).policies.get('extra')?.level).toBe('baseline');
  });

  it('refuses a pod the namespace level forbids, naming object, template, level and reason', () => {
    const { policies } = namespacePolicies(
      [application('dev-web', 'apps', labelled('restricted'))],
      [],
    );
    const result = podSecurityOf(
      [
        {
          source: 'demo/templates/web.yaml',
          object: deployment({ ...restrictedContext, privileged: true }),
        },
      ],
      'apps',
      policies,
    );
    expect(result.violations).toEqual([
      'Deployment apps/web (demo/templates/web.yaml): violates PodSecurity "restricted:latest" (set by Application dev-web): privileged (container "web" must not set securityContext.privileged=true)',
    ]);
  });

  it('admits a pod that meets the level of the namespace it names', () => {
    const { policies } = namespacePolicies(
      [application('dev-web', 'other', labelled('baseline'))],
      [],
    );
    const result = podSecurityOf(
      [{ source: 's', object: deployment({}, 'other') }],
      'apps',
      policies,
    );
    expect(result).toEqual({ checked: 1, notDeployed: [], violations: [] });
  });

  it("takes a namespace the admission configuration exempts as privileged, whatever its labels: Talos' kube-system and the patch's list", () => {
    const root = mkdtempSync(join(tmpdir(), 'exempt-'));
    try {
      mkdirSync(join(root, 'clusters/dev/talos'), { recursive: true });
      writeFileSync(
        join(root, 'clusters/dev/talos/controlplane.yaml'),
        [
          '---',
          'cluster:',
          '  apiServer:',
          '    admissionControl:',
          '      - name: PodSecurity',
          '        configuration:',
          '          exemptions:',
          '            namespaces: [longhorn-system]',
          '',
        ].join('\n'),
      );
      const exempt = podSecurityExemptions('dev', root);
      expect(exempt).toEqual(['kube-system', 'longhorn-system']);
      // A cluster without the patch: Talos' default alone
      expect(podSecurityExemptions('nowhere', root)).toEqual(['kube-system']);
      const { policies } = namespacePolicies(
        [application('dev-web', 'longhorn-system', labelled('restricted'))],
        [],
        exempt,
      );
      const privileged = podSecurityOf(
        [
          { source: 's', object: deployment({ privileged: true }, 'kube-system') },
          { source: 's', object: deployment({ privileged: true }, 'longhorn-system') },
        ],
        'apps',
        policies,
      );
      expect(privileged.violations).toEqual([]);
      // Not exempt: the namespace has no level
      expect(
        podSecurityOf(
          [{ source: 's', object: deployment({ privileged: true }, 'kube-system') }],
          'apps',
          namespacePolicies([], []).policies,
        ).violations,
      ).toEqual([
        'Deployment kube-system/web (s): namespace kube-system has no enforced Pod Security level (no Application labels it)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a pod in a namespace without an enforced level', () => {
    const result = podSecurityOf(
      [{ source: 's', object: deployment(restrictedContext) }],
      'apps',
      new Map(),
    );
    expect(result.violations).toEqual([
      'Deployment apps/web (s): namespace apps has no enforced Pod Security level (no Application labels it)',
    ]);
  });

  it('leaves out Helm test hooks, which Argo CD never runs, and keeps install hooks', () => {
    const hook = (value: string) =>
      ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 't', annotations: { 'helm.sh/hook': value } },
      }) as KubeObject;
    expect(neverRunByArgoCd(hook('test-success'))).toBe(true);
    expect(neverRunByArgoCd(hook('test'))).toBe(true);
    expect(neverRunByArgoCd(hook('pre-install,pre-upgrade'))).toBe(false);
    expect(neverRunByArgoCd(hook('crd-install'))).toBe(false);
  });
});

describe('(e) client-side apply', () => {
  const crd = (name: string, bytes: number, annotations?: Record<string, string>) => ({
    source: 'chart/crds/crd.yaml',
    object: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec: { description: 'x'.repeat(bytes) },
    } as KubeObject,
  });
  const application = (syncOptions: string[]) =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'dev-monitoring', namespace: 'argocd' },
      spec: { syncPolicy: { syncOptions } },
    }) as KubeObject;
  const documents = [crd('small.example.com', 1000), crd('big.example.com', 300_000)];

  it('fails an object too large for the last-applied copy when its Application applies client-side', () => {
    const result = clientSideApplyOf(
      application(['CreateNamespace=true']),
      documents,
      'monitoring',
    );
    expect(result.serverSideOnly).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(
      /^CustomResourceDefinition\/big\.example\.com: 30\d{4} bytes of annotations applied client-side \(limit 262144\), and dev-monitoring applies it client-side$/,
    );
  });

  it('lists it as server-side only where the Application or the object asks for ServerSideApply', () => {
    const serverSide = clientSideApplyOf(
      application(['ServerSideApply=true']),
      documents,
      'monitoring',
    );
    expect(serverSide.problems).toEqual([]);
    expect(serverSide.serverSideOnly.map((line) => line.split(':')[0])).toEqual([
      'CustomResourceDefinition/big.example.com',
    ]);
    const annotated = [
      crd('big.example.com', 300_000, {
        'argocd.argoproj.io/sync-options': 'ServerSideApply=true',
      }),
    ];
    expect(clientSideApplyOf(application([]), annotated, 'monitoring').problems).toEqual([]);
  });

  it('leaves out Helm test hooks, which Argo CD never applies', () => {
    const hook = crd('big.example.com', 300_000, { 'helm.sh/hook': 'test' });
    expect(clientSideApplyOf(application([]), [hook], 'monitoring')).toEqual({
      serverSideOnly: [],
      problems: [],
    });
  });
});

describe("Gatekeeper's K8sNativeValidation engine", () => {
  const template = (engine: string) =>
    ({
      apiVersion: 'templates.gatekeeper.sh/v1',
      kind: 'ConstraintTemplate',
      metadata: { name: 'homelabrequiredlabels' },
      spec: {
        targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine, source: {} }] }],
      },
    }) as KubeObject;
  const gatekeeper = (name: string, args: string[]) =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        template: {
          metadata: {},
          spec: {
            containers: [{ name: 'manager', image: 'openpolicyagent/gatekeeper:v3.23.0', args }],
          },
        },
      },
    }) as KubeObject;
  const on = ['--port=8443', '--enable-k8s-native-validation=true'];

  it('passes CEL templates where the controller and the audit start with the engine on', () => {
    expect(
      gatekeeperEngineProblems([
        template('K8sNativeValidation'),
        gatekeeper('gatekeeper-controller-manager', on),
        gatekeeper('gatekeeper-audit', on),
      ]),
    ).toEqual([]);
    // Rego templates need no flag.
    expect(
      gatekeeperEngineProblems([template('Rego'), gatekeeper('gatekeeper-audit', [])]),
    ).toEqual([]);
  });

  it('fails a Gatekeeper started with the engine off or without the flag', () => {
    expect(
      gatekeeperEngineProblems([
        template('K8sNativeValidation'),
        gatekeeper('gatekeeper-controller-manager', ['--enable-k8s-native-validation=false']),
        gatekeeper('gatekeeper-audit', ['--port=8443']),
      ]),
    ).toEqual([
      'Deployment gatekeeper-controller-manager runs Gatekeeper with --enable-k8s-native-validation=false, while 1 ConstraintTemplates use the K8sNativeValidation engine: they would never compile',
      'Deployment gatekeeper-audit runs Gatekeeper with no --enable-k8s-native-validation, while 1 ConstraintTemplates use the K8sNativeValidation engine: they would never compile',
    ]);
    expect(gatekeeperEngineProblems([template('K8sNativeValidation')])).toEqual([
      '1 ConstraintTemplates, but no Gatekeeper Deployment to run them',
    ]);
  });
});

describe("Talos' kube-dns forwarding and Cilium's eBPF host routing", () => {
  const ebpf = {
    'kube-proxy-replacement': 'true',
    'enable-bpf-masquerade': 'true',
  };
  const patch = (forward?: boolean) => [
    forward === undefined
      ? { machine: {} }
      : { machine: { features: { hostDNS: { forwardKubeDNSToHost: forward } } } },
    { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'enp1s0' },
  ];
  const patches = (roles?: boolean, node?: boolean) =>
    new Map([
      ['controlplane.yaml', patch(roles)],
      ['worker.yaml', patch(roles)],
      ['nodes/cp-1.yaml', patch(node)],
    ]);

  it('finds the conflict with eBPF host routing and the Talos default (forwarding on)', () => {
    expect(hostDnsRoutingConflict(ebpf, patches())).toMatch(
      /^Cilium routes with eBPF host routing .* \(controlplane\.yaml, worker\.yaml\): pods' DNS queries would time out/,
    );
    // A node patch that switches it back on.
    expect(hostDnsRoutingConflict(ebpf, patches(false, true))).toContain('(nodes/cp-1.yaml)');
  });

  it('accepts legacy host routing, iptables masquerading, or forwarding off on every node', () => {
    expect(
      hostDnsRoutingConflict({ ...ebpf, 'enable-host-legacy-routing': 'true' }, patches()),
    ).toBeUndefined();
    expect(
      hostDnsRoutingConflict({ ...ebpf, 'enable-bpf-masquerade': 'false' }, patches()),
    ).toBeUndefined();
    expect(hostDnsRoutingConflict(ebpf, patches(false))).toBeUndefined();
  });
});

describe('Helm hooks as Argo CD runs them', () => {
  const job = (name: string, annotations: Record<string, string>) =>
    ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, annotations } }) as KubeObject;

  it("finds an upgrade-only pre-upgrade hook (Longhorn's pre-upgrade checker) that Argo CD runs at every sync", () => {
    expect(
      upgradeOnlyPreSyncHooks([job('longhorn-pre-upgrade', { 'helm.sh/hook': 'pre-upgrade' })]),
    ).toEqual([
      'Job/longhorn-pre-upgrade: helm.sh/hook pre-upgrade runs as an Argo CD PreSync hook on every sync, the first one included, where Helm runs it only on upgrades',
    ]);
  });

  it('finds the deletion hooks Argo CD v3.4 runs when it deletes an Application (Longhorn uninstall Job)', () => {
    expect(
      deletionHooks([
        job('longhorn-uninstall', { 'helm.sh/hook': 'pre-delete' }),
        job('cleanup', { 'argocd.argoproj.io/hook': 'Sync, PostDelete' }),
        job('install', { 'helm.sh/hook': 'pre-install,post-install' }),
        job('plain', {}),
      ]),
    ).toEqual(['Job/longhorn-uninstall: pre-delete', 'Job/cleanup: PostDelete']);
  });

  it('leaves install-and-upgrade hooks, post hooks and hooks Argo CD annotates alone', () => {
    expect(
      upgradeOnlyPreSyncHooks([
        job('redis-secret-init', { 'helm.sh/hook': 'pre-install,pre-upgrade' }),
        job('post-upgrade', { 'helm.sh/hook': 'post-upgrade' }),
        job('argo', { 'helm.sh/hook': 'pre-upgrade', 'argocd.argoproj.io/hook': 'Skip' }),
        job('plain', {}),
      ]),
    ).toEqual([]);
  });
});

describe('(d) Helm against the TypeScript merge', () => {
  const pool = (blocks: unknown) =>
    ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: 'p' },
      spec: { blocks },
    }) as KubeObject;

  it('finds no difference between equal objects', () => {
    expect(
      manifestDifferences([pool([{ cidr: '10.0.0.0/24' }])], [pool([{ cidr: '10.0.0.0/24' }])]),
    ).toEqual([]);
  });

  it('names the first differing field, Helm value first (a number that became a string)', () => {
    expect(manifestDifferences([pool([{ cidr: 24 }])], [pool([{ cidr: '24' }])])).toEqual([
      'cilium.io/v2/CiliumLoadBalancerIPPool//p: spec.blocks[0].cidr: 24 vs "24"',
    ]);
  });

  it('reports objects only one side has', () => {
    const other = { ...pool([]), metadata: { name: 'q' } } as KubeObject;
    expect(manifestDifferences([pool([])], [other])).toEqual([
      'cilium.io/v2/CiliumLoadBalancerIPPool//q: computed but not rendered by Helm',
      'cilium.io/v2/CiliumLoadBalancerIPPool//p: rendered by Helm but not computed',
    ]);
  });
});

describe('how many objects a render holds, by where Helm says they came from', () => {
  const chart = { name: 'demo', dependencies: [{ name: 'up' }] };
  const from = (source: string, name: string) => ({
    source,
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } as KubeObject,
  });

  it("accepts the chart's manifests and at least one object of each dependency", () => {
    const documents = [
      from('demo/charts/up/crds/crds.yaml', 'crd'),
      from('demo/charts/up/templates/a.yaml', 'a'),
      from('demo/templates/manifests.yaml', 'm'),
    ];
    expect(renderedSourceProblems(documents, chart, 1)).toEqual([]);
  });

  it('accepts no object from a chart without dependencies that has no manifests for the cluster', () => {
    expect(renderedSourceProblems([], { name: 'apps', dependencies: [] }, 0)).toEqual([]);
  });

  it('fails when Helm renders nothing for a chart that should render objects', () => {
    expect(renderedSourceProblems([], chart, 2)).toEqual([
      'demo/templates/manifests.yaml: Helm rendered 0 object(s), the TypeScript merge computes 2',
      'demo/charts/up/: Helm rendered no object of this dependency',
    ]);
    expect(renderedSourceProblems([], { name: 'apps', dependencies: [] }, 1)).toEqual([
      'apps/templates/manifests.yaml: Helm rendered 0 object(s), the TypeScript merge computes 1',
    ]);
  });

  it('fails an object of no known template', () => {
    const documents = [from('demo/charts/up/templates/a.yaml', 'a'), from('', 'orphan')];
    expect(renderedSourceProblems(documents, chart, 0)).toEqual([
      "ConfigMap/orphan from no template: neither the chart's manifests nor a dependency",
    ]);
  });
});

describe('a committed output without root Application', () => {
  const root = join(scratch, 'no-root');
  mkdirSync(join(root, 'clusters', 'dev'), { recursive: true });
  const discovery = discoverRenders(root, join(REPO, 'examples/reference/platform.yaml'));

  it('has nothing to render: the renders say "not run" and are skipped', () => {
    expect(discovery).toEqual({ clusters: [], renders: [], skipped: [] });
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(committedOutputRenders(discovery, 'not run: why')).toBe(false);
      expect(log.mock.calls).toEqual([['not run: why']]);
    } finally {
      log.mockRestore();
    }
  });

  it('renders the committed output where a cluster has a root Application', () => {
    const one = { clusters: [{ cluster: 'dev', kubeVersion: '1.34.0', applications: [] }] };
    expect(committedOutputRenders({ ...one, renders: [], skipped: [] }, 'not run: why')).toBe(true);
  });
});

describe('readTarGz', () => {
  it('reads the files of a gzipped tar, long paths included', () => {
    const tree = join(scratch, 'tar');
    const long = `demo/templates/${'x'.repeat(120)}.yaml`;
    mkdirSync(join(tree, 'demo', 'templates'), { recursive: true });
    writeFileSync(join(tree, 'demo', 'Chart.yaml'), 'name: demo\n');
    writeFileSync(join(tree, long), 'kind: A\n');
    execFileSync('tar', ['-czf', join(scratch, 'demo.tgz'), '-C', tree, 'demo']);
    const files = readTarGz(readFileSync(join(scratch, 'demo.tgz')));
    expect(files.get('demo/Chart.yaml')?.toString()).toBe('name: demo\n');
    expect(files.get(long)?.toString()).toBe('kind: A\n');
  });
});

describe('images an upstream chart runs against the declared repositories', () => {
  const manager: RenderedDocument = {
    source: 'longhorn/charts/longhorn/templates/daemonset-sa.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'longhorn-manager' },
      spec: {
        template: {
          spec: {
            initContainers: [{ name: 'wait', image: 'busybox:1.37' }],
            containers: [
              {
                name: 'manager',
                image: 'longhornio/longhorn-manager:v1.8.1',
                command: [
                  'longhorn-manager',
                  '--engine-image',
                  'longhornio/longhorn-engine:v1.8.1',
                ],
                args: ['--share-manager-image=longhornio/longhorn-share-manager:v1.8.1', '--debug'],
                env: [
                  { name: 'CSI_ATTACHER_IMAGE', value: 'longhornio/csi-attacher:v4.8.1' },
                  { name: 'CSI_ATTACHER_REPLICA_COUNT', value: '3' },
                ],
              },
            ],
          },
        },
      },
    } as KubeObject,
  };
  const operator: RenderedDocument = {
    source: 'monitoring/charts/kube-prometheus-stack/templates/prometheus-operator/deployment.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'operator', namespace: 'monitoring' },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'operator',
                image: 'quay.io/prometheus-operator/prometheus-operator:v0.93.1',
                args: [
                  '--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1',
                ],
              },
            ],
          },
        },
      },
    } as KubeObject,
  };
  const prometheus: RenderedDocument = {
    source: 'monitoring/charts/kube-prometheus-stack/templates/prometheus/prometheus.yaml',
    object: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'prometheus', namespace: 'monitoring' },
      spec: { image: 'quay.io/prometheus/prometheus:v3.14.0' },
    } as KubeObject,
  };
  const testHook: RenderedDocument = {
    source: 'argo-cd/charts/argo-cd/charts/redis-ha/templates/tests/test-redis-ha-configmap.yaml',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'configmap-test', annotations: { 'helm.sh/hook': 'test-success' } },
      spec: { containers: [{ name: 'check', image: 'koalaman/shellcheck:v0.11.0' }] },
    } as KubeObject,
  };
  const own: RenderedDocument = {
    source: 'longhorn/templates/manifests.yaml',
    object: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'ours' },
      spec: { template: { spec: { containers: [{ name: 'x', image: 'example.org/ours:1' }] } } },
    } as KubeObject,
  };

  it('finds containers, image flags in either form, *_IMAGE variables and operator images; never our own manifests or a test hook', () => {
    const found = upstreamImageReferences(
      [manager, operator, prometheus, testHook, own],
      'longhorn-system',
    );
    expect(found.map(({ namespace, image, where }) => `${namespace} ${image} (${where})`)).toEqual([
      'longhorn-system busybox:1.37 (DaemonSet longhorn-manager: initContainers wait)',
      'longhorn-system longhornio/longhorn-manager:v1.8.1 (DaemonSet longhorn-manager: containers manager)',
      'longhorn-system longhornio/longhorn-engine:v1.8.1 (DaemonSet longhorn-manager: containers manager, --engine-image)',
      'longhorn-system longhornio/longhorn-share-manager:v1.8.1 (DaemonSet longhorn-manager: containers manager, --share-manager-image)',
      'longhorn-system longhornio/csi-attacher:v4.8.1 (DaemonSet longhorn-manager: containers manager, env CSI_ATTACHER_IMAGE)',
      'monitoring quay.io/prometheus-operator/prometheus-operator:v0.93.1 (Deployment operator: containers operator)',
      'monitoring quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1 (Deployment operator: containers operator, --prometheus-config-reloader)',
      'monitoring quay.io/prometheus/prometheus:v3.14.0 (Prometheus prometheus: spec.image)',
    ]);
  });

  it('reports a repository not declared for its namespace, by its resolved name', () => {
    const found = upstreamImageReferences([manager, prometheus], 'longhorn-system');
    const declared = {
      'longhorn-system': [
        'docker.io/library/busybox',
        'docker.io/longhornio/longhorn-manager',
        'docker.io/longhornio/longhorn-engine',
        'docker.io/longhornio/csi-attacher',
      ],
      // Declared in another namespace: does not count for monitoring's.
      kube: ['quay.io/prometheus/prometheus'],
    };
    expect(undeclaredImages(found, declared)).toEqual([
      'longhorn-system: DaemonSet longhorn-manager: containers manager, --share-manager-image: longhornio/longhorn-share-manager:v1.8.1 (repository docker.io/longhornio/longhorn-share-manager not declared)',
      'monitoring: Prometheus prometheus: spec.image: quay.io/prometheus/prometheus:v3.14.0 (repository quay.io/prometheus/prometheus not declared)',
    ]);
    expect(
      undeclaredImages(found, {
        ...declared,
        'longhorn-system': [
          ...declared['longhorn-system'],
          'docker.io/longhornio/longhorn-share-manager',
        ],
        monitoring: ['quay.io/prometheus/prometheus'],
      }),
    ).toEqual([]);
  });
});

describe('flows against the rendered pods', () => {
  const manager = {
    source: 'longhorn/charts/longhorn/templates/daemonset-sa.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'longhorn-manager', namespace: 'longhorn-system' },
      spec: {
        template: {
          metadata: { labels: { app: 'longhorn-manager' } },
          spec: { containers: [{ name: 'm', ports: [{ containerPort: 9500 }] }] },
        },
      },
    } as KubeObject,
  };
  const pods = renderedPods([manager], 'longhorn-system');
  const replicas = (endPort: number) => ({
    name: 'engine-replicas',
    direction: 'egress' as const,
    namespace: 'longhorn-system',
    selector: { 'longhorn.io/component': 'instance-manager' },
    peer: { kind: 'self', selector: { 'longhorn.io/component': 'instance-manager' } },
    ports: [{ port: 10000, endPort, protocol: 'TCP' }],
  });

  it('counts the pods longhorn-manager creates at run time, and a range inside their process range', () => {
    expect(pods.map((pod) => pod.labels)).toContainEqual({
      'longhorn.io/component': 'instance-manager',
    });
    expect(flowProblems([replicas(20000)], pods)).toEqual([]);
  });

  it("gives longhorn-manager's own pod the labels it adds once its webhooks serve (the webhook Services' selectors)", () => {
    expect(pods.find((pod) => pod.workload === 'DaemonSet/longhorn-manager')?.labels).toEqual({
      app: 'longhorn-manager',
      'longhorn.io/conversion-webhook': 'longhorn-conversion-webhook',
      'longhorn.io/admission-webhook': 'longhorn-admission-webhook',
      'longhorn.io/recovery-backend': 'longhorn-recovery-backend',
    });
  });

  it('refuses a range wider than the one the pods listen on, and a selector of no pod', () => {
    expect(flowProblems([replicas(30000)], pods)).toEqual([
      'engine-replicas: no pod selected by {"longhorn.io/component":"instance-manager"} in longhorn-system declares container port 10000-30000/TCP',
    ]);
    const nobody = { ...replicas(20000), name: 'nobody', selector: { app: 'nobody' } };
    expect(flowProblems([nobody], pods)).toEqual([
      'nobody: {"app":"nobody"} selects no pod Helm renders in longhorn-system',
    ]);
    // An application's own workloads are not rendered by any chart of the platform.
    expect(flowProblems([{ ...nobody, workloads: 'external' }], pods)).toEqual([]);
  });
});

describe('Helm warnings', () => {
  const nullOver = (key: string) =>
    `coalesce.go:298: warning: cannot overwrite table with non table for ${key} (map[requiredDuringSchedulingIgnoredDuringExecution:[]])`;
  const values = {
    cilium: { operator: { affinity: { podAntiAffinity: null }, replicas: 1 }, hubble: [] },
  };

  it('explains the warning of a null that removes a subchart default (helm/helm#31118)', () => {
    expect(
      unexplainedHelmWarnings(
        `${nullOver('cilium.cilium.operator.affinity.podAntiAffinity')}\n`,
        'cilium',
        values,
      ),
    ).toEqual([]);
  });

  it('returns the same warning where our value is not null, or absent, or of another chart', () => {
    const stderr = [
      nullOver('cilium.cilium.hubble'),
      nullOver('cilium.cilium.operator.replicas'),
      nullOver('cilium.cilium.operator.tolerations'),
      nullOver('other.cilium.operator.affinity.podAntiAffinity'),
      'walk.go:75: found symbolic link in path',
    ].join('\n');
    expect(unexplainedHelmWarnings(stderr, 'cilium', values)).toEqual(stderr.split('\n'));
  });
});

describe("the Gateway's routes against the rendered Services and pods", () => {
  const route = (port: number, name = 'web') => ({
    source: 'web/templates/route.yaml',
    object: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'web' },
      spec: { rules: [{ backendRefs: [{ name, port }] }] },
    },
  });
  const service = (targetPort: number | string, selector = { app: 'web' }) => ({
    source: 'web/templates/service.yaml',
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'web' },
      spec: { selector, ports: [{ name: 'http', port: 80, targetPort }] },
    },
  });
  const deployment = {
    source: 'web/templates/deployment.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'web' },
      spec: {
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'web', ports: [{ name: 'server', containerPort: 8080 }] }],
          },
        },
      },
    },
  };

  it('follows a route to a container port by the Service port and its named or numbered target', () => {
    expect(routeBackendProblems([route(80), service('server'), deployment])).toEqual([]);
    expect(routeBackendProblems([route(80), service(8080), deployment])).toEqual([]);
  });

  it('finds each broken link: the Service, its port, its pods, the target port', () => {
    expect(routeBackendProblems([route(80, 'other'), service('server'), deployment])).toEqual([
      'HTTPRoute web/web: no Service web/other is rendered',
    ]);
    expect(routeBackendProblems([route(443), service('server'), deployment])).toEqual([
      'HTTPRoute web/web: Service web/web has no port 443 (it has 80)',
    ]);
    expect(
      routeBackendProblems([route(80), service('server', { app: 'api' }), deployment]),
    ).toEqual(['HTTPRoute web/web: Service web/web selects no pod ({"app":"api"})']);
    expect(routeBackendProblems([route(80), service('http'), deployment])).toEqual([
      'HTTPRoute web/web: Service web/web port 80 targets http/TCP, which no container of its pods (Deployment/web) declares',
    ]);
    expect(routeBackendProblems([route(80), service(9090), deployment])).toEqual([
      'HTTPRoute web/web: Service web/web port 80 targets 9090/TCP, which no container of its pods (Deployment/web) declares',
    ]);
  });

  it("leaves an application's route whose Service comes with its own workloads", () => {
    expect(routeBackendProblems([route(80, 'other')], new Set(['web/web']))).toEqual([]);
    // a Service that is rendered is checked all the same
    expect(
      routeBackendProblems([route(443), service('server'), deployment], new Set(['web/web'])),
    ).toEqual(['HTTPRoute web/web: Service web/web has no port 443 (it has 80)']);
  });
});

describe('every Service with a selector against the rendered pods', () => {
  const service = (
    name: string,
    selector: Record<string, string>,
    targetPort: number | string,
  ) => ({
    source: 's.yaml',
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'web' },
      spec: { selector, ports: [{ port: 80, targetPort }] },
    },
  });
  const set = {
    source: 'set.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'web' },
      spec: {
        replicas: 2,
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', ports: [{ name: 'sql', containerPort: 5432 }] }] },
        },
      },
    },
  };
  const prometheus = {
    source: 'prometheus.yaml',
    object: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'main', namespace: 'web' },
      spec: {},
    },
  };

  it('finds a selector of no pod and a target port no container names; a number needs no declaration', () => {
    expect(
      serviceEndpointProblems([
        set,
        service('db', { app: 'db' }, 'sql'),
        service('db-number', { app: 'db' }, 15432),
        service('none', { app: 'api' }, 'sql'),
        service('misnamed', { app: 'db' }, 'postgres'),
      ]),
    ).toEqual([
      'Service web/none selects no pod ({"app":"api"})',
      'Service web/misnamed port 80 targets postgres/TCP, which no container of its pods (StatefulSet/db) declares',
    ]);
  });

  it("selects one ordinal of a rendered StatefulSet by the controller's pod-name and pod-index labels, up to its replicas", () => {
    const one = (name: string, labels: Record<string, string>) =>
      service(name, { app: 'db', ...labels }, 'sql');
    expect(
      serviceEndpointProblems([
        set,
        one('db-1', { 'statefulset.kubernetes.io/pod-name': 'db-1' }),
        one('db-index-0', { 'apps.kubernetes.io/pod-index': '0' }),
        one('db-2', { 'statefulset.kubernetes.io/pod-name': 'db-2' }),
        one('other-0', { 'statefulset.kubernetes.io/pod-name': 'other-0' }),
      ]),
    ).toEqual([
      'Service web/db-2 selects no pod ({"app":"db","statefulset.kubernetes.io/pod-name":"db-2"})',
      'Service web/other-0 selects no pod ({"app":"db","statefulset.kubernetes.io/pod-name":"other-0"})',
    ]);
  });

  it("names the ports of the pods prometheus-operator makes as the operator does: web (or spec.portName) and the config reloader's reloader-web", () => {
    const selector = {
      'app.kubernetes.io/name': 'prometheus',
      'operator.prometheus.io/name': 'main',
    };
    expect(
      serviceEndpointProblems([
        prometheus,
        service('web', selector, 'web'),
        service('reloader', selector, 'reloader-web'),
      ]),
    ).toEqual([]);
    const renamed = structuredClone(prometheus);
    (renamed.object.spec as { portName?: string }).portName = 'http-web';
    expect(serviceEndpointProblems([renamed, service('web', selector, 'web')])).toEqual([
      'Service web/web port 80 targets web/TCP, which no container of its pods (Prometheus/main (pods of prometheus-operator)) declares',
    ]);
  });

  it('leaves Services without a selector and ExternalName Services alone', () => {
    const headless = service('external', {}, 'sql');
    delete (headless.object.spec as { selector?: Record<string, string> }).selector;
    const name = service('name', { app: 'x' }, 'sql');
    (name.object.spec as { type?: string }).type = 'ExternalName';
    expect(serviceEndpointProblems([headless, name])).toEqual([]);
  });
});

describe('custom resources against their CRDs’ list defaults', () => {
  // The Gateway API bundle as a cluster's CRD Application deploys it (vendored at its tag).
  const bundle = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'prod-gateway-api-crds', namespace: 'argocd' },
    spec: {
      source: {
        repoURL: 'https://github.com/kubernetes-sigs/gateway-api',
        path: 'config/crd/standard',
        targetRevision: 'v1.4.1',
      },
    },
  } as KubeObject;
  const route = (backendRef: { [key: string]: unknown }, annotations = {}) =>
    ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'web', annotations },
      spec: {
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'platform' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [backendRef] },
        ],
      },
    }) as KubeObject;
  const schemas = clusterCrdSchemas([bundle], []);

  it('reads the CRDs of a bundle Application from its vendored tag, and those Helm rendered', () => {
    expect(schemas.has('gateway.networking.k8s.io/v1/HTTPRoute')).toBe(true);
    const rendered = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'things.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Thing' },
        versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    } as unknown as KubeObject;
    expect([...clusterCrdSchemas([], [rendered]).keys()]).toEqual(['example.com/v1/Thing']);
  });

  it('finds a backend reference that leaves out what the API server defaults in it', () => {
    expect(listDefaultProblems([route({ name: 'web', port: 80 })], schemas)).toEqual(
      ['group', 'kind', 'weight'].map(
        (field) =>
          `HTTPRoute web/web: spec.rules[0].backendRefs[0].${field} is left out, and the API server sets it to ${JSON.stringify({ group: '', kind: 'Service', weight: 1 }[field])} (the CRD's default): Argo CD compares the list whole and shows HTTPRoute web/web OutOfSync after every sync`,
      ),
    );
  });

  it('passes a route that writes its defaults out, a hook, and a kind without a schema', () => {
    const full = { group: '', kind: 'Service', name: 'web', port: 80, weight: 1 };
    const unknown = { ...route({ name: 'web', port: 80 }), apiVersion: 'example.com/v1' };
    expect(
      listDefaultProblems(
        [
          route(full),
          route({ name: 'web', port: 80 }, { 'helm.sh/hook': 'post-install' }),
          unknown as KubeObject,
        ],
        schemas,
      ),
    ).toEqual([]);
  });
});

describe('deletion hooks of an Application whose finalizers the root lists', () => {
  const application = (finalizers?: string[]) =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'prod-policy', namespace: 'argocd', ...(finalizers ? { finalizers } : {}) },
    }) as KubeObject;
  const uninstall = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'cleanup', annotations: { 'helm.sh/hook': 'pre-delete' } },
  } as KubeObject;
  const install = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'install', annotations: { 'helm.sh/hook': 'post-install' } },
  } as KubeObject;

  it('finds a pre-delete hook of an Application with the resources finalizer', () => {
    expect(
      finalizerDiffHooks(application(['resources-finalizer.argocd.argoproj.io']), [
        uninstall,
        install,
      ]),
    ).toEqual([
      'Job/cleanup: pre-delete: Argo CD adds its deletion-hook finalizers to prod-policy, whose finalizers the root lists (resources-finalizer.argocd.argoproj.io): the root shows it OutOfSync forever',
    ]);
  });

  it('passes a critical Application (no finalizers listed) and one without deletion hooks', () => {
    expect(finalizerDiffHooks(application(), [uninstall])).toEqual([]);
    expect(
      finalizerDiffHooks(application(['resources-finalizer.argocd.argoproj.io']), [install]),
    ).toEqual([]);
  });
});

describe('renders that change from one render to the next', () => {
  // A chart whose Secret template makes a key through a helper of _helpers.tpl, two includes
  // deep, inside nested blocks; its ConfigMap only names `$now` and speaks of now in a comment.
  const files = new Map([
    [
      'demo/charts/up/templates/_helpers.tpl',
      [
        '{{/* the key, unless one is given: genCA in a comment is no call */}}',
        '{{- define "up.key" -}}',
        '{{- if .Values.key }}{{ .Values.key }}{{ else }}{{ include "up.random" . }}{{ end }}',
        '{{- end }}',
        '{{- define "up.random" -}}',
        '{{- with lookup "v1" "Secret" "apps" "up" }}{{ .data.key }}{{ else }}{{ randAlphaNum 32 }}{{ end -}}',
        '{{- end }}',
        '{{- define "up.clock" }}{{ $now := .Values.when }}{{ $now }}{{ end }}',
      ].join('\n'),
    ],
    [
      'demo/charts/up/templates/secret.yaml',
      'kind: Secret\n{{- range $i := list 1 }}\ndata:\n  key: {{ include "up.key" $ | b64enc }}\n{{- end }}\n',
    ],
    [
      'demo/charts/up/templates/configmap.yaml',
      '# made now\nkind: ConfigMap\ndata:\n  at: {{ include "up.clock" . }}\n',
    ],
  ]);

  it('names the unstable functions a template calls through the helpers it includes', () => {
    expect(unstableFunctions(files, 'demo/charts/up/templates/secret.yaml')).toEqual([
      'lookup',
      'randAlphaNum',
    ]);
    expect(unstableFunctions(files, 'demo/charts/up/templates/configmap.yaml')).toEqual([]);
    expect(unstableFunctions(files, 'demo/templates/missing.yaml')).toEqual([]);
  });

  it('reports every object that changed, appeared or disappeared, with the template and its calls', () => {
    const doc = (kind: string, name: string, data: Record<string, string>) => ({
      source: `demo/charts/up/templates/${kind.toLowerCase()}.yaml`,
      object: { apiVersion: 'v1', kind, metadata: { name, namespace: 'apps' }, data } as KubeObject,
    });
    const first = [doc('Secret', 'up', { key: 'AAAA' }), doc('ConfigMap', 'up', { at: 'x' })];
    // The same objects a second later: nothing to report.
    expect(renderDrift(first, first, files)).toEqual([]);
    expect(
      renderDrift(
        first,
        [doc('Secret', 'up', { key: 'BBBB' }), doc('ConfigMap', 'other', { at: 'x' })],
        files,
      ),
    ).toEqual([
      'Secret apps/up (demo/charts/up/templates/secret.yaml): changed between two renders at data.key: "AAAA" vs "BBBB"; the template calls lookup, randAlphaNum',
      'ConfigMap apps/other (demo/charts/up/templates/configmap.yaml): only in the second render',
      'ConfigMap apps/up (demo/charts/up/templates/configmap.yaml): only in the first render',
    ]);
  });

  it('reads the template files of a chart and of its dependency archives by their # Source: paths', () => {
    // Given the committed Cilium chart prepared as the suite prepares it
    const [render] = discoverRenders().renders.filter(({ path }) => path === 'charts/cilium');
    if (render === undefined) expect.fail('no cluster deploys charts/cilium');
    const prepared = prepareChart(render, scratch);
    const chartFiles = chartTemplateFiles(prepared);
    // Then the wrapper's template and the upstream templates are there, named as Helm names them
    expect(chartFiles.has('cilium/templates/manifests.yaml')).toBe(true);
    expect(
      unstableFunctions(
        chartFiles,
        'cilium/charts/cilium/templates/hubble/tls-helm/server-secret.yaml',
      ),
    ).toEqual(['genCA', 'genSignedCert', 'lookup']);
    expect(unstableFunctions(chartFiles, 'cilium/templates/manifests.yaml')).toEqual([]);
  }, 120_000);
});

describe('webhooks the API server calls', () => {
  const object = (value: Record<string, unknown>) => value as unknown as KubeObject;
  const objects = [
    object({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'guard' },
      webhooks: [
        { name: 'a.guard.io', clientConfig: { service: { name: 'guard', namespace: 'guard' } } },
        { name: 'url.guard.io', clientConfig: { url: 'https://example.org/' } },
      ],
    }),
    object({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'things.guard.io' },
      spec: {
        conversion: {
          strategy: 'Webhook',
          webhook: { clientConfig: { service: { name: 'guard', namespace: 'guard', port: 9443 } } },
        },
      },
    }),
    object({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'guard', namespace: 'guard' },
      spec: {
        selector: { app: 'guard' },
        ports: [
          { port: 443, targetPort: 'https' },
          { port: 9443, targetPort: 9443 },
        ],
      },
    }),
    object({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'guard', namespace: 'guard' },
      spec: {
        template: {
          metadata: { labels: { app: 'guard' } },
          spec: { containers: [{ ports: [{ containerPort: 10250, name: 'https' }] }] },
        },
      },
    }),
  ];
  const documents = objects.map((value) => ({ source: 'guard/templates/x.yaml', object: value }));

  it('lists the webhooks of configurations, conversions and APIServices that name a Service', () => {
    expect(renderedWebhooks(objects)).toEqual([
      {
        what: 'ValidatingWebhookConfiguration guard a.guard.io',
        namespace: 'guard',
        service: 'guard',
        port: 443,
      },
      {
        what: 'CustomResourceDefinition things.guard.io (conversion)',
        namespace: 'guard',
        service: 'guard',
        port: 9443,
      },
    ]);
  });

  it('asks the policies for the target port, resolving a named one through the pods', () => {
    const asked: string[] = [];
    const problems = webhookReachProblems(objects, documents, (pod, port) => {
      asked.push(`${pod.namespace} ${JSON.stringify(pod.labels)} ${port.port}/${port.protocol}`);
      return port.port === 10250;
    });
    // 443 → the pods' `https` (10250), allowed; 9443 dialled as it is (no container need declare
    // a number), dropped: the webhook is named with the fix.
    expect(asked).toEqual(['guard {"app":"guard"} 10250/TCP', 'guard {"app":"guard"} 9443/TCP']);
    expect(problems).toEqual([
      "CustomResourceDefinition things.guard.io (conversion) (Service guard/guard:9443): the Cilium policies of Deployment/guard in guard drop the API server's connections (from remote-node) to port 9443/TCP: every request the webhook intercepts fails (failurePolicy Fail) or skips it (Ignore); declare the ingress flow from the kube-apiserver and remote-node entities",
    ]);
  });

  it('reports a named target port no container of the pods declares', () => {
    const renamed = objects
      .map((value) =>
        value.kind === 'Service'
          ? object({
              ...value,
              spec: { selector: { app: 'guard' }, ports: [{ port: 443, targetPort: 'webhook' }] },
            })
          : value,
      )
      .filter((value) => value.kind !== 'CustomResourceDefinition');
    expect(
      webhookReachProblems(
        renamed,
        renamed.map((value) => ({ source: 'x', object: value })),
        () => true,
      ),
    ).toEqual([
      'ValidatingWebhookConfiguration guard a.guard.io (Service guard/guard:443): targetPort webhook names no container port of Deployment/guard, the API server has nothing to dial',
    ]);
  });

  it('leaves pods on the host network alone, and reports a Service that is not rendered', () => {
    const hostNetwork = objects.map((value) =>
      value.kind === 'Deployment'
        ? object({
            ...value,
            spec: {
              template: {
                metadata: { labels: { app: 'guard' } },
                spec: {
                  hostNetwork: true,
                  containers: [{ ports: [{ containerPort: 10250, name: 'https' }] }],
                },
              },
            },
          })
        : value,
    );
    const onHost = hostNetwork.filter((value) => value.kind !== 'CustomResourceDefinition');
    expect(
      webhookReachProblems(
        onHost,
        onHost.map((value) => ({ source: 'x', object: value })),
        () => false,
      ),
    ).toEqual([]);
    const noService = objects.filter((value) => value.kind !== 'Service');
    expect(
      webhookReachProblems(
        noService,
        noService.map((value) => ({ source: 'x', object: value })),
        () => true,
      ),
    ).toEqual([
      'ValidatingWebhookConfiguration guard a.guard.io (Service guard/guard:443): the Service is not rendered',
      'CustomResourceDefinition things.guard.io (conversion) (Service guard/guard:9443): the Service is not rendered',
    ]);
  });
});

describe("Prometheus' scrapes of the targets ServiceMonitors and PodMonitors name", () => {
  const object = (value: Record<string, unknown>) => value as unknown as KubeObject;
  const objects: KubeObject[] = [
    object({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: 'kps', namespace: 'monitoring' },
      spec: {},
    }),
    object({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'exporter', namespace: 'web' },
      spec: {
        template: {
          metadata: { labels: { app: 'exporter' } },
          spec: { containers: [{ ports: [{ containerPort: 9100, name: 'metrics' }] }] },
        },
      },
    }),
    object({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'exporter', namespace: 'web', labels: { app: 'exporter' } },
      spec: {
        selector: { app: 'exporter' },
        ports: [{ name: 'http', port: 80, targetPort: 'metrics' }],
      },
    }),
    // Endpoints listed by hand: the host firewall's, not a policy's
    object({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'etcd', namespace: 'kube-system', labels: { app: 'exporter' } },
      spec: { ports: [{ name: 'http', port: 2381 }] },
    }),
    object({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'exporter', namespace: 'monitoring' },
      spec: {
        namespaceSelector: { any: true },
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['exporter'] }] },
        endpoints: [{ port: 'http' }],
      },
    }),
    object({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'exporter-pods', namespace: 'web' },
      spec: {
        selector: { matchLabels: { app: 'exporter' } },
        podMetricsEndpoints: [{ portNumber: 9200 }],
      },
    }),
  ];
  const documents = objects.map((value) => ({ source: 'x/templates/x.yaml', object: value }));

  it("asks the policies for each target's pod port, from the pods prometheus-operator makes", () => {
    const asked: string[] = [];
    const { problems, targets } = scrapeReachProblems(objects, documents, (from, to, port) => {
      asked.push(
        `${from.namespace} ${from.labels['app.kubernetes.io/name']} → ${to.namespace} ${to.labels.app} ${port.port}`,
      );
      return port.port === 9100;
    });
    // The Service's `http` → the pods' `metrics` (9100), allowed; the PodMonitor's 9200, dropped
    expect(asked).toEqual([
      'monitoring prometheus → web exporter 9100',
      'monitoring prometheus → web exporter 9200',
    ]);
    expect(targets).toBe(2);
    expect(problems).toEqual([
      'PodMonitor web/exporter-pods: the Cilium policies keep Prometheus/kps (pods of prometheus-operator) from Deployment/exporter in web on port 9200/TCP: the target is down for good (TargetDown)',
    ]);
  });

  it('reads the real policies: an ingress from Prometheus on the port passes, on another port it does not', () => {
    const policy = (port: string) =>
      object({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'exporter', namespace: 'web' },
        spec: {
          endpointSelector: { matchLabels: { app: 'exporter' } },
          ingress: [
            {
              fromEndpoints: [
                {
                  matchLabels: {
                    'k8s:io.kubernetes.pod.namespace': 'monitoring',
                    'app.kubernetes.io/name': 'prometheus',
                  },
                },
              ],
              toPorts: [{ ports: [{ port, protocol: 'TCP' }] }],
            },
          ],
        },
      });
    const only = objects.filter((value) => value.kind !== 'PodMonitor');
    const run = (port: string) => {
      const all = [...only, policy(port)];
      return scrapeReachProblems(
        all,
        all.map((value) => ({ source: 'x', object: value })),
        (from, to, p) => podsReachPods(all, from, to, p as FlowPort),
      ).problems;
    };
    expect(run('9100')).toEqual([]);
    expect(run('9101')).toEqual([
      'ServiceMonitor monitoring/exporter → Service web/exporter: the Cilium policies keep Prometheus/kps (pods of prometheus-operator) from Deployment/exporter in web on port 9100/TCP: the target is down for good (TargetDown)',
    ]);
  });

  it('reports a Service port the monitor names that the Service lacks; a pod without the port is no target', () => {
    const renamed = objects.map((value) =>
      value.kind === 'ServiceMonitor'
        ? object({ ...value, spec: { ...(value.spec as object), endpoints: [{ port: 'web' }] } })
        : value.kind === 'PodMonitor'
          ? object({
              ...value,
              spec: {
                selector: { matchLabels: { app: 'exporter' } },
                podMetricsEndpoints: [{ port: 'stats' }],
              },
            })
          : value,
    );
    expect(
      scrapeReachProblems(
        renamed,
        renamed.map((value) => ({ source: 'x', object: value })),
        () => true,
      ).problems,
    ).toEqual(['ServiceMonitor monitoring/exporter: Service web/exporter has no port web']);
  });
});

describe("connections to host-network ports against the nodes' Talos firewall", () => {
  const doc = (object: unknown): RenderedDocument => ({
    source: 'test.yaml',
    object: object as KubeObject,
  });
  const agent = doc({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'system' },
    spec: {
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          hostNetwork: true,
          containers: [
            {
              name: 'agent',
              ports: [
                { name: 'webhook', containerPort: 9443 },
                { name: 'metrics', containerPort: 9100 },
              ],
            },
          ],
        },
      },
    },
  });
  const service = (name: string, port: number, targetPort: number | string) =>
    doc({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'system', labels: { app: name } },
      spec: { selector: { app: 'agent' }, ports: [{ name: 'p', port, targetPort }] },
    });
  const webhook = doc({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'agent' },
    webhooks: [
      {
        name: 'a.example',
        clientConfig: { service: { name: 'agent-webhook', namespace: 'system', port: 443 } },
      },
    ],
  });
  const etcd = [
    doc({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'etcd', namespace: 'system', labels: { app: 'etcd' } },
      spec: { clusterIP: 'None', ports: [{ name: 'p', port: 2381, targetPort: 2381 }] },
    }),
    doc({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'etcd', namespace: 'system' },
      subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'p', port: 2381 }] }],
    }),
  ];
  const monitor = (app: string) =>
    doc({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: app, namespace: 'monitoring' },
      spec: {
        selector: { matchLabels: { app } },
        namespaceSelector: { matchNames: ['system'] },
        endpoints: [{ port: 'p' }],
      },
    });
  const documents = [
    agent,
    service('agent-webhook', 443, 'webhook'),
    service('agent-metrics', 9100, 9100),
    service('agent-unused', 9999, 9999),
    webhook,
    monitor('agent-metrics'),
    monitor('etcd'),
    ...etcd,
  ];
  const objects = documents.map(({ object }) => object);
  const nodes = ['10.0.0.1', '10.0.0.2'];
  const patch = (rules: string) =>
    `apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n${rules}`;
  const rule = (ports: string, subnets: string[]) =>
    `---\napiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${ports}\nportSelector:\n  ports:\n    - ${ports}\n  protocol: tcp\ningress:\n${subnets.map((s) => `  - subnet: ${s}\n`).join('')}`;
  const everything = ['10.244.0.0/16', '10.0.0.1/32', '10.0.0.2/32'];

  it('finds what a monitor, a webhook and Endpoints on the nodes dial, and lists a Service nothing dials', () => {
    const { connections, unused } = hostConnections(objects, documents, nodes);
    expect(unused).toEqual(['Service system/agent-unused']);
    expect(connections.map((c) => [c.port, c.from, c.at])).toEqual([
      [9443, 'control-planes', undefined],
      [9100, 'pods', undefined],
      [2381, 'pods', ['10.0.0.1']],
    ]);
  });

  it('passes rules that allow each port from its callers, on the nodes the target runs on', () => {
    const firewalls = [
      roleFirewall(
        'controlplane',
        ['10.0.0.1'],
        patch(rule('2381', everything) + rule('9100', everything) + rule('9443', ['10.0.0.1/32'])),
      ),
      roleFirewall(
        'worker',
        ['10.0.0.2'],
        patch(rule('9100', everything) + rule('9443', ['10.0.0.1/32'])),
      ),
    ];
    const { connections } = hostConnections(objects, documents, nodes);
    expect(hostFirewallProblems(connections, firewalls, '10.244.0.0/16')).toEqual([]);
  });

  it('fails a webhook port not allowed from the control planes, and a scraped port allowed from the pod CIDR only (broken on purpose)', () => {
    const firewalls = [
      roleFirewall(
        'controlplane',
        ['10.0.0.1'],
        patch(rule('2381', everything) + rule('9100', everything)),
      ),
      roleFirewall(
        'worker',
        ['10.0.0.2'],
        patch(rule('9100', ['10.244.0.0/16']) + rule('9443', ['10.0.0.1/32'])),
      ),
    ];
    const { connections } = hostConnections(objects, documents, nodes);
    expect(hostFirewallProblems(connections, firewalls, '10.244.0.0/16')).toEqual([
      'ValidatingWebhookConfiguration agent a.example (the API server) through Service system/agent-webhook:443: port 9443/TCP on the controlplane nodes is not allowed from 10.0.0.1/32 by their Talos patch (NetworkRuleConfig): the node drops those connections',
      'ServiceMonitor monitoring/agent-metrics through Service system/agent-metrics:9100: port 9100/TCP on the worker nodes is not allowed from 10.0.0.1/32, 10.0.0.2/32 by their Talos patch (NetworkRuleConfig): the node drops those connections',
    ]);
  });
});

describe("preflightProblems (the runbook's Cilium pre-flight against the chart Argo CD runs)", () => {
  const workload = (kind: string, name: string, images: string[], init: string[] = []) =>
    ({
      apiVersion: 'apps/v1',
      kind,
      metadata: { name, namespace: 'kube-system' },
      spec: {
        template: {
          spec: {
            initContainers: init.map((image, i) => ({ name: `init-${i}`, image })),
            containers: images.map((image, i) => ({ name: `c-${i}`, image })),
          },
        },
      },
    }) as KubeObject;
  const AGENT = 'quay.io/cilium/cilium:v1.19.6@sha256:aa';
  const ENVOY = 'quay.io/cilium/cilium-envoy:v1.36.9@sha256:bb';
  const chart = [
    workload('DaemonSet', 'cilium', [AGENT], [AGENT]),
    workload('DaemonSet', 'cilium-envoy', [ENVOY]),
    workload('Deployment', 'hubble-relay', ['quay.io/cilium/hubble-relay:v1.19.6']),
  ];
  const waits = [
    { kind: 'DaemonSet', name: 'cilium-pre-flight-check' },
    { kind: 'Deployment', name: 'cilium-pre-flight-check' },
  ];
  const preflight = [
    workload('DaemonSet', 'cilium-pre-flight-check', [AGENT, ENVOY], [AGENT]),
    workload('Deployment', 'cilium-pre-flight-check', [AGENT]),
  ];

  it('passes a pre-flight that pulls both images and shares no object with the chart', () => {
    expect(preflightProblems(preflight, chart, waits)).toEqual([]);
  });

  it("finds an image the agents restart into that no pre-flight DaemonSet pulls (a Deployment's does not count)", () => {
    const noEnvoy = [
      workload('DaemonSet', 'cilium-pre-flight-check', [AGENT]),
      workload('Deployment', 'cilium-pre-flight-check', [ENVOY]),
    ];
    expect(preflightProblems(noEnvoy, chart, waits)).toEqual([
      `DaemonSet kube-system/cilium-envoy runs ${ENVOY}, which no pre-flight DaemonSet pulls`,
    ]);
    // An older agent image pulled is not the new one
    const old = [
      workload('DaemonSet', 'cilium-pre-flight-check', [AGENT.replace('aa', 'cc'), ENVOY]),
    ];
    expect(preflightProblems(old, chart, waits.slice(0, 1))).toEqual([
      `DaemonSet kube-system/cilium runs ${AGENT}, which no pre-flight DaemonSet pulls`,
    ]);
  });

  it('finds an object the chart renders too (the delete would remove it), a wait for nothing, and an empty render', () => {
    const whole = [...preflight, chart[2] as KubeObject];
    expect(preflightProblems(whole, chart, waits)).toEqual([
      "Deployment kube-system/hubble-relay is also the chart's: the pre-flight's delete removes it",
    ]);
    expect(preflightProblems(preflight.slice(0, 1), chart, waits)).toEqual([
      'waits for Deployment cilium-pre-flight-check, which the pre-flight does not render',
    ]);
    expect(preflightProblems([], chart, [])).toEqual([
      'the pre-flight renders nothing',
      `DaemonSet kube-system/cilium runs ${AGENT}, which no pre-flight DaemonSet pulls`,
      `DaemonSet kube-system/cilium-envoy runs ${ENVOY}, which no pre-flight DaemonSet pulls`,
    ]);
  });
});
