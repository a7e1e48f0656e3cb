// @homelab/policy: Gatekeeper with the platform's admission policies. Provides
// `admission-policy`; renders charts/gatekeeper (the upstream chart with the platform's values,
// our ConstraintTemplates in CEL in the base layer, the constraints and Gatekeeper's Config per
// cluster); evaluates every constraint on everything the platform deploys (layer 6, a system
// check with a report). Pure.
import {
  type ApplicationDescriptor,
  type ChartSpec,
  type ClusterContribution,
  type Component,
  type ComponentOutput,
  checkHaInvariants,
  compareStrings,
  type Declaration,
  type DeclareInput,
  ENVIRONMENTS,
  type EnvironmentName,
  error,
  type FlowDeclaration,
  type GroupKind,
  haPlan,
  type Issue,
  type KubeObject,
  namespacePodSecurity,
  type OutageProcedure,
  type PodSecurityLevel,
  type RenderCluster,
  type RenderInput,
  TALOS_MANIFEST_NAMESPACES,
  type Values,
} from '@homelab/core';
import { admissionPoliciesCheck, webhookOutageCheck } from './check.js';
import { CONSTRAINT_TEMPLATE_HEALTH_LUA } from './health.js';
import {
  CLUSTER_ADMIN_ANNOTATION,
  EXEMPTIONS_ANNOTATION,
  GATEKEEPER_NAMESPACE,
  type PolicySettings,
  policySettingsSpec,
  type ResolvedPolicySettings,
  resolvePolicySettings,
  SYSTEM_NAMESPACES,
} from './settings.js';
import {
  constraintTemplate,
  POLICIES,
  POLICY_NAMES,
  type PolicyDefinition,
  type PolicyName,
} from './templates.js';
import { policyValidators } from './validators.js';
import { GATEKEEPER_APP_VERSION, GATEKEEPER_CHART, POLICY_UPSTREAM } from './versions.js';

/** Key the upstream chart's values live under (its dependency name). */
export const GATEKEEPER_VALUES_KEY = 'gatekeeper';

const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh';

/** Pod labels of the webhook (controller manager) pods. */
const WEBHOOK_SELECTOR = { 'control-plane': 'controller-manager' } as const;
/** Every Gatekeeper pod (manager, audit, the post-install Job). */
const GATEKEEPER_PODS = { 'gatekeeper.sh/system': 'yes' } as const;

