/**
 * Port of Talos KubePrism, the node-local load balancer in front of the API servers. Cilium
 * replaces kube-proxy, so it cannot reach the API through a ClusterIP: it talks to
 * `localhost:KUBE_PRISM_PORT` on every node. The same constant is the Talos requirement this
 * component returns, so the two never disagree.
 */
export const KUBE_PRISM_PORT = 7445;

/** GatewayClass the Cilium chart creates. */
export const CILIUM_GATEWAY_CLASS = 'cilium';

/** Namespace of the Application (Cilium lives in kube-system). */
export const CILIUM_NAMESPACE = 'kube-system';

/**
 * Namespace the chart creates for the TLS Secrets Envoy serves Gateway listeners from
 * (`gatewayAPI.secretsNamespace`, created by the chart: the AppProject must allow it).
 */
export const CILIUM_SECRETS_NAMESPACE = 'cilium-secrets';

/** Pod labels of the cilium-operator Deployment (its anti-affinity selects these). */
export const OPERATOR_SELECTOR = { 'io.cilium/app': 'operator' } as const;

/** Label that ties CiliumBGPPeerConfig families to the CiliumBGPAdvertisements they announce. */
export const BGP_ADVERTISE_LABEL = { 'homelab.dev/bgp-advertise': 'loadbalancer-ips' } as const;

/** Namespace the chart creates for the SPIRE server and agents (mutual authentication). */
export const SPIRE_NAMESPACE = 'cilium-spire';

/** Pod labels of the Cilium chart's workloads that are endpoints (not on the host network). */
export const HUBBLE_RELAY_SELECTOR = { 'k8s-app': 'hubble-relay' } as const;
export const HUBBLE_UI_SELECTOR = { 'k8s-app': 'hubble-ui' } as const;
export const HUBBLE_CERTGEN_SELECTOR = { 'k8s-app': 'hubble-generate-certs' } as const;
export const SPIRE_SERVER_SELECTOR = { app: 'spire-server' } as const;
