// What a cluster runs, read back from the files the last build generated for it: the facts a
// running Talos cluster cannot change at will (its pod and service networks, the Talos and
// Kubernetes releases it is on). Pure: the CLI reads the files and hands over their text.
import { isJson, type Json, parseAllDocuments, record } from '@homelab/core';

/** The generated files of one cluster, as the last build wrote them (`undefined`: missing). */
export interface DeployedClusterFiles {
  /** `clusters/<cluster>/talos/controlplane.yaml`: the control planes' machine-config patch. */
  readonly controlPlane?: string | undefined;
  /** `clusters/<cluster>/RUNBOOK.md`. */
  readonly runbook?: string | undefined;
}

/**
 * A cluster as the last build described it; a fact the files do not hold (or hold in a shape
 * this reader does not know) is absent, and nothing is compared for it.
 */
export interface DeployedClusterFacts {
  /** `cluster.network.podSubnets` of the control-plane patch. */
  readonly podCidrs?: readonly string[];
  /** `cluster.network.serviceSubnets` of the control-plane patch. */
  readonly serviceCidrs?: readonly string[];
  /** The tag of `machine.install.image` in the control-plane patch, e.g. `v1.13.9`. */
  readonly talosVersion?: string;
  /**
   * `machine.install.image` of the control-plane patch without its tag: the Image Factory
   * installer of the schematic the nodes installed (`factory.talos.dev/installer/<schematic>`),
   * whose system extensions they run.
   */
  readonly installer?: string;
  /**
   * How STATE and EPHEMERAL are encrypted: the key of the control-plane patch's `VolumeConfig`
   * named STATE (`tpm` or `nodeID`), or `none` where the patch has none (no encryption).
   */
  readonly diskEncryption?: 'tpm' | 'nodeID' | 'none';
  /** The runbook's `talosctl gen config … --kubernetes-version <version>`, e.g. `1.34.4`. */
  readonly kubernetesVersion?: string;
  /**
   * The nodes the runbook's blocks name (`**<hostname>** (<role>, <address>)`, as "Later:
   * changing Talos settings" lists every node), in the runbook's order.
   */
  readonly nodes?: readonly DeployedNode[];
}

/** A node of the last build's runbook. */
export interface DeployedNode {
  readonly hostname: string;
  readonly role: 'controlplane' | 'worker';
  readonly address: string;
}

/** A runbook block's heading: `**dev-cp-1** (controlplane, 10.10.10.11)`. */
const NODE_HEADING = /^\*\*([a-z0-9][a-z0-9-]*)\*\* \((controlplane|worker), ([0-9A-Fa-f.:]+)\)/gm;

/** The nodes the runbook's headings name, each once. */
function runbookNodes(runbook: string): DeployedNode[] {
  const nodes = new Map<string, DeployedNode>();
  for (const match of runbook.matchAll(NODE_HEADING)) {
    const [, hostname, role, address] = match;
    if (hostname === undefined || address === undefined || nodes.has(hostname)) continue;
    nodes.set(hostname, {
      hostname,
      role: role === 'controlplane' ? 'controlplane' : 'worker',
      address,
    });
  }
  return [...nodes.values()];
}

function strings(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string')
    ? (value as string[])
    : undefined;
}

/** The Talos version of an installer image reference (`…/installer/<schematic>:v1.13.9`). */
const IMAGE_TAG = /:(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

/**
 * `talosctl gen config … --kubernetes-version 1.34.4` (step 3 and "Changing Talos settings"), its
 * value plain or in the single quotes of the template's `shell` helper.
 */
const KUBERNETES_FLAG =
  /^\s*--kubernetes-version\s+'?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)'?\s*\\?$/m;

/** Reads the facts of `deployedCluster` from the control-plane patch's v1alpha1 document. */
function patchFacts(
  text: string,
): Pick<
  DeployedClusterFacts,
  'podCidrs' | 'serviceCidrs' | 'talosVersion' | 'installer' | 'diskEncryption'
> {
  let documents: unknown[];
  try {
    documents = parseAllDocuments(text);
  } catch {
    return {};
  }
  // The v1alpha1 document is the one without `kind` (the others are Talos' typed documents).
  const objects = documents.filter(isJson);
  const v1alpha1 = objects.find((doc) => doc.kind === undefined);
  if (v1alpha1 === undefined) return {};
  const network = record(record(v1alpha1.cluster).network);
  const pods = strings(network.podSubnets);
  const services = strings(network.serviceSubnets);
  const image = record(record(v1alpha1.machine).install).image;
  const tag = typeof image === 'string' ? IMAGE_TAG.exec(image)?.[1] : undefined;
  const encryption = diskEncryptionOf(objects);
  return {
    ...(encryption === undefined ? {} : { diskEncryption: encryption }),
    ...(pods === undefined ? {} : { podCidrs: pods }),
    ...(services === undefined ? {} : { serviceCidrs: services }),
    ...(tag === undefined ? {} : { talosVersion: tag }),
    ...(tag === undefined || typeof image !== 'string'
      ? {}
      : { installer: image.slice(0, image.length - tag.length - 1) }),
  };
}

/**
 * The encryption of STATE in a patch's documents (baseline.ts `volumeConfig`: one key, slot 0):
 * `none` without a STATE `VolumeConfig` or without its `encryption`; `undefined` for a key of
 * another kind (not compared).
 */
function diskEncryptionOf(documents: readonly Json[]): DeployedClusterFacts['diskEncryption'] {
  const state = documents.find((doc) => doc.kind === 'VolumeConfig' && doc.name === 'STATE');
  const keys = record(state?.encryption).keys;
  if (state === undefined || keys === undefined) return 'none';
  const first = Array.isArray(keys) ? record(keys[0]) : undefined;
  if (first?.tpm !== undefined) return 'tpm';
  if (first?.nodeID !== undefined) return 'nodeID';
  return undefined;
}

/**
 * What a cluster runs, as the last build generated it: the pod and service networks and the
 * Talos release and the disk encryption from its control-plane patch (the installer image's tag, the
 * STATE `VolumeConfig`), the Kubernetes release
 * from its runbook's `talosctl gen config` (the patches do not name it: Talos takes it from
 * `--kubernetes-version`). Text that is no generated file of this shape gives no facts.
 */
export function deployedCluster(files: DeployedClusterFiles): DeployedClusterFacts {
  const kubernetes =
    files.runbook === undefined ? undefined : KUBERNETES_FLAG.exec(files.runbook)?.[1];
  const nodes = files.runbook === undefined ? [] : runbookNodes(files.runbook);
  return {
    ...(files.controlPlane === undefined ? {} : patchFacts(files.controlPlane)),
    ...(kubernetes === undefined ? {} : { kubernetesVersion: kubernetes }),
    ...(nodes.length === 0 ? {} : { nodes }),
  };
}
