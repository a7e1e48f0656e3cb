// @homelab/authelia: the Authelia component. Provides `oidc-provider`: renders charts/authelia,
// the upstream chart with a configuration generated from the platform (the cluster domain, the
// chosen backends, an access-control rule for every declared route, an OIDC client for every
// declared client), its secrets as files from the secret store, its portal at auth.<domain>
// through the Gateway. Pure.
import {
  type ApplicationDescriptor,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  checkHaInvariants,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  type EnvironmentName,
  error,
  haPlan,
  type Issue,
  type PathSegment,
  type RenderCluster,
  type RenderInput,
  type ResolvedCluster,
  type Values,
  type VolumeRequest,
  warning,
} from '@homelab/core';
import { type Access, accessFor, type Finding, findingIssues } from './access.js';
import { autheliaChanges } from './changes.js';
import { autheliaChecks } from './checks.js';
import { autheliaConfiguration, NOTIFICATION_PATH } from './config.js';
import { autheliaFlows } from './flows.js';
import { withRotationProcedures } from './rotation.js';
import {
  AUTHELIA_NAMESPACE,
  AUTHELIA_READER,
  type AutheliaSettings,
  autheliaSettingsSpec,
  CLIENTS_SECRET,
  clusterTlsIssues,
  FILE_KEYS,
  FILES_SECRET,
  ldapCleartextIssues,
  type ResolvedAutheliaSettings,
  redisCleartextIssues,
  resolveAutheliaSettings,
  secretRequirements,
} from './settings.js';
import {
  baseValues,
  clusterValues,
  disruptionBudget,
  environmentValues,
  POD_SELECTOR,
  RELEASE,
} from './values.js';
import { AUTHELIA_APP_VERSION, AUTHELIA_CHART, AUTHELIA_UPSTREAM } from './versions.js';

export const COMPONENT = 'authelia';
export const AUTHELIA_CHART_NAME = AUTHELIA_CHART.name;
/** The SQLite volume a storage provider makes (a PersistentVolumeClaim of this name). */
export const DATA_VOLUME = 'authelia-data';
/** Path of the userinfo endpoint (where Argo CD and others read the groups claim). */
export const USERINFO_PATH = '/api/oidc/userinfo';
/**
 * How long the tokens Authelia issues are valid, in seconds. The definition sets no
 * `identity_providers.oidc.lifespans`, so the chart's defaults apply (authelia 0.11.5
 * templates/configMap.yaml: `access_token: "1 hour"`, `refresh_token: "1 hour and 30 minutes"`,
 * `id_token: "1 hour"`), which are Authelia v4.39.19's own
 * (internal/configuration/schema/identity_providers.go, `DefaultOpenIDConnectConfiguration`).
 * A refresh grant issues the same: no client has a custom or per-grant lifespan.
 */
export const TOKEN_LIFESPANS = { idToken: 3600, accessToken: 3600, refreshToken: 5400 } as const;

/** The zone the portal and the routes live in: the Gateway's, else the cluster's. */
function domainOf(entry: {
  cluster: ResolvedCluster;
  provided: DeclareInput<AutheliaSettings>['provided'];
}): string {
  return entry.provided.gateway?.domain ?? entry.cluster.domain;
}

function descriptor(
  cluster: ResolvedCluster,
  settings: ResolvedAutheliaSettings,
): ApplicationDescriptor {
  return {
    chart: AUTHELIA_CHART_NAME,
    namespace: AUTHELIA_NAMESPACE,
    // Chart 0.10.x runs Authelia only (the Helm suite checks every image it renders is here).
    imageRepositories: { [AUTHELIA_NAMESPACE]: ['ghcr.io/authelia/authelia'] },
    releaseName: RELEASE,
    podSecurity: 'restricted',
    clusterResources: [],
    // What the upstream chart renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'ConfigMap' },
      // The Secret of the CA certificates the chart makes from `certificates.values`.
      ...(settings.caCertificates === undefined ? [] : [{ group: '', kind: 'Secret' }]),
      { group: '', kind: 'Service' },
      { group: 'apps', kind: 'Deployment' },
      ...(cluster.profile.podDisruptionBudget
        ? [{ group: 'policy', kind: 'PodDisruptionBudget' }]
        : []),
    ],
  };
}

