// Alertmanager's configuration from the definition's receivers and route. Credentials are never
// in the configuration: each receiver reads its secret from a file, a key of a Secret the secrets
// provider fills, mounted by the operator at /etc/alertmanager/secrets/<secret>/<key>
// (`alertmanagerSpec.secrets`). Pure.
import {
  caBundleIssues,
  cidrContains,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  didYouMean,
  emailAddressProblem,
  error,
  type FlowDeclaration,
  type FlowPeer,
  flowPeerPort,
  formatPath,
  hostFlowPeer,
  type Issue,
  isIpv4,
  isIpv6,
  type PathSegment,
  type Values,
  warning,
} from '@homelab/core';
import { JOB_FAILED } from './catalogue.js';
import { flowName } from './flow-name.js';
import type { MonitoringReceiver, MonitoringSecretKey } from './generated/settings.js';
import { MONITORING_NAMESPACE, type ResolvedMonitoringSettings } from './settings.js';

/** Receiver kinds, what their credential is, and the Alertmanager field that reads it. */
const KINDS = {
  email: { config: 'email_configs', secret: 'the SMTP password', file: 'auth_password_file' },
  slack: { config: 'slack_configs', secret: 'the Slack webhook URL', file: 'api_url_file' },
  discord: {
    config: 'discord_configs',
    secret: 'the Discord webhook URL',
    file: 'webhook_url_file',
  },
  msteams: {
    config: 'msteams_configs',
    secret: 'the Teams webhook URL',
    file: 'webhook_url_file',
  },
  pagerduty: {
    config: 'pagerduty_configs',
    secret: 'the PagerDuty routing key',
    file: 'routing_key_file',
  },
  telegram: {
    config: 'telegram_configs',
    secret: 'the Telegram bot token',
    file: 'bot_token_file',
  },
  webhook: { config: 'webhook_configs', secret: 'the webhook URL', file: 'url_file' },
} as const;

type Kind = keyof typeof KINDS;
const KIND_NAMES = Object.keys(KINDS) as Kind[];

/** Public endpoints receivers call (egress flows); email and webhooks name their own. */
const ENDPOINTS: { readonly [K in Kind]?: string } = {
  slack: 'hooks.slack.com',
  discord: 'discord.com',
  msteams: '*.webhook.office.com',
  pagerduty: 'events.pagerduty.com',
  telegram: 'api.telegram.org',
};

/** Where the operator mounts key `key` of Secret `secret` in the Alertmanager pods. */
export function secretFile(secret: MonitoringSecretKey): string {
  return `/etc/alertmanager/secrets/${secret.secretName}/${secret.key}`;
}

/** The null receiver: alerts routed to it are dropped (Watchdog without a heartbeat, and everything without receivers). */
export const NULL_RECEIVER = 'null';

/**
 * kube-prometheus-stack's inhibition rules: a critical alert silences the warning and info
 * alerts of the same name and namespace, a warning the info ones; InfoInhibitor silences info.
 * And the platform's: a critical alert about one CronJob (labels `namespace`, `cronjob`: the
 * backups' EtcdBackupFailed and VolumeRestoreVerificationFailed) silences the generic JobFailed
 * of that CronJob (src/catalogue.ts), which the same failed run raises 15 minutes later.
 */
const INHIBIT_RULES: Values[] = [
  {
    source_matchers: ['severity = critical', 'cronjob =~ .+'],
    target_matchers: [`alertname = ${JOB_FAILED}`],
    equal: ['namespace', 'cronjob'],
  },
  {
    source_matchers: ['severity = critical'],
    target_matchers: ['severity =~ warning|info'],
    equal: ['namespace', 'alertname'],
  },
  {
    source_matchers: ['severity = warning'],
    target_matchers: ['severity = info'],
    equal: ['namespace', 'alertname'],
  },
  {
    source_matchers: ['alertname = InfoInhibitor'],
    target_matchers: ['severity = info'],
    equal: ['namespace'],
  },
  { target_matchers: ['alertname = InfoInhibitor'] },
];

