// From declared flows to connections: every (source, destination, ports) the platform needs on a
// cluster, resolved from what the components declared (FlowDeclaration) and the extra flows of
// the definition (`components.cilium.networkPolicy.flows`). The policy generator (policies.ts)
// allows exactly these; the reachability check (reachability.ts) proves the generated policies
// do. Pure.
import {
  type Capability,
  type ClusterContribution,
  KUBE_APISERVER_PORTS as CORE_KUBE_APISERVER_PORTS,
  cidrContainsCidr,
  clusterRoutedHost,
  clusterServiceName,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  deploymentSources,
  error,
  type FlowDeclaration,
  type FlowPort,
  hostFlowPeer,
  type Issue,
  isDnsName,
  isKubeApiServerHost,
  KUBE_APISERVER_PORT,
  type PathSegment,
  type PodLabels,
  parseCidr,
  type ResolvedCluster,
  type ResolvedPlatform,
  type ServiceDeclaration,
  sourcePatternHost,
  TALOS_HOST_DNS_ADDRESS,
  type WorkloadProject,
  warning,
} from '@homelab/core';
import { CILIUM_NAMESPACE } from './constants.js';
import type { CiliumSettings } from './generated/settings.js';

/** Cilium's reserved identities a rule can name (`toEntities` / `fromEntities`). */
export type Entity = 'kube-apiserver' | 'host' | 'remote-node' | 'ingress' | 'cluster';

/** One end of a connection. */
export type Endpoint =
  /** Pods of a component: `selector` in `namespace`. */
  | {
      readonly kind: 'pods';
      readonly component: string;
      readonly namespace: string;
      readonly selector: PodLabels;
    }
  | { readonly kind: 'entity'; readonly entities: readonly Entity[]; readonly label: string }
  | { readonly kind: 'fqdn'; readonly name: string }
  | { readonly kind: 'cidr'; readonly cidr: string };

/** A connection the platform needs: `from` opens it to `to` on `ports`. */
export interface Connection {
  /** `<component>.<flow>`: unique on the cluster, names the policies that allow it. */
  readonly id: string;
  /** The component (or `definition`) that declared it. */
  readonly component: string;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly ports: readonly FlowPort[];
  readonly reason: string;
  /**
   * A call through the platform Gateway to a routed host (an egress flow with peer
   * `{ kind: 'gateway', host }`): `to` is the Gateway's proxy, `ports` the ones the pods dial.
   * The egress rule names the proxy without ports (policies.ts says why).
   */
  readonly route?: GatewayRoute;
  /** A call to a Service of the cluster by name (a `service` peer): how it was resolved. */
  readonly service?: ServiceCall;
}

/** A call to Service `service` of `namespace`, and how its pods and ports were found. */
export interface ServiceCall {
  readonly service: string;
  readonly namespace: string;
  /** The ports the caller declared: the Service's, unless `portsOf` is `pods`. */
  readonly declared: readonly FlowPort[];
  readonly portsOf: 'service' | 'pods';
  /**
   * The component that declares the Service (`ClusterContribution.services`): `to` is its
   * selector's pods and `ports` its targetPorts. Undefined: every pod of the namespace, on the
   * declared ports.
   */
  readonly declaredBy?: string;
}

/** A routed host a connection reaches through the Gateway, and where the Gateway forwards it. */
export interface GatewayRoute {
  /** `auth.dev.lab.example.com`. */
  readonly hostname: string;
  /** The component whose route serves the host. */
  readonly owner: string;
  /** Namespace of the route's Service. */
  readonly namespace: string;
  /**
   * The owner's pods that accept the Gateway (its ingress flows from the Gateway in the route's
   * namespace), with their ports; empty when the owner declares no flows (zero trust does not
   * cover it, so nothing stops the Gateway).
   */
  readonly backends: readonly { readonly to: Endpoint; readonly ports: readonly FlowPort[] }[];
}

/** The cluster DNS servers every managed pod may query (port 53, UDP and TCP). */
export interface DnsTarget {
  readonly namespace: string;
  readonly selector: PodLabels;
  /** The component that provides `dns`, or undefined for Talos' own CoreDNS. */
  readonly component: string | undefined;
}

export interface FlowPlan {
  readonly connections: readonly Connection[];
  /** Namespaces the platform's components run in: under default deny. */
  readonly namespaces: readonly string[];
  /** Every component's pods named by a flow (for the sample of undeclared pairs). */
  readonly endpoints: readonly Extract<Endpoint, { kind: 'pods' }>[];
  readonly dns: DnsTarget;
}

/** What the plan is computed from: one cluster's contributions and Cilium's settings there. */
export interface FlowPlanInput {
  readonly platform: ResolvedPlatform;
  readonly cluster: ResolvedCluster;
  /** Every enabled component's declaration on the cluster, by component name. */
  readonly contributions: ReadonlyMap<string, ClusterContribution>;
  readonly settings: CiliumSettings;
  /** Path of Cilium's settings on the cluster, for issues. */
  readonly path: (...segments: PathSegment[]) => PathSegment[];
}

/** Talos' CoreDNS (when no component provides `dns`): `k8s-app: kube-dns` in kube-system. */
const TALOS_DNS: DnsTarget = {
  namespace: CILIUM_NAMESPACE,
  selector: { 'k8s-app': 'kube-dns' },
  component: undefined,
};

/**
 * The metrics port of Talos' CoreDNS (`prometheus :9153` in its Corefile, the container and
 * kube-dns Service port; Talos v1.12 `internal/app/machined/pkg/controllers/k8s/internal/
 * k8stemplates/coredns.go`), which the metrics provider's chart scrapes where no component
 * provides `dns` (kube-prometheus-stack's `coreDns` monitor).
 */
export const TALOS_DNS_METRICS_PORT = 9153;

export const DNS_PORTS: readonly FlowPort[] = [
  { port: 53, protocol: 'UDP' },
  { port: 53, protocol: 'TCP' },
];

/**
 * The API server as pods see it after the Service translation (KubePrism is node-local): core's
 * `KUBE_APISERVER_PORTS`, the port a setting naming the API server's Service resolves to.
 */
export const KUBE_APISERVER_PORTS: readonly FlowPort[] = CORE_KUBE_APISERVER_PORTS;

/**
 * Whether `name` can be a toFQDNs rule: a DNS name (`matchName`) or one with a single leading
 * wildcard label (`*.example.com`, `matchPattern`), core's `isDnsName` with `wildcard`. Lower case,
 * as the policies' validator takes it (Cilium lower-cases either, `dns.FQDN`); two or more labels,
 * since a pod's resolver first tries a short name through its search path
 * (`<name>.<namespace>.svc.<domain>` and on), so the names Cilium's DNS proxy sees are others.
 */