/** The SQLite volume, asked of the storage provider when one runs, with issues about its tier. */
function dataVolume(
  input: DeclareInput<AutheliaSettings>,
  settings: ResolvedAutheliaSettings,
  issues: Issue[],
): VolumeRequest | undefined {
  if (settings.storage.kind !== 'sqlite') return undefined;
  const storage = input.provided.storage;
  if (storage === undefined) {
    if (settings.storage.storageClass === undefined) {
      issues.push(
        warning({
          code: 'authelia-volume',
          path: input.path('storage', 'sqlite'),
          message: `no storage provider runs on cluster "${input.cluster.name}": the SQLite volume gets the cluster's default StorageClass, if it has one`,
          expected: 'a component that provides storage, or storage.sqlite.storageClass',
        }),
      );
    }
    return undefined;
  }
  const tiers = storage.classes.map((entry) => entry.tier);
  const tier =
    settings.storage.tier ?? storage.classes.find((entry) => entry.default)?.tier ?? tiers[0];
  if (tier === undefined || !tiers.includes(tier)) {
    issues.push(
      error({
        code: 'authelia-volume',
        path: input.path('storage', 'sqlite', 'tier'),
        value: settings.storage.tier,
        message: `is not a storage tier of cluster "${input.cluster.name}"`,
        expected: `one of ${tiers.join(', ') || '(no tiers)'}`,
      }),
    );
    return undefined;
  }
  return {
    name: DATA_VOLUME,
    namespace: AUTHELIA_NAMESPACE,
    size: settings.storage.size,
    tier,
    accessMode: 'ReadWriteOnce',
    origin: input.path('storage', 'sqlite'),
    // The access mode is the component's own (SQLite on one pod), no setting.
    origins: {
      size: input.path('storage', 'sqlite', 'size'),
      tier: input.path('storage', 'sqlite', 'tier'),
    },
  };
}

function declare(input: DeclareInput<AutheliaSettings>): Declaration {
  const { settings, issues } = resolveAutheliaSettings(input.settings, input.cluster, input.path);
  const clusterDomain = input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  issues.push(
    ...clusterTlsIssues(settings, clusterDomain, input.path),
    ...ldapCleartextIssues(settings, clusterDomain, input.path),
    ...redisCleartextIssues(settings, clusterDomain, input.path),
  );
  const domain = domainOf(input);
  const volume = dataVolume(input, settings, issues);
  return {
    application: descriptor(input.cluster, settings),
    routes: [
      {
        name: RELEASE,
        host: 'auth',
        namespace: AUTHELIA_NAMESPACE,
        service: RELEASE,
        port: 80,
        // The portal is where users log in: with the accounts of the users database, or of
        // the LDAP directory.
        auth: {
          kind: 'app',
          accounts:
            settings.users.kind === 'file'
              ? `the users of the users database (key \`${FILE_KEYS.users}\` of Secret \`${AUTHELIA_NAMESPACE}/${FILES_SECRET}\`, filled from Bitwarden)`
              : `the accounts of the LDAP directory ${settings.users.address}`,
        },
      },
    ],
    secrets: withRotationProcedures(secretRequirements(settings), settings),
    flows: autheliaFlows(settings, clusterDomain),
    ...(volume === undefined ? {} : { volumes: [volume] }),
    facts: {
      'oidc-provider': {
        issuer: `https://auth.${domain}`,
        userinfoPath: USERINFO_PATH,
        groups: [...settings.groups],
        tokenLifespans: { ...TOKEN_LIFESPANS },
        clientSecrets: {
          namespace: AUTHELIA_NAMESPACE,
          name: CLIENTS_SECRET,
          readers: [AUTHELIA_READER],
        },
      },
    },
    issues,
  };
}

/**
 * A session cookie set for a domain reaches every host below it: the cookie of a cluster whose
 * domain holds another cluster's domain (by default production on the platform domain, the others
 * below it) is sent to that cluster's hosts too. The fix is the cluster's `domain` setting: a name
 * of its own below the platform domain (`<cluster>.<platform domain>` where that is free).
 */
