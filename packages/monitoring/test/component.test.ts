// What monitoring declares per cluster and renders from what the components on it declare.
import { readFileSync } from 'node:fs';
import {
  type AlertRuleDeclaration,
  type Cluster,
  formatPath,
  type KubeObject,
  type MonitorDeclaration,
} from '@homelab/core';
import {
  readVendoredChartFile,
  testCertificates,
  testCluster,
  testComponent,
  testReferenceClusters,
} from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { promqlProblem } from '../src/promql.js';
import { baseValues, KPS_VALUES_KEY } from '../src/values.js';
import { KUBE_PROMETHEUS_STACK_CHART } from '../src/versions.js';
import {
  issuesOf,
  type Loose,
  network,
  networkComponent,
  PROVIDERS,
  type RouteNode,
  receiversFor,
  rulesOf,
  runMonitoring,
  sso,
  storage,
  vault,
  watched,
} from './helpers.js';

const WEB_ERRORS: AlertRuleDeclaration = {
  alert: 'WebErrors',
  expr: 'sum(rate(http_requests_total{code=~"5.."}[5m])) > $threshold',
  threshold: { development: 10, staging: 5, production: 1 },
  for: { development: '1h', staging: '15m', production: '5m' },
  severity: 'warning',
  summary: 'The web app answers with server errors.',
};

const WEB: MonitorDeclaration = {
  name: 'web',
  namespace: 'web',
  target: { kind: 'service', selector: { 'app.kubernetes.io/name': 'web' }, port: 'metrics' },
  rules: [WEB_ERRORS],
  dashboards: [{ name: 'web', title: 'Web', json: { title: 'ignored', panels: [] } }],
};

const reference = runMonitoring({}, [...PROVIDERS, watched('web', [WEB])]);

describe('monitors from declarations', () => {
  it('renders a ServiceMonitor in its own namespace that selects the target namespace', () => {
    const monitor = reference.manifests('dev')['servicemonitor-web-web'] as Loose;
    expect(monitor.metadata).toMatchObject({
      name: 'web-web',
      namespace: 'monitoring',
      annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
    });
    expect(monitor.spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
      namespaceSelector: { matchNames: ['web'] },
      endpoints: [{ port: 'metrics', path: '/metrics' }],
    });
  });

  it('renders a PodMonitor for a pod target, https with TLS only (PodMonitors cannot send a token)', () => {
    const run = runMonitoring({}, [
      ...PROVIDERS,
      watched('ctl', [
        {
          name: 'controller',
          namespace: 'web',
          target: { kind: 'pod', selector: { app: 'ctl' }, port: 'https', scheme: 'https' },
        },
      ]),
    ]);
    const monitor = run.manifests('prod')['podmonitor-ctl-controller'] as Loose;
    expect(monitor.kind).toBe('PodMonitor');
    expect(monitor.spec.podMetricsEndpoints).toEqual([
      {
        port: 'https',
        path: '/metrics',
        scheme: 'https',
        tlsConfig: { insecureSkipVerify: true },
      },
    ]);
  });

  it("scrapes an https Service with Prometheus' service-account token", () => {
    const run = runMonitoring({}, [
      ...PROVIDERS,
      watched('ctl', [
        {
          name: 'controller',
          namespace: 'web',
          target: { kind: 'service', selector: { app: 'ctl' }, port: 'https', scheme: 'https' },
        },
      ]),
    ]);
    const monitor = run.manifests('prod')['servicemonitor-ctl-controller'] as Loose;
    expect(monitor.spec.endpoints[0].bearerTokenFile).toBe(
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
    );
  });

  it("puts $threshold and 'for' of the cluster's environment into the rule", () => {
    const per = (cluster: string) => rulesOf(reference.manifests(cluster)).get('WebErrors');
    expect([per('dev')?.expr, per('dev')?.for]).toEqual([
      'sum(rate(http_requests_total{code=~"5.."}[5m])) > 10',
      '1h',
    ]);
    expect([per('staging')?.expr, per('staging')?.for]).toEqual([
      'sum(rate(http_requests_total{code=~"5.."}[5m])) > 5',
      '15m',
    ]);
    expect([per('prod')?.expr, per('prod')?.for]).toEqual([
      'sum(rate(http_requests_total{code=~"5.."}[5m])) > 1',
      '5m',
    ]);
    expect(per('prod')).toMatchObject({
      labels: { severity: 'warning', component: 'web' },
      annotations: { summary: 'The web app answers with server errors.' },
      group: 'web.web',
      object: 'web',
    });
  });

  it("renders monitoring's own platform rules: nodes, disks, etcd snapshots", () => {
    const rules = rulesOf(reference.manifests('prod'));
    expect(rules.get('NodeNotReady')?.for).toBe('5m');
    expect(rulesOf(reference.manifests('dev')).get('NodeNotReady')?.for).toBe('30m');
    expect(rules.get('NodeDiskNearlyFull')?.expr).toBe(
      '100 * node_filesystem_avail_bytes{fstype=~"ext4|xfs|btrfs"} / node_filesystem_size_bytes{fstype=~"ext4|xfs|btrfs"} < 15',
    );
    // Snapshots are the backups component's (it watches its own CronJob), unless the definition
    // names a CronJob of its own.
    expect(rules.has('EtcdSnapshotTooOld')).toBe(false);
    const own = runMonitoring({ etcdSnapshot: { cronJob: 'snap', namespace: 'ops' } }, [
      ...PROVIDERS,
      watched('web', [WEB]),
    ]);
    expect(rulesOf(own.manifests('prod')).get('EtcdSnapshotTooOld')?.expr).toBe(
      '(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace="ops",cronjob="snap"})) / 3600 > 26 or ((time() - max by (namespace, cronjob) (kube_cronjob_created{namespace="ops",cronjob="snap"})) / 3600 > 26 unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{namespace="ops",cronjob="snap"}) or absent(kube_cronjob_created{namespace="ops",cronjob="snap"})',
    );
  });

  it('renders only rules whose PromQL the Prometheus grammar accepts', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const rules = [...rulesOf(reference.manifests(cluster)).values()];
      expect(rules.length).toBeGreaterThan(2);
      for (const rule of rules)
        expect([rule.alert, promqlProblem(rule.expr)]).toEqual([rule.alert, undefined]);
    }
  });

  it('provisions each dashboard as a ConfigMap for the Grafana sidecar, uid = name, title as declared', () => {
    const map = reference.manifests('staging')['dashboard-web'] as Loose;
    expect(map.metadata.labels.grafana_dashboard).toBe('1');
    const json = JSON.parse(map.data['web.json']);
    expect([json.uid, json.title]).toEqual(['web', 'Web']);
    expect(
      Object.keys(reference.manifests('staging')).filter((key) => key.startsWith('dashboard-')),
    ).toEqual(['dashboard-platform', 'dashboard-web']);
  });

  it('reports an alert name declared twice on a cluster, naming both', () => {
    const run = runMonitoring({}, [
      ...PROVIDERS,
      watched('web', [WEB]),
      watched('shop', [{ ...WEB, name: 'shop' }]),
    ]);
    expect(issuesOf(run).map((issue) => issue.message)).toContain(
      'alert WebErrors is declared by shop and by web on cluster "dev"; overrides name alerts, so each name is declared once',
    );
  });

  it('reports a component rule with invalid PromQL at the component that declares it', () => {
    const broken = watched('web', [
      {
        ...WEB,
        rules: [{ ...WEB_ERRORS, expr: 'rate(http_requests_total) > $threshold' }],
      },
    ]);
    const errors = issuesOf(runMonitoring({}, [...PROVIDERS, broken]));
    expect(
      errors.map((issue) => [issue.code, formatPath(issue.path), issue.message]),
    ).toContainEqual([
      'monitoring-promql',
      'clusters[0].components.web',
      'is not valid PromQL: rate() expects a range vector (e.g. x[5m]) as argument 1 near "http_request…" (character 6); Prometheus would refuse alert WebErrors (web)',
    ]);
  });
});

