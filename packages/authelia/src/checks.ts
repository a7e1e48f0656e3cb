// System checks (layer 4) of the login chain, over the platform as Argo CD deploys it: what the
// consumers declare must be what Authelia's generated configuration (its chart values, read back
// from the generated files) registers and enforces. Pure.
import {
  type DeployedCluster,
  deployedValues,
  error,
  groupKindOf,
  type Issue,
  type Json,
  list,
  type RouteRequest,
  record,
  type SystemCheck,
  type SystemInput,
  settingsPath,
  valuesSource,
} from '@homelab/core';
import { clientSecretFile } from './access.js';
import { INTERNAL_MOUNT } from './config.js';
import { CLIENTS_SECRET, SECRET_KEYS } from './settings.js';
import { AUTHELIA_VALUES_KEY } from './values.js';

const COMPONENT = 'authelia';

/** Authelia's deployed chart values (`authelia:`) on a cluster where it is the OIDC provider. */
function autheliaValues(
  input: SystemInput,
  deployed: DeployedCluster,
): { values: Json; output: string; source: (path: readonly string[]) => string } | undefined {
  if (deployed.run.providers.get('oidc-provider') !== COMPONENT) return undefined;
  const app = deployed.applications.find((candidate) => candidate.component === COMPONENT);
  if (app === undefined) return undefined;
  const values = deployedValues(input, app);
  if (values === undefined) return undefined;
  const output = `charts/authelia/clusters/${deployed.cluster.name}.yaml`;
  return {
    values: record(values[AUTHELIA_VALUES_KEY]),
    output,
    // The layer that sets a value of Authelia's: with several clusters in an environment, what
    // they share is in its env/ layer.
    source: (path) => valuesSource(input, app, [AUTHELIA_VALUES_KEY, ...path]) ?? output,
  };
}

