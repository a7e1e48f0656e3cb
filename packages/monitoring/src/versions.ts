// Upstream versions this package pins. Renovate updates the chart through the comment below
// (a `customManagers` regex rule matches `// renovate: datasource=… depName=… registryUrl=…`
// followed by a `version: '…'` line).
import type { UpstreamPin } from '@homelab/core';

/** The upstream kube-prometheus-stack chart wrapped by charts/monitoring. */
export const KUBE_PROMETHEUS_STACK_CHART = {
  name: 'kube-prometheus-stack',
  repository: 'https://prometheus-community.github.io/helm-charts',
  // renovate: datasource=helm depName=kube-prometheus-stack registryUrl=https://prometheus-community.github.io/helm-charts
  version: '88.5.3',
} as const;

/** Prometheus Operator release shipped by that chart (its `appVersion`). */
export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.1';

/**
 * The image repositories of the monitoring pods: those the chart renders (the operator, Grafana
 * with its sidecar, kube-state-metrics, node-exporter), those of the Prometheus and Alertmanager
 * its operator runs (their resources' `spec.image`), the config reloader it adds to them
 * (`--prometheus-config-reloader`) and the Thanos image it is handed (`--thanos-default-base-image`;
 * no Thanos sidecar or ruler runs here). The Helm suite checks every one the chart renders is here.
 */
/** node-exporter's image repository: its pods run in a namespace of their own. */
export const NODE_EXPORTER_IMAGE_REPOSITORY = 'quay.io/prometheus/node-exporter';

export const MONITORING_IMAGE_REPOSITORIES: readonly string[] = [
  'docker.io/grafana/grafana',
  'quay.io/kiwigrid/k8s-sidecar',
  'quay.io/prometheus-operator/prometheus-config-reloader',
  'quay.io/prometheus-operator/prometheus-operator',
  'quay.io/prometheus/alertmanager',
  NODE_EXPORTER_IMAGE_REPOSITORY,
  'quay.io/prometheus/prometheus',
  'quay.io/thanos/thanos',
  'registry.k8s.io/kube-state-metrics/kube-state-metrics',
];

/**
 * The upstream artifacts @homelab/monitoring pins: the kube-prometheus-stack chart, with its
 * dependencies inside the archive (the Prometheus Operator CRDs, Grafana, kube-state-metrics,
 * prometheus-node-exporter, prometheus-windows-exporter).
 */
export const MONITORING_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: KUBE_PROMETHEUS_STACK_CHART.name,
    version: KUBE_PROMETHEUS_STACK_CHART.version,
    repository: KUBE_PROMETHEUS_STACK_CHART.repository,
    licence: 'Apache-2.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/prometheus-community/helm-charts/releases/download/kube-prometheus-stack-<version>/…
    archives: 'github-releases',
  },
];
