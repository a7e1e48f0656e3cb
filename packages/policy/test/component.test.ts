// The policy component on the contract: constraints per environment, Gatekeeper's exemptions,
// HA per profile with a PDB that never blocks a drain, its Application, flows and facts; and the
// conformance of our values and objects with the vendored gatekeeper chart.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeObject, parseYaml, type Values, validateObjects } from '@homelab/core';
import {
  pasteShells,
  readVendoredChartFile,
  testComponent,
  unknownValueKeys,
  zshTestRuns,
} from '@homelab/core/testing';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { UPSTREAM_WEBHOOK_FAILURE_POLICY } from '../src/check.js';
import {
  CHECK_IGNORE_LABEL_WEBHOOK,
  gatekeeperDown,
  IGNORE_LABEL,
  IGNORE_LABELLED_NAMESPACES,
} from '../src/component.js';
import { CONSTRAINT_TEMPLATE_HEALTH_LUA, policyComponent } from '../src/index.js';
import { POLICIES } from '../src/templates.js';
import { GATEKEEPER_CHART } from '../src/versions.js';
import { type PolicyRun, REGISTRY, runPolicy } from './helpers.js';

const run = runPolicy();
// biome-ignore lint/suspicious/noExplicitAny: test navigation into plain JSON
type AnyJson = any;

