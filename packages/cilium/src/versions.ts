// The upstream pins of @homelab/cilium, in one place. Renovate bumps the commented constant (see
// the `customManagers` rule in renovate.json); a bump of CILIUM_CHART_VERSION that is not in
// CILIUM_RELEASES fails the typecheck, so a new release is added here, reviewed, and tested by the
// conformance suite before it ships. The Gateway API release is no pin of its own: it is the one
// each Cilium release implements (CILIUM_RELEASES), and moves only with Cilium.
import type { ChartUpgradePath, UpstreamPin } from '@homelab/core';
import type { CiliumSettings } from './generated/settings.js';

/** Cilium chart versions the platform definition may ask for (`components.cilium.version`). */
export type CiliumVersion = NonNullable<CiliumSettings['version']>;

// renovate: datasource=helm depName=cilium registryUrl=https://helm.cilium.io
export const CILIUM_CHART_VERSION = '1.19.6' satisfies CiliumVersion;

/**
 * kubectl of the SPIRE watchdog (spire-watchdog.ts), in an image with a shell: the project's
 * own registry.k8s.io/kubectl is built on go-runner (distroless, no `/bin/sh`: kubernetes
 * build/common.sh, `KUBECTL_BASE_IMAGE`), and kube-prometheus-stack 88.5.3 runs it only as
 * `kubectl apply`, its shell step in a separate busybox container. alpine/kubectl is Alpine with
 * the kubectl release of its tag (alpine-docker/multi-arch-docker-images, kubectl/Dockerfile).
 * kubectl's version skew policy supports one minor either side of the API server: 1.34 covers
 * clusters on 1.33–1.35, the middle of what the Cilium releases here support (1.30–1.36). On a
 * cluster two or more minors away the watchdog runs outside that policy; what it runs (`get`
 * with a JSONPath, `rollout restart`, `rollout status`) has not changed since well before
 * 1.30, so it is expected to work there too, untested. alpine/kubectl publishes only the kubectl
 * release that is stable on the day it builds (its kubectl/version-tag.sh), so older minors
 * cannot be pinned with confidence; this pin moves with the clusters. Pinned by tag only: no
 * registry is reachable where this was written, so no digest could be verified (add
 * `@sha256:…` once pulled; the admission policy accepts both forms).
 */
// renovate: datasource=docker depName=docker.io/alpine/kubectl
export const KUBECTL_VERSION = '1.34.2';
export const KUBECTL_IMAGE = `docker.io/alpine/kubectl:${KUBECTL_VERSION}`;

/** Where the upstream chart comes from (the wrapper chart's dependency). */
export const CILIUM_REPOSITORY = 'https://helm.cilium.io';

/**
 * How a running Cilium moves between releases (`components.cilium.version` against the last
 * build's, `chart-upgrade-path`): its upgrade guide (Documentation/operations/upgrade-warning.rst,
 * the same in 1.18 to 1.20) tests upgrades and rollbacks only between consecutive minor releases.
 */
export const CILIUM_UPGRADE_PATH: ChartUpgradePath = {
  product: 'Cilium',
  rollback: 'minor',
  source:
    'its upgrade guide: "The only tested rollback and upgrade path is between consecutive minor releases"',
  // The chart's switch for the defaults of an earlier release: from 1.20, Envoy's xDS mode
  // (`envoyXdsMode` in the chart's _helpers.tpl: `ads` for a new installation, the agent's legacy
  // `split` below 1.20), which an upgrade without it changes under the running proxies.
  compatibility: {
    value: 'upgradeCompatibility',
    setting: 'upgradeCompatibility',
    source:
      'its upgrade guide: "To minimize datapath disruption during the upgrade, the upgradeCompatibility option should be set to the initial Cilium version which was installed in this cluster"',
  },
};

