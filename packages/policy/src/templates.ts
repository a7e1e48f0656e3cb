// The platform's admission policies: Gatekeeper ConstraintTemplates written by us in CEL
// (engine K8sNativeValidation, the same expressions Kubernetes' ValidatingAdmissionPolicy runs),
// so that the build and the tests evaluate them with a CEL library exactly as Gatekeeper would.
// Variables Gatekeeper binds: `variables.anyObject` (the object under review) and
// `variables.params` (the constraint's `spec.parameters`). Pure data.
import type { JsonValue, KubeObject, Values } from '@homelab/core';
import { MONITOR_CREDENTIALS, MONITOR_FILES } from './generated/monitor-credentials.js';
import { credentialReferenceExpression, fileReferenceExpression } from './monitor-credentials.js';

/** The policies, by the name the definition's exemptions use. */
export const POLICY_NAMES = [
  'pod-security',
  'allowed-images',
  'resource-requests',
  'host-paths',
  'required-labels',
  'no-nodeport',
  'cluster-admin',
  'provider-token',
  'monitor-files',
] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

/** A `spec.match.kinds` entry. */
export interface MatchKinds {
  readonly apiGroups: readonly string[];
  readonly kinds: readonly string[];
}

export interface PolicyDefinition {
  readonly name: PolicyName;
  /** The constraint kind (the template's name is its lower case). */
  readonly kind: string;
  readonly description: string;
  readonly match: readonly MatchKinds[];
  /** OpenAPI v3 schema of `spec.parameters`. */
  readonly parameters: Values;
  readonly variables: readonly { readonly name: string; readonly expression: string }[];
  readonly validations: readonly {
    readonly expression: string;
    readonly messageExpression: string;
  }[];
  /**
   * True when an UPDATE leaves what the policy checks as it was (CEL on `oldObject` and the
   * object under review, after the variables): such an update is admitted (`withUpdateGuard`).
   */
  readonly unchanged: string;
}

/**
 * The Prometheus Operator's API groups (`provider-token` reads their kinds' credentials): those of
 * the generated kinds, sorted.
 */
const MONITOR_GROUPS = [
  ...new Set([...MONITOR_CREDENTIALS, ...MONITOR_FILES].map((kind) => kind.group)),
].sort();
/**
 * True when the object under review is of one of `MONITOR_GROUPS` (one `startsWith` for each,
 * `||`-ed and parenthesised when there are more than one).
 */
const MONITOR_OBJECT = ((): string => {
  const tests = MONITOR_GROUPS.map(
    (group) => `variables.anyObject.apiVersion.startsWith('${group}/')`,
  );
  const anyGroup = tests.length === 1 ? tests[0] : `(${tests.join(' || ') || 'false'})`;
  return `has(variables.anyObject.apiVersion) && ${anyGroup}`;
})();
const MONITOR_MESSAGE =
  "variables.anyObject.kind + ' names the secrets provider token (' + variables.params.secrets.join(', ') + ') as a credential: the Prometheus Operator would read it and Prometheus or Alertmanager send it out'";

/** Kinds that carry a pod template (and Pods themselves). */
export const WORKLOAD_KINDS: readonly MatchKinds[] = [
  { apiGroups: [''], kinds: ['Pod'] },
  { apiGroups: ['apps'], kinds: ['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'] },
  { apiGroups: ['batch'], kinds: ['CronJob', 'Job'] },
];

/** The pod spec of any workload kind. */
const POD_SPEC = {
  name: 'podSpec',
  expression:
    "variables.anyObject.kind == 'Pod' ? variables.anyObject.spec : (variables.anyObject.kind == 'CronJob' ? variables.anyObject.spec.jobTemplate.spec.template.spec : variables.anyObject.spec.template.spec)",
};
/** The pod spec of the object before an UPDATE (`oldObject`), read as `POD_SPEC` reads the object. */
const OLD_POD_SPEC =
  "(oldObject.kind == 'Pod' ? oldObject.spec : (oldObject.kind == 'CronJob' ? oldObject.spec.jobTemplate.spec.template.spec : oldObject.spec.template.spec))";
