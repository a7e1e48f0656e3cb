// @homelab/longhorn: the Longhorn component. Provides `storage`: one StorageClass per tier on the
// disks of that tier, and a PersistentVolumeClaim for every volume another component declares.
// Declares what Longhorn needs from Talos (the iSCSI and util-linux extensions, the propagated
// data path, the data disks as user volumes and the node annotations Longhorn creates its disks
// from), its S3 credentials, its Application. Pure.
import {
  type ApplicationDescriptor,
  type BootstrapStep,
  boundedWait,
  type ChartSpec,
  type ChartUninstall,
  type Component,
  type ComponentOutput,
  type ConsumerManifests,
  caBundleIssues,
  compareStrings,
  DEFAULT_CLUSTER_DOMAIN,
  type Declaration,
  type DeclareInput,
  ENVIRONMENTS,
  type EnvironmentName,
  error,
  type Issue,
  type KubeObject,
  type ManifestOrigin,
  type NodeLifecycle,
  type NodeRebootWait,
  parseCron,
  type RenderCluster,
  type RenderInput,
  type ResolvedCluster,
  type RouteRequest,
  S3_KEY_ROTATION,
  type SecretRequirement,
  s3BucketIssues,
  s3EndpointIssues,
  shellQuote,
  type TalosNeeds,
  type Values,
  WAIT_SECONDS,
  warning,
} from '@homelab/core';
import { longhornChanges } from './changes.js';
import { longhornChecks } from './checks.js';
import {
  type ClusterDisks,
  clusterDisks,
  DISKS_ANNOTATION,
  type DiskConfig,
  diskSpecPatch,
  nodesWithTier,
} from './disks.js';
import { longhornFlows } from './flows.js';
import type { LonghornSettings } from './generated/settings.js';
import {
  claimOrigin,
  persistentVolumeClaim,
  recurringJobs,
  scratchClassName,
  scratchStorageClass,
  storageClass,
} from './manifests.js';
import {
  LONGHORN_NAMESPACE,
  longhornSettingsSpec,
  type ResolvedLonghornSettings,
  resolveLonghornSettings,
  SYSTEM_DISK_PATH,
} from './settings.js';
import { longhornValidators } from './validators.js';
import {
  LONGHORN_APP_VERSIONS,
  LONGHORN_CSI_DRIVER,
  LONGHORN_IMAGE_REPOSITORIES,
  LONGHORN_REPOSITORY,
  LONGHORN_UPGRADE_PATH,
  LONGHORN_UPSTREAM,
} from './versions.js';

/** Key of the upstream chart's values in charts/longhorn. */
export const LONGHORN_VALUES_KEY = 'longhorn';

/** Extensions Longhorn needs in the Talos image (Longhorn's "Talos Linux Support"). */
export const LONGHORN_EXTENSIONS = ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'];

/** Longhorn's data path, propagated into the kubelet (bind, rshared, rw). */
export const LONGHORN_KUBELET_MOUNT = {
  destination: '/var/lib/longhorn',
  type: 'bind',
  source: '/var/lib/longhorn',
  options: ['bind', 'rshared', 'rw'],
} as const;

/** longhorn.io kinds whose CRDs the chart installs (templates/crds.yaml) that the platform uses. */
const LONGHORN_KINDS = ['BackupTarget', 'RecurringJob', 'Setting'];

const UI_SERVICE = { name: 'longhorn-frontend', port: 80 };

type Settings = LonghornSettings;

/**
 * The StorageClasses of a cluster whose volumes have one replica: the tiers with one replica on
 * it, and the scratch class of every tier (`<tier>-scratch`, one replica), which holds lasting
 * volumes: VolSync v0.16.0 keeps a ReplicationSource's restic cache on the class of its temporary
 * copies (`volsync-src-<name>-cache`, never deleted between runs: mover.go `ensureCache`,
 * `From(m.vh)`), and a protected volume's bootstrap keeps its restored volume there for good (the
 * snapshot new claims are cloned from).
 */
export function oneReplicaClasses(
  tiers: readonly { readonly name: string; readonly replicas: number }[],
): string[] {
  return tiers
    .flatMap((tier) => [...(tier.replicas === 1 ? [tier.name] : []), scratchClassName(tier.name)])
    .sort(compareStrings);
}

/**
 * The node drain policy a PDB-respecting drain can finish with (longhorn-manager v1.8.1
 * `canDeleteInstanceManagerPDB`, `NodeController.shouldEvictReplica`). Longhorn keeps a
 * PodDisruptionBudget on the node's instance manager while the node holds the last healthy
 * replica of a volume, attached or not. With one storage node nothing can move: always allow
 * (the replica stays on the node's disk and the volume comes back with the node). Where a class
 * has one-replica volumes (`oneReplicaClasses`) on a cluster with more storage nodes, their
 * replica is always the last one: Longhorn copies it to another node first, then allows the
 * drain (`block-for-eviction-if-contains-last-replica`; under `block-if-contains-last-replica`
 * the drain would wait for ever). Otherwise the other replicas keep every volume alive, and
 * only a last replica (its others still rebuilding) blocks.
 */
export function nodeDrainPolicy(
  storageNodes: number,
  oneReplica: readonly string[],
):
  | 'always-allow'
  | 'block-for-eviction-if-contains-last-replica'
  | 'block-if-contains-last-replica' {
  if (storageNodes <= 1) return 'always-allow';
  if (oneReplica.length > 0) return 'block-for-eviction-if-contains-last-replica';
  return 'block-if-contains-last-replica';
}

/** The tiers a cluster renders a StorageClass for: those with a disk on some storage node. */
function renderedTiers(settings: ResolvedLonghornSettings, disks: ClusterDisks) {
  return settings.tiers.filter((tier) => nodesWithTier(disks.disks, tier.name).length > 0);
}

function talosNeeds(disks: ClusterDisks): TalosNeeds {
  return {
    extensions: [...LONGHORN_EXTENSIONS],
    kubeletExtraMounts: [
      { ...LONGHORN_KUBELET_MOUNT, options: [...LONGHORN_KUBELET_MOUNT.options] },
    ],
    nodes: disks.talos,
  };
}

/** The kubelet's root on Talos (longhorn-driver-deployer detects it; Talos keeps the default). */
const KUBELET_ROOT = '/var/lib/kubelet';

/**
 * Every host path Longhorn 1.8.1's pods mount on a cluster, from the chart and from the workloads
 * longhorn-manager creates at run time (v1.8.1 sources), exactly (the admission policy allows a
 * declared path and what lies below it):
 * - longhorn-manager (chart DaemonSet): `/boot`, `/dev`, `/proc`, `/etc`, `/var/lib/longhorn`;
 * - support-bundle-kit's agents (support bundles, on demand): `/` (the host's root);
 * - instance-manager: `/` (the host's root, mounted at /host: it runs iscsiadm and mounts through
 *   the host's namespaces), `/var/lib/longhorn/engine-binaries`, `/var/lib/longhorn/unix-domain-socket`;
 * - engine image DaemonSet, recurring jobs, system restore: `/var/lib/longhorn/engine-binaries/…`;
 * - share-manager: `/dev`, `/sys`, `/proc`, `/lib/modules`;
 * - the CSI plugin (csi/deployment.go): the kubelet's `plugins/kubernetes.io/csi`,
 *   `plugins_registry`, `plugins/driver.longhorn.io`, `pods`, and `/dev`, `/proc`, `/sys`,
 *   `/lib/modules`;
 * - backing-image-manager: each Longhorn disk's path (the system disk `/var/lib/longhorn`, data
 *   disks `/var/mnt/<disk>`); backing-image-data-source: that path, `/dev` and `/proc`. A disk
 *   added outside the definition is not here: its backing-image pods are refused.
 */
export function longhornHostPaths(disks: ClusterDisks): string[] {
  const paths = new Set<string>([
    '/',
    '/boot',
    '/dev',
    '/etc',
    '/lib/modules',
    '/proc',
    '/sys',
    `${KUBELET_ROOT}/plugins/driver.longhorn.io`,
    `${KUBELET_ROOT}/plugins/kubernetes.io/csi`,
    `${KUBELET_ROOT}/plugins_registry`,
    `${KUBELET_ROOT}/pods`,
    LONGHORN_KUBELET_MOUNT.destination,
  ]);
  // A declared path allows what lies below it: `/var/lib/longhorn/` is `/var/lib/longhorn`.
  for (const disk of disks.disks) paths.add(disk.path.replace(/(.)\/+$/, '$1'));
  return [...paths].sort(compareStrings);
}

