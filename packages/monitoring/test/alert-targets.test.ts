// Alerts against what the cluster scrapes (src/alert-targets.ts). The Helm suite
// (apps/homelab/test/helm.test.ts) runs the check on every cluster's real renders and breaks it
// with kube-prometheus-stack's kube-proxy and scheduler defaults.
import type { KubeObject } from '@homelab/core';
import { describe, expect, test } from 'vitest';
import {
  alertTargetProblems,
  clusterMadeServices,
  scrapeTargets,
  seriesSelectors,
} from '../src/alert-targets.js';

const API = 'monitoring.coreos.com/v1';

const service = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  selector: Record<string, string> | undefined,
  ports: string[],
): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { ...(selector ? { selector } : {}), ports: ports.map((port) => ({ name: port })) },
  }) as KubeObject;

const deployment = (name: string, namespace: string, labels: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      template: {
        metadata: { labels },
        spec: { containers: [{ name, ports: [{ name: 'metrics', containerPort: 9000 }] }] },
      },
    },
  }) as KubeObject;

const serviceMonitor = (
  name: string,
  namespaces: string[],
  matchLabels: Record<string, string>,
  port: string,
  jobLabel?: string,
): KubeObject =>
  ({
    apiVersion: API,
    kind: 'ServiceMonitor',
    metadata: { name, namespace: 'monitoring' },
    spec: {
      ...(jobLabel ? { jobLabel } : {}),
      namespaceSelector: { matchNames: namespaces },
      selector: { matchLabels },
      endpoints: [{ port }],
    },
  }) as KubeObject;

const rule = (alert: string, expr: string): KubeObject =>
  ({
    apiVersion: API,
    kind: 'PrometheusRule',
    metadata: { name: 'rules', namespace: 'monitoring' },
    spec: {
      groups: [
        {
          name: 'g',
          rules: [
            { alert, expr },
            { record: 'r', expr: 'up{job="x"}' },
          ],
        },
      ],
    },
  }) as KubeObject;

describe('seriesSelectors', () => {
  test('finds every vector selector with its matchers, inside functions, ranges and operators', () => {
    expect(
      seriesSelectors(
        'absent(up{job="kube-scheduler"} == 1) or sum(rate(coredns_dns_responses_total{namespace="coredns", rcode=~"SERV.*"}[5m])) > 0',
      ),
    ).toEqual([
      { metric: 'up', matchers: [{ label: 'job', op: '=', value: 'kube-scheduler' }] },
      {
        metric: 'coredns_dns_responses_total',
        matchers: [
          { label: 'namespace', op: '=', value: 'coredns' },
          { label: 'rcode', op: '=~', value: 'SERV.*' },
        ],
      },
    ]);
  });
});

