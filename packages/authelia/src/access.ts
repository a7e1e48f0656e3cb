// What Authelia enforces on a cluster, from what the other components declare: one access-control
// rule per route (its host, policy and groups), one OIDC client per declared client (with an
// authorization policy when it names groups). Checked on the way: every group exists, nothing asks
// for two_factor without a second factor, redirect URIs stay inside the cluster domain, scopes are
// ones Authelia knows. Pure.
import {
  clusterList,
  compareStrings,
  error,
  type Issue,
  type OidcClientRequest,
  type PathSegment,
  type PeerContribution,
  type ResolvedCluster,
  type ResolvedPlatform,
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

/** How long a remembered consent lasts (Authelia's duration syntax). */
export const CONSENT_DURATION = '1 month';

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
  readonly token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post';
  /** How consent is obtained: asked once, remembered when the user ticks "remember" (below). */
  readonly consent_mode: 'pre-configured';
  readonly pre_configured_consent_duration: string;
  /** The claims policy that puts the claims the client reads from the ID token there. */
  readonly claims_policy?: string;
  /** Where Authelia reads the client secret (confidential clients). */
  readonly secretFile: string | undefined;
}

/** A claims policy (Authelia 4.39's `identity_providers.oidc.claims_policies.<name>`). */
export interface ClaimsPolicy {
  /** Claims of the granted scopes Authelia also puts in the ID token. */
  readonly id_token: readonly string[];
}

/**
 * A problem found on one cluster. The same problem on several clusters (settings inherited by all
 * of them) becomes one issue naming them: `{on}` in the message stands for "on cluster(s) …".
 */
export interface Finding {
  readonly code: string;
  readonly path: readonly PathSegment[];
  readonly value?: unknown;
  readonly message: string;
  readonly expected: string;
  readonly cluster: string;
  /** What differs per cluster (e.g. its domain), listed after the message. */
  readonly detail?: string;
}

type Table = { readonly [key: string]: unknown };

function has(node: unknown, path: readonly PathSegment[]): boolean {
  let current: unknown = node;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return false;
    if (!Object.hasOwn(current, segment)) return false;
    current = (current as Table)[segment as string];
  }
  return true;
}

/**
 * Where a setting a finding names is written: a cluster's setting that the cluster does not write
 * itself is the platform-wide one (`components.<name>…`), the same for every cluster.
 */
function written(platform: ResolvedPlatform, path: readonly PathSegment[]): readonly PathSegment[] {
  const [first, index, components, name, ...rest] = path;
  if (first !== 'clusters' || typeof index !== 'number' || components !== 'components') return path;
  const cluster = platform.clusters[index];
  if (cluster === undefined || typeof name !== 'string') return path;
  if (has(cluster.definition.components, [name, ...rest])) return path;
  return has(platform.definition.components, [name, ...rest])
    ? ['components', name, ...rest]
    : path;
}

/** One error per problem, naming every cluster it was found on. */
export function findingIssues(platform: ResolvedPlatform, found: readonly Finding[]): Issue[] {
  const findings = found.map((finding) => ({ ...finding, path: written(platform, finding.path) }));
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = JSON.stringify([
      finding.code,
      finding.path,
      finding.value,
      finding.message,
      finding.expected,
    ]);
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Finding;
    const clusters = [...new Set(group.map((finding) => finding.cluster))];
    const details = [
      ...new Set(group.flatMap((finding) => (finding.detail ? [finding.detail] : []))),
    ];
    const on = `on ${clusterList(clusters)}`;
    return error({
      code: first.code,
      path: first.path,
      ...(first.value === undefined ? {} : { value: first.value }),
      message: `${first.message.replace('{on}', on)}${details.length > 0 ? ` (${details.join('; ')})` : ''}`,
      expected: first.expected,
    });
  });
}