describe('overrides and rules of the definition', () => {
  it('takes thresholds and durations per environment, keeps the declared ones elsewhere', () => {
    const run = runMonitoring(
      {
        alerts: { WebErrors: { threshold: { production: 0.5 }, for: '2m', severity: 'critical' } },
      },
      [...PROVIDERS, watched('web', [WEB])],
    );
    expect(rulesOf(run.manifests('prod')).get('WebErrors')).toMatchObject({
      expr: 'sum(rate(http_requests_total{code=~"5.."}[5m])) > 0.5',
      for: '2m',
      labels: { severity: 'critical' },
    });
    expect(rulesOf(run.manifests('dev')).get('WebErrors')?.expr).toMatch(/> 10$/);
  });

  it('drops an alert that is disabled', () => {
    const run = runMonitoring({ alerts: { NodeDiskNearlyFull: { enabled: false } } });
    expect(rulesOf(run.manifests('dev')).has('NodeDiskNearlyFull')).toBe(false);
    expect(rulesOf(run.manifests('dev')).has('NodeNotReady')).toBe(true);
  });

  it('warns about an override of an alert nothing declares, with the alerts that exist', () => {
    const run = runMonitoring({ alerts: { NodeNotReadyy: { for: '1m' } } });
    expect(issuesOf(run)).toEqual([]);
    const warnings = issuesOf(run, 'warning').filter(
      (issue) => issue.code === 'monitoring-alert-override',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      path: ['clusters', 0, 'components', 'monitoring', 'alerts', 'NodeNotReadyy'],
      message: 'overrides an alert that no component declares on any cluster; it changes nothing',
    });
    expect(warnings[0]?.expected).toContain('NodeNotReady');
  });

  it('renders the rules of the definition in their own PrometheusRule', () => {
    const run = runMonitoring({
      rules: [
        {
          alert: 'BackupJobFailed',
          expr: 'kube_job_status_failed{namespace="backup"} > 0',
          severity: 'warning',
          summary: 'A backup job failed.',
        },
      ],
    });
    expect(rulesOf(run.manifests('prod')).get('BackupJobFailed')).toMatchObject({
      object: 'definition',
      group: 'definition.rules',
      labels: { severity: 'warning', component: 'definition' },
    });
  });

  it('points an invalid expression of the definition at its expr', () => {
    const run = runMonitoring({
      rules: [{ alert: 'Broken', expr: 'sum(up) by', severity: 'info', summary: 'x' }],
    });
    // One issue per cluster; the pipeline reports it once, where the definition writes it.
    expect(issuesOf(run).map((issue) => [formatPath(issue.path), issue.value])).toEqual(
      [0, 1, 2].map((index) => [
        `clusters[${index}].components.monitoring.rules[0].expr`,
        'sum(up) by',
      ]),
    );
  });

  it('warns about a rule of the definition that is silent when its series are gone', () => {
    const run = runMonitoring({
      rules: [
        {
          alert: 'AppGone',
          expr: 'sum(kube_deployment_status_replicas_available{namespace="app"}) < 1',
          severity: 'warning',
          summary: 'The app runs no replica.',
        },
      ],
    });
    expect(issuesOf(run)).toEqual([]);
    const warnings = issuesOf(run, 'warning').filter(
      (issue) => issue.code === 'monitoring-silent-when-absent',
    );
    expect(warnings.map((issue) => formatPath(issue.path))).toEqual(
      [0, 1, 2].map((index) => `clusters[${index}].components.monitoring.rules[0].expr`),
    );
    expect(warnings[0]?.message).toBe(
      'alert AppGone (the definition) compares sum(kube_deployment_status_replicas_available{namespace="app"}) with a number it fires for at 0, but over no series sum(kube_deployment_status_replicas_available{namespace="app"}) is empty, not 0: the alert stays silent exactly when what it watches is gone',
    );
    // Deployed all the same: the definition may mean it.
    expect(rulesOf(run.manifests('prod')).has('AppGone')).toBe(true);
  });

  it('refuses a component rule that is silent when its series are gone', () => {
    const broken = watched('web', [
      {
        ...WEB,
        rules: [
          {
            alert: 'WebGone',
            expr: 'count(up{job="web"} == 1) == 0',
            severity: 'critical',
            summary: 'x',
          },
        ],
      },
    ]);
    const run = runMonitoring({}, [...PROVIDERS, broken]);
    expect(issuesOf(run).map((issue) => [issue.code, formatPath(issue.path)])).toContainEqual([
      'monitoring-silent-when-absent',
      'clusters[0].components.web',
    ]);
    expect(rulesOf(run.manifests('prod')).has('WebGone')).toBe(false);
  });

  it("refuses an alert of the definition named like an alert of the chart's default rules, at its name", () => {
    // Given the definition's own Watchdog, InfoInhibitor and KubePodCrashLooping, and one more
    const rule = (alert: string) => ({
      alert,
      expr: 'up{job="app"} == 0',
      severity: 'critical',
      summary: 'The app is down.',
    });
    const run = runMonitoring({
      rules: [
        rule('Watchdog'),
        rule('AppDown'),
        rule('InfoInhibitor'),
        rule('KubePodCrashLooping'),
      ],
    });
    // Then each clash is refused on every cluster at that rule's alert, saying what it breaks
    const refused = issuesOf(run).filter((issue) => issue.code === 'monitoring-rule');
    expect(refused.map((issue) => [formatPath(issue.path), issue.value])).toEqual(
      [0, 1, 2].flatMap((index) => [
        [`clusters[${index}].components.monitoring.rules[0].alert`, 'Watchdog'],
        [`clusters[${index}].components.monitoring.rules[2].alert`, 'InfoInhibitor'],
        [`clusters[${index}].components.monitoring.rules[3].alert`, 'KubePodCrashLooping'],
      ]),
    );
    expect(refused.slice(0, 3).map((issue) => issue.message)).toEqual([
      'alert Watchdog is also an alert of kube-prometheus-stack 88.5.3\'s default rules (group general.rules) on cluster "dev": the generated Alertmanager routes send Watchdog only to the heartbeat receiver (or drop it without a heartbeat), so this alert would never reach the operators',
      'alert InfoInhibitor is also an alert of kube-prometheus-stack 88.5.3\'s default rules (group general.rules) on cluster "dev": the generated inhibit rules always inhibit InfoInhibitor, and while it fires it silences every info alert of its namespace, so this alert would never reach the operators and would hide others',
      'alert KubePodCrashLooping is also an alert of kube-prometheus-stack 88.5.3\'s default rules (group kubernetes-apps) on cluster "dev": Alertmanager groups, inhibits and silences alerts by name, so the two would be one alert to it and to whoever reads the notification',
    ]);
    expect(refused[0]?.expected).toBe(
      'an alert name no default rule of kube-prometheus-stack 88.5.3 has, e.g. LabWatchdog',
    );
    // And only the other one is rendered
    const rules = rulesOf(run.manifests('prod'));
    expect(
      [...rules.values()].filter((item) => item.object === 'definition').map((item) => item.alert),
    ).toEqual(['AppDown']);
  });

  it('takes KubeProxyDown from the definition only where the CNI replaces kube-proxy', () => {
    const rules = {
      rules: [
        {
          alert: 'KubeProxyDown',
          expr: 'up{job="kube-proxy"} == 0',
          severity: 'warning',
          summary: 'kube-proxy is down.',
        },
      ],
    };
    // Given the test CNI, which replaces kube-proxy: the chart renders no kube-proxy rules
    expect(issuesOf(runMonitoring(rules))).toEqual([]);
    // Given a CNI beside kube-proxy: the chart's kubernetes-system-kube-proxy group declares it
    const beside = networkComponent(false);
    const run = runMonitoring(rules, [beside, sso, vault, storage]);
    expect(
      issuesOf(run)
        .filter((issue) => issue.code === 'monitoring-rule')
        .map((issue) => [formatPath(issue.path), issue.message]),
    ).toContainEqual([
      'clusters[0].components.monitoring.rules[0].alert',
      'alert KubeProxyDown is also an alert of kube-prometheus-stack 88.5.3\'s default rules (group kubernetes-system-kube-proxy) on cluster "dev": Alertmanager groups, inhibits and silences alerts by name, so the two would be one alert to it and to whoever reads the notification',
    ]);
  });

  it('refuses {{ in an annotation: it would reach a chart', () => {
    const run = runMonitoring({
      rules: [
        {
          alert: 'Templated',
          expr: 'up == 0',
          severity: 'info',
          summary: 'down: {{ $labels.job }}',
        },
      ],
    });
    expect(new Set(issuesOf(run).map((issue) => issue.code))).toEqual(new Set(['monitoring-rule']));
    expect(issuesOf(run)[0]?.message).toContain('its summary contains "{{"');
  });
});

