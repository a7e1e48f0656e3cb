// What Authelia enforces on a cluster, from what the other components declare: one access-control
// rule per route (its host, policy and groups), one OIDC client per declared client (with an
// authorization policy when it names groups). Checked on the way: every group exists, nothing asks
// for two_factor without a second factor, redirect URIs stay inside the cluster domain, scopes are
// ones Authelia knows. Pure.
import {
  compareStrings,
  error,
  type Issue,
  type OidcClientRequest,
  type PathSegment,
  type PeerContribution,
  type ResolvedCluster,
  type RouteRequest,
  settingsPath,
} from '@homelab/core';
import { CLIENTS_SECRET, type ResolvedAutheliaSettings } from './settings.js';

/** An access-control rule (Authelia's `access_control.rules[]`). */
export interface AccessRule {
  readonly domain: readonly string[];
  readonly policy: 'bypass' | 'one_factor' | 'two_factor' | 'deny';
  /** Any of these subjects (each a list that must all match). */
  readonly subject?: readonly (readonly string[])[];
}

/** A custom OIDC authorization policy (Authelia's `identity_providers.oidc.authorization_policies`). */
export interface AuthorizationPolicy {
  readonly default_policy: 'deny';
  readonly rules: readonly {
    readonly policy: 'one_factor' | 'two_factor';
    readonly subject: readonly (readonly string[])[];
  }[];
}

/** A registered OIDC client, in Authelia's terms (its secret is a file: `secretFile`). */
export interface RegisteredClient {
  readonly client_id: string;
  readonly client_name: string;
  readonly public: boolean;
  readonly redirect_uris: readonly string[];
  readonly scopes: readonly string[];
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly authorization_policy: string;
  readonly require_pkce: boolean;
  readonly pkce_challenge_method: string;
  readonly token_endpoint_auth_method: 'none' | 'client_secret_basic';
  /** Where Authelia reads the client secret (confidential clients). */
  readonly secretFile: string | undefined;
}

export interface Access {
  readonly rules: readonly AccessRule[];
  readonly policies: { readonly [name: string]: AuthorizationPolicy };
  readonly clients: readonly RegisteredClient[];
}

/** Scopes Authelia 4.39 knows (its standard scopes). */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'offline_access',
  'profile',
  'email',
  'address',
  'phone',
  'groups',
]);

/** Where Authelia reads the OIDC client secrets (the chart mounts additional Secrets there). */
export const SECRETS_MOUNT = '/secrets';

