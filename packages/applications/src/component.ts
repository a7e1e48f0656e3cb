// @homelab/applications: the applications the definition declares (`components.applications.apps`):
// their namespaces, and their persistent volumes as volume requests, with the backup policy of the
// cluster's environment. The storage provider makes the claims, the backup provider the backups,
// the restore and the restore verification, all in charts/applications; the volumes' backup
// Secrets are declared to the secrets provider. Pure.
import {
  type ApplicationDescriptor,
  type BackupRetention,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  compareStrings,
  type Declaration,
  type DeclareInput,
  ENVIRONMENTS,
  type EnvironmentName,
  error,
  type Issue,
  type JsonSchema,
  type KubeObject,
  type PathSegment,
  type PeerContribution,
  type PodSecurityLevel,
  type RenderCluster,
  type RenderInput,
  type RouteAuth,
  type RouteRequest,
  type SecretRequirement,
  SYSTEM_NAMESPACES,
  type Values,
  type VolumeRequest,
  volumeBackupSecret,
  volumePopulatorIgnore,
  volumePopulatorSource,
  type WorkloadProject,
  warning,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import { APP_LABEL, applicationFlows } from './flows.js';
import type {
  Application,
  ApplicationRoute,
  ApplicationSecret,
  ApplicationsSettings,
  ApplicationVolume,
} from './generated/settings.js';
import {
  type OidcLogin,
  oidcClientRequest,
  oidcFlows,
  PLATFORM_CA_SECRET,
  platformCaCertificate,
} from './oidc.js';
import { onboardingStep, workloadProjectName } from './onboarding.js';

type Settings = ApplicationsSettings;

/** Backups of a volume when its `backup` says nothing more: nightly, kept per environment. */
export const DEFAULT_BACKUP: {
  readonly schedule: { readonly [E in EnvironmentName]: string };
  readonly retention: { readonly [E in EnvironmentName]: BackupRetention };
} = {
  schedule: { development: '0 2 * * *', staging: '0 2 * * *', production: '0 2 * * *' },
  retention: {
    development: { daily: 3 },
    staging: { daily: 7, weekly: 4 },
    production: { daily: 14, weekly: 8, monthly: 12 },
  },
};

interface ResolvedApp {
  readonly name: string;
  readonly namespace: string;
  readonly podSecurity: PodSecurityLevel;
  readonly volumes: readonly VolumeRequest[];
  readonly flows: Application['flows'];
  readonly routes: readonly ApplicationRoute[];
  /** Where its own Argo CD Applications may take their sources from (`*`: anywhere). */
  readonly repositories: readonly string[];
  /** Its own Argo CD Applications may make Roles and RoleBindings in its namespace. */
  readonly allowRoles: boolean;
  /** The Secrets its own workloads read, by name (sorted): their keys and what they hold. */
  readonly secrets: readonly { readonly name: string; readonly spec: ApplicationSecret }[];
}

function volumeRequest(
  app: string,
  namespace: string,
  name: string,
  volume: ApplicationVolume,
  environment: EnvironmentName,
  origin: readonly PathSegment[],
): VolumeRequest {
  const backup = volume.backup;
  return {
    name,
    origin,
    namespace,
    size: volume.size,
    tier: volume.tier,
    ...(volume.accessMode === undefined ? {} : { accessMode: volume.accessMode }),
    ...(volume.owner === undefined ? {} : { owner: { ...volume.owner } }),
    labels: { 'app.kubernetes.io/name': app },
    origins: {
      size: [...origin, 'size'],
      tier: [...origin, 'tier'],
      accessMode: [...origin, 'accessMode'],
      ...(backup === undefined || backup.enabled === false
        ? {}
        : {
            backupSchedule:
              backup.schedule?.[environment] === undefined
                ? [...origin, 'backup']
                : [...origin, 'backup', 'schedule', environment],
          }),
    },
    ...(backup === undefined || backup.enabled === false
      ? {}
      : {
          backup: {
            schedule: backup.schedule?.[environment] ?? DEFAULT_BACKUP.schedule[environment],
            retention: {
              ...(backup.retention?.[environment] ?? DEFAULT_BACKUP.retention[environment]),
            },
            verify: backup.verify ?? true,
          },
        }),
  };
}

/** The applications enabled on a cluster, sorted by name. */
function resolveApps(
  settings: Settings,
  environment: EnvironmentName,
  path: DeclareInput<Settings>['path'],
): ResolvedApp[] {
  return Object.entries(settings.apps ?? {})
    .filter((entry): entry is [string, Application] => entry[1] !== undefined)
    .filter(([, app]) => app.enabled !== false)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([name, app]) => {
      const namespace = app.namespace ?? name;
      return {
        name,
        namespace,
        podSecurity: app.podSecurity ?? 'restricted',
        flows: app.flows,
        routes: app.routes ?? [],
        repositories: app.repositories ?? ['*'],
        allowRoles: app.allowRoles ?? false,
        secrets: Object.entries(app.secrets ?? {})
          .filter((entry): entry is [string, ApplicationSecret] => entry[1] !== undefined)
          .sort(([a], [b]) => compareStrings(a, b))
          .map(([secret, spec]) => ({ name: secret, spec })),
        volumes: Object.entries(app.volumes ?? {})
          .filter((entry): entry is [string, ApplicationVolume] => entry[1] !== undefined)
          .sort(([a], [b]) => compareStrings(a, b))
          .map(([volume, spec]) =>
            volumeRequest(
              name,
              namespace,
              volume,
              spec,
              environment,
              path('apps', name, 'volumes', volume),
            ),
          ),
      };
    });
}