/** Cluster-scoped kinds the chart and our manifests create. */
const CLUSTER_RESOURCES: readonly GroupKind[] = [
  { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
  { group: 'templates.gatekeeper.sh', kind: 'ConstraintTemplate' },
  ...POLICIES.map((policy) => ({ group: CONSTRAINT_GROUP, kind: policy.kind })),
];

/** Namespaced kinds the upstream chart renders with our values (the helm suite checks them). */
const NAMESPACED_RESOURCES: readonly GroupKind[] = [
  { group: '', kind: 'ResourceQuota' },
  { group: '', kind: 'Secret' },
  { group: '', kind: 'Service' },
  { group: '', kind: 'ServiceAccount' },
  { group: 'apps', kind: 'Deployment' },
  { group: 'batch', kind: 'Job' },
  { group: 'config.gatekeeper.sh', kind: 'Config' },
  { group: 'policy', kind: 'PodDisruptionBudget' },
  { group: 'rbac.authorization.k8s.io', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
];

const API_PORTS = [{ port: 6443, protocol: 'TCP' as const }];
/** The webhook's container port (`controllerManager.port`). */
const WEBHOOK_PORT = 8443;
/** The Prometheus port of the controller manager and audit (`metricsPort`). */
const METRICS_PORT = 8888;

function flows(): FlowDeclaration[] {
  return [
    {
      name: 'webhook',
      direction: 'ingress',
      namespace: GATEKEEPER_NAMESPACE,
      selector: { ...WEBHOOK_SELECTOR },
      peer: { kind: 'kube-apiserver' },
      ports: [{ port: WEBHOOK_PORT, protocol: 'TCP' }],
      reason: 'the API server calls the validating and mutating webhooks',
    },
    {
      name: 'apiserver',
      direction: 'egress',
      namespace: GATEKEEPER_NAMESPACE,
      selector: { ...GATEKEEPER_PODS },
      peer: { kind: 'kube-apiserver' },
      ports: API_PORTS,
      reason: 'the controller manager, audit and post-install Job read and write the API',
    },
    {
      name: 'metrics',
      direction: 'ingress',
      namespace: GATEKEEPER_NAMESPACE,
      selector: { ...GATEKEEPER_PODS },
      peer: { kind: 'capability', capability: 'metrics' },
      ports: [{ port: METRICS_PORT, protocol: 'TCP' }],
      reason: 'the metrics provider scrapes the controller manager and audit',
    },
  ];
}

function descriptor(): ApplicationDescriptor {
  return {
    namespace: GATEKEEPER_NAMESPACE,
    // In Gatekeeper's own namespace, which every policy exempts (the Helm suite checks every image
    // the chart renders is here).
    imageRepositories: {
      [GATEKEEPER_NAMESPACE]: ['gatekeeper', 'gatekeeper-crds'].map(
        (name) => `docker.io/openpolicyagent/${name}`,
      ),
    },
    podSecurity: 'restricted',
    project: 'security',
    // Applied server-side, but not for size: with the copy a client-side apply stores in
    // `kubectl.kubernetes.io/last-applied-configuration`, chart 3.23.0's largest object, the CRD
    // assign.mutations.gatekeeper.sh, has 38 kB of annotations, far below the 256 KiB limit
    // (core `clientSideApplyAnnotationBytes`). A sync started by hand carries the option too
    // (system check `manual-sync-options`).
    serverSideApply: true,
    clusterResources: CLUSTER_RESOURCES,
    namespacedResources: NAMESPACED_RESOURCES,
    // The constraints (wave 2) wait for their templates (wave 1) to be made into kinds.
    healthChecks: [
      {
        group: 'templates.gatekeeper.sh',
        kind: 'ConstraintTemplate',
        lua: CONSTRAINT_TEMPLATE_HEALTH_LUA,
        reason:
          'its constraints (sync wave 2) are of kinds Gatekeeper makes from the ConstraintTemplates (wave 1) at run time: without it wave 2 starts as soon as the templates are applied and fails on kinds that do not exist yet',
      },
    ],
    // The chart's CRDs, and the constraint kinds the controller makes from our templates.
    installs: [
      { group: 'templates.gatekeeper.sh', kind: 'ConstraintTemplate' },
      { group: 'config.gatekeeper.sh', kind: 'Config' },
      ...POLICIES.map((policy) => ({ group: CONSTRAINT_GROUP, kind: policy.kind })),
    ],
  };
}

/** The chart's ValidatingWebhookConfiguration (`validatingWebhookName`). */
export const VALIDATING_WEBHOOK_CONFIGURATION = 'gatekeeper-validating-webhook-configuration';
/** Its namespace-label webhook, failing closed (`validatingWebhookCheckIgnoreFailurePolicy`). */
export const CHECK_IGNORE_LABEL_WEBHOOK = 'check-ignore-label.gatekeeper.sh';
/** Its index in the configuration's `webhooks` (the chart renders it second). */
const CHECK_IGNORE_LABEL_INDEX = 1;
/** The label that takes a namespace out of Gatekeeper's webhook and generated policies. */
export const IGNORE_LABEL = 'admission.gatekeeper.sh/ignore';
/**
 * The namespaces that carry it by design: Gatekeeper's own and `extraNamespaces` of the chart's
 * post-install Job (`postInstall.labelNamespace`), which labels exactly these.
 */
export const IGNORE_LABELLED_NAMESPACES: readonly string[] = [
  GATEKEEPER_NAMESPACE,
  ...SYSTEM_NAMESPACES,
].sort(compareStrings);

/**
 * The runbook's procedure for Gatekeeper down: its namespace-label webhook fails closed, so no
 * Namespace outside gatekeeper-system can be created or updated (Argo CD's managed namespace
 * metadata, the root's Namespace objects). Gatekeeper's own namespace is exempt, so it can come
 * back; when it cannot (the CNI is down), the webhook is made to fail open until it does.
 */
export function gatekeeperDown(): OutageProcedure {
  const ns = GATEKEEPER_NAMESPACE;
  const webhook = `validatingwebhookconfiguration ${VALIDATING_WEBHOOK_CONFIGURATION}`;
  // A server-side dry run goes through admission: refused, naming the webhook, while it is down.
  const probe = 'kubectl label namespace default homelab.dev/admission-probe=1 --dry-run=server';
  const patch = (policy: 'Fail' | 'Ignore') =>
    `kubectl patch ${webhook} --type=json -p '${JSON.stringify([
      {
        op: 'test',
        path: `/webhooks/${CHECK_IGNORE_LABEL_INDEX}/name`,
        value: CHECK_IGNORE_LABEL_WEBHOOK,
      },
      { op: 'replace', path: `/webhooks/${CHECK_IGNORE_LABEL_INDEX}/failurePolicy`, value: policy },
    ])}'`;
  // While lifted, any Namespace create or update may add the label, and nothing removes it when
  // Gatekeeper is back: the last check lists every other namespace that carries it.
  const labelled = IGNORE_LABELLED_NAMESPACES.map((name) => ` -e namespace/${name}`).join('');
  const strayLabels = `out=$(kubectl get namespaces -l ${IGNORE_LABEL} -o name) && ! printf '%s' "$out" | grep -vx${labelled}`;
  return {
    symptom:
      `Gatekeeper's \`${CHECK_IGNORE_LABEL_WEBHOOK}\` webhook fails closed (it keeps a namespace ` +
      'from labelling itself `admission.gatekeeper.sh/ignore`, which would take it out of ' +
      "Gatekeeper's webhook and of the ValidatingAdmissionPolicies Gatekeeper generates, whose " +
      'scope follows that webhook): while no Gatekeeper pod answers, every Namespace create and ' +
      `update outside \`${ns}\` is refused, \`kube-system\` included. Argo CD then cannot sync an ` +
      'Application with `managedNamespaceMetadata` (applied server-side on every sync) nor the ' +
      'root Application when it creates a namespace or changes its labels; their syncs fail with ' +
      `\`failed calling webhook "${CHECK_IGNORE_LABEL_WEBHOOK}"\`. After a lift, the last check ` +
      `fails listing each namespace that took the \`${IGNORE_LABEL}\` label while the webhook ` +
      'failed open (Gatekeeper and its generated policies skip it for good, restored webhook or ' +
      `not): remove it with \`kubectl label namespace <name> ${IGNORE_LABEL}-\` and run the check again.`,
    diagnose: [
      `kubectl -n ${ns} get deployments,pods -o wide`,
      `kubectl -n ${ns} get endpointslices -l kubernetes.io/service-name=gatekeeper-webhook-service`,
      probe,
    ],
    diagnosis: 'The last command is refused, naming the webhook, while it is.',
    recover: [
      `kubectl -n ${ns} rollout restart deployment gatekeeper-controller-manager`,
      `kubectl -n ${ns} rollout status deployment gatekeeper-controller-manager --timeout=10m`,
      probe,
    ],
    lift: [patch('Ignore')],
    verify: [
      `kubectl get ${webhook} -o jsonpath='{.webhooks[${CHECK_IGNORE_LABEL_INDEX}].name}={.webhooks[${CHECK_IGNORE_LABEL_INDEX}].failurePolicy}{"\\n"}' | grep -x '${CHECK_IGNORE_LABEL_WEBHOOK}=Fail'`,
      strayLabels,
    ],
  };
}

/**
 * The rules as the consumers' onboarding tells a user's workloads (the policies' descriptions;
 * allowed-images names this cluster's registries).
 */
export function policyRules(settings: ResolvedPolicySettings): string[] {
  return POLICIES.map((policy) =>
    policy.name === 'allowed-images'
      ? `Images only from the allowed registries (${settings.allowedRegistries.map((registry) => `\`${registry}\``).join(', ')}; more with \`components.policy.allowedRegistries\`), each pinned to a tag other than latest or to a digest.`
      : policy.description,
  );
}