function sameSet(a: readonly unknown[], b: readonly unknown[]): boolean {
  const left = [...new Set(a.map(String))].sort();
  const right = [...new Set(b.map(String))].sort();
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * Secrets the secrets provider makes on the cluster (`ns/name` → keys): its producer objects, and
 * what it is asked to fill (declared Secrets, the OIDC provider's client secrets). A key it
 * cannot fill (unmapped) is an error it reports itself: here it counts as made.
 */
function producedSecrets(deployed: DeployedCluster): Map<string, Set<string>> {
  const producer = deployed.run.facts.secrets?.producer;
  const out = new Map<string, Set<string>>();
  const add = (id: string, keys: readonly string[]): void => {
    const set = out.get(id) ?? new Set<string>();
    for (const key of keys) set.add(key);
    out.set(id, set);
  };
  if (deployed.run.providers.has('secrets')) {
    const clients = deployed.run.facts['oidc-provider']?.clientSecrets;
    for (const contribution of deployed.run.contributions.values()) {
      for (const secret of contribution.secrets ?? []) {
        add(`${secret.namespace}/${secret.name}`, secret.keys);
      }
      if (clients === undefined) continue;
      const ids = (contribution.oidcClients ?? []).filter((client) => client.secret !== undefined);
      add(
        `${clients.namespace}/${clients.name}`,
        ids.map((client) => client.id),
      );
    }
  }
  if (producer === undefined) return out;
  const walk = (node: unknown, path: readonly string[]): unknown[] => {
    if (Array.isArray(node)) return node.flatMap((item) => walk(item, path));
    const [first, ...rest] = path;
    if (first === undefined) return [node];
    return walk(record(node)[first], rest);
  };
  for (const app of deployed.applications) {
    for (const { object } of app.objects) {
      const kind = groupKindOf(object);
      if (kind.group !== producer.group || kind.kind !== producer.kind) continue;
      const name = walk(object, producer.secretName).find((value) => typeof value === 'string');
      if (typeof name !== 'string') continue;
      const keys = walk(object, producer.keys).filter(
        (key): key is string => typeof key === 'string',
      );
      add(`${object.metadata.namespace ?? app.namespace}/${name}`, keys);
    }
  }
  return out;
}

/**
 * Every OIDC client a consumer declares is registered by Authelia as declared: same id, redirect
 * URIs, public/confidential kind and PKCE, its scopes (offline_access with the refresh_token grant); the consumer trusts Authelia's issuer; a confidential
 * client's secret is read from the file of the Secret the secrets provider fills with its key.
 */
export const oidcClientsCheck: SystemCheck = {
  name: 'oidc-clients-registered',
  description:
    "Every OIDC client a component declares is registered by the OIDC provider with the same id, redirect URIs, kind and PKCE, every scope it asks for (and the refresh_token grant type where it asks for offline_access), and with a claims policy that puts in the ID token the claims the client reads there; the component trusts the provider's issuer; a confidential client's secret is read by both sides from Secrets the secrets provider fills.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const found = autheliaValues(input, deployed);
      if (found === undefined) continue;
      const oidc = record(record(record(found.values.configMap).identity_providers).oidc);
      const registered = new Map(
        list(oidc.enabled === true ? oidc.clients : []).map((client) => [
          String(record(client).client_id),
          record(client),
        ]),
      );
      const mounted = record(record(found.values.secret).additionalSecrets);
      const issuer = deployed.run.facts['oidc-provider']?.issuer;
      const produced = producedSecrets(deployed);
      for (const [component, contribution] of deployed.run.contributions) {
        if (component === COMPONENT) continue;
        for (const client of contribution.oidcClients ?? []) {
          const where = {
            path: client.origins?.client ?? settingsPath(deployed.cluster, component),
            output: found.source(['configMap', 'identity_providers', 'oidc', 'clients']),
            value: client.id,
          };
          const fail = (message: string, expected: string): void => {
            issues.push(
              error({
                code: 'oidc-clients-registered',
                ...where,
                message: `OIDC client "${client.id}" of ${component} on cluster "${deployed.cluster.name}": ${message}`,
                expected,
              }),
            );
          };
          if (client.issuer !== undefined && client.issuer !== issuer) {
            fail(
              `${component} trusts issuer ${client.issuer}, the provider is ${issuer ?? 'none'}`,
              `the issuer ${issuer}`,
            );
          }
          const ours = registered.get(client.id);
          if (ours === undefined) {
            fail(
              'Authelia does not register it',
              'the client among identity_providers.oidc.clients',
            );
            continue;
          }
          if (!sameSet(list(ours.redirect_uris), client.redirectUris)) {
            fail(
              `Authelia allows redirects to ${list(ours.redirect_uris).join(', ') || 'nothing'}, the client uses ${client.redirectUris.join(', ')}`,
              'the same redirect URIs on both sides',
            );
          }
          if (ours.public !== client.public || ours.require_pkce !== client.pkce) {
            fail(
              `registered as ${ours.public === true ? 'public' : 'confidential'}${ours.require_pkce === true ? ' with PKCE' : ''}, declared ${client.public ? 'public' : 'confidential'}${client.pkce ? ' with PKCE' : ''}`,
              'the same kind and PKCE on both sides',
            );
          }
          const scopes = list(ours.scopes).map(String);
          const unregistered = client.scopes.filter((scope) => !scopes.includes(scope));
          if (unregistered.length > 0) {
            fail(
              `it asks for scope(s) ${unregistered.join(', ')}, Authelia registers it for ${scopes.join(', ') || 'none'}: Authelia answers invalid_scope`,
              'every scope the client declares among the scopes Authelia registers for it',
            );
          }
          // oauthelia2 issues a refresh token only to a client with the refresh_token grant type
          // (handler/oauth2 canIssueRefreshToken), whatever scopes were granted: without it the
          // client's offline_access buys nothing and its sessions end with the ID token.
          const grants = list(ours.grant_types).map(String);
          if (client.scopes.includes('offline_access') && !grants.includes('refresh_token')) {
            fail(
              `it asks for offline_access (a refresh token), Authelia registers grant types ${grants.join(', ') || 'none'}: no refresh token is ever issued, and its sessions end with the ID token`,
              'grant_types: [authorization_code, refresh_token]',
            );
          }
          const policyName = ours.claims_policy;
          const inIdToken = list(
            typeof policyName === 'string'
              ? record(record(oidc.claims_policies)[policyName]).id_token
              : [],
          );
          const missing = (client.idTokenClaims ?? []).filter(
            (claim) => !inIdToken.includes(claim),
          );
          if (missing.length > 0) {
            fail(
              `it reads ${missing.join(', ')} from the ID token, which Authelia leaves out (${typeof policyName === 'string' ? `claims policy "${policyName}" puts ${inIdToken.join(', ') || 'nothing'} there` : 'no claims policy'})`,
              'a claims_policy whose id_token lists every claim the client reads from the ID token',
            );
          }
          if (client.public || client.secret === undefined) continue;
          const path = record(ours.client_secret).path;
          if (path !== clientSecretFile(client.id) || !(CLIENTS_SECRET in mounted)) {
            fail(
              `Authelia reads its secret from ${typeof path === 'string' ? path : 'nowhere'}${CLIENTS_SECRET in mounted ? '' : `, and the Secret ${CLIENTS_SECRET} is not mounted`}`,
              `the file ${clientSecretFile(client.id)} of the mounted Secret ${CLIENTS_SECRET}`,
            );
            continue;
          }
          const where2 = deployed.run.facts['oidc-provider']?.clientSecrets;
          const keys =
            where2 === undefined ? undefined : produced.get(`${where2.namespace}/${where2.name}`);
          const own = produced.get(`${client.secret.namespace}/${client.secret.name}`);
          if (keys?.has(client.id) !== true || own?.has(client.secret.key) !== true) {
            fail(
              `${keys?.has(client.id) === true ? `its own Secret ${client.secret.namespace}/${client.secret.name} (key ${client.secret.key})` : `the Secret ${CLIENTS_SECRET} (key ${client.id})`} is not made by the secrets provider`,
              'both Secrets filled by the secrets provider',
            );
          }
        }
      }
    }
    return issues;
  },
};

