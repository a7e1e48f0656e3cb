// clusters/<cluster>/rotating-secrets.md: what happens when a value changes in Bitwarden, entry by
// entry: the Secrets the entry fills, what reads each and how, and the commands that make the
// operator sync now and restart exactly the workloads that read the value only at start. Derived
// from the inventory match and what the other components declare about their Secrets
// (`SecretRequirement.readers`/`rotation`, the OIDC provider's `clientSecrets.readers`). Pure.
//
// The operator (sm-kubernetes, controller internal/controller/bitwardensecret_controller.go):
// a BitwardenSecret is synced at most once per refresh interval (`Reconcile` returns early while
// `status.lastSuccessfulSyncTime` + interval is ahead, and requeues after the interval); a sync
// with changes patches the existing Secret's `data` in place (`client.MergeFrom`), creating it
// only when missing. Its status update is a watch event (no predicate filters it) that queues the
// object again at once; controller-runtime 0.23's priority queue, on by default, keeps one entry
// per object with the earliest time (`lockedAddWithOpts`), so the `RequeueAfter` is merged into
// it, and that pass returns early without requeueing: after a sync with changes, the next comes
// with the informer resync (10 hours). The last sync time lives in the status, so restarting the
// operator syncs only what was synced more than the interval ago; clearing it syncs at once (a
// zero time passes the check, and the status update is itself a watch event the controller
// reconciles).
import {
  applicationName,
  applicationRetry,
  boundedWait,
  clusterList,
  compareStrings,
  descriptorSyncOptions,
  dropLastApplied,
  LAST_APPLIED_ANNOTATION,
  type PeerContribution,
  pauseAutoSyncCommands,
  READ_ALONE_NOTE,
  type ResolvedCluster,
  type RotationProcedure,
  readCommand,
  resumeAutoSyncCommands,
  rootApplicationName,
  rootManualSync,
  type SecretReader,
  type SecretRequirement,
  type ShellRead,
  shellQuote,
  syncOperationPatch,
  WAIT_SECONDS,
} from '@homelab/core';
import { type MappedSecret, secretId } from './inventory.js';
import type { ResolvedBitwardenSettings } from './settings.js';

/** One Secret key an entry fills, with what reads it. */
export interface FilledKey {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  /** The component whose chart holds its BitwardenSecret. */
  readonly owner: string;
  readonly readers: readonly SecretReader[] | undefined;
  readonly note: string | undefined;
  /**
   * The declaring component's procedure for a new value, with the Application it runs around and
   * the sync options that Application syncs with (its descriptor's: what argocd-apps writes).
   */
  readonly procedure:
    | {
        readonly steps: RotationProcedure;
        readonly application: string;
        readonly syncOptions: readonly string[];
      }
    | undefined;
}

/** One Bitwarden entry and every Secret key it fills on the cluster. */
export interface RotationEntry {
  readonly id: string;
  readonly fills: readonly FilledKey[];
  /** The other clusters whose BitwardenSecrets read the entry (a new value reaches them too). */
  readonly alsoOn?: readonly string[];
}

/** What the declarations say about a Secret: its readers and per-key notes, merged. */
function declarations(
  secret: MappedSecret,
  others: readonly PeerContribution[],
  cluster: string,
): {
  readers: SecretReader[] | undefined;
  rotation: { [key: string]: string };
  procedures: { [key: string]: NonNullable<FilledKey['procedure']> };
} {
  const found: { peer: PeerContribution; declared: SecretRequirement }[] = others.flatMap((peer) =>
    (peer.contribution.secrets ?? [])
      .filter(
        (declared) => declared.namespace === secret.namespace && declared.name === secret.name,
      )
      .map((declared) => ({ peer, declared })),
  );
  let readers: SecretReader[] | undefined;
  const rotation: { [key: string]: string } = {};
  const procedures: { [key: string]: NonNullable<FilledKey['procedure']> } = {};
  for (const { peer, declared } of found) {
    if (declared.readers !== undefined) readers = [...(readers ?? []), ...declared.readers];
    Object.assign(rotation, declared.rotation ?? {});
    const application = applicationName(
      { name: cluster },
      peer.contribution.application?.name ?? peer.component,
    );
    const syncOptions = descriptorSyncOptions(peer.contribution.application);
    for (const [key, steps] of Object.entries(declared.procedures ?? {})) {
      procedures[key] = { steps, application, syncOptions };
    }
  }
  for (const peer of others) {
    const where = peer.contribution.facts?.['oidc-provider']?.clientSecrets;
    if (where?.namespace === secret.namespace && where.name === secret.name) {
      if (where.readers !== undefined) readers = [...(readers ?? []), ...where.readers];
    }
  }
  return { readers, rotation, procedures };
}

