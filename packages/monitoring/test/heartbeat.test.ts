// The dead man's switch: Watchdog, always firing, to an external check-in service through a
// webhook receiver of the definition, and to nothing else.
import { formatPath } from '@homelab/core';
import { testComponent } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { heartbeatTiming } from '../src/alertmanager.js';
import { TEST_ALERT_NAME } from '../src/component.js';
import {
  issuesOf,
  type Loose,
  network,
  PROVIDERS,
  type RouteNode,
  receiversFor,
  runMonitoring,
} from './helpers.js';

const AT = 'clusters[0].components.monitoring.alertmanager';
const PROD = 'clusters[2].components.monitoring.alertmanager';

const human = [
  { name: 'mail', webhook: { url: 'http://mail.tools.svc/' } },
  { name: 'pager', webhook: { url: 'http://pager.tools.svc/' } },
];
const ping = {
  name: 'heartbeat',
  webhook: { host: 'hc-ping.com' },
  credentials: { secretName: 'alertmanager-heartbeat', key: 'url' },
};
const settings = (alertmanager: Loose) => ({ alertmanager });
const withHeartbeat = settings({
  receivers: [...human, ping],
  route: { receiver: 'mail', routes: [{ receiver: 'pager', severities: ['critical'] }] },
  heartbeat: { receiver: 'heartbeat' },
});

/** [code, path, message] of the issues of `severity` whose code is `code`. */
const issues = (run: ReturnType<typeof runMonitoring>, code: string, severity = 'error') =>
  issuesOf(run, severity as 'error' | 'warning')
    .filter((issue) => issue.code === code)
    .map((issue) => [formatPath(issue.path), issue.message, issue.expected]);