describe('constraints', () => {
  test('run in dryrun in development, warn in staging and deny in production', () => {
    const action = (cluster: string) => [
      ...new Set(run.constraints(cluster).map((c) => (c.spec as AnyJson).enforcementAction)),
    ];
    expect(action('dev')).toEqual(['dryrun']);
    expect(action('staging')).toEqual(['warn']);
    expect(action('prod')).toEqual(['deny']);
    const forced = runPolicy({ enforcementAction: 'deny' });
    expect([
      ...new Set(forced.constraints('dev').map((c) => (c.spec as AnyJson).enforcementAction)),
    ]).toEqual(['deny']);
  });

  test('one template and one constraint per policy, templates in the base layer, constraints per cluster', () => {
    expect(
      run
        .templates('dev')
        .map((t) => t.metadata.name)
        .sort(),
    ).toEqual(POLICIES.map((policy) => policy.kind.toLowerCase()).sort());
    expect(
      run
        .constraints('dev')
        .map((c) => c.kind)
        .sort(),
    ).toEqual(POLICIES.map((p) => p.kind).sort());
    const chart = run.components.components.find((c) => c.component.name === 'policy')?.output
      .chart;
    const base = Object.values((chart?.values.manifests ?? {}) as { [key: string]: KubeObject });
    expect(base.every((object) => object.kind === 'ConstraintTemplate')).toBe(true);
  });

  test('every template is CEL only (K8sNativeValidation), with no Rego', () => {
    for (const template of run.templates('dev') as AnyJson[]) {
      expect(template.spec.targets).toHaveLength(1);
      expect(template.spec.targets[0].rego).toBeUndefined();
      expect(template.spec.targets[0].code.map((c: AnyJson) => c.engine)).toEqual([
        'K8sNativeValidation',
      ]);
    }
  });

  test('Gatekeeper exempts its own and the system namespaces: flags, the namespace label, its Config and every constraint', () => {
    const values = run.values('dev').gatekeeper as AnyJson;
    expect(values.controllerManager.exemptNamespaces).toEqual([
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    expect(values.postInstall.labelNamespace.extraNamespaces).toEqual([
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    const config = run.objects('dev').find((o) => o.kind === 'Config') as AnyJson;
    expect(config.spec.match).toEqual([
      {
        excludedNamespaces: ['gatekeeper-system', 'kube-node-lease', 'kube-public', 'kube-system'],
        processes: ['*'],
      },
    ]);
    for (const constraint of run.constraints('dev') as AnyJson[]) {
      expect(constraint.spec.match.excludedNamespaces).toEqual(
        expect.arrayContaining([
          'gatekeeper-system',
          'kube-node-lease',
          'kube-public',
          'kube-system',
          'kubelet-serving-cert-approver',
        ]),
      );
    }
  });

  test('pod security excludes exactly the namespaces components declare privileged', () => {
    const podSecurity = run
      .constraints('dev')
      .find((c) => c.metadata.name === 'pod-security') as AnyJson;
    expect(podSecurity.spec.match.excludedNamespaces).toEqual([
      'gatekeeper-system',
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'kubelet-serving-cert-approver',
      'longhorn-system',
      'net-secrets',
    ]);
    const hostPaths = run
      .constraints('dev')
      .find((c) => c.metadata.name === 'host-paths') as AnyJson;
    expect(hostPaths.spec.parameters).toEqual({
      allowed: [{ namespace: 'longhorn-system', path: '/var/lib/longhorn' }],
    });
  });
});

describe('pod security per namespace', () => {
  test('follows each namespace of an Application at its own level: privileged, baseline or restricted', () => {
    // The applications' Application: its first namespace privileged (adguard), the others at
    // their own levels. Neither the restricted namespace (paperless) may be left out because
    // the first is privileged, nor may a baseline one (homeassistant: an image that runs as
    // root) be held to restricted, which would deny what Pod Security admission admits there.
    const applications = testComponent({
      name: 'applications',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace: 'adguard',
          podSecurity: 'privileged',
          additionalNamespaces: ['homeassistant', 'paperless'],
          additionalPodSecurity: { homeassistant: 'baseline', paperless: 'restricted' },
          clusterResources: [],
        },
      }),
    });
    const withApps = runPolicy({}, [...REGISTRY, applications]);
    const podSecurity = withApps
      .constraints('prod')
      .find((c) => c.metadata.name === 'pod-security') as AnyJson;
    expect(podSecurity.spec.match.excludedNamespaces).toEqual([
      'adguard',
      'gatekeeper-system',
      'homeassistant',
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'kubelet-serving-cert-approver',
      'longhorn-system',
      'net-secrets',
    ]);
    const reasons = JSON.parse(podSecurity.metadata.annotations['homelab.dev/exemptions']);
    expect(reasons.filter((r: AnyJson) => r.namespace === 'homeassistant')).toEqual([
      {
        namespace: 'homeassistant',
        reason: 'declared baseline by applications: Pod Security admission enforces baseline there',
      },
    ]);
  });
});

describe('host paths per namespace', () => {
  test('are allowed only in the namespaces an Application declares privileged', () => {
    // A monitoring stack under restricted with its node agent in a privileged namespace of its
    // own: the agent's host paths must not be allowed beside Prometheus, nor in kube-system
    // where it only has Services (Pod Security's baseline refuses hostPath volumes anyway).
    const monitoring = testComponent({
      name: 'monitoring',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace: 'monitoring',
          podSecurity: 'restricted',
          additionalNamespaces: ['kube-system', 'node-agent'],
          additionalPodSecurity: { 'node-agent': 'privileged' },
          hostPaths: ['/proc', '/sys'],
          clusterResources: [],
        },
      }),
    });
    const withMonitoring = runPolicy({}, [...REGISTRY, monitoring]);
    const constraint = (name: string) =>
      withMonitoring.constraints('prod').find((c) => c.metadata.name === name) as AnyJson;
    expect(constraint('host-paths').spec.parameters.allowed).toEqual([
      { namespace: 'longhorn-system', path: '/var/lib/longhorn' },
      { namespace: 'node-agent', path: '/proc' },
      { namespace: 'node-agent', path: '/sys' },
    ]);
    const excluded: string[] = constraint('pod-security').spec.match.excludedNamespaces;
    expect(excluded).toContain('node-agent');
    expect(excluded).not.toContain('monitoring');
  });
});

describe("the secrets provider's token", () => {
  test("names the provider's hand-made token, and nothing without a provider", () => {
    const tokens = (r: PolicyRun) =>
      r.constraints('prod').find((constraint) => constraint.metadata.name === 'provider-token')
        ?.spec;
    expect(tokens(runPolicy())).toMatchObject({ parameters: { secrets: ['bw-auth-token'] } });
    const none = runPolicy(
      {},
      REGISTRY.filter((component) => component.name !== 'vault'),
    );
    expect(tokens(none)).toMatchObject({ parameters: { secrets: [] } });
  });
});

