// The admission policies deny what they should (a corpus of violating objects, one folder per
// policy) and admit what they should (a corpus of compliant objects), evaluated in CEL through
// Gatekeeper's match semantics, with the constraints the component generates for production.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCelError } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import { type KubeObject, parseYaml } from '@homelab/core';
import { testComponent } from '@homelab/core/testing';
import { describe, expect, test, vi } from 'vitest';
import {
  compile,
  evaluateConstraints,
  jsonKey,
  runValidations,
  templatesByKind,
  type VerdictCache,
} from '../src/evaluate.js';
import { policyComponent } from '../src/index.js';
import { POLICY_NAMES } from '../src/templates.js';
import { apps, cni, runPolicy } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

const here = fileURLToPath(new URL('.', import.meta.url));
const EXEMPT = ['gatekeeper-system', 'kube-node-lease', 'kube-public', 'kube-system'];

const run = runPolicy({ clusterAdminBindings: ['break-glass'] });
const templates = run.templates('prod');
const constraints = run.constraints('prod');

function verdicts(object: KubeObject) {
  return evaluateConstraints(templates, constraints, [object], EXEMPT).verdicts;
}

const corpus = POLICY_NAMES.flatMap((policy) =>
  readdirSync(join(here, 'corpus', policy))
    .sort()
    .map((file) => {
      const { expect: message, object } = parseYaml(
        readFileSync(join(here, 'corpus', policy, file), 'utf8'),
      ) as { expect: string; object: KubeObject };
      return [`${policy}/${file}`, policy, message, object] as const;
    }),
);

describe('the corpus of violating objects', () => {
  test('covers every policy', () => {
    expect(new Set(corpus.map(([, policy]) => policy))).toEqual(new Set(POLICY_NAMES));
  });

  test.each(corpus)('%s is denied by its policy with its message', (_, policy, message, object) => {
    const denial = verdicts(object).find((verdict) => verdict.constraint.metadata.name === policy);
    expect(denial, `${policy} did not match the object`).toBeDefined();
    expect(denial?.messages).toContain(message);
  });
});

describe('the corpus of compliant objects', () => {
  const files = readdirSync(join(here, 'corpus-compliant')).sort();
  test.each(files)('%s passes every policy it matches', (file) => {
    const object = parseYaml(
      readFileSync(join(here, 'corpus-compliant', file), 'utf8'),
    ) as KubeObject;
    const results = verdicts(object);
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((verdict) => verdict.messages.length > 0)).toEqual([]);
  });
});

