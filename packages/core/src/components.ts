// Running the registered components (DESIGN.md, "Data flow": resolve → render): settings per
// cluster, needs checked against providers, declarations in dependency order (providers first,
// so each consumer sees its providers' facts), one render per component, and what providers
// make for their consumers placed in the consumers' charts. Pure; knows no component by name.
import type {
  AnyComponent,
  Capability,
  ClusterContribution,
  ComponentOutput,
  ManifestOrigin,
  PeerContribution,
  ProvidedFacts,
  RenderCluster,
} from './contract.js';
import { settingsSchema } from './definition-schema.js';
import { dependencyLayers, formatCycle } from './graph.js';
import { mergeValues } from './helm.js';
import { error, type Issue, type PathSegment, warning } from './issues.js';
import { isJson as isTable } from './json-access.js';
import { createSchemaValidator } from './schema-validate.js';
import { PRUNE, withSyncOption } from './sync-options.js';
import type { KubeObject, ResolvedCluster, ResolvedPlatform, Values } from './types.js';
import { GITHUB_RELEASE_HOSTS } from './upstream.js';
import { compareStrings } from './yaml.js';

/** Every component of the platform, in one list (the registry file). */
export type Registry = readonly AnyComponent[];

/**
 * Checks a component's merged settings on a cluster against its full settings schema; issue
 * paths relative to the settings. The CLI passes validators generated at build time.
 */
export type SettingsValidator = (component: AnyComponent, settings: Values) => Issue[];

/** Compiles each component's settings schema on first use (tests; the CLI brings generated ones). */
export function compiledSettingsValidator(): SettingsValidator {
  const compiled = new Map<string, (data: unknown) => Issue[]>();
  return (component, settings) => {
    let validate = compiled.get(component.name);
    if (validate === undefined) {
      validate = createSchemaValidator(settingsSchema(component));
      compiled.set(component.name, validate);
    }
    return validate(settings);
  };
}

export interface RunOptions {
  readonly validateSettings?: SettingsValidator;
}

/** Path of a component's settings on a cluster: `clusters[i].components.<name>…`. */
export function settingsPath(
  cluster: ResolvedCluster,
  component: string,
  ...rest: PathSegment[]
): PathSegment[] {
  return ['clusters', cluster.index, 'components', component, ...rest];
}

type Table = { [key: string]: unknown };

/**
 * A component's settings on a cluster: its defaults, then the definition's top-level
 * `components.<name>`, then the cluster's `components.<name>`, merged as Helm merges value files.
 */
export function componentSettings(
  platform: ResolvedPlatform,
  component: AnyComponent,
  cluster: ResolvedCluster,
): Values {
  const top = (platform.definition.components as Table | undefined)?.[component.name];
  const own = (cluster.definition.components as Table | undefined)?.[component.name];
  return mergeValues(
    component.settings.defaults as Values,
    (isTable(top) ? top : {}) as Values,
    (isTable(own) ? own : {}) as Values,
  );
}

/** Whether the settings enable the component (`enabled` defaults to true). */
export function isEnabled(settings: Values): boolean {
  return settings.enabled !== false;
}

/** One cluster after every enabled component declared what it contributes there. */
export interface ClusterRun {
  readonly cluster: ResolvedCluster;
  /** Enabled components in dependency order: every provider before its consumers. */
  readonly order: readonly string[];
  /** Per component, the components it comes after: the providers of what it needs, uses and reads. */
  readonly dependsOn: ReadonlyMap<string, readonly string[]>;
  /**
   * Per component, the components whose sync waves its Application waits for: the providers of
   * what it needs and uses (not of what it only `reads`).
   */
  readonly startsAfter: ReadonlyMap<string, readonly string[]>;
  /** The enabled components that sync late (`Component.syncLate`), with their reasons. */
  readonly syncLate: ReadonlyMap<string, string>;
  /** Per component, what it declared. */
  readonly contributions: ReadonlyMap<string, ClusterContribution>;
  /** Per capability, the component that provides it on this cluster. */
  readonly providers: ReadonlyMap<Capability, string>;
  /** Every provider's facts. */
  readonly facts: ProvidedFacts;
}

