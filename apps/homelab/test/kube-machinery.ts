// The Kubernetes API server's own create path as the tests run it: tools/kube-machinery (built
// by .ci/install-kube-machinery) decodes each object of a built-in kind with its defaults and runs
// rest.BeforeCreate with the kind's registry strategy (tools/kube-machinery/README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FoundTool, findTool, runJsonCheck } from './find-tool.js';
import { REPO } from './helm/harness.js';

/** The Kubernetes release the tool is built on: go.mod's k8s.io/kubernetes (`v1.34.4`). */
export const KUBE_MACHINERY_VERSION =
  /^\s*k8s\.io\/kubernetes (v\S+)$/m.exec(
    readFileSync(join(REPO, 'tools', 'kube-machinery', 'go.mod'), 'utf8'),
  )?.[1] ?? 'unknown';

export const KUBE_MACHINERY_INSTALL =
  'build it: .ci/install-kube-machinery, and put its folder in KUBE_MACHINERY_DIR or on PATH';

/** kube-machinery from KUBE_MACHINERY_DIR, else PATH, else the tools cache. */
export function findKubeMachinery(): FoundTool | undefined {
  return findTool(
    'kube-machinery',
    'KUBE_MACHINERY_DIR',
    `kube-machinery-${KUBE_MACHINERY_VERSION}`,
    /^kube-machinery (\S+)$/m,
  );
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
