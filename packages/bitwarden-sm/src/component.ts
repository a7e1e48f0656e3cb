// @homelab/bitwarden-sm: the Bitwarden Secrets Manager component. Provides `secrets`: renders
// charts/sm-operator (the upstream operator and its BitwardenSecret CRD) and, for every Secret the
// other components declare, a BitwardenSecret in that component's chart, filled from the Bitwarden
// secrets the definition's inventory maps to its keys. The machine account's access token is the
// one hand-made secret: the runbook creates it in every namespace that gets a BitwardenSecret.
// Pure.
import {
  type ApplicationDescriptor,
  type BootstrapSecret,
  type ChartSpec,
  type Component,
  type ComponentOutput,
  type ConsumerManifests,
  clusterList,
  compareStrings,
  componentSettings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  didYouMean,
  type EnvironmentName,
  type EnvironmentProfile,
  error,
  type FlowDeclaration,
  type GeneratedFile,
  generatedHeader,
  type Issue,
  type KubeObject,
  type PathSegment,
  PRUNE,
  type RenderCluster,
  type RenderInput,
  type ResolvedCluster,
  type ResolvedPlatform,
  requireVariable,
  SECRET_APPLY,
  SYNC_OPTIONS_ANNOTATION,
  secretFromVariable,
  settingsPath,
  shellQuote,
  urlFlowPeer,
  type Values,
  warning,
  wordList,
} from '@homelab/core';
import { bitwardenChanges, bitwardenChecks } from './checks.js';
import { BITWARDEN_SECRET_HEALTH_LUA } from './health.js';
import {
  BITWARDEN_GROUP,
  BITWARDEN_KIND,
  BITWARDEN_PRODUCER,
  bitwardenSecret,
  entryId,
  labelledSecret,
  type MappedSecret,
  mappingLines,
  matchInventory,
  secretId,
  type UnmappedKey,
  wantedSecrets,
} from './inventory.js';
import {
  type GitopsControl,
  gitopsControl,
  rotationEntries,
  rotationGuide,
  TOKEN_READ,
  TOKEN_SECTION,
} from './rotation.js';
import {
  type BitwardenSmSettings,
  bitwardenSettingsSpec,
  OPERATOR_NAMESPACE,
  type ResolvedBitwardenSettings,
  resolveBitwardenSettings,
} from './settings.js';
import { bitwardenValidators } from './validators.js';
import { BITWARDEN_SM_UPSTREAM, SM_OPERATOR_APP_VERSION, SM_OPERATOR_CHART } from './versions.js';

export const COMPONENT = 'bitwarden-sm';

/** Chart folder (charts/sm-operator) and the key its upstream values live under. */
export const SM_OPERATOR_CHART_NAME = SM_OPERATOR_CHART.name;

/** Helm release: containing the chart name, it makes every object `sm-operator-…`. */
const RELEASE = 'sm-operator';

/** Labels of the operator's pods (the chart's selector labels and its control-plane label). */
export const OPERATOR_POD_LABELS = {
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/name': SM_OPERATOR_CHART.name,
  'control-plane': 'controller-manager',
} as const;

/** Cluster-scoped kinds the sm-operator chart creates (the CRD is one of its templates). */
const CLUSTER_RESOURCES = [
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
] as const;

/** Secret keys Kubernetes accepts (the operator refuses others). */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function descriptor(cluster: ResolvedCluster): ApplicationDescriptor {
  return {
    chart: SM_OPERATOR_CHART_NAME,
    namespace: OPERATOR_NAMESPACE,
    // The operator only (the Helm suite checks every image its chart renders is here).
    imageRepositories: { [OPERATOR_NAMESPACE]: ['ghcr.io/bitwarden/sm-operator'] },
    releaseName: RELEASE,
    // It holds the BitwardenSecret CRD: deleting or pruning it deletes every BitwardenSecret,
    // and with them every Secret the operator created. Removing it is a runbook step.
    critical: true,
    installs: [{ group: BITWARDEN_GROUP, kind: BITWARDEN_KIND }],
    healthChecks: [
      {
        group: BITWARDEN_GROUP,
        kind: BITWARDEN_KIND,
        lua: BITWARDEN_SECRET_HEALTH_LUA,
        reason:
          "a consumer's Application is healthy only once the operator filled its Secrets: a BitwardenSecret the operator cannot sync (a bad machine-account token, an organization it cannot read) is Degraded with the operator's message, where the consumer's pods would only wait in CreateContainerConfigError (a mapped entry the account cannot read is not among them: the operator leaves its key out without an error)",
      },
    ],
    // The operator's pod runs as non-root, drops every capability, RuntimeDefault seccomp.
    podSecurity: 'restricted',
    clusterResources: CLUSTER_RESOURCES.map((resource) => ({ ...resource })),
    // What the upstream chart renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Service' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
      { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
      ...(cluster.profile.podDisruptionBudget
        ? [{ group: 'policy', kind: 'PodDisruptionBudget' }]
        : []),
    ],
  };
}

