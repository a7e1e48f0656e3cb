// Changes a running Talos cluster cannot take, found by comparing each cluster of the definition
// with what the last build generated for it under clusters/<cluster>/ (what its nodes were
// configured with): another pod or service network (`cluster-network-changed`), a Kubernetes
// release it cannot move to (`kubernetes-upgrade-path`), a Talos release it cannot move to
// (`talos-upgrade-path`); a cluster the last build wrote that the definition no longer has
// (`cluster-removed`, a warning); a root Application that changes (`root-application-changed`,
// a warning: nothing in Git applies it); an installer image that changes at the same Talos
// release (`talos-installer-changed`, a warning: extensions reach a node through an upgrade only);
// a node the definition no longer has (`node-removed`, a warning: it runs until retired); a node
// given another role (`node-role-changed`) or a cluster another disk encryption
// (`disk-encryption-changed`), which a running node cannot take; and a
// hand-made Secret the runbook lists anew (`hand-made-secret-added`, a warning: nothing makes it).
// Pure: the CLI reads the files
// (`Runtime.readClusterFiles`, `Runtime.readClusterNames`).
import { isDeepStrictEqual } from 'node:util';
import {
  compareStrings,
  error,
  fileDocuments,
  type GeneratedFile,
  type Issue,
  isJson as isTable,
  kubernetesUpgradeRefusal,
  type PathSegment,
  parseCidr,
  type ResolvedCluster,
  type ResolvedPlatform,
  rootApplicationName,
  settingsPath,
  talosUpgradeRefusal,
  warning,
} from '@homelab/core';
import { type DeployedNode, deployedCluster } from '@homelab/talos-config';

/** The files of clusters/<cluster>/ the comparison reads, relative to that folder. */
export const DEPLOYED_CLUSTER_FILES = [
  'talos/controlplane.yaml',
  'RUNBOOK.md',
  'root-application.yaml',
] as const;

/** The files that make `clusters/<cluster>/` a cluster the last build wrote (`readClusterNames`). */
export const CLUSTER_MARKERS = ['root-application.yaml', 'talos/controlplane.yaml'] as const;

/** How to build anyway, where the cluster is rebuilt or never ran what the last build wrote. */
const ALLOW =
  'build with --allow-immutable-changes (it skips this comparison with the last build) where the cluster is rebuilt from scratch or never ran what the last build wrote';

/** `text` as its network (`10.244.0.1/16` and `10.244.0.0/16` alike), else as written. */
function network(text: string): string {
  return parseCidr(text)?.text ?? text;
}

function networkIssue(
  cluster: ResolvedCluster,
  field: 'podCidr' | 'serviceCidr',
  deployed: readonly string[],
): Issue | undefined {
  const now = cluster.network[field];
  const before = deployed.map(network);
  if (before.length === 1 && before[0] === network(now)) return undefined;
  const what = field === 'podCidr' ? 'pod network' : 'service network';
  const why =
    field === 'podCidr'
      ? "each Node keeps the spec.podCIDR the controller manager gave it from the old network (Kubernetes never changes it on an existing Node; Cilium's IPAM takes the pods' addresses from it), so the nodes would go on handing out addresses outside the new one"
      : "every Service keeps the ClusterIP it was given from the old network, the API server's own `kubernetes` Service and the cluster DNS among them, while the kubelets would point every new pod at the new network's DNS address (its 10th)";
  const was = before.length === 1 ? `${before[0]}` : JSON.stringify(before);
  return error({
    code: 'cluster-network-changed',
    path: ['clusters', cluster.index, 'network', field],
    output: `clusters/${cluster.name}/talos/controlplane.yaml`,
    value: now,
    message: `would change cluster "${cluster.name}"'s ${what} from ${was}, which the last build wrote (clusters/${cluster.name}/talos/controlplane.yaml, the patch its nodes were configured with), to ${now}; Talos and Kubernetes cannot renumber a running cluster: ${why}`,
    expected: `${was} while the cluster runs: keep it; to change it, rebuild the cluster (reset every node, then its runbook from the start) and build with --allow-immutable-changes (it skips this comparison with the last build); a cluster not brought up yet from the last build's files (a definition made your own over the example's output): build with --allow-immutable-changes once`,
  });
}

