// Layer-4 checks of the facts Longhorn relies on, over what the build generates: the StorageClasses
// (charts/longhorn), the Talos patches and schematic (clusters/<cluster>/talos), and the volumes
// the components declare. Pure.
import {
  clusterRunbook,
  type DeployedCluster,
  type DeployedObject,
  deployedValues,
  error,
  fileDocuments,
  generatedFile,
  type Issue,
  type Json,
  parseBoundedWait,
  record,
  runbookPath,
  type SystemCheck,
  type SystemInput,
  settingsPath,
  valuesSource,
} from '@homelab/core';
import { CREATE_DISK_LABEL, DISKS_ANNOTATION, parseDisksAnnotation } from './disks.js';
import { RECURRING_JOB_SOURCE_LABEL, recurringJobGroupLabel, TIER_LABEL } from './manifests.js';
import { LONGHORN_CSI_DRIVER } from './versions.js';

const COMPONENT = 'longhorn';

/**
 * The clusters where Longhorn is the storage provider and the platform is deployed through its
 * GitOps controller (elsewhere no Application applies anything).
 */
function longhornClusters(clusters: readonly DeployedCluster[]): DeployedCluster[] {
  return clusters.filter(
    (deployed) =>
      deployed.run.providers.get('storage') === COMPONENT && deployed.applications.length > 0,
  );
}

function deployedObjects(deployed: DeployedCluster): DeployedObject[] {
  return deployed.applications.flatMap((app) => app.objects);
}

function longhornStorageClasses(deployed: DeployedCluster): DeployedObject[] {
  return deployedObjects(deployed).filter(
    ({ object }) =>
      object.apiVersion === 'storage.k8s.io/v1' &&
      object.kind === 'StorageClass' &&
      object.provisioner === LONGHORN_CSI_DRIVER,
  );
}

/** Per node, the tags of each disk Longhorn will create (from Longhorn's Talos node needs). */
function diskTags(deployed: DeployedCluster): Map<string, (readonly string[])[]> {
  const out = new Map<string, (readonly string[])[]>();
  const nodes = deployed.run.contributions.get(COMPONENT)?.talos?.nodes ?? {};
  for (const [hostname, needs] of Object.entries(nodes)) {
    if (needs.labels?.[CREATE_DISK_LABEL] !== 'config') continue;
    const disks = parseDisksAnnotation(needs.annotations?.[DISKS_ANNOTATION]) ?? [];
    out.set(
      hostname,
      disks.map((disk) => disk.tags),
    );
  }
  return out;
}

/** Replicas per tier never exceed the storage nodes with a disk of that tier. */
export const replicasPerTier: SystemCheck = {
  name: 'longhorn-replicas-per-tier',
  description:
    "A Longhorn StorageClass never asks for more replicas than there are storage nodes with a disk carrying its disk selector's tags (replicas of a volume live on distinct nodes): more would leave every volume degraded.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const tags = diskTags(deployed);
      for (const { object, source } of longhornStorageClasses(deployed)) {
        const parameters = record(object.parameters);
        const replicas = Number(parameters.numberOfReplicas ?? 3);
        const selector = String(parameters.diskSelector ?? '')
          .split(',')
          .map((tag) => tag.trim())
          .filter((tag) => tag !== '');
        const nodes = [...tags.entries()]
          .filter(([, disks]) => disks.some((disk) => selector.every((tag) => disk.includes(tag))))
          .map(([hostname]) => hostname)
          .sort();
        if (replicas <= nodes.length) continue;
        const tier = object.metadata.name;
        issues.push(
          error({
            code: 'longhorn-replicas-per-tier',
            path: settingsPath(
              deployed.cluster,
              COMPONENT,
              'tiers',
              tier,
              'replicas',
              deployed.cluster.environment,
            ),
            output: source,
            value: replicas,
            message:
              nodes.length === 0
                ? `tier "${tier}" asks for ${replicas} replica(s) on cluster "${deployed.cluster.name}", where no storage node has a disk of that tier`
                : `tier "${tier}" asks for ${replicas} replicas on cluster "${deployed.cluster.name}", but only ${nodes.length} storage node(s) have a disk of that tier (${nodes.join(', ')}); its volumes would stay degraded`,
            expected: `at most ${nodes.length} replica(s) for tier "${tier}", or disks of that tier on more nodes`,
          }),
        );
      }
    }
    return issues;
  },
};

