// The shortcuts of `evaluateConstraints` (constraints selected by kind before anything else, each
// constraint's `spec.match` read once and its namespace answers remembered, an object converted to
// CEL values once for every constraint, RE2 answers remembered) give the verdicts of the plain
// evaluation: every constraint tested with `matches` on every object, then `runValidations`.
import { isCelError, isCelList, isCelMap } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import type { KubeObject } from '@homelab/core';
import { describe, expect, test, vi } from 'vitest';
import {
  cachedRe2,
  type celSource,
  celValue,
  compile,
  evaluateConstraints,
  matches,
  namespaceOf,
  runValidations,
  templatesByKind,
  type VerdictCache,
  withoutNulls,
} from '../src/evaluate.js';
import { corpusObjects, runPolicy } from './helpers.js';

const EXEMPT = ['gatekeeper-system', 'kube-node-lease', 'kube-public', 'kube-system'];

const run = runPolicy({ clusterAdminBindings: ['break-glass'] });
const templates = run.templates('prod');

const corpus = corpusObjects();

/** The evaluation without shortcuts, as Gatekeeper describes it. */
function plainly(
  constraints: readonly KubeObject[],
  objects: readonly KubeObject[],
): (readonly [string, number, readonly string[]])[] {
  const byKind = templatesByKind(templates);
  const out: (readonly [string, number, readonly string[]])[] = [];
  objects.forEach((object, index) => {
    const namespace = namespaceOf(object);
    if (namespace !== undefined && EXEMPT.includes(namespace)) return;
    for (const constraint of constraints) {
      const source = byKind.get(constraint.kind);
      if (source === undefined || !matches(constraint, object)) continue;
      const parameters = (constraint.spec as { parameters?: never } | undefined)?.parameters;
      out.push([constraint.metadata.name, index, runValidations(source, object, parameters)]);
    }
  });
  return out;
}

function summary(
  constraints: readonly KubeObject[],
  objects: readonly KubeObject[],
  cache?: VerdictCache,
): (readonly [string, number, readonly string[]])[] {
  return evaluateConstraints(templates, constraints, objects, EXEMPT, cache).verdicts.map(
    (verdict) =>
      [
        verdict.constraint.metadata.name,
        objects.indexOf(verdict.object),
        verdict.messages,
      ] as const,
  );
}

/** A copy of a constraint with its `spec.match` changed. */
function withMatch(constraint: KubeObject, name: string, match: object): KubeObject {
  const spec = constraint.spec as { match: object };
  return {
    ...constraint,
    metadata: { ...constraint.metadata, name },
    spec: { ...spec, match: { ...spec.match, ...match } },
  };
}

/** The corpus's deployment, moved and renamed. */
const deployment = corpus.find(
  (object) => object.kind === 'Deployment' && object.metadata.name === 'web',
) as KubeObject;
function placed(namespace: string, name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    ...deployment,
    metadata: { ...deployment.metadata, namespace, name, labels },
  };
}

describe('selecting and evaluating with shortcuts', () => {
  test('gives the verdicts of testing every constraint on every object, on both corpora', () => {
    const constraints = run.constraints('prod');
    const plain = plainly(constraints, corpus);
    expect(plain.some(([, , messages]) => messages.length > 0)).toBe(true);
    expect(summary(constraints, corpus)).toEqual(plain);
    expect(summary(constraints, corpus, new Map())).toEqual(plain);
  });

  test('evaluates an object its kinds, namespaces and name select, and no other', () => {
    // Given constraints that select by namespace list, by name and by labels (which the
    // evaluation does not read: Gatekeeper's labelSelector is not among the platform's matches),
    const resourceRequests = run
      .constraints('prod')
      .find((constraint) => constraint.metadata.name === 'resource-requests') as KubeObject;
    const constraints = [
      resourceRequests,
      withMatch(resourceRequests, 'in-apps', { namespaces: ['app*'] }),
      withMatch(resourceRequests, 'named-web', { name: 'web-*' }),
      withMatch(resourceRequests, 'not-in-team', { excludedNamespaces: ['team-*'] }),
      withMatch(resourceRequests, 'labelled', {
        labelSelector: { matchLabels: { tier: 'front' } },
      }),
    ];
    // when objects differ in kind, namespace, name and labels,
    const objects = [
      placed('apps', 'web-1', { tier: 'front' }),
      placed('apps', 'worker'),
      placed('team-a', 'web-2'),
      placed('kube-system', 'web-3'),
      { ...placed('apps', 'web-4'), kind: 'ConfigMap', apiVersion: 'v1' } as KubeObject,
      { ...placed('apps', 'web-5'), kind: 'ReplicaSet' } as KubeObject,
      { ...placed('apps', 'web-6'), apiVersion: 'extensions/v1beta1' } as KubeObject,
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-b' },
      } as KubeObject,
    ];
    // then each constraint evaluates exactly what `matches` selects, with the same messages.
    const shortcut = summary(constraints, objects);
    expect(shortcut).toEqual(plainly(constraints, objects));
    const evaluated = (name: string) =>
      shortcut.filter(([constraint]) => constraint === name).map(([, index]) => index);
    expect(evaluated('resource-requests')).toEqual([0, 1, 2, 5]);
    expect(evaluated('in-apps')).toEqual([0, 1, 5]);
    expect(evaluated('named-web')).toEqual([0, 2, 5]);
    expect(evaluated('not-in-team')).toEqual([0, 1, 5]);
    expect(evaluated('labelled')).toEqual([0, 1, 2, 5]);
  });
});

