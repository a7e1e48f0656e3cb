// The flows monitoring needs (zero trust), from kube-prometheus-stack 88.5.3 as our values render
// it (the operator's admission webhooks off, Grafana with one replica) and the pods
// prometheus-operator makes from the Prometheus and Alertmanager resources:
// - the Gateway forwards to Grafana (3000); Grafana's datasources query Prometheus (9090) and
//   Alertmanager (9093); its dashboard and datasource sidecars watch ConfigMaps (API server);
//   with an OIDC client its server calls the issuer (through the Gateway when the issuer is routed);
// - Prometheus discovers targets (API server), scrapes the nodes (node-exporter 9100, kubelet
//   10250, etcd 2381, controller-manager 10257, scheduler 10259 on the control planes), every
//   component that admits the `metrics` capability and every namespace outside default deny
//   (its egress to its consumers, packages/cilium/src/flows.ts), its own stack (operator 8080,
//   kube-state-metrics 8080, Grafana 3000, Alertmanager 9093/8080, Prometheus 9090/8080), and
//   sends alerts to Alertmanager (9093);
// - Alertmanager replicas gossip (9094 TCP and UDP) when there is more than one, and call the
//   receivers' endpoints (alertmanager.ts);
// - the operator and kube-state-metrics watch the API server.
// node-exporter runs on the host network: no pod flow. Pure.
import {
  DEFAULT_CLUSTER_DOMAIN,
  type FlowDeclaration,
  type OidcClientRequest,
  urlFlowPeer,
} from '@homelab/core';
import { flowName } from './flow-name.js';
import { GRAFANA_CONTAINER_PORT } from './grafana.js';
import { MONITORING_NAMESPACE } from './settings.js';

/** The pods of the stack, by the labels the chart (or prometheus-operator) gives them. */
export const MONITORING_PODS = {
  grafana: { 'app.kubernetes.io/name': 'grafana' },
  prometheus: { 'app.kubernetes.io/name': 'prometheus' },
  alertmanager: { 'app.kubernetes.io/name': 'alertmanager' },
  operator: { 'app.kubernetes.io/name': 'kube-prometheus-stack-prometheus-operator' },
  'kube-state-metrics': { 'app.kubernetes.io/name': 'kube-state-metrics' },
} as const;

type App = keyof typeof MONITORING_PODS;

/** Where Talos' control-plane components serve metrics once bound beyond localhost. */
export const CONTROL_PLANE_METRICS = {
  etcd: 2381,
  controllerManager: 10257,
  scheduler: 10259,
} as const;

/** Ports Prometheus scrapes on every node: node-exporter, the kubelet. */
export const HOST_PORTS: readonly number[] = [9100, 10250];

/** Ports Prometheus scrapes on the control planes only: etcd, controller manager, scheduler. */
export const CONTROL_PLANE_PORTS: readonly number[] = [
  CONTROL_PLANE_METRICS.etcd,
  CONTROL_PLANE_METRICS.controllerManager,
  CONTROL_PLANE_METRICS.scheduler,
];

const APISERVER = 6443;
const PROMETHEUS_WEB = 9090;
const ALERTMANAGER_WEB = 9093;
const ALERTMANAGER_MESH = 9094;
/** The config reloader's metrics (Prometheus and Alertmanager pods), the operator's, kube-state-metrics'. */
const HTTP = 8080;

function flow(
  direction: FlowDeclaration['direction'],
  app: App,
  peer: FlowDeclaration['peer'],
  ports: readonly number[],
  reason: string,
  protocols: readonly ('TCP' | 'UDP')[] = ['TCP'],
): FlowDeclaration {
  return {
    name: flowName(direction, app, peer, ports),
    direction,
    namespace: MONITORING_NAMESPACE,
    selector: { ...MONITORING_PODS[app] },
    peer,
    ports: ports.flatMap((port) => protocols.map((protocol) => ({ port, protocol }))),
    reason,
  };
}

function self(app: App): FlowDeclaration['peer'] {
  return { kind: 'self', selector: { ...MONITORING_PODS[app] } };
}

/** Prometheus scraping a pod group of the stack. */
function scrape(app: App, ports: readonly number[], what: string): FlowDeclaration {
  return {
    ...flow('egress', 'prometheus', self(app), ports, `Prometheus scrapes ${what}`),
    name: `prometheus-scrapes-${app}`,
  };
}

