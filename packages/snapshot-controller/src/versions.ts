// The upstream pins of @homelab/snapshot-controller: the piraeus snapshot-controller chart and the
// external-snapshotter CRDs of its app version. The chart's archive renders no CRDs (its
// crds.yaml is generated at release time, see the mirror's SOURCES.md), so the CRDs are their own
// Application, read from the external-snapshotter repository at the same tag.
import type { UpstreamPin } from '@homelab/core';
import type { SnapshotControllerSettings } from './generated/settings.js';

export type SnapshotControllerVersion = NonNullable<SnapshotControllerSettings['version']>;

// renovate: datasource=helm depName=snapshot-controller registryUrl=https://piraeus.io/helm-charts
export const SNAPSHOT_CONTROLLER_CHART_VERSION = '5.2.0' satisfies SnapshotControllerVersion;

export const SNAPSHOT_CONTROLLER_REPOSITORY = 'https://piraeus.io/helm-charts';

/** external-snapshotter release of each chart version (its appVersion). */
export const EXTERNAL_SNAPSHOTTER_VERSIONS: {
  readonly [V in SnapshotControllerVersion]: string;
} = { '5.2.0': 'v8.6.0' };

export const EXTERNAL_SNAPSHOTTER_REPOSITORY =
  'https://github.com/kubernetes-csi/external-snapshotter';

/** The CRD files of `client/config/crd` (its kustomization.yaml left out). */
export const SNAPSHOT_CRD_FILES = [
  'groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses',
  'groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents',
  'groupsnapshot.storage.k8s.io_volumegroupsnapshots',
  'snapshot.storage.k8s.io_volumesnapshotclasses',
  'snapshot.storage.k8s.io_volumesnapshotcontents',
  'snapshot.storage.k8s.io_volumesnapshots',
] as const;

export const SNAPSHOT_CONTROLLER_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: 'snapshot-controller',
    version: SNAPSHOT_CONTROLLER_CHART_VERSION,
    repository: SNAPSHOT_CONTROLLER_REPOSITORY,
    licence: 'Apache-2.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/piraeusdatastore/helm-charts/releases/download/snapshot-controller-<version>/…
    archives: 'github-releases',
  },
  ...Object.values(EXTERNAL_SNAPSHOTTER_VERSIONS).flatMap((tag) =>
    SNAPSHOT_CRD_FILES.map(
      (name): UpstreamPin => ({
        kind: 'file',
        path: `crds/external-snapshotter/${tag}/${name}.yaml`,
        url: `https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/${tag}/client/config/crd/${name}.yaml`,
        version: tag,
        licence: 'Apache-2.0',
      }),
    ),
  ),
];
