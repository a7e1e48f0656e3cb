import {
  compareStrings,
  error,
  type Issue,
  type PathSegment,
  type ResolvedCluster,
  type TalosNeeds,
  type TalosUserVolume,
  warning,
} from '@homelab/core';

/** A component's Talos needs on a cluster, with the component's name for messages. */
export interface TalosRequirements extends TalosNeeds {
  /** Component that asks. */
  readonly source: string;
}

export type KubeletExtraMount = NonNullable<TalosNeeds['kubeletExtraMounts']>[number];

/** Every component's Talos requirements on one cluster, merged. */
export interface MergedTalosRequirements {
  /** CNI name for `cluster.network.cni.name`; `undefined` keeps Talos' default (Flannel). */
  readonly cni: string | undefined;
  /** Components that asked for `cni` (the runbook installs their charts by hand, before Argo CD where it runs). */
  readonly cniSources: readonly string[];
  readonly disableKubeProxy: boolean;
  readonly kubePrism: { readonly port: number } | undefined;
  /** Sorted, deduplicated. */
  readonly extensions: readonly string[];
  /** Sorted by destination, deduplicated. */
  readonly kubeletExtraMounts: readonly KubeletExtraMount[];
  /** Sorted, deduplicated. */
  readonly kernelModules: readonly string[];
  readonly sysctls: { readonly [key: string]: string };
  /** Extra arguments of the control-plane components, per component, sorted by flag. */
  readonly controlPlaneArgs: {
    readonly [C in ControlPlaneComponent]: { readonly [flag: string]: string };
  };
  /** Talos API access from Kubernetes, when a component asks (roles and namespaces sorted). */
  readonly kubernetesTalosAPIAccess:
    | { readonly roles: readonly string[]; readonly namespaces: readonly string[] }
    | undefined;
  /** What single nodes need, by hostname (every node of the cluster has an entry). */
  readonly nodes: ReadonlyMap<string, MergedNodeNeeds>;
  /** Talos' own CoreDNS disabled (a component deploys the cluster DNS). */
  readonly disableCoreDns: boolean;
  /** Components that asked for it. */
  readonly coreDnsSources: readonly string[];
}

/** Control-plane components whose arguments components may ask for (`TalosNeeds.controlPlaneArgs`). */
export const CONTROL_PLANE_COMPONENTS = ['controllerManager', 'scheduler', 'etcd'] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

/** One node's merged needs. */
export interface MergedNodeNeeds {
  /** Sorted by name. */
  readonly userVolumes: readonly TalosUserVolume[];
  /** The definition's node labels and the components', sorted by key. */
  readonly labels: { readonly [key: string]: string };
  readonly annotations: { readonly [key: string]: string };
}

/** The roles Talos can grant to pods (`kubernetesTalosAPIAccess.allowedRoles`). */
export const TALOS_API_ROLES = ['os:admin', 'os:etcd:backup', 'os:operator', 'os:reader'] as const;

// Talos user volume names: 1-34 ASCII letters, digits and '-'.
const USER_VOLUME = /^[A-Za-z0-9-]{1,34}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

// Image Factory official extension names: `<org>/<name>`.
export const EXTENSION_NAME = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;
const KERNEL_MODULE = /^[A-Za-z0-9_-]+$/;

interface Claim<T> {
  readonly source: string;
  readonly value: T;
}

/**
 * Merges the requirements components declared for `cluster`. Two components that ask for
 * different values of the same setting (KubePrism port, CNI, kube-proxy, a sysctl, a kubelet
 * mount) produce an issue naming both; lists are unioned.
 */