function declare(input: DeclareInput<PolicySettings>): Declaration {
  const { settings } = resolvePolicySettings(input.settings, input.cluster);
  return {
    application: descriptor(),
    flows: flows(),
    whenDown: gatekeeperDown(),
    facts: {
      'admission-policy': {
        engine: `gatekeeper ${GATEKEEPER_APP_VERSION} (K8sNativeValidation)`,
        enforcement: settings.enforcementAction,
        rules: policyRules(settings),
      },
    },
  };
}

/** Base layer: Gatekeeper's values and the templates, the same on every cluster. */
function baseValues(templates: { [key: string]: KubeObject }): Values {
  return {
    [GATEKEEPER_VALUES_KEY]: {
      // Images named with their registry, so the allowed-images policy sees where they come from.
      image: {
        repository: 'docker.io/openpolicyagent/gatekeeper',
        crdRepository: 'docker.io/openpolicyagent/gatekeeper-crds',
      },
      postInstall: {
        labelNamespace: {
          image: { repository: 'docker.io/openpolicyagent/gatekeeper-crds' },
          // The namespaces Gatekeeper exempts carry the label its webhook skips.
          extraNamespaces: [...SYSTEM_NAMESPACES],
        },
        // Argo CD waits on the Deployment's health; the curl probe would add an image and a flow.
        probeWebhook: { enabled: false },
      },
      // Argo CD applies the chart's crds/ itself (server-side); no pre-install kubectl Job.
      upgradeCRDs: { enabled: false },
      controllerManager: { exemptNamespaces: [...SYSTEM_NAMESPACES] },
      commonLabels: { 'app.kubernetes.io/part-of': 'gatekeeper' },
      // CEL templates, evaluated by Gatekeeper and generated as ValidatingAdmissionPolicies.
      enableK8sNativeValidation: true,
      // The policies and bindings the API server enforces while Gatekeeper is down, asked for
      // in so many words: v3.23.0 makes them by default (`--default-create-vap-for-templates`,
      // `--default-create-vap-binding-for-constraints`, constraint_controller.go), a default an
      // upgrade may change; the chart passes both flags to the controller manager and the audit
      // pod (whose `generate` operation makes them) only when the values are set.
      defaultCreateVAPForTemplates: true,
      defaultCreateVAPBindingForConstraints: true,
      // Audit lists only the kinds the constraints match (every constraint names its kinds), not
      // every kind of the cluster, Secrets and each CRD's objects included, every 60 s under the
      // audit pod's memory limit (v3.23.0 pkg/audit/manager.go, `--audit-match-kind-only`: a
      // constraint without kinds would bring back the full list).
      auditMatchKindOnly: true,
    },
    manifests: templates as unknown as Values,
  };
}

