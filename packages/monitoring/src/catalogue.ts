// What is worth watching on every cluster (the platform's own facts, which monitoring declares
// itself), and the monitors of components that are being built in parallel, keyed by the
// capability they provide and the component known to provide it: each applies only while that
// component declares no monitors of its own, so the owner taking them over is a move, not a
// duplicate. Pure.
import {
  type AlertRuleDeclaration,
  type Capability,
  type DashboardDeclaration,
  lastRunFailedExpr,
  lastSuccessTooOldExpr,
  type MonitorDeclaration,
  type ResolvedCluster,
} from '@homelab/core';
import longhornDashboard from './dashboards/longhorn.json' with { type: 'json' };
import platformDashboard from './dashboards/platform.json' with { type: 'json' };
import type { ResolvedMonitoringSettings } from './settings.js';

function dashboard(name: string, json: { readonly title: string }): DashboardDeclaration {
  return { name, title: json.title, json: json as unknown as DashboardDeclaration['json'] };
}

/** The alert of a failed Job (in place of kube-prometheus-stack's KubeJobFailed). */
export const JOB_FAILED = 'JobFailed';

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
    {
      // kube-prometheus-stack's etcd rules (etcdMembersDown, etcdNoLeader, the database size)
      // read `up` and etcd's own series of job kube-etcd (the chart's Service label `jobLabel`);
      // without a target none of them fires, and unlike the controller manager and the scheduler
      // (KubeControllerManagerDown, KubeSchedulerDown) etcd has no absent() alert of its own.
      // absent(… == 1): no target at all, or every target down.
      name: 'etcd',
      namespace: 'kube-system',
      rules: [
        {
          alert: 'EtcdMetricsAbsent',
          expr: 'absent(up{job="kube-etcd"} == 1)',
          for: '15m',
          severity: 'critical',
          summary:
            "Prometheus scrapes no etcd member: etcd's own alerts (members down, no leader, a full database) cannot fire.",
          description:
            "Prometheus reads etcd's metrics at the control planes' addresses, port 2381 (kube-etcd in kube-system, the Talos patches' listen-metrics-urls). Check the targets page and the monitoring-kube-etcd Endpoints, then talosctl -n <control plane> service etcd.",
        },
      ],
    },
    {
      name: 'jobs',
      namespace: 'kube-system',
      rules: [
        {
          // In place of kube-prometheus-stack's KubeJobFailed (`kube_job_failed > 0`), which fires
          // while any failed Job exists: a CronJob keeps its failed Jobs (failedJobsHistoryLimit,
          // 1 by default), so one failed run kept it firing after later runs succeeded, until
          // someone deleted the Job. A CronJob's alert here resolves at its next success; a Job
          // no CronJob made (a one-off, a hook) fires while it stays failed, as before. A critical
          // alert of the same CronJob (the backups' own) inhibits it (src/alertmanager.ts).
          alert: JOB_FAILED,
          expr: `${lastRunFailedExpr({ cronjob: '.+' })} or count by (namespace, job_name) (kube_job_failed{condition="true"} == 1 unless on (namespace, job_name) kube_job_owner{owner_kind="CronJob"})`,
          for: '15m',
          severity: 'warning',
          summary:
            'A Job failed: the latest finished run of a CronJob (no later run succeeded), or a Job no CronJob made.',
          description:
            "The namespace label and the cronjob or job_name label say which. Check the Job's pods (kubectl -n <namespace> describe job, logs). A CronJob's alert resolves at its next successful run; a one-off Job's once it is deleted (by hand, or by its ttlSecondsAfterFinished). A critical alert of the same CronJob inhibits this one.",
        },
      ],
    },
    ...(settings.etcdSnapshot === undefined ? [] : [etcdSnapshotMonitor(settings.etcdSnapshot)]),
  ];
}