/**
 * After a node's reboot, until every attached Longhorn volume is `healthy` again (longhorn-manager
 * v1.8.1 `k8s/pkg/apis/longhorn/v1beta2/volume.go`: robustness `healthy`, `degraded`, `faulted`,
 * `unknown`; state `attached`, …): the replicas on the rebooted node rebuild meanwhile. Rebooting
 * the next node earlier can take a volume's last healthy replica: its `kubectl drain` then
 * waits on the instance manager's PodDisruptionBudget and fails after 5 minutes (Talos' own
 * drain would stop waiting and upgrade anyway: Talos v1.12 `pkg/kubernetes/kubernetes.go`,
 * `DrainTimeout`, and the volume would fault). A failing
 * `kubectl` keeps the loop waiting; detached volumes rebuild when they are next attached.
 */
const AFTER_NODE_REBOOT_COMMANDS = [
  boundedWait({
    // A faulted volume is detached (longhorn-manager v1.8.1 `volume_controller.go`: all its
    // replicas failed; auto-salvage brings it back once detached): listed whatever its state.
    condition: `out=$(kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.state=="attached")]}{.metadata.name}={.status.robustness}{"\\n"}{end}{range .items[?(@.status.robustness=="faulted")]}{.metadata.name}={.status.robustness}{"\\n"}{end}') && ! printf '%s' "$out" | grep -qv '=healthy$'`,
    seconds: WAIT_SECONDS.replicaRebuild,
    interval: 10,
    message: `Longhorn volumes still not healthy (their robustness below): do not reboot the next node; see kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io and the replicas of those volumes`,
    diagnose: `printf '%s\\n' "$out" | grep -v '=healthy$' >&2`,
  }),
];

/**
 * Before the reboot or Talos upgrade of a one-node cluster (never drained), every pod using a
 * Longhorn volume deleted and every volume detached, so that the kubelet unmounts each volume's
 * filesystem while its engine still runs. Talos v1.13 reboots through the kubelet's graceful
 * shutdown (`stopAndRemoveAllPods`, then its own unmount of /var): its default grace periods
 * (30 s, 10 s of it for critical pods, `constants.KubeletShutdownGracePeriod*`) stop every pod
 * below priority 2,000,000,000 at once, and Longhorn's are 1,000,000,000 (chart 1.8.1
 * `longhorn-critical`): the instance manager stops its engines at SIGTERM
 * (longhorn-instance-manager v1.8.1 `app/cmd/start.go`) while the workloads still write, and the
 * filesystems lose what was not flushed (Longhorn's docs, "Crash Consistency"; longhorn#7206).
 * Longhorn's guidance (`volumes/detaching-volumes.md`): stop the pods, wait until the volumes
 * are detached. A volume names the pods that use it in `status.kubernetesStatus.workloadsStatus`
 * (`controller/kubernetes_pv_controller.go`); their controllers make them again, and they wait
 * on the cordoned node. Argo CD sees no change (no spec is touched), so nothing is paused.
 */
const BEFORE_LONE_NODE_REBOOT: NodeRebootWait = {
  reason:
    'Longhorn: every pod using a Longhorn volume deleted (its controller makes it again, and it waits on the cordoned node) and every volume detached, so that each filesystem is unmounted while Longhorn\u2019s engine still runs (its instance manager stops in the same group as the workloads and stops its engines at once: unflushed writes would be lost, and a volume can fault)',
  commands: [
    `kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[?(@.status.state=="attached")]}{.status.kubernetesStatus.namespace}{" "}{.status.kubernetesStatus.workloadsStatus[*].podName}{"\\n"}{end}' | awk '{ for (i = 2; i <= NF; i++) print $1, $i }' | while read -r ns pod; do kubectl -n "$ns" delete pod "$pod" --ignore-not-found --wait=false; done`,
    boundedWait({
      condition: `out=$(kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o jsonpath='{range .items[*]}{.metadata.name}={.status.state}{"\\n"}{end}') && ! printf '%s' "$out" | grep -qv '=detached$'`,
      seconds: WAIT_SECONDS.detach,
      interval: 10,
      message: `Longhorn volumes still attached (below): a pod not run by a controller, or one that does not stop, still uses them (kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io -o custom-columns=VOLUME:.metadata.name,STATE:.status.state,NAMESPACE:.status.kubernetesStatus.namespace,PODS:.status.kubernetesStatus.workloadsStatus[*].podName): stop it, then run the block again`,
      diagnose: `printf '%s\\n' "$out" | grep -v '=detached$' >&2`,
    }),
  ],
};

/**
 * The wait after a node's reboot, as the runbook explains it. With one storage node there is
 * nothing to rebuild and no next node: each volume's only replica comes back with the node. What
 * the operator sees instead is the drain before a Talos upgrade waiting: longhorn-manager v1.8.1
 * (`controller/instance_manager_controller.go`, `canDeleteInstanceManagerPDB`) keeps the
 * instance manager's PodDisruptionBudget (`minAvailable: 1`) until every volume of the node is
 * detached, whatever the drain policy, and a volume detaches only through the CSI attacher,
 * which the same drain evicts and which cannot come back on the cordoned node. Talos then evicts
 * nothing more after 5 minutes (`DrainTimeout`) and upgrades: the workloads have stopped and
 * unmounted their volumes by then.
 */
function afterNodeReboot(storageNodes: number): NodeRebootWait {
  return storageNodes <= 1
    ? {
        reason:
          "Longhorn: every attached volume back to `healthy`, and none `faulted` (one storage node holds each volume's only replica, which comes back with it; the instance manager's PodDisruptionBudget refuses every eviction while a volume is attached: the runbook's Talos upgrade says how its drain gets past it)",
        commands: AFTER_NODE_REBOOT_COMMANDS,
      }
    : {
        reason:
          "Longhorn: every attached volume rebuilt to `healthy`, and none `faulted` (its replicas on the node that rebooted are rebuilt; the next node's drain must not take a volume's last healthy replica)",
        commands: AFTER_NODE_REBOOT_COMMANDS,
      };
}

/**
 * What the runbook's "When a drain gives up" says for Longhorn (longhorn-manager v1.8.1
 * `controller/instance_manager_controller.go`): each node's instance manager has a
 * PodDisruptionBudget named as its pod (`GetPDBName`, `minAvailable: 1`, selector
 * `longhorn.io/node`, `longhorn.io/component: instance-manager`); once the node is cordoned the
 * manager on it deletes the budget only when no volume is attached there any more
 * (`areAllVolumesDetachedFromNode`) and, unless the policy is `always-allow`, every replica on
 * the node has a healthy replica on another node whose instance manager has a budget, or was
 * never started (`canDeleteInstanceManagerPDB`); otherwise it logs `PDB is blocked: <why>`. Under
 * `block-for-eviction-if-contains-last-replica` it marks the replicas without a healthy
 * counterpart `evictionRequested` and copies them away (`shouldEvictReplica`). Replicas carry
 * the label `longhornnode: <node>`; a volume names the node it is attached to in
 * `status.currentNodeID` and its claim in `status.kubernetesStatus`. The commands read the
 * node from `$NODE`.
 */