export function mergeTalosRequirements(
  cluster: ResolvedCluster,
  requirements: readonly TalosRequirements[],
): { merged: MergedTalosRequirements; issues: Issue[] } {
  const issues: Issue[] = [];
  const base: PathSegment[] = ['clusters', cluster.index, 'components'];
  const sorted = [...requirements].sort((a, b) => compare(a.source, b.source));

  const cni = single(
    'CNI',
    sorted.flatMap((r) => (r.cni === undefined ? [] : [{ source: r.source, value: r.cni }])),
  );
  const proxy = single(
    'kube-proxy setting',
    sorted.flatMap((r) =>
      r.disableKubeProxy === undefined ? [] : [{ source: r.source, value: r.disableKubeProxy }],
    ),
    (value) => (value ? 'disabled' : 'enabled'),
  );
  const prismClaims: Claim<number>[] = [];
  for (const r of sorted) {
    if (r.kubePrism === undefined) continue;
    const port = r.kubePrism.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      issues.push(
        error({
          path: [...base, r.source],
          message: `${r.source} asks for KubePrism on port ${port}, which is not a TCP port`,
          value: port,
          expected: 'an integer from 1 to 65535',
          code: 'talos-requirement',
        }),
      );
      continue;
    }
    prismClaims.push({ source: r.source, value: port });
  }
  const kubePrism = single('KubePrism port', prismClaims);

  const extensions = new Set<string>();
  const kernelModules = new Set<string>();
  for (const r of sorted) {
    for (const extension of r.extensions ?? []) {
      if (EXTENSION_NAME.test(extension)) extensions.add(extension);
      else
        issues.push(
          error({
            path: [...base, r.source],
            message: `${r.source} asks for Talos system extension "${extension}", which is not an Image Factory extension name`,
            value: extension,
            expected: 'an official extension name such as siderolabs/iscsi-tools',
            code: 'talos-requirement',
          }),
        );
    }
    for (const module of r.kernelModules ?? []) {
      if (KERNEL_MODULE.test(module)) kernelModules.add(module);
      else
        issues.push(
          error({
            path: [...base, r.source],
            message: `${r.source} asks for kernel module "${module}", which is not a module name`,
            value: module,
            expected: 'a kernel module name such as nvme_tcp',
            code: 'talos-requirement',
          }),
        );
    }
  }

  const mounts = new Map<string, Claim<KubeletExtraMount>>();
  for (const r of sorted) {
    for (const mount of r.kubeletExtraMounts ?? []) {
      const seen = mounts.get(mount.destination);
      if (seen === undefined) {
        mounts.set(mount.destination, { source: r.source, value: mount });
      } else if (mountKey(seen.value) !== mountKey(mount)) {
        issues.push(
          conflict(
            `kubelet mounts at ${mount.destination}`,
            seen.source,
            describeMount(seen.value),
            r.source,
            describeMount(mount),
          ),
        );
      }
    }
  }

  const sysctls = new Map<string, Claim<string>>();
  for (const r of sorted) {
    for (const [key, value] of Object.entries(r.sysctls ?? {})) {
      const seen = sysctls.get(key);
      if (seen === undefined) sysctls.set(key, { source: r.source, value });
      else if (seen.value !== value)
        issues.push(conflict(`values for sysctl ${key}`, seen.source, seen.value, r.source, value));
    }
  }

  const controlPlaneArgs = {} as { [C in ControlPlaneComponent]: { [flag: string]: string } };
  for (const component of CONTROL_PLANE_COMPONENTS) {
    const flags = new Map<string, Claim<string>>();
    for (const r of sorted) {
      for (const [flag, value] of Object.entries(r.controlPlaneArgs?.[component] ?? {})) {
        const seen = flags.get(flag);
        if (seen === undefined) flags.set(flag, { source: r.source, value });
        else if (seen.value !== value)
          issues.push(
            conflict(`values for ${component} --${flag}`, seen.source, seen.value, r.source, value),
          );
      }
    }
    controlPlaneArgs[component] = Object.fromEntries(
      [...flags.entries()]
        .sort(([a], [b]) => compare(a, b))
        .map(([flag, claim]) => [flag, claim.value]),
    );
  }
  const apiAccess = mergeApiAccess(sorted, base, issues);
  const nodes = mergeNodes(cluster, sorted, base, issues);

  const merged: MergedTalosRequirements = {
    cni: cni?.value,
    cniSources: cni === undefined ? [] : cni.sources,
    disableKubeProxy: proxy?.value ?? false,
    kubePrism: kubePrism === undefined ? undefined : { port: kubePrism.value },
    extensions: [...extensions].sort(compare),
    kubeletExtraMounts: [...mounts.values()]
      .map((claim) => claim.value)
      .sort((a, b) => compare(a.destination, b.destination)),
    kernelModules: [...kernelModules].sort(compare),
    sysctls: Object.fromEntries(
      [...sysctls.entries()]
        .sort(([a], [b]) => compare(a, b))
        .map(([key, claim]) => [key, claim.value]),
    ),
    controlPlaneArgs,
    kubernetesTalosAPIAccess: apiAccess,
    nodes,
    disableCoreDns: sorted.some((r) => r.disableCoreDns === true),
    coreDnsSources: sorted.filter((r) => r.disableCoreDns === true).map((r) => r.source),
  };
  return { merged, issues };

  function single<T extends string | number | boolean>(
    what: string,
    claims: readonly Claim<T>[],
    show: (value: T) => string = String,
  ): { value: T; sources: string[] } | undefined {
    const first = claims[0];
    if (first === undefined) return undefined;
    for (const claim of claims.slice(1)) {
      if (claim.value !== first.value) {
        issues.push(
          conflict(`${what}s`, first.source, show(first.value), claim.source, show(claim.value)),
        );
      }
    }
    return {
      value: first.value,
      sources: claims.filter((c) => c.value === first.value).map((c) => c.source),
    };
  }

  function conflict(what: string, a: string, va: string, b: string, vb: string): Issue {
    return error({
      path: base,
      message: `components ask for different ${what}: ${a} wants ${va}, ${b} wants ${vb}`,
      value: { [a]: va, [b]: vb },
      expected: `${a} and ${b} to agree (one Talos setting per cluster)`,
      code: 'talos-requirement-conflict',
    });
  }
}