describe('Gatekeeper itself', () => {
  test('scales per profile with a disruption budget that never blocks a drain', () => {
    const gatekeeper = (cluster: string) => run.values(cluster).gatekeeper as AnyJson;
    expect([
      gatekeeper('dev').replicas,
      gatekeeper('dev').pdb.controllerManager.minAvailable,
    ]).toEqual([1, 0]);
    expect([
      gatekeeper('staging').replicas,
      gatekeeper('staging').pdb.controllerManager.minAvailable,
    ]).toEqual([2, 1]);
    expect([
      gatekeeper('prod').replicas,
      gatekeeper('prod').pdb.controllerManager.minAvailable,
    ]).toEqual([3, 2]);
  });

  test('declares its Application (restricted, security project), its flows and the admission-policy fact', () => {
    const declared = run.components.clusters[0]?.contributions.get('policy');
    expect(declared?.application).toMatchObject({
      namespace: 'gatekeeper-system',
      podSecurity: 'restricted',
      project: 'security',
    });
    expect(
      declared?.flows?.map((flow) => [
        flow.name,
        flow.direction,
        flow.peer.kind,
        flow.ports.map((p) => p.port),
      ]),
    ).toEqual([
      ['webhook', 'ingress', 'kube-apiserver', [8443]],
      ['apiserver', 'egress', 'kube-apiserver', [6443]],
      ['metrics', 'ingress', 'capability', [8888]],
    ]);
    expect(declared?.facts?.['admission-policy']?.engine).toBe(
      'gatekeeper v3.23.0 (K8sNativeValidation)',
    );
    // What the consumers' onboarding tells a user's workloads: the enforcement of each
    // cluster's environment, and one rule per constraint, with this cluster's registries
    expect(
      run.components.clusters.map(
        (cluster) => cluster.contributions.get('policy')?.facts?.['admission-policy']?.enforcement,
      ),
    ).toEqual(['dryrun', 'warn', 'deny']);
    const rules = declared?.facts?.['admission-policy']?.rules ?? [];
    expect(rules).toHaveLength(9);
    expect(rules[1]).toBe(
      'Images only from the allowed registries (`docker.io/`, `ecr-public.aws.com/`, `ghcr.io/`, `quay.io/`, `registry.k8s.io/`; more with `components.policy.allowedRegistries`), each pinned to a tag other than latest or to a digest.',
    );
  });

  test("asks Argo CD to wait for Gatekeeper to make each template's constraint kind before the constraints' wave", () => {
    const declared = run.components.clusters[0]?.contributions.get('policy');
    const checks = declared?.application?.healthChecks ?? [];
    expect(checks.map((check) => [check.group, check.kind])).toEqual([
      ['templates.gatekeeper.sh', 'ConstraintTemplate'],
    ]);
    expect(checks[0]?.lua).toBe(CONSTRAINT_TEMPLATE_HEALTH_LUA);
    expect(CONSTRAINT_TEMPLATE_HEALTH_LUA).toContain('obj.status.created == true');
    // The wave it gates: templates before constraints, each constraint without a dry run of a
    // kind that does not exist yet.
    const wave = (object: KubeObject) =>
      Number(object.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0');
    const templates = run.templates('prod');
    const constraints = run.constraints('prod');
    expect(templates.map(wave)).toEqual(templates.map(() => 1));
    expect(constraints.map(wave)).toEqual(constraints.map(() => 2));
    expect(
      constraints.map(
        (constraint) => constraint.metadata.annotations?.['argocd.argoproj.io/sync-options'],
      ),
    ).toEqual(constraints.map(() => 'SkipDryRunOnMissingResource=true'));
  });

  test('asks for the generated admission policies and bindings, which the chart passes to both pods', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      const values = run.values(cluster).gatekeeper as AnyJson;
      expect([
        values.defaultCreateVAPForTemplates,
        values.defaultCreateVAPBindingForConstraints,
      ]).toEqual([true, true]);
    }
    // The flags reach the controller manager and the audit pod (whose generate operation makes
    // the policies) only where the values are set.
    for (const template of [
      'templates/gatekeeper-controller-manager-deployment.yaml',
      'templates/gatekeeper-audit-deployment.yaml',
    ]) {
      const text = readVendoredChartFile('gatekeeper', GATEKEEPER_CHART.version, template);
      expect(text, template).toContain('{{- if hasKey .Values "defaultCreateVAPForTemplates"}}');
      expect(text, template).toContain(
        '- --default-create-vap-binding-for-constraints={{ .Values.defaultCreateVAPBindingForConstraints }}',
      );
    }
  });

  test('audit lists only the kinds the constraints match, and every constraint names its kinds', () => {
    for (const cluster of ['dev', 'staging', 'prod']) {
      expect((run.values(cluster).gatekeeper as AnyJson).auditMatchKindOnly).toBe(true);
      // Gatekeeper audits every kind of the cluster again as soon as one constraint names none.
      const kinds = run
        .constraints(cluster)
        .map((constraint) => (constraint as AnyJson).spec.match?.kinds?.length ?? 0);
      expect(kinds.length).toBeGreaterThan(0);
      expect(kinds.filter((count: number) => count === 0)).toEqual([]);
    }
  });

  test('the objects pass the component validators, and a misspelled field does not', () => {
    const sourced = run.objects('prod').map((object) => ({ source: 'test', object, origin: [] }));
    expect(validateObjects(sourced, policyComponent.validators ?? [])).toEqual([]);
    const broken = structuredClone(run.constraints('prod')[0]) as AnyJson;
    broken.spec.enforcment = 'deny';
    expect(
      validateObjects(
        [{ source: 'test', object: broken, origin: [] }],
        policyComponent.validators ?? [],
      ),
    ).toHaveLength(1);
  });
});

