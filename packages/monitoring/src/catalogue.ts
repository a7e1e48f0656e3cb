// What is worth watching on every cluster (the platform's own facts, which monitoring declares
// itself), and the monitors of components that are being built in parallel, keyed by the
// capability they provide and the component known to provide it: each applies only while that
// component declares no monitors of its own, so the owner taking them over is a move, not a
// duplicate. Pure.
import type {
  Capability,
  DashboardDeclaration,
  MonitorDeclaration,
  ResolvedCluster,
} from '@homelab/core';
import longhornDashboard from './dashboards/longhorn.json' with { type: 'json' };
import platformDashboard from './dashboards/platform.json' with { type: 'json' };
import type { ResolvedMonitoringSettings } from './settings.js';

function dashboard(name: string, json: { readonly title: string }): DashboardDeclaration {
  return { name, title: json.title, json: json as unknown as DashboardDeclaration['json'] };
}

/** File systems node-exporter reports that hold data (Talos' EPHEMERAL is XFS; / is read-only). */
const DATA_FILESYSTEMS = 'fstype=~"ext4|xfs|btrfs"';

/**
 * The platform's own facts, declared by monitoring on every cluster: nodes, their disks, etcd
 * snapshots. The series come from kube-state-metrics and node-exporter, which the stack scrapes
 * itself (no target here).
 */
export function platformMonitors(settings: ResolvedMonitoringSettings): MonitorDeclaration[] {
  return [
    {
      name: 'nodes',
      namespace: 'kube-system',
      rules: [
        {
          alert: 'NodeNotReady',
          expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
          for: { development: '30m', staging: '15m', production: '5m' },
          severity: 'critical',
          summary: 'A node is not Ready: its pods are not running or not reachable.',
          description:
            'The node label says which. Check it with talosctl health and talosctl dmesg; a node that stays NotReady is drained by the eviction timeout.',
        },
        {
          alert: 'NodeDiskNearlyFull',
          expr: `100 * node_filesystem_avail_bytes{${DATA_FILESYSTEMS}} / node_filesystem_size_bytes{${DATA_FILESYSTEMS}} < $threshold`,
          threshold: { development: 5, staging: 10, production: 15 },
          for: '15m',
          severity: 'warning',
          summary: 'A node file system has less free space than its environment allows (percent).',
          description:
            'The instance and mountpoint labels say which. On Talos /var (EPHEMERAL) holds images, logs and emptyDir volumes; the kubelet evicts pods when it fills.',
        },
      ],
      dashboards: [dashboard('platform', platformDashboard)],
    },
    ...(settings.etcdSnapshot === undefined ? [] : [etcdSnapshotMonitor(settings.etcdSnapshot)]),
  ];
}

/** EtcdSnapshotTooOld on a CronJob of the user's (the backups component watches its own). */
function etcdSnapshotMonitor(snapshot: {
  readonly cronJob: string;
  readonly namespace: string;
}): MonitorDeclaration {
  const lastSnapshot = `kube_cronjob_status_last_successful_time{namespace="${snapshot.namespace}",cronjob="${snapshot.cronJob}"}`;
  return {
    name: 'etcd-snapshots',
    namespace: snapshot.namespace,
    rules: [
      {
        alert: 'EtcdSnapshotTooOld',
        expr: `(time() - max(${lastSnapshot})) / 3600 > $threshold or absent(${lastSnapshot})`,
        threshold: { development: 168, staging: 48, production: 26 },
        for: '30m',
        severity: 'warning',
        summary: `The last successful etcd snapshot (CronJob ${snapshot.namespace}/${snapshot.cronJob}) is older than its environment allows (hours), or there is none.`,
        description:
          'Without a recent etcd snapshot a lost control plane cannot be restored (talosctl etcd snapshot, talosctl bootstrap --recover-from). Check the CronJob and its last Job.',
      },
    ],
  };
}

/** Fallback monitors: for a component of `components` that provides `capability` and declares no monitors. */
export interface FallbackMonitors {
  readonly capability: Capability;
  /** Names of the component that provides it (the one these monitors were written for). */
  readonly components: readonly string[];
  /** Its monitors, in the component's namespace. */
  readonly monitors: (namespace: string, cluster: ResolvedCluster) => MonitorDeclaration[];
}

const HTTPS = 'https' as const;

/**
 * Monitors of the components built in parallel, until each declares its own (then the fallback
 * is ignored and should be deleted here). They follow those charts' metrics Services and ports
 * (vendored releases): Longhorn's `longhorn-backend` (port manager), cert-manager's controller
 * Service (http-metrics), Authelia's metrics port (telemetry.metrics.enabled), the controller-
 * runtime metrics of the Bitwarden operator (https, service-account token), and
 * Gatekeeper's pods (port metrics).
 */
