// TEMPORARY: the pins of the whole platform in one list, so that vendor/ holds what the current
// components read and what the next components (cert-manager, Longhorn, Authelia, Bitwarden,
// backup, policy, monitoring) will. Components will declare their own (`upstream` on the
// component contract) and the lead replaces this constant with the union of those.
//
// Provenance and licences: ../shared/reference/upstream/SOURCES.md and charts/SOURCES.md.
// Chart repositories are the ones each project documents for `helm repo add`; files are raw
// files at an immutable ref (a release tag, or a commit where upstream has no tag).
import type { FilePin, HelmChartPin, UpstreamPin } from '@homelab/core';

function chart(name: string, version: string, repository: string, licence: string): HelmChartPin {
  return { kind: 'helm-chart', name, version, repository, licence };
}

function raw(repo: string, ref: string, upstreamPath: string): string {
  return `https://raw.githubusercontent.com/${repo}/${ref}/${upstreamPath}`;
}

function file(path: string, url: string, version: string, licence: string): FilePin {
  return { kind: 'file', path, url, version, licence };
}

const CILIUM = 'https://helm.cilium.io';
const LONGHORN = 'https://charts.longhorn.io';

const CHARTS: readonly HelmChartPin[] = [
  chart('cilium', '1.18.12', CILIUM, 'Apache-2.0'),
  chart('cilium', '1.19.6', CILIUM, 'Apache-2.0'),
  chart('cilium', '1.20.0', CILIUM, 'Apache-2.0'),
  chart('argo-cd', '10.1.1', 'https://argoproj.github.io/argo-helm', 'Apache-2.0'),
  chart('cert-manager', 'v1.21.1', 'https://charts.jetstack.io', 'Apache-2.0'),
  // AGPL-3.0: vendored unmodified; nothing from it is copied into project code.
  chart('sm-operator', '2.0.3', 'https://charts.bitwarden.com', 'AGPL-3.0'),
  chart('authelia', '0.11.5', 'https://charts.authelia.com', 'Apache-2.0'),
  chart('longhorn', '1.8.1', LONGHORN, 'Apache-2.0'),
  chart('longhorn', '1.12.1', LONGHORN, 'Apache-2.0'),
  // AGPL-3.0, like sm-operator. Its CRDs are in the archive (templates/volsync.backube_*.yaml).
  chart('volsync', '0.16.0', 'https://backube.github.io/helm-charts', 'AGPL-3.0'),
  chart('snapshot-controller', '5.2.0', 'https://piraeus.io/helm-charts', 'Apache-2.0'),
  // Its CRDs are in the archive (crds/*.yaml).
  chart(
    'gatekeeper',
    '3.23.0',
    'https://open-policy-agent.github.io/gatekeeper/charts',
    'Apache-2.0',
  ),
  chart(
    'kube-prometheus-stack',
    '88.5.3',
    'https://prometheus-community.github.io/helm-charts',
    'Apache-2.0',
  ),
];

/** Talos machine-config JSON Schemas: one per supported minor, plus the next (refused) one. */
const TALOS: readonly FilePin[] = ['v1.11.6', 'v1.12.11', 'v1.13.9', 'v1.14.0-rc.1'].map((tag) =>
  file(
    `upstream/talos/${tag}/config.schema.json`,
    raw('siderolabs/talos', tag, 'pkg/machinery/config/schemas/config.schema.json'),
    tag,
    'MPL-2.0',
  ),
);

const GATEWAY_API_STANDARD: { readonly [tag: string]: readonly string[] } = {
  'v1.3.0': ['gatewayclasses', 'gateways', 'grpcroutes', 'httproutes', 'referencegrants'],
  'v1.4.1': [
    'backendtlspolicies',
    'gatewayclasses',
    'gateways',
    'grpcroutes',
    'httproutes',
    'referencegrants',
  ],
};

/** Gateway API CRDs: the standard channel, plus the experimental TLSRoute. */
const GATEWAY_API: readonly FilePin[] = Object.entries(GATEWAY_API_STANDARD).flatMap(
  ([tag, kinds]) => [
    ...kinds.map((kind) =>
      file(
        `crds/gateway-api/${tag}/standard/gateway.networking.k8s.io_${kind}.yaml`,
        raw(
          'kubernetes-sigs/gateway-api',
          tag,
          `config/crd/standard/gateway.networking.k8s.io_${kind}.yaml`,
        ),
        tag,
        'Apache-2.0',
      ),
    ),
    file(
      `crds/gateway-api/${tag}/experimental-tlsroutes.yaml`,
      raw(
        'kubernetes-sigs/gateway-api',
        tag,
        'config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml',
      ),
      tag,
      'Apache-2.0',
    ),
  ],
);

