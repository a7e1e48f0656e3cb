// The settings of `components.authelia`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), defaults, and a cluster's settings resolved: the backends chosen,
// the replicas they allow, the Secrets they need. Pure.
import {
  caBundleIssues,
  emailAddressProblem,
  error,
  hostFlowPeer,
  type Issue,
  type JsonSchema,
  type PathSegment,
  type ResolvedCluster,
  type SecretReader,
  type SecretRequirement,
  type SettingsSpec,
  warning,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { AutheliaSettings } from './generated/settings.js';
import { AUTHELIA_APP_VERSION } from './versions.js';

export type { AutheliaSettings };

export const AUTHELIA_NAMESPACE = 'authelia';

/** The Secret of Authelia's own secrets, mounted by the chart (`secret.existingSecret`). */
export const SECRET = 'authelia';
/** The Secret of the files Authelia reads: the OIDC signing key, the users database. */
export const FILES_SECRET = 'authelia-files';
/** The Secret of the OIDC client secrets, one key per client id (filled by the secrets provider). */
export const CLIENTS_SECRET = 'authelia-oidc-clients';

/**
 * Keys of the Secret `authelia`: the chart's own file names, so that the chart mounts them and
 * points Authelia's `*_FILE` environment variables at them.
 */
export const SECRET_KEYS = {
  session: 'session.encryption.key',
  storage: 'storage.encryption.key',
  oidcHmac: 'identity_providers.oidc.hmac.key',
  resetPassword: 'identity_validation.reset_password.jwt.hmac.key',
  postgres: 'storage.postgres.password.txt',
  redis: 'session.redis.password.txt',
  ldap: 'authentication.ldap.password.txt',
  smtp: 'notifier.smtp.password.txt',
} as const;

/** Keys of the Secret `authelia-files`. */
export const FILE_KEYS = {
  jwk: 'oidc.jwk.rs256.pem',
  users: 'users_database.yml',
} as const;

export const autheliaSettingsSpec: SettingsSpec<AutheliaSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  // Off unless asked for: it needs the secret store and a user directory.
  defaults: { enabled: false } as unknown as AutheliaSettings,
};

export type Users =
  | { readonly kind: 'file' }
  | {
      readonly kind: 'ldap';
      readonly address: string;
      readonly implementation: string;
      readonly startTls: boolean;
      readonly baseDn: string;
      readonly user: string;
      readonly additionalUsersDn: string | undefined;
      readonly additionalGroupsDn: string | undefined;
      readonly usersFilter: string | undefined;
      readonly groupsFilter: string | undefined;
    };

export type Storage =
  | {
      readonly kind: 'sqlite';
      readonly size: string;
      readonly tier: string | undefined;
      readonly storageClass: string | undefined;
    }
  | {
      readonly kind: 'postgres';
      readonly address: string;
      readonly database: string;
      readonly username: string;
      readonly tls: boolean;
    };

export type Session =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      readonly host: string;
      readonly port: number;
      readonly databaseIndex: number;
      /** The ACL user; Redis' default user when unset. */
      readonly username: string | undefined;
      readonly password: boolean;
      readonly tls: boolean;
    };

export interface ResolvedAutheliaSettings {
  readonly replicas: number;
  /** Whether the definition fixes the replicas (otherwise the profile asks for them). */
  readonly replicasSet: boolean;
  readonly users: Users;
  readonly groups: readonly string[];
  readonly secondFactor: { readonly totp: boolean; readonly webauthn: boolean };
  readonly passwordReset: boolean;
  readonly storage: Storage;
  readonly session: Session;
  readonly smtp:
    | { readonly address: string; readonly sender: string; readonly username: string | undefined }
    | undefined;
  /** The CA certificates (PEM) Authelia trusts besides its image's public CAs, if any. */
  readonly caCertificates: string | undefined;
}

/** The file of the chart's certificates Secret that holds `caCertificates` (Authelia loads *.crt). */
export const CA_CERTIFICATES_FILE = 'ca-certificates.crt';

function users(raw: AutheliaSettings): Users {
  const ldap = raw.users?.ldap;
  if (ldap === undefined) return { kind: 'file' };
  return {
    kind: 'ldap',
    address: ldap.address,
    implementation: ldap.implementation ?? 'custom',
    startTls: ldap.startTls ?? false,
    baseDn: ldap.baseDn,
    user: ldap.user,
    additionalUsersDn: ldap.additionalUsersDn,
    additionalGroupsDn: ldap.additionalGroupsDn,
    usersFilter: ldap.usersFilter,
    groupsFilter: ldap.groupsFilter,
  };
}