function cookieScopeIssues(
  platformDomain: string,
  clusters: readonly RenderCluster<AutheliaSettings>[],
): Issue[] {
  const issues: Issue[] = [];
  const holds = (parent: string, child: string): boolean => child.endsWith(`.${parent}`);
  for (const entry of clusters) {
    const domain = domainOf(entry);
    const others = clusters.filter((other) => other !== entry);
    const below = others
      .filter((other) => holds(domain, domainOf(other)))
      .map((other) => `${other.cluster.name} (${domainOf(other)})`);
    if (below.length === 0) continue;
    const { index, name } = entry.cluster;
    const own = `${name}.${platformDomain}`;
    const free = others.every(
      (other) =>
        domainOf(other) !== own && !holds(own, domainOf(other)) && !holds(domainOf(other), own),
    );
    const set = entry.cluster.definition.domain !== undefined;
    issues.push(
      warning({
        code: 'authelia-cookie-scope',
        path: ['clusters', index, set ? 'domain' : 'name'],
        value: set ? domain : name,
        message: `the Authelia session cookie of cluster "${name}" is set for ${domain}, so browsers also send it to the hosts of ${below.join(', ')}: a service there could read ${name}'s sessions`,
        expected: free
          ? `clusters[${index}].domain: ${own}`
          : `clusters[${index}].domain: a name below ${platformDomain} that holds no other cluster's domain`,
      }),
    );
  }
  return issues;
}

/**
 * Two clusters whose Authelia logs in to one server as one account (the LDAP bind user, the
 * PostgreSQL role, the Redis user, the SMTP user): one password, which each cluster reads from
 * its own secret-store entry (each cluster's mapping, read by its own machine account). The
 * entries must then hold the same value, and rotating one cluster's as its guide says (a new
 * password on the server with the new entry) locks the other out: Authelia v4.39 binds to LDAP
 * and pings PostgreSQL at start (`internal/authentication/ldap_user_provider_lifecycle.go`,
 * `internal/storage/sql_provider.go`; both start-up checks are fatal), binds to LDAP on every
 * login, and loses its sessions in Redis. A warning at the second cluster's account.
 */
function sharedAccountIssues(
  resolved: readonly {
    readonly entry: RenderCluster<AutheliaSettings>;
    readonly settings: ResolvedAutheliaSettings;
  }[],
): Issue[] {
  const accounts = (settings: ResolvedAutheliaSettings) => {
    const out: {
      what: string;
      key: string;
      at: PathSegment[];
      setting: string;
      rights: string;
      breaks: string;
    }[] = [];
    const { users, storage, session, smtp } = settings;
    if (users.kind === 'ldap')
      out.push({
        what: `LDAP ${users.address} as ${users.user}`,
        key: `ldap\u0000${users.address.toLowerCase()}\u0000${users.user.toLowerCase()}`,
        at: ['users', 'ldap', 'user'],
        setting: 'users.ldap.user',
        rights: "read access to the users' and groups' entries under the base DN",
        breaks: 'no login binds, and its next start fails its start-up check',
      });
    if (storage.kind === 'postgres')
      out.push({
        what: `PostgreSQL ${storage.address} as ${storage.username}`,
        key: `postgres\u0000${storage.address.toLowerCase()}\u0000${storage.username}`,
        at: ['storage', 'postgres'],
        setting: 'storage.postgres.username',
        rights: "the owner's rights on the cluster's database and its tables",
        breaks: 'its next start fails its start-up check',
      });
    if (session.kind === 'redis' && session.password)
      out.push({
        what: `Redis ${session.host}:${session.port} as ${session.username ?? 'its default user'}`,
        key: `redis\u0000${session.host.toLowerCase()}:${session.port}\u0000${session.username ?? ''}`,
        at: ['session', 'redis'],
        setting: 'session.redis.username',
        rights: "an ACL user with the shared one's commands and keys",
        breaks: 'it can no longer keep a session, so nobody stays logged in',
      });
    if (smtp?.username !== undefined)
      out.push({
        what: `the mail server ${smtp.address} as ${smtp.username}`,
        key: `smtp\u0000${smtp.address.toLowerCase()}\u0000${smtp.username}`,
        at: ['smtp', 'username'],
        setting: 'smtp.username',
        rights: "leave to send as Authelia's sender address",
        breaks: 'it mails no more one-time codes, so nobody registers a second factor',
      });
    return out;
  };
  const issues: Issue[] = [];
  const first = new Map<string, string>();
  for (const { entry, settings } of resolved) {
    for (const account of accounts(settings)) {
      const other = first.get(account.key);
      if (other === undefined) {
        first.set(account.key, entry.cluster.name);
        continue;
      }
      issues.push(
        warning({
          code: 'authelia-shared-account',
          path: entry.path(...account.at),
          message: `Authelia on cluster "${entry.cluster.name}" logs in to ${account.what}, as on cluster "${other}": one password, which each cluster reads from its own secret-store entry, so the two entries must hold the same value, and rotating one cluster's (its rotating-secrets.md) breaks the other's Authelia: ${account.breaks}`,
          expected: `an account of its own for each cluster (${account.setting}): create it on the server first, with the rights the shared one has (${account.rights}) and its password in this cluster's secret-store entry, then set it here (Authelia checks it when the change syncs)`,
        }),
      );
    }
  }
  return issues;
}

