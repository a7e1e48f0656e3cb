import { error, type Issue, type PathSegment, type UpstreamPin, warning } from '@homelab/core';
import { CERT_APPROVER_MANIFEST, CERT_APPROVER_VERSION } from './baseline.js';

/** Talos release lines this generator writes patches for (each `1.<minor>.x`). */
export const talosSupportedVersions: readonly string[] = ['1.11', '1.12', '1.13'];

/** A parsed Talos version of a supported release line. */
export interface TalosVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Full tag as Talos publishes it, e.g. `v1.12.11` (image tags, `talosctl --talos-version`). */
  readonly tag: string;
  /** Release line, e.g. `v1.12`. */
  readonly line: string;
  /**
   * Talos 1.12 moved host networking out of `machine.network` into their own documents
   * (`HostnameConfig`, `LinkConfig`, `ResolverConfig`, `Layer2VIPConfig`); 1.13 removed the old
   * fields from the schema.
   */
  readonly networkDocuments: boolean;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;
const EXPECTED = `a Talos version of a supported release line (${talosSupportedVersions
  .map((line) => `v${line}.x`)
  .join(', ')})`;

/**
 * Checks a cluster's Talos version. Unsupported versions are refused with an issue on `path`:
 * Talos 1.14 replaces the v1alpha1 machine config with separate documents, so patches written
 * for 1.13 would not apply. A patch release later than the line's pinned one
 * (`TALOS_PINNED_RELEASES`) is a warning (`talos-version-unknown`): released since, or a typo of
 * a version that does not exist, which the Image Factory does not offer (no ISO, no installer).
 */
export function checkTalosVersion(
  version: string,
  path: readonly PathSegment[],
): { version: TalosVersion | undefined; issues: Issue[] } {
  const match = VERSION.exec(version);
  if (!match) {
    return {
      version: undefined,
      issues: [
        error({
          path,
          message: 'is not a Talos version',
          value: version,
          expected: `${EXPECTED}, e.g. v1.12.11`,
          code: 'talos-version',
        }),
      ],
    };
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const patch = Number(match[3]);
  const line = `${major}.${minor}`;
  if (talosSupportedVersions.includes(line)) {
    const pinned = TALOS_PINNED_RELEASES.find((tag) => tag.startsWith(`v${line}.`));
    const pinnedPatch = pinned === undefined ? undefined : Number(pinned.split('.')[2]);
    const issues: Issue[] = [];
    if (pinnedPatch !== undefined && patch > pinnedPatch) {
      issues.push(
        warning({
          path,
          message: `is later than ${pinned}, the latest Talos ${line} release this tool knows (its patches and extension lists are checked against ${pinned})`,
          value: version,
          expected: `a Talos release the Image Factory offers (\`curl https://factory.talos.dev/versions\` lists them): a version that was never released has no ISO and no installer image, so the runbook's downloads and installs fail; e.g. ${pinned}`,
          code: 'talos-version-unknown',
        }),
      );
    }
    return {
      version: {
        major,
        minor,
        patch,
        tag: `v${major}.${minor}.${patch}${prerelease(version)}`,
        line: `v${line}`,
        networkDocuments: major > 1 || minor >= 12,
      },
      issues,
    };
  }
  const newer = major > 1 || (major === 1 && minor > 13);
  return {
    version: undefined,
    issues: [
      error({
        path,
        message: newer
          ? `Talos ${line} is not supported yet: Talos 1.14 changes the machine-config document format ` +
            '(the v1alpha1 document is split into separate documents), and these patches are written for 1.11 to 1.13'
          : `Talos ${line} is too old: the patches use fields that need Talos 1.11 or later`,
        value: version,
        expected: EXPECTED,
        code: 'talos-version-unsupported',
      }),
    ],
  };
}

function prerelease(version: string): string {
  const dash = version.indexOf('-');
  return dash === -1 ? '' : version.slice(dash);
}

/** The Talos release of each supported line whose upstream files are vendored and tested against. */
export const TALOS_PINNED_RELEASES: readonly string[] = ['v1.11.6', 'v1.12.11', 'v1.13.9'];

/**
 * Where the list of official system extensions of a pinned release is vendored: the Makefile of
 * siderolabs/extensions at the release's tag, whose `TARGETS` and `NONFREE_TARGETS` are the images
 * the extensions catalogue (`ghcr.io/siderolabs/extensions:<tag>`, `image-digests`) lists and the
 * Image Factory offers as `siderolabs/<target>`.
 */
export function extensionsMakefilePath(tag: string): string {
  return `upstream/talos-extensions/${tag}/Makefile`;
}

/**
 * The Talos machine-config schemas of the supported releases (and the next, refused one): the
 * conformance tests validate every generated patch against them. The official system extensions
 * of each pinned release: the build checks `talos.extensions` against them
 * (`src/generated/official-extensions.ts`). `homelab vendor sync` fetches them.
 */
export const TALOS_UPSTREAM: readonly UpstreamPin[] = [
  ...[...TALOS_PINNED_RELEASES, 'v1.14.0-rc.1'].map(
    (tag): UpstreamPin => ({
      kind: 'file',
      path: `upstream/talos/${tag}/config.schema.json`,
      url: `https://raw.githubusercontent.com/siderolabs/talos/${tag}/pkg/machinery/config/schemas/config.schema.json`,
      version: tag,
      licence: 'MPL-2.0',
    }),
  ),
  // What Talos applies from `cluster.extraManifests` (baseline.ts), for the tests that evaluate
  // the admission policies on it (its namespace is in core's TALOS_MANIFEST_NAMESPACES).
  {
    kind: 'file',
    path: `manifests/kubelet-serving-cert-approver/${CERT_APPROVER_VERSION}/standalone-install.yaml`,
    url: CERT_APPROVER_MANIFEST,
    version: CERT_APPROVER_VERSION,
    licence: 'Apache-2.0',
  },
  ...TALOS_PINNED_RELEASES.map(
    (tag): UpstreamPin => ({
      kind: 'file',
      path: extensionsMakefilePath(tag),
      url: `https://raw.githubusercontent.com/siderolabs/extensions/${tag}/Makefile`,
      version: tag,
      licence: 'MPL-2.0',
    }),
  ),
];
