// System checks (layer 4) of Argo CD's login path. Pure.
import {
  clusterRoutedHost,
  type DeployedApplication,
  type DeployedCluster,
  deployedValues,
  deploymentSources,
  error,
  groupKindOf,
  type Issue,
  type Json,
  parseYaml,
  record,
  type SystemCheck,
  type SystemInput,
  settingsPath,
  toYaml,
  valuesSource,
  warning,
} from '@homelab/core';
import {
  CHART_RESOURCE_EXCLUSIONS,
  type FilteredResource,
  isExcludedKind,
  RESOURCE_EXCLUSIONS,
} from './exclusions.js';
import { APPLICATION_HEALTH_KEY, healthKey } from './health.js';
import { goDuration } from './oidc.js';

const COMPONENT = 'argocd';
const VALUES_KEY = 'argo-cd';

/**
 * The YAML texts of the argo-cd values (`oidc.config`, `resource.exclusions`) as parsed, by
 * text: two checks read each cluster's `oidc.config`, and every cluster's `resource.exclusions`
 * is usually the same text. A small text costs a parse mostly in the `yaml` package's fixed
 * work per call (about a millisecond, cold). A parse error is kept and thrown again.
 */
const PARSED_TEXTS = new Map<string, { value: unknown } | { error: unknown }>();

/** `parseYaml(text)`, parsed once per text; the value is shared: read it, never change it. */
export function parsedText(text: string): unknown {
  let entry = PARSED_TEXTS.get(text);
  if (entry === undefined) {
    try {
      entry = { value: parseYaml(text) };
    } catch (error) {
      entry = { error };
    }
    PARSED_TEXTS.set(text, entry);
  }
  if ('error' in entry) throw entry.error;
  return entry.value;
}

/**
 * Every cluster that deploys Argo CD, with its Application and the `argo-cd` values it deploys
 * (after the environment and cluster layers): what each check below reads.
 */
export function* argocdDeployments(
  input: SystemInput,
): Generator<{ deployed: DeployedCluster; app: DeployedApplication; values: Json }> {
  for (const deployed of input.clusters) {
    const app = deployed.applications.find((candidate) => candidate.component === COMPONENT);
    if (app === undefined) continue;
    yield { deployed, app, values: record(deployedValues(input, app)?.[VALUES_KEY]) };
  }
}

/**
 * Every cluster whose deployed Argo CD has an `oidc.config` that parses, with it: what the OIDC
 * checks below read (one that does not parse is Argo CD's own error, not theirs).
 */
function* oidcConfigs(
  input: SystemInput,
): Generator<{ deployed: DeployedCluster; app: DeployedApplication; config: Json }> {
  for (const { deployed, app, values } of argocdDeployments(input)) {
    const raw = record(record(values.configs).cm)['oidc.config'];
    if (typeof raw !== 'string') continue;
    let config: Json;
    try {
      config = record(parsedText(raw));
    } catch {
      continue;
    }
    yield { deployed, app, config };
  }
}

/**
 * The local admin is the login that works without anything else: it may be switched off only
 * where the OIDC chain is whole (DESIGN.md: "Argo CD keeps a working login path until SSO is
 * proven"): an OIDC provider and a secrets provider on the cluster, Argo CD's OIDC client and
 * its route declared, its oidc.config set, its client secret made by the secrets provider.
 */
