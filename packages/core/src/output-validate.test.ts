import { beforeAll, describe, expect, it } from 'vitest';
import {
  jsonSchemaValidator,
  loadModelValidators,
  manifestSource,
  type ObjectValidator,
  validateObjects,
} from './output-validate.js';
import type { KubeObject } from './types.js';

const deployment = (spec: Record<string, unknown>): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'apps' },
    spec,
  }) as KubeObject;

const validDeploymentSpec = {
  replicas: 2,
  selector: { matchLabels: { app: 'web' } },
  template: {
    metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
  },
};

let core: readonly ObjectValidator[] = [];
beforeAll(async () => {
  core = await loadModelValidators();
});

describe('validateObjects with core kinds', () => {
  it('accepts valid core objects', () => {
    const issues = validateObjects(
      [
        { source: manifestSource('demo', 'web'), object: deployment(validDeploymentSpec) },
        {
          source: manifestSource('demo', 'ns'),
          object: {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: 'apps', labels: { a: 'b' } },
          },
        },
        {
          source: manifestSource('demo', 'pdb'),
          object: {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: 'web' },
            spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
          },
        },
      ],
      core,
    );
    expect(issues).toEqual([]);
  });

  it("validates admission policies and their bindings (Cilium 1.20's gateway.cilium.io)", () => {
    const policy = (validationActions: string[] | string): KubeObject[] => [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'gateway.cilium.io' },
        spec: {
          failurePolicy: 'Fail',
          validations: [{ expression: 'true', message: 'ok' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: 'gateway.cilium.io' },
        spec: { policyName: 'gateway.cilium.io', validationActions },
      },
    ];
    const check = (objects: KubeObject[]) =>
      validateObjects(
        objects.map((object, index) => ({ source: manifestSource('demo', `p${index}`), object })),
        core,
      ).map((issue) => [issue.output, issue.message]);
    expect(check(policy(['Deny']))).toEqual([]);
    expect(check(policy('Deny'))).toEqual([
      [
        'charts/demo#manifests.p1.spec.validationActions',
        'must be array (admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding)',
      ],
    ]);
  });

  it('names the chart, the manifest key and the path of a bad Deployment field', () => {
    const spec = {
      ...validDeploymentSpec,
      replicas: 'two',
      template: { ...validDeploymentSpec.template, spec: { containers: [{ image: 'nginx' }] } },
    };
    const issues = validateObjects(
      [{ source: manifestSource('demo', 'web'), object: deployment(spec) }],
      core,
    );
    expect(issues.map((issue) => [issue.output, issue.message])).toEqual([
      ['charts/demo#manifests.web.spec.replicas', 'must be integer (apps/v1 Deployment)'],
      [
        'charts/demo#manifests.web.spec.template.spec.containers[0].name',
        'is required (apps/v1 Deployment)',
      ],
    ]);
    expect(
      issues.every((issue) => issue.severity === 'error' && issue.code === 'object-schema'),
    ).toBe(true);
  });

  it('catches a Namespace label that is not a string', () => {
    const issues = validateObjects(
      [
        {
          source: 'clusters/dev/namespaces.yaml',
          object: {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: 'x', labels: { tier: 1 as unknown as string } },
          },
        },
      ],
      core,
    );
    expect(issues.map((issue) => issue.output)).toEqual([
      'clusters/dev/namespaces.yaml.metadata.labels.tier',
    ]);
  });

  it('checks a Pod (what Helm test hooks render) against its schema', () => {
    const pod = (containers: unknown): KubeObject =>
      ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 't' },
        spec: { containers },
      }) as KubeObject;
    const issues = validateObjects(
      [
        { source: 'ok', object: pod([{ name: 'c', image: 'busybox:1' }]) },
        { source: 'bad', object: pod([{ name: 'c', image: 'busybox:1', ports: 80 }]) },
      ],
      core,
    );
    expect(issues.map((issue) => issue.output)).toEqual(['bad.spec.containers[0].ports']);
  });

  it('checks Endpoints (scrape targets without a selector) against their schema', () => {
    const endpoints = (port: unknown): KubeObject =>
      ({
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'etcd', namespace: 'kube-system' },
        subsets: [{ addresses: [{ ip: '10.0.0.11' }], ports: [{ name: 'http-metrics', port }] }],
      }) as KubeObject;
    const issues = validateObjects(
      [
        { source: 'ok', object: endpoints(2381) },
        { source: 'bad', object: endpoints('2381') },
      ],
      core,
    );
    expect(issues.map((issue) => issue.output)).toEqual(['bad.subsets[0].ports[0].port']);
  });

  it('checks a CustomResourceDefinition (what charts render with --include-crds) against its schema', () => {
    const crd = (scope: unknown): KubeObject =>
      ({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
        spec: {
          group: 'example.com',
          names: { kind: 'Widget', plural: 'widgets' },
          scope,
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object' } },
            },
          ],
        },
      }) as KubeObject;
    const issues = validateObjects(
      [
        { source: 'ok', object: crd('Namespaced') },
        { source: 'bad', object: crd(7) },
      ],
      core,
    );
    expect(issues.map((issue) => issue.output)).toEqual(['bad.spec.scope']);
  });

  it('refuses an object no validator knows', () => {
    const issues = validateObjects(
      [
        {
          source: manifestSource('cilium', 'x'),
          object: { apiVersion: 'cilium.io/v2', kind: 'Foo', metadata: { name: 'x' } },
        },
      ],
      core,
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain('no schema for cilium.io/v2 Foo');
    expect(issues[0]?.output).toBe('charts/cilium#manifests.x');
  });

  it('refuses even a core kind when no validator is passed for it', () => {
    const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } };
    expect(
      validateObjects([{ source: 's', object: namespace }], []).map((issue) => issue.code),
    ).toEqual(['object-no-schema']);
  });

  it('reports an object without a name', () => {
    const issues = validateObjects(
      [
        {
          source: 's',
          object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as unknown as KubeObject,
        },
      ],
      core,
    );
    expect(issues.map((issue) => [issue.output, issue.code])).toEqual([
      ['s.metadata.name', 'object-shape'],
    ]);
  });
});

