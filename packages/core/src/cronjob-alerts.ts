// PromQL of alerts on CronJobs, from kube-state-metrics' series (2.20.0, the version
// kube-prometheus-stack 88.5.3 deploys): shared by the components that declare such alerts (the
// backups component's etcd snapshots and restore verifications, monitoring's own catalogue) so
// that each says the same thing the same way. promtool's scenarios (apps/homelab/test/promtool)
// run every alert built from them. Pure.

/**
 * kube-state-metrics matchers of a CronJob: its namespace (any when absent) and its name (a
 * regular expression when it has one's characters).
 */
export interface CronJobSelector {
  readonly namespace?: string;
  readonly cronjob: string;
}

function matchers(selector: CronJobSelector) {
  const op = /[.*+?]/.test(selector.cronjob) ? '=~' : '=';
  /** `name{namespace="…",extra…}`. */
  const series = (name: string, ...extra: string[]) => {
    const all = [
      ...(selector.namespace === undefined ? [] : [`namespace="${selector.namespace}"`]),
      ...extra,
    ];
    return all.length === 0 ? name : `${name}{${all.join(',')}}`;
  };
  return { op, series };
}

/**
 * The CronJobs (of `selector`) whose most recent finished run failed, one series per CronJob
 * (labels `namespace`, `cronjob`; value: the failed runs since its last success). A run failed when
 * its Job has the condition Failed (`kube_job_failed{condition="true"}`: the backoff limit or
 * deadline was exhausted); it is the most recent when the Job (matched to its CronJob by
 * `kube_job_owner`) started after the CronJob's last success
 * (`kube_cronjob_status_last_successful_time`, the completion of its latest successful Job), or the
 * CronJob never succeeded. A later successful run resolves it, though the failed Job stays in the
 * history (`failedJobsHistoryLimit`); a Job whose pod failed once and then succeeded on a retry has
 * no Failed condition and never counts (`kube_job_status_failed` counts failed pods, so it would).
 */
export function lastRunFailedExpr(selector: CronJobSelector): string {
  const { op, series } = matchers(selector);
  const started = `max by (namespace, job_name) (${series('kube_job_status_start_time')})`;
  const failed = `max by (namespace, job_name) (${series('kube_job_failed', 'condition="true"')}) == 1`;
  const owner = `max by (namespace, job_name, owner_name) (${series('kube_job_owner', 'owner_kind="CronJob"', `owner_name${op}"${selector.cronjob}"`)})`;
  const failedRuns = `label_replace((${started} and on (namespace, job_name) (${failed})) * on (namespace, job_name) group_left (owner_name) ${owner}, "cronjob", "$1", "owner_name", "(.+)")`;
  const lastSuccess = series(
    'kube_cronjob_status_last_successful_time',
    `cronjob${op}"${selector.cronjob}"`,
  );
  return `count by (namespace, cronjob) ((${failedRuns} > on (namespace, cronjob) group_left max by (namespace, cronjob) (${lastSuccess})) or (${failedRuns} unless on (namespace, cronjob) ${lastSuccess}))`;
}

/**
 * One CronJob (`selector`, a plain name) has had no successful run for more than `$threshold`
 * hours (the rule's threshold per environment): its last success is older than that; or it never
 * succeeded and was created longer ago than that (`kube_cronjob_created`: kube-state-metrics
 * reports a last success only once there is one, so a new CronJob waits for its first scheduled
 * run without an alert, while one whose runs never succeed is found once the allowed age has
 * passed); or there is no such CronJob at all (`absent`: a CronJob named wrongly, or not
 * deployed). Each case has the labels `namespace` and `cronjob`, so one alert goes on from one
 * case to the next and routes and inhibitions can match it.
 */
export function lastSuccessTooOldExpr(selector: CronJobSelector): string {
  const { series } = matchers(selector);
  const name = `cronjob="${selector.cronjob}"`;
  const last = series('kube_cronjob_status_last_successful_time', name);
  const created = series('kube_cronjob_created', name);
  const keep = 'max by (namespace, cronjob)';
  return `(time() - ${keep} (${last})) / 3600 > $threshold or ((time() - ${keep} (${created})) / 3600 > $threshold unless on (namespace, cronjob) ${last}) or absent(${created})`;
}
