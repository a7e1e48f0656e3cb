// The reachability check reads the policies once: selectors compiled, policies indexed by
// namespace and direction. These tests hold the fast reading to the direct one: `selects` on the
// raw selector, and a reading of Cilium's semantics that tests every policy against every flow.
import { cidrContainsCidr, type FlowPort, type KubeObject } from '@homelab/core';
import { describe, expect, test } from 'vitest';
import type { Endpoint } from '../src/flows.js';
import { NAMESPACE_LABEL } from '../src/policies.js';
import { compileSelector, PolicySet, selectorMatches, selects } from '../src/reachability.js';

// biome-ignore lint/suspicious/noExplicitAny: plain JSON read back as the check reads it
type Json = any;
type Pods = Extract<Endpoint, { kind: 'pods' }>;

const SELECTORS: Json[] = [
  {},
  { matchLabels: {} },
  { matchLabels: { app: 'web' } },
  { matchLabels: { 'k8s:app': 'web' } },
  { matchLabels: { app: 'web', [NAMESPACE_LABEL]: 'web' } },
  { matchLabels: { [NAMESPACE_LABEL]: 'data', app: 'db' } },
  { matchLabels: { 'io.kubernetes.pod.namespace': 'web' } },
  { matchLabels: { app: 'web', tier: 'front' } },
  { matchLabels: { app: 1 } },
  { matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: ['web', 'data'] }] },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] },
  { matchExpressions: [{ key: 'k8s:tier', operator: 'Exists' }] },
  { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
  { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] },
  { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 2] }] },
  {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: NAMESPACE_LABEL, operator: 'In', values: ['web'] },
      { key: 'tier', operator: 'NotIn', values: ['back'] },
    ],
  },
  { matchLabels: 'app=web', matchExpressions: 'none' },
];

const LABELS: ReadonlyMap<string, string>[] = [
  new Map(),
  new Map([['app', 'web']]),
  new Map([
    ['app', 'web'],
    ['io.kubernetes.pod.namespace', 'web'],
  ]),
  new Map([
    ['app', 'web'],
    ['tier', 'front'],
    ['io.kubernetes.pod.namespace', 'web'],
  ]),
  new Map([
    ['app', 'db'],
    ['tier', 'back'],
    ['io.kubernetes.pod.namespace', 'data'],
  ]),
  new Map([['k8s:app', 'web']]),
];

describe('compiled selectors', () => {
  test('a compiled selector matches exactly the labels the selector does', () => {
    let matched = 0;
    for (const selector of SELECTORS) {
      const compiled = compileSelector(selector);
      for (const labels of LABELS) {
        const direct = selects(selector, labels);
        expect(selectorMatches(compiled, labels), JSON.stringify([selector, [...labels]])).toBe(
          direct,
        );
        if (direct) matched += 1;
      }
    }
    // Both answers occur: the comparison is not vacuous.
    expect(matched).toBeGreaterThan(10);
    expect(matched).toBeLessThan(SELECTORS.length * LABELS.length);
  });

  test('the namespace label is tested first, under its bare key', () => {
    const compiled = compileSelector({ matchLabels: { app: 'web', [NAMESPACE_LABEL]: 'web' } });
    expect(compiled.labels.map((entry) => entry.key)).toEqual([
      'io.kubernetes.pod.namespace',
      'app',
    ]);
  });
});

/**
 * Cilium's semantics read directly, as the check read them before the index: every policy tested
 * against every pod asked about, every rule's fields read again for every flow.
 */