/** A declared volume's tier has a StorageClass, i.e. disks, on its cluster. */
export const tierUsedWithoutDisks: SystemCheck = {
  name: 'storage-tier-without-disks',
  description:
    'Every declared volume asks for a tier that has a StorageClass on its cluster: a tier without a disk on any storage node there (or no such tier) would leave the claim Pending forever.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      // A tier's scratch class (its label names another tier) holds temporary copies only:
      // one replica, no snapshots or backups. A declared volume never asks for it.
      const classes = new Set(
        deployedObjects(deployed)
          .filter(
            ({ object }) =>
              object.kind === 'StorageClass' &&
              (object.metadata.labels?.[TIER_LABEL] ?? object.metadata.name) ===
                object.metadata.name,
          )
          .map(({ object }) => object.metadata.name),
      );
      for (const [component, contribution] of deployed.run.contributions) {
        for (const volume of contribution.volumes ?? []) {
          if (classes.has(volume.tier)) continue;
          issues.push(
            error({
              code: 'storage-tier-without-disks',
              path: settingsPath(deployed.cluster, component),
              value: volume.tier,
              message: `${component} declares volume ${volume.namespace}/${volume.name} on tier "${volume.tier}", but no storage node of cluster "${deployed.cluster.name}" has a disk of that tier, so there is no StorageClass for it`,
              expected: `a data disk of tier "${volume.tier}" on a storage node (nodes[].disks), or a tier that has one (${[...classes].sort().join(', ') || 'none'})`,
            }),
          );
        }
      }
    }
    return issues;
  },
};

/** The recurring-job labels a class's `recurringJobSelector` gives its volumes. */
function selectorLabels(parameters: Json): string[] | undefined {
  const raw = parameters.recurringJobSelector;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed
    .map(record)
    .filter((job) => typeof job.name === 'string')
    .map((job) =>
      job.isGroup === true
        ? recurringJobGroupLabel(String(job.name))
        : `recurring-job.longhorn.io/${String(job.name)}`,
    )
    .sort();
}

/** Whether an Application's ignoreDifferences hides a claim's labels from Argo CD's diff. */
function ignoresClaimLabels(application: Json): boolean {
  const spec = record(application.spec);
  const entries = Array.isArray(spec.ignoreDifferences) ? spec.ignoreDifferences : [];
  return entries.map(record).some((entry) => {
    if (entry.kind !== 'PersistentVolumeClaim' || (entry.group ?? '') !== '') return false;
    const pointers = Array.isArray(entry.jsonPointers) ? entry.jsonPointers.map(String) : [];
    const jq = Array.isArray(entry.jqPathExpressions) ? entry.jqPathExpressions.map(String) : [];
    return (
      pointers.some((p) => p === '/metadata' || p.startsWith('/metadata/labels')) ||
      jq.some((e) => e === '.metadata' || e.startsWith('.metadata.labels'))
    );
  });
}

/**
 * Every claim on a Longhorn class with recurring jobs is the source of its volume's recurring-job
 * labels and names the class's groups, and its Application sees those labels.
 */