/** Namespaces and their Pod Security levels; two apps in one namespace must agree. */
function namespaces(
  apps: readonly ResolvedApp[],
  input: DeclareInput<Settings>,
  issues: Issue[],
): Map<string, PodSecurityLevel> {
  const out = new Map<string, PodSecurityLevel>();
  const owner = new Map<string, string>();
  for (const app of apps) {
    const seen = out.get(app.namespace);
    if (seen !== undefined && seen !== app.podSecurity) {
      issues.push(
        error({
          code: 'applications-namespace',
          path: input.path('apps', app.name, 'podSecurity'),
          value: app.podSecurity,
          message: `${app.name} shares namespace "${app.namespace}" with ${owner.get(app.namespace)}, which asks for Pod Security level ${seen}`,
          expected: 'one Pod Security level per namespace',
        }),
      );
      continue;
    }
    out.set(app.namespace, app.podSecurity);
    owner.set(app.namespace, app.name);
  }
  return out;
}

/**
 * The applications' routes as route requests to the `gateway` provider: `<host>.<cluster domain>`
 * to a Service in the application's namespace, with the login the definition names. What the
 * gateway cannot do (no gateway, forward auth without it) and a login setting that does not fit
 * the route's `auth` are errors at the route.
 */
function applicationRoutes(
  apps: readonly ResolvedApp[],
  flowless: ReadonlySet<string>,
  input: DeclareInput<Settings>,
  issues: Issue[],
): { routes: RouteRequest[]; logins: OidcLogin[] } {
  const gateway = input.provided.gateway;
  const provider = input.provided['oidc-provider'];
  const out: RouteRequest[] = [];
  const logins: OidcLogin[] = [];
  const hosts = new Map<string, string>();
  const clientIds = new Map<string, string>();
  for (const app of apps) {
    app.routes.forEach((route, index) => {
      const at = (...rest: (string | number)[]) =>
        input.path('apps', app.name, 'routes', index, ...rest);
      const refuse = (
        path: (string | number)[],
        value: unknown,
        message: string,
        expected: string,
      ) =>
        issues.push(
          error({ code: 'applications-route', path: at(...path), value, message, expected }),
        );
      if (gateway === undefined) {
        refuse(
          [],
          route.host,
          `routes ${route.host} but no component provides "gateway" on cluster "${input.cluster.name}"`,
          'a gateway provider enabled on the cluster (cilium with gatewayApi), or no routes',
        );
        return;
      }
      const owner = hosts.get(route.host);
      if (owner !== undefined) {
        refuse(
          ['host'],
          route.host,
          `is routed by ${owner} too: one host goes to one Service`,
          'a host of its own',
        );
        return;
      }
      hosts.set(route.host, app.name);
      if (
        route.auth !== 'forward-auth' &&
        (route.policy !== undefined || route.groups !== undefined)
      ) {
        refuse(
          [route.policy !== undefined ? 'policy' : 'groups'],
          route.policy ?? route.groups,
          `is only read with auth: forward-auth (this route's auth is ${route.auth})`,
          'auth: forward-auth, or no policy and groups',
        );
        return;
      }
      if (route.oidc !== undefined && route.auth !== 'app') {
        refuse(
          ['oidc'],
          route.auth,
          `is only read with auth: app, the application logging its users in through the OIDC provider (this route's auth is ${route.auth})`,
          'auth: app, or no oidc',
        );
        return;
      }
      if ((route.auth === 'none') !== (route.reason !== undefined)) {
        refuse(
          route.auth === 'none' ? ['auth'] : ['reason'],
          route.auth === 'none' ? 'none' : route.reason,
          route.auth === 'none'
            ? `leaves ${route.host}.<cluster domain> open to anyone who reaches the Gateway without saying why`
            : `is only read with auth: none (this route's auth is ${route.auth})`,
          route.auth === 'none'
            ? 'a reason, or auth: app or forward-auth'
            : 'auth: none, or no reason',
        );
        return;
      }
      if (route.auth === 'forward-auth' && !gateway.forwardAuth) {
        refuse(
          ['auth'],
          'forward-auth',
          `asks for forward authentication, which the gateway on cluster "${input.cluster.name}" cannot do: ${route.host} would be open to anyone who reaches it`,
          'auth: app (the application logs its users in), or a gateway with forward auth',
        );
        return;
      }
      // Under default deny (the application declares flows and shares its namespace with no
      // application that declares none) Cilium drops what the Gateway's proxy (identity
      // `ingress`) forwards unless a flow of the application admits it.
      if (
        app.flows !== undefined &&
        !flowless.has(app.namespace) &&
        !app.flows.some((flow) => flow.gateway === true)
      ) {
        refuse(
          [],
          route.host,
          `sends ${route.host}.<cluster domain> to Service ${route.service} in ${app.namespace}, which is under default deny (${app.name} declares flows), but no flow of ${app.name} admits the Gateway: Cilium drops every request it forwards`,
          `a flow of ${app.name} with gateway: true to the Service's pods on their container port, e.g. { name: web, gateway: true, ports: [{ port: <container port> }] }`,
        );
        return;
      }
      let login: OidcLogin | undefined;
      if (route.oidc !== undefined) {
        if (provider === undefined) {
          refuse(
            ['oidc'],
            route.host,
            `asks the OIDC provider to register a client for ${route.host}, but no component provides "oidc-provider" on cluster "${input.cluster.name}": ${app.name}'s login would find no issuer`,
            'an OIDC provider enabled on the cluster (authelia), or no oidc',
          );
          return;
        }
        if (route.oidc.public === true && route.oidc.tokenEndpointAuthMethod !== undefined) {
          refuse(
            ['oidc', 'tokenEndpointAuthMethod'],
            route.oidc.tokenEndpointAuthMethod,
            'names how a public client sends its secret, but it has none (it proves itself with PKCE)',
            'public: false for a confidential client, or no tokenEndpointAuthMethod',
          );
          return;
        }
        if (route.oidc.public === true && route.oidc.clientSecret !== undefined) {
          refuse(
            ['oidc', 'clientSecret'],
            route.oidc.clientSecret,
            'names a client secret for a public client, which has none (it proves itself with PKCE)',
            'public: false for a confidential client with a secret, or no clientSecret',
          );
          return;
        }
        const client = oidcClientRequest({
          app: app.name,
          namespace: app.namespace,
          route: { ...route, oidc: route.oidc },
          domain: gateway.domain,
          provider,
          at,
        });
        const taken = clientIds.get(client.id);
        if (taken !== undefined) {
          refuse(
            route.oidc.clientId === undefined ? ['oidc'] : ['oidc', 'clientId'],
            client.id,
            `is the OIDC client id of ${taken} too: Authelia refuses to start with two clients of one id`,
            `a client id of its own (clientId: ${app.name}-${route.host}, say)`,
          );
          return;
        }
        clientIds.set(client.id, `${app.name}'s route ${route.host}`);
        // The pods call the issuer (a confidential client): its certificate must verify there.
        const certificates = input.provided.certificates;
        if (!client.public && certificates?.untrusted === true) {
          issues.push(
            warning({
              code: 'applications-oidc-untrusted',
              path: at('oidc'),
              value: client.issuer,
              message: `${app.name} calls the OIDC issuer ${client.issuer} from its pods, but the issuer's certificate on cluster "${input.cluster.name}" chains to a root no trust store holds (Let's Encrypt's staging directory): the application refuses it, so its login fails`,
              expected:
                "a trusted certificate issuer on the cluster (Let's Encrypt's production directory, or the platform's private CA, which the application is given)",
            }),
          );
        }
        login = {
          app: app.name,
          namespace: app.namespace,
          host: route.host,
          client,
          ...(!client.public && certificates?.privateCa === true
            ? { caSecret: PLATFORM_CA_SECRET }
            : {}),
          secretOrigin: at(
            'oidc',
            ...(route.oidc.clientSecret === undefined ? [] : ['clientSecret']),
          ),
        };
        logins.push(login);
      }
      const auth: RouteAuth =
        route.auth === 'app'
          ? { kind: 'app', ...(login === undefined ? {} : { oidcClient: login.client.id }) }
          : route.auth === 'none'
            ? { kind: 'none', reason: route.reason ?? '' }
            : {
                kind: 'forward-auth',
                policy: route.policy ?? 'two_factor',
                ...(route.groups === undefined ? {} : { groups: [...route.groups] }),
              };
      out.push({
        // The host is unique on the cluster (above, and the gateway checks it across components).
        name: route.host,
        host: route.host,
        namespace: app.namespace,
        service: route.service,
        port: route.port,
        labels: { 'app.kubernetes.io/name': app.name },
        auth,
        // The application's workloads, its Service included, are deployed separately.
        workloads: 'external',
        origin: at(),
      });
    });
  }
  return { routes: out, logins };
}