export function drainHeld(
  storageNodes: number,
  policy: ReturnType<typeof nodeDrainPolicy>,
  oneReplica: readonly string[],
): NodeRebootWait {
  const ns = LONGHORN_NAMESPACE;
  const code = (names: readonly string[]) => names.map((name) => `\`${name}\``).join(', ');
  const why = [
    `Longhorn: the PodDisruptionBudget of the node's instance manager (named as its pod) holds the drain while a Longhorn volume is still attached on the node`,
    ...(policy === 'always-allow'
      ? [
          ` (the drain policy is \`always-allow\`: ${storageNodes <= 1 ? 'one storage node, whose replicas cannot move' : 'nothing else holds it'})`,
        ]
      : [
          ` or, under this cluster's drain policy \`${policy}\`, while the node holds the last healthy replica of a volume (its other replicas still rebuilding${oneReplica.length === 0 ? '' : `, or a volume of one replica: ${code(oneReplica)}`})`,
        ]),
    `. longhorn-manager logs why (\`PDB is blocked: …\`). What to do:`,
  ].join('');
  const remedies = [
    'a volume still attached on the node (`NODE` in the volume list is the node): a pod using it is still there, held by its own PodDisruptionBudget or not run by a controller (the drain names it); scale its workload down (`kubectl -n <namespace> scale deployment|statefulset <name> --replicas=0`) or accept that it stops, and scale it up again once the node is back',
    ...(policy === 'always-allow'
      ? []
      : [
          "a volume whose other replicas are rebuilding (`degraded`, the node's replica its last healthy one): wait until it is `healthy` (the wait after each node), then drain again",
        ]),
    ...(policy === 'block-for-eviction-if-contains-last-replica'
      ? [
          `a volume of one replica: Longhorn copies the node's replica to another node itself (\`EVICTING\` \`true\` in the replica list) and releases the budget once none is left; a large volume takes longer than the drain waits: drain again once the replica list no longer names it (a volume whose tier has no disk on another node cannot move: detach it by scaling its workload down, then drain again, and it is back with the node)`,
        ]
      : []),
    'never delete the instance manager\u2019s pod or its PodDisruptionBudget, nor drain with `--disable-eviction`: its engines and replicas stop with it, and a volume whose last healthy replica was there faults',
  ];
  return {
    reason: `${why}\n\n${remedies.map((line) => `- ${line}`).join('\n')}`,
    commands: [
      `kubectl -n ${ns} get pdb $(kubectl -n ${ns} get pods -l longhorn.io/component=instance-manager --field-selector spec.nodeName="$NODE" -o jsonpath='{.items[*].metadata.name}')`,
      `kubectl -n ${ns} logs "$(kubectl -n ${ns} get pods -l app=longhorn-manager --field-selector spec.nodeName="$NODE" -o name)" -c longhorn-manager --since=15m | grep 'PDB is blocked' | tail -n 3`,
      `kubectl -n ${ns} get volumes.longhorn.io -o custom-columns=VOLUME:.metadata.name,STATE:.status.state,ROBUSTNESS:.status.robustness,NODE:.status.currentNodeID,REPLICAS:.spec.numberOfReplicas,NAMESPACE:.status.kubernetesStatus.namespace,CLAIM:.status.kubernetesStatus.pvcName`,
      `kubectl -n ${ns} get replicas.longhorn.io -l longhornnode="$NODE" -o custom-columns=REPLICA:.metadata.name,VOLUME:.spec.volumeName,STATE:.status.currentState,HEALTHY:.spec.healthyAt,EVICTING:.spec.evictionRequested`,
    ],
  };
}

/** A disk's name as a jsonpath field: a plain name as a field, any other as a quoted key. */
function jsonpathField(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? `.${name}` : `['${name}']`;
}

/**
 * Waits until each named disk of the node's Longhorn node has its `Schedulable` condition `True`
 * (`status.diskStatus.<name>.conditions`): nothing lands on a disk before.
 */
function schedulableWait(host: string, names: readonly string[]): string {
  const jsonpath = names
    .map(
      (name) =>
        `{.status.diskStatus${jsonpathField(name)}.conditions[?(@.type=="Schedulable")].status}`,
    )
    .join(' ');
  return boundedWait({
    condition: `out=$(kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io ${shellQuote(host)} -o jsonpath=${shellQuote(jsonpath)}) && [ "$out" = ${shellQuote(names.map(() => 'True').join(' '))} ]`,
    seconds: WAIT_SECONDS.disks,
    interval: 10,
    message: `the disks ${names.join(', ')} of Longhorn node ${host} are not all Schedulable (their conditions below): see kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io ${host} -o yaml`,
    diagnose: 'echo "$out" >&2',
  });
}

/**
 * What the runbook's node lifecycle runs for Longhorn on each storage node (longhorn-manager
 * v1.8.1):
 * - joined: `KubernetesNodeController.syncDefaultDisks` creates the node's disks from its
 *   `node.longhorn.io/default-disks-config` annotation (label `create-default-disk: config`)
 *   once its Longhorn node exists; the runbook waits until each disk's `Schedulable` condition
 *   is `True` (`status.diskStatus.<name>.conditions`), as nothing lands there before.
 * - retiring: node `spec.evictionRequested` (the validating webhook refuses it unless
 *   `spec.allowScheduling` is false) marks every replica on the node's disks for eviction
 *   (`NodeController.shouldEvictReplica`); the volume controller builds a replacement on another
 *   node (attaching a detached volume for it, `volume_eviction_controller.go`), then deletes the
 *   evicted one (`cleanupEvictionRequestedReplicas`, which keeps it while it is the volume's only
 *   healthy replica). With hard anti-affinity (`replicaSoftAntiAffinity: false`) a replacement
 *   needs another node with a disk of the tier not yet holding one: where fewer such nodes remain
 *   than the tier's replicas, the eviction waits for ever unless the volumes' replica count is
 *   lowered. The runbook waits until no replica names the node (`spec.nodeID`).
 * - lost: `KubernetesNodeController` deletes the Longhorn node of a deleted Kubernetes node;
 *   the replicas on it failed with it and are rebuilt where the tier has room, after
 *   `replica-replenishment-wait-interval` (600 s by default).
 */
export function longhornNodeLifecycle(
  cluster: ResolvedCluster,
  settings: ResolvedLonghornSettings,
  disks: ClusterDisks,
): NodeLifecycle {
  const joined: { [hostname: string]: NodeRebootWait } = {};
  const retiring: { [hostname: string]: NodeRebootWait } = {};
  const lost: { [hostname: string]: NodeRebootWait } = {};
  const tiers = renderedTiers(settings, disks);
  for (const node of cluster.storageNodes) {
    const own = disks.disks.filter((disk) => disk.node.hostname === node.hostname);
    if (own.length === 0) continue;
    const host = node.hostname;
    const names = own.map((disk) => disk.name);
    joined[host] = {
      reason: `Longhorn: the node's disks (${names.map((name) => `\`${name}\``).join(', ')}) created from its \`${DISKS_ANNOTATION}\` annotation and schedulable`,
      commands: [schedulableWait(host, names)],
    };
    // The tiers whose volumes have too few other nodes to move a replica to.
    const stuck = tiers.flatMap((tier) => {
      if (!own.some((disk) => disk.tier === tier.name)) return [];
      const others = nodesWithTier(disks.disks, tier.name).filter((name) => name !== host);
      return others.length >= tier.replicas ? [] : [{ tier, others: others.length }];
    });
    const code = (names: readonly string[]) => names.map((name) => `\`${name}\``).join(', ');
    const nowhere = stuck.filter((entry) => entry.others === 0).map((entry) => entry.tier.name);
    const fewer = new Map<string, string[]>();
    for (const { tier, others } of stuck) {
      if (others === 0) continue;
      const key = `${tier.replicas}:${others}`;
      fewer.set(key, [...(fewer.get(key) ?? []), tier.name]);
    }
    const limits = [
      ...(nowhere.length === 0
        ? []
        : [
            `the node holds the only disk of ${code(nowhere)}: those volumes have nowhere to go, and the node cannot be retired while they exist`,
          ]),
      ...[...fewer].map(([key, names]) => {
        const [replicas, others] = key.split(':');
        return `the volumes of ${code(names)} keep ${replicas} replicas on distinct nodes and only ${others} other node(s) have such a disk: their replicas here move only once another node with such a disk has joined (add it first), or once each such volume's replica count is lowered to ${others} (\`kubectl -n ${LONGHORN_NAMESPACE} patch volumes.longhorn.io <volume> --type=merge -p '{"spec":{"numberOfReplicas":${others}}}'\`: Longhorn then deletes the replica being evicted); until then the wait below gives up after ${WAIT_SECONDS.replicaMove / 60} minutes`;
      }),
    ];
    retiring[host] = {
      reason: `Longhorn: every replica on the node evicted (its Longhorn node \`allowScheduling: false\` and \`evictionRequested: true\`; each volume gets a new replica on another node, a detached one attached for it, before the one here goes), until no replica is left on it${limits.length === 0 ? '' : `; ${limits.join('; ')}`}`,
      commands: [
        `kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io ${shellQuote(host)} --type=merge -p '{"spec":{"allowScheduling":false,"evictionRequested":true}}'`,
        boundedWait({
          condition: `out=$(kubectl -n ${LONGHORN_NAMESPACE} get replicas.longhorn.io -o jsonpath=${shellQuote(`{range .items[?(@.spec.nodeID=="${host}")]}{.metadata.name}{"\\n"}{end}`)}) && [ -z "$out" ]`,
          seconds: WAIT_SECONDS.replicaMove,
          interval: 10,
          message: `Longhorn replicas are still on ${host} (below): do not drain or reset the node; see the reasons above and kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io`,
          diagnose: 'echo "$out" >&2',
        }),
      ],
    };
    lost[host] = {
      reason:
        "Longhorn: its Longhorn node deleted with the Kubernetes node (longhorn-manager does it); the replicas it held failed with it and are rebuilt on the other storage nodes where their tier has room, after Longhorn's replica replenishment wait (10 minutes), otherwise on the new machine's disks once they are schedulable",
      commands: [
        `kubectl -n ${LONGHORN_NAMESPACE} wait --for=delete nodes.longhorn.io/${shellQuote(host)} --timeout=10m`,
      ],
    };
  }
  return { joined, retiring, retiringRemoved: RETIRING_REMOVED, lost };
}