/** What one component rendered, with the manifests its providers made for it placed in its chart. */
export interface ComponentRun {
  readonly component: AnyComponent;
  /** Names of the clusters it is enabled on. */
  readonly clusters: readonly string[];
  readonly output: ComponentOutput;
}

export interface ComponentsResult {
  readonly clusters: readonly ClusterRun[];
  readonly components: readonly ComponentRun[];
  readonly issues: readonly Issue[];
}

/** Requests a component declares and the capability that must fulfil them. */
const REQUESTS: readonly {
  readonly key: 'routes' | 'oidcClients' | 'secrets' | 'volumes';
  readonly capability: Capability;
  readonly what: string;
  /**
   * An unfulfilled request is an error (routes, volumes) or a warning (Secrets and OIDC clients:
   * the application still runs, without what the request would give it).
   */
  readonly severity: 'error' | 'warning';
}[] = [
  { key: 'routes', capability: 'gateway', what: 'a route', severity: 'error' },
  { key: 'oidcClients', capability: 'oidc-provider', what: 'an OIDC client', severity: 'warning' },
  { key: 'secrets', capability: 'secrets', what: 'a Secret', severity: 'warning' },
  { key: 'volumes', capability: 'storage', what: 'a volume', severity: 'error' },
];

function providersOf(registry: Registry): Map<Capability, AnyComponent[]> {
  const out = new Map<Capability, AnyComponent[]>();
  for (const component of registry) {
    for (const capability of component.provides) {
      out.set(capability, [...(out.get(capability) ?? []), component]);
    }
  }
  return out;
}

function names(components: readonly AnyComponent[]): string {
  return components.map((component) => component.name).join(' or ');
}

