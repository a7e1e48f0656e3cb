import { readFileSync } from 'node:fs';
import type { Issue } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import {
  configQuotesCheck,
  oidcClientsCheck,
  routeAccessCheck,
  secretFilesCheck,
} from '../src/checks.js';
import { ARGON2_DEFAULT_MEMORY_MIB, RESOURCES } from '../src/values.js';
import {
  consumer,
  GROUPS,
  HA,
  type Loose,
  network,
  runAuthelia,
  storage,
  store,
} from './helpers.js';

function errors(issues: readonly Issue[]): Issue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

/** The reference layout: SQLite and the users file on dev, HA backends on staging and prod. */
const reference = () => runAuthelia({}, { staging: HA, prod: HA });

const config = (run: ReturnType<typeof runAuthelia>, cluster: string): Loose =>
  run.values('authelia', cluster).authelia.configMap;

describe('what Authelia declares', () => {
  it('serves its portal at auth.<domain> through the Gateway and publishes the issuer', () => {
    const run = reference();
    expect(errors(run.issues)).toEqual([]);
    const dev = run.declared('dev');
    expect(dev.routes).toEqual([
      {
        name: 'authelia',
        host: 'auth',
        namespace: 'authelia',
        service: 'authelia',
        port: 80,
        // the runbook's login table says whose accounts: dev's users database, prod's LDAP
        auth: {
          kind: 'app',
          accounts:
            'the users of the users database (key `users_database.yml` of Secret `authelia/authelia-files`, filled from Bitwarden)',
        },
      },
    ]);
    expect(run.declared('prod').routes?.[0]?.auth).toEqual({
      kind: 'app',
      accounts: `the accounts of the LDAP directory ${HA.users.ldap.address}`,
    });
    expect(dev.facts?.['oidc-provider']).toEqual({
      issuer: 'https://auth.dev.lab.example.com',
      userinfoPath: '/api/oidc/userinfo',
      groups: GROUPS,
      // The chart's defaults (the values set no lifespans, below), Authelia 4.39's own.
      tokenLifespans: { idToken: 3600, accessToken: 3600, refreshToken: 5400 },
      clientSecrets: {
        namespace: 'authelia',
        name: 'authelia-oidc-clients',
        // The client secret files are read once, at start: a rotation restarts Authelia.
        readers: [
          {
            kind: 'Deployment',
            name: 'authelia',
            reads: 'start',
            how: 'the files of the mounted Secret, read once at start (`*_FILE` variables and the paths its configuration names)',
          },
        ],
      },
    });
    // The lifespans said are the chart's defaults only while the values leave them unset.
    expect(config(run, 'dev').identity_providers.oidc).not.toHaveProperty('lifespans');
    expect(run.declared('prod').facts?.['oidc-provider']?.issuer).toBe(
      'https://auth.lab.example.com',
    );
    expect(dev.application).toMatchObject({ namespace: 'authelia', podSecurity: 'restricted' });
  });

  it('says Authelia reads its Secrets at start, and what must change with the keys that encrypt or log in', () => {
    const run = reference();
    const [own, files] = run.declared('prod').secrets ?? [];
    expect(own?.readers?.map((reader) => [reader.kind, reader.name, reader.reads])).toEqual([
      ['Deployment', 'authelia', 'start'],
    ]);
    expect(files?.readers).toEqual(own?.readers);
    expect(own?.rotation?.['storage.encryption.key']).toContain(
      'follow the procedure below, which re-encrypts the database while no Authelia pod runs',
    );
    // The procedure itself: test/rotation.test.ts.
    expect(Object.keys(own?.procedures ?? {})).toEqual(['storage.encryption.key']);
    expect(files?.procedures).toBeUndefined();
    expect(own?.rotation?.['storage.postgres.password.txt']).toContain('PostgreSQL');
    // One note per key it declares, none for keys it does not.
    expect(Object.keys(own?.rotation ?? {}).sort()).toEqual([...(own?.keys ?? [])].sort());
    expect(Object.keys(files?.rotation ?? {}).sort()).toEqual([...(files?.keys ?? [])].sort());
  });

  it('declares the Secrets its backends need, nothing more', () => {
    const run = reference();
    const keys = (cluster: string) =>
      (run.declared(cluster).secrets ?? []).map((secret) => [secret.name, secret.keys]);
    expect(keys('dev')).toEqual([
      [
        'authelia',
        ['identity_providers.oidc.hmac.key', 'session.encryption.key', 'storage.encryption.key'],
      ],
      ['authelia-files', ['oidc.jwk.rs256.pem', 'users_database.yml']],
    ]);
    expect(keys('prod')).toEqual([
      [
        'authelia',
        [
          'authentication.ldap.password.txt',
          'identity_providers.oidc.hmac.key',
          'session.encryption.key',
          'session.redis.password.txt',
          'storage.encryption.key',
          'storage.postgres.password.txt',
        ],
      ],
      ['authelia-files', ['oidc.jwk.rs256.pem']],
    ]);
    // what the operator puts there: Authelia 4.39 refuses an RSA key under 2048 bits
    const files = (cluster: string) => run.declared(cluster).secrets?.[1]?.description;
    // and the users database where the users are a file: its layout, the hash command of the
    // pinned image, the groups the definition names (test/conformance.test.ts fills it in and
    // checks it against Authelia's user-database schema)
    expect(files('dev')).toBe(
      `files Authelia reads: the OIDC signing key (an RSA private key of at least 2048 bits, PEM: \`openssl genrsa 4096\`) and the users database: YAML \`users: {<name>: {displayname: <name>, email: <address>, password: '<hash>', groups: [${GROUPS[0]}]}}\`, each hash (quoted: it holds commas) from \`docker run --rm -it ghcr.io/authelia/authelia:4.39.19 authelia crypto hash generate argon2\` (it asks for the password), each user in the groups that give access (${GROUPS.map((group) => `\`${group}\``).join(', ')})`,
    );
    expect(files('prod')).toBe(
      'files Authelia reads: the OIDC signing key (an RSA private key of at least 2048 bits, PEM: `openssl genrsa 4096`)',
    );
  });
});

describe('the generated configuration', () => {
  // In the chart's values a subject is a list of alternatives; the chart renders each as
  // Authelia's one-item list (the helm conformance test compares the rendered configuration).
  it('denies by default and has one rule per route, with the groups of its OIDC client', () => {
    const access = config(reference(), 'dev').access_control;
    expect(access).toEqual({
      default_policy: 'deny',
      rules: [
        {
          domain: ['argocd.dev.lab.example.com'],
          policy: 'one_factor',
          subject: ['group:platform-admins', 'group:platform-viewers'],
        },
      ],
    });
  });

  it('registers every declared OIDC client, the secret of a confidential one as a file', () => {
    const oidc = config(reference(), 'dev').identity_providers.oidc;
    expect(oidc.enabled).toBe(true);
    expect(oidc.jwks).toEqual([
      {
        key_id: 'authelia-rs256',
        algorithm: 'RS256',
        use: 'sig',
        key: { path: '/secrets/authelia-files/oidc.jwk.rs256.pem' },
      },
    ]);
    expect(oidc.authorization_policies).toEqual({
      'client-argocd-dev': {
        default_policy: 'deny',
        rules: [
          {
            policy: 'one_factor',
            subject: ['group:platform-admins', 'group:platform-viewers'],
          },
        ],
      },
      'client-argocd-dev-cli': {
        default_policy: 'deny',
        rules: [
          {
            policy: 'one_factor',
            subject: ['group:platform-admins', 'group:platform-viewers'],
          },
        ],
      },
    });
    // Authelia 4.39 leaves `groups` out of the ID token unless a claims policy names it.
    expect(oidc.claims_policies).toEqual({
      'client-argocd-dev': { id_token: ['groups'] },
      'client-argocd-dev-cli': { id_token: ['groups'] },
    });
    expect(oidc.clients).toEqual([
      {
        client_id: 'argocd-dev',
        client_name: 'Argo CD',
        public: false,
        redirect_uris: ['https://argocd.dev.lab.example.com/auth/callback'],
        scopes: ['openid', 'profile', 'email', 'groups'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        authorization_policy: 'client-argocd-dev',
        require_pkce: false,
        pkce_challenge_method: '',
        token_endpoint_auth_method: 'client_secret_basic',
        // Asked once, remembered for a month when the user ticks "remember" (the chart's
        // default is a consent screen at every login).
        consent_mode: 'pre-configured',
        pre_configured_consent_duration: '1 month',
        claims_policy: 'client-argocd-dev',
        client_secret: { path: '/secrets/authelia-oidc-clients/argocd-dev' },
      },
      {
        client_id: 'argocd-dev-cli',
        client_name: 'Argo CD CLI',
        public: true,
        redirect_uris: ['http://localhost:8085/auth/callback'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        authorization_policy: 'client-argocd-dev-cli',
        require_pkce: true,
        pkce_challenge_method: 'S256',
        token_endpoint_auth_method: 'none',
        // Asked once, remembered for a month when the user ticks "remember" (the chart's
        // default is a consent screen at every login).
        consent_mode: 'pre-configured',
        pre_configured_consent_duration: '1 month',
        claims_policy: 'client-argocd-dev-cli',
      },
    ]);
  });

  it('mounts every secret as a file from the secret store; the chart generates none', () => {
    const values = reference().values('authelia', 'dev').authelia;
    expect(values.secret).toEqual({
      existingSecret: 'authelia',
      additionalSecrets: { 'authelia-files': {}, 'authelia-oidc-clients': {} },
    });
    expect(values.configMap.authentication_backend.file).toEqual({
      enabled: true,
      path: '/secrets/authelia-files/users_database.yml',
      watch: false,
    });
    // the users file is read only: no password reset (and no JWT secret for it), no change
    expect(values.configMap.authentication_backend.password_reset).toEqual({ disable: true });
    expect(values.configMap.identity_validation.reset_password.secret).toEqual({ disabled: true });
    expect(JSON.stringify(values)).not.toMatch(/"value":/);
  });

  it('sets the session cookie for the cluster domain, one cookie name per cluster', () => {
    const run = reference();
    expect(config(run, 'staging').session.cookies).toEqual([
      { name: 'authelia_session_staging', domain: 'staging.lab.example.com', subdomain: 'auth' },
    ]);
    expect(config(run, 'prod').session.cookies[0].domain).toBe('lab.example.com');
  });

  it('uses SQLite on a volume with one pod on dev, PostgreSQL, Redis and LDAP on prod', () => {
    const run = reference();
    const dev = run.values('authelia', 'dev').authelia;
    expect(dev.configMap.storage.local).toEqual({ enabled: true, path: '/config/db.sqlite3' });
    expect(dev.persistence).toEqual({ enabled: true, size: '1Gi', accessModes: ['ReadWriteOnce'] });
    expect(dev.pod).toMatchObject({
      kind: 'Deployment',
      replicas: 1,
      strategy: { type: 'Recreate' },
    });
    const prod = run.values('authelia', 'prod').authelia;
    expect(prod.persistence).toBeUndefined();
    expect(prod.configMap.storage.postgres).toMatchObject({
      enabled: true,
      address: 'tcp://postgres.lab.example.com:5432',
      password: { disabled: false },
      tls: { enabled: true, server_name: 'postgres.lab.example.com' },
    });
    expect(prod.configMap.session.redis).toMatchObject({
      enabled: true,
      host: 'redis.lab.example.com',
    });
    expect(prod.configMap.authentication_backend.ldap).toMatchObject({
      enabled: true,
      implementation: 'lldap',
      address: 'ldaps://ldap.lab.example.com',
    });
    expect(prod.pod.replicas).toBe(3);
    expect(prod.pod.strategy).toEqual({
      type: 'RollingUpdate',
      // percentages: the chart's schema takes strings, Kubernetes reads strings as percentages
      rollingUpdate: { maxSurge: '33%', maxUnavailable: '0%' },
    });
    expect(prod.pod.selectors.affinity.podAntiAffinity).toBeDefined();
    // the platform's budget, never the chart's (which renders maxUnavailable from minAvailable)
    expect(prod.podDisruptionBudget).toEqual({ enabled: false });
    expect(run.values('authelia', 'prod').manifests['pdb-authelia'].spec).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: {
          'app.kubernetes.io/instance': 'authelia',
          'app.kubernetes.io/name': 'authelia',
        },
      },
    });
  });

  it('raises the memory limit by two argon2id verifications where Authelia checks passwords itself (the users file), not with LDAP', () => {
    const run = reference();
    const dev = run.values('authelia', 'dev').authelia;
    expect(dev.configMap.authentication_backend.file).toBeDefined();
    expect(dev.pod.resources).toEqual({
      requests: { ...RESOURCES.development.requests },
      limits: { memory: `${128 + 2 * ARGON2_DEFAULT_MEMORY_MIB}Mi` },
    });
    expect(RESOURCES.development.limits.memory).toBe('128Mi');
    expect(ARGON2_DEFAULT_MEMORY_MIB).toBe(64);
    const prod = run.values('authelia', 'prod').authelia;
    expect(prod.configMap.authentication_backend.ldap).toBeDefined();
    expect(prod.pod.resources).toEqual({
      requests: { ...RESOURCES.production.requests },
      limits: { ...RESOURCES.production.limits },
    });
  });

  it('runs as a non-root user with every capability dropped (Pod Security restricted)', () => {
    const pod = reference().values('authelia', 'dev').authelia.pod;
    expect(pod.securityContext).toEqual({
      pod: {
        runAsNonRoot: true,
        runAsUser: 8000,
        runAsGroup: 8000,
        fsGroup: 8000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      container: {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      },
    });
  });
});

describe('bad input', () => {
  it('refuses more replicas than the backends support, where the profile asks for them', () => {
    // Given staging (2 replicas) with the SQLite and users-file defaults
    const run = runAuthelia({}, { prod: HA });
    expect(errors(run.issues)).toMatchObject([
      {
        code: 'authelia-replicas',
        path: ['clusters', 1, 'components', 'authelia', 'storage'],
        value: 2,
        message:
          'the staging profile\'s 2 replicas on cluster "staging" cannot share SQLite storage, in-memory sessions, the users database file: each supports one Authelia replica (the chart runs a single pod with it)',
      },
    ]);
    // and accepts one replica asked for explicitly
    expect(errors(runAuthelia({}, { staging: { replicas: 1 }, prod: HA }).issues)).toEqual([]);
  });

  it('refuses a group the user directory does not have, where the consumer names it', () => {
    const run = runAuthelia({ groups: ['platform-admins'] }, { staging: HA, prod: HA });
    const found = errors(run.issues);
    expect(found.map((issue) => [issue.code, issue.path.join('.'), issue.value])).toContainEqual([
      'authelia-group',
      'components.argocd.readonlyGroups.0',
      'platform-viewers',
    ]);
    // once for every cluster and both of its clients: one mistake, one error
    expect(
      found.filter((issue) => issue.code === 'authelia-group').map((issue) => issue.message),
    ).toEqual([
      'argocd (its OIDC login) lets group "platform-viewers" in on clusters "dev", "staging" and "prod", but the user directory has no such group (components.authelia.groups: platform-admins): no rule would ever let its members in',
    ]);
  });

  it('registers the token endpoint method a confidential client declares (client_secret_post), basic auth by default', () => {
    const client = (cluster: string, id: string, method?: 'client_secret_post') => ({
      id,
      name: id,
      redirectUris: [
        `https://${id}.${cluster === 'prod' ? '' : `${cluster}.`}lab.example.com/callback`,
      ],
      scopes: ['openid'],
      pkce: true,
      public: false,
      secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
      ...(method === undefined ? {} : { tokenEndpointAuthMethod: method }),
      policy: 'one_factor' as const,
    });
    const run = runAuthelia({}, { staging: HA, prod: HA }, [
      network,
      store,
      consumer({
        clients: (cluster) => [
          client(cluster, 'immich', 'client_secret_post'),
          client(cluster, 'wiki'),
        ],
        routes: [],
      }),
    ]);
    expect(errors(run.issues)).toEqual([]);
    // Authelia 4.39 refuses a token request by the other method ("registration does not allow
    // this method"): the registration is the client's.
    expect(
      config(run, 'dev').identity_providers.oidc.clients.map((registered: Loose) => [
        registered.client_id,
        registered.token_endpoint_auth_method,
      ]),
    ).toEqual([
      ['immich', 'client_secret_post'],
      ['wiki', 'client_secret_basic'],
    ]);
  });

  it('refuses a redirect outside the cluster domain', () => {
    const run = runAuthelia({}, { staging: HA, prod: HA }, [
      network,
      store,
      consumer({
        clients: () => [
          {
            id: 'argocd',
            name: 'Argo CD',
            redirectUris: ['https://argocd.evil.example/auth/callback'],
            scopes: ['openid'],
            pkce: false,
            public: false,
            secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
            policy: 'one_factor',
            origins: { redirectUris: [['components', 'argocd', 'additionalUrls', 0]] },
          },
        ],
        routes: [],
      }),
    ]);
    const found = errors(run.issues).filter((issue) => issue.code === 'authelia-redirect');
    expect(found).toMatchObject([
      {
        path: ['components', 'argocd', 'additionalUrls', 0],
        value: 'https://argocd.evil.example/auth/callback',
        message:
          'argocd (its OIDC login) redirects to https://argocd.evil.example/auth/callback on clusters "dev", "staging" and "prod", outside the cluster domain: Authelia would hand authorization codes to another site (dev: dev.lab.example.com; staging: staging.lab.example.com; prod: lab.example.com)',
      },
    ]);
  });

  it('refuses an ID-token claim Authelia cannot put there', () => {
    const run = runAuthelia({}, { staging: HA, prod: HA }, [
      network,
      store,
      consumer({
        clients: () => [
          {
            id: 'argocd',
            name: 'Argo CD',
            redirectUris: [],
            scopes: ['openid', 'groups'],
            idTokenClaims: ['groups', 'roles'],
            pkce: true,
            public: true,
            policy: 'one_factor',
            origins: { client: ['components', 'argocd', 'oidc'] },
          },
        ],
        routes: [],
      }),
    ]);
    const found = errors(run.issues).filter((issue) => issue.code === 'authelia-claims');
    expect(found.map((issue) => [issue.value, issue.message])).toEqual([
      [
        ['roles'],
        'OIDC client "argocd" of argocd reads claims from the ID token that Authelia cannot put there on clusters "dev", "staging" and "prod" (roles)',
      ],
    ]);
  });

  it('refuses two_factor when every second factor is off', () => {
    const twoFactor = consumer({
      clients: (cluster) => [
        {
          id: `argocd-${cluster}`,
          name: 'Argo CD',
          redirectUris: [
            `https://argocd.${cluster === 'prod' ? '' : `${cluster}.`}lab.example.com/auth/callback`,
          ],
          scopes: ['openid', 'groups'],
          pkce: false,
          public: false,
          secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
          policy: 'two_factor',
        },
      ],
    });
    const run = runAuthelia(
      { secondFactor: { totp: false, webauthn: false } },
      { staging: HA, prod: HA },
      [network, store, twoFactor],
    );
    // one error at the setting, for every cluster that inherits it
    expect(errors(run.issues).map((issue) => [issue.code, issue.path.join('.')])).toEqual([
      ['authelia-two-factor', 'components.authelia.secondFactor'],
    ]);
    expect(errors(run.issues)[0]?.message).toBe(
      'argocd (its OIDC login) asks for two_factor on clusters "dev", "staging" and "prod", but every second factor is off: nobody could ever pass it',
    );
    // and with one second factor it passes, registering it first
    const totp = runAuthelia({ secondFactor: { webauthn: false } }, { staging: HA, prod: HA }, [
      network,
      store,
      twoFactor,
    ]);
    expect(errors(totp.issues)).toEqual([]);
    expect(config(totp, 'dev').default_2fa_method).toBe('totp');
  });

  it('refuses password reset on the read-only users file, and two user backends at once', () => {
    const run = runAuthelia({ passwordReset: true }, { staging: HA, prod: HA });
    expect(errors(run.issues).map((issue) => [issue.code, issue.path.join('.')])).toEqual([
      ['authelia-password-reset', 'clusters.0.components.authelia.passwordReset'],
    ]);
    const both = runAuthelia(
      { users: { file: {}, ldap: HA.users.ldap } },
      { staging: { replicas: 1 } },
    );
    expect(errors(both.issues).map((issue) => issue.code)).toContain('authelia-backend');
  });

  it("refuses a single quote the chart's squote would not escape, with the LDAP escape as the fix", () => {
    const run = runAuthelia(
      {
        smtp: {
          address: 'submissions://smtp.lab.example.com:465',
          sender: "Bob O'Brien <auth@lab.example.com>",
        },
      },
      {
        staging: HA,
        prod: {
          ...HA,
          users: { ldap: { ...HA.users.ldap, baseDn: "ou=O'Reilly,dc=lab,dc=example,dc=com" } },
        },
      },
    );
    expect(
      errors(run.issues)
        .filter((issue) => issue.code === 'authelia-single-quote')
        .map((issue) => [issue.path.join('.'), issue.expected]),
    ).toEqual([
      ['clusters.0.components.authelia.smtp.sender', 'no single quote (leave it out)'],
      ['clusters.1.components.authelia.smtp.sender', 'no single quote (leave it out)'],
      ['clusters.2.components.authelia.smtp.sender', 'no single quote (leave it out)'],
      [
        'clusters.2.components.authelia.users.ldap.baseDn',
        'no single quote: write it as \\27 in an LDAP DN or filter (RFC 4514, RFC 4515), e.g. ou=O\\27Reilly',
      ],
    ]);
    const escaped = runAuthelia(
      {},
      {
        staging: HA,
        prod: {
          ...HA,
          users: { ldap: { ...HA.users.ldap, baseDn: 'ou=O\\27Reilly,dc=lab,dc=example,dc=com' } },
        },
      },
    );
    expect(errors(escaped.issues)).toEqual([]);
    expect(config(escaped, 'prod').authentication_backend.ldap.base_dn).toBe(
      'ou=O\\27Reilly,dc=lab,dc=example,dc=com',
    );
  });

  it('refuses an SMTP sender Authelia cannot parse as an address, giving both forms it takes', () => {
    // Given a sender that is a bare name, one whose name has an unquoted comma, and one whose
    // address is not fully qualified
    const smtp = (sender: string) => ({
      smtp: { address: 'submissions://smtp.lab.example.com:465', sender },
    });
    const run = runAuthelia(smtp('Authelia'), {
      staging: { ...HA, ...smtp('Lab, Auth <auth@lab.example.com>') },
      prod: { ...HA, ...smtp('Authelia <auth@lab>') },
    });
    // Then each is refused at its smtp.sender, with what Authelia takes
    const refused = errors(run.issues).filter((issue) => issue.code === 'authelia-smtp-sender');
    expect(refused.map((issue) => [issue.path.join('.'), issue.value, issue.message])).toEqual([
      [
        'clusters.0.components.authelia.smtp.sender',
        'Authelia',
        'is not one email address (local-part@domain), nor a name with an address in angle brackets: the chart passes the sender to Authelia as it is, and Authelia reads it as one RFC 5322 address when it starts and exits when it does not parse',
      ],
      [
        'clusters.1.components.authelia.smtp.sender',
        'Lab, Auth <auth@lab.example.com>',
        'has the name "Lab, Auth", which is not one RFC 5322 display name: outside double quotes it cannot hold " ( ) , : ; < > @ [ \\ ]: the chart passes the sender to Authelia as it is, and Authelia reads it as one RFC 5322 address when it starts and exits when it does not parse',
      ],
      [
        'clusters.2.components.authelia.smtp.sender',
        'Authelia <auth@lab>',
        'has "auth@lab" in its angle brackets, which is not an email address: its domain is not fully qualified (a name with a dot, such as example.com): the chart passes the sender to Authelia as it is, and Authelia reads it as one RFC 5322 address when it starts and exits when it does not parse',
      ],
    ]);
    expect(refused[0]?.expected).toBe(
      'an address, e.g. auth@example.com, or a name and an address in angle brackets, e.g. Authelia <auth@example.com>; the name in double quotes when it holds a comma or another of " ( ) : ; < > @ [ \\ ]',
    );
  });

  it('takes an SMTP sender as an address, or as a name (quoted when it needs it) and an address', () => {
    const smtp = (sender: string) => ({
      smtp: { address: 'submissions://smtp.lab.example.com:465', sender },
    });
    const run = runAuthelia(smtp('auth@lab.example.com'), {
      staging: { ...HA, ...smtp('Homelab Auth <auth@lab.example.com>') },
      prod: { ...HA, ...smtp('"Lab, Auth" <auth@lab.example.com>') },
    });
    expect(errors(run.issues)).toEqual([]);
    expect(config(run, 'prod').notifier.smtp.sender).toBe('"Lab, Auth" <auth@lab.example.com>');
  });

  it('refuses a server address whose egress flow cannot be derived, at the address', () => {
    const run = runAuthelia(
      {
        smtp: {
          address: 'submissions://smtp.lab.example.com:99999',
          sender: 'auth@lab.example.com',
        },
      },
      {
        staging: HA,
        prod: {
          ...HA,
          storage: { postgres: { address: 'tcp://postgres.lab.example.com:0' } },
          users: { ldap: { ...HA.users.ldap, address: 'ldaps://ldap.lab.example.com:70000' } },
        },
      },
    );
    expect(
      errors(run.issues)
        .filter((issue) => issue.code === 'authelia-address')
        .map((issue) => issue.path.join('.')),
    ).toEqual([
      'clusters.0.components.authelia.smtp.address',
      'clusters.1.components.authelia.smtp.address',
      'clusters.2.components.authelia.users.ldap.address',
      'clusters.2.components.authelia.storage.postgres.address',
      'clusters.2.components.authelia.smtp.address',
    ]);
  });

  it('refuses TLS to a Service of the cluster, whose certificate no CA Authelia trusts signs', () => {
    // Authelia verifies against the public CAs of its image (no certificates_directory): TLS to
    // <service>.<namespace>.svc always fails, fatally at start for PostgreSQL and LDAP.
    const inCluster = {
      storage: { postgres: { address: 'tcp://postgres.databases.svc.cluster.local:5432' } },
      session: { redis: { host: 'redis.databases.svc', tls: true } },
      users: { ldap: { ...HA.users.ldap, address: 'ldaps://lldap.identity.svc:6360' } },
    };
    const run = runAuthelia({}, { staging: HA, prod: inCluster });
    expect(
      errors(run.issues).map((issue) => [issue.code, issue.path.join('.'), issue.value]),
    ).toEqual([
      [
        'authelia-cluster-tls',
        'clusters.2.components.authelia.users.ldap.address',
        'lldap.identity.svc',
      ],
      [
        'authelia-cluster-tls',
        'clusters.2.components.authelia.storage.postgres.address',
        'postgres.databases.svc.cluster.local',
      ],
      [
        'authelia-cluster-tls',
        'clusters.2.components.authelia.session.redis.tls',
        'redis.databases.svc',
      ],
    ]);
    expect(errors(run.issues)[1]?.expected).toBe(
      "storage.postgres.tls: false (plain TCP inside the cluster), caCertificates with the CA that signed the server's certificate for postgres.databases.svc.cluster.local, or an address whose certificate a public CA signs",
    );
    // Plain TCP to the Services, or TLS to names a public CA signs (the reference's): no error
    const plain = runAuthelia(
      {},
      {
        staging: HA,
        prod: {
          storage: { postgres: { ...inCluster.storage.postgres, tls: false } },
          session: { redis: { host: 'redis.databases.svc' } },
          users: { ldap: { ...HA.users.ldap, address: 'ldap://lldap.identity.svc:3890' } },
        },
      },
    );
    expect(errors(plain.issues)).toEqual([]);
    expect(errors(reference().issues)).toEqual([]);
  });
});