/** A later step as the component's `bootstrap`, when there is one. */
function later(step: BootstrapStep | undefined): { bootstrap?: readonly BootstrapStep[] } {
  return step === undefined ? {} : { bootstrap: [step] };
}

/** The per-node commands of `diskChangeStep` for one storage node. */
export function diskChangeCommands(
  node: { readonly hostname: string; readonly address: string },
  configs: readonly DiskConfig[],
): string[] {
  const host = shellQuote(node.hostname);
  const nodes = `kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io ${host}`;
  const patch = (value: unknown) =>
    `kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io ${host} --type=merge -p ${shellQuote(JSON.stringify(value))}`;
  const commands: string[] = [];
  // Talos mounts a data disk's user volume at /var/mnt/<name> once it is `ready`
  // (`u-<name>`): Longhorn must not find the path before, on the system disk.
  for (const config of configs) {
    if (config.path === SYSTEM_DISK_PATH) continue;
    commands.push(
      boundedWait({
        condition: `talosctl -n ${shellQuote(node.address)} get volumestatus ${shellQuote(`u-${config.name}`)} -o yaml | grep -q '^ *phase: ready$'`,
        seconds: WAIT_SECONDS.disks,
        interval: 10,
        message: `Talos user volume u-${config.name} of ${node.hostname} is not ready: see talosctl -n ${node.address} get volumestatus u-${config.name} -o yaml and the node's disks`,
      }),
    );
  }
  // One patch for every disk of the node: the validating webhook refuses a node update while its
  // disks' spec and status differ (`isNodeDiskSpecAndStatusSynced`), as they do until the node
  // controller has seen a disk the previous patch added.
  const disks = (system: object | undefined) =>
    Object.fromEntries(
      configs.map((config) => [
        config.name,
        config.storageReserved === undefined
          ? system
          : diskSpecPatch(config).spec.disks[config.name],
      ]),
    );
  const system = configs.find((config) => config.storageReserved === undefined);
  if (system === undefined) {
    // Data disks only: a missing one added with every field, an existing one re-tagged.
    commands.push(patch({ spec: { disks: disks(undefined) } }));
  } else {
    // The system disk: Longhorn reserved `storage-reserved-percentage-for-default-disk` of its
    // size when it created it. An existing one keeps its reserve (the merge patch leaves it); a
    // missing one is added with scheduling off until that reserve is set from the size its
    // status reports (which also means the node controller has synced the disks).
    const field = jsonpathField(system.name);
    const { storageReserved: _kept, ...existing } = diskSpecPatch(system).spec.disks[
      system.name
    ] as ReturnType<typeof diskSpecPatch>['spec']['disks'][string];
    const added = diskSpecPatch(system, { allowScheduling: false, storageReserved: 0 }).spec.disks[
      system.name
    ];
    commands.push(
      [
        `system_path=$(${nodes} -o jsonpath=${shellQuote(`{.spec.disks${field}.path}`)}) && if [ -n "$system_path" ]; then`,
        `  ${patch({ spec: { disks: disks(existing) } })}`,
        'else',
        `  ${patch({ spec: { disks: disks(added) } })} &&`,
        `  ${boundedWait({
          condition: `size=$(${nodes} -o jsonpath=${shellQuote(`{.status.diskStatus${field}.storageMaximum}`)}) && [ "\${size:-0}" -gt 0 ]`,
          seconds: WAIT_SECONDS.disks,
          interval: 10,
          message: `Longhorn reports no size for disk ${system.name} of node ${host}: see ${nodes} -o yaml`,
        })} &&`,
        // The wait runs in a subshell: the size it saw is read again here.
        `  size=$(${nodes} -o jsonpath=${shellQuote(`{.status.diskStatus${field}.storageMaximum}`)}) &&`,
        `  percent=$(kubectl -n ${LONGHORN_NAMESPACE} get settings.longhorn.io storage-reserved-percentage-for-default-disk -o jsonpath='{.value}') &&`,
        // The disk is `system`: a plain name, quoted as is inside the double quotes.
        `  kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io ${host} --type=merge -p "{\\"spec\\":{\\"disks\\":{\\"${system.name}\\":{\\"allowScheduling\\":true,\\"storageReserved\\":$((size * percent / 100))}}}}"`,
        'fi',
      ].join('\n'),
    );
  }
  commands.push(
    schedulableWait(
      node.hostname,
      configs.map((config) => config.name),
    ),
  );
  return commands;
}

/**
 * "Later: changing a storage node's disks". longhorn-manager v1.8.1 builds a node's disks from
 * its `node.longhorn.io/default-disks-config` annotation only while its Longhorn node has none
 * (`KubernetesNodeController.syncDefaultDisks`: `if len(node.Spec.Disks) != 0 { return nil }`):
 * a data disk added to a storage node Longhorn knows, or a disk's new tier or class (its tags),
 * changes the annotation and nothing in Longhorn, while the build counts the annotation's disks
 * (a tier's StorageClass appears, its volumes find no disk there). The step gives each storage
 * node's Longhorn node the disks of the same list the annotation is built from (`configs`):
 * one merge patch of all its disks with the `DiskSpec` fields, which adds a missing disk and re-tags an
 * existing one, leaving the disks the list does not name; then the wait of a joining node. A
 * disk leaves Longhorn only empty: the validating webhook refuses to delete one that is
 * schedulable or has storage scheduled; `evictionRequested` on a disk (scheduling off) moves its
 * replicas as a node's eviction does.
 */