/** The policy a route's rule must have. */
function expectedPolicy(
  route: RouteRequest,
  clients: ReadonlyMap<string, string>,
): string | undefined {
  switch (route.auth.kind) {
    case 'none':
      return 'bypass';
    case 'forward-auth':
      return route.auth.policy;
    case 'app':
      return route.auth.oidcClient === undefined
        ? 'one_factor'
        : clients.get(route.auth.oidcClient);
  }
}

/**
 * Every route has an access-control rule with the policy its declaration asks for; `bypass`
 * only for routes the definition marks unauthenticated; everything else denied by default.
 */
export const routeAccessCheck: SystemCheck = {
  name: 'route-access-rules',
  description:
    'Every route a component declares has an Authelia access-control rule for its host with the policy it declares (bypass only for a route the definition marks unauthenticated, with its reason), and the default policy is deny.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const found = autheliaValues(input, deployed);
      if (found === undefined) continue;
      const access = record(record(found.values.configMap).access_control);
      const rules = list(access.rules).map(record);
      const domain = deployed.run.facts.gateway?.domain ?? deployed.cluster.domain;
      const clients = new Map<string, string>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const client of contribution.oidcClients ?? []) clients.set(client.id, client.policy);
      }
      let routes = 0;
      for (const [component, contribution] of deployed.run.contributions) {
        if (component === COMPONENT) continue;
        for (const route of contribution.routes ?? []) {
          routes += 1;
          const host = `${route.host}.${domain}`;
          const rule = rules.find((candidate) => list(candidate.domain).includes(host));
          const wanted = expectedPolicy(route, clients);
          const where = {
            code: 'route-access-rules',
            path: settingsPath(deployed.cluster, component),
            output: found.source(['configMap', 'access_control', 'rules']),
            value: host,
          };
          if (rule === undefined) {
            issues.push(
              error({
                ...where,
                message: `route ${route.name} of ${component} on cluster "${deployed.cluster.name}" has no Authelia access-control rule`,
                expected: `a rule for ${host} with policy ${wanted}`,
              }),
            );
          } else if (rule.policy === 'bypass' && route.auth.kind !== 'none') {
            issues.push(
              error({
                ...where,
                message: `route ${route.name} of ${component} on cluster "${deployed.cluster.name}" is bypassed, but the definition does not mark it unauthenticated`,
                expected: `policy ${wanted}, or auth none with its reason in the definition`,
              }),
            );
          } else if (rule.policy !== wanted) {
            issues.push(
              error({
                ...where,
                message: `route ${route.name} of ${component} on cluster "${deployed.cluster.name}" has policy ${String(rule.policy)} where it declares ${wanted}`,
                expected: `policy ${wanted}`,
              }),
            );
          }
        }
      }
      if (routes > 0 && access.default_policy !== 'deny') {
        issues.push(
          error({
            code: 'route-access-rules',
            path: settingsPath(deployed.cluster, COMPONENT),
            output: found.source(['configMap', 'access_control', 'default_policy']),
            value: access.default_policy,
            message: `Authelia's default policy on cluster "${deployed.cluster.name}" lets in what no rule names`,
            expected: 'default_policy: deny',
          }),
        );
      }
    }
    return issues;
  },
};

