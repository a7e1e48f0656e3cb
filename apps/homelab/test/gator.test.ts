// Layer 5 (DESIGN.md, "Validation layers"): Gatekeeper's own engine, `gator test` of Gatekeeper
// v3.23.0 (what charts/gatekeeper, chart 3.23.0, deploys), on the platform's ConstraintTemplates,
// constraints and every object the platform deploys, from the committed output.
// 1. For every cluster that deploys Gatekeeper (a chart depending on the upstream `gatekeeper`
//    chart): every chart of the cluster rendered with the real Helm (`discoverRenders`, as the
//    Helm suite finds them); the templates, constraints and Config come from the policy chart's
//    render. gator compiles each template with Kubernetes' CEL libraries (its K8sNativeValidation
//    driver, pkg/drivers/k8scel/driver.go `AddTemplate`: the ValidatingAdmissionPolicy compiler
//    with Gatekeeper's `variables.anyObject` and `variables.params` bound,
//    transform/cel_snippets.go `AllVariablesCEL`) and reviews every object against every
//    constraint whose `spec.match` selects it (pkg/gator/test/test.go `Test`). Its verdicts must
//    equal those of the project's evaluator (`evaluateConstraints`, packages/policy
//    src/evaluate.ts) on the same objects: none denied on the reference output.
// 2. A template whose CEL does not compile: gator v3.23.0 does not refuse it when it is added
//    (driver.go `AddTemplate`: "compilation errors are possible, but we cannot introspect to see
//    whether any occurred"); the compile error comes back when an object is reviewed, as a denial
//    (no failurePolicy: Fail). So a template that does not compile shows up here as violations on
//    every object its constraint matches, and every constraint is checked to match some object.
// 3. Broken on purpose: a privileged container in a namespace the pod-security constraint covers
//    (gator reports it with the template's message, as the evaluator does; moved to a namespace the
//    constraint excludes it is not reviewed); templates with a CEL syntax error and with a type
//    error (gator denies with a compilation error; the evaluator refuses to compile the first and
//    denies with an evaluation error on the second: it does not check types); a Deployment of the
//    platform given a volume of the secrets provider's token and an `envFrom` of it (gator reports
//    both with the provider-token template's messages, as the evaluator does); every Prometheus
//    Operator kind naming the token as a credential at its first and last credential paths and
//    one through a map (each kind's own CEL validation compiled and run by gator: denied, and
//    admitted with a Secret of its own); a ServiceMonitor and an AlertmanagerConfig naming a
//    file of Prometheus' or Alertmanager's pods at each of their file paths (monitor-files:
//    denied, and not reviewed in the monitoring namespace).
//
// What gator does not do: it applies neither Gatekeeper's Config (`spec.match` excludedNamespaces
// per process) nor the controller's `--exempt-namespace` flags (nothing in pkg/gator reads them;
// the webhook and audit apply them through their process excluder). The suite leaves out the
// objects of those namespaces as the `admission-policies` check does (src/check.ts: Gatekeeper's
// namespace and the Config's excluded namespaces for `*` or `webhook`), and checks that the
// flags name no namespace the Config does not. Helm hooks Argo CD never runs (the charts' test
// Pods) are left out, and so is every `null` member of an object (see `admitted`: the API server
// drops them when it decodes a manifest, gator would not). Objects controllers make at run time
// (the Prometheus Operator's StatefulSets, VolSync's movers) are evaluated by packages/cli's
// own-output test, not here.
//
// Needs gator (`.ci/run` builds it with .ci/install-gator and passes its folder in GATOR_DIR;
// else it is looked for on PATH and in the tools cache). Without it the suite is skipped and says
// "gator suite: not run: gator not found" (a skipped test is not a passed one); with CI=true a
// missing gator fails. The renders also need `helm` (without it the tests on them say "not run",
// and fail in CI). Nothing here names a cluster: the clusters come from the committed output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeObject, parseYaml } from '@homelab/core';
import {
  type CredentialKind,
  configExemptNamespaces,
  credentialObject,
  evaluateConstraints,
  isExemptNamespace,
  MONITOR_CREDENTIALS,
  MONITOR_FILES,
  runValidations,
  templatesByKind,
  withoutNulls,
} from '@homelab/policy';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FoundTool, findTool, onHelmRenders, toolSuite } from './find-tool.js';
import {
  type ChartRender,
  discoverRenders,
  findHelm,
  neverRunByArgoCd,
  REPO,
  renderedObjects,
  vendoredCrdBundleObjects,
} from './helm/harness.js';

/** The Gatekeeper chart 3.23.0 deploys (Chart.yaml appVersion). */
const GATEKEEPER_VERSION = 'v3.23.0';
/** The upstream chart whose policies the suite checks. */
const GATEKEEPER_CHART = 'gatekeeper';
const INSTALL = 'build it: .ci/install-gator, and put its folder in GATOR_DIR or on PATH';

type Gator = FoundTool;
type Table = { [key: string]: unknown };

