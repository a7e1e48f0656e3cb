// The applications' flows (zero trust): what the definition declares per application
// (`apps.<name>.flows`) as the component's flow declarations, and the backup provider's pods in
// each namespace under default deny that holds a backed-up volume. An application without `flows`
// leaves its namespace outside default deny (`flowlessNamespaces`, warned about by the
// reachability check). Pure.
import {
  backupFlows,
  CAPABILITIES,
  type Capability,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  error,
  type FlowDeclaration,
  type FlowPeer,
  type FlowPort,
  flowPeerPorts,
  hostFlowPeer,
  type Issue,
  isDnsName,
  KUBE_APISERVER_PORT,
  type PathSegment,
  type PodLabels,
  type ProvidedFacts,
  parseCidr,
  routedHostPeer,
  warning,
} from '@homelab/core';
import type { ApplicationFlow } from './generated/settings.js';

/** The label an application's pods carry by default (`app.kubernetes.io/name: <application>`). */
export const APP_LABEL = 'app.kubernetes.io/name';

const PEER_KEYS = [
  'gateway',
  'application',
  'capability',
  'fqdn',
  'cidr',
  'kubeApiserver',
] as const;

/** What the flows are resolved against: every application of the cluster. */
export interface AppFlowInput {
  readonly name: string;
  readonly namespace: string;
  readonly flows: readonly ApplicationFlow[] | undefined;
  readonly backedUp: boolean;
  /** A backed-up volume of the application has its backups verified (`backup.verify`). */
  readonly verified: boolean;
}

/**
 * The flow declarations of the applications of a cluster, the namespaces left outside default
 * deny (an application without `flows`, and every namespace it shares), and issues for what
 * cannot be a flow (placed at the flow's setting: file:line:col).
 */