/** Namespaces whose Secrets the inventory maps: each needs the access token. */
function tokenNamespaces(settings: ResolvedBitwardenSettings): string[] {
  return [...new Set([...settings.inventory.keys()].map((id) => id.split('/')[0] as string))].sort(
    compareStrings,
  );
}

function tokenSecret(settings: ResolvedBitwardenSettings, namespace: string): BootstrapSecret {
  const { secretName, key } = settings.authToken;
  return {
    name: secretName,
    namespace,
    keys: [key],
    description:
      'the access token of the Bitwarden machine account the operator reads this namespace\u2019s secrets with',
    // Only where a component enabled on the cluster declares a Secret of this namespace: an
    // inventory shared by the clusters also maps Secrets of components some clusters disable.
    forDeclaredSecrets: true,
    reads: [TOKEN_READ],
    commands: [
      `${requireVariable('BWS_ACCESS_TOKEN', 'read it first (see above)')} && kubectl -n ${shellQuote(namespace)} create secret generic ${shellQuote(secretName)} ${secretFromVariable(key, 'BWS_ACCESS_TOKEN')} --dry-run=client -o yaml | ${SECRET_APPLY}`,
    ],
  };
}

/**
 * The other clusters outside production with this component that map some of the entries
 * `settings` maps (none for a production cluster): an entry is in one Bitwarden project, so
 * their machine accounts must read a project in common (the runbook's token step says so).
 */
function sharingClusters(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
  settings: ResolvedBitwardenSettings,
): string[] {
  const own = new Set([...settings.inventory.values()].flatMap((keys) => [...keys.values()]));
  const out: string[] = [];
  // Production shares nothing (`bitwarden-production-entries` warns of a deployed entry it
  // shares); an inherited mapping it does not deploy (another cluster's users file) is no reason
  // to give its account a project in common.
  if (cluster.environment === 'production') return [];
  for (const other of platform.clusters) {
    if (other.name === cluster.name || other.environment === 'production') continue;
    const values = componentSettings(platform, bitwardenSmComponent, other);
    if (values.enabled === false) continue;
    const resolved = resolveBitwardenSettings(
      values as unknown as BitwardenSmSettings,
      () => [],
    ).settings;
    const ids = new Set([...resolved.inventory.values()].flatMap((keys) => [...keys.values()]));
    if ([...own].some((id) => ids.has(id))) out.push(other.name);
  }
  return out;
}

function declare(input: DeclareInput<BitwardenSmSettings>): Declaration {
  const { settings, issues } = resolveBitwardenSettings(input.settings, input.path);
  const namespaces = tokenNamespaces(settings);
  const sharing = sharingClusters(input.platform, input.cluster, settings);
  const shared =
    sharing.length === 0
      ? []
      : [
          '',
          `This cluster maps entries that ${clusterList(sharing)} ${sharing.length === 1 ? 'maps' : 'map'} too (the top-level \`components.bitwarden-sm.secrets\` a cluster does not override): an entry is in one project, so keep those in a project of their own that the machine accounts of exactly the clusters sharing them read, and this cluster\u2019s other entries in its own project. Never share an entry with a production cluster (the build warns of one, \`bitwarden-production-entries\`). A mapped entry the account cannot read is left out of the Secret without an error, while the BitwardenSecret reports a successful sync.`,
        ];
  return {
    application: descriptor(input.cluster),
    bootstrap: [
      {
        title: 'Read the Bitwarden machine account token',
        body: [
          'Every platform secret comes from Bitwarden Secrets Manager through the sm-operator. It',
          `reads them as a machine account of cluster ${input.cluster.name} alone: create one (e.g.`,
          `\`homelab-${input.cluster.name}\`) in the organization \`${settings.organizationId}\`, give it`,
          'read access only to the project that holds the entries this cluster maps (the step',
          '"Put the platform\u2019s secrets into Bitwarden Secrets Manager" lists them), and make an',
          'access token for it. Never give this cluster another cluster\u2019s account or token, nor',
          'its account the project of entries only another cluster maps: Bitwarden grants a',
          'machine account whole projects, and the token sits in a Secret of every namespace that',
          'gets a BitwardenSecret, so whoever can read one of them reads every entry the account',
          'can (a development cluster\u2019s token would read production\u2019s keys and backup',
          'passwords). The token is the one secret made by hand, once in each of those namespaces',
          '(the hand-made secrets step below). Read it into your shell without echoing it; it never',
          'goes into Git or a file.',
          '',
          'An access token expires on the date chosen when it is made (Bitwarden offers never, 30',
          'or 60 days, or a date). Once it has, the operator syncs nothing: the Secrets keep their',
          'last values, new and changed entries no longer arrive, and Argo CD still shows the',
          'BitwardenSecrets healthy (their last successful sync stands); only the',
          '`BitwardenOperatorErrors` alert, where monitoring runs, says so. Choose never, or note',
          'the date and replace the token before it (`rotating-secrets.md`, "The machine',
          'account\u2019s access token").',
          ...shared,
          '',
          'Changing a value in Bitwarden later reaches its Secret at the operator\u2019s next sync,',
          'but not what read the old value at start: `rotating-secrets.md` beside this runbook',
          'says, entry by entry, what reads it, what must change with it, and the commands.',
        ],
        reads: [TOKEN_READ],
        commands: [],
      },
    ],
    bootstrapSecrets: namespaces.map((namespace) => tokenSecret(settings, namespace)),
    flows: bitwardenFlows(settings, input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN),
    facts: {
      secrets: {
        store: 'Bitwarden Secrets Manager',
        producer: BITWARDEN_PRODUCER,
        // Only where the runbook makes the token (a namespace with declared Secrets), so the
        // guide has the section it names.
        ...(namespaces.length === 0
          ? {}
          : {
              credential: {
                what: `the Bitwarden machine account\u2019s access token (the hand-made Secret \`${settings.authToken.secretName}\` of each namespace that gets a BitwardenSecret)`,
                replace: `"${TOKEN_SECTION}" of \`clusters/${input.cluster.name}/rotating-secrets.md\`: a new token into every namespace, one BitwardenSecret of each synced with it, then the old token revoked in Bitwarden`,
                whenRefused:
                  'the operator syncs nothing: every Secret keeps the value it came back with, and an entry changed in Bitwarden since does not arrive',
              },
            }),
        entries: Object.fromEntries(
          [...settings.inventory].map(([secret, keys]) => [secret, Object.fromEntries(keys)]),
        ),
      },
    },
    issues,
  };
}