function isFqdnRule(name: string): boolean {
  return isDnsName(name, { wildcard: true });
}

/**
 * The workload projects whose source patterns leave the host open (`*`, the default): under
 * default deny the repo-server reaches only the hosts `deploymentSources` names, so their
 * Applications fetch from those hosts alone.
 */
export function openSourcePatterns(
  contributions: ReadonlyMap<string, ClusterContribution>,
): { project: WorkloadProject; patterns: string[] }[] {
  const out: { project: WorkloadProject; patterns: string[] }[] = [];
  for (const contribution of contributions.values()) {
    for (const project of contribution.workloadProjects ?? []) {
      const patterns = project.sourceRepos.filter(
        (pattern) => !pattern.startsWith('!') && sourcePatternHost(pattern) === undefined,
      );
      if (patterns.length > 0) out.push({ project, patterns });
    }
  }
  return out;
}

function pods(component: string, namespace: string, selector: PodLabels): Endpoint {
  return { kind: 'pods', component, namespace, selector: sortedLabels(selector) };
}

function sortedLabels(labels: PodLabels): PodLabels {
  const out: { [key: string]: string } = {};
  for (const key of Object.keys(labels).sort(compareStrings)) out[key] = labels[key] as string;
  return out;
}

function entity(label: string, ...entities: Entity[]): Endpoint {
  return { kind: 'entity', entities, label };
}

/** Whether `served` (a port or a range) covers every port of `needed`. */
export function covers(served: FlowPort, needed: FlowPort): boolean {
  return (
    served.protocol === needed.protocol &&
    served.port <= needed.port &&
    (needed.endPort ?? needed.port) <= (served.endPort ?? served.port)
  );
}

/** `port/protocol` (a range `port-endPort/protocol`) for messages. */
export function formatPorts(ports: readonly FlowPort[]): string {
  return ports
    .map((port) =>
      port.endPort === undefined
        ? `${port.port}/${port.protocol}`
        : `${port.port}-${port.endPort}/${port.protocol}`,
    )
    .join(', ');
}

/** Why a declared port is not one (a port 1–65535, a range with `endPort` above `port`). */
function badPort(port: FlowPort): string | undefined {
  const valid = (value: number) => Number.isInteger(value) && value >= 1 && value <= 65535;
  if (!valid(port.port)) return `port ${port.port} is not a port number`;
  if (port.endPort !== undefined && (!valid(port.endPort) || port.endPort <= port.port)) {
    return `range ${port.port}-${port.endPort} does not end above its first port, at 65535 at most`;
  }
  return undefined;
}

/** The component that provides `capability` on the cluster (its declaration has the fact). */
function providerOf(
  contributions: ReadonlyMap<string, ClusterContribution>,
  capability: Capability,
): string | undefined {
  for (const [name, contribution] of contributions) {
    if (contribution.facts?.[capability] !== undefined) return name;
  }
  return undefined;
}

/**
 * The component whose pods run in `namespace` on the cluster (its Application's namespace, or
 * one of its flows'), the first by name when several share it; undefined when none does.
 */
function namespaceOwner(
  contributions: ReadonlyMap<string, ClusterContribution>,
  namespace: string,
): string | undefined {
  const names = [...contributions.keys()].sort(compareStrings);
  const runsIn = (name: string, strict: boolean): boolean => {
    const contribution = contributions.get(name) as ClusterContribution;
    const application = contribution.application;
    if (
      application !== undefined &&
      [application.namespace, ...(application.additionalNamespaces ?? [])].includes(namespace)
    ) {
      return true;
    }
    return !strict && (contribution.flows ?? []).some((flow) => flow.namespace === namespace);
  };
  return names.find((name) => runsIn(name, true)) ?? names.find((name) => runsIn(name, false));
}

/** The Service `name` of `namespace` a component declares it renders on the cluster, if one does. */
export function declaredService(
  contributions: ReadonlyMap<string, ClusterContribution>,
  name: string,
  namespace: string,
): { component: string; declaration: ServiceDeclaration } | undefined {
  for (const component of [...contributions.keys()].sort(compareStrings)) {
    const declaration = (contributions.get(component)?.services ?? []).find(
      (service) => service.name === name && service.namespace === namespace,
    );
    if (declaration !== undefined) return { component, declaration };
  }
  return undefined;
}

/**
 * The pods' ports a call to `service` on `ports` (the Service's) arrives at: each port's
 * targetPort (a range: each Service port in it), or the ports no Service port serves.
 */
export function targetPorts(
  service: Pick<ServiceDeclaration, 'ports'>,
  ports: readonly FlowPort[],
): FlowPort[] | { missing: FlowPort[] } {
  const out: FlowPort[] = [];
  const missing: FlowPort[] = [];
  for (const port of ports) {
    const served = service.ports.filter(
      (entry) =>
        entry.protocol === port.protocol &&
        port.port <= entry.port &&
        entry.port <= (port.endPort ?? port.port),
    );
    if (served.length === 0) missing.push(port);
    for (const entry of served) {
      if (!out.some((seen) => seen.port === entry.targetPort && seen.protocol === entry.protocol))
        out.push({ port: entry.targetPort, protocol: entry.protocol });
    }
  }
  return missing.length > 0 ? { missing } : out;
}

/** A declared Service's ports for messages: `80→9000/TCP`. */
export function formatServicePorts(service: Pick<ServiceDeclaration, 'ports'>): string {
  return (
    service.ports
      .map((port) =>
        port.port === port.targetPort
          ? `${port.port}/${port.protocol}`
          : `${port.port}→${port.targetPort}/${port.protocol}`,
      )
      .join(', ') || 'none'
  );
}

/** The cluster's DNS domain: the `dns` provider's, else Talos' default. */
function clusterDomain(contributions: ReadonlyMap<string, ClusterContribution>): string {
  for (const contribution of contributions.values()) {
    const dns = contribution.facts?.dns;
    if (dns !== undefined) return dns.clusterDomain;
  }
  return DEFAULT_CLUSTER_DOMAIN;
}

/** Where the cluster's pods send DNS queries: the `dns` provider's pods, or Talos' CoreDNS. */
export function dnsTarget(contributions: ReadonlyMap<string, ClusterContribution>): DnsTarget {
  for (const [name, contribution] of contributions) {
    const dns = contribution.facts?.dns;
    if (dns !== undefined) {
      return { namespace: dns.namespace, selector: sortedLabels(dns.selector), component: name };
    }
  }
  return TALOS_DNS;
}

type ExtraFlows = NonNullable<NonNullable<CiliumSettings['networkPolicy']>['flows']>;