describe('jsonSchemaValidator for custom resources', () => {
  const poolSchema = {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        required: ['blocks'],
        properties: {
          blocks: {
            type: 'array',
            items: { type: 'object', properties: { cidr: { type: 'string' } } },
          },
          serviceSelector: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
            properties: {},
          },
          mode: { type: 'string', enum: ['a', 'b'] },
        },
      },
    },
  };
  const validator = jsonSchemaValidator('cilium.io/v2', 'CiliumLoadBalancerIPPool', poolSchema);
  const pool = (spec: Record<string, unknown>): KubeObject =>
    ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: 'p' },
      spec,
    }) as KubeObject;

  it('accepts a valid object, including free-form fields where the schema preserves them', () => {
    const issues = validateObjects(
      [
        {
          source: 's',
          object: pool({ blocks: [{ cidr: '10.0.0.0/24' }], serviceSelector: { anything: 1 } }),
        },
      ],
      [...core, validator],
    );
    expect(issues).toEqual([]);
  });

  it('reports unknown fields, missing required fields and bad enum values with their paths', () => {
    const issues = validateObjects(
      [{ source: 's', object: pool({ blocks: [{ cidr: '10.0.0.0/24', cdir: 'x' }], mode: 'c' }) }],
      [...core, validator],
    );
    expect(issues.map((issue) => [issue.output, issue.message])).toEqual([
      [
        's.spec.blocks[0].cdir',
        'is not a field of this kind (cilium.io/v2 CiliumLoadBalancerIPPool)',
      ],
      ['s.spec.mode', 'must be one of "a", "b" (cilium.io/v2 CiliumLoadBalancerIPPool)'],
    ]);
  });

  it('accepts unknown fields when not strict', () => {
    const loose = jsonSchemaValidator('cilium.io/v2', 'CiliumLoadBalancerIPPool', poolSchema, {
      strict: false,
    });
    expect(
      validateObjects([{ source: 's', object: pool({ blocks: [], extra: 1 }) }], [loose]),
    ).toEqual([]);
  });
});