export function diskChangeStep(
  cluster: ResolvedCluster,
  disks: ClusterDisks,
  settings: ResolvedLonghornSettings,
): BootstrapStep | undefined {
  const nodes = cluster.storageNodes.filter(
    (node) => (disks.configs[node.hostname] ?? []).length > 0,
  );
  if (nodes.length === 0) return undefined;
  // The tiers where a disk's eviction has no room: with hard anti-affinity a replica evicted from
  // a disk needs another node with a disk of the tier (the evicted one still holds this node), and
  // fewer such nodes than the tier's replicas leaves the wait going (as a node's retirement).
  const stuck = renderedTiers(settings, disks).flatMap((tier) => {
    const others = nodesWithTier(disks.disks, tier.name).length - 1;
    return others >= tier.replicas ? [] : [{ tier: tier.name, replicas: tier.replicas, others }];
  });
  const roomless = stuck.map(({ tier, replicas, others }) =>
    others === 0
      ? `   - \`${tier}\`: one node has such a disk: its volumes have nowhere to go (add a disk of the tier on another node first)`
      : `   - \`${tier}\`: its volumes keep ${replicas} replicas on distinct nodes and ${others + 1} nodes have such a disk, so an evicted replica has no node to go to: lower each such volume's replica count to ${others} first (\`kubectl -n ${LONGHORN_NAMESPACE} patch volumes.longhorn.io <volume> --type=merge -p '{"spec":{"numberOfReplicas":${others}}}'\`: Longhorn then deletes the replica being evicted), or add a disk of the tier on another node`,
  );
  const ns = LONGHORN_NAMESPACE;
  const unset = ':?set it to the node, as its Longhorn node is named';
  const disk = ':?set it to the disk, as its Longhorn node names it';
  return {
    title: "changing a storage node's disks",
    when: 'later',
    body: [
      `Longhorn builds a storage node's disks from its \`${DISKS_ANNOTATION}\` annotation only while`,
      'the node has no Longhorn disk (longhorn-manager `syncDefaultDisks`), in practice when the node',
      "joins: a data disk added to a node that already runs, or a disk's new tier or class (its tags),",
      'changes the annotation and nothing in Longhorn, and the volumes of a tier find no disk of it',
      'there. After a build that changed the disks of a node Longhorn already has:',
      '',
      '1. A data disk taken out of the definition still holds replicas: before applying the Talos',
      '   settings that drop its user volume, evict it (its scheduling off, `evictionRequested`: each',
      "   replica gets a new one on another node's disk of its tier before it goes, as when a node is",
      '   retired, with the same limits: a tier without room elsewhere keeps the wait going until',
      `   it gives up after ${WAIT_SECONDS.replicaMove / 60} minutes), wait until no replica is on it and Longhorn counts`,
      '   no storage scheduled on it (its node controller updates the count every 30 seconds), then',
      '   remove it from the Longhorn node (the validating webhook refuses while it is schedulable or',
      '   has storage scheduled). The block is one chain: a wait that gives up stops it. Repeat for',
      '   each such disk.',
      ...(roomless.length === 0
        ? []
        : ['   On this cluster an eviction has no room for the disks of:', ...roomless]),
      '2. Apply the new Talos settings ("Later: changing Talos settings"): Talos creates the user',
      '   volumes of the new disks.',
      '3. Run the block of each node whose disks changed: it waits for its user volumes, gives its',
      '   Longhorn node each disk the definition lists (path, scheduling on, tags, reserve, as the',
      '   annotation says: a missing disk added, an existing one re-tagged) and waits until every',
      '   disk is schedulable. Disks the definition does not list are left alone. Replicas already',
      '   on a re-tagged disk stay there (Longhorn matches tags only when it places a replica).',
      '',
      '```sh',
      'NODE=',
      'DISK=',
      `kubectl -n ${ns} patch nodes.longhorn.io "\${NODE${unset}}" --type=merge -p '{"spec":{"disks":{"'"\${DISK${disk}}"'":{"allowScheduling":false,"evictionRequested":true}}}}' &&`,
      `disk_path=$(kubectl -n ${ns} get nodes.longhorn.io "$NODE" -o jsonpath='{.spec.disks.'"$DISK"'.path}') && [ -n "$disk_path" ] &&`,
      `${boundedWait({
        condition: `out=$(kubectl -n ${ns} get replicas.longhorn.io -o jsonpath='{range .items[*]}{.spec.nodeID} {.spec.diskPath}{"\\n"}{end}') && ! printf '%s\\n' "$out" | grep -qxF "$NODE $disk_path"`,
        seconds: WAIT_SECONDS.replicaMove,
        interval: 10,
        message: `Longhorn replicas are still on that disk: do not remove it; see kubectl -n ${LONGHORN_NAMESPACE} get replicas.longhorn.io and whether their volumes have room on other disks`,
      })} &&`,
      // longhorn-manager v1.8.1 webhook/resources/node/validator.go refuses a disk's removal while
      // its status' storageScheduled is not 0, recounted by the node controller's sync
      // (nodeControllerResyncPeriod, 30 s), backing images on the disk included.
      `${boundedWait({
        condition: `[ "$(kubectl -n ${ns} get nodes.longhorn.io "$NODE" -o jsonpath='{.status.diskStatus.'"$DISK"'.storageScheduled}')" = 0 ]`,
        seconds: WAIT_SECONDS.disks,
        interval: 10,
        message: `Longhorn still counts storage scheduled on that disk (a backing image among it): do not remove it; see the status of that disk in kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io -o yaml`,
      })} &&`,
      `kubectl -n ${ns} patch nodes.longhorn.io "$NODE" --type=merge -p '{"spec":{"disks":{"'"$DISK"'":null}}}'`,
      '```',
      ...nodes.flatMap((node) => [
        '',
        `**${node.hostname}** (${(disks.configs[node.hostname] ?? []).map((c) => `\`${c.name}\``).join(', ')}):`,
        '',
        '```sh',
        ...diskChangeCommands(node, disks.configs[node.hostname] ?? []),
        '```',
      ]),
    ],
    commands: [],
  };
}

/**
 * The retiring steps for a node no longer in the definition (its hostname in `$NODE`), as for a
 * storage node above: where it has a Longhorn node, scheduling off and its replicas evicted,
 * then a wait until no replica names it (`spec.nodeID`); the volume controller keeps an evicted
 * replica while it is its volume's only healthy one, so once none is left no volume lost its
 * last replica. Its disks and tiers are not known any more: a volume with nowhere to go keeps
 * the wait going, as the reason says; and `NodeController.shouldEvictReplica` evicts nothing
 * from a node that is down (its Kubernetes node not Ready).
 */
const RETIRING_REMOVED: NodeRebootWait = {
  reason: `Longhorn: where the node has a Longhorn node, every replica on it evicted (\`allowScheduling: false\`, \`evictionRequested: true\`; each volume gets a new replica on another node, a detached one attached for it, before the one here goes), until no replica is left on it (Longhorn evicts nothing from a node that is down: it must be \`Ready\`), so that no volume loses its last replica to the reset; a volume whose tier has no room on the other nodes (hard anti-affinity with as many replicas as nodes with such a disk, or the tier's only disk on this node) keeps the wait going until it gives up (${WAIT_SECONDS.replicaMove / 60} minutes): lower its replica count (\`kubectl -n ${LONGHORN_NAMESPACE} patch volumes.longhorn.io <volume> --type=merge -p '{"spec":{"numberOfReplicas":<n>}}'\`) or add a node with such a disk first`,
  commands: [
    // `--ignore-not-found`: no Longhorn node prints nothing and succeeds, any other failure of
    // the get (the API server unreachable) stops the chain instead of skipping the eviction.
    `longhorn_node=$(kubectl -n ${LONGHORN_NAMESPACE} get nodes.longhorn.io "$NODE" --ignore-not-found -o name) && { [ -z "$longhorn_node" ] || kubectl -n ${LONGHORN_NAMESPACE} patch nodes.longhorn.io "$NODE" --type=merge -p '{"spec":{"allowScheduling":false,"evictionRequested":true}}'; }`,
    boundedWait({
      condition: `out=$(kubectl -n ${LONGHORN_NAMESPACE} get replicas.longhorn.io -o jsonpath='{range .items[?(@.spec.nodeID=="'"$NODE"'")]}{.metadata.name}{"\\n"}{end}') && [ -z "$out" ]`,
      seconds: WAIT_SECONDS.replicaMove,
      interval: 10,
      message: `Longhorn replicas are still on the node (below): do not drain or reset it; see the reasons above and kubectl -n ${LONGHORN_NAMESPACE} get volumes.longhorn.io`,
      diagnose: 'echo "$out" >&2',
    }),
  ],
};

/**
 * Longhorn's own uninstall: the chart's `templates/uninstall-job.yaml`, a Helm `pre-delete` hook
 * that Argo CD v3.4.4 runs when the Application is deleted (controller/hook.go maps
 * `helm.sh/hook: pre-delete` to PreDelete and adds its finalizer). The Job (`longhorn-manager
 * uninstall --force`, longhorn-manager v1.8.1 `controller/uninstall_controller.go`) refuses until
 * the `deleting-confirmation-flag` setting is true, then deletes every longhorn.io object (their
 * `longhorn.io` finalizers need the manager running), the manager and driver, and the webhooks
 * the manager registered at run time (`longhorn-webhook-validator` matches every PVC update,
 * failure policy Fail: left behind without its Service, every such update fails).
 */