export const localAdminCheck: SystemCheck = {
  name: 'argocd-local-admin',
  description:
    "Argo CD's local admin is disabled only where the OIDC login chain is complete: an OIDC provider and a secrets provider on the cluster, Argo CD's OIDC client, route and oidc.config, its client secret made by the secrets provider, and certificates its server trusts (not Let's Encrypt's staging).",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app, values } of argocdDeployments(input)) {
      const cm = record(record(values.configs).cm);
      if (cm['admin.enabled'] !== false) continue;
      const own = deployed.run.contributions.get(COMPONENT) ?? {};
      const missing: string[] = [];
      for (const capability of ['oidc-provider', 'secrets', 'gateway'] as const) {
        if (!deployed.run.providers.has(capability)) {
          missing.push(`${capability.startsWith('o') ? 'an' : 'a'} "${capability}" provider`);
        }
      }
      const client = own.oidcClients?.find((candidate) => !candidate.public);
      if (client === undefined) missing.push('an OIDC client');
      if (typeof cm['oidc.config'] !== 'string') missing.push('an oidc.config');
      const routed = (own.routes ?? []).some(
        (route) => route.auth.kind === 'app' && route.auth.oidcClient === client?.id,
      );
      if (client !== undefined && !routed) missing.push('a route that logs in through the client');
      if (deployed.run.facts.certificates?.untrusted === true) {
        missing.push(
          "certificates its server trusts (the cluster's issuer is Let's Encrypt's staging directory)",
        );
      }
      const producer = deployed.run.facts.secrets?.producer;
      const secret = client?.secret;
      if (secret !== undefined && producer !== undefined) {
        const made = deployed.applications.some((candidate) =>
          candidate.objects.some(({ object }) => {
            const kind = groupKindOf(object);
            if (kind.group !== producer.group || kind.kind !== producer.kind) return false;
            const name = producer.secretName.reduce<unknown>(
              (node, key) => record(node)[key],
              object,
            );
            return object.metadata.namespace === secret.namespace && name === secret.name;
          }),
        );
        if (!made)
          missing.push(
            `the Secret ${secret.namespace}/${secret.name} made by the secrets provider`,
          );
      }
      if (missing.length === 0) continue;
      issues.push(
        error({
          code: 'argocd-local-admin',
          path: settingsPath(deployed.cluster, COMPONENT, 'localAdmin'),
          output:
            valuesSource(input, app, [VALUES_KEY, 'configs', 'cm', 'admin.enabled']) ??
            `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
          value: false,
          message: `disables Argo CD's local admin on cluster "${deployed.cluster.name}" while the OIDC login is incomplete (missing: ${missing.join(', ')}): nobody could log in`,
          expected: 'localAdmin: true until the OIDC chain is complete',
        }),
      );
    }
    return issues;
  },
};

/**
 * `policy.default` is the role of every user no group maps: with any role there, every SSO user
 * gets it and `readonlyGroups` means nothing (upstream's default is empty).
 */
export const rbacDefaultCheck: SystemCheck = {
  name: 'argocd-rbac-default',
  description:
    "Argo CD's `policy.default` is empty (upstream's default): a role there is every logged-in user's, whatever their groups, and makes `readonlyGroups` meaningless.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, values } of argocdDeployments(input)) {
      const rbac = record(record(values.configs).rbac);
      const value = rbac['policy.default'];
      if (value === undefined || value === '') continue;
      issues.push(
        error({
          code: 'argocd-rbac-default',
          path: settingsPath(deployed.cluster, COMPONENT),
          output: `charts/argo-cd (values on cluster ${deployed.cluster.name})#${VALUES_KEY}.configs.rbac["policy.default"]`,
          value,
          message: `gives every user who logs in to Argo CD on cluster "${deployed.cluster.name}" a role, whatever their groups: readonlyGroups and adminGroups no longer decide who sees what`,
          expected: "policy.default: '' (roles only through adminGroups and readonlyGroups)",
        }),
      );
    }
    return issues;
  },
};

/** Service types that expose a port outside the cluster. */
const EXPOSED_SERVICE_TYPES: ReadonlySet<unknown> = new Set(['LoadBalancer', 'NodePort']);

/**
 * `server.insecure` makes the Argo CD server speak plain HTTP: only safe when every way in ends
 * TLS first, i.e. the platform Gateway (whose routes routes-over-tls checks) or the API server's
 * port forwarding; never a LoadBalancer or NodePort Service, an Ingress or the host network.
 */
export const serverInsecureCheck: SystemCheck = {
  name: 'argocd-server-insecure',
  description:
    "Where Argo CD's server speaks plain HTTP (`server.insecure`), it is reachable only behind TLS: through the platform Gateway's HTTPS listener or the API server's port forwarding, never by a LoadBalancer or NodePort Service, the chart's Ingress or the host network.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, values } of argocdDeployments(input)) {
      const insecure = record(record(values.configs).params)['server.insecure'];
      if (insecure !== true && insecure !== 'true') continue;
      const server = record(values.server);
      const exposed: string[] = [];
      const type = record(server.service).type;
      if (EXPOSED_SERVICE_TYPES.has(type)) exposed.push(`server.service.type: ${String(type)}`);
      if (record(server.ingress).enabled === true) exposed.push('server.ingress.enabled: true');
      if (server.hostNetwork === true || record(values.global).hostNetwork === true) {
        exposed.push('hostNetwork: true');
      }
      if (exposed.length === 0) continue;
      issues.push(
        error({
          code: 'argocd-server-insecure',
          path: settingsPath(deployed.cluster, COMPONENT),
          output: `charts/argo-cd (values on cluster ${deployed.cluster.name})#${VALUES_KEY}.server`,
          value: exposed,
          message: `Argo CD's server speaks plain HTTP (server.insecure) on cluster "${deployed.cluster.name}" and is reachable without TLS (${exposed.join(', ')}): passwords and tokens would cross the network in clear`,
          expected:
            'a ClusterIP Service reached through the platform Gateway (TLS ends there), or server.insecure off',
        }),
      );
    }
    return issues;
  },
};

