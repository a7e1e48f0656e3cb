// Alertmanager's configuration from the definition's receivers and route. Credentials are never
// in the configuration: each receiver reads its secret from a file, a key of a Secret the secrets
// provider fills, mounted by the operator at /etc/alertmanager/secrets/<secret>/<key>
// (`alertmanagerSpec.secrets`). Pure.
import {
  compareStrings,
  didYouMean,
  error,
  type FlowDeclaration,
  type Issue,
  type PathSegment,
  type Values,
} from '@homelab/core';
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

/** The null receiver: alerts routed to it are dropped (Watchdog, and everything without receivers). */
const NULL_RECEIVER = 'null';

/**
 * kube-prometheus-stack's inhibition rules: a critical alert silences the warning and info
 * alerts of the same name and namespace, a warning the info ones; InfoInhibitor silences info.
 */
const INHIBIT_RULES: Values[] = [
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

function receiverConfig(kind: Kind, receiver: MonitoringReceiver): Values {
  const common: Values = { send_resolved: receiver.sendResolved ?? true };
  const credentials = receiver.credentials;
  const file = credentials === undefined ? {} : { [KINDS[kind].file]: secretFile(credentials) };
  switch (kind) {
    case 'email': {
      const email = receiver.email;
      if (email === undefined) return common;
      return {
        to: email.to,
        from: email.from,
        smarthost: email.smarthost,
        require_tls: email.requireTls ?? true,
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

function endpointFlow(name: string, port: number): FlowDeclaration {
  return {
    name: flowName('egress', 'alertmanager', { kind: 'fqdn', name }, [port]),
    direction: 'egress',
    selector: { 'app.kubernetes.io/name': 'alertmanager' },
    namespace: MONITORING_NAMESPACE,
    peer: { kind: 'fqdn', name },
    ports: [{ port, protocol: 'TCP' }],
  };
}

/** Host and port of an http(s) URL, `undefined` when it has none. */
function urlEndpoint(url: string): { host: string; port: number } | undefined {
  const match = /^(https?):\/\/([^/:?#]+)(?::([0-9]{1,5}))?/.exec(url);
  if (match === null) return undefined;
  const port = match[3] === undefined ? (match[1] === 'https' ? 443 : 80) : Number(match[3]);
  return { host: match[2] as string, port };
}

/** Host and port of an SMTP smarthost (`host:port`). */
function smarthostEndpoint(smarthost: string): { host: string; port: number } | undefined {
  const colon = smarthost.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return { host: smarthost.slice(0, colon), port: Number(smarthost.slice(colon + 1)) };
}

/**
 * Alertmanager's configuration for a cluster: the receivers of the definition (plus `null`), the
 * route (default: everything to the first receiver; Watchdog to `null`), kube-prometheus-stack's
 * inhibition rules. Issues: a receiver of no kind or of several, a credential missing where
 * the kind needs one (or given where nothing reads it), duplicate names, a route to an unknown
 * receiver.
 */
export function alertmanagerPlan(
  settings: ResolvedMonitoringSettings,
  repeatInterval: string,
  path: (...segments: PathSegment[]) => PathSegment[],
): AlertmanagerPlan {
  const issues: Issue[] = [];
  const { receivers, route } = settings.alertmanager;
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
    configs.push({ name: receiver.name, [KINDS[kind].config]: [receiverConfig(kind, receiver)] });
    const endpoint =
      kind === 'email'
        ? smarthostEndpoint(receiver.email?.smarthost ?? '')
        : kind === 'webhook' && receiver.webhook?.url !== undefined
          ? urlEndpoint(receiver.webhook.url)
          : ENDPOINTS[kind] === undefined
            ? undefined
            : { host: ENDPOINTS[kind] as string, port: 443 };
    if (endpoint !== undefined) {
      flows.set(`${endpoint.host}:${endpoint.port}`, endpointFlow(endpoint.host, endpoint.port));
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
  const defaultReceiver = route?.receiver ?? names[0] ?? NULL_RECEIVER;
  if (route !== undefined) known(route.receiver, path('alertmanager', 'route', 'receiver'));
  const subRoutes: Values[] = [{ receiver: NULL_RECEIVER, matchers: ['alertname = "Watchdog"'] }];
  (route?.routes ?? []).forEach((sub, index) => {
    known(sub.receiver, path('alertmanager', 'route', 'routes', index, 'receiver'));
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