/** A real CA certificate (EC P-256, self-signed), PEM. */
const CA = readFileSync(new URL('./fixtures/private-ca.crt', import.meta.url), 'utf8');
/** A server's certificate (EC P-256, self-signed, CA:FALSE), PEM. */
const LEAF = readFileSync(new URL('./fixtures/server-leaf.crt', import.meta.url), 'utf8');

function warnings(issues: readonly Issue[]): Issue[] {
  return issues.filter((issue) => issue.severity === 'warning');
}

describe('a private CA (caCertificates)', () => {
  it("gives the CA to the chart's certificates Secret and rolls the pods when it changes", () => {
    // Given prod's PostgreSQL, Redis and LDAP signed by a private CA
    const run = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: CA } });
    expect(errors(run.issues)).toEqual([]);
    const values = run.values('authelia', 'prod').authelia;
    // the chart makes authelia-certificates of it and sets certificates_directory: /certificates
    expect(values.certificates).toEqual({
      values: [{ name: 'ca-certificates.crt', value: CA }],
    });
    // a new CA restarts Authelia, which reads the directory once, at start
    const digest = values.pod.annotations['homelab.dev/ca-certificates-sha256'];
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const other = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: `${CA}${CA}` } });
    expect(other.values('authelia', 'prod').authelia.pod.annotations).not.toEqual(
      values.pod.annotations,
    );
    // the project allows the chart's Secret where it renders one
    const kinds = (cluster: string) =>
      run.declared(cluster).application?.namespacedResources?.map((entry) => entry.kind);
    expect(kinds('prod')).toContain('Secret');
    expect(kinds('staging')).not.toContain('Secret');
    // and the other clusters get no certificates at all
    expect(run.values('authelia', 'staging').authelia.certificates).toBeUndefined();
    expect(run.values('authelia', 'staging').authelia.pod.annotations).toBeUndefined();
  });

  it('ends its last line for the chart, whatever the YAML block scalar kept', () => {
    const run = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: CA.trimEnd() } });
    expect(run.values('authelia', 'prod').authelia.certificates.values[0].value).toBe(CA);
  });

  it('refuses PEM Authelia would refuse, naming the line and column of the PEM', () => {
    const lines = CA.trimEnd().split('\n');
    const cases: [string, string][] = [
      // a base64 line damaged in the paste
      [
        [
          ...lines.slice(0, 3),
          `${lines[3]?.slice(0, 20)} ${lines[3]?.slice(20)}`,
          ...lines.slice(4),
        ].join('\n'),
        'not base64 inside a certificate, at line 4, column 1 of the PEM',
      ],
      // a line lost: the base64 still decodes, the certificate does not parse
      [
        [...lines.slice(0, 3), ...lines.slice(4)].join('\n'),
        'the certificate of lines 1\u201310 does not parse as X.509 (a line lost, changed or cut short), at line 1, column 1 of the PEM',
      ],
      [
        lines.slice(0, -1).join('\n'),
        'a certificate without its -----END CERTIFICATE----- line, at line 1',
      ],
      [
        `subject=CN = Homelab CA\n${CA}`,
        'text outside a -----BEGIN CERTIFICATE----- block, at line 1, column 1',
      ],
      [
        `${CA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`,
        "a PRIVATE KEY block where only certificates belong (a private key is a secret: never put it in the definition; only the CA's certificate is needed, e.g. ca.crt), at line 12",
      ],
      ['\n\n', 'no -----BEGIN CERTIFICATE----- block, at line 1'],
    ];
    for (const [pem, problem] of cases) {
      const run = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: pem } });
      const found = errors(run.issues);
      expect(found.map((issue) => [issue.code, issue.path.join('.')])).toEqual([
        ['authelia-ca-certificates', 'clusters.2.components.authelia.caCertificates'],
      ]);
      expect(found[0]?.message).toContain(`is not a PEM bundle of certificates: ${problem}`);
      expect(found[0]?.expected).toContain('caCertificates: |');
    }
    // the value names the offending line, never the whole bundle
    const damaged = runAuthelia(
      {},
      { staging: HA, prod: { ...HA, caCertificates: CA.replace(lines[5] as string, 'x!y') } },
    );
    expect(errors(damaged.issues)[0]?.value).toBe('line 6: x!y');
  });

  it('names the line and column of the PEM a paste gone wrong breaks, for the position in the file', () => {
    const lines = CA.trimEnd().split('\n');
    const cases: [string, { line: number; column: number }, string][] = [
      // the END line lost: the block scalar's last line end is no base64 line
      [
        `${lines.slice(0, -1).join('\n')}\n`,
        { line: 1, column: 1 },
        'a certificate without its -----END CERTIFICATE----- line, at line 1, column 1',
      ],
      // a base64 line cut short: that line, not the BEGIN line
      [
        [...lines.slice(0, 3), lines[3]?.slice(0, 30), ...lines.slice(4)].join('\n'),
        { line: 4, column: 1 },
        "a line of 30 characters where the certificate's other lines have 64 (cut short) in the certificate of lines 1\u201311, which does not parse as X.509, at line 4, column 1",
      ],
      // the END line indented further than the block: Go's encoding/pem finds no end
      [
        [...lines.slice(0, -1), `  ${lines.at(-1)}`].join('\n'),
        { line: 11, column: 3 },
        "-----END CERTIFICATE----- indented 2 space(s) more than the block's first line: Go's PEM reader finds the end only where the line starts with it, at line 11, column 3",
      ],
      // a value without `|`: YAML folds the lines into one
      [
        lines.join(' '),
        { line: 1, column: 1 },
        'its lines are joined into one (a value without `|`, folded with `>` or quoted: YAML turns line ends into spaces), at line 1, column 1',
      ],
      // a file name instead of the certificate
      [
        './ca.crt',
        { line: 1, column: 1 },
        'no -----BEGIN CERTIFICATE----- line (the value is the text of the certificates itself: a file name is not read), at line 1, column 1',
      ],
      // a private key after the CA: its BEGIN line
      [
        `${CA}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`,
        { line: 13, column: 1 },
        'a PRIVATE KEY block where only certificates belong',
      ],
    ];
    for (const [pem, within, problem] of cases) {
      const run = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: pem } });
      const found = errors(run.issues);
      expect(found.map((issue) => [issue.code, issue.within])).toEqual([
        ['authelia-ca-certificates', within],
      ]);
      expect(found[0]?.message).toContain(`is not a PEM bundle of certificates: ${problem}`);
    }
  });

  it('takes empty lines inside a certificate and two certificates, as Go reads them', () => {
    const lines = CA.trimEnd().split('\n');
    const spaced = [...lines.slice(0, 4), '', ...lines.slice(4)].join('\n');
    const run = runAuthelia(
      {},
      { staging: HA, prod: { ...HA, caCertificates: `${spaced}\n${CA}` } },
    );
    expect(run.issues.filter((issue) => issue.code === 'authelia-ca-certificates')).toEqual([]);
  });

  it("warns about a server's own certificate pasted instead of its CA's, at its line", () => {
    // Given the LDAP server's certificate (CA:FALSE) after the private CA
    const run = runAuthelia({}, { staging: HA, prod: { ...HA, caCertificates: `${CA}${LEAF}` } });
    // Then a warning (Go trusts exactly that certificate until it is renewed), not an error
    expect(errors(run.issues)).toEqual([]);
    expect(
      warnings(run.issues)
        .filter((issue) => issue.code === 'authelia-ca-certificates')
        .map((issue) => [issue.path.join('.'), issue.within, issue.value, issue.message]),
    ).toEqual([
      [
        'clusters.2.components.authelia.caCertificates',
        { line: 12, column: 1 },
        'line 12: CN=ldap.lab.example.com',
        "holds a certificate that is no CA's (CN=ldap.lab.example.com, without CA:TRUE), at line 12 of the PEM: Authelia trusts a server that presents exactly this certificate, and refuses it once the certificate is renewed (x509: certificate signed by unknown authority)",
      ],
    ]);
  });

  it('lets Authelia verify TLS to a Service of the cluster against the private CA', () => {
    // Given TLS to PostgreSQL and LLDAP inside the cluster, refused without a CA
    // (authelia-cluster-tls: public CAs never sign <service>.<namespace>.svc)
    const inCluster = {
      ...HA,
      storage: { postgres: { address: 'tcp://postgres.databases.svc:5432' } },
      users: { ldap: { ...HA.users.ldap, address: 'ldaps://lldap.identity.svc:6360' } },
    };
    const without = runAuthelia({}, { staging: HA, prod: inCluster });
    expect(errors(without.issues).map((issue) => issue.code)).toEqual([
      'authelia-cluster-tls',
      'authelia-cluster-tls',
    ]);
    // when the CA that signs their certificates is given, Authelia trusts it: no error
    const withCa = runAuthelia({}, { staging: HA, prod: { ...inCluster, caCertificates: CA } });
    expect(errors(withCa.issues)).toEqual([]);
  });
});