/** The operator's pods (the chart's `control-plane: controller-manager`). */
const OPERATOR_PODS = {
  'app.kubernetes.io/name': 'sm-operator',
  'control-plane': 'controller-manager',
} as const;

/** The operator's metrics listener (`--metrics-bind-address=:8443`, HTTPS, token-checked). */
const OPERATOR_METRICS_PORT = 8443;

/** The API and identity URLs the operator calls: the chart's cloud ones, or the self-hosted. */
export function bitwardenUrls(server: ResolvedBitwardenSettings['server']): {
  api: string;
  identity: string;
} {
  if (server.kind === 'self-hosted') return { api: server.apiUrl, identity: server.identityUrl };
  const tld = server.region === 'EU' ? 'eu' : 'com';
  return { api: `https://api.bitwarden.${tld}`, identity: `https://identity.bitwarden.${tld}` };
}

/**
 * The operator's flows (chart 2.0.3: one Deployment, no webhook): the API server (BitwardenSecrets,
 * Secrets, leader election, the token reviews of its metrics endpoint), Bitwarden's identity
 * (machine-account login) and API (secrets) hosts, and Prometheus scraping its metrics.
 */
export function bitwardenFlows(
  settings: ResolvedBitwardenSettings,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): FlowDeclaration[] {
  const flow = (
    name: string,
    direction: FlowDeclaration['direction'],
    peer: FlowDeclaration['peer'],
    ports: FlowDeclaration['ports'],
    reason: string,
  ): FlowDeclaration => ({
    name,
    direction,
    namespace: OPERATOR_NAMESPACE,
    selector: { ...OPERATOR_PODS },
    peer,
    ports,
    reason,
  });
  const flows: FlowDeclaration[] = [
    flow(
      'apiserver',
      'egress',
      { kind: 'kube-apiserver' },
      [{ port: 6443, protocol: 'TCP' }],
      'the operator reads BitwardenSecrets and writes their Secrets',
    ),
    flow(
      'metrics',
      'ingress',
      { kind: 'capability', capability: 'metrics' },
      [{ port: OPERATOR_METRICS_PORT, protocol: 'TCP' }],
      'Prometheus scrapes the operator',
    ),
  ];
  const urls = bitwardenUrls(settings.server);
  for (const [name, url, reason] of [
    ['identity', urls.identity, 'the operator logs in with the machine-account token'],
    ['api', urls.api, 'the operator reads the secrets'],
  ] as const) {
    const target = urlFlowPeer(url, undefined, clusterDomain);
    if (target !== undefined) flows.push(flow(name, 'egress', target.peer, target.ports, reason));
  }
  return flows;
}

