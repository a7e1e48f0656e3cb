// The CoreDNS release this package pins (no chart: the image). Renovate bumps it.

// renovate: datasource=docker depName=registry.k8s.io/coredns/coredns
export const COREDNS_VERSION = 'v1.12.1';

/** The image, from the Kubernetes registry (the same CoreDNS release kubeadm 1.34 deploys). */
export const COREDNS_IMAGE = `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`;
