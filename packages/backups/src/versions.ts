// The upstream pins of @homelab/backups. Renovate bumps the commented constants (the
// `customManagers` rule of renovate.json). VolSync's chart is AGPL-3.0 and talos-backup's
// manifests MPL-2.0: both are vendored unmodified and nothing from them is copied into this code
// (the custom resources below are written from VolSync's documented fields; the tests check them
// against the CRDs in the vendored archive).
import type { UpstreamPin } from '@homelab/core';
import type { BackupsSettings } from './generated/settings.js';

export type VolsyncVersion = NonNullable<BackupsSettings['version']>;

// renovate: datasource=helm depName=volsync registryUrl=https://backube.github.io/helm-charts
export const VOLSYNC_CHART_VERSION = '0.16.0' satisfies VolsyncVersion;

export const VOLSYNC_REPOSITORY = 'https://backube.github.io/helm-charts';

/**
 * VolSync's one image: its manager, and every mover it starts (chart 0.16.0 passes it as
 * `--restic-container-image` and the other movers' flags; the Helm suite checks it).
 */
export const VOLSYNC_IMAGE_REPOSITORY = 'quay.io/backube/volsync';

/**
 * restic of the verification job: the release VolSync 0.16's mover ships (its changelog). A bump
 * also moves `RESTIC_VERSION` of .ci/install-restic (test/versions.test.ts holds them equal).
 */
// renovate: datasource=docker depName=restic/restic
export const RESTIC_VERSION = '0.18.1';
export const RESTIC_IMAGE = `docker.io/restic/restic:${RESTIC_VERSION}`;

// renovate: datasource=github-tags depName=siderolabs/talos-backup
export const TALOS_BACKUP_VERSION = 'v0.1.0-beta.3';
export const TALOS_BACKUP_IMAGE = `ghcr.io/siderolabs/talos-backup:${TALOS_BACKUP_VERSION}`;

export const BACKUPS_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: 'volsync',
    version: VOLSYNC_CHART_VERSION,
    repository: VOLSYNC_REPOSITORY,
    licence: 'AGPL-3.0',
  },
  ...['cronjob.sample.yaml', 'README.md'].map(
    (name): UpstreamPin => ({
      kind: 'file',
      path: `manifests/talos-backup/${TALOS_BACKUP_VERSION}/${name}`,
      url: `https://raw.githubusercontent.com/siderolabs/talos-backup/${TALOS_BACKUP_VERSION}/${name}`,
      version: TALOS_BACKUP_VERSION,
      licence: 'MPL-2.0',
    }),
  ),
];
