// The settings of `components.bitwarden-sm`: their JSON Schema fragment
// (schema/settings.schema.json, types generated from it), defaults, and a cluster's settings
// resolved. Pure.
import {
  error,
  type Issue,
  type JsonSchema,
  type PathSegment,
  type SettingsSpec,
  urlFlowPeer,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { BitwardenSmSettings } from './generated/settings.js';

export type { BitwardenSmSettings };

/** The namespace the operator runs in (the namespace of upstream's install instructions). */
export const OPERATOR_NAMESPACE = 'sm-operator-system';

/** The hand-made Secret with the machine account's access token, unless the settings say otherwise. */
export const DEFAULT_AUTH_TOKEN = { secretName: 'bw-auth-token', key: 'token' } as const;

/** Seconds between synchronisations, unless the settings say otherwise (the chart's default). */
export const DEFAULT_REFRESH_INTERVAL = 300;

export const bitwardenSettingsSpec: SettingsSpec<BitwardenSmSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  // Off unless asked for: it needs a Bitwarden organization and a machine account.
  defaults: { enabled: false } as unknown as BitwardenSmSettings,
};

export type BitwardenServer =
  | { readonly kind: 'cloud'; readonly region: 'US' | 'EU' }
  | { readonly kind: 'self-hosted'; readonly apiUrl: string; readonly identityUrl: string };

export interface ResolvedBitwardenSettings {
  readonly organizationId: string;
  readonly server: BitwardenServer;
  readonly refreshInterval: number;
  readonly authToken: { readonly secretName: string; readonly key: string };
  /** Operator replicas when the settings fix them; otherwise the profile decides. */
  readonly replicas: number | undefined;
  /** `<namespace>/<name>` → key → Bitwarden secret id (lower case, as the API returns ids). */
  readonly inventory: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A cluster's merged settings with the defaults applied. */
export function resolveBitwardenSettings(
  raw: BitwardenSmSettings,
  path: (...segments: PathSegment[]) => PathSegment[],
): { settings: ResolvedBitwardenSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  if (raw.selfHosted !== undefined && raw.cloudRegion !== undefined) {
    issues.push(
      error({
        code: 'bitwarden-server',
        path: path('cloudRegion'),
        value: raw.cloudRegion,
        message: 'is set together with selfHosted; the operator talks to one server',
        expected: 'either cloudRegion (Bitwarden cloud) or selfHosted (your own server)',
      }),
    );
  }
  // The CNI provider's egress policy to the server comes from each URL's host and port
  // (urlFlowPeer): a URL it cannot read (a port beyond 65535, a host that is no DNS name or
  // address) would leave the operator without a way to Bitwarden under default deny, and no
  // Secret would ever be filled.
  for (const key of ['apiUrl', 'identityUrl'] as const) {
    const url = raw.selfHosted?.[key];
    if (url === undefined) continue;
    const target = urlFlowPeer(url, undefined);
    if (target?.ports.every((port) => port.port > 0)) continue;
    issues.push(
      error({
        code: 'bitwarden-server',
        path: path('selfHosted', key),
        value: url,
        message:
          'is no address the operator can be allowed to reach: its host is no DNS name or IP address, or its port is not 1–65535',
        expected: `an https URL of a DNS name or IP address, the port (when not 443) from 1 to 65535, e.g. https://vault.example.com/${key === 'apiUrl' ? 'api' : 'identity'}`,
      }),
    );
  }
  const inventory = new Map<string, Map<string, string>>();
  for (const [secret, keys] of Object.entries(raw.secrets ?? {})) {
    const map = new Map<string, string>();
    for (const [key, id] of Object.entries(keys ?? {})) {
      if (typeof id === 'string') map.set(key, id.toLowerCase());
    }
    inventory.set(secret, map);
  }
  return {
    settings: {
      // The schema requires it on every cluster that enables the component.
      organizationId: raw.organizationId.toLowerCase(),
      server:
        raw.selfHosted === undefined
          ? { kind: 'cloud', region: raw.cloudRegion ?? 'US' }
          : {
              kind: 'self-hosted',
              apiUrl: raw.selfHosted.apiUrl,
              identityUrl: raw.selfHosted.identityUrl,
            },
      refreshInterval: raw.refreshInterval ?? DEFAULT_REFRESH_INTERVAL,
      authToken: {
        secretName: raw.authToken?.secretName ?? DEFAULT_AUTH_TOKEN.secretName,
        key: raw.authToken?.key ?? DEFAULT_AUTH_TOKEN.key,
      },
      replicas: raw.replicas,
      inventory,
    },
    issues,
  };
}