describe('exemptions and Gatekeeper semantics', () => {
  const privileged = corpus.find(
    ([name]) => name === 'pod-security/privileged-container.yaml',
  )?.[3] as KubeObject;
  const moved = (namespace: string): KubeObject => ({
    ...privileged,
    metadata: { ...privileged.metadata, namespace },
  });

  test('pod security does not apply in the namespaces components declare privileged, and nothing applies in system namespaces', () => {
    const inStorage = verdicts(moved('longhorn-system'));
    expect(inStorage.map((verdict) => verdict.constraint.metadata.name)).not.toContain(
      'pod-security',
    );
    const inSystem = evaluateConstraints(templates, constraints, [moved('kube-system')], EXEMPT);
    expect(inSystem.verdicts).toEqual([]);
    expect(inSystem.exempt).toHaveLength(1);
  });

  test('an exemption in the definition excludes its namespace from that policy only, with its reason on the constraint', () => {
    const exempted = runPolicy({
      exemptions: [
        {
          policy: 'pod-security',
          namespace: 'apps',
          reason: 'the legacy app needs root until it is rebuilt',
        },
      ],
    });
    const podSecurity = exempted
      .constraints('prod')
      .find((c) => c.metadata.name === 'pod-security') as KubeObject & {
      spec: { match: { excludedNamespaces: string[] } };
    };
    expect(podSecurity.spec.match.excludedNamespaces).toContain('apps');
    expect(
      JSON.parse(podSecurity.metadata.annotations?.['homelab.dev/exemptions'] ?? '[]'),
    ).toContainEqual({
      namespace: 'apps',
      reason: 'the legacy app needs root until it is rebuilt',
    });
    const results = evaluateConstraints(
      exempted.templates('prod'),
      exempted.constraints('prod'),
      [privileged],
      EXEMPT,
    ).verdicts;
    expect(results.map((verdict) => verdict.constraint.metadata.name)).not.toContain(
      'pod-security',
    );
    expect(results.map((verdict) => verdict.constraint.metadata.name)).toContain('allowed-images');
  });

  test('an image without a registry is on Docker Hub (library/ for a bare name), as the runtime pulls it', () => {
    const pod = (...images: string[]): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'apps' },
      spec: { containers: images.map((image, index) => ({ name: `c${index}`, image })) },
    });
    const denied = (registries: string[], object: KubeObject): string[] => {
      const only = runPolicy({ allowedRegistries: registries });
      return evaluateConstraints(only.templates('prod'), only.constraints('prod'), [object], EXEMPT)
        .verdicts.filter((verdict) => verdict.constraint.metadata.name === 'allowed-images')
        .flatMap((verdict) => verdict.messages);
    };
    const images = pod(
      'longhornio/longhorn-ui:v1.8.1',
      'busybox:1.36',
      'localhost/dev:1',
      'registry:5000/x:1',
    );
    expect(denied(['docker.io/', 'localhost/', 'registry:5000/'], images)).toEqual([]);
    expect(denied(['docker.io/library/'], images)).toEqual([
      'images from a registry that is not allowed: longhornio/longhorn-ui:v1.8.1, localhost/dev:1, registry:5000/x:1',
    ]);
    expect(denied(['docker.io/longhornio/'], images)).toEqual([
      'images from a registry that is not allowed: busybox:1.36, localhost/dev:1, registry:5000/x:1',
    ]);
    expect(denied(['ghcr.io/'], pod('ghcr.io/spiffe/spire-agent:1.9.6'))).toEqual([]);
  });

  test('a cluster-admin binding a component declares is allowed, by name, with its reason on the constraint', () => {
    const binding = (name: string): KubeObject =>
      ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'cluster-admin',
        },
        subjects: [],
      }) as KubeObject;
    const messages = (name: string) =>
      verdicts(binding(name))
        .filter((verdict) => verdict.constraint.metadata.name === 'cluster-admin')
        .flatMap((verdict) => verdict.messages);
    expect(messages('storage-support')).toEqual([]);
    expect(messages('break-glass')).toEqual([]);
    expect(messages('other')).toEqual([
      'binds cluster-admin and is not in the allow list (break-glass, storage-support)',
    ]);
    const clusterAdmin = constraints.find((c) => c.metadata.name === 'cluster-admin');
    expect(
      JSON.parse(
        clusterAdmin?.metadata.annotations?.['homelab.dev/cluster-admin-bindings'] ?? '[]',
      ),
    ).toEqual([
      { name: 'storage-support', component: 'storage', reason: 'its chart binds it, no switch' },
    ]);
  });

  test("a policy a component declares its chart cannot satisfy excludes the component's namespace from that policy only", () => {
    const unlabelled: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'manager', namespace: 'longhorn-system' },
      spec: { template: { spec: { containers: [{ name: 'm', image: 'longhornio/m:v1' }] } } },
    } as KubeObject;
    const names = verdicts(unlabelled).map((verdict) => verdict.constraint.metadata.name);
    expect(names).not.toContain('required-labels');
    expect(names).toContain('resource-requests');
    const elsewhere = verdicts({
      ...unlabelled,
      metadata: { name: 'manager', namespace: 'apps' },
    }).find((verdict) => verdict.constraint.metadata.name === 'required-labels');
    expect(elsewhere?.messages).toEqual(['missing labels: app.kubernetes.io/part-of']);
    const requiredLabels = constraints.find((c) => c.metadata.name === 'required-labels');
    expect(
      JSON.parse(requiredLabels?.metadata.annotations?.['homelab.dev/exemptions'] ?? '[]'),
    ).toContainEqual({
      namespace: 'longhorn-system',
      reason: 'declared by storage: its chart takes no labels',
    });
  });

  test("an exemption naming some of the Application's namespaces leaves the others under the policy", () => {
    const storageTwo = testComponent({
      name: 'storage',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace: 'longhorn-system',
          additionalNamespaces: ['storage-jobs'],
          podSecurity: 'privileged',
          policyExemptions: [
            {
              policy: 'required-labels',
              reason: 'its chart takes no labels',
              namespaces: ['longhorn-system'],
            },
          ],
          clusterResources: [],
        },
      }),
    });
    const run = runPolicy({}, [cni, apps, storageTwo, policyComponent]);
    const requiredLabels = run
      .constraints('dev')
      .find((constraint) => constraint.metadata.name === 'required-labels');
    const exempted = JSON.parse(
      requiredLabels?.metadata.annotations?.['homelab.dev/exemptions'] ?? '[]',
    ) as { namespace: string }[];
    expect(exempted.map((entry) => entry.namespace)).toContain('longhorn-system');
    expect(exempted.map((entry) => entry.namespace)).not.toContain('storage-jobs');
  });

  test('an exemption for a namespace no component uses is an error at the exemption', () => {
    const stale = runPolicy({
      exemptions: [
        { policy: 'host-paths', namespace: 'nobody', reason: 'left over from an old app' },
      ],
    });
    expect(
      stale.issues.map((issue) => [issue.code, issue.path.slice(-3), issue.message]),
    ).toContainEqual([
      'policy-exemption',
      ['exemptions', 0, 'namespace'],
      'is exempted from host-paths, but no component runs in this namespace on any cluster',
    ]);
  });

  test('an object the expressions cannot evaluate is denied, as Gatekeeper fails closed for CEL', () => {
    const broken: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', namespace: 'apps' },
      spec: {},
    };
    const denial = verdicts(broken).find(
      (verdict) => verdict.constraint.metadata.name === 'resource-requests',
    );
    expect(denial?.messages[0]).toMatch(/^variable podSpec fails to evaluate: /);
  });

  test('kinds a constraint does not match are not evaluated by it', () => {
    const service = parseYaml(
      readFileSync(join(here, 'corpus-compliant', 'service.yaml'), 'utf8'),
    ) as KubeObject;
    expect(verdicts(service).map((verdict) => verdict.constraint.metadata.name)).toEqual([
      'no-nodeport',
    ]);
  });
});