describe('conformance with the vendored gatekeeper chart', () => {
  const upstream = parseYaml(
    readVendoredChartFile('gatekeeper', GATEKEEPER_CHART.version, 'values.yaml'),
  ) as Values;

  test("the webhooks' failure policy the outage check assumes where our values set none is the chart's", () => {
    expect([
      upstream.validatingWebhookFailurePolicy,
      upstream.mutatingWebhookFailurePolicy,
    ]).toEqual([UPSTREAM_WEBHOOK_FAILURE_POLICY, UPSTREAM_WEBHOOK_FAILURE_POLICY]);
    const ours = run.values('prod').gatekeeper as Values;
    expect([ours.validatingWebhookFailurePolicy, ours.mutatingWebhookFailurePolicy]).toEqual([
      undefined,
      undefined,
    ]);
  });

  // `commonLabels` has no default in values.yaml; the chart's helpers read it (checked here).
  const helpers = readVendoredChartFile(
    'gatekeeper',
    GATEKEEPER_CHART.version,
    'templates/_helpers.tpl',
  );
  // Nor the two VAP defaults, which its deployments read with hasKey (checked above).
  const known = {
    ...upstream,
    commonLabels: {},
    defaultCreateVAPForTemplates: true,
    defaultCreateVAPBindingForConstraints: true,
  };

  test('the chart reads commonLabels, which its values.yaml does not list', () => {
    expect(helpers).toContain('toYaml .Values.commonLabels');
  });

  test.each(['dev', 'staging', 'prod'])(
    'every key set under gatekeeper for %s exists upstream',
    (cluster) => {
      expect(unknownValueKeys(run.values(cluster).gatekeeper, known, undefined)).toEqual([]);
    },
  );

  test('the key check catches a misspelled key', () => {
    expect(
      unknownValueKeys({ controllerManager: { exemptNamespace: [] } }, known, undefined),
    ).toEqual(['controllerManager.exemptNamespace']);
  });

  test('the templates and the Config validate against the chart CRDs', () => {
    const crd = (file: string): AnyJson =>
      parseYaml(readVendoredChartFile('gatekeeper', GATEKEEPER_CHART.version, `crds/${file}`));
    const schemaOf = (document: AnyJson, version: string) =>
      document.spec.versions.find((v: AnyJson) => v.name === version).schema.openAPIV3Schema;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const template = ajv.compile(
      schemaOf(crd('constrainttemplate-customresourcedefinition.yaml'), 'v1'),
    );
    const config = ajv.compile(schemaOf(crd('config-customresourcedefinition.yaml'), 'v1alpha1'));
    for (const object of run.templates('prod')) {
      expect(template(object), JSON.stringify(template.errors)).toBe(true);
    }
    expect(config(run.objects('prod').find((o) => o.kind === 'Config'))).toBe(true);
    const broken = structuredClone(run.templates('prod')[0]) as AnyJson;
    broken.spec.targets = 'admission';
    expect(template(broken)).toBe(false);
  });
});