describe('plain LDAP', () => {
  const ldap = (address: string, startTls?: boolean) => ({
    ...HA,
    users: { ldap: { ...HA.users.ldap, address, ...(startTls === undefined ? {} : { startTls }) } },
  });

  it('warns that ldap:// to a server outside the cluster sends the bind password in clear text', () => {
    const run = runAuthelia({}, { staging: HA, prod: ldap('ldap://ldap.lab.example.com:389') });
    expect(errors(run.issues)).toEqual([]);
    expect(
      warnings(run.issues).filter((issue) => issue.code === 'authelia-ldap-cleartext'),
    ).toEqual([
      expect.objectContaining({
        path: ['clusters', 2, 'components', 'authelia', 'users', 'ldap', 'address'],
        value: 'ldap://ldap.lab.example.com:389',
        message:
          "sends Authelia's bind password (key authentication.ldap.password.txt of the Secret authelia) and every user's password in clear text to ldap.lab.example.com:389, a server outside the cluster: plain ldap:// without users.ldap.startTls",
        expected:
          'users.ldap.startTls: true (StartTLS on the same port), or ldaps://ldap.lab.example.com:636; a server certificate from a private CA also needs caCertificates',
      }),
    ]);
  });

  it('leaves StartTLS, ldaps:// and a directory inside the cluster alone', () => {
    for (const prod of [
      ldap('ldap://ldap.lab.example.com', true),
      ldap('ldaps://ldap.lab.example.com'),
      ldap('ldap://lldap.identity.svc:3890'),
      ldap('ldap://lldap.identity.svc.cluster.local:3890'),
    ]) {
      const run = runAuthelia({}, { staging: HA, prod });
      expect(run.issues.filter((issue) => issue.code === 'authelia-ldap-cleartext')).toEqual([]);
    }
  });
});