/** Every Bitwarden entry the cluster's BitwardenSecrets read, with the Secret keys it fills. */
export function rotationEntries(
  secrets: readonly MappedSecret[],
  others: readonly PeerContribution[],
  cluster: string,
): RotationEntry[] {
  const byId = new Map<string, FilledKey[]>();
  for (const secret of secrets) {
    const { readers, rotation, procedures } = declarations(secret, others, cluster);
    for (const [key, id] of secret.ids) {
      const fills = byId.get(id) ?? [];
      fills.push({
        namespace: secret.namespace,
        name: secret.name,
        key,
        owner: secret.owner,
        readers: readers?.filter(
          (reader) => reader.keys === undefined || reader.keys.includes(key),
        ),
        note: rotation[key],
        procedure: procedures[key],
      });
      byId.set(id, fills);
    }
  }
  const order = (fill: FilledKey) => `${secretId(fill)}\u0000${fill.key}`;
  return [...byId.entries()]
    .map(([id, fills]) => ({
      id,
      fills: fills.sort((a, b) => compareStrings(order(a), order(b))),
    }))
    .sort((a, b) => compareStrings(order(a.fills[0] as FilledKey), order(b.fills[0] as FilledKey)));
}

/** The procedures an entry's keys need around the change of its value. */
function entryProcedures(entry: RotationEntry): NonNullable<FilledKey['procedure']>[] {
  return entry.fills.flatMap((fill) => (fill.procedure ? [fill.procedure] : []));
}