/** Declares every enabled component on one cluster, providers first. */
function declareCluster(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  registry: Registry,
  settings: ReadonlyMap<string, Values>,
  issues: Issue[],
): ClusterRun {
  const enabled = registry.filter((component) => settings.has(component.name));
  const byName = new Map(enabled.map((component) => [component.name, component]));
  const registryProviders = providersOf(registry);

  // Who provides what here: exactly one enabled provider per capability.
  const providers = new Map<Capability, string>();
  for (const [capability, candidates] of registryProviders) {
    const present = candidates.filter((candidate) => byName.has(candidate.name));
    const first = present[0];
    if (first === undefined) continue;
    if (present.length > 1) {
      issues.push(
        error({
          code: 'capability-ambiguous',
          path: settingsPath(cluster, present[1]?.name ?? first.name),
          value: present.map((component) => component.name),
          message: `${names(present)} all provide "${capability}" on cluster "${cluster.name}"; one provider per capability`,
          expected: `only one of ${names(present)} enabled on the cluster`,
        }),
      );
    }
    providers.set(capability, first.name);
  }

  // Needs: a provider must be enabled; uses and reads: optional. Reads order the declarations
  // (their facts), not the sync waves.
  const dependsOn = new Map<string, string[]>();
  const startsAfter = new Map<string, string[]>();
  for (const component of enabled) {
    const after = new Set<string>();
    for (const capability of component.needs) {
      const provider = providers.get(capability);
      if (provider === undefined) {
        const candidates = registryProviders.get(capability) ?? [];
        issues.push(
          error({
            code: 'capability-unprovided',
            path: settingsPath(cluster, component.name),
            value: capability,
            message: `${component.name} needs "${capability}", which no component enabled on cluster "${cluster.name}" provides`,
            expected:
              candidates.length > 0
                ? `${names(candidates)} enabled on cluster "${cluster.name}" (it provides "${capability}"), or ${component.name} disabled`
                : `a registered component that provides "${capability}"`,
          }),
        );
        continue;
      }
      if (provider !== component.name) after.add(provider);
    }
    for (const capability of component.uses ?? []) {
      const provider = providers.get(capability);
      if (provider !== undefined && provider !== component.name) after.add(provider);
    }
    startsAfter.set(component.name, [...after].sort(compareStrings));
    for (const capability of component.reads ?? []) {
      const provider = providers.get(capability);
      if (provider !== undefined && provider !== component.name) after.add(provider);
    }
    dependsOn.set(component.name, [...after].sort(compareStrings));
  }

  const layers = dependencyLayers(
    enabled.map((component) => ({
      name: component.name,
      dependsOn: dependsOn.get(component.name) ?? [],
    })),
  );
  for (const problem of layers.problems) {
    if (problem.kind === 'cycle') {
      issues.push(
        error({
          code: 'capability-cycle',
          path: settingsPath(cluster, problem.cycle[0] ?? ''),
          value: formatCycle(problem.cycle),
          message: `components need each other in a cycle on cluster "${cluster.name}": ${formatCycle(problem.cycle)} (read "needs a capability of")`,
          expected: 'needs that form no cycle',
        }),
      );
    }
  }

  const contributions = new Map<string, ClusterContribution>();
  const facts: { [C in Capability]?: unknown } = {};
  for (const name of layers.order) {
    const component = byName.get(name);
    const own = settings.get(name);
    if (component === undefined || own === undefined) continue;
    const provided: { [C in Capability]?: unknown } = {};
    for (const capability of [
      ...component.needs,
      ...(component.uses ?? []),
      ...(component.reads ?? []),
    ]) {
      if (facts[capability] !== undefined) provided[capability] = facts[capability];
    }
    const { issues: declared = [], ...contribution } = component.declare({
      platform,
      cluster,
      settings: own,
      path: (...rest) => settingsPath(cluster, name, ...rest),
      provided: provided as ProvidedFacts,
    });
    issues.push(...declared.map((issue) => withOrigin(issue, settingsPath(cluster, name))));
    contributions.set(name, withUpstreamRepositories(contribution, component));
    for (const capability of component.provides) {
      const fact = contribution.facts?.[capability];
      if (fact !== undefined && providers.get(capability) === name) facts[capability] = fact;
    }
  }

  // A bootstrap secret made for the declared Secrets of its namespace (the secrets provider's
  // access token) where no component enabled on the cluster declares one: nothing reads it.
  const declaredNamespaces = new Set(
    [...contributions.values()].flatMap((contribution) =>
      (contribution.secrets ?? []).map((secret) => secret.namespace),
    ),
  );
  for (const [name, contribution] of contributions) {
    const all = contribution.bootstrapSecrets ?? [];
    const kept = all.filter(
      (secret) => secret.forDeclaredSecrets !== true || declaredNamespaces.has(secret.namespace),
    );
    if (kept.length !== all.length)
      contributions.set(name, { ...contribution, bootstrapSecrets: kept });
  }

  // Requests nobody on the cluster can fulfil.
  for (const [name, contribution] of contributions) {
    for (const request of REQUESTS) {
      const list = contribution[request.key] ?? [];
      if (list.length === 0 || providers.has(request.capability)) continue;
      const candidates = registryProviders.get(request.capability) ?? [];
      const make = request.severity === 'error' ? error : warning;
      issues.push(
        make({
          code: 'request-unfulfilled',
          path: settingsPath(cluster, name),
          value: list.map(
            (item: { readonly name?: string; readonly id?: string }) => item.id ?? item.name ?? '',
          ),
          message: `${name} declares ${request.what} on cluster "${cluster.name}" but no enabled component provides "${request.capability}"${request.severity === 'warning' ? '; nothing will fulfil it' : ''}`,
          expected:
            candidates.length > 0
              ? `${names(candidates)} enabled on cluster "${cluster.name}"`
              : `a component that provides "${request.capability}"`,
        }),
      );
    }
  }

  return {
    cluster,
    order: layers.order.filter((name) => contributions.has(name)),
    dependsOn,
    startsAfter,
    syncLate: new Map(
      enabled.flatMap((component) =>
        component.syncLate !== undefined && contributions.has(component.name)
          ? [[component.name, component.syncLate] as const]
          : [],
      ),
    ),
    contributions,
    providers,
    facts: facts as ProvidedFacts,
  };
}