/**
 * Without `smtp` Authelia's notifier is a file (`/config/notification.txt`): the one-time codes and
 * links it sends go there, in the pod that served the request. Authelia 4.39 asks for such a code
 * before it registers a second factor (the TOTP and WebAuthn registration endpoints sit behind
 * `RequireElevated`, internal/server/handlers.go; the code comes from the notifier), so where a
 * route or client asks for two_factor nobody gets past it without an operator reading the file,
 * and a password-reset link never reaches its user either.
 */
function notifierIssue(
  entry: RenderCluster<AutheliaSettings>,
  settings: ResolvedAutheliaSettings,
  access: Access,
  replicas: number,
): Issue | undefined {
  if (settings.smtp !== undefined) return undefined;
  const twoFactor = (policy: string): boolean =>
    policy === 'two_factor' ||
    (access.policies[policy]?.rules.some((rule) => rule.policy === 'two_factor') ?? false);
  const asking = [
    ...access.rules.filter((rule) => rule.policy === 'two_factor').flatMap((rule) => rule.domain),
    ...access.clients
      .filter((client) => twoFactor(client.authorization_policy))
      .map((client) => `OIDC client ${client.client_id}`),
  ];
  const needs: string[] = [];
  if (asking.length > 0) {
    needs.push(
      `two_factor (${asking.join(', ')}) makes every user register a second factor, which Authelia allows only with a one-time code it sends`,
    );
  }
  if (settings.passwordReset) needs.push('password reset sends its link');
  if (needs.length === 0) return undefined;
  const { cluster } = entry;
  const where =
    settings.storage.kind === 'sqlite'
      ? 'on its volume'
      : `in an emptyDir, lost when the pod restarts${replicas > 1 ? `, in whichever of the ${replicas} pods served the request` : ''}`;
  return warning({
    code: 'authelia-notifier',
    path: entry.path('smtp'),
    message: `Authelia on cluster "${cluster.name}" mails nothing (no smtp): ${needs.join('; ')}; without a mail server these go to ${NOTIFICATION_PATH} ${where}, where users cannot read them`,
    expected: `smtp (the mail server Authelia sends through), or an operator reading each code with kubectl -n ${AUTHELIA_NAMESPACE} exec <pod> -- cat ${NOTIFICATION_PATH}`,
  });
}