/** Environment layer: replicas and a disruption budget that never blocks a drain. */
function environmentValues(replicas: number): Values {
  return {
    [GATEKEEPER_VALUES_KEY]: {
      replicas,
      // The chart's PDB only takes minAvailable: one less than the replicas is maxUnavailable 1
      // (and 0 with a single replica, so a drain is never blocked).
      pdb: { controllerManager: { minAvailable: Math.max(0, replicas - 1) } },
    },
  };
}

/**
 * The namespaces every component of the cluster runs in, and those declared privileged or
 * baseline (by whom; privileged wins).
 */
function namespacesOf(entry: RenderCluster<PolicySettings>): {
  used: Set<string>;
  relaxed: Map<string, { component: string; level: PodSecurityLevel }>;
  hostPaths: { namespace: string; path: string; component: string }[];
  clusterAdmin: { name: string; reason: string; component: string }[];
  declared: { policy: string; namespace: string; reason: string; component: string }[];
} {
  const used = new Set<string>();
  const relaxed = new Map<string, { component: string; level: PodSecurityLevel }>();
  const hostPaths: { namespace: string; path: string; component: string }[] = [];
  const clusterAdmin: { name: string; reason: string; component: string }[] = [];
  const declared: { policy: string; namespace: string; reason: string; component: string }[] = [];
  const all: { component: string; contribution: ClusterContribution }[] = [
    { component: 'policy', contribution: entry.own },
    ...entry.others,
  ];
  for (const { component, contribution } of all) {
    const application = contribution.application;
    if (application === undefined) continue;
    const namespaces = [application.namespace, ...(application.additionalNamespaces ?? [])];
    for (const namespace of namespaces) used.add(namespace);
    // Per namespace: one privileged application must not relax the others' namespaces, and a
    // namespace declared baseline (an image that runs as root) is Pod Security admission's, at
    // the level its labels enforce; the restricted template would refuse what it admits.
    for (const [namespace, level] of namespacePodSecurity(application)) {
      if (level === 'restricted') continue;
      if (level === 'baseline' && relaxed.get(namespace)?.level === 'privileged') continue;
      relaxed.set(namespace, { component, level });
    }
    // A component's host paths are allowed in the namespaces its Application deploys to at the
    // privileged level: Pod Security's baseline already refuses every hostPath volume.
    for (const path of application.hostPaths ?? []) {
      for (const [namespace, level] of namespacePodSecurity(application)) {
        if (level === 'privileged') hostPaths.push({ namespace, path, component });
      }
    }
    for (const binding of application.clusterAdminBindings ?? []) {
      clusterAdmin.push({ ...binding, component });
    }
    for (const exemption of application.policyExemptions ?? []) {
      for (const namespace of namespaces) {
        if (exemption.namespaces !== undefined && !exemption.namespaces.includes(namespace)) {
          continue;
        }
        declared.push({ policy: exemption.policy, namespace, reason: exemption.reason, component });
      }
    }
  }
  return { used, relaxed, hostPaths, clusterAdmin, declared };
}