describe('fallback monitors of components built in parallel', () => {
  const longhorn = (monitors?: readonly MonitorDeclaration[]) =>
    testComponent({
      name: 'longhorn',
      provides: ['storage'],
      contribution: () => ({
        application: {
          namespace: 'longhorn-system',
          podSecurity: 'privileged',
          clusterResources: [],
        },
        facts: { storage: { classes: [{ name: 'longhorn', tier: 'standard', default: true }] } },
        ...(monitors === undefined ? {} : { monitors }),
      }),
    });

  it('watch Longhorn, by the capability it provides, in its namespace', () => {
    const run = runMonitoring({}, [network, sso, vault, longhorn()]);
    const monitor = run.manifests('prod')['servicemonitor-longhorn-longhorn'] as Loose;
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['longhorn-system'] });
    expect(monitor.spec.selector).toEqual({ matchLabels: { app: 'longhorn-manager' } });
    const rules = rulesOf(run.manifests('prod'));
    expect(rules.get('LonghornVolumeDegraded')?.for).toBe('10m');
    expect(rules.get('LonghornVolumeFaulted')?.labels.severity).toBe('critical');
    expect(rules.get('LonghornDiskNearlyFull')?.expr).toBe(
      '100 * longhorn_disk_usage_bytes / longhorn_disk_capacity_bytes > 80',
    );
    expect(run.manifests('prod')['dashboard-longhorn']).toBeDefined();
  });

  it('give way to the monitors the component declares itself', () => {
    const own: MonitorDeclaration = { name: 'manager', namespace: 'longhorn-system' };
    const run = runMonitoring({}, [network, sso, vault, longhorn([own])]);
    expect(rulesOf(run.manifests('prod')).has('LonghornVolumeDegraded')).toBe(false);
    expect(run.manifests('prod')['servicemonitor-longhorn-longhorn']).toBeUndefined();
  });

  it('watch certificates, Authelia and the Bitwarden operator', () => {
    const provider = (name: string, capability: string, fact: unknown, namespace: string) =>
      testComponent({
        name,
        provides: [capability as never],
        contribution: () => ({
          application: { namespace, podSecurity: 'restricted', clusterResources: [] },
          facts: { [capability]: fact },
        }),
      });
    const run = runMonitoring({}, [
      network,
      storage,
      provider(
        'cert-manager',
        'certificates',
        { issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'lab' } },
        'cert-manager',
      ),
      provider(
        'authelia',
        'oidc-provider',
        { issuer: 'https://auth.example', userinfoPath: '/api/oidc/userinfo', groups: [] },
        'authelia',
      ),
      provider(
        'bitwarden-sm',
        'secrets',
        { store: 'Bitwarden Secrets Manager' },
        'sm-operator-system',
      ),
    ]);
    const rules = rulesOf(run.manifests('staging'));
    expect(
      [
        'CertificateExpiringSoon',
        'CertificateNotReady',
        'AutheliaErrors',
        'BitwardenOperatorErrors',
      ].map((alert) => [alert, rules.has(alert)]),
    ).toEqual([
      ['CertificateExpiringSoon', true],
      ['CertificateNotReady', true],
      ['AutheliaErrors', true],
      ['BitwardenOperatorErrors', true],
    ]);
    expect(rules.get('CertificateExpiringSoon')?.expr).toBe(
      '(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400 < 14',
    );
    // AutheliaErrors is a ratio of requests, silent with none: AutheliaDown sees it gone.
    expect([rules.get('AutheliaDown')?.expr, rules.get('AutheliaDown')?.labels.severity]).toEqual([
      'absent(up{namespace="authelia", service="authelia"} == 1)',
      'critical',
    ]);
    // cert-manager v1.21.1 labels its certificate series `namespace`; the ServiceMonitor keeps the
    // target's own (honorLabels false), so Prometheus renames the Certificate's exported_namespace.
    // A renewal that keeps failing leaves renewalTime in the past, weeks before expiry.
    expect(rules.get('CertificateRenewalOverdue')?.expr).toBe(
      '(time() - certmanager_certificate_renewal_timestamp_seconds) / 3600 > 24',
    );
    expect(rules.get('CertificateExpiringSoon')?.annotations.description).toContain(
      'The name and exported_namespace labels name the Certificate',
    );
    expect(rules.get('BitwardenOperatorErrors')?.expr).toBe(
      'sum(increase(controller_runtime_reconcile_errors_total{namespace="sm-operator-system"}[20m])) > 0',
    );
    expect(
      Object.keys(run.manifests('staging')).filter((key) => key.startsWith('servicemonitor-')),
    ).toEqual([
      'servicemonitor-authelia-authelia',
      'servicemonitor-bitwarden-sm-bitwarden-sm',
      'servicemonitor-cert-manager-cert-manager',
    ]);
  });
});

describe('Gatekeeper', () => {
  it('alerts when its fail-open webhooks stop answering, its audit stalls, or the audit finds deny violations', () => {
    const gatekeeper = testComponent({
      name: 'policy',
      provides: ['admission-policy'],
      contribution: () => ({
        application: {
          namespace: 'gatekeeper-system',
          podSecurity: 'restricted',
          clusterResources: [],
        },
        facts: { 'admission-policy': { engine: 'gatekeeper' } },
      }),
    });
    const run = runMonitoring({}, [...PROVIDERS, gatekeeper]);
    const rules = rulesOf(run.manifests('prod'));
    expect(
      ['GatekeeperWebhookFailingOpen', 'GatekeeperAuditStale', 'GatekeeperAuditViolations'].map(
        (alert) => [alert, rules.get(alert)?.expr, rules.get(alert)?.labels.severity],
      ),
    ).toEqual([
      [
        'GatekeeperWebhookFailingOpen',
        // The API server's count of requests admitted unreviewed (failurePolicy Ignore).
        'sum by (name) (increase(apiserver_admission_webhook_fail_open_count{name=~"validation.gatekeeper.sh|mutation.gatekeeper.sh"}[10m])) > 0',
        'critical',
      ],
      [
        'GatekeeperAuditStale',
        'time() - max(gatekeeper_audit_last_run_end_time{namespace="gatekeeper-system"}) > 3600 or absent(gatekeeper_audit_last_run_end_time{namespace="gatekeeper-system"})',
        'warning',
      ],
      [
        'GatekeeperAuditViolations',
        'sum(gatekeeper_violations{namespace="gatekeeper-system",enforcement_action="deny"}) > 0',
        'warning',
      ],
    ]);
    expect(run.manifests('prod')['podmonitor-policy-gatekeeper']).toBeDefined();
    // And when it fails to make the admission policies it enforces while the webhook is down
    expect(rules.get('GatekeeperAdmissionPoliciesFailing')?.expr).toBe(
      'max(gatekeeper_validating_admission_policies{namespace="gatekeeper-system",status="error"}) > 0 or max(gatekeeper_validating_admission_policy_bindings{namespace="gatekeeper-system",status="error"}) > 0',
    );
  });
});