function render(input: RenderInput<AutheliaSettings>): ComponentOutput {
  const issues: Issue[] = [...cookieScopeIssues(input.platform.domain, input.clusters)];
  const resolved: {
    entry: RenderCluster<AutheliaSettings>;
    settings: ResolvedAutheliaSettings;
  }[] = [];
  const findings: Finding[] = [];
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  for (const entry of input.clusters) {
    const { cluster } = entry;
    environments.add(cluster.environment);
    // Issues of the settings were reported by declare().
    const { settings } = resolveAutheliaSettings(entry.settings, cluster, entry.path);
    resolved.push({ entry, settings });
    const domain = domainOf(entry);
    const { access, findings: found } = accessFor({
      cluster,
      domain,
      settings,
      others: entry.others,
      path: entry.path,
    });
    findings.push(...found);
    const model = autheliaConfiguration({ cluster, domain, settings, access });
    const path = entry.path(settings.replicasSet ? 'replicas' : 'storage');
    // More replicas than the backends allow is an error already; plan what runs.
    const shared =
      settings.storage.kind === 'postgres' &&
      settings.session.kind === 'redis' &&
      settings.users.kind === 'ldap';
    const replicas = shared ? settings.replicas : 1;
    const { plan, issues: planIssues } = haPlan(cluster, {
      selector: POD_SELECTOR,
      path,
      replicas,
    });
    issues.push(...planIssues, ...checkHaInvariants(cluster, plan, path));
    const notifier = notifierIssue(entry, settings, access, plan.replicas);
    if (notifier !== undefined) issues.push(notifier);
    const layer = clusterValues({
      settings,
      model,
      plan,
      existingClaim: entry.own.volumes?.find((volume) => volume.name === DATA_VOLUME)?.name,
      clientSecrets: access.clients.some((client) => client.secretFile !== undefined),
      environment: cluster.environment,
    });
    if (plan.podDisruptionBudget !== undefined && plan.replicas > 1) {
      layer.manifests = { 'pdb-authelia': disruptionBudget() as unknown as Values };
    }
    clusterLayers[cluster.name] = layer;
  }
  issues.push(...findingIssues(input.platform, findings));
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings))
    environmentLayers[name] = environmentValues(name);
  const chart: ChartSpec = {
    name: AUTHELIA_CHART_NAME,
    description: 'Authelia, the single sign-on portal and OIDC provider of the platform',
    appVersion: AUTHELIA_APP_VERSION,
    dependency: {
      name: AUTHELIA_CHART.name,
      version: AUTHELIA_CHART.version,
      repository: AUTHELIA_CHART.repository,
    },
    values: baseValues(),
    environments: environmentLayers,
    clusters: clusterLayers,
    readme: readme(),
  };
  issues.push(...sharedAccountIssues(resolved));
  return { chart, issues };
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      `Authelia ${AUTHELIA_APP_VERSION} (upstream chart authelia ${AUTHELIA_CHART.version}), the ` +
      'single sign-on portal at `auth.<cluster domain>` and the OpenID Connect provider of the ' +
      'platform. Its configuration is generated: the session cookie of the cluster domain, ' +
      'the storage, session and user backends the definition chooses, `default_policy: deny` ' +
      'with an access-control rule for every route the platform declares, an OIDC client for ' +
      'every client it declares.',
    sections: [
      {
        heading: 'Secrets',
        body:
          'Nothing secret is in the values: the Secret `authelia` (session and storage ' +
          'encryption keys, the OIDC HMAC secret, backend passwords; mounted by the chart, read ' +
          'through `*_FILE` variables), `authelia-files` (the OIDC signing key, the users ' +
          'database) and `authelia-oidc-clients` (one key per OIDC client, the same Bitwarden ' +
          "secret as the client's own) come from the secret store and are mounted as files.",
      },
      {
        heading: 'Replicas',
        body:
          'SQLite, in-memory sessions and the users database file each allow one replica (the ' +
          'chart then runs one pod); more replicas need PostgreSQL, Redis and LDAP. The pod ' +
          "anti-affinity and the PodDisruptionBudget follow the profile (the chart's own budget " +
          'is off: it renders maxUnavailable from minAvailable); the chart has no topology ' +
          'spread.',
      },
    ],
  };
}

/** Authelia as a platform component. */
export const autheliaComponent: Component<AutheliaSettings> = {
  name: COMPONENT,
  description: 'Authelia, the single sign-on portal and OpenID Connect provider.',
  settings: autheliaSettingsSpec,
  provides: ['oidc-provider'],
  needs: ['cni', 'gateway', 'secrets'],
  uses: ['storage'],
  syncLate:
    'at start-up Authelia checks its LDAP directory and its database (PostgreSQL or MySQL) and exits when either fails',
  upstream: AUTHELIA_UPSTREAM,
  checks: autheliaChecks,
  changes: autheliaChanges,
  declare,
  render,
};
