import type {
  BootstrapStep,
  ChartUninstall,
  CrdBundle,
  DiskSelector,
  KubeObject,
  NodeLifecycle,
  NodeRebootWait,
  OutageProcedure,
  ResolvedCluster,
  ResolvedNode,
  RouteAuth,
} from '@homelab/core';
import {
  applicationManualSync,
  atOrAboveFloor,
  boundedWait,
  compareStrings,
  endSyncCommands,
  pauseAutoSyncCommands,
  READ_ALONE_NOTE,
  readCommand,
  record,
  rootManualSync,
  SUPPORTED_TALOS,
  shellQuote,
  syncOperationPatch,
  WAIT_SECONDS,
} from '@homelab/core';
import type { Baseline } from './baseline.js';
import { CERT_APPROVER_NAMESPACE, CERT_APPROVER_VERSION } from './baseline.js';
import type { FirewallRule } from './firewall.js';
import type { ClusterPatches } from './patches.js';
import type { MergedTalosRequirements } from './requirements.js';
import { renderRunbookTemplate, shellWord } from './runbook-template.js';
import { IMAGE_FACTORY, isoImage } from './schematic.js';
import type { TalosVersion } from './versions.js';

/** An Argo CD Application of the cluster, as argocd-apps plans it (what the runbook needs). */
export interface RunbookApplication {
  /** Name without the cluster prefix. */
  readonly name: string;
  readonly component: string;
  readonly wave: number;
  /** Destination namespace. */
  readonly namespace: string;
  /** No finalizer, `Prune=false`, `Delete=false`. */
  readonly critical: boolean;
  readonly bundle: CrdBundle | undefined;
  /** The Application object (its name, finalizers and Helm source). */
  readonly application: KubeObject;
  /** Its chart's `pre-delete` uninstall hook, which Argo CD runs when it deletes it. */
  readonly uninstall?: ChartUninstall;
}

/** The GitOps side of a cluster: its root Application and the Applications it installs. */
export interface RunbookGitOps {
  /** Namespace of the GitOps controller and its Applications. */
  readonly namespace: string;
  /** Name of the root Application. */
  readonly root: string;
  /** Git revision the root Application follows (its Applications deploy the commit it renders). */
  readonly revision: string;
  /** Commands that stop the controller from reconciling Applications (its facts' `stop`). */
  readonly stop?: readonly string[];
  readonly applications: readonly RunbookApplication[];
  /**
   * Applications that hold routes to workloads deployed outside the platform's charts
   * (`RouteRequest.workloads`), with those routes' hosts: `Degraded` until the workloads exist.
   */
  readonly external?: readonly {
    readonly application: string;
    readonly hosts: readonly string[];
  }[];
}

/** An address a component publishes, and how its users log in. */
export interface RunbookRoute {
  readonly component: string;
  readonly host: string;
  readonly auth: RouteAuth;
}

/** How users log in on the cluster. */
export interface RunbookLogin {
  /** The OIDC provider's issuer URL, when one runs. */
  readonly provider: string | undefined;
  /** The DNS zone the Gateway serves. */
  readonly domain: string;
  readonly routes: readonly RunbookRoute[];
  /** Login steps components contribute (`when: 'login'`). */
  readonly steps: readonly BootstrapStep[];
}
export interface RunbookInput {
  readonly header: string;
  /**
   * The definition's path relative to the repository root, POSIX (default
   * `apps/homelab/platform.yaml`); `null`: outside it (the runbook then says "the definition").
   */
  readonly definition?: string | null;
  readonly cluster: ResolvedCluster;
  readonly version: TalosVersion;
  readonly requirements: MergedTalosRequirements;
  readonly patches: ClusterPatches;
  /** The nodes' ingress firewall rules by role (firewall.ts), where it runs. */
  readonly firewall?: {
    readonly controlPlane: readonly FirewallRule[];
    readonly worker: readonly FirewallRule[];
  };
  /** The security baseline every node gets. */
  readonly baseline?: Baseline;
  readonly schematicId: string;
  readonly installImage: string;
  /** Folder of the Talos files relative to the repository root: `clusters/<cluster>/talos`. */
  readonly dir: string;
  /**
   * The platform's steps once the cluster answers, in order: what the components contribute
   * (CRDs before the components that need them, providers before consumers), the hand-made
   * secrets, the hand-over to the GitOps controller.
   */
  readonly steps: readonly BootstrapStep[];
  /** Absent: no GitOps controller runs on the cluster. */
  readonly gitops?: RunbookGitOps;
  /**
   * A backup provider runs on the cluster (it writes `clusters/<cluster>/disaster-recovery.md`,
   * which the runbook names for a rebuild); absent or false: a rebuild is a new cluster.
   */
  readonly disasterRecovery?: boolean;
  /** What the components wait for after each node's reboot, in dependency order. */
  readonly afterNodeReboot?: readonly (NodeRebootWait & { readonly component: string })[];
  /**
   * On a one-node cluster, what the components run on the node the runbook cordoned, before its
   * reboot or Talos upgrade (no drain), in dependency order.
   */
  readonly beforeLoneNodeReboot?: readonly (NodeRebootWait & { readonly component: string })[];
  /**
   * What the components run on a node the runbook cordoned, before the drain of its reboot or
   * Talos upgrade (per hostname), in dependency order.
   */
  readonly beforeNodeDrain?: readonly {
    readonly component: string;
    readonly hooks: { readonly [hostname: string]: NodeRebootWait };
  }[];
  /**
   * What of the components can hold a node's drain, and what to do (commands read the node
   * from `$NODE`), in dependency order.
   */
  readonly drainHeld?: readonly (NodeRebootWait & { readonly component: string })[];
  readonly login?: RunbookLogin;
  /** Steps for long after the bootstrap, each a "Later: <title>" section (`when: 'later'`). */
  readonly later?: readonly BootstrapStep[];
  /**
   * What the components run when a node joins, is retired or is lost ("Nodes: adding, retiring,
   * replacing"), in dependency order.
   */
  readonly nodeLifecycle?: readonly (NodeLifecycle & { readonly component: string })[];
  /** What the runbook does when a component is down and that blocks the cluster, in dependency order. */
  readonly whenDown?: readonly (OutageProcedure & { readonly component: string })[];
}

/**
 * What the convergence wait waits for: every Application, or, where some hold routes to
 * workloads deployed outside the platform (`Degraded` until those exist), every other one by name.
 */