describe('Prometheus', () => {
  it('keeps samples for longer and on a larger volume the more production-like the environment', () => {
    const spec = (cluster: string) => reference.values(cluster).prometheus.prometheusSpec;
    expect(
      ['dev', 'staging', 'prod'].map((cluster) => [
        spec(cluster).replicas,
        spec(cluster).retention,
        spec(cluster).retentionSize,
        spec(cluster).storageSpec.volumeClaimTemplate.spec.resources.requests.storage,
      ]),
    ).toEqual([
      [1, '3d', '8GiB', '10Gi'],
      [2, '7d', '16GiB', '20Gi'],
      [2, '15d', '40GiB', '50Gi'],
    ]);
  });

  it("takes the StorageClass of the tier from the storage provider's facts", () => {
    const claim = (run: ReturnType<typeof runMonitoring>) =>
      run.values('prod').prometheus.prometheusSpec.storageSpec?.volumeClaimTemplate.spec
        .storageClassName;
    expect(claim(reference)).toBe('blocks-standard');
    expect(claim(runMonitoring({ prometheus: { storage: { tier: 'fast-storage' } } }))).toBe(
      'blocks-fast',
    );
    expect(
      claim(runMonitoring({ prometheus: { storage: { storageClassName: 'local-path' } } })),
    ).toBe('local-path');
  });

  it('refuses a tier the storage provider does not have', () => {
    const errors = issuesOf(runMonitoring({ prometheus: { storage: { tier: 'nvme' } } }));
    expect(errors.map((issue) => [issue.code, issue.message, issue.expected])).toContainEqual([
      'monitoring-storage',
      'is not a storage tier on cluster "dev"',
      'one of: fast-storage, standard, archive',
    ]);
  });

  it('falls back to an emptyDir, with a warning, where no storage provider runs', () => {
    const run = runMonitoring({}, [network, sso, vault]);
    expect(run.values('dev').prometheus.prometheusSpec.storageSpec).toBeUndefined();
    expect(issuesOf(run, 'warning').map((issue) => issue.code)).toContain('monitoring-storage');
  });

  it('falls back to an emptyDir, with a warning, where the storage provider has no StorageClass yet', () => {
    // Longhorn on a cluster whose nodes hold no storage: no class, so no tier to refuse.
    const empty = testComponent({
      name: 'blocks',
      provides: ['storage'],
      contribution: () => ({ facts: { storage: { classes: [] } } }),
    });
    const run = runMonitoring({}, [network, sso, vault, empty]);
    expect(issuesOf(run).map((issue) => issue.code)).not.toContain('monitoring-storage');
    expect(run.values('dev').prometheus.prometheusSpec.storageSpec).toBeUndefined();
    expect(
      issuesOf(run, 'warning')
        .filter((issue) => issue.code === 'monitoring-storage')
        .map((issue) => issue.message),
    ).toContain(
      'the storage provider has no StorageClass (no node holds storage) on cluster "dev": Prometheus keeps its samples in an emptyDir and loses them when its pod moves',
    );
  });

  it('refuses a retention larger than its volume, or one that leaves it no headroom', () => {
    const larger = issuesOf(
      runMonitoring({ prometheus: { retentionSize: '60GiB', storage: { size: '50Gi' } } }),
    );
    expect(larger.map((issue) => [issue.code, formatPath(issue.path), issue.value])).toEqual(
      ['dev', 'staging', 'prod'].map((_, index) => [
        'monitoring-retention-size',
        `clusters[${index}].components.monitoring.prometheus.retentionSize`,
        '60GiB',
      ]),
    );
    expect(larger[0]?.message).toMatch(
      /^is larger than the Prometheus volume \(storage.size 50Gi\)/,
    );
    const tight = issuesOf(
      runMonitoring({ prometheus: { retentionSize: '47GiB', storage: { size: '50Gi' } } }),
    );
    expect(tight[0]?.message).toMatch(/^leaves too little of the Prometheus volume/);
    expect(tight[0]?.expected).toBe(
      'at most 90% of storage.size (45GiB), or a larger storage.size',
    );
    // Allowed, but past what keeps 15% of the volume free: the chart's KubePersistentVolumeFillingUp
    // would fire on Prometheus' own volume once the samples reach it
    const retentionWarnings = (retentionSize: string) =>
      issuesOf(
        runMonitoring({ prometheus: { retentionSize, storage: { size: '50Gi' } } }),
        'warning',
      ).filter((issue) => issue.code === 'monitoring-retention-size');
    const filling = retentionWarnings('45GiB');
    expect(filling.map((issue) => [issue.code, issue.severity])).toEqual(
      ['dev', 'staging', 'prod'].map(() => ['monitoring-retention-size', 'warning']),
    );
    expect(filling[0]?.message).toBe(
      'holds so much of the Prometheus volume (storage.size 50Gi) on cluster "dev" that, once Prometheus keeps that much, less than 15% of the volume is free: kube-prometheus-stack\'s KubePersistentVolumeFillingUp fires on Prometheus\' own volume for hours at a time, and a compaction may find no room for its output',
    );
    expect(filling[0]?.expected).toBe(
      'at most 41920MiB (82% of storage.size less 64MiB), or a larger storage.size',
    );
    expect(
      issuesOf(
        runMonitoring({ prometheus: { retentionSize: '45GiB', storage: { size: '50Gi' } } }),
      ),
    ).toEqual([]);
    expect(retentionWarnings('40GiB')).toEqual([]);
    expect(retentionWarnings('41920MiB')).toEqual([]);
    expect(retentionWarnings('41921MiB')).toHaveLength(3);
  });

  it("defaults the retention to 80% of the volume, less on a small one, where ext4's metadata weighs more", () => {
    const retentionOf = (size: string) =>
      runMonitoring({ prometheus: { storage: { size } } }).values('prod').prometheus.prometheusSpec
        .retentionSize;
    expect(['1Gi', '2Gi', '10Gi', '50Gi', '1Ti'].map(retentionOf)).toEqual([
      '775MiB',
      '1615MiB',
      '8GiB',
      '40GiB',
      '838860MiB',
    ]);
  });

  it('labels every series with its cluster and scrapes the control plane at its Talos addresses', () => {
    const values = reference.values('prod');
    expect(values.prometheus.prometheusSpec.externalLabels).toEqual({ cluster: 'prod' });
    const addresses = reference.platform.clusters[2]?.controlPlanes.map((node) => node.address);
    expect(addresses).toHaveLength(3);
    for (const key of ['kubeControllerManager', 'kubeScheduler', 'kubeEtcd']) {
      expect([key, values[key].endpoints]).toEqual([key, addresses]);
    }
    expect(values.kubeProxy).toEqual({ enabled: false });
  });

  it("verifies the kubelets' serving certificates, and sends etcd's plain-HTTP listener no token", () => {
    // The chart's defaults are insecureSkipVerify: true and the service-account token on the
    // etcd endpoint; the Talos baseline has every kubelet serve a certificate of the cluster CA,
    // and Talos' etcd metrics listener is plain HTTP on the node network.
    const kps = baseValues()[KPS_VALUES_KEY] as Loose;
    expect(kps.kubelet).toEqual({ serviceMonitor: { insecureSkipVerify: false } });
    expect(kps.kubeEtcd).toEqual({ serviceMonitor: { bearerTokenFile: '' } });
    for (const cluster of ['dev', 'staging', 'prod']) {
      const values = reference.values(cluster);
      expect([cluster, values.kubelet.serviceMonitor.insecureSkipVerify]).toEqual([cluster, false]);
      expect([cluster, values.kubeEtcd.serviceMonitor.bearerTokenFile]).toEqual([cluster, '']);
    }
  });

  it("keeps Grafana to its image's plugins on every cluster: no preinstall list, no in-place updates, no update check, nothing else from the internet", () => {
    // Grafana 13.2's defaults: preinstall_disabled false, preinstall_auto_update true (it would
    // try grafana.com at every start, and replace the bundled Prometheus data source in place).
    for (const cluster of ['dev', 'staging', 'prod']) {
      const ini = reference.values(cluster).grafana['grafana.ini'];
      expect([cluster, ini.plugins]).toEqual([
        cluster,
        {
          preinstall_disabled: true,
          preinstall_auto_update: false,
          public_key_retrieval_disabled: true,
          plugin_admin_enabled: false,
        },
      ]);
      // Nor signing keys (plugins), avatars or external snapshots from the internet
      expect([cluster, ini.security, ini.snapshots]).toEqual([
        cluster,
        { disable_gravatar: true },
        { external_enabled: false },
      ]);
      expect([cluster, ini.analytics]).toEqual([
        cluster,
        { check_for_updates: false, check_for_plugin_updates: false, reporting_enabled: false },
      ]);
      // Nothing the chart would download: no plugin list, no dashboards by URL or gnetId
      expect([cluster, reference.values(cluster).grafana.plugins]).toEqual([cluster, undefined]);
      expect([cluster, reference.values(cluster).grafana.dashboards]).toEqual([cluster, undefined]);
    }
  });

  it("gives the operator's config-reloader (Prometheus' and Alertmanager's sidecar) CPU and memory requests", () => {
    // Without them the chart passes --config-reloader-cpu-request=0 and the operator sets no
    // request: the resource-requests policy would refuse both StatefulSets the operator makes.
    for (const cluster of ['dev', 'staging', 'prod']) {
      const reloader = reference.values(cluster).prometheusOperator.prometheusConfigReloader;
      expect([cluster, Object.keys(reloader.resources.requests).sort()]).toEqual([
        cluster,
        ['cpu', 'memory'],
      ]);
      expect(reloader.resources.limits.memory).toMatch(/^\d+Mi$/);
    }
  });

  it('spreads replicas as the profile says, and budgets disruptions with maxUnavailable only', () => {
    const prod = reference.values('prod');
    expect(prod.prometheus.prometheusSpec.podAntiAffinity).toBe('');
    expect(Object.keys(prod.prometheus.prometheusSpec.affinity.podAntiAffinity)).toEqual([
      'requiredDuringSchedulingIgnoredDuringExecution',
    ]);
    // minAvailable: null deletes the chart's default minAvailable 1 when Helm merges.
    const budget = { enabled: true, minAvailable: null, maxUnavailable: 1 };
    expect(prod.alertmanager.podDisruptionBudget).toEqual(budget);
    expect(prod.prometheus.podDisruptionBudget).toEqual(budget);
    // Development has no disruption budget: the chart's default (off) stays.
    expect(reference.values('dev').alertmanager.podDisruptionBudget).toBeUndefined();
  });
});