/** Base layer: the same for every cluster. */
function baseValues(): Values {
  return {
    [SM_OPERATOR_CHART_NAME]: {
      containers: {
        // Pod Security `restricted` needs the RuntimeDefault seccomp profile (the default; kept
        // explicit because the namespace enforces it).
        enableSeccompProfileRuntimeDefault: true,
        // Replicas elect a leader; only the leader reconciles.
        manager: { enableLeaderElection: true },
      },
    },
  };
}

function disruptionBudget(): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: `${RELEASE}-controller-manager`,
      namespace: OPERATOR_NAMESPACE,
      // The Application is critical (Prune=false); the budget follows the profile (a single
      // replica has none), so it must be pruned when the profile drops it: the object's own
      // option wins over the Application's (gitops-engine v3.4 isPruningDisabled).
      annotations: { [SYNC_OPTIONS_ANNOTATION]: PRUNE },
    },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...OPERATOR_POD_LABELS } } },
  };
}

/**
 * Environment layer: the profile's replicas, and a disruption budget where the profile asks for
 * one (the chart has none; its affinity is fixed, so no anti-affinity or spread is possible).
 */
function environmentValues(profile: EnvironmentProfile): Values {
  const values: Values = {
    [SM_OPERATOR_CHART_NAME]: { settings: { replicas: profile.replicas } },
  };
  if (profile.podDisruptionBudget && profile.replicas > 1) {
    values.manifests = {
      'pdb-sm-operator': disruptionBudget() as unknown as Values,
    };
  }
  return values;
}

function serverValues(settings: ResolvedBitwardenSettings): Values {
  const server = settings.server;
  return server.kind === 'cloud'
    ? { cloudRegion: server.region }
    : {
        // The chart takes the cloud URLs unless both overrides are set.
        cloudRegion: 'US',
        bwApiUrlOverride: server.apiUrl,
        bwIdentityUrlOverride: server.identityUrl,
      };
}

/** FNV-1a, 32 bits, as 8 hexadecimal digits: a short fingerprint that fits a label value. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The pod-template label that rolls the operator out when its ConfigMap changes. The chart's
 * Deployment reads the ConfigMap through `envFrom` (the refresh interval, the API and identity
 * URLs), which the operator reads once at start (cmd/main.go `GetSettings`), and carries no
 * checksum of it: without this label a new `refreshInterval` or server would reach the
 * ConfigMap and never the running operator. `commonLabels` go on the pod template's labels
 * (the chart's `sm-operator.fullLabels`), never on a selector.
 */
export const SETTINGS_LABEL = 'homelab.dev/operator-settings';

function clusterValues(settings: ResolvedBitwardenSettings): Values {
  const operatorSettings: Values = {
    ...serverValues(settings),
    bwSecretsManagerRefreshInterval: settings.refreshInterval,
  };
  return {
    [SM_OPERATOR_CHART_NAME]: {
      commonLabels: { [SETTINGS_LABEL]: fingerprint(JSON.stringify(operatorSettings)) },
      settings: {
        ...operatorSettings,
        ...(settings.replicas === undefined ? {} : { replicas: settings.replicas }),
      },
    },
  };
}

function readme(): ChartSpec['readme'] {
  return {
    summary:
      `The Bitwarden Secrets Manager operator ${SM_OPERATOR_APP_VERSION} (upstream chart ` +
      `sm-operator ${SM_OPERATOR_CHART.version}, AGPL-3.0, used unmodified) and its ` +
      '`BitwardenSecret` CRD. Every Secret a platform component declares becomes a ' +
      "BitwardenSecret in that component's chart, filled from the Bitwarden secrets the " +
      "definition's inventory (`components.bitwarden-sm.secrets`) maps to its keys.",
    sections: [
      {
        heading: 'Access token',
        body:
          'The operator reads secrets as a Bitwarden machine account. Its access token is the ' +
          'one hand-made secret of the platform: the runbook of each cluster creates it (Secret ' +
          '`bw-auth-token`, key `token`, unless the settings say otherwise) in every namespace ' +
          'that gets a BitwardenSecret, from your shell, never from Git.',
      },
      {
        heading: 'Labels',
        body:
          'The operator creates the Secrets it fills without labels and copies none from the ' +
          'BitwardenSecret. When a consumer needs labels (Argo CD reads `$<secret>:<key>` only ' +
          'from Secrets labelled `app.kubernetes.io/part-of: argocd`), its chart also holds the ' +
          'empty Secret with those labels; the operator fills an existing Secret in place.',
      },
      {
        heading: 'High availability',
        body:
          'Replicas follow the environment profile and elect a leader; a PodDisruptionBudget ' +
          '(`maxUnavailable: 1`) where the profile asks for one. The chart fixes the pod ' +
          'affinity, so no anti-affinity or topology spread can be added.',
      },
    ],
  };
}

