// Alertmanager's webhook to a Service of the cluster on the reference platform (Cilium's default
// deny): the egress names the pods of the Service's namespace, never the Service's DNS name (a
// toFQDNs rule would allow the ClusterIP, which Cilium translates to a pod before the policy
// applies), the application's pods there admit Alertmanager, and the reachability check proves
// it; a namespace nothing of the definition deploys is a warning at the monitoring settings.
import { describe, expect, it } from 'vitest';
import { FILE, generateSeen, reference } from './broken-output.js';

/** The reference with one more Alertmanager receiver, a webhook to `url`. */
function withWebhook(url: string): string {
  const anchor = '      receivers:\n';
  if (!reference.includes(anchor)) throw new Error('no receivers in the reference');
  return reference.replace(
    anchor,
    `${anchor}        - name: app-hook\n          webhook:\n            url: ${url}\n`,
  );
}

const run = generateSeen;

// biome-ignore lint/suspicious/noExplicitAny: the tests read into the policies' specs.
type Loose = any;

describe("Alertmanager's webhook to a Service of the cluster", { timeout: 180_000 }, () => {
  it("reaches the application's pods behind the Service, admitted at their end, never by DNS name", async () => {
    const { issues, reports, objects } = await run(
      withWebhook('http://paperless.paperless.svc.cluster.local:8000/api/alerts'),
    );
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    // paperless is the definition's own workload: its Service's targetPort is unknown, so the
    // URL's port is taken as the pods', with a warning naming the setting that says otherwise.
    const port = issues.filter(
      (issue) => issue.code === 'flow-service-port' && issue.message.includes('"dev"'),
    );
    expect(port.map((issue) => [issue.severity, issue.position?.file])).toEqual([
      ['warning', FILE],
    ]);
    expect(port[0]?.message).toContain(
      'calls Service paperless.paperless.svc on 8000/TCP, which no component of the platform renders',
    );
    expect(port[0]?.expected).toMatch(
      /^the pods' port in .*receivers\[\d+\]\.webhook\.targetPort where/,
    );
    const policies = objects('dev').filter(
      (object) => object.kind === 'CiliumNetworkPolicy',
    ) as Loose[];
    const egress = policies.filter(
      (policy) =>
        policy.metadata.namespace === 'monitoring' &&
        JSON.stringify(policy.spec.egress ?? []).includes('paperless'),
    );
    expect(egress.map((policy) => [policy.spec.endpointSelector, policy.spec.egress])).toEqual([
      [
        { matchLabels: { 'app.kubernetes.io/name': 'alertmanager' } },
        [
          {
            toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'paperless' } }],
            toPorts: [{ ports: [{ port: '8000', protocol: 'TCP' }] }],
          },
        ],
      ],
    ]);
    expect(JSON.stringify(policies)).not.toContain('paperless.paperless.svc');
    const ingress = policies.filter(
      (policy) =>
        policy.metadata.namespace === 'paperless' &&
        JSON.stringify(policy.spec.ingress ?? []).includes('alertmanager'),
    );
    expect(ingress.map((policy) => [policy.spec.endpointSelector, policy.spec.ingress])).toEqual([
      [
        { matchLabels: {} },
        [
          {
            fromEndpoints: [
              {
                matchLabels: {
                  'app.kubernetes.io/name': 'alertmanager',
                  'k8s:io.kubernetes.pod.namespace': 'monitoring',
                },
              },
            ],
            toPorts: [{ ports: [{ port: '8000', protocol: 'TCP' }] }],
          },
        ],
      ],
    ]);
    const lines = reports.find((report) => report.name === 'reachability')?.lines ?? [];
    expect(lines).toContain(
      '    allowed  monitoring/alertmanager → paperless/* 8000/TCP  [monitoring.alertmanager-to-paperless-paperless-8000]',
    );
  });

  it('warns, at the monitoring settings, about a Service in a namespace the definition does not deploy', async () => {
    const { issues, objects } = await run(withWebhook('http://ntfy.notify.svc/alerts'));
    expect(issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const warnings = issues.filter((issue) => issue.code === 'flow-service');
    expect(warnings.map((issue) => issue.message)[0]).toBe(
      'monitoring flow "alertmanager-to-ntfy-notify-80" on cluster "dev" calls Service ntfy.notify.svc, but nothing the definition deploys runs in namespace "notify": the build knows neither the pods behind it nor their labels, so no policy can be generated for it and under default deny every connection to it is dropped (a DNS rule cannot stand in: the name resolves to the ClusterIP, which Cilium translates to a pod before the policy applies)',
    );
    expect(warnings[0]?.position?.file).toBe(FILE);
    expect(JSON.stringify(objects('dev'))).not.toContain('ntfy');
  });
});
