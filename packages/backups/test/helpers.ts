// Runs the real backups component through core's component run, with test components for what
// it needs (CNI, storage, volume snapshots) and a consumer that declares volumes.
import {
  type AnyComponent,
  type ComponentsResult,
  type DeployedCluster,
  type ResolvedPlatform,
  type Values,
  type VolumeRequest,
  volumeBackupSecret,
  volumePopulatorSource,
} from '@homelab/core';
import {
  deployedCharts,
  testComponent,
  testDefinition,
  testReferenceClusters,
  testRun,
} from '@homelab/core/testing';

export { chartObjects } from '@homelab/core/testing';

import { backupsComponent } from '../src/index.js';
import { VOLSYNC_POPULATOR } from '../src/manifests.js';

// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
export type AnyJson = any;

export const AGE_KEY = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

export const SETTINGS = {
  enabled: true,
  s3: { endpoint: 'https://s3.example.com', bucket: 'homelab-backups' },
  etcd: { agePublicKey: AGE_KEY },
};

export const cni = testComponent({ name: 'cni', provides: ['cni'] });
export const storage = testComponent({
  name: 'storage',
  provides: ['storage'],
  contribution: () => ({ facts: { storage: { classes: [], csiDriver: 'driver.example.com' } } }),
});
/**
 * A storage provider whose fast-storage class retains its volumes (its scratch class,
 * `fast-storage-scratch`, deletes them) and whose default class, standard, deletes them.
 */
export const retaining = testComponent({
  name: 'storage',
  provides: ['storage'],
  contribution: () => ({
    facts: {
      storage: {
        classes: [
          {
            name: 'fast-storage',
            tier: 'fast-storage',
            default: false,
            scratch: 'fast-storage-scratch',
          },
          { name: 'standard', tier: 'standard', default: true },
        ],
        csiDriver: 'driver.example.com',
      },
    },
  }),
});
/**
 * A storage provider that, as Longhorn does, names a scratch class for every tier (one replica,
 * no recurring jobs, deleted with the claim), the default class standard's included.
 */
export const scratching = testComponent({
  name: 'storage',
  provides: ['storage'],
  contribution: () => ({
    facts: {
      storage: {
        classes: [
          {
            name: 'fast-storage',
            tier: 'fast-storage',
            default: false,
            scratch: 'fast-storage-scratch',
          },
          { name: 'standard', tier: 'standard', default: true, scratch: 'standard-scratch' },
        ],
        csiDriver: 'driver.longhorn.io',
      },
    },
  }),
});
export const snapshots = testComponent({
  name: 'snapshots',
  provides: ['volume-snapshots'],
  contribution: () => ({ facts: { 'volume-snapshots': { snapshotClass: 'example-snapshot' } } }),
});
export const gitops = testComponent({
  name: 'gitops',
  provides: ['gitops'],
  contribution: () => ({ facts: { gitops: { namespace: 'argocd', version: 'v3' } } }),
});

export const DATA: VolumeRequest = {
  name: 'data',
  namespace: 'paperless',
  size: '20Gi',
  tier: 'standard',
  owner: { user: 1000, group: 1000 },
  backup: { schedule: '0 2 * * *', retention: { daily: 7, weekly: 4, within: '3d' } },
};

/** `volume` with its claim naming the backup provider's populator, as applications asks for it. */
export function populated(volume: VolumeRequest): VolumeRequest {
  const dataSourceRef = volumePopulatorSource(volume, VOLSYNC_POPULATOR);
  return dataSourceRef === undefined ? volume : { ...volume, dataSourceRef };
}

/** A component that declares `volumes` (and, unless told not to, their backup Secrets). */
export function consumer(
  volumes: readonly VolumeRequest[] = [DATA],
  options: { secrets?: boolean; name?: string; serverSideApply?: boolean } = {},
): AnyComponent {
  return testComponent({
    name: options.name ?? 'app',
    uses: ['storage', 'backup'],
    chart: true,
    contribution: () => ({
      application: {
        namespace: 'paperless',
        podSecurity: 'restricted',
        clusterResources: [],
        ...(options.serverSideApply === undefined
          ? {}
          : { serverSideApply: options.serverSideApply }),
      },
      volumes,
      ...(options.secrets === false
        ? {}
        : {
            secrets: volumes
              .filter((v) => v.backup !== undefined)
              .map((v) => volumeBackupSecret(v)),
          }),
    }),
  });
}

export interface BackupsRun {
  readonly platform: ResolvedPlatform;
  readonly components: ComponentsResult;
}

export function runBackups(
  settings: Values = SETTINGS,
  others: readonly AnyComponent[] = [consumer()],
  base: readonly AnyComponent[] = [cni, storage, snapshots, gitops],
): BackupsRun {
  return testRun(
    testDefinition(testReferenceClusters(), {
      components: { backups: { enabled: true, ...settings } },
    }),
    [...base, backupsComponent, ...others],
  );
}

/** The platform as layer 4 sees it: one Application per chart, holding what it renders. */
export function deployed(run: BackupsRun): DeployedCluster[] {
  return deployedCharts(run.components);
}

/** The same deployed platform with `change` applied to every object. */
export function mapObjects(
  clusters: readonly DeployedCluster[],
  change: (object: AnyJson) => AnyJson | undefined,
): DeployedCluster[] {
  return clusters.map((cluster) => ({
    ...cluster,
    applications: cluster.applications.map((app) => ({
      ...app,
      objects: app.objects.flatMap((entry) => {
        const next = change(structuredClone(entry.object));
        return next === undefined ? [] : [{ ...entry, object: next }];
      }),
    })),
  }));
}