/**
 * Every connection the cluster needs: each component's declared flows resolved to both ends,
 * Talos' CoreDNS when no component provides `dns`, and the definition's extra flows. A flow that
 * cannot be resolved (a capability nobody provides, a port the provider does not serve, a
 * component that does not exist) is an issue naming both ends; it yields no connection.
 */
export function planFlows(input: FlowPlanInput): { plan: FlowPlan; issues: Issue[] } {
  const { contributions, cluster } = input;
  const issues: Issue[] = [];
  const connections: Connection[] = [];
  const componentPath = (component: string): PathSegment[] => [
    'clusters',
    cluster.index,
    'components',
    component,
  ];
  const flowIssue = (
    component: string,
    flow: FlowDeclaration,
    message: string,
    expected: string,
  ): void => {
    issues.push(
      error({
        code: 'flow-unresolved',
        path: componentPath(component),
        value: flow.name,
        message: `${component} flow "${flow.name}" on cluster "${cluster.name}": ${message}`,
        expected,
      }),
    );
  };

  // Where each provider accepts its consumers, and reaches them.
  const accepts = new Map<Capability, { component: string; flow: FlowDeclaration }[]>();
  const reaches = new Map<Capability, { component: string; flow: FlowDeclaration }[]>();
  for (const [component, contribution] of contributions) {
    for (const flow of contribution.flows ?? []) {
      if (flow.peer.kind !== 'consumers') continue;
      const table = flow.direction === 'ingress' ? accepts : reaches;
      const list = table.get(flow.peer.capability) ?? [];
      list.push({ component, flow });
      table.set(flow.peer.capability, list);
    }
  }

  const names = [...contributions.keys()].sort(compareStrings);
  for (const component of names) {
    const contribution = contributions.get(component) as ClusterContribution;
    const seenNames = new Set<string>();
    for (const flow of contribution.flows ?? []) {
      if (seenNames.has(flow.name)) {
        flowIssue(component, flow, 'is declared twice', 'a unique flow name per component');
        continue;
      }
      seenNames.add(flow.name);
      const own = pods(component, flow.namespace, flow.selector);
      const id = `${component}.${flow.name}`;
      const reason = flow.reason ?? flow.name;
      const peer = flow.peer;
      let count = 0;
      const add = (
        from: Endpoint,
        to: Endpoint,
        ports: readonly FlowPort[],
        service?: ServiceCall,
      ): void => {
        // One declaration may resolve to several connections (every deployment source, every
        // provider endpoint): each gets its own id, so that each gets its own policies.
        count += 1;
        const unique =
          to.kind === 'fqdn' && peer.kind === 'deployment-sources'
            ? `${id}.${to.name}`
            : count === 1
              ? id
              : `${id}.${count}`;
        connections.push({
          id: unique,
          component,
          from,
          to,
          ports,
          reason,
          ...(service === undefined ? {} : { service }),
        });
      };
      // Egress to the pods behind Service <service>.<namespace>.svc (the `service` peer, a
      // deployment source inside the cluster): the ClusterIP its name resolves to, and the
      // Service's port, are translated to a backend pod and its port at connect() before the
      // egress policy applies (contract.ts, FlowPeer `service`). A Service a component declares
      // (`services`: one the platform renders) is its selector's pods on the targetPorts its
      // ports map to; any other is every pod of the namespace (the only labels the build knows
      // of them), on the declared ports taken as the pods'. Where the namespace is under default
      // deny, the generator also opens those pods to the caller on exactly these ports.
      const addService = (
        service: {
          readonly service: string;
          readonly namespace: string;
          readonly portsOf?: 'service' | 'pods';
          readonly portSetting?: string;
        },
        ports: readonly FlowPort[],
      ): void => {
        const hostname = `${service.service}.${service.namespace}.svc`;
        const portsOf = service.portsOf ?? 'service';
        const declared = declaredService(contributions, service.service, service.namespace);
        const call: ServiceCall = {
          service: service.service,
          namespace: service.namespace,
          declared: ports,
          portsOf,
          ...(declared === undefined ? {} : { declaredBy: declared.component }),
        };
        if (declared !== undefined) {
          const { declaration } = declared;
          const mapped = portsOf === 'pods' ? [...ports] : targetPorts(declaration, ports);
          if ('missing' in mapped) {
            issues.push(
              error({
                code: 'flow-service',
                path: componentPath(component),
                value: flow.name,
                message: `${component} flow "${flow.name}" on cluster "${cluster.name}" calls Service ${hostname} on ${formatPorts(mapped.missing)}, but the Service ${declared.component} renders has no such port (it has ${formatServicePorts(declaration)}): nothing answers there`,
                expected: `a port of the Service: ${formatServicePorts(declaration)}`,
              }),
            );
            return;
          }
          add(own, pods(declared.component, service.namespace, declaration.selector), mapped, call);
          return;
        }
        const owner = namespaceOwner(contributions, service.namespace);
        if (owner === undefined) {
          issues.push(
            warning({
              code: 'flow-service',
              path: componentPath(component),
              value: flow.name,
              message: `${component} flow "${flow.name}" on cluster "${cluster.name}" calls Service ${hostname}, but nothing the definition deploys runs in namespace "${service.namespace}": the build knows neither the pods behind it nor their labels, so no policy can be generated for it and under default deny every connection to it is dropped (a DNS rule cannot stand in: the name resolves to the ClusterIP, which Cilium translates to a pod before the policy applies)`,
              expected: `what serves ${hostname} deployed by the definition (an application with namespace "${service.namespace}"), or the target reached at an address outside the cluster`,
            }),
          );
          return;
        }
        if (portsOf === 'service') {
          // No component renders it (an application's own workload): its targetPort is unknown.
          issues.push(
            warning({
              code: 'flow-service-port',
              path: componentPath(component),
              value: flow.name,
              message: `${component} flow "${flow.name}" on cluster "${cluster.name}" calls Service ${hostname} on ${formatPorts(ports)}, which no component of the platform renders: the policy allows every pod of namespace "${service.namespace}" on that port, taken as the port the pods listen on; Cilium translates the Service's port to its targetPort before the policy applies, so if the Service maps it to another port every connection is dropped under default deny`,
              expected:
                service.portSetting === undefined
                  ? `a Service ${service.service} whose targetPort is its port (${formatPorts(ports)}): no setting of ${component} states another port for the pods`
                  : `the pods' port in ${service.portSetting} where the Service's targetPort differs from its port`,
            }),
          );
        }
        add(own, pods(owner, service.namespace, {}), ports, call);
      };
      const addRoute = (to: Endpoint, route: GatewayRoute): void => {
        connections.push({ id, component, from: own, to, ports: flow.ports, reason, route });
      };
      /** A call to the routed host `host` (a route's first label) through the Gateway. */
      const throughGateway = (host: string | undefined): void => {
        const resolved = resolveRoute(input, host);
        if ('message' in resolved) {
          flowIssue(component, flow, resolved.message, resolved.expected);
          return;
        }
        addRoute(entity(`gateway (${resolved.hostname} → ${resolved.owner})`, 'ingress'), resolved);
      };
      const ingress = flow.direction === 'ingress';
      const portless =
        peer.kind === 'deployment-sources' || (peer.kind === 'consumers' && !ingress);
      if (flow.ports.length === 0 && !portless) {
        flowIssue(
          component,
          flow,
          'lists no port',
          'the ports at the destination (never "any port")',
        );
        continue;
      }
      const invalid = flow.ports.map(badPort).find((problem) => problem !== undefined);
      if (invalid !== undefined) {
        flowIssue(component, flow, invalid, 'ports 1–65535 (a range: endPort above port)');
        continue;
      }
      switch (peer.kind) {
        case 'self': {
          const other = pods(component, peer.namespace ?? flow.namespace, peer.selector);
          if (ingress) add(other, own, flow.ports);
          else add(own, other, flow.ports);
          break;
        }
        case 'capability': {
          const provider = providerOf(contributions, peer.capability);
          const table = ingress ? reaches : accepts;
          const candidates = (table.get(peer.capability) ?? []).filter(
            (entry) => entry.component === provider,
          );
          // An ingress from a provider the cluster does not run allows nothing and needs nothing
          // (a metrics port nobody scrapes there).
          if (provider === undefined && ingress) break;
          const providerContribution =
            provider === undefined ? undefined : contributions.get(provider);
          const providerNamespace = providerContribution?.application?.namespace;
          if (
            provider !== undefined &&
            candidates.length === 0 &&
            (providerContribution?.flows ?? []).length === 0 &&
            providerNamespace !== undefined
          ) {
            // A provider that declares no flows stays outside default deny: its pods open and
            // accept anything, so the flow is this end's rule, with the provider's namespace as
            // the peer (the per-flow policies never switch enforcement on at the provider).
            const other = pods(provider, providerNamespace, {});
            if (ingress) add(other, own, flow.ports);
            else add(own, other, flow.ports);
            break;
          }
          if (provider === undefined || candidates.length === 0) {
            flowIssue(
              component,
              flow,
              provider === undefined
                ? `needs "${peer.capability}" on ${formatPorts(flow.ports)}, which no component enabled on the cluster provides`
                : `needs "${peer.capability}" on ${formatPorts(flow.ports)}, but ${provider} (its provider) declares no ${ingress ? 'egress to' : 'ingress from'} its consumers: nothing allows the flow`,
              provider === undefined
                ? `a component that provides "${peer.capability}" enabled on cluster "${cluster.name}"`
                : `${provider} declaring a flow with peer { kind: consumers, capability: ${peer.capability} }`,
            );
            break;
          }
          for (const { flow: theirs } of candidates) {
            const other = pods(provider, theirs.namespace, theirs.selector);
            if (ingress) {
              add(other, own, flow.ports);
              continue;
            }
            const missing = flow.ports.filter(
              (port) => !theirs.ports.some((served) => covers(served, port)),
            );
            if (missing.length > 0) {
              flowIssue(
                component,
                flow,
                `needs ${provider} ("${peer.capability}") on ${formatPorts(missing)}, but ${provider} accepts its consumers on ${formatPorts(theirs.ports) || 'no port'} (flow "${theirs.name}")`,
                `ports ${formatPorts(theirs.ports)}, or ${provider} accepting ${formatPorts(missing)}`,
              );
              continue;
            }
            add(own, other, flow.ports);
          }
          break;
        }
        case 'consumers': {
          const provider = providerOf(contributions, peer.capability);
          if (provider !== component) {
            flowIssue(
              component,
              flow,
              `names the consumers of "${peer.capability}", which ${component} does not provide on the cluster`,
              `a capability ${component} provides`,
            );
          }
          // The consumers' declarations make the connections.
          break;
        }
        case 'gateway': {
          if (ingress) {
            if (peer.host !== undefined) {
              flowIssue(
                component,
                flow,
                `names host "${peer.host}" on an ingress from the Gateway`,
                'no host on an ingress (the Gateway forwards every route of the component)',
              );
              break;
            }
            add(entity('gateway', 'ingress'), own, flow.ports);
            break;
          }
          throughGateway(peer.host);
          break;
        }
        case 'kube-apiserver':
          // From the API server (webhooks, aggregated APIs), the remote nodes too: in Cilium's
          // default tunnel mode a call from an API server on another node arrives through the
          // overlay with that node's identity, `remote-node`, not `kube-apiserver`
          // (cilium/cilium#18049, #27967; the overlay's ipcache lookup that was to restore it never
          // took effect, cilium/cilium#45718). Only an API server on the pod's own node matches
          // `kube-apiserver` (the host identity carries its label there).
          if (ingress) {
            add(entity('kube-apiserver', 'kube-apiserver', 'remote-node'), own, flow.ports);
          } else add(own, entity('kube-apiserver', 'kube-apiserver'), flow.ports);
          break;
        case 'host':
          if (ingress) add(entity('nodes', 'host', 'remote-node'), own, flow.ports);
          else add(own, entity('nodes', 'host', 'remote-node'), flow.ports);
          break;
        case 'fqdn':
          if (ingress || !isFqdnRule(peer.name)) {
            flowIssue(
              component,
              flow,
              ingress
                ? 'names a host outside the cluster as the source of an ingress'
                : `"${peer.name}" is not a DNS name or a pattern with one leading wildcard`,
              ingress ? 'fqdn peers on egress flows' : 'a name such as github.com or *.github.com',
            );
            break;
          }
          {
            // A host the cluster's own Gateway routes (an OIDC back-channel to auth.<domain>,
            // another application's route): Cilium takes the connection into its Envoy before a
            // toFQDNs rule could match the name (cilium/cilium#47768), so the call goes through
            // the Gateway, as a `gateway` peer's. A host of the Gateway's domain that no route
            // serves (a NAS on the LAN with its own DNS record) keeps its toFQDNs rule.
            const routed = clusterRoutedHost(peer.name, contributions);
            if (routed !== undefined) {
              const off = offListenerPorts(peer.name, routed, flow.ports, contributions);
              if (off !== undefined) flowIssue(component, flow, off.message, off.expected);
              else throughGateway(routed);
              break;
            }
          }
          if (isKubeApiServerHost(peer.name, clusterDomain(contributions))) {
            flowIssue(
              component,
              flow,
              `"${peer.name}" is the API server's Service: Cilium translates its ClusterIP to the API server's host address, which carries the kube-apiserver identity, so a toFQDNs rule never matches`,
              `peer { kind: kube-apiserver } on port ${KUBE_APISERVER_PORT} (core's hostFlowPeer and flowPeerPorts)`,
            );
            break;
          }
          {
            const service = clusterServiceName(peer.name, clusterDomain(contributions));
            if (service !== undefined) {
              flowIssue(
                component,
                flow,
                `"${peer.name}" is a Service of the cluster: a toFQDNs rule allows the ClusterIP it resolves to, which Cilium translates to a pod before the egress policy applies, so it never matches`,
                `peer { kind: service, service: ${service.service}, namespace: ${service.namespace} }`,
              );
              break;
            }
            // `<service>.<namespace>` with a namespace the definition deploys into: a pod's
            // resolver (ClusterFirst: ndots 5, search <ns>.svc.<domain> svc.<domain> <domain>)
            // tries svc.<domain> first and reaches that Service, whose ClusterIP Cilium
            // translates to a pod; the DNS proxy sees the expanded name, so the rule never
            // matches. A public name of two labels (a TLD named as the namespace) keeps its rule.
            const labels = peer.name.split('.');
            const [short, namespace] = labels;
            if (
              labels.length === 2 &&
              short !== undefined &&
              short !== '*' &&
              namespace !== undefined &&
              namespaceOwner(contributions, namespace) !== undefined
            ) {
              const full = `${short}.${namespace}.svc.${clusterDomain(contributions)}`;
              issues.push(
                warning({
                  code: 'flow-fqdn-service',
                  path: componentPath(component),
                  value: flow.name,
                  message: `${component} flow "${flow.name}" on cluster "${cluster.name}" names "${peer.name}", which a pod's DNS search path resolves as ${full}, Service ${short} of namespace "${namespace}" (deployed by the definition): Cilium translates its ClusterIP to a pod before the policy applies and its DNS proxy sees the expanded name, so the toFQDNs rule for "${peer.name}" never matches and under default deny every connection is dropped`,
                  expected: `the Service's full name, ${short}.${namespace}.svc (its pods are then the peer), or a name outside the cluster`,
                }),
              );
            }
          }
          add(own, { kind: 'fqdn', name: peer.name }, flow.ports);
          break;
        case 'deployment-sources':
          if (ingress) {
            flowIssue(component, flow, 'names the deployment sources on an ingress', 'egress');
            break;
          }
          {
            // One connection per host, with every port it is fetched on (a repository over SSH
            // on 22 and charts over HTTPS on 443 from github.com): the host names the policy.
            const ports = new Map<string, FlowPort[]>();
            for (const source of deploymentSources(input.platform, contributions)) {
              const list = ports.get(source.host) ?? [];
              list.push({ port: source.port, protocol: 'TCP' });
              ports.set(source.host, list);
            }
            for (const [host, list] of ports) {
              // A Git server behind this cluster's own Gateway (a Gitea route on the Gateway's
              // domain): Cilium's Envoy takes the connection before a toFQDNs rule could match
              // (cilium/cilium#47768), as for an `fqdn` peer, so the fetch goes through the
              // Gateway.
              const routed = clusterRoutedHost(host, contributions);
              if (routed !== undefined) {
                const off = offListenerPorts(host, routed, list, contributions);
                if (off !== undefined) flowIssue(component, flow, off.message, off.expected);
                else throughGateway(routed);
                continue;
              }
              // An address in the URL: git and Helm dial it without a DNS query, so Cilium's DNS
              // proxy never learns it and a toFQDNs rule naming it never matches; a CIDR does
              // (core's hostFlowPeer reads the host as every other URL's).
              const peer = hostFlowPeer(host, clusterDomain(contributions));
              if (peer?.kind === 'cidr') {
                add(own, peer, list);
                continue;
              }
              // A repository served inside the cluster (a Gitea Service): its pods, not a name.
              const service = clusterServiceName(host, clusterDomain(contributions));
              if (service === undefined) add(own, { kind: 'fqdn', name: host }, list);
              else addService(service, list);
            }
          }
          break;
        case 'service': {
          const hostname = `${peer.service}.${peer.namespace}.svc`;
          if (ingress) {
            flowIssue(
              component,
              flow,
              `names Service ${hostname} as the source of an ingress`,
              'service peers on egress flows (the side that calls the Service)',
            );
            break;
          }
          if (isKubeApiServerHost(hostname)) {
            flowIssue(
              component,
              flow,
              `names the API server's Service ${hostname}: no pods are behind it, Cilium translates its ClusterIP to the API server's host address, which carries the kube-apiserver identity`,
              `peer { kind: kube-apiserver } on port ${KUBE_APISERVER_PORT} (core's hostFlowPeer and flowPeerPorts)`,
            );
            break;
          }
          addService(peer, flow.ports);
          break;
        }
        case 'cidr': {
          const cidr = parseCidr(peer.cidr);
          if (cidr === undefined) {
            flowIssue(
              component,
              flow,
              `"${peer.cidr}" is not a CIDR`,
              'a network such as 10.0.0.0/8',
            );
            break;
          }
          // An address of the cluster's own pod or Service network (a URL's literal IP): CIDR
          // rules never match the cluster's pods, and a ClusterIP is translated to a pod before
          // the policy applies (Cilium's "IP/CIDR based" policy docs), so nothing it allows
          // ever arrives.
          const inside = (
            [
              ['pod', cluster.network.podCidr],
              ['Service', cluster.network.serviceCidr],
            ] as const
          ).find(([, range]) => range !== undefined && cidrContainsCidr(range, cidr));
          if (inside !== undefined) {
            issues.push(
              warning({
                code: 'flow-cidr-cluster',
                path: componentPath(component),
                value: flow.name,
                message: `${component} flow "${flow.name}" on cluster "${cluster.name}" names ${peer.cidr}, inside the cluster's ${inside[0]} network ${inside[1]}: Cilium's CIDR rules never match the cluster's pods (and it translates a ClusterIP to a pod before the policy applies), so under default deny every connection to it is dropped`,
                expected:
                  'the Service by its name, <service>.<namespace>.svc (its pods are then the peer), or an address outside the cluster',
              }),
            );
          }
          // An address of one of the cluster's LoadBalancer pools, called from a pod (a URL's
          // literal IP: MinIO or PostgreSQL at the address Cilium gave their Service): Cilium's
          // socket load balancer (kubeProxyReplacement) translates a LoadBalancer address to a
          // backend pod at connect() like a ClusterIP (bpf_sock.c sock4_skip_xlate leaves only
          // externalIPs and hostPorts), so the CIDR rule never matches; an address no Service
          // holds answers nobody. Egress only: the LAN's clients reach the pool from outside.
          const pool = ingress
            ? undefined
            : (cluster.network.loadBalancerPools ?? []).find((candidate) =>
                cidrContainsCidr(candidate.cidr, cidr),
              );
          if (pool !== undefined) {
            issues.push(
              warning({
                code: 'flow-cidr-cluster',
                path: componentPath(component),
                value: flow.name,
                message: `${component} flow "${flow.name}" on cluster "${cluster.name}" names ${peer.cidr}, inside the cluster's LoadBalancer pool "${pool.name}" (${pool.cidr}): Cilium translates a LoadBalancer address to a backend pod when a pod connects, before the policy applies, and CIDR rules never match the cluster's pods, so under default deny every connection to it is dropped`,
                expected:
                  'the Service by its name, <service>.<namespace>.svc (its pods are then the peer), or an address outside the cluster',
              }),
            );
          }
          // One node's own address (a setting's URL with a node IP: a NodePort, a host-network
          // server): Cilium gives the cluster's nodes the `host` / `remote-node` identities, which
          // CIDR rules do not select unless `policy-cidr-match-mode` is `nodes` (Cilium's
          // "IP/CIDR based" policy docs), so nothing this rule allows arrives.
          const node = cluster.nodes.find((candidate) => {
            const address = `${candidate.address}/${candidate.address.includes(':') ? 128 : 32}`;
            return cidrContainsCidr(address, cidr) && cidrContainsCidr(cidr, address);
          });
          if (node !== undefined) {
            issues.push(
              warning({
                code: 'flow-cidr-cluster',
                path: componentPath(component),
                value: flow.name,
                message: `${component} flow "${flow.name}" on cluster "${cluster.name}" names ${peer.cidr}, the address of node ${node.hostname}: Cilium's CIDR rules do not select the cluster's nodes (they carry the host or remote-node identity, and the platform keeps Cilium's default policy-cidr-match-mode), so under default deny every connection ${ingress ? 'from' : 'to'} it is dropped`,
                expected:
                  'a `host` peer (the nodes) for a host-network or NodePort server of the cluster, a Service by its name, or an address outside the cluster',
              }),
            );
          }
          const network = { kind: 'cidr' as const, cidr: peer.cidr };
          if (ingress) add(network, own, flow.ports);
          else add(own, network, flow.ports);
          break;
        }
      }
    }
  }

  const dns = dnsTarget(contributions);
  if (dns.component === undefined) {
    // Talos' own CoreDNS runs in a namespace under default deny: what it needs, explicitly.
    const coredns = pods('talos-coredns', dns.namespace, dns.selector);
    connections.push(
      {
        id: 'talos-coredns.apiserver',
        component: 'talos-coredns',
        from: coredns,
        to: entity('kube-apiserver', 'kube-apiserver'),
        ports: KUBE_APISERVER_PORTS,
        reason: "Talos' CoreDNS watches Services and EndpointSlices",
      },
      {
        id: 'talos-coredns.host-dns',
        component: 'talos-coredns',
        from: coredns,
        to: entity('node host DNS', 'host'),
        ports: DNS_PORTS,
        // 169.254.116.108 on the node's lo: Cilium v1.19.6 takes every address of lo up to host
        // scope for a node address (pkg/datapath/tables/node_address.go whitelistDevices,
        // AddressScopeMax), the host identity, whose CIDR labels it drops under the default
        // policy-cidr-match-mode (pkg/ipcache/metadata.go): only the host entity selects it.
        reason: `Talos' CoreDNS forwards to the node's host DNS resolver (${TALOS_HOST_DNS_ADDRESS}, a node address: the host entity)`,
      },
    );
  }

  connections.push(...extraConnections(input, issues));

  // Default deny covers the namespaces of the components that declare their flows (an empty list
  // too: pods that need no connection, or no pods at all), and none where a component runs that
  // declares none: its pods would reach nothing but the DNS (the reachability check warns about
  // it; zero trust is opt-in per component, never a surprise).
  const namespaces = new Set<string>();
  const open = new Set<string>();
  for (const contribution of contributions.values()) {
    const application = contribution.application;
    const own = new Set<string>(
      application === undefined
        ? []
        : [application.namespace, ...(application.additionalNamespaces ?? [])],
    );
    for (const flow of contribution.flows ?? []) own.add(flow.namespace);
    const target = contribution.flows === undefined ? open : namespaces;
    for (const namespace of own) target.add(namespace);
    // Namespaces the component says its flows do not cover (an application declaring none).
    for (const namespace of contribution.flowlessNamespaces ?? []) open.add(namespace);
  }
  for (const namespace of open) namespaces.delete(namespace);
  connections.push(...scrapeConnections(contributions, reaches, namespaces, dns));
  const endpoints = new Map<string, Extract<Endpoint, { kind: 'pods' }>>();
  for (const connection of connections) {
    for (const end of [connection.from, connection.to]) {
      if (end.kind === 'pods') endpoints.set(endpointKey(end), end);
    }
  }
  return {
    plan: {
      connections,
      namespaces: [...namespaces].sort(compareStrings),
      endpoints: [...endpoints.keys()]
        .sort(compareStrings)
        .map((key) => endpoints.get(key) as Extract<Endpoint, { kind: 'pods' }>),
      dns,
    },
    issues,
  };
}