/** gator from GATOR_DIR, else PATH, else the tools cache .ci/install-gator fills. */
function findGator(): Gator | undefined {
  // cobra's version template: `gator version v3.23.0 (Feature State: beta), opa/…, frameworks/…`
  // (cmd/gator/gator.go, pkg/version/version.go `GetUserAgent`).
  return findTool('gator', 'GATOR_DIR', `gator-${GATEKEEPER_VERSION}`, /^gator version (\S+) /);
}

// ---------------------------------------------------------------------------------------------
// gator

/** One violation gator reports (pkg/gator/test/types.go `GatorResult`, frameworks `types.Result`). */
interface GatorResult {
  readonly msg?: string;
  readonly enforcementAction?: string;
  readonly constraint?: KubeObject;
  readonly violatingObject?: KubeObject;
}

interface GatorRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The results of `-o json`; undefined when gator printed no JSON (it failed). */
  readonly results: readonly GatorResult[] | undefined;
}

/** `gator test -f <dir> -o json` in `cwd` (as HOME too: nothing of the user's is read). */
function runGator(tool: Gator, dir: string, cwd: string): GatorRun {
  const result = spawnSync(tool.path, ['test', '--filename', dir, '--output', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '', HOME: cwd },
  });
  if (result.error) throw result.error;
  let results: GatorResult[] | undefined;
  try {
    // `json.MarshalIndent` of no results is `null` (cmd/gator/test/test.go `formatOutput`).
    results = (JSON.parse(result.stdout) as GatorResult[] | null) ?? [];
  } catch {
    results = undefined;
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr, results };
}

/** `<constraint kind>/<name> <object kind> <namespace>/<name>: <message>`, one line a violation. */
function line(constraint: KubeObject, object: KubeObject, message: string): string {
  return `${constraint.kind}/${constraint.metadata.name} ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}: ${message}`;
}

function gatorLines(results: readonly GatorResult[]): string[] {
  return results
    .map((result) =>
      line(result.constraint as KubeObject, result.violatingObject as KubeObject, result.msg ?? ''),
    )
    .sort();
}

// ---------------------------------------------------------------------------------------------
// The renders

const discovery = discoverRenders();
/** The renders of charts that depend on the upstream Gatekeeper chart (the policy component's). */
const policyRenders = discovery.renders.filter((render) => {
  const chart = parseYaml(readFileSync(join(REPO, render.path, 'Chart.yaml'), 'utf8')) as Table;
  const dependencies = Array.isArray(chart.dependencies) ? (chart.dependencies as Table[]) : [];
  return dependencies.some((dependency) => dependency.name === GATEKEEPER_CHART);
});

/** Kinds of Kubernetes' own API that are cluster-scoped (an object of these has no namespace). */
const CLUSTER_SCOPED = new Set([
  'v1/Namespace',
  'v1/Node',
  'v1/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/VolumeAttachment',
  'scheduling.k8s.io/PriorityClass',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'certificates.k8s.io/CertificateSigningRequest',
]);

/** `group/Kind` (`v1/Kind` for the core group). */
function groupKind(object: KubeObject): string {
  const slash = object.apiVersion.lastIndexOf('/');
  return `${slash === -1 ? object.apiVersion : object.apiVersion.slice(0, slash)}/${object.kind}`;
}

/** `group/Kind` of every cluster-scoped custom kind the CRDs among `objects` define. */
function clusterScopedCustomKinds(objects: readonly KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const spec = (object.spec ?? {}) as {
      group?: string;
      scope?: string;
      names?: { kind?: string };
    };
    if (spec.scope === 'Cluster') out.add(`${spec.group}/${spec.names?.kind}`);
  }
  return out;
}

/**
 * The object as Gatekeeper gets it on admission (and lists it in its audit): the API server
 * decodes a manifest into the kind's typed object, where a `null` member is the field's zero
 * value, which `omitempty` leaves out when the object is encoded for the AdmissionReview; a
 * custom resource's `null` member of a field that is not `nullable` is dropped as well
 * (apiextensions-apiserver prunes nulls before defaulting). A non-`omitempty` field (a Role's
 * `rules`) would stay `null`, but no constraint matches those kinds: every null member of a kind
 * they match in the reference output is `omitempty` (k8s.io/api v0.36.2: PodSpec `volumes`,
 * Container `volumeMounts`, Service ports' `nodePort`, …). gator reads a file as it is: given
 * `volumes: null`, Kubernetes' CEL finds the member (`has()` is true) and fails on iterating
 * null, a denial no cluster would give. So every `null` member goes, recursively, before gator
 * sees the object: the evaluator's own `withoutNulls` (packages/policy), which it applies itself.
 */
const admitted = (object: KubeObject): KubeObject => withoutNulls(object) as KubeObject;

/** The paths of the `null` members of `value` (`spec.template.spec.volumes`). */
function nullPaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => nullPaths(item, `${path}[${index}]`));
  }
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Table).flatMap(([key, member]) => {
    const at = path === '' ? key : `${path}.${key}`;
    return member === null ? [at] : nullPaths(member, at);
  });
}