const LONGHORN_UNINSTALL: ChartUninstall = {
  reason:
    "Longhorn's uninstall Job (the chart's pre-delete hook) deletes every Longhorn volume and its data (`--force`: volumes in use too), the objects longhorn-manager keeps finalizers on and the admission webhooks it registered at run time (its validator, left behind, fails every PersistentVolumeClaim update); it refuses to run until `deleting-confirmation-flag` is true",
  prepare: [
    `kubectl -n ${LONGHORN_NAMESPACE} patch settings.longhorn.io deleting-confirmation-flag --type=merge -p '{"value":"true"}'`,
  ],
  verify: [
    'kubectl get validatingwebhookconfiguration longhorn-webhook-validator --ignore-not-found',
    'kubectl get mutatingwebhookconfiguration longhorn-webhook-mutator --ignore-not-found',
  ],
};

function application(disks: ClusterDisks): ApplicationDescriptor {
  return {
    namespace: LONGHORN_NAMESPACE,
    imageRepositories: { [LONGHORN_NAMESPACE]: [...LONGHORN_IMAGE_REPOSITORIES] },
    // Longhorn's managers, engines and instance managers are privileged (Longhorn's requirement).
    podSecurity: 'privileged',
    hostPaths: longhornHostPaths(disks),
    // The chart binds it unconditionally (no value turns it off): the support bundle manager
    // collects every object of the cluster.
    clusterAdminBindings: [
      {
        name: 'longhorn-support-bundle',
        reason:
          "the Longhorn chart binds its support bundle service account to cluster-admin unconditionally (the bundle collects the cluster's objects)",
      },
    ],
    // What the chart offers no value for (nor do the workloads longhorn-manager creates at run
    // time: engines, instance managers, the CSI driver).
    policyExemptions: [
      {
        policy: 'required-labels',
        reason:
          'the Longhorn chart takes no labels for its workloads, and longhorn-manager creates the engine, instance manager and CSI workloads without them',
      },
      {
        policy: 'resource-requests',
        reason:
          'the Longhorn chart 1.8.1 takes no resources for its manager, driver deployer, UI and hook Jobs (1.12 only for the manager), and longhorn-manager sizes the workloads it creates itself',
      },
    ],
    // The CRDs are larger than the client-side apply annotation allows.
    serverSideApply: true,
    // The tier StorageClasses are replaced (Replace=true,Force=true: immutable parameters): sync
    // only what differs, or every sync would delete and create every class, the default included.
    applyOutOfSyncOnly: true,
    // Deleting it orphans every volume of the cluster: a runbook step, never a commit.
    critical: true,
    uninstall: LONGHORN_UNINSTALL,
    installs: LONGHORN_KINDS.map((kind) => ({ group: 'longhorn.io', kind })),
    clusterResources: [
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      { group: 'scheduling.k8s.io', kind: 'PriorityClass' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ],
    // What the upstream chart renders with our values (the project allows exactly these).
    namespacedResources: [
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Service' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'DaemonSet' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'batch', kind: 'Job' },
    ],
    ignoreDifferences: [
      {
        // longhorn-manager writes the conversion webhook's CA into its CRDs.
        group: 'apiextensions.k8s.io',
        kind: 'CustomResourceDefinition',
        jqPathExpressions: ['.spec.conversion.webhook.clientConfig.caBundle'],
      },
    ],
  };
}

function credentials(settings: ResolvedLonghornSettings): SecretRequirement[] {
  const target = settings.backupTarget;
  if (target === undefined) return [];
  const ca = target.caCertificate?.trim();
  return [
    {
      name: target.credentialsSecret,
      namespace: LONGHORN_NAMESPACE,
      keys: [
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        ...(target.endpoint === undefined ? [] : ['AWS_ENDPOINTS']),
        // Longhorn 1.8.1 reads the endpoint's CA from the credential Secret only (longhorn-manager
        // types.go AWS_CERT, passed to the backup store, which adds it to the system roots).
        ...(ca === undefined ? [] : ['AWS_CERT']),
      ],
      description: [
        `S3 credentials of the Longhorn backup target ${target.url}`,
        ...(target.endpoint === undefined ? [] : [`AWS_ENDPOINTS must be ${target.endpoint}`]),
        ...(ca === undefined
          ? []
          : [
              'AWS_CERT must be the PEM of backupTarget.caCertificate with no line end after its last line (Longhorn refuses a credential with surrounding whitespace)',
            ]),
      ].join('; '),
      ...(target.endpoint === undefined && ca === undefined
        ? {}
        : {
            values: {
              ...(target.endpoint === undefined ? {} : { AWS_ENDPOINTS: target.endpoint }),
              ...(ca === undefined ? {} : { AWS_CERT: ca }),
            },
          }),
      // longhorn-manager watches the Secret and reads it again for every backup-store call
      // (v1.8 controller/kubernetes_secret_controller.go, engineapi/backups.go).
      readers: [
        {
          kind: 'DaemonSet',
          name: 'longhorn-manager',
          reads: 'use',
          how: 'the backup target\u2019s credential Secret, which longhorn-manager reads again for every backup and watches',
        },
      ],
      rotation: { ...S3_KEY_ROTATION },
    },
  ];
}

function uiRoute(
  input: DeclareInput<Settings>,
  settings: ResolvedLonghornSettings,
  issues: Issue[],
): RouteRequest[] {
  if (!settings.ui.route) return [];
  const gateway = input.provided.gateway;
  if (gateway === undefined || !gateway.forwardAuth) {
    issues.push(
      error({
        code: 'longhorn-ui-auth',
        path: input.path('ui', 'route'),
        value: true,
        message: `the Longhorn UI has no login of its own and the gateway on cluster "${input.cluster.name}" ${gateway === undefined ? 'does not exist' : 'cannot do forward authentication'}; it would be open to anyone who reaches it`,
        expected: 'ui.route: false (use kubectl port-forward), or a gateway with forward auth',
      }),
    );
    return [];
  }
  return [
    {
      name: 'longhorn-ui',
      host: 'longhorn',
      namespace: LONGHORN_NAMESPACE,
      service: UI_SERVICE.name,
      port: UI_SERVICE.port,
      auth: { kind: 'forward-auth', policy: 'two_factor', groups: [...settings.ui.groups] },
    },
  ];
}

function declare(input: DeclareInput<Settings>): Declaration {
  const { cluster } = input;
  const settings = resolveLonghornSettings(input.settings, cluster);
  const disks = clusterDisks(cluster, settings, input.path);
  const issues: Issue[] = [...disks.issues];
  const ca = input.settings.backupTarget?.caCertificate;
  if (ca !== undefined) {
    issues.push(
      ...caBundleIssues({
        pem: ca,
        path: input.path('backupTarget', 'caCertificate'),
        code: 'longhorn-backup-ca',
        key: 'caCertificate',
        consequence:
          "Longhorn's backup store would not load it, and every backup to the target would fail to reach the endpoint",
        reader: 'Longhorn',
      }),
    );
  }
  if (cluster.storageNodes.length === 0) {
    // Not an error by itself: a volume declared on the cluster is (storage-tier-without-disks).
    issues.push(
      warning({
        code: 'longhorn-storage-nodes',
        path: ['clusters', cluster.index, 'nodes'],
        message: `Longhorn is enabled on cluster "${cluster.name}" but no node holds storage: it has no StorageClass, and a volume declared there cannot be provisioned`,
        expected: 'storage: true or data disks on at least one node, or longhorn disabled',
      }),
    );
  }
  if (!settings.tiers.some((tier) => tier.name === settings.defaultTier)) {
    issues.push(
      error({
        code: 'longhorn-tier',
        path: input.path('defaultTier'),
        value: settings.defaultTier,
        message: 'is not a tier of longhorn.tiers',
        expected: `one of ${settings.tiers.map((t) => t.name).join(', ')}`,
      }),
    );
  }
  for (const tier of settings.tiers) {
    // Longhorn's RecurringJob takes a cron schedule as robfig/cron reads it (as VolSync and
    // Kubernetes do): what core's parseCron refuses, Longhorn would too, or never run.
    for (const task of ['snapshot', 'backup'] as const) {
      const schedule = tier[task]?.schedule;
      if (schedule === undefined) continue;
      const parsed = parseCron(schedule);
      if (!('message' in parsed)) continue;
      issues.push(
        error({
          code: 'longhorn-schedule',
          path: input.path('tiers', tier.name, task, 'schedule', cluster.environment),
          value: schedule,
          message: parsed.message,
          expected: parsed.expected,
        }),
      );
    }
    const scratch = scratchClassName(tier.name);
    if (settings.tiers.some((other) => other.name === scratch)) {
      issues.push(
        error({
          code: 'longhorn-tier',
          path: input.path('tiers', scratch),
          value: scratch,
          message: `is the name of the scratch class of tier "${tier.name}" (the backups' copies of its volumes go to ${scratch})`,
          expected: 'another tier name',
        }),
      );
    }
  }
  const classes = renderedTiers(settings, disks).map((tier) => ({
    name: tier.name,
    tier: tier.name,
    default: tier.name === settings.defaultTier,
    scratch: scratchClassName(tier.name),
  }));
  const clusterDomain = input.provided.dns?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const endpoint = input.settings.backupTarget?.endpoint;
  // The server's address only: Longhorn appends the bucket and the folder (backupTarget.path),
  // and the egress policies to the store come from its host and port (core's `urlFlowPeer`;
  // `s3EndpointIssues` refuses every endpoint it cannot resolve).
  const endpointIssues =
    endpoint === undefined
      ? []
      : s3EndpointIssues(endpoint, input.path('backupTarget', 'endpoint'), {
          code: 'longhorn-backup-target',
          bucketSettings: 'backupTarget.bucket and backupTarget.path',
          clusterDomain,
        });
  issues.push(...endpointIssues);
  const bucket = input.settings.backupTarget?.bucket;
  if (bucket !== undefined) {
    issues.push(
      ...s3BucketIssues(bucket, input.path('backupTarget', 'bucket'), 'longhorn-backup-target'),
    );
  }
  const routes = uiRoute(input, settings, issues);
  const oneReplica = oneReplicaClasses(renderedTiers(settings, disks));
  const recurring = renderedTiers(settings, disks).flatMap((tier) =>
    Object.values(recurringJobs(tier, settings.backupTarget !== undefined)).map((job) =>
      String(job.metadata.name),
    ),
  );
  return {
    application: application(disks),
    // A refused endpoint is reported at it: its flows, with a host no policy can name, would
    // only repeat the error at the component.
    flows: longhornFlows(
      endpointIssues.length > 0 ? { ...settings, backupTarget: undefined } : settings,
      { routed: routes.length > 0, recurringJobs: recurring.sort(compareStrings), clusterDomain },
    ),
    talos: talosNeeds(disks),
    afterNodeReboot: afterNodeReboot(cluster.storageNodes.length),
    ...(cluster.nodes.length === 1 && cluster.storageNodes.length > 0
      ? { beforeLoneNodeReboot: BEFORE_LONE_NODE_REBOOT }
      : {}),
    ...(cluster.nodes.length > 1 && cluster.storageNodes.length > 0
      ? {
          drainHeld: drainHeld(
            cluster.storageNodes.length,
            nodeDrainPolicy(cluster.storageNodes.length, oneReplica),
            oneReplica,
          ),
        }
      : {}),
    nodeLifecycle: longhornNodeLifecycle(cluster, settings, disks),
    ...later(diskChangeStep(cluster, disks, settings)),
    secrets: credentials(settings),
    ...(routes.length > 0 ? { routes } : {}),
    facts: {
      storage: { classes, csiDriver: LONGHORN_CSI_DRIVER, snapshotParameters: { type: 'snap' } },
    },
    issues,
  };
}

/** The upstream chart's values every cluster shares. */
function baseValues(): Values {
  return {
    [LONGHORN_VALUES_KEY]: {
      // Argo CD runs Helm's pre-upgrade hook as a PreSync hook on every sync, the first install
      // included, where the checker fails (Longhorn's "Install with Argo CD").
      preUpgradeChecker: { jobEnabled: false },
      // The tier StorageClasses are the platform's; the chart's own `longhorn` class is not default.
      persistence: { defaultClass: false },
      defaultSettings: {
        // Disks come from each storage node's annotation, only on labelled nodes.
        createDefaultDiskLabeledNodes: true,
        defaultDataPath: SYSTEM_DISK_PATH,
        // Replicas of a volume on distinct nodes: a node loss never takes two.
        replicaSoftAntiAffinity: false,
        // Detached volumes (scaled-down workloads) are snapshotted and backed up too.
        allowRecurringJobWhileVolumeDetached: true,
        // No calls home.
        upgradeChecker: false,
        allowCollectingLonghornUsageMetrics: false,
        // A pod on a failed node is deleted so that its volume can attach elsewhere.
        nodeDownPodDeletionPolicy: 'delete-both-statefulset-and-deployment-pod',
      },
      metrics: { serviceMonitor: { enabled: false } },
    },
  };
}

/** The taint Talos puts on control planes of a cluster with workers (no scheduling there). */
const CONTROL_PLANE_TAINT: { key: string; value?: string; effect: string } = {
  key: 'node-role.kubernetes.io/control-plane',
  effect: 'NoSchedule',
};

/**
 * The taints of the storage nodes that keep pods off them (NoSchedule, NoExecute; the Talos
 * control-plane taint where control planes take no workloads), each once, sorted. Longhorn's
 * manager DaemonSet and the components it makes (instance managers, engine images, the CSI
 * plugin) must tolerate them, or the node's disks are never used while the replica counts
 * count it.
 */
export function storageNodeTaints(
  cluster: ResolvedCluster,
): { key: string; value?: string; effect: string }[] {
  const taints = new Map<string, { key: string; value?: string; effect: string }>();
  for (const node of cluster.storageNodes) {
    const own = node.taints.filter((taint) => taint.effect !== 'PreferNoSchedule');
    const all: { key: string; value?: string; effect: string }[] =
      node.role === 'controlplane' && !cluster.allowSchedulingOnControlPlanes
        ? [...own, CONTROL_PLANE_TAINT]
        : [...own];
    for (const taint of all) {
      const value = taint.value === undefined || taint.value === '' ? undefined : taint.value;
      const entry = {
        key: taint.key,
        ...(value === undefined ? {} : { value }),
        effect: taint.effect,
      };
      taints.set(`${entry.key}=${value ?? ''}:${entry.effect}`, entry);
    }
  }
  return [...taints.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, taint]) => taint);
}