describe('Alertmanager', () => {
  const receivers = {
    alertmanager: {
      receivers: [
        {
          name: 'mail',
          email: {
            to: 'ops@example.com',
            from: 'am@example.com',
            smarthost: 'smtp.example.com:587',
            username: 'am',
          },
          credentials: { secretName: 'alertmanager-smtp', key: 'password' },
        },
        {
          name: 'chat',
          slack: { channel: '#alerts' },
          credentials: { secretName: 'alertmanager-chat', key: 'url' },
        },
        { name: 'relay', webhook: { url: 'http://relay.tools.svc:8080/alerts' } },
      ],
      route: { receiver: 'mail', routes: [{ receiver: 'chat', severities: ['critical'] }] },
    },
  };
  const run = runMonitoring(receivers);

  it('runs replicas per profile', () => {
    expect(
      ['dev', 'staging', 'prod'].map((c) => run.values(c).alertmanager.alertmanagerSpec.replicas),
    ).toEqual([1, 2, 3]);
  });

  it("lets a critical alert of a CronJob (the backups' failed-run alerts) silence JobFailed of that CronJob, and no other", () => {
    // Alertmanager's inhibition (inhibit/inhibit.go): a target is muted while a source alert
    // matching the rule's source matchers fires whose `equal` labels have the same values (a
    // label missing on both sides counts as equal). Matchers as the config writes them.
    type Labels = Record<string, string>;
    const matches = (matcher: string, labels: Labels) => {
      const [, name = '', op, value = ''] = /^(\S+) (=~|=) (.*)$/.exec(matcher) ?? [];
      const actual = labels[name] ?? '';
      return op === '=' ? actual === value : new RegExp(`^(?:${value})$`).test(actual);
    };
    const rules = run.values('prod').alertmanager.config.inhibit_rules as {
      source_matchers?: string[];
      target_matchers: string[];
      equal?: string[];
    }[];
    const muted = (target: Labels, firing: Labels[]) =>
      rules.some(
        (rule) =>
          rule.target_matchers.every((m) => matches(m, target)) &&
          firing.some(
            (source) =>
              (rule.source_matchers ?? []).every((m) => matches(m, source)) &&
              (rule.equal ?? []).every((label) => (source[label] ?? '') === (target[label] ?? '')),
          ),
      );
    const etcdBackupFailed = {
      alertname: 'EtcdBackupFailed',
      severity: 'critical',
      namespace: 'talos-backup',
      cronjob: 'talos-backup',
    };
    const jobFailed = (labels: Labels) => ({
      alertname: 'JobFailed',
      severity: 'warning',
      ...labels,
    });
    expect([
      muted(jobFailed({ namespace: 'talos-backup', cronjob: 'talos-backup' }), [etcdBackupFailed]),
      // Another CronJob, a one-off Job of the namespace, or no critical alert of a CronJob: not muted
      muted(jobFailed({ namespace: 'talos-backup', cronjob: 'other' }), [etcdBackupFailed]),
      muted(jobFailed({ namespace: 'talos-backup', job_name: 'talos-backup-manual' }), [
        etcdBackupFailed,
      ]),
      muted(jobFailed({ namespace: 'kube-system', cronjob: 'hubble-generate-certs' }), [
        { alertname: 'NodeNotReady', severity: 'critical', node: 'prod-w-1' },
      ]),
    ]).toEqual([true, false, false, false]);
  });

  it('configures the receivers with credentials read from mounted Secret files, never values', () => {
    const config = run.values('prod').alertmanager.config;
    expect(config.receivers).toEqual([
      { name: 'null' },
      {
        name: 'mail',
        email_configs: [
          {
            to: 'ops@example.com',
            from: 'am@example.com',
            smarthost: 'smtp.example.com:587',
            require_tls: true,
            auth_username: 'am',
            auth_password_file: '/etc/alertmanager/secrets/alertmanager-smtp/password',
            send_resolved: true,
          },
        ],
      },
      {
        name: 'chat',
        slack_configs: [
          {
            channel: '#alerts',
            api_url_file: '/etc/alertmanager/secrets/alertmanager-chat/url',
            send_resolved: true,
          },
        ],
      },
      {
        name: 'relay',
        webhook_configs: [{ url: 'http://relay.tools.svc:8080/alerts', send_resolved: true }],
      },
    ]);
    expect(run.values('prod').alertmanager.alertmanagerSpec.secrets).toEqual([
      'alertmanager-chat',
      'alertmanager-smtp',
    ]);
  });

  it('routes Watchdog to nowhere, then the sub-routes, with a repeat interval per environment', () => {
    const route = run.values('prod').alertmanager.config.route;
    expect(route).toMatchObject({
      receiver: 'mail',
      repeat_interval: '4h',
      group_by: ['namespace', 'alertname'],
    });
    expect(route.routes).toEqual([
      { receiver: 'null', matchers: ['alertname = "Watchdog"'] },
      { receiver: 'chat', matchers: ['severity =~ "critical"'] },
    ]);
    expect(run.values('dev').alertmanager.config.route.repeat_interval).toBe('24h');
  });

  it('sends what a continue sub-route took to the default receiver too (Alertmanager uses a route receiver only when no sub-route matched)', () => {
    const routed = runMonitoring({
      alertmanager: {
        receivers: [
          { name: 'mail', webhook: { url: 'http://mail.tools.svc/' } },
          { name: 'chat', webhook: { url: 'http://chat.tools.svc/' } },
          { name: 'pager', webhook: { url: 'http://pager.tools.svc/' } },
        ],
        route: {
          receiver: 'mail',
          routes: [
            { receiver: 'chat', severities: ['critical'], continue: true },
            { receiver: 'pager', alerts: ['EtcdBackupFailed'] },
          ],
        },
      },
    });
    const route = routed.values('prod').alertmanager.config.route;
    expect(route.routes).toEqual([
      { receiver: 'null', matchers: ['alertname = "Watchdog"'] },
      { receiver: 'chat', matchers: ['severity =~ "critical"'], continue: true },
      { receiver: 'pager', matchers: ['alertname =~ "EtcdBackupFailed"'] },
      { receiver: 'mail' },
    ]);
    // Alertmanager dispatch/route.go Match, on the rendered tree.
    const to = (labels: Record<string, string>) => receiversFor(route as RouteNode, labels);
    expect(to({ alertname: 'NodeNotReady', severity: 'critical' })).toEqual(['chat', 'mail']);
    expect(to({ alertname: 'EtcdBackupFailed', severity: 'critical' })).toEqual(['chat', 'pager']);
    expect(to({ alertname: 'NodeDiskNearlyFull', severity: 'warning' })).toEqual(['mail']);
    expect(to({ alertname: 'Watchdog', severity: 'none' })).toEqual(['null']);
    // Without continue nothing is added: the first match takes the alert, the rest the default.
    expect(run.values('prod').alertmanager.config.route.routes).toHaveLength(2);
  });

  it('declares the Secrets the receivers read, for the secrets provider', () => {
    expect(run.declared.dev?.secrets?.map((secret) => [secret.name, secret.keys])).toEqual([
      ['alertmanager-chat', ['url']],
      ['alertmanager-smtp', ['password']],
      ['grafana-admin', ['admin-password', 'admin-user']],
    ]);
  });

  it.each([
    [
      { name: 'chat', slack: { channel: '#a' } },
      'is a slack receiver without a credentials mapping: the Slack webhook URL is a secret and never goes into Git',
    ],
    [
      { name: 'pd', pagerduty: {} },
      'is a pagerduty receiver without a credentials mapping: the PagerDuty routing key is a secret and never goes into Git',
    ],
    [
      {
        name: 'mail',
        email: { to: 'a@b.c', from: 'd@e.f', smarthost: 'smtp.b.c:25', username: 'u' },
      },
      'is a email receiver without a credentials mapping: the SMTP password is a secret and never goes into Git',
    ],
    [
      { name: 'hook', webhook: {} },
      'is a webhook receiver without a credentials mapping: the webhook URL is a secret and never goes into Git',
    ],
  ])('refuses a receiver with no credentials mapping: %j', (receiver, message) => {
    const errors = issuesOf(runMonitoring({ alertmanager: { receivers: [receiver] } }));
    expect(
      errors.map((issue) => [issue.code, formatPath(issue.path), issue.message]),
    ).toContainEqual([
      'monitoring-receiver-credentials',
      'clusters[0].components.monitoring.alertmanager.receivers[0]',
      message,
    ]);
  });

  describe("a mail server with a certificate of the user's own CA", () => {
    // A real CA (EC P-256, self-signed) and a server's certificate (CA:FALSE), PEM.
    const CA = readFileSync(new URL('./fixtures/private-ca.crt', import.meta.url), 'utf8');
    const LEAF = readFileSync(new URL('./fixtures/server-leaf.crt', import.meta.url), 'utf8');
    const withCa = (caCertificates: string) =>
      runMonitoring({
        alertmanager: {
          receivers: [
            {
              name: 'mail',
              email: {
                to: 'ops@example.com',
                from: 'am@example.com',
                smarthost: 'smtp.example.com:587',
                caCertificates,
              },
            },
          ],
        },
      });

    it("is trusted for the smarthost through the receiver's tls_config.ca, as given", () => {
      const run = withCa(CA);
      expect(issuesOf(run)).toEqual([]);
      const mail = (run.values('prod').alertmanager.config.receivers as Loose[]).find(
        (receiver) => receiver.name === 'mail',
      );
      expect(mail?.email_configs).toEqual([
        {
          to: 'ops@example.com',
          from: 'am@example.com',
          smarthost: 'smtp.example.com:587',
          require_tls: true,
          tls_config: { ca: CA },
          send_resolved: true,
        },
      ]);
    });

    it('refuses a bundle Alertmanager would refuse, at its line in the PEM, and warns of a certificate that is no CA', () => {
      const lines = CA.trimEnd().split('\n');
      const broken = issuesOf(withCa(lines.slice(0, -1).join('\n'))).filter(
        (issue) => issue.path[1] === 0,
      );
      expect(broken.map((issue) => [issue.code, formatPath(issue.path), issue.message])).toEqual([
        [
          'monitoring-email-ca-certificates',
          'clusters[0].components.monitoring.alertmanager.receivers[0].email.caCertificates',
          'is not a PEM bundle of certificates: a certificate without its -----END CERTIFICATE----- line, at line 1, column 1 of the PEM (Alertmanager would refuse the TLS configuration of the receiver and send it no mail)',
        ],
      ]);
      const leaf = withCa(LEAF).issues.filter(
        (issue) => issue.code === 'monitoring-email-ca-certificates' && issue.path[1] === 0,
      );
      expect(leaf.map((issue) => issue.severity)).toEqual(['warning']);
      expect(leaf[0]?.message).toContain(
        'Alertmanager trusts a server that presents exactly this certificate',
      );
    });
  });

  const mail = (email: { to: string | string[]; from: string }) => ({
    alertmanager: {
      receivers: [{ name: 'mail', email: { ...email, smarthost: 'smtp.example.com:587' } }],
    },
  });
  const RECIPIENT_WARNING =
    ': it is a recipient of the alert emails, and Alertmanager reads a comma in an address field as the start of another address, so a value that is not one address can send alerts to someone the definition never names';

  it('refuses a recipient that is not one address: Alertmanager would also send to the address after the comma', () => {
    const errors = issuesOf(
      runMonitoring(mail({ to: "x'$(id)<x>,evil@attacker.com", from: 'am@example.com' })),
    ) // One per cluster (each resolves its own settings): the first cluster's.
      .filter((issue) => issue.code === 'monitoring-receiver-email' && issue.path[1] === 0);
    expect(errors.map((issue) => [formatPath(issue.path), issue.message, issue.expected])).toEqual([
      [
        'clusters[0].components.monitoring.alertmanager.receivers[0].email.to',
        `is not one email address: "(" at character 4 cannot be in one (a display name, <angle brackets>, quotes, spaces or a comma-separated list are not an address)${RECIPIENT_WARNING}`,
        'one address, local-part@domain (e.g. ops@example.com); several recipients as a list, to: [ops@example.com, oncall@example.com]',
      ],
    ]);
  });

  it('refuses a sender that is not one address', () => {
    const errors = issuesOf(
      runMonitoring(mail({ to: 'ops@example.com', from: 'Alertmanager<am>@example.com' })),
    ) // One per cluster (each resolves its own settings): the first cluster's.
      .filter((issue) => issue.code === 'monitoring-receiver-email' && issue.path[1] === 0);
    expect(errors.map((issue) => [formatPath(issue.path), issue.message])).toEqual([
      [
        'clusters[0].components.monitoring.alertmanager.receivers[0].email.from',
        'is not one email address: "<" at character 13 cannot be in one (a display name, <angle brackets>, quotes, spaces or a comma-separated list are not an address): it is the sender of the alert emails, and Alertmanager reads a comma in an address field as the start of another address, so a value that is not one address can send alerts to someone the definition never names',
      ],
    ]);
  });

  it('sends to a list of recipients, each checked at its own place', () => {
    const listed = runMonitoring(
      mail({ to: ['ops@example.com', 'oncall@example.net'], from: 'am@example.com' }),
    );
    expect(issuesOf(listed)).toEqual([]);
    expect(listed.values('prod').alertmanager.config.receivers[1].email_configs[0].to).toBe(
      'ops@example.com, oncall@example.net',
    );
    const errors = issuesOf(
      runMonitoring(mail({ to: ['ops@example.com', 'a,b@example.net'], from: 'am@example.com' })),
    ) // One per cluster (each resolves its own settings): the first cluster's.
      .filter((issue) => issue.code === 'monitoring-receiver-email' && issue.path[1] === 0);
    expect(errors.map((issue) => formatPath(issue.path))).toEqual([
      'clusters[0].components.monitoring.alertmanager.receivers[0].email.to[1]',
    ]);
  });

  it('refuses credentials nothing reads, a receiver of no kind or two, and a route to an unknown receiver', () => {
    const errors = issuesOf(
      runMonitoring({
        alertmanager: {
          receivers: [
            {
              name: 'relay',
              webhook: { url: 'http://relay:80/' },
              credentials: { secretName: 's', key: 'k' },
            },
            { name: 'none' },
            {
              name: 'both',
              slack: { channel: '#a' },
              discord: {},
              credentials: { secretName: 's', key: 'k' },
            },
          ],
          route: { receiver: 'rely' },
        },
      }),
    ).filter((issue) => issue.path[1] === 0);
    expect(errors.map((issue) => [issue.code, issue.message])).toEqual([
      [
        'monitoring-receiver-credentials',
        'is not read: a webhook receiver with a url reads no credential',
      ],
      ['monitoring-receiver', 'says nowhere to send alerts'],
      ['monitoring-receiver', 'has 2 kinds (slack, discord); one receiver sends one way'],
      [
        'monitoring-route',
        'routes alerts to receiver "rely", which alertmanager.receivers does not define; did you mean "relay"?',
      ],
    ]);
  });
});