export const FALLBACK_MONITORS: readonly FallbackMonitors[] = [
  {
    capability: 'storage',
    components: ['longhorn'],
    monitors: (namespace) => [
      {
        name: 'longhorn',
        namespace,
        target: { kind: 'service', selector: { app: 'longhorn-manager' }, port: 'manager' },
        rules: [
          {
            alert: 'LonghornVolumeDegraded',
            // longhorn_volume_robustness: 0 unknown, 1 healthy, 2 degraded, 3 faulted.
            expr: 'longhorn_volume_robustness == 2',
            for: { development: '1h', staging: '30m', production: '10m' },
            severity: 'warning',
            summary:
              'A Longhorn volume is degraded: it runs with fewer healthy replicas than asked.',
            description:
              'The volume label says which. Longhorn rebuilds replicas by itself when a node with room for them is available; check the storage nodes and their disks.',
          },
          {
            alert: 'LonghornVolumeFaulted',
            expr: 'longhorn_volume_robustness == 3',
            for: '2m',
            severity: 'critical',
            summary:
              'A Longhorn volume is faulted: no healthy replica is left and its data is unavailable.',
          },
          {
            alert: 'LonghornDiskNearlyFull',
            expr: '100 * longhorn_disk_usage_bytes / longhorn_disk_capacity_bytes > $threshold',
            threshold: { development: 90, staging: 85, production: 80 },
            for: '15m',
            severity: 'warning',
            summary: 'A Longhorn disk is fuller than its environment allows (percent used).',
          },
        ],
        dashboards: [dashboard('longhorn', longhornDashboard)],
      },
    ],
  },
  {
    capability: 'certificates',
    components: ['cert-manager'],
    monitors: (namespace) => [
      {
        name: 'cert-manager',
        namespace,
        target: {
          kind: 'service',
          selector: {
            'app.kubernetes.io/name': 'cert-manager',
            'app.kubernetes.io/component': 'controller',
          },
          port: 'http-metrics',
        },
        rules: [
          {
            alert: 'CertificateExpiringSoon',
            expr: '(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400 < $threshold',
            threshold: 14,
            for: '1h',
            severity: 'warning',
            summary:
              "A certificate expires within its environment's threshold (days) and has not been renewed.",
            description:
              'cert-manager renews 30 days before expiry by default; one this close to expiry failed to renew. The name and namespace labels name the Certificate.',
          },
          {
            alert: 'CertificateNotReady',
            expr: 'certmanager_certificate_ready_status{condition="False"} == 1',
            for: '30m',
            severity: 'warning',
            summary: 'A certificate is not Ready: cert-manager could not issue or renew it.',
          },
        ],
      },
    ],
  },
  {
    capability: 'oidc-provider',
    components: ['authelia'],
    monitors: (namespace) => [
      {
        name: 'authelia',
        namespace,
        target: {
          kind: 'service',
          selector: { 'app.kubernetes.io/name': 'authelia' },
          port: 'metrics',
        },
        rules: [
          {
            alert: 'AutheliaErrors',
            expr: '100 * sum(rate(authelia_request{code=~"5.."}[5m])) / sum(rate(authelia_request[5m])) > $threshold',
            threshold: { development: 20, staging: 10, production: 5 },
            for: '10m',
            severity: 'critical',
            summary:
              'Authelia answers too many requests with a server error (percent): logins through it fail.',
          },
        ],
      },
    ],
  },
  {
    capability: 'secrets',
    components: ['bitwarden-sm'],
    monitors: (namespace) => [
      {
        name: 'bitwarden-sm',
        namespace,
        target: {
          kind: 'service',
          selector: {
            'app.kubernetes.io/name': 'sm-operator',
            'control-plane': 'controller-manager',
          },
          port: 'https',
          scheme: HTTPS,
        },
        rules: [
          {
            alert: 'BitwardenOperatorErrors',
            expr: `sum(rate(controller_runtime_reconcile_errors_total{namespace="${namespace}"}[15m])) > $threshold`,
            threshold: 0,
            for: { development: '1h', staging: '30m', production: '15m' },
            severity: 'warning',
            summary:
              'The Bitwarden Secrets Manager operator fails to reconcile BitwardenSecrets: Secrets are not filled or not refreshed.',
            description:
              'Check the operator logs and the machine-account token Secret; the BitwardenSecret status names the failing secret ids.',
          },
        ],
      },
    ],
  },
  {
    capability: 'admission-policy',
    components: ['gatekeeper', 'policy'],
    monitors: (namespace) => [
      {
        name: 'gatekeeper',
        namespace,
        target: { kind: 'pod', selector: { 'gatekeeper.sh/system': 'yes' }, port: 'metrics' },
      },
    ],
  },
];