/** One unmapped key, reported once for every cluster it is missing on. */
interface Missing {
  readonly unmapped: UnmappedKey;
  readonly clusters: string[];
  readonly path: PathSegment[];
}

/**
 * The inventory's unused Secret (`<namespace>/<name>`) with the same key whose name is a typo
 * away from the one a component declares: one of the two names is misspelt, most likely the
 * component's secretName (the inventory is copied from Bitwarden once, names are typed often).
 */
function misspeltAs(
  target: { readonly namespace: string; readonly name: string; readonly key: string },
  unused: readonly (readonly [string, string])[],
): string | undefined {
  const candidates = unused
    .filter(([id, key]) => key === target.key && id.startsWith(`${target.namespace}/`))
    .map(([id]) => id.slice(target.namespace.length + 1));
  const near = didYouMean(target.name, candidates);
  return near === undefined ? undefined : `${target.namespace}/${near}`;
}

/** The unused inventory Secret one letter or so off an unmapped key's Secret (`misspeltAs`). */
function typoPartner(
  { unmapped }: Missing,
  unused: readonly (readonly [string, string])[],
): string | undefined {
  const { secret, key, source } = unmapped;
  if (source !== undefined && unmapped.undeclaredSource === true) return undefined;
  return misspeltAs(source ?? { namespace: secret.namespace, name: secret.name, key }, unused);
}

/** The quoted keys, joined: `"a"`, `"a" and "b"`, `"a", "b" and "c"`. */
function keyList(keys: readonly string[]): string {
  return wordList(keys.map((key) => `"${key}"`));
}

/**
 * The keys of one declared Secret that the inventory maps under `near` instead, one error at
 * `path` (the inventory's mapping of `near`): one of the two names is misspelt.
 */
function misspeltIssue(items: readonly Missing[], near: string, path: PathSegment[]): Issue {
  const [first] = items as [Missing, ...Missing[]];
  const { secret, source } = first.unmapped;
  const on = `on ${clusterList(first.clusters)}`;
  const by = secret.declaredBy.join(', ');
  const keys = items.map((item) => item.unmapped.key).sort(compareStrings);
  const sourceKeys = items
    .map((item) => (item.unmapped.source ?? item.unmapped).key)
    .sort(compareStrings);
  const target = source ?? secret;
  const plural = keys.length > 1;
  return error({
    code: 'bitwarden-unmapped',
    path,
    value: secretId(target),
    message: `${
      source === undefined
        ? `${by} declares Secret ${secretId(secret)} with ${plural ? 'keys' : 'key'} ${keyList(keys)} ${on}, but the inventory maps no Bitwarden secret to ${plural ? 'them' : 'it'}: the Secret would be made without ${plural ? 'them' : 'it'}`
        : `${by} reads ${plural ? 'keys' : 'key'} ${keyList(keys)} of Secret ${secretId(secret)} ${on} from the same Bitwarden secret as ${plural ? 'keys' : 'key'} ${keyList(sourceKeys)} of Secret ${secretId(source)}, which the inventory does not map`
    }; the inventory maps ${plural ? 'keys' : 'key'} ${keyList(sourceKeys)} of Secret ${near}, which no component asks for: is one of the two names misspelt?`,
    expected: `one name in both places: the Secret name ${by}'s settings give (${target.name}), or the inventory's ${near}`,
  });
}

/** An unmapped key with no near name in the inventory: the lines to add. */
function unmappedIssue({ unmapped, clusters, path }: Missing): Issue {
  const { secret, key, source } = unmapped;
  const on = `on ${clusterList(clusters)}`;
  const by = secret.declaredBy.join(', ');
  if (source !== undefined && unmapped.undeclaredSource === true) {
    return error({
      code: 'bitwarden-unmapped',
      path,
      value: `${secretId(source)}:${source.key}`,
      message: `${by} reads the OIDC client secret of "${key}" from Secret ${secretId(source)} (key "${source.key}") ${on}, but no component declares that Secret; nothing can fill it`,
      expected: `the OIDC client's secret among the Secrets its component declares`,
    });
  }
  const target = source ?? { namespace: secret.namespace, name: secret.name, key };
  return error({
    code: 'bitwarden-unmapped',
    path,
    value: `${secretId(target)}:${target.key}`,
    message:
      source === undefined
        ? `${by} declares Secret ${secretId(secret)} with key "${key}" ${on}, but the inventory maps no Bitwarden secret to it: the Secret would be made without it`
        : `${by} reads key "${key}" of Secret ${secretId(secret)} ${on} from the same Bitwarden secret as key "${source.key}" of Secret ${secretId(source)}, which the inventory does not map`,
    expected: `these lines under components.bitwarden-sm (or a cluster's own components.bitwarden-sm):\n${mappingLines(target, target.key)}`,
  });
}