function constraint(
  policy: PolicyDefinition,
  settings: ResolvedPolicySettings,
  excluded: readonly { namespace: string; reason: string }[],
  parameters: Values,
  annotations: { [key: string]: string } = {},
): KubeObject {
  const namespaces = [...new Set(excluded.map((entry) => entry.namespace))].sort(compareStrings);
  return {
    apiVersion: `${CONSTRAINT_GROUP}/v1beta1`,
    kind: policy.kind,
    metadata: {
      name: policy.name,
      annotations: {
        'argocd.argoproj.io/sync-wave': '2',
        // Gatekeeper creates the constraint's CRD from its template once the template is in.
        'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
        [EXEMPTIONS_ANNOTATION]: JSON.stringify(
          [...excluded].sort((a, b) => compareStrings(a.namespace, b.namespace)),
        ),
        ...annotations,
      },
    },
    spec: {
      enforcementAction: settings.enforcementAction,
      match: {
        kinds: policy.match.map((entry) => ({
          apiGroups: [...entry.apiGroups],
          kinds: [...entry.kinds],
        })),
        excludedNamespaces: namespaces,
      },
      parameters,
    },
  } as KubeObject;
}

/** Gatekeeper's Config: audit and sync skip the exempt namespaces too. */
function gatekeeperConfig(): KubeObject {
  return {
    apiVersion: 'config.gatekeeper.sh/v1alpha1',
    kind: 'Config',
    metadata: {
      name: 'config',
      namespace: GATEKEEPER_NAMESPACE,
      annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
    },
    spec: {
      match: [
        {
          excludedNamespaces: [GATEKEEPER_NAMESPACE, ...SYSTEM_NAMESPACES].sort(compareStrings),
          processes: ['*'],
        },
      ],
    },
  };
}

/**
 * The namespaces a policy's constraint excludes, each with its reason: Gatekeeper's and the
 * system namespaces, those a component declares exempt (`policyExemptions`), the definition's.
 */
function policyExclusions(
  declared: readonly { policy: string; namespace: string; reason: string; component: string }[],
  settings: ResolvedPolicySettings,
  name: PolicyName,
): { namespace: string; reason: string }[] {
  return [
    ...[GATEKEEPER_NAMESPACE, ...SYSTEM_NAMESPACES].map((namespace) => ({
      namespace,
      reason: 'Gatekeeper and system namespace (exempt from every policy)',
    })),
    ...TALOS_MANIFEST_NAMESPACES.map((namespace) => ({
      namespace,
      reason:
        'applied by Talos from its bootstrap manifests (exempt from every policy): talosctl upgrade-k8s dry-run-updates each of its objects, and a denial fails the upgrade',
    })),
    ...declared
      .filter((exemption) => exemption.policy === name)
      .map((exemption) => ({
        namespace: exemption.namespace,
        reason: `declared by ${exemption.component}: ${exemption.reason}`,
      })),
    ...settings.exemptions
      .filter((exemption) => exemption.policy === name)
      .map((exemption) => ({ namespace: exemption.namespace, reason: exemption.reason })),
  ];
}

