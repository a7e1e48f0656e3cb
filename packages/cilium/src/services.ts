// Where a call to a Service of the cluster arrives, read from the Service object the platform
// renders: its selector's pods, on the targetPort each called port maps to (a named targetPort
// through the container ports of the pods it selects). Cilium's socket load balancer rewrites a
// connection to a ClusterIP to the chosen backend's address and port at connect()
// (`bpf/bpf_sock.c`, `__sock4_xlate_fwd`: `ctx->user_ip4 = backend->address;
// ctx_set_port(ctx, backend->port)`), so the egress policy, and the ingress policy at the pod,
// see the backend's port, never the Service's. Pure.
import type { FlowPort, JsonValue, KubeObject, PodLabels } from '@homelab/core';
import type { ServiceCall } from './flows.js';

type Json = { [key: string]: JsonValue };

function record(value: JsonValue | undefined): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

/** The pod template of a workload (or the pod itself), with its namespace. */
function podTemplates(objects: readonly KubeObject[], namespace: string): Json[] {
  const out: Json[] = [];
  for (const object of objects) {
    if (object.metadata.namespace !== namespace) continue;
    const spec = record(object.spec as JsonValue | undefined);
    switch (object.kind) {
      case 'Pod':
        out.push({ metadata: object.metadata as unknown as JsonValue, spec });
        break;
      case 'Deployment':
      case 'StatefulSet':
      case 'DaemonSet':
      case 'ReplicaSet':
      case 'Job':
        out.push(record(spec.template));
        break;
      case 'CronJob':
        out.push(record(record(record(spec.jobTemplate).spec).template));
        break;
    }
  }
  return out;
}

/** What a rendered Service makes of a call to it. */
export interface RenderedBackend {
  /** The Service's selector: the pods the connection reaches. */
  readonly selector: PodLabels;
  /** The pods' ports the called ports arrive at. */
  readonly ports: readonly FlowPort[];
  /** Called ports the Service has no port for (nothing answers there). */
  readonly missing: readonly FlowPort[];
  /** Named targetPorts no container of the selected pods declares (the Service's port is kept). */
  readonly unresolved: readonly string[];
}

/**
 * The backend of `call` by the Service object named so among `objects` (what the cluster's
 * Applications deploy), or undefined when none is rendered there, or it has no selector (its
 * endpoints are made by hand). Ports stated as the pods' (`portsOf: 'pods'`) stay as they are.
 */
export function renderedBackend(
  objects: readonly KubeObject[],
  call: ServiceCall,
): RenderedBackend | undefined {
  const service = objects.find(
    (object) =>
      object.kind === 'Service' &&
      (object.apiVersion ?? 'v1') === 'v1' &&
      object.metadata.name === call.service &&
      object.metadata.namespace === call.namespace,
  );
  if (service === undefined) return undefined;
  const spec = record(service.spec as JsonValue | undefined);
  const selectorJson = record(spec.selector);
  if (Object.keys(selectorJson).length === 0) return undefined;
  const selector: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(selectorJson)) selector[key] = String(value);
  if (call.portsOf === 'pods') {
    return { selector, ports: call.declared, missing: [], unresolved: [] };
  }
  const selected = podTemplates(objects, call.namespace).filter((template) => {
    const labels = record(record(template.metadata).labels);
    return Object.entries(selector).every(([key, value]) => labels[key] === value);
  });
  const containerPort = (name: string, protocol: string): number | undefined => {
    for (const template of selected) {
      const podSpec = record(template.spec);
      for (const container of [
        ...list(podSpec.containers),
        ...list(podSpec.initContainers).filter(
          (init) => record(init).restartPolicy === 'Always', // sidecars serve too
        ),
      ]) {
        for (const entry of list(record(container).ports)) {
          const port = record(entry);
          if (port.name === name && String(port.protocol ?? 'TCP') === protocol) {
            return Number(port.containerPort);
          }
        }
      }
    }
    return undefined;
  };
  const ports: FlowPort[] = [];
  const missing: FlowPort[] = [];
  const unresolved: string[] = [];
  for (const port of call.declared) {
    const served = list(spec.ports)
      .map(record)
      .filter((entry) => {
        const number = Number(entry.port);
        return (
          String(entry.protocol ?? 'TCP') === port.protocol &&
          port.port <= number &&
          number <= (port.endPort ?? port.port)
        );
      });
    if (served.length === 0) missing.push(port);
    for (const entry of served) {
      const target = entry.targetPort;
      let number: number;
      if (typeof target === 'string' && !/^[0-9]+$/.test(target)) {
        const found = containerPort(target, port.protocol);
        if (found === undefined) {
          unresolved.push(target);
          number = Number(entry.port);
        } else number = found;
      } else number = target === undefined || target === null ? Number(entry.port) : Number(target);
      if (!ports.some((seen) => seen.port === number && seen.protocol === port.protocol)) {
        ports.push({ port: number, protocol: port.protocol });
      }
    }
  }
  return { selector, ports, missing, unresolved };
}