export function clientSecretFile(clientId: string): string {
  return `${SECRETS_MOUNT}/${CLIENTS_SECRET}/${clientId}`;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function subjects(groups: readonly string[] | undefined): (readonly string[])[] | undefined {
  if (groups === undefined || groups.length === 0) return undefined;
  return [...new Set(groups)].sort(compareStrings).map((group) => [`group:${group}`]);
}

/** Whether `uri` is an https URL on `domain` or one of its subdomains. */
function insideDomain(uri: string, domain: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  return url.protocol === 'https:' && (host === domain || host.endsWith(`.${domain}`));
}

/** A loopback redirect of a native app (RFC 8252: `http://localhost:<port>/…`, or 127.0.0.1). */
function isLoopback(uri: string): boolean {
  try {
    const url = new URL(uri);
    return (
      url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1')
    );
  } catch {
    return false;
  }
}

export interface AccessInput {
  readonly cluster: ResolvedCluster;
  /** The zone the Gateway serves (routes are `<host>.<domain>`). */
  readonly domain: string;
  readonly settings: ResolvedAutheliaSettings;
  readonly others: readonly PeerContribution[];
  /** Path of Authelia's own settings. */
  readonly path: (...segments: PathSegment[]) => PathSegment[];
}

type Clients = Map<string, { component: string; client: OidcClientRequest }>;

function collectClients(input: AccessInput, issues: Issue[]): Clients {
  const clients: Clients = new Map();
  for (const peer of input.others) {
    for (const client of peer.contribution.oidcClients ?? []) {
      const previous = clients.get(client.id);
      if (previous !== undefined) {
        issues.push(
          error({
            code: 'authelia-client',
            path: client.origins?.client ?? settingsPath(input.cluster, peer.component),
            value: client.id,
            message: `${peer.component} declares OIDC client "${client.id}" on cluster "${input.cluster.name}", which ${previous.component} declares too`,
            expected: 'a client id per client',
          }),
        );
        continue;
      }
      clients.set(client.id, { component: peer.component, client });
    }
  }
  return clients;
}

function checkGroups(
  input: AccessInput,
  groups: readonly string[],
  origins: readonly (readonly PathSegment[] | undefined)[] | undefined,
  fallback: readonly PathSegment[],
  who: string,
  issues: Issue[],
): void {
  const known = new Set(input.settings.groups);
  groups.forEach((group, index) => {
    if (known.has(group)) return;
    issues.push(
      error({
        code: 'authelia-group',
        path: origins?.[index] ?? fallback,
        value: group,
        message: `${who} lets group "${group}" in on cluster "${input.cluster.name}", but the user directory has no such group (components.authelia.groups: ${input.settings.groups.length === 0 ? 'none' : input.settings.groups.join(', ')}): no rule would ever let its members in`,
        expected: `one of the directory's groups, or "${group}" added to components.authelia.groups once the directory has it`,
      }),
    );
  });
}

function checkTwoFactor(input: AccessInput, who: string, issues: Issue[]): void {
  const { totp, webauthn } = input.settings.secondFactor;
  if (totp || webauthn) return;
  issues.push(
    error({
      code: 'authelia-two-factor',
      path: input.path('secondFactor'),
      value: who,
      message: `${who} asks for two_factor on cluster "${input.cluster.name}", but every second factor is off: nobody could ever pass it`,
      expected: 'secondFactor.totp or secondFactor.webauthn, or one_factor for it',
    }),
  );
}

function registerClient(
  input: AccessInput,
  component: string,
  client: OidcClientRequest,
  policies: { [name: string]: AuthorizationPolicy },
  issues: Issue[],
): RegisteredClient | undefined {
  const where = client.origins?.client ?? settingsPath(input.cluster, component);
  const who = `OIDC client "${client.id}" of ${component}`;
  const problems = issues.length;
  client.redirectUris.forEach((uri, index) => {
    if (insideDomain(uri, input.domain)) return;
    if (client.public && client.pkce && isLoopback(uri)) return;
    issues.push(
      error({
        code: 'authelia-redirect',
        path: client.origins?.redirectUris?.[index] ?? where,
        value: uri,
        message: `${who} redirects to ${uri} on cluster "${input.cluster.name}", outside the cluster domain ${input.domain}: Authelia would hand authorization codes to another site`,
        expected: `an https URL on ${input.domain} or a subdomain (public PKCE clients also http://localhost:<port>/…)`,
      }),
    );
  });
  const unknown = client.scopes.filter((scope) => !KNOWN_SCOPES.has(scope));
  if (unknown.length > 0 || !client.scopes.includes('openid')) {
    issues.push(
      error({
        code: 'authelia-scopes',
        path: where,
        value: client.scopes,
        message: `${who} asks for scopes Authelia cannot grant on cluster "${input.cluster.name}"${unknown.length > 0 ? ` (${unknown.join(', ')})` : ' (no openid)'}`,
        expected: `openid and others of ${[...KNOWN_SCOPES].join(', ')}`,
      }),
    );
  }
  if (client.public && (client.secret !== undefined || !client.pkce)) {
    issues.push(
      error({
        code: 'authelia-client',
        path: where,
        value: client.id,
        message: `${who} is public ${client.secret !== undefined ? 'but has a secret' : 'without PKCE'} on cluster "${input.cluster.name}"`,
        expected: 'a public client with PKCE and no secret',
      }),
    );
  }
  if (!client.public && client.secret === undefined) {
    issues.push(
      error({
        code: 'authelia-client',
        path: where,
        value: client.id,
        message: `${who} is confidential but declares no secret on cluster "${input.cluster.name}"`,
        expected: 'a secret (a key of a declared Secret) for a confidential client',
      }),
    );
  }
  if (!client.public && !SECRET_KEY.test(client.id)) {
    issues.push(
      error({
        code: 'authelia-client',
        path: where,
        value: client.id,
        message: `${who}: its id cannot name the key of its secret in the Secret ${CLIENTS_SECRET}`,
        expected: 'a client id of letters, digits, "-", "_" or "."',
      }),
    );
  }
  checkGroups(input, client.groups ?? [], client.origins?.groups, where, who, issues);
  if (client.policy === 'two_factor') checkTwoFactor(input, who, issues);
  if (issues.length > problems) return undefined;

  const subject = subjects(client.groups);
  let policy: string = client.policy;
  if (subject !== undefined) {
    policy = `client-${client.id}`;
    policies[policy] = { default_policy: 'deny', rules: [{ policy: client.policy, subject }] };
  }
  return {
    client_id: client.id,
    client_name: client.name,
    public: client.public,
    redirect_uris: [...client.redirectUris],
    scopes: [...client.scopes],
    grant_types: client.scopes.includes('offline_access')
      ? ['authorization_code', 'refresh_token']
      : ['authorization_code'],
    response_types: ['code'],
    authorization_policy: policy,
    require_pkce: client.pkce,
    pkce_challenge_method: client.pkce ? 'S256' : '',
    token_endpoint_auth_method: client.public ? 'none' : 'client_secret_basic',
    secretFile: client.public ? undefined : clientSecretFile(client.id),
  };
}

function ruleFor(
  input: AccessInput,
  component: string,
  route: RouteRequest,
  clients: Clients,
  issues: Issue[],
): AccessRule | undefined {
  const domain = [`${route.host}.${input.domain}`];
  const where = settingsPath(input.cluster, component);
  const who = `route ${route.name} of ${component}`;
  const auth = route.auth;
  switch (auth.kind) {
    case 'none':
      // The definition says so, with its reason: the only way to a bypass rule.
      return { domain, policy: 'bypass' };
    case 'forward-auth': {
      checkGroups(input, auth.groups ?? [], undefined, where, who, issues);
      if (auth.policy === 'two_factor') checkTwoFactor(input, who, issues);
      const subject = subjects(auth.groups);
      return { domain, policy: auth.policy, ...(subject ? { subject } : {}) };
    }
    case 'app': {
      if (auth.oidcClient === undefined) {
        // The application logs users in itself; behind forward auth it would still need a login.
        return { domain, policy: 'one_factor' };
      }
      const found = clients.get(auth.oidcClient);
      if (found === undefined) {
        issues.push(
          error({
            code: 'authelia-route-client',
            path: where,
            value: auth.oidcClient,
            message: `${who} logs users in through OIDC client "${auth.oidcClient}" on cluster "${input.cluster.name}", which no component declares`,
            expected: 'the id of an OIDC client a component declares',
          }),
        );
        return undefined;
      }
      const subject = subjects(found.client.groups);
      return { domain, policy: found.client.policy, ...(subject ? { subject } : {}) };
    }
  }
}

/** Access rules, authorization policies and clients for one cluster, with their issues. */
export function accessFor(input: AccessInput): { access: Access; issues: Issue[] } {
  const issues: Issue[] = [];
  const clients = collectClients(input, issues);
  const policies: { [name: string]: AuthorizationPolicy } = {};
  const registered: RegisteredClient[] = [];
  for (const id of [...clients.keys()].sort(compareStrings)) {
    const { component, client } = clients.get(id) as {
      component: string;
      client: OidcClientRequest;
    };
    const made = registerClient(input, component, client, policies, issues);
    if (made !== undefined) registered.push(made);
  }
  const rules: AccessRule[] = [];
  for (const peer of input.others) {
    for (const route of peer.contribution.routes ?? []) {
      const rule = ruleFor(input, peer.component, route, clients, issues);
      if (rule !== undefined) rules.push(rule);
    }
  }
  rules.sort((a, b) => compareStrings(a.domain.join(','), b.domain.join(',')));
  const sortedPolicies: { [name: string]: AuthorizationPolicy } = {};
  for (const name of Object.keys(policies).sort(compareStrings)) {
    sortedPolicies[name] = policies[name] as AuthorizationPolicy;
  }
  return { access: { rules, policies: sortedPolicies, clients: registered }, issues };
}