/**
 * Where the metrics provider's egress to its consumers (peer `{ kind: 'consumers', capability:
 * 'metrics' }`, declared without ports) goes beyond the components that admit it with an ingress
 * flow from `metrics` (those make their own connections):
 * - the nodes, on the `hostPort` of every monitor target on the host network (Cilium's agent and
 *   operator carry the nodes' identity);
 * - every namespace outside default deny where a component runs, on any port: its pods accept
 *   anything already, and no flow of its component names the metrics port (it declares none),
 *   while the provider scrapes it (Longhorn, VolSync, applications). The rule is only the
 *   provider's egress, scoped to that namespace;
 * - Talos' own CoreDNS, where no component provides `dns`, on its metrics port: it runs in
 *   Cilium's namespace, under default deny, and no component declares its flows, while the
 *   metrics provider's chart scrapes it (kube-prometheus-stack's `coreDns` monitor, on unless a
 *   component provides `dns`); without this pair of rules every scrape is dropped and
 *   TargetDown fires for ever.
 */
function scrapeConnections(
  contributions: ReadonlyMap<string, ClusterContribution>,
  reaches: ReadonlyMap<Capability, readonly { component: string; flow: FlowDeclaration }[]>,
  denied: ReadonlySet<string>,
  dns: DnsTarget,
): Connection[] {
  const provider = providerOf(contributions, 'metrics');
  if (provider === undefined) return [];
  const out: Connection[] = [];
  const names = [...contributions.keys()].sort(compareStrings);
  for (const { component, flow } of reaches.get('metrics') ?? []) {
    if (component !== provider || flow.direction !== 'egress') continue;
    const from = pods(provider, flow.namespace, flow.selector);
    const id = `${provider}.${flow.name}`;
    for (const owner of names) {
      const contribution = contributions.get(owner) as ClusterContribution;
      for (const monitor of contribution.monitors ?? []) {
        const hostPort = monitor.target?.hostPort;
        if (hostPort === undefined) continue;
        out.push({
          id: `${id}.${owner}-${monitor.name}`,
          component: provider,
          from,
          to: entity('nodes', 'host', 'remote-node'),
          ports: [{ port: hostPort, protocol: 'TCP' }],
          reason: `${flow.reason ?? flow.name}: monitor "${monitor.name}" of ${owner} (host network)`,
        });
      }
    }
    if (dns.component === undefined) {
      out.push({
        id: `${id}.talos-coredns`,
        component: provider,
        from,
        to: pods('talos-coredns', dns.namespace, dns.selector),
        ports: [{ port: TALOS_DNS_METRICS_PORT, protocol: 'TCP' }],
        reason: `${flow.reason ?? flow.name}: Talos' CoreDNS (metrics)`,
      });
    }
    const open = new Map<string, string>();
    for (const owner of names) {
      const contribution = contributions.get(owner) as ClusterContribution;
      const application = contribution.application;
      if (application === undefined) continue;
      for (const namespace of [
        application.namespace,
        ...(application.additionalNamespaces ?? []),
      ]) {
        if (!denied.has(namespace) && !open.has(namespace)) open.set(namespace, owner);
      }
    }
    for (const namespace of [...open.keys()].sort(compareStrings)) {
      const owner = open.get(namespace) as string;
      out.push({
        id: `${id}.${namespace}`,
        component: provider,
        from,
        to: pods(owner, namespace, {}),
        ports: [],
        reason: `${flow.reason ?? flow.name}: ${namespace} (of ${owner}) is outside default deny and names no metrics port`,
      });
    }
  }
  return out;
}