/** The keys of the Secret `authelia` the chart mounts (`secret.existingSecret`) for its values. */
function internalKeys(configMap: Json): string[] {
  const isTrue = (...path: string[]): boolean =>
    path.reduce<unknown>((node, key) => record(node)[key], configMap) === true;
  const keys: string[] = [SECRET_KEYS.session, SECRET_KEYS.storage];
  if (!isTrue('identity_validation', 'reset_password', 'secret', 'disabled')) {
    keys.push(SECRET_KEYS.resetPassword);
  }
  const optional: [string[], string[], string][] = [
    [
      ['identity_providers', 'oidc', 'enabled'],
      ['identity_providers', 'oidc', 'hmac_secret', 'disabled'],
      SECRET_KEYS.oidcHmac,
    ],
    [
      ['storage', 'postgres', 'enabled'],
      ['storage', 'postgres', 'password', 'disabled'],
      SECRET_KEYS.postgres,
    ],
    [
      ['session', 'redis', 'enabled'],
      ['session', 'redis', 'password', 'disabled'],
      SECRET_KEYS.redis,
    ],
    [
      ['authentication_backend', 'ldap', 'enabled'],
      ['authentication_backend', 'ldap', 'password', 'disabled'],
      SECRET_KEYS.ldap,
    ],
    [
      ['notifier', 'smtp', 'enabled'],
      ['notifier', 'smtp', 'password', 'disabled'],
      SECRET_KEYS.smtp,
    ],
  ];
  for (const [on, off, key] of optional) {
    if (isTrue(...on) && !isTrue(...off)) keys.push(key);
  }
  return keys;
}

/** The files in mounted Secrets the configuration points Authelia at (`path` values). */
function configuredFiles(configMap: Json): string[] {
  const oidc = record(record(configMap.identity_providers).oidc);
  const files: unknown[] = [];
  if (oidc.enabled === true) {
    for (const key of list(oidc.jwks)) files.push(record(record(key).key).path);
    for (const client of list(oidc.clients)) files.push(record(record(client).client_secret).path);
  }
  const file = record(record(configMap.authentication_backend).file);
  if (file.enabled === true) files.push(file.path);
  return files.filter((path): path is string => typeof path === 'string');
}

/**
 * Every secret file Authelia reads exists: each key the chart mounts from the Secret `authelia`
 * (the `*_FILE` variables), and each file of a mounted Secret the configuration points at (the
 * signing key, the users database, the client secrets), is a key of a Secret the secrets provider
 * makes; a file outside the mounted Secrets is an error too.
 */
