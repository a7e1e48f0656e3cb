// Argo CD's own code as the tests run it: tools/argocd-machinery (built by
// .ci/install-argocd-machinery) reads a namespace's ConfigMaps and Secrets with Argo CD v3.4.4's
// settings manager, computes objects' health as the application controller does and enforces
// RBAC as the API server does (tools/argocd-machinery/README.md names the Argo CD code of each).
import { spawnSync } from 'node:child_process';
import { ARGOCD_APP_VERSION } from '@homelab/argocd';
import type { KubeObject } from '@homelab/core';
import { type FoundTool, findTool } from './find-tool.js';
import type { Discovery } from './helm/harness.js';

export const ARGOCD_MACHINERY_INSTALL =
  'build it: .ci/install-argocd-machinery (ARGOCD_GIT_DIR: a git clone of argoproj/argo-cd with the tag), and put its folder in ARGOCD_MACHINERY_DIR or on PATH';

/** argocd-machinery from ARGOCD_MACHINERY_DIR, else PATH, else the tools cache. */
export function findArgocdMachinery(): FoundTool | undefined {
  return findTool(
    'argocd-machinery',
    'ARGOCD_MACHINERY_DIR',
    `argocd-machinery-${ARGOCD_APP_VERSION}`,
    /^argocd-machinery (\S+)$/m,
  );
}

/** The clusters of the committed output whose root app deploys the argocd component, sorted. */
export function clustersDeployingArgocd(discovery: Discovery): string[] {
  return discovery.clusters
    .filter(({ applications }) =>
      applications.some(
        (application) => application.metadata.labels?.['app.kubernetes.io/component'] === 'argocd',
      ),
    )
    .map(({ cluster }) => cluster)
    .sort();
}

/**
 * The group and kind an argocd-cm key `<prefix><group>_<kind>` (the kind alone in the core group)
 * names, and Argo CD's resource-override key of them (`<group>/<kind>`, the kind alone in core).
 */
export function overrideOf(
  key: string,
  prefix: string,
): { group: string; kind: string; overrideKey: string } {
  const groupKind = key.slice(prefix.length);
  const cut = groupKind.lastIndexOf('_');
  const [group, kind] =
    cut < 0 ? ['', groupKind] : [groupKind.slice(0, cut), groupKind.slice(cut + 1)];
  return { group, kind, overrideKey: group === '' ? kind : `${group}/${kind}` };
}

/** One RBAC question: may the bearer of `claims` do `action` on `resource` `object`? */
export interface RbacRequest {
  readonly claims: { readonly [claim: string]: unknown };
  readonly resource: string;
  readonly action: string;
  readonly object: string;
}

export interface ArgocdRequest {
  readonly namespace: string;
  /** The namespace's ConfigMaps and Secrets, as the cluster holds them. */
  readonly objects: readonly unknown[];
  readonly health?: readonly unknown[];
  readonly rbac?: readonly RbacRequest[];
}

export interface ArgocdHealth {
  readonly status: string;
  readonly message: string;
  readonly error: string;
}

export interface ArgocdOidc {
  readonly name: string;
  readonly issuer: string;
  readonly clientID: string;
  readonly clientSecret: string;
  readonly cliClientID: string;
  readonly requestedScopes: readonly string[] | null;
  readonly rootCA: string;
  readonly refreshTokenThreshold: string;
}

export interface ResourceOverride {
  readonly healthLua: string;
  readonly useOpenLibs: boolean;
  readonly ignoreDifferences: unknown;
  readonly ignoreResourceUpdates: unknown;
  readonly actions: string;
}

export interface ArgocdResponse {
  readonly argocdVersion: string;
  readonly settingsError: string;
  readonly oidc: ArgocdOidc | null;
  readonly resourceOverrides: { readonly [key: string]: ResourceOverride } | null;
  readonly resourceOverridesError: string;
  readonly resourceExclusions: readonly unknown[] | null;
  readonly resourceInclusions: readonly unknown[] | null;
  readonly resourcesFilterError: string;
  readonly health: readonly ArgocdHealth[] | null;
  readonly rbacPolicyError: string;
  readonly rbac: readonly { readonly allowed: boolean }[] | null;
}

/** `argocd-machinery check` of one request; throws when the tool fails or prints no JSON. */
export function argocdCheck(tool: FoundTool, request: ArgocdRequest): ArgocdResponse {
  const result = spawnSync(tool.path, ['check'], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`argocd-machinery check exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as ArgocdResponse;
}

/**
 * The health Argo CD's application controller gives each of `objects` with the argocd-cm
 * ConfigMap `argocdCm` (its `resource.customizations` parsed by Argo CD's settings manager, the
 * Lua run by Argo CD's VM, gopher-lua with Argo CD's library set).
 */
export function argocdHealth(
  tool: FoundTool,
  argocdCm: KubeObject,
  objects: readonly unknown[],
): ArgocdHealth[] {
  const response = argocdCheck(tool, {
    namespace: argocdCm.metadata.namespace ?? 'argocd',
    objects: [argocdCm],
    health: objects,
  });
  if (response.resourceOverridesError !== '') {
    throw new Error(`Argo CD cannot read argocd-cm: ${response.resourceOverridesError}`);
  }
  return [...(response.health ?? [])];
}
