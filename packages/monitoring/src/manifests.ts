// The objects monitoring renders from the monitors on a cluster: ServiceMonitors and PodMonitors
// (in the monitoring namespace, selecting the target's namespace: early components such as
// Cilium cannot ship them, the CRDs come later), one PrometheusRule per declaring component,
// one ConfigMap per dashboard (Grafana's sidecar loads those labelled grafana_dashboard). The
// monitoring chart installs the Prometheus Operator CRDs itself, so every custom resource here
// skips Argo CD's dry run until they exist. Pure.
import {
  type DashboardDeclaration,
  type KubeObject,
  type MonitorDeclaration,
  toJson,
  type Values,
} from '@homelab/core';
import type { ResolvedRule } from './rules.js';
import { MONITORING_NAMESPACE } from './settings.js';

export const MONITORING_API = 'monitoring.coreos.com/v1';

/** Argo CD applies these before their CRDs exist (same Application). */
const SKIP_DRY_RUN = { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' };

/** Prometheus reads the service-account token it runs with (controllers that check it, kubelet-style). */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function labels(component: string): { [key: string]: string } {
  return {
    'app.kubernetes.io/managed-by': 'homelab',
    'app.kubernetes.io/part-of': 'monitoring',
    'homelab.dev/component': component,
  };
}

/** The ServiceMonitor or PodMonitor of a monitor with a target; `undefined` without one. */
export function monitorObject(
  component: string,
  monitor: MonitorDeclaration,
): KubeObject | undefined {
  const target = monitor.target;
  if (target === undefined) return undefined;
  const endpoint: Values = { port: target.port, path: target.path ?? '/metrics' };
  if (target.scheme === 'https') {
    // Controllers serve metrics with a self-signed certificate and check the caller's token.
    // Only a ServiceMonitor endpoint can send Prometheus' own token (bearerTokenFile); the
    // operator refuses file reads from PodMonitors, whose https targets get TLS only.
    endpoint.scheme = 'https';
    endpoint.tlsConfig = { insecureSkipVerify: true };
    if (target.kind === 'service') endpoint.bearerTokenFile = SERVICE_ACCOUNT_TOKEN;
  }
  const spec: Values = {
    selector: { matchLabels: { ...target.selector } },
    namespaceSelector: { matchNames: [monitor.namespace] },
    [target.kind === 'service' ? 'endpoints' : 'podMetricsEndpoints']: [endpoint],
  };
  return {
    apiVersion: MONITORING_API,
    kind: target.kind === 'service' ? 'ServiceMonitor' : 'PodMonitor',
    metadata: {
      name: `${component}-${monitor.name}`,
      namespace: MONITORING_NAMESPACE,
      labels: labels(component),
      annotations: { ...SKIP_DRY_RUN },
    },
    spec,
  };
}

/** One PrometheusRule for a component's rules on a cluster, a group per monitor. */
export function ruleObject(
  component: string,
  groups: readonly { readonly monitor: string; readonly rules: readonly ResolvedRule[] }[],
): KubeObject {
  return {
    apiVersion: MONITORING_API,
    kind: 'PrometheusRule',
    metadata: {
      name: component,
      namespace: MONITORING_NAMESPACE,
      labels: labels(component),
      annotations: { ...SKIP_DRY_RUN },
    },
    spec: {
      groups: groups.map((group) => ({
        name: `${component}.${group.monitor}`,
        rules: group.rules.map((rule) => {
          const annotations: { [key: string]: string } = { summary: rule.summary };
          if (rule.description !== undefined) annotations.description = rule.description;
          return {
            alert: rule.alert,
            expr: rule.expr,
            ...(rule.for === undefined ? {} : { for: rule.for }),
            labels: { severity: rule.severity, component },
            annotations,
          };
        }),
      })),
    },
  };
}

/** The label Grafana's dashboard sidecar watches (kube-prometheus-stack's default). */
export const DASHBOARD_LABEL = 'grafana_dashboard';

/** The ConfigMap that provisions a dashboard: its JSON model, uid = name, canonical key order. */
export function dashboardObject(component: string, dashboard: DashboardDeclaration): KubeObject {
  const json = { ...dashboard.json, uid: dashboard.name, title: dashboard.title };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `dashboard-${dashboard.name}`,
      namespace: MONITORING_NAMESPACE,
      labels: { ...labels(component), [DASHBOARD_LABEL]: '1' },
    },
    data: { [`${dashboard.name}.json`]: toJson(json) },
  };
}
