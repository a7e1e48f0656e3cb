// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// Prometheus keeps its samples on one claim per replica, made by its StatefulSet from the claim
// template (`prometheus.prometheusSpec.storageSpec` of kube-prometheus-stack, the Prometheus
// resource's `spec.storage`). A StatefulSet's claim templates never change: prometheus-operator
// v0.93 deletes and recreates the StatefulSet when its update is refused
// (`pkg/prometheus/server/operator.go`, "recreating StatefulSet because the update operation
// wasn't possible"), and the claims it already made keep their size and class: Kubernetes
// resizes a claim only when the claim itself asks for more (its docs, "Resizing volumes":
// patch every claim by hand).
import {
  type ChangeCheck,
  type Issue,
  isJson as isTableValue,
  settingsPath,
  type Values,
  warning,
} from '@homelab/core';
import { kubernetesBytes } from './quantity.js';
import { MONITORING_NAMESPACE } from './settings.js';
import { KPS_VALUES_KEY, PROMETHEUS_NAME } from './values.js';

/** The claim template's size and class in a chart's values, where it has one. */
function claimTemplate(values: Values | undefined): { size?: string; storageClassName?: string } {
  let at: unknown = values;
  for (const key of [
    KPS_VALUES_KEY,
    'prometheus',
    'prometheusSpec',
    'storageSpec',
    'volumeClaimTemplate',
    'spec',
  ]) {
    at = isTableValue(at) ? at[key] : undefined;
  }
  if (!isTableValue(at)) return {};
  const resources = isTableValue(at.resources) ? at.resources : {};
  const requests = isTableValue(resources.requests) ? resources.requests : {};
  return {
    ...(typeof requests.storage === 'string' ? { size: requests.storage } : {}),
    ...(typeof at.storageClassName === 'string' ? { storageClassName: at.storageClassName } : {}),
  };
}

/** Every claim Prometheus' StatefulSet made (the operator labels them with its name). */
const CLAIMS = `kubectl -n ${MONITORING_NAMESPACE} get pvc -l operator.prometheus.io/name=${PROMETHEUS_NAME} -o name`;

/**
 * Prometheus' claim template changed against the last build's: a larger size reaches the claims
 * only through a patch of each (the warning gives it); another class never reaches them (each
 * claim and its samples must be given up for a new one on the new class).
 */
export const prometheusStorageCheck: ChangeCheck = {
  name: 'prometheus-storage-changed',
  description:
    "Prometheus' volume keeps the size and class the last build deployed, or the build says what its claims keep: prometheus-operator recreates the StatefulSet with the new claim template, and the claims it made keep their old size and class until each is patched (a size) or replaced (a class).",
  check({ cluster, beforeValues, afterValues }) {
    const issues: Issue[] = [];
    for (const [chart, values] of afterValues) {
      const now = claimTemplate(values);
      const was = claimTemplate(beforeValues.get(chart));
      const bytes = now.size === undefined ? undefined : kubernetesBytes(now.size);
      const wasBytes = was.size === undefined ? undefined : kubernetesBytes(was.size);
      if (
        now.size !== undefined &&
        was.size !== undefined &&
        bytes !== undefined &&
        wasBytes !== undefined &&
        bytes !== wasBytes
      ) {
        const grows = bytes > wasBytes;
        issues.push(
          warning({
            code: 'prometheus-storage-changed',
            path: settingsPath(cluster, 'monitoring', 'prometheus', 'storage', 'size'),
            output: `charts/${chart}`,
            value: now.size,
            message: grows
              ? `grows Prometheus' volume on cluster "${cluster.name}" from ${was.size}, which the last build deployed: prometheus-operator recreates its StatefulSet with the new claim template, but the claims it already made keep ${was.size} (Kubernetes resizes a claim only when the claim asks for more), so Prometheus goes on filling the old size`
              : `shrinks Prometheus' volume on cluster "${cluster.name}" from ${was.size}, which the last build deployed: a claim never shrinks, so the claims already made keep ${was.size} and only new ones (a new replica) get ${now.size}`,
            expected: grows
              ? `once Argo CD synced the change, patch every claim Prometheus has (its class must allow expansion, as the storage provider's do): \`for claim in $(${CLAIMS}); do kubectl -n ${MONITORING_NAMESPACE} patch "$claim" --type merge -p '{"spec":{"resources":{"requests":{"storage":"${now.size}"}}}}'; done\``
              : `${was.size} kept, unless the old claims may stay larger than the new ones`,
          }),
        );
      }
      if (
        now.storageClassName !== undefined &&
        was.storageClassName !== undefined &&
        now.storageClassName !== was.storageClassName
      ) {
        issues.push(
          warning({
            code: 'prometheus-storage-changed',
            path: settingsPath(cluster, 'monitoring', 'prometheus', 'storage'),
            output: `charts/${chart}`,
            value: now.storageClassName,
            message: `moves Prometheus' volume on cluster "${cluster.name}" to StorageClass ${now.storageClassName} from ${was.storageClassName}, which the last build deployed: prometheus-operator recreates its StatefulSet with the new claim template, but a claim's class never changes, so the claims already made stay on ${was.storageClassName}`,
            expected: `once Argo CD synced the change, replace each claim to move it (its samples are lost): for each claim of \`${CLAIMS}\`, \`kubectl -n ${MONITORING_NAMESPACE} delete <claim> --wait=false\`, then delete the pod that mounts it; the StatefulSet makes the claim anew on ${now.storageClassName}`,
          }),
        );
      }
    }
    return issues;
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const MONITORING_CHANGES: readonly ChangeCheck[] = [prometheusStorageCheck];