describe('ephemeral containers', () => {
  test("the chart's validating webhook reviews pods/ephemeralcontainers, so the policies on containers must read them", () => {
    // The rules list the chart's validatingWebhookSubResources (we set neither list).
    const template = readVendoredChartFile(
      'gatekeeper',
      GATEKEEPER_CHART.version,
      'templates/gatekeeper-validating-webhook-configuration-validatingwebhookconfiguration.yaml',
    );
    const validation = template.slice(0, template.indexOf('path: /v1/admitlabel'));
    expect(validation).toContain('{{- range .Values.validatingWebhookSubResources }}');
    const upstream = parseYaml(
      readVendoredChartFile('gatekeeper', GATEKEEPER_CHART.version, 'values.yaml'),
    ) as Values;
    expect(upstream.validatingWebhookSubResources).toContain('pods/ephemeralcontainers');
    const ours = run.values('prod').gatekeeper as Values;
    expect(ours.validatingWebhookSubResources).toBeUndefined();
    expect(ours.validatingWebhookCustomRules).toBeUndefined();
    const containers = (name: string) =>
      POLICIES.find((policy) => policy.name === name)?.variables.find(
        (variable) => variable.name === 'containers',
      )?.expression ?? '';
    for (const name of ['pod-security', 'allowed-images']) {
      expect(containers(name), name).toContain('variables.podSpec.ephemeralContainers');
    }
    // An ephemeral container cannot have resources: the API server refuses them.
    expect(containers('resource-requests')).not.toContain('ephemeralContainers');
  });
});