/**
 * With its OIDC client Grafana's server calls the issuer (token and userinfo endpoints): through
 * the Gateway when the issuer is a routed host of the cluster (`auth.<domain>`), the pods behind it
 * when it is a Service of the cluster, else by name (core's `urlFlowPeer`).
 */
export function grafanaOidcFlows(
  client: OidcClientRequest | undefined,
  issuer: string | undefined,
  gateway: { readonly domain: string } | undefined,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowDeclaration[] {
  if (client === undefined || issuer === undefined) return [];
  const target = urlFlowPeer(issuer, gateway?.domain, clusterDomain);
  if (target === undefined) return [];
  return [
    flow(
      'egress',
      'grafana',
      target.peer,
      target.ports.map((port) => port.port),
      `Grafana's server exchanges the login code and reads the user at the OIDC issuer (${issuer})`,
    ),
  ];
}

/** Everything monitoring's pods open or accept on a cluster. */
export function monitoringFlows(input: {
  /** Alertmanager replicas on the cluster (the mesh only exists with more than one). */
  readonly alertmanagerReplicas: number;
  /** Egress to the receivers' endpoints (alertmanager.ts). */
  readonly receiverFlows: readonly FlowDeclaration[];
  readonly oidcFlows: readonly FlowDeclaration[];
}): FlowDeclaration[] {
  return [
    flow(
      'ingress',
      'grafana',
      { kind: 'gateway' },
      [GRAFANA_CONTAINER_PORT],
      'The Gateway forwards grafana.<domain> to Grafana',
    ),
    flow(
      'egress',
      'grafana',
      self('prometheus'),
      [PROMETHEUS_WEB],
      "Grafana's Prometheus datasource",
    ),
    flow(
      'egress',
      'grafana',
      self('alertmanager'),
      [ALERTMANAGER_WEB],
      "Grafana's Alertmanager datasource",
    ),
    flow(
      'egress',
      'grafana',
      { kind: 'kube-apiserver' },
      [APISERVER],
      "Grafana's sidecars watch the dashboard and datasource ConfigMaps",
    ),
    flow(
      'egress',
      'prometheus',
      { kind: 'kube-apiserver' },
      [APISERVER],
      'Prometheus discovers its targets and scrapes the API server',
    ),
    flow(
      'egress',
      'prometheus',
      { kind: 'host' },
      HOST_PORTS,
      'Prometheus scrapes node-exporter and the kubelets on the nodes',
    ),
    flow(
      'egress',
      'prometheus',
      { kind: 'host', nodes: 'control-planes' },
      CONTROL_PLANE_PORTS,
      'Prometheus scrapes etcd, the controller manager and the scheduler on the control planes',
    ),
    flow(
      'egress',
      'prometheus',
      { kind: 'consumers', capability: 'metrics' },
      [],
      "Prometheus scrapes every component's monitors",
    ),
    {
      ...flow(
        'egress',
        'prometheus',
        self('alertmanager'),
        [ALERTMANAGER_WEB, HTTP],
        'Prometheus sends alerts to Alertmanager and scrapes it (web, config reloader)',
      ),
      name: 'prometheus-to-alertmanager',
    },
    scrape('prometheus', [PROMETHEUS_WEB, HTTP], 'the Prometheus replicas (web, config reloader)'),
    scrape('operator', [HTTP], 'prometheus-operator'),
    scrape('kube-state-metrics', [HTTP], 'kube-state-metrics'),
    scrape('grafana', [GRAFANA_CONTAINER_PORT], 'Grafana'),
    flow(
      'egress',
      'operator',
      { kind: 'kube-apiserver' },
      [APISERVER],
      'prometheus-operator reconciles its resources',
    ),
    flow(
      'egress',
      'kube-state-metrics',
      { kind: 'kube-apiserver' },
      [APISERVER],
      'kube-state-metrics lists and watches the objects it reports',
    ),
    ...(input.alertmanagerReplicas > 1
      ? [
          {
            ...flow(
              'egress',
              'alertmanager',
              self('alertmanager'),
              [ALERTMANAGER_MESH],
              'The Alertmanager replicas gossip (silences, notification log)',
              ['TCP', 'UDP'],
            ),
            name: 'alertmanager-mesh',
          },
        ]
      : []),
    ...input.receiverFlows,
    ...input.oidcFlows,
  ];
}