function convergenceView(gitops: RunbookGitOps): {
  healthy: string[] | false;
  external: { application: string; hosts: string }[];
} {
  const external = (gitops.external ?? []).map((entry) => ({
    application: entry.application,
    hosts: entry.hosts.map((host) => `\`${host}\``).join(', '),
  }));
  if (external.length === 0) return { healthy: false, external };
  const left = new Set(external.map((entry) => entry.application));
  return {
    healthy: gitops.applications
      .map((app) => app.application.metadata.name)
      .filter((name) => !left.has(name)),
    external,
  };
}

/** Where the definition is, for the runbook to name it. */
export const DEFAULT_DEFINITION = 'apps/homelab/platform.yaml';

/**
 * The definition as the runbook names it (Markdown): its path in a code span, when it is under
 * the repository root and reads as a plain path; otherwise "the platform definition".
 */
export function definitionText(definition: string | null | undefined): string {
  const path = definition === undefined ? DEFAULT_DEFINITION : definition;
  return path !== null &&
    /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) &&
    !path.split('/').includes('..')
    ? `\`${path}\``
    : 'the platform definition';
}

/**
 * The definition's path for `git add` beside the generated folders, when the runbook can name it
 * (under the repository root, a plain path); false otherwise. A step that edits the definition
 * commits it with what it generates: left out, the next build from the repository (CI's, a clone's)
 * regenerates the old charts.
 */
export function definitionFile(definition: string | null | undefined): string | false {
  const text = definitionText(definition);
  return text.startsWith('`') ? text.slice(1, -1) : false;
}

/**
 * The commands that build, check and write changesets from the definition. `pnpm build` (turbo,
 * the workspace's script) always builds apps/homelab/platform.yaml into the repository root: a
 * runbook generated from another definition under the root names it with `--config`, or its
 * steps would build (and commit) another platform, removing this cluster's files. One the runbook
 * cannot name (outside the root) keeps `pnpm build`.
 */
export function buildCommands(definition: string | null | undefined): {
  build: string;
  configOption: string;
} {
  const file = definitionFile(definition);
  if (file === false || file === DEFAULT_DEFINITION)
    return { build: 'pnpm build', configOption: '' };
  // The CLI and the packages it bundles compiled first (what `pnpm build` does before it builds
  // the workspace's definition; dist/ is not in Git, and a pin bump is in the sources).
  return {
    build: `pnpm exec turbo run build --filter=@homelab/cli... && pnpm homelab build --config ${file}`,
    configOption: ` --config ${file}`,
  };
}

/** How the runbook names a node's link: its name, or its selector and Talos' alias. */
function linkText(node: ResolvedNode): string {
  const { link } = node;
  if (link.hardwareAddr !== undefined)
    return `MAC \`${link.hardwareAddr}\` (alias \`${node.linkName}\`)`;
  if (link.busPath !== undefined) return `bus \`${link.busPath}\` (alias \`${node.linkName}\`)`;
  if (link.driver !== undefined) return `driver \`${link.driver}\` (alias \`${node.linkName}\`)`;
  return `\`${node.linkName}\``;
}

/**
 * How the runbook's node table names the install disk: its path, or the selector's properties
 * (a `|` escaped: the text is a table cell).
 */
function installDiskText(disk: ResolvedNode['installDisk'] | DiskSelector): string {
  if (typeof disk === 'string') return disk;
  return Object.entries(disk)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key} \`${value.replace(/\|/g, '\\|')}\``)
    .join(', ');
}

/**
 * What the runbook's maintenance-mode check looks for in `talosctl get disks --insecure`: the
 * disk at the path (which must be no data disk of the node), or the one disk the selector matches.
 */
function installDiskCheck(node: ResolvedNode): string {
  const disk = node.installDisk;
  if (typeof disk !== 'string') return `the one disk with ${installDiskText(disk)}`;
  const data = node.disks.map((d) => `\`${d.name}\` (${installDiskText(d.selector)})`);
  return data.length === 0
    ? `\`dev_path: ${disk}\``
    : `\`dev_path: ${disk}\`, none of the data disks ${data.join(', ')}`;
}

/** `NODE_<HOSTNAME>_DHCP`, unique per cluster (hostnames are DNS labels). */
function dhcpVariables(nodes: readonly ResolvedNode[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const node of nodes) {
    const base = `NODE_${node.hostname.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_DHCP`;
    let name = base;
    for (let index = 2; used.has(name); index += 1) name = `${base}_${index}`;
    used.add(name);
    out.set(node.hostname, name);
  }
  return out;
}

/** What `talosctl get links --insecure -o yaml` shows for the link the node's patch selects. */
function identifyText(node: ResolvedNode): string {
  const { link } = node;
  if (link.hardwareAddr !== undefined)
    return `a link with \`permanentAddr: ${link.hardwareAddr.toLowerCase()}\``;
  if (link.busPath !== undefined) return `a link with \`busPath: ${link.busPath}\``;
  if (link.driver !== undefined) return `a link with \`driver: ${link.driver}\``;
  return `the link \`id: ${node.linkName}\``;
}

/** The Helm source of an Application: chart path, release name and value files. */
function helmSource(
  app: RunbookApplication,
): { path: string; release: string; valueFiles: string[] } | undefined {
  const source = record(record(app.application.spec).source);
  const helm = record(source.helm);
  if (typeof source.path !== 'string' || typeof helm.releaseName !== 'string') return undefined;
  const path = source.path;
  const files = Array.isArray(helm.valueFiles) ? helm.valueFiles : [];
  return {
    path,
    release: helm.releaseName,
    valueFiles: files.filter((file) => typeof file === 'string').map((file) => `${path}/${file}`),
  };
}

function authText(auth: RouteAuth, provider: string | undefined): string {
  const by = provider === undefined ? 'the OIDC provider' : provider;
  switch (auth.kind) {
    case 'app':
      return auth.oidcClient === undefined
        ? (auth.accounts ?? "the application's own accounts")
        : `the application's own login page, "log in via" ${by} (OIDC client \`${auth.oidcClient}\`)`;
    case 'forward-auth':
      return `${by} first (policy \`${auth.policy}\`${auth.groups === undefined || auth.groups.length === 0 ? '' : `, groups ${auth.groups.map((group) => `\`${group}\``).join(', ')}`})`;
    case 'none':
      return `none at the Gateway: ${auth.reason}`;
  }
}

function stepView(step: BootstrapStep, number?: number) {
  return {
    number: number ?? 0,
    title: step.title,
    body: step.body.join('\n'),
    reads: (step.reads ?? []).map(readCommand),
    readNote: READ_ALONE_NOTE,
    commands: step.commands.join('\n'),
    after: (step.after ?? []).join('\n'),
  };
}