describe('loadModelValidators', () => {
  it('loads only the validators of the kinds it is given', async () => {
    const loaded = await loadModelValidators([
      { object: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway' } },
      { object: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' } },
      { object: { apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool' } },
    ]);
    expect(loaded.map((v) => `${v.apiVersion} ${v.kind}`).sort()).toEqual([
      'argoproj.io/v1alpha1 Application',
      'gateway.networking.k8s.io/v1 Gateway',
    ]);
  });

  it('checks Gateway API and Argo CD objects against their models', async () => {
    const gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'platform', namespace: 'kube-system' },
      spec: {
        gatewayClassName: 'cilium',
        listeners: [{ name: 'http', port: 'eighty', protocol: 'HTTP' }],
      },
    } as unknown as KubeObject;
    const application = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'dev-cilium', namespace: 'argocd' },
      spec: {
        project: 'platform',
        destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' },
        source: { repoURL: 'https://example.com/r.git', path: 'charts/cilium', targetRevision: 1 },
      },
    } as unknown as KubeObject;
    const objects = [
      { source: manifestSource('cilium', 'gateway'), object: gateway },
      { source: manifestSource('platform', 'app'), object: application },
    ];
    const issues = validateObjects(objects, await loadModelValidators(objects));
    expect(issues.map((issue) => issue.output)).toEqual([
      'charts/cilium#manifests.gateway.spec.listeners[0].port',
      'charts/platform#manifests.app.spec.source.targetRevision',
    ]);
  });

  it('validates GRPCRoutes against the Gateway API schema', async () => {
    // Given a GRPCRoute whose backend port is a string
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: { name: 'api', namespace: 'apps' },
      spec: {
        parentRefs: [{ name: 'platform', namespace: 'gateway', sectionName: 'https' }],
        hostnames: ['api.lab.example.com'],
        rules: [{ backendRefs: [{ name: 'api', port: 'grpc' }] }],
      },
    } as unknown as KubeObject;
    const objects = [{ source: manifestSource('api', 'grpcroute-api'), object: route }];

    // When the model validators check it
    const issues = validateObjects(objects, await loadModelValidators(objects));

    // Then the port is named (a GRPCRoute has a validator: no "no validator" error)
    expect(issues.map((issue) => issue.output)).toEqual([
      'charts/api#manifests.grpcroute-api.spec.rules[0].backendRefs[0].port',
    ]);
  });

  it('words Argo CD problems like those of the other schema modules, not in the models’ own words', async () => {
    // Given an Application whose hydrator path is empty (minLength 1 and a pattern in the
    // schema) and an AppProject with wrongly typed fields
    const application = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'dev-cilium', namespace: 'argocd' },
      spec: {
        project: 'platform',
        destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' },
        source: { repoURL: 'https://example.com/r.git', path: 'charts/cilium' },
        sourceHydrator: {
          drySource: { repoURL: 'https://example.com/r.git', targetRevision: 'main', path: 'p' },
          syncSource: { targetBranch: 'env/dev', path: '' },
        },
      },
    } as unknown as KubeObject;
    const project = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'platform', namespace: 'argocd' },
      spec: { destinations: [{ server: 3 }], sourceRepos: 'https://example.com/r.git' },
    } as unknown as KubeObject;
    const objects = [
      { source: 'app', object: application },
      { source: 'project', object: project },
    ];

    // When they are validated, twice
    const validators = await loadModelValidators(objects);
    const first = validateObjects(objects, validators);
    const second = validateObjects(objects, validators);

    // Then the messages are core's (`fails minLength 1`, not ajv-i18n's "must NOT have fewer…")
    const expected = [
      'app.spec.sourceHydrator.syncSource.path: fails minLength 1 (argoproj.io/v1alpha1 Application)',
      'app.spec.sourceHydrator.syncSource.path: must match pattern "^.{2,}|[^./]$" (argoproj.io/v1alpha1 Application)',
      'project.spec.destinations[0].server: must be string (argoproj.io/v1alpha1 AppProject)',
      'project.spec.sourceRepos: must be array (argoproj.io/v1alpha1 AppProject)',
    ];
    expect(first.map((issue) => `${issue.output}: ${issue.message}`)).toEqual(expected);
    expect(second.map((issue) => `${issue.output}: ${issue.message}`)).toEqual(expected);
    // and a valid object validated after them has no problem left over from them
    const { sourceHydrator: _dropped, ...validSpec } = application.spec as Record<string, unknown>;
    const valid = { ...application, spec: validSpec } as KubeObject;
    expect(validateObjects([{ source: 'ok', object: valid }], validators)).toEqual([]);
  });
});