function versionIssue(
  cluster: ResolvedCluster,
  kind: 'talos' | 'kubernetes',
  deployed: string,
  next: string,
): Issue | undefined {
  const refusal =
    kind === 'talos'
      ? talosUpgradeRefusal(deployed, next)
      : kubernetesUpgradeRefusal(deployed, next);
  if (refusal === undefined) return undefined;
  const path: PathSegment[] = ['clusters', cluster.index, kind, 'version'];
  const file =
    kind === 'talos'
      ? `clusters/${cluster.name}/talos/controlplane.yaml`
      : `clusters/${cluster.name}/RUNBOOK.md`;
  const name = kind === 'talos' ? 'Talos' : 'Kubernetes';
  return error({
    code: kind === 'talos' ? 'talos-upgrade-path' : 'kubernetes-upgrade-path',
    path,
    output: file,
    value: next,
    message: `would take cluster "${cluster.name}" from ${name} ${deployed}, which the last build wrote (${file}), to ${next}, which it cannot take: ${refusal.why}`,
    expected: `${refusal.instead}; ${ALLOW}`,
  });
}

/**
 * The changes of each cluster the last build generated files for (`previous(cluster)`: the
 * files of `DEPLOYED_CLUSTER_FILES` it wrote, `undefined` for a cluster it did not build) that the
 * running cluster cannot take. A cluster new to this build, or a fact the last build's files do
 * not hold, compares nothing.
 */
export function clusterChangeIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const cluster of platform.clusters) {
    const files = previous(cluster.name);
    const controlPlane = files?.get('talos/controlplane.yaml');
    if (files === undefined || controlPlane === undefined) continue;
    const facts = deployedCluster({ controlPlane, runbook: files.get('RUNBOOK.md') });
    const found = [
      facts.podCidrs === undefined ? undefined : networkIssue(cluster, 'podCidr', facts.podCidrs),
      facts.serviceCidrs === undefined
        ? undefined
        : networkIssue(cluster, 'serviceCidr', facts.serviceCidrs),
      facts.talosVersion === undefined
        ? undefined
        : versionIssue(cluster, 'talos', facts.talosVersion, cluster.talosVersion),
      facts.kubernetesVersion === undefined
        ? undefined
        : versionIssue(cluster, 'kubernetes', facts.kubernetesVersion, cluster.kubernetesVersion),
    ];
    issues.push(...found.filter((issue) => issue !== undefined));
  }
  return issues;
}

/**
 * A warning for each cluster the last build wrote (`previous`: the names of its
 * `clusters/<cluster>/` folders) that the definition no longer has: the build deletes its folder
 * and its layer of the platform chart, which its running root Application still reads.
 */
export function removedClusterIssues(
  platform: ResolvedPlatform,
  previous: readonly string[],
): Issue[] {
  const kept = new Set(platform.clusters.map((cluster) => cluster.name));
  return previous
    .filter((name) => !kept.has(name))
    .map((name) =>
      warning({
        code: 'cluster-removed',
        path: ['clusters'],
        output: `clusters/${name}/`,
        value: name,
        message: `has no cluster "${name}", which the last build wrote (clusters/${name}/): building it deletes clusters/${name}/ and charts/platform/clusters/${name}.yaml, a value file of the root Application ${name}-platform. If that cluster runs, Argo CD can no longer render its root Application (Helm: the value file does not exist) and stops syncing it: nothing on it is removed, nothing is updated any more, not even a rotated secret or a fixed alert, and its bootstrap material is gone from clusters/`,
        expected: `cluster "${name}" kept in the definition while it runs; to retire it, copy out what you need (its backups stay in their bucket), wipe its nodes (talosctl reset on each), then remove it. A renamed cluster is a new one: bring it up from its own runbook and retire the old one the same way. Nothing runs from the last build's files (a definition made your own over the example's output): build with --allow-immutable-changes once (it skips the comparison with the last build)`,
      }),
    );
}

type Table = { readonly [key: string]: unknown };

/** The dotted paths at which `before` and `after` differ (a list differs as a whole). */
function changedPaths(before: unknown, after: unknown, prefix: string): string[] {
  if (isTable(before) && isTable(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) =>
      changedPaths(before[key], after[key], prefix === '' ? key : `${prefix}.${key}`),
    );
  }
  return isDeepStrictEqual(before, after) ? [] : [prefix];
}

/** The value at a dotted path of `changedPaths`. */
function valueAt(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (isTable(at) ? at[key] : undefined), value);
}

