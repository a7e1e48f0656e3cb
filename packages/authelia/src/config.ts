// The Authelia configuration the platform generates for a cluster, in Authelia's own terms (its
// configuration.yml keys, as its JSON Schema for 4.39 describes them). Secrets are never in it:
// each is a file Authelia reads (`secrets`), through a `*_FILE` environment variable or, in lists,
// the chart's `{{ secret "<file>" }}` filter. values.ts turns this into the chart's values; the
// tests validate it against Authelia's schema and compare it with what the real Helm renders. Pure.
import type { PathSegment, ResolvedCluster, Values } from '@homelab/core';
import type { Access } from './access.js';
import { SECRETS_MOUNT } from './access.js';
import { FILE_KEYS, FILES_SECRET, type ResolvedAutheliaSettings, SECRET_KEYS } from './settings.js';

/** Where the chart mounts the Secret `authelia` (`secret.existingSecret`). */
export const INTERNAL_MOUNT = `${SECRETS_MOUNT}/internal`;
/** Where the chart mounts the Secret `authelia-files` (`secret.additionalSecrets`). */
export const FILES_MOUNT = `${SECRETS_MOUNT}/${FILES_SECRET}`;

/** The SQLite database and the notification file live on /config (the volume, or an emptyDir). */
export const SQLITE_PATH = '/config/db.sqlite3';
export const NOTIFICATION_PATH = '/config/notification.txt';

/** The key id of the OIDC signing key. */
export const JWK_KEY_ID = 'authelia-rs256';

/** A secret option of the configuration and the file Authelia reads it from. */
export interface SecretFile {
  /** The option, as a path into the configuration (`['session', 'secret']`). */
  readonly option: readonly PathSegment[];
  readonly file: string;
}

export interface AutheliaConfiguration {
  /** configuration.yml without its secrets. */
  readonly config: Values;
  readonly secrets: readonly SecretFile[];
  /** The portal URL (the session cookie's `authelia_url`, the OIDC issuer). */
  readonly url: string;
}

export interface ConfigurationInput {
  readonly cluster: ResolvedCluster;
  /** The zone the Gateway serves; the portal is `auth.<domain>`. */
  readonly domain: string;
  readonly settings: ResolvedAutheliaSettings;
  readonly access: Access;
}

/** The session cookie's name: one per cluster, so that cookies of nested domains never mix. */
export function cookieName(cluster: ResolvedCluster): string {
  return `authelia_session_${cluster.name.replace(/-/g, '_')}`;
}

function internal(key: string): string {
  return `${INTERNAL_MOUNT}/${key}`;
}