/** EtcdSnapshotTooOld on a CronJob of the user's (the backups component watches its own). */
function etcdSnapshotMonitor(snapshot: {
  readonly cronJob: string;
  readonly namespace: string;
}): MonitorDeclaration {
  return {
    name: 'etcd-snapshots',
    namespace: snapshot.namespace,
    rules: [
      {
        alert: 'EtcdSnapshotTooOld',
        expr: lastSuccessTooOldExpr({ namespace: snapshot.namespace, cronjob: snapshot.cronJob }),
        threshold: { development: 168, staging: 48, production: 26 },
        for: '30m',
        severity: 'warning',
        summary: `The last successful etcd snapshot (CronJob ${snapshot.namespace}/${snapshot.cronJob}) is older than its environment allows (hours), or the CronJob, older than that, never succeeded, or it does not exist.`,
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
            alert: 'LonghornBackupFailed',
            // longhorn_backup_state: 0 new, 1 pending, 2 in progress, 3 completed, 4 error,
            // 5 unknown (longhorn-manager v1.8.1 metrics_collector/backup_collector.go), one
            // series per Backup its manager owns. A failed Backup stays in Error until Longhorn
            // deletes it (its failed-backup-ttl: 1440 minutes by default).
            expr: 'longhorn_backup_state == 4',
            for: '5m',
            severity: 'warning',
            summary: "A Longhorn backup to the cluster's backup target failed.",
            description:
              'The volume and backup labels say which; `kubectl -n longhorn-system get backups.longhorn.io <backup> -o yaml` shows the error (the backup target out of reach, its credentials, a full bucket). Longhorn deletes a failed backup a day later (failed-backup-ttl), and the alert ends with it: a backup that keeps failing keeps it firing.',
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
              "cert-manager renews 30 days before expiry by default; one this close to expiry failed to renew. The name and exported_namespace labels name the Certificate (the namespace label is the scrape's own, cert-manager's).",
          },
          {
            // cert-manager v1.21.1 (internal/collectors/certificate_collector.go) reports when a
            // Certificate is due for renewal (status.renewalTime); a renewal that succeeds moves
            // it forward, one that keeps failing (an ACME order refused, a DNS-01 or HTTP-01
            // challenge that never passes, the issuer not Ready) leaves it in the past. Renewal
            // starts a third of the lifetime before expiry: this says so weeks before
            // CertificateExpiringSoon does.
            alert: 'CertificateRenewalOverdue',
            expr: '(time() - certmanager_certificate_renewal_timestamp_seconds) / 3600 > $threshold',
            threshold: 24,
            for: '1h',
            severity: 'warning',
            summary:
              'A certificate is past its renewal time by more than the threshold (hours) and has not been renewed: its issuance keeps failing.',
            description:
              'The name and exported_namespace labels name the Certificate. kubectl describe certificate, then its CertificateRequest and Order (cmctl status certificate), say why: the ACME order, its challenges, or the issuer.',
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
            // AutheliaErrors is a ratio of requests: with no Authelia answering there are none,
            // and it stays silent exactly when every login and forward-auth check fails.
            alert: 'AutheliaDown',
            expr: `absent(up{namespace="${namespace}", service="authelia"} == 1)`,
            for: { development: '15m', staging: '10m', production: '5m' },
            severity: 'critical',
            summary:
              'No Authelia instance answers its metrics scrape: logins through it and every forward-auth route fail.',
            description: `Check its pods (kubectl -n ${namespace} get pods, logs): a storage, session or configuration error stops it at start.`,
          },
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
            // A failing BitwardenSecret is retried with controller-runtime's backoff (the
            // operator returns the error, which overrides its RequeueAfter), which doubles up to
            // 1000 s (client-go workqueue DefaultTypedControllerRateLimiter): one error every
            // 16.7 minutes at worst. A window shorter than that empties between two errors and
            // restarts the `for`, so the alert never fired for one failing secret. A `for` longer
            // than the window: a failure that passes (a Bitwarden outage of a minute, a conflict
            // while a sync is forced) gives a burst of errors within seconds, which holds the
            // expression for one window only and never fires.
            expr: `sum(increase(controller_runtime_reconcile_errors_total{namespace="${namespace}"}[20m])) > $threshold`,
            threshold: 0,
            for: { development: '2h', staging: '1h', production: '30m' },
            severity: 'warning',
            summary:
              'The Bitwarden Secrets Manager operator fails to reconcile BitwardenSecrets: Secrets are not filled or not refreshed.',
            description:
              "Check the operator logs and the machine-account token Secret; a failing BitwardenSecret's FailedSync condition carries the last error's message.",
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
        rules: gatekeeperRules(namespace),
      },
    ],
  },
];

