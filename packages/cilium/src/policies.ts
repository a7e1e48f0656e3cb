// Zero-trust network policies from the flow plan (flows.ts), as plain data for charts/cilium's
// cluster layer:
// - one CiliumClusterwideNetworkPolicy puts every namespace the platform's components run in into
//   default deny (ingress and egress) and lets their pods query the cluster DNS (through Cilium's
//   DNS proxy, so FQDN rules learn the addresses);
// - one CiliumClusterwideNetworkPolicy lets the cluster query the DNS servers;
// - per connection, a CiliumNetworkPolicy at each end that is a pod: egress at the source,
//   ingress at the destination, on exactly the declared ports. Nothing ever allows `world`.
// - a call to a routed host of the cluster (`auth.<domain>`, an OIDC issuer) goes to the Gateway's
//   address, which Cilium hands to its Envoy: the source's egress names the `ingress` entity
//   (reserved:ingress, the identity of Cilium's Envoy for Ingress and Gateway API), and the
//   Gateway's own forward to the backend is the backend's ingress from `ingress`. Envoy is a hop
//   (cilium/cilium#39959, #47617: "you have to treat Envoy as a hop in the data path, even when
//   the traffic originates from inside the cluster"); a toFQDNs rule for the routed name does not
//   apply (cilium/cilium#47768). That egress rule has NO toPorts: the socket load balancer
//   rewrites the destination to Envoy's listener, whose port is allocated at run time, so a rule
//   on 443 never matches (measured in Smana/cloud-native-ref#1890); Cilium's own example
//   (examples/kubernetes/servicemesh/policy/allow-ingress-cluster.yaml) opens the `ingress`
//   identity the same way, without ports. And the same egress allows the route's backend pods
//   on their ports: Envoy (on the caller's node) checks the calling pod's egress policy against
//   the backend's identity and port before it forwards (cilium/proxy `bpf_metadata.cc`,
//   north/south L7 LB from a local pod; `enforceNetworkPolicy`, "enforce pod policy first"),
//   while the eBPF datapath hands the connection to Envoy without a policy check (bpf_lxc.c,
//   `proxy_port > 0`). With only the `ingress` entity the call was dropped in Envoy: no SSO
//   login for Argo CD or Grafana through an issuer the Gateway serves.
// Mutual authentication (SPIRE), when on, is required on every rule between two platform pods.
// Pure.
import { compareStrings, type FlowPort, type KubeObject, type PodLabels } from '@homelab/core';
import { type Connection, DNS_PORTS, type Endpoint, type FlowPlan } from './flows.js';

/** Name of the default-deny policy. */
export const DEFAULT_DENY_POLICY = 'homelab-default-deny';
/** Name of the policy that opens the DNS servers to the cluster. */
export const DNS_POLICY = 'homelab-cluster-dns';

/** The label Cilium gives every pod with its namespace. */
export const NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace';

/**
 * Cilium registers its CRDs at start-up: Argo CD skips the dry run of these objects on a first
 * sync and applies them once Cilium runs (same as the chart's other cilium.io objects). And
 * prunes them, although the Cilium Application syncs with `Prune=false`: the policies follow
 * the flows, components and applications of the definition, and one left behind would allow
 * what the definition no longer declares and keep the Application OutOfSync for good.
 */
const ANNOTATIONS = {
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true,Prune=true',
};

export interface PolicyOptions {
  /** Require mutual authentication on rules between two platform pods. */
  readonly mutualAuthentication: boolean;
  /**
   * Pods deployed outside the platform's charts (flows with `workloads: 'external'`: an
   * application's own), by `workloadKey`, with the component that declared them: the policies
   * that select them carry EXTERNAL_WORKLOADS_LABEL (its value the component), which
   * `cilium-workload-selector-changed` compares with the last build's.
   */
  readonly externalWorkloads?: ReadonlyMap<string, string>;
}

/**
 * Label of a policy whose pods are deployed outside the platform's charts, its value the
 * component that declared their flows.
 */
export const EXTERNAL_WORKLOADS_LABEL = 'homelab.dev/external-workloads';

/** `key=value` of each label in code-unit order, comma-separated. */
export function selectorText(selector: { readonly [key: string]: unknown }): string {
  return Object.keys(selector)
    .sort(compareStrings)
    .map((key) => `${key}=${String(selector[key])}`)
    .join(',');
}