/** An UPDATE that leaves the pod spec as it was (a scale, a label, a finalizer removed). */
const POD_SPEC_UNCHANGED = `${OLD_POD_SPEC} == variables.podSpec`;

/**
 * Containers and init containers: what takes resources (an ephemeral container cannot have any,
 * the API server refuses them), for `resource-requests`.
 */
const CONTAINERS = {
  name: 'containers',
  expression:
    '(has(variables.podSpec.containers) ? variables.podSpec.containers : []) + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])',
};
/**
 * Containers, init containers and ephemeral containers, for what a container runs and with which
 * privileges. `kubectl debug` adds an ephemeral container to a running Pod through its
 * `pods/ephemeralcontainers` subresource: an UPDATE of kind Pod that Gatekeeper's webhook
 * reviews (chart 3.23.0 lists that subresource in its rules) and so do the
 * ValidatingAdmissionPolicies Gatekeeper generates (they copy the webhook's rules). Without them
 * here a debug container would run any image from any registry, `:latest` included.
 */
const ALL_CONTAINERS = {
  name: 'containers',
  expression: `${CONTAINERS.expression} + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])`,
};

/** `'<what>: ' + names of the containers matching <predicate>` */
function namesOf(what: string, predicate: string): string {
  return `'${what}: ' + variables.containers.filter(c, ${predicate}).map(c, c.name).join(', ')`;
}

/**
 * A container's image as the container runtime resolves it: a first path segment with a dot or a
 * colon (or `localhost`) is a registry; otherwise the image is on Docker Hub, `docker.io/`, and a
 * name without a path is under `library/` (`longhornio/longhorn-ui:v1` is
 * `docker.io/longhornio/longhorn-ui:v1`, `busybox:1` is `docker.io/library/busybox:1`). The
 * allowed registries are matched against this, so `docker.io/` allows Docker Hub however an image
 * spells it, and an implied registry never slips past a prefix that names another one.
 */
const IMAGE_REFERENCE =
  "(c.image.matches('^(localhost|[^/]*[.:][^/]*)/') ? c.image : 'docker.io/' + (c.image.contains('/') ? '' : 'library/') + c.image)";

const SECURE_SECCOMP = "['RuntimeDefault', 'Localhost']";