/**
 * Gatekeeper's webhooks keep the chart's `failurePolicy: Ignore` (3.23.0): while they do not
 * answer, the API server admits what they never reviewed, and nothing else says so. The API
 * server counts each such admission (`apiserver_admission_webhook_fail_open_count{name, type}`,
 * k8s.io/apiserver `pkg/admission/metrics`, scraped by kube-prometheus-stack's `apiserver` job);
 * the webhooks are the chart's `validation.gatekeeper.sh` and `mutation.gatekeeper.sh`. The audit
 * pod reports, in Gatekeeper 3.23.0's OpenTelemetry names (`pkg/audit/stats_reporter.go`,
 * namespace `gatekeeper`), when its last run ended (`gatekeeper_audit_last_run_end_time`, Unix
 * seconds; zero before the first) and what it found (`gatekeeper_violations{enforcement_action}`):
 * an object violating a `deny` constraint got in past admission (while the webhook failed open,
 * or before the constraint existed). The ValidatingAdmissionPolicies and bindings Gatekeeper makes
 * of the templates and constraints, the only enforcement while its webhook is down, are counted
 * by status (`gatekeeper_validating_admission_policies` and `…_policy_bindings{status}`,
 * `active` or `error`: pkg/controller/constrainttemplate and constraint stats_reporter.go); a
 * template stays Healthy in Argo CD when only the audit pod, which makes them, failed to.
 */
function gatekeeperRules(namespace: string): AlertRuleDeclaration[] {
  const auditEnd = `gatekeeper_audit_last_run_end_time{namespace="${namespace}"}`;
  return [
    {
      alert: 'GatekeeperWebhookFailingOpen',
      expr: 'sum by (name) (increase(apiserver_admission_webhook_fail_open_count{name=~"validation.gatekeeper.sh|mutation.gatekeeper.sh"}[10m])) > 0',
      for: { development: '30m', staging: '15m', production: '5m' },
      severity: 'critical',
      summary:
        "The API server admits requests Gatekeeper's webhook never answered (failurePolicy Ignore): the admission policies are not enforced.",
      description:
        "The name label names the webhook. Check Gatekeeper's controller-manager pods (kubectl -n gatekeeper-system get pods) and the API server's reach to them; the audit finds what got in meanwhile.",
    },
    {
      alert: 'GatekeeperAuditStale',
      expr: `time() - max(${auditEnd}) > $threshold or absent(${auditEnd})`,
      threshold: 3600,
      for: '30m',
      severity: 'warning',
      summary:
        "Gatekeeper's audit has not finished a run within the threshold (seconds), or reports none: objects that violate the policies go unreported.",
      description:
        "Check the gatekeeper-audit pod's logs (kubectl -n gatekeeper-system logs deploy/gatekeeper-audit).",
    },
    {
      alert: 'GatekeeperAdmissionPoliciesFailing',
      expr: `max(gatekeeper_validating_admission_policies{namespace="${namespace}",status="error"}) > 0 or max(gatekeeper_validating_admission_policy_bindings{namespace="${namespace}",status="error"}) > 0`,
      for: '30m',
      severity: 'warning',
      summary:
        'Gatekeeper failed to make the ValidatingAdmissionPolicies or bindings of some templates or constraints: while its webhook is down, those policies are not enforced.',
      description:
        "kubectl get constrainttemplates -o yaml shows the error in each template's status.byPod; the gatekeeper-audit pod makes the policies (kubectl -n gatekeeper-system logs deploy/gatekeeper-audit).",
    },
    {
      alert: 'GatekeeperAuditViolations',
      expr: `sum(gatekeeper_violations{namespace="${namespace}",enforcement_action="deny"}) > 0`,
      for: '1h',
      severity: 'warning',
      summary:
        "Gatekeeper's audit finds objects in the cluster that violate a deny constraint: they got in past admission.",
      description:
        'kubectl get constraints lists each constraint with its totalViolations; its status.violations names the objects. They were admitted while the webhook failed open, or before the constraint.',
    },
  ];
}
