// Changes a running Talos cluster cannot take, found by comparing each cluster of the definition
// with what the last build generated for it under clusters/<cluster>/ (what its nodes were
// configured with): another pod or service network (`cluster-network-changed`), a Kubernetes
// release it cannot move to (`kubernetes-upgrade-path`), a Talos release it cannot move to
// (`talos-upgrade-path`); and a cluster the last build wrote that the definition no longer has
// (`cluster-removed`, a warning). Pure: the CLI reads the files (`Runtime.readClusterFiles`,
// `Runtime.readClusterNames`).
import {
  error,
  type Issue,
  kubernetesUpgradeRefusal,
  type PathSegment,
  parseCidr,
  type ResolvedCluster,
  type ResolvedPlatform,
  talosUpgradeRefusal,
  warning,
} from '@homelab/core';
import { deployedCluster } from '@homelab/talos-config';

/** The files of clusters/<cluster>/ the comparison reads, relative to that folder. */
export const DEPLOYED_CLUSTER_FILES = ['talos/controlplane.yaml', 'RUNBOOK.md'] as const;

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