describe('the heartbeat (dead man’s switch)', () => {
  const run = runMonitoring(withHeartbeat);

  it('routes Watchdog first, to the heartbeat receiver only, every interval', () => {
    const route = run.values('prod').alertmanager.config.route;
    expect(route.routes[0]).toEqual({
      receiver: 'heartbeat',
      matchers: ['alertname = "Watchdog"'],
      group_wait: '0s',
      group_interval: '1m',
      repeat_interval: '50s',
      continue: false,
    });
    // The human routes keep their 4h repeat.
    expect(route.repeat_interval).toBe('4h');
    expect(issuesOf(run)).toEqual([]);
    expect(issues(run, 'monitoring-heartbeat', 'warning')).toEqual([]);
  });

  it('sends Watchdog to the heartbeat only, and critical and other alerts to people only', () => {
    const route = run.values('prod').alertmanager.config.route as RouteNode;
    expect(receiversFor(route, { alertname: 'Watchdog', severity: 'none' })).toEqual(['heartbeat']);
    expect(receiversFor(route, { alertname: 'NodeNotReady', severity: 'critical' })).toEqual([
      'pager',
    ]);
    expect(receiversFor(route, { alertname: 'NodeDiskNearlyFull', severity: 'warning' })).toEqual([
      'mail',
    ]);
  });

  it('keeps Watchdog away from people when the human routes continue and end at the default receiver', () => {
    const continued = runMonitoring(
      settings({
        receivers: [...human, ping],
        route: {
          receiver: 'mail',
          routes: [{ receiver: 'pager', severities: ['critical'], continue: true }],
        },
        heartbeat: { receiver: 'heartbeat', interval: '5m' },
      }),
    );
    const route = continued.values('prod').alertmanager.config.route as RouteNode;
    expect(receiversFor(route, { alertname: 'Watchdog', severity: 'none' })).toEqual(['heartbeat']);
    expect(receiversFor(route, { alertname: 'NodeNotReady', severity: 'critical' })).toEqual([
      'pager',
      'mail',
    ]);
    expect(route.routes?.[0]).toMatchObject({ group_interval: '5m', repeat_interval: '250s' });
  });

  it('leaves a sixth of the interval for the send, so every flush tick sends Watchdog again', () => {
    // dispatch: a flush every group_interval; dedup: send again once repeat_interval has passed
    // since the logged send, which is after the tick. repeat = group would send every 2nd tick.
    expect(heartbeatTiming(1)).toEqual({
      group_wait: '0s',
      group_interval: '1m',
      repeat_interval: '50s',
    });
    expect(heartbeatTiming(15).repeat_interval).toBe('750s');
  });

  it('pings with firing notifications only, from the URL in the mounted Secret', () => {
    const config = run.values('prod').alertmanager.config;
    expect(config.receivers.find((item: Loose) => item.name === 'heartbeat')).toEqual({
      name: 'heartbeat',
      webhook_configs: [
        {
          url_file: '/etc/alertmanager/secrets/alertmanager-heartbeat/url',
          send_resolved: false,
        },
      ],
    });
    expect(run.values('prod').alertmanager.alertmanagerSpec.secrets).toEqual([
      'alertmanager-heartbeat',
    ]);
    // The other receivers keep sending resolutions.
    expect(config.receivers.find((item: Loose) => item.name === 'mail').webhook_configs).toEqual([
      { url: 'http://mail.tools.svc/', send_resolved: true },
    ]);
  });

  it("lets Alertmanager reach the check-in host the receiver names, and nothing of the URL's token", () => {
    const flows = run.declared.prod?.flows ?? [];
    const egress = flows.filter((flow) => flow.peer.kind === 'fqdn');
    expect(
      egress
        .map((flow) => [flow.selector, flow.peer, flow.ports])
        .filter(([, peer]) => {
          return (peer as { name: string }).name === 'hc-ping.com';
        }),
    ).toEqual([
      [
        { 'app.kubernetes.io/name': 'alertmanager' },
        { kind: 'fqdn', name: 'hc-ping.com' },
        [{ port: 443, protocol: 'TCP' }],
      ],
    ]);
    const other = runMonitoring(
      settings({
        receivers: [{ ...ping, webhook: { host: 'kuma.example.net:8443' } }],
        heartbeat: { receiver: 'heartbeat' },
      }),
    );
    expect(
      (other.declared.prod?.flows ?? [])
        .filter((flow) => flow.peer.kind === 'fqdn')
        .map((flow) => [flow.peer, flow.ports]),
    ).toEqual([[{ kind: 'fqdn', name: 'kuma.example.net' }, [{ port: 8443, protocol: 'TCP' }]]]);
  });

  it("names the heartbeat's Secret for what it is, and adds the runbook's check of the switch", () => {
    const secret = run.declared.prod?.secrets?.find(
      (item) => item.name === 'alertmanager-heartbeat',
    );
    expect(secret?.keys).toEqual(['url']);
    expect(secret?.description).toContain("this cluster's own check");
    const step = run.declared.prod?.bootstrap?.[0];
    expect(step?.when).toBe('after-handover');
    // The step follows the hand-over, whose own waits end at cert-manager (wave 3) and the
    // Gateway (wave 4): monitoring (a later wave) may not exist yet, so the pod is waited for,
    // bounded, before anything execs into it.
    expect(step?.commands.slice(0, 3)).toEqual([
      'kubectl -n monitoring wait --for=create pod/alertmanager-monitoring-alertmanager-0 --timeout=30m',
      'kubectl -n monitoring wait --for=condition=Ready pod/alertmanager-monitoring-alertmanager-0 --timeout=10m',
      'kubectl -n monitoring exec alertmanager-monitoring-alertmanager-0 -c alertmanager -- amtool config routes test --config.file=/etc/alertmanager/config_out/alertmanager.env.yaml alertname=Watchdog severity=none',
    ]);
    expect(runMonitoring({}).declared.prod?.bootstrap).toBeUndefined();
  });

  it("adds the runbook's test alert where alerts reach a receiver, waiting for the pod only without the heartbeat's step", () => {
    const exec =
      'kubectl -n monitoring exec alertmanager-monitoring-alertmanager-0 -c alertmanager --';
    const labels = `alertname=${TEST_ALERT_NAME} severity=critical`;
    const [heartbeatStep, testStep] = run.declared.prod?.bootstrap ?? [];
    expect(heartbeatStep?.title).toBe("Check the heartbeat (dead man's switch)");
    expect(testStep?.title).toBe('Send a test alert');
    expect(testStep?.when).toBe('after-handover');
    expect(testStep?.commands).toEqual([
      `${exec} amtool config routes test --config.file=/etc/alertmanager/config_out/alertmanager.env.yaml ${labels}`,
      `${exec} amtool alert add ${labels} --annotation=summary='A test alert from the runbook: nothing to do' --alertmanager.url=http://localhost:9093`,
      `${exec} wget -qO- http://localhost:9093/metrics | grep '^alertmanager_notifications_failed_total'`,
    ]);
    // Without a heartbeat the test alert's step waits for the pod itself.
    const alone = runMonitoring(settings({ receivers: human })).declared.prod?.bootstrap ?? [];
    expect(alone.map((step) => step.title)).toEqual(['Send a test alert']);
    expect(alone[0]?.commands.slice(0, 2)).toEqual([
      'kubectl -n monitoring wait --for=create pod/alertmanager-monitoring-alertmanager-0 --timeout=30m',
      'kubectl -n monitoring wait --for=condition=Ready pod/alertmanager-monitoring-alertmanager-0 --timeout=10m',
    ]);
  });

  it('drops Watchdog without a heartbeat', () => {
    const none = runMonitoring(settings({ receivers: human }));
    expect(none.values('dev').alertmanager.config.route.routes[0]).toEqual({
      receiver: 'null',
      matchers: ['alertname = "Watchdog"'],
    });
  });
});