/**
 * Tolerations of the storage nodes' taints: the manager DaemonSet's (chart value
 * `longhornManager.tolerations`) and, for the components longhorn-manager creates, the
 * `taintToleration` setting (`key=value:effect` or `key:effect`, `;`-separated: longhorn-manager
 * v1.8.1 `types/setting.go` `UnmarshalTolerations`). Empty when no storage node is tainted.
 */
function tolerationValues(cluster: ResolvedCluster): Values {
  const taints = storageNodeTaints(cluster);
  if (taints.length === 0) return {};
  return {
    longhornManager: {
      tolerations: taints.map((taint) =>
        taint.value === undefined
          ? { key: taint.key, operator: 'Exists', effect: taint.effect }
          : { key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect },
      ),
    },
    taintToleration: taints
      .map(
        (taint) =>
          `${taint.key}${taint.value === undefined ? '' : `=${taint.value}`}:${taint.effect}`,
      )
      .join(';'),
  };
}

function clusterValues(
  cluster: ResolvedCluster,
  settings: ResolvedLonghornSettings,
  disks: ClusterDisks,
): Values {
  const storageNodes = cluster.storageNodes.length;
  const tiers = renderedTiers(settings, disks);
  const replicas = Math.max(1, Math.min(cluster.profile.replicas, storageNodes));
  const controllers = Math.max(
    1,
    Math.min(cluster.profile.replicas, cluster.schedulableNodes.length),
  );
  const { longhornManager, taintToleration } = tolerationValues(cluster);
  const values: Values = {
    defaultSettings: {
      defaultReplicaCount: replicas,
      nodeDrainPolicy: nodeDrainPolicy(storageNodes, oneReplicaClasses(tiers)),
      ...(taintToleration === undefined ? {} : { taintToleration }),
    },
    ...(longhornManager === undefined ? {} : { longhornManager }),
    persistence: { defaultClassReplicaCount: replicas },
    longhornUI: { replicas: controllers },
    csi: {
      attacherReplicaCount: controllers,
      provisionerReplicaCount: controllers,
      resizerReplicaCount: controllers,
      snapshotterReplicaCount: controllers,
    },
  };
  const target = settings.backupTarget;
  if (target !== undefined) {
    values.defaultBackupStore = {
      backupTarget: target.url,
      backupTargetCredentialSecret: target.credentialsSecret,
      pollInterval: target.pollInterval,
    };
  }
  return { [LONGHORN_VALUES_KEY]: values };
}

