// The settings of `components.cilium` (platform-wide) and `clusters[].components.cilium`: their
// JSON Schema fragment (schema/settings.schema.json, types generated from it) and defaults.
import {
  type JsonSchema,
  mergeValues,
  type ResolvedCluster,
  type ResolvedPlatform,
  type SettingsSpec,
  type Values,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { CiliumSettings } from './generated/settings.js';
import { CILIUM_CHART_VERSION, type CiliumVersion } from './versions.js';

export type { CiliumSettings };

/** Cilium settings with every default applied. */
export interface ResolvedCiliumSettings {
  readonly version: CiliumVersion;
  /** The minor release the cluster was first installed with (the chart's `upgradeCompatibility`). */
  readonly upgradeCompatibility: string | undefined;
  readonly hubble: { readonly relay: boolean; readonly ui: boolean };
  readonly gatewayApi: boolean;
  /**
   * Interfaces L2 announcements answer on (regular expressions, Go RE2 syntax); undefined: every
   * interface Cilium manages (the policy's `interfaces` left out).
   */
  readonly l2Interfaces: readonly string[] | undefined;
  /** Whether `l2Interfaces` is what the definition says (not derived from the nodes' links). */
  readonly l2InterfacesDeclared: boolean;
}

/** What a cluster gets when its definition says nothing. */
export const ciliumDefaults = {
  version: CILIUM_CHART_VERSION,
  hubble: { relay: true, ui: true },
  gatewayApi: true,
} as const;

/** The settings part of the component contract. */
export const ciliumSettingsSpec: SettingsSpec<CiliumSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: {
    version: ciliumDefaults.version,
    hubble: { ...ciliumDefaults.hubble },
    gatewayApi: ciliumDefaults.gatewayApi,
  },
  platformOnly: ['version'],
};

/**
 * The L2 interfaces of a cluster whose definition names none, from its nodes' links (the one fact
 * the static address and the VIP use too): exactly their names when every node names its link;
 * otherwise none, so Cilium announces on every interface it manages. A link selected by hardware
 * carries Talos' alias, which Cilium does not see as an interface name.
 */
export function derivedL2Interfaces(cluster: ResolvedCluster): string[] | undefined {
  const names = cluster.nodes.map((node) => node.link.name);
  if (names.length === 0 || names.some((name) => name === undefined)) return undefined;
  const unique = [...new Set(names as string[])].sort();
  return [`^(${unique.map((name) => name.replace(/[.]/g, '\\.')).join('|')})$`];
}

/** The merged settings of a cluster, completed with the defaults and the cluster's L2 interfaces. */
export function resolveCiliumSettings(
  settings: CiliumSettings,
  cluster: ResolvedCluster,
): ResolvedCiliumSettings {
  return {
    version: settings.version ?? ciliumDefaults.version,
    upgradeCompatibility: settings.upgradeCompatibility,
    hubble: {
      relay: settings.hubble?.relay ?? ciliumDefaults.hubble.relay,
      ui: settings.hubble?.ui ?? ciliumDefaults.hubble.ui,
    },
    gatewayApi: settings.gatewayApi ?? ciliumDefaults.gatewayApi,
    l2Interfaces: cluster.network.l2Announcements?.interfaces ?? derivedL2Interfaces(cluster),
    l2InterfacesDeclared: cluster.network.l2Announcements?.interfaces !== undefined,
  };
}

/** Cilium's merged settings on a cluster (defaults, platform-wide, the cluster's), as core merges them. */
export function clusterCiliumSettings(
  platform: ResolvedPlatform,
  cluster: ResolvedCluster,
): CiliumSettings {
  const table = (value: unknown): Values =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Values) : {};
  return mergeValues(
    ciliumSettingsSpec.defaults as unknown as Values,
    table((platform.definition.components as { [key: string]: unknown } | undefined)?.cilium),
    table((cluster.definition.components as { [key: string]: unknown } | undefined)?.cilium),
  ) as unknown as CiliumSettings;
}

/** Zero-trust settings of a cluster with their per-environment defaults. */
export interface ResolvedNetworkPolicy {
  readonly defaultDeny: boolean;
  /** Mutual authentication between platform pods: off in development unless asked. */
  readonly mutualAuthentication: boolean;
}

export function resolveNetworkPolicy(
  settings: CiliumSettings,
  cluster: ResolvedCluster,
): ResolvedNetworkPolicy {
  const defaultDeny = settings.networkPolicy?.defaultDeny ?? true;
  return {
    defaultDeny,
    mutualAuthentication:
      settings.networkPolicy?.mutualAuthentication ?? cluster.environment !== 'development',
  };
}