/** The cluster layer: Gatekeeper's Config and one constraint per policy. */
function clusterManifests(
  entry: RenderCluster<PolicySettings>,
  settings: ResolvedPolicySettings,
): { [key: string]: KubeObject } {
  const { relaxed, hostPaths, clusterAdmin, declared } = namespacesOf(entry);
  const out: { [key: string]: KubeObject } = { 'gatekeeper-config': gatekeeperConfig() };
  for (const policy of POLICIES) {
    const excluded = policyExclusions(declared, settings, policy.name);
    let parameters: Values = {};
    const annotations: { [key: string]: string } = {};
    switch (policy.name) {
      case 'pod-security':
        for (const [namespace, { component, level }] of [...relaxed].sort(([a], [b]) =>
          compareStrings(a, b),
        )) {
          excluded.push({
            namespace,
            reason:
              level === 'privileged'
                ? `declared privileged by ${component}`
                : `declared ${level} by ${component}: Pod Security admission enforces ${level} there`,
          });
        }
        break;
      case 'allowed-images':
        parameters = { registries: [...settings.allowedRegistries] };
        break;
      case 'host-paths':
        parameters = {
          allowed: hostPaths
            .map(({ namespace, path }) => ({ namespace, path }))
            .sort((a, b) => compareStrings(`${a.namespace}/${a.path}`, `${b.namespace}/${b.path}`)),
        };
        break;
      case 'required-labels':
        parameters = { labels: ['app.kubernetes.io/part-of'] };
        break;
      case 'cluster-admin':
        // The definition's allow list and the bindings components declare their charts render.
        parameters = {
          allowed: [
            ...new Set([
              ...settings.clusterAdminBindings,
              ...clusterAdmin.map((binding) => binding.name),
            ]),
          ].sort(compareStrings),
        };
        if (clusterAdmin.length > 0) {
          annotations[CLUSTER_ADMIN_ANNOTATION] = JSON.stringify(
            clusterAdmin
              .map(({ name, reason, component }) => ({ name, component, reason }))
              .sort((a, b) => compareStrings(a.name, b.name)),
          );
        }
        break;
      case 'provider-token':
        // The secrets provider's access token (a bootstrap Secret made for the declared Secrets
        // of a namespace): its operator reads it through the API; no pod needs to.
        parameters = {
          secrets: [
            ...new Set(
              [entry.own, ...entry.others.map((peer) => peer.contribution)].flatMap(
                (contribution) =>
                  (contribution.bootstrapSecrets ?? [])
                    .filter((secret) => secret.forDeclaredSecrets === true)
                    .map((secret) => secret.name),
              ),
            ),
          ].sort(compareStrings),
        };
        break;
      case 'monitor-files': {
        // Only where the platform runs Prometheus and Alertmanager (a `metrics` provider), which
        // read these objects of every namespace; its own namespace holds the monitors that scrape
        // the kubelets and the API server with Prometheus' token and the cluster CA, as files.
        const metrics = entry.others.find((peer) => peer.contribution.facts?.metrics !== undefined);
        const namespace = metrics?.contribution.facts?.metrics?.namespace;
        if (metrics === undefined || namespace === undefined) continue;
        excluded.push({
          namespace,
          reason: `the namespace of ${metrics.component}'s Prometheus and Alertmanager, whose own monitors read their pods' files`,
        });
        break;
      }
      default:
        break;
    }
    out[`constraint-${policy.name}`] = constraint(
      policy,
      settings,
      excluded,
      parameters,
      annotations,
    );
  }
  return out;
}

/**
 * The image repositories the cluster's components run (`imageRepositories`: their charts' and
 * those their controllers start) that the allowed registries do not admit, outside the
 * namespaces exempt from `allowed-images`. The build evaluates its own manifests' images as they
 * are (`admission-policies`); these come from the upstream charts, which only Helm renders.
 */
