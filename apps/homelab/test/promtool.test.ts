// Layer 5 (DESIGN.md, "Validation layers"): the real promtool, of the Prometheus that
// kube-prometheus-stack 88.5.3 deploys (v3.14.0), on the alert rules of the committed output.
// 1. `promtool check rules` on every PrometheusRule Helm renders for every cluster (the
//    platform's own and kube-prometheus-stack's): no error; its lint warnings are printed.
// 2. `promtool test rules`: scenarios for the platform's own alerts, on the rules each cluster
//    deploys (its environment's `for` and thresholds), with synthetic kube-state-metrics, VolSync
//    and `up` series: which alerts fire, with which labels, at which evaluation times. An alert
//    no cluster of the committed output deploys (the user's definition has no BGP cluster, say)
//    runs its scenarios on the rule as the reference platform (examples/reference, built into a
//    scratch folder) deploys it: the rule the platform generates is tested either way.
// 3. Broken on purpose: a rule with a syntax error, and expressions that do not do what their
//    scenario asks (one that never fires, one that keeps firing after a later success).
//
// Needs promtool (`.ci/run` builds it with .ci/install-promtool and passes its folder in
// PROMTOOL_DIR; else it is looked for on PATH and in the tools cache). Without it the suite is
// skipped and says "promtool suite: not run: promtool not found" (a skipped test is not a passed
// one); with CI=true a missing promtool fails. The `check rules` of the Helm renders also needs
// `helm` (it says "not run" without it, and fails in CI). Nothing here names a cluster: the
// clusters, their charts and rules all come from the committed output (or examples/reference).
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeObject, readChartDir, renderChart } from '@homelab/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FoundTool, findTool, toolSuite } from './find-tool.js';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  IN_CI,
  prepareChart,
  REPO,
  runHelm,
  splitHelmOutput,
  templateArgs,
} from './helm/harness.js';

/** The Prometheus kube-prometheus-stack 88.5.3 runs (values.yaml prometheusSpec.image.tag). */
const PROMETHEUS_VERSION = '3.14.0';
const INSTALL = 'build it: .ci/install-promtool, and put its folder in PROMTOOL_DIR or on PATH';

type Promtool = FoundTool;

/** promtool from PROMTOOL_DIR, else PATH, else the tools cache .ci/install-promtool fills. */
function findPromtool(): Promtool | undefined {
  return findTool(
    'promtool',
    'PROMTOOL_DIR',
    `promtool-v${PROMETHEUS_VERSION}`,
    /^promtool, version (\S+)/,
  );
}

interface Run {
  readonly status: number;
  readonly output: string;
}

/** Runs promtool in `cwd`; its output is stdout and stderr in the order it wrote them. */
function runPromtool(tool: Promtool, args: readonly string[], cwd: string): Run {
  const log = join(cwd, `.promtool-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  try {
    const result = spawnSync(tool.path, args, {
      cwd,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '', HOME: cwd },
    });
    if (result.error) throw result.error;
    return { status: result.status ?? 1, output: readFileSync(log, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(log, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** A PrometheusRule's `spec`: a Prometheus rule file. */
interface RuleFile {
  readonly groups: readonly { name: string; rules: readonly Record<string, unknown>[] }[];
}

const isPrometheusRule = (object: KubeObject) =>
  object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'PrometheusRule';

function ruleFileOf(object: KubeObject): RuleFile {
  return (object as unknown as { spec: RuleFile }).spec;
}

/** Minutes of a Prometheus duration (`2m`, `1h30m`, `90s`); 0 when there is none. */
function minutes(duration: string | undefined): number {
  if (duration === undefined) return 0;
  const units: Record<string, number> = {
    ms: 1 / 60000,
    s: 1 / 60,
    m: 1,
    h: 60,
    d: 1440,
    w: 10080,
    y: 525600,
  };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(n) * (units[unit as string] as number);
  }
  return Math.ceil(total);
}

const discovery = discoverRenders();

type OwnAlerts = Map<string, { cluster: string; rule: AlertRule; file: RuleFile }[]>;

/**
 * The platform's own rules per cluster, as the charts of the output under `root` hold them for
 * the cluster (the chart's `manifests`, merged from its value layers as
 * charts/<chart>/templates/manifests.yaml does; the Helm suite proves Helm renders exactly these):
 * for each alert, its rule and the rule file (the PrometheusRule's spec) it is part of.
 */
function alertsOf(renders: readonly ChartRender[], root: string): OwnAlerts {
  const alerts: OwnAlerts = new Map();
  for (const render of renders) {
    const { objects } = renderChart(readChartDir(join(root, render.path)), render.valueFiles);
    for (const object of objects.filter(isPrometheusRule)) {
      const file = ruleFileOf(object);
      for (const group of file.groups) {
        for (const rule of group.rules) {
          if (typeof rule.alert !== 'string') continue;
          const list = alerts.get(rule.alert) ?? [];
          list.push({ cluster: render.cluster, rule: rule as unknown as AlertRule, file });
          alerts.set(rule.alert, list);
        }
      }
    }
  }
  return alerts;
}

/** The alerts of the committed output: what the user's definition deploys. */
const ownAlerts = alertsOf(discovery.renders, REPO);

const REFERENCE = join(REPO, 'examples/reference/platform.yaml');
let referenceAlerts: OwnAlerts | undefined;

/**
 * The alerts of the reference platform (examples/reference, built into a scratch folder on first
 * use), for the scenarios of an alert the user's definition does not deploy (no cluster with BGP,
 * say): the rule as the platform generates it is still tested, on the reference's clusters.
 */
function referenceAlertsOf(): OwnAlerts {
  if (referenceAlerts !== undefined) return referenceAlerts;
  const out = mkdtempSync(join(tmpdir(), 'homelab-promtool-reference-'));
  try {
    const built = spawnSync(
      process.execPath,
      [join(REPO, 'packages/cli/dist/bin.js'), 'build', '--config', REFERENCE, '--out', out],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    if (built.status !== 0)
      throw new Error(`examples/reference did not build:\n${built.stderr}${built.stdout}`);
    referenceAlerts = alertsOf(discoverRenders(out, REFERENCE).renders, out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return referenceAlerts;
}

// ---------------------------------------------------------------------------------------------
// Scenarios (promtool's unit-test format, https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/)

interface Series {
  readonly series: string;
  readonly values: string;
}
interface ExpectedAlert {
  readonly exp_labels: Record<string, string>;
  readonly exp_annotations: Record<string, string>;
}
interface AlertTest {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts: readonly ExpectedAlert[];
}
interface TestGroup {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly Series[];
  readonly alert_rule_test: readonly AlertTest[];
}

/** The alert `rule` raises for a result series with `labels` (the rule's labels win). */
function fires(rule: AlertRule, labels: Record<string, string>): ExpectedAlert {
  return { exp_labels: { ...labels, ...rule.labels }, exp_annotations: { ...rule.annotations } };
}

/** `at` minutes: `rule` raises exactly `alerts` (none: silent). */
function at(rule: AlertRule, minute: number, alerts: readonly ExpectedAlert[]): AlertTest {
  return { eval_time: `${minute}m`, alertname: rule.alert, exp_alerts: alerts };
}

/** A series with `value` from minute `from` to `to` (absent before), one sample a minute. */
function series(selector: string, from: number, to: number, value: number | string): Series {
  const before = from > 0 ? `_x${from} ` : '';
  return { series: selector, values: `${before}${value}x${to - from}` };
}

/** Ten years, in seconds: older than any age an alert of the platform allows. */
const LONG_AGO = -100 * 365 * 86400;

/**
 * A value of label `label` that the first selector of `metric` in `expr` accepts: its value
 * where the selector says `label="…"`, else `stem` put in place of `.+` / `.*` of its `=~`
 * (checked against the regular expression); `fallback` when the selector does not name it.
 */
function labelValue(
  expr: string,
  metric: string,
  label: string,
  stem: string,
  fallback: string,
): string {
  const matchers = new RegExp(`\\b${metric}\\{([^}]*)\\}`).exec(expr)?.[1] ?? '';
  const exact = new RegExp(`\\b${label}\\s*=\\s*"([^"]*)"`).exec(matchers)?.[1];
  if (exact !== undefined) return exact;
  const regex = new RegExp(`\\b${label}\\s*=~\\s*"([^"]*)"`).exec(matchers)?.[1];
  if (regex === undefined) return fallback;
  const value = regex.replaceAll('.+', stem).replaceAll('.*', stem).replaceAll('\\', '');
  if (!new RegExp(`^(?:${regex})$`).test(value)) {
    throw new Error(`${metric}{${matchers}}: found no ${label} value for ${regex}`);
  }
  return value;
}