export const claimRecurringJobs: SystemCheck = {
  name: 'longhorn-claim-recurring-jobs',
  description:
    "Every PersistentVolumeClaim the build deploys on a Longhorn StorageClass with a `recurringJobSelector` carries `recurring-job.longhorn.io/source: enabled` and the label of each group or job the selector names, and its Application ignores no difference in the claim's labels: Longhorn labels a volume with its class's jobs only when it creates it and strips a group's label from every volume and claim when the group's last RecurringJob is deleted, so without the claim as the source, restored by Argo CD, jobs given back to the tier never reach the volumes that existed before.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const classes = new Map<string, string[]>();
      let defaultClass: string | undefined;
      for (const { object } of longhornStorageClasses(deployed)) {
        const labels = selectorLabels(record(object.parameters));
        if (labels === undefined || labels.length === 0) continue;
        classes.set(object.metadata.name, labels);
        if (
          object.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true'
        ) {
          defaultClass = object.metadata.name;
        }
      }
      for (const app of deployed.applications) {
        const hidden = ignoresClaimLabels(record(app.application));
        for (const { object, source } of app.objects) {
          if (object.apiVersion !== 'v1' || object.kind !== 'PersistentVolumeClaim') continue;
          const spec = record(object.spec);
          const className =
            typeof spec.storageClassName === 'string' ? spec.storageClassName : defaultClass;
          const wanted = className === undefined ? undefined : classes.get(className);
          if (wanted === undefined) continue;
          const labels = object.metadata.labels ?? {};
          const missing = [RECURRING_JOB_SOURCE_LABEL, ...wanted].filter(
            (label) => labels[label] !== 'enabled',
          );
          const claim = `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
          if (missing.length > 0) {
            issues.push(
              error({
                code: 'longhorn-claim-recurring-jobs',
                path: settingsPath(deployed.cluster, app.component),
                output: source,
                value: missing,
                message: `claim ${claim} of ${app.component} on cluster "${deployed.cluster.name}" is on Longhorn class "${className}" without ${missing.map((l) => `\`${l}: enabled\``).join(', ')}: once the class's last recurring job is deleted Longhorn strips the group from its volume for good, and snapshots and backups given back later never reach it`,
                expected: `the labels ${[RECURRING_JOB_SOURCE_LABEL, ...wanted].map((l) => `\`${l}: enabled\``).join(', ')} on the claim`,
              }),
            );
          } else if (hidden) {
            issues.push(
              error({
                code: 'longhorn-claim-recurring-jobs',
                path: settingsPath(deployed.cluster, app.component),
                output: source,
                value: app.name,
                message: `Application "${app.name}" on cluster "${deployed.cluster.name}" ignores differences in the labels of claim ${claim}: Argo CD would never put back the recurring-job group Longhorn strips from it`,
                expected: `no ignoreDifferences on PersistentVolumeClaim labels in Application "${app.name}"`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

/** The documents of a generated file: those it was emitted from, else its parsed text. */
function file(input: SystemInput, path: string): readonly Json[] | undefined {
  const found = generatedFile(input, path);
  if (found === undefined) return undefined;
  return fileDocuments(found) as readonly Json[];
}

function hasMount(patch: readonly Json[] | undefined): boolean {
  const machine = record(patch?.find((doc) => doc.kind === undefined)?.machine);
  const mounts = record(machine.kubelet).extraMounts;
  return (
    Array.isArray(mounts) &&
    mounts.some((mount) => {
      const m = record(mount);
      const options = Array.isArray(m.options) ? m.options : [];
      return (
        m.destination === '/var/lib/longhorn' &&
        m.source === '/var/lib/longhorn' &&
        ['bind', 'rshared', 'rw'].every((option) => options.includes(option))
      );
    })
  );
}

/** Longhorn never runs without the Talos extensions, the propagated data path and its disks. */
export const talosPrerequisites: SystemCheck = {
  name: 'longhorn-talos-prerequisites',
  description:
    "Where Longhorn runs, the cluster's Talos material has what it needs: the iscsi-tools and util-linux-tools extensions in the schematic, /var/lib/longhorn mounted into the kubelet with bind, rshared and rw on every role, and on each storage node the create-default-disk label, the disk annotation and a UserVolumeConfig per data disk.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const { cluster } = deployed;
      const dir = `clusters/${cluster.name}/talos`;
      const at = settingsPath(cluster, COMPONENT);
      const problem = (output: string, message: string, expected: string) =>
        issues.push(
          error({ code: 'longhorn-talos-prerequisites', path: at, output, message, expected }),
        );
      const schematic = file(input, `${dir}/schematic.yaml`);
      const extensions = (record(record(record(schematic?.[0]).customization).systemExtensions)
        .officialExtensions ?? []) as unknown[];
      for (const extension of ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools']) {
        if (!extensions.includes(extension)) {
          problem(
            `${dir}/schematic.yaml`,
            `Longhorn runs on cluster "${cluster.name}" but the Talos image lacks the ${extension} extension`,
            `${extension} in the schematic's systemExtensions`,
          );
        }
      }
      for (const role of ['controlplane', 'worker']) {
        if (!hasMount(file(input, `${dir}/${role}.yaml`))) {
          problem(
            `${dir}/${role}.yaml`,
            `Longhorn runs on cluster "${cluster.name}" but the ${role} patch does not mount /var/lib/longhorn into the kubelet with bind, rshared, rw`,
            'machine.kubelet.extraMounts with /var/lib/longhorn (bind, rshared, rw)',
          );
        }
      }
      for (const node of cluster.storageNodes) {
        const path = `${dir}/nodes/${node.hostname}.yaml`;
        const patch = file(input, path);
        const machine = record(patch?.find((doc) => doc.kind === undefined)?.machine);
        if (record(machine.nodeLabels)[CREATE_DISK_LABEL] !== 'config') {
          problem(
            path,
            `storage node "${node.hostname}" lacks the label ${CREATE_DISK_LABEL}: config; Longhorn would create no disk there`,
            `machine.nodeLabels.${CREATE_DISK_LABEL}: config`,
          );
        }
        if (
          parseDisksAnnotation(record(machine.nodeAnnotations)[DISKS_ANNOTATION] as string) ===
          undefined
        ) {
          problem(
            path,
            `storage node "${node.hostname}" lacks a readable ${DISKS_ANNOTATION} annotation`,
            `machine.nodeAnnotations.${DISKS_ANNOTATION}: a JSON list of disks`,
          );
        }
        const volumes = new Set(
          (patch ?? [])
            .filter((doc) => doc.kind === 'UserVolumeConfig')
            .map((doc) => doc.name as string),
        );
        for (const disk of node.disks) {
          if (!volumes.has(disk.name)) {
            problem(
              path,
              `data disk "${disk.name}" of storage node "${node.hostname}" has no UserVolumeConfig: /var/mnt/${disk.name} would not exist`,
              `a UserVolumeConfig named ${disk.name}`,
            );
          }
        }
      }
    }
    return issues;
  },
};