function registryIssues(
  entry: RenderCluster<PolicySettings>,
  settings: ResolvedPolicySettings,
): Issue[] {
  const { declared } = namespacesOf(entry);
  const exempt = new Set(
    policyExclusions(declared, settings, 'allowed-images').map(({ namespace }) => namespace),
  );
  const refused = new Map<string, { components: Set<string>; namespaces: Set<string> }>();
  const all: { component: string; contribution: ClusterContribution }[] = [
    { component: 'policy', contribution: entry.own },
    ...entry.others,
  ];
  for (const { component, contribution } of all) {
    const images = contribution.application?.imageRepositories ?? {};
    for (const [namespace, repositories] of Object.entries(images)) {
      if (exempt.has(namespace)) continue;
      for (const repository of repositories) {
        // The policy matches `<repository>:<tag>` or `<repository>@<digest>` by prefix, and
        // every allowed prefix ends with "/" (the schema's pattern).
        if (settings.allowedRegistries.some((prefix) => `${repository}:`.startsWith(prefix))) {
          continue;
        }
        const entryOf = refused.get(repository) ?? { components: new Set(), namespaces: new Set() };
        entryOf.components.add(component);
        entryOf.namespaces.add(namespace);
        refused.set(repository, entryOf);
      }
    }
  }
  if (refused.size === 0) return [];
  const repositories = [...refused.keys()].sort(compareStrings);
  const described = repositories.map((repository) => {
    const { components, namespaces } = refused.get(repository) as {
      components: Set<string>;
      namespaces: Set<string>;
    };
    return `${repository} (${[...components].sort(compareStrings).join(', ')}, namespace ${[...namespaces].sort(compareStrings).join(', ')})`;
  });
  const registries = [...new Set(repositories.map((repository) => `${repository.split('/')[0]}/`))];
  return [
    error({
      code: 'policy-registries',
      path: entry.path('allowedRegistries'),
      message: `admit no image of ${described.join(', ')} on cluster "${entry.cluster.name}": the allowed-images policy refuses these pods of the platform (Gatekeeper denies them where it enforces, production by default, and the component never starts there)`,
      expected: `allowedRegistries with a prefix of each (${registries.map((registry) => JSON.stringify(registry)).join(', ')}), or the namespace exempted from allowed-images in components.policy.exemptions with the reason`,
    }),
  ];
}

/** Exemptions that name a namespace no component uses on any cluster: a typo, or stale. */
function exemptionIssues(input: RenderInput<PolicySettings>): Issue[] {
  const issues: Issue[] = [];
  const reported = new Set<string>();
  const usedAnywhere = new Set<string>();
  for (const entry of input.clusters) {
    for (const namespace of namespacesOf(entry).used) usedAnywhere.add(namespace);
  }
  for (const entry of input.clusters) {
    const { used, declared } = namespacesOf(entry);
    for (const exemption of declared) {
      if ((POLICY_NAMES as readonly string[]).includes(exemption.policy)) continue;
      const key = `${exemption.component}:${exemption.policy}`;
      if (reported.has(key)) continue;
      reported.add(key);
      issues.push(
        error({
          code: 'policy-exemption',
          path: entry.path(),
          value: exemption.policy,
          message: `component ${exemption.component} declares an exemption from policy "${exemption.policy}", which does not exist`,
          expected: `one of: ${POLICY_NAMES.join(', ')}`,
        }),
      );
    }
    (entry.settings.exemptions ?? []).forEach((exemption, index) => {
      if (used.has(exemption.namespace) || usedAnywhere.has(exemption.namespace)) return;
      const key = `${exemption.policy}/${exemption.namespace}`;
      if (reported.has(key)) return;
      reported.add(key);
      issues.push(
        error({
          code: 'policy-exemption',
          path: entry.path('exemptions', index, 'namespace'),
          value: exemption.namespace,
          message: `is exempted from ${exemption.policy}, but no component runs in this namespace on any cluster`,
          expected: `one of: ${[...used].sort(compareStrings).join(', ')}`,
        }),
      );
    });
  }
  return issues;
}