describe('the verdict cache (objects equal in content are evaluated once)', () => {
  const compliant = readdirSync(join(here, 'corpus-compliant'))
    .sort()
    .map(
      (file) => parseYaml(readFileSync(join(here, 'corpus-compliant', file), 'utf8')) as KubeObject,
    );
  const objects = [...corpus.map(([, , , object]) => object), ...compliant];
  const summary = (result: ReturnType<typeof evaluateConstraints>) =>
    result.verdicts.map((verdict) => [
      verdict.constraint.metadata.name,
      verdict.object.metadata.name,
      verdict.messages,
    ]);

  test('gives the verdicts of an evaluation without it on both corpora, on every copy of an object', () => {
    // Every object twice, the copy a distinct but equal object (as on another cluster).
    const twice = [...objects, ...objects.map((object) => structuredClone(object))];
    const cache: VerdictCache = new Map();
    const cached = evaluateConstraints(templates, constraints, twice, EXEMPT, cache);
    const uncached = evaluateConstraints(templates, constraints, twice, EXEMPT);
    expect(summary(cached)).toEqual(summary(uncached));
    expect(cached.verdicts.filter((verdict) => verdict.messages.length > 0).length).toBeGreaterThan(
      corpus.length,
    );
    // Each copy was answered from the cache: half as many evaluations as verdicts.
    expect(cache.size).toBe(uncached.verdicts.length / 2);
  });

  test('tells apart objects that differ in one value, and does not cache what JSON would change', () => {
    const privileged = corpus.find(
      ([name]) => name === 'pod-security/privileged-container.yaml',
    )?.[3] as KubeObject;
    const fixed = JSON.parse(
      JSON.stringify(privileged).replace('"privileged":true', '"privileged":false'),
    ) as KubeObject;
    expect(fixed).not.toEqual(privileged);
    const cache: VerdictCache = new Map();
    const names = (object: KubeObject) =>
      evaluateConstraints(templates, constraints, [object], EXEMPT, cache)
        .verdicts.filter((verdict) => verdict.messages.length > 0)
        .map((verdict) => verdict.constraint.metadata.name);
    expect(names(privileged)).toContain('pod-security');
    expect(names(fixed)).not.toContain('pod-security');
    expect(names(privileged)).toContain('pod-security');

    expect(jsonKey({ a: 1, b: 'x' })).toBe('{"a":1,"b":"x"}');
    expect(jsonKey({ a: undefined })).toBeUndefined();
    expect(jsonKey([Number.NaN])).toBeUndefined();
    expect(jsonKey({ a: -0 })).toBeUndefined();
    expect(jsonKey({ when: new Date(0) })).toBeUndefined();
    const size = cache.size;
    const withUndefined = {
      ...privileged,
      metadata: { ...privileged.metadata, annotations: undefined },
    } as unknown as KubeObject;
    expect(names(withUndefined)).toContain('pod-security');
    expect(cache.size).toBe(size);
  });
});