const SIZE_UNITS: { readonly [unit: string]: number } = { Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/**
 * Why the API server would not take `size` (the schema's `<number>(Mi|Gi|Ti)`) as a claim's
 * request as written: a claim of no storage is refused (`must be greater than zero`, core
 * validation of PersistentVolumeClaimSpec), and a size that is no whole number of bytes (0.1Mi)
 * only passes with a warning (`fractional byte value … is invalid, must be an integer`), the
 * request then not the size the definition says.
 */
export function volumeSizeProblem(size: string): string | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Mi|Gi|Ti)$/.exec(size);
  if (match === null) return undefined; // the schema's error
  const [, number = '0', unit = 'Mi'] = match;
  const [whole = '0', fraction = ''] = number.split('.');
  // Exactly: (whole + fraction / 10^d) · 2^k bytes, in integers.
  const digits = BigInt(`${whole}${fraction}`);
  const bytesTimesScale = digits * BigInt(SIZE_UNITS[unit] ?? 1);
  const scale = 10n ** BigInt(fraction.length);
  if (bytesTimesScale === 0n) {
    return `is 0 bytes: the API server refuses a claim of no storage ("must be greater than zero")`;
  }
  if (bytesTimesScale % scale !== 0n) {
    return `is ${Number(bytesTimesScale) / Number(scale)} bytes, not a whole number: the API server keeps the claim's request as a fractional byte value with only a warning ("must be an integer")`;
  }
  return undefined;
}