/**
 * BitwardenSecrets (and labelled Secrets) for one cluster, with the issues of its inventory.
 * `missing` and `used` collect what the render reports across clusters.
 */
function clusterSecrets(
  entry: RenderCluster<BitwardenSmSettings>,
  settings: ResolvedBitwardenSettings,
  missing: Map<string, Missing>,
  issues: Issue[],
): {
  forConsumers: ConsumerManifests[];
  used: ReadonlySet<string>;
  secrets: readonly MappedSecret[];
} {
  const { cluster } = entry;
  const { secrets: wanted, conflicts } = wantedSecrets(entry.others);
  for (const conflict of conflicts) {
    issues.push(
      error({
        code: 'bitwarden-conflict',
        path: settingsPath(cluster, conflict.second.split(', ')[0] as string),
        value: conflict.id,
        message: `${conflict.second} declares Secret ${conflict.id} on cluster "${cluster.name}" with other ${conflict.what} than ${conflict.first}; one Secret cannot be made two ways`,
        expected: `the same keys and labels in both declarations, or two Secrets with different names`,
      }),
    );
  }
  const match = matchInventory(wanted, settings.inventory);
  for (const unmapped of match.unmapped) {
    // A key taking its value from a declared key that is unmapped: that key's error says it.
    if (unmapped.source !== undefined && unmapped.undeclaredSource !== true) continue;
    const target = unmapped.source ?? { ...unmapped.secret, key: unmapped.key };
    const id = `${unmapped.undeclaredSource === true ? 'undeclared' : 'unmapped'}\u0000${entryId(secretId(unmapped.secret), unmapped.key)}`;
    const known = missing.get(id);
    if (known !== undefined) known.clusters.push(cluster.name);
    else {
      missing.set(id, {
        unmapped,
        clusters: [cluster.name],
        path: entry.path('secrets', secretId(target), target.key),
      });
    }
  }
  for (const divergent of match.divergent) {
    issues.push(
      error({
        code: 'bitwarden-divergent',
        path: entry.path('secrets', secretId(divergent.secret), divergent.key),
        value: divergent.key,
        message: `maps key "${divergent.key}" of Secret ${secretId(divergent.secret)} to another Bitwarden secret than key "${divergent.source.key}" of Secret ${secretId(divergent.source)} on cluster "${cluster.name}"; both sides of the OIDC client must read one value`,
        expected: `no mapping for it (it takes the id of ${secretId(divergent.source)}:${divergent.source.key})`,
      }),
    );
  }

  // The operator fills a Secret from the Bitwarden secrets its map names, each once: it keys
  // what it fetched by Bitwarden id and looks each id up in the map, taking the first entry that
  // names it (sm-operator `ApplySecretMap`, `FindSecretMapByBwSecretId`). A second key mapped to
  // the same id stays empty, and the BitwardenSecret still reports a successful sync.
  for (const secret of match.secrets) {
    const keysOf = new Map<string, string[]>();
    for (const [key, id] of [...secret.ids.entries()].sort(([a], [b]) => compareStrings(a, b)))
      keysOf.set(id, [...(keysOf.get(id) ?? []), key]);
    for (const [id, [first, ...rest]] of keysOf) {
      for (const key of rest) {
        const source = secret.keys.find((wanted) => wanted.key === key)?.source;
        const target = source ?? { ...secret, key };
        issues.push(
          error({
            code: 'bitwarden-shared-entry',
            path: entry.path('secrets', secretId(target), target.key),
            value: id,
            message: `maps key "${key}" of Secret ${secretId(secret)} on cluster "${cluster.name}"${source === undefined ? '' : ` (through key "${source.key}" of Secret ${secretId(source)})`} to the Bitwarden secret key "${first}" reads too: the operator writes each Bitwarden secret into one key of a Secret, the first its map names, so "${key}" would stay empty while the BitwardenSecret reports a successful sync`,
            expected: `a Bitwarden secret of its own for "${key}"${source === undefined ? '' : ' (each OIDC client its own client secret)'}`,
          }),
        );
      }
    }
  }

  const tokens = new Set(tokenNamespaces(settings));
  const owners = new Map(entry.others.map((peer) => [peer.component, peer.contribution]));
  const out = new Map<string, { [key: string]: KubeObject }>();
  for (const secret of match.secrets) {
    const badKeys = secret.keys.map((key) => key.key).filter((key) => !SECRET_KEY.test(key));
    if (badKeys.length > 0) {
      issues.push(
        error({
          code: 'bitwarden-key',
          path: settingsPath(cluster, secret.owner),
          value: badKeys,
          message: `Secret ${secretId(secret)} on cluster "${cluster.name}" would get key(s) ${badKeys.map((key) => `"${key}"`).join(', ')}, which Kubernetes refuses`,
          expected: 'Secret keys of letters, digits, "-", "_" or "."',
        }),
      );
      continue;
    }
    const application = owners.get(secret.owner)?.application;
    const namespaces = [application?.namespace, ...(application?.additionalNamespaces ?? [])];
    if (application === undefined || !namespaces.includes(secret.namespace)) {
      issues.push(
        error({
          code: 'bitwarden-namespace',
          path: settingsPath(cluster, secret.owner),
          value: secretId(secret),
          message: `${secret.owner} asks for Secret ${secretId(secret)} on cluster "${cluster.name}" outside the namespaces its Application deploys to (${namespaces.filter(Boolean).join(', ') || 'none'}); its BitwardenSecret could not be deployed`,
          expected: `a Secret in ${application?.namespace ?? 'its own namespace'}`,
        }),
      );
      continue;
    }
    const manifests = out.get(secret.owner) ?? {};
    // Keys of the owner's chart: a Secret whose name another of the owner's Secrets has in
    // another namespace (two applications, each with a volume `data`: `data-restic`) carries its
    // namespace, or one would overwrite the other and its Secret never be made.
    const suffix = wanted.some(
      (other) =>
        other.owner === secret.owner &&
        other.name === secret.name &&
        other.namespace !== secret.namespace,
    )
      ? `${secret.namespace}-${secret.name}`
      : secret.name;
    const taken = [`secret-${suffix}`, `bitwardensecret-${suffix}`].find((key) =>
      Object.hasOwn(manifests, key),
    );
    if (taken !== undefined) {
      issues.push(
        error({
          code: 'bitwarden-namespace',
          path: settingsPath(cluster, secret.owner),
          value: secretId(secret),
          message: `${secret.owner}'s Secret ${secretId(secret)} on cluster "${cluster.name}" would take the chart entry ${taken} of another of its Secrets`,
          expected: 'Secret names that stay distinct with their namespace in front',
        }),
      );
      continue;
    }
    const shell = labelledSecret(secret);
    if (shell !== undefined) manifests[`secret-${suffix}`] = shell;
    // Nothing mapped (an error already): no BitwardenSecret, so no token needed for it.
    if (secret.ids.size > 0) {
      manifests[`bitwardensecret-${suffix}`] = bitwardenSecret(secret, settings);
      if (!tokens.has(secret.namespace)) {
        issues.push(
          error({
            code: 'bitwarden-token',
            path: entry.path('secrets'),
            value: secret.namespace,
            message: `Secret ${secretId(secret)} on cluster "${cluster.name}" gets a BitwardenSecret in namespace "${secret.namespace}", where no access token is made (the runbook makes one in each namespace the inventory names)`,
            expected: `a mapping of a Secret in namespace "${secret.namespace}" in components.bitwarden-sm.secrets`,
          }),
        );
      }
    }
    if (Object.keys(manifests).length > 0) out.set(secret.owner, manifests);
  }
  const forConsumers = [...out.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([component, manifests]) => ({ component, cluster: cluster.name, manifests }));
  return { forConsumers, used: match.used, secrets: match.secrets };
}