function storage(raw: AutheliaSettings): Storage {
  const postgres = raw.storage?.postgres;
  if (postgres !== undefined) {
    return {
      kind: 'postgres',
      address: postgres.address,
      database: postgres.database ?? 'authelia',
      username: postgres.username ?? 'authelia',
      tls: postgres.tls ?? true,
    };
  }
  const sqlite = raw.storage?.sqlite;
  return {
    kind: 'sqlite',
    size: sqlite?.size ?? '1Gi',
    tier: sqlite?.tier,
    storageClass: sqlite?.storageClass,
  };
}

function session(raw: AutheliaSettings): Session {
  const redis = raw.session?.redis;
  if (redis === undefined) return { kind: 'memory' };
  return {
    kind: 'redis',
    host: redis.host,
    port: redis.port ?? 6379,
    databaseIndex: redis.databaseIndex ?? 0,
    username: redis.username,
    password: redis.password ?? true,
    tls: redis.tls ?? false,
  };
}

/** Whether `address` (`ldaps://host[:port]`, `tcp://host:port`) parses with a port in 1–65535. */
function reachableAddress(address: string): boolean {
  try {
    const url = new URL(address);
    return url.port !== '0' && hostFlowPeer(url.hostname) !== undefined;
  } catch {
    return false;
  }
}

/**
 * A setting with a single quote: the chart (0.11.5, templates/configMap.yaml) writes the strings
 * of Authelia's configuration between single quotes with Sprig's `squote`, which does not escape
 * one inside, so `base_dn: 'ou=O'Reilly'` ends the string early and Authelia's configuration does
 * not parse (or, with a line after it, takes keys it should not). `caCertificates` goes into a
 * Secret's file, not the configuration.
 */
function singleQuoteIssues(
  raw: AutheliaSettings,
  path: (...segments: PathSegment[]) => PathSegment[],
): Issue[] {
  const issues: Issue[] = [];
  const walk = (value: unknown, at: PathSegment[]): void => {
    if (typeof value === 'string') {
      if (value.includes("'")) {
        const dn = /(Dn|Filter|^user)$/.test(String(at[at.length - 1]));
        issues.push(
          error({
            code: 'authelia-single-quote',
            path: path(...at),
            message:
              "contains a single quote ('): the Authelia chart writes it into Authelia's configuration between single quotes without escaping it (Sprig's squote), so the configuration would not parse and Authelia would not start",
            expected: dn
              ? 'no single quote: write it as \\27 in an LDAP DN or filter (RFC 4514, RFC 4515), e.g. ou=O\\27Reilly'
              : 'no single quote (leave it out)',
          }),
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        walk(item, [...at, index]);
      });
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      if (at.length === 0 && key === 'caCertificates') continue;
      walk(item, [...at, key]);
    }
  };
  walk(raw, []);
  return issues;
}

/**
 * A display name as Go's net/mail (`ParseAddress`, which Authelia 4.39's configuration decoder
 * runs on `notifier.smtp.sender`) reads it before `<`: words of anything but the specials
 * `"(),:;<>@[\]` and spaces, quoted strings (`"Lab, Auth"`), and parenthesised comments, which
 * it drops. Empty is fine: `<auth@example.com>` is one address.
 */
const DISPLAY_NAME = /^(?:[^"()<>[\]:;@\\,\s]+|"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)|\s+)*$/u;

/**
 * Why `sender` is not the From Authelia takes, worded to follow the value (`is not …`), or
 * undefined when it is one. The chart (0.11.5 templates/configMap.yaml) writes it as it is, and
 * Authelia parses it as one RFC 5322 address (`mail.Address`) when it loads its configuration:
 * `addr@dom` or `Name <addr@dom>`. The address itself must pass core's email rule (one plain
 * mailbox at a fully qualified domain), which is what an SMTP server takes as a sender.
 */
