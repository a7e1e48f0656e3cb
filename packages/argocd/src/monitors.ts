// What is worth watching in Argo CD (the `monitors` the metrics provider turns into scraping,
// alerts and dashboards): the application controller (Application sync and health), the API
// server and the repo server, through the chart's metrics Services (switched on in component.ts).
// Argo CD is installed before the Prometheus Operator CRDs exist, so it never ships
// ServiceMonitors itself. Pure.
import type { DashboardDeclaration, MonitorDeclaration } from '@homelab/core';
import argocdDashboard from './dashboards/argocd.json' with { type: 'json' };
import { ARGOCD_NAMESPACE } from './settings.js';

/** The chart's metrics Services (fullname `argocd`), by their `app.kubernetes.io/name` label. */
const METRICS_SERVICES = {
  'application-controller': 'argocd-metrics',
  server: 'argocd-server-metrics',
  'repo-server': 'argocd-repo-server-metrics',
} as const;

const dashboard: DashboardDeclaration = {
  name: 'argocd',
  title: argocdDashboard.title,
  json: argocdDashboard as unknown as DashboardDeclaration['json'],
};

/** Argo CD's monitors on a cluster. */
export function argocdMonitors(): MonitorDeclaration[] {
  return Object.entries(METRICS_SERVICES).map(([component, service]) => ({
    name: component,
    namespace: ARGOCD_NAMESPACE,
    target: {
      kind: 'service' as const,
      selector: {
        'app.kubernetes.io/name': service,
        'app.kubernetes.io/component': component,
      },
      port: 'http-metrics',
    },
    ...(component === 'application-controller'
      ? {
          rules: [
            {
              alert: 'ArgoCDApplicationOutOfSync',
              expr: 'argocd_app_info{sync_status="OutOfSync"} == 1',
              for: { development: '2h', staging: '1h', production: '30m' },
              severity: 'warning' as const,
              summary:
                'An Argo CD Application has been out of sync for longer than its environment allows: Git and the cluster differ.',
              description:
                'The name label names the Application. argocd app diff shows what differs; a sync that keeps failing shows in its conditions.',
            },
            {
              // Argo CD v3.4.4 sets an Application's sync status to Unknown, not OutOfSync, when
              // it cannot load its manifests (controller/state.go `CompareAppState`:
              // `failedToLoadObjs` ⇒ `SyncStatusCodeUnknown`): the repository unreachable past
              // the repo-error grace period, credentials refused, a chart that fails to render.
              // Nothing of the Application is synced then, and the OutOfSync alert never fires.
              alert: 'ArgoCDApplicationComparisonFailed',
              expr: 'argocd_app_info{sync_status="Unknown"} == 1',
              for: { development: '1h', staging: '30m', production: '15m' },
              severity: 'warning' as const,
              summary:
                'Argo CD cannot compare an Application with Git (sync status Unknown): its repository is unreachable or its manifests fail to render, so no change reaches the cluster.',
              description:
                'The name label names the Application. Its ComparisonError condition (kubectl -n argocd get application -o yaml, or argocd app get) says why: repository access, credentials, or a Helm error.',
            },
            {
              alert: 'ArgoCDApplicationDegraded',
              expr: 'argocd_app_info{health_status="Degraded"} == 1',
              for: { development: '1h', staging: '30m', production: '15m' },
              severity: 'critical' as const,
              summary:
                'An Argo CD Application has been degraded for longer than its environment allows: some of its resources are failing.',
            },
          ],
          dashboards: [dashboard],
        }
      : {}),
  }));
}