function directAllows(
  objects: readonly KubeObject[],
  from: Endpoint,
  to: Endpoint,
  port: FlowPort,
): boolean {
  const record = (value: Json): Json =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
  const list = (value: Json): Json[] => (Array.isArray(value) ? value : []);
  const strings = (value: Json): string[] =>
    list(value).filter((item): item is string => typeof item === 'string');
  const bare = (key: string) => (key.startsWith('k8s:') ? key.slice(4) : key);
  const policies = objects
    .filter(
      (object) =>
        object.apiVersion === 'cilium.io/v2' &&
        (object.kind === 'CiliumNetworkPolicy' || object.kind === 'CiliumClusterwideNetworkPolicy'),
    )
    .map((object) => ({
      namespace: object.kind === 'CiliumNetworkPolicy' ? object.metadata.namespace : undefined,
      spec: record(object.spec),
    }));
  const labelsOf = (end: Pods) =>
    new Map([...Object.entries(end.selector), [bare(NAMESPACE_LABEL), end.namespace]]);
  const scoped = (selector: Json, namespace: string | undefined): Json => {
    if (namespace === undefined) return selector;
    const labels = record(selector.matchLabels);
    if (Object.keys(labels).some((key) => bare(key) === bare(NAMESPACE_LABEL))) return selector;
    return { ...selector, matchLabels: { ...labels, [NAMESPACE_LABEL]: namespace } };
  };
  const portsMatch = (rule: Json): boolean => {
    const specs = list(rule.toPorts).flatMap((entry) => list(record(entry).ports).map(record));
    if (list(rule.toPorts).length === 0) return true;
    const last = port.endPort ?? port.port;
    return specs.some((spec) => {
      const first = Number(spec.port);
      const end = typeof spec.endPort === 'number' ? spec.endPort : first;
      const protocol = String(spec.protocol ?? 'ANY');
      return (
        first <= port.port && last <= end && (protocol === 'ANY' || protocol === port.protocol)
      );
    });
  };
  const peerMatches = (
    rule: Json,
    peer: Endpoint,
    prefix: 'to' | 'from',
    namespace: string | undefined,
  ): boolean => {
    const endpoints = list(rule[`${prefix}Endpoints`]);
    const entities = strings(rule[`${prefix}Entities`]);
    const cidrs = [
      ...strings(rule[`${prefix}CIDR`]),
      ...list(rule[`${prefix}CIDRSet`]).flatMap((entry) => strings([record(entry).cidr])),
    ];
    const fqdns = prefix === 'to' ? list(rule.toFQDNs) : [];
    if (endpoints.length + entities.length + cidrs.length + fqdns.length === 0) return true;
    if (
      peer.kind === 'pods' &&
      endpoints.some((selector) => selects(scoped(record(selector), namespace), labelsOf(peer)))
    ) {
      return true;
    }
    if (entities.includes('all')) return true;
    if (peer.kind === 'pods' && entities.includes('cluster')) return true;
    if (
      peer.kind === 'entity' &&
      peer.entities.some(
        (entity) =>
          entities.includes(entity) ||
          (entities.includes('cluster') && entity !== 'kube-apiserver' && entity !== 'ingress'),
      )
    ) {
      return true;
    }
    if ((peer.kind === 'fqdn' || peer.kind === 'cidr') && entities.includes('world')) return true;
    if (peer.kind === 'cidr' && cidrs.some((cidr) => cidrContainsCidr(cidr, peer.cidr))) {
      return true;
    }
    if (peer.kind !== 'fqdn') return false;
    const name = peer.name.replace(/^\*\./, 'any-host.');
    return fqdns.some((entry) => {
      const spec = record(entry);
      if (typeof spec.matchName === 'string') return spec.matchName === name;
      if (typeof spec.matchPattern !== 'string') return false;
      const source = spec.matchPattern
        .split('*')
        .map((part: string) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[-a-z0-9.]+');
      return new RegExp(`^${source}$`).test(name);
    });
  };
  const side = (end: Pods, peer: Endpoint, direction: 'egress' | 'ingress'): boolean => {
    let enforced = false;
    let allowed = false;
    for (const policy of policies) {
      if (policy.namespace !== undefined && policy.namespace !== end.namespace) continue;
      if (!selects(record(policy.spec.endpointSelector), labelsOf(end))) continue;
      const rules = list(policy.spec[direction]).map(record);
      const deny = record(policy.spec.enableDefaultDeny)[direction];
      if (deny === true || (deny === undefined && rules.length > 0)) enforced = true;
      for (const rule of rules) {
        const toProxy = peer.kind === 'entity' && peer.entities.includes('ingress');
        const ports =
          direction === 'egress' && toProxy ? list(rule.toPorts).length === 0 : portsMatch(rule);
        const prefix = direction === 'egress' ? 'to' : 'from';
        if (ports && peerMatches(rule, peer, prefix, policy.namespace)) allowed = true;
      }
    }
    return !enforced || allowed;
  };
  if (from.kind === 'pods' && !side(from, to, 'egress')) return false;
  if (to.kind === 'pods' && !side(to, from, 'ingress')) return false;
  return true;
}

function cnp(name: string, namespace: string, spec: Json): KubeObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace },
    spec,
  } as KubeObject;
}

function ccnp(name: string, spec: Json): KubeObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name },
    spec,
  } as KubeObject;
}

const TCP = (port: number, endPort?: number): FlowPort => ({
  port,
  protocol: 'TCP',
  ...(endPort === undefined ? {} : { endPort }),
});

