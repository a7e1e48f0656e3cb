// Alertmanager's egress to its receivers: a public host by name, a Service of the cluster as the
// pods behind it (a toFQDNs rule would allow the ClusterIP, which Cilium translates to a pod
// before the egress policy applies, so it never matches), an IP address as that address.
import { formatPath } from '@homelab/core';
import { testComponent } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { issuesOf, type Loose, PROVIDERS, runMonitoring } from './helpers.js';

const AT = 'clusters[0].components.monitoring.alertmanager';
const ALERTMANAGER = { 'app.kubernetes.io/name': 'alertmanager' };

const receiving = (receivers: Loose[]) => ({ alertmanager: { receivers } });

/** Alertmanager's egress flows on the dev cluster: [peer, ports]. */
function egress(run: ReturnType<typeof runMonitoring>): [unknown, unknown][] {
  return (run.declared.dev?.flows ?? [])
    .filter(
      (flow) =>
        flow.direction === 'egress' && flow.selector['app.kubernetes.io/name'] === 'alertmanager',
    )
    .map((flow) => [flow.peer, flow.ports]);
}

const issues = (run: ReturnType<typeof runMonitoring>, severity: 'error' | 'warning') =>
  issuesOf(run, severity)
    .filter((issue) => issue.code.startsWith('monitoring-receiver') && issue.path[1] === 0)
    .map((issue) => [formatPath(issue.path), issue.message]);

describe("Alertmanager's egress to a webhook", () => {
  it('reaches a Service of the cluster named in the URL as the pods of its namespace, never by DNS name', () => {
    const run = runMonitoring(
      receiving([
        { name: 'ntfy', webhook: { url: 'http://ntfy.notify.svc.cluster.local/alerts' } },
      ]),
    );
    expect(issuesOf(run)).toEqual([]);
    // The URL's port is the Service's: the CNI provider maps it where the platform renders the
    // Service, and otherwise warns, naming the setting that states the pods' port.
    expect(egress(run)).toEqual([
      [
        {
          kind: 'service',
          service: 'ntfy',
          namespace: 'notify',
          portSetting: `${AT}.receivers[0].webhook.targetPort`,
        },
        [{ port: 80, protocol: 'TCP' }],
      ],
    ]);
    const flow = (run.declared.dev?.flows ?? []).find((item) => item.peer.kind === 'service');
    expect(flow?.name).toBe('alertmanager-to-ntfy-notify-80');
    expect(flow?.selector).toEqual(ALERTMANAGER);
  });

  it('takes the short Service name and a webhook.host of a URL kept in a Secret alike', () => {
    const run = runMonitoring(
      receiving([
        { name: 'gotify', webhook: { url: 'http://gotify.tools.svc:8080/message' } },
        {
          name: 'relay',
          webhook: { host: 'relay.ops.svc:9000' },
          credentials: { secretName: 'alertmanager-relay', key: 'url' },
        },
      ]),
    );
    expect(issuesOf(run)).toEqual([]);
    expect(issues(run, 'warning')).toEqual([]);
    expect(egress(run)).toEqual([
      [
        {
          kind: 'service',
          service: 'gotify',
          namespace: 'tools',
          portSetting: `${AT}.receivers[0].webhook.targetPort`,
        },
        [{ port: 8080, protocol: 'TCP' }],
      ],
      [
        {
          kind: 'service',
          service: 'relay',
          namespace: 'ops',
          portSetting: `${AT}.receivers[1].webhook.targetPort`,
        },
        [{ port: 9000, protocol: 'TCP' }],
      ],
    ]);
  });

  it("names the pods' port (targetPort) when it differs from the Service's: the policy applies after the translation", () => {
    const run = runMonitoring(
      receiving([
        { name: 'ntfy', webhook: { url: 'http://ntfy.notify.svc/alerts', targetPort: 8080 } },
      ]),
    );
    expect(issuesOf(run)).toEqual([]);
    expect(egress(run)).toEqual([
      [
        // Stated as the pods' port: no Service mapping changes it.
        { kind: 'service', service: 'ntfy', namespace: 'notify', portsOf: 'pods' },
        [{ port: 8080, protocol: 'TCP' }],
      ],
    ]);
    // Alertmanager still calls the Service's port: the URL is unchanged.
    const config = run.values('dev').alertmanager.config;
    expect(config.receivers.find((item: Loose) => item.name === 'ntfy').webhook_configs).toEqual([
      { url: 'http://ntfy.notify.svc/alerts', send_resolved: true },
    ]);
  });

  it('refuses targetPort for a host that is not a Service of the cluster', () => {
    const run = runMonitoring(
      receiving([
        { name: 'kuma', webhook: { url: 'https://kuma.example.net/', targetPort: 8443 } },
      ]),
    );
    expect(issues(run, 'error')).toEqual([
      [
        `${AT}.receivers[0].webhook.targetPort`,
        'is not read: kuma.example.net is not a Service of the cluster (<service>.<namespace>.svc), so no Service translates its port',
      ],
    ]);
    expect(egress(run)).toEqual([]);
  });

  it("honours the cluster's DNS domain: the dns provider's, not cluster.local", () => {
    const dns = testComponent({
      name: 'resolver',
      provides: ['dns'],
      contribution: () => ({
        facts: {
          dns: { clusterDomain: 'lab.internal', namespace: 'dns', selector: { app: 'dns' } },
        },
      }),
    });
    const run = runMonitoring(
      receiving([
        { name: 'ntfy', webhook: { url: 'http://ntfy.notify.svc.lab.internal/alerts' } },
        // cluster.local is no zone of this cluster: a name like any other.
        { name: 'other', webhook: { url: 'http://ntfy.notify.svc.cluster.local/alerts' } },
      ]),
      [...PROVIDERS, dns],
    );
    expect(egress(run)).toEqual([
      [{ kind: 'fqdn', name: 'ntfy.notify.svc.cluster.local' }, [{ port: 80, protocol: 'TCP' }]],
      [
        {
          kind: 'service',
          service: 'ntfy',
          namespace: 'notify',
          portSetting: `${AT}.receivers[0].webhook.targetPort`,
        },
        [{ port: 80, protocol: 'TCP' }],
      ],
    ]);
  });

  it('reaches a bare IP address outside the cluster as that address', () => {
    const run = runMonitoring(
      receiving([
        { name: 'nas', webhook: { url: 'http://192.168.1.20:8080/hook' } },
        {
          name: 'box',
          webhook: { host: '192.168.1.21' },
          credentials: { secretName: 'alertmanager-box', key: 'url' },
        },
      ]),
    );
    expect(issuesOf(run)).toEqual([]);
    expect(egress(run)).toEqual([
      [{ kind: 'cidr', cidr: '192.168.1.20/32' }, [{ port: 8080, protocol: 'TCP' }]],
      [{ kind: 'cidr', cidr: '192.168.1.21/32' }, [{ port: 443, protocol: 'TCP' }]],
    ]);
  });

  it("warns about an address of the cluster's Service or pod network, which no policy can allow", () => {
    // dev's networks (the test factory): pods 10.101.0.0/16, Services 10.201.0.0/16.
    const run = runMonitoring(
      receiving([
        { name: 'svc', webhook: { url: 'http://10.201.0.15/hook' } },
        { name: 'pod', webhook: { url: 'http://10.101.3.7:8080/hook' } },
      ]),
    );
    expect(run.platform.clusters[0]?.network).toMatchObject({
      podCidr: '10.101.0.0/16',
      serviceCidr: '10.201.0.0/16',
    });
    expect(egress(run)).toEqual([]);
    expect(issues(run, 'warning')).toEqual([
      [
        `${AT}.receivers[0].webhook.url`,
        `is an address of the cluster's Service network: no egress policy can allow it (Cilium's CIDR rules never match the cluster's pods, and it translates a ClusterIP to a pod before the policy applies), so under the CNI's default deny on cluster "dev" every notification to it is dropped`,
      ],
      [
        `${AT}.receivers[1].webhook.url`,
        `is an address of the cluster's pod network: no egress policy can allow it (Cilium's CIDR rules never match the cluster's pods, and it translates a ClusterIP to a pod before the policy applies), so under the CNI's default deny on cluster "dev" every notification to it is dropped`,
      ],
    ]);
  });

  it('keeps a public host a DNS name, and an in-cluster SMTP relay is a Service too', () => {
    const run = runMonitoring(
      receiving([
        { name: 'kuma', webhook: { url: 'https://kuma.example.net:8443/api/push' } },
        {
          name: 'mail',
          email: { to: 'ops@example.net', from: 'am@example.net', smarthost: 'smtp.mail.svc:25' },
        },
      ]),
    );
    expect(issuesOf(run)).toEqual([]);
    expect(egress(run)).toEqual([
      [{ kind: 'fqdn', name: 'kuma.example.net' }, [{ port: 8443, protocol: 'TCP' }]],
      [{ kind: 'service', service: 'smtp', namespace: 'mail' }, [{ port: 25, protocol: 'TCP' }]],
    ]);
  });
});

