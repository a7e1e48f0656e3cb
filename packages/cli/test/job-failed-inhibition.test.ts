// One failed run of a CronJob notifies once: monitoring's JobFailed (any failed run) is inhibited by
// the critical alert another component raises for the same CronJob (the backups' EtcdBackupFailed
// and VolumeRestoreVerificationFailed), through the inhibit rule monitoring writes (labels
// `namespace`, `cronjob` equal, source `severity = critical`). A fact across two components: the
// rule is monitoring's, the alerts' severity and labels are the backups'. Read on the reference's
// generated output; broken on purpose by a failed-run alert turned warning.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeObject, parseYaml, type SystemInput } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerateResult, generate } from '../src/pipeline.js';

type Labels = Record<string, string>;
interface InhibitRule {
  readonly source_matchers?: string[];
  readonly target_matchers: string[];
  readonly equal?: string[];
}
interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels?: Labels;
}

const definition = readFileSync(join(repoRoot(), 'examples/reference/platform.yaml'), 'utf8');

/** Alertmanager's matcher (`name = value`, `name =~ regexp`) on an alert's labels. */
function matches(matcher: string, labels: Labels): boolean {
  const [, name = '', op, value = ''] = /^(\S+) (=~|=) (.*)$/.exec(matcher) ?? [];
  const actual = labels[name] ?? '';
  return op === '=' ? actual === value : new RegExp(`^(?:${value})$`).test(actual);
}

/** Alertmanager's inhibition (inhibit/inhibit.go): `target` is muted while `source` fires. */
function mutes(rules: readonly InhibitRule[], source: Labels, target: Labels): boolean {
  return rules.some(
    (rule) =>
      rule.target_matchers.every((m) => matches(m, target)) &&
      (rule.source_matchers ?? []).every((m) => matches(m, source)) &&
      (rule.equal ?? []).every((label) => (source[label] ?? '') === (target[label] ?? '')),
  );
}

/** The alert rules of every PrometheusRule among `objects`. */
function alertRules(objects: readonly KubeObject[]): AlertRule[] {
  return objects
    .filter((object) => object.kind === 'PrometheusRule')
    .flatMap((object) => (object.spec as { groups?: { rules?: AlertRule[] }[] }).groups ?? [])
    .flatMap((group) => group.rules ?? [])
    .filter((rule) => typeof rule.alert === 'string');
}

/**
 * The alerts on a CronJob's failed run (a Failed Job matched to its CronJob, one series per
 * CronJob: `by (namespace, cronjob)`) other than JobFailed itself, each as one firing instance
 * for a CronJob `ns/cj`, and whether it mutes JobFailed of that CronJob.
 */
function failedRunAlerts(rules: readonly AlertRule[], inhibit: readonly InhibitRule[]) {
  const jobFailed = rules.find((rule) => rule.alert === 'JobFailed');
  return rules
    .filter(
      (rule) =>
        rule.alert !== 'JobFailed' &&
        rule.expr.includes('kube_job_failed{') &&
        rule.expr.startsWith('count by (namespace, cronjob) '),
    )
    .map((rule) => {
      const instance = { namespace: 'ns', cronjob: 'cj' };
      const source = { ...rule.labels, alertname: rule.alert, ...instance };
      const target = { ...jobFailed?.labels, alertname: 'JobFailed', ...instance };
      return { alert: rule.alert, mutes: mutes(inhibit, source, target) };
    });
}

describe('JobFailed inhibited by the critical alert of its CronJob', { timeout: 180_000 }, () => {
  let result: GenerateResult;
  let seen: SystemInput | undefined;
  beforeAll(async () => {
    result = await generate(
      { text: definition, file: 'platform.yaml', chartVersions: {} },
      {
        beforeSystemChecks: (input) => {
          seen = input;
          return input;
        },
      },
    );
  }, 120_000);

  const inhibitRules = (cluster: string): InhibitRule[] => {
    const layer = result.files.find(
      (file) => file.path === `charts/monitoring/clusters/${cluster}.yaml`,
    );
    const values = parseYaml(layer?.content ?? '') as {
      'kube-prometheus-stack'?: { alertmanager?: { config?: { inhibit_rules?: InhibitRule[] } } };
    };
    return values['kube-prometheus-stack']?.alertmanager?.config?.inhibit_rules ?? [];
  };
  const objects = (cluster: string): KubeObject[] =>
    (seen?.clusters.find((deployed) => deployed.cluster.name === cluster)?.applications ?? [])
      .flatMap((app) => app.objects)
      .map((item) => item.object);

  it('has every failed-run alert of a CronJob mute JobFailed of the same CronJob, on every cluster of the reference', () => {
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    for (const cluster of ['dev', 'staging', 'prod']) {
      const found = failedRunAlerts(alertRules(objects(cluster)), inhibitRules(cluster));
      expect(found, cluster).toEqual([
        { alert: 'VolumeRestoreVerificationFailed', mutes: true },
        { alert: 'EtcdBackupFailed', mutes: true },
      ]);
    }
  });

  it('finds a failed-run alert turned warning, which no longer mutes JobFailed (both would notify)', () => {
    const rules = alertRules(objects('dev')).map((rule) =>
      rule.alert === 'EtcdBackupFailed'
        ? { ...rule, labels: { ...rule.labels, severity: 'warning' } }
        : rule,
    );
    expect(failedRunAlerts(rules, inhibitRules('dev'))).toEqual([
      { alert: 'VolumeRestoreVerificationFailed', mutes: true },
      { alert: 'EtcdBackupFailed', mutes: false },
    ]);
    // And without monitoring's rule for CronJobs, none does
    const kept = inhibitRules('dev').filter(
      (rule) => !rule.target_matchers.includes('alertname = JobFailed'),
    );
    expect(failedRunAlerts(alertRules(objects('dev')), kept).map((alert) => alert.mutes)).toEqual([
      false,
      false,
    ]);
  });
});
