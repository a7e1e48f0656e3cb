import type { FlowPort } from '@homelab/core';

/**
 * Port of Talos KubePrism, the node-local load balancer in front of the API servers. Cilium
 * replaces kube-proxy, so it cannot reach the API through a ClusterIP: it talks to
 * `localhost:KUBE_PRISM_PORT` on every node. The same constant is the Talos requirement this
 * component returns, so the two never disagree.
 */
export const KUBE_PRISM_PORT = 7445;

/**
 * What Cilium's agents open to the other nodes at the pinned charts (1.18-1.20, defaults the
 * platform keeps; cilium-config as Helm renders it): VXLAN (`tunnel-protocol` vxlan, no
 * `tunnel-port`, so 8472; `routing-mode` tunnel), the node health endpoint (`cluster-health-port`
 * unset, so 4240; its ICMP echo beside it, which Talos accepts), the Hubble server
 * (`hubble-listen-address` :4244, dialled by hubble-relay from its node, masqueraded to that
 * node's address) and mutual authentication (`mesh-auth-mutual-listener-port` 4250: the agent
 * dials the remote node's address, pkg/auth/mutual_authhandler.go; open on every cluster so
 * that turning mutual authentication on needs no new firewall rule). The Talos need
 * `nodePorts` carries them to the nodes' ingress firewall.
 */
export const CILIUM_NODE_PORTS = [
  { port: 8472, protocol: 'UDP' },
  { port: 4240, protocol: 'TCP' },
  { port: 4244, protocol: 'TCP' },
  { port: 4250, protocol: 'TCP' },
] as const satisfies readonly FlowPort[];

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