const CHECKS: readonly PolicyDefinition[] = [
  {
    name: 'pod-security',
    kind: 'HomelabPodSecurity',
    description:
      'Pod Security "restricted" outside the namespaces a component declares privileged (or baseline: Pod Security admission enforces that level there): no host namespaces or ports, no privileged containers or escalation, non-root, every capability dropped (NET_BIND_SERVICE may be added back), a RuntimeDefault or Localhost seccomp profile.',
    match: WORKLOAD_KINDS,
    parameters: { type: 'object', properties: {} },
    variables: [POD_SPEC, ALL_CONTAINERS],
    validations: [
      {
        expression:
          '!(has(variables.podSpec.hostNetwork) && variables.podSpec.hostNetwork) && !(has(variables.podSpec.hostPID) && variables.podSpec.hostPID) && !(has(variables.podSpec.hostIPC) && variables.podSpec.hostIPC)',
        messageExpression: "'shares a host namespace (hostNetwork, hostPID or hostIPC)'",
      },
      {
        expression:
          'variables.containers.all(c, !(has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged))',
        messageExpression: namesOf(
          'privileged containers',
          'has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged',
        ),
      },
      {
        expression:
          'variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))',
        messageExpression: namesOf(
          'containers with host ports',
          'has(c.ports) && c.ports.exists(p, has(p.hostPort) && p.hostPort != 0)',
        ),
      },
      {
        expression:
          'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)',
        messageExpression: namesOf(
          'containers that may escalate privileges (allowPrivilegeEscalation not false)',
          '!(has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)',
        ),
      },
      {
        expression:
          'variables.containers.all(c, (has(c.securityContext) && has(c.securityContext.runAsNonRoot)) ? c.securityContext.runAsNonRoot : (has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsNonRoot) && variables.podSpec.securityContext.runAsNonRoot))',
        messageExpression: namesOf(
          'containers not forced to run as non-root (runAsNonRoot)',
          '!((has(c.securityContext) && has(c.securityContext.runAsNonRoot)) ? c.securityContext.runAsNonRoot : (has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsNonRoot) && variables.podSpec.securityContext.runAsNonRoot))',
        ),
      },
      {
        expression:
          "variables.containers.all(c, has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop && (!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(a, a == 'NET_BIND_SERVICE')))",
        messageExpression: namesOf(
          'containers that keep capabilities (drop ALL, add at most NET_BIND_SERVICE)',
          "!(has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop && (!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(a, a == 'NET_BIND_SERVICE')))",
        ),
      },
      {
        expression: `variables.containers.all(c, (has(c.securityContext) && has(c.securityContext.seccompProfile)) ? c.securityContext.seccompProfile.type in ${SECURE_SECCOMP} : (has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.seccompProfile) && variables.podSpec.securityContext.seccompProfile.type in ${SECURE_SECCOMP}))`,
        messageExpression: namesOf(
          'containers without a RuntimeDefault or Localhost seccomp profile',
          `!((has(c.securityContext) && has(c.securityContext.seccompProfile)) ? c.securityContext.seccompProfile.type in ${SECURE_SECCOMP} : (has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.seccompProfile) && variables.podSpec.securityContext.seccompProfile.type in ${SECURE_SECCOMP}))`,
        ),
      },
    ],
    unchanged: POD_SPEC_UNCHANGED,
  },
  {
    name: 'allowed-images',
    kind: 'HomelabAllowedImages',
    description:
      'Images only from the allowed registries, each pinned to a tag other than latest or to a digest.',
    match: WORKLOAD_KINDS,
    parameters: {
      type: 'object',
      properties: { registries: { type: 'array', items: { type: 'string' } } },
    },
    variables: [POD_SPEC, ALL_CONTAINERS],
    validations: [
      {
        expression: `variables.containers.all(c, variables.params.registries.exists(r, ${IMAGE_REFERENCE}.startsWith(r)))`,
        messageExpression: `'images from a registry that is not allowed: ' + variables.containers.filter(c, !variables.params.registries.exists(r, ${IMAGE_REFERENCE}.startsWith(r))).map(c, c.image).join(', ')`,
      },
      {
        expression:
          "variables.containers.all(c, c.image.matches('^(.*/)?[^/:@]+(:[^/:@]+)?@sha256:[0-9a-f]{64}$') || (c.image.matches('^(.*/)?[^/:@]+:[^/:@]+$') && !c.image.matches(':latest$')))",
        messageExpression:
          "'images without a tag or digest, or tagged latest: ' + variables.containers.filter(c, !(c.image.matches('^(.*/)?[^/:@]+(:[^/:@]+)?@sha256:[0-9a-f]{64}$') || (c.image.matches('^(.*/)?[^/:@]+:[^/:@]+$') && !c.image.matches(':latest$')))).map(c, c.image).join(', ')",
      },
    ],
    unchanged: POD_SPEC_UNCHANGED,
  },
  {
    name: 'resource-requests',
    kind: 'HomelabResourceRequests',
    description: 'Every container and init container requests CPU and memory.',
    match: WORKLOAD_KINDS,
    parameters: { type: 'object', properties: {} },
    variables: [POD_SPEC, CONTAINERS],
    validations: [
      {
        expression:
          "variables.containers.all(c, has(c.resources) && has(c.resources.requests) && 'cpu' in c.resources.requests && 'memory' in c.resources.requests)",
        messageExpression: namesOf(
          'containers without CPU and memory requests',
          "!(has(c.resources) && has(c.resources.requests) && 'cpu' in c.resources.requests && 'memory' in c.resources.requests)",
        ),
      },
    ],
    unchanged: POD_SPEC_UNCHANGED,
  },
  {
    name: 'host-paths',
    kind: 'HomelabHostPaths',
    description:
      'No hostPath volume, except the host paths a component declares for its own namespace.',
    match: WORKLOAD_KINDS,
    parameters: {
      type: 'object',
      properties: {
        allowed: {
          type: 'array',
          items: {
            type: 'object',
            properties: { namespace: { type: 'string' }, path: { type: 'string' } },
          },
        },
      },
    },
    variables: [
      POD_SPEC,
      {
        name: 'allowedPaths',
        expression:
          'variables.params.allowed.filter(a, has(variables.anyObject.metadata.namespace) && a.namespace == variables.anyObject.metadata.namespace).map(a, a.path)',
      },
      {
        name: 'forbidden',
        expression:
          "(has(variables.podSpec.volumes) ? variables.podSpec.volumes : []).filter(v, has(v.hostPath) && !variables.allowedPaths.exists(p, v.hostPath.path == p || v.hostPath.path.startsWith(p + '/')))",
      },
    ],
    validations: [
      {
        expression: 'size(variables.forbidden) == 0',
        messageExpression:
          "'hostPath volumes not declared for this namespace: ' + variables.forbidden.map(v, v.name + ' (' + v.hostPath.path + ')').join(', ')",
      },
    ],
    unchanged: POD_SPEC_UNCHANGED,
  },
  {
    name: 'required-labels',
    kind: 'HomelabRequiredLabels',
    description:
      "Workloads applied from Git say what they are part of (app.kubernetes.io/part-of); those a controller makes (a controller ownerReference: a CronJob's Jobs, VolSync's movers, an operator's StatefulSets) belong to their owner.",
    match: [
      { apiGroups: ['apps'], kinds: ['DaemonSet', 'Deployment', 'StatefulSet'] },
      { apiGroups: ['batch'], kinds: ['CronJob', 'Job'] },
    ],
    parameters: {
      type: 'object',
      properties: { labels: { type: 'array', items: { type: 'string' } } },
    },
    variables: [],
    validations: [
      {
        // A controller sets only its own labels on what it makes (VolSync v0.16.0 gives its
        // mover Jobs `app.kubernetes.io/created-by: volsync` alone, the CronJob controller copies
        // the job template's): requiring ours there would refuse every backup in production.
        expression:
          '(has(variables.anyObject.metadata.ownerReferences) && variables.anyObject.metadata.ownerReferences.exists(r, has(r.controller) && r.controller)) || variables.params.labels.all(l, has(variables.anyObject.metadata.labels) && l in variables.anyObject.metadata.labels)',
        messageExpression:
          "'missing labels: ' + variables.params.labels.filter(l, !(has(variables.anyObject.metadata.labels) && l in variables.anyObject.metadata.labels)).join(', ')",
      },
    ],
    unchanged:
      '(has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}) == (has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {})',
  },
  {
    name: 'no-nodeport',
    kind: 'HomelabNoNodePort',
    description:
      "No Service of type NodePort, no LoadBalancer Service that opens node ports (`spec.allocateLoadBalancerNodePorts: false` and no `nodePort` asked for, unless its controller is a Gateway, as the Cilium operator makes the Gateway's), no `externalIPs`: the Gateway and LoadBalancer addresses are the only ways in.",
    match: [{ apiGroups: [''], kinds: ['Service'] }],
    parameters: { type: 'object', properties: {} },
    variables: [],
    validations: [
      {
        expression:
          "!has(variables.anyObject.spec.type) || variables.anyObject.spec.type != 'NodePort'",
        messageExpression: "'is a NodePort Service'",
      },
      {
        // Kubernetes gives a LoadBalancer Service a node port unless it says otherwise
        // (`allocateLoadBalancerNodePorts` defaults to true), and one it asks for by value
        // whatever that field says (a `nodePort` is "respected, regardless of this field"), and
        // Cilium's kube-proxy replacement serves node ports on every node: the same way in as a
        // NodePort Service. The Gateway's Service, which the Cilium operator makes with its
        // Gateway as controller owner (any other owner could be one the Service's author made),
        // keeps its node ports: the Gateway is the way in.
        expression:
          "!has(variables.anyObject.spec.type) || variables.anyObject.spec.type != 'LoadBalancer' || (has(variables.anyObject.spec.allocateLoadBalancerNodePorts) && variables.anyObject.spec.allocateLoadBalancerNodePorts == false && (!has(variables.anyObject.spec.ports) || variables.anyObject.spec.ports.all(p, !has(p.nodePort) || p.nodePort == 0))) || (has(variables.anyObject.metadata.ownerReferences) && variables.anyObject.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && r.kind == 'Gateway' && r.apiVersion.startsWith('gateway.networking.k8s.io/')))",
        messageExpression:
          "'is a LoadBalancer Service that also opens a node port on every node: set spec.allocateLoadBalancerNodePorts: false, and no nodePort in spec.ports'",
      },
      {
        // Every node takes traffic for a Service's external IPs (CVE-2020-8554: a Service can
        // claim any address, another cluster service's or a host outside).
        expression:
          '!has(variables.anyObject.spec.externalIPs) || size(variables.anyObject.spec.externalIPs) == 0',
        messageExpression: "'sets spec.externalIPs: every node would take traffic for them'",
      },
    ],
    unchanged:
      "(has(oldObject.spec.type) ? oldObject.spec.type : 'ClusterIP') == (has(variables.anyObject.spec.type) ? variables.anyObject.spec.type : 'ClusterIP') && (has(oldObject.spec.allocateLoadBalancerNodePorts) ? oldObject.spec.allocateLoadBalancerNodePorts : true) == (has(variables.anyObject.spec.allocateLoadBalancerNodePorts) ? variables.anyObject.spec.allocateLoadBalancerNodePorts : true) && (has(oldObject.spec.externalIPs) ? oldObject.spec.externalIPs : []) == (has(variables.anyObject.spec.externalIPs) ? variables.anyObject.spec.externalIPs : []) && (has(oldObject.spec.ports) ? oldObject.spec.ports.map(p, has(p.nodePort) ? p.nodePort : 0) : []) == (has(variables.anyObject.spec.ports) ? variables.anyObject.spec.ports.map(p, has(p.nodePort) ? p.nodePort : 0) : [])",
  },
  {
    name: 'cluster-admin',
    kind: 'HomelabClusterAdminBinding',
    description:
      "No ClusterRoleBinding to cluster-admin outside the allow list, besides Kubernetes' own (cluster-admin, to the system:masters group only).",
    match: [{ apiGroups: ['rbac.authorization.k8s.io'], kinds: ['ClusterRoleBinding'] }],
    parameters: {
      type: 'object',
      properties: { allowed: { type: 'array', items: { type: 'string' } } },
    },
    variables: [],
    validations: [
      {
        // Kubernetes' own binding (the API server's bootstrap policy binds system:masters to
        // cluster-admin under that name on every cluster, plugin/pkg/auth/authorizer/rbac/
        // bootstrappolicy): Gatekeeper's audit would report it forever. Only as the API server
        // makes it: a subject added to it is denied like any other binding.
        expression:
          "variables.anyObject.roleRef.name != 'cluster-admin' || variables.anyObject.metadata.name in variables.params.allowed || (variables.anyObject.metadata.name == 'cluster-admin' && (!has(variables.anyObject.subjects) || variables.anyObject.subjects.all(s, s.kind == 'Group' && s.name == 'system:masters')))",
        messageExpression:
          "'binds cluster-admin and is not in the allow list (' + variables.params.allowed.join(', ') + ')'",
      },
    ],
    unchanged:
      'oldObject.roleRef == variables.anyObject.roleRef && (has(oldObject.subjects) ? oldObject.subjects : []) == (has(variables.anyObject.subjects) ? variables.anyObject.subjects : [])',
  },
  {
    name: 'provider-token',
    kind: 'HomelabProviderToken',
    description:
      "No pod reads the secrets provider's access token (the Secret made by hand in every namespace that gets a declared Secret) through a volume, a projected volume or an environment variable, and no Prometheus Operator object (a ServiceMonitor, PodMonitor, Probe, ScrapeConfig, AlertmanagerConfig, Prometheus, Alertmanager…) names it as a credential: the provider's operator reads it through the API, and a workload that read it, or a target or receiver Prometheus or Alertmanager sent it to, could read every entry the cluster maps, other applications' included.",
    match: [
      ...WORKLOAD_KINDS,
      {
        apiGroups: [...new Set(MONITOR_CREDENTIALS.map((kind) => kind.group))].sort(),
        kinds: MONITOR_CREDENTIALS.map((kind) => kind.kind),
      },
    ],
    parameters: {
      type: 'object',
      properties: { secrets: { type: 'array', items: { type: 'string' } } },
    },
    variables: [
      // The Prometheus Operator's kinds have no pod spec: their credentials are read below.
      {
        name: 'monitor',
        expression: MONITOR_OBJECT,
      },
      { name: 'podSpec', expression: `variables.monitor ? {} : (${POD_SPEC.expression})` },
      ALL_CONTAINERS,
      {
        name: 'tokenVolumes',
        expression:
          '(has(variables.podSpec.volumes) ? variables.podSpec.volumes : []).filter(v, (has(v.secret) && has(v.secret.secretName) && v.secret.secretName in variables.params.secrets) || (has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(s, has(s.secret) && has(s.secret.name) && s.secret.name in variables.params.secrets)))',
      },
      {
        name: 'tokenReaders',
        expression:
          'variables.containers.filter(c, (has(c.env) && c.env.exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef) && has(e.valueFrom.secretKeyRef.name) && e.valueFrom.secretKeyRef.name in variables.params.secrets)) || (has(c.envFrom) && c.envFrom.exists(f, has(f.secretRef) && has(f.secretRef.name) && f.secretRef.name in variables.params.secrets)))',
      },
    ],
    validations: [
      {
        expression: 'size(variables.tokenVolumes) == 0',
        messageExpression:
          "'volumes of the secrets provider token: ' + variables.tokenVolumes.map(v, v.name).join(', ')",
      },
      {
        expression: 'size(variables.tokenReaders) == 0',
        messageExpression:
          "'containers reading the secrets provider token from the environment: ' + variables.tokenReaders.map(c, c.name).join(', ')",
      },
      // One validation per kind: each expression stays well under CEL's 100,000 code points.
      ...MONITOR_CREDENTIALS.map((kind) => ({
        expression: `!variables.monitor || variables.anyObject.kind != '${kind.kind}' || !${credentialReferenceExpression(kind)}`,
        messageExpression: MONITOR_MESSAGE,
      })),
    ],
    unchanged: `variables.monitor ? oldObject.spec == variables.anyObject.spec : ${POD_SPEC_UNCHANGED}`,
  },
  {
    name: 'monitor-files',
    kind: 'HomelabMonitorFiles',
    description:
      "Where the platform runs Prometheus and Alertmanager (a metrics provider), no ServiceMonitor or AlertmanagerConfig outside their namespace names a file as a credential (a ServiceMonitor's `bearerTokenFile`, `tlsConfig` `caFile`, `certFile`, `keyFile`; a receiver's `botTokenFile`, `tokenFile`, `userKeyFile`): they read these from every namespace and would send what the file holds in their own pods (Prometheus' service account token, the receivers' credentials) to a target or receiver the namespace chooses. A Secret of the namespace is the way to give a credential.",
    match: [
      {
        apiGroups: [...new Set(MONITOR_FILES.map((kind) => kind.group))].sort(),
        kinds: MONITOR_FILES.map((kind) => kind.kind),
      },
    ],
    parameters: { type: 'object', properties: {} },
    variables: [],
    validations: MONITOR_FILES.map((kind) => ({
      expression: `variables.anyObject.kind != '${kind.kind}' || !${fileReferenceExpression(kind)}`,
      messageExpression: `'${kind.kind} names a file of the ${kind.kind === 'AlertmanagerConfig' ? 'Alertmanager' : 'Prometheus'} pods as a credential (${kind.paths.map((path) => path.at(-1)).join(', ')}), which would be sent out: give it a Secret of the namespace instead'`,
    })),
    unchanged: 'oldObject.spec == variables.anyObject.spec',
  },
];

