// What a CRD bundle's release tags say (`CrdBundle.version`, `noDowngradeBelow.version`): tags
// such as `v1.6.1`, compared as semantic versions. Pure.
import semver from 'semver';
import type { CrdBundle } from './contract.js';

function release(tag: string): string | undefined {
  return semver.valid(tag, { loose: true }) ?? undefined;
}

/**
 * Whether `tag` is at or above the bundle's floor (`noDowngradeBelow.version`): a cluster that
 * synced it there refuses the bundle below. `undefined` when the bundle has no floor or either
 * is no release tag (a branch, a commit).
 */
export function atOrAboveFloor(
  bundle: CrdBundle,
  tag: string = bundle.version,
): boolean | undefined {
  const floor =
    bundle.noDowngradeBelow === undefined ? undefined : release(bundle.noDowngradeBelow.version);
  const version = release(tag);
  if (floor === undefined || version === undefined) return undefined;
  return semver.gte(version, floor);
}

/**
 * Whether moving the bundle from `deployed` (what a cluster synced) to its own version crosses
 * its floor downwards: what the cluster refuses (`crd-bundle-downgrade`).
 */
export function crossesFloorDownwards(bundle: CrdBundle, deployed: string): boolean {
  return atOrAboveFloor(bundle, deployed) === true && atOrAboveFloor(bundle) === false;
}
