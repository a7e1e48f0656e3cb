// Test components shaped like the platform's (a CNI with its CRD bundle, a secrets provider,
// storage, an OIDC provider, the GitOps controller), built with core's `testComponent`: the
// assembler is tested through the contract, never against a real component.
import type { AnyComponent, CrdBundle, PlatformDefinition, Values } from '@homelab/core';
import { testComponent, testDefinition, testReferenceClusters } from '@homelab/core/testing';

export const REPO = 'https://git.example.com/homelab/platform.git';
export const GATEWAY_API_REPOSITORY = 'https://github.com/kubernetes-sigs/gateway-api';

/** A CRD bundle the CNI needs before it starts. */
export const GATEWAY_API_CRDS: CrdBundle = {
  name: 'gateway-api-crds',
  description: 'Gateway API v1.3.0 CRDs (standard channel)',
  version: 'v1.3.0',
  source: {
    repoURL: GATEWAY_API_REPOSITORY,
    path: 'config/crd/standard',
    targetRevision: 'v1.3.0',
    directory: { recurse: false },
  },
  kinds: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway' }],
  clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
  install: ['kubectl apply --server-side -f standard-install.yaml'],
};

export const CILIUM_IGNORE_DIFFERENCES: readonly Values[] = [
  {
    group: '',
    kind: 'Secret',
    name: 'hubble-server-certs',
    namespace: 'kube-system',
    jsonPointers: ['/data'],
  },
];

export const cilium = testComponent({
  name: 'cilium',
  provides: ['cni', 'gateway-class', 'gateway'],
  contribution: () => ({
    crds: [GATEWAY_API_CRDS],
    application: {
      namespace: 'kube-system',
      additionalNamespaces: ['cilium-secrets'],
      podSecurity: 'privileged',
      serverSideApply: true,
      clusterResources: [
        { group: 'cilium.io', kind: 'CiliumLoadBalancerIPPool' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      ],
      ignoreDifferences: CILIUM_IGNORE_DIFFERENCES,
    },
  }),
});

export const bitwarden = testComponent({
  name: 'bitwarden-sm',
  provides: ['secrets'],
  needs: ['cni'],
  contribution: () => ({
    application: {
      namespace: 'sm-operator-system',
      podSecurity: 'restricted',
      clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }],
    },
  }),
});

export const longhorn = testComponent({
  name: 'longhorn',
  provides: ['storage'],
  needs: ['cni'],
  uses: ['secrets'],
  contribution: () => ({
    application: {
      namespace: 'longhorn-system',
      podSecurity: 'privileged',
      serverSideApply: true,
      applyOutOfSyncOnly: true,
      clusterResources: [
        { group: 'storage.k8s.io', kind: 'StorageClass' },
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
      ],
      ignoreDifferences: [
        {
          group: 'admissionregistration.k8s.io',
          kind: 'MutatingWebhookConfiguration',
          jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
        },
      ],
    },
  }),
});

export const authelia = testComponent({
  name: 'authelia',
  provides: ['oidc-provider'],
  needs: ['cni', 'storage'],
  uses: ['secrets'],
  contribution: () => ({
    application: { namespace: 'authelia', podSecurity: 'restricted', clusterResources: [] },
  }),
});

export const argocd = testComponent({
  name: 'argocd',
  provides: ['gitops'],
  needs: ['cni'],
  uses: ['gateway', 'secrets', 'oidc-provider'],
  contribution: () => ({
    application: {
      namespace: 'argocd',
      podSecurity: 'restricted',
      serverSideApply: true,
      clusterResources: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
      ],
    },
    facts: { gitops: { namespace: 'argocd', version: 'v3.4.4' } },
  }),
});

/** Every test component, as a registry. */
export const FLEET: readonly AnyComponent[] = [cilium, bitwarden, longhorn, authelia, argocd];

/**
 * The reference clusters (dev, staging, prod) with production on a release tag; `mutate` edits
 * the clusters (e.g. a cluster's `components` overrides) before the definition is built.
 */
export function fleetDefinition(
  overrides: Partial<Pick<PlatformDefinition, 'environments'>> & {
    readonly clusters?: (clusters: ReturnType<typeof testReferenceClusters>) => void;
  } = {},
): PlatformDefinition {
  const clusters = testReferenceClusters();
  overrides.clusters?.(clusters);
  return testDefinition(clusters, {
    repository: { url: REPO, targetRevision: { production: 'v1.0.0' } },
    ...(overrides.environments === undefined ? {} : { environments: overrides.environments }),
  });
}