/** The route hosts of the cluster, `host` (first label) → owner, for messages. */
function routeHosts(contributions: ReadonlyMap<string, ClusterContribution>): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const [component, contribution] of contributions) {
    for (const route of contribution.routes ?? []) hosts.set(route.host, component);
  }
  return hosts;
}

function routeExpectation(contributions: ReadonlyMap<string, ClusterContribution>): string {
  const hosts = [...routeHosts(contributions).entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([host, owner]) => `${host} (${owner})`);
  return hosts.length === 0
    ? 'a route of a component on the cluster'
    : `the first label of a routed host: ${hosts.join(', ')}`;
}

/**
 * The ports of the platform Gateway's listeners (the `gateway` provider's facts), or undefined
 * without a Gateway.
 */
function gatewayListenerPorts(
  contributions: ReadonlyMap<string, ClusterContribution>,
): readonly number[] | undefined {
  for (const contribution of contributions.values()) {
    const gateway = contribution.facts?.gateway;
    if (gateway !== undefined) return gateway.listenerPorts;
  }
  return undefined;
}

/**
 * Why a call to `host`, a host the Gateway routes (`routed`, its route's host), on `ports` cannot
 * work, or undefined: the Gateway answers only on its listeners' ports (HTTPS, and HTTP for the
 * redirect), so a connection on another port (SSH to a Git server, LDAPS, SMB) reaches the
 * Gateway's address and nothing there, never the server behind the route; the policy would
 * silently turn it into an egress to the Gateway.
 */