/** What differs between the supported Cilium releases. */
export interface CiliumRelease {
  readonly chartVersion: CiliumVersion;
  /** Upstream application version (the chart's appVersion). */
  readonly appVersion: string;
  /**
   * Gateway API release whose CRDs (standard channel, plus, before v1.5, the experimental TLSRoute
   * the operator also looks for) this Cilium release needs installed before it starts: Cilium
   * 1.18 implements v1.3.0, 1.19 v1.4.1; Cilium 1.20 requires v1.6.1 at least (its upgrade notes:
   * TLSRoute moved to v1, in the standard channel). Not a
   * Renovate pin: Cilium before 1.20 needs TLSRoute `v1alpha2` served, which the v1.5 bundles no
   * longer do, and its operator then fails to start (cilium/cilium#45139, #44920).
   */
  readonly gatewayApiVersion: string;
  /**
   * Kubernetes minors the release is e2e-tested on (Cilium's "Kubernetes Compatibility" page of
   * that release: 1.18 lists 1.30–1.33, 1.19 lists 1.32–1.35). Outside it the build refuses.
   */
  readonly kubernetes: readonly [number, number];
  /**
   * `securityContext.capabilities.ciliumAgent` on Talos: the chart's default list without
   * SYS_MODULE (Talos does not let workloads load kernel modules; Talos guide "Deploying Cilium
   * CNI"). 1.19 adds SYSLOG to the default list.
   */
  readonly ciliumAgentCapabilities: readonly string[];
  /** `securityContext.capabilities.cleanCiliumState` on Talos: the default without SYS_MODULE. */
  readonly cleanCiliumStateCapabilities: readonly string[];
}

const TALOS_AGENT_CAPABILITIES_1_18 = [
  'CHOWN',
  'KILL',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'SYS_ADMIN',
  'SYS_RESOURCE',
  'DAC_OVERRIDE',
  'FOWNER',
  'SETGID',
  'SETUID',
] as const;

const TALOS_CLEAN_STATE_CAPABILITIES = ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'] as const;

/** Every supported release; the default is CILIUM_CHART_VERSION. */
export const CILIUM_RELEASES: { readonly [V in CiliumVersion]: CiliumRelease } = {
  '1.18.12': {
    chartVersion: '1.18.12',
    appVersion: '1.18.12',
    gatewayApiVersion: 'v1.3.0',
    kubernetes: [30, 33],
    ciliumAgentCapabilities: TALOS_AGENT_CAPABILITIES_1_18,
    cleanCiliumStateCapabilities: TALOS_CLEAN_STATE_CAPABILITIES,
  },
  '1.19.6': {
    chartVersion: '1.19.6',
    appVersion: '1.19.6',
    gatewayApiVersion: 'v1.4.1',
    kubernetes: [32, 35],
    ciliumAgentCapabilities: [...TALOS_AGENT_CAPABILITIES_1_18, 'SYSLOG'],
    cleanCiliumStateCapabilities: TALOS_CLEAN_STATE_CAPABILITIES,
  },
  '1.20.0': {
    chartVersion: '1.20.0',
    appVersion: '1.20.0',
    gatewayApiVersion: 'v1.6.1',
    kubernetes: [33, 36],
    ciliumAgentCapabilities: [...TALOS_AGENT_CAPABILITIES_1_18, 'SYSLOG'],
    cleanCiliumStateCapabilities: TALOS_CLEAN_STATE_CAPABILITIES,
  },
};

/** The Gateway API release the pinned Cilium release implements. */
export const GATEWAY_API_VERSION: string = CILIUM_RELEASES[CILIUM_CHART_VERSION].gatewayApiVersion;

/** The supported chart versions, oldest first. */
export const CILIUM_VERSIONS: readonly CiliumVersion[] = Object.keys(CILIUM_RELEASES).sort(
  compareVersions,
) as CiliumVersion[];

export function isCiliumVersion(value: unknown): value is CiliumVersion {
  return typeof value === 'string' && Object.hasOwn(CILIUM_RELEASES, value);
}