/** A CEL result as plain data: lists and maps materialised, errors by their message. */
function shown(value: unknown): unknown {
  if (isCelError(value)) return `error: ${value.message}`;
  if (isCelList(value)) return [...value].map(shown);
  if (isCelMap(value)) return [...value].map(([key, item]) => [key, shown(item)]);
  if (typeof value === 'bigint') return `${value}n`;
  return value;
}

describe('objects converted to CEL values once', () => {
  const odd: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'apps' },
    spec: {
      containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 80 }] }],
      missing: undefined,
      when: new Date(0),
      bare: Object.assign(Object.create(null), { a: 1 }),
      shadowed: { constructor: 'x' },
      holes: [1, undefined, 3],
    },
  } as unknown as KubeObject;
  const expressions = [
    'object.spec.containers[0].ports[0].containerPort == 80',
    'object.spec.containers.map(c, c.name)',
    "has(object.spec.missing) ? 'set' : 'unset'",
    'object.spec.missing',
    'object.spec.when',
    'object.spec.bare.a',
    'object.spec.shadowed.constructor',
    'object.spec.holes[1]',
    'object.spec.holes[2]',
    'size(object.spec)',
    "object.metadata == {'name': 'p', 'namespace': 'apps'}",
    "'missing' in object.spec",
  ];

  test.each(expressions)('read %s as the library reads the object itself', (expression) => {
    const program = compile(expression);
    const direct = program({ object: odd });
    const converted = program({ object: celValue(odd) });
    expect(shown(converted)).toEqual(shown(direct));
  });

  test('leaves what the library would not convert to a map or list as it is', () => {
    const spec = (odd.spec ?? {}) as Record<string, unknown>;
    expect(celValue(spec.when)).toBe(spec.when);
    expect(celValue(spec.bare)).toBe(spec.bare);
    expect(celValue(spec.shadowed)).toBe(spec.shadowed);
    expect(celValue('text')).toBe('text');
    expect(celValue(null)).toBe(null);
  });
});