describe('plain Redis', () => {
  const redis = (host: string, extra: { tls?: boolean; password?: boolean } = {}) => ({
    ...HA,
    session: { redis: { host, ...extra } },
  });

  it("warns that a Redis outside the cluster without TLS is sent Authelia's Redis password in clear text", () => {
    const run = runAuthelia({}, { staging: HA, prod: redis('redis.lab.example.com') });
    expect(errors(run.issues)).toEqual([]);
    const found = warnings(run.issues).filter((issue) => issue.code === 'authelia-redis-cleartext');
    // staging (HA's Redis, without TLS) and prod
    expect(found.map((issue) => [issue.path, issue.value])).toEqual([
      [['clusters', 1, 'components', 'authelia', 'session', 'redis'], 'redis.lab.example.com:6379'],
      [['clusters', 2, 'components', 'authelia', 'session', 'redis'], 'redis.lab.example.com:6379'],
    ]);
    expect(found[1]?.message).toBe(
      "sends Authelia's Redis password (key session.redis.password.txt of the Secret authelia) in clear text to redis.lab.example.com:6379, a server outside the cluster, on every connection: session.redis without tls; whoever reads it can read, change and delete every session Redis keeps for Authelia",
    );
    expect(found[1]?.expected).toContain('session.redis.tls: true');
  });

  it('leaves TLS, a Redis without a password and a Redis inside the cluster alone', () => {
    const tls = { ...HA, session: { redis: { host: 'redis.lab.example.com', tls: true } } };
    for (const prod of [
      redis('redis.lab.example.com', { tls: true }),
      redis('redis.lab.example.com', { password: false }),
      redis('redis.sessions.svc'),
      redis('redis.sessions.svc.cluster.local'),
    ]) {
      const run = runAuthelia({}, { staging: tls, prod });
      expect(run.issues.filter((issue) => issue.code === 'authelia-redis-cleartext')).toEqual([]);
    }
  });
});