/** Keys Longhorn reads from its backup target's credential Secret (AWS_ENDPOINTS: optional). */
const BACKUP_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

const SECRET_PATH = ['longhorn', 'defaultBackupStore', 'backupTargetCredentialSecret'];

/** The backup target's S3 credentials come from a Secret declared to the secrets provider. */
export const backupCredentials: SystemCheck = {
  name: 'longhorn-backup-credentials',
  description:
    "The Secret Longhorn's backup target reads its S3 credentials from (charts/longhorn, defaultBackupStore.backupTargetCredentialSecret) is declared by a component in longhorn-system with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, so the secrets provider fills it.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      // The layers merged as Argo CD passes them: the setting may sit in the environment's layer.
      const app = deployed.applications.find((candidate) => candidate.component === COMPONENT);
      const merged = app === undefined ? undefined : deployedValues(input, app);
      if (app === undefined || merged === undefined) continue;
      const values = record(record(merged).longhorn);
      const secret = record(values.defaultBackupStore).backupTargetCredentialSecret;
      if (typeof secret !== 'string') continue;
      const declared = [...deployed.run.contributions.values()]
        .flatMap((contribution) => contribution.secrets ?? [])
        .find((s) => s.name === secret && s.namespace === 'longhorn-system');
      const missing = BACKUP_KEYS.filter((key) => !(declared?.keys ?? []).includes(key));
      if (missing.length === 0) continue;
      issues.push(
        error({
          code: 'longhorn-backup-credentials',
          path: settingsPath(deployed.cluster, COMPONENT, 'backupTarget', 'credentialsSecret'),
          output:
            valuesSource(input, app, SECRET_PATH) ??
            `charts/longhorn/clusters/${deployed.cluster.name}.yaml`,
          value: secret,
          message:
            declared === undefined
              ? `Longhorn's backup target on cluster "${deployed.cluster.name}" reads its S3 credentials from the Secret longhorn-system/${secret}, which no component declares, so the secrets provider never fills it`
              : `the Secret longhorn-system/${secret} of Longhorn's backup target lacks ${missing.join(', ')}`,
          expected: `longhorn-system/${secret} declared with ${BACKUP_KEYS.join(', ')}`,
        }),
      );
    }
    return issues;
  },
};

/** The lines of the ```sh blocks of `**<hostname>**`'s paragraph in a runbook subsection. */
function nodeBlock(runbook: string, heading: string, hostname: string): string[] | undefined {
  const start = runbook.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  const end = runbook.indexOf('\n### ', start + heading.length + 2);
  const section = runbook.slice(start, end < 0 ? undefined : end);
  const at = section.indexOf(`\n**${hostname}**`);
  if (at < 0) return undefined;
  const rest = section.slice(at + 1);
  const next = rest.indexOf('\n**', 1);
  const paragraph = next < 0 ? rest : rest.slice(0, next);
  // A node's paragraph may hold more than one block (what to check, then what to apply).
  const blocks = [...paragraph.matchAll(/^```sh\n([\s\S]*?)^```$/gm)];
  return blocks.length === 0
    ? undefined
    : blocks.flatMap((block) => (block[1] as string).split('\n'));
}

const REMOVED_HEADING = '### Retiring a node no longer in the definition';

