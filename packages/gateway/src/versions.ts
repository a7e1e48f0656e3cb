// The upstream files @homelab/gateway is tested against: the standard-channel CRDs of the kinds it
// emits, for each Gateway API release a supported gateway class needs (Cilium 1.18: v1.3.0; Cilium
// 1.19: v1.4.1). It installs none of them: the gateway class's provider brings the CRD bundle.
import type { UpstreamPin } from '@homelab/core';

/** Gateway API releases whose CRDs the conformance tests check our objects against. */
export const GATEWAY_API_RELEASES = ['v1.3.0', 'v1.4.1'] as const;

/** The kinds we emit, by their CRD file name. */
export const GATEWAY_API_FILES = ['gateways', 'grpcroutes', 'httproutes'] as const;

const RAW = 'https://raw.githubusercontent.com/kubernetes-sigs/gateway-api';

/** vendor-relative path of a standard-channel CRD file. */
export function gatewayApiCrdPath(release: string, file: string): string {
  return `crds/gateway-api/${release}/standard/gateway.networking.k8s.io_${file}.yaml`;
}

export const GATEWAY_UPSTREAM: readonly UpstreamPin[] = GATEWAY_API_RELEASES.flatMap((release) =>
  GATEWAY_API_FILES.map(
    (file): UpstreamPin => ({
      kind: 'file',
      path: gatewayApiCrdPath(release, file),
      url: `${RAW}/${release}/config/crd/standard/gateway.networking.k8s.io_${file}.yaml`,
      version: release,
      licence: 'Apache-2.0',
    }),
  ),
);