/**
 * The volumes of the applications, each claim once: two applications sharing a namespace cannot
 * both have a volume of one name (one PersistentVolumeClaim, one restic Secret, one backup);
 * the second is an error at its volume.
 */
function uniqueVolumes(
  apps: readonly ResolvedApp[],
  input: DeclareInput<Settings>,
  issues: Issue[],
): VolumeRequest[] {
  const owners = new Map<string, string>();
  const out: VolumeRequest[] = [];
  for (const app of apps) {
    for (const volume of app.volumes) {
      const id = `${volume.namespace}/${volume.name}`;
      const owner = owners.get(id);
      if (owner !== undefined) {
        issues.push(
          error({
            code: 'applications-volume',
            path: input.path('apps', app.name, 'volumes', volume.name),
            value: id,
            message: `is the claim ${id}, which ${owner} declares too (${app.name} shares its namespace): one claim would overwrite the other, with one backup for both`,
            expected: `a volume name of its own in namespace ${volume.namespace} (e.g. ${app.name}-${volume.name})`,
          }),
        );
        continue;
      }
      owners.set(id, app.name);
      const sizeProblem = volumeSizeProblem(volume.size);
      if (sizeProblem !== undefined) {
        issues.push(
          error({
            code: 'applications-volume-size',
            path: input.path('apps', app.name, 'volumes', volume.name, 'size'),
            value: volume.size,
            message: sizeProblem,
            expected: 'a size of one byte or more in whole bytes, e.g. 20Gi, 1.5Gi or 512Mi',
          }),
        );
        continue;
      }
      out.push(volume);
    }
  }
  return out;
}

