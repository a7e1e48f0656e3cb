// Argo CD's own code as the tests run it: tools/argocd-machinery (built by
// .ci/install-argocd-machinery) reads a namespace's ConfigMaps and Secrets with Argo CD v3.4.4's
// settings manager, computes objects' health as the application controller does and enforces
// RBAC as the API server does (tools/argocd-machinery/README.md names the Argo CD code of each).
import { ARGOCD_APP_VERSION } from '@homelab/argocd';
import type { KubeObject } from '@homelab/core';
import { type FoundTool, findTool, runJsonCheck } from './find-tool.js';
import type { Discovery } from './helm/harness.js';

export const ARGOCD_MACHINERY_INSTALL =
  'build it: .ci/install-argocd-machinery (ARGOCD_GIT_DIR: a git clone of argoproj/argo-cd with the tag), and put its folder in ARGOCD_MACHINERY_DIR or on PATH';

/** argocd-machinery from ARGOCD_MACHINERY_DIR, else PATH, else the tools cache. */
export function findArgocdMachinery(): FoundTool | undefined {
  return findTool(
    'argocd-machinery',
    'ARGOCD_MACHINERY_DIR',
    `argocd-machinery-${ARGOCD_APP_VERSION}`,
    /^argocd-machinery (\S+)$/m,
  );
}

/** The clusters of the committed output whose root app deploys the argocd component, sorted. */
export function clustersDeployingArgocd(discovery: Discovery): string[] {
  return discovery.clusters
    .filter(({ applications }) =>
      applications.some(
        (application) => application.metadata.labels?.['app.kubernetes.io/component'] === 'argocd',
      ),
    )
    .map(({ cluster }) => cluster)
    .sort();
}

/**
 * The group and kind an argocd-cm key `<prefix><group>_<kind>` (the kind alone in the core group)
 * names, and Argo CD's resource-override key of them (`<group>/<kind>`, the kind alone in core).
 */
export function overrideOf(
  key: string,
  prefix: string,
): { group: string; kind: string; overrideKey: string } {
  const groupKind = key.slice(prefix.length);
  const cut = groupKind.lastIndexOf('_');
  const [group, kind] =
    cut < 0 ? ['', groupKind] : [groupKind.slice(0, cut), groupKind.slice(cut + 1)];
  return { group, kind, overrideKey: group === '' ? kind : `${group}/${kind}` };
}

/** One RBAC question: may the bearer of `claims` do `action` on `resource` `object`? */
export interface RbacRequest {
  readonly claims: { readonly [claim: string]: unknown };
  readonly resource: string;
  readonly action: string;
  readonly object: string;
}

export interface ArgocdRequest {
  readonly namespace: string;
  /** The namespace's ConfigMaps and Secrets, as the cluster holds them. */
  readonly objects: readonly unknown[];
  readonly health?: readonly unknown[];
  readonly rbac?: readonly RbacRequest[];
  readonly sync?: readonly SyncQuestion[];
}

/** One object an Application's source renders, as the sync's permission check sees it. */
export interface SyncResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** How the cluster serves the kind (`null`: it does not serve it). */
  readonly namespaced: boolean | null;
}

/** May Argo CD sync `application` (of `project`), and each object its source renders? */
export interface SyncQuestion {
  readonly project: unknown;
  readonly application: unknown;
  readonly resources: readonly SyncResource[];
}

export interface SyncAnswer {
  /** `AppProject.ValidateProject()`. */
  readonly projectError: string;
  /** The conditions of `util/argo.ValidatePermissions` (source and destination permitted). */
  readonly applicationConditions: readonly string[];
  readonly applicationError: string;
  /** Per resource: the namespace Argo CD gives it and the sync's permission error. */
  readonly resources: readonly { readonly namespace: string; readonly error: string }[];
}

export interface ArgocdHealth {
  readonly status: string;
  readonly message: string;
  readonly error: string;
}

export interface ArgocdOidc {
  readonly name: string;
  readonly issuer: string;
  readonly clientID: string;
  readonly clientSecret: string;
  readonly cliClientID: string;
  readonly requestedScopes: readonly string[] | null;
  readonly rootCA: string;
  readonly refreshTokenThreshold: string;
}

export interface ResourceOverride {
  readonly healthLua: string;
  readonly useOpenLibs: boolean;
  readonly ignoreDifferences: unknown;
  readonly ignoreResourceUpdates: unknown;
  readonly actions: string;
}

export interface ArgocdResponse {
  readonly argocdVersion: string;
  readonly settingsError: string;
  readonly oidc: ArgocdOidc | null;
  readonly resourceOverrides: { readonly [key: string]: ResourceOverride } | null;
  readonly resourceOverridesError: string;
  readonly resourceExclusions: readonly unknown[] | null;
  readonly resourceInclusions: readonly unknown[] | null;
  readonly resourcesFilterError: string;
  readonly health: readonly ArgocdHealth[] | null;
  readonly rbacPolicyError: string;
  readonly rbac: readonly { readonly allowed: boolean }[] | null;
  readonly sync: readonly SyncAnswer[] | null;
}

/** `argocd-machinery check` of one request; throws when the tool fails or prints no JSON. */
export function argocdCheck(tool: FoundTool, request: ArgocdRequest): ArgocdResponse {
  return runJsonCheck<ArgocdResponse>(tool, request);
}