const APPLY = /^kubectl apply --server-side(?: --field-manager=\S+)? -f (\S+)$/;

/** A CRD bundle's delete commands: its install commands reversed, when they are plain applies. */
function bundleDeletes(bundle: CrdBundle): string[] | undefined {
  const deletes: string[] = [];
  for (const line of bundle.install) {
    const match = APPLY.exec(line);
    if (match === null) return undefined;
    deletes.push(`kubectl delete --ignore-not-found --timeout=10m -f ${match[1]}`);
  }
  return deletes;
}

/** The merge patch that puts an Application's `automated` sync policy back (false: it has none). */
function automatedPatch(application: KubeObject): string | false {
  const spec = (application as { spec?: { syncPolicy?: { automated?: unknown } } }).spec;
  const automated = spec?.syncPolicy?.automated;
  return automated === undefined ? false : JSON.stringify({ spec: { syncPolicy: { automated } } });
}

/**
 * The runbook's "When a component is down": its commands, and the Application whose auto-sync
 * (with the root's, whose self-heal would put it back) is suspended while what blocks is lifted.
 */
function outageView(
  procedures: readonly (OutageProcedure & { readonly component: string })[],
  gitops: RunbookGitOps | undefined,
  cluster: ResolvedCluster,
) {
  return procedures.map((procedure) => {
    const app = gitops?.applications.find(
      (candidate) => candidate.component === procedure.component && candidate.bundle === undefined,
    );
    return {
      component: procedure.component,
      symptom: procedure.symptom,
      diagnose: procedure.diagnose.join('\n'),
      diagnosis: procedure.diagnosis,
      recover: procedure.recover.join('\n'),
      lift:
        app === undefined || gitops === undefined || procedure.lift.length === 0
          ? false
          : {
              application: app.application.metadata.name,
              // Both out of Argo CD's hands, the root first (core `pauseAutoSyncCommands`).
              pause: [gitops.root, app.application.metadata.name]
                .flatMap((name) => pauseAutoSyncCommands(gitops.namespace, name))
                .join('\n'),
              commands: procedure.lift.join('\n'),
              verify: procedure.verify.join('\n'),
              // The Application's own auto-sync, as the root deploys it.
              automated: automatedPatch(app.application),
              // A sync with the Application's own options and prune (Argo CD syncs with the
              // operation's options only).
              sync: syncOperationPatch('runbook', applicationManualSync(app.application)),
              // The root synced by hand once its policy is back: Argo CD never syncs again by
              // itself a revision whose last sync was ended.
              rootSync: syncOperationPatch(
                'runbook',
                rootManualSync(cluster.profile.autoSync.prune),
              ),
            },
    };
  });
}

function removalView(
  cluster: ResolvedCluster,
  gitops: RunbookGitOps | undefined,
  requirements: MergedTalosRequirements,
) {
  const apps = gitops?.applications ?? [];
  // The GitOps controller's own Application deploys into the namespace it runs in.
  const isController = (app: RunbookApplication): boolean =>
    app.bundle === undefined && app.namespace === gitops?.namespace;
  const saved = (app: RunbookApplication) => {
    const source = helmSource(app);
    return source === undefined
      ? undefined
      : {
          ...source,
          namespace: app.namespace,
          // As Argo CD renders it: with the live cluster's version (a Helm built without its
          // version flags defaults to v1.20, below what the charts ask for).
          kubeVersion: cluster.kubernetesVersion,
          saved: `removed-${cluster.name}-${app.name}.yaml`,
        };
  };
  const critical = apps
    .filter((app) => app.critical && !isController(app))
    .sort((a, b) => b.wave - a.wave || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const charts: NonNullable<ReturnType<typeof saved>>[] = [];
  const rows = critical.map((app, index) => {
    const chart = app.bundle === undefined ? saved(app) : undefined;
    if (chart !== undefined) charts.push(chart);
    const kinds = app.bundle?.kinds ?? [];
    const deletes = app.bundle === undefined ? undefined : bundleDeletes(app.bundle);
    return {
      order: index + 1,
      application: app.application.metadata.name,
      component: app.component,
      holds:
        app.bundle === undefined
          ? `chart \`${chart?.path ?? '?'}\` in \`${app.namespace}\``
          : `CRDs of ${kinds.map((kind) => `\`${kind.kind}\``).join(', ')}`,
      saved: chart?.saved ?? false,
      uninstall:
        app.uninstall === undefined
          ? false
          : {
              reason: app.uninstall.reason,
              prepare: app.uninstall.prepare.join('\n'),
              verify: app.uninstall.verify.join('\n'),
            },
      crds:
        app.bundle === undefined
          ? false
          : {
              // kubectl resolves a CRD's singular name, the kind in lower case.
              kinds: kinds.map((kind) => `${kind.kind.toLowerCase()}.${kind.group}`),
              deletes:
                // Not a `#` comment (zsh runs `#` as a command on its prompt): a line that says it.
                (
                  deletes ?? [
                    `echo ${shellQuote(`delete the CRDs of ${kinds.map((kind) => kind.kind).join(', ')} (${app.bundle.description}) by hand: their install is not a plain kubectl apply`)} >&2`,
                  ]
                ).join('\n'),
            },
    };
  });
  const controller = apps.find((app) => app.critical && isController(app));
  const controllerChart = controller === undefined ? undefined : saved(controller);
  // The critical components that turn Talos' own CoreDNS off (`cluster.coreDNS.disabled`): with
  // them gone the rebuilt patches leave it on, and Talos' manifest controller (v1.12
  // `ManifestApplyController`) creates its CoreDNS objects where none exist, retrying while the
  // `kube-dns` Service's address is still another Service's (an invalid create is an error, and
  // the controller runs again). Their saved manifests are deleted only once the patches apply.
  const dnsRows = rows.filter(
    (row) => row.saved !== false && requirements.coreDnsSources.includes(row.component),
  );
  return {
    critical: rows,
    charts,
    talosDns:
      dnsRows.length === 0
        ? false
        : {
            components: dnsRows.map((row) => `\`${row.component}\``).join(', '),
            saved: dnsRows.map((row) => `\`${row.saved}\``).join(', '),
          },
    gitops:
      controller === undefined
        ? false
        : { component: controller.component, chart: controllerChart ?? false },
    // Every critical Application, the GitOps controller's included: `Prune=false` keeps what a
    // new release no longer renders (Argo CD marks it `requiresPruning` and stays OutOfSync).
    kept: apps
      .filter((app) => app.critical)
      .map((app) => app.application.metadata.name)
      .sort(),
    // CRD bundles this cluster cannot take back below their floor (`noDowngradeBelow`): the way
    // back that would move one there needs its commands.
    oneWay: apps.flatMap((app) =>
      app.bundle?.noDowngradeBelow !== undefined && atOrAboveFloor(app.bundle) === true
        ? [
            {
              application: app.application.metadata.name,
              description: app.bundle.description,
              floor: app.bundle.noDowngradeBelow.version,
              why: app.bundle.noDowngradeBelow.why,
              undo: app.bundle.noDowngradeBelow.undo.join('\n'),
            },
          ]
        : [],
    ),
    // The Applications a chart's pre-delete hook names, as the text lists them.
    hooks: critical
      .filter((app) => app.uninstall !== undefined)
      .map((app) => `\`${app.application.metadata.name}\``)
      .join(', '),
    // Finalizers in Git, and the pre-delete finalizer Argo CD adds to an Application with a hook.
    finalized: apps
      .filter((app) => {
        const finalizers: unknown = app.application.metadata.finalizers;
        return (Array.isArray(finalizers) && finalizers.length > 0) || app.uninstall !== undefined;
      })
      .map((app) => app.application.metadata.name),
  };
}