/**
 * The Secrets the applications' own workloads read (`apps.<app>.secrets`), declared for the
 * `secrets` provider: it fills them from the store (a BitwardenSecret in the namespace, its token
 * there) and its runbook lists their entries. A name another declaration takes in the namespace
 * (a backed-up volume's `<volume>-restic`, another application's) is refused: one Secret would
 * overwrite the other.
 */
function appSecrets(
  apps: readonly ResolvedApp[],
  logins: readonly OidcLogin[],
  taken: readonly SecretRequirement[],
  input: DeclareInput<Settings>,
  issues: Issue[],
): SecretRequirement[] {
  const owners = new Map<string, string>(
    taken.map((secret) => [`${secret.namespace}/${secret.name}`, secret.description ?? '']),
  );
  for (const login of logins) {
    if (login.caSecret === undefined) continue;
    owners.set(
      `${login.namespace}/${login.caSecret}`,
      "the platform's private CA, for the OIDC login's calls to the issuer (cert-manager makes it)",
    );
  }
  const out: SecretRequirement[] = [];
  for (const app of apps) {
    for (const { name, spec } of app.secrets) {
      const id = `${app.namespace}/${name}`;
      const owner = owners.get(id);
      if (owner !== undefined) {
        issues.push(
          error({
            code: 'applications-secret',
            path: input.path('apps', app.name, 'secrets', name),
            value: id,
            message: `is the Secret ${id}, which the platform makes already (${owner}): one would overwrite the other`,
            expected: `a Secret name of its own in namespace ${app.namespace} (e.g. ${app.name}-${name})`,
          }),
        );
        continue;
      }
      const description = `${spec.description ?? 'secret'} of application ${app.name}`;
      owners.set(id, description);
      out.push({
        name,
        namespace: app.namespace,
        keys: [...spec.keys],
        description,
      });
    }
  }
  // The client secrets of the routes' OIDC logins: a Secret the application declares under
  // `secrets` holds it when it lists the key, one another login declares takes its key too; any
  // other name taken is refused like above.
  const loginSecrets = new Map<string, { keys: string[]; clients: Map<string, string> }>();
  for (const login of logins) {
    const secret = login.client.secret;
    if (secret === undefined) continue;
    const app = apps.find((entry) => entry.name === login.app);
    const where = login.secretOrigin;
    const id = `${secret.namespace}/${secret.name}`;
    const declared = app?.secrets.find((entry) => entry.name === secret.name);
    if (declared !== undefined) {
      if (declared.spec.keys.includes(secret.key)) continue;
      issues.push(
        error({
          code: 'applications-secret',
          path: where,
          value: id,
          message: `keeps OIDC client ${login.client.id}'s secret in key ${secret.key} of the Secret ${id}, which ${login.app}'s secrets declare without that key`,
          expected: `${secret.key} among the keys of secrets.${secret.name}, or another Secret for the client secret`,
        }),
      );
      continue;
    }
    const shared = loginSecrets.get(id);
    if (shared !== undefined) {
      const holder = shared.clients.get(secret.key);
      if (holder === undefined) {
        shared.keys.push(secret.key);
        shared.clients.set(secret.key, login.client.id);
      } else {
        issues.push(
          error({
            code: 'applications-secret',
            path: where,
            value: `${id}/${secret.key}`,
            message: `keeps OIDC client ${login.client.id}'s secret in key ${secret.key} of the Secret ${id}, where client ${holder} keeps its own`,
            expected: `a key of its own (clientSecret.key: ${login.client.id}), one per client`,
          }),
        );
      }
      continue;
    }
    const owner = owners.get(id);
    if (owner !== undefined) {
      issues.push(
        error({
          code: 'applications-secret',
          path: where,
          value: id,
          message: `keeps OIDC client ${login.client.id}'s secret in the Secret ${id}, which the platform makes already (${owner}): one would overwrite the other`,
          expected: `a Secret name of its own in namespace ${secret.namespace} (clientSecret.secretName: ${login.client.id}-oidc-client, say)`,
        }),
      );
      continue;
    }
    const description = `OIDC client secret of application ${login.app} (client ${login.client.id}): 40 or more random letters and digits (the OIDC provider reads the same entry into its configuration, where a quote breaks it)`;
    owners.set(id, description);
    const keys = [secret.key];
    loginSecrets.set(id, { keys, clients: new Map([[secret.key, login.client.id]]) });
    out.push({ name: secret.name, namespace: secret.namespace, keys, description });
  }
  return out;
}