describe('scrapeTargets', () => {
  const objects = [
    service(
      'cilium-agent',
      'kube-system',
      { 'app.kubernetes.io/name': 'cilium-agent' },
      { app: 'a' },
      ['metrics'],
    ),
    deployment('a', 'kube-system', { app: 'a' }),
    // kube-prometheus-stack's scheduler Service without a selector, at the node addresses.
    service(
      'monitoring-kube-scheduler',
      'kube-system',
      { app: 's', jobLabel: 'kube-scheduler' },
      undefined,
      ['http-metrics'],
    ),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'monitoring-kube-scheduler', namespace: 'kube-system' },
      subsets: [{ addresses: [{ ip: '10.0.0.1' }] }],
    } as unknown as KubeObject,
    serviceMonitor(
      'agent',
      ['kube-system'],
      { 'app.kubernetes.io/name': 'cilium-agent' },
      'metrics',
    ),
    serviceMonitor('scheduler', ['kube-system'], { app: 's' }, 'http-metrics', 'jobLabel'),
  ];

  test("names a ServiceMonitor target's job by its Service, or the Service's jobLabel label", () => {
    expect(
      scrapeTargets(objects).map((target) => [target.job, target.namespace, target.service]),
    ).toEqual([
      ['cilium-agent', 'kube-system', 'cilium-agent'],
      ['kube-scheduler', 'kube-system', 'monitoring-kube-scheduler'],
    ]);
  });

  test('finds no target on a Service whose pods nothing deploys, on a port it lacks, or in another namespace', () => {
    const proxy = service('kube-proxy', 'kube-system', { app: 'p' }, { 'k8s-app': 'kube-proxy' }, [
      'http-metrics',
    ]);
    expect(
      scrapeTargets([proxy, serviceMonitor('p', ['kube-system'], { app: 'p' }, 'http-metrics')]),
    ).toEqual([]);
    expect(
      scrapeTargets([
        ...objects.slice(0, 2),
        serviceMonitor('x', ['kube-system'], { 'app.kubernetes.io/name': 'cilium-agent' }, 'https'),
      ]),
    ).toEqual([]);
    expect(
      scrapeTargets([
        ...objects.slice(0, 2),
        serviceMonitor('x', ['cilium'], { 'app.kubernetes.io/name': 'cilium-agent' }, 'metrics'),
      ]),
    ).toEqual([]);
  });

  test("reads a monitor's matchExpressions: a Service they leave out is no target", () => {
    const withExpression = (operator: string, values: string[]): KubeObject => {
      const monitor = serviceMonitor('agent', ['kube-system'], {}, 'metrics');
      (monitor.spec as { selector: unknown }).selector = {
        matchExpressions: [{ key: 'app.kubernetes.io/name', operator, values }],
      };
      return monitor;
    };
    const jobs = (monitor: KubeObject) =>
      scrapeTargets([...objects.slice(0, 2), monitor]).map((target) => target.job);
    expect(jobs(withExpression('In', ['cilium-agent', 'hubble']))).toEqual(['cilium-agent']);
    expect(jobs(withExpression('NotIn', ['cilium-agent']))).toEqual([]);
    expect(jobs(withExpression('DoesNotExist', []))).toEqual([]);
  });

  test("names a PodMonitor's job <namespace>/<name>, and finds the operator's Prometheus pods and the kubelet Service", () => {
    const podMonitor = {
      apiVersion: API,
      kind: 'PodMonitor',
      metadata: { name: 'gatekeeper', namespace: 'monitoring' },
      spec: {
        namespaceSelector: { matchNames: ['gatekeeper-system'] },
        selector: { matchLabels: { app: 'g' } },
        podMetricsEndpoints: [{ port: 'metrics' }],
      },
    } as unknown as KubeObject;
    const prometheus = {
      apiVersion: API,
      kind: 'Prometheus',
      metadata: { name: 'p', namespace: 'monitoring' },
      spec: {},
    } as KubeObject;
    const operator = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'operator', namespace: 'monitoring' },
      spec: {
        template: {
          spec: { containers: [{ args: ['--kubelet-service=kube-system/monitoring-kubelet'] }] },
        },
      },
    } as unknown as KubeObject;
    const all = [
      podMonitor,
      deployment('g', 'gatekeeper-system', { app: 'g' }),
      prometheus,
      operator,
      service(
        'p',
        'monitoring',
        {},
        { 'app.kubernetes.io/name': 'prometheus', 'operator.prometheus.io/name': 'p' },
        ['http-web'],
      ),
      serviceMonitor('prometheus', ['monitoring'], {}, 'http-web'),
      serviceMonitor(
        'kubelet',
        ['kube-system'],
        { 'k8s-app': 'kubelet' },
        'https-metrics',
        'k8s-app',
      ),
    ];
    expect(
      scrapeTargets(all, clusterMadeServices(all))
        .map((target) => target.job)
        .sort(),
    ).toEqual(['kubelet', 'monitoring/gatekeeper', 'p']);
  });
});