function offListenerPorts(
  host: string,
  routed: string,
  ports: readonly FlowPort[],
  contributions: ReadonlyMap<string, ClusterContribution>,
): { message: string; expected: string } | undefined {
  const listeners = gatewayListenerPorts(contributions) ?? [];
  // Its listeners take TCP only (HTTPS, HTTP): QUIC or any UDP call never reaches the route.
  const off = ports.filter(
    (port) =>
      !listeners.includes(port.port) ||
      (port.endPort !== undefined && port.endPort !== port.port) ||
      port.protocol !== 'TCP',
  );
  if (off.length === 0 || listeners.length === 0) return undefined;
  const shown = [
    ...new Set(
      off.map(
        (port) =>
          `${port.endPort === undefined ? port.port : `${port.port}-${port.endPort}`}${port.protocol === 'TCP' ? '' : `/${port.protocol}`}`,
      ),
    ),
  ];
  return {
    message: `calls ${host} on port ${shown.join(', ')}, but ${host} is the route "${routed}" of the platform Gateway, which listens only on ${listeners.join(', ')} (TCP): the connection reaches the Gateway's address, where nothing answers that port, never the server behind the route`,
    expected: `${host} on port ${listeners.includes(443) ? 443 : listeners[0]} (through the Gateway), or, for a server outside the cluster, a name the Gateway does not route`,
  };
}

