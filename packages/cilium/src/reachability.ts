// The reachability check (validation layer 4): from the flows the components declared and the
// Cilium policies the build generated, every needed (source, destination, port) is allowed, every
// managed pod reaches the cluster DNS, and a sample of undeclared pairs is denied. The policies are
// read back from what the Applications deploy and interpreted with Cilium's semantics (a pod is in
// default deny for a direction once a policy selecting it asks for it; then only matching rules
// allow), so a generator bug, a hand-edited layer or a missing counterpart is caught. Pure.
import {
  cidrContainsCidr,
  compareStrings,
  type DeployedCluster,
  error,
  type FlowPort,
  type Issue,
  type JsonValue,
  type KubeObject,
  type PathSegment,
  type SystemCheck,
  type SystemInput,
  urlFlowPeer,
  warning,
} from '@homelab/core';
import {
  type Connection,
  covers,
  DNS_PORTS,
  describeEndpoint,
  type Endpoint,
  type Entity,
  endpointKey,
  type FlowPlan,
  formatPorts,
  gatewayBackends,
  gatewayDomain,
  planFlows,
} from './flows.js';
import { NAMESPACE_LABEL } from './policies.js';
import { renderedBackend } from './services.js';
import { clusterCiliumSettings, resolveNetworkPolicy } from './settings.js';

export type Json = { [key: string]: JsonValue };

interface Policy {
  readonly kind: 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';
  readonly name: string;
  /** Namespace of a CiliumNetworkPolicy (its selectors are scoped to it). */
  readonly namespace: string | undefined;
  readonly spec: Json;
}

function record(value: JsonValue | undefined): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function strings(value: JsonValue | undefined): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

/** Cilium's label keys may carry a source prefix (`k8s:`); selectors and labels compare without. */
function bare(key: string): string {
  return key.startsWith('k8s:') ? key.slice(4) : key;
}

/** The namespace label as `podLabels` holds it (without its source prefix). */
const NAMESPACE_KEY = bare(NAMESPACE_LABEL);

/**
 * A label selector read once, for the many pods it is tested against: its matchLabels with bare
 * keys, the namespace label first (it rejects most pods, and a conjunction may be tested in any
 * order), and its matchExpressions.
 */
export interface CompiledSelector {
  readonly labels: readonly { readonly key: string; readonly value: JsonValue | undefined }[];
  readonly expressions: readonly {
    readonly key: string;
    readonly operator: JsonValue | undefined;
    readonly values: readonly string[];
  }[];
}

export function compileSelector(selector: Json): CompiledSelector {
  const matchLabels = record(selector.matchLabels);
  const labels: { key: string; value: JsonValue | undefined }[] = [];
  for (const key of Object.keys(matchLabels)) {
    const entry = { key: bare(key), value: matchLabels[key] };
    if (entry.key === NAMESPACE_KEY) labels.unshift(entry);
    else labels.push(entry);
  }
  const expressions = list(selector.matchExpressions).map((entry) => {
    const expression = record(entry);
    return {
      key: bare(String(expression.key)),
      operator: expression.operator,
      values: strings(expression.values),
    };
  });
  return { labels, expressions };
}