/**
 * Talos grants every allowed role in every allowed namespace, so the requests are unioned; when
 * two components ask for different roles, each one's namespaces also get the other's roles, which
 * a warning says.
 */
function mergeApiAccess(
  sorted: readonly TalosRequirements[],
  base: readonly PathSegment[],
  issues: Issue[],
): MergedTalosRequirements['kubernetesTalosAPIAccess'] {
  const askers = sorted.filter((r) => r.kubernetesTalosAPIAccess !== undefined);
  if (askers.length === 0) return undefined;
  const roles = new Set<string>();
  const namespaces = new Set<string>();
  for (const r of askers) {
    const access = r.kubernetesTalosAPIAccess;
    if (access === undefined) continue;
    for (const role of access.roles) {
      if ((TALOS_API_ROLES as readonly string[]).includes(role)) roles.add(role);
      else
        issues.push(
          error({
            path: [...base, r.source],
            message: `${r.source} asks Talos to grant the role "${role}" to pods, which Talos does not have`,
            value: role,
            expected: `one of ${TALOS_API_ROLES.join(', ')}`,
            code: 'talos-requirement',
          }),
        );
    }
    for (const namespace of access.namespaces) {
      if (NAMESPACE.test(namespace)) namespaces.add(namespace);
      else
        issues.push(
          error({
            path: [...base, r.source],
            message: `${r.source} asks for Talos API access from namespace "${namespace}", which is not a namespace name`,
            value: namespace,
            expected: 'a DNS label',
            code: 'talos-requirement',
          }),
        );
    }
    if (access.roles.length === 0 || access.namespaces.length === 0) {
      issues.push(
        error({
          path: [...base, r.source],
          message: `${r.source} asks for Talos API access without ${access.roles.length === 0 ? 'a role' : 'a namespace'}`,
          expected: 'at least one role and one namespace',
          code: 'talos-requirement',
        }),
      );
    }
  }
  const key = (r: TalosRequirements) =>
    [...(r.kubernetesTalosAPIAccess?.roles ?? [])].sort(compare).join(',');
  const first = askers[0] as TalosRequirements;
  for (const other of askers.slice(1)) {
    if (key(other) !== key(first)) {
      issues.push(
        warning({
          path: [...base, other.source],
          value: { [first.source]: key(first), [other.source]: key(other) },
          message: `${first.source} and ${other.source} ask for different Talos API roles; Talos grants every allowed role in every allowed namespace, so each one's namespaces also get the other's roles`,
          expected: 'components that ask for the same Talos API roles',
          code: 'talos-api-access-broadened',
        }),
      );
    }
  }
  return { roles: [...roles].sort(compare), namespaces: [...namespaces].sort(compare) };
}