/** CSI external-snapshotter CRDs (VolumeSnapshot*, VolumeGroupSnapshot*). */
const EXTERNAL_SNAPSHOTTER: readonly FilePin[] = [
  'groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses',
  'groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents',
  'groupsnapshot.storage.k8s.io_volumegroupsnapshots',
  'snapshot.storage.k8s.io_volumesnapshotclasses',
  'snapshot.storage.k8s.io_volumesnapshotcontents',
  'snapshot.storage.k8s.io_volumesnapshots',
].map((name) =>
  file(
    `crds/external-snapshotter/v8.6.0/${name}.yaml`,
    raw('kubernetes-csi/external-snapshotter', 'v8.6.0', `client/config/crd/${name}.yaml`),
    'v8.6.0',
    'Apache-2.0',
  ),
);

/** Argo CD's own CRDs (Application, ApplicationSet, AppProject) of the release chart 10.1.1 runs. */
const ARGOCD_CRDS: readonly FilePin[] = ['application', 'applicationset', 'appproject'].map(
  (name) =>
    file(
      `upstream/argo-cd/crds-v3.4.4/${name}-crd.yaml`,
      raw('argoproj/argo-cd', 'v3.4.4', `manifests/crds/${name}-crd.yaml`),
      'v3.4.4',
      'Apache-2.0',
    ),
);

/**
 * datree's JSON Schema conversions of the Cilium 1.18.2 CRDs (the catalog has no tags: pinned to
 * the commit that last changed them, "feat: Update cilium to 1.18.2 (#658)").
 */
const DATREE_COMMIT = 'ea03cc2abb64ddc0a927c1e3d48a3d0abf66a3de';
const CILIUM_CRD_SCHEMAS: readonly FilePin[] = [
  'ciliumbgpadvertisement_v2',
  'ciliumbgpclusterconfig_v2',
  'ciliumbgpnodeconfigoverride_v2',
  'ciliumbgppeerconfig_v2',
  'ciliuml2announcementpolicy_v2alpha1',
  'ciliumloadbalancerippool_v2',
].map((name) =>
  file(
    `upstream/cilium/crd-jsonschema/${name}.json`,
    raw('datreeio/CRDs-catalog', DATREE_COMMIT, `cilium.io/${name}.json`),
    '1.18.2',
    'MIT',
  ),
);

/** Authelia 4.39 configuration schemas (from the v4.39.19 tag, the app version of chart 0.11.5). */
const AUTHELIA: readonly FilePin[] = [
  ...['configuration', 'user-database'].map((name) =>
    file(
      `upstream/authelia/config-v4.39/${name}.schema.json`,
      raw('authelia/authelia', 'v4.39.19', `docs/static/schemas/v4.39/json-schema/${name}.json`),
      'v4.39.19',
      'Apache-2.0',
    ),
  ),
  // The chart's values.schema.json `$ref`s https://charts.authelia.com/definitions.json; kept
  // beside the archive. Pinned to the gh-pages commit the mirror copied it from.
  file(
    'charts/authelia/0.11.5/definitions.json',
    raw('authelia/chartrepo', '69a10b1ced4000a7ab36e99bbea69408868be84f', 'definitions.json'),
    '0.11.5',
    'Apache-2.0',
  ),
];

/** talos-backup's example manifests (MPL-2.0), the base of the Talos etcd backup job. */
const TALOS_BACKUP: readonly FilePin[] = ['cronjob.sample.yaml', 'README.md'].map((name) =>
  file(
    `manifests/talos-backup/v0.1.0-beta.3/${name}`,
    raw('siderolabs/talos-backup', 'v0.1.0-beta.3', name),
    'v0.1.0-beta.3',
    'MPL-2.0',
  ),
);

/** Every upstream artifact the platform pins (temporary: see the file comment). */
export const PLATFORM_PINS: readonly UpstreamPin[] = [
  ...CHARTS,
  ...TALOS,
  ...GATEWAY_API,
  ...EXTERNAL_SNAPSHOTTER,
  ...ARGOCD_CRDS,
  ...CILIUM_CRD_SCHEMAS,
  ...AUTHELIA,
  ...TALOS_BACKUP,
];
