// System checks (layer 4) of what the operator needs at run time, over the platform as Argo CD
// deploys it. Pure.
import { createHash } from 'node:crypto';
import {
  type ChangeCheck,
  type ChangedObject,
  clusterList,
  compareStrings,
  type DeployedCluster,
  error,
  groupKindOf,
  type Issue,
  type Json,
  type KubeObject,
  record,
  type SystemCheck,
  type SystemInput,
  settingsPath,
  type Values,
  warning,
} from '@homelab/core';
import { BITWARDEN_GROUP, BITWARDEN_KIND, secretId } from './inventory.js';
import { MAPPED_ANEW, TOKEN_SECTION } from './rotation.js';
import { DEFAULT_AUTH_TOKEN } from './settings.js';
import { SM_OPERATOR_CHART } from './versions.js';

/** The operator's chart (component.ts `SM_OPERATOR_CHART_NAME`, which imports this module). */
const SM_OPERATOR_CHART_NAME = SM_OPERATOR_CHART.name;

const COMPONENT = 'bitwarden-sm';

/** The BitwardenSecrets deployed on a cluster, with where each is generated. */
function bitwardenSecrets(
  deployed: DeployedCluster,
): { object: KubeObject; source: string; app: string }[] {
  return deployed.applications.flatMap((app) =>
    app.objects
      .filter(({ object }) => {
        const kind = groupKindOf(object);
        return kind.group === BITWARDEN_GROUP && kind.kind === BITWARDEN_KIND;
      })
      .map(({ object, source }) => ({ object, source, app: app.name })),
  );
}

/** Clusters where this component provides `secrets`. */
function served(input: Parameters<SystemCheck['check']>[0]): DeployedCluster[] {
  return input.clusters.filter((deployed) => deployed.run.providers.get('secrets') === COMPONENT);
}

/**
 * The `<namespace>/<secret>:<key>` the definition's inventory maps for a cluster: the top-level
 * `components.bitwarden-sm.secrets` and the cluster's own.
 */
function inventoryKeys(input: SystemInput, deployed: DeployedCluster): Set<string> {
  const keys = new Set<string>();
  const definition = input.platform.definition as unknown as Json;
  const layers = [
    record(record(definition.components)[COMPONENT]).secrets,
    record(record(deployed.cluster.definition as unknown as Json).components)[COMPONENT],
  ];
  const add = (secrets: unknown) => {
    for (const [secret, mapped] of Object.entries(record(secrets))) {
      for (const key of Object.keys(record(mapped))) keys.add(`${secret}:${key}`);
    }
  };
  add(layers[0]);
  add(record(layers[1]).secrets);
  return keys;
}

/** key → Bitwarden secret id of a BitwardenSecret. */
function idsOf(object: KubeObject): Map<string, string> {
  const map = record(object.spec).map;
  const out = new Map<string, string>();
  for (const item of Array.isArray(map) ? map : []) {
    const entry = record(item);
    if (typeof entry.secretKeyName === 'string' && typeof entry.bwSecretId === 'string') {
      out.set(entry.secretKeyName, entry.bwSecretId);
    }
  }
  return out;
}

/** Each key a cluster's BitwardenSecrets fill: the Secret (`<namespace>/<name>`), key, entry id. */
function mappedKeys(deployed: DeployedCluster): { secret: string; key: string; id: string }[] {
  return bitwardenSecrets(deployed).flatMap(({ object }) => {
    const secret = `${object.metadata.namespace ?? ''}/${String(record(object.spec).secretName)}`;
    return [...idsOf(object)].map(([key, id]) => ({ secret, key, id }));
  });
}