describe('Gatekeeper down: the runbook procedure for its fail-closed namespace-label webhook', () => {
  const template = readVendoredChartFile(
    'gatekeeper',
    GATEKEEPER_CHART.version,
    'templates/gatekeeper-validating-webhook-configuration-validatingwebhookconfiguration.yaml',
  );
  const upstream = parseYaml(
    readVendoredChartFile('gatekeeper', GATEKEEPER_CHART.version, 'values.yaml'),
  ) as Values;
  /** The names of the webhooks the chart's template renders, in order. */
  const webhookNames = (text: string): string[] =>
    [...text.matchAll(/^ {2}name: ([a-z-]+\.gatekeeper\.sh)$/gm)].map((match) => match[1] ?? '');
  /** The JSON patch of the runbook's lift, parsed from its command. */
  const liftPatch = (command: string): { op: string; path: string; value: string }[] =>
    JSON.parse(/-p '(.*)'$/.exec(command)?.[1] ?? 'null');
  const procedure = gatekeeperDown();

  test('the label webhook fails closed on every namespace but gatekeeper-system', () => {
    // Gatekeeper 3.23.0's chart: failurePolicy from validatingWebhookCheckIgnoreFailurePolicy
    // (Fail), its namespaceSelector excludes only the release namespace; we set neither
    expect(upstream.validatingWebhookCheckIgnoreFailurePolicy).toBe('Fail');
    expect(
      (run.values('prod').gatekeeper as Values).validatingWebhookCheckIgnoreFailurePolicy,
    ).toBeUndefined();
    const own = template.slice(template.indexOf('path: /v1/admitlabel'));
    expect(own).toContain('failurePolicy: {{ .Values.validatingWebhookCheckIgnoreFailurePolicy }}');
    expect(own).toContain(
      'namespaceSelector:\n    matchExpressions:\n    - key: kubernetes.io/metadata.name\n      operator: NotIn\n      values:\n      - {{ .Release.Namespace }}\n  rules:',
    );
  });

  test('the lift turns only the label webhook to Ignore, at the index the chart renders it', () => {
    const names = webhookNames(template);
    expect(names).toEqual(['validation.gatekeeper.sh', CHECK_IGNORE_LABEL_WEBHOOK]);
    expect(procedure.lift).toHaveLength(1);
    const command = procedure.lift[0] as string;
    expect(
      command.startsWith(
        `kubectl patch validatingwebhookconfiguration ${upstream.validatingWebhookName} --type=json -p '`,
      ),
    ).toBe(true);
    const index = names.indexOf(CHECK_IGNORE_LABEL_WEBHOOK);
    expect(liftPatch(command)).toEqual([
      { op: 'test', path: `/webhooks/${index}/name`, value: CHECK_IGNORE_LABEL_WEBHOOK },
      { op: 'replace', path: `/webhooks/${index}/failurePolicy`, value: 'Ignore' },
    ]);
    // And the check after the restore reads the same webhook, expecting Fail again
    expect(procedure.verify[0]).toBe(
      `kubectl get validatingwebhookconfiguration ${upstream.validatingWebhookName} -o jsonpath='{.webhooks[${index}].name}={.webhooks[${index}].failurePolicy}{"\\n"}' | grep -x '${CHECK_IGNORE_LABEL_WEBHOOK}=Fail'`,
    );
  });

  describe('after a lift, the restore fails while a namespace outside those the chart labels carries the ignore label', () => {
    // While the webhook failed open any Namespace update could add the label; Gatekeeper does not
    // look at it again once back, and the ValidatingAdmissionPolicies it generates copy the
    // webhook's namespaceSelector: the namespace would stay out of every policy for good.
    const check = procedure.verify.at(-1) as string;
    /** The check run by bash and zsh with a `kubectl` that prints `namespaces` (or fails). */
    const runCheck = (namespaces: string[] | 'fails') => {
      const bin = mkdtempSync(join(tmpdir(), 'policy-kubectl-'));
      try {
        const kubectl = join(bin, 'kubectl');
        writeFileSync(
          kubectl,
          namespaces === 'fails'
            ? '#!/bin/sh\necho "The connection to the server was refused" >&2\nexit 1\n'
            : `#!/bin/sh\n[ "$*" = "get namespaces -l ${IGNORE_LABEL} -o name" ] || exit 2\nprintf '%s\\n' ${namespaces.map((name) => `namespace/${name}`).join(' ')}\n`,
        );
        chmodSync(kubectl, 0o755);
        // And in zsh where found (macOS' login shell): the same status and output.
        const runs = pasteShells('bash').map((shell) => {
          const { status, stdout } = spawnSync(shell.command, [...shell.args, check], {
            encoding: 'utf8',
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
          });
          return { status, stdout };
        });
        for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
        return runs[0] as { status: number | null; stdout: string };
      } finally {
        rmSync(bin, { recursive: true, force: true });
      }
    };
    const chartLabelled = () => {
      const job = ((run.values('prod').gatekeeper as AnyJson).postInstall as AnyJson)
        .labelNamespace;
      return ['gatekeeper-system', ...(job.extraNamespaces as string[])].sort();
    };

    test('the namespaces it allows are exactly those the post-install Job labels', () => {
      expect(IGNORE_LABELLED_NAMESPACES).toEqual(chartLabelled());
      expect(IGNORE_LABELLED_NAMESPACES).toEqual([
        'gatekeeper-system',
        'kube-node-lease',
        'kube-public',
        'kube-system',
      ]);
    });

    (zshTestRuns('policy: the ignore-label check') ? test : test.skip)('runs in zsh too', () => {
      expect(pasteShells('bash').map((shell) => shell.name)).toEqual(['bash', 'zsh']);
    });

    test('passes on those, fails naming any other, and fails when kubectl does', () => {
      expect(runCheck([...IGNORE_LABELLED_NAMESPACES]).status).toBe(0);
      const stray = runCheck([...IGNORE_LABELLED_NAMESPACES, 'media', 'argocd']);
      expect(stray.status).not.toBe(0);
      expect(stray.stdout.trim().split('\n')).toEqual(['namespace/media', 'namespace/argocd']);
      expect(runCheck('fails').status).not.toBe(0);
    });

    test('the runbook says how to remove it', () => {
      expect(procedure.symptom).toContain(`kubectl label namespace <name> ${IGNORE_LABEL}-`);
    });
  });

  test('a chart that renders the label webhook first breaks the index check', () => {
    // Given the template with its two webhooks swapped
    const at = template.indexOf('- admissionReviewVersions', template.indexOf('path: /v1/admit\n'));
    const head = template.slice(0, template.indexOf('webhooks:\n') + 'webhooks:\n'.length);
    const swapped = `${head}${template.slice(at)}\n${template.slice(head.length, at)}`;
    // Then the webhook the lift patches is no longer at its index
    expect(webhookNames(swapped).indexOf(CHECK_IGNORE_LABEL_WEBHOOK)).toBe(0);
    expect(liftPatch(procedure.lift[0] as string)[0]?.path).not.toBe('/webhooks/0/name');
  });

  test('the probe is a server-side dry run, which goes through the webhook, outside gatekeeper-system', () => {
    for (const commands of [procedure.diagnose, procedure.recover]) {
      expect(commands.at(-1)).toBe(
        'kubectl label namespace default homelab.dev/admission-probe=1 --dry-run=server',
      );
    }
    expect(procedure.recover.slice(0, 2)).toEqual([
      'kubectl -n gatekeeper-system rollout restart deployment gatekeeper-controller-manager',
      'kubectl -n gatekeeper-system rollout status deployment gatekeeper-controller-manager --timeout=10m',
    ]);
    expect(
      policyComponent.declare({ settings: {}, cluster: { environment: 'production' } } as never)
        .whenDown,
    ).toEqual(procedure);
  });
});