describe('alertTargetProblems', () => {
  const objects = [
    service('kube-dns', 'coredns', {}, { 'k8s-app': 'kube-dns' }, ['metrics']),
    deployment('coredns', 'coredns', { 'k8s-app': 'kube-dns' }),
    serviceMonitor('coredns', ['coredns'], {}, 'metrics'),
  ];

  test('passes an alert on a scraped job, Service and namespace; recording rules are left alone', () => {
    expect(
      alertTargetProblems([
        ...objects,
        rule(
          'CoreDNSDown',
          'absent(up{namespace="coredns", service="kube-dns", job=~"kube-.*"} == 1)',
        ),
      ]),
    ).toEqual([]);
  });

  test('names an alert on a job nothing scrapes (fires for ever with absent, never with == 0)', () => {
    expect(
      alertTargetProblems([...objects, rule('KubeProxyDown', 'absent(up{job="kube-proxy"} == 1)')]),
    ).toEqual([
      'PrometheusRule monitoring/rules: alert KubeProxyDown selects up{job="kube-proxy"}, which no ServiceMonitor or PodMonitor on the cluster scrapes',
    ]);
    expect(
      alertTargetProblems([
        ...objects,
        rule('CoreDNSDown', 'sum(up{namespace="kube-system", service="kube-dns"}) < 1'),
      ]),
    ).toEqual([
      'PrometheusRule monitoring/rules: alert CoreDNSDown selects up{namespace="kube-system",service="kube-dns"}, which no ServiceMonitor or PodMonitor on the cluster scrapes',
    ]);
  });

  test('names an alert on a metric family whose exporter nothing scrapes, though it names no job: it can never fire', () => {
    const longhorn = [
      service('longhorn-backend', 'longhorn-system', { app: 'longhorn-manager' }, { app: 'lm' }, [
        'metrics',
      ]),
      deployment('lm', 'longhorn-system', { app: 'lm' }),
    ];
    const faulted = rule('LonghornVolumeFaulted', 'longhorn_volume_robustness == 3');
    // Its Service is there, but no ServiceMonitor selects it.
    expect(alertTargetProblems([...objects, ...longhorn, faulted])).toEqual([
      'PrometheusRule monitoring/rules: alert LonghornVolumeFaulted reads longhorn_volume_robustness, which only longhorn-manager exports, and nothing on the cluster scrapes it',
    ]);
    const monitor = serviceMonitor(
      'longhorn',
      ['longhorn-system'],
      { app: 'longhorn-manager' },
      'metrics',
    );
    expect(alertTargetProblems([...objects, ...longhorn, monitor, faulted])).toEqual([]);
    // A family CoreDNS exports, scraped; a recording rule's series (level:metric:ops) and a
    // metric of no listed family are left alone.
    expect(
      alertTargetProblems([
        ...objects,
        rule('CoreDNSServfail', 'sum(rate(coredns_dns_responses_total{rcode="SERVFAIL"}[5m])) > 1'),
        rule(
          'Overcommit',
          'sum(node_namespace_pod_container:container_memory_working_set_bytes) > 1',
        ),
        rule('Other', 'some_exporter_metric > 1'),
      ]),
    ).toEqual([]);
    // The VolSync controller's family where nothing scrapes it.
    expect(
      alertTargetProblems([
        ...objects,
        rule('VolumeBackupOutOfSync', 'volsync_volume_out_of_sync{role="source"} == 1'),
      ]),
    ).toEqual([
      'PrometheusRule monitoring/rules: alert VolumeBackupOutOfSync reads volsync_volume_out_of_sync, which only the VolSync controller exports, and nothing on the cluster scrapes it',
    ]);
  });

  describe("kube-state-metrics' collectors", () => {
    // As kube-prometheus-stack 88.5.3's kube-state-metrics chart renders it: the Deployment with
    // `--resources` from its `collectors`, and a ClusterRole rule per collector.
    const ksm = (resources: string | undefined, rules: Record<string, unknown>[]): KubeObject[] => [
      service(
        'kube-state-metrics',
        'monitoring',
        { 'app.kubernetes.io/name': 'kube-state-metrics' },
        {
          'app.kubernetes.io/name': 'kube-state-metrics',
        },
        ['http'],
      ),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'kube-state-metrics', namespace: 'monitoring' },
        spec: {
          template: {
            metadata: { labels: { 'app.kubernetes.io/name': 'kube-state-metrics' } },
            spec: {
              serviceAccountName: 'kube-state-metrics',
              containers: [
                {
                  name: 'kube-state-metrics',
                  image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0',
                  args: [
                    '--port=8080',
                    ...(resources === undefined ? [] : [`--resources=${resources}`]),
                  ],
                  ports: [{ name: 'http', containerPort: 8080 }],
                },
              ],
            },
          },
        },
      } as KubeObject,
      serviceMonitor(
        'kube-state-metrics',
        ['monitoring'],
        { 'app.kubernetes.io/name': 'kube-state-metrics' },
        'http',
        'app.kubernetes.io/name',
      ),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'kube-state-metrics' },
        rules,
      } as unknown as KubeObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'kube-state-metrics' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'kube-state-metrics',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'kube-state-metrics', namespace: 'monitoring' }],
      } as unknown as KubeObject,
    ];
    const leases = {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['list', 'watch'],
    };
    const services = { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] };
    const lost = rule(
      'CiliumL2AnnouncementLost',
      'kube_service_status_load_balancer_ingress unless on (lease) (kube_lease_owner{lease_holder!=""} and on (lease) (time() - kube_lease_renew_time < 120))',
    );

    test('passes an alert on lease metrics where kube-state-metrics runs its leases collector and may list and watch leases', () => {
      expect(alertTargetProblems([...ksm('leases,services', [leases, services]), lost])).toEqual(
        [],
      );
      // Without --resources, kube-state-metrics 2.20.0 runs its default collectors, leases among them.
      expect(alertTargetProblems([...ksm(undefined, [leases, services]), lost])).toEqual([]);
      // A family of no collector (kube-state-metrics' own) is left alone.
      expect(
        alertTargetProblems([
          ...ksm('services', [services]),
          rule('X', 'kube_state_metrics_list_total > 1'),
        ]),
      ).toEqual([]);
    });

    test('names an alert on lease metrics where the leases collector is off (broken on purpose)', () => {
      expect(alertTargetProblems([...ksm('pods,services', [leases, services]), lost])).toEqual([
        'PrometheusRule monitoring/rules: alert CiliumL2AnnouncementLost reads kube_lease_owner, which kube-state-metrics never exports: Deployment monitoring/kube-state-metrics runs without its leases collector (--resources=pods,services)',
        'PrometheusRule monitoring/rules: alert CiliumL2AnnouncementLost reads kube_lease_renew_time, which kube-state-metrics never exports: Deployment monitoring/kube-state-metrics runs without its leases collector (--resources=pods,services)',
      ]);
    });

    test('names an alert on lease metrics where no role lets kube-state-metrics list and watch leases (broken on purpose)', () => {
      const want = (resource: string) =>
        `PrometheusRule monitoring/rules: alert CiliumL2AnnouncementLost reads ${resource}, which kube-state-metrics never exports: Deployment monitoring/kube-state-metrics's ServiceAccount monitoring/kube-state-metrics may not list and watch leases.coordination.k8s.io (no ClusterRole or Role bound to it grants both)`;
      const expected = [want('kube_lease_owner'), want('kube_lease_renew_time')];
      // No rule for leases; one in another group; one without watch.
      expect(alertTargetProblems([...ksm('leases,services', [services]), lost])).toEqual(expected);
      expect(
        alertTargetProblems([
          ...ksm('leases,services', [services, { ...leases, apiGroups: [''] }]),
          lost,
        ]),
      ).toEqual(expected);
      expect(
        alertTargetProblems([
          ...ksm('leases,services', [services, { ...leases, verbs: ['list'] }]),
          lost,
        ]),
      ).toEqual(expected);
      // A wildcard grants.
      expect(
        alertTargetProblems([
          ...ksm('leases,services', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
          lost,
        ]),
      ).toEqual([]);
    });
  });
});