/**
 * Each cluster whose `file` (a path under `clusters/<cluster>/`) this build writes otherwise than
 * the last build wrote it (`previous`, as for `clusterChangeIssues`): both texts, and this
 * build's file.
 */
function changedClusterFiles(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
  file: string,
): { cluster: ResolvedCluster; path: string; old: string; now: GeneratedFile }[] {
  const byPath = new Map(files.map((generated) => [generated.path, generated]));
  return platform.clusters.flatMap((cluster) => {
    const path = `clusters/${cluster.name}/${file}`;
    const old = previous(cluster.name)?.get(file);
    const now = byPath.get(path);
    return old === undefined || now === undefined || old === now.content
      ? []
      : [{ cluster, path, old, now }];
  });
}

/** The names of a root Application's Helm parameters. */
function parameterNames(application: unknown): string[] {
  const spec = isTable(application) ? application.spec : undefined;
  const source = isTable(spec) ? spec.source : undefined;
  const helm = isTable(source) ? source.helm : undefined;
  const parameters = isTable(helm) && Array.isArray(helm.parameters) ? helm.parameters : [];
  return parameters.flatMap((parameter) =>
    isTable(parameter) && typeof parameter.name === 'string' ? [parameter.name] : [],
  );
}

/** The Application and AppProject of a root-application.yaml, by kind. */
function rootDocuments(documents: readonly unknown[]): { [kind: string]: Table } {
  const out: { [kind: string]: Table } = {};
  for (const document of documents) {
    if (isTable(document) && typeof document.kind === 'string') out[document.kind] = document;
  }
  return out;
}

/** `manifests.application-<name>.spec.source.targetRevision` → `<name>`. */
function parameterApplication(name: string): string {
  return /^manifests\.application-(.+)\.spec\.source\.targetRevision$/.exec(name)?.[1] ?? name;
}

const show = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

/**
 * A warning for each cluster whose root Application (or its AppProject) this build changes from
 * what the last build wrote in `clusters/<cluster>/root-application.yaml` (`previous`, as for
 * `clusterChangeIssues`; `files`, this build's output). No Application manages the root: the
 * cluster runs the root applied by hand, so the change reaches it only when the file is applied
 * again; the warning says what changed and what the running root does until then.
 */
export function rootApplicationIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  const issues: Issue[] = [];
  const changed = changedClusterFiles(platform, previous, files, 'root-application.yaml');
  for (const { cluster, path, old, now: file } of changed) {
    let before: { [kind: string]: Table };
    try {
      before = rootDocuments(fileDocuments({ path, content: old }));
    } catch {
      continue;
    }
    const after = rootDocuments(fileDocuments(file));
    const name = rootApplicationName(cluster);
    const changes: string[] = [];
    const effects: string[] = [];
    const oldParameters = parameterNames(before.Application);
    const newParameters = parameterNames(after.Application);
    for (const kind of ['Application', 'AppProject']) {
      for (const field of changedPaths(before[kind], after[kind], '')) {
        if (kind === 'Application' && field === 'spec.source.helm.parameters') continue;
        changes.push(
          `${kind === 'Application' ? '' : "its AppProject's "}${field} from ${show(
            valueAt(before[kind], field),
          )} to ${show(valueAt(after[kind], field))}`,
        );
        if (field === 'spec.source.targetRevision') {
          effects.push('the cluster goes on following the revision it follows now');
        } else if (field === 'spec.source.helm.valueFiles') {
          effects.push('the root goes on rendering the cluster with the value files it names now');
        } else if (field === 'spec.source.repoURL') {
          effects.push('the root goes on reading the repository it reads now');
        }
      }
    }
    const added = newParameters.filter((parameter) => !oldParameters.includes(parameter));
    const removed = oldParameters.filter((parameter) => !newParameters.includes(parameter));
    if (added.length > 0) {
      changes.push(`a revision parameter for ${added.map(parameterApplication).join(', ')} added`);
      effects.push(
        `${added.map(parameterApplication).join(', ')} follow${added.length === 1 ? 's' : ''} the revision ${added.length === 1 ? 'its' : 'their'} committed values name, not the root's`,
      );
    }
    if (removed.length > 0) {
      changes.push(
        `the revision parameter for ${removed.map(parameterApplication).join(', ')} removed`,
      );
      effects.push(
        `the root's parameter for ${removed.map(parameterApplication).join(', ')} makes charts/platform's schema refuse the root's render (an Application without a kind): nothing syncs through the root, the removal included`,
      );
    }
    if (changes.length === 0) continue;
    issues.push(
      warning({
        code: 'root-application-changed',
        path: ['clusters', cluster.index],
        output: path,
        value: cluster.name,
        message: `changes the root Application ${name} of cluster "${cluster.name}" from what the last build wrote (${path}): ${changes.join('; ')}. No Application manages the root (it is applied by hand), so the cluster runs the old one until the file is applied again${effects.length > 0 ? `: until then ${effects.join('; ')}` : ''}`,
        expected: `once this commit is on the revision the cluster's root follows, apply it: \`kubectl apply -f ${path}\` (to another revision: the runbook's "Moving this cluster to another revision")`,
      }),
    );
  }
  return issues;
}