/** The contributed steps of one kind for one node, as the template shows them. */
function lifecycleSteps(
  lifecycles: readonly NodeLifecycle[],
  kind: 'joined' | 'retiring' | 'lost',
  hostname: string,
) {
  const steps = lifecycles.flatMap((lifecycle) => {
    const step = lifecycle[kind]?.[hostname];
    return step === undefined ? [] : [step];
  });
  return steps.length === 0
    ? false
    : {
        reasons: steps.map((step) => step.reason),
        commands: steps.flatMap((step) => step.commands).join('\n'),
        // The same, each command continued with `&&`: a block that goes on only while they pass.
        chained: steps
          .flatMap((step) => step.commands)
          .map((command) => `${command} &&`)
          .join('\n'),
        // The same continued from a command before them: the last one ends the chain.
        chainedAfter: steps.flatMap((step) => step.commands).join(' &&\n'),
      };
}

/**
 * How a cluster whose only control plane died comes back (`step 1`'s secrets kept): with a
 * backup provider, its disaster-recovery.md (the machine from steps 2 to 5, etcd from its latest
 * snapshot, the volumes from their backups); without one, every bring-up step from 2 to
 * `lastStep` as a new cluster, and what only the cluster held is lost.
 */
export function rebuildText(disasterRecovery: boolean, lastStep: number): string {
  return disasterRecovery
    ? "rebuild the cluster on the new machine with the same `secrets.yaml` as `disaster-recovery.md` next to this runbook says: the machine from steps 2 to 5 (not step 6's bootstrap), etcd from its latest snapshot, then the volumes from their backups"
    : `rebuild the cluster on the new machine with the same \`secrets.yaml\` (the exports of step 1, not its \`gen secrets\`, which refuses to overwrite it), then run steps 2 to ${lastStep}: the bootstrap makes a new, empty etcd, and the platform comes back from Git. No backup component runs on this cluster, so what only the cluster held is lost: every volume's data, the Secrets made by hand (their steps make new ones), and what controllers made in it (a private CA's root, which machines must trust again)`;
}

/**
 * "Nodes: adding, retiring, replacing", per node: what joins it, what retires it (or why it
 * cannot be retired), what replaces it once dead. etcd keeps its quorum only while a majority of
 * its members is up, and removing a member needs that quorum: a control plane is retired only
 * when others remain, never the only one. A node whose address is the API endpoint (no VIP)
 * cannot go without new configs on every node.
 */
function lifecycleView(
  cluster: ResolvedCluster,
  lifecycles: readonly NodeLifecycle[],
  nodeView: (node: ResolvedNode) => object,
  rebuild: string,
) {
  let endpointHost: string | undefined;
  let endpointPort = '6443';
  try {
    const url = new URL(cluster.endpoint);
    endpointHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (url.port !== '') endpointPort = url.port;
  } catch {
    endpointHost = undefined;
  }
  const controlPlanes = cluster.controlPlanes;
  const order = [...controlPlanes, ...cluster.nodes.filter((node) => node.role !== 'controlplane')];
  return order.map((node) => {
    const controlPlane = node.role === 'controlplane';
    const others = controlPlanes.filter((cp) => cp.hostname !== node.hostname);
    // A control plane that stays: the one the commands talk to about etcd and health.
    const peer = others[0];
    const endpoint = endpointHost === node.address;
    const retireRefusal =
      controlPlane && others.length === 0
        ? "it is the only control plane: its etcd is the cluster's only member, and the cluster has no control plane without it. It cannot be retired this way: add control planes to the definition first (up to three), then retire it"
        : endpoint
          ? `its address is the API endpoint (\`${cluster.endpoint}\`, no VIP) that every node's config names: it cannot be retired without a new endpoint and new configs on every node`
          : false;
    const replaceRefusal =
      controlPlane && others.length === 0
        ? `it is the only control plane: with it, etcd and every Kubernetes object are gone; ${rebuild}`
        : false;
    return {
      ...nodeView(node),
      controlPlane,
      peer: peer === undefined ? false : peer.address,
      remainingEndpoints: others.map((cp) => cp.address),
      endpoint,
      // While the endpoint's node is dead, kubectl reaches the API through another control
      // plane: the API server's certificate names every control plane's own address (Talos
      // v1.12 KubernetesCertSANs).
      server: endpoint && peer !== undefined ? `https://${peer.address}:${endpointPort}` : false,
      retireRefusal,
      replaceRefusal,
      joined: lifecycleSteps(lifecycles, 'joined', node.hostname),
      retiring: lifecycleSteps(lifecycles, 'retiring', node.hostname),
      lost: lifecycleSteps(lifecycles, 'lost', node.hostname),
    };
  });
}

/**
 * "Retiring a node no longer in the definition": the node's hostname and address are the
 * operator's (`NODE`, `NODE_ADDRESS`), never the definition's. What the block knows is what
 * stays: the `case` patterns that refuse a hostname or an address of a node still defined (or
 * the API endpoint's host: with a VIP the reset would wipe whichever control plane holds it),
 * the control plane it asks about etcd, the endpoints once a control plane left, and the
 * components' `retiringRemoved` steps, chained with `&&` (a pasted block runs every line).
 */
