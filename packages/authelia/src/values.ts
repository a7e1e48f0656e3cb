// The values of charts/authelia under `authelia:` (the upstream chart 0.11.5): the configuration
// of config.ts in the chart's `configMap` terms (backends switched on with `enabled`, secrets as
// file paths the chart mounts and points Authelia at), the pod (kind, replicas, placement, security
// context), the volume, the Secrets to mount. Pure.
import { createHash } from 'node:crypto';
import type { EnvironmentName, HaPlan, KubeObject, Values } from '@homelab/core';
import type { AutheliaConfiguration } from './config.js';
import {
  AUTHELIA_NAMESPACE,
  CA_CERTIFICATES_FILE,
  CLIENTS_SECRET,
  FILES_SECRET,
  type ResolvedAutheliaSettings,
  SECRET,
} from './settings.js';

/** The key the upstream chart's values live under. */
export const AUTHELIA_VALUES_KEY = 'authelia';

/** The Helm release, and so every object's name (`authelia`). */
export const RELEASE = 'authelia';

/** The chart's `configMap.telemetry.metrics.port` (its default). */
export const AUTHELIA_METRICS_PORT = 9959;

/** Labels of Authelia's pods that select them (the chart's match labels). */
export const POD_SELECTOR = {
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/name': 'authelia',
} as const;

/**
 * The pod annotation that carries a digest of `caCertificates`: the chart's Deployment has
 * checksums of its configuration and Secret (`authelia.com/checksum-*`) but none of its
 * certificates Secret, and Authelia reads certificates_directory once, at start; without it a
 * new CA would reach the Secret and never the running pods.
 */
export const CA_DIGEST_ANNOTATION = 'homelab.dev/ca-certificates-sha256';

/** The unprivileged user Authelia runs as (any non-root id works; its files are on volumes). */
const RUN_AS = 8000;

type Table = { [key: string]: unknown };

function at(config: Values, ...path: string[]): Table | undefined {
  let node: unknown = config;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Table)[key];
  }
  return typeof node === 'object' && node !== null ? (node as Table) : undefined;
}

function hasSecret(model: AutheliaConfiguration, ...option: string[]): boolean {
  return model.secrets.some((secret) => secret.option.join('.') === option.join('.'));
}

function fileOf(model: AutheliaConfiguration, ...option: (string | number)[]): string {
  const found = model.secrets.find((secret) => secret.option.join('.') === option.join('.'));
  if (found === undefined) throw new Error(`no secret file for ${option.join('.')}`);
  return found.file;
}

/**
 * Rules in the chart's terms: a subject is a list of alternatives, each one string (the chart
 * renders each as a one-item list, Authelia's "any of"; its schema refuses nested lists).
 */
function chartRules(rules: unknown): Values[] {
  return (Array.isArray(rules) ? rules : []).map((rule) => {
    const { subject, ...rest } = rule as Table;
    if (!Array.isArray(subject)) return rest as Values;
    const alternatives = subject.map((entry) => {
      if (!Array.isArray(entry) || entry.length !== 1) {
        throw new Error(`subject ${JSON.stringify(entry)} is not one subject`);
      }
      return entry[0] as string;
    });
    return { ...(rest as Values), subject: alternatives };
  });
}

function chartPolicies(policies: unknown): Values {
  const out: Values = {};
  for (const [name, policy] of Object.entries((policies ?? {}) as Table)) {
    const { rules, ...rest } = policy as Table;
    out[name] = { ...(rest as Values), rules: chartRules(rules) };
  }
  return out;
}