describe('Grafana', () => {
  const grafana = {
    grafana: {
      oidc: {
        clientId: 'grafana',
        clientSecret: { secretName: 'grafana-oidc', key: 'client-secret' },
      },
      adminGroups: ['platform-admins'],
      viewerGroups: ['platform-viewers'],
      localLogin: false,
    },
  };
  const run = runMonitoring(grafana);

  it('declares its OIDC client (confidential, PKCE) with the groups that may log in', () => {
    expect(run.declared.staging?.oidcClients).toEqual([
      {
        id: 'grafana',
        name: 'Grafana',
        redirectUris: ['https://grafana.staging.lab.example.com/login/generic_oauth'],
        scopes: ['openid', 'profile', 'email', 'groups'],
        pkce: true,
        public: false,
        secret: { namespace: 'monitoring', name: 'grafana-oidc', key: 'client-secret' },
        policy: 'one_factor',
        groups: ['platform-admins', 'platform-viewers'],
      },
    ]);
  });

  it('asks two factors of its users where oidc.policy says so (its adminGroups are Grafana Admins)', () => {
    const twoFactor = runMonitoring({
      grafana: { ...grafana.grafana, oidc: { ...grafana.grafana.oidc, policy: 'two_factor' } },
    });
    expect(twoFactor.declared.prod?.oidcClients?.map((client) => client.policy)).toEqual([
      'two_factor',
    ]);
  });

  const buttonIssues = (name: string) =>
    issuesOf(
      runMonitoring({ grafana: { ...grafana.grafana, oidc: { ...grafana.grafana.oidc, name } } }),
    )
      // One per cluster (each resolves its own settings): the first cluster's.
      .filter((issue) => issue.code === 'monitoring-grafana-ini' && issue.path[1] === 0)
      .map((issue) => [formatPath(issue.path), issue.message, issue.expected]);
  const BUTTON =
    "; it is the label of Grafana's login button, written into grafana.ini and shown to anyone on the login page";
  const PLAIN_LABEL =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's expansion syntax, named
    'a plain label without $__name{…}, ${…}, "#" or ";", e.g. Authelia or Single sign-on';

  it.each([
    '$__env{GF_SECURITY_ADMIN_PASSWORD}',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's expansion syntax, on purpose
    'Log in ${GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET}',
    '$__file{/etc/secrets/grafana-oidc/client-secret}',
    '$__vault{kv:secret/grafana:password}',
  ])('refuses a login button label Grafana would expand into a secret: %s', (name) => {
    const expansion = /\$(?:__\w+)?\{[^}]+\}/.exec(name)?.[0];
    expect(buttonIssues(name)).toEqual([
      [
        'clusters[0].components.monitoring.grafana.oidc.name',
        `holds "${expansion}", which Grafana replaces when it loads grafana.ini ($__env{…} and \${…} with an environment variable, $__file{…} with a file, $__vault{…} with a secret): the value would become what it names, e.g. the admin password for $__env{GF_SECURITY_ADMIN_PASSWORD}${BUTTON}`,
        PLAIN_LABEL,
      ],
    ]);
  });

  it('refuses a login button label grafana.ini would cut at a comment', () => {
    expect(buttonIssues('Sign in; SSO')).toEqual([
      [
        'clusters[0].components.monitoring.grafana.oidc.name',
        `has ";", which starts a comment in grafana.ini: Grafana would read only "Sign in"${BUTTON}`,
        PLAIN_LABEL,
      ],
    ]);
  });

  it('takes a plain label, dollars and braces that Grafana leaves alone included', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: what Grafana's expansion leaves alone, on purpose
    for (const name of ['Single sign-on', 'Pay $5 {not} expanded', '$__{x}', '${}']) {
      expect(buttonIssues(name)).toEqual([]);
    }
    expect(
      runMonitoring({
        grafana: { ...grafana.grafana, oidc: { ...grafana.grafana.oidc, name: 'Single sign-on' } },
      }).values('prod').grafana['grafana.ini']['auth.generic_oauth'].name,
    ).toBe('Single sign-on');
  });

  it('declares its route on the Gateway, logged in by the app through that client', () => {
    expect(run.declared.prod?.routes).toEqual([
      {
        name: 'grafana',
        host: 'grafana',
        namespace: 'monitoring',
        service: 'grafana',
        port: 80,
        auth: { kind: 'app', oidcClient: 'grafana' },
        removeRequestHeaders: ['Authorization'],
      },
    ]);
  });

  it('has the Gateway drop Authorization without a login form, so the local admin cannot log in from outside', () => {
    // `run` is SSO only (localLogin false): Grafana's basic auth stays on for its sidecars
    expect(run.declared.prod?.routes?.[0]?.removeRequestHeaders).toEqual(['Authorization']);
    const withForm = runMonitoring({ grafana: { ...grafana.grafana, localLogin: true } });
    expect(withForm.declared.prod?.routes?.[0]?.auth).toEqual({
      kind: 'app',
      oidcClient: 'grafana',
    });
    expect(withForm.declared.prod?.routes?.[0]?.removeRequestHeaders).toBeUndefined();
  });

  it("calls the issuer (token, userinfo) through the Gateway, which routes the issuer's host", () => {
    const grafana = (run.declared.prod?.flows ?? []).filter(
      (flow) =>
        flow.direction === 'egress' &&
        flow.selector['app.kubernetes.io/name'] === 'grafana' &&
        flow.peer.kind === 'gateway',
    );
    expect(grafana).toEqual([
      {
        name: 'grafana-to-gateway-443',
        direction: 'egress',
        namespace: 'monitoring',
        selector: { 'app.kubernetes.io/name': 'grafana' },
        peer: { kind: 'gateway', host: 'auth' },
        ports: [{ port: 443, protocol: 'TCP' }],
        reason:
          "Grafana's server exchanges the login code and reads the user at the OIDC issuer (https://auth.prod.example)",
      },
    ]);
    expect(run.declared.prod?.oidcClients?.map((client) => client.id)).toEqual(['grafana']);
  });

  it("logs in through the provider's endpoints with roles from the groups, the secret from its Secret", () => {
    const values = run.values('prod').grafana;
    const oauth = values['grafana.ini']['auth.generic_oauth'];
    expect(oauth).toMatchObject({
      enabled: true,
      client_id: 'grafana',
      auth_url: 'https://auth.prod.example/api/oidc/authorization',
      token_url: 'https://auth.prod.example/api/oidc/token',
      api_url: 'https://auth.prod.example/api/oidc/userinfo',
      use_pkce: true,
      role_attribute_path:
        "contains(groups[*], 'platform-admins') && 'Admin' || contains(groups[*], 'platform-viewers') && 'Viewer'",
      role_attribute_strict: true,
      auto_login: true,
    });
    expect(JSON.stringify(values)).not.toContain('client_secret');
    expect(values.envValueFrom).toEqual({
      GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: {
        secretKeyRef: { name: 'grafana-oidc', key: 'client-secret' },
      },
    });
    expect(values['grafana.ini'].auth).toEqual({ disable_login_form: true });
    expect(values['grafana.ini'].server).toEqual({
      domain: 'grafana.lab.example.com',
      root_url: 'https://grafana.lab.example.com',
    });
  });

  it("trusts the certificates provider's private CA: a Certificate's ca.crt, mounted for tls_client_ca", () => {
    const trusting = runMonitoring(grafana, [...PROVIDERS, testCertificates({ privateCa: true })]);
    const values = trusting.values('prod').grafana;
    expect(values['grafana.ini']['auth.generic_oauth'].tls_client_ca).toBe(
      '/etc/grafana/oidc-ca/ca.crt',
    );
    expect(values.extraSecretMounts).toEqual([
      {
        name: 'oidc-ca',
        secretName: 'grafana-oidc-ca',
        mountPath: '/etc/grafana/oidc-ca',
        readOnly: true,
      },
    ]);
    expect(trusting.manifests('prod')['certificate-grafana-oidc-ca']).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: {
        name: 'grafana-oidc-ca',
        namespace: 'monitoring',
        labels: { 'app.kubernetes.io/part-of': 'monitoring' },
      },
      spec: {
        secretName: 'grafana-oidc-ca',
        commonName: 'grafana-oidc-ca',
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'private-ca' },
      },
    });
  });

  it('adds no CA where the issuer is publicly trusted or Grafana has no OIDC login', () => {
    for (const other of [
      runMonitoring(grafana, [...PROVIDERS, testCertificates({ privateCa: false })]),
      runMonitoring({ grafana: { localLogin: true } }, [
        ...PROVIDERS,
        testCertificates({ privateCa: true }),
      ]),
    ]) {
      const values = other.values('prod').grafana;
      expect(values['grafana.ini']['auth.generic_oauth']?.tls_client_ca).toBeUndefined();
      expect(values.extraSecretMounts).toBeUndefined();
      expect(other.manifests('prod')['certificate-grafana-oidc-ca']).toBeUndefined();
    }
  });

  it('keeps no admin password in values: the admin comes from the grafana-admin Secret', () => {
    const values = run.values('dev').grafana;
    expect(values.admin).toEqual({
      existingSecret: 'grafana-admin',
      userKey: 'admin-user',
      passwordKey: 'admin-password',
    });
    expect(values.adminPassword).toBeUndefined();
    expect(run.declared.dev?.secrets?.map((secret) => secret.name)).toEqual([
      'grafana-admin',
      'grafana-oidc',
    ]);
  });

  it("refuses to turn off the login form where Grafana's server cannot trust the OIDC issuer (Let's Encrypt's staging)", () => {
    const staging = runMonitoring(grafana, [
      ...PROVIDERS,
      testCertificates({ privateCa: false, untrusted: true }),
    ]);
    const errors = issuesOf(staging, 'error').filter(
      (issue) => issue.code === 'monitoring-grafana-login',
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.path.slice(-3)).toEqual(['monitoring', 'grafana', 'localLogin']);
    expect(errors[0]?.message).toContain("Let's Encrypt's staging directory");
    // the login form kept, or trusted certificates: no error
    for (const fine of [
      runMonitoring({ grafana: { ...grafana.grafana, localLogin: true } }, [
        ...PROVIDERS,
        testCertificates({ privateCa: false, untrusted: true }),
      ]),
      runMonitoring(grafana, [...PROVIDERS, testCertificates({ privateCa: true })]),
    ]) {
      expect(issuesOf(fine, 'error').map((issue) => issue.code)).not.toContain(
        'monitoring-grafana-login',
      );
    }
  });

  it('warns when the login form goes while no OIDC login is configured', () => {
    const warnings = issuesOf(runMonitoring({ grafana: { localLogin: false } }), 'warning');
    expect(warnings.map((issue) => issue.code)).toContain('monitoring-grafana-login');
  });

  it('lists its Secrets as hand-made bootstrap secrets, values from the shell, where no secrets provider runs', () => {
    const bare = runMonitoring(grafana, [network, sso, storage]);
    expect(bare.declared.dev?.secrets).toBeUndefined();
    const admin = bare.declared.dev?.bootstrapSecrets?.find(
      (secret) => secret.name === 'grafana-admin',
    );
    // values reach kubectl through pipes, never as its arguments (`ps` shows those)
    // made only where missing: a run again neither fails on AlreadyExists nor replaces the
    // random password the operator already reads
    expect(admin?.commands).toEqual([
      'kubectl -n monitoring get secret grafana-admin >/dev/null 2>&1 || kubectl -n monitoring create secret generic grafana-admin \\',
      "  --from-file=admin-password=<(openssl rand -base64 24 | tr -d '\\n') \\",
      '  --from-literal=admin-user=admin',
    ]);
    // and where its login form is on, the login section says how to read that password
    expect(bare.declared.dev?.bootstrap?.find((step) => step.when === 'login')).toBeUndefined();
    const withForm = runMonitoring({ grafana: { ...grafana.grafana, localLogin: true } }, [
      network,
      sso,
      storage,
    ]);
    const login = withForm.declared.dev?.bootstrap?.find((step) => step.when === 'login');
    expect(login?.title).toBe('Grafana');
    expect(login?.commands).toEqual([
      "kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d && echo",
    ]);
    // where Bitwarden holds the password, the runbook has nothing to read
    expect(
      runMonitoring({
        grafana: { ...grafana.grafana, localLogin: true },
      }).declared.dev?.bootstrap?.find((step) => step.when === 'login'),
    ).toBeUndefined();
    const oidc = bare.declared.dev?.bootstrapSecrets?.find(
      (secret) => secret.name === 'grafana-oidc',
    );
    // the runbook prompts for the value it uses (it set no variable before), in a block of its
    // own, and the commands stop on an empty one
    expect(oidc?.reads).toEqual([
      { variable: 'GRAFANA_OIDC_CLIENT_SECRET', prompt: 'monitoring/grafana-oidc client-secret' },
    ]);
    expect(oidc?.commands).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      ': "${GRAFANA_OIDC_CLIENT_SECRET:?empty: read it again}" &&',
      'kubectl -n monitoring create secret generic grafana-oidc \\',
      `  --from-file=client-secret=<(printf '%s' "$GRAFANA_OIDC_CLIENT_SECRET") \\`,
      // applied again on a run again, server-side: no copy in the last-applied annotation
      '  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -',
    ]);
  });
});