describe('the SQLite volume', () => {
  it('is asked of the storage provider when one runs, on its default tier', () => {
    const run = runAuthelia({}, { staging: HA, prod: HA }, [network, store, storage, consumer()]);
    expect(run.declared('dev').volumes).toEqual([
      {
        name: 'authelia-data',
        namespace: 'authelia',
        size: '1Gi',
        tier: 'standard',
        accessMode: 'ReadWriteOnce',
        // Where an issue about the claim (a changed tier or size) points.
        origin: ['clusters', 0, 'components', 'authelia', 'storage', 'sqlite'],
        origins: {
          size: ['clusters', 0, 'components', 'authelia', 'storage', 'sqlite', 'size'],
          tier: ['clusters', 0, 'components', 'authelia', 'storage', 'sqlite', 'tier'],
        },
      },
    ]);
    expect(run.values('authelia', 'dev').authelia.persistence.existingClaim).toBe('authelia-data');
    const unknown = runAuthelia(
      { storage: { sqlite: { tier: 'archive' } } },
      { staging: HA, prod: HA },
      [network, store, storage, consumer()],
    );
    expect(
      errors(unknown.issues)
        .filter((issue) => issue.code === 'authelia-volume')
        .map((issue) => [issue.path.join('.'), issue.expected]),
    ).toEqual([['clusters.0.components.authelia.storage.sqlite.tier', 'one of fast, standard']]);
  });

  it('warns that it falls back to the default StorageClass without a storage provider', () => {
    const run = reference();
    expect(
      run.issues.filter((issue) => issue.code === 'authelia-volume').map((issue) => issue.severity),
    ).toEqual(['warning']);
    const explicit = runAuthelia(
      { storage: { sqlite: { storageClass: 'local-path' } } },
      { staging: HA, prod: HA },
    );
    expect(explicit.issues.filter((issue) => issue.code === 'authelia-volume')).toEqual([]);
    expect(explicit.values('authelia', 'dev').authelia.persistence.storageClass).toBe('local-path');
  });
});

