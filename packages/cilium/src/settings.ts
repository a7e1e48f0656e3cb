// The settings of `components.cilium` (platform-wide) and `clusters[].components.cilium`: their
// JSON Schema fragment (schema/settings.schema.json, types generated from it) and defaults.
import type { JsonSchema, ResolvedCluster, SettingsSpec } from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { CiliumSettings } from './generated/settings.js';
import { CILIUM_CHART_VERSION, type CiliumVersion } from './versions.js';

export type { CiliumSettings };

/** Cilium settings with every default applied. */
export interface ResolvedCiliumSettings {
  readonly version: CiliumVersion;
  readonly hubble: { readonly relay: boolean; readonly ui: boolean };
  readonly gatewayApi: boolean;
  /** Interfaces L2 announcements answer on (regular expressions, Go RE2 syntax). */
  readonly l2Interfaces: readonly string[];
}

/** What a cluster gets when its definition says nothing. */
export const ciliumDefaults = {
  version: CILIUM_CHART_VERSION,
  hubble: { relay: true, ui: true },
  gatewayApi: true,
  l2Interfaces: ['^eth[0-9]+$'],
} as const satisfies ResolvedCiliumSettings;

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

/** The merged settings of a cluster, completed with the defaults and the cluster's L2 interfaces. */
export function resolveCiliumSettings(
  settings: CiliumSettings,
  cluster: ResolvedCluster,
): ResolvedCiliumSettings {
  return {
    version: settings.version ?? ciliumDefaults.version,
    hubble: {
      relay: settings.hubble?.relay ?? ciliumDefaults.hubble.relay,
      ui: settings.hubble?.ui ?? ciliumDefaults.hubble.ui,
    },
    gatewayApi: settings.gatewayApi ?? ciliumDefaults.gatewayApi,
    l2Interfaces: cluster.network.l2Announcements?.interfaces ?? ciliumDefaults.l2Interfaces,
  };
}
