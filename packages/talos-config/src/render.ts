import {
  type BootstrapStep,
  type ClusterRun,
  type ComponentsResult,
  clusterRoutedHost,
  clusterServiceName,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  deploymentSources,
  ensureNamespace,
  type GeneratedFile,
  generatedHeader,
  type Issue,
  type ResolvedCluster,
  type ResolvedPlatform,
  runbookPath,
  type ShellRead,
  uniqueReads,
  yamlDocumentsFile,
} from '@homelab/core';
import { clusterBaseline, withBaseline } from './baseline.js';
import { type ExtensionRequest, officialExtensionIssues } from './extensions.js';
import { firewallDocuments, firewallRules, nodePortsOf, podToHostPorts } from './firewall.js';
import { buildPatches, type ClusterPatches, type TalosDocument } from './patches.js';
import { mergeTalosRequirements, type TalosRequirements } from './requirements.js';
import {
  type RunbookApplication,
  type RunbookLogin,
  type RunbookRoute,
  runbook,
} from './runbook.js';
import { installerImage, schematic, schematicId } from './schematic.js';
import { checkTalosVersion } from './versions.js';

/** The command every generated file names in its first line. */
export const TALOS_GENERATED_BY = 'pnpm build (homelab build)';

export interface RenderTalosOptions {
  /** Command named in the generated-by first line (default `pnpm build (homelab build)`). */
  readonly generatedBy?: string;
  /**
   * The definition's path as the runbooks name it, relative to the repository root, POSIX
   * (default `apps/homelab/platform.yaml`); `null`: not under the repository root.
   */
  readonly definition?: string | null;
  /** Per cluster, steps that end the runbook (the hand-over to the GitOps controller). */
  readonly finalSteps?: { readonly [cluster: string]: readonly BootstrapStep[] };
  /** Per cluster, the steps before every component's (the platform's namespaces). */
  readonly firstSteps?: { readonly [cluster: string]: readonly BootstrapStep[] };
  /**
   * Per cluster, its root Application's name and the Applications it installs (argocd-apps'
   * plan): the runbook's convergence, upgrade and removal sections use them.
   */
  readonly gitops?: {
    readonly [cluster: string]: {
      readonly root: string;
      readonly applications: readonly RunbookApplication[];
    };
  };
}

/** What the components ask the operator to do long after the bootstrap (`when: 'later'`). */
export function laterSteps(run: ClusterRun): BootstrapStep[] {
  return run.order.flatMap((component) =>
    (run.contributions.get(component)?.bootstrap ?? []).filter((step) => step.when === 'later'),
  );
}

/** How users log in on the cluster: every route the components ask for, their login steps. */
export function loginFacts(run: ClusterRun): RunbookLogin {
  const routes: RunbookRoute[] = [];
  const steps: BootstrapStep[] = [];
  for (const component of run.order) {
    const contribution = run.contributions.get(component);
    for (const route of contribution?.routes ?? []) {
      routes.push({ component, host: route.host, auth: route.auth });
    }
    for (const step of contribution?.bootstrap ?? []) if (step.when === 'login') steps.push(step);
  }
  return {
    provider: run.facts['oidc-provider']?.issuer,
    domain: run.facts.gateway?.domain ?? run.cluster.domain,
    routes,
    steps,
  };
}

/** Every component's Talos needs on the cluster, named by component. */
function talosRequirements(run: ClusterRun): TalosRequirements[] {
  const out: TalosRequirements[] = [];
  for (const component of run.order) {
    const needs = run.contributions.get(component)?.talos;
    if (needs !== undefined) out.push({ ...needs, source: component });
  }
  return out;
}