/**
 * A warning for each cluster whose installer image (the Image Factory schematic: its system
 * extensions) changes from the control-plane patch the last build wrote while its Talos release
 * stays: a node runs the extensions of the image it installed, and a config apply records the new
 * image without installing it (Talos installs an image at install and upgrade only), so the new
 * extensions reach a node only through an upgrade to the same release on the new image. A new
 * release goes through that upgrade anyway (`talos-upgrade-path` judges it).
 */
export function installerIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  const issues: Issue[] = [];
  const changed = changedClusterFiles(platform, previous, files, 'talos/controlplane.yaml');
  for (const { cluster, path, old, now } of changed) {
    const was = deployedCluster({ controlPlane: old });
    const is = deployedCluster({ controlPlane: now.content });
    if (
      was.installer === undefined ||
      is.installer === undefined ||
      was.installer === is.installer ||
      was.talosVersion !== is.talosVersion
    ) {
      continue;
    }
    issues.push(
      warning({
        code: 'talos-installer-changed',
        path: ['clusters', cluster.index, 'talos'],
        output: path,
        value: is.installer,
        message: `is the installer image of cluster "${cluster.name}" now, at the same Talos release ${is.talosVersion}, in place of ${was.installer}, which its nodes installed (the last build's ${path}): a node runs the system extensions of the image it installed, and applying the new patches only records the new image, so the change of extensions (a storage component's iscsi-tools, for one) reaches no node until each is upgraded onto it`,
        expected: `after this commit, register the new schematic with the Image Factory (the runbook's step 2), then upgrade every node to the same release on the new image, as the runbook's "Upgrades" for Talos does (\`talosctl upgrade --image ${is.installer}:${is.talosVersion}\`, node by node)`,
      }),
    );
  }
  return issues;
}

/**
 * The nodes the last build's runbook names (`deployedCluster`'s `nodes`), by hostname, for each
 * cluster of the definition the last build wrote a runbook for: what the node checks below compare
 * the definition's nodes with.
 */
function deployedNodes(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
): { cluster: ResolvedCluster; nodes: ReadonlyMap<string, DeployedNode> }[] {
  return platform.clusters.flatMap((cluster) => {
    const runbook = previous(cluster.name)?.get('RUNBOOK.md');
    if (runbook === undefined) return [];
    const nodes = deployedCluster({ runbook }).nodes ?? [];
    return [{ cluster, nodes: new Map(nodes.map((node) => [node.hostname, node])) }];
  });
}

/**
 * A warning for each node the last build's runbook names (`deployedCluster`'s `nodes`) that the
 * cluster's definition no longer has: the build takes it out of the runbook and the patches, but
 * nothing touches the running node, which stays in the cluster with its pods and what the
 * components keep on it until the runbook's "Retiring a node no longer in the definition" block
 * retires it. The warning fills in that block's `NODE` and `NODE_ADDRESS`.
 */
export function removedNodeIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const { cluster, nodes } of deployedNodes(platform, previous)) {
    const kept = new Set(cluster.nodes.map((node) => node.hostname));
    for (const node of nodes.values()) {
      if (kept.has(node.hostname)) continue;
      const role = node.role === 'controlplane' ? 'a control plane' : 'a worker';
      issues.push(
        warning({
          code: 'node-removed',
          path: ['clusters', cluster.index, 'nodes'],
          output: `clusters/${cluster.name}/RUNBOOK.md`,
          value: node.hostname,
          message: `is a node of cluster "${cluster.name}" (${node.role}, ${node.address}) that the last build's runbook names and the definition no longer has: the build takes it out of the runbook and the patches, but nothing touches the running node: it stays in the cluster, with its pods and what the components keep on it${node.role === 'controlplane' ? ', its etcd member among them' : ''}, until it is retired`,
          expected: `the runbook's "Retiring a node no longer in the definition", the block for ${role}, with \`NODE=${node.hostname}\` and \`NODE_ADDRESS=${node.address}\` (a renamed node is a new one: bring it up as "Adding a node" says, then retire the old name)`,
        }),
      );
    }
  }
  return issues;
}

