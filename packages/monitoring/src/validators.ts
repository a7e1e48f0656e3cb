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

/**
 * The models treat `spec.storage.volumeClaimTemplate` (an EmbeddedPersistentVolumeClaim) as a
 * kind of its own: they require `apiVersion: monitoring.coreos.com/v1` and `kind:
 * EmbeddedPersistentVolumeClaim` there. The CRD requires neither and the operator ignores both
 * (it builds a v1 PersistentVolumeClaim from metadata and spec), so the validator checks a copy
 * with those two fields as the models want them, and refuses only values that are not a
 * PersistentVolumeClaim's.
 */
function withEmbeddedClaim(validator: ObjectValidator): ObjectValidator {
  return {
    apiVersion: validator.apiVersion,
    kind: validator.kind,
    validate(object) {
      const claim = (object as { spec?: { storage?: { volumeClaimTemplate?: unknown } } }).spec
        ?.storage?.volumeClaimTemplate;
      if (claim === null || typeof claim !== 'object' || Array.isArray(claim)) {
        return validator.validate(object);
      }
      const own = claim as { apiVersion?: unknown; kind?: unknown };
      const problems: string[] = [];
      if (own.apiVersion !== undefined && own.apiVersion !== 'v1') {
        problems.push('spec.storage.volumeClaimTemplate.apiVersion: must be v1 or absent');
      }
      if (own.kind !== undefined && own.kind !== 'PersistentVolumeClaim') {
        problems.push(
          'spec.storage.volumeClaimTemplate.kind: must be PersistentVolumeClaim or absent',
        );
      }
      const spec = (object as { spec: { storage: object } }).spec;
      const copy = {
        ...(object as object),
        spec: {
          ...spec,
          storage: {
            ...spec.storage,
            volumeClaimTemplate: {
              ...claim,
              apiVersion: MONITORING_API,
              kind: 'EmbeddedPersistentVolumeClaim',
            },
          },
        },
      };
      return [...problems, ...validator.validate(copy)];
    },
  };
}

export const monitoringValidators: readonly ObjectValidator[] = [
  modelClassValidator(MONITORING_API, 'ServiceMonitor', ServiceMonitor),
  modelClassValidator(MONITORING_API, 'PodMonitor', PodMonitor),
  modelClassValidator(MONITORING_API, 'PrometheusRule', PrometheusRule),
  withEmbeddedClaim(modelClassValidator(MONITORING_API, 'Prometheus', Prometheus)),
  withEmbeddedClaim(modelClassValidator(MONITORING_API, 'Alertmanager', Alertmanager)),
];