/**
 * A CronJob's runs, as kube-state-metrics 2.20.0 reports them (internal/store/job.go,
 * cronjob.go): per Job `kube_job_owner` (the CronJob), `kube_job_status_start_time`,
 * `kube_job_status_failed` (failed pods), `kube_job_failed` / `kube_job_complete` (the Job's
 * Failed / Complete condition); per CronJob `kube_cronjob_status_last_successful_time`.
 */
function cronJobRuns(
  namespace: string,
  cronjob: string,
  end: number,
  runs: readonly {
    job: string;
    /** Minute the Job appears (starts), its start time in seconds. */
    start: number;
    /** Minute a pod failed (kube_job_status_failed 1 from then on). */
    podFailed?: number;
    /** Minute the Job failed (condition Failed). */
    failed?: number;
    /** Minute the Job completed (condition Complete). */
    completed?: number;
  }[],
  lastSuccess: readonly { from: number; value: number }[],
): Series[] {
  const out: Series[] = [];
  for (const run of runs) {
    const job = `namespace="${namespace}",job_name="${cronjob}-${run.job}"`;
    out.push(
      series(
        `kube_job_owner{${job},owner_kind="CronJob",owner_name="${cronjob}",owner_is_controller="true"}`,
        run.start,
        end,
        1,
      ),
      series(`kube_job_status_start_time{${job}}`, run.start, end, run.start * 60),
    );
    if (run.podFailed !== undefined) {
      out.push(series(`kube_job_status_failed{${job},reason=""}`, run.podFailed, end, 1));
    }
    if (run.failed !== undefined) {
      out.push(
        series(`kube_job_failed{${job},condition="true"}`, run.failed, end, 1),
        series(`kube_job_failed{${job},condition="false"}`, run.failed, end, 0),
      );
    }
    if (run.completed !== undefined) {
      out.push(series(`kube_job_complete{${job},condition="true"}`, run.completed, end, 1));
    }
  }
  const selector = `kube_cronjob_status_last_successful_time{namespace="${namespace}",cronjob="${cronjob}"}`;
  if (lastSuccess.length > 0) {
    const first = lastSuccess[0] as { from: number; value: number };
    const parts = [first.from > 0 ? `_x${first.from}` : ''];
    lastSuccess.forEach((step, i) => {
      const until = lastSuccess[i + 1]?.from ?? end + 1;
      parts.push(`${step.value}x${until - step.from - 1}`);
    });
    out.push({ series: selector, values: parts.filter((p) => p !== '').join(' ') });
  }
  return out;
}

/**
 * The scenarios of an alert raised when a CronJob's latest finished run failed
 * (EtcdBackupFailed, VolumeRestoreVerificationFailed), for CronJob `cronjob` in `namespace`.
 */
function lastRunFailedScenarios(
  rule: AlertRule,
  // The CronJob the rule watches: its namespace and name, from the rule's kube_job_owner.
  namespace = labelValue(rule.expr, 'kube_job_owner', 'namespace', 'x', 'paperless'),
  cronjob = labelValue(rule.expr, 'kube_job_owner', 'owner_name', 'data', 'data'),
): TestGroup[] {
  const wait = minutes(rule.for);
  const failedAt = 30;
  const laterSuccess = failedAt + wait + 15;
  const end = laterSuccess + 20;
  const alert = fires(rule, { namespace, cronjob });
  return [
    {
      name: `${rule.alert}: fires when the latest run failed, resolves when a later run succeeds, though the failed Job stays in the history`,
      interval: '1m',
      input_series: cronJobRuns(
        namespace,
        cronjob,
        end,
        [
          // An older failed run, before the last success: history, not news.
          { job: 'old', start: 1, podFailed: 2, failed: 2 },
          { job: 'ok', start: 5, completed: 10 },
          // The latest run fails (its Job's Failed condition at failedAt).
          { job: 'bad', start: 20, podFailed: failedAt, failed: failedAt },
          // A later run succeeds.
          { job: 'fixed', start: laterSuccess - 5, completed: laterSuccess },
        ],
        [
          { from: 10, value: 10 * 60 },
          { from: laterSuccess, value: laterSuccess * 60 },
        ],
      ),
      alert_rule_test: [
        at(rule, failedAt - 5, []),
        ...(wait >= 2 ? [at(rule, failedAt + wait - 1, [])] : []),
        at(rule, failedAt + wait + 1, [alert]),
        at(rule, laterSuccess + 2, []),
        at(rule, end, []),
      ],
    },
    {
      name: `${rule.alert}: silent for a Job whose pod failed and whose retry succeeded`,
      interval: '1m',
      input_series: cronJobRuns(
        namespace,
        cronjob,
        40 + wait,
        [{ job: 'retried', start: 1, podFailed: 3, completed: 8 }],
        [{ from: 8, value: 8 * 60 }],
      ),
      alert_rule_test: [at(rule, 5, []), at(rule, 10 + wait, []), at(rule, 30 + wait, [])],
    },
    {
      name: `${rule.alert}: fires for a CronJob that never succeeded once its run failed`,
      interval: '1m',
      input_series: cronJobRuns(
        namespace,
        cronjob,
        30 + wait,
        [{ job: 'first', start: 1, podFailed: 5, failed: 5 }],
        [],
      ),
      alert_rule_test: [at(rule, 3, []), at(rule, 6 + wait, [alert])],
    },
  ];
}