/**
 * An error for each node the last build's runbook names with another role than the definition now
 * gives it. Talos sets a machine's type when it is installed: `machine.type` is no field applied in
 * place (v1.12.11 `CanApplyImmediate`), and a staged config boots the node in its new role with
 * nothing undone of the old one: a control plane leaves etcd only through a graceful reset
 * (`LeaveEtcd`, the reset sequence alone), so one that reboots as a worker leaves its member
 * registered and dead, and etcd counts it in its quorum. The way that keeps etcd and the
 * cluster right is the runbook's: retire the node, then add it in its new role.
 */
export function nodeRoleIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const { cluster, nodes } of deployedNodes(platform, previous)) {
    for (const node of cluster.nodes) {
      const was = nodes.get(node.hostname);
      if (was === undefined || was.role === node.role) continue;
      const etcd =
        was.role === 'controlplane'
          ? ': its etcd member leaves only with a graceful reset (`talosctl reset`), so a control plane rebooted as a worker leaves its member registered and dead, and etcd counts it against its quorum (one more control plane down stops the cluster)'
          : '';
      issues.push(
        error({
          code: 'node-role-changed',
          path: ['clusters', cluster.index, 'nodes', node.index, 'role'],
          output: `clusters/${cluster.name}/RUNBOOK.md`,
          value: node.role,
          message: `would make node "${node.hostname}" of cluster "${cluster.name}" a ${node.role === 'controlplane' ? 'control plane' : 'worker'}, which the last build's runbook names as a ${was.role === 'controlplane' ? 'control plane' : 'worker'} (clusters/${cluster.name}/RUNBOOK.md); Talos sets a machine's role when it is installed and undoes nothing of the old one when a new config makes it another${etcd}`,
          expected: `role: ${was.role} while the node runs; to change it, retire the node with the runbook's "Retiring a node" block for ${was.hostname} (it resets the machine${was.role === 'controlplane' ? ' and removes its etcd member' : ''}), then change its role here, build, and add it again as "Adding a node" says; ${ALLOW}`,
        }),
      );
    }
  }
  return issues;
}

/**
 * A warning for each node the last build's runbook names at another address than the definition
 * now gives it. The running node keeps its old address until a config with the new one applies
 * there, while this build's runbook (and "Later: changing Talos settings") reaches it at the new
 * one, where nothing answers yet; with the nodes' firewall, the other nodes admit each node by its
 * address (per-address rules), so its traffic to them is dropped until both sides have the new
 * configs. Talos moves a control plane's etcd peer URL itself (v1.12.11 etcd
 * `advertised_peer.go`), but talosctl's endpoints name the old address.
 */
export function nodeAddressIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const { cluster, nodes } of deployedNodes(platform, previous)) {
    for (const node of cluster.nodes) {
      const was = nodes.get(node.hostname);
      // A node given another role is node-role-changed's (it is retired and added again).
      if (was === undefined || was.address === node.address || was.role !== node.role) continue;
      const controlPlane = node.role === 'controlplane';
      const config = controlPlane ? 'controlplane.yaml' : 'worker.yaml';
      issues.push(
        warning({
          code: 'node-address-changed',
          path: ['clusters', cluster.index, 'nodes', node.index, 'address'],
          output: `clusters/${cluster.name}/RUNBOOK.md`,
          value: node.address,
          message: `moves node "${node.hostname}" of cluster "${cluster.name}" from ${was.address}, which the last build's runbook names (clusters/${cluster.name}/RUNBOOK.md), to ${node.address}: the running node answers at ${was.address} until a config with the new address applies there, while this build's runbook reaches it at ${node.address} only, and where the nodes' firewall runs the other nodes admit each node by its address, so its traffic to them (${controlPlane ? 'etcd, ' : ''}the kubelet, the tunnel) is dropped until both sides have the new configs`,
          expected: `once the machine configs are generated again ("Later: changing Talos settings"), its new config applied at the old address first (\`talosctl apply-config -n ${was.address} -f "$TALOS_DIR"/${config} --config-patch @clusters/${cluster.name}/talos/nodes/${node.hostname}.yaml\`), then every other node's at once${controlPlane ? ", with every other etcd member up (Talos moves the member's peer URL itself), and talosctl's endpoints set again (`talosctl config endpoint` with the control planes' new addresses)" : ''}; or retire the node with the last build's runbook and add it again at the new address`,
        }),
      );
    }
  }
  return issues;
}