it('warns that the session cookie of a parent domain reaches the clusters below it', () => {
  const warnings = reference().issues.filter((issue) => issue.code === 'authelia-cookie-scope');
  expect(warnings.map((issue) => issue.message)).toEqual([
    'the Authelia session cookie of cluster "prod" is set for lab.example.com, so browsers also send it to the hosts of dev (dev.lab.example.com), staging (staging.lab.example.com): a service there could read prod\'s sessions',
  ]);
  // The fix is a setting: a domain of prod's own (the whole pipeline: cli's cluster-domain.test.ts).
  expect(warnings.map((issue) => [issue.severity, issue.path, issue.expected])).toEqual([
    ['warning', ['clusters', 2, 'name'], 'clusters[2].domain: prod.lab.example.com'],
  ]);
});

describe('accounts shared between clusters', () => {
  const SMTP = {
    address: 'submissions://smtp.lab.example.com:465',
    sender: 'A <a@lab.example.com>',
  };
  const own = (env: string) => ({
    storage: { postgres: { ...HA.storage.postgres, username: `authelia_${env}` } },
    session: { redis: { ...HA.session.redis, username: `authelia-${env}` } },
    users: {
      ldap: { ...HA.users.ldap, user: `uid=authelia-${env},ou=people,dc=lab,dc=example,dc=com` },
    },
    smtp: { ...SMTP, username: `authelia-${env}` },
  });
  const shared = (run: ReturnType<typeof runAuthelia>) =>
    run.issues.filter((issue) => issue.code === 'authelia-shared-account');

  it('warns at the second cluster for every server both log in to as one account (LDAP, PostgreSQL, Redis, SMTP)', () => {
    const run = runAuthelia(
      {},
      {
        staging: { ...HA, smtp: { ...SMTP, username: 'authelia' } },
        prod: { ...HA, smtp: { ...SMTP, username: 'authelia' } },
      },
    );
    const found = shared(run);
    expect(found.map((issue) => [issue.severity, issue.path, issue.expected])).toEqual([
      [
        'warning',
        ['clusters', 2, 'components', 'authelia', 'users', 'ldap', 'user'],
        expect.stringMatching(
          /^an account of its own for each cluster \(users\.ldap\.user\): create it on the server first/,
        ),
      ],
      [
        'warning',
        ['clusters', 2, 'components', 'authelia', 'storage', 'postgres'],
        expect.stringMatching(
          /^an account of its own for each cluster \(storage\.postgres\.username\): create it on the server first/,
        ),
      ],
      [
        'warning',
        ['clusters', 2, 'components', 'authelia', 'session', 'redis'],
        expect.stringMatching(
          /^an account of its own for each cluster \(session\.redis\.username\): create it on the server first/,
        ),
      ],
      [
        'warning',
        ['clusters', 2, 'components', 'authelia', 'smtp', 'username'],
        expect.stringMatching(
          /^an account of its own for each cluster \(smtp\.username\): create it on the server first/,
        ),
      ],
    ]);
    expect(found[0]?.message).toBe(
      'Authelia on cluster "prod" logs in to LDAP ldaps://ldap.lab.example.com as uid=authelia,ou=people,dc=lab,dc=example,dc=com, as on cluster "staging": one password, which each cluster reads from its own secret-store entry, so the two entries must hold the same value, and rotating one cluster\'s (its rotating-secrets.md) breaks the other\'s Authelia: no login binds, and its next start fails its start-up check',
    );
    // PostgreSQL's default role and Redis' default user are one account too
    expect(found[1]?.message).toContain(
      'PostgreSQL tcp://postgres.lab.example.com:5432 as authelia,',
    );
    expect(found[2]?.message).toContain('Redis redis.lab.example.com:6379 as its default user,');
    // Each server's own rights: the database's only where the account is PostgreSQL's
    expect(
      found.map((issue) => issue.expected?.match(/the rights the shared one has \(([^)]*)\)/)?.[1]),
    ).toEqual([
      "read access to the users' and groups' entries under the base DN",
      "the owner's rights on the cluster's database and its tables",
      "an ACL user with the shared one's commands and keys",
      "leave to send as Authelia's sender address",
    ]);
  });

  it('says nothing where each cluster has its own accounts, or another server', () => {
    expect(shared(runAuthelia({}, { staging: own('staging'), prod: own('prod') }))).toEqual([]);
    const elsewhere = {
      ...HA,
      users: { ldap: { ...HA.users.ldap, address: 'ldaps://ldap2.lab.example.com' } },
      storage: { postgres: { address: 'tcp://pg2.lab.example.com:5432' } },
      session: { redis: { host: 'redis2.lab.example.com' } },
    };
    expect(shared(runAuthelia({}, { staging: HA, prod: elsewhere }))).toEqual([]);
    // A Redis without a password has no account to share
    const open = { ...HA, session: { redis: { ...HA.session.redis, password: false } } };
    expect(
      shared(
        runAuthelia(
          {},
          {
            staging: open,
            prod: { ...open, storage: own('prod').storage, users: own('prod').users },
          },
        ),
      ),
    ).toEqual([]);
  });

  it("logs in to Redis as its ACL user: the configuration's and the chart's username", () => {
    const run = runAuthelia({}, { staging: own('staging'), prod: own('prod') });
    expect(run.values('authelia', 'prod').authelia.configMap.session.redis.username).toBe(
      'authelia-prod',
    );
    // Without one the chart's default (the empty user: Redis' default one)
    expect(
      runAuthelia({}, { staging: HA, prod: HA }).values('authelia', 'prod').authelia.configMap
        .session.redis.username,
    ).toBeUndefined();
  });
});