describe('declarations', () => {
  it('provides metrics, deploys restricted but node-exporter (privileged, its own namespace) and server-side (large CRDs), installing the operator kinds', () => {
    const app = reference.declared.prod?.application;
    expect([
      app?.namespace,
      app?.podSecurity,
      app?.serverSideApply,
      app?.additionalNamespaces,
      app?.additionalPodSecurity,
    ]).toEqual([
      'monitoring',
      'restricted',
      true,
      ['kube-system', 'node-exporter'],
      { 'node-exporter': 'privileged' },
    ]);
    // node-exporter's image is allowed in its namespace only, its host paths are the stack's.
    expect(app?.imageRepositories?.['node-exporter']).toEqual(['quay.io/prometheus/node-exporter']);
    expect(app?.imageRepositories?.monitoring).not.toContain('quay.io/prometheus/node-exporter');
    expect(app?.hostPaths).toEqual(['/', '/proc', '/sys']);
    expect(app?.installs?.map((kind) => kind.kind)).toContain('ServiceMonitor');
    expect(reference.declared.prod?.facts).toEqual({ metrics: { namespace: 'monitoring' } });
  });

  it("asks Talos to bind the control plane's metrics beyond localhost", () => {
    expect(reference.declared.dev?.talos).toEqual({
      controlPlaneArgs: {
        controllerManager: { 'bind-address': '0.0.0.0' },
        scheduler: { 'bind-address': '0.0.0.0' },
        etcd: { 'listen-metrics-urls': 'http://0.0.0.0:2381' },
      },
    });
  });

  it("scrapes etcd, the controller manager and the scheduler on the control planes only (the workers' firewall keeps those ports closed)", () => {
    const host = (reference.declared.prod?.flows ?? []).filter((flow) => flow.peer.kind === 'host');
    expect(host.map((flow) => [flow.peer, flow.ports.map((port) => port.port)])).toEqual([
      [{ kind: 'host' }, [9100, 10250]],
      [{ kind: 'host', nodes: 'control-planes' }, [2381, 10257, 10259]],
    ]);
  });

  it('declares every flow of its pods: Grafana, Prometheus, Alertmanager, the operator, kube-state-metrics', () => {
    const table = (cluster: string): string[] =>
      (reference.declared[cluster]?.flows ?? []).map(
        (flow) =>
          `${flow.selector['app.kubernetes.io/name']} ${flow.direction} ${flow.peer.kind === 'self' ? `self:${flow.peer.selector['app.kubernetes.io/name']}` : flow.peer.kind === 'consumers' || flow.peer.kind === 'capability' ? `${flow.peer.kind}:${flow.peer.capability}` : flow.peer.kind === 'fqdn' ? flow.peer.name : flow.peer.kind === 'gateway' ? `gateway${flow.peer.host === undefined ? '' : `:${flow.peer.host}`}` : flow.peer.kind} ${flow.ports.map((port) => `${port.port}/${port.protocol}`).join(',')}`,
      );
    const common = [
      'grafana ingress gateway 3000/TCP',
      'grafana egress self:prometheus 9090/TCP',
      'grafana egress self:alertmanager 9093/TCP',
      'grafana egress kube-apiserver 6443/TCP',
      'prometheus egress kube-apiserver 6443/TCP',
      // node-exporter and the kubelet, on every node.
      'prometheus egress host 9100/TCP,10250/TCP',
      // etcd, the controller manager and the scheduler listen on the control planes only
      'prometheus egress host 2381/TCP,10257/TCP,10259/TCP',
      // Every monitor target: the components' ingress flows from metrics, the namespaces
      // outside default deny, the host-network targets (packages/cilium/src/flows.ts).
      'prometheus egress consumers:metrics ',
      'prometheus egress self:alertmanager 9093/TCP,8080/TCP',
      'prometheus egress self:prometheus 9090/TCP,8080/TCP',
      'prometheus egress self:kube-prometheus-stack-prometheus-operator 8080/TCP',
      'prometheus egress self:kube-state-metrics 8080/TCP',
      'prometheus egress self:grafana 3000/TCP',
      'kube-prometheus-stack-prometheus-operator egress kube-apiserver 6443/TCP',
      'kube-state-metrics egress kube-apiserver 6443/TCP',
    ];
    // One Alertmanager in development: no mesh.
    expect(table('dev').slice(0, common.length)).toEqual(common);
    expect(table('dev').some((row) => row.includes('9094'))).toBe(false);
    expect(table('prod')).toEqual(
      expect.arrayContaining([
        ...common,
        'alertmanager egress self:alertmanager 9094/TCP,9094/UDP',
      ]),
    );
    // The operator's admission webhooks are off in our values: no flow from the API server.
    expect((baseValues()[KPS_VALUES_KEY] as Loose).prometheusOperator.admissionWebhooks).toEqual({
      enabled: false,
    });
    expect(
      (reference.declared.prod?.flows ?? []).some(
        (flow) => flow.direction === 'ingress' && flow.peer.kind === 'kube-apiserver',
      ),
    ).toBe(false);
  });

  it('has the operator bring up Prometheus, Alertmanager and Thanos Ruler of its own namespace only', () => {
    // An application's own Prometheus or Alertmanager would have the operator (which reads every
    // Secret) copy its namespace's Secrets into the generated Secret it makes there, and select
    // other namespaces' monitors with their credentials.
    const operator = (baseValues()[KPS_VALUES_KEY] as Loose).prometheusOperator;
    expect([
      operator.prometheusInstanceNamespaces,
      operator.alertmanagerInstanceNamespaces,
      operator.thanosRulerInstanceNamespaces,
    ]).toEqual([['monitoring'], ['monitoring'], ['monitoring']]);
    // The vendored chart passes each list to the operator's flag of that name (which, for
    // Prometheus, covers PrometheusAgent too: prometheus-operator v0.93 cmd/operator/main.go)
    const deployment = readVendoredChartFile(
      KUBE_PROMETHEUS_STACK_CHART.name,
      KUBE_PROMETHEUS_STACK_CHART.version,
      'templates/prometheus-operator/deployment.yaml',
    );
    for (const [flag, key] of [
      ['prometheus-instance-namespaces', 'prometheusInstanceNamespaces'],
      ['alertmanager-instance-namespaces', 'alertmanagerInstanceNamespaces'],
      ['thanos-ruler-instance-namespaces', 'thanosRulerInstanceNamespaces'],
    ]) {
      expect(deployment).toContain(
        `- --${flag}={{ .Values.prometheusOperator.${key} | join "," }}`,
      );
    }
  });

  it("leaves Talos' CoreDNS unscraped where a component provides the cluster DNS", () => {
    expect(reference.values('dev').coreDns).toBeUndefined();
    const dns = testComponent({
      name: 'dns',
      provides: ['dns'],
      contribution: () => ({
        facts: {
          dns: {
            clusterDomain: 'cluster.local',
            namespace: 'coredns',
            selector: { 'k8s-app': 'kube-dns' },
          },
        },
      }),
    });
    expect(runMonitoring({}, [...PROVIDERS, dns]).values('dev').coreDns).toEqual({
      enabled: false,
    });
  });

  it('renders nothing on a cluster that disables it', () => {
    const [dev, ...rest] = testReferenceClusters();
    const off = runMonitoring({}, PROVIDERS, [
      { ...dev, components: { monitoring: { enabled: false } } },
      ...rest,
    ]);
    expect(Object.keys(off.output?.chart?.clusters ?? {})).toEqual(['staging', 'prod']);
  });

  it('renders the same manifests whatever the order of the other components', () => {
    const one = runMonitoring({}, [...PROVIDERS, watched('web', [WEB])]);
    const two = runMonitoring({}, [watched('web', [WEB]), ...[...PROVIDERS].reverse()]);
    expect(two.output?.chart).toEqual(one.output?.chart);
  });
});

