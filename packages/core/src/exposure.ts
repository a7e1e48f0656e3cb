// services-not-exposed: the platform Gateway is the one way in from the LAN. Every UI and API the
// platform deploys (Argo CD, Longhorn's UI, which has no login of its own, Hubble UI, Prometheus,
// Alertmanager, Grafana, Authelia, the operators' metrics and webhooks) is a ClusterIP Service:
// reached through an HTTPRoute of the Gateway, whose TLS `routes-over-tls` and whose login
// `routes-authenticated` check, or through the API server's port forwarding. A Service of type
// LoadBalancer gets an address of the cluster's pools, announced on the LAN (Cilium's L2
// announcements or BGP), and, as `allocateLoadBalancerNodePorts` defaults to true, a node port too;
// a NodePort Service opens its port on every node's address (Cilium's kube-proxy replacement
// serves node ports on every node); `externalIPs` make every node answer for those addresses; a
// container's `hostPort` opens the port on the address of the node its pod runs on. Each bypasses
// the Gateway, its TLS and Authelia. The Gateway's own Service is the Cilium operator's, made at
// run time from the Gateway (never an object of a chart). A chart whose upstream default is such
// a Service (a `service.type` the values never override) is found by the Helm suite, which runs
// this check on what Helm renders. Pure.

import { error, type Issue } from './issues.js';
import { list, record } from './json-access.js';
import { podTemplateOf } from './pod-security.js';
import type { SystemCheck } from './system.js';
import type { KubeObject } from './types.js';

/** Service types that open a port beyond the cluster's own network. */
const EXPOSED_TYPES: ReadonlySet<unknown> = new Set(['LoadBalancer', 'NodePort']);

/**
 * How `object` makes a port reachable from outside the cluster other than through the Gateway,
 * one entry per way (empty: none). A pod on the host network listens on the node's addresses
 * anyway (Cilium's agent, node-exporter): its `hostPort` only declares the port, and is left to
 * the checks of host-network pods.
 */
export function exposuresOf(object: KubeObject): string[] {
  const out: string[] = [];
  if (object.apiVersion === 'v1' && object.kind === 'Service') {
    const spec = record(object.spec);
    if (EXPOSED_TYPES.has(spec.type)) {
      const ports = list(spec.ports)
        .map((port) => record(port).port)
        .filter((port) => port !== undefined);
      out.push(`type: ${String(spec.type)} (ports ${ports.join(', ') || 'none'})`);
    }
    const external = list(spec.externalIPs);
    if (external.length > 0) out.push(`externalIPs: ${external.join(', ')}`);
    return out;
  }
  const template = podTemplateOf(object);
  if (template === undefined || template.spec.hostNetwork === true) return out;
  for (const container of [
    ...list(template.spec.initContainers),
    ...list(template.spec.containers),
  ]) {
    for (const port of list(record(container).ports)) {
      const hostPort = record(port).hostPort;
      if (hostPort === undefined || hostPort === 0) continue;
      out.push(`container ${String(record(container).name)}: hostPort ${String(hostPort)}`);
    }
  }
  return out;
}

export const servicesNotExposed: SystemCheck = {
  name: 'services-not-exposed',
  description:
    "No Application opens a way in beside the platform Gateway: no Service of type LoadBalancer or NodePort, no Service `externalIPs`, no container `hostPort` off the host network. Every UI and API is a ClusterIP Service reached through the Gateway's HTTPS listener and Authelia (routes-over-tls, routes-authenticated) or the API server's port forwarding; the Gateway's own Service is the Cilium operator's, made at run time.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          const exposed = exposuresOf(object);
          if (exposed.length === 0) continue;
          const where = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
          issues.push(
            error({
              code: 'services-not-exposed',
              path: app.origin,
              output: `${source} (${where})`,
              value: exposed,
              message: `${app.name} opens ${where} on cluster "${deployed.cluster.name}" to the LAN beside the platform Gateway (${exposed.join('; ')}): whatever it serves is reached without the Gateway's TLS and without Authelia`,
              expected:
                'a ClusterIP Service reached through an HTTPRoute of the platform Gateway (or kubectl port-forward), no externalIPs, no hostPort',
            }),
          );
        }
      }
    }
    return issues;
  },
};