/** What the suite checks of one cluster. */
interface ClusterPolicies {
  readonly cluster: string;
  readonly templates: readonly KubeObject[];
  readonly constraints: readonly KubeObject[];
  /** Gatekeeper's namespace and the Config's excluded namespaces (as src/check.ts reads them). */
  readonly exempt: readonly string[];
  /** The controller's and audit's `--exempt-namespace` flags. */
  readonly flagExempt: readonly string[];
  /** Every object of the cluster's renders outside the exempt namespaces, with its namespace. */
  readonly objects: readonly KubeObject[];
  /** How many objects the exempt namespaces held. */
  readonly exemptCount: number;
  /** `<kind> <namespace>/<name>: <path>` of every `null` member dropped (see `admitted`). */
  readonly nulls: readonly string[];
}

const TEMPLATE_GROUP = 'templates.gatekeeper.sh/';
const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh/';

function isTemplate(object: KubeObject): boolean {
  return object.apiVersion.startsWith(TEMPLATE_GROUP) && object.kind === 'ConstraintTemplate';
}

function isConstraint(object: KubeObject): boolean {
  return object.apiVersion.startsWith(CONSTRAINT_GROUP);
}

/** `--exempt-namespace=<ns>` of the Gatekeeper containers among `objects`. */
function exemptFlags(objects: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'Deployment') continue;
    const pod = (object.spec as { template?: { spec?: { containers?: Table[] } } } | undefined)
      ?.template?.spec;
    for (const container of pod?.containers ?? []) {
      if (!/(^|\/)openpolicyagent\/gatekeeper(:|@|$)/.test(String(container.image ?? ''))) continue;
      for (const arg of (container.args ?? []) as string[]) {
        const match = /^--exempt-namespace=(.+)$/.exec(arg);
        if (match?.[1] !== undefined) out.add(match[1]);
      }
    }
  }
  return [...out].sort();
}

// ---------------------------------------------------------------------------------------------
// The suite

const gator = findGator();
const helm = findHelm();
let scratch = '';
const checked = new Map<string, ClusterPolicies>();
const timings = { gatorRuns: 0, gatorSeconds: 0 };
const start = Date.now();

/** Renders every chart of `cluster` with the real Helm, once. */
function policiesOf(cluster: string): ClusterPolicies {
  const done = checked.get(cluster);
  if (done !== undefined) return done;
  if (helm === undefined)
    expect.fail('helm not found on PATH (.ci/run installs it: .ci/install-helm)');
  const policyRender = policyRenders.find((render) => render.cluster === cluster) as ChartRender;
  const rendered = renderedObjects(
    helm,
    discovery.renders.filter((entry) => entry.cluster === cluster),
    scratch,
  );
  const all = rendered.flatMap(({ objects }) => objects);
  const clusterScoped = new Set([
    ...CLUSTER_SCOPED,
    ...clusterScopedCustomKinds([
      ...all,
      ...vendoredCrdBundleObjects().filter((object) => object.kind === 'CustomResourceDefinition'),
    ]),
  ]);
  // An object Helm renders without a namespace lands in its Application's (Argo CD applies it
  // there), unless its kind is cluster-scoped; templates and constraints are cluster-scoped.
  const placed = rendered.flatMap(({ render, objects }) =>
    objects.map((object) =>
      object.metadata.namespace !== undefined ||
      clusterScoped.has(groupKind(object)) ||
      isTemplate(object) ||
      isConstraint(object)
        ? object
        : { ...object, metadata: { ...object.metadata, namespace: render.namespace } },
    ),
  );
  const policyObjects = rendered.find(({ render }) => render === policyRender)?.objects ?? [];
  const exempt = [
    ...new Set([policyRender.namespace, ...configExemptNamespaces(policyObjects)]),
  ].sort();
  const isExempt = (object: KubeObject) => {
    const namespace =
      object.apiVersion === 'v1' && object.kind === 'Namespace'
        ? object.metadata.name
        : object.metadata.namespace;
    return namespace !== undefined && isExemptNamespace(exempt, namespace);
  };
  // Helm hooks Argo CD never runs (the charts' test Pods) are never applied.
  const deployed = placed.filter(
    (object) =>
      !isExempt(object) &&
      !isTemplate(object) &&
      !isConstraint(object) &&
      !neverRunByArgoCd(object),
  );
  const nulls = deployed.flatMap((object) =>
    nullPaths(object).map(
      (path) =>
        `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}: ${path}`,
    ),
  );
  const objects = deployed.map(admitted);
  const policies: ClusterPolicies = {
    cluster,
    templates: policyObjects.filter(isTemplate),
    constraints: policyObjects.filter(isConstraint),
    exempt,
    flagExempt: exemptFlags(policyObjects),
    objects,
    exemptCount: placed.filter(isExempt).length,
    nulls,
  };
  checked.set(cluster, policies);
  return policies;
}

/** Writes the templates, constraints and objects to a fresh folder and runs gator on it. */
function gatorOn(
  templates: readonly KubeObject[],
  constraints: readonly KubeObject[],
  objects: readonly KubeObject[],
): GatorRun {
  const dir = mkdtempSync(join(scratch, 'gator-'));
  const yaml = (list: readonly KubeObject[]) =>
    list.map((object) => `---\n${JSON.stringify(object)}\n`).join('');
  writeFileSync(join(dir, 'templates.yaml'), yaml(templates));
  writeFileSync(join(dir, 'constraints.yaml'), yaml(constraints));
  if (objects.length > 0) writeFileSync(join(dir, 'objects.yaml'), yaml(objects));
  const before = Date.now();
  const run = runGator(gator as Gator, dir, scratch);
  timings.gatorRuns++;
  timings.gatorSeconds += (Date.now() - before) / 1000;
  return run;
}