export const secretFilesCheck: SystemCheck = {
  name: 'authelia-secret-files',
  description:
    'Every secret file Authelia reads (its *_FILE variables, the signing key, the users database, the OIDC client secrets) is a key of a Secret the chart mounts and the secrets provider makes.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const found = autheliaValues(input, deployed);
      if (found === undefined) continue;
      const configMap = record(found.values.configMap);
      const secret = record(found.values.secret);
      const produced = producedSecrets(deployed);
      const namespace = deployed.run.contributions.get(COMPONENT)?.application?.namespace ?? '';
      const wanted: { secret: string; key: string; file: string }[] = [];
      const internal =
        typeof secret.existingSecret === 'string' ? secret.existingSecret : undefined;
      for (const key of internalKeys(configMap)) {
        wanted.push({
          secret: internal ?? '(generated by the chart)',
          key,
          file: `${INTERNAL_MOUNT}/${key}`,
        });
      }
      const mounted = Object.keys(record(secret.additionalSecrets));
      for (const file of configuredFiles(configMap)) {
        const match = /^\/secrets\/([^/]+)\/(.+)$/.exec(file);
        const name = match?.[1];
        wanted.push({
          secret: name !== undefined && mounted.includes(name) ? name : '(not mounted)',
          key: match?.[2] ?? file,
          file,
        });
      }
      for (const { secret: name, key, file } of wanted) {
        if (produced.get(`${namespace}/${name}`)?.has(key) === true) continue;
        issues.push(
          error({
            code: 'authelia-secret-files',
            path: settingsPath(deployed.cluster, COMPONENT),
            output: found.output,
            value: file,
            message: `Authelia reads ${file} on cluster "${deployed.cluster.name}", but ${name.startsWith('(') ? `no mounted Secret holds it ${name}` : `the secrets provider makes no key "${key}" in Secret ${namespace}/${name}`}: Authelia would not start`,
            expected: 'a key of a Secret the chart mounts and the secrets provider fills',
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * No string of Authelia's configuration holds a single quote: the chart (0.11.5,
 * templates/configMap.yaml) writes them between single quotes with Sprig's `squote`, which does
 * not escape one inside, so the configuration would not parse (or would take keys a value
 * smuggled in) and Authelia would not start. Authelia's own settings (the notifier, the users
 * backend) refuse it at their path (settings.ts); this reads what the components put there
 * (access-control rules and subjects, OIDC clients, session cookies).
 */
export const configQuotesCheck: SystemCheck = {
  name: 'authelia-config-quotes',
  description:
    "No string of Authelia's configuration holds a single quote, which the chart's squote does not escape.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const found = autheliaValues(input, deployed);
      if (found === undefined) continue;
      const walk = (value: unknown, at: string[]): void => {
        if (typeof value === 'string') {
          if (!value.includes("'")) return;
          issues.push(
            error({
              code: 'authelia-config-quotes',
              path: settingsPath(deployed.cluster, COMPONENT),
              output: found.source(['configMap', ...at]),
              message: `Authelia's configuration on cluster "${deployed.cluster.name}" holds a single quote at configMap.${at.join('.')}: the chart writes the value between single quotes without escaping it (squote), so the configuration would not parse and Authelia would not start`,
              expected: 'no single quote in a value of Authelia’s configuration',
            }),
          );
          return;
        }
        if (Array.isArray(value)) {
          value.forEach((item, index) => {
            walk(item, [...at, String(index)]);
          });
          return;
        }
        for (const [key, item] of Object.entries(record(value))) {
          // The notifier and the users backend come from Authelia's own settings, refused at
          // their path before (settings.ts): named once.
          if (at.length === 0 && (key === 'notifier' || key === 'authentication_backend')) continue;
          walk(item, [...at, key]);
        }
      };
      walk(found.values.configMap, []);
    }
    return issues;
  },
};

export const autheliaChecks: readonly SystemCheck[] = [
  oidcClientsCheck,
  routeAccessCheck,
  secretFilesCheck,
  configQuotesCheck,
];