/** `Cluster "staging"` from `cluster "staging"`. */
function capitalised(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** `deployment/authelia`, as kubectl names a workload. */
export function workloadRef(reader: SecretReader): string {
  return `${reader.kind.toLowerCase()}/${reader.name}`;
}

/**
 * The command that makes the operator sync a BitwardenSecret now: without a last sync time it
 * syncs every entry at its next reconcile. Its conditions go too: sm-kubernetes never removes
 * `FailedSync` once set and leaves `SuccessfulSync` True after a later failure (`LogError` sets
 * only `FailedSync`), so without them the health check (health.ts) reads what this sync does,
 * Degraded with the operator's message when it fails.
 */
export function forceSyncCommand(namespace: string, name: string): string {
  return `kubectl -n ${shellQuote(namespace)} patch bitwardensecret ${shellQuote(name)} --subresource=status --type=merge -p '{"status":{"lastSuccessfulSyncTime":null,"conditions":null}}'`;
}

/** The heading of the rotation guide's section on keys mapped anew (`bitwarden-map-changed` names it). */
export const MAPPED_ANEW = 'When the definition maps a key anew';

/** The machine account's access token, read into the operator's shell (never into Git or a file). */
export const TOKEN_READ: ShellRead = {
  variable: 'BWS_ACCESS_TOKEN',
  prompt: 'Bitwarden machine account access token',
};

/**
 * Waits until the operator synced a BitwardenSecret again (its last sync time is back), 5 minutes
 * at most: a sync that fails leaves the time empty (the operator sets it only on success), so an
 * unbounded wait would spin silently. On giving up it prints the BitwardenSecret's conditions,
 * where the operator says why, and fails.
 */
export function waitSyncCommand(namespace: string, name: string): string {
  const get = `kubectl -n ${shellQuote(namespace)} get bitwardensecret ${shellQuote(name)}`;
  return boundedWait({
    condition: `[ -n "$(${get} -o jsonpath='{.status.lastSuccessfulSyncTime}')" ]`,
    seconds: WAIT_SECONDS.secretSync,
    interval: 5,
    message: `${namespace}/${name} not synced; see its conditions below and the sm-operator logs`,
    diagnose: `${get} -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\\n"}{end}' >&2`,
  });
}

/** The restart of a workload that reads at start, and the wait for it. */
export function restartCommands(namespace: string, reader: SecretReader): string[] {
  const ref = workloadRef(reader);
  return [
    `kubectl -n ${shellQuote(namespace)} rollout restart ${ref}`,
    `kubectl -n ${shellQuote(namespace)} rollout status ${ref} --timeout=10m`,
  ];
}

/**
 * The command that prints every key the definition maps into a Secret and the Secret lacks, one
 * line each (nothing when it holds them all). The operator reports none of these: it writes the
 * keys of the entries Bitwarden returned and maps nothing else, with `SuccessfulSync` True.
 */
export function missingKeysCommand(
  namespace: string,
  name: string,
  keys: readonly string[],
): string {
  const where = `${namespace}/${name}`;
  const checks = [...keys]
    .sort(compareStrings)
    .map((key) => `{{if not (index .data "${key}")}}${where}: no key ${key}{{"\\n"}}{{end}}`)
    .join('');
  return `kubectl -n ${shellQuote(namespace)} get secret ${shellQuote(name)} -o go-template='{{if not .data}}${where}: no keys{{"\\n"}}{{else}}${checks}{{end}}'`;
}

/** How the rotation guide stops and resumes the GitOps controller around a procedure. */
export interface GitopsControl {
  /** Namespace of the Applications. */
  readonly namespace: string;
  /** The root Application, holding every other. */
  readonly root: string;
  /** The merge patch that puts the Applications' automated sync policy back. */
  readonly automated: string;
  /** Whether their automated sync prunes (a sync by hand does as it would). */
  readonly prune: boolean;
  /** Whether their automated sync heals drift. */
  readonly selfHeal: boolean;
}

/** Argo CD's Applications of `cluster`, as the guide pauses and resumes them. */
export function gitopsControl(cluster: ResolvedCluster, namespace: string): GitopsControl {
  const { prune, selfHeal } = cluster.profile.autoSync;
  return {
    namespace,
    root: rootApplicationName(cluster),
    automated: JSON.stringify({ spec: { syncPolicy: { automated: { prune, selfHeal } } } }),
    prune,
    selfHeal,
  };
}

/** A numbered step of the guide: its text, then its commands indented under it. */
function step(n: number, text: string, commands: readonly string[]): string[] {
  return [
    `${n}. ${text}`,
    '',
    '   ```sh',
    ...commands.map((command) => `   ${command}`),
    '   ```',
    '',
  ];
}

/**
 * The sections of an entry one of whose keys has a procedure: the controller paused, the
 * declaring components' `before`, the change in Bitwarden with the sync, their `after`, the
 * controller syncing and resuming, their `done`.
 */
function procedureLines(
  procedures: readonly NonNullable<FilledKey['procedure']>[],
  syncs: readonly string[],
  restarts: readonly string[],
  gitops: GitopsControl | undefined,
): string[] {
  const lines: string[] = [
    'Its value cannot simply be synced: change it with these steps, in order, each once the one',
    'before succeeded.',
    '',
    ...procedures.flatMap(({ steps }) => steps.why.flatMap((paragraph) => [paragraph, ''])),
  ];
  // Each Application once, with the options it syncs with (Argo CD syncs with the operation's
  // options only: a bare `"sync":{}` would apply client-side where it says ServerSideApply=true)
  // and the retry argocd-apps gives every Application (a patched-in operation retries only by its
  // own `retry`).
  const applications = [
    ...new Map(
      procedures.map((procedure) => [procedure.application, procedure.syncOptions]),
    ).entries(),
  ].map(([name, syncOptions]) => ({ name, syncOptions }));
  const ns = gitops === undefined ? '' : shellQuote(gitops.namespace);
  let n = 0;
  if (gitops !== undefined) {
    lines.push(
      ...step(
        ++n,
        `Turn Argo CD’s auto-sync off, on the root Application \`${gitops.root}\` first (its self-heal would put the other back), and end the sync each may be running (Argo CD retries a failed sync without end whatever the policy says, and each retry applies the revision again), so that it does not undo the next step; the last line of each waits until it ended:`,
        [gitops.root, ...applications.map(({ name }) => name)].flatMap((application) =>
          pauseAutoSyncCommands(gitops.namespace, application),
        ),
      ),
    );
  }
  for (const { steps } of procedures) {
    lines.push(...step(++n, steps.before.text, steps.before.commands));
  }
  lines.push(
    ...step(
      ++n,
      `Only now change the entry in Bitwarden to ${procedures.map(({ steps }) => steps.value).join('; ')}. Then sync now and wait for the operator:`,
      [...syncs, ...restarts],
    ),
  );
  for (const { steps } of procedures) {
    lines.push(...step(++n, steps.after.text, steps.after.commands));
  }
  if (gitops !== undefined) {
    lines.push(
      ...step(
        ++n,
        'Have Argo CD sync what was stopped (it puts back what the steps above changed), then turn auto-sync back on, the root Application last, synced by hand first too (Argo CD never syncs again by itself a revision whose last sync was ended):',
        [
          ...applications.flatMap(({ name, syncOptions }) => [
            `kubectl -n ${ns} patch application ${shellQuote(name)} --type merge -p ${shellQuote(syncOperationPatch('rotating-secrets', { syncOptions, prune: gitops.prune, retry: applicationRetry() }))}`,
            `kubectl -n ${ns} wait --for=jsonpath='{.status.sync.status}'=Synced application ${shellQuote(name)} --timeout=10m`,
          ]),
          ...applications.map(
            ({ name }) =>
              `kubectl -n ${ns} patch application ${shellQuote(name)} --type merge -p ${shellQuote(gitops.automated)}`,
          ),
          ...resumeAutoSyncCommands(
            gitops.namespace,
            gitops.root,
            gitops,
            'rotating-secrets',
            rootManualSync(gitops.prune),
          ),
        ],
      ),
    );
  }
  for (const { steps } of procedures) {
    lines.push(...step(++n, steps.done.text, steps.done.commands));
  }
  return lines;
}

const PICKS_UP: { readonly [R in SecretReader['reads']]: string } = {
  start: 'reads it once, at start: restarted below',
  use: 'reads it again at use: nothing to do',
  run: 'each run is a new pod: the next run has it',
};

function entrySection(entry: RotationEntry, gitops: GitopsControl | undefined): string[] {
  const lines: string[] = [`## Entry \`${entry.id}\``, '', 'It fills:', ''];
  for (const fill of entry.fills) {
    lines.push(`- key \`${fill.key}\` of Secret \`${secretId(fill)}\` (${fill.owner})`);
  }
  const notes = [...new Set(entry.fills.flatMap((fill) => (fill.note ? [fill.note] : [])))];
  const secrets = [...new Map(entry.fills.map((fill) => [secretId(fill), fill] as const)).values()];
  if (secrets.length > 1) {
    notes.push(
      `Its ${secrets.length} Secrets must hold the same value: what reads one of them fails against what reads another until both have the new one (an OIDC client and its provider: logins fail). Run the commands below together, right after changing the entry: they sync every Secret at once, then restart.`,
    );
  }
  const others = entry.alsoOn ?? [];
  if (others.length > 0) {
    const named = clusterList(others);
    const guides = others
      .map((name) => `clusters/${name}/rotating-secrets.md`)
      .join(others.length === 2 ? ' and ' : ', ');
    const one = others.length === 1;
    const where = `(${guides}, "Entry \`${entry.id}\`")`;
    notes.push(
      `${capitalised(named)} ${one ? 'reads' : 'read'} this entry too, and the operator there writes the new value into ${one ? 'its' : 'their'} Secrets at its next sync: ` +
        (entryProcedures(entry).length > 0
          ? `run this section on ${one ? 'it' : 'each of them'} at the same time ${where}: every step before the change of the value on every cluster first, the value changed once, then the steps after it on each. A cluster left out starts with a value its state was not made with.`
          : `run the commands of this section on ${one ? 'it' : 'each of them'} too ${where}.`),
    );
  }
  if (notes.length > 0) {
    lines.push('', 'Before you change it:', '', ...notes.map((note) => `- ${note}`));
  }
  lines.push('', 'Read by:', '');
  const restarts: { namespace: string; reader: SecretReader }[] = [];
  for (const fill of entry.fills) {
    if (fill.readers === undefined || fill.readers.length === 0) {
      lines.push(
        `- Secret \`${secretId(fill)}\`: no component says what reads it; restart whatever does yourself.`,
      );
      continue;
    }
    for (const reader of fill.readers) {
      const what = reader.reads === 'run' ? reader.name : `\`${workloadRef(reader)}\``;
      const picksUp =
        fill.procedure !== undefined && reader.reads === 'start'
          ? 'reads it once, at start: the steps below start it again with the new value'
          : PICKS_UP[reader.reads];
      lines.push(
        `- ${what} in \`${fill.namespace}\` (Secret \`${fill.name}\`): ${reader.how}; ${picksUp}.`,
      );
      if (
        reader.reads === 'start' &&
        fill.procedure === undefined &&
        !restarts.some(
          (known) =>
            known.namespace === fill.namespace && workloadRef(known.reader) === workloadRef(reader),
        )
      ) {
        restarts.push({ namespace: fill.namespace, reader });
      }
    }
  }
  const syncs = [
    ...secrets.map((fill) => forceSyncCommand(fill.namespace, fill.name)),
    ...secrets.map((fill) => waitSyncCommand(fill.namespace, fill.name)),
  ];
  const restartLines = restarts.flatMap(({ namespace, reader }) =>
    restartCommands(namespace, reader),
  );
  const procedures = entryProcedures(entry);
  if (procedures.length > 0) {
    lines.push('', ...procedureLines(procedures, syncs, restartLines, gitops));
    return lines;
  }
  lines.push(
    '',
    'After changing it in Bitwarden: sync now, wait for the operator, then restart what reads it at start.',
    '',
    '```sh',
    ...syncs,
    ...restartLines,
    '```',
    '',
  );
  return lines;
}

export interface RotationGuideInput {
  readonly header: string;
  readonly cluster: string;
  readonly settings: ResolvedBitwardenSettings;
  readonly entries: readonly RotationEntry[];
  /** The GitOps controller's Applications, when one deploys the cluster. */
  readonly gitops?: GitopsControl;
  /** Namespaces holding the machine account's token (one hand-made Secret each). */
  readonly tokenNamespaces: readonly string[];
  /** The hand-made command that makes the token Secret in a namespace. */
  readonly tokenCommand: (namespace: string) => string;
}

/**
 * What to do when the definition maps keys anew (a key added to a Secret that was synced already,
 * a key pointed at another entry): sm-operator writes a Secret only when Bitwarden's sync call
 * reports changes since the BitwardenSecret's `status.lastSuccessfulSyncTime` (`HasChanges` of
 * `Secrets().Sync(orgId, &lastSync)`, `PullSecretManagerSecretDeltas`); a new `spec.map` is none,
 * so the new key never comes while the BitwardenSecret stays `SuccessfulSync`. An entry the
 * machine account cannot read is missing from that call's answer, and `ApplySecretMap` maps only
 * what came: no error either (internal/controller/bitwardensecret_controller.go).
 */
function mappedAnewSection(entries: readonly RotationEntry[]): string[] {
  const bySecret = new Map<string, { namespace: string; name: string; keys: string[] }>();
  for (const entry of entries) {
    for (const fill of entry.fills) {
      const id = secretId(fill);
      const found = bySecret.get(id) ?? { namespace: fill.namespace, name: fill.name, keys: [] };
      if (!found.keys.includes(fill.key)) found.keys.push(fill.key);
      bySecret.set(id, found);
    }
  }
  const secrets = [...bySecret.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([, secret]) => secret);
  if (secrets.length === 0) return [];
  return [
    `## ${MAPPED_ANEW}`,
    '',
    'The operator writes a Secret only when Bitwarden reports a change since that',
    'BitwardenSecret\u2019s last sync; a new `map` is not one. A key added to a Secret that was',
    'synced already (a new OIDC client\u2019s secret in the provider\u2019s Secret, a new key of a',
    'component) or pointed at another entry therefore does not come (or keeps the old value),',
    'while the BitwardenSecret stays synced, and Healthy in Argo CD: what reads the key fails',
    '(Authelia does not start without a client secret file its configuration names). Nor does',
    'the operator report an entry the machine account cannot read: the key is only missing.',
    'Once Argo CD synced such a change, list what each Secret lacks (nothing printed: all there):',
    '',
    '```sh',
    ...secrets.map((secret) => missingKeysCommand(secret.namespace, secret.name, secret.keys)),
    '```',
    '',
    'For each Secret listed, sync its BitwardenSecret now and wait for it, as above (its entry\u2019s',
    'commands, which also restart what reads it at start). A key still missing after the sync is',
    'an entry the machine account cannot read: give it access to the entry\u2019s project.',
    '',
  ];
}

/** The heading of the guide's section on replacing the machine account's access token. */
export const TOKEN_SECTION = 'The machine account\u2019s access token';

/** The rotation guide of one cluster. */
export function rotationGuide(input: RotationGuideInput): string {
  const { settings } = input;
  const interval = settings.refreshInterval;
  const { secretName, key } = settings.authToken;
  const lines = [
    input.header,
    '',
    `# Rotating a secret on cluster \`${input.cluster}\``,
    '',
    'Every Secret below is filled by the Bitwarden Secrets Manager operator from the entries of',
    'Bitwarden Secrets Manager the definition maps to its keys (`components.bitwarden-sm.secrets`).',
    'When you change the value of an entry in Bitwarden:',
    '',
    `1. The operator is meant to read Bitwarden again for each BitwardenSecret every ${interval} seconds`,
    '   (`components.bitwarden-sm.refreshInterval`) and writes a new value into the existing Secret',
    '   (the same object, new `data`). It does not always: after a sync that changed a Secret, the',
    '   status update it writes queues the BitwardenSecret again at once, the controller\u2019s queue',
    '   merges the periodic requeue into that, and that pass, inside the interval, requeues nothing;',
    '   the next sync then comes with the informer\u2019s resync, up to 10 hours later (operator 2.1.0,',
    '   controller-runtime 0.23 priority queue). The operator skips any sync within the interval',
    '   of the last one, which it keeps in the BitwardenSecret\u2019s status (so a restart of the',
    '   operator does not sync a BitwardenSecret synced less than the interval ago). Clearing it',
    '   makes it sync at once, as the commands below do: run them after every change.',
    '',
    '   ```sh',
    `   ${forceSyncCommand('<namespace>', '<name>')}`,
    '   ```',
    '',
    '   A sync that fails leaves the last sync time empty: `kubectl -n <namespace> describe',
    '   bitwardensecret <name>` shows why (the `FailedSync` condition).',
    '2. What reads the Secret again at use takes the new value by itself (a file of a mounted',
    '   Secret about a minute later, when the kubelet refreshes it). What reads it once at start',
    '   (an environment variable, a file read when it starts) keeps the old value until it is',
    '   restarted: each entry below restarts exactly those, after the sync. What runs as a new pod',
    '   each time (a backup Job) has the new value at its next run.',
    '',
    'Change the value where it is used first when the other side checks it (a database password,',
    'an S3 key): each entry says what else must change with it.',
    '',
  ];
  if (input.entries.length === 0) {
    lines.push('No Secret of this cluster is filled from Bitwarden.', '');
  }
  for (const entry of input.entries) lines.push(...entrySection(entry, input.gitops));
  lines.push(...mappedAnewSection(input.entries));
  if (input.tokenNamespaces.length > 0) {
    lines.push(
      `## ${TOKEN_SECTION}`,
      '',
      `The operator reads the token from the hand-made Secret \`${secretName}\` (key \`${key}\`) of`,
      'each namespace at every sync: nothing restarts. Create a new access token for the machine',
      'account in Bitwarden, put it into every namespace, force a sync of one BitwardenSecret in',
      'each to see it work, then revoke the old token.',
      '',
      `Read the new token into your shell first. ${READ_ALONE_NOTE}`,
      '',
      '```sh',
      readCommand(TOKEN_READ),
      '```',
      '',
      'Then put it into every namespace. The Secret is applied server-side (no copy of it in the',
      `\`${LAST_APPLIED_ANNOTATION}\` annotation); the annotation a client-side apply of an earlier`,
      'runbook left there, with the old token in it, is removed.',
      '',
      '```sh',
      ...input.tokenNamespaces.flatMap((namespace) => [
        input.tokenCommand(namespace),
        dropLastApplied(namespace, 'secret', secretName),
      ]),
      '```',
      '',
    );
    // One BitwardenSecret of each namespace, synced with the new token: a token Bitwarden refuses
    // fails here, with the operator's reason, while the old one still works.
    const synced = input.tokenNamespaces.flatMap((namespace) => {
      const names = input.entries
        .flatMap((entry) => entry.fills)
        .filter((fill) => fill.namespace === namespace)
        .map((fill) => fill.name)
        .sort(compareStrings);
      return names[0] === undefined ? [] : [{ namespace, name: names[0] }];
    });
    if (synced.length > 0) {
      lines.push(
        'Then sync one BitwardenSecret of each namespace with it and wait: a token Bitwarden refuses',
        "stops here with the operator's reason, while the old token still works. Revoke the old",
        "token in Bitwarden only once every wait here ended without a 'timed out' message.",
        '',
        '```sh',
        ...synced.flatMap(({ namespace, name }) => [
          forceSyncCommand(namespace, name),
          waitSyncCommand(namespace, name),
        ]),
        '```',
        '',
      );
    }
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}
