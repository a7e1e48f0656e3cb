// The settings of `components.policy`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), defaults, and the settings of a cluster resolved. Pure.
import type {
  EnvironmentName,
  Issue,
  JsonSchema,
  ResolvedCluster,
  SettingsSpec,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { PolicyExemption, PolicySettings } from './generated/settings.js';

export type { PolicyExemption, PolicySettings };

/** Gatekeeper's namespace (the release's). */
export const GATEKEEPER_NAMESPACE = 'gatekeeper-system';

/** The system namespaces Gatekeeper exempts, with its own. */
export const SYSTEM_NAMESPACES = ['kube-node-lease', 'kube-public', 'kube-system'] as const;

/** Annotation of a constraint listing its excluded namespaces with their reasons (JSON). */
export const EXEMPTIONS_ANNOTATION = 'homelab.dev/exemptions';

/** Annotation of the cluster-admin constraint: the bindings components declare, with reasons. */
export const CLUSTER_ADMIN_ANNOTATION = 'homelab.dev/cluster-admin-bindings';

/** What a violation does, per environment (DESIGN.md: dryrun, warn, deny). */
export const ENFORCEMENT: { readonly [E in EnvironmentName]: 'dryrun' | 'warn' | 'deny' } = {
  development: 'dryrun',
  staging: 'warn',
  production: 'deny',
};

/**
 * Image prefixes the platform's charts pull from, matched against the image as the runtime
 * resolves it (no registry is Docker Hub): Docker Hub (Gatekeeper, Longhorn), GitHub's registry
 * (SPIRE), Quay (Cilium, Argo CD), the Kubernetes registry (CoreDNS) and Amazon's public
 * gallery (Argo CD's Redis and HAProxy).
 */
export const DEFAULT_REGISTRIES = [
  'docker.io/',
  'ecr-public.aws.com/',
  'ghcr.io/',
  'quay.io/',
  'registry.k8s.io/',
] as const;

export const policySettingsSpec: SettingsSpec<PolicySettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: {},
  platformOnly: ['version'],
};

export interface ResolvedPolicySettings {
  readonly enforcementAction: 'dryrun' | 'warn' | 'deny';
  readonly allowedRegistries: readonly string[];
  readonly clusterAdminBindings: readonly string[];
  readonly exemptions: readonly PolicyExemption[];
}

export function resolvePolicySettings(
  settings: PolicySettings,
  cluster: ResolvedCluster,
): { settings: ResolvedPolicySettings; issues: Issue[] } {
  return {
    settings: {
      enforcementAction: settings.enforcementAction ?? ENFORCEMENT[cluster.environment],
      allowedRegistries: settings.allowedRegistries ?? [...DEFAULT_REGISTRIES],
      clusterAdminBindings: settings.clusterAdminBindings ?? [],
      exemptions: settings.exemptions ?? [],
    },
    issues: [],
  };
}
