// Layer 4 checks of the facts monitoring relies on at run time. Pure.
import { error, type Issue, type SystemCheck } from '@homelab/core';
import { MONITORING_API } from './manifests.js';

/** Namespaces Talos itself runs workloads in (CoreDNS, the control plane's static pods). */
const TALOS_NAMESPACES = new Set(['kube-system']);

/**
 * A ServiceMonitor or PodMonitor selects targets in namespaces something deploys: a monitor
 * whose namespace no Application on the cluster deploys into matches nothing, and its alerts
 * (`up == 0`, absent()) would fire for a component that is simply not there, or stay silent for
 * one that moved.
 */
export const monitorsHaveTargets: SystemCheck = {
  name: 'monitors-have-targets',
  description:
    'Every ServiceMonitor and PodMonitor selects a namespace that an Application on the same cluster deploys into (or kube-system, where Talos runs the control plane and CoreDNS).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const namespaces = new Set(TALOS_NAMESPACES);
      for (const contribution of deployed.run.contributions.values()) {
        const app = contribution.application;
        if (app === undefined) continue;
        namespaces.add(app.namespace);
        for (const namespace of app.additionalNamespaces ?? []) namespaces.add(namespace);
      }
      for (const app of deployed.applications) {
        for (const { object, source } of app.objects) {
          if (object.apiVersion !== MONITORING_API) continue;
          if (object.kind !== 'ServiceMonitor' && object.kind !== 'PodMonitor') continue;
          const spec = object.spec as { namespaceSelector?: { matchNames?: string[] } } | undefined;
          for (const namespace of spec?.namespaceSelector?.matchNames ?? []) {
            if (namespaces.has(namespace)) continue;
            issues.push(
              error({
                code: 'monitors-have-targets',
                path: app.origin,
                output: source,
                value: namespace,
                message: `${object.kind} ${object.metadata.name} on cluster "${deployed.cluster.name}" selects namespace "${namespace}", which no Application there deploys into: it would scrape nothing`,
                expected: `a namespace of an Application on cluster "${deployed.cluster.name}"`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

export const MONITORING_CHECKS: readonly SystemCheck[] = [monitorsHaveTargets];
