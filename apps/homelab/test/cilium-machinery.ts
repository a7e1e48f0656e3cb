// Cilium's own policy parsing as the tests run it: tools/cilium-machinery (built by
// .ci/install-cilium-machinery, once per release under tools/cilium-machinery/versions/<tag>)
// parses CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies with the agent's Parse of a
// Cilium release, under the agent options the cluster's cilium-config sets
// (tools/cilium-machinery/README.md).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FoundTool, findVersionedTool, runJsonCheck } from './find-tool.js';
import { REPO } from './helm/harness.js';

/** The Cilium releases the tool has a module for (`v1.19.6`, …): tools/cilium-machinery/versions. */
export const CILIUM_MACHINERY_VERSIONS: readonly string[] = existsSync(
  join(REPO, 'tools', 'cilium-machinery', 'versions'),
)
  ? readdirSync(join(REPO, 'tools', 'cilium-machinery', 'versions')).sort()
  : [];

export const CILIUM_MACHINERY_INSTALL =
  'build them: .ci/install-cilium-machinery, and put their folders in CILIUM_MACHINERY_DIRS (separated by ":")';

/**
 * The cilium-machinery built on Cilium `version` (`v1.19.6`): from a folder of
 * CILIUM_MACHINERY_DIRS, else the tools cache (`cilium-machinery-<version>`).
 */
export function findCiliumMachinery(version: string): FoundTool | undefined {
  return findVersionedTool('cilium-machinery', 'CILIUM_MACHINERY_DIRS', version);
}

export interface CiliumRequest {
  /** The agent's `cluster-name` (empty: Cilium's default). */
  readonly clusterName?: string;
  /** The data of the cluster's cilium-config ConfigMap. */
  readonly config: { readonly [key: string]: string };
  readonly policies: readonly unknown[];
}

export interface CiliumPolicyResult {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** A field Cilium's types do not have (the API server prunes it), else `""`. */
  readonly unknownFields: string;
  /** The agent's Parse error (it imports nothing of the policy then), else `""`. */
  readonly error: string;
  readonly rules: number;
}

export interface CiliumResponse {
  readonly ciliumVersion: string;
  /** The agent options the parser reads, as the request's config sets them. */
  readonly options: { readonly [flag: string]: boolean };
  readonly policies: readonly CiliumPolicyResult[];
}

/** `cilium-machinery check` of one request; throws when the tool fails or prints no JSON. */
export function ciliumCheck(tool: FoundTool, request: CiliumRequest): CiliumResponse {
  return runJsonCheck<CiliumResponse>(tool, request);
}