describe('the notifier', () => {
  const twoFactor = consumer({
    clients: (cluster) => [
      {
        id: `argocd-${cluster}`,
        name: 'Argo CD',
        redirectUris: [
          `https://argocd.${cluster === 'prod' ? '' : `${cluster}.`}lab.example.com/auth/callback`,
        ],
        scopes: ['openid', 'groups'],
        pkce: false,
        public: false,
        secret: { namespace: 'argocd', name: 'argocd-oidc', key: 'client-secret' },
        policy: 'two_factor',
        groups: ['platform-admins'],
      },
    ],
  });
  const notifier = (run: ReturnType<typeof runAuthelia>) =>
    run.issues
      .filter((issue) => issue.code === 'authelia-notifier')
      .map((issue) => [issue.severity, issue.path.join('.'), issue.message]);
  const SMTP = {
    address: 'submissions://smtp.lab.example.com:465',
    sender: 'Authelia <auth@lab.example.com>',
  };

  it('warns where two_factor or password reset need a code or link and no mail server sends it', () => {
    // Authelia 4.39 registers a second factor only after a one-time code from its notifier
    // (RequireElevated); without smtp that code is written to a file in the pod.
    const run = runAuthelia({}, { staging: HA, prod: { ...HA, passwordReset: true } }, [
      network,
      store,
      twoFactor,
    ]);
    expect(errors(run.issues)).toEqual([]);
    expect(notifier(run)).toEqual([
      [
        'warning',
        'clusters.0.components.authelia.smtp',
        'Authelia on cluster "dev" mails nothing (no smtp): two_factor (argocd.dev.lab.example.com, OIDC client argocd-dev) makes every user register a second factor, which Authelia allows only with a one-time code it sends; without a mail server these go to /config/notification.txt on its volume, where users cannot read them',
      ],
      [
        'warning',
        'clusters.1.components.authelia.smtp',
        'Authelia on cluster "staging" mails nothing (no smtp): two_factor (argocd.staging.lab.example.com, OIDC client argocd-staging) makes every user register a second factor, which Authelia allows only with a one-time code it sends; without a mail server these go to /config/notification.txt in an emptyDir, lost when the pod restarts, in whichever of the 2 pods served the request, where users cannot read them',
      ],
      [
        'warning',
        'clusters.2.components.authelia.smtp',
        'Authelia on cluster "prod" mails nothing (no smtp): two_factor (argocd.lab.example.com, OIDC client argocd-prod) makes every user register a second factor, which Authelia allows only with a one-time code it sends; password reset sends its link; without a mail server these go to /config/notification.txt in an emptyDir, lost when the pod restarts, in whichever of the 3 pods served the request, where users cannot read them',
      ],
    ]);
    // the file notifier it is (Authelia refuses to start without a notifier)
    expect(config(run, 'prod').notifier).toEqual({
      filesystem: { enabled: true, filename: '/config/notification.txt' },
    });
    // with a mail server, or with one factor only, nothing to say
    const mailed = runAuthelia(
      { smtp: SMTP },
      { staging: HA, prod: { ...HA, passwordReset: true } },
      [network, store, twoFactor],
    );
    expect(notifier(mailed)).toEqual([]);
    expect(config(mailed, 'prod').notifier.smtp).toMatchObject({ enabled: true, ...SMTP });
    // Authelia 4.39 dials and logs in to the SMTP server at start and exits when it cannot
    // (a fatal notifier startup check): off, so a mail outage never crash-loops the portal.
    expect(config(mailed, 'prod').notifier.disable_startup_check).toBe(true);
    expect(config(run, 'prod').notifier.disable_startup_check).toBeUndefined();
    expect(notifier(reference())).toEqual([]);
  });
});