/**
 * The sync waves of a cluster's app-of-apps (CRD bundles before the controllers that need them,
 * the CNI before everything) gate only if the Argo CD that syncs it can tell when a child
 * Application is healthy: it has no health check of `argoproj.io/Application` built in since 1.8,
 * and without one every wave starts at once (FIELD-NOTES, "Helm and Argo CD"). The Helm suite
 * runs the script Helm renders into argocd-cm on Applications of each health.
 */
export const applicationHealthCheck: SystemCheck = {
  name: 'argocd-application-health',
  description:
    "Where a cluster's app-of-apps orders its Applications in more than one sync wave, the Argo CD there has a health check of `argoproj.io/Application` (argocd-cm `resource.customizations.health.argoproj.io_Application`): none is built in since Argo CD 1.8, and without it every wave starts at once, controllers before their CRDs.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, values } of argocdDeployments(input)) {
      const waves = [...new Set(deployed.applications.map((candidate) => candidate.wave))];
      if (waves.length < 2) continue;
      const cm = record(record(values.configs).cm);
      const script = cm[APPLICATION_HEALTH_KEY];
      if (typeof script === 'string' && script.trim() !== '') continue;
      issues.push(
        error({
          code: 'argocd-application-health',
          path: settingsPath(deployed.cluster, COMPONENT),
          output: `charts/argo-cd (values on cluster ${deployed.cluster.name})#${VALUES_KEY}.configs.cm["${APPLICATION_HEALTH_KEY}"]`,
          value: script ?? null,
          message: `leaves Argo CD on cluster "${deployed.cluster.name}" without a health check of argoproj.io/Application: the app-of-apps' ${waves.length} sync waves would not wait for each other, so controllers start before the CRDs and the CNI they need`,
          expected: `configs.cm["${APPLICATION_HEALTH_KEY}"]: the Lua health check of Argo CD's operator manual`,
        }),
      );
    }
    return issues;
  },
};

/**
 * A component whose Application orders its own objects in sync waves that wait on a controller
 * (Gatekeeper's constraints after the ConstraintTemplates whose constraint kinds Gatekeeper makes
 * at run time) declares a health check of the kind waited on: Argo CD has none built in for it
 * (v3.4.4 `resource_customizations`), counts such an object healthy once applied, and starts the
 * next wave at once. The Argo CD of the cluster must carry each such script, unchanged.
 */