/**
 * An UPDATE that leaves what a policy checks as it was is admitted (for `required-labels`, the
 * labels: an UPDATE that drops a controller ownerReference and keeps labels the rule would want,
 * the garbage collector orphaning a Job, is admitted too, and the audit reports the object): the variable
 * `unchangedUpdate`, after the policy's own, and every validation `variables.unchangedUpdate ||
 * (…)`. Without it, an object admitted before a rule or its parameters got stricter could not be
 * changed at all: the Deployment controller scales an old ReplicaSet down with an UPDATE of the
 * whole object, the Job controller and the garbage collector remove finalizers with UPDATEs
 * (Argo CD prunes with foreground deletion), and a rollout stalls with its old pods up, a prune
 * hangs in Terminating. gatekeeper-library's pod-spec policies skip UPDATEs for the same reason
 * (privileged-containers, host-namespaces: `variables.isUpdate`). A changed pod spec (a rollout,
 * `kubectl debug`'s ephemeral container) is checked as a new one; so is every CREATE, and
 * Gatekeeper's audit (no UPDATE) reports an object that breaks a rule either way. Gatekeeper binds
 * `request` and `oldObject` as Kubernetes' ValidatingAdmissionPolicy does (v3.23.0
 * pkg/drivers/k8scel/transform/cel_snippets.go, `anyObject` reads both).
 */