/**
 * An error for each cluster whose disk encryption (the control-plane patch's STATE and EPHEMERAL
 * `VolumeConfig`) changes from what the last build wrote. Talos encrypts them when it formats them,
 * at install, and never converts them: given a config without encryption, a node finds its
 * volume encrypted ("volume is encrypted, but no encryption config provided", v1.12.11 and v1.13.9
 * `block/internal/volumes/format.go`); with encryption where there was none, "block dev type
 * mismatch" (`encrypt.go`); with the other key (`tpm` for `nodeID`, or back), no configured key
 * opens slot 0. The config applies without a word, and the node does not come up at its next
 * reboot or upgrade.
 */
export function diskEncryptionIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  const issues: Issue[] = [];
  const changed = changedClusterFiles(platform, previous, files, 'talos/controlplane.yaml');
  for (const { cluster, path, old, now } of changed) {
    const was = deployedCluster({ controlPlane: old }).diskEncryption;
    const is = deployedCluster({ controlPlane: now.content }).diskEncryption;
    if (was === undefined || is === undefined || was === is) continue;
    issues.push(
      error({
        code: 'disk-encryption-changed',
        path: ['clusters', cluster.index, 'talos', 'diskEncryption'],
        output: path,
        value: is,
        message: `would change the encryption of cluster "${cluster.name}"'s STATE and EPHEMERAL partitions from ${was}, which its nodes were installed with (the last build's ${path}), to ${is}; Talos encrypts them when it formats them, at install, and never converts them: a node given the new config applies it without a word and, at its next reboot or upgrade, ${is === 'none' ? 'finds them encrypted with no key configured' : was === 'none' ? 'finds them not encrypted where it expects LUKS' : 'finds no configured key that opens them'}, and does not come up`,
        expected: `talos.diskEncryption: ${was} while the cluster runs; to change it, reinstall each node with the new setting (retire it with the runbook's block, then add it again, one at a time, applying the new configs to no node that was not reinstalled), or rebuild the cluster; ${ALLOW}`,
      }),
    );
  }
  return issues;
}

/** Where a route's login through the OIDC provider starts in the onboarding (applications' oidc.ts). */
const OIDC_LOGIN = "login: the application's own, through the platform's OIDC provider: ";

/** `text` split at each "; " outside parentheses (a part may hold "(…; …)"). */
function loginParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const character = text[i];
    if (character === '(') depth++;
    else if (character === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && character === ';' && text[i + 1] === ' ') {
      parts.push(text.slice(start, i));
      start = i + 2;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * Per application of a runbook's onboarding ("What each application needs:", applications'
 * onboarding.ts: `- **<app>**, namespace …`, then its routes `  - route \`<url>\`: …`), what its
 * routes' OIDC logins say to configure: each route that logs in (`route <url>`) and each part of
 * its login (oidc.ts `oidcLoginText`, parts joined by "; ").
 */