export const resourceHealthCheck: SystemCheck = {
  name: 'argocd-resource-health',
  description:
    "Every Argo CD health check a component's Application declares (`healthChecks`: a kind Argo CD has none built in for, whose objects a later sync wave of that Application waits on, e.g. Gatekeeper's ConstraintTemplate until Gatekeeper made its constraint kind) is in the argocd-cm of the cluster's Argo CD, as declared.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, values } of argocdDeployments(input)) {
      const cm = record(record(values.configs).cm);
      for (const [component, contribution] of deployed.run.contributions) {
        if (component === COMPONENT) continue;
        for (const declared of contribution.application?.healthChecks ?? []) {
          const key = healthKey(declared.group, declared.kind);
          if (cm[key] === declared.lua) continue;
          const kind = `${declared.group === '' ? '' : `${declared.group}/`}${declared.kind}`;
          issues.push(
            error({
              code: 'argocd-resource-health',
              path: settingsPath(deployed.cluster, COMPONENT),
              output: `charts/argo-cd (values on cluster ${deployed.cluster.name})#${VALUES_KEY}.configs.cm["${key}"]`,
              value: typeof cm[key] === 'string' ? 'a different script' : null,
              message: `leaves Argo CD on cluster "${deployed.cluster.name}" without the health check of ${kind} that ${component} declares (${declared.reason})`,
              expected: `configs.cm["${key}"]: the script ${component} declares`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Where the cluster's certificates come from a private CA, Argo CD's server must be told to trust
 * it: it calls the OIDC issuer (discovery, token, userinfo) trusting the system roots, or, where
 * `oidc.config` sets `rootCA`, its certificates alone (util/settings/settings.go `OIDCTLSConfig`,
 * v3.4.4: a pool of its own in place of the system's).
 */
export const oidcTrustCheck: SystemCheck = {
  name: 'argocd-oidc-trust',
  description:
    "Where the cluster's certificates come from a private CA, Argo CD's `oidc.config` trusts it: `rootCA` is `$<secret>:ca.crt` of a Secret in `argocd` labelled `app.kubernetes.io/part-of: argocd` that a cert-manager Certificate of the cluster's issuer makes. Why: the server reaches the issuer trusting the system roots, or `rootCA` alone where it is set; without it every SSO login ends with \"certificate signed by unknown authority\".",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app, values } of argocdDeployments(input)) {
      const certificates = deployed.run.facts.certificates;
      if (certificates?.privateCa !== true) continue;
      const cm = record(record(values.configs).cm);
      const raw = cm['oidc.config'];
      if (typeof raw !== 'string') continue;
      let rootCA: unknown;
      try {
        rootCA = record(parsedText(raw)).rootCA;
      } catch {
        rootCA = undefined;
      }
      const reference = typeof rootCA === 'string' ? /^\$([^:]+):(.+)$/.exec(rootCA) : null;
      const [, name, key] = reference ?? [];
      const trusted =
        name !== undefined &&
        key === 'ca.crt' &&
        deployed.applications.some((candidate) =>
          candidate.objects.some(({ object }) => {
            const kind = groupKindOf(object);
            if (kind.group !== 'cert-manager.io' || kind.kind !== 'Certificate') return false;
            const spec = record((object as unknown as Json).spec);
            const issuer = record(spec.issuerRef);
            const labels = record(record(spec.secretTemplate).labels);
            return (
              (object.metadata.namespace ?? candidate.namespace) === app.namespace &&
              spec.secretName === name &&
              issuer.name === certificates.issuerRef.name &&
              (issuer.kind ?? 'Issuer') === certificates.issuerRef.kind &&
              labels['app.kubernetes.io/part-of'] === 'argocd'
            );
          }),
        );
      if (trusted) continue;
      issues.push(
        error({
          code: 'argocd-oidc-trust',
          path: settingsPath(deployed.cluster, COMPONENT, 'oidc'),
          output:
            valuesSource(input, app, [VALUES_KEY, 'configs', 'cm', 'oidc.config']) ??
            `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
          value: typeof rootCA === 'string' ? rootCA : null,
          message: `Argo CD on cluster "${deployed.cluster.name}" does not trust the private CA of its certificates (${certificates.issuerRef.kind} ${certificates.issuerRef.name}): ${typeof rootCA === 'string' ? `rootCA ${rootCA} is not the ca.crt of a Secret labelled app.kubernetes.io/part-of: argocd that a Certificate of that issuer makes in ${app.namespace}` : 'oidc.config has no rootCA'}; every SSO login would fail with "certificate signed by unknown authority"`,
          expected: `rootCA: $<secret>:ca.crt, the Secret made in ${app.namespace} by a Certificate of ${certificates.issuerRef.name} with secretTemplate label app.kubernetes.io/part-of: argocd`,
        }),
      );
    }
    return issues;
  },
};

/** Argo CD v3.4.4's scopes when `requestedScopes` is empty (util/oidc/oidc.go `GetScopesOrDefault`). */
const DEFAULT_REQUESTED_SCOPES = ['openid', 'profile', 'email', 'groups'];

/**
 * What Argo CD asks the OIDC provider for is what its clients are registered with. The server's
 * web login requests `requestedScopes` of `oidc.config` (v3.4.4 util/oidc/oidc.go `getScopes`:
 * `GetScopesOrDefault`, nothing added) for `clientID`; `argocd login --sso` requests the same
 * scopes plus `offline_access` whenever the provider's discovery document lists it, or lists no
 * scopes at all (pkg/apiclient/apiclient.go `OIDCConfig`, util/oidc `OfflineAccess`; Authelia
 * 4.39 always lists it), for `cliClientID`, and keeps the refresh token it gets (login.go), which
 * is what renews a CLI session after the ID token's hour. Argo CD's declared clients carry those
 * scopes to the provider, which registers them (`oidc-clients-registered` checks that side): a
 * scope requested that a client does not declare is refused at the authorize endpoint
 * (`invalid_scope`), and nobody logs in.
 */
export const oidcScopesCheck: SystemCheck = {
  name: 'argocd-oidc-scopes',
  description:
    'Every scope Argo CD requests is one its OIDC clients declare to the provider: `requestedScopes` of `oidc.config` for the web client (`clientID`), those plus `offline_access` for the CLI client (`cliClientID`: `argocd login --sso` adds it when the provider advertises it, and gets the refresh token that renews its session). Why: the provider refuses a scope a client is not registered for (`invalid_scope`), so that login would fail.',
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app, config } of oidcConfigs(input)) {
      const requested = Array.isArray(config.requestedScopes)
        ? config.requestedScopes.map(String)
        : [];
      const scopes = requested.length > 0 ? requested : DEFAULT_REQUESTED_SCOPES;
      const clients = deployed.run.contributions.get(COMPONENT)?.oidcClients ?? [];
      const wanted: { id: unknown; who: string; scopes: string[] }[] = [
        { id: config.clientID, who: 'the web login', scopes },
      ];
      if (typeof config.cliClientID === 'string' && config.cliClientID !== '') {
        wanted.push({
          id: config.cliClientID,
          who: '`argocd login --sso`',
          scopes: [...new Set([...scopes, 'offline_access'])],
        });
      }
      for (const { id, who, scopes: asked } of wanted) {
        const client = clients.find((candidate) => candidate.id === id);
        // A client Argo CD names and does not declare: oidc-clients-registered's to report.
        if (client === undefined) continue;
        const missing = asked.filter((scope) => !client.scopes.includes(scope));
        if (missing.length === 0) continue;
        issues.push(
          error({
            code: 'argocd-oidc-scopes',
            path: client.origins?.client ?? settingsPath(deployed.cluster, COMPONENT, 'oidc'),
            output:
              valuesSource(input, app, [VALUES_KEY, 'configs', 'cm', 'oidc.config']) ??
              `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
            value: missing,
            message: `${who} of Argo CD on cluster "${deployed.cluster.name}" requests scope(s) ${missing.join(', ')} with OIDC client "${client.id}", which declares only ${client.scopes.join(', ')}: the provider answers invalid_scope and nobody logs in that way`,
            expected: `the client declared with ${asked.join(', ')}, or oidc.config requestedScopes within its scopes`,
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * Argo CD's web login sends a PKCE challenge where its OIDC client is declared with PKCE, which
 * the provider then requires of it (`oidc-clients-registered` checks the registration follows the
 * declaration). The server's login sends `code_challenge` (S256) only when `oidc.config` sets
 * `enablePKCEAuthentication: true` (v3.4.4 util/settings/settings.go `OAuth2UsePKCE`, a Go bool:
 * a string "true" fails the whole `oidc.config`); `argocd login --sso` always sends one
 * (cmd/argocd/commands/login.go), so only the web client is compared. A provider that requires
 * PKCE answers an authorization request without a challenge with `invalid_request` (authelia
 * oauth2-provider v0.2.22 handler/pkce `validateNoPKCE`): nobody logs in on the web.
 */
export const oidcPkceCheck: SystemCheck = {
  name: 'argocd-oidc-pkce',
  description:
    "Where Argo CD's web OIDC client (`clientID` of `oidc.config`) is declared with PKCE, `oidc.config` sets `enablePKCEAuthentication: true`. Why: the provider registers the client as it is declared and then requires a code challenge of it, while Argo CD's server sends one only with that setting (the CLI always does); without it every web login ends at the provider with invalid_request.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app, config } of oidcConfigs(input)) {
      const clients = deployed.run.contributions.get(COMPONENT)?.oidcClients ?? [];
      const web = clients.find((candidate) => candidate.id === config.clientID);
      if (web === undefined || !web.pkce || config.enablePKCEAuthentication === true) continue;
      issues.push(
        error({
          code: 'argocd-oidc-pkce',
          path: web.origins?.client ?? settingsPath(deployed.cluster, COMPONENT, 'oidc'),
          output:
            valuesSource(input, app, [VALUES_KEY, 'configs', 'cm', 'oidc.config']) ??
            `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
          value: config.enablePKCEAuthentication ?? null,
          message: `the web login of Argo CD on cluster "${deployed.cluster.name}" sends no PKCE challenge (oidc.config enablePKCEAuthentication is ${config.enablePKCEAuthentication === undefined ? 'not set' : JSON.stringify(config.enablePKCEAuthentication)}), while its OIDC client "${web.id}" is declared with PKCE, which the provider then requires: every web login ends at the provider with invalid_request`,
          expected: 'enablePKCEAuthentication: true (a YAML boolean) in oidc.config',
        }),
      );
    }
    return issues;
  },
};

/** Go's duration units in seconds (time.ParseDuration's `unitMap`, Go 1.25). */
const GO_DURATION_UNITS: { readonly [unit: string]: number } = {
  ns: 1e-9,
  us: 1e-6,
  '\u00b5s': 1e-6, // the micro sign
  '\u03bcs': 1e-6, // the Greek mu
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};
const GO_DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;

/**
 * `text` in seconds as Go's `time.ParseDuration` reads it (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or
 * `0`, a known unit after every number), `undefined` where Go refuses it (no unit, an unknown one,
 * empty, beyond its int64 nanoseconds).
 */
export function parseGoDuration(text: string): number | undefined {
  if (/^[-+]?0$/.test(text)) return 0;
  if (!GO_DURATION.test(text)) return undefined;
  let seconds = 0;
  for (const [, value, unit] of text.matchAll(GO_DURATION_PART)) {
    seconds += Number(value) * (GO_DURATION_UNITS[unit as string] as number);
  }
  // Go's int64 of nanoseconds ends at about 292 years.
  if (seconds * 1e9 > 2 ** 63) return undefined;
  return text.startsWith('-') ? -seconds : seconds;
}

/**
 * A browser's Argo CD session lives past its ID token only through `refreshTokenThreshold`: Argo
 * CD v3.4.4 refreshes a verified ID token with less than that left, with the refresh token it
 * cached at the web login (server/server.go `getClaims`, util/oidc/oidc.go
 * `CheckAndRefreshToken`, `GetTokenSourceFromCache`), and sets the new one as the browser's cookie.
 * That holds only if the threshold is a positive Go duration (`RefreshTokenThresholdWithConfig`:
 * 0, never, when `time.ParseDuration` fails), the web login asks for `offline_access` (else the
 * provider issues no refresh token), and, with the provider's lifespans, the threshold is below
 * the ID token's (else every request refreshes), the access token outlives the ID token by less
 * than the threshold (the cached token is renewed only once the access token is within the
 * threshold of its expiry: `oauth2.ReuseTokenSourceWithExpiry`), and the refresh token lives as
 * long as the ID token (else the renewal fails late in the window).
 */
export const oidcRefreshCheck: SystemCheck = {
  name: 'argocd-oidc-refresh',
  description:
    "Where Argo CD's `oidc.config` sets `refreshTokenThreshold`, the web login can renew its session with it: the threshold is a positive Go duration, `requestedScopes` holds `offline_access`, and against the OIDC provider's token lifespans it is below the ID token's, above the access token's excess over the ID token's, and the refresh token lives at least as long as the ID token. Why: Argo CD v3.4.4 renews a browser's session only for a request whose ID token has less than the threshold left, with the refresh token of its login; otherwise the UI fails with 401s once the ID token expires (or, with a threshold at or above its lifespan, every request calls the provider).",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app, config } of oidcConfigs(input)) {
      const text = config.refreshTokenThreshold;
      if (text === undefined || text === null || text === '') continue;
      const problems: string[] = [];
      const threshold = typeof text === 'string' ? parseGoDuration(text) : undefined;
      if (threshold === undefined) {
        problems.push(
          `${JSON.stringify(text)} is not a Go duration (Argo CD logs "Failed to parse 'oidc.config.refreshTokenThreshold' key", refreshes nothing, and the session ends with the ID token)`,
        );
      } else if (threshold <= 0) {
        problems.push(
          `${JSON.stringify(text)} is not positive: no ID token ever has less left, and the session ends with it`,
        );
      }
      const requested = Array.isArray(config.requestedScopes)
        ? config.requestedScopes.map(String)
        : [];
      const scopes = requested.length > 0 ? requested : DEFAULT_REQUESTED_SCOPES;
      if (!scopes.includes('offline_access')) {
        problems.push(
          'requestedScopes lacks offline_access: the provider issues the web login no refresh token, and the session ends with the ID token (401s in the UI)',
        );
      }
      const lifespans = deployed.run.facts['oidc-provider']?.tokenLifespans;
      if (threshold !== undefined && threshold > 0 && lifespans !== undefined) {
        if (threshold >= lifespans.idToken) {
          problems.push(
            `${JSON.stringify(text)} is not below the provider's ID token lifespan (${goDuration(lifespans.idToken)}): every request would call the provider for new tokens`,
          );
        }
        if (lifespans.accessToken - lifespans.idToken >= threshold) {
          problems.push(
            `the provider's access token (${goDuration(lifespans.accessToken)}) outlives its ID token (${goDuration(lifespans.idToken)}) by the threshold or more: the cached token never looks due while the ID token does, nothing is renewed, and the session ends with the ID token`,
          );
        }
        if (lifespans.refreshToken < lifespans.idToken) {
          problems.push(
            `the provider's refresh token (${goDuration(lifespans.refreshToken)}) expires before its ID token (${goDuration(lifespans.idToken)}): a renewal late in the window fails, and the session ends with the ID token`,
          );
        }
      }
      if (problems.length === 0) continue;
      issues.push(
        error({
          code: 'argocd-oidc-refresh',
          path: settingsPath(deployed.cluster, COMPONENT, 'oidc'),
          output:
            valuesSource(input, app, [VALUES_KEY, 'configs', 'cm', 'oidc.config']) ??
            `charts/argo-cd/clusters/${deployed.cluster.name}.yaml`,
          value: typeof text === 'string' ? text : JSON.stringify(text),
          message: `Argo CD on cluster "${deployed.cluster.name}" cannot renew a browser's session as refreshTokenThreshold means to (${problems.join('; ')})`,
          expected:
            "refreshTokenThreshold a positive Go duration below the provider's ID token lifespan, offline_access in requestedScopes",
        }),
      );
    }
    return issues;
  },
};

/** argocd-cm `resource.exclusions` / `resource.inclusions` as the deployed values set them. */
export function filteredResources(value: unknown): FilteredResource[] | undefined {
  if (value === undefined || value === null) return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    // The component's own text is not parsed: the emitter's text reads back as what it was
    // written from (checks.test.ts holds them equal). Emitting it again costs far less than a
    // parse; it is not kept between builds, so every build makes the same calls.
    const own = toYaml(RESOURCE_EXCLUSIONS.map((filter) => ({ ...filter })));
    parsed = value === own ? RESOURCE_EXCLUSIONS : parsedText(value);
  }
  return Array.isArray(parsed) ? (parsed as FilteredResource[]) : [];
}

/**
 * Argo CD v3.4.4 drops every object of an excluded kind from an Application's target state
 * (controller/state.go, `IsExcludedResource`), with only an `ExcludedResourceWarning`: the sync
 * succeeds and the object never exists. The argo-cd chart's default exclusions hold kinds charts
 * do render: kube-prometheus-stack's control-plane `Endpoints`, without which etcd, the
 * controller manager and the scheduler are never scraped.
 */
export const excludedKindsCheck: SystemCheck = {
  name: 'argocd-excluded-kinds',
  description:
    "No Application deploys a kind the cluster's Argo CD excludes (argocd-cm `resource.exclusions`, the chart's default where the values leave it, `resource.inclusions`, and Argo CD's core exclusions: Events, Leases, events.k8s.io and metrics.k8s.io): Argo CD v3.4.4 drops such objects from the Application with only a warning and never creates them.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, values } of argocdDeployments(input)) {
      const cm = record(record(values.configs).cm);
      const exclusions = filteredResources(cm['resource.exclusions']) ?? CHART_RESOURCE_EXCLUSIONS;
      const inclusions = filteredResources(cm['resource.inclusions']) ?? [];
      for (const app of deployed.applications) {
        const descriptor = deployed.run.contributions.get(app.component)?.application;
        const kinds = new Map<string, { group: string; kind: string; from: string }>();
        const add = (group: string, kind: string, from: string) => {
          const key = `${group}/${kind}`;
          if (!kinds.has(key)) kinds.set(key, { group, kind, from });
        };
        for (const { object, source } of app.objects) {
          const { group, kind } = groupKindOf(object);
          add(group, kind, source);
        }
        if (app.bundle !== undefined) {
          for (const kind of app.bundle.clusterResources) {
            add(kind.group, kind.kind, `CRD bundle ${app.bundle.name}`);
          }
        } else if (descriptor !== undefined) {
          for (const kind of [
            ...descriptor.clusterResources,
            ...(descriptor.namespacedResources ?? []),
          ]) {
            add(kind.group, kind.kind, `the upstream chart of ${app.component}`);
          }
        }
        for (const { group, kind, from } of kinds.values()) {
          if (!isExcludedKind(group, kind, exclusions, inclusions)) continue;
          const name = `${group === '' ? 'core' : group}/${kind}`;
          issues.push(
            error({
              code: 'argocd-excluded-kinds',
              path: [...app.origin],
              output: from,
              value: name,
              message: `Application ${String(app.application.metadata.name)} on cluster "${deployed.cluster.name}" deploys ${name}, a kind its Argo CD excludes (resource.exclusions): Argo CD v3.4.4 drops those objects with an ExcludedResourceWarning and never creates them`,
              expected: `${name} left out of argocd-cm resource.exclusions (charts/argo-cd configs.cm), or not rendered`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * A repository Argo CD fetches from a host this cluster's own Gateway routes (a Forgejo or Gitea
 * application of the platform) while the Gateway's certificate is not publicly trusted (the
 * cluster's private CA, or Let's Encrypt's staging directory). The repo-server trusts for Git
 * and Helm over HTTPS the system roots, or the certificates `argocd-tls-certs-cm` holds for the
 * host (v3.4.4 util/git/client.go `GetRepoHTTPClient`: `certutil.GetCertificateForConnect`), and
 * the chart puts none there: every fetch fails with "certificate signed by unknown authority",
 * while the network policies (the repo-server's egress through the Gateway) let it through. A
 * warning, not an error: the repository may be meant for later, once the issuer is a public one;
 * the definition cannot put the CA there, which the cluster makes.
 */
export const repositoryTrustCheck: SystemCheck = {
  name: 'argocd-repository-trust',
  description:
    "Where the cluster's certificates are not publicly trusted (a private CA, Let's Encrypt's staging directory), no repository Argo CD fetches (the platform's, a chart's, a workload project's) is a host the cluster's own Gateway routes: a warning. Why: Argo CD v3.4.4's repo-server trusts the system roots and `argocd-tls-certs-cm` for Git and Helm over HTTPS, and the chart puts no certificate there, so every fetch from a Git server behind the Gateway fails with \"certificate signed by unknown authority\" while its network policy allows it.",
  check(input) {
    const issues: Issue[] = [];
    for (const { deployed, app } of argocdDeployments(input)) {
      const certificates = deployed.run.facts.certificates;
      if (certificates?.privateCa !== true && certificates?.untrusted !== true) continue;
      const contributions = deployed.run.contributions;
      if (contributions === undefined) continue;
      const hosts = [
        ...new Set(deploymentSources(input.platform, contributions).map((source) => source.host)),
      ];
      for (const host of hosts) {
        const routed = clusterRoutedHost(host, contributions);
        if (routed === undefined) continue;
        issues.push(
          warning({
            code: 'argocd-repository-trust',
            path: [...app.origin],
            value: host,
            message: `Argo CD on cluster "${deployed.cluster.name}" fetches from ${host}, which the cluster's own Gateway serves (its route "${routed}") with a certificate of ${certificates.privateCa === true ? "the cluster's private CA" : "Let's Encrypt's staging directory"}: the repo-server trusts only the system roots and argocd-tls-certs-cm, which holds none, so every fetch fails with "certificate signed by unknown authority"`,
            expected: `the repository on a host whose certificate a public CA issued (outside this cluster's Gateway, or with an ACME issuer's production directory): the definition cannot put the cluster's CA into argocd-tls-certs-cm, which it makes in the cluster`,
          }),
        );
      }
    }
    return issues;
  },
};
