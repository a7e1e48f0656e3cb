// The settings of `components.longhorn`: their JSON Schema fragment (schema/settings.schema.json,
// types generated from it), the defaults, and the settings of one cluster resolved. Pure.
import type { EnvironmentName, JsonSchema, ResolvedCluster, SettingsSpec } from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { LonghornSettings, LonghornTier } from './generated/settings.js';
import { LONGHORN_CHART_VERSION, type LonghornVersion } from './versions.js';

export type { LonghornSettings, LonghornTier };

/** Namespace Longhorn runs in. */
export const LONGHORN_NAMESPACE = 'longhorn-system';
/** Longhorn's data path on the system disk (Talos' EPHEMERAL partition). */
export const SYSTEM_DISK_PATH = '/var/lib/longhorn/';
/** Where Talos mounts a user volume. */
export const USER_VOLUME_ROOT = '/var/mnt';
/** Talos' user volumes need a lower bound to be provisioned. */
export const DEFAULT_DISK_MIN_SIZE = '10GiB';
export const DEFAULT_CREDENTIALS_SECRET = 'longhorn-backup-s3';

type PerEnvironment<T> = { readonly [E in EnvironmentName]: T };

const every = <T>(value: T): PerEnvironment<T> => ({
  development: value,
  staging: value,
  production: value,
});

/**
 * The default tiers of the origin: fast-storage (SSD, databases: a replica stays next to its
 * workload), standard (general purpose, the default class) and archive (HDD, cold data). Every
 * tier is snapshotted; backups go to the backup target when there is one. Schedules are staggered
 * so that no two tiers' jobs start together.
 */
export const DEFAULT_TIERS: { readonly [tier: string]: LonghornTier } = {
  'fast-storage': {
    description: 'SSD-backed volumes for databases; a replica stays on the node that uses it.',
    diskClass: 'ssd',
    dataLocality: 'best-effort',
    reclaimPolicy: 'Retain',
    snapshot: {
      schedule: { development: '0 */6 * * *', staging: '0 * * * *', production: '0 * * * *' },
      retain: { development: 4, staging: 24, production: 48 },
    },
    backup: {
      schedule: every('0 1 * * *'),
      retain: { development: 3, staging: 7, production: 14 },
    },
  },
  standard: {
    description: 'General-purpose volumes; the default StorageClass.',
    dataLocality: 'disabled',
    reclaimPolicy: 'Delete',
    snapshot: {
      schedule: every('15 */6 * * *'),
      retain: { development: 2, staging: 4, production: 8 },
    },
    backup: {
      schedule: every('30 1 * * *'),
      retain: { development: 3, staging: 7, production: 14 },
    },
  },
  archive: {
    description: 'HDD-backed cold storage: archives and backups, rarely read.',
    diskClass: 'hdd',
    dataLocality: 'disabled',
    reclaimPolicy: 'Retain',
    snapshot: {
      schedule: every('45 0 * * 0'),
      retain: every(2),
    },
    backup: {
      schedule: every('0 2 * * 0'),
      retain: { development: 2, staging: 4, production: 8 },
    },
  },
};

export const longhornSettingsSpec: SettingsSpec<LonghornSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  defaults: {
    version: LONGHORN_CHART_VERSION,
    systemDisk: true,
    systemDiskTier: 'standard',
    defaultTier: 'standard',
    tiers: structuredClone(DEFAULT_TIERS) as NonNullable<LonghornSettings['tiers']>,
    ui: { route: false, groups: ['platform-admins'] },
  },
  platformOnly: ['version'],
};

/** One tier as a cluster uses it. */
export interface ResolvedTier {
  readonly name: string;
  readonly description: string | undefined;
  readonly diskClass: 'ssd' | 'hdd' | undefined;
  /** Replicas on this cluster (the tier's for the environment, else the profile's). */
  readonly replicas: number;
  readonly dataLocality: 'disabled' | 'best-effort' | 'strict-local';
  readonly reclaimPolicy: 'Delete' | 'Retain';
  readonly snapshot: { readonly schedule: string; readonly retain: number } | undefined;
  readonly backup: { readonly schedule: string; readonly retain: number } | undefined;
}

export interface ResolvedLonghornSettings {
  readonly version: LonghornVersion;
  /** Tier of the system-disk disk; `undefined` when storage nodes get none. */
  readonly systemDiskTier: string | undefined;
  readonly defaultTier: string;
  /** Sorted by name. */
  readonly tiers: readonly ResolvedTier[];
  readonly backupTarget:
    | {
        readonly url: string;
        readonly endpoint: string | undefined;
        readonly credentialsSecret: string;
        readonly pollInterval: number;
        /** The private CA(s) of the endpoint's certificate (PEM), Longhorn's AWS_CERT. */
        readonly caCertificate: string | undefined;
      }
    | undefined;
  readonly ui: { readonly route: boolean; readonly groups: readonly string[] };
}

function job(
  raw: LonghornTier['snapshot'],
  environment: EnvironmentName,
): { schedule: string; retain: number } | undefined {
  if (raw === undefined || raw.enabled === false) return undefined;
  const schedule = raw.schedule?.[environment];
  const retain = raw.retain?.[environment];
  if (schedule === undefined || retain === undefined) return undefined;
  return { schedule, retain };
}

/** The merged settings of a cluster with every default applied. */
export function resolveLonghornSettings(
  settings: LonghornSettings,
  cluster: ResolvedCluster,
): ResolvedLonghornSettings {
  const environment = cluster.environment;
  const tiers: ResolvedTier[] = Object.entries(settings.tiers ?? {})
    .filter((entry): entry is [string, LonghornTier] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, tier]) => ({
      name,
      description: tier.description,
      diskClass: tier.diskClass,
      replicas: tier.replicas?.[environment] ?? cluster.profile.replicas,
      dataLocality: tier.dataLocality ?? 'disabled',
      reclaimPolicy: tier.reclaimPolicy ?? 'Delete',
      snapshot: job(tier.snapshot, environment),
      backup: job(tier.backup, environment),
    }));
  const target = settings.backupTarget;
  return {
    version: settings.version ?? LONGHORN_CHART_VERSION,
    systemDiskTier:
      settings.systemDisk === false ? undefined : (settings.systemDiskTier ?? 'standard'),
    defaultTier: settings.defaultTier ?? 'standard',
    tiers,
    backupTarget:
      target === undefined
        ? undefined
        : {
            url: `s3://${target.bucket}@${target.region}/${target.path ?? `longhorn/${cluster.name}`}`,
            endpoint: target.endpoint?.replace(/\/$/, ''),
            credentialsSecret: target.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET,
            pollInterval: target.pollInterval ?? 300,
            caCertificate: target.caCertificate,
          },
    ui: { route: settings.ui?.route ?? false, groups: settings.ui?.groups ?? ['platform-admins'] },
  };
}