function render(input: RenderInput<PolicySettings>): ComponentOutput {
  const issues: Issue[] = [...exemptionIssues(input)];
  const templates: { [key: string]: KubeObject } = {};
  for (const policy of POLICIES) {
    templates[`template-${policy.name}`] = constraintTemplate(policy);
  }
  const environments: { [E in EnvironmentName]?: Values } = {};
  const clusters: { [cluster: string]: Values } = {};
  const replicasByEnvironment = new Map<EnvironmentName, number>();
  for (const entry of input.clusters) {
    const { settings, issues: settingIssues } = resolvePolicySettings(
      entry.settings,
      entry.cluster,
    );
    issues.push(...settingIssues, ...registryIssues(entry, settings));
    const path = entry.path();
    const { plan, issues: planIssues } = haPlan(entry.cluster, {
      selector: { ...WEBHOOK_SELECTOR },
      path,
    });
    issues.push(...planIssues, ...checkHaInvariants(entry.cluster, plan, path));
    replicasByEnvironment.set(entry.cluster.environment, entry.cluster.profile.replicas);
    const placement: Values = {};
    if (plan.affinity !== undefined) placement.affinity = plan.affinity;
    if (plan.topologySpreadConstraints !== undefined) {
      placement.topologySpreadConstraints = plan.topologySpreadConstraints;
    }
    clusters[entry.cluster.name] = {
      ...(Object.keys(placement).length > 0
        ? { [GATEKEEPER_VALUES_KEY]: { controllerManager: placement } }
        : {}),
      manifests: clusterManifests(entry, settings) as unknown as Values,
    };
  }
  for (const environment of ENVIRONMENTS) {
    const replicas = replicasByEnvironment.get(environment);
    if (replicas !== undefined) environments[environment] = environmentValues(replicas);
  }
  const chart: ChartSpec = {
    name: GATEKEEPER_CHART.name,
    description: 'Gatekeeper with the platform admission policies (CEL)',
    appVersion: GATEKEEPER_APP_VERSION,
    dependency: {
      name: GATEKEEPER_CHART.name,
      version: GATEKEEPER_CHART.version,
      repository: GATEKEEPER_CHART.repository,
    },
    values: baseValues(templates),
    environments,
    clusters,
    readme: {
      summary:
        `Gatekeeper ${GATEKEEPER_APP_VERSION} (upstream chart ${GATEKEEPER_CHART.version}) with the ` +
        "platform's admission policies, written as ConstraintTemplates in CEL " +
        '(K8sNativeValidation): Pod Security restricted outside the namespaces declared privileged ' +
        'or baseline (each at its own level), images ' +
        'from allowed registries and never latest, CPU and memory requests, no undeclared ' +
        'hostPath, app.kubernetes.io/part-of on workloads, no NodePort Services (nor node ports of LoadBalancer Services, nor externalIPs), no ' +
        "cluster-admin binding outside an allow list, no pod reading the secrets provider's token " +
        'nor a Prometheus Operator object naming it as a credential, no ServiceMonitor or ' +
        'AlertmanagerConfig outside the metrics namespace naming a file of the Prometheus or ' +
        'Alertmanager pods. Constraints run in dryrun in development, ' +
        'warn in staging and deny in production; Gatekeeper exempts its own and the system ' +
        'namespaces.',
      sections: [
        {
          heading: 'Proven on our own output',
          body:
            'The build evaluates every constraint on every object the platform deploys (the ' +
            '`admission-policies` system check; `homelab validate --report` prints the summary). ' +
            'A violation is fixed in the values or exempted in the definition ' +
            '(`components.policy.exemptions`, with a reason that the constraint carries).',
        },
      ],
    },
  };
  return { chart, issues };
}

/** Gatekeeper as a platform component. */
export const policyComponent: Component<PolicySettings> = {
  name: 'policy',
  description: 'Gatekeeper with the platform admission policies in CEL, per environment.',
  settings: policySettingsSpec,
  provides: ['admission-policy'],
  needs: ['cni'],
  upstream: POLICY_UPSTREAM,
  validators: policyValidators,
  checks: [admissionPoliciesCheck, webhookOutageCheck],
  declare,
  render,
};

export type { PolicyName };