export function smtpSenderProblem(sender: string): string | undefined {
  const open = sender.indexOf('<');
  if (open === -1 && !sender.includes('>')) {
    const problem = emailAddressProblem(sender.trim());
    return problem === undefined
      ? undefined
      : `${problem}, nor a name with an address in angle brackets`;
  }
  const angle = /^([^<>]*)<([^<>]*)>\s*$/u.exec(sender);
  if (angle === null) {
    return 'is not one address in angle brackets after a name: it has a < without its >, more than one <…>, or text after the >';
  }
  const name = angle[1] ?? '';
  const address = angle[2] ?? '';
  const problem = emailAddressProblem(address);
  if (problem !== undefined) {
    return `has ${JSON.stringify(address)} in its angle brackets, which ${problem}`;
  }
  if (!DISPLAY_NAME.test(name) || name.trim().startsWith('(')) {
    return `has the name ${JSON.stringify(name.trim())}, which is not one RFC 5322 display name: outside double quotes it cannot hold " ( ) , : ; < > @ [ \\ ]`;
  }
  return undefined;
}

/**
 * A cluster's merged settings with the defaults applied, and what is wrong with them: two
 * backends where one is chosen, password reset over a read-only users file, more replicas (set
 * here or asked by the profile) than the chosen backends support.
 */
export function resolveAutheliaSettings(
  raw: AutheliaSettings,
  cluster: ResolvedCluster,
  path: (...segments: PathSegment[]) => PathSegment[],
): { settings: ResolvedAutheliaSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  const one = (key: 'users' | 'storage', a: string, b: string, given: object | undefined): void => {
    if (given !== undefined && a in given && b in given) {
      issues.push(
        error({
          code: 'authelia-backend',
          path: path(key),
          value: [a, b],
          message: `sets both ${a} and ${b}; Authelia uses one`,
          expected: `either ${key}.${a} or ${key}.${b}`,
        }),
      );
    }
  };
  one('users', 'file', 'ldap', raw.users);
  one('storage', 'sqlite', 'postgres', raw.storage);
  issues.push(...singleQuoteIssues(raw, path));
  // The egress flow to each server comes from its address (flows.ts addressPeer): one that does
  // not parse (a port beyond 65535) or has port 0 would leave Authelia without a way to it under
  // the CNI's default deny, at start for LDAP and PostgreSQL, whose checks are fatal.
  for (const [at, address] of [
    [['users', 'ldap', 'address'], raw.users?.ldap?.address],
    [['storage', 'postgres', 'address'], raw.storage?.postgres?.address],
    [['smtp', 'address'], raw.smtp?.address],
  ] as const) {
    if (address === undefined || reachableAddress(address)) continue;
    issues.push(
      error({
        code: 'authelia-address',
        path: path(...at),
        value: address,
        message:
          'is no address Authelia can be allowed to reach: it does not parse as a URL, or its port is not 1–65535',
        expected:
          'scheme://<DNS name or IP address>:<port from 1 to 65535>, e.g. tcp://postgres.lab.example.com:5432',
      }),
    );
  }

  if (raw.smtp !== undefined) {
    const problem = smtpSenderProblem(raw.smtp.sender);
    if (problem !== undefined) {
      issues.push(
        error({
          code: 'authelia-smtp-sender',
          path: path('smtp', 'sender'),
          value: raw.smtp.sender,
          message: `${problem}: the chart passes the sender to Authelia as it is, and Authelia reads it as one RFC 5322 address when it starts and exits when it does not parse`,
          expected:
            'an address, e.g. auth@example.com, or a name and an address in angle brackets, e.g. Authelia <auth@example.com>; the name in double quotes when it holds a comma or another of " ( ) : ; < > @ [ \\ ]',
        }),
      );
    }
  }

  const settings: ResolvedAutheliaSettings = {
    replicas: raw.replicas ?? cluster.profile.replicas,
    replicasSet: raw.replicas !== undefined,
    users: users(raw),
    groups: [...(raw.groups ?? [])],
    secondFactor: {
      totp: raw.secondFactor?.totp ?? true,
      webauthn: raw.secondFactor?.webauthn ?? true,
    },
    passwordReset: raw.passwordReset ?? false,
    storage: storage(raw),
    session: session(raw),
    smtp:
      raw.smtp === undefined
        ? undefined
        : { address: raw.smtp.address, sender: raw.smtp.sender, username: raw.smtp.username },
    caCertificates: raw.caCertificates,
  };

  if (settings.caCertificates !== undefined) {
    issues.push(
      ...caBundleIssues({
        pem: settings.caCertificates,
        path: path('caCertificates'),
        code: 'authelia-ca-certificates',
        key: 'caCertificates',
        consequence: 'Authelia would refuse the file and exit at start',
        reader: 'Authelia',
      }),
    );
  }

  if (settings.passwordReset && settings.users.kind === 'file') {
    issues.push(
      error({
        code: 'authelia-password-reset',
        path: path('passwordReset'),
        value: true,
        message:
          'asks for password reset with the users database file, which comes read-only from the secret store',
        expected: 'users.ldap for password reset, or passwordReset: false',
      }),
    );
  }

  if (settings.replicas > 1) {
    const single: { what: string; at: PathSegment[] }[] = [];
    if (settings.storage.kind === 'sqlite')
      single.push({ what: 'SQLite storage', at: path('storage') });
    if (settings.session.kind === 'memory') {
      single.push({ what: 'in-memory sessions', at: path('session') });
    }
    if (settings.users.kind === 'file')
      single.push({ what: 'the users database file', at: path('users') });
    if (single.length > 0) {
      const asked = settings.replicasSet
        ? `replicas: ${settings.replicas}`
        : `the ${cluster.environment} profile's ${settings.replicas} replicas`;
      issues.push(
        error({
          code: 'authelia-replicas',
          path: settings.replicasSet ? path('replicas') : (single[0]?.at ?? path()),
          value: settings.replicas,
          message: `${asked} on cluster "${cluster.name}" cannot share ${single.map((item) => item.what).join(', ')}: each supports one Authelia replica (the chart runs a single pod with it)`,
          expected:
            'storage.postgres, session.redis and users.ldap for more than one replica, or replicas: 1',
        }),
      );
    }
  }
  return { settings, issues };
}