describe("CEL's matches, as Gatekeeper runs it (RE2)", () => {
  test('compiles each pattern once, however many objects it runs on', () => {
    const compileSpy = vi.spyOn(RE2JS, 'compile');
    try {
      const program = compile("variables.image.matches('^(.*/)?[^/:@]+:[^/:@]+-once$')");
      const results = ['a/b:1-once', 'b:2-once', 'c:latest', 'd'].map((image) =>
        program({ variables: { image } }),
      );
      expect(results).toEqual([true, true, false, false]);
      expect(
        compileSpy.mock.calls.filter(([pattern]) => pattern === '^(.*/)?[^/:@]+:[^/:@]+-once$'),
      ).toHaveLength(1);
    } finally {
      compileSpy.mockRestore();
    }
  });

  test("keeps RE2's syntax: a lookahead JavaScript would accept is an error", () => {
    const result = compile("'abc'.matches('a(?=b)')")({});
    expect(isCelError(result)).toBe(true);
    expect(compile("'abc'.matches('^a[b]c$')")({})).toBe(true);
  });
});

describe('the Pods controllers make from a workload later', () => {
  // What the API server admits when a ReplicaSet, DaemonSet, StatefulSet or Job controller
  // creates a Pod: the pod template's metadata and spec, the workload's namespace, a
  // generateName and no name yet, a controller ownerReference.
  const CONTROLLED = ['CronJob', 'DaemonSet', 'Deployment', 'Job', 'ReplicaSet', 'StatefulSet'];
  function podOf(workload: KubeObject): KubeObject | undefined {
    if (!CONTROLLED.includes(workload.kind)) return undefined;
    const spec = (workload.spec ?? {}) as {
      template?: { metadata?: object; spec?: object };
      jobTemplate?: { spec?: { template?: { metadata?: object; spec?: object } } };
    };
    const template = workload.kind === 'CronJob' ? spec.jobTemplate?.spec?.template : spec.template;
    if (template?.spec === undefined) return undefined;
    const { name: _name, ...metadata } = (template.metadata ?? {}) as { name?: string };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...metadata,
        generateName: `${workload.metadata.name}-`,
        ...(workload.metadata.namespace === undefined
          ? {}
          : { namespace: workload.metadata.namespace }),
        ownerReferences: [
          { apiVersion: workload.apiVersion, kind: workload.kind, name: 'owner', controller: true },
        ],
      },
      spec: template.spec,
    } as unknown as KubeObject;
  }
  const POD_POLICIES = ['pod-security', 'allowed-images', 'resource-requests', 'host-paths'];
  const messagesOf = (object: KubeObject) =>
    verdicts(object)
      .filter((verdict) => POD_POLICIES.includes(verdict.constraint.metadata.name))
      .map((verdict) => [verdict.constraint.metadata.name, verdict.messages]);
  const workloads = [
    ...corpus.map(([name, , , object]) => [name, object] as const),
    ...readdirSync(join(here, 'corpus-compliant'))
      .sort()
      .map(
        (file) =>
          [
            file,
            parseYaml(readFileSync(join(here, 'corpus-compliant', file), 'utf8')) as KubeObject,
          ] as const,
      ),
  ].filter(([, object]) => podOf(object) !== undefined);

  test('are in both corpora, of every workload kind there', () => {
    expect(new Set(workloads.map(([, object]) => object.kind)).size).toBeGreaterThan(1);
  });

  test.each(workloads)(
    "%s: its Pods get the workload's verdicts of every pod policy (the check, evaluating workloads, covers them)",
    (_, workload) => {
      const pod = podOf(workload) as KubeObject;
      expect(messagesOf(pod)).toEqual(messagesOf(workload));
    },
  );
});