/** The ```sh blocks of the runbook's "Retiring a node no longer in the definition", as lines. */
function removedNodeBlocks(runbook: string): string[][] | undefined {
  const start = runbook.indexOf(`\n${REMOVED_HEADING}\n`);
  if (start < 0) return undefined;
  const end = runbook.indexOf('\n### ', start + REMOVED_HEADING.length + 2);
  const section = runbook.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) =>
    (match[1] as string).split('\n'),
  );
}

/**
 * What is wrong with a block of "Retiring a node no longer in the definition" (its node in
 * `$NODE`), or undefined: the Longhorn node patched (scheduling off, eviction requested) and a
 * wait until no replica names `$NODE`, after the cordon and before the drain; every line from
 * the cordon to the drain chained with `&&`, and the drain on the line right before the reset.
 */
function removedNodeProblem(block: readonly string[]): 'order' | 'chain' | undefined {
  const index = (test: (line: string) => boolean) => block.findIndex(test);
  const cordon = index((line) => line.startsWith('kubectl cordon "$NODE"'));
  const evict = index(
    (line) =>
      line.includes('kubectl -n longhorn-system patch nodes.longhorn.io "$NODE" ') &&
      line.includes('"evictionRequested":true') &&
      line.includes('"allowScheduling":false'),
  );
  const wait = index((line) => {
    const condition = parseBoundedWait(line)?.condition ?? '';
    return (
      condition.includes('get replicas.longhorn.io') &&
      condition.includes(`@.spec.nodeID=="'"$NODE"'"`)
    );
  });
  const drain = index((line) => line.startsWith('kubectl drain "$NODE" '));
  const reset = index((line) => line.startsWith('talosctl reset '));
  if ([cordon, evict, wait, drain, reset].some((at) => at < 0)) return 'order';
  if (!(cordon < evict && evict < wait && wait < drain && drain < reset)) return 'order';
  if (drain !== reset - 1) return 'chain';
  for (let at = cordon; at <= drain; at++) {
    if (!block[at]?.endsWith(' &&')) return 'chain';
  }
  return undefined;
}

/**
 * Retiring a storage node resets it (Talos wipes its system disk, `/var/lib/longhorn` with it)
 * and deletes its Node: every replica on it must have moved first, or a volume loses the replicas
 * there (its last healthy one, where the others are degraded). And a joined node takes replicas
 * only once Longhorn made the disks of its Talos patch's annotation schedulable.
 */
