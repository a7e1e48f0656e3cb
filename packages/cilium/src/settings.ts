import type { CiliumSettings, ResolvedCluster } from '@homelab/core';
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
export const ciliumDefaults: ResolvedCiliumSettings = {
  version: CILIUM_CHART_VERSION,
  hubble: { relay: true, ui: true },
  gatewayApi: true,
  l2Interfaces: ['^eth[0-9]+$'],
};

export function resolveCiliumSettings(cluster: ResolvedCluster): ResolvedCiliumSettings {
  const settings: CiliumSettings = cluster.definition.components?.cilium ?? {};
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
