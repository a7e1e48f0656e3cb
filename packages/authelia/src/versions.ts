// Upstream versions this package pins. Renovate updates the chart through the comment below
// (the `customManagers` regex rule of renovate.json).
import type { UpstreamPin } from '@homelab/core';

/** The upstream authelia Helm chart wrapped by charts/authelia. */
export const AUTHELIA_CHART = {
  name: 'authelia',
  repository: 'https://charts.authelia.com',
  // renovate: datasource=helm depName=authelia registryUrl=https://charts.authelia.com
  version: '0.11.5',
} as const;

/** The Authelia release that chart ships (its `appVersion`). */
export const AUTHELIA_APP_VERSION = '4.39.19';

/** Authelia's configuration schemas of that release line (the tests validate against them). */
export const AUTHELIA_SCHEMA_DIR = 'authelia/config-v4.39';

const raw = (repo: string, ref: string, path: string) =>
  `https://raw.githubusercontent.com/${repo}/${ref}/${path}`;

/**
 * The upstream artifacts @homelab/authelia pins: the chart; the `definitions.json` its
 * values.schema.json `$ref`s by URL (kept beside the archive, pinned to the chartrepo gh-pages
 * commit it was copied from); Authelia's configuration and users database JSON Schemas.
 */
export const AUTHELIA_UPSTREAM: readonly UpstreamPin[] = [
  {
    kind: 'helm-chart',
    name: AUTHELIA_CHART.name,
    version: AUTHELIA_CHART.version,
    repository: AUTHELIA_CHART.repository,
    licence: 'Apache-2.0',
    // The repository's index.yaml points the archive at GitHub Releases: https://github.com/authelia/chartrepo/releases/download/authelia-<version>/…
    archives: 'github-releases',
  },
  {
    kind: 'file',
    path: `charts/authelia/${AUTHELIA_CHART.version}/definitions.json`,
    url: raw('authelia/chartrepo', '69a10b1ced4000a7ab36e99bbea69408868be84f', 'definitions.json'),
    version: AUTHELIA_CHART.version,
    licence: 'Apache-2.0',
  },
  ...['configuration', 'user-database'].map(
    (name): UpstreamPin => ({
      kind: 'file',
      path: `upstream/${AUTHELIA_SCHEMA_DIR}/${name}.schema.json`,
      url: raw(
        'authelia/authelia',
        `v${AUTHELIA_APP_VERSION}`,
        `docs/static/schemas/v4.39/json-schema/${name}.json`,
      ),
      version: `v${AUTHELIA_APP_VERSION}`,
      licence: 'Apache-2.0',
    }),
  ),
];