export const nodeLifecycle: SystemCheck = {
  name: 'longhorn-node-lifecycle',
  description:
    'Where Longhorn runs on a cluster of more than one node, the runbook\'s node lifecycle evicts each storage node\'s replicas and waits until none is left on it, after its cordon and before its drain and talosctl reset, and after a storage node joined waits until every disk its Talos patch annotates is schedulable; on every cluster where Longhorn runs, each block of "Retiring a node no longer in the definition" patches the Longhorn node of `$NODE` (allowScheduling false, evictionRequested true) and waits until no replica names it, after the cordon and before the drain, every line from the cordon to the drain chained with && and the drain on the line right before talosctl reset.',
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const { cluster } = deployed;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (typeof runbook !== 'string') continue;
      const at = settingsPath(cluster, COMPONENT);
      const problem = (message: string, expected: string) =>
        issues.push(
          error({ code: 'longhorn-node-lifecycle', path: at, output: path, message, expected }),
        );
      // A node no longer in the definition: any cluster may have had one, a one-node one included.
      const removed = removedNodeBlocks(runbook);
      if (removed === undefined || removed.length === 0) {
        problem(
          `the runbook of cluster "${cluster.name}" has no block under "${REMOVED_HEADING.slice(4)}": a node removed from the definition would be retired without its Longhorn replicas evicted`,
          `"${REMOVED_HEADING.slice(4)}" with a block per role that evicts the node's Longhorn replicas before its drain`,
        );
      }
      for (const block of removed ?? []) {
        const role = block.some((line) => line.includes(' etcd members'))
          ? 'control plane'
          : 'worker';
        const wrong = removedNodeProblem(block);
        if (wrong === 'order') {
          problem(
            `the runbook's block for a ${role} no longer in the definition does not patch its Longhorn node (allowScheduling false, evictionRequested true) and wait until no replica names it after kubectl cordon and before kubectl drain: the reset wipes the replicas still on the node, a volume's last healthy one included`,
            'kubectl cordon "$NODE", then the Longhorn node of $NODE patched with allowScheduling false and evictionRequested true, then a wait until no replica has spec.nodeID $NODE, then kubectl drain and talosctl reset',
          );
        } else if (wrong === 'chain') {
          problem(
            `the runbook's block for a ${role} no longer in the definition does not chain its steps from kubectl cordon to kubectl drain with &&, the drain on the line right before talosctl reset: a pasted block runs the reset (which wipes the node's replicas) after the eviction failed or the drain gave up`,
            'each line from kubectl cordon "$NODE" to kubectl drain "$NODE" … --timeout=5m ending with &&, and talosctl reset on the line right after the drain',
          );
        }
      }
      if (cluster.nodes.length < 2) continue;
      for (const node of cluster.storageNodes) {
        const patch = file(input, `clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml`);
        const machine = record(patch?.find((doc) => doc.kind === undefined)?.machine);
        const disks = parseDisksAnnotation(
          record(machine.nodeAnnotations)[DISKS_ANNOTATION] as string,
        );
        if (disks === undefined || disks.length === 0) continue;
        const retire = nodeBlock(runbook, '### Retiring a node', node.hostname);
        if (retire !== undefined) {
          const index = (test: (line: string) => boolean) => retire.findIndex(test);
          const cordon = index((line) => line.startsWith('kubectl cordon '));
          const evict = index(
            (line) =>
              line.startsWith(
                `kubectl -n longhorn-system patch nodes.longhorn.io ${node.hostname} `,
              ) &&
              line.includes('"evictionRequested":true') &&
              line.includes('"allowScheduling":false'),
          );
          const wait = index(
            (line) =>
              line.includes('get replicas.longhorn.io') &&
              line.includes(`@.spec.nodeID=="${node.hostname}"`),
          );
          const drain = index((line) => line.startsWith('kubectl drain '));
          const reset = index((line) => line.startsWith('talosctl reset '));
          if (
            cordon < 0 ||
            evict < 0 ||
            wait < 0 ||
            reset < 0 ||
            !(cordon < evict && evict < wait && wait < (drain < 0 ? reset : drain) && wait < reset)
          ) {
            problem(
              `the runbook retires storage node "${node.hostname}" without evicting its Longhorn replicas and waiting until none is left before its drain and reset: the reset wipes them`,
              'kubectl cordon, then the Longhorn node patched with allowScheduling false and evictionRequested true, then a wait until no replica names the node, then kubectl drain and talosctl reset',
            );
          } else if (drain >= 0 && (drain !== reset - 1 || !retire[drain]?.endsWith(' &&'))) {
            // A pasted block runs every line whatever the one before did; a graceful reset's own
            // drain only logs what it could not evict (Talos' Reset sequence) and wipes the node.
            problem(
              `the runbook resets storage node "${node.hostname}" on a line not chained to its kubectl drain: a pasted block runs talosctl reset (which wipes the node's replicas) even after the drain gave up on a PodDisruptionBudget that protects a volume's last healthy replica`,
              `kubectl drain ${node.hostname} … --timeout=5m && on the line right before talosctl reset`,
            );
          }
        }
        const join = nodeBlock(runbook, '### Adding a node', node.hostname);
        if (join !== undefined) {
          const line = join.find((candidate) =>
            candidate.includes(`nodes.longhorn.io ${node.hostname} `),
          );
          const waited =
            line === undefined
              ? []
              : [
                  ...line.matchAll(
                    /\.status\.diskStatus(?:\.([A-Za-z0-9_-]+)|\['([^']*)'\])\.conditions/g,
                  ),
                ].map((match) => match[1] ?? match[2]);
          const names = disks.map((disk) => disk.name);
          if (waited.slice().sort().join(',') !== names.slice().sort().join(',')) {
            problem(
              `the runbook waits, after storage node "${node.hostname}" joined, for the disks ${waited.join(', ') || 'none'}, but its patch annotates ${names.join(', ')}`,
              'a wait for every disk of the node annotation to be Schedulable, and no other',
            );
          }
        }
      }
    }
    return issues;
  },
};

export const DISK_CHANGES_HEADING = "## Later: changing a storage node's disks";

/** The lines of the ```sh block of `**<hostname>**`'s paragraph under a `## ` heading. */
function laterNodeBlock(runbook: string, hostname: string): string[] | undefined {
  const start = runbook.indexOf(`\n${DISK_CHANGES_HEADING}\n`);
  if (start < 0) return undefined;
  const end = runbook.indexOf('\n## ', start + DISK_CHANGES_HEADING.length + 2);
  const section = runbook.slice(start, end < 0 ? undefined : end);
  const at = section.indexOf(`\n**${hostname}**`);
  if (at < 0) return undefined;
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section.slice(at + 1));
  return block === null ? undefined : (block[1] as string).split('\n');
}

