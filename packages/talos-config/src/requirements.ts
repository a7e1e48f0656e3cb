import {
  compareStrings,
  error,
  type Issue,
  type PathSegment,
  type ResolvedCluster,
  type TalosNeeds,
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
  /** Components that asked for `cni` (the runbook installs their charts before Argo CD). */
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
  /** Talos' own CoreDNS disabled (a component deploys the cluster DNS). */
  readonly disableCoreDns: boolean;
  /** Components that asked for it. */
  readonly coreDnsSources: readonly string[];
}

// Image Factory official extension names: `<org>/<name>`.
const EXTENSION = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;
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
      if (EXTENSION.test(extension)) extensions.add(extension);
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

function mountKey(mount: KubeletExtraMount): string {
  return JSON.stringify([mount.type, mount.source, [...mount.options].sort(compare)]);
}

function describeMount(mount: KubeletExtraMount): string {
  return `${mount.type} from ${mount.source} (${mount.options.join(', ')})`;
}

const compare = compareStrings;
