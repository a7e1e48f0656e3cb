// The kinds Argo CD v3.4.4 never applies: argocd-cm `resource.exclusions` (and
// `resource.inclusions`) plus its core exclusions. The controller drops an excluded object from an
// Application's target state with only an `ExcludedResourceWarning` condition
// (controller/state.go, `IsExcludedResource`): the object is never created, the sync succeeds.
// Pure data and the matching of util/settings/filtered_resource.go.

/** One entry of `resource.exclusions` / `resource.inclusions` (util/settings `FilteredResource`). */
export interface FilteredResource {
  readonly apiGroups?: readonly string[];
  readonly kinds?: readonly string[];
  readonly clusters?: readonly string[];
}

/** Always excluded, whatever argocd-cm says (v3.4.4 util/settings/resources_filter.go). */
export const CORE_EXCLUDED_RESOURCES: readonly FilteredResource[] = [
  { apiGroups: ['events.k8s.io', 'metrics.k8s.io'] },
  { apiGroups: [''], kinds: ['Event'] },
  { apiGroups: ['coordination.k8s.io'], kinds: ['Lease'] },
];

/**
 * The argo-cd chart 10.1.1's default `configs.cm["resource.exclusions"]` (a test compares it with
 * the vendored chart's values): what applies where the values leave the key alone.
 */
export const CHART_RESOURCE_EXCLUSIONS: readonly FilteredResource[] = [
  { apiGroups: ['', 'discovery.k8s.io'], kinds: ['Endpoints', 'EndpointSlice'] },
  { apiGroups: ['coordination.k8s.io'], kinds: ['Lease'] },
  {
    apiGroups: ['authentication.k8s.io', 'authorization.k8s.io'],
    kinds: [
      'SelfSubjectReview',
      'TokenReview',
      'LocalSubjectAccessReview',
      'SelfSubjectAccessReview',
      'SelfSubjectRulesReview',
      'SubjectAccessReview',
    ],
  },
  { apiGroups: ['certificates.k8s.io'], kinds: ['CertificateSigningRequest'] },
  { apiGroups: ['cert-manager.io'], kinds: ['CertificateRequest'] },
  { apiGroups: ['cilium.io'], kinds: ['CiliumIdentity', 'CiliumEndpoint', 'CiliumEndpointSlice'] },
  {
    apiGroups: ['kyverno.io', 'reports.kyverno.io', 'wgpolicyk8s.io'],
    kinds: [
      'PolicyReport',
      'ClusterPolicyReport',
      'EphemeralReport',
      'ClusterEphemeralReport',
      'AdmissionReport',
      'ClusterAdmissionReport',
      'BackgroundScanReport',
      'ClusterBackgroundScanReport',
      'UpdateRequest',
    ],
  },
];

/**
 * The platform's `resource.exclusions`: the chart's, but for core `Endpoints`. The monitoring
 * component gives kube-prometheus-stack the control planes' addresses (`kubeEtcd`,
 * `kubeControllerManager`, `kubeScheduler` `endpoints`): its Services then have no selector and
 * their addresses come from `Endpoints` objects of the chart (Talos runs etcd outside
 * Kubernetes). Excluded, Argo CD would never create them, and etcd, the controller manager and
 * the scheduler would go unscraped. EndpointSlices stay excluded (Kubernetes mirrors the
 * Endpoints into them itself).
 */
export const RESOURCE_EXCLUSIONS: readonly FilteredResource[] = [
  { apiGroups: ['discovery.k8s.io'], kinds: ['EndpointSlice'] },
  ...CHART_RESOURCE_EXCLUSIONS.slice(1),
];

/** The compiled patterns, by pattern: a check asks of every kind of every Application. */
const GLOBS = new Map<string, RegExp>();

/** Argo CD's `glob.Match` for the patterns argocd-cm uses (`*` any run, `?` one character). */
export function globMatch(pattern: string, value: string): boolean {
  // Most patterns are plain group names: equal or not, no expression to compile.
  if (!/[*?]/.test(pattern)) return pattern === value;
  let regex = GLOBS.get(pattern);
  if (regex === undefined) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${source}$`);
    GLOBS.set(pattern, regex);
  }
  return regex.test(value);
}

/** `FilteredResource.Match` of v3.4.4 for the in-cluster server. */
export function filterMatches(
  filter: FilteredResource,
  group: string,
  kind: string,
  cluster = 'https://kubernetes.default.svc',
): boolean {
  const groups = filter.apiGroups ?? [];
  const kinds = filter.kinds ?? [];
  const clusters = filter.clusters ?? [];
  return (
    (groups.length === 0 || groups.some((pattern) => globMatch(pattern, group))) &&
    (kinds.length === 0 || kinds.some((pattern) => pattern === '*' || pattern === kind)) &&
    (clusters.length === 0 || clusters.some((pattern) => globMatch(pattern, cluster)))
  );
}

/**
 * Whether Argo CD v3.4.4 excludes a kind (`ResourcesFilter.IsExcludedResource`): excluded by the
 * core list or `exclusions`; else allowed when `inclusions` includes it or has no rule for the
 * cluster.
 */
export function isExcludedKind(
  group: string,
  kind: string,
  exclusions: readonly FilteredResource[],
  inclusions: readonly FilteredResource[] = [],
): boolean {
  if ([...CORE_EXCLUDED_RESOURCES, ...exclusions].some((f) => filterMatches(f, group, kind))) {
    return true;
  }
  if (inclusions.some((f) => filterMatches(f, group, kind))) return false;
  return inclusions.some((f) => filterMatches({ clusters: f.clusters ?? [] }, '', ''));
}