/** One case of a `gator verify` suite: an AdmissionReview and whether it must be denied. */
interface ReviewCase {
  readonly name: string;
  readonly operation: 'CREATE' | 'UPDATE';
  readonly object: KubeObject;
  readonly oldObject?: KubeObject;
  readonly denied: boolean;
}

/**
 * `gator verify` of a suite of one template, one constraint and `cases`, each an AdmissionReview
 * (pkg/gator/verify runner.go, `validateAndReviewAdmissionReviewRequest`: `gator test` reviews
 * objects only, as CREATEs), asserting `violations: yes` or `no`. Its status and output.
 */
function gatorVerify(
  template: KubeObject,
  constraint: KubeObject,
  cases: readonly ReviewCase[],
): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(scratch, 'verify-'));
  writeFileSync(join(dir, 'template.yaml'), JSON.stringify(template));
  writeFileSync(join(dir, 'constraint.yaml'), JSON.stringify(constraint));
  cases.forEach((review, index) => {
    const [group, version] = review.object.apiVersion.includes('/')
      ? review.object.apiVersion.split('/')
      : ['', review.object.apiVersion];
    writeFileSync(
      join(dir, `review-${index}.yaml`),
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: `review-${index}`,
          kind: { group, version, kind: review.object.kind },
          resource: { group, version, resource: `${review.object.kind.toLowerCase()}s` },
          name: review.object.metadata.name,
          namespace: review.object.metadata.namespace,
          operation: review.operation,
          userInfo: { username: 'system:serviceaccount:kube-system:deployment-controller' },
          object: review.object,
          ...(review.oldObject === undefined ? {} : { oldObject: review.oldObject }),
        },
      }),
    );
  });
  const suite = {
    apiVersion: 'test.gatekeeper.sh/v1alpha1',
    kind: 'Suite',
    tests: [
      {
        name: 'updates',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        cases: cases.map((review, index) => ({
          name: review.name,
          object: `review-${index}.yaml`,
          assertions: [{ violations: review.denied ? 'yes' : 'no' }],
        })),
      },
    ],
  };
  writeFileSync(join(dir, 'suite.yaml'), JSON.stringify(suite));
  const result = spawnSync(
    (gator as Gator).path,
    ['verify', '--verbose', join(dir, 'suite.yaml')],
    {
      cwd: scratch,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '', HOME: scratch },
    },
  );
  if (result.error) throw result.error;
  timings.gatorRuns++;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** The project's evaluator on the same input: one line per failing validation. */
function evaluatorLines(
  templates: readonly KubeObject[],
  constraints: readonly KubeObject[],
  objects: readonly KubeObject[],
  exempt: readonly string[],
): { lines: string[]; matched: Map<string, number> } {
  const { verdicts, unknownKinds } = evaluateConstraints(templates, constraints, objects, exempt);
  expect(unknownKinds).toEqual([]);
  const matched = new Map<string, number>();
  for (const verdict of verdicts) {
    const name = verdict.constraint.metadata.name;
    matched.set(name, (matched.get(name) ?? 0) + 1);
  }
  const lines = verdicts
    .flatMap((verdict) =>
      verdict.messages.map((message) => line(verdict.constraint, verdict.object, message)),
    )
    .sort();
  return { lines, matched };
}

const { suite, title } = toolSuite('gator', gator, INSTALL);
const onRenders = onHelmRenders('gator', gator, helm);