function withUpdateGuard(policy: PolicyDefinition): PolicyDefinition {
  return {
    ...policy,
    variables: [
      ...policy.variables,
      {
        name: 'unchangedUpdate',
        expression: `has(request.operation) && request.operation == 'UPDATE' && oldObject != null && (${policy.unchanged})`,
      },
    ],
    validations: policy.validations.map((validation) => ({
      ...validation,
      expression: `variables.unchangedUpdate || (${validation.expression})`,
    })),
  };
}

export const POLICIES: readonly PolicyDefinition[] = CHECKS.map(withUpdateGuard);

/** The policy of a name. */
export function policyNamed(name: PolicyName): PolicyDefinition {
  return POLICIES.find((policy) => policy.name === name) as PolicyDefinition;
}

/** Argo CD applies templates before the constraints that use their kinds. */
const TEMPLATE_WAVE = '1';

/** The ConstraintTemplate of a policy. */
export function constraintTemplate(policy: PolicyDefinition): KubeObject {
  return {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: {
      name: policy.kind.toLowerCase(),
      annotations: {
        description: policy.description,
        'argocd.argoproj.io/sync-wave': TEMPLATE_WAVE,
        // The ConstraintTemplate CRD comes with the chart in the same sync.
        'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
      },
    },
    spec: {
      crd: {
        spec: {
          names: { kind: policy.kind },
          validation: { openAPIV3Schema: policy.parameters },
        },
      },
      targets: [
        {
          target: 'admission.k8s.gatekeeper.sh',
          code: [
            {
              engine: 'K8sNativeValidation',
              source: {
                ...(policy.variables.length > 0
                  ? { variables: policy.variables.map((variable) => ({ ...variable })) }
                  : {}),
                validations: policy.validations.map((validation) => ({ ...validation })),
              },
            },
          ],
        },
      ],
    } as unknown as JsonValue,
  } as KubeObject;
}