/** The configuration for one cluster. */
export function autheliaConfiguration(input: ConfigurationInput): AutheliaConfiguration {
  const { cluster, domain, settings, access } = input;
  const url = `https://auth.${domain}`;
  const secrets: SecretFile[] = [
    { option: ['session', 'secret'], file: internal(SECRET_KEYS.session) },
    { option: ['storage', 'encryption_key'], file: internal(SECRET_KEYS.storage) },
  ];
  const { totp, webauthn } = settings.secondFactor;

  const backend: Values = {
    password_reset: { disable: !settings.passwordReset },
    // The users file comes read-only from the secret store: nobody can change a password there.
    password_change: { disable: settings.users.kind === 'file' },
  };
  if (settings.passwordReset) {
    secrets.push({
      option: ['identity_validation', 'reset_password', 'jwt_secret'],
      file: internal(SECRET_KEYS.resetPassword),
    });
  }
  const users = settings.users;
  if (users.kind === 'file') {
    backend.file = { path: `${FILES_MOUNT}/${FILE_KEYS.users}`, watch: false };
  } else {
    const ldap: Values = {
      implementation: users.implementation,
      address: users.address,
      start_tls: users.startTls,
      base_dn: users.baseDn,
      user: users.user,
    };
    if (users.additionalUsersDn !== undefined) ldap.additional_users_dn = users.additionalUsersDn;
    if (users.additionalGroupsDn !== undefined)
      ldap.additional_groups_dn = users.additionalGroupsDn;
    if (users.usersFilter !== undefined) ldap.users_filter = users.usersFilter;
    if (users.groupsFilter !== undefined) ldap.groups_filter = users.groupsFilter;
    backend.ldap = ldap;
    secrets.push({
      option: ['authentication_backend', 'ldap', 'password'],
      file: internal(SECRET_KEYS.ldap),
    });
  }

  const session: Values = {
    cookies: [{ name: cookieName(cluster), domain, authelia_url: url }],
  };
  if (settings.session.kind === 'redis') {
    const redis = settings.session;
    session.redis = {
      host: redis.host,
      port: redis.port,
      database_index: redis.databaseIndex,
      ...(redis.username === undefined ? {} : { username: redis.username }),
      ...(redis.tls ? { tls: { server_name: redis.host } } : {}),
    };
    if (redis.password) {
      secrets.push({ option: ['session', 'redis', 'password'], file: internal(SECRET_KEYS.redis) });
    }
  }

  const storage: Values = {};
  if (settings.storage.kind === 'sqlite') storage.local = { path: SQLITE_PATH };
  else {
    const postgres = settings.storage;
    const host = postgres.address.replace(/^tcp:\/\//, '').replace(/:[0-9]+$/, '');
    storage.postgres = {
      address: postgres.address,
      database: postgres.database,
      username: postgres.username,
      ...(postgres.tls ? { tls: { server_name: host } } : {}),
    };
    secrets.push({
      option: ['storage', 'postgres', 'password'],
      file: internal(SECRET_KEYS.postgres),
    });
  }

  const notifier: Values = {};
  if (settings.smtp === undefined) notifier.filesystem = { filename: NOTIFICATION_PATH };
  else {
    // Authelia 4.39 dials and logs in to the SMTP server at start and exits when it cannot
    // (middlewares/startup.go: a failed notifier check is fatal unless disabled): a mail outage
    // would crash-loop every restarted pod and take single sign-on down with it, for mail that
    // only carries one-time codes and reset links. Without the check a mail that cannot be sent
    // fails (and is logged) when it is sent.
    notifier.disable_startup_check = true;
    notifier.smtp = {
      address: settings.smtp.address,
      sender: settings.smtp.sender,
      ...(settings.smtp.username === undefined ? {} : { username: settings.smtp.username }),
    };
    if (settings.smtp.username !== undefined) {
      secrets.push({ option: ['notifier', 'smtp', 'password'], file: internal(SECRET_KEYS.smtp) });
    }
  }

  const config: Values = {
    // The method new users register first: the first one enabled.
    default_2fa_method: totp ? 'totp' : webauthn ? 'webauthn' : '',
    totp: { disable: !totp, issuer: domain },
    webauthn: { disable: !webauthn, display_name: `Authelia (${cluster.name})` },
    authentication_backend: backend,
    access_control: {
      // Deny what no rule allows. Authelia refuses `deny` without rules (the chart then asks for
      // two factors everywhere, and so does this): with no route there is nothing to deny.
      default_policy: access.rules.length > 0 ? 'deny' : 'two_factor',
      rules: access.rules.map((rule) => ({ ...rule })) as unknown as Values[],
    },
    session,
    storage,
    notifier,
  };

  if (access.clients.length > 0) {
    secrets.push(
      {
        option: ['identity_providers', 'oidc', 'hmac_secret'],
        file: internal(SECRET_KEYS.oidcHmac),
      },
      {
        option: ['identity_providers', 'oidc', 'jwks', 0, 'key'],
        file: `${FILES_MOUNT}/${FILE_KEYS.jwk}`,
      },
    );
    const clients = access.clients.map((client, index) => {
      const { secretFile, ...registered } = client;
      if (secretFile !== undefined) {
        secrets.push({
          option: ['identity_providers', 'oidc', 'clients', index, 'client_secret'],
          file: secretFile,
        });
      }
      return registered as unknown as Values;
    });
    config.identity_providers = {
      oidc: {
        jwks: [{ key_id: JWK_KEY_ID, algorithm: 'RS256', use: 'sig' }],
        ...(Object.keys(access.policies).length > 0
          ? { authorization_policies: access.policies as unknown as Values }
          : {}),
        ...(Object.keys(access.claimsPolicies).length > 0
          ? { claims_policies: access.claimsPolicies as unknown as Values }
          : {}),
        clients,
      },
    };
  }
  return { config, secrets, url };
}