/**
 * The contribution with its Application's `upstreamRepositories` filled from the component's
 * chart pins (where the GitOps controller fetches the upstream chart: the repository's index,
 * and the archive's hosts when it lies elsewhere, `archives`), unless it says itself.
 */
function withUpstreamRepositories(
  contribution: ClusterContribution,
  component: AnyComponent,
): ClusterContribution {
  const application = contribution.application;
  if (application === undefined || application.upstreamRepositories !== undefined) {
    return contribution;
  }
  const repositories = [
    ...new Set(
      component.upstream.flatMap((pin) =>
        pin.kind !== 'helm-chart'
          ? []
          : pin.archives === 'github-releases'
            ? [pin.repository, ...GITHUB_RELEASE_HOSTS]
            : [pin.repository],
      ),
    ),
  ].sort(compareStrings);
  if (repositories.length === 0) return contribution;
  return { ...contribution, application: { ...application, upstreamRepositories: repositories } };
}

/** The issue, with `origin` as its path when it has none (a problem found in output). */
function withOrigin(issue: Issue, origin: readonly PathSegment[]): Issue {
  return issue.path.length > 0 ? issue : { ...issue, path: origin };
}

/**
 * Runs every registered component over the platform: settings, needs, declarations in dependency
 * order, renders, and what providers make for consumers placed in the consumers' charts.
 */
export function runComponents(
  platform: ResolvedPlatform,
  registry: Registry,
  options: RunOptions = {},
): ComponentsResult {
  const validateSettings = options.validateSettings ?? compiledSettingsValidator();
  const issues: Issue[] = [];
  const clusterRuns: ClusterRun[] = [];
  const settingsByComponent = new Map<string, Map<string, Values>>();
  for (const cluster of platform.clusters) {
    const enabled = new Map<string, Values>();
    for (const component of registry) {
      const settings = componentSettings(platform, component, cluster);
      if (!isEnabled(settings)) continue;
      // The layers merged: what the component sees must satisfy its whole schema.
      const problems = validateSettings(component, settings);
      if (problems.length > 0) {
        issues.push(
          // The issue names the cluster's settings path; positioning moves it to where the
          // value is written (the cluster's override or the platform-wide settings), so the
          // same problem inherited by several clusters is reported once.
          ...problems.map((issue) => ({
            ...issue,
            path: settingsPath(cluster, component.name, ...issue.path),
          })),
        );
        continue;
      }
      enabled.set(component.name, settings);
      const perCluster = settingsByComponent.get(component.name) ?? new Map<string, Values>();
      perCluster.set(cluster.name, settings);
      settingsByComponent.set(component.name, perCluster);
    }
    clusterRuns.push(declareCluster(platform, cluster, registry, enabled, issues));
  }

  const runs: ComponentRun[] = [];
  for (const component of registry) {
    const clusters: RenderCluster<unknown>[] = [];
    for (const run of clusterRuns) {
      const own = run.contributions.get(component.name);
      const settings = settingsByComponent.get(component.name)?.get(run.cluster.name);
      if (own === undefined || settings === undefined) continue;
      const provided: { [C in Capability]?: unknown } = {};
      for (const capability of [
        ...component.needs,
        ...(component.uses ?? []),
        ...(component.reads ?? []),
        ...component.provides,
      ]) {
        const fact = run.facts[capability];
        if (fact !== undefined) provided[capability] = fact;
      }
      const others: PeerContribution[] = [...run.contributions.entries()]
        .filter(([name]) => name !== component.name)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([name, contribution]) => ({ component: name, contribution }));
      clusters.push({
        cluster: run.cluster,
        settings,
        path: (...rest) => settingsPath(run.cluster, component.name, ...rest),
        provided: provided as ProvidedFacts,
        own,
        others,
      });
    }
    if (clusters.length === 0) continue;
    const output = component.render({ platform, clusters });
    const origin = (output.issues ?? []).map((issue) =>
      withOrigin(issue, ['components', component.name]),
    );
    issues.push(...origin);
    runs.push({
      component,
      clusters: clusters.map((entry) => entry.cluster.name),
      output: { ...output, issues: origin },
    });
  }

  return { clusters: clusterRuns, components: placeConsumerManifests(runs, issues), issues };
}