function removedNodeView(
  cluster: ResolvedCluster,
  lifecycles: readonly NodeLifecycle[],
  peer: string,
) {
  let endpointHost: string | undefined;
  try {
    endpointHost = new URL(cluster.endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    endpointHost = undefined;
  }
  const addresses = [
    ...new Set([
      ...cluster.nodes.map((node) => node.address),
      ...(endpointHost === undefined ? [] : [endpointHost]),
    ]),
  ];
  const defined = [
    ...cluster.nodes.map((node) => `${shellWord(`${node.hostname} `)}*`),
    ...addresses.map((address) => `*${shellWord(` ${address}`)}`),
  ].join(' | ');
  const steps = lifecycles.flatMap((lifecycle) =>
    lifecycle.retiringRemoved === undefined ? [] : [lifecycle.retiringRemoved],
  );
  return {
    peer,
    defined,
    endpoints: cluster.controlPlanes.map((node) => node.address),
    retiring:
      steps.length === 0
        ? false
        : {
            reasons: steps.map((step) => step.reason),
            commands: steps
              .flatMap((step) => step.commands.map((command) => `${command} &&`))
              .join('\n'),
          },
  };
}

/** `kubectl` with `--for=create` (its waits): from 1.31. */
const KUBECTL_WAIT_FOR_CREATE_MINOR = 31;

/**
 * The kubectl releases the runbook's commands may use against a cluster of `kubernetesVersion`
 * (`1.34.4` → `1.33 to 1.35`): Kubernetes' version skew policy supports kubectl one minor
 * release older or newer than the API server, and the waits need 1.31 (`--for=create`).
 */
export function kubectlRange(kubernetesVersion: string): string {
  const match = /^v?(\d+)\.(\d+)/.exec(kubernetesVersion);
  if (match === null) return '1.31 or newer';
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const low = Math.max(minor - 1, KUBECTL_WAIT_FOR_CREATE_MINOR);
  return `${major}.${low} to ${major}.${Math.max(minor + 1, low)}`;
}

/**
 * Tools beyond the ones every runbook uses (talosctl, kubectl, helm, curl and a POSIX userland)
 * that a component's commands call, as the prerequisites name them.
 */
const EXTRA_TOOLS: readonly (readonly [command: string, text: string])[] = [
  ['openssl', '`openssl`'],
  ['argocd', 'the Argo CD CLI (`argocd`)'],
  ['aws', 'the AWS CLI (`aws`)'],
  ['age', '`age`'],
  ['restic', '`restic`'],
  ['jq', '`jq`'],
];

/** Each tool of EXTRA_TOOLS as the pattern of a call to it (see toolsText), built once. */
const EXTRA_TOOL_CALLS: readonly (readonly [call: RegExp, text: string])[] = EXTRA_TOOLS.map(
  ([command, text]) => [new RegExp(`(^|[|&;(]|\\$\\()\\s*${command}(\\s|$)`), text],
);

/**
 * The prerequisites' tools after talosctl and kubectl: helm and curl, then every tool of
 * EXTRA_TOOLS a command of `steps` runs (at a command's start: the line's, after a pipe, `&&`,
 * `||`, `;`, or inside `$(…)`/`<(…)`), comments left out.
 */
export function toolsText(steps: readonly BootstrapStep[]): string {
  const lines = steps
    .flatMap((step) => step.commands.flatMap((command) => command.split('\n')))
    .filter((line) => !/^\s*#/.test(line));
  const used = EXTRA_TOOL_CALLS.filter(([call]) => lines.some((line) => call.test(line))).map(
    ([, text]) => text,
  );
  const all = ['`helm` 3', '`curl`', ...used];
  return `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

/**
 * The cluster's runbook (RUNBOOK.md), with the cluster's own values in every command. `render`
 * renders the template's view (tests compare the precompiled and the compiled template).
 */
export function runbook(
  input: RunbookInput,
  render: (view: object) => string = renderRunbookTemplate,
): string {
  const { cluster, version, requirements, patches, dir } = input;
  const first = cluster.controlPlanes[0];
  if (first === undefined) throw new Error(`cluster ${cluster.name} has no control plane`);
  const variables = dhcpVariables(cluster.nodes);
  // TPM-sealed disk keys: the nodes boot and install the SecureBoot images (render.ts).
  const secureBoot = input.baseline?.diskEncryption === 'tpm';
  const extensions =
    requirements.extensions.length === 0
      ? 'none'
      : requirements.extensions.map((e) => `\`${e}\``).join(', ');
  const configFile = (node: ResolvedNode): string =>
    node.role === 'controlplane' ? 'controlplane.yaml' : 'worker.yaml';
  const nodeView = (node: ResolvedNode) => ({
    hostname: node.hostname,
    role: node.role,
    address: node.address,
    linkText: linkText(node),
    installDisk: installDiskText(node.installDisk),
    configFile: configFile(node),
    patchArg: `@${dir}/nodes/${node.hostname}.yaml`,
    dhcpVar: variables.get(node.hostname) as string,
    identify: identifyText(node),
    installDiskCheck: installDiskCheck(node),
  });
  const nodes = cluster.nodes.map(nodeView);
  // Talos' seven steps, then the platform's (numbered from 8 below).
  const lastStep = 7 + input.steps.length;
  const rebuild = rebuildText(input.disasterRecovery === true, lastStep);
  const login = input.login;
  const provider = login?.provider;
  const loginSteps = (login?.steps ?? []).map((step) => stepView(step));
  const view = {
    tools: toolsText([...input.steps, ...(login?.steps ?? []), ...(input.later ?? [])]),
    header: input.header,
    definition: definitionText(input.definition),
    definitionFile: definitionFile(input.definition),
    ...buildCommands(input.definition),
    name: cluster.name,
    environment: cluster.environment,
    talos: {
      tag: version.tag,
      line: version.line,
      // The oldest release Talos' installer of this line upgrades (core SUPPORTED_TALOS).
      upgradeFrom: ((minimum) => (minimum === undefined ? false : `v${minimum}`))(
        SUPPORTED_TALOS[version.line.replace(/^v/, '')]?.upgradeFrom.minimum,
      ),
    },
    kubernetesVersion: cluster.kubernetesVersion,
    kubectl: kubectlRange(cluster.kubernetesVersion),
    endpoint: cluster.endpoint,
    vip: patches.vip !== undefined,
    firewall: input.firewall === undefined ? undefined : firewallTable(input.firewall),
    dir,
    extensions,
    nodes,
    requirements: requirementLines(cluster, requirements),
    reserved: reservedAddressLines(cluster, patches.vip),
    baseline: baselineLines(input.baseline),
    schematic: {
      id: input.schematicId,
      upload: `@${dir}/schematic.yaml`,
      endpoint: `https://${IMAGE_FACTORY}/schematics`,
      iso: isoImage(input.schematicId, version.tag, secureBoot),
    },
    secureBoot,
    installImage: input.installImage,
    patches: {
      controlPlane: `@${dir}/controlplane.yaml`,
      worker: `@${dir}/worker.yaml`,
    },
    controlPlanes: cluster.controlPlanes.map((node) => ({ address: node.address })),
    first: { address: first.address },
    waits: {
      bootstrapMinutes: WAIT_SECONDS.bootstrap / 60,
      bootstrap: boundedWait({
        condition: `talosctl bootstrap -n ${shellQuote(first.address)} 2>"$TALOS_DIR/bootstrap.err" || grep 'code = AlreadyExists' "$TALOS_DIR/bootstrap.err"`,
        seconds: WAIT_SECONDS.bootstrap,
        interval: 10,
        message: `the control plane ${first.address} did not take the bootstrap; its last refusal is above: look at its console or talosctl -n ${first.address} dmesg (an install that failed, a clock not in sync)`,
        each: 'cat "$TALOS_DIR/bootstrap.err"',
      }),
      apiServer: boundedWait({
        condition: 'kubectl get nodes -o wide --request-timeout=10s',
        seconds: WAIT_SECONDS.apiServer,
        interval: 10,
        message: `the API server at ${cluster.endpoint} does not answer: see talosctl -n ${first.address} health and talosctl -n ${first.address} logs kubelet`,
      }),
    },
    // One etcd member: no quorum to keep, the API is down while it reboots (Talos v1.12
    // `ValidateForUpgrade` passes one healthy member, refuses two). One node: nothing can move
    // either, and the drain before an upgrade waits on PDBs until `DrainTimeout` (5 minutes).
    singleControlPlane: cluster.controlPlanes.length === 1,
    singleNode: cluster.nodes.length === 1,
    loneControlPlane: cluster.controlPlanes.length === 1,
    // A backup provider writes the cluster's disaster-recovery.md; without one a rebuild is a new
    // cluster (every bring-up step but step 1's `gen secrets`) and the data only it held is lost.
    disasterRecovery: input.disasterRecovery === true,
    lastStep,
    rebuild,
    // The boot menu's reset wipes a machine that stays: the same rebuild, on it.
    resetRebuild: rebuild.replace('on the new machine', 'on that machine'),
    // talosctl 1.13 upgrades a node on 1.13 or later through the LifecycleService
    // (`upgradeViaLifecycleService`): install, then a client-side drain
    // (`nodedrain.CordonAndDrain`, 5 minutes) that fails instead of upgrading anyway, no reboot,
    // the node left cordoned. A node on 1.12 gets the legacy upgrade (machined drains, gives up
    // after `DrainTimeout` and upgrades anyway). On one node the drain can only fail while a
    // PodDisruptionBudget protects a pod: `--drain=false`, and the reboot stops every pod.
    lifecycleUpgrade: version.minor >= 13,
    singleNodeLifecycleUpgrade: version.minor >= 13 && cluster.nodes.length === 1,
    // Two etcd members: a quorum needs both, so either reboot takes the API down, and Talos
    // v1.12 refuses to upgrade either without `--force` (`ValidateForUpgrade`: "etcd member
    // count(2) is insufficient to maintain quorum if upgrade commences").
    twoControlPlanes: cluster.controlPlanes.length === 2,
    // One node at a time, the control planes first: etcd keeps its quorum while one reboots.
    upgradeOrder: [
      ...cluster.controlPlanes,
      ...cluster.nodes.filter((node) => node.role !== 'controlplane'),
    ].map((node) => ({
      ...nodeView(node),
      // A member of a two-member etcd: Talos upgrades it only with `--force`, after a health
      // check of its own.
      forceUpgrade: cluster.controlPlanes.length === 2 && node.role === 'controlplane',
      // Every control plane of a several-member etcd: the cluster's health (etcd's members among
      // `talosctl health`'s checks) right before its drain. Talos v1.12 runs `ValidateForUpgrade`
      // itself; talosctl 1.13's LifecycleService upgrade (`upgradeViaLifecycleService`, a node on
      // 1.13 already) checks nothing, and the previous block's check may be an hour old.
      healthFirst: cluster.controlPlanes.length >= 2 && node.role === 'controlplane',
      // Nowhere to move anything on a one-node cluster, which is never drained.
      beforeDrain:
        cluster.nodes.length === 1
          ? false
          : lifecycleSteps(
              (input.beforeNodeDrain ?? []).map((entry) => ({ retiring: entry.hooks })),
              'retiring',
              node.hostname,
            ),
    })),
    beforeDrainReasons:
      cluster.nodes.length === 1
        ? []
        : [
            ...new Set(
              (input.beforeNodeDrain ?? []).flatMap((entry) =>
                Object.values(entry.hooks).map((hook) => hook.reason),
              ),
            ),
          ],
    cniNotice:
      requirements.cni === 'none'
        ? `The nodes stay \`NotReady\` until the CNI runs: Talos installs none (\`cni: none\`)${requirements.disableKubeProxy ? ' and no kube-proxy' : ''}.`
        : false,
    // Talos names a user volume's status `u-<name>` (constants.UserVolumePrefix): a wait for
    // each to be `ready`, as the storage component's own steps wait before they use one.
    userVolumes: cluster.nodes.flatMap((node) =>
      (requirements.nodes.get(node.hostname)?.userVolumes ?? []).map((volume) =>
        boundedWait({
          condition: `talosctl -n ${shellQuote(node.address)} get volumestatus ${shellQuote(`u-${volume.name}`)} -o yaml | grep -q '^ *phase: ready$'`,
          seconds: WAIT_SECONDS.disks,
          interval: 10,
          message: `Talos user volume u-${volume.name} of ${node.hostname} is not ready: see talosctl -n ${node.address} get volumestatus u-${volume.name} -o yaml and talosctl -n ${node.address} get discoveredvolumes (above: a disk that still holds partitions or a filesystem)`,
        }),
      ),
    ),
    steps: input.steps.map((step, index) => stepView(step, 8 + index)),
    gitops:
      input.gitops === undefined
        ? false
        : {
            namespace: input.gitops.namespace,
            root: input.gitops.root,
            rootFile: `clusters/${cluster.name}/root-application.yaml`,
            revision: input.gitops.revision,
            // The root file as committed at the revision, and the sed expression that puts the
            // revision into its targetRevision (the only one in the file, the root's source).
            revisionRootFile: `${input.gitops.revision}:clusters/${cluster.name}/root-application.yaml`,
            revisionSed: `s|^    targetRevision: .*|    targetRevision: ${JSON.stringify(input.gitops.revision).replace(/[\\&|]/g, '\\$&')}|`,
            stop: (input.gitops.stop ?? []).join('\n'),
            // The root out of Argo CD's hands (core `pauseAutoSyncCommands`).
            pauseRoot: pauseAutoSyncCommands(input.gitops.namespace, input.gitops.root).join('\n'),
            // The root's running sync ended and one started from the latest commit.
            restartRoot: [
              ...endSyncCommands(input.gitops.namespace, input.gitops.root),
              `kubectl -n ${shellQuote(input.gitops.namespace)} patch application ${shellQuote(input.gitops.root)} --type merge -p ${shellQuote(syncOperationPatch('runbook', rootManualSync(cluster.profile.autoSync.prune)))}`,
            ].join('\n'),
            ...convergenceView(input.gitops),
          },
    login: {
      provider: provider ?? false,
      routes: (login?.routes ?? []).map((route) => ({
        url: `https://${route.host}.${login?.domain ?? cluster.domain}/`,
        component: route.component,
        auth: authText(route.auth, provider),
      })),
      steps: loginSteps,
    },
    later: (input.later ?? []).map((step) => stepView(step)),
    removal: removalView(cluster, input.gitops, requirements),
    lifecycle: lifecycleView(cluster, input.nodeLifecycle ?? [], nodeView, rebuild),
    removedNode: removedNodeView(cluster, input.nodeLifecycle ?? [], first.address),
    // etcd's quorum: a majority of its members, before and after one control plane leaves.
    etcd: {
      members: cluster.controlPlanes.length,
      quorum: Math.floor(cluster.controlPlanes.length / 2) + 1,
      remaining: cluster.controlPlanes.length - 1,
      remainingQuorum: Math.floor((cluster.controlPlanes.length - 1) / 2) + 1,
      // The members left tolerate no failure (two members need both).
      noTolerance:
        cluster.controlPlanes.length - 1 === Math.floor((cluster.controlPlanes.length - 1) / 2) + 1,
    },
    outages: outageView(input.whenDown ?? [], input.gitops, cluster),
    drainHeld: (input.drainHeld ?? []).map((held) => ({
      reason: held.reason,
      commands: held.commands.join('\n'),
    })),
    // One node, never drained: what stops before its reboot, each command chained to the next
    // and to the reboot with `&&`; then the node is uncordoned once the API server is back.
    loneReboot:
      cluster.nodes.length === 1 && (input.beforeLoneNodeReboot ?? []).length > 0
        ? {
            reasons: (input.beforeLoneNodeReboot ?? []).map((hook) => hook.reason),
            commands: (input.beforeLoneNodeReboot ?? [])
              .flatMap((hook) => hook.commands)
              .join(' &&\n'),
            uncordon: boundedWait({
              condition: `kubectl uncordon ${shellQuote(first.hostname)} --request-timeout=10s`,
              seconds: WAIT_SECONDS.apiServer,
              interval: 10,
              message: `the API server does not answer, so ${first.hostname} stays cordoned and its pods wait: once it answers, run kubectl uncordon ${first.hostname}`,
            }),
          }
        : false,
    caRotation: caRotationView(input),
    afterReboot:
      input.afterNodeReboot === undefined || input.afterNodeReboot.length === 0
        ? false
        : {
            reasons: input.afterNodeReboot.map((wait) => wait.reason),
            commands: input.afterNodeReboot.flatMap((wait) => wait.commands).join('\n'),
          },
  };
  return `${render(view)
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\n+$/, '')}\n`;
}

/**
 * "Rotating the cluster's certificate authorities": the nodes `talosctl rotate-ca` rotates (given,
 * never discovered: Talos' discovery may take the API endpoint's VIP for a control plane,
 * siderolabs/talos#10357), and the namespaces whose pods restart onto the new Kubernetes CA, in
 * order. Pods read the cluster CA once, at start (client-go's `rest.InClusterConfig`), and the
 * API server's certificate comes from the new CA from the rotation's second round on: kube-system
 * first (the CNI, which every new pod needs), then the kubelet serving certificate approver (each
 * kubelet asks for a new serving certificate once the old CA is dropped: no `kubectl exec` or
 * `logs` until it is approved), then the Applications' namespaces in their sync order (a
 * provider before its consumers: the storage before the workloads whose volumes it attaches),
 * then every other namespace.
 */
function caRotationView(input: RunbookInput) {
  const { cluster } = input;
  const first = ['kube-system', CERT_APPROVER_NAMESPACE];
  const applications = [...(input.gitops?.applications ?? [])].sort(
    (a, b) => a.wave - b.wave || compareStrings(a.namespace, b.namespace),
  );
  const ordered = [...new Set(applications.map((app) => app.namespace))].filter(
    (namespace) => !first.includes(namespace),
  );
  const workers = cluster.nodes.filter((node) => node.role !== 'controlplane');
  return {
    controlPlaneNodes: cluster.controlPlanes.map((node) => node.address).join(','),
    workerNodes: workers.length === 0 ? false : workers.map((node) => node.address).join(','),
    nodes: cluster.nodes.map((node) => node.address).join(','),
    approver: CERT_APPROVER_NAMESPACE,
    first,
    ordered,
    done: [...first, ...ordered],
    kubeletsServe: boundedWait({
      condition: `nodes=$(kubectl get nodes -o name) && [ -n "$nodes" ] && [ -z "$(for node in $(printf '%s\\n' "$nodes"); do kubectl get --raw "/api/v1/nodes/\${node#node/}/proxy/healthz" >/dev/null 2>&1 || echo "\${node#node/}"; done)" ]`,
      seconds: WAIT_SECONDS.kubeletServing,
      interval: 10,
      message: `the API server does not list the nodes, or a kubelet still serves without an approved serving certificate: see kubectl get csr and kubectl -n ${CERT_APPROVER_NAMESPACE} logs deployment/kubelet-serving-cert-approver`,
    }),
  };
}

/** What the platform asks of Talos, as the runbook lists it (Markdown). */
function requirementLines(
  cluster: ResolvedCluster,
  requirements: MergedTalosRequirements,
): string[] {
  return [
    `CNI: ${requirements.cni === undefined ? "Talos' default" : `\`${requirements.cni}\` (${requirements.cniSources.join(', ')} installs it)`}; ` +
      `kube-proxy: ${requirements.disableKubeProxy ? 'disabled' : 'enabled'}; ` +
      `KubePrism: ${requirements.kubePrism ? `on, port ${requirements.kubePrism.port}` : 'Talos default'}`,
    `pod network \`${cluster.network.podCidr}\`, service network \`${cluster.network.serviceCidr}\`, ` +
      `node network \`${cluster.network.nodeCidr}\`${cluster.network.lanCidr === cluster.network.nodeCidr ? '' : ` on the LAN \`${cluster.network.lanCidr}\` (the prefix of the nodes' addresses)`} via \`${cluster.network.gateway}\`, ` +
      `DNS ${cluster.network.nameservers.map((n) => `\`${n}\``).join(', ')}`,
    `workloads on control planes: ${cluster.allowSchedulingOnControlPlanes ? 'allowed (the cluster has no workers)' : 'not allowed'}`,
    ...(requirements.kubernetesTalosAPIAccess === undefined
      ? []
      : [
          `Talos API access from Kubernetes (control planes): roles ${requirements.kubernetesTalosAPIAccess.roles.map((r) => `\`${r}\``).join(', ')} in namespace(s) ${requirements.kubernetesTalosAPIAccess.namespaces.map((n) => `\`${n}\``).join(', ')}`,
        ]),
    ...cluster.nodes.flatMap((node) => {
      const volumes = requirements.nodes.get(node.hostname)?.userVolumes ?? [];
      return volumes.length === 0
        ? []
        : [
            `${node.hostname}: user volume(s) ${volumes.map((v) => `\`/var/mnt/${v.name}\``).join(', ')} (\`UserVolumeConfig\` in \`nodes/${node.hostname}.yaml\`; check with \`talosctl -n ${node.address} get volumestatus\`)`,
          ];
    }),
    ...(requirements.disableCoreDns
      ? [
          `Talos' CoreDNS: disabled (${requirements.coreDnsSources.join(', ')} deploys the cluster DNS from Git)`,
        ]
      : []),
  ];
}