export interface Access {
  readonly rules: readonly AccessRule[];
  readonly policies: { readonly [name: string]: AuthorizationPolicy };
  readonly claimsPolicies: { readonly [name: string]: ClaimsPolicy };
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

/**
 * Claims Authelia 4.39 can put in an ID token through a claims policy (its validator's
 * `validOIDCClientClaims`, internal/configuration/validator/const.go).
 */
export const KNOWN_ID_TOKEN_CLAIMS: ReadonlySet<string> = new Set([
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'email',
  'email_verified',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'phone_number',
  'phone_number_verified',
  'address',
  'groups',
  'alt_emails',
  'rat',
  'updated_at',
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

type Findings = Finding[];

function collectClients(input: AccessInput, issues: Findings): Clients {
  const clients: Clients = new Map();
  for (const peer of input.others) {
    for (const client of peer.contribution.oidcClients ?? []) {
      const previous = clients.get(client.id);
      if (previous !== undefined) {
        issues.push({
          code: 'authelia-client',
          path: client.origins?.client ?? settingsPath(input.cluster, peer.component),
          value: client.id,
          message: `${peer.component} declares OIDC client "${client.id}" {on}, which ${previous.component} declares too`,
          expected: 'a client id per client',
          cluster: input.cluster.name,
        });
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
  issues: Findings,
): void {
  const known = new Set(input.settings.groups);
  groups.forEach((group, index) => {
    if (known.has(group)) return;
    issues.push({
      code: 'authelia-group',
      path: origins?.[index] ?? fallback,
      value: group,
      message: `${who} lets group "${group}" in {on}, but the user directory has no such group (components.authelia.groups: ${input.settings.groups.length === 0 ? 'none' : input.settings.groups.join(', ')}): no rule would ever let its members in`,
      expected: `one of the directory's groups, or "${group}" added to components.authelia.groups once the directory has it`,
      cluster: input.cluster.name,
    });
  });
}

/** Who asks for two_factor in a cluster's `authelia-two-factor` finding, to name them all in one. */
const twoFactorAskers = new WeakMap<Finding, string[]>();

/**
 * Every second factor off where a route or a client asks for two_factor: one finding per cluster
 * naming every route and client that asks (one mistake, the factors off), not one for each.
 */
function checkTwoFactor(input: AccessInput, who: string, issues: Findings): void {
  const { totp, webauthn } = input.settings.secondFactor;
  if (totp || webauthn) return;
  const index = issues.findIndex(
    (issue) => issue.code === 'authelia-two-factor' && issue.cluster === input.cluster.name,
  );
  const earlier = index === -1 ? undefined : issues[index];
  const before = (earlier && twoFactorAskers.get(earlier)) ?? [];
  // A component with two clients (Argo CD's web and CLI logins) is named once.
  const askers = before.includes(who) ? before : [...before, who];
  const finding: Finding = {
    code: 'authelia-two-factor',
    path: input.path('secondFactor'),
    message: `${askers.length === 1 ? `${askers[0]} asks` : `${askers.slice(0, -1).join(', ')} and ${askers.at(-1)} ask`} for two_factor {on}, but every second factor is off: nobody could ever pass it`,
    expected: `secondFactor.totp or secondFactor.webauthn, or one_factor for ${askers.length === 1 ? 'it' : 'them'}`,
    cluster: input.cluster.name,
  };
  twoFactorAskers.set(finding, askers);
  if (index === -1) issues.push(finding);
  else issues[index] = finding;
}

function registerClient(
  input: AccessInput,
  component: string,
  client: OidcClientRequest,
  policies: { [name: string]: AuthorizationPolicy },
  claimsPolicies: { [name: string]: ClaimsPolicy },
  issues: Findings,
): RegisteredClient {
  const where = client.origins?.client ?? settingsPath(input.cluster, component);
  const who = `OIDC client "${client.id}" of ${component}`;
  // Problems of the settings behind it, the same for every client of the component.
  const login = `${component} (its OIDC login)`;
  client.redirectUris.forEach((uri, index) => {
    if (insideDomain(uri, input.domain)) return;
    if (client.public && client.pkce && isLoopback(uri)) return;
    issues.push({
      code: 'authelia-redirect',
      path: client.origins?.redirectUris?.[index] ?? where,
      value: uri,
      message: `${login} redirects to ${uri} {on}, outside the cluster domain: Authelia would hand authorization codes to another site`,
      expected:
        'an https URL on the cluster domain or a subdomain (public PKCE clients also http://localhost:<port>/…)',
      cluster: input.cluster.name,
      detail: `${input.cluster.name}: ${input.domain}`,
    });
  });
  const unknown = client.scopes.filter((scope) => !KNOWN_SCOPES.has(scope));
  if (unknown.length > 0 || !client.scopes.includes('openid')) {
    issues.push({
      code: 'authelia-scopes',
      path: where,
      value: client.scopes,
      message: `${who} asks for scopes Authelia cannot grant {on}${unknown.length > 0 ? ` (${unknown.join(', ')})` : ' (no openid)'}`,
      expected: `openid and others of ${[...KNOWN_SCOPES].join(', ')}`,
      cluster: input.cluster.name,
    });
  }
  const idTokenClaims = [...new Set(client.idTokenClaims ?? [])].sort(compareStrings);
  const unknownClaims = idTokenClaims.filter((claim) => !KNOWN_ID_TOKEN_CLAIMS.has(claim));
  if (unknownClaims.length > 0) {
    issues.push({
      code: 'authelia-claims',
      path: where,
      value: unknownClaims,
      message: `${who} reads claims from the ID token that Authelia cannot put there {on} (${unknownClaims.join(', ')})`,
      expected: `claims of ${[...KNOWN_ID_TOKEN_CLAIMS].join(', ')}`,
      cluster: input.cluster.name,
    });
  }
  if (client.public && (client.secret !== undefined || !client.pkce)) {
    issues.push({
      code: 'authelia-client',
      path: where,
      value: client.id,
      message: `${who} is public ${client.secret !== undefined ? 'but has a secret' : 'without PKCE'} {on}`,
      expected: 'a public client with PKCE and no secret',
      cluster: input.cluster.name,
    });
  }
  if (!client.public && client.secret === undefined) {
    issues.push({
      code: 'authelia-client',
      path: where,
      value: client.id,
      message: `${who} is confidential but declares no secret {on}`,
      expected: 'a secret (a key of a declared Secret) for a confidential client',
      cluster: input.cluster.name,
    });
  }
  if (!client.public && !SECRET_KEY.test(client.id)) {
    issues.push({
      code: 'authelia-client',
      path: where,
      value: client.id,
      message: `${who}: its id cannot name the key of its secret in the Secret ${CLIENTS_SECRET} {on}`,
      expected: 'a client id of letters, digits, "-", "_" or "."',
      cluster: input.cluster.name,
    });
  }
  checkGroups(input, client.groups ?? [], client.origins?.groups, where, login, issues);
  if (client.policy === 'two_factor') checkTwoFactor(input, login, issues);
  // Registered as declared even with problems (they are errors already): the checks of the
  // output then find nothing more to say about it.

  const subject = subjects(client.groups);
  let policy: string = client.policy;
  if (subject !== undefined) {
    policy = `client-${client.id}`;
    policies[policy] = { default_policy: 'deny', rules: [{ policy: client.policy, subject }] };
  }
  // Authelia 4.39 puts none of the profile, email or groups claims in the ID token (only the
  // protocol's: sub, iss, aud, …) unless a claims policy names them (internal/oidc/claims.go,
  // HydrateIDTokenClaims).
  let claimsPolicy: string | undefined;
  if (idTokenClaims.length > 0) {
    claimsPolicy = `client-${client.id}`;
    claimsPolicies[claimsPolicy] = { id_token: idTokenClaims };
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
    token_endpoint_auth_method: client.public
      ? 'none'
      : (client.tokenEndpointAuthMethod ?? 'client_secret_basic'),
    // The chart's default `auto` is `explicit` without a duration (Authelia 4.39
    // validateOIDCClientConsentMode): a consent screen at every login to Argo CD or Grafana, and
    // at every `argocd login --sso`. The clients are the platform's and the definition's own, so
    // the consent screen offers to remember the answer, for a month. A client asking for
    // offline_access (the CLI's) still sees it at every login: Authelia 4.39 asks explicitly
    // whenever a refresh token would be issued (oidc.RequesterRequiresExplicitConsent).
    consent_mode: 'pre-configured',
    pre_configured_consent_duration: CONSENT_DURATION,
    ...(claimsPolicy === undefined ? {} : { claims_policy: claimsPolicy }),
    secretFile: client.public ? undefined : clientSecretFile(client.id),
  };
}

function ruleFor(
  input: AccessInput,
  component: string,
  route: RouteRequest,
  clients: Clients,
  issues: Findings,
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
        issues.push({
          code: 'authelia-route-client',
          path: where,
          value: auth.oidcClient,
          message: `${who} logs users in through OIDC client "${auth.oidcClient}" {on}, which no component declares`,
          expected: 'the id of an OIDC client a component declares',
          cluster: input.cluster.name,
        });
        return undefined;
      }
      const subject = subjects(found.client.groups);
      return { domain, policy: found.client.policy, ...(subject ? { subject } : {}) };
    }
  }
}

/** Access rules, authorization policies and clients for one cluster, with what is wrong. */
export function accessFor(input: AccessInput): { access: Access; findings: Finding[] } {
  const issues: Findings = [];
  const clients = collectClients(input, issues);
  const policies: { [name: string]: AuthorizationPolicy } = {};
  const claimsPolicies: { [name: string]: ClaimsPolicy } = {};
  const registered: RegisteredClient[] = [];
  for (const id of [...clients.keys()].sort(compareStrings)) {
    const { component, client } = clients.get(id) as {
      component: string;
      client: OidcClientRequest;
    };
    registered.push(registerClient(input, component, client, policies, claimsPolicies, issues));
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
  const sortedClaims: { [name: string]: ClaimsPolicy } = {};
  for (const name of Object.keys(claimsPolicies).sort(compareStrings)) {
    sortedClaims[name] = claimsPolicies[name] as ClaimsPolicy;
  }
  return {
    access: {
      rules,
      policies: sortedPolicies,
      claimsPolicies: sortedClaims,
      clients: registered,
    },
    findings: issues,
  };
}