/** Every system extension asked for on a cluster, with where it was asked for. */
function extensionRequests(cluster: ResolvedCluster, run: ClusterRun): ExtensionRequest[] {
  const requests: ExtensionRequest[] = [];
  for (const component of run.order) {
    for (const name of run.contributions.get(component)?.talos?.extensions ?? [])
      requests.push({
        name,
        component,
        path: ['clusters', cluster.index, 'components', component],
      });
  }
  (cluster.definition.talos.extensions ?? []).forEach((name, index) => {
    requests.push({ name, path: ['clusters', cluster.index, 'talos', 'extensions', index] });
  });
  return requests;
}

/**
 * The platform's runbook steps on a cluster, in dependency order: `firstSteps` (the platform's
 * namespaces), then each component's CRD bundles,
 * then its own steps; then the hand-made secrets every component lists; then `finalSteps`; then
 * the steps that need what the GitOps controller deploys (`when: 'after-handover'`).
 */
export function bootstrapSteps(
  run: ClusterRun,
  finalSteps: readonly BootstrapStep[] = [],
  firstSteps: readonly BootstrapStep[] = [],
  platform?: ResolvedPlatform,
): BootstrapStep[] {
  const steps: BootstrapStep[] = [...firstSteps];
  const afterHandover: BootstrapStep[] = [];
  const secrets: string[] = [];
  const secretReads: ShellRead[] = [];
  const secretCommands: string[] = [];
  for (const component of run.order) {
    const contribution = run.contributions.get(component);
    if (contribution === undefined) continue;
    for (const bundle of contribution.crds ?? []) {
      steps.push({
        title: `Install the ${bundle.description}`,
        body: [
          `${component} looks for these CRDs when it starts, so they come first (in Argo CD: the`,
          `\`${bundle.name}\` Application, in an earlier sync wave).`,
        ],
        commands: [...bundle.install],
      });
    }
    for (const step of contribution.bootstrap ?? []) {
      if (step.when === 'login' || step.when === 'later') continue; // their own sections
      (step.when === 'after-handover' ? afterHandover : steps).push(step);
    }
    for (const secret of contribution.bootstrapSecrets ?? []) {
      secrets.push(
        `- \`${secret.namespace}/${secret.name}\` (keys ${secret.keys.map((key) => `\`${key}\``).join(', ')}): ${secret.description} (${component})`,
      );
      secretReads.push(...(secret.reads ?? []));
      secretCommands.push(ensureNamespace(secret.namespace), ...secret.commands);
    }
  }
  const outside = outsideServicesStep(run, platform);
  if (outside !== undefined) steps.push(outside);
  const stored = storeStep(run);
  if (stored !== undefined) steps.push(stored);
  if (secrets.length > 0) {
    steps.push({
      title: 'Create the hand-made secrets',
      body: [
        'These are the only secrets made by hand; everything else comes from the secret store.',
        'The values come from your shell, never from Git:',
        '',
        ...secrets,
      ],
      // A variable an earlier step read (the secrets provider's token) is not read again.
      reads: uniqueReads(secretReads).filter(
        (read) => !steps.some((step) => step.reads?.some((r) => r.variable === read.variable)),
      ),
      commands: secretCommands,
    });
  }
  steps.push(...finalSteps, ...afterHandover);
  return steps;
}

/**
 * The runbook step that lists the services outside the cluster the components call (their egress
 * flows to a name or an address: a directory, a database, a mail server, an S3 endpoint, upstream
 * DNS), by host and port, with who calls them and why. Nothing in the cluster makes them, and a
 * component that checks one at start does not start without it (Authelia binds to its directory
 * and pings its database, fatally), which holds the sync waves after its own: they must answer before
 * the hand-over. None where no component calls out.
 */
function outsideServicesStep(
  run: ClusterRun,
  platform: ResolvedPlatform | undefined,
): BootstrapStep | undefined {
  const services = new Map<string, { host: string; ports: string; callers: Set<string> }>();
  const add = (host: string, ports: string, caller: string): void => {
    const key = `${host}\u0000${ports}`;
    const entry = services.get(key) ?? { host, ports, callers: new Set<string>() };
    entry.callers.add(caller);
    services.set(key, entry);
  };
  const domain = run.facts.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  for (const component of run.order) {
    for (const flow of run.contributions.get(component)?.flows ?? []) {
      if (flow.direction !== 'egress') continue;
      const peer = flow.peer;
      const caller = flow.reason === undefined ? component : `${component}: ${flow.reason}`;
      // The GitOps controller's repositories (cilium resolves the same hosts into its egress):
      // the platform's, the charts' and CRD bundles', the workload projects'; those served
      // inside the cluster are not outside it.
      if (peer.kind === 'deployment-sources' && platform !== undefined) {
        const byHost = new Map<string, number[]>();
        for (const source of deploymentSources(platform, run.contributions)) {
          if (clusterServiceName(source.host, domain) !== undefined) continue;
          // A Git server behind the cluster's own Gateway is inside it too.
          if (clusterRoutedHost(source.host, run.contributions) !== undefined) continue;
          byHost.set(source.host, [...(byHost.get(source.host) ?? []), source.port]);
        }
        for (const [host, ports] of byHost) {
          add(host, ports.map((port) => `${port}/TCP`).join(', '), caller);
        }
        continue;
      }
      const host =
        peer.kind === 'fqdn'
          ? peer.name
          : peer.kind === 'cidr'
            ? peer.cidr.replace(/\/(32|128)$/, '')
            : undefined;
      if (host === undefined) continue;
      const ports = flow.ports
        .map((port) =>
          port.endPort === undefined
            ? `${port.port}/${port.protocol}`
            : `${port.port}-${port.endPort}/${port.protocol}`,
        )
        .join(', ');
      add(host, ports, caller);
    }
  }
  if (services.size === 0) return undefined;
  const rows = [...services.values()]
    .sort((a, b) => compareStrings(a.host, b.host) || compareStrings(a.ports, b.ports))
    .map(
      (entry) =>
        `| \`${entry.host}\` | ${entry.ports} | ${[...entry.callers].sort(compareStrings).join('; ')} |`,
    );
  return {
    title: 'Check the services outside the cluster',
    body: [
      'The components call these hosts outside the cluster. Nothing in the cluster makes them:',
      'each must exist and answer before the hand-over, with the accounts, databases and buckets',
      'the definition names, and a server on TLS must present a certificate its callers trust (a',
      "public CA's, or the CA the definition gives for it). A component that checks one at start",
      'does not start without it (Authelia binds to its directory and pings its database, and',
      'either failure is fatal), and the sync waves after its own wait on it.',
      '',
      '| host | port | who calls it, and why |',
      '|---|---|---|',
      ...rows,
    ],
    commands: [],
  };
}