/**
 * The LAN addresses the cluster answers ARP for itself (Markdown list items): the nodes' static
 * addresses, the control planes' VIP, and the LoadBalancer pools announced by L2 (LB IPAM may give
 * any address of a pool to a Service, and Cilium then answers ARP for it; a BGP-announced pool
 * lies off the LAN, the router routes it). The definition knows no DHCP range, so the runbook asks the operator to keep
 * them out of it: a home router's DHCP range commonly covers the upper part of its /24, where the
 * reference lays out the pool.
 */
function reservedAddressLines(cluster: ResolvedCluster, vip: string | undefined): string[] {
  const network = cluster.network;
  const l2 = network.l2Announcements !== undefined && network.bgp === undefined;
  return [
    `the nodes' addresses: ${cluster.nodes.map((node) => `\`${node.address}\` (${node.hostname})`).join(', ')}`,
    ...(vip === undefined
      ? []
      : [`the API endpoint's VIP \`${vip}\`, held by one control plane at a time`]),
    ...(l2
      ? [
          `the LoadBalancer pool${network.loadBalancerPools.length === 1 ? '' : 's'} announced by ARP (\`network.l2Announcements\`): ${network.loadBalancerPools.map((pool) => `\`${pool.cidr}\` (pool \`${pool.name}\`)`).join(', ')}: LB IPAM may give any of ${network.loadBalancerPools.length === 1 ? 'its' : 'their'} addresses to a Service`,
        ]
      : []),
  ];
}

/** The security baseline, as the runbook states it (Markdown list items). */
function baselineLines(baseline: Baseline | undefined): string[] {
  if (baseline === undefined) return [];
  const disks =
    baseline.diskEncryption === 'none'
      ? 'STATE and EPHEMERAL are **not** encrypted (`talos.diskEncryption: none`)'
      : `STATE and EPHEMERAL encrypted with LUKS2, keys ${baseline.diskEncryption === 'tpm' ? 'sealed by the TPM (needs TPM 2.0 and SecureBoot)' : 'derived from the node id'}; set at install: changing it later needs a reinstall`;
  return [
    `disks: ${disks}`,
    `kubelet serving certificates rotated and signed by the cluster CA; Talos installs the Kubelet Serving Certificate Approver ${CERT_APPROVER_VERSION} at bootstrap`,
    `API server audit policy (metadata for Secrets and tokens, requests for RBAC and admission changes); Pod Security \`baseline\` enforced and \`restricted\` warned cluster-wide, exempt: ${baseline.exemptNamespaces.map((namespace) => `\`${namespace}\``).join(', ') || 'none'}`,
    `sysctl hardening: ${Object.keys(baseline.sysctls).length} kernel and network settings (no redirects or source routing, SYN cookies, restricted dmesg and kernel pointers)`,
  ];
}

/**
 * The firewall's rules as the runbook's table: one row per rule, with the nodes that have it
 * (a rule both roles carry with the same ports and sources is one row).
 */
export function firewallTable(firewall: NonNullable<RunbookInput['firewall']>): {
  readonly name: string;
  readonly ports: string;
  readonly from: string;
  readonly on: string;
}[] {
  const portsText = (rule: FirewallRule) =>
    rule.ports
      .map((p) => `${typeof p === 'number' ? p : `${p[0]}-${p[1]}`}/${rule.protocol}`)
      .join(', ');
  const same = (a: FirewallRule, b: FirewallRule) =>
    portsText(a) === portsText(b) && a.subnets.join() === b.subnets.join();
  const rows: { name: string; ports: string; from: string; on: string }[] = [];
  for (const rule of firewall.controlPlane) {
    const worker = firewall.worker.find((w) => w.name === rule.name);
    if (worker !== undefined && same(rule, worker)) {
      rows.push({ name: rule.name, ports: portsText(rule), from: rule.from, on: 'every node' });
    } else {
      rows.push({ name: rule.name, ports: portsText(rule), from: rule.from, on: 'control planes' });
    }
  }
  for (const rule of firewall.worker) {
    const cp = firewall.controlPlane.find((c) => c.name === rule.name);
    if (cp === undefined || !same(cp, rule)) {
      rows.push({ name: rule.name, ports: portsText(rule), from: rule.from, on: 'workers' });
    }
  }
  return rows;
}
