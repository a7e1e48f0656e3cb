// The Kubernetes API server's own create path as the tests run it: tools/kube-machinery (built
// by .ci/install-kube-machinery, once per Kubernetes release under
// tools/kube-machinery/versions/<tag>) decodes each object of a built-in kind with its defaults
// and runs rest.BeforeCreate with the kind's registry strategy, custom resources against the
// request's CRDs, then validating admission (tools/kube-machinery/README.md).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FoundTool, findVersionedTool, runJsonCheck } from './find-tool.js';
import { REPO } from './helm/harness.js';

/** The Kubernetes releases the tool has a module for (`v1.34.4`, …): tools/kube-machinery/versions. */
export const KUBE_MACHINERY_VERSIONS: readonly string[] = existsSync(
  join(REPO, 'tools', 'kube-machinery', 'versions'),
)
  ? readdirSync(join(REPO, 'tools', 'kube-machinery', 'versions')).sort((a, b) =>
      a.localeCompare(b, 'en', { numeric: true }),
    )
  : [];

export const KUBE_MACHINERY_INSTALL =
  'build them: .ci/install-kube-machinery, and put their folders in KUBE_MACHINERY_DIRS (separated by ":")';

/** `1.34` of `v1.34.4` or `1.34.4`. */
export const kubeMinorOf = (version: string): string =>
  /^v?(\d+\.\d+)/.exec(version)?.[1] ?? version;

/** The tool's release of Kubernetes `version`'s minor (`1.34.2` → `v1.34.4`), if it has one. */
export function kubeMachineryVersionFor(version: string): string | undefined {
  return KUBE_MACHINERY_VERSIONS.find((tag) => kubeMinorOf(tag) === kubeMinorOf(version));
}

/**
 * The kube-machinery built on Kubernetes `version` (`v1.34.4`): from a folder of
 * KUBE_MACHINERY_DIRS, else the tools cache (`kube-machinery-<version>`).
 */
export function findKubeMachinery(version: string): FoundTool | undefined {
  return findVersionedTool('kube-machinery', 'KUBE_MACHINERY_DIRS', version);
}

/** One object as it is applied, and the namespace it goes to when it names none. */
export interface KubeItem {
  readonly namespace: string;
  readonly object: unknown;
}

export interface KubeItemResult {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** False for a kind the tool has no registry strategy of and no CRD in the request for. */
  readonly checked: boolean;
  /** The API server's refusal (`<Kind> "<name>" is invalid: [...]`), else `""`. */
  readonly error: string;
  /** Fields a custom resource's schema does not have (the API server prunes them). */
  readonly unknownFields: readonly string[];
  readonly warnings: readonly string[];
}

export interface KubeResponse {
  readonly kubernetesVersion: string;
  readonly items: readonly KubeItemResult[];
  /**
   * The request's ValidatingAdmissionPolicies with a binding, which validating admission ran on
   * every object the create path accepted (its refusals are the items' errors), sorted.
   */
  readonly admissionPolicies: readonly string[];
}

/**
 * `kube-machinery check` of `items`, custom resources against `crds` (the cluster's
 * CustomResourceDefinitions); throws when the tool fails or prints no JSON.
 */
export function kubeCheck(
  tool: FoundTool,
  items: readonly KubeItem[],
  crds: readonly unknown[] = [],
): KubeResponse {
  return runJsonCheck<KubeResponse>(tool, { crds, items });
}

/** `kube-machinery bootstrap-rbac`: the ClusterRoles and Roles the API server creates itself. */
export interface KubeBootstrapRbac {
  readonly kubernetesVersion: string;
  readonly clusterRoles: readonly string[];
  readonly roles: readonly { readonly namespace: string; readonly name: string }[];
}

/** `kube-machinery bootstrap-rbac` of `tool`; throws when it fails or prints no JSON. */
export function kubeBootstrapRbac(tool: FoundTool): KubeBootstrapRbac {
  const result = spawnSync(tool.path, ['bootstrap-rbac'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`kube-machinery bootstrap-rbac exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as KubeBootstrapRbac;
}
