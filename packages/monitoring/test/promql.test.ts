// The PromQL check: the Prometheus grammar for the syntax, the argument types Prometheus checks
// on top of it.
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it, vi } from 'vitest';
import { promqlProblem, silentWhenAbsent } from '../src/promql.js';

describe('promqlProblem', () => {
  it.each([
    'up == 0',
    'sum by (namespace) (rate(container_cpu_usage_seconds_total[5m])) > 0.5',
    'histogram_quantile(0.99, sum by (le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))',
    '(time() - max(kube_cronjob_status_last_successful_time{cronjob="etcd-snapshot"})) / 3600 > 26 or absent(kube_cronjob_status_last_successful_time{cronjob="etcd-snapshot"})',
    'quantile_over_time(0.9, up[1h])',
    'predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0',
    'rate((http_requests_total[5m]))',
    'max_over_time(rate(http_requests_total[5m])[1h:5m])',
    'absent(up{job="cilium-operator"} == 1)',
  ])('accepts %s', (expr) => {
    expect(promqlProblem(expr)).toBeUndefined();
  });

  it.each([
    ['up = 0', 3, 'syntax error near "= 0"'],
    ['rate(up[5m]', 11, 'syntax error at the end'],
    ['sum(up) by', 10, 'syntax error at the end'],
    ['nosuchfunction(up)', 0, '"nosuchfunction" is not a PromQL function'],
    ['rate(up)', 5, 'rate() expects a range vector (e.g. x[5m]) as argument 1 near "up)"'],
    [
      'quantile_over_time(0.9, up)',
      24,
      'quantile_over_time() expects a range vector (e.g. x[5m]) as argument 2 near "up)"',
    ],
    ['rate()', 4, 'rate() is missing its range-vector argument'],
    [
      'up[5m] > 1',
      0,
      'a binary operator cannot take a range vector near "up[5m] > 1" (apply a function such as rate() first)',
    ],
    ['$threshold > 1', 0, 'syntax error near "$threshold >…"'],
    ['   ', 0, 'is empty'],
  ])('refuses %s at offset %i', (expr, offset, message) => {
    expect(promqlProblem(expr)).toEqual({ offset, message });
  });

  it('parses each distinct expression once and gives the same verdict again', () => {
    const parse = vi.spyOn(parser, 'parse');
    try {
      // Expressions no other test asks about: the verdicts are kept for the whole process.
      const good = 'count(up{job="memo-test"}) > 0';
      const bad = 'rate(memo_test_total) > 0';
      const first = [promqlProblem(good), promqlProblem(bad)];
      expect(parse).toHaveBeenCalledTimes(2);
      expect([promqlProblem(good), promqlProblem(bad)]).toEqual(first);
      expect(parse).toHaveBeenCalledTimes(2);
      // silentWhenAbsent reads the same parse (resolveRule asks both of every rule).
      expect([silentWhenAbsent(good), silentWhenAbsent(bad)]).toEqual([undefined, undefined]);
      expect(parse).toHaveBeenCalledTimes(2);
      expect(first).toEqual([
        undefined,
        {
          offset: 5,
          message: 'rate() expects a range vector (e.g. x[5m]) as argument 1 near "memo_test_to…"',
        },
      ]);
    } finally {
      parse.mockRestore();
    }
  });
});

describe('silentWhenAbsent', () => {
  it.each([
    [
      'sum(kube_deployment_status_replicas_available{namespace="x"}) < 1',
      'sum(kube_deployment_status_replicas_available{namespace="x"})',
    ],
    ['(count(up{job="a"} == 1)) <= 0', 'count(up{job="a"} == 1)'],
    ['count(up{job="a"}) == 0', 'count(up{job="a"})'],
    ['2 > sum(up{job="a"})', 'sum(up{job="a"})'],
    ['0 >= count(up)', 'count(up)'],
  ])('finds %s silent when nothing is left', (expr, aggregate) => {
    expect(silentWhenAbsent(expr)).toBe(aggregate);
  });

  it.each([
    // Handled: an or, absent(), vector(0), or a bool comparison that always returns a value.
    'sum(up{job="a"}) < 1 or absent(up{job="a"})',
    '(sum(up{job="a"}) or vector(0)) < 1',
    'absent(up{job="a"} == 1)',
    'sum(up) < bool 1',
    // Not "fire when nothing is left": false at 0, grouped, or another aggregation.
    'sum(up) > 0',
    'sum(up) < 0',
    'count(up) == 1',
    '1 < sum(up)',
    'sum by (namespace) (up) < 1',
    'min(up) < 1',
    'up < 1',
    'sum(up) < sum(down)',
  ])('leaves %s alone', (expr) => {
    expect(silentWhenAbsent(expr)).toBeUndefined();
  });
});