describe('validations on objects converted once, with each variable bound by its full name', () => {
  /**
   * The evaluation as it was before these shortcuts: the object, the request and the parameters
   * bound as they are (the library converts them on every read), `variables` a record.
   */
  function unconverted(
    source: NonNullable<ReturnType<typeof celSource>>,
    object: KubeObject,
    parameters: unknown,
  ): string[] {
    const variables: Record<string, unknown> = {
      anyObject: object,
      params: parameters === undefined ? null : parameters,
    };
    const [group, version] = object.apiVersion.includes('/')
      ? object.apiVersion.split('/')
      : ['', object.apiVersion];
    const bindings = {
      object,
      oldObject: null,
      request: {
        operation: 'CREATE',
        kind: { group, version, kind: object.kind },
        name: object.metadata.name,
        namespace: object.metadata.namespace ?? '',
      },
      variables,
    };
    for (const variable of source.variables) {
      const value = compile(variable.expression)(bindings);
      if (isCelError(value)) {
        return [`variable ${variable.name} fails to evaluate: ${value.message}`];
      }
      variables[variable.name] = value;
    }
    const messages: string[] = [];
    for (const validation of source.validations) {
      const result = compile(validation.expression)(bindings);
      if (isCelError(result)) {
        messages.push(`evaluation error (denied): ${result.message}`);
        continue;
      }
      if (result === true) continue;
      const message =
        validation.messageExpression === undefined
          ? undefined
          : compile(validation.messageExpression)(bindings);
      messages.push(
        message === undefined || isCelError(message)
          ? (validation.message ?? `failed: ${validation.expression}`)
          : String(isCelList(message) ? [...message] : message),
      );
    }
    return messages;
  }

  test('give the messages of the objects bound as they are, for every template on every object', () => {
    const byKind = templatesByKind(templates);
    const constraints = run.constraints('prod');
    const broken = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'odd', namespace: 'apps' },
        spec: {
          containers: [
            { name: 'a', image: 'x:1', securityContext: new Date(0) },
            { name: 'b', image: undefined, ports: [{ hostPort: 'eighty' }] },
          ],
          hostNetwork: Object.create(null),
        },
      },
    ] as unknown as KubeObject[];
    let compared = 0;
    let failing = 0;
    for (const object of [...corpus, ...broken]) {
      for (const constraint of constraints) {
        const source = byKind.get(constraint.kind);
        if (source === undefined) continue;
        const parameters = (constraint.spec as { parameters?: never }).parameters;
        const messages = runValidations(source, object, parameters);
        expect(messages).toEqual(unconverted(source, object, parameters));
        compared += 1;
        if (messages.length > 0) failing += 1;
      }
    }
    expect(compared).toBe((corpus.length + broken.length) * constraints.length);
    expect(failing).toBeGreaterThan(corpus.length);
  });

  test('a variable whose name is not an identifier is found only as `variables` finds it', () => {
    const source = {
      variables: [
        { name: 'a.b', expression: '1' },
        { name: 'a', expression: "{'b': 2}" },
        { name: 'params', expression: "'shadowed'" },
      ],
      validations: [
        {
          expression: 'variables.a.b == 1',
          messageExpression: "'a.b is ' + string(variables.a.b)",
        },
        { expression: "variables['a.b'] == 2", messageExpression: "'[a.b] is 1'" },
        { expression: "variables.params == 'shadowed'", message: 'params not shadowed' },
        { expression: 'variables.missing == 1', message: 'no such variable' },
      ],
    };
    const object = corpus[0] as KubeObject;
    const messages = runValidations(source, object, { x: 1 });
    expect(messages).toEqual(unconverted(source, object, { x: 1 }));
    expect(messages).toEqual([
      'a.b is 2',
      '[a.b] is 1',
      'evaluation error (denied): field not found: missing',
    ]);
  });
});

describe('null members, as admission sees the object', () => {
  // A chart's `volumes: null`: the API server decodes it into the typed PodSpec, where the
  // omitempty field is simply absent; Kubernetes' CEL would count it present.
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'operator', namespace: 'monitoring' },
    spec: { replicas: 1, volumes: null, containers: [{ name: 'a' }, null] },
  } as unknown as KubeObject;
  const source = {
    variables: [],
    validations: [
      { expression: 'size(object.spec) == 2', message: 'a null member counted' },
      { expression: '!has(object.spec.volumes)', message: 'a null member present' },
      { expression: 'size(object.spec.containers) == 2', message: 'a list item dropped' },
    ],
  };

  test('are no members: neither has() nor size() sees them; a list keeps its length', () => {
    expect(runValidations(source, deployment, undefined)).toEqual([]);
    // Without the step, @bufbuild/cel counts the null member in size() (and has() denies it)
    const raw = { object: celValue(deployment) };
    expect(compile('size(object.spec)')(raw)).toBe(3n);
    expect(compile('has(object.spec.volumes)')(raw)).toBe(false);
  });

  test('withoutNulls drops null members at every depth and nothing else', () => {
    expect(withoutNulls({ a: null, b: { c: null, d: 0, e: '' }, f: [null, { g: null }] })).toEqual({
      b: { d: 0, e: '' },
      f: [null, {}],
    });
  });
});

describe('RE2 answers remembered', () => {
  test('are the answers of RE2, and each text runs through RE2 once', () => {
    const pattern = '^(localhost|[^/]*[.:][^/]*)/remembered';
    const texts = ['ghcr.io/remembered', 'library/remembered', 'localhost/remembered', 'x', ''];
    const testSpy = vi.spyOn(RE2JS.prototype, 'test');
    try {
      const matcher = cachedRe2.compile(pattern);
      const answers = [...texts, ...texts].map((text) => matcher.test(text));
      const reference = RE2JS.compile(pattern);
      expect(answers).toEqual([...texts, ...texts].map((text) => reference.test(text)));
      expect(answers.slice(0, texts.length)).toEqual([true, false, true, false, false]);
      // Five texts through the remembering matcher, ten through the reference.
      expect(testSpy).toHaveBeenCalledTimes(texts.length + 2 * texts.length);
    } finally {
      testSpy.mockRestore();
    }
  });

  test('an invalid pattern still fails, each time', () => {
    expect(() => cachedRe2.compile('a(?=b)')).toThrow();
    expect(() => cachedRe2.compile('a(?=b)')).toThrow();
  });
});