/**
 * The GitOps controller of a cluster, as the rotation guide pauses it: read from the peer that
 * provides `gitops` (its facts name the Applications' namespace), absent when none does.
 */
function gitopsOf(entry: RenderCluster<BitwardenSmSettings>): { gitops?: GitopsControl } {
  const facts = entry.others.find((peer) => peer.contribution.facts?.gitops !== undefined)
    ?.contribution.facts?.gitops;
  return facts === undefined ? {} : { gitops: gitopsControl(entry.cluster, facts.namespace) };
}

/**
 * charts/sm-operator for every cluster that enables it, and a BitwardenSecret for every Secret
 * the other components declare, placed in their charts.
 */
function render(input: RenderInput<BitwardenSmSettings>): ComponentOutput {
  const issues: Issue[] = [];
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments = new Set<EnvironmentName>();
  const forConsumers: ConsumerManifests[] = [];
  const files: GeneratedFile[] = [];
  const missing = new Map<string, Missing>();
  /** Inventory entries: where they apply and whether a cluster uses them. */
  const entries = new Map<string, { path: PathSegment[]; used: boolean; clusters: string[] }>();
  const runs = input.clusters.map((entry) => {
    const { settings } = resolveBitwardenSettings(entry.settings, entry.path);
    return { entry, settings, made: clusterSecrets(entry, settings, missing, issues) };
  });
  // Each Bitwarden entry's clusters, in definition order: a rotation changes the value on all.
  const readers = new Map<string, string[]>();
  for (const { entry, made } of runs) {
    const ids = new Set(made.secrets.flatMap((secret) => [...secret.ids.values()]));
    for (const id of ids) readers.set(id, [...(readers.get(id) ?? []), entry.cluster.name]);
  }
  for (const { entry, settings, made } of runs) {
    environments.add(entry.cluster.environment);
    clusterLayers[entry.cluster.name] = clusterValues(settings);
    forConsumers.push(...made.forConsumers);
    const elsewhere = (id: string) =>
      (readers.get(id) ?? []).filter((name) => name !== entry.cluster.name);
    files.push({
      path: `clusters/${entry.cluster.name}/rotating-secrets.md`,
      content: rotationGuide({
        header: generatedHeader('pnpm build', 'markdown'),
        cluster: entry.cluster.name,
        settings,
        entries: rotationEntries(made.secrets, entry.others, entry.cluster.name).map((item) => {
          const others = elsewhere(item.id);
          return others.length === 0 ? item : { ...item, alsoOn: others };
        }),
        ...gitopsOf(entry),
        // The namespaces the runbook makes the token in (core keeps those with declared Secrets).
        tokenNamespaces: (entry.own.bootstrapSecrets ?? []).map((secret) => secret.namespace),
        tokenCommand: (namespace) => tokenSecret(settings, namespace).commands.join('\n'),
      }),
    });
    for (const [id, keys] of settings.inventory) {
      for (const key of keys.keys()) {
        const known = entries.get(entryId(id, key)) ?? {
          path: entry.path('secrets', id, key),
          used: false,
          clusters: [],
        };
        known.used ||= made.used.has(entryId(id, key));
        known.clusters.push(entry.cluster.name);
        entries.set(entryId(id, key), known);
      }
    }
  }
  const unused = [...entries]
    .filter(([, known]) => !known.used)
    .map(([id]) => id.split('\u0000') as [string, string]);
  // A declared Secret whose keys the inventory maps under a near name nothing asks for: one
  // error at that name's mapping (the line the user wrote; a component's secretName may be its
  // default), whose keys then need no warning of their own.
  const paired = new Set<string>();
  const typos = new Map<string, { near: string; items: Missing[] }>();
  for (const item of missing.values()) {
    const near = typoPartner(item, unused);
    if (near === undefined) {
      issues.push(unmappedIssue(item));
      continue;
    }
    const { secret, key, source } = item.unmapped;
    const target = source ?? { ...secret, key };
    paired.add(entryId(near, target.key));
    const group = `${secretId(secret)}\u0000${source === undefined ? '' : secretId(source)}\u0000${item.clusters.join(',')}\u0000${near}`;
    typos.set(group, { near, items: [...(typos.get(group)?.items ?? []), item] });
  }
  for (const { near, items } of typos.values()) {
    const [first] = items;
    if (first === undefined) continue;
    const known = entries.get(entryId(near, (first.unmapped.source ?? first.unmapped).key));
    issues.push(
      misspeltIssue(items, near, known === undefined ? first.path : known.path.slice(0, -1)),
    );
  }
  for (const [id, known] of entries) {
    if (known.used || paired.has(id)) continue;
    const [secret, key] = id.split('\u0000') as [string, string];
    issues.push(
      warning({
        code: 'bitwarden-unused',
        path: known.path,
        value: key,
        message: `maps a Bitwarden secret to key "${key}" of Secret ${secret}, which no component asks for on ${known.clusters.length > 1 ? 'any of the clusters' : 'the cluster'} it applies to (${known.clusters.join(', ')})`,
        expected: 'a key some enabled component declares, or no such line',
      }),
    );
  }
  const environmentLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of [...environments].sort(compareStrings)) {
    environmentLayers[name] = environmentValues(input.platform.environments[name]);
  }
  const chart: ChartSpec = {
    name: SM_OPERATOR_CHART_NAME,
    description: 'Bitwarden Secrets Manager operator: BitwardenSecrets fill the platform Secrets',
    appVersion: SM_OPERATOR_APP_VERSION,
    dependency: {
      name: SM_OPERATOR_CHART.name,
      version: SM_OPERATOR_CHART.version,
      repository: SM_OPERATOR_CHART.repository,
    },
    values: baseValues(),
    environments: environmentLayers,
    clusters: clusterLayers,
    readme: readme(),
  };
  return { chart, files, forConsumers, issues };
}

/** Bitwarden Secrets Manager as a platform component. */
export const bitwardenSmComponent: Component<BitwardenSmSettings> = {
  name: COMPONENT,
  description:
    'Bitwarden Secrets Manager operator: every declared Secret filled from Bitwarden through a BitwardenSecret.',
  settings: bitwardenSettingsSpec,
  provides: ['secrets'],
  needs: ['cni'],
  upstream: BITWARDEN_SM_UPSTREAM,
  validators: bitwardenValidators,
  checks: bitwardenChecks,
  changes: bitwardenChanges,
  declare,
  render,
};