describe('heartbeat validation', () => {
  it('refuses a heartbeat naming an unknown receiver, with a guess', () => {
    const run = runMonitoring(
      settings({ receivers: [...human, ping], heartbeat: { receiver: 'hartbeat' } }),
    );
    expect(issues(run, 'monitoring-heartbeat')[0]).toEqual([
      `${AT}.heartbeat.receiver`,
      'names receiver "hartbeat", which alertmanager.receivers does not define; did you mean "heartbeat"?',
      'the name of a webhook receiver in alertmanager.receivers whose URL (credentials, with webhook.host) is the check-in URL',
    ]);
    // Watchdog stays dropped rather than routed to a receiver Alertmanager does not know.
    expect(run.values('dev').alertmanager.config.route.routes[0].receiver).toBe('null');
  });

  it('refuses a heartbeat through a receiver that is not a webhook', () => {
    const run = runMonitoring(
      settings({
        receivers: [
          ...human,
          {
            name: 'chat',
            slack: { channel: '#alerts' },
            credentials: { secretName: 'chat', key: 'url' },
          },
        ],
        route: { receiver: 'mail' },
        heartbeat: { receiver: 'chat' },
      }),
    );
    expect(issues(run, 'monitoring-heartbeat')[0]?.slice(0, 2)).toEqual([
      `${AT}.heartbeat.receiver`,
      'names a slack receiver: the heartbeat is one request to a check-in URL every interval, which only a webhook makes (a slack receiver would post Watchdog to people every interval, and nobody notices when it stops)',
    ]);
  });

  it('a heartbeat through a receiver the routes use is one error, at heartbeat.receiver', () => {
    // The mistake is the heartbeat's receiver (a person's channel): the routes to that channel
    // are right, so they are not also reported as alerts sent to the heartbeat.
    const run = runMonitoring(
      settings({
        receivers: [
          ...human,
          {
            name: 'chat',
            slack: { channel: '#alerts' },
            credentials: { secretName: 'chat', key: 'url' },
          },
        ],
        route: { receiver: 'mail', routes: [{ receiver: 'chat', severities: ['critical'] }] },
        heartbeat: { receiver: 'chat' },
      }),
    );
    expect(
      issuesOf(run)
        .map((issue) => formatPath(issue.path))
        .filter((path) => path.startsWith('clusters[0]')),
    ).toEqual([`${AT}.heartbeat.receiver`]);
  });

  it('refuses routes that send alerts for people to the heartbeat receiver', () => {
    const run = runMonitoring(
      settings({
        receivers: [...human, ping],
        route: { receiver: 'heartbeat', routes: [{ receiver: 'heartbeat', alerts: ['Foo'] }] },
        heartbeat: { receiver: 'heartbeat' },
      }),
    );
    expect(
      issues(run, 'monitoring-heartbeat')
        .map(([path]) => path)
        .filter((path) => path?.startsWith('clusters[0]')),
    ).toEqual([`${AT}.route.receiver`, `${AT}.route.routes[0].receiver`]);
    expect(issues(run, 'monitoring-heartbeat')[0]?.[1]).toBe(
      'routes alerts to "heartbeat", the heartbeat\'s receiver: they would reach the check-in service as pings, and no person',
    );
  });

  it('sends everything else to the first receiver that is not the heartbeat when there is no route', () => {
    const run = runMonitoring(
      settings({ receivers: [ping, ...human], heartbeat: { receiver: 'heartbeat' } }),
    );
    expect(issuesOf(run)).toEqual([]);
    expect(run.values('prod').alertmanager.config.route.receiver).toBe('mail');
  });

  it('warns about a webhook whose URL is only in a Secret and whose host no egress policy names', () => {
    const run = runMonitoring(
      settings({
        receivers: [...human, { ...ping, webhook: {} }],
        heartbeat: { receiver: 'heartbeat' },
      }),
    );
    expect(issues(run, 'monitoring-receiver-egress', 'warning')[0]).toEqual([
      `${AT}.receivers[2].webhook`,
      'reads its URL from Secret "alertmanager-heartbeat", so no egress policy names its host: under the CNI\'s default deny Alertmanager cannot reach it on cluster "dev" and every notification to it is dropped',
      'webhook.host: the host of that URL (e.g. hc-ping.com, or host:port when not 443), which the egress policy then allows; the token stays in the Secret',
    ]);
    // A CNI that enforces no policies drops nothing: no warning.
    const open = runMonitoring(
      settings({ receivers: [{ ...ping, webhook: {} }], heartbeat: { receiver: 'heartbeat' } }),
      [
        testComponent({
          name: 'network',
          provides: ['cni'],
          contribution: () => ({
            application: {
              namespace: 'kube-system',
              podSecurity: 'privileged',
              clusterResources: [],
            },
            facts: {
              cni: { kubeProxyReplacement: true, networkPolicy: false, namespace: 'kube-system' },
            },
          }),
        }),
        ...PROVIDERS.filter((provider) => provider !== network),
      ],
    );
    expect(issues(open, 'monitoring-receiver-egress', 'warning')).toEqual([]);
  });

  it('refuses webhook.host beside webhook.url (the policy takes the url host)', () => {
    const run = runMonitoring(
      settings({
        receivers: [{ name: 'relay', webhook: { url: 'https://a.example/', host: 'b' } }],
      }),
    );
    expect(issues(run, 'monitoring-receiver')[0]?.slice(0, 2)).toEqual([
      `${AT}.receivers[0].webhook.host`,
      'is not read: the egress policy takes the host of webhook.url; host is for a URL held in credentials',
    ]);
  });

  it('warns on a production cluster that sends alerts without a heartbeat, and only there', () => {
    const run = runMonitoring(settings({ receivers: human }));
    expect(issues(run, 'monitoring-heartbeat', 'warning')).toEqual([
      [
        PROD,
        'has no heartbeat on production cluster "prod": the always-firing Watchdog alert is dropped, so when Prometheus or Alertmanager stops, or the cluster loses power or network, no alert is sent and nothing outside the cluster notices',
        'alertmanager.heartbeat: { receiver: <a webhook receiver whose URL, in credentials, is the ping URL of an external check (healthchecks.io, Uptime Kuma push, Cronitor) that alerts when the pings stop> }',
      ],
    ]);
    // Without receivers nothing is sent anyway; with a heartbeat nothing is missing.
    expect(issues(runMonitoring({}), 'monitoring-heartbeat', 'warning')).toEqual([]);
    expect(issues(runMonitoring(withHeartbeat), 'monitoring-heartbeat', 'warning')).toEqual([]);
  });

  it('warns when the heartbeat receiver would ping on resolution too', () => {
    const run = runMonitoring(
      settings({
        receivers: [...human, { ...ping, sendResolved: true }],
        heartbeat: { receiver: 'heartbeat' },
      }),
    );
    expect(issues(run, 'monitoring-heartbeat', 'warning')[0]?.[0]).toBe(
      `${AT}.receivers[2].sendResolved`,
    );
  });
});