function declare(input: DeclareInput<Settings>): Declaration {
  const issues: Issue[] = [];
  const apps = resolveApps(input.settings, input.cluster.environment, input.path);
  const levels = namespaces(apps, input, issues);
  const [first, ...rest] = [...levels.keys()].sort(compareStrings);
  // A backed-up volume's claim fills itself from the latest backup when it is created (a
  // rebuilt cluster, a deleted claim) through the backup provider's populator, where it has one.
  const populator = input.provided.backup?.populator;
  const volumes = uniqueVolumes(apps, input, issues).map((volume): VolumeRequest => {
    const dataSourceRef = volumePopulatorSource(volume, populator);
    return dataSourceRef === undefined ? volume : { ...volume, dataSourceRef };
  });
  // Every claim's, not only those naming the populator now: the field is immutable, so a claim
  // made before the populator keeps none, and one made with it keeps it when its backups (or
  // the backup provider) are turned off later; Argo CD then keeps the live value either way.
  const ignoreDifferences = volumes.map((volume) => volumePopulatorIgnore(volume));
  const secrets: SecretRequirement[] = volumes
    .filter((volume) => volume.backup !== undefined)
    .map((volume) =>
      volumeBackupSecret(
        volume,
        input.provided.backup?.resticRepositoryPrefix,
        input.provided.backup?.passwordChange,
      ),
    );
  if (first === undefined) return { issues };
  const zeroTrust = applicationFlows(
    apps.map((app) => ({
      name: app.name,
      namespace: app.namespace,
      flows: app.flows,
      backedUp: app.volumes.some((volume) => volume.backup !== undefined),
      verified: app.volumes.some((volume) => volume.backup?.verify === true),
    })),
    input.provided,
    input.path,
  );
  issues.push(...zeroTrust.issues);
  const { routes, logins } = applicationRoutes(apps, new Set(zeroTrust.flowless), input, issues);
  secrets.push(...appSecrets(apps, logins, secrets, input, issues));
  // Under default deny the pods behind a route that logs in through the OIDC provider reach it.
  const loginFlows = logins.flatMap((login) => {
    const flows = apps.find((app) => app.name === login.app)?.flows;
    return flows === undefined
      ? []
      : oidcFlows(
          login,
          flows,
          { [APP_LABEL]: login.app },
          input.provided.gateway?.domain,
          input.provided.dns?.clusterDomain,
        );
  });
  // A flow added for a login named like one of the definition's (`<app>-<flow name>`).
  for (const added of loginFlows) {
    for (const app of apps) {
      (app.flows ?? []).forEach((flow, index) => {
        if (`${app.name}-${flow.name}` !== added.name) return;
        issues.push(
          error({
            code: 'applications-flow',
            path: input.path('apps', app.name, 'flows', index, 'name'),
            value: flow.name,
            message: `makes the flow ${added.name}, the name of the one the platform adds for an OIDC login (${added.reason})`,
            expected: 'another name for this flow',
          }),
        );
      });
    }
  }
  const moverImages = input.provided.backup?.podImages ?? [];
  const backupImages = Object.fromEntries(
    [...new Set(volumes.filter((volume) => volume.backup !== undefined).map((v) => v.namespace))]
      .filter(() => moverImages.length > 0)
      .sort(compareStrings)
      .map((namespace) => [namespace, [...moverImages]]),
  );
  const application: ApplicationDescriptor = {
    name: 'applications',
    namespace: first,
    // The other namespaces: the root Application creates them with their levels, before the
    // first wave (Cilium's policies and the backups' objects for them come before this one).
    ...(rest.length > 0
      ? {
          additionalNamespaces: rest,
          additionalPodSecurity: Object.fromEntries(
            rest.map((name) => [name, levels.get(name) ?? 'restricted']),
          ),
        }
      : {}),
    podSecurity: levels.get(first) ?? 'restricted',
    // The backup provider's movers run in the namespaces of the volumes they back up.
    ...(Object.keys(backupImages).length > 0 ? { imageRepositories: backupImages } : {}),
    ...(ignoreDifferences.length > 0 ? { ignoreDifferences } : {}),
    clusterResources: [],
    // No upstream chart: the project allows exactly the kinds its manifests render.
    namespacedResources: [],
  };
  const onboarding = onboardingStep(
    apps.map((app) => ({
      ...app,
      volumes: volumes.filter(
        (volume) =>
          volume.namespace === app.namespace && app.volumes.some((own) => own.name === volume.name),
      ),
    })),
    // The login's flows too: the pods that log users in reach the issuer through the Gateway.
    [...zeroTrust.flows.filter((flow) => flow.workloads === 'external'), ...loginFlows],
    input.provided.gateway?.domain,
    input.provided['admission-policy'],
    input.provided.gitops !== undefined,
    logins,
    input.provided.gitops?.namespace,
  );
  return {
    application,
    ...(onboarding === undefined ? {} : { bootstrap: [onboarding] }),
    // Applications with flows are under default deny; the others' namespaces are not.
    flows: [...zeroTrust.flows, ...loginFlows],
    ...(zeroTrust.flowless.length > 0 ? { flowlessNamespaces: zeroTrust.flowless } : {}),
    ...(volumes.length > 0 ? { volumes } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(routes.length > 0 ? { routes } : {}),
    ...(logins.length > 0 ? { oidcClients: logins.map((login) => login.client) } : {}),
    // Declared (if empty) wherever a GitOps provider runs: a build that removes the last
    // application still says whose projects the last build's were (`workload-project-removed`).
    ...(input.provided.gitops !== undefined
      ? { workloadProjects: workloadProjects(apps, input, issues) }
      : {}),
    issues,
  };
}

/**
 * One workload project per application, for the GitOps provider (`app-<app>`). Applications
 * sharing a namespace each get one deploying there, so one that names other repositories than
 * another (any, by default) opens the namespace to them: a warning at each such application.
 */
function workloadProjects(
  apps: readonly ResolvedApp[],
  input: DeclareInput<Settings>,
  issues: Issue[],
): WorkloadProject[] {
  const key = (app: ResolvedApp) => JSON.stringify([...app.repositories].sort(compareStrings));
  for (const app of apps) {
    const others = apps.filter(
      (other) => other.namespace === app.namespace && key(other) !== key(app),
    );
    if (others.length === 0) continue;
    issues.push(
      warning({
        code: 'applications-repositories',
        path: input.path(
          'apps',
          app.name,
          ...(app.repositories.includes('*') ? [] : ['repositories']),
        ),
        value: app.repositories,
        message: `shares namespace ${app.namespace} with ${others.map((other) => `${other.name} (repositories ${other.repositories.join(', ')})`).join(', ')}: each application's AppProject deploys into the namespace, so what reaches it comes from the repositories of all of them, not from ${app.name}'s alone`,
        expected: `the same repositories for every application of namespace ${app.namespace}`,
      }),
    );
  }
  return apps.map((app) => ({
    name: workloadProjectName(app.name),
    namespace: app.namespace,
    description: `${app.name}'s own workloads, in namespace ${app.namespace}`,
    sourceRepos: [...app.repositories],
    ...(app.allowRoles ? { allowRoles: true } : {}),
    origin: input.path('apps', app.name),
  }));
}

/**
 * The namespaces the other components of a cluster deploy into (their Application's namespaces,
 * the namespaces their charts render and their flows run in), each with the first component that
 * does, and Kubernetes' own namespaces.
 */
export function componentNamespaces(others: readonly PeerContribution[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const namespace of SYSTEM_NAMESPACES) owners.set(namespace, 'Kubernetes');
  for (const { component, contribution } of [...others].sort((a, b) =>
    compareStrings(a.component, b.component),
  )) {
    const application = contribution.application;
    const own = [
      ...(application === undefined
        ? []
        : [
            application.namespace,
            ...(application.additionalNamespaces ?? []),
            ...(application.chartNamespaces ?? []),
          ]),
      ...(contribution.flows ?? []).map((flow) => flow.namespace),
    ];
    for (const namespace of own) if (!owners.has(namespace)) owners.set(namespace, component);
  }
  return owners;
}

/**
 * An application in a namespace a platform component deploys into (or one of Kubernetes' own) is
 * an error at its `namespace`: without flows it takes the whole namespace out of Cilium's default
 * deny (the component's pods then accept and send anything), its Pod Security level and the
 * component's are one namespace's (the root Application labels it with one of them), Gatekeeper's
 * exemptions of the component's namespace exempt the application too, and the `applications`
 * AppProject may deploy there (kube-system included). The application's workloads are deployed
 * separately, into the namespace named here: nothing needs it to be a component's.
 */
function sharedNamespaces(entry: RenderCluster<Settings>): Issue[] {
  const owners = componentNamespaces(entry.others);
  const issues: Issue[] = [];
  for (const app of resolveApps(entry.settings, entry.cluster.environment, entry.path)) {
    const owner = owners.get(app.namespace);
    if (owner === undefined) continue;
    const explicit = entry.settings.apps?.[app.name]?.namespace !== undefined;
    const suggestion = owners.has(app.name) ? `${app.name}-app` : app.name;
    issues.push(
      error({
        code: 'applications-namespace',
        path: explicit ? entry.path('apps', app.name, 'namespace') : entry.path('apps', app.name),
        value: app.namespace,
        message:
          owner === 'Kubernetes'
            ? `puts ${app.name} into "${app.namespace}", a namespace of Kubernetes itself on cluster "${entry.cluster.name}": the root Application creates and labels (Pod Security) every namespace of the platform but Kubernetes' own, so ${app.name}'s level ${app.podSecurity} is not what the namespace is given, and the applications' AppProject would deploy into it`
            : `puts ${app.name} into "${app.namespace}", the namespace ${owner} deploys into on cluster "${entry.cluster.name}": ${app.flows === undefined ? `without flows ${app.name} takes the whole namespace out of Cilium's default deny (${owner}'s pods would accept and send anything), ` : ''}the namespace has one Pod Security level and one set of Gatekeeper exemptions for both, and the applications' AppProject would deploy into ${owner}'s namespace`,
        expected: `a namespace of ${app.name}'s own (e.g. namespace: ${suggestion}), used by no component`,
      }),
    );
  }
  return issues;
}