/** Puts what providers made for consumers into the consumers' chart cluster layers. */
function placeConsumerManifests(runs: readonly ComponentRun[], issues: Issue[]): ComponentRun[] {
  const incoming = new Map<
    string,
    {
      from: string;
      cluster: string;
      key: string;
      object: KubeObject;
      origin: ManifestOrigin | undefined;
    }[]
  >();
  for (const run of runs) {
    for (const entry of run.output.forConsumers ?? []) {
      const list = incoming.get(entry.component) ?? [];
      for (const key of Object.keys(entry.manifests).sort(compareStrings)) {
        const object = entry.manifests[key];
        if (object !== undefined) {
          const origin = entry.origins?.[key];
          list.push({ from: run.component.name, cluster: entry.cluster, key, object, origin });
        }
      }
      incoming.set(entry.component, list);
    }
  }
  return runs.map((run) => {
    const list = incoming.get(run.component.name);
    if (list === undefined || list.length === 0) return run;
    const chart = run.output.chart;
    if (chart === undefined) {
      issues.push(
        error({
          code: 'consumer-manifests',
          path: ['components', run.component.name],
          value: [...new Set(list.map((item) => item.from))],
          message: `${list.map((item) => item.from).join(', ')} made objects for ${run.component.name}, which renders no chart to hold them`,
          expected: 'a chart for every component that declares routes, Secrets or volumes',
        }),
      );
      return run;
    }
    const layers: { [cluster: string]: Values } = { ...chart.clusters };
    // Where the definition has what made each object, beside the chart (never in its files).
    const origins: { [cluster: string]: { [key: string]: ManifestOrigin } } = {};
    for (const [cluster, byKey] of Object.entries(run.output.origins ?? {})) {
      origins[cluster] = { ...byKey };
    }
    for (const item of list) {
      const layer = layers[item.cluster];
      if (layer === undefined) {
        issues.push(
          error({
            code: 'consumer-manifests',
            path: ['components', run.component.name],
            value: item.cluster,
            message: `${item.from} made ${item.key} for ${run.component.name} on cluster "${item.cluster}", where its chart has no layer`,
          }),
        );
        continue;
      }
      const manifests = isTable(layer.manifests) ? { ...(layer.manifests as Values) } : {};
      if (Object.hasOwn(manifests, item.key)) {
        issues.push(
          error({
            code: 'consumer-manifests',
            path: ['components', run.component.name],
            value: item.key,
            message: `${item.from} made manifest "${item.key}" for ${run.component.name} on cluster "${item.cluster}", which the chart already has`,
            expected: 'distinct manifest keys',
          }),
        );
        continue;
      }
      // Pruned with the consumer's chart: what a provider makes for a consumer follows the
      // definition, and a critical consumer (Argo CD, Longhorn) syncs with Prune=false, which
      // the object's own option overrides (gitops-engine v3.4 isPruningDisabled reads the live
      // object's first). An object that says otherwise itself (a claim: Prune=false) keeps it.
      manifests[item.key] = withSyncOption(item.object, PRUNE) as unknown as Values;
      const sorted: Values = {};
      for (const key of Object.keys(manifests).sort(compareStrings)) {
        sorted[key] = manifests[key] as Values;
      }
      layers[item.cluster] = { ...layer, manifests: sorted };
      if (item.origin !== undefined) {
        const byKey = origins[item.cluster] ?? {};
        byKey[item.key] = item.origin;
        origins[item.cluster] = byKey;
      }
    }
    return {
      ...run,
      output: {
        ...run.output,
        chart: { ...chart, clusters: layers },
        ...(Object.keys(origins).length > 0 ? { origins } : {}),
      },
    };
  });
}

/** Components that provide `capability` on the cluster (at most one without an issue). */
export function providerOf(run: ClusterRun, capability: Capability): string | undefined {
  return run.providers.get(capability);
}