/** The Gateway API release (tag, standard channel) a Cilium chart version needs. */
export function gatewayApiVersionFor(version: CiliumVersion = CILIUM_CHART_VERSION): string {
  return CILIUM_RELEASES[version].gatewayApiVersion;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * datree's JSON Schema conversions of the Cilium 1.18.2 CRDs (the catalog has no tags: pinned to
 * the commit that last changed them, "feat: Update cilium to 1.18.2 (#658)").
 */
const DATREE_CRDS =
  'https://raw.githubusercontent.com/datreeio/CRDs-catalog/ea03cc2abb64ddc0a927c1e3d48a3d0abf66a3de/cilium.io';
const GATEWAY_API_RAW = 'https://raw.githubusercontent.com/kubernetes-sigs/gateway-api';

/**
 * Standard-channel CRD files of the Gateway API releases Cilium needs first (vendored): every
 * file of the tag's `config/crd/standard/`, which the bundle's Application applies whole. v1.6.1
 * is not in the offline mirror: its files were taken from the Go module proxy's archive of
 * `sigs.k8s.io/gateway-api@v1.6.1` (the repository's tree at that tag, the bytes of the URLs).
 */
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
  'v1.6.1': [
    'backendtlspolicies',
    'gatewayclasses',
    'gateways',
    'grpcroutes',
    'httproutes',
    'listenersets',
    'referencegrants',
    'tcproutes',
    'tlsroutes',
    'udproutes',
    'vap_safeupgrades',
  ],
};

/**
 * The upstream artifacts @homelab/cilium pins (`homelab vendor sync` fetches them): the chart of
 * every supported release, the Gateway API CRDs those releases need, and the JSON Schemas of the
 * cilium.io kinds we emit (datree's conversions of the Cilium CRDs) for the conformance tests.
 */
export const CILIUM_UPSTREAM: readonly UpstreamPin[] = [
  ...CILIUM_VERSIONS.map(
    (version): UpstreamPin => ({
      kind: 'helm-chart',
      name: 'cilium',
      version,
      repository: CILIUM_REPOSITORY,
      licence: 'Apache-2.0',
    }),
  ),
  ...[...new Set(CILIUM_VERSIONS.map((version) => CILIUM_RELEASES[version].gatewayApiVersion))]
    .filter((tag) => tag in GATEWAY_API_STANDARD)
    .flatMap((tag): UpstreamPin[] => [
      ...(GATEWAY_API_STANDARD[tag] ?? []).map(
        (name): UpstreamPin => ({
          kind: 'file',
          path: `crds/gateway-api/${tag}/standard/gateway.networking.k8s.io_${name}.yaml`,
          url: `${GATEWAY_API_RAW}/${tag}/config/crd/standard/gateway.networking.k8s.io_${name}.yaml`,
          version: tag,
          licence: 'Apache-2.0',
        }),
      ),
      // Before v1.5 TLSRoute is only in the experimental channel (its own bundle).
      ...(compareVersions(tag.slice(1), '1.5.0') < 0
        ? [
            {
              kind: 'file',
              path: `crds/gateway-api/${tag}/experimental-tlsroutes.yaml`,
              url: `${GATEWAY_API_RAW}/${tag}/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml`,
              version: tag,
              licence: 'Apache-2.0',
            } satisfies UpstreamPin,
          ]
        : []),
    ]),
  ...[
    'ciliumbgpadvertisement_v2',
    'ciliumbgpclusterconfig_v2',
    'ciliumbgpnodeconfigoverride_v2',
    'ciliumbgppeerconfig_v2',
    'ciliuml2announcementpolicy_v2alpha1',
    'ciliumloadbalancerippool_v2',
  ].map(
    (name): UpstreamPin => ({
      kind: 'file',
      path: `upstream/cilium/crd-jsonschema/${name}.json`,
      url: `${DATREE_CRDS}/${name}.json`,
      version: '1.18.2',
      licence: 'MIT',
    }),
  ),
];