function clusterManifests(
  settings: ResolvedLonghornSettings,
  disks: ClusterDisks,
): { [key: string]: KubeObject } {
  const out: { [key: string]: KubeObject } = {};
  for (const tier of renderedTiers(settings, disks)) {
    out[`storageclass-${tier.name}`] = storageClass(tier, tier.name === settings.defaultTier);
    out[`storageclass-${scratchClassName(tier.name)}`] = scratchStorageClass(tier);
    Object.assign(out, recurringJobs(tier, settings.backupTarget !== undefined));
  }
  return out;
}

/** A PersistentVolumeClaim in its consumer's chart for every volume declared on the cluster. */
function claimsFor(entry: RenderCluster<Settings>): ConsumerManifests[] {
  const out: ConsumerManifests[] = [];
  for (const peer of entry.others) {
    const manifests: { [key: string]: KubeObject } = {};
    const origins: { [key: string]: ManifestOrigin } = {};
    for (const volume of peer.contribution.volumes ?? []) {
      const key = `persistentvolumeclaim-${volume.namespace}-${volume.name}`;
      manifests[key] = persistentVolumeClaim(volume);
      const origin = claimOrigin(volume);
      if (origin !== undefined) origins[key] = origin;
    }
    if (Object.keys(manifests).length > 0) {
      out.push({
        component: peer.component,
        cluster: entry.cluster.name,
        manifests,
        ...(Object.keys(origins).length > 0 ? { origins } : {}),
      });
    }
  }
  return out;
}

function readme(settings: ResolvedLonghornSettings): ChartSpec['readme'] {
  const appVersion = LONGHORN_APP_VERSIONS[settings.version];
  return {
    summary: `Longhorn ${appVersion}, the replicated block storage of every cluster: one StorageClass per tier (${settings.tiers.map((t) => `\`${t.name}\``).join(', ')}) on the storage nodes' disks of that tier, with snapshots and backups to S3 as recurring jobs per tier, and per tier a \`<tier>-scratch\` class (one replica, no recurring jobs, volumes deleted with their claim) for the copies the backups make (snapshot clones, restic caches, restore checks, the restored volume new claims are cloned from). Replica counts follow each environment's profile and never exceed the storage nodes holding a tier.`,
    sections: [
      {
        heading: 'Disks',
        body: [
          "Each storage node's data disks are Talos user volumes mounted at `/var/mnt/<disk>`; the",
          'system disk holds a disk at `/var/lib/longhorn` for the system-disk tier. Talos labels the',
          'node `node.longhorn.io/create-default-disk: config` and annotates it with the disk list',
          '(`node.longhorn.io/default-disks-config`, tags: class and tier); Longhorn creates the disks',
          'from it only while its Longhorn node has no disk (in practice when the node joins),',
          'reserving 30 % of the system disk and nothing of a data disk (`storageReserved: 1`). A',
          "later change of a node's disks (a data disk added, a new tier or class) changes the",
          'annotation and nothing in Longhorn: the runbook\'s "Later: changing a storage node\'s disks"',
          'patches the `nodes.longhorn.io` object from the same list and evicts a disk before it goes.',
        ].join('\n'),
      },
      {
        heading: 'Argo CD',
        body: [
          "The pre-upgrade checker is off: Argo CD would run Helm's pre-upgrade hook on every sync,",
          'the first included, where it fails. The CRDs are applied server-side; the conversion',
          "webhook's CA that longhorn-manager writes into them is ignored in diffs. The recurring jobs",
          'use `SkipDryRunOnMissingResource` (their CRD arrives in the same sync). The Application is',
          'critical: never pruned or cascade-deleted; removing Longhorn is a runbook step. Claims',
          'made for declared volumes carry `Prune=false,Delete=false`. The StorageClasses carry',
          '`Replace=true,Force=true`: their parameters are immutable, so a changed tier is deleted and',
          're-created (the Application syncs only what differs, `ApplyOutOfSyncOnly`, so only a',
          'changed class is); volumes already provisioned keep the replicas they were made with.',
        ].join('\n'),
      },
      {
        heading: 'Node drains',
        body: [
          'The drain policy follows the cluster: one storage node: `always-allow` (nothing can move);',
          'a class with one-replica volumes (a tier with one replica, or a `<tier>-scratch` class, which',
          "holds VolSync's restic caches and the bootstrap volumes of protected claims):",
          '`block-for-eviction-if-contains-last-replica` (the replica',
          'moves first); otherwise `block-if-contains-last-replica`: a drain waits only while the node',
          "holds a volume's last healthy replica. Whatever the policy, Longhorn keeps the instance manager's",
          'PodDisruptionBudget while a volume is attached on the node: on a single node, where the',
          "volumes' CSI attacher is evicted too, no drain gets past it (the runbook's Talos upgrade",
          'says how Talos does). Upgrading Talos keeps `/var/lib/longhorn` and the data disks (never use',
          '`talosctl reset` on a storage node without evacuating it in Longhorn).',
        ].join('\n'),
      },
      {
        heading: 'UI',
        body: [
          'The UI has no login of its own. It is routed only behind forward authentication at the',
          'Gateway (`ui.route`); otherwise: `kubectl -n longhorn-system port-forward',
          'svc/longhorn-frontend 8080:80`.',
        ].join('\n'),
      },
    ],
  };
}

function render(input: RenderInput<Settings>): ComponentOutput {
  const issues: Issue[] = [];
  const first = input.clusters[0];
  if (first === undefined) return {};
  const version = resolveLonghornSettings(first.settings, first.cluster).version;
  const clusterLayers: { [cluster: string]: Values } = {};
  const environments: { [E in EnvironmentName]?: Values } = {};
  const forConsumers: ConsumerManifests[] = [];
  for (const entry of input.clusters) {
    const settings = resolveLonghornSettings(entry.settings, entry.cluster);
    const disks = clusterDisks(entry.cluster, settings, entry.path);
    if (settings.backupTarget === undefined) {
      issues.push(
        warning({
          code: 'longhorn-no-backup-target',
          path: entry.path(),
          message: `Longhorn on cluster "${entry.cluster.name}" has no backup target: its volumes are snapshotted on the cluster but never backed up off it`,
          expected: 'longhorn.backupTarget (an S3 bucket)',
        }),
      );
    }
    clusterLayers[entry.cluster.name] = {
      ...clusterValues(entry.cluster, settings, disks),
      manifests: clusterManifests(settings, disks) as unknown as Values,
    };
    environments[entry.cluster.environment] = {};
    forConsumers.push(...claimsFor(entry));
  }
  const envLayers: { [E in EnvironmentName]?: Values } = {};
  for (const name of ENVIRONMENTS) if (environments[name] !== undefined) envLayers[name] = {};
  forConsumers.sort((a, b) =>
    compareStrings(`${a.component}/${a.cluster}`, `${b.component}/${b.cluster}`),
  );
  const chart: ChartSpec = {
    name: 'longhorn',
    description: 'Longhorn replicated block storage: StorageClass tiers, snapshots, S3 backups.',
    appVersion: LONGHORN_APP_VERSIONS[version],
    dependency: {
      name: LONGHORN_VALUES_KEY,
      version,
      repository: LONGHORN_REPOSITORY,
      upgradePath: LONGHORN_UPGRADE_PATH,
    },
    values: baseValues(),
    environments: envLayers,
    clusters: clusterLayers,
    readme: readme(resolveLonghornSettings(first.settings, first.cluster)),
  };
  return { chart, forConsumers, issues };
}

/** Longhorn as a platform component. */
export const longhornComponent: Component<Settings> = {
  name: 'longhorn',
  description: "Longhorn, replicated block storage: StorageClass tiers on the nodes' disks.",
  settings: longhornSettingsSpec,
  provides: ['storage'],
  needs: ['cni'],
  uses: ['secrets', 'gateway'],
  upstream: LONGHORN_UPSTREAM,
  validators: longhornValidators,
  checks: longhornChecks,
  changes: longhornChanges,
  declare,
  render,
};