/**
 * The runbook step that lists what goes into the secret store before anything reads it: every
 * Secret the cluster's components declare, its keys with the store's id of each (the provider's
 * `entries`) and what it holds. None where no secrets provider runs or nothing is declared.
 */
function storeStep(run: ClusterRun): BootstrapStep | undefined {
  const provider = run.facts.secrets;
  if (provider === undefined) return undefined;
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const component of run.order) {
    for (const secret of run.contributions.get(component)?.secrets ?? []) {
      const id = `${secret.namespace}/${secret.name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const entries = provider.entries?.[id] ?? {};
      lines.push(
        `- \`${id}\` (${component})${secret.description === undefined ? '' : `: ${secret.description}`}`,
        ...[...secret.keys]
          .sort(compareStrings)
          .map((key) =>
            entries[key] === undefined
              ? `  - \`${key}\`: no entry of the store maps it yet`
              : `  - \`${key}\`: entry \`${entries[key]}\``,
          ),
      );
    }
  }
  if (lines.length === 0) return undefined;
  return {
    title: `Put the platform's secrets into ${provider.store}`,
    body: [
      `Every Secret below is filled from ${provider.store}, key by key, from the entry the`,
      'definition maps it to. Give each entry the value it describes before the hand-over:',
      'a Secret whose entry is missing stays empty, and what reads it does not start. The store',
      'gives an entry its id when the entry is made: for an entry made anew, map its id in the',
      'definition in place of the one below and build again.',
      '',
      ...lines,
    ],
    commands: [],
  };
}