/** The key of `selector`'s pods in `namespace`. */
export function workloadKey(namespace: string, selector: PodLabels): string {
  return `${namespace}\u0000${selectorText(selector)}`;
}

/**
 * The most port entries one `toPorts` entry (a PortRule) may hold: Cilium's agent refuses a whole
 * policy with more (`too many ports, the max is 40`: `maxPorts` of pkg/policy/api
 * rule_validation.go, 1.18 to 1.20), importing none of its rules. A range (`endPort`) is one entry.
 */
export const CILIUM_MAX_PORTS_PER_RULE = 40;

/**
 * A rule's `toPorts`: the ports in PortRules of at most CILIUM_MAX_PORTS_PER_RULE entries each
 * (a rule allows a connection any one of its PortRules allows, so the split allows the same).
 */
function toPorts(
  ports: readonly FlowPort[],
): { ports: { port: string; endPort?: number; protocol: string }[] }[] {
  const entries = ports.map((port) => ({
    // A range is Cilium's `endPort` (CiliumNetworkPolicy PortProtocol, Cilium 1.16 and later:
    // cilium/cilium#33389 documents it; the platform pins 1.18 to 1.20).
    port: String(port.port),
    ...(port.endPort === undefined ? {} : { endPort: port.endPort }),
    protocol: port.protocol,
  }));
  const out: { ports: typeof entries }[] = [];
  for (let at = 0; at < entries.length; at += CILIUM_MAX_PORTS_PER_RULE) {
    out.push({ ports: entries.slice(at, at + CILIUM_MAX_PORTS_PER_RULE) });
  }
  return out;
}

/** A pod selector across namespaces (`toEndpoints` / `fromEndpoints`). */
function podSelector(namespace: string, selector: PodLabels): { matchLabels: PodLabels } {
  return { matchLabels: { ...selector, [NAMESPACE_LABEL]: namespace } };
}

/** The peer part of an egress rule towards `to`. */
function egressPeer(to: Endpoint): { [key: string]: unknown } {
  switch (to.kind) {
    case 'pods':
      return { toEndpoints: [podSelector(to.namespace, to.selector)] };
    case 'entity':
      return { toEntities: [...to.entities] };
    case 'fqdn':
      return {
        toFQDNs: [to.name.startsWith('*.') ? { matchPattern: to.name } : { matchName: to.name }],
      };
    case 'cidr':
      return { toCIDR: [to.cidr] };
  }
}

/** The peer part of an ingress rule from `from` (FQDNs cannot be a source: never generated). */
function ingressPeer(from: Endpoint): { [key: string]: unknown } {
  switch (from.kind) {
    case 'pods':
      return { fromEndpoints: [podSelector(from.namespace, from.selector)] };
    case 'entity':
      return { fromEntities: [...from.entities] };
    case 'cidr':
      return { fromCIDR: [from.cidr] };
    case 'fqdn':
      return {};
  }
}