/** Policies of every shape the check reads: namespaced and cluster-wide, every peer field. */
const POLICIES: KubeObject[] = [
  ccnp('default-deny', {
    endpointSelector: {
      matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: ['web', 'data', 'ops'] }],
    },
    enableDefaultDeny: { ingress: true, egress: true },
    egress: [
      {
        toEndpoints: [{ matchLabels: { [NAMESPACE_LABEL]: 'kube-system', 'k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }],
      },
    ],
  }),
  ccnp('dns', {
    endpointSelector: { matchLabels: { [NAMESPACE_LABEL]: 'kube-system', 'k8s-app': 'kube-dns' } },
    ingress: [
      { fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] },
    ],
  }),
  // Egress to pods of another namespace (namespace label), and of its own (scoped).
  cnp('web-to-db', 'web', {
    endpointSelector: { matchLabels: { app: 'web' } },
    enableDefaultDeny: { ingress: false, egress: false },
    egress: [
      {
        toEndpoints: [{ matchLabels: { [NAMESPACE_LABEL]: 'data', app: 'db' } }],
        toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
      },
      { toEndpoints: [{ matchLabels: { app: 'cache' } }] },
    ],
  }),
  cnp('db-from-web', 'data', {
    endpointSelector: { matchLabels: { app: 'db' } },
    enableDefaultDeny: { ingress: false, egress: false },
    ingress: [
      {
        fromEndpoints: [{ matchLabels: { [NAMESPACE_LABEL]: 'web', app: 'web' } }],
        toPorts: [{ ports: [{ port: '5432', endPort: 5440, protocol: 'TCP' }] }],
      },
    ],
  }),
  // A selector with matchExpressions, a rule from the API server and the nodes.
  cnp('cache-ingress', 'web', {
    endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['cache'] }] },
    ingress: [
      { fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }] },
      { fromEntities: ['kube-apiserver', 'remote-node'], toPorts: [{ ports: [{ port: '443' }] }] },
    ],
  }),
  // Entities, CIDRs, names and patterns, and the Gateway's proxy without ports.
  cnp('ops-out', 'ops', {
    endpointSelector: { matchLabels: { app: 'ops' } },
    enableDefaultDeny: { egress: false },
    egress: [
      { toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }] },
      { toEntities: ['ingress'] },
      { toCIDR: ['10.0.0.0/8'], toCIDRSet: [{ cidr: '192.168.0.0/16' }, { except: [] }] },
      {
        toFQDNs: [{ matchName: 'github.com' }, { matchPattern: '*.example.org' }, {}],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
      { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }] },
    ],
  }),
  // A policy without rules that switches ingress default deny on, one that says nothing.
  cnp('locked', 'ops', {
    endpointSelector: { matchLabels: { app: 'locked' } },
    enableDefaultDeny: { ingress: true },
  }),
  cnp('silent', 'ops', {
    endpointSelector: {},
    enableDefaultDeny: { ingress: false, egress: false },
  }),
  // Rules whose selectors constrain the namespace otherwise: by matchExpressions only, under the
  // prefixed and the bare key at once (disagreeing: never matches), or not at all (cluster-wide).
  ccnp('ops-reach', {
    endpointSelector: { matchLabels: { [NAMESPACE_LABEL]: 'ops', app: 'ops' } },
    egress: [
      {
        toEndpoints: [
          { matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: ['data'] }] },
        ],
        toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
      },
      {
        toEndpoints: [
          { matchLabels: { [NAMESPACE_LABEL]: 'web', 'io.kubernetes.pod.namespace': 'data' } },
        ],
      },
      {
        toEndpoints: [{ matchLabels: { app: 'cache' } }],
        toPorts: [{ ports: [{ port: '6379' }] }],
      },
    ],
  }),
  // A policy of a namespace no pod here runs in, and one that allows everything in the cluster.
  cnp('elsewhere', 'other', {
    endpointSelector: {},
    ingress: [{ fromEntities: ['all'] }],
  }),
  cnp('world', 'web', {
    endpointSelector: { matchLabels: { app: 'edge' } },
    egress: [
      { toEntities: ['world'] },
      { toEntities: ['all'], toPorts: [{ ports: [{ port: '1' }] }] },
    ],
  }),
];

const pods = (namespace: string, app: string): Pods => ({
  kind: 'pods',
  component: app,
  namespace,
  selector: { app },
});