/** What the plan needs to know of the cluster. */
export interface AlertmanagerCluster {
  readonly name: string;
  readonly production: boolean;
  /** Whether the CNI enforces network policies (a receiver's host must then be in a flow). */
  readonly enforcesPolicies: boolean;
  /** The cluster's DNS domain (the `dns` provider's; Talos' `cluster.local` by default). */
  readonly clusterDomain?: string;
  /** The pod and Service networks (an address in them is no CIDR peer). */
  readonly podCidr?: string;
  readonly serviceCidr?: string;
}

export interface AlertmanagerPlan {
  /** `alertmanager.config` of kube-prometheus-stack. */
  readonly config: Values;
  /** Secrets the receivers read (names and keys), sorted. */
  readonly secrets: readonly { readonly name: string; readonly keys: readonly string[] }[];
  /** Egress flows to the receivers' endpoints. */
  readonly flows: readonly FlowDeclaration[];
  readonly issues: readonly Issue[];
}

function kindsOf(receiver: MonitoringReceiver): Kind[] {
  return KIND_NAMES.filter((kind) => receiver[kind] !== undefined);
}

/** Whether the receiver's kind and fields need a credential. */
function needsCredentials(kind: Kind, receiver: MonitoringReceiver): boolean {
  if (kind === 'email') return receiver.email?.username !== undefined;
  if (kind === 'webhook') return receiver.webhook?.url === undefined;
  return true;
}

/** The recipients of an email receiver: `to` is one address or a list of them. */
function recipients(to: string | readonly string[]): readonly string[] {
  return typeof to === 'string' ? [to] : to;
}

/**
 * An error for each address of an email receiver that is not one plain address. Alertmanager
 * parses `to` as a comma-separated address list and sends to every address in it, so a value
 * such as `x<x>,evil@attacker.com` would add a recipient the definition never names; `from` is
 * the envelope sender.
 */
function emailAddressIssues(
  email: NonNullable<MonitoringReceiver['email']>,
  at: (...rest: PathSegment[]) => PathSegment[],
): Issue[] {
  const fields: [PathSegment[], string, string][] = [
    ...(typeof email.to === 'string'
      ? [[at('email', 'to'), email.to, 'a recipient'] as [PathSegment[], string, string]]
      : email.to.map(
          (to, index) =>
            [at('email', 'to', index), to, 'a recipient'] as [PathSegment[], string, string],
        )),
    [at('email', 'from'), email.from, 'the sender'],
  ];
  return fields.flatMap(([path, value, what]) => {
    const problem = emailAddressProblem(value);
    if (problem === undefined) return [];
    return [
      error({
        code: 'monitoring-receiver-email',
        path,
        value,
        message: `${problem}: it is ${what} of the alert emails, and Alertmanager reads a comma in an address field as the start of another address, so a value that is not one address can send alerts to someone the definition never names`,
        expected:
          what === 'a recipient'
            ? 'one address, local-part@domain (e.g. ops@example.com); several recipients as a list, to: [ops@example.com, oncall@example.com]'
            : 'one address, local-part@domain (e.g. alertmanager@example.com)',
      }),
    ];
  });
}

function receiverConfig(kind: Kind, receiver: MonitoringReceiver, heartbeat: boolean): Values {
  // A resolved Watchdog means Prometheus stopped sending it: a check-in service takes any request
  // as a ping, so the heartbeat sends firing only.
  const common: Values = { send_resolved: receiver.sendResolved ?? !heartbeat };
  const credentials = receiver.credentials;
  const file = credentials === undefined ? {} : { [KINDS[kind].file]: secretFile(credentials) };
  switch (kind) {
    case 'email': {
      const email = receiver.email;
      if (email === undefined) return common;
      return {
        // Alertmanager reads `to` as an address list (Go's mail.ParseAddressList) and sends to
        // every address in it.
        to: recipients(email.to).join(', '),
        from: email.from,
        smarthost: email.smarthost,
        require_tls: email.requireTls ?? true,
        // Alertmanager v0.34.0 (prometheus/common v0.70.1 `NewTLSConfig`, `updateRootCA`) trusts
        // only these for the smarthost, for STARTTLS and implicit TLS alike.
        ...(email.caCertificates === undefined ? {} : { tls_config: { ca: email.caCertificates } }),
        ...(email.username === undefined ? {} : { auth_username: email.username, ...file }),
        ...common,
      };
    }
    case 'slack':
      return { channel: receiver.slack?.channel ?? '', ...file, ...common };
    case 'telegram':
      return { chat_id: receiver.telegram?.chatId ?? 0, ...file, ...common };
    case 'webhook': {
      const url = receiver.webhook?.url;
      return { ...(url === undefined ? file : { url }), ...common };
    }
    default:
      return { ...file, ...common };
  }
}

