// The settings of `components.backups`: schema fragment (schema/settings.schema.json, types
// generated from it), defaults, and one cluster's settings resolved. Pure.
import {
  type EnvironmentName,
  type JsonSchema,
  type ResolvedCluster,
  type SettingsSpec,
  volumeResticRepository,
} from '@homelab/core';
import schemaJson from '../schema/settings.schema.json' with { type: 'json' };
import type { BackupsSettings } from './generated/settings.js';
import { VOLSYNC_CHART_VERSION, type VolsyncVersion } from './versions.js';

export type { BackupsSettings };

/** Namespace of the VolSync controller. */
export const VOLSYNC_NAMESPACE = 'volsync-system';
/** Namespace of the etcd backup job: the only one Talos lets reach its API. */
export const ETCD_BACKUP_NAMESPACE = 'talos-backup';
/** The Talos API role the etcd backup job gets, and nothing else. */
export const ETCD_BACKUP_ROLE = 'os:etcd:backup';
/** Secret with the S3 credentials of the etcd backup job. */
export const ETCD_BACKUP_SECRET = 'talos-backup-s3';

/**
 * The ConfigMap that holds the S3 endpoint's CA (`s3.caCertificate`) in every namespace whose
 * pods call the endpoint (VolSync reads a restic mover's `customCA` in the mover's namespace), its
 * key, and where the restic and talos-backup pods mount it.
 */
export const S3_CA = {
  configMap: 'backup-s3-ca',
  key: 'ca.crt',
  mountPath: '/etc/backup-s3-ca',
  file: '/etc/backup-s3-ca/ca.crt',
} as const;

export const backupsSettingsSpec: SettingsSpec<BackupsSettings> = {
  schema: schemaJson as unknown as JsonSchema,
  // Off unless the definition turns it on: it needs a bucket and an age key.
  defaults: {
    enabled: false,
    version: VOLSYNC_CHART_VERSION,
    restic: { prefix: 'restic', pruneIntervalDays: 7, cacheCapacity: '1Gi' },
    verification: {
      // Weekly in development, daily from staging on; after the nightly backups.
      schedule: { development: '0 5 * * 0', staging: '0 5 * * *', production: '0 5 * * *' },
      readDataSubset: { development: '1%', staging: '5%', production: '10%' },
      sampleFiles: 16,
      maxAgeHours: { development: 192, staging: 48, production: 48 },
      maxShrinkPercent: 50,
      windowMinutes: 60,
    },
    etcd: {
      enabled: true,
      schedule: { development: '0 */6 * * *', staging: '0 */2 * * *', production: '0 * * * *' },
      prefix: 'etcd',
    },
  },
  platformOnly: ['version'],
};

export interface ResolvedBackupsSettings {
  readonly version: VolsyncVersion;
  readonly s3:
    | {
        readonly endpoint: string;
        readonly bucket: string;
        readonly region: string;
        readonly pathStyle: boolean;
        /** The private CA(s) of the endpoint's certificate (PEM), which every S3 client trusts. */
        readonly caCertificate: string | undefined;
      }
    | undefined;
  readonly restic: {
    readonly prefix: string;
    readonly pruneIntervalDays: number;
    readonly cacheCapacity: string;
  };
  readonly verification: {
    readonly schedule: string;
    readonly readDataSubset: string;
    readonly sampleFiles: number;
    readonly maxAgeHours: number;
    /** How much smaller (bytes, %) the latest snapshot may be than the one before it. */
    readonly maxShrinkPercent: number;
    readonly windowMinutes: number;
  };
  readonly etcd:
    | {
        readonly schedule: string;
        readonly agePublicKey: string | undefined;
        readonly prefix: string;
      }
    | undefined;
}

function pick<T>(
  map: { readonly [E in EnvironmentName]?: T } | undefined,
  environment: EnvironmentName,
  fallback: T,
): T {
  return map?.[environment] ?? fallback;
}

export function resolveBackupsSettings(
  settings: BackupsSettings,
  cluster: ResolvedCluster,
): ResolvedBackupsSettings {
  const env = cluster.environment;
  const verification = settings.verification ?? {};
  const etcd = settings.etcd ?? {};
  return {
    version: settings.version ?? VOLSYNC_CHART_VERSION,
    s3:
      settings.s3 === undefined
        ? undefined
        : {
            // `s3:<endpoint>/<bucket>/…`: a trailing `/` would double the slash.
            endpoint: settings.s3.endpoint.replace(/\/$/, ''),
            bucket: settings.s3.bucket,
            region: settings.s3.region ?? 'us-east-1',
            pathStyle: settings.s3.pathStyle ?? true,
            caCertificate: settings.s3.caCertificate,
          },
    restic: {
      prefix: settings.restic?.prefix ?? 'restic',
      pruneIntervalDays: settings.restic?.pruneIntervalDays ?? 7,
      cacheCapacity: settings.restic?.cacheCapacity ?? '1Gi',
    },
    verification: {
      schedule: pick(verification.schedule, env, '0 5 * * *'),
      readDataSubset: pick(verification.readDataSubset, env, '5%'),
      sampleFiles: verification.sampleFiles ?? 16,
      maxAgeHours: pick(verification.maxAgeHours, env, 48),
      maxShrinkPercent: verification.maxShrinkPercent ?? 50,
      windowMinutes: verification.windowMinutes ?? 60,
    },
    etcd:
      etcd.enabled === false
        ? undefined
        : {
            schedule: pick(etcd.schedule, env, '0 * * * *'),
            agePublicKey: etcd.agePublicKey,
            prefix: etcd.prefix ?? 'etcd',
          },
  };
}

/** The restic repositories' prefix on a cluster: `s3:<endpoint>/<bucket>/<prefix>/<cluster>`. */
export function resticRepositoryPrefix(
  settings: ResolvedBackupsSettings,
  cluster: string,
): string | undefined {
  if (settings.s3 === undefined) return undefined;
  return `s3:${settings.s3.endpoint}/${settings.s3.bucket}/${settings.restic.prefix}/${cluster}`;
}

/** The restic repository of a volume: `s3:<endpoint>/<bucket>/<prefix>/<cluster>/<ns>/<volume>`. */
export function resticRepository(
  settings: ResolvedBackupsSettings,
  cluster: string,
  namespace: string,
  volume: string,
): string | undefined {
  const prefix = resticRepositoryPrefix(settings, cluster);
  return prefix === undefined
    ? undefined
    : volumeResticRepository(prefix, { namespace, name: volume });
}
