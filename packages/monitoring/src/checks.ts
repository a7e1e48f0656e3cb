// Layer 4 checks of the facts monitoring relies on at run time. Pure.
import {
  type DeployedCluster,
  error,
  type Issue,
  mergeValues,
  type SystemCheck,
  settingsPath,
  type Values,
} from '@homelab/core';
import type { MonitoringSettings } from './generated/settings.js';
import { MONITORING_API } from './manifests.js';
import { MONITORING_NAMESPACE } from './settings.js';

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

type Table = { [key: string]: unknown };
const table = (value: unknown): Values =>
  (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Values;

/** Monitoring's settings on a deployed cluster: the top level, then the cluster's own. */
function monitoringSettings(
  deployed: DeployedCluster,
  definition: { readonly components?: unknown },
): MonitoringSettings {
  return mergeValues(
    table((definition.components as Table | undefined)?.monitoring),
    table((deployed.cluster.definition.components as Table | undefined)?.monitoring),
  ) as MonitoringSettings;
}

/**
 * Where the heartbeat of a cluster pings: the Bitwarden secret that fills the key of its
 * receiver's URL (from the BitwardenSecret the secrets provider deploys), or the URL itself.
 * Undefined without a heartbeat, or when the URL comes from a Secret made by hand.
 */
function heartbeatTarget(
  deployed: DeployedCluster,
  settings: MonitoringSettings,
): { what: string; describe: string } | undefined {
  const name = settings.alertmanager?.heartbeat?.receiver;
  const receiver = settings.alertmanager?.receivers?.find((item) => item.name === name);
  if (receiver?.webhook === undefined) return undefined;
  if (receiver.webhook.url !== undefined)
    return { what: `url:${receiver.webhook.url}`, describe: `URL ${receiver.webhook.url}` };
  const credentials = receiver.credentials;
  if (credentials === undefined) return undefined;
  for (const app of deployed.applications) {
    for (const { object } of app.objects) {
      if (object.kind !== 'BitwardenSecret') continue;
      if (object.metadata.name !== credentials.secretName) continue;
      if ((object.metadata.namespace ?? app.namespace) !== MONITORING_NAMESPACE) continue;
      const map = (object.spec as { map?: { bwSecretId?: unknown; secretKeyName?: unknown }[] })
        ?.map;
      const id = map?.find((entry) => entry.secretKeyName === credentials.key)?.bwSecretId;
      if (typeof id === 'string')
        return {
          what: `bitwarden:${id}`,
          describe: `Bitwarden secret ${id} (${MONITORING_NAMESPACE}/${credentials.secretName}: ${credentials.key})`,
        };
    }
  }
  return undefined;
}

/**
 * Every cluster's heartbeat pings a check of its own. A check-in service alerts when its check
 * gets no ping for a period; two clusters pinging one check keep it green while either is up,
 * so the switch never trips when one of them goes down. Compared: the Bitwarden secret that
 * fills the ping URL's Secret key (bitwarden-sm's BitwardenSecret), or a URL in the definition.
 */
export const heartbeatPerCluster: SystemCheck = {
  name: 'heartbeat-per-cluster',
  description:
    "Every cluster's heartbeat (alertmanager.heartbeat) pings its own check: no two clusters read the ping URL from the same Bitwarden secret, or name the same URL.",
  check(input) {
    const issues: Issue[] = [];
    const first = new Map<string, string>();
    for (const deployed of input.clusters) {
      if (!deployed.run.contributions.has('monitoring')) continue;
      const settings = monitoringSettings(deployed, input.platform.definition);
      const target = heartbeatTarget(deployed, settings);
      if (target === undefined) continue;
      const other = first.get(target.what);
      if (other === undefined) {
        first.set(target.what, deployed.cluster.name);
        continue;
      }
      issues.push(
        error({
          code: 'heartbeat-per-cluster',
          path: settingsPath(deployed.cluster, 'monitoring', 'alertmanager', 'heartbeat'),
          value: settings.alertmanager?.heartbeat?.receiver,
          message: `cluster "${deployed.cluster.name}" pings the same heartbeat check as cluster "${other}" (${target.describe}): the check stays green while either cluster pings it, so one of them going down is never noticed`,
          expected: `a check of its own for cluster "${deployed.cluster.name}": its ping URL in another Bitwarden secret, mapped under the cluster's bitwarden-sm.secrets`,
        }),
      );
    }
    return issues;
  },
};

export const MONITORING_CHECKS: readonly SystemCheck[] = [monitorsHaveTargets, heartbeatPerCluster];