/** Per node: user volumes, labels and annotations the components ask for, merged. */
function mergeNodes(
  cluster: ResolvedCluster,
  sorted: readonly TalosRequirements[],
  base: readonly PathSegment[],
  issues: Issue[],
): Map<string, MergedNodeNeeds> {
  const out = new Map<string, MergedNodeNeeds>();
  const hostnames = new Set(cluster.nodes.map((node) => node.hostname));
  for (const r of sorted) {
    for (const hostname of Object.keys(r.nodes ?? {})) {
      if (!hostnames.has(hostname)) {
        issues.push(
          error({
            path: [...base, r.source],
            message: `${r.source} asks for settings of node "${hostname}", which is not a node of cluster "${cluster.name}"`,
            value: hostname,
            expected: `one of ${[...hostnames].join(', ')}`,
            code: 'talos-requirement',
          }),
        );
      }
    }
  }
  for (const node of cluster.nodes) {
    const volumes = new Map<string, Claim<TalosUserVolume>>();
    const labels = new Map<string, Claim<string>>(
      Object.entries(node.labels).map(([key, value]) => [key, { source: 'the definition', value }]),
    );
    const annotations = new Map<string, Claim<string>>();
    const claim = (
      map: Map<string, Claim<string>>,
      what: string,
      source: string,
      key: string,
      value: string,
    ): void => {
      const seen = map.get(key);
      if (seen === undefined) map.set(key, { source, value });
      else if (seen.value !== value)
        issues.push(
          error({
            path:
              seen.source === 'the definition'
                ? ['clusters', cluster.index, 'nodes', node.index, 'labels', key]
                : [...base, source],
            message: `${seen.source} and ${source} set different values for ${what} ${key} of node "${node.hostname}": ${JSON.stringify(seen.value)} and ${JSON.stringify(value)}`,
            value: { [seen.source]: seen.value, [source]: value },
            expected: 'one value per key',
            code: 'talos-requirement-conflict',
          }),
        );
    };
    for (const r of sorted) {
      const needs = r.nodes?.[node.hostname];
      if (needs === undefined) continue;
      for (const [key, value] of Object.entries(needs.labels ?? {})) {
        claim(labels, 'the label', r.source, key, value);
      }
      for (const [key, value] of Object.entries(needs.annotations ?? {})) {
        claim(annotations, 'the annotation', r.source, key, value);
      }
      for (const volume of needs.userVolumes ?? []) {
        if (!USER_VOLUME.test(volume.name)) {
          issues.push(
            error({
              path: [...base, r.source],
              message: `${r.source} asks for a user volume "${volume.name}" on node "${node.hostname}", which is not a Talos volume name`,
              value: volume.name,
              expected: '1 to 34 letters, digits and "-"',
              code: 'talos-requirement',
            }),
          );
          continue;
        }
        const seen = volumes.get(volume.name);
        if (seen === undefined) volumes.set(volume.name, { source: r.source, value: volume });
        else if (JSON.stringify(seen.value) !== JSON.stringify(volume))
          issues.push(
            error({
              path: [...base, r.source],
              message: `${seen.source} and ${r.source} ask for different user volumes named "${volume.name}" on node "${node.hostname}"`,
              value: volume.name,
              expected: 'one definition per user volume',
              code: 'talos-requirement-conflict',
            }),
          );
      }
    }
    const values = (map: Map<string, Claim<string>>) =>
      Object.fromEntries(
        [...map.entries()].sort(([a], [b]) => compare(a, b)).map(([key, c]) => [key, c.value]),
      );
    out.set(node.hostname, {
      userVolumes: [...volumes.values()]
        .map((c) => c.value)
        .sort((a, b) => compare(a.name, b.name)),
      labels: values(labels),
      annotations: values(annotations),
    });
  }
  return out;
}

function mountKey(mount: KubeletExtraMount): string {
  return JSON.stringify([mount.type, mount.source, [...mount.options].sort(compare)]);
}

function describeMount(mount: KubeletExtraMount): string {
  return `${mount.type} from ${mount.source} (${mount.options.join(', ')})`;
}

const compare = compareStrings;
