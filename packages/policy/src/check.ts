// Layer 6, the platform's own admission policies evaluated on its own output: every constraint
// the policy component generates for a cluster, on every object the cluster's Applications
// deploy (what the build renders; objects of the upstream charts are evaluated by the Helm suite),
// as Gatekeeper would on admission. A violation is an error, whatever the enforcement action:
// the same charts reach production. Pure.
import {
  compareStrings,
  type DeployedApplication,
  type DeployedCluster,
  deployedValues,
  error,
  type Issue,
  type KubeObject,
  type SystemCheck,
  type SystemInput,
  settingsPath,
} from '@homelab/core';
import {
  configExemptNamespaces,
  evaluateConstraints,
  type Verdict,
  type VerdictCache,
} from './evaluate.js';
import { EXEMPTIONS_ANNOTATION } from './settings.js';

const TEMPLATE_GROUP = 'templates.gatekeeper.sh/';
const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh/';

interface ClusterPolicies {
  readonly app: DeployedApplication;
  readonly templates: KubeObject[];
  readonly constraints: KubeObject[];
  readonly exemptNamespaces: string[];
  /** Every deployed object with where it is generated and the Application that deploys it. */
  readonly targets: { object: KubeObject; source: string; app: DeployedApplication }[];
}

function policiesOf(deployed: DeployedCluster): ClusterPolicies | undefined {
  const app = deployed.applications.find((candidate) => candidate.component === 'policy');
  if (app === undefined) return undefined;
  const objects = app.objects.map((entry) => entry.object);
  const templates = objects.filter(
    (object) =>
      object.apiVersion.startsWith(TEMPLATE_GROUP) && object.kind === 'ConstraintTemplate',
  );
  const constraints = objects.filter((object) => object.apiVersion.startsWith(CONSTRAINT_GROUP));
  const exempt = new Set<string>([app.namespace, ...configExemptNamespaces(objects)]);
  const targets = deployed.applications.flatMap((candidate) =>
    candidate.objects.map((entry) => ({
      object: entry.object,
      source: entry.source,
      app: candidate,
    })),
  );
  return {
    app,
    templates,
    constraints,
    exemptNamespaces: [...exempt].sort(compareStrings),
    targets,
  };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function describe(object: KubeObject): string {
  const namespace = object.metadata.namespace;
  return `${object.kind} ${namespace === undefined ? '' : `${namespace}/`}${object.metadata.name}`;
}

function enforcement(constraint: KubeObject): string {
  const spec = (constraint.spec ?? {}) as { enforcementAction?: string };
  return spec.enforcementAction ?? 'deny';
}

function evaluate(
  policies: ClusterPolicies,
  cache: VerdictCache,
): {
  verdicts: Verdict[];
  exempt: KubeObject[];
  unknownKinds: string[];
  compileError: string | undefined;
} {
  try {
    return {
      ...evaluateConstraints(
        policies.templates,
        policies.constraints,
        policies.targets.map((target) => target.object),
        policies.exemptNamespaces,
        cache,
      ),
      compileError: undefined,
    };
  } catch (cause) {
    return {
      verdicts: [],
      exempt: [],
      unknownKinds: [],
      compileError: cause instanceof Error ? cause.message : String(cause),
    };
  }
}

/** The excluded namespaces of each constraint, with the reasons it carries. */
function exclusions(constraint: KubeObject): { namespace: string; reason: string }[] {
  const text = constraint.metadata.annotations?.[EXEMPTIONS_ANNOTATION];
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as { namespace: string; reason: string }[];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export const admissionPoliciesCheck: SystemCheck = {
  name: 'admission-policies',
  description:
    'Every Gatekeeper constraint the platform generates admits every object the platform deploys on the cluster (evaluated in CEL as Gatekeeper evaluates it): a violation is fixed in the values or exempted in the definition with its reason.',
  check(input: SystemInput) {
    const issues: Issue[] = [];
    // Clusters deploy many equal objects: each is evaluated once per template and parameters.
    const cache: VerdictCache = new Map();
    for (const deployed of input.clusters) {
      const policies = policiesOf(deployed);
      if (policies === undefined) continue;
      const result = evaluate(policies, cache);
      if (result.compileError !== undefined) {
        issues.push(
          error({
            code: 'admission-policies',
            path: policies.app.origin,
            message: `a ConstraintTemplate on cluster "${deployed.cluster.name}" does not compile: ${result.compileError}`,
            expected: 'CEL expressions Gatekeeper accepts',
          }),
        );
        continue;
      }
      for (const kind of result.unknownKinds) {
        issues.push(
          error({
            code: 'admission-policies',
            path: policies.app.origin,
            value: kind,
            message: `a constraint of kind ${kind} on cluster "${deployed.cluster.name}" has no ConstraintTemplate`,
            expected: 'a template for every constraint kind',
          }),
        );
      }
      const sources = new Map(policies.targets.map((target) => [target.object, target]));
      for (const verdict of result.verdicts) {
        if (verdict.messages.length === 0) continue;
        const target = sources.get(verdict.object);
        issues.push(
          error({
            code: 'admission-policies',
            path: target?.app.origin ?? policies.app.origin,
            ...(target === undefined ? {} : { output: target.source }),
            value: verdict.constraint.metadata.name,
            message: `${describe(verdict.object)} on cluster "${deployed.cluster.name}" violates ${verdict.constraint.metadata.name} (${enforcement(verdict.constraint)}): ${verdict.messages.join('; ')}`,
            expected:
              'the object fixed in its component, or an exemption of its namespace in components.policy.exemptions with the reason',
          }),
        );
      }
    }
    return issues;
  },
  report(input: SystemInput) {
    const lines: string[] = [];
    const cache: VerdictCache = new Map();
    for (const deployed of input.clusters) {
      const policies = policiesOf(deployed);
      if (policies === undefined) continue;
      const result = evaluate(policies, cache);
      const evaluated = policies.targets.length - result.exempt.length;
      const violations = result.verdicts.filter((verdict) => verdict.messages.length > 0);
      const actions = [...new Set(policies.constraints.map(enforcement))].join(', ');
      lines.push(
        `cluster ${deployed.cluster.name}: ${policies.constraints.length} constraints (${actions}) × ${evaluated} objects = ${policies.constraints.length * evaluated} pairs; ${result.verdicts.length} matched and evaluated; ${plural(violations.length, 'violation')}`,
        `  not evaluated: ${result.exempt.length} objects in Gatekeeper's exempt namespaces (${policies.exemptNamespaces.join(', ')})`,
      );
      const byPolicy = new Map<string, number>();
      for (const verdict of result.verdicts) {
        const name = verdict.constraint.metadata.name;
        byPolicy.set(name, (byPolicy.get(name) ?? 0) + 1);
      }
      for (const constraint of [...policies.constraints].sort((a, b) =>
        compareStrings(a.metadata.name, b.metadata.name),
      )) {
        const name = constraint.metadata.name;
        const failed = violations.filter((verdict) => verdict.constraint === constraint).length;
        lines.push(
          `  ${name}: ${plural(byPolicy.get(name) ?? 0, 'object')} evaluated, ${plural(failed, 'violation')}`,
        );
        for (const exclusion of exclusions(constraint)) {
          if (policies.exemptNamespaces.includes(exclusion.namespace)) continue;
          lines.push(`    exempt: ${exclusion.namespace} (${exclusion.reason})`);
        }
      }
      for (const verdict of violations) {
        lines.push(
          `  VIOLATION ${verdict.constraint.metadata.name}: ${describe(verdict.object)}: ${verdict.messages.join('; ')}`,
        );
      }
    }
    return lines;
  },
};

/** Key the upstream chart's values live under (its dependency name). */
const VALUES_KEY = 'gatekeeper';

/**
 * The failure policy of Gatekeeper's validating and mutating webhooks in the vendored chart
 * 3.23.0 (`validatingWebhookFailurePolicy`, `mutatingWebhookFailurePolicy` in values.yaml; the
 * component test reads them there, so a release that changes them fails it).
 */
export const UPSTREAM_WEBHOOK_FAILURE_POLICY = 'Ignore';

type Table = { [key: string]: unknown };

function table(value: unknown): Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Table)
    : {};
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/**
 * Gatekeeper's webhooks and an outage of Gatekeeper: with failurePolicy Fail the API server
 * refuses what it cannot have Gatekeeper review, so while Gatekeeper's pods are down no pod of
 * the CNI (which Gatekeeper's own pods need to run and be reached) nor of DNS could be created,
 * unless the API server does not call the webhook for their namespaces at all: the webhook's
 * `namespaceSelector` skips namespaces labelled `admission.gatekeeper.sh/ignore` (and its own),
 * a label the post-install Job sets on `postInstall.labelNamespace.extraNamespaces`, and which
 * Gatekeeper admits only on namespaces its `--exempt-namespace` flags name
 * (`controllerManager.exemptNamespaces`, chart 3.23.0).
 */
export const webhookOutageCheck: SystemCheck = {
  name: 'admission-webhook-outage',
  description:
    "Where Gatekeeper's validating or mutating webhook fails closed (failurePolicy Fail), the namespaces of the cluster's CNI and DNS providers are skipped by it (labelled admission.gatekeeper.sh/ignore by the post-install Job and exempt by Gatekeeper's --exempt-namespace flags): otherwise, with Gatekeeper's pods down, neither could create a pod, and Gatekeeper's pods need the CNI to come back.",
  check(input: SystemInput) {
    const issues: Issue[] = [];
    for (const deployed of input.clusters) {
      const app = deployed.applications.find((candidate) => candidate.component === 'policy');
      if (app === undefined) continue;
      const values = table(deployedValues(input, app)?.[VALUES_KEY]);
      const failing: string[] = [];
      if (
        values.disableValidatingWebhook !== true &&
        (values.validatingWebhookFailurePolicy ?? UPSTREAM_WEBHOOK_FAILURE_POLICY) === 'Fail'
      ) {
        failing.push('validatingWebhookFailurePolicy');
      }
      if (
        values.disableMutation !== true &&
        (values.mutatingWebhookFailurePolicy ?? UPSTREAM_WEBHOOK_FAILURE_POLICY) === 'Fail'
      ) {
        failing.push('mutatingWebhookFailurePolicy');
      }
      if (failing.length === 0) continue;
      const manager = table(values.controllerManager);
      const exempt = new Set([app.namespace, ...names(manager.exemptNamespaces)]);
      const prefixes = names(manager.exemptNamespacePrefixes);
      const suffixes = names(manager.exemptNamespaceSuffixes);
      const isExempt = (namespace: string) =>
        exempt.has(namespace) ||
        prefixes.some((prefix) => namespace.startsWith(prefix)) ||
        suffixes.some((suffix) => namespace.endsWith(suffix));
      const job = table(table(values.postInstall).labelNamespace);
      const labelled = new Set([
        app.namespace,
        ...(job.enabled === false ? [] : names(job.extraNamespaces)),
      ]);
      for (const capability of ['cni', 'dns'] as const) {
        const provider = deployed.run.providers.get(capability);
        if (provider === undefined) continue;
        const namespace = deployed.run.contributions.get(provider)?.application?.namespace;
        if (namespace === undefined) continue;
        const missing = [
          ...(isExempt(namespace) ? [] : ['controllerManager.exemptNamespaces']),
          ...(labelled.has(namespace) ? [] : ['postInstall.labelNamespace.extraNamespaces']),
        ];
        if (missing.length === 0) continue;
        issues.push(
          error({
            code: 'admission-webhook-outage',
            path: settingsPath(deployed.cluster, 'policy'),
            output: `charts/gatekeeper (values on cluster ${deployed.cluster.name})#${VALUES_KEY}.${failing[0]}`,
            value: namespace,
            message: `Gatekeeper's ${failing.join(' and ')} is Fail on cluster "${deployed.cluster.name}" while namespace "${namespace}" of the ${capability} provider (${provider}) is not skipped by its webhooks (missing from ${missing.join(' and ')}): with Gatekeeper's pods down, no pod of ${provider} could be created, and Gatekeeper needs the CNI to come back`,
            expected: `failurePolicy Ignore (the chart's default), or "${namespace}" in controllerManager.exemptNamespaces and postInstall.labelNamespace.extraNamespaces`,
          }),
        );
      }
    }
    return issues;
  },
};