function applicationLogins(runbook: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let app: string | undefined;
  for (const line of runbook.split('\n')) {
    const heading = /^- \*\*([^*]+)\*\*, namespace `/.exec(line);
    if (heading !== null) {
      app = heading[1] as string;
      continue;
    }
    if (!line.startsWith('  ')) {
      if (line.trim() !== '') app = undefined;
      continue;
    }
    const route = /^ {2}- route `([^`]+)`/.exec(line);
    const at = line.indexOf(OIDC_LOGIN);
    if (app === undefined || route === null || at < 0) continue;
    const parts = out.get(app) ?? new Set<string>();
    parts.add(`route \`${route[1]}\``);
    for (const part of loginParts(line.slice(at + OIDC_LOGIN.length).replace(/\.$/, ''))) {
      parts.add(part);
    }
    out.set(app, parts);
  }
  return out;
}

/**
 * A warning for each application whose login through the platform's OIDC provider changes from
 * what the last build's runbook told to configure (its client id, secret, redirect URIs, issuer,
 * the CA to trust: a route renamed takes the default client id and Secret name with it, another
 * domain or issuer moves the issuer). The application's workloads are the user's own, deployed
 * outside the platform with those settings: the provider registers the new client at the sync
 * (the old one gone), the old client's Secret goes with its BitwardenSecret, and the login fails
 * until the application is configured again.
 */
export function applicationLoginIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  const issues: Issue[] = [];
  for (const { cluster, path, old, now } of changedClusterFiles(
    platform,
    previous,
    files,
    'RUNBOOK.md',
  )) {
    const before = applicationLogins(old);
    for (const [app, parts] of applicationLogins(now.content)) {
      const was = before.get(app);
      if (was === undefined) continue;
      const added = [...parts].filter((part) => !was.has(part));
      const gone = [...was].filter((part) => !parts.has(part));
      if (added.length === 0 && gone.length === 0) continue;
      issues.push(
        warning({
          code: 'application-login-changed',
          path: settingsPath(cluster, 'applications'),
          output: path,
          value: app,
          message: `changes how application ${app} logs in through the platform's OIDC provider on cluster "${cluster.name}", from what the last build's runbook said to configure: now ${added.length === 0 ? '(nothing new)' : added.join('; ')}${gone.length === 0 ? '' : `; no longer ${gone.join('; ')}`}. The application runs with the old settings (its workloads are yours, deployed outside the platform): once Argo CD syncs this change the provider knows only the new client, a Secret no longer named goes with its BitwardenSecret, and the application's login fails until it is configured again`,
          expected: `the application's own OIDC settings changed to the new ones as the Argo CD sync lands (the runbook's "What each application needs" has them whole); or, where only a name changed (a route renamed), the old ones kept in the definition: the route's \`oidc.clientId\` and \`oidc.clientSecret.secretName\``,
        }),
      );
    }
  }
  return issues;
}

/** The heading of the runbook step that makes the hand-made Secrets (talos-config render.ts). */
const HAND_MADE_STEP = /^## \d+\. Create the hand-made secrets$/;

/** `namespace/name` of each Secret a runbook's "Create the hand-made secrets" step lists. */
function handMadeSecrets(runbook: string): Set<string> {
  const out = new Set<string>();
  let inside = false;
  for (const line of runbook.split('\n')) {
    if (line.startsWith('## ')) inside = HAND_MADE_STEP.test(line);
    if (!inside) continue;
    const match = /^- `([^`/\s]+\/[^`/\s]+)` \(keys /.exec(line);
    if (match?.[1] !== undefined) out.add(match[1]);
  }
  return out;
}

/**
 * A warning for each hand-made Secret (a component's `bootstrapSecrets`: the secrets provider's
 * token in a namespace that gets Secrets from the store) that this build's runbook lists for a
 * cluster and the last build's did not: a running cluster does not run its bootstrap again, so
 * nothing makes it, and what reads it stays empty (an application added later: its
 * BitwardenSecrets never sync, its claims wait for a restore that never comes). Only for a cluster
 * the last build wrote a runbook for (a new cluster runs the whole runbook).
 */
export function addedHandMadeSecretIssues(
  platform: ResolvedPlatform,
  previous: (cluster: string) => ReadonlyMap<string, string> | undefined,
  files: readonly GeneratedFile[],
): Issue[] {
  const issues: Issue[] = [];
  for (const { cluster, path, old, now } of changedClusterFiles(
    platform,
    previous,
    files,
    'RUNBOOK.md',
  )) {
    const before = handMadeSecrets(old);
    for (const secret of [...handMadeSecrets(now.content)].sort(compareStrings)) {
      if (before.has(secret)) continue;
      const namespace = secret.slice(0, secret.indexOf('/'));
      issues.push(
        warning({
          code: 'hand-made-secret-added',
          path: ['clusters', cluster.index],
          output: path,
          value: secret,
          message: `is a hand-made Secret cluster "${cluster.name}" needs from this build on, which the last build's runbook did not list: a running cluster does not run its bootstrap again, so nothing makes it, and what reads it stays empty until it exists`,
          expected: `the Secret made on the cluster before the change syncs: the runbook's step "Create the hand-made secrets", its commands for namespace \`${namespace}\` (with the value its reads ask for)`,
        }),
      );
    }
  }
  return issues;
}