/**
 * The health Argo CD's application controller gives each of `objects` with the argocd-cm
 * ConfigMap `argocdCm` (its `resource.customizations` parsed by Argo CD's settings manager, the
 * Lua run by Argo CD's VM, gopher-lua with Argo CD's library set).
 */
export function argocdHealth(
  tool: FoundTool,
  argocdCm: KubeObject,
  objects: readonly unknown[],
): ArgocdHealth[] {
  const response = argocdCheck(tool, {
    namespace: argocdCm.metadata.namespace ?? 'argocd',
    objects: [argocdCm],
    health: objects,
  });
  if (response.resourceOverridesError !== '') {
    throw new Error(`Argo CD cannot read argocd-cm: ${response.resourceOverridesError}`);
  }
  return [...(response.health ?? [])];
}

/**
 * Kubernetes 1.34's cluster-scoped kinds by `<group>/<kind>` (`kubectl api-resources
 * --namespaced=false` of a bare cluster); every other kind of the built-in groups is namespaced.
 */
const CLUSTER_SCOPED_BUILTIN = new Set([
  '/ComponentStatus',
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'authentication.k8s.io/SelfSubjectReview',
  'authentication.k8s.io/TokenReview',
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
  'authorization.k8s.io/SubjectAccessReview',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/DeviceTaintRule',
  'resource.k8s.io/ResourceSlice',
  'scheduling.k8s.io/PriorityClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'storagemigration.k8s.io/StorageVersionMigration',
]);

const BUILTIN_GROUPS = new Set(
  [
    ...[...CLUSTER_SCOPED_BUILTIN].map((key) => key.slice(0, key.indexOf('/'))),
    'apps',
    'autoscaling',
    'batch',
    'coordination.k8s.io',
    'discovery.k8s.io',
    'events.k8s.io',
    'policy',
  ].sort(),
);

/**
 * The scope of the cilium.io kinds, whose CRDs no chart renders: the Cilium operator registers
 * them at start-up, with the scope Cilium's CRD definitions give them
 * (cilium/cilium pkg/k8s/apis/cilium.io/client/crds).
 */
const CILIUM_NAMESPACED: { readonly [kind: string]: boolean } = {
  CiliumBGPAdvertisement: false,
  CiliumBGPClusterConfig: false,
  CiliumBGPNodeConfigOverride: false,
  CiliumBGPPeerConfig: false,
  CiliumCIDRGroup: false,
  CiliumClusterwideEnvoyConfig: false,
  CiliumClusterwideNetworkPolicy: false,
  CiliumEgressGatewayPolicy: false,
  CiliumEnvoyConfig: true,
  CiliumL2AnnouncementPolicy: false,
  CiliumLoadBalancerIPPool: false,
  CiliumLocalRedirectPolicy: true,
  CiliumNetworkPolicy: true,
  CiliumNodeConfig: true,
  CiliumPodIPPool: false,
};

/** Whether `group` is one of Kubernetes 1.34's built-in API groups (`''`: the core group). */
export function isBuiltinGroup(group: string): boolean {
  return BUILTIN_GROUPS.has(group);
}

/** The API group of an object (`''` for the core group). */
export function groupOf(object: { readonly apiVersion: string }): string {
  const slash = object.apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : object.apiVersion.slice(0, slash);
}

/**
 * How a cluster serves each kind once every CRD is installed: `true` namespaced, `false`
 * cluster-scoped, `undefined` not served. The built-in kinds of Kubernetes 1.34, the CRDs among
 * `crds` (rendered and vendored; their `spec.scope`), the cilium.io kinds the Cilium operator
 * registers, Gatekeeper's constraints (`constraints.gatekeeper.sh`, whose CRDs Gatekeeper makes
 * cluster-scoped from each ConstraintTemplate) and Talos' `talos.dev` ServiceAccount.
 */
export function kindScopes(
  crds: readonly unknown[],
): (object: { readonly apiVersion: string; readonly kind: string }) => boolean | undefined {
  const fromCrds = new Map<string, boolean>();
  for (const crd of crds) {
    const object = crd as {
      kind?: unknown;
      spec?: { group?: unknown; scope?: unknown; names?: { kind?: unknown } };
    };
    if (object?.kind !== 'CustomResourceDefinition') continue;
    const { group, scope, names } = object.spec ?? {};
    if (typeof group !== 'string' || typeof names?.kind !== 'string') continue;
    fromCrds.set(`${group}/${names.kind}`, scope === 'Namespaced');
  }
  return (object) => {
    const group = groupOf(object);
    const key = `${group}/${object.kind}`;
    if (fromCrds.has(key)) return fromCrds.get(key);
    if (BUILTIN_GROUPS.has(group)) return !CLUSTER_SCOPED_BUILTIN.has(key);
    if (group === 'cilium.io') return CILIUM_NAMESPACED[object.kind];
    if (group === 'constraints.gatekeeper.sh') return false;
    // Talos registers serviceaccounts.talos.dev (namespaced) where the machine config turns on
    // machine.features.kubernetesTalosAPIAccess (siderolabs/talos internal/app/machined/pkg/controllers/k8s/internal/k8stemplates/crds.go).
    if (key === 'talos.dev/ServiceAccount') return true;
    return undefined;
  };
}
