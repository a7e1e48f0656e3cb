// Layer 2 for the custom resources of charts/monitoring: the ServiceMonitors, PodMonitors and
// PrometheusRules monitoring renders, and the Prometheus and Alertmanager the upstream chart
// renders (layer 5), against the Prometheus Operator API as @kubernetes-models/prometheus-operator
// carries it (generated from the operator's Go types). The conformance suite also checks them
// against the CRDs of the pinned chart.
import { modelClassValidator, type ObjectValidator } from '@homelab/core';
import { Alertmanager } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Alertmanager';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { Prometheus } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Prometheus';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { MONITORING_API } from './manifests.js';

export const monitoringValidators: readonly ObjectValidator[] = [
  modelClassValidator(MONITORING_API, 'ServiceMonitor', ServiceMonitor),
  modelClassValidator(MONITORING_API, 'PodMonitor', PodMonitor),
  modelClassValidator(MONITORING_API, 'PrometheusRule', PrometheusRule),
  modelClassValidator(MONITORING_API, 'Prometheus', Prometheus),
  modelClassValidator(MONITORING_API, 'Alertmanager', Alertmanager),
];