/** A DNS-label policy name from a connection id and the end it sits at. */
export function policyName(connection: Connection, end: 'egress' | 'ingress'): string {
  // Every run of characters other than [a-z0-9] (hyphens included) becomes one hyphen.
  const base = `${connection.id}-${end}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return base.length <= 63 ? base : `${base.slice(0, 54)}-${shortHash(base)}`;
}

/** 8 hex digits of FNV-1a: stable short suffix for long names. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function networkPolicy(
  name: string,
  namespace: string,
  selector: PodLabels,
  description: string,
  rules: { ingress?: unknown[]; egress?: unknown[] },
  external?: string,
): KubeObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: {
      name,
      namespace,
      labels: {
        'app.kubernetes.io/part-of': 'homelab-zero-trust',
        ...(external === undefined ? {} : { [EXTERNAL_WORKLOADS_LABEL]: external }),
      },
      annotations: { ...ANNOTATIONS },
    },
    spec: {
      description,
      endpointSelector: { matchLabels: { ...selector } },
      // Additive: only the cluster-wide default deny switches enforcement on. A flow rule that
      // selects pods outside default deny (a provider that declares no flows) must not cut
      // them off from everything else.
      enableDefaultDeny: { ingress: false, egress: false },
      ...(rules.ingress ? { ingress: rules.ingress } : {}),
      ...(rules.egress ? { egress: rules.egress } : {}),
    } as unknown as KubeObject['spec'],
  } as KubeObject;
}

/**
 * Every policy of the cluster, keyed by a stable manifest name: `ccnp-…` for the cluster-wide
 * ones, `cnp-<namespace>-<name>` for the others.
 */
export function zeroTrustPolicies(
  plan: FlowPlan,
  options: PolicyOptions,
): { [key: string]: KubeObject } {
  const out: { [key: string]: KubeObject } = {};
  const dnsPeer = podSelector(plan.dns.namespace, plan.dns.selector);
  out[`ccnp-${DEFAULT_DENY_POLICY}`] = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: {
      name: DEFAULT_DENY_POLICY,
      labels: { 'app.kubernetes.io/part-of': 'homelab-zero-trust' },
      annotations: { ...ANNOTATIONS },
    },
    spec: {
      description:
        'Default deny for the namespaces the platform runs in: only the flows its components declare are allowed; DNS to the cluster DNS through the DNS proxy.',
      endpointSelector: {
        matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: [...plan.namespaces] }],
      },
      enableDefaultDeny: { ingress: true, egress: true },
      egress: [
        {
          toEndpoints: [dnsPeer],
          toPorts: [
            {
              ports: DNS_PORTS.map((port) => ({
                port: String(port.port),
                protocol: port.protocol,
              })),
              rules: { dns: [{ matchPattern: '*' }] },
            },
          ],
        },
      ],
    } as unknown as KubeObject['spec'],
  } as KubeObject;
  out[`ccnp-${DNS_POLICY}`] = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: {
      name: DNS_POLICY,
      labels: { 'app.kubernetes.io/part-of': 'homelab-zero-trust' },
      annotations: { ...ANNOTATIONS },
    },
    spec: {
      description: 'The cluster DNS servers answer every pod and node of the cluster.',
      endpointSelector: dnsPeer,
      ingress: [{ fromEntities: ['cluster'], ...toPortsOf(DNS_PORTS) }],
    } as unknown as KubeObject['spec'],
  } as KubeObject;

  // Rules only where default deny holds: pods outside it open and accept anything already.
  const denied = new Set(plan.namespaces);
  for (const connection of plan.connections) {
    const between = connection.from.kind === 'pods' && connection.to.kind === 'pods';
    const description = `${connection.component}: ${connection.reason}`;
    if (connection.from.kind === 'pods' && denied.has(connection.from.namespace)) {
      const name = policyName(connection, 'egress');
      out[`cnp-${connection.from.namespace}-${name}`] = networkPolicy(
        name,
        connection.from.namespace,
        connection.from.selector,
        description,
        {
          egress: [
            {
              ...egressPeer(connection.to),
              ...(connection.route === undefined ? toPortsOf(connection.ports) : {}),
            },
            // Through the Gateway, Envoy checks this egress against the backend pods.
            ...(connection.route?.backends ?? []).map((backend) => ({
              ...egressPeer(backend.to),
              ...toPortsOf(backend.ports),
            })),
          ],
        },
        options.externalWorkloads?.get(
          workloadKey(connection.from.namespace, connection.from.selector),
        ),
      );
    }
    if (connection.to.kind === 'pods' && denied.has(connection.to.namespace)) {
      const name = policyName(connection, 'ingress');
      out[`cnp-${connection.to.namespace}-${name}`] = networkPolicy(
        name,
        connection.to.namespace,
        connection.to.selector,
        description,
        {
          ingress: [
            {
              ...ingressPeer(connection.from),
              ...toPortsOf(connection.ports),
              ...(between && options.mutualAuthentication
                ? { authentication: { mode: 'required' } }
                : {}),
            },
          ],
        },
        options.externalWorkloads?.get(
          workloadKey(connection.to.namespace, connection.to.selector),
        ),
      );
    }
  }
  return Object.fromEntries(
    Object.keys(out)
      .sort(compareStrings)
      .map((key) => [key, out[key] as KubeObject]),
  );
}

function toPortsOf(ports: readonly FlowPort[]): { toPorts?: unknown } {
  return ports.length === 0 ? {} : { toPorts: toPorts(ports) };
}