function gitopsFacts(
  run: ClusterRun,
  plan: { readonly root: string; readonly applications: readonly RunbookApplication[] } | undefined,
): { gitops?: NonNullable<Parameters<typeof runbook>[0]['gitops']> } {
  const namespace = run.facts.gitops?.namespace;
  if (namespace === undefined || plan === undefined) return {};
  return {
    gitops: {
      namespace,
      root: plan.root,
      revision: run.cluster.profile.targetRevision,
      ...(run.facts.gitops?.stop === undefined ? {} : { stop: run.facts.gitops.stop }),
      // A chart's uninstall hook (its Application descriptor's), for the removal section.
      applications: plan.applications.map((app) => {
        const uninstall =
          app.bundle === undefined
            ? run.contributions.get(app.component)?.application?.uninstall
            : undefined;
        return uninstall === undefined ? app : { ...app, uninstall };
      }),
      external: plan.applications.flatMap((app) => {
        if (app.bundle !== undefined) return [];
        const routes = (run.contributions.get(app.component)?.routes ?? []).filter(
          (route) => route.workloads === 'external',
        );
        return routes.length === 0
          ? []
          : [{ application: app.application.metadata.name, hosts: routes.map((r) => r.host) }];
      }),
    },
  };
}

export interface TalosRenderResult {
  readonly files: GeneratedFile[];
  readonly issues: Issue[];
}

/**
 * Renders `clusters/<cluster>/talos/` for every cluster: role patches, one patch per node, the
 * Image Factory schematic, and the runbook `clusters/<cluster>/RUNBOOK.md`, from what the
 * components declared on each cluster (Talos needs, CRD bundles, bootstrap steps, hand-made secrets). Pure. A cluster with
 * errors (unsupported Talos version, conflicting requirements) gets no files; its issues say why.
 */