/** A disk as the node annotation lists it, all fields. */
interface AnnotatedDisk {
  readonly name: string;
  readonly path: string;
  readonly allowScheduling: boolean;
  readonly storageReserved?: number;
  readonly tags: readonly string[];
}

/**
 * What is wrong with a node's block of "Later: changing a storage node's disks" against the
 * disks its Talos patch annotates, or undefined: every `kubectl patch nodes.longhorn.io <node>
 * --type=merge -p '<json>'` names only annotated disks, each with the annotation's path and tags
 * (and reserve, where it gives one), every annotated disk is set schedulable by one of them, and
 * a wait for every annotated disk to be `Schedulable` follows them.
 */
function diskChangeProblem(
  block: readonly string[],
  hostname: string,
  annotated: readonly AnnotatedDisk[],
): string | undefined {
  const prefix = `kubectl -n longhorn-system patch nodes.longhorn.io ${hostname} --type=merge -p '`;
  const patches: { line: number; disks: Json }[] = [];
  block.forEach((text, line) => {
    const at = text.indexOf(prefix);
    if (at < 0) return;
    const json = text.slice(at + prefix.length, text.indexOf("'", at + prefix.length));
    try {
      patches.push({ line, disks: record(record(record(JSON.parse(json)).spec).disks) });
    } catch {
      patches.push({ line, disks: { '(unreadable patch)': {} } });
    }
  });
  const names = annotated.map((disk) => disk.name);
  const extra = [...new Set(patches.flatMap((patch) => Object.keys(patch.disks)))].filter(
    (name) => !names.includes(name),
  );
  if (extra.length > 0) return `patches disks its annotation does not list: ${extra.join(', ')}`;
  for (const disk of annotated) {
    const specs = patches.map((patch) => patch.disks[disk.name]).filter((d) => d !== undefined);
    const wrong = specs
      .map(record)
      .filter(
        (spec) =>
          spec.path !== disk.path ||
          JSON.stringify(spec.tags) !== JSON.stringify(disk.tags) ||
          (disk.storageReserved !== undefined && spec.storageReserved !== disk.storageReserved),
      );
    if (
      specs.length === 0 ||
      wrong.length > 0 ||
      !specs.some((d) => record(d).allowScheduling === true)
    )
      return `does not give disk "${disk.name}" what its annotation says (path ${disk.path}, tags ${disk.tags.join(', ')}${disk.storageReserved === undefined ? '' : `, storageReserved ${disk.storageReserved}`}, scheduling on)`;
  }
  const last = Math.max(...patches.map((patch) => patch.line));
  const wait = block.findIndex((line, index) => {
    const condition = parseBoundedWait(line)?.condition;
    return (
      index > last &&
      condition !== undefined &&
      condition.includes(`nodes.longhorn.io ${hostname} `) &&
      [
        ...condition.matchAll(
          /\.status\.diskStatus(?:\.([A-Za-z0-9_-]+)|\['([^']*)'\])\.conditions/g,
        ),
      ]
        .map((match) => match[1] ?? match[2])
        .sort()
        .join(',') === names.slice().sort().join(',')
    );
  });
  return wait < 0
    ? 'does not wait, after its patches, until every annotated disk is Schedulable'
    : undefined;
}

/**
 * longhorn-manager v1.8.1 builds a node's disks from the annotation of its Talos patch only
 * while its Longhorn node has none (`syncDefaultDisks`): the disks the patch annotates on a node
 * Longhorn already knows reach Longhorn only through the runbook's "Later: changing a storage
 * node's disks", which must give each the annotation's values.
 */