interface Scenario {
  readonly alert: string;
  readonly groups: (rule: AlertRule) => TestGroup[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    alert: 'VolumeBackupOutOfSync',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = 10 + wait + 30;
      const labels = {
        obj_name: 'data',
        obj_namespace: 'paperless',
        method: 'restic',
      };
      const selector = (role: string, name = labels.obj_name) =>
        `volsync_volume_out_of_sync{obj_name="${name}",obj_namespace="paperless",method="restic",role="${role}"}`;
      return [
        {
          name: 'VolumeBackupOutOfSync: a source out of sync fires after its `for`; a destination or an in-sync source never',
          interval: '1m',
          input_series: [
            { series: selector('source'), values: `0x9 1x${end - 10}` },
            { series: selector('source', 'media'), values: `0x${end}` },
            { series: selector('destination'), values: `1x${end}` },
          ],
          alert_rule_test: [
            at(rule, 9, []),
            ...(wait >= 2 ? [at(rule, 10 + wait - 1, [])] : []),
            at(rule, 10 + wait + 1, [fires(rule, { ...labels, role: 'source' })]),
          ],
        },
      ];
    },
  },
  {
    alert: 'VolumeRestoreVerificationFailed',
    groups: (rule) => lastRunFailedScenarios(rule),
  },
  {
    alert: 'VolumeRestoreVerificationMissing',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      const ns = labelValue(rule.expr, 'kube_cronjob_created', 'namespace', 'x', 'paperless');
      const name = (stem: string) =>
        labelValue(rule.expr, 'kube_cronjob_created', 'cronjob', stem, `${stem}-verify`);
      const last = (cronjob: string) =>
        `kube_cronjob_status_last_successful_time{namespace="${ns}",cronjob="${cronjob}"}`;
      const created = (cronjob: string) =>
        `kube_cronjob_created{namespace="${ns}",cronjob="${cronjob}"}`;
      return [
        {
          name: 'VolumeRestoreVerificationMissing: fires for a verification that succeeded long ago and one that never succeeded; silent for a recent success and a new CronJob',
          interval: '1m',
          input_series: [
            { series: last(name('stale')), values: `${LONG_AGO}x${end}` },
            { series: created(name('stale')), values: `${LONG_AGO * 2}x${end}` },
            { series: created(name('never')), values: `${LONG_AGO}x${end}` },
            // Succeeded a minute ago, every minute.
            { series: last(name('fresh')), values: `-60+60x${end}` },
            { series: created(name('fresh')), values: `${LONG_AGO * 2}x${end}` },
            // Created now, not run yet.
            { series: created(name('new')), values: `0x${end}` },
          ],
          alert_rule_test: [
            at(rule, wait + 1, [
              fires(rule, { namespace: ns, cronjob: name('never') }),
              fires(rule, { namespace: ns, cronjob: name('stale') }),
            ]),
          ],
        },
      ];
    },
  },
  {
    alert: 'EtcdBackupFailed',
    groups: (rule) => lastRunFailedScenarios(rule),
  },
  {
    alert: 'EtcdSnapshotTooOld',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // The CronJob the rule watches, from its selector.
      const metric = 'kube_cronjob_status_last_successful_time';
      const namespace = labelValue(rule.expr, metric, 'namespace', 'x', 'talos-backup');
      const cronjob = labelValue(rule.expr, metric, 'cronjob', 'x', 'talos-backup');
      const last = `${metric}{namespace="${namespace}",cronjob="${cronjob}"}`;
      const created = `kube_cronjob_created{namespace="${namespace}",cronjob="${cronjob}"}`;
      const longAgo = { series: created, values: `${LONG_AGO * 2}x${end}` };
      return [
        {
          name: 'EtcdSnapshotTooOld: fires when there is no such CronJob (no series)',
          interval: '1m',
          input_series: [{ series: 'up{job="kube-state-metrics"}', values: `1x${end}` }],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, { namespace, cronjob })]),
          ],
        },
        {
          name: 'EtcdSnapshotTooOld: fires when the last success is a century old',
          interval: '1m',
          input_series: [{ series: last, values: `${LONG_AGO}x${end}` }, longAgo],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, { namespace, cronjob })])],
        },
        {
          name: 'EtcdSnapshotTooOld: silent when the last success is a minute old',
          interval: '1m',
          input_series: [{ series: last, values: `-60+60x${end}` }, longAgo],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
        {
          // Day one: kube-state-metrics reports no last success before the first one, and the
          // first scheduled run may be hours away (every 6 hours on development)
          name: 'EtcdSnapshotTooOld: silent for a CronJob created a minute ago that has not run yet',
          interval: '1m',
          input_series: [{ series: created, values: `-60+60x${end}` }],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
        {
          name: 'EtcdSnapshotTooOld: fires for a CronJob created long ago that never succeeded',
          interval: '1m',
          input_series: [longAgo],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, { namespace, cronjob })])],
        },
      ];
    },
  },
  {
    alert: 'JobFailed',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const failedAt = 30;
      const laterSuccess = failedAt + wait + 15;
      const end = laterSuccess + 20;
      const oneOff = (job: string, failed: number) => {
        const labels = `namespace="ops",job_name="${job}"`;
        return [
          // A Job without an owner: kube-state-metrics 2.20.0 writes empty owner labels
          // (internal/store/job.go), which Prometheus drops
          series(`kube_job_owner{${labels}}`, 1, end, 1),
          series(`kube_job_status_start_time{${labels}}`, 1, end, 60),
          series(`kube_job_failed{${labels},condition="true"}`, failed, end, 1),
          series(`kube_job_failed{${labels},condition="false"}`, failed, end, 0),
        ];
      };
      return [
        // The CronJob cases, as for the backups' own failed-run alerts (any CronJob here)
        ...lastRunFailedScenarios(rule, 'paperless', 'nightly'),
        {
          name: 'JobFailed: fires for a failed Job no CronJob made, with its namespace and name, and only after its `for`',
          interval: '1m',
          input_series: oneOff('migrate', failedAt),
          alert_rule_test: [
            at(rule, failedAt - 5, []),
            ...(wait >= 2 ? [at(rule, failedAt + wait - 1, [])] : []),
            at(rule, failedAt + wait + 1, [fires(rule, { namespace: 'ops', job_name: 'migrate' })]),
          ],
        },
      ];
    },
  },
  {
    alert: 'CoreDNSDown',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // The `up` selector of the rule (the namespace and Service the coredns component deploys),
      // and the labels of the alert: absent() takes the equality matchers of a plain selector,
      // none of a comparison (`absent(up{…} == 1)`).
      const selector = /\bup\{([^}]*)\}/.exec(rule.expr);
      if (selector === null) throw new Error(`CoreDNSDown selects no up{…}: ${rule.expr}`);
      const matchers = selector[1] as string;
      const plain = rule.expr
        .replaceAll(' ', '')
        .includes(`absent(up{${matchers.replaceAll(' ', '')}})`);
      const labels = plain
        ? Object.fromEntries(
            [...matchers.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map(
              ([, k, v]) => [k, v] as [string, string],
            ),
          )
        : {};
      const up = (pod: string) => `up{${matchers},job="kube-dns",pod="${pod}"}`;
      return [
        {
          name: 'CoreDNSDown: fires when there is no CoreDNS target at all',
          interval: '1m',
          input_series: [
            {
              series: 'up{namespace="monitoring",service="other",job="other"}',
              values: `1x${end}`,
            },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, labels)]),
          ],
        },
        {
          name: 'CoreDNSDown: fires when every target is down',
          interval: '1m',
          input_series: [
            { series: up('coredns-a'), values: `0x${end}` },
            { series: up('coredns-b'), values: `0x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, labels)])],
        },
        {
          name: 'CoreDNSDown: silent while a target is up',
          interval: '1m',
          input_series: [
            { series: up('coredns-a'), values: `1x${end}` },
            { series: up('coredns-b'), values: `0x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
      ];
    },
  },
  {
    alert: 'EtcdMetricsAbsent',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // etcd as kube-prometheus-stack scrapes it: job kube-etcd, one target per control plane.
      const up = (instance: string) =>
        `up{job="kube-etcd",namespace="kube-system",service="monitoring-kube-etcd",instance="${instance}:2381"}`;
      return [
        {
          name: 'EtcdMetricsAbsent: fires when Prometheus has no etcd target at all',
          interval: '1m',
          input_series: [
            { series: 'up{job="kube-scheduler",namespace="kube-system"}', values: `1x${end}` },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, {})]),
          ],
        },
        {
          name: 'EtcdMetricsAbsent: fires when every etcd target is down',
          interval: '1m',
          input_series: [
            { series: up('10.0.0.11'), values: `0x${end}` },
            { series: up('10.0.0.12'), values: `0x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, {})])],
        },
        {
          name: 'EtcdMetricsAbsent: silent while one etcd target is up (etcdMembersDown speaks for the others)',
          interval: '1m',
          input_series: [
            { series: up('10.0.0.11'), values: `1x${end}` },
            { series: up('10.0.0.12'), values: `0x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
      ];
    },
  },
  {
    alert: 'ArgoCDApplicationComparisonFailed',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 20;
      // argocd_app_info as Argo CD v3.4.4 reports it (controller/metrics/metrics.go).
      const app = (name: string, sync: string) =>
        `argocd_app_info{namespace="argocd",name="${name}",project="platform",autosync_enabled="true",repo="https://git.example/platform",dest_server="https://kubernetes.default.svc",dest_namespace="x",sync_status="${sync}",health_status="Healthy",operation=""}`;
      // An empty label value is no label (operation="" outside a sync).
      const labels = (name: string) =>
        Object.fromEntries(
          [...app(name, 'Unknown').matchAll(/(\w+)="([^"]+)"/g)].map(
            ([, k, v]) => [k, v] as [string, string],
          ),
        );
      return [
        {
          name: 'ArgoCDApplicationComparisonFailed: fires for an Application whose manifests cannot be loaded (Unknown); silent for Synced and OutOfSync',
          interval: '1m',
          input_series: [
            { series: app('broken', 'Unknown'), values: `1x${end}` },
            { series: app('fine', 'Synced'), values: `1x${end}` },
            { series: app('drifted', 'OutOfSync'), values: `1x${end}` },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, labels('broken'))]),
          ],
        },
      ];
    },
  },
  {
    alert: 'LoadBalancerServiceWithoutAddress',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 20;
      // kube-state-metrics 2.20.0 (internal/store/service.go).
      const svc = (name: string) => `namespace="gateway",service="${name}",uid="u-${name}"`;
      return [
        {
          name: 'LoadBalancerServiceWithoutAddress: fires for a LoadBalancer Service without an ingress address; silent once it has one, and for a ClusterIP Service',
          interval: '1m',
          input_series: [
            {
              series: `kube_service_spec_type{${svc('pending')},type="LoadBalancer"}`,
              values: `1x${end}`,
            },
            {
              series: `kube_service_spec_type{${svc('served')},type="LoadBalancer"}`,
              values: `1x${end}`,
            },
            {
              series: `kube_service_status_load_balancer_ingress{${svc('served')},ip="10.10.10.224",hostname=""}`,
              values: `1x${end}`,
            },
            {
              series: `kube_service_spec_type{${svc('internal')},type="ClusterIP"}`,
              values: `1x${end}`,
            },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [
              fires(rule, {
                namespace: 'gateway',
                service: 'pending',
                uid: 'u-pending',
                type: 'LoadBalancer',
              }),
            ]),
          ],
        },
      ];
    },
  },
  {
    alert: 'CiliumL2AnnouncementLost',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 20;
      // The namespace of the rule's lease selectors (Cilium's: the agents take their leases
      // there); kube-system where the rule names none (broken on purpose).
      const ns = labelValue(rule.expr, 'kube_lease_owner', 'namespace', 'x', 'kube-system');
      // kube-state-metrics 2.20.0 (internal/store/service.go, lease.go): one ingress series per
      // address; per Lease its holder (an empty holder is no label) and its renew time in seconds.
      const ingress = (name: string, ip: string) =>
        `kube_service_status_load_balancer_ingress{namespace="gateway",service="${name}",uid="u-${name}",ip="${ip}"}`;
      const lease = (name: string) => `cilium-l2announce-gateway-${name}`;
      const owner = (name: string, holder: string | undefined) =>
        `kube_lease_owner{lease="${lease(name)}",namespace="${ns}"${holder === undefined ? '' : `,lease_holder="${holder}"`}}`;
      const renewed = (name: string) =>
        `kube_lease_renew_time{lease="${lease(name)}",namespace="${ns}"}`;
      const lost = (name: string) =>
        fires(rule, { namespace: 'gateway', service: name, lease: lease(name) });
      return [
        {
          name: 'CiliumL2AnnouncementLost: fires for an address whose lease is missing, held by no node, or no longer renewed; silent while a node renews it',
          interval: '1m',
          input_series: [
            // Announced: the holder renews every minute here (every 2s on a cluster).
            { series: ingress('announced', '10.10.10.224'), values: `1x${end}` },
            { series: owner('announced', 'worker-1'), values: `1x${end}` },
            { series: renewed('announced'), values: `0+60x${end}` },
            // No lease at all: no agent selected the Service.
            { series: ingress('unclaimed', '10.10.10.225'), values: `1x${end}` },
            // Released: the last holder stopped (ReleaseOnCancel) and nobody took it.
            { series: ingress('released', '10.10.10.226'), values: `1x${end}` },
            { series: owner('released', undefined), values: `1x${end}` },
            { series: renewed('released'), values: `0+60x${end}` },
            // Held by a node that stopped renewing at minute 0 (stale from 2 minutes on).
            { series: ingress('stale', '10.10.10.227'), values: `1x${end}` },
            { series: owner('stale', 'worker-2'), values: `1x${end}` },
            { series: renewed('stale'), values: `0x${end}` },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 3, [lost('unclaimed'), lost('released'), lost('stale')]),
          ],
        },
        {
          name: "CiliumL2AnnouncementLost: silent while another node takes the lease over, and for a Service without an address (LoadBalancerServiceWithoutAddress' case)",
          interval: '1m',
          input_series: [
            { series: ingress('gateway', '10.10.10.224'), values: `1x${end}` },
            { series: owner('gateway', 'worker-1'), values: `1x5` },
            { series: owner('gateway', 'worker-2'), values: `_x5 1x${end - 5}` },
            { series: renewed('gateway'), values: `0+60x${end}` },
            {
              series:
                'kube_service_spec_type{namespace="gateway",service="pending",uid="u-pending",type="LoadBalancer"}',
              values: `1x${end}`,
            },
          ],
          alert_rule_test: [at(rule, wait + 3, []), at(rule, end, [])],
        },
      ];
    },
  },
  {
    alert: 'CiliumBGPSessionDown',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 20;
      // Cilium's agent (pkg/bgpv1/metrics: 1 established, else 0; labels vrouter = local ASN,
      // neighbor = address:port), as the agent's scrape labels it.
      const session = (node: string, neighbor: string) =>
        `cilium_bgp_control_plane_session_state{job="cilium-agent",namespace="kube-system",instance="${node}:9962",vrouter="64512",neighbor="${neighbor}"}`;
      const labels = (node: string, neighbor: string) =>
        Object.fromEntries(
          [...session(node, neighbor).matchAll(/(\w+)="([^"]+)"/g)].map(
            ([, k, v]) => [k, v] as [string, string],
          ),
        );
      return [
        {
          name: 'CiliumBGPSessionDown: fires for a session that is not established; silent for an established one and once it is back',
          interval: '1m',
          input_series: [
            { series: session('10.30.10.11', '10.30.10.1:179'), values: `1x${end}` },
            {
              series: session('10.30.10.12', '10.30.10.1:179'),
              values: `0x${wait + 5} 1x${end - wait - 5}`,
            },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, labels('10.30.10.12', '10.30.10.1:179'))]),
            at(rule, end, []),
          ],
        },
      ];
    },
  },
  {
    alert: 'GatekeeperWebhookFailingOpen',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 30;
      // The API server's counter (k8s.io/apiserver pkg/admission/metrics), as its scrape labels it.
      const counter = (name: string) =>
        `apiserver_admission_webhook_fail_open_count{job="apiserver",namespace="default",service="kubernetes",name="${name}",type="validating"}`;
      return [
        {
          name: 'GatekeeperWebhookFailingOpen: fires while the API server keeps admitting requests Gatekeeper never answered, resolves once it stops; silent for another webhook',
          interval: '1m',
          input_series: [
            // Failing open from minute 5 for `wait + 15` minutes, then flat.
            {
              series: counter('validation.gatekeeper.sh'),
              values: `0x4 0+3x${wait + 15} ${3 * (wait + 15)}x${end - wait - 20}`,
            },
            { series: counter('webhook.other.example'), values: `0+3x${end}` },
          ],
          alert_rule_test: [
            at(rule, 4, []),
            at(rule, 6 + wait, [fires(rule, { name: 'validation.gatekeeper.sh' })]),
            at(rule, end, []),
          ],
        },
      ];
    },
  },
  {
    alert: 'GatekeeperAuditStale',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      const endTime = /\bgatekeeper_audit_last_run_end_time\{([^}]*)\}/.exec(rule.expr)?.[1] ?? '';
      const last = `gatekeeper_audit_last_run_end_time{${endTime},pod="gatekeeper-audit-x"}`;
      return [
        {
          name: 'GatekeeperAuditStale: fires with no audit series at all',
          interval: '1m',
          input_series: [{ series: 'up{job="other"}', values: `1x${end}` }],
          alert_rule_test: [
            at(rule, wait + 1, [
              fires(
                rule,
                Object.fromEntries(
                  [...endTime.matchAll(/(\w+)="([^"]*)"/g)].map(
                    ([, k, v]) => [k, v] as [string, string],
                  ),
                ),
              ),
            ]),
          ],
        },
        {
          name: 'GatekeeperAuditStale: fires when the last run ended long ago',
          interval: '1m',
          input_series: [{ series: last, values: `${LONG_AGO}x${end}` }],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, {})])],
        },
        {
          name: 'GatekeeperAuditStale: silent while runs end every minute',
          interval: '1m',
          input_series: [{ series: last, values: `0+60x${end}` }],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
      ];
    },
  },
  {
    alert: 'GatekeeperAuditViolations',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      const namespace = labelValue(
        rule.expr,
        'gatekeeper_violations',
        'namespace',
        'x',
        'gatekeeper-system',
      );
      const violations = (action: string) =>
        `gatekeeper_violations{namespace="${namespace}",pod="gatekeeper-audit-x",enforcement_action="${action}"}`;
      return [
        {
          name: 'GatekeeperAuditViolations: fires for deny violations; silent for dry-run and warn ones',
          interval: '1m',
          input_series: [
            { series: violations('deny'), values: `0x9 2x${end}` },
            { series: violations('dryrun'), values: `5x${end + 10}` },
            { series: violations('warn'), values: `5x${end + 10}` },
          ],
          alert_rule_test: [at(rule, 9 + wait, []), at(rule, 11 + wait, [fires(rule, {})])],
        },
      ];
    },
  },
  {
    alert: 'GatekeeperAdmissionPoliciesFailing',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      const namespace = labelValue(
        rule.expr,
        'gatekeeper_validating_admission_policies',
        'namespace',
        'x',
        'gatekeeper-system',
      );
      // Gatekeeper 3.23.0's gauges, one series per status (pkg/metrics/vapstatus.go)
      const series = (metric: string, status: string) =>
        `${metric}{namespace="${namespace}",pod="gatekeeper-audit-x",status="${status}"}`;
      const policies = 'gatekeeper_validating_admission_policies';
      const bindings = 'gatekeeper_validating_admission_policy_bindings';
      return [
        {
          name: 'GatekeeperAdmissionPoliciesFailing: fires for a policy that failed; silent while all are active',
          interval: '1m',
          input_series: [
            { series: series(policies, 'active'), values: `7x${end + 10}` },
            { series: series(policies, 'error'), values: `0x9 1x${end}` },
            { series: series(bindings, 'active'), values: `7x${end + 10}` },
            { series: series(bindings, 'error'), values: `0x${end + 10}` },
          ],
          alert_rule_test: [at(rule, 9 + wait, []), at(rule, 11 + wait, [fires(rule, {})])],
        },
        {
          name: 'GatekeeperAdmissionPoliciesFailing: fires for a binding that failed',
          interval: '1m',
          input_series: [
            { series: series(policies, 'error'), values: `0x${end + 10}` },
            { series: series(bindings, 'error'), values: `0x9 2x${end}` },
          ],
          alert_rule_test: [at(rule, 9 + wait, []), at(rule, 11 + wait, [fires(rule, {})])],
        },
      ];
    },
  },
  {
    alert: 'CertificateRenewalOverdue',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // cert-manager v1.21.1's series, as the scrape labels it (the Certificate's namespace renamed).
      const renewal = (name: string) =>
        `certmanager_certificate_renewal_timestamp_seconds{namespace="cert-manager",job="cert-manager",name="${name}",exported_namespace="gateway",issuer_name="lab",issuer_kind="ClusterIssuer",issuer_group="cert-manager.io"}`;
      const labels = (name: string) =>
        Object.fromEntries(
          [...renewal(name).matchAll(/(\w+)="([^"]+)"/g)].map(
            ([, k, v]) => [k, v] as [string, string],
          ),
        );
      return [
        {
          name: 'CertificateRenewalOverdue: fires for a renewal time days in the past; silent for one an hour past and one to come',
          interval: '1m',
          input_series: [
            { series: renewal('stuck'), values: `${-3 * 86400}x${end}` },
            { series: renewal('renewing'), values: `${-3600}x${end}` },
            { series: renewal('fresh'), values: `${60 * 86400}x${end}` },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, labels('stuck'))]),
          ],
        },
      ];
    },
  },
  {
    alert: 'AutheliaDown',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // The rule's `up` selector (the Authelia component's namespace and Service); the ones the
      // reference deploys for a rule that has none (broken on purpose).
      const matchers =
        /\bup\{([^}]*)\}/.exec(rule.expr)?.[1] ?? 'namespace="authelia", service="authelia"';
      const up = (pod: string) => `up{${matchers},job="authelia",pod="${pod}"}`;
      return [
        {
          name: 'AutheliaDown: fires with no Authelia target at all',
          interval: '1m',
          input_series: [
            {
              series: 'up{namespace="monitoring",service="other",job="other"}',
              values: `1x${end}`,
            },
          ],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, {})]),
          ],
        },
        {
          name: 'AutheliaDown: fires when every target is down',
          interval: '1m',
          input_series: [
            { series: up('authelia-a'), values: `0x${end}` },
            { series: up('authelia-b'), values: `0x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, {})])],
        },
        {
          name: 'AutheliaDown: silent while a target is up',
          interval: '1m',
          input_series: [
            { series: up('authelia-a'), values: `0x${end}` },
            { series: up('authelia-b'), values: `1x${end}` },
          ],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
      ];
    },
  },
  {
    alert: 'LonghornBackupFailed',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 20;
      const series = (backup: string) =>
        `longhorn_backup_state{volume="pvc-1",backup="${backup}",recurring_job="standard-backup"}`;
      return [
        {
          name: 'LonghornBackupFailed: a backup in Error fires after its `for`; one in progress, completed, or failed and then deleted by Longhorn, never',
          interval: '1m',
          input_series: [
            // In progress, then Error for good.
            { series: series('failed'), values: `2x4 4x${end - 5}` },
            // In progress, then completed.
            { series: series('done'), values: `2x4 3x${end - 5}` },
            // Error for a minute, then gone (Longhorn deleted it).
            { series: series('deleted'), values: '2x4 4 _' },
          ],
          alert_rule_test: [
            at(rule, 5, []),
            at(rule, 5 + wait + 1, [
              fires(rule, { volume: 'pvc-1', backup: 'failed', recurring_job: 'standard-backup' }),
            ]),
          ],
        },
      ];
    },
  },
  {
    alert: 'BitwardenOperatorErrors',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 60;
      const ns = labelValue(
        rule.expr,
        'controller_runtime_reconcile_errors_total',
        'namespace',
        'x',
        'sm-operator-system',
      );
      const errors = `controller_runtime_reconcile_errors_total{namespace="${ns}",controller="bitwardensecret"}`;
      // One error every 17 minutes: a BitwardenSecret retried at controller-runtime's longest
      // backoff (1000 s).
      const every17 = Array.from({ length: end + 1 }, (_, minute) => Math.floor(minute / 17)).join(
        ' ',
      );
      return [
        {
          name: 'BitwardenOperatorErrors: one BitwardenSecret failing at the longest backoff fires after its `for`',
          interval: '1m',
          input_series: [{ series: errors, values: every17 }],
          alert_rule_test: [at(rule, wait + 20, [fires(rule, {})])],
        },
        {
          // A failure that passes: controller-runtime retries at once (5 ms, doubling), ten
          // errors within a second, then the sync succeeds.
          name: 'BitwardenOperatorErrors: a burst of errors that passes, never',
          interval: '1m',
          input_series: [
            {
              series: errors,
              values: Array.from({ length: end + 1 }, (_, minute) => (minute < 10 ? 0 : 10)).join(
                ' ',
              ),
            },
          ],
          alert_rule_test: [10 + wait, end - 1].map((minute) => at(rule, minute, [])),
        },
        {
          name: 'BitwardenOperatorErrors: no error, never',
          interval: '1m',
          input_series: [{ series: errors, values: `0x${end}` }],
          alert_rule_test: [at(rule, wait + 20, [])],
        },
      ];
    },
  },
  {
    alert: 'SnapshotControllerUnavailable',
    groups: (rule) => {
      const wait = minutes(rule.for);
      const end = wait + 10;
      // The namespace of the rule's kube-state-metrics selector (the snapshot-controller
      // component's); the alert carries no labels of the series (absent() of a comparison).
      const namespace = labelValue(
        rule.expr,
        'kube_deployment_status_replicas_available',
        'namespace',
        'x',
        'snapshot-controller',
      );
      const available = `kube_deployment_status_replicas_available{namespace="${namespace}",deployment="snapshot-controller"}`;
      const other = 'kube_deployment_status_replicas_available{namespace="other",deployment="web"}';
      return [
        {
          name: 'SnapshotControllerUnavailable: fires when the Deployment is gone (no series)',
          interval: '1m',
          input_series: [{ series: other, values: `1x${end}` }],
          alert_rule_test: [
            ...(wait >= 2 ? [at(rule, wait - 1, [])] : []),
            at(rule, wait + 1, [fires(rule, {})]),
          ],
        },
        {
          name: 'SnapshotControllerUnavailable: fires when no replica is available',
          interval: '1m',
          input_series: [{ series: available, values: `0x${end}` }],
          alert_rule_test: [at(rule, wait + 1, [fires(rule, {})])],
        },
        {
          name: 'SnapshotControllerUnavailable: silent while a replica is available',
          interval: '1m',
          input_series: [{ series: available, values: `1x${end}` }],
          alert_rule_test: [at(rule, wait + 1, [])],
        },
      ];
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The suite

const promtool = findPromtool();
const helm = findHelm();
let scratch = '';
const timings = { checkSeconds: 0, scenarioRuns: 0, scenarioGroups: 0 };
const start = Date.now();

/** Writes `file` (rule file) and a unit-test file for `groups` in a fresh folder; runs promtool. */
function testRules(file: RuleFile, groups: readonly TestGroup[]): Run {
  const dir = mkdtempSync(join(scratch, 'test-'));
  writeFileSync(join(dir, 'rules.yaml'), JSON.stringify(file, null, 1));
  writeFileSync(
    join(dir, 'test.yaml'),
    JSON.stringify(
      { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: groups },
      null,
      1,
    ),
  );
  timings.scenarioRuns++;
  timings.scenarioGroups += groups.length;
  return runPromtool(promtool as Promtool, ['test', 'rules', 'test.yaml'], dir);
}

/** A rule file of one group holding `rule`. */
function ruleFileWith(rule: AlertRule): RuleFile {
  return {
    groups: [{ name: 'broken-on-purpose', rules: [rule as unknown as Record<string, unknown>] }],
  };
}

const { suite, title } = toolSuite('promtool', promtool, INSTALL);

suite(title, () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-promtool-'));
  });
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    console.log(
      `promtool suite: ${timings.scenarioRuns} promtool test runs (${timings.scenarioGroups} scenario groups), check rules ${timings.checkSeconds.toFixed(1)} s, ${((Date.now() - start) / 1000).toFixed(1)} s in all`,
    );
  });

  it(`is the promtool of Prometheus ${PROMETHEUS_VERSION}, which kube-prometheus-stack 88.5.3 deploys`, () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    expect(promtool.version).toBe(PROMETHEUS_VERSION);
  });

  const helmRuns = helm !== undefined || IN_CI;
  if (!helmRuns && promtool !== undefined)
    console.log('promtool suite: not run: check rules of the Helm renders (helm not found)');
  (helmRuns ? it : it.skip)(
    'accepts every PrometheusRule Helm renders for every cluster (promtool check rules), and prints its warnings',
    () => {
      if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
      if (helm === undefined)
        expect.fail('helm not found on PATH (.ci/run installs it: .ci/install-helm)');
      const began = Date.now();
      const home = join(scratch, '.helm-home');
      mkdirSync(home, { recursive: true });
      const charts = join(scratch, 'charts');
      mkdirSync(charts, { recursive: true });
      const rulesDir = join(scratch, 'rules');
      mkdirSync(rulesDir, { recursive: true });
      const files: string[] = [];
      const failures: string[] = [];
      const perCluster = new Map<string, number>();
      for (const render of discovery.renders as readonly ChartRender[]) {
        const prepared = prepareChart(render, charts);
        const result = runHelm(helm, templateArgs(render, prepared), prepared.dir, home);
        if (result.status !== 0) {
          failures.push(
            `${render.cluster} ${render.path}: helm template failed: ${result.stderr.trim()}`,
          );
          continue;
        }
        for (const { object } of splitHelmOutput(result.stdout)) {
          if (!isPrometheusRule(object)) continue;
          const name = `${render.cluster}--${object.metadata.namespace ?? render.namespace}--${object.metadata.name}.yaml`;
          writeFileSync(join(rulesDir, name), JSON.stringify(ruleFileOf(object), null, 1));
          files.push(name);
          perCluster.set(render.cluster, (perCluster.get(render.cluster) ?? 0) + 1);
        }
      }
      expect(failures).toEqual([]);
      if (files.length === 0) {
        console.log(
          'promtool suite: no PrometheusRule in the committed output (no cluster deploys monitoring)',
        );
        return;
      }
      const run = runPromtool(
        promtool,
        ['check', 'rules', '--lint=all', ...files.sort()],
        rulesDir,
      );
      timings.checkSeconds = (Date.now() - began) / 1000;
      const rules = [...run.output.matchAll(/SUCCESS: (\d+) rules found/g)].reduce(
        (sum, [, n]) => sum + Number(n),
        0,
      );
      // Per file: what promtool said besides "SUCCESS" (lint findings; errors fail below).
      const warnings: string[] = [];
      for (const block of run.output.split(/^Checking /m).slice(1)) {
        const [file, ...lines] = block.split('\n');
        const said = lines
          .map((line) => line.trim())
          .filter((line) => line !== '' && !/^SUCCESS: \d+ rules found$/.test(line));
        if (said.length > 0) warnings.push(`${file}: ${said.join(' / ')}`);
      }
      console.log(
        `promtool suite: check rules: ${files.length} PrometheusRules, ${rules} rules (${[...perCluster].map(([c, n]) => `${c}: ${n}`).join(', ')}), ${warnings.length} file(s) with lint warnings`,
      );
      for (const line of warnings) {
        // kube-prometheus-stack's kube-apiserver-availability.rules record
        // code_verb:apiserver_request_total:increase1h from four selectors (code 2xx, 3xx, 4xx,
        // 5xx): one name, disjoint series (each keeps its `code`), so no conflict.
        const known = line.includes('code_verb:apiserver_request_total:increase1h')
          ? ' (upstream kubernetes-mixin: four disjoint selectors, one per status class)'
          : '';
        console.log(`promtool suite: promtool warned: ${line}${known}`);
      }
      expect(run.status, run.output).toBe(0);
      expect(rules).toBeGreaterThan(0);
    },
    15 * 60_000,
  );

  it('refuses a rule with a syntax error (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const dir = mkdtempSync(join(scratch, 'broken-'));
    writeFileSync(
      join(dir, 'rules.yaml'),
      JSON.stringify(
        ruleFileWith({ alert: 'Broken', expr: 'sum(up{job="x"}', labels: { severity: 'warning' } }),
      ),
    );
    const run = runPromtool(promtool, ['check', 'rules', 'rules.yaml'], dir);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/FAILED:[\s\S]*parse error/);
  });

  for (const scenario of SCENARIOS) {
    let found = ownAlerts.get(scenario.alert) ?? [];
    let of = '';
    if (found.length === 0) {
      // Not deployed by the user's definition: its scenarios run on the reference's rule.
      found = referenceAlertsOf().get(scenario.alert) ?? [];
      of = ' of examples/reference';
      console.log(
        `promtool suite: no cluster deploys ${scenario.alert}: its scenarios run on the rule${of} (${found.length === 0 ? 'none there either' : found.map(({ cluster }) => cluster).join(', ')})`,
      );
    }
    if (found.length === 0) {
      it.skip(`${scenario.alert}: not run (no cluster deploys it)`, () => {});
      continue;
    }
    for (const { cluster, rule, file } of found) {
      it(`${scenario.alert} on ${cluster}${of} behaves as its scenarios say (promtool test rules)`, () => {
        if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
        const run = testRules(file, scenario.groups(rule));
        expect(run.status, run.output).toBe(0);
      });
    }
  }

  // Broken on purpose, on rules of their own (they hold whatever the definition deploys).
  const stand = (alert: string, expr: string, wait?: string): AlertRule => ({
    alert,
    expr,
    ...(wait === undefined ? {} : { for: wait }),
    labels: { severity: 'critical', component: 'broken-on-purpose' },
    annotations: { summary: 'broken on purpose' },
  });
  const scenarioOf = (alert: string) => SCENARIOS.find((s) => s.alert === alert) as Scenario;

  it('fails a scenario whose expression never fires: CoreDNSDown as sum(up) < 1 with no target (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const rule = stand(
      'CoreDNSDown',
      'sum(up{namespace="kube-system",service="kube-dns"}) < 1',
      '2m',
    );
    const right = stand(
      'CoreDNSDown',
      'absent(up{namespace="kube-system",service="kube-dns"} == 1)',
      '2m',
    );
    expect(testRules(ruleFileWith(right), scenarioOf('CoreDNSDown').groups(right)).status).toBe(0);
    const run = testRules(ruleFileWith(rule), scenarioOf('CoreDNSDown').groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('CoreDNSDown: fires when there is no CoreDNS target at all');
    expect(run.output).toMatch(/alertname: CoreDNSDown, time: 3m,\s*exp:\[\s*0:\s*Labels:\{/);
  });

  it('fails the scenario of an Application Argo CD cannot compare on the OutOfSync selector, which never sees Unknown (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const rule = stand(
      'ArgoCDApplicationComparisonFailed',
      'argocd_app_info{sync_status="OutOfSync"} == 1',
      '15m',
    );
    const right = stand(
      'ArgoCDApplicationComparisonFailed',
      'argocd_app_info{sync_status="Unknown"} == 1',
      '15m',
    );
    const scenario = scenarioOf('ArgoCDApplicationComparisonFailed');
    expect(testRules(ruleFileWith(right), scenario.groups(right)).status).toBe(0);
    const run = testRules(ruleFileWith(rule), scenario.groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/name="broken"[\s\S]*got:\[\s*0:\s*Labels:\{[^}]*name="drifted"/);
  });

  it('fails the scenario of Authelia gone on a ratio of its requests, which is empty then (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const rule = stand(
      'AutheliaDown',
      '100 * sum(rate(authelia_request{code=~"5.."}[5m])) / sum(rate(authelia_request[5m])) > 5',
      '5m',
    );
    const right = stand(
      'AutheliaDown',
      'absent(up{namespace="authelia", service="authelia"} == 1)',
      '5m',
    );
    const scenario = scenarioOf('AutheliaDown');
    expect(testRules(ruleFileWith(right), scenario.groups(right)).status).toBe(0);
    const run = testRules(ruleFileWith(rule), scenario.groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('AutheliaDown: fires with no Authelia target at all');
  });

  it('fails a scenario whose Deployment is gone: SnapshotControllerUnavailable as sum(…) < 1 (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const selector = 'kube_deployment_status_replicas_available{namespace="snapshot-controller"}';
    const rule = stand('SnapshotControllerUnavailable', `sum(${selector}) < 1`, '10m');
    const right = stand('SnapshotControllerUnavailable', `absent(${selector} >= 1)`, '10m');
    const scenario = scenarioOf('SnapshotControllerUnavailable');
    expect(testRules(ruleFileWith(right), scenario.groups(right)).status).toBe(0);
    const run = testRules(ruleFileWith(rule), scenario.groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      'SnapshotControllerUnavailable: fires when the Deployment is gone (no series)',
    );
  });

  it('fails the scenario of a lost L2 announcement on a rule that only asks for the lease to exist: a released or stale lease looks announced (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const service =
      'label_replace(label_join(max by (namespace, service) (kube_service_status_load_balancer_ingress{ip!=""}), "lease", "-", "namespace", "service"), "lease", "cilium-l2announce-$1", "lease", "(.+)")';
    const rule = stand(
      'CiliumL2AnnouncementLost',
      `${service} unless on (lease) kube_lease_owner{namespace="kube-system"}`,
      '5m',
    );
    const right = stand(
      'CiliumL2AnnouncementLost',
      `${service} unless on (lease) (kube_lease_owner{namespace="kube-system", lease_holder!=""} and on (lease) (time() - kube_lease_renew_time{namespace="kube-system"} < 120))`,
      '5m',
    );
    const scenario = scenarioOf('CiliumL2AnnouncementLost');
    expect(testRules(ruleFileWith(right), scenario.groups(right)).status).toBe(0);
    const run = testRules(ruleFileWith(rule), scenario.groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('fires for an address whose lease is missing, held by no node');
    expect(run.output).toMatch(/exp:[\s\S]*service="released"[\s\S]*got:/);
  });

  it('fails the scenarios of a failed-run alert on kube_job_status_failed > 0: it keeps firing after a later success and fires for a retried pod (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const rule = stand(
      'EtcdBackupFailed',
      'kube_job_status_failed{namespace="talos-backup",job_name=~"talos-backup-.+"} > 0',
    );
    const run = testRules(
      ruleFileWith(rule),
      lastRunFailedScenarios(rule, 'talos-backup', 'talos-backup'),
    );
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('resolves when a later run succeeds');
    expect(run.output).toContain('silent for a Job whose pod failed and whose retry succeeded');
  });

  it("fails JobFailed's scenarios as kube-prometheus-stack's KubeJobFailed: a CronJob's failed Job kept in its history fires on after a later success (broken on purpose)", () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const rule = stand('JobFailed', 'kube_job_failed{namespace=~".*",condition="true"} > 0', '15m');
    const run = testRules(ruleFileWith(rule), scenarioOf('JobFailed').groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(
      'JobFailed: fires when the latest run failed, resolves when a later run succeeds',
    );
  });

  it('fails the day-one scenario of EtcdSnapshotTooOld as absent() of the last success: a new CronJob fires before its first run (broken on purpose)', () => {
    if (promtool === undefined) expect.fail(`promtool not found (${INSTALL})`);
    const last =
      'kube_cronjob_status_last_successful_time{namespace="talos-backup",cronjob="talos-backup"}';
    const rule = stand(
      'EtcdSnapshotTooOld',
      `(time() - max(${last})) / 3600 > 26 or absent(${last})`,
      '30m',
    );
    const run = testRules(ruleFileWith(rule), scenarioOf('EtcdSnapshotTooOld').groups(rule));
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('silent for a CronJob created a minute ago that has not run yet');
  });
});