/** The Gateway's zone: the `gateway` provider's domain, else the cluster's. */
export function gatewayDomain(input: {
  readonly cluster: ResolvedCluster;
  readonly contributions: ReadonlyMap<string, ClusterContribution>;
}): string | undefined {
  for (const contribution of input.contributions.values()) {
    const gateway = contribution.facts?.gateway;
    if (gateway !== undefined) return gateway.domain;
  }
  return undefined;
}

/**
 * The pods of `owner` that accept the Gateway in `namespace` (its ingress flows with peer
 * `{ kind: gateway }` there), with their ports.
 */
export function gatewayBackends(
  owner: string,
  contribution: ClusterContribution,
  namespace: string,
): GatewayRoute['backends'] {
  return (contribution.flows ?? [])
    .filter(
      (flow) =>
        flow.direction === 'ingress' &&
        flow.peer.kind === 'gateway' &&
        flow.namespace === namespace,
    )
    .map((flow) => ({ to: pods(owner, flow.namespace, flow.selector), ports: flow.ports }));
}

/**
 * The route of `host` on the cluster and where the Gateway forwards it, or why it cannot be
 * reached: no Gateway, no route with that host, or an owner under default deny that accepts no
 * ingress from the Gateway.
 */
function resolveRoute(
  input: FlowPlanInput,
  host: string | undefined,
): GatewayRoute | { message: string; expected: string } {
  const { contributions, cluster } = input;
  if (host === undefined) {
    return {
      message: 'is an egress to the Gateway without a host (which route does it call?)',
      expected: routeExpectation(contributions),
    };
  }
  const domain = gatewayDomain(input);
  if (domain === undefined) {
    return {
      message: `calls ${host}.<domain> through the Gateway, but no component provides "gateway" on cluster "${cluster.name}"`,
      expected: `a component that provides "gateway" enabled on cluster "${cluster.name}"`,
    };
  }
  const hostname = `${host}.${domain}`;
  for (const owner of [...contributions.keys()].sort(compareStrings)) {
    const contribution = contributions.get(owner) as ClusterContribution;
    const route = (contribution.routes ?? []).find((candidate) => candidate.host === host);
    if (route === undefined) continue;
    const flows = contribution.flows ?? [];
    const backends = gatewayBackends(owner, contribution, route.namespace);
    if (flows.length > 0 && backends.length === 0) {
      return {
        message: `calls ${hostname} through the Gateway, but ${owner} (whose route serves it) declares no ingress from the Gateway in ${route.namespace}: under default deny the Gateway cannot forward the request`,
        expected: `${owner} declaring an ingress flow with peer { kind: gateway } in ${route.namespace}`,
      };
    }
    return { hostname, owner, namespace: route.namespace, backends };
  }
  return {
    message: `calls ${hostname} through the Gateway, but no component routes that host on cluster "${cluster.name}"`,
    expected: routeExpectation(contributions),
  };
}