export const diskChanges: SystemCheck = {
  name: 'longhorn-disk-changes',
  description:
    "Where Longhorn runs, the runbook's \"Later: changing a storage node's disks\" has a block for every storage node whose Talos patch annotates disks (node.longhorn.io/default-disks-config): its Longhorn node patches name only those disks, each with the annotation's path, tags and storageReserved, each set schedulable, followed by a wait until every one of them is Schedulable.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const { cluster } = deployed;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (typeof runbook !== 'string') continue;
      for (const node of cluster.storageNodes) {
        const patch = file(input, `clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml`);
        const machine = record(patch?.find((doc) => doc.kind === undefined)?.machine);
        const value = record(machine.nodeAnnotations)[DISKS_ANNOTATION];
        let annotated: AnnotatedDisk[] = [];
        try {
          annotated = typeof value === 'string' ? (JSON.parse(value) as AnnotatedDisk[]) : [];
        } catch {
          annotated = [];
        }
        if (!Array.isArray(annotated) || annotated.length === 0) continue;
        const block = laterNodeBlock(runbook, node.hostname);
        const wrong =
          block === undefined
            ? `has no block for it under "${DISK_CHANGES_HEADING.slice(3)}"`
            : diskChangeProblem(block, node.hostname, annotated);
        if (wrong === undefined) continue;
        issues.push(
          error({
            code: 'longhorn-disk-changes',
            path: settingsPath(cluster, COMPONENT),
            output: path,
            message: `the runbook ${wrong} (storage node "${node.hostname}"): Longhorn reads the node's disk annotation only while its Longhorn node has no disk, so a disk added or re-tagged in the definition reaches Longhorn only through this block`,
            expected: `a block for "${node.hostname}" that patches its Longhorn node with exactly the annotated disks and their values, then waits until they are Schedulable`,
          }),
        );
      }
    }
    return issues;
  },
};

/**
 * Talos (v1.12.11, v1.13.9: the Upgrade sequence's CordonAndDrainNode, pkg/kubernetes `Drain`)
 * drains a node on 1.12 before an upgrade but gives up after `DrainTimeout` (5 minutes), only
 * logging the pods it could not evict, and upgrades: it stops the instance manager that
 * Longhorn's PodDisruptionBudget protected while the node held an attached volume or a volume's
 * last healthy replica. A node on 1.13 is drained by talosctl 1.13 (`upgradeViaLifecycleService`,
 * `nodedrain.CordonAndDrain`), which fails after 5 minutes with no reboot, the node left cordoned.
 * Before a reboot neither drains at all. The runbook must drain each storage
 * node with `kubectl drain` (which fails when it gives up, and the block stops) before its
 * `talosctl upgrade` and its `talosctl reboot`.
 */
export const upgradeDrain: SystemCheck = {
  name: 'longhorn-upgrade-drain',
  description:
    "Where Longhorn runs on a cluster of more than one node, the runbook drains each storage node with kubectl drain before its talosctl upgrade and its talosctl reboot: Talos' own drain (a node on 1.12) gives up after 5 minutes and upgrades anyway, past the instance manager's PodDisruptionBudget, and nothing drains before a reboot.",
  check(input) {
    const issues: Issue[] = [];
    for (const deployed of longhornClusters(input.clusters)) {
      const { cluster } = deployed;
      const path = runbookPath(cluster.name);
      const runbook = clusterRunbook(input, cluster.name);
      if (typeof runbook !== 'string' || cluster.nodes.length < 2) continue;
      for (const node of cluster.storageNodes) {
        for (const [heading, command] of [
          ['### Talos', 'talosctl upgrade '],
          ['## Later: changing Talos settings', 'talosctl reboot '],
        ] as const) {
          const block = nodeBlock(runbook, heading, node.hostname);
          if (block === undefined) continue;
          const drain = block.findIndex(
            (line) =>
              line.startsWith(`kubectl drain ${node.hostname} `) && line.includes('--timeout='),
          );
          const act = block.findIndex((line) => line.startsWith(command));
          // Chained: the drain's line ends with `&&` and the command is the next line, so a
          // drain that gives up stops it (a pasted block runs every line whatever the one
          // before did).
          if (act >= 0 && (drain < 0 || drain !== act - 1 || !block[drain]?.endsWith(' &&'))) {
            issues.push(
              error({
                code: 'longhorn-upgrade-drain',
                path: settingsPath(cluster, COMPONENT),
                output: path,
                message: `the runbook runs ${command.trim()} on storage node "${node.hostname}" without a kubectl drain it is chained to (\`kubectl drain … &&\` on the line before): Talos' own drain gives up after 5 minutes and goes on, stopping the Longhorn instance manager whose PodDisruptionBudget protects an attached volume or a volume's last healthy replica, and a pasted block runs ${command.trim()} even after kubectl drain gave up`,
                expected: `kubectl drain ${node.hostname} … --timeout=5m && on the line right before ${command.trim()}, in the node's block`,
              }),
            );
          }
        }
      }
    }
    return issues;
  },
};

export const longhornChecks: readonly SystemCheck[] = [
  nodeLifecycle,
  diskChanges,
  upgradeDrain,
  replicasPerTier,
  tierUsedWithoutDisks,
  claimRecurringJobs,
  talosPrerequisites,
  backupCredentials,
];