/** The chart's `configMap` for the configuration: what it renders into configuration.yaml. */
export function configMapValues(model: AutheliaConfiguration): Values {
  const { config } = model;
  const backend = at(config, 'authentication_backend') ?? {};
  const authentication: Values = {
    password_reset: backend.password_reset as Values,
    password_change: backend.password_change as Values,
  };
  if (backend.file !== undefined) {
    authentication.file = { enabled: true, ...(backend.file as Values) };
  }
  if (backend.ldap !== undefined) {
    authentication.ldap = {
      enabled: true,
      ...(backend.ldap as Values),
      password: { disabled: false },
    };
  }

  const session = at(config, 'session') ?? {};
  const cookies = (session.cookies as Table[]).map((cookie) => ({
    name: cookie.name as string,
    domain: cookie.domain as string,
    // The chart builds authelia_url as https://<subdomain>.<domain>.
    subdomain: 'auth',
  }));
  const sessionValues: Values = { cookies };
  const redis = session.redis as Table | undefined;
  if (redis !== undefined) {
    const tls = redis.tls as Table | undefined;
    sessionValues.redis = {
      enabled: true,
      host: redis.host as string,
      port: redis.port as number,
      database_index: redis.database_index as number,
      ...(redis.username === undefined ? {} : { username: redis.username as string }),
      password: { disabled: !hasSecret(model, 'session', 'redis', 'password') },
      tls:
        tls === undefined
          ? { enabled: false }
          : { enabled: true, server_name: tls.server_name as string },
    };
  }

  const storage = at(config, 'storage') ?? {};
  const storageValues: Values = {};
  if (storage.local !== undefined)
    storageValues.local = { enabled: true, ...(storage.local as Values) };
  if (storage.postgres !== undefined) {
    const { tls, ...postgres } = storage.postgres as Table;
    storageValues.postgres = {
      enabled: true,
      ...(postgres as Values),
      password: { disabled: false },
      tls:
        tls === undefined
          ? { enabled: false }
          : { enabled: true, server_name: (tls as Table).server_name as string },
    };
  }

  const notifier = at(config, 'notifier') ?? {};
  const notifierValues: Values = {};
  if (notifier.filesystem !== undefined) {
    notifierValues.filesystem = { enabled: true, ...(notifier.filesystem as Values) };
  }
  if (notifier.disable_startup_check !== undefined) {
    notifierValues.disable_startup_check = notifier.disable_startup_check as boolean;
  }
  if (notifier.smtp !== undefined) {
    const smtp = notifier.smtp as Table;
    notifierValues.smtp = {
      enabled: true,
      address: smtp.address as string,
      sender: smtp.sender as string,
      username: (smtp.username as string | undefined) ?? '',
      password: { disabled: !hasSecret(model, 'notifier', 'smtp', 'password') },
    };
  }

  const oidc = at(config, 'identity_providers', 'oidc');
  const oidcValues: Values =
    oidc === undefined
      ? { enabled: false }
      : {
          enabled: true,
          jwks: (oidc.jwks as Table[]).map((key, index) => ({
            ...(key as Values),
            key: { path: fileOf(model, 'identity_providers', 'oidc', 'jwks', index, 'key') },
          })),
          ...(oidc.authorization_policies === undefined
            ? {}
            : { authorization_policies: chartPolicies(oidc.authorization_policies) }),
          ...(oidc.claims_policies === undefined
            ? {}
            : { claims_policies: oidc.claims_policies as Values }),
          clients: (oidc.clients as Table[]).map((client, index) => ({
            ...(client as Values),
            ...(client.public === true
              ? {}
              : {
                  client_secret: {
                    path: fileOf(
                      model,
                      'identity_providers',
                      'oidc',
                      'clients',
                      index,
                      'client_secret',
                    ),
                  },
                }),
          })),
        };

  return {
    default_2fa_method: config.default_2fa_method as string,
    totp: config.totp as Values,
    webauthn: config.webauthn as Values,
    identity_validation: {
      reset_password: {
        secret: {
          disabled: !hasSecret(model, 'identity_validation', 'reset_password', 'jwt_secret'),
        },
      },
    },
    authentication_backend: authentication,
    access_control: {
      default_policy: at(config, 'access_control')?.default_policy as string,
      rules: chartRules(at(config, 'access_control')?.rules),
    },
    session: sessionValues,
    storage: storageValues,
    notifier: notifierValues,
    identity_providers: { oidc: oidcValues },
    // The metrics listener (its own port) for the metrics provider's ServiceMonitor on the
    // Service's `metrics` port; flows.ts admits the provider on it.
    telemetry: { metrics: { enabled: true, port: AUTHELIA_METRICS_PORT } },
  };
}

/**
 * Requests and memory limit per environment (no CPU limit: a throttled portal times out logins).
 * Authelia is one Go binary whose memory grows with sessions and OIDC clients, not with traffic.
 */
export const RESOURCES: {
  readonly [E in EnvironmentName]: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly memory: string };
  };
} = {
  development: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } },
  staging: { requests: { cpu: '25m', memory: '64Mi' }, limits: { memory: '192Mi' } },
  production: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
};

/** Authelia's default argon2id memory cost, in MiB (the users file's hashes). */
export const ARGON2_DEFAULT_MEMORY_MIB = 64;

/** `128Mi` as a number of MiB (the limits above are written in Mi). */
function mebibytes(quantity: string): number {
  const match = /^(\d+)Mi$/.exec(quantity);
  if (match === null) throw new Error(`${quantity}: not a quantity in Mi`);
  return Number(match[1]);
}

/** Environment layer: the profile's requests and limits. */
export function environmentValues(environment: EnvironmentName): Values {
  const { requests, limits } = RESOURCES[environment];
  return {
    [AUTHELIA_VALUES_KEY]: {
      pod: { resources: { requests: { ...requests }, limits: { ...limits } } },
    },
  };
}

/** Base layer: the same on every cluster. */
export function baseValues(): Values {
  return {
    [AUTHELIA_VALUES_KEY]: {
      // On every object the chart renders: the admission policy requires it on workloads.
      labels: { 'app.kubernetes.io/part-of': 'authelia' },
      pod: {
        // The chart's default is a DaemonSet: one pod per node, whatever the replicas.
        kind: 'Deployment',
        securityContext: {
          // Pod Security `restricted`.
          pod: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            fsGroup: RUN_AS,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          container: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
        },
      },
      // The chart's budget renders maxUnavailable from minAvailable (0: no eviction ever); the
      // platform's own PodDisruptionBudget (manifests) replaces it.
      podDisruptionBudget: { enabled: false },
      // Authelia's own secrets, from the secret store: never generated by the chart.
      secret: { existingSecret: SECRET },
    },
  };
}

