// Cilium's own policy parsing as the tests run it: tools/cilium-machinery (built by
// .ci/install-cilium-machinery) parses CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies
// with the agent's Parse of the Cilium release the platform pins by default, under the agent
// options the cluster's cilium-config sets (tools/cilium-machinery/README.md).
import { spawnSync } from 'node:child_process';
import { CILIUM_CHART_VERSION, CILIUM_RELEASES } from '@homelab/cilium';
import { type FoundTool, findTool } from './find-tool.js';

/** The Cilium release the tool is built on: the default chart's appVersion, as `v<version>`. */
export const CILIUM_MACHINERY_VERSION = `v${CILIUM_RELEASES[CILIUM_CHART_VERSION].appVersion}`;

export const CILIUM_MACHINERY_INSTALL =
  'build it: .ci/install-cilium-machinery, and put its folder in CILIUM_MACHINERY_DIR or on PATH';

/** cilium-machinery from CILIUM_MACHINERY_DIR, else PATH, else the tools cache. */
export function findCiliumMachinery(): FoundTool | undefined {
  return findTool(
    'cilium-machinery',
    'CILIUM_MACHINERY_DIR',
    `cilium-machinery-${CILIUM_MACHINERY_VERSION}`,
    /^cilium-machinery (\S+)$/m,
  );
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
  const result = spawnSync(tool.path, ['check'], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`cilium-machinery check exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as CiliumResponse;
}