export function applicationFlows(
  apps: readonly AppFlowInput[],
  provided: ProvidedFacts,
  path: (...segments: PathSegment[]) => PathSegment[],
): { flows: FlowDeclaration[]; flowless: string[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const flows: FlowDeclaration[] = [];
  const byName = new Map(apps.map((app) => [app.name, app]));
  const flowless = new Set(
    apps.filter((app) => app.flows === undefined).map((app) => app.namespace),
  );
  const covered = new Set<string>();
  for (const app of apps) {
    if (app.flows === undefined) continue;
    if (!flowless.has(app.namespace)) covered.add(app.namespace);
    const names = new Set<string>();
    // `*.<gateway domain>`: a pattern that covers the hosts the cluster's Gateway routes.
    const domain = provided.gateway?.domain.toLowerCase();
    const routedWildcards: number[] = [];
    const routedCalls: string[] = [];
    app.flows.forEach((flow, index) => {
      const at = (...rest: PathSegment[]) => path('apps', app.name, 'flows', index, ...rest);
      const fail = (where: PathSegment[], value: unknown, message: string, expected: string) => {
        issues.push(error({ code: 'applications-flow', path: where, value, message, expected }));
      };
      if (names.has(flow.name)) {
        fail(
          at('name'),
          flow.name,
          `is a second flow of ${app.name} with this name`,
          'a unique name per application',
        );
        return;
      }
      names.add(flow.name);
      const given = PEER_KEYS.filter((key) => flow[key] !== undefined);
      if (given.length !== 1) {
        fail(
          at(),
          given,
          given.length === 0
            ? 'names no peer'
            : `names ${given.length} peers (${given.join(', ')})`,
          `exactly one of ${PEER_KEYS.join(', ')}`,
        );
        return;
      }
      const ports: FlowPort[] = [];
      let portsOk = true;
      flow.ports.forEach((port, portIndex) => {
        if (port.endPort !== undefined && port.endPort <= port.port) {
          fail(
            at('ports', portIndex, 'endPort'),
            port.endPort,
            `ends the range at or below its first port ${port.port}`,
            `an endPort above ${port.port} (at most 65535), or no endPort for a single port`,
          );
          portsOk = false;
          return;
        }
        // The API server's flow is on the port it listens on: a pod calls the `kubernetes`
        // Service (443), which Cilium translates to a control plane's address and 6443 before
        // the egress policy applies (core's KUBE_APISERVER_PORT; the platform's own flows use it).
        if (flow.kubeApiserver !== undefined) {
          const wrong: [PathSegment, unknown, string] | undefined =
            port.port !== KUBE_APISERVER_PORT
              ? ['port', port.port, `${port.port} is not the API server's port`]
              : port.endPort !== undefined
                ? [
                    'endPort',
                    port.endPort,
                    `${port.endPort} makes a range where the API server has one port`,
                  ]
                : port.protocol !== undefined && port.protocol !== 'TCP'
                  ? [
                      'protocol',
                      port.protocol,
                      `"${port.protocol}" is not the API server's protocol`,
                    ]
                  : undefined;
          if (wrong !== undefined) {
            const [key, value, what] = wrong;
            fail(
              at('ports', portIndex, key),
              value,
              `${what}: a pod calls the API server at kubernetes.default.svc:443, and Cilium translates that Service address and port to a control plane's address and port ${KUBE_APISERVER_PORT} before the egress policy applies, so the policy must allow ${KUBE_APISERVER_PORT}; any other rule never matches and the application's API calls are dropped under default deny`,
              `ports: [{ port: ${KUBE_APISERVER_PORT} }] (TCP, where kube-apiserver listens on Talos, whatever port the application calls)`,
            );
            portsOk = false;
            return;
          }
        }
        ports.push({
          port: port.port,
          ...(port.endPort === undefined ? {} : { endPort: port.endPort }),
          protocol: port.protocol ?? 'TCP',
        });
      });
      if (!portsOk) return;
      if (flow.direction !== undefined && flow.capability === undefined) {
        fail(
          at('direction'),
          flow.direction,
          'is only meaningful with capability (the gateway is always ingress, the other peers egress)',
          'direction only on a capability flow',
        );
        return;
      }
      let peer: FlowPeer | undefined;
      let direction: 'ingress' | 'egress' = 'egress';
      if (flow.gateway !== undefined) {
        peer = { kind: 'gateway' };
        direction = 'ingress';
      } else if (flow.kubeApiserver !== undefined) {
        peer = { kind: 'kube-apiserver' };
      } else if (flow.fqdn !== undefined) {
        // A DNS name, or one with a single leading wildcard label, as the CNI provider's toFQDNs
        // rules take it (core's one rule for DNS names).
        if (!isDnsName(flow.fqdn, { wildcard: true })) {
          fail(
            at('fqdn'),
            flow.fqdn,
            'is not a DNS name or a pattern with one leading wildcard label',
            'a name such as api.example.com or *.example.com (lower case, no trailing dot)',
          );
          return;
        }
        // A Service of the cluster (`db.data.svc.cluster.local`) is the pods behind it: a DNS
        // rule would allow the ClusterIP, never the pod the connection reaches (core's
        // `hostFlowPeer`, the rule every component follows); `ports` are the pods' (`portsOf`),
        // which the CNI provider takes as they are. The API server's Service
        // (`kubernetes.default.svc`) is the API server.
        // A host the cluster's own Gateway routes (`auth.<domain>` for an OIDC back-channel,
        // another application's route) stays a name here: the CNI provider, which knows every
        // route of the cluster, makes a call to a routed host a call through the Gateway
        // (Cilium applies no toFQDNs rule to it), and keeps the rule for a host of the domain no
        // route serves (a NAS on the LAN).
        const resolved = hostFlowPeer(
          flow.fqdn,
          provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
        ) ?? { kind: 'fqdn', name: flow.fqdn };
        peer = resolved.kind === 'service' ? { ...resolved, portsOf: 'pods' } : resolved;
        if (routedHostPeer(flow.fqdn, provided.gateway?.domain) !== undefined) {
          routedCalls.push(flow.fqdn);
        }
        if (domain !== undefined && flow.fqdn === `*.${domain}`) routedWildcards.push(index);
      } else if (flow.cidr !== undefined) {
        if (parseCidr(flow.cidr) === undefined) {
          fail(at('cidr'), flow.cidr, 'is not a CIDR', 'a network such as 192.168.1.0/24');
          return;
        }
        peer = { kind: 'cidr', cidr: flow.cidr };
      } else if (flow.capability !== undefined) {
        if (!(CAPABILITIES as readonly string[]).includes(flow.capability)) {
          fail(
            at('capability'),
            flow.capability,
            'is not a capability a component can provide',
            `one of ${CAPABILITIES.join(', ')}`,
          );
          return;
        }
        peer = { kind: 'capability', capability: flow.capability as Capability };
        direction = flow.direction ?? 'egress';
      } else if (flow.application !== undefined) {
        const other = byName.get(flow.application);
        if (other === undefined) {
          fail(
            at('application'),
            flow.application,
            'is not an application enabled on this cluster',
            `one of ${[...byName.keys()].sort(compareStrings).join(', ') || '(no application)'}`,
          );
          return;
        }
        peer = {
          kind: 'self',
          namespace: other.namespace,
          selector: labels(flow.peerSelector) ?? { [APP_LABEL]: other.name },
        };
      }
      if (flow.peerSelector !== undefined && flow.application === undefined) {
        fail(
          at('peerSelector'),
          flow.peerSelector,
          'is only meaningful with application',
          'peerSelector only with application',
        );
        return;
      }
      if (peer === undefined) return;
      flows.push({
        name: `${app.name}-${flow.name}`,
        direction,
        namespace: app.namespace,
        selector: labels(flow.selector) ?? { [APP_LABEL]: app.name },
        peer,
        // The API server's Service by name is the API server, on its own port (core's
        // `flowPeerPorts`: Cilium applies the policy after translating the ClusterIP and port).
        ports: flow.fqdn === undefined ? ports : flowPeerPorts(peer, ports),
        reason: flow.reason ?? `${app.name}: ${flow.name}`,
        // The application's own workloads are deployed separately, not by charts/applications.
        workloads: 'external',
      });
    });
    // Cilium's `*` is one label, so only `*.<domain>` covers the routed hosts `<label>.<domain>`.
    // A connection to one of them goes to the Gateway's address, into Cilium's Envoy, where no
    // toFQDNs rule applies (cilium/cilium#47768): the pattern allows the domain's other hosts
    // only. An application that names no host of the domain it calls is told so.
    const routedWildcard = routedWildcards[0];
    if (routedWildcard !== undefined && routedCalls.length === 0) {
      issues.push(
        warning({
          code: 'applications-flow-routed-wildcard',
          path: path('apps', app.name, 'flows', routedWildcard, 'fqdn'),
          value: `*.${domain}`,
          message: `covers the hosts the cluster's own Gateway routes (<host>.${domain}: Authelia's, the other applications'), but a connection to one of them goes to the Gateway's address and into Cilium's Envoy before a toFQDNs rule can match (cilium/cilium#47768), so ${app.name}'s calls to them time out under default deny; the pattern allows ${domain}'s other hosts only`,
          expected: `an fqdn flow to each routed host ${app.name} calls (fqdn: auth.${domain}, say), which becomes a flow through the Gateway; keep the pattern for hosts the Gateway does not route`,
        }),
      );
    }
  }
  // The backup's movers and restore verification, wherever a backed-up volume lies under default
  // deny (elsewhere they reach anything already).
  const backedUp = new Set(
    apps.filter((app) => app.backedUp && covered.has(app.namespace)).map((app) => app.namespace),
  );
  for (const namespace of [...backedUp].sort(compareStrings)) {
    const verified = apps.some((app) => app.namespace === namespace && app.verified);
    flows.push(...backupFlows(provided.backup?.podFlows, namespace, verified));
  }
  return { flows, flowless: [...flowless].sort(compareStrings), issues };
}

/** A pod selector of the definition as labels (its unset keys dropped); none when empty. */
export function labels(
  selector: { readonly [key: string]: string | undefined } | undefined,
): PodLabels | undefined {
  const out: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(selector ?? {})) {
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
