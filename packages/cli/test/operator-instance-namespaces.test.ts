// Where the Prometheus Operator brings up Prometheus, Alertmanager and Thanos Ruler (the
// operator-instance-namespaces check, broken on purpose on the reference): the monitoring
// namespace only, the one the admission policies leave out as the platform's own. An instance in
// an application's namespace would have the operator copy that namespace's Secrets into its
// configuration.
import { describe, expect, it } from 'vitest';
import { broken, found, type Loose, withValues } from './broken-output.js';

const CODE = 'operator-instance-namespaces';

describe('operator-instance-namespaces on the reference', { timeout: 120_000 }, () => {
  it('passes on the reference as built', async () => {
    expect(found(await broken((input) => input), CODE)).toEqual([]);
  });

  it('refuses an operator left to bring up Prometheus in every namespace, on every cluster it runs on', async () => {
    const issues = found(
      await broken(
        withValues('charts/monitoring/values.yaml', (values: Loose) => {
          delete values['kube-prometheus-stack'].prometheusOperator.prometheusInstanceNamespaces;
        }),
      ),
      CODE,
    );
    expect(issues.map((issue) => issue.message)).toEqual(
      ['dev', 'staging', 'prod'].map(
        (cluster) =>
          `the Prometheus Operator on cluster "${cluster}" would bring up Prometheus (and PrometheusAgent) instances in every namespace: one made in an application's namespace gets that namespace's Secrets, the secrets provider's token among them, copied into its configuration, and the admission policies leave only "monitoring" out as the platform's own`,
      ),
    );
    expect(new Set(issues.map((issue) => issue.output))).toEqual(
      new Set([
        'charts/monitoring/values.yaml#kube-prometheus-stack.prometheusOperator.prometheusInstanceNamespaces',
      ]),
    );
  });

  it("refuses one cluster's values adding an application's namespace to Alertmanager's, and only there", async () => {
    const issues = found(
      await broken(
        withValues('charts/monitoring/clusters/prod.yaml', (values: Loose) => {
          values['kube-prometheus-stack'] ??= {};
          values['kube-prometheus-stack'].prometheusOperator = {
            alertmanagerInstanceNamespaces: ['monitoring', 'apps'],
          };
        }),
      ),
      CODE,
    );
    expect(issues.map((issue) => issue.output)).toEqual([
      'charts/monitoring/clusters/prod.yaml#kube-prometheus-stack.prometheusOperator.alertmanagerInstanceNamespaces',
    ]);
    expect(issues.map((issue) => issue.message)).toEqual([
      `the Prometheus Operator on cluster "prod" would bring up Alertmanager instances in monitoring, apps: one made in an application's namespace gets that namespace's Secrets, the secrets provider's token among them, copied into its configuration, and the admission policies leave only "monitoring" out as the platform's own`,
    ]);
  });
});