describe('a cluster with one node', () => {
  it('warns that Alertmanager replicas share the node when asked for more', () => {
    const single: [Cluster] = [testCluster('solo', 'development', 9)];
    const run = runMonitoring({ alertmanager: { replicas: 2 } }, PROVIDERS, single);
    const objects: KubeObject[] = Object.values(run.manifests('solo'));
    expect(objects.length).toBeGreaterThan(0);
    expect(issuesOf(run, 'warning').map((issue) => issue.code)).toContain('monitoring-replicas');
  });

  it('runs one Prometheus by default where the profile says two: a second on the node is no HA', () => {
    // The profile's two replicas would share the one node: twice the requests (500m and 2Gi
    // each in production) and a second volume, and both go down with the node. (A one-node
    // production cluster needs environments.production.replicas: 1; staging needs nothing.)
    {
      const single: [Cluster] = [testCluster('solo', 'staging', 9)];
      const run = runMonitoring({}, PROVIDERS, single);
      expect(run.values('solo').prometheus.prometheusSpec.replicas).toBe(1);
      const onPrometheus = issuesOf(run, 'warning').filter((issue) =>
        issue.path.includes('prometheus'),
      );
      expect(onPrometheus).toEqual([]);
    }
    // two schedulable nodes: the profile's two
    const pair: [Cluster] = [testCluster('pair', 'staging', 9, { workers: 2 })];
    expect(
      runMonitoring({}, PROVIDERS, pair).values('pair').prometheus.prometheusSpec.replicas,
    ).toBe(2);
    // asked for explicitly: as asked
    const asked = runMonitoring({ prometheus: { replicas: 2 } }, PROVIDERS, [
      testCluster('solo', 'staging', 9),
    ]);
    expect(asked.values('solo').prometheus.prometheusSpec.replicas).toBe(2);
  });
});