describe('allowed registries admit the images the components run (policy-registries)', () => {
  /** A component whose chart runs images of `repositories` in namespace `namespace`. */
  const upstream = (namespace: string, repositories: string[]) =>
    testComponent({
      name: 'gitops',
      needs: ['cni'],
      contribution: () => ({
        application: {
          namespace,
          podSecurity: 'restricted',
          clusterResources: [],
          imageRepositories: { [namespace]: repositories },
        },
      }),
    });
  const registryIssues = (run: PolicyRun) =>
    run.issues.filter((issue) => issue.code === 'policy-registries');

  test('passes with the default registries, which admit what every platform chart runs', () => {
    const run = runPolicy({}, [
      ...REGISTRY,
      upstream('argocd', [
        'ecr-public.aws.com/docker/library/redis',
        'quay.io/argoproj/argocd',
        'docker.io/longhornio/longhorn-manager',
        'registry.k8s.io/sig-storage/snapshot-controller',
        'ghcr.io/authelia/authelia',
      ]),
    ]);
    expect(registryIssues(run)).toEqual([]);
  });

  test('refuses a list without the registry of a repository, at allowedRegistries, once per cluster', () => {
    const run = runPolicy({ allowedRegistries: ['quay.io/', 'docker.io/'] }, [
      ...REGISTRY,
      upstream('argocd', ['quay.io/argoproj/argocd', 'ecr-public.aws.com/docker/library/redis']),
    ]);
    const issues = registryIssues(run);
    expect(issues.map((issue) => [issue.severity, issue.path.join('.')])).toEqual([
      ['error', 'clusters.0.components.policy.allowedRegistries'],
      ['error', 'clusters.1.components.policy.allowedRegistries'],
      ['error', 'clusters.2.components.policy.allowedRegistries'],
    ]);
    expect(issues[0]?.message).toBe(
      'admit no image of ecr-public.aws.com/docker/library/redis (gitops, namespace argocd) on cluster "dev": the allowed-images policy refuses these pods of the platform (Gatekeeper denies them where it enforces, production by default, and the component never starts there)',
    );
    expect(issues[0]?.expected).toBe(
      'allowedRegistries with a prefix of each ("ecr-public.aws.com/"), or the namespace exempted from allowed-images in components.policy.exemptions with the reason',
    );
  });

  test('matches by prefix as the policy does: a repository path admits its own images only', () => {
    const narrow = runPolicy({ allowedRegistries: ['quay.io/argoproj/argocd/'] }, [
      ...REGISTRY,
      upstream('argocd', ['quay.io/argoproj/argocd']),
    ]);
    expect(registryIssues(narrow)).toHaveLength(3);
    const path = runPolicy({ allowedRegistries: ['quay.io/argoproj/'] }, [
      ...REGISTRY,
      upstream('argocd', ['quay.io/argoproj/argocd']),
    ]);
    expect(registryIssues(path)).toEqual([]);
  });

  test('leaves out the namespaces exempt from allowed-images: system, declared, the definition’s', () => {
    const system = runPolicy({ allowedRegistries: ['quay.io/'] }, [
      ...REGISTRY,
      upstream('kube-system', ['ecr-public.aws.com/docker/library/redis']),
    ]);
    expect(registryIssues(system)).toEqual([]);
    const exempted = runPolicy(
      {
        allowedRegistries: ['quay.io/'],
        exemptions: [
          { policy: 'allowed-images', namespace: 'argocd', reason: 'a local mirror follows later' },
        ],
      },
      [...REGISTRY, upstream('argocd', ['ecr-public.aws.com/docker/library/redis'])],
    );
    expect(registryIssues(exempted)).toEqual([]);
    // Another policy's exemption does not count.
    const otherPolicy = runPolicy(
      {
        allowedRegistries: ['quay.io/'],
        exemptions: [
          { policy: 'required-labels', namespace: 'argocd', reason: 'its chart takes no labels' },
        ],
      },
      [...REGISTRY, upstream('argocd', ['ecr-public.aws.com/docker/library/redis'])],
    );
    expect(registryIssues(otherPolicy)).toHaveLength(3);
  });
});