/** A stable key of an endpoint (for maps and sorting). */
export function endpointKey(end: Endpoint): string {
  switch (end.kind) {
    case 'pods':
      return `${end.namespace}/${Object.entries(end.selector)
        .map(([key, value]) => `${key}=${value}`)
        .join(',')}`;
    case 'entity':
      return `entity:${end.entities.join('+')}`;
    case 'fqdn':
      return `fqdn:${end.name}`;
    case 'cidr':
      return `cidr:${end.cidr}`;
  }
}

/** How an endpoint reads in the report: `argocd/argocd-server`, `kube-apiserver`, `github.com`. */
export function describeEndpoint(end: Endpoint): string {
  switch (end.kind) {
    case 'pods': {
      // The label values name the pods (`argocd-server`, `kube-dns`); a flag-like value names
      // them by its key (`gatekeeper.sh/system`).
      const entries = Object.entries(end.selector).map(([key, value]) =>
        value === 'yes' || value === 'true' ? key : value,
      );
      return `${end.namespace}/${entries.length === 0 ? '*' : entries.join(',')}`;
    }
    case 'entity':
      return end.label;
    case 'fqdn':
      return end.name;
    case 'cidr':
      return end.cidr;
  }
}

/** The definition's extra flows, between components by name or to named hosts and networks. */
function extraConnections(input: FlowPlanInput, issues: Issue[]): Connection[] {
  const flows: ExtraFlows = input.settings.networkPolicy?.flows ?? [];
  const out: Connection[] = [];
  const { contributions, cluster } = input;
  const known = [...contributions.keys()].sort(compareStrings);
  flows.forEach((flow, index) => {
    const at = (...rest: PathSegment[]): PathSegment[] =>
      input.path('networkPolicy', 'flows', index, ...rest);
    const component = (
      name: string,
      selector: { readonly [key: string]: string | undefined } | undefined,
      where: PathSegment[],
    ): Endpoint | undefined => {
      const contribution = contributions.get(name);
      const namespace = contribution?.application?.namespace;
      if (contribution === undefined || namespace === undefined) {
        issues.push(
          error({
            code: 'flow-component',
            path: where,
            value: name,
            message:
              contribution === undefined
                ? `is not a component enabled on cluster "${cluster.name}"`
                : `runs no Application on cluster "${cluster.name}": it has no pods to allow`,
            expected: `one of: ${known.filter((candidate) => contributions.get(candidate)?.application !== undefined).join(', ')}`,
          }),
        );
        return undefined;
      }
      const labels: { [key: string]: string } = {};
      for (const [key, value] of Object.entries(selector ?? {})) {
        if (value !== undefined) labels[key] = value;
      }
      return pods(name, namespace, labels);
    };
    const from = component(flow.from.component, flow.from.selector, at('from', 'component'));
    let to: Endpoint | undefined;
    let apiServer = false;
    const target = flow.to;
    const given = ['component', 'fqdn', 'cidr'].filter(
      (key) => (target as { [key: string]: unknown })[key] !== undefined,
    );
    if (given.length !== 1) {
      issues.push(
        error({
          code: 'flow-target',
          path: at('to'),
          value: given,
          message: 'names no destination, or more than one',
          expected: 'exactly one of component, fqdn, cidr',
        }),
      );
    } else if (target.component !== undefined) {
      to = component(target.component, target.selector, at('to', 'component'));
    } else if (target.fqdn !== undefined) {
      const service = clusterServiceName(target.fqdn, clusterDomain(contributions));
      // The API server's Service is the API server, on its own port (core's `hostFlowPeer`).
      if (isKubeApiServerHost(target.fqdn, clusterDomain(contributions))) {
        apiServer = true;
        to = entity('kube-apiserver', 'kube-apiserver');
      } else if (service !== undefined)
        issues.push(
          error({
            code: 'flow-fqdn',
            path: at('to', 'fqdn'),
            value: target.fqdn,
            message: `is a Service of the cluster: a toFQDNs rule allows the ClusterIP it resolves to, which Cilium translates to a pod before the egress policy applies, so it never matches`,
            expected: `to: { component: <the component that runs in ${service.namespace}>, selector: <its pods> }`,
          }),
        );
      else if (isFqdnRule(target.fqdn)) to = { kind: 'fqdn', name: target.fqdn };
      else
        issues.push(
          error({
            code: 'flow-fqdn',
            path: at('to', 'fqdn'),
            value: target.fqdn,
            message: 'is not a DNS name or a pattern with one leading wildcard label',
            expected:
              'a name such as git.example.com or *.example.com (lower case, no trailing dot)',
          }),
        );
    } else if (target.cidr !== undefined) {
      if (parseCidr(target.cidr) !== undefined) to = { kind: 'cidr', cidr: target.cidr };
      else
        issues.push(
          error({
            code: 'flow-cidr',
            path: at('to', 'cidr'),
            value: target.cidr,
            message: 'is not a CIDR',
            expected: 'a network such as 10.0.0.0/24',
          }),
        );
    }
    if (from === undefined || to === undefined) return;
    out.push({
      id: `definition.${flow.name}`,
      component: 'definition',
      from,
      to,
      ports: apiServer
        ? KUBE_APISERVER_PORTS.map((port) => ({ ...port }))
        : flow.ports.map((port) => ({ port: port.port, protocol: port.protocol ?? 'TCP' })),
      reason: flow.reason,
    });
  });
  return out;
}