describe("a receiver's port outside 1–65535", () => {
  it('is refused at the setting that writes it, and gets no egress flow (whose error would repeat it at the component)', () => {
    // Given a smarthost, a webhook URL and a webhook host, each on a port no TCP connection has
    const run = runMonitoring(
      receiving([
        {
          name: 'mail',
          email: {
            to: 'ops@example.net',
            from: 'am@example.net',
            smarthost: 'smtp.example.net:99999',
          },
        },
        { name: 'kuma', webhook: { url: 'https://kuma.example.net:0/api/push' } },
        {
          name: 'ping',
          webhook: { host: 'hc-ping.example.net:70000' },
          credentials: { secretName: 'alertmanager-ping', key: 'url' },
        },
      ]),
    );
    // Then each is an error at its field, naming the port, with the value as written
    const found = issuesOf(run)
      .filter((issue) => issue.path[1] === 0)
      .map((issue) => [formatPath(issue.path), issue.code, issue.message, issue.value]);
    expect(found).toEqual([
      [
        `${AT}.receivers[0].email.smarthost`,
        'monitoring-receiver',
        'has port 99999, which is not a TCP port (1–65535): Alertmanager could not connect to it',
        'smtp.example.net:99999',
      ],
      [
        `${AT}.receivers[1].webhook.url`,
        'monitoring-receiver',
        'has port 0, which is not a TCP port (1–65535): Alertmanager could not connect to it',
        'https://kuma.example.net:0/api/push',
      ],
      [
        `${AT}.receivers[2].webhook.host`,
        'monitoring-receiver',
        'has port 70000, which is not a TCP port (1–65535): Alertmanager could not connect to it',
        'hc-ping.example.net:70000',
      ],
    ]);
    expect(issuesOf(run).find((issue) => issue.path[1] === 0)?.expected).toBe(
      'host:port with a port from 1 to 65535, e.g. smtp.example.com:587',
    );
    // And Alertmanager gets no flow to any of them
    expect(egress(run)).toEqual([]);
  });
});