function render(input: RenderInput<Settings>): ComponentOutput {
  const issues = input.clusters.flatMap(sharedNamespaces);
  const clusters: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  for (const entry of input.clusters) {
    // A cluster without applications gets no layer (and no Application).
    if (entry.own.application === undefined) continue;
    // The namespaces are the root Application's (argocd-apps). Where the cluster's issuer is the
    // platform's private CA, each namespace whose pods call the OIDC issuer gets the CA: a
    // Certificate of that issuer, whose Secret carries it in `ca.crt`.
    const manifests: { [key: string]: KubeObject } = {};
    const certificates = entry.provided.certificates;
    if (certificates?.privateCa === true) {
      const namespaces = new Set(
        (entry.own.oidcClients ?? []).flatMap((client) =>
          client.public || client.secret === undefined ? [] : [client.secret.namespace],
        ),
      );
      for (const namespace of [...namespaces].sort(compareStrings)) {
        manifests[`certificate-${namespace}-${PLATFORM_CA_SECRET}`] = platformCaCertificate(
          namespace,
          certificates.issuerRef,
        );
      }
    }
    clusters[entry.cluster.name] = { manifests: manifests as unknown as Values };
    environments[entry.cluster.environment] = {};
  }
  if (Object.keys(clusters).length === 0) return issues.length > 0 ? { issues } : {};
  const envLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of ENVIRONMENTS) if (environments[name] !== undefined) envLayers[name] = {};
  const chart: ChartSpec = {
    name: 'applications',
    description: "The applications' namespaces, volumes, backups and restore verification.",
    appVersion: '1.0.0',
    values: {},
    environments: envLayers,
    clusters,
    readme: {
      summary:
        "The applications the definition declares (`components.applications.apps`): their namespaces, and for each volume the claim on its storage tier, its restic backup, its paused restore and its restore verification, made by the storage and backup components. The applications' own workloads are deployed separately, into these namespaces.",
      sections: [
        {
          heading: 'Secrets',
          body: "Each backed-up volume reads its restic repository and S3 credentials from the Secret `<volume>-restic` in its namespace (keys `RESTIC_REPOSITORY`, `RESTIC_PASSWORD`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), declared to the secrets provider; the repository URL of each volume is in the cluster's `disaster-recovery.md`. An application's own Secrets (`apps.<app>.secrets`: name, keys, what they hold) are declared the same way: the secrets provider fills each in the application's namespace, the runbook lists their entries and makes the provider's token there, and its rotation guide says to restart whatever reads them.",
        },
      ],
    },
  };
  return { chart, ...(issues.length > 0 ? { issues } : {}) };
}

export const applicationsComponent: Component<Settings> = {
  name: 'applications',
  description:
    'Applications of the definition: their namespaces and persistent volumes, with backups and restore verification.',
  settings: { schema: schemaJson as unknown as JsonSchema, defaults: { apps: {} } },
  provides: [],
  needs: [],
  uses: [
    'storage',
    'backup',
    'secrets',
    'gateway',
    'admission-policy',
    'gitops',
    'oidc-provider',
    'certificates',
  ],
  upstream: [],
  declare,
  render,
};