/** The access token every BitwardenSecret reads is a hand-made bootstrap secret of its namespace. */
export const authTokenCheck: SystemCheck = {
  name: 'bitwarden-auth-token',
  description:
    'Every BitwardenSecret reads its machine-account token from a Secret in its own namespace that the runbook makes by hand (a bootstrap secret with that key).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of served(input)) {
      const tokens = new Set<string>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const secret of contribution.bootstrapSecrets ?? []) {
          for (const key of secret.keys) tokens.add(`${secret.namespace}/${secret.name}:${key}`);
        }
      }
      for (const { object, source, app } of bitwardenSecrets(deployed)) {
        const token = record(record(object.spec).authToken);
        const namespace = object.metadata.namespace ?? '';
        const wanted = `${namespace}/${String(token.secretName)}:${String(token.secretKey)}`;
        if (tokens.has(wanted)) continue;
        issues.push(
          error({
            code: 'bitwarden-auth-token',
            path: settingsPath(deployed.cluster, COMPONENT),
            output: source,
            value: wanted,
            message: `the BitwardenSecret ${namespace}/${object.metadata.name} of ${app} on cluster "${deployed.cluster.name}" reads its access token from ${wanted}, which no runbook step makes: the operator cannot log in`,
            expected: `a hand-made token Secret in namespace "${namespace}" (map a Secret of that namespace in components.bitwarden-sm.secrets)`,
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * The access token's Secret is no Secret the platform makes or fills in the same namespace. The
 * operator's sync sets the data of the Secret it fills to the mapped keys alone (sm-operator v2
 * `ApplySecretMap`: `k8sSecret.Data = make(map[string][]byte)`, then a merge patch from the old
 * object, which deletes every other key): a token Secret of the same name loses its token at the
 * first sync, and every sync after it fails to log in. Argo CD would likewise reset a Secret of
 * its chart, and a second hand-made Secret of that name would overwrite the token.
 */
export const authTokenNameCheck: SystemCheck = {
  name: 'bitwarden-auth-token-name',
  description:
    "The machine-account token's Secret (`authToken.secretName`) is no Secret that a component declares, a BitwardenSecret fills, a chart deploys or another runbook step makes, in a namespace where the runbook makes the token.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of served(input)) {
      const tokens = deployed.run.contributions.get(COMPONENT)?.bootstrapSecrets ?? [];
      const wanted = new Set(tokens.map((secret) => `${secret.namespace}/${secret.name}`));
      const name = tokens[0]?.name;
      if (name === undefined) continue;
      // `<namespace>/<name>` of a token Secret -> who else makes or fills a Secret of that name.
      const users = new Map<string, Set<string>>();
      const use = (id: string, who: string): void => {
        if (!wanted.has(id)) return;
        users.set(id, (users.get(id) ?? new Set<string>()).add(who));
      };
      // Who declares a Secret of the token's name: where the error goes when the name is the
      // default one, which the user never wrote (their own Secret's name is the slip).
      const declarers = new Map<string, string>();
      for (const [component, contribution] of deployed.run.contributions) {
        for (const secret of contribution.secrets ?? []) {
          const id = `${secret.namespace}/${secret.name}`;
          use(id, `${component} declares it`);
          if (wanted.has(id) && component !== COMPONENT && !declarers.has(id)) {
            declarers.set(id, component);
          }
        }
        if (component === COMPONENT) continue;
        for (const secret of contribution.bootstrapSecrets ?? []) {
          use(`${secret.namespace}/${secret.name}`, `${component}'s runbook step makes it by hand`);
        }
      }
      for (const app of deployed.applications) {
        for (const { object } of app.objects) {
          const namespace = object.metadata.namespace ?? app.namespace;
          const kind = groupKindOf(object);
          if (kind.group === BITWARDEN_GROUP && kind.kind === BITWARDEN_KIND) {
            use(
              `${namespace}/${String(record(object.spec).secretName)}`,
              `the operator fills it from Bitwarden (BitwardenSecret ${namespace}/${object.metadata.name} of ${app.name})`,
            );
          } else if (kind.group === '' && kind.kind === 'Secret') {
            use(`${namespace}/${object.metadata.name}`, `${app.name}'s chart deploys it`);
          }
        }
      }
      for (const [id, who] of [...users].sort(([a], [b]) => compareStrings(a, b))) {
        const declarer = declarers.get(id);
        issues.push(
          error({
            code: 'bitwarden-auth-token-name',
            path:
              name === DEFAULT_AUTH_TOKEN.secretName && declarer !== undefined
                ? settingsPath(deployed.cluster, declarer)
                : settingsPath(deployed.cluster, COMPONENT, 'authToken', 'secretName'),
            value: name,
            message: `names the access token's Secret ${id} on cluster "${deployed.cluster.name}", a Secret the platform already uses: ${[...who].join('; ')}. The operator sets the data of a Secret it fills to the mapped keys alone, so the token would be erased at the first sync and every later sync would fail to log in`,
            expected: `a name no Secret of namespace "${id.split('/')[0]}" has${name === DEFAULT_AUTH_TOKEN.secretName ? '' : ` (the default ${DEFAULT_AUTH_TOKEN.secretName}, unless a Secret there has it)`}`,
          }),
        );
      }
    }
    return issues;
  },
};

/** A Secret whose consumer needs labels on it carries them. */
export const secretLabelsCheck: SystemCheck = {
  name: 'bitwarden-secret-labels',
  description:
    'Every declared Secret whose consumer needs labels (e.g. Argo CD reads `$<secret>:<key>` only from Secrets labelled `app.kubernetes.io/part-of: argocd`) is deployed as a Secret with those labels, which the operator fills in place (it copies no labels itself).',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of served(input)) {
      const secrets = new Map<string, { [key: string]: string }>();
      for (const app of deployed.applications) {
        for (const { object } of app.objects) {
          if (object.apiVersion !== 'v1' || object.kind !== 'Secret') continue;
          const id = `${object.metadata.namespace ?? app.namespace}/${object.metadata.name}`;
          secrets.set(id, object.metadata.labels ?? {});
        }
      }
      for (const [component, contribution] of deployed.run.contributions) {
        for (const secret of contribution.secrets ?? []) {
          const wanted = Object.entries(secret.labels ?? {});
          if (wanted.length === 0) continue;
          const id = `${secret.namespace}/${secret.name}`;
          const labels = secrets.get(id);
          const absent = wanted.filter(([key, value]) => labels?.[key] !== value);
          if (absent.length === 0) continue;
          issues.push(
            error({
              code: 'bitwarden-secret-labels',
              path: settingsPath(deployed.cluster, component),
              value: id,
              message: `${component} needs label(s) ${absent.map(([key, value]) => `${key}: ${value}`).join(', ')} on Secret ${id} on cluster "${deployed.cluster.name}", but ${labels === undefined ? 'no Secret object carries them (the operator creates its Secrets without labels)' : 'the deployed Secret lacks them'}`,
              expected: 'the Secret deployed with those labels, for the operator to fill',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Both sides of an OIDC client read one value: the OIDC provider's Secret maps the client's key to
 * the same Bitwarden secret as the client's own Secret.
 */
export const oidcClientSecretCheck: SystemCheck = {
  name: 'bitwarden-oidc-client-secret',
  description:
    "Every OIDC client secret reaches the OIDC provider from the same Bitwarden secret as the client's own Secret (the provider's client-secret Secret maps the client id to the same id).",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of served(input)) {
      const where = deployed.run.facts['oidc-provider']?.clientSecrets;
      if (where === undefined) continue;
      const byId = new Map<string, KubeObject>();
      for (const { object } of bitwardenSecrets(deployed)) {
        byId.set(`${object.metadata.namespace}/${String(record(object.spec).secretName)}`, object);
      }
      const provider = byId.get(`${where.namespace}/${where.name}`);
      for (const [component, contribution] of deployed.run.contributions) {
        for (const client of contribution.oidcClients ?? []) {
          if (client.secret === undefined) continue;
          const own = byId.get(`${client.secret.namespace}/${client.secret.name}`);
          const ownId = own === undefined ? undefined : idsOf(own).get(client.secret.key);
          const providerId = provider === undefined ? undefined : idsOf(provider).get(client.id);
          // An unmapped client secret is reported where the inventory is read (render).
          if (ownId === undefined || ownId === providerId) continue;
          issues.push(
            error({
              code: 'bitwarden-oidc-client-secret',
              path: settingsPath(deployed.cluster, component),
              value: client.id,
              message:
                providerId === undefined
                  ? `OIDC client "${client.id}" of ${component} on cluster "${deployed.cluster.name}": no BitwardenSecret fills ${where.namespace}/${where.name}:${client.id}, where the OIDC provider reads it`
                  : `OIDC client "${client.id}" of ${component} on cluster "${deployed.cluster.name}" reads Bitwarden secret ${ownId}, the OIDC provider ${providerId}: the two sides would not agree`,
              expected: 'both Secrets filled from the same Bitwarden secret',
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** `<namespace>/<name>` of the Secrets the inventory maps on a cluster (platform-wide and its own). */
function inventoried(
  input: Parameters<SystemCheck['check']>[0],
  deployed: DeployedCluster,
): Set<string> {
  const out = new Set<string>();
  const settingsOf = (components: unknown): Json =>
    record(record(record(components)[COMPONENT]).secrets);
  for (const secrets of [
    settingsOf(input.platform.definition.components),
    settingsOf(deployed.cluster.definition.components),
  ]) {
    for (const [id, keys] of Object.entries(secrets)) {
      if (Object.values(record(keys)).some((value) => typeof value === 'string')) out.add(id);
    }
  }
  return out;
}

/**
 * Every declared Secret the inventory maps gets its BitwardenSecret: in its namespace, filling a
 * Secret of its name. Two Secrets of one component with one name in two namespaces (two
 * applications, each with a volume `data`: `data-restic`) once shared one chart entry, and one
 * of them was never made.
 */
export const secretsMadeCheck: SystemCheck = {
  name: 'bitwarden-secrets-made',
  description:
    'Every Secret a component declares to the secrets provider, mapped in the inventory, is deployed as a BitwardenSecret in its namespace that fills a Secret of its name.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of served(input)) {
      const mapped = inventoried(input, deployed);
      const made = new Set(
        bitwardenSecrets(deployed).map(
          ({ object }) =>
            `${object.metadata.namespace ?? ''}/${String(record(object.spec).secretName)}`,
        ),
      );
      for (const [component, contribution] of deployed.run.contributions) {
        for (const secret of contribution.secrets ?? []) {
          const id = `${secret.namespace}/${secret.name}`;
          if (!mapped.has(id) || made.has(id)) continue;
          issues.push(
            error({
              code: 'bitwarden-secrets-made',
              path: settingsPath(deployed.cluster, component),
              value: id,
              message: `${component} reads Secret ${id} on cluster "${deployed.cluster.name}", which the inventory maps, but no BitwardenSecret in ${secret.namespace} fills it: its pods would wait for it forever`,
              expected: `a BitwardenSecret ${id} (secretName ${secret.name}) in ${component}'s chart`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/**
 * Bitwarden grants a machine account whole projects, and an entry is in one project: a
 * production cluster that maps an entry a cluster of another environment maps too can be kept
 * apart from it by no project layout. That cluster's machine account reads the entry, and its
 * access token sits in a Secret of every namespace with a BitwardenSecret there: whoever reads
 * one (a development cluster's admin, a namespace's reader, an etcd backup of it) reads the
 * production value (its OIDC keys, the restic password of its backups, its S3 credentials).
 */
export const productionEntriesCheck: SystemCheck = {
  name: 'bitwarden-production-entries',
  description:
    "(a warning) No production cluster maps a Bitwarden entry that a cluster of another environment maps too: Bitwarden grants machine accounts whole projects and an entry is in one, so the other cluster's machine account, whose token is a Secret on that cluster, would read production's value.",
  check(input) {
    const issues: Issue[] = [];
    const clusters = served(input);
    // Bitwarden entry id -> where each cluster maps it (`<namespace>/<secret>:<key>`).
    const entriesOf = new Map<string, Map<string, string[]>>();
    for (const deployed of clusters) {
      const entries = new Map<string, string[]>();
      for (const { secret, key, id } of mappedKeys(deployed)) {
        entries.set(id, [...(entries.get(id) ?? []), `${secret}:${key}`]);
      }
      entriesOf.set(deployed.cluster.name, entries);
    }
    for (const deployed of clusters) {
      if (deployed.cluster.environment !== 'production') continue;
      const own = entriesOf.get(deployed.cluster.name) ?? new Map<string, string[]>();
      const others = clusters.filter((other) => other.cluster.environment !== 'production');
      const sharers = new Set<string>();
      const shared: string[] = [];
      for (const [id, uses] of own) {
        const sharing = others
          .filter((other) => entriesOf.get(other.cluster.name)?.has(id))
          .map((other) => other.cluster.name);
        if (sharing.length === 0) continue;
        for (const name of sharing) sharers.add(name);
        shared.push(...uses);
      }
      if (shared.length === 0) continue;
      shared.sort();
      const names = [...sharers].sort();
      const sharing = clusterList(names);
      const { name } = deployed.cluster;
      // What to add under the cluster's own components.bitwarden-sm, grouped by Secret: only the
      // keys the inventory maps, not those that take their id from another mapping (the OIDC
      // provider's copy of a client's secret), which the inventory refuses (bitwarden-divergent).
      const written = inventoryKeys(input, deployed);
      const bySecret = new Map<string, string[]>();
      const listed = shared.filter((entry) => written.has(entry));
      const following = shared.length - listed.length;
      for (const use of listed) {
        const at = use.lastIndexOf(':');
        const secret = use.slice(0, at);
        bySecret.set(secret, [...(bySecret.get(secret) ?? []), use.slice(at + 1)]);
      }
      const lines = ['secrets:'];
      for (const [secret, keys] of bySecret) {
        lines.push(`  ${secret}:`, ...keys.map((key) => `    ${key}: <id of ${name}'s entry>`));
      }
      issues.push(
        warning({
          code: 'bitwarden-production-entries',
          path: settingsPath(deployed.cluster, COMPONENT),
          message: `production cluster "${name}" fills ${shared.length} Secret key${shared.length === 1 ? '' : 's'} from the Bitwarden entries ${sharing} ${names.length === 1 ? 'maps' : 'map'} too: Bitwarden grants a machine account whole projects and an entry is in one project, so the machine account${names.length === 1 ? '' : 's'} of ${sharing} ${names.length === 1 ? 'reads' : 'read'} these production values, and so does whoever reads ${names.length === 1 ? 'its access token (a Secret on that cluster)' : 'their access tokens (Secrets on those clusters)'}`,
          expected: `entries of production's own, in a Bitwarden project that only ${name}'s machine account reads (its runbook's step "Read the Bitwarden machine account token"): create one there per key, with a new value (the shared entries keep the old one, which ${sharing} still ${names.length === 1 ? 'reads' : 'read'}; clusters/${name}/rotating-secrets.md says what changing each takes), and map their ids under the components.bitwarden-sm of the cluster "${name}", which overrides the top-level mapping key by key${following === 0 ? '' : ` (${following} more follow${following === 1 ? 's' : ''} these: the OIDC provider's copy of a client secret takes its client's entry)`}:\n${lines.join('\n')}`,
        }),
      );
    }
    return issues;
  },
};

/**
 * A Bitwarden entry fills a key on every cluster whose BitwardenSecret maps it, with its one
 * value (the operator copies the entry's value into each Secret, sm-operator 2.1.0
 * `ApplySecretMap`). Where the definition decides what a key must hold per cluster (a volume's
 * restic repository names its cluster: `SecretRequirement.values`), clusters needing different
 * values cannot share the entry: whatever it holds, one of them reads the other's value (backs
 * up into the other's restic repository, where retention prunes both and a new cluster's
 * volume is filled from the other's data).
 */
export const entryValuesCheck: SystemCheck = {
  name: 'bitwarden-entry-values',
  description:
    'No Bitwarden entry fills a key on clusters that need different values in it (a volume’s restic repository names its cluster): an entry holds one value, so one of the clusters would read the other’s.',
  check(input) {
    const issues: Issue[] = [];
    // Bitwarden entry id -> each use, in cluster order: the cluster, the Secret's key and the
    // value the cluster needs there.
    const uses = new Map<
      string,
      { deployed: DeployedCluster; secret: string; key: string; value: string }[]
    >();
    for (const deployed of served(input)) {
      const needed = new Map<string, string>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const secret of contribution.secrets ?? []) {
          for (const [key, value] of Object.entries(secret.values ?? {})) {
            needed.set(`${secretId(secret)}:${key}`, value);
          }
        }
      }
      for (const { secret, key, id } of mappedKeys(deployed)) {
        const value = needed.get(`${secret}:${key}`);
        if (value === undefined) continue;
        uses.set(id, [...(uses.get(id) ?? []), { deployed, secret, key, value }]);
      }
    }
    for (const [id, list] of uses) {
      const first = list[0];
      if (first === undefined) continue;
      for (const use of list.slice(1)) {
        if (use.value === first.value) continue;
        const shown = (value: string) => shownValue(value);
        const { name } = use.deployed.cluster;
        issues.push(
          error({
            code: 'bitwarden-entry-values',
            path: settingsPath(use.deployed.cluster, COMPONENT, 'secrets', use.secret, use.key),
            value: id,
            message: `fills key ${use.key} of Secret ${use.secret} on cluster "${name}", which needs ${shown(use.value)} there, and on cluster "${first.deployed.cluster.name}", which needs ${shown(first.value)}: a Bitwarden entry holds one value and the operator copies it into both Secrets, so one of the clusters reads the other's`,
            expected: `an entry of cluster "${name}"'s own holding ${shown(use.value)}, its id mapped under the components.bitwarden-sm of the cluster "${name}" (which overrides the top-level mapping key by key):\nsecrets:\n  ${use.secret}:\n    ${use.key}: <id of ${name}'s entry>`,
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * A value a key must hold, as a message shows it: as it is on one line, a multi-line one (a CA's
 * PEM) by its first line and the SHA-256 of the whole, so that two of them are told apart without
 * a page of base64 in the message.
 */
function shownValue(value: string): string {
  if (!value.includes('\n')) return value;
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `the ${value.split('\n').length}-line text beginning "${value.split('\n')[0]}" (sha256 ${digest}…)`;
}

/**
 * A key its component declares as the cluster's own (`SecretRequirement.ownPerCluster`: Authelia's
 * OIDC signing key) filled from one Bitwarden entry on two clusters: whoever reads it on one (that
 * cluster's machine account and its token, an admin there) signs what the other cluster's readers
 * accept as their own (Argo CD v3.4.4 accepts an ID token whose issuer, audience and signature
 * match: admin on the other cluster). A production cluster sharing with another environment is
 * `bitwarden-production-entries`' to report; this check compares the clusters of one side (the
 * development and staging clusters among themselves, the production ones among themselves).
 */
export const ownEntriesCheck: SystemCheck = {
  name: 'bitwarden-own-entry',
  description:
    "(a warning) No key its component declares as the cluster's own (a signing key) is filled from a Bitwarden entry another cluster maps too: whoever reads it there signs what this cluster accepts.",
  check(input) {
    const issues: Issue[] = [];
    // entry id -> each use of it, in cluster order, with why the key must be the cluster's own
    const uses = new Map<
      string,
      { deployed: DeployedCluster; secret: string; key: string; why: string | undefined }[]
    >();
    for (const deployed of served(input)) {
      const own = new Map<string, string>();
      for (const contribution of deployed.run.contributions.values()) {
        for (const secret of contribution.secrets ?? []) {
          for (const [key, why] of Object.entries(secret.ownPerCluster ?? {})) {
            own.set(`${secretId(secret)}:${key}`, why);
          }
        }
      }
      for (const { secret, key, id } of mappedKeys(deployed)) {
        uses.set(id, [
          ...(uses.get(id) ?? []),
          { deployed, secret, key, why: own.get(`${secret}:${key}`) },
        ]);
      }
    }
    const reported = new Set<string>();
    const production = (deployed: DeployedCluster) => deployed.cluster.environment === 'production';
    for (const list of uses.values()) {
      const clusters = [...new Set(list.map((use) => use.deployed))];
      for (const use of list) {
        if (use.why === undefined) continue;
        const { name } = use.deployed.cluster;
        const place = `${name} ${use.secret}:${use.key}`;
        if (reported.has(place)) continue;
        // Production and another environment on one entry: bitwarden-production-entries' to say
        // (at production); here, the clusters of the same side.
        const others = clusters
          .filter(
            (deployed) =>
              deployed !== use.deployed && production(deployed) === production(use.deployed),
          )
          .map((deployed) => deployed.cluster.name)
          .sort(compareStrings);
        if (others.length === 0) continue;
        reported.add(place);
        issues.push(
          warning({
            code: 'bitwarden-own-entry',
            path: settingsPath(use.deployed.cluster, COMPONENT, 'secrets', use.secret, use.key),
            message: `fills key ${use.key} of Secret ${use.secret} on cluster "${name}" from a Bitwarden entry that ${clusterList(others)} ${others.length === 1 ? 'maps' : 'map'} too: ${use.why}, so whoever reads that entry through ${others.length === 1 ? 'that cluster' : 'those clusters'} (${others.length === 1 ? 'its machine account and the token it keeps' : 'their machine accounts and the tokens they keep'}, an admin there) signs what cluster "${name}" accepts as its own`,
            expected: `an entry of cluster "${name}"'s own, with a new value, in a Bitwarden project only its machine account reads, its id mapped under the components.bitwarden-sm of the cluster "${name}" (which overrides the top-level mapping key by key):\nsecrets:\n  ${use.secret}:\n    ${use.key}: <id of ${name}'s entry>`,
          }),
        );
      }
    }
    return issues;
  },
};

export const bitwardenChecks: readonly SystemCheck[] = [
  authTokenCheck,
  authTokenNameCheck,
  secretLabelsCheck,
  oidcClientSecretCheck,
  secretsMadeCheck,
  productionEntriesCheck,
  entryValuesCheck,
  ownEntriesCheck,
];

/** Each BitwardenSecret among `objects`, by the Secret it fills (`<namespace>/<secretName>`). */
function maps(
  objects: readonly ChangedObject[],
): Map<string, { chart: string; namespace: string; name: string; entries: Map<string, string> }> {
  const out = new Map<
    string,
    { chart: string; namespace: string; name: string; entries: Map<string, string> }
  >();
  for (const { chart, object } of objects) {
    const kind = groupKindOf(object);
    if (kind.group !== BITWARDEN_GROUP || kind.kind !== BITWARDEN_KIND) continue;
    const spec = record(object.spec);
    const namespace = object.metadata.namespace ?? 'default';
    const name = typeof spec.secretName === 'string' ? spec.secretName : object.metadata.name;
    const entries = new Map<string, string>();
    for (const item of Array.isArray(spec.map) ? spec.map : []) {
      const { secretKeyName, bwSecretId } = record(item);
      if (typeof secretKeyName === 'string' && typeof bwSecretId === 'string') {
        entries.set(secretKeyName, bwSecretId);
      }
    }
    out.set(secretId({ namespace, name }), { chart, namespace, name, entries });
  }
  return out;
}

/**
 * A key of a Secret the last build deployed mapped to another Bitwarden entry, or a key added to
 * it: the operator (sm-operator 2.1.0) syncs a BitwardenSecret when Bitwarden reports a change
 * of its entries since the last sync, never for a new `map` (the rotation guide's section
 * `MAPPED_ANEW`), so the Secret keeps the old entry's value, or lacks the key, while the
 * BitwardenSecret reports Synced. A warning per key: the sync it takes is a runbook step.
 */
export const mapChangedCheck: ChangeCheck = {
  name: 'bitwarden-map-changed',
  description:
    'A key of a Secret the last build deployed keeps the Bitwarden entry it was mapped to, and such a Secret gets no new key, or the build warns: the operator syncs a BitwardenSecret only when Bitwarden reports a change of an entry, never for a new map, so the Secret keeps the old value (or lacks the key) while its BitwardenSecret reports Synced.',
  check({ cluster, before, after }) {
    const was = maps(before);
    const issues: Issue[] = [];
    for (const [id, now] of maps(after)) {
      const old = was.get(id);
      if (old === undefined) continue;
      // The guide by its pattern: one change on several clusters reads once.
      const guide = 'clusters/<cluster>/rotating-secrets.md';
      const sync = `once Argo CD synced this change, sync the BitwardenSecret of ${id} by hand (${guide}, "${MAPPED_ANEW}")`;
      for (const [key, entry] of [...now.entries].sort(([a], [b]) => compareStrings(a, b))) {
        const previous = old.entries.get(key);
        if (previous === entry) continue;
        issues.push(
          warning({
            code: 'bitwarden-map-changed',
            path: settingsPath(cluster, COMPONENT, 'secrets', id, key),
            output: `charts/${now.chart}`,
            value: entry,
            message:
              previous === undefined
                ? `fills key ${key}, new to Secret ${id}, which the last build deployed on cluster "${cluster.name}": the operator syncs a BitwardenSecret when Bitwarden reports a change of its entries, never for a new map, so the key does not come (what reads it fails) while the BitwardenSecret reports Synced`
                : `now fills key ${key} of Secret ${id} on cluster "${cluster.name}", in place of the entry ${previous}, which the last build mapped: the operator syncs a BitwardenSecret when Bitwarden reports a change of its entries, never for a new map, so the Secret keeps the old entry's value while the BitwardenSecret reports Synced`,
            expected:
              previous === undefined
                ? sync
                : `${sync}; where the new entry holds another value, that is a rotation of ${key}: what it takes is under "Entry \`${previous}\`" there`,
          }),
        );
      }
    }
    return issues;
  },
};

/** The organization the BitwardenSecrets among `objects` name (the first's), if any. */
function organizationOf(objects: readonly ChangedObject[]): string | undefined {
  for (const { object } of objects) {
    const kind = groupKindOf(object);
    if (kind.group !== BITWARDEN_GROUP || kind.kind !== BITWARDEN_KIND) continue;
    const id = record(object.spec).organizationId;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

/** The Bitwarden server the operator's values point at, in words; `undefined` where none. */
function serverOf(values: Values | undefined): string | undefined {
  const settings = record(record(values?.[SM_OPERATOR_CHART_NAME]).settings);
  if (typeof settings.bwApiUrlOverride === 'string') {
    return `the self-hosted server ${settings.bwApiUrlOverride}`;
  }
  return typeof settings.cloudRegion === 'string'
    ? `Bitwarden's ${settings.cloudRegion} cloud`
    : undefined;
}

/**
 * The operator moved to another Bitwarden organization or server against the last build: the
 * machine account's access token in every namespace's hand-made Secret is the old one's, which
 * the new organization or server does not know, and the inventory's entry ids name the old
 * organization's entries. sm-operator (v2.0.0 `bitwardensecret_controller.go`) returns without
 * touching a Secret when its pull fails: every BitwardenSecret fails its syncs, and the Secrets
 * keep their last values, so no rotation reaches the cluster any more.
 */
export const accountChangedCheck: ChangeCheck = {
  name: 'bitwarden-account-changed',
  description:
    "The secrets operator keeps the Bitwarden organization and server the last build deployed, or the build says what moves with them: the machine account's access token in every namespace and the inventory's entry ids belong to the old organization, so every sync fails and the Secrets keep their last values.",
  check({ cluster, before, after, beforeValues, afterValues }) {
    const was = {
      organization: organizationOf(before),
      server: serverOf(beforeValues.get(SM_OPERATOR_CHART_NAME)),
    };
    const now = {
      organization: organizationOf(after),
      server: serverOf(afterValues.get(SM_OPERATOR_CHART_NAME)),
    };
    const organization =
      was.organization !== undefined &&
      now.organization !== undefined &&
      was.organization !== now.organization;
    const server =
      was.server !== undefined && now.server !== undefined && was.server !== now.server;
    if (!organization && !server) return [];
    const moves = [
      ...(server ? [`from ${was.server} to ${now.server}`] : []),
      ...(organization ? [`from the organization ${was.organization} to ${now.organization}`] : []),
    ].join(', and ');
    return [
      warning({
        code: 'bitwarden-account-changed',
        path: settingsPath(cluster, COMPONENT, organization ? 'organizationId' : 'cloudRegion'),
        output: `charts/${SM_OPERATOR_CHART_NAME}`,
        value: organization ? now.organization : now.server,
        message: `moves the secrets operator of cluster "${cluster.name}" ${moves}, which the last build deployed: the machine account's access token in every namespace's hand-made Secret belongs to the old ${organization ? 'organization' : 'server'}, and the inventory's entry ids name its entries, so every BitwardenSecret fails its syncs and the operator leaves the Secrets as they are (sm-operator returns without touching a Secret when its pull fails): what is rotated from then on never reaches the cluster`,
        expected: `before Argo CD syncs the change: the entries in the new ${organization ? 'organization' : 'server'} (new ids, mapped in the inventory), a machine account there with access to their projects, and its access token in each namespace's Secret as clusters/<cluster>/rotating-secrets.md says ("${TOKEN_SECTION}"); then sync every BitwardenSecret by hand ("${MAPPED_ANEW}" there)`,
      }),
    ];
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const bitwardenChanges: readonly ChangeCheck[] = [mapChangedCheck, accountChangedCheck];