/** The disruption budget of Authelia's pods (`maxUnavailable: 1`, never blocks a drain). */
export function disruptionBudget(): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: RELEASE, namespace: AUTHELIA_NAMESPACE },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...POD_SELECTOR } } },
  };
}

export interface ClusterValuesInput {
  readonly settings: ResolvedAutheliaSettings;
  readonly model: AutheliaConfiguration;
  readonly plan: HaPlan;
  /** The claim a storage provider makes for the SQLite volume, if one does. */
  readonly existingClaim: string | undefined;
  /** Whether some OIDC client has a secret (the client-secret Secret is then made and mounted). */
  readonly clientSecrets: boolean;
  /** The cluster's environment (its profile's memory limit, raised for the users file). */
  readonly environment: EnvironmentName;
}

/**
 * The percentage of `replicas` that Kubernetes turns into exactly `count` pods: surge rounds up,
 * unavailability down (the chart's values.schema.json takes only strings here, and Kubernetes
 * reads a string only as a percentage).
 */
export function percentOf(count: number, replicas: number, rounding: 'up' | 'down'): string {
  if (count <= 0) return '0%';
  if (count >= replicas) return '100%';
  const percent =
    rounding === 'up' ? Math.floor((100 * count) / replicas) : Math.ceil((100 * count) / replicas);
  const pods =
    rounding === 'up'
      ? Math.ceil((percent * replicas) / 100)
      : Math.floor((percent * replicas) / 100);
  if (pods !== count) throw new Error(`no percentage of ${replicas} gives ${count}`);
  return `${percent}%`;
}

/** The profile's Deployment strategy in the chart's terms (percentages). */
function chartStrategy(strategy: Values, replicas: number): Values {
  const rolling = (strategy.rollingUpdate ?? {}) as Table;
  const number = (value: unknown, fallback: number) =>
    typeof value === 'number' ? value : fallback;
  return {
    type: 'RollingUpdate',
    rollingUpdate: {
      maxSurge: percentOf(number(rolling.maxSurge, 1), replicas, 'up'),
      maxUnavailable: percentOf(number(rolling.maxUnavailable, 1), replicas, 'down'),
    },
  };
}

/** Cluster layer: the configuration, replicas, placement, volume and mounted Secrets. */
export function clusterValues(input: ClusterValuesInput): Values {
  const { settings, plan } = input;
  const pod: Values = { replicas: plan.replicas };
  if (settings.storage.kind === 'sqlite') {
    // One pod on a ReadWriteOnce volume: the old pod lets go of it before the new one starts.
    pod.strategy = { type: 'Recreate' };
  } else if (plan.strategy !== undefined) {
    pod.strategy = chartStrategy(plan.strategy, plan.replicas);
  }
  const antiAffinity = (plan.affinity as Table | undefined)?.podAntiAffinity;
  if (antiAffinity !== undefined)
    pod.selectors = { affinity: { podAntiAffinity: antiAffinity as Values } };
  const ca = settings.caCertificates;
  if (ca !== undefined) {
    pod.annotations = {
      [CA_DIGEST_ANNOTATION]: createHash('sha256').update(ca, 'utf8').digest('hex'),
    };
  }

  if (settings.users.kind === 'file') {
    // With the users file Authelia checks passwords itself, with argon2id: one verification
    // holds the hash's memory cost, 64 MiB with Authelia's defaults (v4.39.19
    // internal/configuration/schema/authentication.go, `Memory: 64 * 1024` KiB), until Go's
    // collector frees it. Two logins at once over the environment's limit would have the
    // kernel kill the pod; LDAP checks passwords in the directory.
    const { limits } = RESOURCES[input.environment];
    pod.resources = {
      limits: { memory: `${mebibytes(limits.memory) + 2 * ARGON2_DEFAULT_MEMORY_MIB}Mi` },
    };
  }

  const values: Values = {
    pod,
    secret: {
      additionalSecrets: {
        [FILES_SECRET]: {},
        ...(input.clientSecrets ? { [CLIENTS_SECRET]: {} } : {}),
      },
    },
    configMap: configMapValues(input.model),
  };
  if (ca !== undefined) {
    // The chart makes the Secret `authelia-certificates` of these files, mounts it at
    // /certificates and sets `certificates_directory: /certificates` (chart 0.11.5,
    // templates/secretCertificates.yaml, configMap.yaml): Authelia adds every *.crt there to the
    // public CAs it verifies LDAP, PostgreSQL, Redis and SMTP servers against.
    values.certificates = {
      values: [{ name: CA_CERTIFICATES_FILE, value: ca.endsWith('\n') ? ca : `${ca}\n` }],
    };
  }
  if (settings.storage.kind === 'sqlite') {
    values.persistence = {
      enabled: true,
      size: settings.storage.size,
      accessModes: ['ReadWriteOnce'],
      ...(input.existingClaim !== undefined
        ? { existingClaim: input.existingClaim }
        : settings.storage.storageClass !== undefined
          ? { storageClass: settings.storage.storageClass }
          : {}),
    };
  }
  return { [AUTHELIA_VALUES_KEY]: values };
}