suite(title, () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'homelab-gator-'));
  });
  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    console.log(
      `gator suite: ${checked.size} cluster(s), ${timings.gatorRuns} gator test runs (${timings.gatorSeconds.toFixed(1)} s), ${((Date.now() - start) / 1000).toFixed(1)} s in all`,
    );
  });

  it(`is the gator of Gatekeeper ${GATEKEEPER_VERSION}, which chart 3.23.0 deploys`, () => {
    if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
    expect(gator.version).toBe(GATEKEEPER_VERSION);
  });

  it('finds the policies of every cluster of the committed output that deploys Gatekeeper', () => {
    // Every cluster with a root Application whose Applications hold a ConstraintTemplate is
    // one the suite checks (the committed output's, whatever the definition names them).
    const withPolicies = discovery.clusters
      .filter(({ cluster }) =>
        readdirSync(join(REPO, 'charts'))
          .filter((chart) => existsSync(join(REPO, 'charts', chart, 'clusters', `${cluster}.yaml`)))
          .some((chart) =>
            readFileSync(
              join(REPO, 'charts', chart, 'clusters', `${cluster}.yaml`),
              'utf8',
            ).includes('kind: ConstraintTemplate'),
          ),
      )
      .map(({ cluster }) => cluster);
    expect(policyRenders.map((render) => render.cluster).sort()).toEqual(withPolicies.sort());
  });

  if (policyRenders.length === 0) {
    console.log('gator suite: no cluster deploys Gatekeeper (nothing to check)');
  }

  for (const render of policyRenders) {
    const { cluster } = render;

    onRenders(
      `${cluster}: gator compiles every ConstraintTemplate and admits every object the platform deploys, as the project's evaluator does`,
      () => {
        if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
        const policies = policiesOf(cluster);
        const { templates, constraints, objects, exempt } = policies;
        expect(templates.length).toBeGreaterThan(0);
        // One constraint per template, but monitor-files' where no Prometheus runs (the policy
        // makes it only where a component provides metrics)
        const constrained = new Set(constraints.map((constraint) => constraint.kind.toLowerCase()));
        expect(constraints.length).toBe(constrained.size);
        expect(
          [...constrained].filter((kind) => !templates.some((t) => t.metadata.name === kind)),
        ).toEqual([]);
        const prometheus = objects.some(
          (object) =>
            object.kind === 'Prometheus' && object.apiVersion.startsWith('monitoring.coreos.com/'),
        );
        expect(
          templates
            .map((template) => template.metadata.name)
            .filter((name) => !constrained.has(name)),
        ).toEqual(prometheus ? [] : ['homelabmonitorfiles']);
        // Every exempt namespace of the controller's flags is one the Config names too: the
        // objects left out here are those Gatekeeper leaves out.
        expect(policies.flagExempt.filter((namespace) => !exempt.includes(namespace))).toEqual([]);
        const run = gatorOn(templates, constraints, objects);
        const said = run.results === undefined ? undefined : gatorLines(run.results);
        const own = evaluatorLines(templates, constraints, objects, exempt);
        console.log(
          `gator suite: ${cluster}: ${templates.length} templates, ${constraints.length} constraints, ${objects.length} objects (${policies.exemptCount} in exempt namespaces ${exempt.join(', ')} left out); ${[...own.matched.values()].reduce((a, b) => a + b, 0)} pairs matched; gator: ${said === undefined ? 'failed' : `${said.length} violation(s)`}`,
        );
        if (policies.nulls.length > 0) {
          console.log(
            `gator suite: ${cluster}: null members dropped as the API server drops them: ${policies.nulls.join('; ')}`,
          );
        }
        expect(run.stderr.trim(), run.stderr).toBe('');
        expect(said, run.stdout.slice(0, 2000)).toBeDefined();
        // The same verdicts: none on the reference output (the admission-policies check refuses
        // a build with one).
        expect(said).toEqual(own.lines);
        expect(said).toEqual([]);
        expect(run.status, run.stdout.slice(0, 2000)).toBe(0);
        // Every constraint matched objects: a template gator could not compile would have denied
        // them (no failurePolicy: Fail), so none of them failed to compile. A constraint that
        // matches none of this cluster's objects (monitor-files where no monitor is outside the
        // monitoring namespace) is given an empty object of its first kind, in a namespace it
        // covers, which it admits: compiled too.
        const unmatched = constraints.filter(
          (constraint) => (own.matched.get(constraint.metadata.name) ?? 0) === 0,
        );
        for (const constraint of unmatched) {
          const match = (
            constraint.spec as { match: { kinds: { apiGroups: string[]; kinds: string[] }[] } }
          ).match.kinds[0];
          const group = match?.apiGroups[0] ?? '';
          const probe = {
            apiVersion: group === '' ? 'v1' : `${group}/v1`,
            kind: match?.kinds[0] ?? '',
            metadata: { name: 'homelab-gator-probe', namespace: 'homelab-gator-probe' },
            spec: {},
          } as KubeObject;
          const template = templates.filter(
            (candidate) => candidate.metadata.name === constraint.kind.toLowerCase(),
          );
          const probed = gatorOn(template, [constraint], [probe]);
          expect(probed.stderr.trim(), probed.stderr).toBe('');
          expect(probed.results, `${constraint.metadata.name} on an empty ${probe.kind}`).toEqual(
            [],
          );
          expect(
            evaluatorLines(template, [constraint], [probe], exempt).matched.get(
              constraint.metadata.name,
            ),
          ).toBe(1);
        }
        console.log(
          `gator suite: ${cluster}: constraints matching none of its objects, compiled on an empty one: ${unmatched.map((constraint) => constraint.metadata.name).join(', ') || 'none'}`,
        );
      },
      10 * 60_000,
    );
  }

  // Broken on purpose, on the first cluster's rendered policies and objects.
  const first = policyRenders[0]?.cluster;
  const brokenRuns = first !== undefined ? onRenders : it.skip;

  /** The constraint of `kind`, its template, and a Deployment it covers (first cluster). */
  /**
   * The provider-token case with a token name of the test's own beside the cluster's: the
   * committed output is the user's, maybe without a secrets provider.
   */
  function providerTokenCase() {
    const { constraint: deployed, ...rest } = policyCase('HomelabProviderToken');
    const token = 'homelab-test-token';
    const constraint = structuredClone(deployed) as KubeObject;
    const parameters = (constraint.spec as { parameters: { secrets: string[] } }).parameters;
    parameters.secrets = [...parameters.secrets, token];
    return { ...rest, constraint, token };
  }

  function policyCase(kind: string) {
    const policies = policiesOf(first as string);
    const constraint = policies.constraints.find(
      (candidate) => candidate.kind === kind,
    ) as KubeObject;
    expect(constraint).toBeDefined();
    const template = policies.templates.find(
      (candidate) => candidate.metadata.name === constraint.kind.toLowerCase(),
    ) as KubeObject;
    const excluded = (
      (constraint.spec as { match?: { excludedNamespaces?: string[] } }).match
        ?.excludedNamespaces ?? []
    ).filter((namespace) => !policies.exempt.includes(namespace));
    const deployment = policies.objects.find(
      (object) =>
        object.kind === 'Deployment' &&
        !isExemptNamespace(excluded, object.metadata.namespace ?? ''),
    ) as KubeObject;
    expect(deployment, `a Deployment the ${kind} constraint covers`).toBeDefined();
    return { policies, constraint, template, excluded, deployment };
  }

  /**
   * The monitor-files constraint of the first cluster that has one (a metrics provider runs
   * there), with its template; where none has, the constraint as the policy component makes it
   * (its kinds, the monitoring namespace left out), with the first cluster's template.
   */
  function monitorFilesCase() {
    for (const render of policyRenders) {
      const policies = policiesOf(render.cluster);
      const constraint = policies.constraints.find((c) => c.kind === 'HomelabMonitorFiles');
      if (constraint === undefined) continue;
      const template = policies.templates.find(
        (candidate) => candidate.metadata.name === 'homelabmonitorfiles',
      ) as KubeObject;
      const excluded = (
        (constraint.spec as { match?: { excludedNamespaces?: string[] } }).match
          ?.excludedNamespaces ?? []
      ).filter((namespace) => !policies.exempt.includes(namespace));
      return { policies, constraint, template, excluded };
    }
    console.log('gator suite: no cluster runs a metrics provider: monitor-files made here');
    const policies = policiesOf(first as string);
    const template = policies.templates.find(
      (candidate) => candidate.metadata.name === 'homelabmonitorfiles',
    ) as KubeObject;
    expect(template).toBeDefined();
    const constraint = {
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'HomelabMonitorFiles',
      metadata: { name: 'monitor-files' },
      spec: {
        enforcementAction: 'deny',
        match: {
          kinds: [
            {
              apiGroups: ['monitoring.coreos.com'],
              kinds: MONITOR_FILES.map((kind) => kind.kind),
            },
          ],
          excludedNamespaces: ['monitoring'],
        },
        parameters: {},
      },
    } as KubeObject;
    return { policies, constraint, template, excluded: ['monitoring'] };
  }

  /** The pod-security constraint, its template, and a Deployment it covers (first cluster). */
  const podSecurityCase = () => policyCase('HomelabPodSecurity');

  function privileged(deployment: KubeObject, namespace?: string): KubeObject {
    const copy = structuredClone(deployment) as KubeObject & {
      spec: { template: { spec: { containers: Table[] } } };
    };
    const container = copy.spec.template.spec.containers[0] as Table;
    container.securityContext = {
      ...((container.securityContext as Table | undefined) ?? {}),
      privileged: true,
    };
    if (namespace !== undefined) copy.metadata = { ...copy.metadata, namespace };
    return copy;
  }

  brokenRuns(
    'reports a privileged container in a namespace the pod-security constraint covers, with the template message, as the evaluator does; not where the constraint excludes the namespace (broken on purpose)',
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { policies, constraint, template, excluded, deployment } = podSecurityCase();
      const broken = privileged(deployment);
      const name = String(
        (broken.spec as { template: { spec: { containers: Table[] } } }).template.spec.containers[0]
          ?.name,
      );
      const run = gatorOn([template], [constraint], [broken]);
      expect(run.stderr.trim()).toBe('');
      expect(run.results).toBeDefined();
      const results = run.results ?? [];
      expect(results.map((result) => result.msg)).toEqual([`privileged containers: ${name}`]);
      expect(results[0]?.constraint?.metadata.name).toBe(constraint.metadata.name);
      expect(results[0]?.violatingObject?.metadata.name).toBe(broken.metadata.name);
      const action =
        (constraint.spec as { enforcementAction?: string }).enforcementAction ?? 'deny';
      expect(results[0]?.enforcementAction).toBe(action);
      // gator exits non-zero only for a `deny` constraint (cmd/gator/test/test.go).
      expect(run.status).toBe(action === 'deny' ? 1 : 0);
      expect(gatorLines(results)).toEqual(
        evaluatorLines([template], [constraint], [broken], policies.exempt).lines,
      );
      // In a namespace the constraint excludes (a namespace declared privileged), gator reviews
      // nothing, and the evaluator matches nothing.
      const elsewhere = excluded[0];
      if (elsewhere === undefined) {
        console.log('gator suite: the pod-security constraint excludes no namespace here');
        return;
      }
      const moved = privileged(deployment, elsewhere);
      const movedRun = gatorOn([template], [constraint], [moved]);
      expect(movedRun.status).toBe(0);
      expect(movedRun.results).toEqual([]);
      expect(
        evaluateConstraints([template], [constraint], [moved], policies.exempt).verdicts,
      ).toEqual([]);
    },
    10 * 60_000,
  );

  brokenRuns(
    "denies a Deployment that mounts the secrets provider's token or reads it from its environment, with the template messages, as the evaluator does (broken on purpose)",
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { policies, constraint, template, deployment, token } = providerTokenCase();
      // Admitted as the platform deploys it
      expect(gatorOn([template], [constraint], [deployment]).results).toEqual([]);
      const broken = structuredClone(deployment) as KubeObject & {
        spec: { template: { spec: { containers: Table[]; volumes?: Table[] } } };
      };
      const pod = broken.spec.template.spec;
      pod.volumes = [...(pod.volumes ?? []), { name: 'stolen', secret: { secretName: token } }];
      const container = pod.containers[0] as Table;
      container.envFrom = [
        ...((container.envFrom as Table[] | undefined) ?? []),
        { secretRef: { name: token } },
      ];
      const run = gatorOn([template], [constraint], [broken]);
      expect(run.stderr.trim()).toBe('');
      expect((run.results ?? []).map((result) => result.msg).sort()).toEqual([
        `containers reading the secrets provider token from the environment: ${String(container.name)}`,
        'volumes of the secrets provider token: stolen',
      ]);
      expect(gatorLines(run.results ?? [])).toEqual(
        evaluatorLines([template], [constraint], [broken], policies.exempt).lines,
      );
    },
    10 * 60_000,
  );

  brokenRuns(
    "denies every Prometheus Operator kind that names the secrets provider's token as a credential (its first and last path, and one through a map), admits the same with a Secret of its own, as the evaluator does (broken on purpose)",
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { policies, constraint, template, deployment, token } = providerTokenCase();
      const namespace = deployment.metadata.namespace as string;
      const withSecret = (
        kind: CredentialKind,
        path: readonly string[],
        name: string,
      ): KubeObject =>
        credentialObject(
          kind,
          path,
          { name, key: 'token' },
          { name: `${kind.kind.toLowerCase()}-${kind.paths.indexOf(path)}-${name}`, namespace },
        );
      const broken: KubeObject[] = [];
      const own: KubeObject[] = [];
      for (const kind of MONITOR_CREDENTIALS) {
        for (const path of new Set([
          kind.paths[0],
          kind.paths.at(-1),
          // a map's value (proxyConnectHeader: header names to selectors)
          kind.paths.find((candidate) => candidate.includes('{}')),
        ])) {
          if (path === undefined) continue;
          broken.push(withSecret(kind, path, token));
          own.push(withSecret(kind, path, 'homelab-test-own'));
        }
      }
      expect(broken.length).toBeGreaterThanOrEqual(2 * MONITOR_CREDENTIALS.length - 1);
      const run = gatorOn([template], [constraint], broken);
      expect(run.stderr.trim()).toBe('');
      const results = run.results ?? [];
      expect(
        results.map((result) => `${result.violatingObject?.metadata.name}: ${result.msg}`).sort(),
      ).toEqual(
        broken
          .map(
            (object) =>
              `${object.metadata.name}: ${object.kind} names the secrets provider token (${(constraint.spec as { parameters: { secrets: string[] } }).parameters.secrets.join(', ')}) as a credential: the Prometheus Operator would read it and Prometheus or Alertmanager send it out`,
          )
          .sort(),
      );
      expect(gatorLines(results)).toEqual(
        evaluatorLines([template], [constraint], broken, policies.exempt).lines,
      );
      const admitted = gatorOn([template], [constraint], own);
      expect(admitted.stderr.trim()).toBe('');
      expect(admitted.results).toEqual([]);
    },
    10 * 60_000,
  );

  brokenRuns(
    "denies a ServiceMonitor or AlertmanagerConfig naming a file of Prometheus' or Alertmanager's pods, at each of their file paths, as the evaluator does, and reviews none in the monitoring namespace (broken on purpose)",
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { policies, constraint, template, excluded } = monitorFilesCase();
      const at = (kind: CredentialKind, path: readonly string[], namespace: string): KubeObject =>
        credentialObject(kind, path, '/var/run/secrets/kubernetes.io/serviceaccount/token', {
          name: `${kind.kind.toLowerCase()}-${kind.paths.indexOf(path)}`,
          namespace,
        });
      const namespace = 'homelab-gator-apps';
      const broken = MONITOR_FILES.flatMap((kind) =>
        kind.paths.map((path) => at(kind, path, namespace)),
      );
      expect(broken).toHaveLength(7);
      const run = gatorOn([template], [constraint], broken);
      expect(run.stderr.trim()).toBe('');
      const results = run.results ?? [];
      expect(results.map((result) => result.violatingObject?.metadata.name).sort()).toEqual(
        broken.map((object) => object.metadata.name).sort(),
      );
      expect(gatorLines(results)).toEqual(
        evaluatorLines([template], [constraint], broken, policies.exempt).lines,
      );
      // The monitoring namespace's own monitors read Prometheus' files: not reviewed there
      expect(excluded).toContain('monitoring');
      const own = MONITOR_FILES.flatMap((kind) =>
        kind.paths.map((path) => at(kind, path, 'monitoring')),
      );
      expect(gatorOn([template], [constraint], own).results).toEqual([]);
    },
    10 * 60_000,
  );

  brokenRuns(
    'admits an UPDATE that leaves the pod spec as it was, of a Deployment that breaks the pod-security policy (a scale, a finalizer removed), and denies its CREATE and an UPDATE into it, as the evaluator does (gator verify on AdmissionReviews)',
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { constraint, template, deployment } = podSecurityCase();
      // Enforced, whatever the environment's action: gator verify counts the violations.
      const enforced = {
        ...constraint,
        spec: { ...(constraint.spec as Table), enforcementAction: 'deny' },
      } as KubeObject;
      const broken = privileged(deployment);
      const scaled = structuredClone(broken) as KubeObject & { spec: Table };
      scaled.spec.replicas = 7;
      scaled.metadata = { ...scaled.metadata, finalizers: ['foregroundDeletion'] };
      const cases: ReviewCase[] = [
        { name: 'create', operation: 'CREATE', object: broken, denied: true },
        { name: 'scale', operation: 'UPDATE', object: scaled, oldObject: broken, denied: false },
        {
          name: 'rollout',
          operation: 'UPDATE',
          object: broken,
          oldObject: deployment,
          denied: true,
        },
      ];
      const run = gatorVerify(template, enforced, cases);
      expect(run.stderr.trim()).toBe('');
      expect(run.stdout).not.toMatch(/FAIL/);
      expect(run.status, run.stdout).toBe(0);
      // Each case ran (gator prints a PASS line per case with --verbose)
      for (const review of cases) expect(run.stdout).toContain(review.name);
      // The same verdicts from the project's evaluator
      const source = templatesByKind([template]).get(constraint.kind);
      if (source === undefined) throw new Error('no source for the pod-security template');
      const parameters = (constraint.spec as { parameters?: never }).parameters;
      expect(
        cases.map(
          (review) =>
            runValidations(source, review.object, parameters, review.oldObject).length > 0,
        ),
      ).toEqual(cases.map((review) => review.denied));
      // Broken on purpose: the guard taken out of the template, the scale is denied too
      const unguarded = structuredClone(template) as KubeObject & {
        spec: { targets: { code: { source: { validations: Table[] } }[] }[] };
      };
      const code = unguarded.spec.targets[0]?.code[0]?.source as { validations: Table[] };
      code.validations = code.validations.map((validation) => ({
        ...validation,
        expression: String(validation.expression).replace('variables.unchangedUpdate || ', ''),
      }));
      const without = gatorVerify(unguarded, enforced, cases);
      expect(without.status).toBe(1);
      expect(without.stdout).toMatch(/FAIL/);
    },
    10 * 60_000,
  );

  brokenRuns(
    'denies with a compilation error what a template with a CEL syntax or type error matches; the evaluator refuses the first and denies on the second (broken on purpose)',
    () => {
      if (gator === undefined) expect.fail(`gator not found (${INSTALL})`);
      const { policies, constraint, template, deployment } = podSecurityCase();
      const withValidation = (expression: string): KubeObject => {
        const copy = structuredClone(template) as KubeObject & {
          spec: { targets: { code: { source: { validations: Table[] } }[] }[] };
        };
        const source = copy.spec.targets[0]?.code[0]?.source as { validations: Table[] };
        source.validations = [{ expression, message: 'broken on purpose' }];
        return copy;
      };
      // A syntax error (an unclosed call): the evaluator does not compile it (the
      // admission-policies check reports the template as not compiling).
      const syntax = withValidation('variables.containers.all(c, ');
      const syntaxRun = gatorOn([syntax], [constraint], [deployment]);
      expect(syntaxRun.stderr.trim()).toBe('');
      expect((syntaxRun.results ?? []).map((result) => result.msg)).toEqual([
        expect.stringMatching(/compilation error: .*Syntax error/),
      ]);
      expect(syntaxRun.results?.[0]?.violatingObject?.metadata.name).toBe(deployment.metadata.name);
      expect(() =>
        evaluateConstraints([syntax], [constraint], [deployment], policies.exempt),
      ).toThrow();
      // A type error (int + string: no such overload): gator's compiler refuses it; the
      // evaluator, which does not check types, fails to evaluate it and denies too.
      const typed = withValidation("1 + 'a' == 2");
      const typedRun = gatorOn([typed], [constraint], [deployment]);
      expect(typedRun.stderr.trim()).toBe('');
      expect((typedRun.results ?? []).map((result) => result.msg)).toEqual([
        expect.stringMatching(/compilation error: .*found no matching overload for '_\+_'/),
      ]);
      const verdicts = evaluateConstraints(
        [typed],
        [constraint],
        [deployment],
        policies.exempt,
      ).verdicts;
      expect(verdicts.map((verdict) => verdict.messages)).toEqual([
        [expect.stringMatching(/^evaluation error \(denied\): /)],
      ]);
    },
    10 * 60_000,
  );
});