const ENDPOINTS: Endpoint[] = [
  pods('web', 'web'),
  pods('web', 'cache'),
  pods('web', 'edge'),
  pods('data', 'db'),
  pods('data', 'web'),
  pods('ops', 'ops'),
  pods('ops', 'locked'),
  pods('kube-system', 'dns'),
  { kind: 'pods', component: 'dns', namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } },
  pods('free', 'free'),
  { kind: 'entity', entities: ['kube-apiserver'], label: 'kube-apiserver' },
  { kind: 'entity', entities: ['kube-apiserver', 'remote-node'], label: 'kube-apiserver' },
  { kind: 'entity', entities: ['host', 'remote-node'], label: 'nodes' },
  { kind: 'entity', entities: ['ingress'], label: 'gateway' },
  { kind: 'fqdn', name: 'github.com' },
  { kind: 'fqdn', name: '*.example.org' },
  { kind: 'fqdn', name: 'reachability-probe.example.com' },
  { kind: 'cidr', cidr: '10.1.0.0/16' },
  { kind: 'cidr', cidr: '192.168.1.0/24' },
  { kind: 'cidr', cidr: '203.0.113.0/24' },
  pods('free', 'cache'),
];

const PORTS: FlowPort[] = [
  { port: 53, protocol: 'UDP' },
  { port: 53, protocol: 'TCP' },
  TCP(443),
  TCP(5432),
  TCP(5434, 5440),
  TCP(5434, 5441),
  TCP(6443),
  TCP(9000),
  TCP(1),
  TCP(6379),
];

describe('the indexed PolicySet', () => {
  test('allows exactly what the direct reading of every policy allows', () => {
    // One set for every question, as the check asks them: its memos and indexes fill as it goes.
    const set = PolicySet.fromObjects(POLICIES);
    let allowed = 0;
    let refused = 0;
    for (const from of ENDPOINTS) {
      for (const to of ENDPOINTS) {
        for (const port of PORTS) {
          const direct = directAllows(POLICIES, from, to, port);
          expect(set.allows(from, to, port), JSON.stringify([from, to, port])).toBe(direct);
          if (direct) allowed += 1;
          else refused += 1;
        }
      }
    }
    expect(allowed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  test('a fresh set asked in another order gives the same answers', () => {
    const forward = PolicySet.fromObjects(POLICIES);
    const backward = PolicySet.fromObjects([...POLICIES].reverse());
    const questions = ENDPOINTS.flatMap((from) =>
      ENDPOINTS.flatMap((to) => PORTS.map((port) => [from, to, port] as const)),
    );
    const answers = questions.map(([from, to, port]) => forward.allows(from, to, port));
    const reversed = [...questions]
      .reverse()
      .map(([from, to, port]) => backward.allows(from, to, port))
      .reverse();
    expect(reversed).toEqual(answers);
  });

  test('the cases the index must keep apart', () => {
    const set = PolicySet.fromObjects(POLICIES);
    const [web, cache, , db, dataWeb, ops, locked] = ENDPOINTS as Pods[];
    if (!web || !cache || !db || !dataWeb || !ops || !locked) throw new Error('endpoints');
    // Allowed at both ends, on a port inside the ingress range.
    expect(set.allows(web, db, TCP(5432))).toBe(true);
    // Refused: a namespaced policy's selectors stay in its namespace (web in data is not web).
    expect(set.allows(dataWeb, db, TCP(5432))).toBe(false);
    // Refused at the ingress: the range asked for does not fit in the rule's.
    expect(set.allows(web, db, TCP(5434, 5441))).toBe(false);
    // A matchExpressions selector at the destination, an own-namespace selector at the source.
    expect(set.allows(web, cache, TCP(8080))).toBe(true);
    // A policy without rules that switches default deny on refuses everything.
    expect(set.allows(ops, locked, TCP(9000))).toBe(false);
    // Entities: the API server on its port; a name and a pattern; a CIDR inside a CIDR set.
    expect(
      set.allows(ops, { kind: 'entity', entities: ['kube-apiserver'], label: 'api' }, TCP(6443)),
    ).toBe(true);
    expect(set.allows(ops, { kind: 'fqdn', name: '*.example.org' }, TCP(443))).toBe(true);
    expect(
      set.allows(ops, { kind: 'fqdn', name: 'reachability-probe.example.com' }, TCP(443)),
    ).toBe(false);
    expect(set.allows(ops, { kind: 'cidr', cidr: '192.168.1.0/24' }, TCP(22))).toBe(true);
    // A cluster-wide selector that names no namespace matches a pod of any namespace.
    const freeCache = pods('free', 'cache');
    expect(set.allows(ops, freeCache, { port: 6379, protocol: 'TCP' })).toBe(true);
    expect(set.allows(ops, freeCache, { port: 6380, protocol: 'TCP' })).toBe(false);
    // A namespace given by matchExpressions only: allowed at the egress, refused at the ingress.
    expect(set.allows(ops, db, TCP(5432))).toBe(false);
  });
});