/**
 * TLS to a Service of the cluster (`<service>.<namespace>.svc[.<cluster domain>]`): Authelia 4.39
 * verifies the server's certificate for that name against the public CAs of its image, plus the
 * CAs of its certificates_directory (`caCertificates`), and no public CA signs a certificate for a
 * cluster-internal name, so without `caCertificates` the connection always fails: PostgreSQL and
 * LDAP at start (their startup checks are fatal: Authelia exits), Redis at every session. An
 * error, at the setting; with `caCertificates` the private CA may sign that name, and Authelia is
 * left to verify it.
 */
export function clusterTlsIssues(
  settings: ResolvedAutheliaSettings,
  clusterDomain: string,
  path: (...segments: PathSegment[]) => PathSegment[],
): Issue[] {
  const issues: Issue[] = [];
  if (settings.caCertificates !== undefined) return issues;
  const check = (host: string, at: PathSegment[], what: string, fix: string): void => {
    if (hostFlowPeer(host, clusterDomain)?.kind !== 'service') return;
    issues.push(
      error({
        code: 'authelia-cluster-tls',
        path: at,
        value: host,
        message: `asks Authelia for TLS to ${host}, a Service of the cluster: Authelia verifies its certificate against public CAs only, which never sign a cluster-internal name, so ${what}`,
        expected: `${fix} (plain TCP inside the cluster), caCertificates with the CA that signed the server's certificate for ${host}, or an address whose certificate a public CA signs`,
      }),
    );
  };
  const { users, storage, session } = settings;
  if (users.kind === 'ldap') {
    let url: URL | undefined;
    try {
      url = new URL(users.address);
    } catch {
      url = undefined;
    }
    if (url !== undefined && (url.protocol === 'ldaps:' || users.startTls)) {
      check(
        url.hostname,
        path('users', 'ldap', url.protocol === 'ldaps:' ? 'address' : 'startTls'),
        'Authelia exits at start (its LDAP check fails)',
        'ldap:// without startTls',
      );
    }
  }
  if (storage.kind === 'postgres' && storage.tls) {
    const host = storage.address.replace(/^tcp:\/\//, '').replace(/:[0-9]+$/, '');
    check(
      host,
      path('storage', 'postgres', 'address'),
      'Authelia exits at start (its storage check fails; `tls` is on by default)',
      'storage.postgres.tls: false',
    );
  }
  if (session.kind === 'redis' && session.tls) {
    check(
      session.host,
      path('session', 'redis', 'tls'),
      'no session can be stored and nobody logs in',
      'session.redis.tls: false',
    );
  }
  return issues;
}

/**
 * An `ldap://` server outside the cluster without StartTLS: Authelia 4.39 binds with
 * `authentication_backend.ldap.user` and its password in a simple bind on every start and every
 * login (and sends each user's password the same way to check it), in clear text over the LAN or
 * beyond, to anyone on the path. A Service of the cluster is left alone (the traffic stays on the
 * pod network; `authelia-cluster-tls` explains why TLS there needs a private CA). A warning: a
 * directory on a trusted segment may be meant so; `--strict` makes it fatal.
 */
export function ldapCleartextIssues(
  settings: ResolvedAutheliaSettings,
  clusterDomain: string,
  path: (...segments: PathSegment[]) => PathSegment[],
): Issue[] {
  const { users } = settings;
  if (users.kind !== 'ldap' || users.startTls) return [];
  let url: URL;
  try {
    url = new URL(users.address);
  } catch {
    return [];
  }
  if (url.protocol !== 'ldap:') return [];
  if (hostFlowPeer(url.hostname, clusterDomain)?.kind === 'service') return [];
  return [
    warning({
      code: 'authelia-ldap-cleartext',
      path: path('users', 'ldap', 'address'),
      value: users.address,
      message: `sends Authelia's bind password (key ${SECRET_KEYS.ldap} of the Secret ${SECRET}) and every user's password in clear text to ${url.host}, a server outside the cluster: plain ldap:// without users.ldap.startTls`,
      expected: `users.ldap.startTls: true (StartTLS on the same port), or ldaps://${url.hostname}${url.port === '' ? '' : ':636'}; a server certificate from a private CA also needs caCertificates`,
    }),
  ];
}

/**
 * A Redis session store outside the cluster without TLS: Authelia 4.39 authenticates to Redis
 * with `session.redis.password` (and `username`) on every connection, in clear text over the LAN
 * or beyond (Redis' AUTH has no protection of its own), and anyone who reads it can read, change
 * or delete every session Redis keeps for Authelia. A Service of the cluster is left alone, as for
 * LDAP. A warning: a Redis on a trusted segment may be meant so; `--strict` makes it fatal.
 */
export function redisCleartextIssues(
  settings: ResolvedAutheliaSettings,
  clusterDomain: string,
  path: (...segments: PathSegment[]) => PathSegment[],
): Issue[] {
  const { session } = settings;
  if (session.kind !== 'redis' || session.tls || !session.password) return [];
  if (hostFlowPeer(session.host, clusterDomain)?.kind === 'service') return [];
  return [
    warning({
      code: 'authelia-redis-cleartext',
      path: path('session', 'redis'),
      value: `${session.host}:${session.port}`,
      message: `sends Authelia's Redis password (key ${SECRET_KEYS.redis} of the Secret ${SECRET}) in clear text to ${session.host}:${session.port}, a server outside the cluster, on every connection: session.redis without tls; whoever reads it can read, change and delete every session Redis keeps for Authelia`,
      expected:
        'session.redis.tls: true (a Redis that serves TLS); a server certificate from a private CA also needs caCertificates',
    }),
  ];
}

/** The Secrets Authelia reads, as it declares them to the secrets provider. */
export function secretRequirements(settings: ResolvedAutheliaSettings): SecretRequirement[] {
  const keys: string[] = [SECRET_KEYS.session, SECRET_KEYS.storage, SECRET_KEYS.oidcHmac];
  if (settings.passwordReset) keys.push(SECRET_KEYS.resetPassword);
  if (settings.storage.kind === 'postgres') keys.push(SECRET_KEYS.postgres);
  if (settings.session.kind === 'redis' && settings.session.password) keys.push(SECRET_KEYS.redis);
  if (settings.users.kind === 'ldap') keys.push(SECRET_KEYS.ldap);
  if (settings.smtp?.username !== undefined) keys.push(SECRET_KEYS.smtp);
  const files: string[] = [FILE_KEYS.jwk];
  if (settings.users.kind === 'file') files.push(FILE_KEYS.users);
  const readers = [AUTHELIA_READER];
  const notes: { [key: string]: string } = {
    [SECRET_KEYS.session]:
      'Every user is logged out (their sessions were encrypted with the old key).',
    [SECRET_KEYS.storage]:
      'Authelia encrypts its database with it and refuses to start with another key: follow the procedure below, which re-encrypts the database while no Authelia pod runs.',
    [SECRET_KEYS.oidcHmac]:
      'Authorization codes and tokens issued with the old secret stop working: OIDC clients log in again.',
    [SECRET_KEYS.resetPassword]: 'Password-reset links already sent stop working.',
    [SECRET_KEYS.postgres]:
      'Change the PostgreSQL role\u2019s password to the same value at the same time: Authelia does not start with a password the server refuses.',
    [SECRET_KEYS.redis]:
      'Change the Redis password to the same value at the same time; every user is logged out if Redis loses its sessions.',
    [SECRET_KEYS.ldap]:
      'Change the bind user\u2019s password in the directory at the same time: Authelia checks the bind at start.',
    [SECRET_KEYS.smtp]:
      'Change it at the mail server and here at the same time: Authelia logs in at each mail (not at start, its startup check is off), so mails fail in between.',
    [FILE_KEYS.jwk]:
      'ID tokens signed with the old key no longer verify: OIDC clients log in again once they fetch the new key set.',
    [FILE_KEYS.users]:
      'Authelia reads the users database only at start (`watch: false`): a new user or password needs the restart.',
  };
  const rotation = (list: readonly string[]) =>
    Object.fromEntries(
      list.flatMap((key) => (notes[key] === undefined ? [] : [[key, notes[key]]])),
    );
  return [
    {
      name: SECRET,
      namespace: AUTHELIA_NAMESPACE,
      keys: keys.sort(),
      description:
        'Authelia\u2019s own secrets: session and storage encryption keys (at least 20 random characters), the OIDC HMAC secret, backend passwords',
      readers,
      rotation: rotation(keys),
    },
    {
      name: FILES_SECRET,
      namespace: AUTHELIA_NAMESPACE,
      keys: files.sort(),
      // Authelia 4.39 refuses an RSA signing key under 2048 bits (validator/identity_providers.go).
      description: `files Authelia reads: the OIDC signing key (an RSA private key of at least 2048 bits, PEM: \`openssl genrsa 4096\`)${settings.users.kind === 'file' ? usersDatabaseNote(settings.groups) : ''}`,
      readers,
      rotation: rotation(files),
      // Argo CD v3.4.4 (util/session/sessionmanager.go, util/settings/settings.go) and Grafana
      // accept an ID token whose issuer, audience and signature match: the issuer and audience
      // are names anyone can write, the signature is this key's alone.
      ownPerCluster: {
        [FILE_KEYS.jwk]:
          "Authelia signs its ID tokens with it, and the cluster's OIDC clients (Argo CD, Grafana, the applications) accept any token it signs that names their issuer and audience, names anyone can write",
      },
    },
  ];
}

/**
 * What the users database entry holds (Authelia v4.39's file backend,
 * `internal/authentication/file_user_provider_database.go`: `displayname` and `password` required,
 * the password an argon2id, bcrypt or similar hash; a file that does not load stops Authelia at
 * start): the layout, the hash command of the pinned image, and the groups the definition names
 * (a user in none of them is refused by every OIDC client's policy).
 */
function usersDatabaseNote(groups: readonly string[]): string {
  const group = groups[0] ?? '<group>';
  return ` and the users database: YAML \`users: {<name>: {displayname: <name>, email: <address>, password: '<hash>', groups: [${group}]}}\`, each hash (quoted: it holds commas) from \`docker run --rm -it ghcr.io/authelia/authelia:${AUTHELIA_APP_VERSION} authelia crypto hash generate argon2\` (it asks for the password), each user in the groups that give access (${groups.length === 0 ? 'the definition names none: `components.authelia.groups`' : groups.map((name) => `\`${name}\``).join(', ')})`;
}

/**
 * Authelia's Deployment (the chart's `pod.kind`, named after the release) reads every secret once,
 * at start: the chart's `*_FILE` variables, and the files its configuration names (the template
 * filter's `secret`, the users database with `watch: false`, the OIDC client secrets).
 */
export const AUTHELIA_READER: SecretReader = {
  kind: 'Deployment',
  name: 'authelia',
  reads: 'start',
  how: 'the files of the mounted Secret, read once at start (`*_FILE` variables and the paths its configuration names)',
};