export function renderTalos(
  platform: ResolvedPlatform,
  components: ComponentsResult,
  options: RenderTalosOptions = {},
): TalosRenderResult {
  const command = options.generatedBy ?? TALOS_GENERATED_BY;
  // The checks read the documents back without parsing (emittedDocuments).
  const yamlFile = (path: string, documents: readonly unknown[]): GeneratedFile =>
    yamlDocumentsFile(path, documents, { header: generatedHeader(command) });
  const files: GeneratedFile[] = [];
  const issues: Issue[] = [];

  for (const run of components.clusters) {
    const { cluster } = run;
    const checked = checkTalosVersion(cluster.talosVersion, [
      'clusters',
      cluster.index,
      'talos',
      'version',
    ]);
    issues.push(...checked.issues);
    const baseline = clusterBaseline(cluster, run);
    const merged = mergeTalosRequirements(cluster, [
      ...talosRequirements(run),
      { source: 'talos-baseline', sysctls: baseline.sysctls },
      // The machines' own needs (microcode, firmware): `talos.extensions`.
      ...(cluster.definition.talos.extensions === undefined
        ? []
        : [{ source: 'talos.extensions', extensions: cluster.definition.talos.extensions }]),
    ]);
    issues.push(...merged.issues);
    const version = checked.version;
    // An unofficial extension name leaves the files as they are (the pipeline writes nothing on an
    // error): skipping them would add the system checks' complaints about the missing files.
    if (version !== undefined)
      issues.push(...officialExtensionIssues(version, extensionRequests(cluster, run)));
    if (version === undefined || merged.issues.some((issue) => issue.severity === 'error'))
      continue;

    const id = schematicId(merged.merged.extensions);
    // TPM-sealed keys need Talos booted from a signed UKI (SecureBoot): schematic.ts.
    const image = installerImage(id, version.tag, baseline.diskEncryption === 'tpm');
    const built = buildPatches({
      cluster,
      version,
      requirements: merged.merged,
      installImage: image,
    });
    issues.push(...built.issues);
    if (built.issues.some((issue) => issue.severity === 'error')) continue;

    const dir = `clusters/${cluster.name}/talos`;
    // The ingress firewall, on unless `talos.firewall: false` (firewall.ts).
    const firewall =
      cluster.definition.talos.firewall === false
        ? undefined
        : {
            cluster,
            podPorts: podToHostPorts(run),
            nodePorts: nodePortsOf(run).map(({ port }) => port),
            gatewayPorts: run.facts.gateway?.listenerPorts ?? [],
          };
    const firewallByRole =
      firewall === undefined
        ? undefined
        : {
            controlPlane: firewallRules(firewall, 'controlplane'),
            worker: firewallRules(firewall, 'worker'),
          };
    const withFirewall = (documents: TalosDocument[], role: 'controlPlane' | 'worker') =>
      firewallByRole === undefined
        ? documents
        : [...documents, ...firewallDocuments(firewallByRole[role])];
    const patches: ClusterPatches = {
      ...built.patches,
      controlPlane: withFirewall(
        withBaseline(built.patches.controlPlane, baseline, 'controlplane'),
        'controlPlane',
      ),
      worker: withFirewall(withBaseline(built.patches.worker, baseline, 'worker'), 'worker'),
    };
    files.push(
      yamlFile(`${dir}/controlplane.yaml`, patches.controlPlane),
      yamlFile(`${dir}/worker.yaml`, patches.worker),
      ...patches.nodes.map((patch) =>
        yamlFile(`${dir}/nodes/${patch.node.hostname}.yaml`, patch.documents),
      ),
      yamlFile(`${dir}/schematic.yaml`, [schematic(merged.merged.extensions)]),
      {
        path: runbookPath(cluster.name),
        content: runbook({
          header: generatedHeader(command, 'markdown'),
          ...(options.definition === undefined ? {} : { definition: options.definition }),
          cluster,
          version,
          requirements: merged.merged,
          patches,
          ...(firewallByRole === undefined ? {} : { firewall: firewallByRole }),
          baseline,
          schematicId: id,
          installImage: image,
          dir,
          steps: bootstrapSteps(
            run,
            options.finalSteps?.[cluster.name],
            options.firstSteps?.[cluster.name],
            platform,
          ),
          ...gitopsFacts(run, options.gitops?.[cluster.name]),
          disasterRecovery: run.providers.has('backup'),
          login: loginFacts(run),
          later: laterSteps(run),
          afterNodeReboot: run.order.flatMap((component) => {
            const wait = run.contributions.get(component)?.afterNodeReboot;
            return wait === undefined ? [] : [{ ...wait, component }];
          }),
          beforeLoneNodeReboot: run.order.flatMap((component) => {
            const hook = run.contributions.get(component)?.beforeLoneNodeReboot;
            return hook === undefined ? [] : [{ ...hook, component }];
          }),
          beforeNodeDrain: run.order.flatMap((component) => {
            const hooks = run.contributions.get(component)?.beforeNodeDrain;
            return hooks === undefined ? [] : [{ hooks, component }];
          }),
          drainHeld: run.order.flatMap((component) => {
            const held = run.contributions.get(component)?.drainHeld;
            return held === undefined ? [] : [{ ...held, component }];
          }),
          nodeLifecycle: run.order.flatMap((component) => {
            const lifecycle = run.contributions.get(component)?.nodeLifecycle;
            return lifecycle === undefined ? [] : [{ ...lifecycle, component }];
          }),
          whenDown: run.order.flatMap((component) => {
            const procedure = run.contributions.get(component)?.whenDown;
            return procedure === undefined ? [] : [{ ...procedure, component }];
          }),
        }),
      },
    );
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, issues };
}