describe('system checks', () => {
  it('finds every OIDC client registered, every route ruled, every secret file made on the reference layout', () => {
    const input = reference().system();
    expect(oidcClientsCheck.check(input)).toEqual([]);
    expect(routeAccessCheck.check(input)).toEqual([]);
    expect(secretFilesCheck.check(input)).toEqual([]);
  });

  it("reports a single quote another component put into Authelia's configuration", () => {
    const input = reference().system();
    expect(configQuotesCheck.check(input)).toEqual([]);
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/dev.yaml'
        ? { ...file, content: file.content.replace('- group:platform-viewers', "- group:o'brien") }
        : file,
    );
    expect(
      configQuotesCheck.check({ ...input, files }).map((issue) => [issue.code, issue.message]),
    ).toEqual([
      [
        'authelia-config-quotes',
        'Authelia\'s configuration on cluster "dev" holds a single quote at configMap.access_control.rules.0.subject.1: the chart writes the value between single quotes without escaping it (squote), so the configuration would not parse and Authelia would not start',
      ],
    ]);
  });

  it('reports a secret file no Secret holds (the users database path edited by hand)', () => {
    const input = reference().system();
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/dev.yaml'
        ? {
            ...file,
            content: file.content.replace(
              'path: /secrets/authelia-files/users_database.yml',
              'path: /secrets/authelia-files/users.yml',
            ),
          }
        : file,
    );
    expect(secretFilesCheck.check({ ...input, files }).map((issue) => issue.message)).toEqual([
      'Authelia reads /secrets/authelia-files/users.yml on cluster "dev", but the secrets provider makes no key "users.yml" in Secret authelia/authelia-files: Authelia would not start',
    ]);
  });

  it('reports a client Authelia does not register (its configuration edited by hand)', () => {
    const input = reference().system();
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/staging.yaml'
        ? {
            ...file,
            content: file.content.replace(
              'client_id: argocd-staging-cli',
              'client_id: someone-else',
            ),
          }
        : file,
    );
    const issues = oidcClientsCheck.check({ ...input, files });
    expect(issues.map((issue) => [issue.code, issue.message])).toEqual([
      [
        'oidc-clients-registered',
        'OIDC client "argocd-staging-cli" of argocd on cluster "staging": Authelia does not register it',
      ],
    ]);
  });

  it('reports a client whose ID-token claims no claims policy puts there (edited by hand)', () => {
    const input = reference().system();
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/prod.yaml'
        ? {
            ...file,
            content: file.content.replace(/\n *claims_policy: client-argocd-prod-cli(?=\n)/, ''),
          }
        : file,
    );
    const issues = oidcClientsCheck.check({ ...input, files });
    expect(issues.map((issue) => [issue.code, issue.message])).toEqual([
      [
        'oidc-clients-registered',
        'OIDC client "argocd-prod-cli" of argocd on cluster "prod": it reads groups from the ID token, which Authelia leaves out (no claims policy)',
      ],
    ]);
  });

  it("reports a client whose scopes, or refresh grant, Authelia's registration lacks (edited by hand)", () => {
    const input = reference().system();
    // Given prod's CLI client registered without refresh_token, and without offline_access
    const edit = (from: RegExp, to: string) =>
      oidcClientsCheck.check({
        ...input,
        files: input.files.map((file) =>
          file.path === 'charts/authelia/clusters/prod.yaml'
            ? { ...file, content: file.content.replace(from, to) }
            : file,
        ),
      });
    const noRefresh = edit(/(\n *- authorization_code)\n *- refresh_token(?=\n)/, '$1');
    expect(noRefresh.map((issue) => [issue.code, issue.message, issue.expected])).toEqual([
      [
        'oidc-clients-registered',
        'OIDC client "argocd-prod-cli" of argocd on cluster "prod": it asks for offline_access (a refresh token), Authelia registers grant types authorization_code: no refresh token is ever issued, and its sessions end with the ID token',
        'grant_types: [authorization_code, refresh_token]',
      ],
    ]);
    const noScope = edit(/(\n *- groups)\n *- offline_access(?=\n)/, '$1');
    expect(noScope.map((issue) => issue.message)).toEqual([
      'OIDC client "argocd-prod-cli" of argocd on cluster "prod": it asks for scope(s) offline_access, Authelia registers it for openid, profile, email, groups: Authelia answers invalid_scope',
    ]);
  });

  it('reports a route bypassed that the definition does not mark unauthenticated', () => {
    const input = reference().system();
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/dev.yaml'
        ? {
            ...file,
            content: file.content.replace(
              'policy: one_factor\n          subject',
              'policy: bypass\n          subject',
            ),
          }
        : file,
    );
    const issues = routeAccessCheck.check({ ...input, files });
    expect(issues.map((issue) => issue.message)).toEqual([
      'route argocd-server of argocd on cluster "dev" is bypassed, but the definition does not mark it unauthenticated',
    ]);
  });

  it('reports a route without a rule', () => {
    const input = reference().system();
    const files = input.files.map((file) =>
      file.path === 'charts/authelia/clusters/prod.yaml'
        ? {
            ...file,
            content: file.content.replace(
              '- argocd.lab.example.com',
              '- argocd-old.lab.example.com',
            ),
          }
        : file,
    );
    expect(routeAccessCheck.check({ ...input, files }).map((issue) => issue.value)).toEqual([
      'argocd.lab.example.com',
    ]);
  });
});

describe('percentOf', () => {
  it('gives the percentage Kubernetes rounds back to the count', async () => {
    const { percentOf } = await import('../src/values.js');
    expect([
      percentOf(1, 3, 'up'),
      percentOf(0, 3, 'down'),
      percentOf(1, 2, 'down'),
      percentOf(1, 2, 'up'),
      percentOf(2, 5, 'down'),
      percentOf(3, 3, 'down'),
    ]).toEqual(['33%', '0%', '50%', '50%', '40%', '100%']);
  });
});
