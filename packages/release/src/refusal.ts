/**
 * A release refused because of the repository's state: a chart's content not the one recorded
 * for its version, `charts/` not committed, a stale `Chart.yaml`, a dependency `vendor/` lacks, a
 * released version whose archive would change. A failed check, which `publishCharts` prints and
 * exits 1 on, as `homelab check` does for the same states; a `HomelabError` (no git, no release
 * time, a folder that cannot be created) is a fault of the environment, exit 2. Internal to the
 * package: `publishCharts` turns it into its exit code.
 */
export class ReleaseRefused extends Error {
  override readonly name = 'ReleaseRefused';
}