/**
 * The first sub-route: Watchdog, always firing, to the heartbeat receiver every interval (and
 * nowhere else: `continue: false`), or to `null` without a heartbeat. Issues: a heartbeat naming
 * no receiver, or one that is not a webhook.
 */
function watchdogRoute(
  settings: ResolvedMonitoringSettings,
  receivers: readonly MonitoringReceiver[],
  path: (...segments: PathSegment[]) => PathSegment[],
  issues: Issue[],
): Values {
  const matchers = ['alertname = "Watchdog"'];
  const heartbeat = settings.alertmanager.heartbeat;
  const dropped = { receiver: NULL_RECEIVER, matchers };
  if (heartbeat === undefined) return dropped;
  const at = path('alertmanager', 'heartbeat', 'receiver');
  const receiver = receivers.find((item) => item.name === heartbeat.receiver);
  if (receiver === undefined) {
    const names = receivers.map((item) => item.name);
    const guess = didYouMean(heartbeat.receiver, names);
    issues.push(
      error({
        code: 'monitoring-heartbeat',
        path: at,
        value: heartbeat.receiver,
        message: `names receiver "${heartbeat.receiver}", which alertmanager.receivers does not define${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
        expected:
          'the name of a webhook receiver in alertmanager.receivers whose URL (credentials, with webhook.host) is the check-in URL',
      }),
    );
    return dropped;
  }
  const kind = kindsOf(receiver)[0];
  if (kind !== undefined && kind !== 'webhook') {
    issues.push(
      error({
        code: 'monitoring-heartbeat',
        path: at,
        value: heartbeat.receiver,
        message: `names a ${kind} receiver: the heartbeat is one request to a check-in URL every interval, which only a webhook makes (a ${kind} receiver would post Watchdog to people every interval, and nobody notices when it stops)`,
        expected:
          'a webhook receiver: webhook: { host: <the check-in host> }, credentials: the Secret key holding its ping URL',
      }),
    );
    return dropped;
  }
  return {
    receiver: heartbeat.receiver,
    matchers,
    ...heartbeatTiming(Number.parseInt(heartbeat.interval, 10)),
    continue: false,
  };
}

function endpointFlow(peer: FlowPeer, port: number, reason: string): FlowDeclaration {
  return {
    name: flowName('egress', 'alertmanager', peer, [port]),
    direction: 'egress',
    selector: { 'app.kubernetes.io/name': 'alertmanager' },
    namespace: MONITORING_NAMESPACE,
    peer,
    ports: [{ port, protocol: 'TCP' }],
    reason,
  };
}

/**
 * The flow peer of a receiver's host: an IP address is that address (`/32`, `/128`); a Service
 * of the cluster (`<service>.<namespace>.svc[.<cluster domain>]`) is the pods behind it: its
 * name resolves to the ClusterIP, which Cilium translates to a backend pod before the egress
 * policy applies, so a toFQDNs rule (which allows the addresses its DNS proxy saw, the
 * ClusterIP) never matches (Cilium's policy docs, "DNS based": DNS rules behave like CIDR rules
 * and are for peers outside the cluster; CIDR rules never select the cluster's pods). Any other
 * name is a public host, by name. `ip` says which network an address of the cluster is in.
 */
function endpointPeer(
  host: string,
  cluster: AlertmanagerCluster,
): { peer: FlowPeer } | { ip: string; network: 'pod' | 'Service' } {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIpv4(bare) || isIpv6(bare)) {
    for (const [network, cidr] of [
      ['pod', cluster.podCidr],
      ['Service', cluster.serviceCidr],
    ] as const) {
      if (cidr !== undefined && cidrContains(cidr, bare)) return { ip: bare, network };
    }
    return { peer: { kind: 'cidr', cidr: `${bare}/${isIpv4(bare) ? 32 : 128}` } };
  }
  // Core's one rule for a host (hostFlowPeer); a host is never empty here (the URL's pattern).
  return {
    peer: hostFlowPeer(bare, cluster.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN) ?? {
      kind: 'fqdn',
      name: bare,
    },
  };
}

/** Host and port of an http(s) URL, `undefined` when it has none. */
function urlEndpoint(url: string): { host: string; port: number } | undefined {
  const match = /^(https?):\/\/(\[[^\]/]+\]|[^/:?#[]+)(?::([0-9]{1,5}))?/.exec(url);
  if (match === null) return undefined;
  const port = match[3] === undefined ? (match[1] === 'https' ? 443 : 80) : Number(match[3]);
  return { host: match[2] as string, port };
}

/** Host and port of a webhook's `host` (`host` or `host:port`, 443 by default). */
function hostEndpoint(host: string): { host: string; port: number } {
  const colon = host.lastIndexOf(':');
  if (colon <= 0) return { host, port: 443 };
  return { host: host.slice(0, colon), port: Number(host.slice(colon + 1)) };
}

/** Where a receiver's host is set (for issues). */
function receiverHostPath(
  kind: Kind,
  receiver: MonitoringReceiver,
  at: (...rest: PathSegment[]) => PathSegment[],
): PathSegment[] {
  if (kind === 'email') return at('email', 'smarthost');
  if (kind === 'webhook')
    return at('webhook', receiver.webhook?.url === undefined ? 'host' : 'url');
  return at(kind);
}

/**
 * The heartbeat route's timing for an interval of `minutes`. Alertmanager flushes a group every
 * `group_interval` and sends a firing group again once `repeat_interval` has passed since the last
 * notification (notify/dedup_stage.go `needsUpdate`: `entry.Timestamp.Before(now.Add(-repeat))`,
 * `now` the flush tick, the entry's timestamp the time the notification log recorded the send,
 * after the tick). With repeat_interval equal to group_interval the next tick is never late
 * enough and Watchdog goes out every second interval; a repeat_interval of 5/6 of the interval
 * leaves a sixth of it (10s of 1m) for the send, so it goes out on every tick.
 */
export function heartbeatTiming(minutes: number): {
  group_wait: string;
  group_interval: string;
  repeat_interval: string;
} {
  return {
    group_wait: '0s',
    group_interval: `${minutes}m`,
    repeat_interval: `${minutes * 50}s`,
  };
}

/** Host and port of an SMTP smarthost (`host:port`). */
function smarthostEndpoint(smarthost: string): { host: string; port: number } | undefined {
  const colon = smarthost.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return { host: smarthost.slice(0, colon), port: Number(smarthost.slice(colon + 1)) };
}

/**
 * Alertmanager's configuration for a cluster: the receivers of the definition (plus `null`), the
 * route (default: everything to the first receiver other than the heartbeat's; Watchdog to the
 * heartbeat receiver, or to `null` without one), kube-prometheus-stack's inhibition rules.
 * Issues: a receiver of no kind or of several, a credential missing where the kind needs one (or
 * given where nothing reads it), duplicate names, a route to an unknown receiver or to the
 * heartbeat's, a heartbeat naming no webhook receiver; warnings: a webhook whose URL is only in a
 * Secret and whose host no egress policy can name, a production cluster without a heartbeat.
 */
export function alertmanagerPlan(
  settings: ResolvedMonitoringSettings,
  repeatInterval: string,
  path: (...segments: PathSegment[]) => PathSegment[],
  cluster: AlertmanagerCluster,
): AlertmanagerPlan {
  const issues: Issue[] = [];
  const { receivers, route, heartbeat } = settings.alertmanager;
  const configs: Values[] = [{ name: NULL_RECEIVER }];
  const secretKeys = new Map<string, Set<string>>();
  const flows = new Map<string, FlowDeclaration>();
  const names: string[] = [];
  receivers.forEach((receiver, index) => {
    const at = (...rest: PathSegment[]) => path('alertmanager', 'receivers', index, ...rest);
    if (names.includes(receiver.name) || receiver.name === NULL_RECEIVER) {
      issues.push(
        error({
          code: 'monitoring-receiver',
          path: at('name'),
          value: receiver.name,
          message:
            receiver.name === NULL_RECEIVER
              ? 'is the name of the built-in receiver that drops alerts'
              : 'names a second receiver with the same name',
          expected: 'a unique receiver name',
        }),
      );
      return;
    }
    names.push(receiver.name);
    const kinds = kindsOf(receiver);
    const kind = kinds[0];
    if (kind === undefined || kinds.length > 1) {
      issues.push(
        error({
          code: 'monitoring-receiver',
          path: at(),
          value: receiver.name,
          message:
            kind === undefined
              ? 'says nowhere to send alerts'
              : `has ${kinds.length} kinds (${kinds.join(', ')}); one receiver sends one way`,
          expected: `exactly one of ${KIND_NAMES.join(', ')}`,
        }),
      );
      return;
    }
    if (kind === 'email' && receiver.email !== undefined) {
      issues.push(...emailAddressIssues(receiver.email, at));
      if (receiver.email.caCertificates !== undefined) {
        issues.push(
          ...caBundleIssues({
            pem: receiver.email.caCertificates,
            path: at('email', 'caCertificates'),
            code: 'monitoring-email-ca-certificates',
            key: 'caCertificates',
            consequence:
              'Alertmanager would refuse the TLS configuration of the receiver and send it no mail',
            reader: 'Alertmanager',
          }),
        );
      }
    }
    const needs = needsCredentials(kind, receiver);
    if (needs && receiver.credentials === undefined) {
      issues.push(
        error({
          code: 'monitoring-receiver-credentials',
          path: at(),
          value: receiver.name,
          message: `is a ${kind} receiver without a credentials mapping: ${KINDS[kind].secret} is a secret and never goes into Git`,
          expected: `credentials: { secretName, key } naming the Secret key that holds ${KINDS[kind].secret} (the secrets provider fills it)`,
        }),
      );
      return;
    }
    if (!needs && receiver.credentials !== undefined) {
      issues.push(
        error({
          code: 'monitoring-receiver-credentials',
          path: at('credentials'),
          value: receiver.credentials.secretName,
          message: `is not read: a ${kind} receiver ${kind === 'email' ? 'without a username' : 'with a url'} reads no credential`,
          expected:
            kind === 'email'
              ? 'email.username with credentials, or neither'
              : 'webhook.url or credentials (the URL in a Secret), not both',
        }),
      );
      return;
    }
    if (receiver.credentials !== undefined) {
      const keys = secretKeys.get(receiver.credentials.secretName) ?? new Set<string>();
      keys.add(receiver.credentials.key);
      secretKeys.set(receiver.credentials.secretName, keys);
    }
    const webhookHost = kind === 'webhook' ? receiver.webhook?.host : undefined;
    if (webhookHost !== undefined && receiver.webhook?.url !== undefined) {
      issues.push(
        error({
          code: 'monitoring-receiver',
          path: at('webhook', 'host'),
          value: webhookHost,
          message:
            'is not read: the egress policy takes the host of webhook.url; host is for a URL held in credentials',
          expected: 'webhook.url, or credentials with webhook.host, not url and host',
        }),
      );
      return;
    }
    if (
      kind === 'webhook' &&
      receiver.credentials !== undefined &&
      webhookHost === undefined &&
      cluster.enforcesPolicies
    ) {
      issues.push(
        warning({
          code: 'monitoring-receiver-egress',
          path: at('webhook'),
          value: receiver.name,
          message: `reads its URL from Secret "${receiver.credentials.secretName}", so no egress policy names its host: under the CNI's default deny Alertmanager cannot reach it on cluster "${cluster.name}" and every notification to it is dropped`,
          expected:
            'webhook.host: the host of that URL (e.g. hc-ping.com, or host:port when not 443), which the egress policy then allows; the token stays in the Secret',
        }),
      );
    }
    const isHeartbeat = heartbeat?.receiver === receiver.name;
    if (isHeartbeat && receiver.sendResolved === true) {
      issues.push(
        warning({
          code: 'monitoring-heartbeat',
          path: at('sendResolved'),
          value: true,
          message:
            "sends the heartbeat's resolved Watchdog: it resolves when Prometheus stops sending it, and a check-in service takes that notification as one more ping, so it learns of the outage a period later",
          expected: 'sendResolved left out (false for the heartbeat receiver)',
        }),
      );
    }
    configs.push({
      name: receiver.name,
      [KINDS[kind].config]: [receiverConfig(kind, receiver, isHeartbeat)],
    });
    const endpoint =
      kind === 'email'
        ? smarthostEndpoint(receiver.email?.smarthost ?? '')
        : kind === 'webhook' && receiver.webhook?.url !== undefined
          ? urlEndpoint(receiver.webhook.url)
          : webhookHost !== undefined
            ? hostEndpoint(webhookHost)
            : ENDPOINTS[kind] === undefined
              ? undefined
              : { host: ENDPOINTS[kind] as string, port: 443 };
    const targetPort = kind === 'webhook' ? receiver.webhook?.targetPort : undefined;
    if (endpoint === undefined) return;
    // A port beyond 1–65535 is refused where it is written: Alertmanager could not connect, and
    // its egress flow would only be refused later, at the component, once per cluster.
    if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
      const written =
        kind === 'email'
          ? (receiver.email?.smarthost ?? '')
          : (receiver.webhook?.url ?? webhookHost ?? '');
      issues.push(
        error({
          code: 'monitoring-receiver',
          path: receiverHostPath(kind, receiver, at),
          value: written,
          message: `has port ${endpoint.port}, which is not a TCP port (1–65535): Alertmanager could not connect to it`,
          expected:
            kind === 'email'
              ? 'host:port with a port from 1 to 65535, e.g. smtp.example.com:587'
              : 'a port from 1 to 65535, or none for 443 (https)',
        }),
      );
      return;
    }
    const resolved = endpointPeer(endpoint.host, cluster);
    if ('ip' in resolved) {
      // A pod or Service address: Cilium's CIDR rules never match the cluster's pods, and a
      // ClusterIP is translated to one before the policy applies; the address also changes.
      if (cluster.enforcesPolicies) {
        issues.push(
          warning({
            code: 'monitoring-receiver-egress',
            path: receiverHostPath(kind, receiver, at),
            value: endpoint.host,
            message: `is an address of the cluster's ${resolved.network} network: no egress policy can allow it (Cilium's CIDR rules never match the cluster's pods, and it translates a ClusterIP to a pod before the policy applies), so under the CNI's default deny on cluster "${cluster.name}" every notification to it is dropped`,
            expected:
              'the Service by its name, <service>.<namespace>.svc (the egress policy then allows the pods of that namespace), or an address outside the cluster',
          }),
        );
      }
      return;
    }
    // A Service's port is mapped to the pods' by the CNI provider where the platform renders the
    // Service; `targetPort` states the pods' port, which no mapping changes.
    const peer: FlowPeer =
      resolved.peer.kind !== 'service'
        ? resolved.peer
        : targetPort !== undefined
          ? { ...resolved.peer, portsOf: 'pods' }
          : kind === 'webhook'
            ? { ...resolved.peer, portSetting: formatPath(at('webhook', 'targetPort')) }
            : resolved.peer;
    if (targetPort !== undefined && peer.kind !== 'service') {
      issues.push(
        error({
          code: 'monitoring-receiver',
          path: at('webhook', 'targetPort'),
          value: targetPort,
          message: `is not read: ${endpoint.host} is not a Service of the cluster (<service>.<namespace>.svc), so no Service translates its port`,
          expected: 'targetPort only with a host <service>.<namespace>.svc[.<cluster domain>]',
        }),
      );
      return;
    }
    // The API server's Service is the API server, on its own port (core's `flowPeerPort`).
    const port = flowPeerPort(peer, targetPort ?? endpoint.port);
    const key = `${endpoint.host}:${port}`;
    if (!flows.has(key)) {
      flows.set(
        key,
        endpointFlow(peer, port, `Alertmanager notifies receiver ${receiver.name} (${kind})`),
      );
    }
  });

  const known = (name: string, at: PathSegment[]): boolean => {
    if (names.includes(name) || name === NULL_RECEIVER) return true;
    const guess = didYouMean(name, names);
    issues.push(
      error({
        code: 'monitoring-route',
        path: at,
        value: name,
        message: `routes alerts to receiver "${name}", which alertmanager.receivers does not define${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
        expected:
          names.length === 0
            ? 'a receiver in alertmanager.receivers'
            : `one of: ${names.join(', ')}`,
      }),
    );
    return false;
  };
  // The heartbeat's receiver pings a check-in service: an alert for people routed there is lost.
  // A heartbeat naming no webhook receiver has its own error (watchdogRoute): the mistake is the
  // heartbeat's, not the routes' to a person's channel. One cause, one error.
  const pinged = receivers.find((item) => item.name === heartbeat?.receiver);
  const pings = pinged !== undefined && (kindsOf(pinged)[0] ?? 'webhook') === 'webhook';
  const humanRoute = (name: string, at: PathSegment[]): void => {
    if (heartbeat === undefined || name !== heartbeat.receiver || !pings) return;
    issues.push(
      error({
        code: 'monitoring-heartbeat',
        path: at,
        value: name,
        message: `routes alerts to "${name}", the heartbeat's receiver: they would reach the check-in service as pings, and no person`,
        expected: `a receiver other than ${name} (the heartbeat receiver takes Watchdog only)`,
      }),
    );
  };
  const human = names.filter((name) => name !== heartbeat?.receiver);
  const defaultReceiver = route?.receiver ?? human[0] ?? NULL_RECEIVER;
  if (route !== undefined) {
    const at = path('alertmanager', 'route', 'receiver');
    if (known(route.receiver, at)) humanRoute(route.receiver, at);
  }
  const subRoutes: Values[] = [watchdogRoute(settings, receivers, path, issues)];
  (route?.routes ?? []).forEach((sub, index) => {
    const at = path('alertmanager', 'route', 'routes', index, 'receiver');
    if (known(sub.receiver, at)) humanRoute(sub.receiver, at);
    const matchers: string[] = [];
    if (sub.severities !== undefined) {
      matchers.push(`severity =~ "${[...sub.severities].sort(compareStrings).join('|')}"`);
    }
    if (sub.alerts !== undefined) {
      matchers.push(`alertname =~ "${[...sub.alerts].sort(compareStrings).join('|')}"`);
    }
    subRoutes.push({
      receiver: sub.receiver,
      ...(matchers.length > 0 ? { matchers } : {}),
      ...(sub.continue === true ? { continue: true } : {}),
    });
  });
  // Alertmanager uses a route's own receiver only when none of its sub-routes matched
  // (dispatch/route.go `Match`: "If no child nodes were matches, the current node itself is a
  // match"): an alert that a `continue` sub-route took, and no later one, never reached the
  // default receiver. The definition's `continue` means "and go on": the last sub-route takes
  // what got this far to the default receiver.
  if ((route?.routes ?? []).some((sub) => sub.continue === true)) {
    subRoutes.push({ receiver: defaultReceiver });
  }

  if (heartbeat === undefined && cluster.production && receivers.length > 0) {
    issues.push(
      warning({
        code: 'monitoring-heartbeat',
        path: path('alertmanager'),
        message: `has no heartbeat on production cluster "${cluster.name}": the always-firing Watchdog alert is dropped, so when Prometheus or Alertmanager stops, or the cluster loses power or network, no alert is sent and nothing outside the cluster notices`,
        expected:
          'alertmanager.heartbeat: { receiver: <a webhook receiver whose URL, in credentials, is the ping URL of an external check (healthchecks.io, Uptime Kuma push, Cronitor) that alerts when the pings stop> }',
      }),
    );
  }

  return {
    config: {
      global: { resolve_timeout: '5m' },
      inhibit_rules: INHIBIT_RULES,
      route: {
        receiver: defaultReceiver,
        group_by: [...(route?.groupBy ?? ['namespace', 'alertname'])],
        group_wait: '30s',
        group_interval: '5m',
        repeat_interval: repeatInterval,
        routes: subRoutes,
      },
      receivers: configs,
      templates: ['/etc/alertmanager/config/*.tmpl'],
    },
    secrets: [...secretKeys.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([name, keys]) => ({ name, keys: [...keys].sort(compareStrings) })),
    flows: [...flows.keys()].sort(compareStrings).map((key) => flows.get(key) as FlowDeclaration),
    issues,
  };
}