// An UPDATE that leaves what a policy checks as it was is admitted (templates.ts,
// withUpdateGuard): an object admitted before a rule got stricter can still be scaled, relabelled
// elsewhere, or have its finalizers removed. One that changes the checked part is checked.
describe('updates of objects that break a policy', () => {
  const sources = templatesByKind(templates);
  const check = (policy: string, object: KubeObject, old?: KubeObject) => {
    const constraint = constraints.find((entry) => entry.metadata.name === policy) as KubeObject;
    const source = sources.get(constraint.kind);
    if (source === undefined) throw new Error(`no template for ${constraint.kind}`);
    const parameters = (constraint.spec as { parameters?: never }).parameters;
    return runValidations(source, object, parameters, old);
  };
  /** The object with `change` applied to a deep copy. */
  const edited = (object: KubeObject, change: (copy: AnyJson) => void): KubeObject => {
    const copy = structuredClone(object) as AnyJson;
    change(copy);
    return copy as KubeObject;
  };
  const podSpecOf = (object: AnyJson): AnyJson =>
    object.kind === 'Pod'
      ? object.spec
      : object.kind === 'CronJob'
        ? object.spec.jobTemplate.spec.template.spec
        : object.spec.template.spec;
  /** What each policy checks, changed in the object before the update. */
  const CHECKED: { readonly [policy: string]: (copy: AnyJson) => void } = {
    'pod-security': (copy) => {
      podSpecOf(copy).terminationGracePeriodSeconds = 7;
    },
    'allowed-images': (copy) => {
      podSpecOf(copy).terminationGracePeriodSeconds = 7;
    },
    'resource-requests': (copy) => {
      podSpecOf(copy).terminationGracePeriodSeconds = 7;
    },
    'host-paths': (copy) => {
      podSpecOf(copy).terminationGracePeriodSeconds = 7;
    },
    'required-labels': (copy) => {
      copy.metadata.labels = { ...(copy.metadata.labels ?? {}), was: 'other' };
    },
    'no-nodeport': (copy) => {
      copy.spec.type = 'ClusterIP';
      delete copy.spec.externalIPs;
    },
    'cluster-admin': (copy) => {
      copy.subjects = [...(copy.subjects ?? []), { kind: 'User', name: 'someone-else' }];
    },
    'monitor-files': (copy) => {
      copy.spec.jobLabel = 'edited';
    },
    'provider-token': (copy) => {
      // A Prometheus Operator object's whole spec is what it checks
      if (copy.apiVersion.startsWith('monitoring.coreos.com/')) copy.spec.jobLabel = 'edited';
      else podSpecOf(copy).terminationGracePeriodSeconds = 7;
    },
  };

  test('every policy says what it checks', () => {
    expect(Object.keys(CHECKED).sort()).toEqual([...POLICY_NAMES].sort());
  });

  test.each(corpus)(
    '%s: denied on CREATE, admitted on an UPDATE that changes nothing it checks, denied on one that does',
    (_, policy, message, object) => {
      expect(check(policy, object)).toContain(message);
      // A scale, a new annotation and a finalizer removed: what controllers and Argo CD do
      const untouched = edited(object, (copy) => {
        copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), touched: 'yes' };
        copy.metadata.finalizers = ['foregroundDeletion'];
        if (copy.spec !== undefined && 'replicas' in copy.spec) copy.spec.replicas = 5;
      });
      expect(check(policy, object, untouched)).toEqual([]);
      const before = edited(object, CHECKED[policy] as (copy: AnyJson) => void);
      expect(check(policy, object, before)).toContain(message);
    },
  );
});