/** Whether a compiled label selector (matchLabels, matchExpressions) matches `labels`. */
export function selectorMatches(
  selector: CompiledSelector,
  labels: ReadonlyMap<string, string>,
): boolean {
  for (const { key, value } of selector.labels) {
    if (labels.get(key) !== value) return false;
  }
  for (const { key, operator, values } of selector.expressions) {
    const value = labels.get(key);
    switch (operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!labels.has(key)) return false;
        break;
      case 'DoesNotExist':
        if (labels.has(key)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Whether a Kubernetes label selector (matchLabels, matchExpressions) matches `labels`. */
export function selects(selector: Json, labels: ReadonlyMap<string, string>): boolean {
  return selectorMatches(compileSelector(selector), labels);
}

const endpointLabels = new WeakMap<Endpoint, ReadonlyMap<string, string>>();

/** The labels Cilium sees on a pod endpoint (computed once per endpoint object). */
function podLabels(end: Extract<Endpoint, { kind: 'pods' }>): ReadonlyMap<string, string> {
  let labels = endpointLabels.get(end);
  if (labels === undefined) {
    const own = new Map<string, string>(Object.entries(end.selector));
    own.set(NAMESPACE_KEY, end.namespace);
    labels = own;
    endpointLabels.set(end, labels);
  }
  return labels;
}

/** A selector of a CiliumNetworkPolicy without a namespace label is scoped to its namespace. */
function scoped(selector: Json, policy: Policy): Json {
  if (policy.namespace === undefined) return selector;
  const labels = record(selector.matchLabels);
  const hasNamespace = Object.keys(labels).some((key) => bare(key) === NAMESPACE_KEY);
  if (hasNamespace) return selector;
  return { ...selector, matchLabels: { ...labels, [NAMESPACE_LABEL]: policy.namespace } };
}

/** One port entry of a rule's `toPorts`: `port`..`end` (Cilium's `endPort`), a protocol or ANY. */
interface RulePort {
  readonly first: number;
  readonly end: number;
  readonly protocol: string;
}

/** A rule's `toPorts` entries, flattened (empty: the rule names no port, so any port). */
function rulePorts(rule: Json): readonly RulePort[] {
  return list(rule.toPorts).flatMap((entry) =>
    list(record(entry).ports).map((item) => {
      const spec = record(item);
      const first = Number(spec.port);
      return {
        first,
        end: typeof spec.endPort === 'number' ? spec.endPort : first,
        protocol: String(spec.protocol ?? 'ANY'),
      };
    }),
  );
}

/**
 * Whether a rule's `toPorts` allow `port`, every port of it when it is a range: a rule port
 * `port` (with `endPort`, the range `port`..`endPort`) must cover it (Cilium's `endPort`).
 */
function portsMatch(rule: CompiledRule, port: FlowPort): boolean {
  if (!rule.namesPorts) return true;
  const last = port.endPort ?? port.port;
  for (const spec of rule.ports) {
    if (
      spec.first <= port.port &&
      last <= spec.end &&
      (spec.protocol === 'ANY' || spec.protocol === port.protocol)
    ) {
      return true;
    }
  }
  return false;
}

function entitiesMatch(entities: readonly string[], end: Endpoint): boolean {
  if (entities.includes('all')) return true;
  if (end.kind === 'pods') return entities.includes('cluster');
  if (end.kind === 'entity') {
    return end.entities.some(
      (entity) =>
        entities.includes(entity) ||
        (entities.includes('cluster') && entity !== 'kube-apiserver' && entity !== 'ingress'),
    );
  }
  return entities.includes('world');
}

/** One `toFQDNs` entry: a name, a pattern (as a regular expression), or neither (no match). */
type FqdnMatcher = { readonly name: string } | { readonly pattern: RegExp } | undefined;

function fqdnMatchers(rule: Json): readonly FqdnMatcher[] {
  return list(rule.toFQDNs).map((entry) => {
    const spec = record(entry);
    if (typeof spec.matchName === 'string') return { name: spec.matchName };
    if (typeof spec.matchPattern === 'string') {
      const source = spec.matchPattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[-a-z0-9.]+');
      return { pattern: new RegExp(`^${source}$`) };
    }
    return undefined;
  });
}

function fqdnMatch(matchers: readonly FqdnMatcher[], pattern: string): boolean {
  // A declared pattern (`*.example.org`) is allowed when a name it covers is.
  const name = pattern.replace(/^\*\./, 'any-host.');
  return matchers.some((matcher) =>
    matcher === undefined
      ? false
      : 'name' in matcher
        ? matcher.name === name
        : matcher.pattern.test(name),
  );
}

function cidrMatch(cidrs: readonly string[], end: Endpoint): boolean {
  return end.kind === 'cidr' && cidrs.some((cidr) => cidrContainsCidr(cidr, end.cidr));
}

/**
 * One rule of a policy, read once (per PolicySet) for what the peer and port tests ask of it:
 * its peer fields and ports, its endpoint selectors already scoped to the policy's namespace and
 * compiled, its FQDN patterns as regular expressions.
 */
interface CompiledRule {
  readonly rule: Json;
  readonly policy: Policy;
  /** Whether `toPorts` is non-empty (otherwise any port matches). */
  readonly namesPorts: boolean;
  readonly ports: readonly RulePort[];
  readonly endpoints: readonly CompiledSelector[];
  readonly entities: readonly string[];
  /** `entitiesMatch(entities, pods)` for any pod endpoint (`all` or `cluster`). */
  readonly entitiesPods: boolean;
  readonly cidrs: readonly string[];
  /** The `toFQDNs` entries of an egress rule (none for an ingress rule). */
  readonly fqdns: readonly FqdnMatcher[];
  readonly peerFields: number;
}

/** A rule's peer fields in each direction (constant keys: no key built per rule). */
const PEER_FIELDS = {
  egress: {
    endpoints: 'toEndpoints',
    entities: 'toEntities',
    cidr: 'toCIDR',
    cidrSet: 'toCIDRSet',
  },
  ingress: {
    endpoints: 'fromEndpoints',
    entities: 'fromEntities',
    cidr: 'fromCIDR',
    cidrSet: 'fromCIDRSet',
  },
} as const;

function compileRule(rule: Json, policy: Policy, direction: 'egress' | 'ingress'): CompiledRule {
  const fields = PEER_FIELDS[direction];
  const endpoints = list(rule[fields.endpoints]).map((selector) =>
    compileSelector(scoped(record(selector), policy)),
  );
  const entities = strings(rule[fields.entities]);
  const cidrs = strings(rule[fields.cidr]);
  for (const entry of list(rule[fields.cidrSet])) {
    const cidr = record(entry).cidr;
    if (typeof cidr === 'string') cidrs.push(cidr);
  }
  const fqdns = direction === 'egress' ? fqdnMatchers(rule) : [];
  return {
    rule,
    policy,
    namesPorts: list(rule.toPorts).length > 0,
    ports: rulePorts(rule),
    endpoints,
    entities,
    entitiesPods: entities.includes('all') || entities.includes('cluster'),
    cidrs,
    fqdns,
    peerFields: endpoints.length + entities.length + cidrs.length + fqdns.length,
  };
}

/** Whether one rule (egress at the source, or ingress at the destination) matches the peer. */
function ruleMatches(rule: CompiledRule, peer: Endpoint): boolean {
  if (rule.peerFields === 0) return true;
  if (peer.kind === 'pods') {
    // A pod is matched by an endpoint selector or the `all` / `cluster` entities, never by a
    // CIDR or a name.
    if (rule.entitiesPods) return true;
    if (rule.endpoints.length === 0) return false;
    const labels = podLabels(peer);
    for (const selector of rule.endpoints) {
      if (selectorMatches(selector, labels)) return true;
    }
    return false;
  }
  if (rule.entities.length > 0 && entitiesMatch(rule.entities, peer)) return true;
  if (rule.cidrs.length > 0 && cidrMatch(rule.cidrs, peer)) return true;
  return rule.fqdns.length > 0 && peer.kind === 'fqdn' && fqdnMatch(rule.fqdns, peer.name);
}

type Selected = {
  readonly enforced: boolean;
  readonly rules: readonly CompiledRule[];
};

/**
 * What one policy says for one direction: its compiled endpoint selector, whether it puts the
 * pods it selects in default deny (`enableDefaultDeny`, or rules without it), and its rules.
 */
interface PolicyDirection {
  readonly selector: CompiledSelector;
  readonly enforces: boolean;
  readonly rules: readonly CompiledRule[];
}

/** What the policies of a cluster allow. */
export class PolicySet {
  /** `selecting` per endpoint object and direction: the same endpoints are asked about often. */
  private readonly selected = {
    egress: new WeakMap<Endpoint, Selected>(),
    ingress: new WeakMap<Endpoint, Selected>(),
  };

  /** Each rule read once per direction (a rule object belongs to one policy). */
  private readonly rules = {
    egress: new WeakMap<Json, CompiledRule>(),
    ingress: new WeakMap<Json, CompiledRule>(),
  };

  /**
   * Per direction and namespace, the policies that may select a pod there (the cluster-wide ones
   * and the namespace's own) and say something for the direction, in their order: a pod is
   * tested against these only, not against every policy of the cluster.
   */
  private readonly byNamespace = {
    egress: new Map<string, readonly PolicyDirection[]>(),
    ingress: new Map<string, readonly PolicyDirection[]>(),
  };

  /** Every policy read for one direction (undefined: it says nothing for the direction). */
  private readonly directions = {
    egress: new Map<Policy, PolicyDirection | undefined>(),
    ingress: new Map<Policy, PolicyDirection | undefined>(),
  };

  /** Endpoint selectors compiled once per policy (both directions test the same one). */
  private readonly selectors = new Map<Policy, CompiledSelector>();

  constructor(private readonly policies: readonly Policy[]) {}

  private compiled(rule: Json, policy: Policy, direction: 'egress' | 'ingress'): CompiledRule {
    let compiled = this.rules[direction].get(rule);
    if (compiled === undefined) {
      compiled = compileRule(rule, policy, direction);
      this.rules[direction].set(rule, compiled);
    }
    return compiled;
  }

  static fromObjects(objects: readonly KubeObject[]): PolicySet {
    const policies: Policy[] = [];
    for (const object of objects) {
      if (object.apiVersion !== 'cilium.io/v2') continue;
      if (
        object.kind !== 'CiliumNetworkPolicy' &&
        object.kind !== 'CiliumClusterwideNetworkPolicy'
      ) {
        continue;
      }
      policies.push({
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.kind === 'CiliumNetworkPolicy' ? object.metadata.namespace : undefined,
        spec: record(object.spec as JsonValue),
      });
    }
    return new PolicySet(policies);
  }

  get size(): number {
    return this.policies.length;
  }

  /** What `policy` says for `direction`, read once. */
  private direction(policy: Policy, direction: 'egress' | 'ingress'): PolicyDirection | undefined {
    const known = this.directions[direction];
    if (known.has(policy)) return known.get(policy);
    const own = list(policy.spec[direction]).map(record);
    const deny = record(policy.spec.enableDefaultDeny)[direction];
    const enforces = deny === true || (deny === undefined && own.length > 0);
    let read: PolicyDirection | undefined;
    // A policy without rules for the direction that does not switch default deny on changes
    // nothing for it, whatever it selects.
    if (enforces || own.length > 0) {
      let selector = this.selectors.get(policy);
      if (selector === undefined) {
        selector = compileSelector(record(policy.spec.endpointSelector));
        this.selectors.set(policy, selector);
      }
      read = {
        selector,
        enforces,
        rules: own.map((rule) => this.compiled(rule, policy, direction)),
      };
    }
    known.set(policy, read);
    return read;
  }

  /** The policies that may select a pod of `namespace` and say something for `direction`. */
  private candidates(
    namespace: string,
    direction: 'egress' | 'ingress',
  ): readonly PolicyDirection[] {
    const index = this.byNamespace[direction];
    let found = index.get(namespace);
    if (found === undefined) {
      const out: PolicyDirection[] = [];
      for (const policy of this.policies) {
        if (policy.namespace !== undefined && policy.namespace !== namespace) continue;
        const read = this.direction(policy, direction);
        if (read !== undefined) out.push(read);
      }
      found = out;
      index.set(namespace, found);
    }
    return found;
  }

  /** The policies selecting a pod, and whether they put it in default deny for `direction`. */
  private selecting(
    end: Extract<Endpoint, { kind: 'pods' }>,
    direction: 'egress' | 'ingress',
  ): Selected {
    const known = this.selected[direction].get(end);
    if (known !== undefined) return known;
    const labels = podLabels(end);
    let enforced = false;
    const rules: CompiledRule[] = [];
    for (const policy of this.candidates(end.namespace, direction)) {
      if (!selectorMatches(policy.selector, labels)) continue;
      if (policy.enforces) enforced = true;
      for (const rule of policy.rules) rules.push(rule);
    }
    const selected = { enforced, rules };
    this.selected[direction].set(end, selected);
    return selected;
  }

  /**
   * Whether `from` may open a connection to `to` on `port`: egress at one end, ingress at the
   * other. Towards the Gateway's proxy (the `ingress` entity) only a rule without ports matches:
   * Cilium hands the connection to Envoy's listener, whose port is allocated at run time
   * (policies.ts).
   */
  /**
   * Whether the egress of `from` (a pod) allows `to` on `port`, the other end's ingress aside:
   * what Cilium's Envoy checks for a call through the Gateway (the source pod's egress policy
   * against the backend's identity and port, cilium/proxy `enforceNetworkPolicy`).
   */
  egressAllows(from: Endpoint, to: Endpoint, port: FlowPort): boolean {
    if (from.kind !== 'pods') return true;
    const egress = this.selecting(from, 'egress');
    if (!egress.enforced) return true;
    for (const rule of egress.rules) {
      if (portsMatch(rule, port) && ruleMatches(rule, to)) return true;
    }
    return false;
  }

  allows(from: Endpoint, to: Endpoint, port: FlowPort): boolean {
    // Plain loops, no closures: this runs for every sampled pair, mostly in cold code.
    if (from.kind === 'pods') {
      const egress = this.selecting(from, 'egress');
      if (egress.enforced) {
        const toProxy = to.kind === 'entity' && to.entities.includes('ingress');
        let allowed = false;
        for (const rule of egress.rules) {
          if ((toProxy ? !rule.namesPorts : portsMatch(rule, port)) && ruleMatches(rule, to)) {
            allowed = true;
            break;
          }
        }
        if (!allowed) return false;
      }
    }
    if (to.kind === 'pods') {
      const ingress = this.selecting(to, 'ingress');
      if (ingress.enforced) {
        for (const rule of ingress.rules) {
          if (portsMatch(rule, port) && ruleMatches(rule, from)) return true;
        }
        return false;
      }
    }
    return true;
  }
}

/**
 * Whether the Cilium policies among `objects` (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy)
 * let connections from `entity` reach pods with `labels` in `namespace` on `port`, read with the
 * semantics the reachability check uses (a pod outside every policy's default deny accepts
 * anything). For checks of what the upstream charts render, which the build cannot see: the Helm
 * suite asks it whether the API server reaches every admission and conversion webhook.
 */
export function entityReachesPods(
  objects: readonly KubeObject[],
  entity: Entity,
  pod: { readonly namespace: string; readonly labels: { readonly [key: string]: string } },
  port: FlowPort,
): boolean {
  return PolicySet.fromObjects(objects).allows(
    { kind: 'entity', entities: [entity], label: entity },
    { kind: 'pods', component: '', namespace: pod.namespace, selector: pod.labels },
    port,
  );
}

/**
 * Whether the Cilium policies among `objects` let pods `from` (labels in a namespace) reach pods
 * `to` on `port`: the egress of the first and the ingress of the second, read as
 * `entityReachesPods` reads them. For the Helm suite's check that Prometheus reaches every scrape
 * target the upstream charts' ServiceMonitors and PodMonitors name.
 */
export function podsReachPods(
  objects: readonly KubeObject[],
  from: { readonly namespace: string; readonly labels: { readonly [key: string]: string } },
  to: { readonly namespace: string; readonly labels: { readonly [key: string]: string } },
  port: FlowPort,
): boolean {
  return PolicySet.fromObjects(objects).allows(
    { kind: 'pods', component: '', namespace: from.namespace, selector: from.labels },
    { kind: 'pods', component: '', namespace: to.namespace, selector: to.labels },
    port,
  );
}

/** One evaluated connection. */
export interface Reach {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: FlowPort;
  readonly allowed: boolean;
  /** The declaration that needs it (absent for a sampled undeclared pair). */
  readonly connection: Connection | undefined;
}

export interface ClusterReachability {
  readonly cluster: string;
  readonly defaultDeny: boolean;
  readonly mutualAuthentication: boolean;
  readonly namespaces: readonly string[];
  readonly policies: number;
  readonly needed: readonly Reach[];
  readonly dns: readonly Reach[];
  readonly undeclared: readonly Reach[];
  /** Every ServiceMonitor and PodMonitor target the metrics provider must scrape. */
  readonly monitors: readonly MonitorReach[];
  /** Every route the Gateway serves: whether what it forwards reaches the owner's pods. */
  readonly routes: readonly RouteReach[];
  /**
   * Calls to a Service the cluster's Applications render (found among their objects) whose
   * ports it does not serve, or whose named targetPort no selected pod declares.
   */
  readonly services: readonly ServiceProblem[];
}

/** A call to a rendered Service that cannot arrive as declared. */
export interface ServiceProblem {
  readonly connection: Connection;
  /** Called ports the Service has no port for. */
  readonly missing: readonly FlowPort[];
  /** Named targetPorts no container of its pods declares (the Service's port was kept). */
  readonly unresolved: readonly string[];
}

/** Whether the Gateway's proxy reaches the pods behind one route. */
export interface RouteReach {
  /** The component that declares the route. */
  readonly owner: string;
  readonly hostname: string;
  readonly namespace: string;
  /** Where the definition declares the route (an application's), if it does. */
  readonly origin: readonly PathSegment[] | undefined;
  /** How: `outside default deny`, or the backends and ports the owner admits it on. */
  readonly via: string;
  readonly allowed: boolean;
}

/** Whether the metrics provider's Prometheus reaches one monitor's target. */
export interface MonitorReach {
  /** `ServiceMonitor/argocd-server`. */
  readonly monitor: string;
  /** The component that declared it (its `homelab.dev/component` label). */
  readonly component: string;
  readonly namespace: string;
  readonly from: Endpoint | undefined;
  /** How it is reached: `host 9962/TCP`, `any port (outside default deny)`, `8083/TCP`. */
  readonly via: string;
  readonly allowed: boolean;
  /** Why not, when not allowed. */
  readonly problem?: string;
}

/** An external host no flow names: no pod may reach it. */
const PROBE_HOST = 'reachability-probe.example.com';

/** Computes every needed, DNS and sampled undeclared connection of one cluster. */
export function clusterReachability(
  input: SystemInput,
  deployed: DeployedCluster,
): { result: ClusterReachability; plan: FlowPlan } | undefined {
  const { cluster, run } = deployed;
  // The policies are checked as Argo CD deploys them: without a GitOps controller on the
  // cluster nothing is deployed from the charts, and there is nothing to read back.
  if (!run.contributions.has('cilium')) return undefined;
  if (!deployed.applications.some((app) => app.component === 'cilium')) return undefined;
  const settings = clusterCiliumSettings(input.platform, cluster);
  const networkPolicy = resolveNetworkPolicy(settings, cluster);
  const { plan } = planFlows({
    platform: input.platform,
    cluster,
    contributions: run.contributions,
    settings,
    path: (...segments) => ['clusters', cluster.index, 'components', 'cilium', ...segments],
  });
  const objects = deployed.applications.flatMap((app) => app.objects.map((item) => item.object));
  const policies = PolicySet.fromObjects(objects);

  const needed: Reach[] = [];
  const services: ServiceProblem[] = [];
  for (const connection of plan.connections) {
    // A call to a Service the cluster's Applications render arrives at its selector's pods on
    // the targetPorts (services.ts): that is what must be allowed, whatever the plan resolved.
    const backend =
      connection.service === undefined || connection.to.kind !== 'pods'
        ? undefined
        : renderedBackend(objects, connection.service);
    if (backend !== undefined && (backend.missing.length > 0 || backend.unresolved.length > 0)) {
      services.push({ connection, missing: backend.missing, unresolved: backend.unresolved });
    }
    const to: Endpoint =
      backend === undefined || connection.to.kind !== 'pods'
        ? connection.to
        : {
            kind: 'pods',
            component: connection.to.component,
            namespace: connection.to.namespace,
            selector: backend.selector,
          };
    for (const port of backend?.ports ?? connection.ports) {
      needed.push({
        from: connection.from,
        to,
        port,
        allowed:
          policies.allows(connection.from, connection.to, port) &&
          forwarded(policies, plan, connection),
        connection,
      });
    }
  }
  const dnsEnd: Endpoint = {
    kind: 'pods',
    component: plan.dns.component ?? 'talos-coredns',
    namespace: plan.dns.namespace,
    selector: plan.dns.selector,
  };
  const dns: Reach[] = [];
  const undeclared: Reach[] = [];
  const managed = plan.endpoints.filter((end) => plan.namespaces.includes(end.namespace));
  for (const end of managed) {
    for (const port of DNS_PORTS) {
      dns.push({
        from: end,
        to: dnsEnd,
        port,
        allowed: policies.allows(end, dnsEnd, port),
        connection: undefined,
      });
    }
  }
  if (networkPolicy.defaultDeny) {
    // The declared pairs, by source key then destination key (no pair string per sampled pair).
    const declared = new Map<string, Set<string>>();
    // A declaration to every pod of a namespace (a Service of the cluster called by name, whose
    // selector the definition does not know) declares each pod there, on its ports only: the
    // same source reaching one of those pods on another port is still undeclared.
    const wholeNamespace = new Map<string, Map<string, FlowPort[]>>();
    const inbound = new Map<string, FlowPort>();
    for (const connection of plan.connections) {
      const fromKey = endpointKey(connection.from);
      const toKey = endpointKey(connection.to);
      if (connection.to.kind === 'pods' && Object.keys(connection.to.selector).length === 0) {
        const namespaces = wholeNamespace.get(fromKey) ?? new Map<string, FlowPort[]>();
        const ports = namespaces.get(connection.to.namespace) ?? [];
        ports.push(...connection.ports);
        namespaces.set(connection.to.namespace, ports);
        wholeNamespace.set(fromKey, namespaces);
      }
      const targets = declared.get(fromKey);
      if (targets === undefined) declared.set(fromKey, new Set([toKey]));
      else targets.add(toKey);
      const first = connection.ports[0];
      if (first !== undefined && !inbound.has(toKey)) inbound.set(toKey, first);
    }
    const keys = managed.map(endpointKey);
    const dnsKey = endpointKey(dnsEnd);
    const fallback: FlowPort = { port: 80, protocol: 'TCP' };
    const probe: Endpoint = { kind: 'fqdn', name: PROBE_HOST };
    const probePort: FlowPort = { port: 443, protocol: 'TCP' };
    // A source selector selects every pod whose labels hold it: a flow from every pod of a
    // namespace (an extra flow `from: { component: x }`, no selector) or from a wider selector
    // declares what the sampled pods it covers open, not only the endpoint spelled the same.
    // The distinct sources by namespace, each with its key (a sampled pod is compared only with
    // the sources of its own namespace).
    const sourcesByNamespace = new Map<string, Map<string, Extract<Endpoint, { kind: 'pods' }>>>();
    for (const { from } of plan.connections) {
      if (from.kind !== 'pods') continue;
      const inNamespace = sourcesByNamespace.get(from.namespace) ?? new Map();
      inNamespace.set(endpointKey(from), from);
      sourcesByNamespace.set(from.namespace, inNamespace);
    }
    const coveringKeys = (from: Extract<Endpoint, { kind: 'pods' }>): string[] =>
      [...(sourcesByNamespace.get(from.namespace) ?? new Map())]
        .filter(([, source]) =>
          Object.entries(source.selector).every(([key, value]) => from.selector[key] === value),
        )
        .map(([key]) => key);
    for (let i = 0; i < managed.length; i++) {
      const from = managed[i] as Extract<Endpoint, { kind: 'pods' }>;
      const covering = coveringKeys(from);
      const targets = new Set(covering.flatMap((key) => [...(declared.get(key) ?? [])]));
      const namespaces = new Map<string, FlowPort[]>();
      for (const key of covering) {
        for (const [namespace, ports] of wholeNamespace.get(key) ?? []) {
          namespaces.set(namespace, [...(namespaces.get(namespace) ?? []), ...ports]);
        }
      }
      for (let j = 0; j < managed.length; j++) {
        const to = managed[j] as Extract<Endpoint, { kind: 'pods' }>;
        const toKey = keys[j] as string;
        if (from === to || targets.has(toKey)) continue;
        if (toKey === dnsKey) continue;
        const port = inbound.get(toKey) ?? fallback;
        const wide = namespaces.get(to.namespace);
        if (wide?.some((served) => covers(served, port)) === true) continue;
        undeclared.push({
          from,
          to,
          port,
          allowed: policies.allows(from, to, port),
          connection: undefined,
        });
      }
      undeclared.push({
        from,
        to: probe,
        port: probePort,
        allowed: policies.allows(from, probe, probePort),
        connection: undefined,
      });
    }
  }
  const monitors = monitorReachability(deployed, plan, policies, objects);
  const routes = routeReachability(deployed, plan, policies);
  return {
    plan,
    result: {
      cluster: cluster.name,
      defaultDeny: networkPolicy.defaultDeny,
      mutualAuthentication: networkPolicy.mutualAuthentication,
      namespaces: plan.namespaces,
      policies: policies.size,
      needed,
      dns,
      undeclared,
      monitors,
      routes,
      services,
    },
  };
}

/**
 * Every route of the cluster as the Gateway serves it: its proxy (identity `ingress`) forwards a
 * request to the Service's pods, which under default deny must admit it on every port of one of
 * the owner's ingress flows from the Gateway in the route's namespace. Nobody has to call the
 * host from inside the cluster for this to matter: every browser's request takes this path.
 */
function routeReachability(
  deployed: DeployedCluster,
  plan: FlowPlan,
  policies: PolicySet,
): RouteReach[] {
  const contributions = deployed.run.contributions;
  const domain = gatewayDomain({ cluster: deployed.cluster, contributions });
  if (domain === undefined) return [];
  const out: RouteReach[] = [];
  for (const owner of [...contributions.keys()].sort(compareStrings)) {
    const contribution = contributions.get(owner);
    if (contribution === undefined) continue;
    for (const route of contribution.routes ?? []) {
      const base = {
        owner,
        hostname: `${route.host}.${domain}`,
        namespace: route.namespace,
        origin: route.origin,
      };
      if (!plan.namespaces.includes(route.namespace)) {
        out.push({ ...base, via: 'outside default deny', allowed: true });
        continue;
      }
      const backends = gatewayBackends(owner, contribution, route.namespace);
      const admitting = backends.find((backend) =>
        backend.ports.every((port) => policies.allows(GATEWAY, backend.to, port)),
      );
      out.push({
        ...base,
        via:
          admitting === undefined
            ? backends.length === 0
              ? 'no ingress flow from the Gateway'
              : `${backends.map((backend) => `${describeEndpoint(backend.to)} ${formatPorts(backend.ports)}`).join(', ')} (not allowed by the policies)`
            : `${describeEndpoint(admitting.to)} ${formatPorts(admitting.ports)}`,
        allowed: admitting !== undefined,
      });
    }
  }
  return out;
}

/** A port no rule names: a rule matches it only without ports (any port). */
const ANY_PORT: FlowPort = { port: 0, protocol: 'TCP' };

function labelsEqual(a: { readonly [key: string]: string }, b: Json): boolean {
  const left = Object.entries(a);
  const right = Object.entries(b);
  return left.length === right.length && left.every(([key, value]) => b[key] === value);
}

/**
 * Whether the metrics provider reaches every ServiceMonitor and PodMonitor target deployed on the
 * cluster (its own chart holds them, fallbacks included), under the generated policies: a target
 * on the host network (its monitor's `hostPort`) at the nodes; a namespace outside default deny on
 * any port (the provider's egress to its consumers resolves to it); a namespace under default deny
 * through an ingress flow from `metrics` of a component there (each port of one such connection
 * allowed; the Helm suite checks the port is a container port of the selected pods).
 */
function monitorReachability(
  deployed: DeployedCluster,
  plan: FlowPlan,
  policies: PolicySet,
  objects: readonly KubeObject[],
): MonitorReach[] {
  const contributions = deployed.run.contributions;
  let provider: string | undefined;
  for (const [name, contribution] of contributions) {
    if (contribution.facts?.metrics !== undefined) provider = name;
  }
  if (provider === undefined) return [];
  const providerContribution = contributions.get(provider);
  const scraper = (providerContribution?.flows ?? []).find(
    (flow) =>
      flow.direction === 'egress' &&
      flow.peer.kind === 'consumers' &&
      flow.peer.capability === 'metrics',
  );
  const providerNamespace = providerContribution?.application?.namespace;
  const from: Endpoint | undefined =
    scraper !== undefined
      ? {
          kind: 'pods',
          component: provider,
          namespace: scraper.namespace,
          selector: scraper.selector,
        }
      : providerNamespace !== undefined && !plan.namespaces.includes(providerNamespace)
        ? { kind: 'pods', component: provider, namespace: providerNamespace, selector: {} }
        : undefined;
  const fromKey = from === undefined ? undefined : endpointKey(from);
  const hosts: Endpoint = { kind: 'entity', entities: ['host', 'remote-node'], label: 'nodes' };
  const out: MonitorReach[] = [];
  for (const object of objects) {
    if (object.apiVersion !== 'monitoring.coreos.com/v1') continue;
    if (object.kind !== 'ServiceMonitor' && object.kind !== 'PodMonitor') continue;
    const spec = record(object.spec as JsonValue);
    const selector = record(record(spec.selector).matchLabels);
    const names = strings(record(spec.namespaceSelector).matchNames);
    const component = object.metadata.labels?.['homelab.dev/component'] ?? provider;
    const monitor = `${object.kind}/${object.metadata.name}`;
    for (const namespace of names.length === 0 ? [object.metadata.namespace ?? ''] : names) {
      const base = { monitor, component, namespace, from };
      if (from === undefined) {
        out.push({
          ...base,
          via: 'nothing',
          allowed: false,
          problem: `${provider} (the metrics provider) is under default deny but declares no egress flow with peer { kind: consumers, capability: metrics }`,
        });
        continue;
      }
      let hostPort: number | undefined;
      for (const contribution of contributions.values()) {
        for (const declared of contribution.monitors ?? []) {
          const target = declared.target;
          if (
            target?.hostPort !== undefined &&
            declared.namespace === namespace &&
            labelsEqual(target.selector, selector)
          ) {
            hostPort = target.hostPort;
          }
        }
      }
      if (hostPort !== undefined) {
        const port: FlowPort = { port: hostPort, protocol: 'TCP' };
        const allowed = policies.allows(from, hosts, port);
        out.push({
          ...base,
          via: `nodes ${formatPorts([port])}`,
          allowed,
          ...(allowed
            ? {}
            : {
                problem: `no policy lets ${describeEndpoint(from)} reach the nodes on ${formatPorts([port])} (the target runs on the host network)`,
              }),
        });
        continue;
      }
      if (!plan.namespaces.includes(namespace)) {
        const to: Endpoint = { kind: 'pods', component, namespace, selector: {} };
        const allowed = policies.allows(from, to, ANY_PORT);
        out.push({
          ...base,
          via: 'any port (outside default deny)',
          allowed,
          ...(allowed
            ? {}
            : {
                problem: `no policy lets ${describeEndpoint(from)} reach ${namespace}, which is outside default deny (the egress to the metrics consumers resolves to it)`,
              }),
        });
        continue;
      }
      // The cheap tests first: most connections go to another namespace.
      const candidates = plan.connections.filter(
        (connection) =>
          connection.to.kind === 'pods' &&
          connection.to.namespace === namespace &&
          connection.ports.length > 0 &&
          endpointKey(connection.from) === fromKey,
      );
      const admitted = candidates.find((connection) =>
        connection.ports.every((port) => policies.allows(from, connection.to, port)),
      );
      out.push({
        ...base,
        via:
          admitted === undefined
            ? candidates.length === 0
              ? 'no flow'
              : 'denied'
            : `${formatPorts(admitted.ports)} [${admitted.id}]`,
        allowed: admitted !== undefined,
        ...(admitted !== undefined
          ? {}
          : {
              problem:
                candidates.length === 0
                  ? `${namespace} is under default deny and no flow there admits ${describeEndpoint(from)}`
                  : `no generated policy allows ${describeEndpoint(from)} into ${namespace} on the ports its flows admit`,
            }),
      });
    }
  }
  return out.sort((a, b) =>
    compareStrings(`${a.monitor} ${a.namespace}`, `${b.monitor} ${b.namespace}`),
  );
}

/** The Gateway's proxy as the source of what it forwards. */
const GATEWAY: Endpoint = { kind: 'entity', entities: ['ingress'], label: 'gateway' };

/**
 * Whether the Gateway forwards a routed call on to its backend: the route's owner accepts the
 * Gateway on every port of one of its ingress flows from it, and the caller's own egress allows
 * those pods on those ports (a pod's call through the Gateway reaches the Envoy of its own node,
 * which checks the pod's egress policy against the backend's identity and port:
 * cilium/proxy `bpf_metadata.cc`, north/south L7 LB with a local source pod, and
 * `CiliumPolicyFilterState::enforceNetworkPolicy`, "enforce pod policy first"; bpf_lxc.c hands
 * the connection to Envoy before any policy check, `proxy_port > 0`), or zero trust does not
 * cover the owner.
 */
function forwarded(policies: PolicySet, plan: FlowPlan, connection: Connection): boolean {
  const route = connection.route;
  if (route === undefined) return true;
  if (route.backends.length === 0) return !plan.namespaces.includes(route.namespace);
  return route.backends.some((backend) =>
    backend.ports.every(
      (port) =>
        policies.allows(GATEWAY, backend.to, port) &&
        policies.egressAllows(connection.from, backend.to, port),
    ),
  );
}

/** A component that logs in with OIDC at an issuer the Gateway serves, from under default deny. */
export interface OidcNeed {
  readonly component: string;
  readonly issuer: string;
  readonly hostname: string;
  /** First label of the routed host (`auth`). */
  readonly host: string;
  /** The component whose route serves the issuer. */
  readonly owner: string;
  /**
   * The namespace of the pods that log in (the client secret's), when it is not the namespace of
   * the component's Application (an application's own).
   */
  readonly namespace?: string;
  /** Whether a declared flow of `component` calls the host through the Gateway. */
  readonly declared: boolean;
}

/**
 * Every component with a confidential OIDC client (its pods talk to the issuer: discovery, token,
 * keys) whose issuer is a routed host of the cluster and whose pods are under default deny: the
 * pods of the namespace of the client's secret (where they read it: an application's namespace,
 * which need not be the first of the component's), else of the component's Application. The
 * call is declared when a flow of the component from that namespace goes to the host.
 */
export function oidcNeeds(deployed: DeployedCluster, plan: FlowPlan): OidcNeed[] {
  const contributions = deployed.run.contributions;
  const domain = gatewayDomain({ cluster: deployed.cluster, contributions });
  if (domain === undefined) return [];
  let providerIssuer: string | undefined;
  const owners = new Map<string, string>();
  for (const [name, contribution] of contributions) {
    providerIssuer ??= contribution.facts?.['oidc-provider']?.issuer;
    for (const route of contribution.routes ?? []) owners.set(route.host, name);
  }
  const out: OidcNeed[] = [];
  for (const component of [...contributions.keys()].sort(compareStrings)) {
    const contribution = contributions.get(component);
    const home = contribution?.application?.namespace;
    if (home === undefined) continue;
    const calls = new Map<string, { issuer: string; namespace: string }>();
    for (const client of contribution?.oidcClients ?? []) {
      if (client.public) continue;
      const issuer = client.issuer ?? providerIssuer;
      const namespace = client.secret?.namespace ?? home;
      if (issuer === undefined || !plan.namespaces.includes(namespace)) continue;
      calls.set(JSON.stringify([issuer, namespace]), { issuer, namespace });
    }
    for (const key of [...calls.keys()].sort(compareStrings)) {
      const { issuer, namespace } = calls.get(key) as { issuer: string; namespace: string };
      const target = urlFlowPeer(issuer, domain);
      if (target?.peer.kind !== 'gateway' || target.peer.host === undefined) continue;
      const host = target.peer.host;
      const owner = owners.get(host);
      if (owner === undefined) continue;
      const hostname = `${host}.${domain}`;
      out.push({
        component,
        issuer,
        hostname,
        host,
        owner,
        ...(namespace === home ? {} : { namespace }),
        declared: plan.connections.some(
          (connection) =>
            connection.component === component &&
            connection.route?.hostname === hostname &&
            connection.from.kind === 'pods' &&
            connection.from.namespace === namespace,
        ),
      });
    }
  }
  return out;
}

function arrow(reach: Reach): string {
  return `${describeEndpoint(reach.from)} → ${describeEndpoint(reach.to)} ${formatPorts([reach.port])}`;
}

/** The reachability check of the Cilium component. */
export const reachabilityCheck: SystemCheck = {
  name: 'reachability',
  description:
    'Under default deny, every flow a component declares is allowed by the generated Cilium policies at both ends (egress at the source, ingress at the destination, on the declared ports), every managed pod reaches the cluster DNS, the metrics provider reaches every ServiceMonitor and PodMonitor target, and a sample of undeclared pod pairs and an undeclared external host are denied.',
  check(input) {
    const issues: Issue[] = [];
    const uncovered = new Map<
      string,
      { clusters: string[]; namespaces: Set<string>; path: PathSegment[]; partial: boolean }
    >();
    for (const deployed of input.clusters) {
      const computed = clusterReachability(input, deployed);
      if (computed === undefined) continue;
      const { result } = computed;
      if (!result.defaultDeny) continue;
      const path = ['clusters', deployed.cluster.index, 'components', 'cilium'];
      // A component that declares no flow stays outside default deny (so do its namespaces):
      // it works, but zero trust does not cover it. One warning per component, below.
      for (const [component, contribution] of deployed.run.contributions) {
        if (contribution.application === undefined) continue;
        // A component whose flows leave some namespaces out (an application that declares
        // none) is warned about for those.
        const left =
          contribution.flows === undefined
            ? [contribution.application.namespace]
            : (contribution.flowlessNamespaces ?? []);
        if (left.length === 0) continue;
        const entry = uncovered.get(component) ?? {
          clusters: [],
          namespaces: new Set<string>(),
          path: ['clusters', deployed.cluster.index, 'components', component],
          partial: contribution.flows !== undefined,
        };
        entry.clusters.push(result.cluster);
        for (const namespace of left) entry.namespaces.add(namespace);
        uncovered.set(component, entry);
      }
      for (const need of oidcNeeds(deployed, computed.plan)) {
        if (need.declared) continue;
        issues.push(
          error({
            code: 'reachability',
            path: ['clusters', deployed.cluster.index, 'components', need.component],
            value: `${need.component} → ${need.hostname}`,
            message: `${need.component} logs in with OIDC at ${need.issuer}, which ${need.owner} serves through the Gateway on cluster "${result.cluster}", but no flow of ${need.component}${need.namespace === undefined ? '' : ` from namespace ${need.namespace}`} calls the Gateway: under default deny its pods cannot fetch the discovery document, the tokens or the keys, and the login fails`,
            expected: `an egress flow of ${need.component}${need.namespace === undefined ? '' : ` in namespace ${need.namespace}`} with peer { kind: gateway, host: ${need.host} } on 443/TCP from the pods that talk to the issuer`,
          }),
        );
      }
      for (const reach of result.needed) {
        if (reach.allowed || reach.connection === undefined) continue;
        issues.push(
          error({
            code: 'reachability',
            path: ['clusters', deployed.cluster.index, 'components', reach.connection.component],
            value: `${describeEndpoint(reach.from)} → ${describeEndpoint(reach.to)}`,
            message: `${reach.connection.component} needs ${arrow(reach)} (${reach.connection.reason}) on cluster "${result.cluster}", but no generated policy allows it`,
            expected:
              reach.connection.route === undefined
                ? `a CiliumNetworkPolicy allowing egress at ${describeEndpoint(reach.from)} and ingress at ${describeEndpoint(reach.to)} on ${formatPorts([reach.port])}`
                : `a CiliumNetworkPolicy allowing egress at ${describeEndpoint(reach.from)} to the ingress entity without ports and to ${reach.connection.route.owner}'s pods behind the route on their ports (Cilium's Envoy checks the caller's egress against the backend), and ${reach.connection.route.owner} accepting ingress from the Gateway`,
          }),
        );
      }
      for (const problem of result.services) {
        const call = problem.connection.service;
        if (call === undefined) continue;
        const hostname = `${call.service}.${call.namespace}.svc`;
        const at = ['clusters', deployed.cluster.index, 'components', problem.connection.component];
        if (problem.missing.length > 0) {
          issues.push(
            error({
              code: 'reachability',
              path: at,
              value: `${problem.connection.component} → ${hostname}`,
              message: `${problem.connection.component} calls Service ${hostname} on ${formatPorts(problem.missing)} (${problem.connection.reason}) on cluster "${result.cluster}", but the Service rendered there has no such port: nothing answers`,
              expected: `a port the Service ${call.service} serves`,
            }),
          );
        }
        if (problem.unresolved.length > 0) {
          issues.push(
            warning({
              code: 'reachability',
              path: at,
              value: `${problem.connection.component} → ${hostname}`,
              message: `${problem.connection.component} calls Service ${hostname} on cluster "${result.cluster}", whose targetPort ${problem.unresolved.map((name) => `"${name}"`).join(', ')} names no container port of the pods it selects among the rendered objects: the Service's port is taken as the pods' port`,
              expected: `a container port named ${problem.unresolved[0]} in the pods the Service selects, or a numeric targetPort`,
            }),
          );
        }
      }
      for (const reach of result.monitors) {
        if (reach.allowed) continue;
        issues.push(
          error({
            code: 'reachability',
            path: ['clusters', deployed.cluster.index, 'components', reach.component],
            value: `${reach.monitor} → ${reach.namespace}`,
            message: `the metrics provider cannot scrape ${reach.monitor} (of ${reach.component}) in ${reach.namespace} on cluster "${result.cluster}": ${reach.problem ?? 'denied'}`,
            expected: `${reach.component} declaring an ingress flow with peer { kind: capability, capability: metrics } on its metrics port in ${reach.namespace}, or (host network) the monitor's target.hostPort`,
          }),
        );
      }
      for (const reach of result.routes) {
        if (reach.allowed) continue;
        issues.push(
          error({
            code: 'reachability',
            path:
              reach.origin === undefined
                ? ['clusters', deployed.cluster.index, 'components', reach.owner]
                : [...reach.origin],
            value: `gateway → ${reach.hostname}`,
            message: `${reach.owner} routes ${reach.hostname} to ${reach.namespace}, which is under default deny on cluster "${result.cluster}", but the Gateway's proxy (Cilium identity ingress) reaches none of its pods there (${reach.via}): every request to the host is dropped`,
            expected: `${reach.owner} declaring an ingress flow with peer { kind: gateway } (an application: gateway: true) to the Service's pods on their container ports in ${reach.namespace}, allowed by a CiliumNetworkPolicy from the ingress entity`,
          }),
        );
      }
      for (const reach of result.dns) {
        if (reach.allowed) continue;
        issues.push(
          error({
            code: 'reachability',
            path,
            value: describeEndpoint(reach.from),
            message: `${arrow(reach)}: pods of ${describeEndpoint(reach.from)} cannot query the cluster DNS on cluster "${result.cluster}"`,
            expected: 'DNS to the cluster DNS allowed for every managed namespace',
          }),
        );
      }
      for (const reach of result.undeclared) {
        if (!reach.allowed) continue;
        issues.push(
          error({
            code: 'reachability',
            path,
            value: `${describeEndpoint(reach.from)} → ${describeEndpoint(reach.to)}`,
            message: `${arrow(reach)} is allowed on cluster "${result.cluster}" although no flow declares it`,
            expected: 'only declared flows allowed under default deny',
          }),
        );
      }
    }
    const topLevel = input.platform.definition.components as
      | { readonly [name: string]: unknown }
      | undefined;
    for (const component of [...uncovered.keys()].sort(compareStrings)) {
      const entry = uncovered.get(component) as {
        clusters: string[];
        namespaces: Set<string>;
        path: PathSegment[];
        partial: boolean;
      };
      const namespaces = [...entry.namespaces].sort(compareStrings);
      issues.push(
        warning({
          code: 'reachability',
          // At the platform-wide settings when the definition has them, else the first cluster's.
          path: topLevel?.[component] === undefined ? entry.path : ['components', component],
          value: namespaces.length === 1 ? namespaces[0] : namespaces,
          message: `${component} declares no flows ${entry.partial ? `for ${namespaces.join(', ')} ` : ''}on ${entry.clusters.length === 1 ? 'cluster' : 'clusters'} ${entry.clusters.join(', ')}: ${namespaces.length === 1 ? 'its namespace' : 'its namespaces'} ${namespaces.join(', ')} ${namespaces.length === 1 ? 'stays' : 'stay'} outside default deny (zero trust does not cover ${namespaces.length === 1 ? 'it' : 'them'}, nor any namespace it shares)`,
          expected:
            'flows for every connection its pods open or accept (docs/adding-a-component.md)',
        }),
      );
    }
    return issues;
  },
  report(input) {
    const lines: string[] = [];
    for (const deployed of input.clusters) {
      const computed = clusterReachability(input, deployed);
      if (computed === undefined) continue;
      const { result } = computed;
      const allowed = result.needed.filter((reach) => reach.allowed).length;
      lines.push(
        `cluster ${result.cluster}: default deny ${result.defaultDeny ? 'on' : 'OFF'} in ${result.namespaces.join(', ')}; mutual authentication ${result.mutualAuthentication ? 'required between platform pods' : 'off'}; ${result.policies} policies`,
        `  needed flows: ${allowed} of ${result.needed.length} allowed`,
      );
      const rows = [...result.needed].sort((a, b) => compareStrings(arrow(a), arrow(b)));
      for (const reach of rows) {
        lines.push(
          `    ${reach.allowed ? 'allowed' : 'DENIED '}  ${arrow(reach)}  [${reach.connection?.id ?? ''}]`,
        );
      }
      const scraped = result.monitors.filter((reach) => reach.allowed).length;
      lines.push(
        `  monitor targets: ${scraped} of ${result.monitors.length} reachable by the metrics provider`,
      );
      for (const reach of result.monitors) {
        lines.push(
          `    ${reach.allowed ? 'allowed' : 'DENIED '}  ${reach.monitor} → ${reach.namespace} via ${reach.via}`,
        );
      }
      const forwarded = result.routes.filter((reach) => reach.allowed).length;
      lines.push(
        `  routes: ${forwarded} of ${result.routes.length} reach their pods from the Gateway`,
      );
      for (const reach of result.routes) {
        lines.push(
          `    ${reach.allowed ? 'allowed' : 'DENIED '}  gateway → ${reach.hostname} (${reach.owner}) via ${reach.via}`,
        );
      }
      const dnsOk = result.dns.filter((reach) => reach.allowed).length;
      lines.push(
        `  DNS: ${dnsOk} of ${result.dns.length} (pod group, port) pairs reach ${describeEndpoint(result.dns[0]?.to ?? { kind: 'fqdn', name: 'the cluster DNS' })}`,
      );
      const denied = result.undeclared.filter((reach) => !reach.allowed).length;
      lines.push(
        result.defaultDeny
          ? `  undeclared sample: ${denied} of ${result.undeclared.length} denied`
          : '  undeclared sample: not evaluated (default deny off: everything undeclared is allowed)',
      );
      for (const reach of result.undeclared.slice(0, 3)) {
        lines.push(`    ${reach.allowed ? 'ALLOWED' : 'denied '}  ${arrow(reach)}`);
      }
    }
    return lines;
  },
};
