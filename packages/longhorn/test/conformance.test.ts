// Conformance with the pinned Longhorn release, read from the vendored chart archive (vendor/):
// every key we set exists in its values.yaml, every custom resource validates against its CRD
// (templates/crds.yaml), every core object against the Kubernetes schemas.
import {
  type KubeObject,
  loadModelValidators,
  parseAllDocuments,
  parseYaml,
  type Values,
  validateObjects,
} from '@homelab/core';
import { closedCrdSchema, readVendoredChartFile, unknownValueKeys } from '@homelab/core/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, test } from 'vitest';
import { longhornValidators } from '../src/validators.js';
import { LONGHORN_CHART_VERSION } from '../src/versions.js';
import { type AnyJson, chartObjects, consumer, definition, runLonghorn } from './helpers.js';

const VERSION = LONGHORN_CHART_VERSION;
const upstreamValues = parseYaml(
  readVendoredChartFile('longhorn', VERSION, 'values.yaml'),
) as Values;

/** The chart's CRDs: templates/crds.yaml without its template lines. */
function crds(): AnyJson[] {
  const text = readVendoredChartFile('longhorn', VERSION, 'templates/crds.yaml')
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  return (parseAllDocuments(text) as AnyJson[]).filter(
    (doc) => doc?.kind === 'CustomResourceDefinition',
  );
}

function crdValidator(kind: string, version: string): ValidateFunction {
  const crd = crds().find((doc) => doc.spec.names.kind === kind);
  const served = crd?.spec.versions.find((v: AnyJson) => v.name === version);
  if (served === undefined)
    throw new Error(`${kind} ${version} is not in the Longhorn ${VERSION} CRDs`);
  const schema = closedCrdSchema(served.schema.openAPIV3Schema) as AnyJson;
  // metadata is the API server's: check only that it is an object.
  schema.properties.metadata = { type: 'object' };
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

describe(`Longhorn ${VERSION}`, () => {
  const app = consumer('app', [{ name: 'data', namespace: 'apps', size: '1Gi', tier: 'standard' }]);
  const run = runLonghorn(definition(), [app]);
  const objects = run.platform.clusters.flatMap((cluster) => [
    ...chartObjects(run.components, 'longhorn', cluster),
    ...chartObjects(run.components, 'app', cluster),
  ]);

  test.each(['dev', 'staging', 'prod'])(
    'every key we set under longhorn for %s exists upstream',
    (name) => {
      const chart = run.rendered[name];
      expect(chart?.issues).toEqual([]);
      expect(unknownValueKeys(chart?.values.longhorn, upstreamValues, undefined)).toEqual([]);
    },
  );

  test('the key check fails on a misspelled setting', () => {
    const ours = run.rendered.dev?.values.longhorn as AnyJson;
    expect(
      unknownValueKeys(
        { ...ours, defaultSettings: { ...ours.defaultSettings, nodeDrainPolicyy: 'x' } },
        upstreamValues,
        undefined,
      ),
    ).toEqual(['defaultSettings.nodeDrainPolicyy']);
  });

  test('the settings we set are settings this release has (questions.yaml)', () => {
    const questions = readVendoredChartFile('longhorn', VERSION, 'questions.yaml');
    for (const cluster of ['dev', 'staging', 'prod']) {
      const settings = (run.rendered[cluster]?.values.longhorn as AnyJson)?.defaultSettings;
      for (const key of Object.keys(settings)) {
        expect(questions).toContain(`variable: defaultSettings.${key}`);
      }
    }
    const policy = (run.rendered.dev?.values.longhorn as AnyJson)?.defaultSettings.nodeDrainPolicy;
    expect(questions).toContain(`- "${policy}"`);
  });

  test('every RecurringJob validates against the longhorn.io/v1beta2 CRD of the chart', () => {
    const validate = crdValidator('RecurringJob', 'v1beta2');
    const jobs = objects.filter((o) => o.kind === 'RecurringJob');
    expect(jobs.length).toBe(4 + 4 + 6);
    for (const job of jobs) {
      expect(validate(job) ? [] : validate.errors).toEqual([]);
      expect(longhornValidators[0]?.validate(job)).toEqual([]);
    }
  });

  test('the CRD and our validator both refuse an unknown task and a misspelled field', () => {
    const validate = crdValidator('RecurringJob', 'v1beta2');
    const job = objects.find((o) => o.kind === 'RecurringJob') as AnyJson;
    const badTask = { ...job, spec: { ...job.spec, task: 'snapshots' } };
    const typo = { ...job, spec: { ...job.spec, retian: 3 } };
    for (const broken of [badTask, typo]) {
      expect(validate(broken)).toBe(false);
      expect(longhornValidators[0]?.validate(broken)).not.toEqual([]);
    }
  });

  test("the runbook's patches of a Longhorn node give disks its v1beta2 Node CRD accepts", () => {
    // Each merge patch of "Later: changing a storage node's disks", applied to a Node object,
    // must validate against the chart's Node CRD (spec.disks.<name>: DiskSpec), or kubectl patch
    // would be refused (or a misspelled field pruned).
    const validate = crdValidator('Node', 'v1beta2');
    const node = (spec: AnyJson) => ({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Node',
      metadata: { name: 'prod-w1' },
      spec,
    });
    const patches = run.components.clusters.flatMap((cluster) => {
      const body: string = (
        cluster.contributions.get('longhorn') as AnyJson
      ).bootstrap[0].body.join('\n');
      return [
        ...body.matchAll(/--type=merge -p '(\{"spec":\{"disks":\{"[a-z]+":\{"path[^']*)'/g),
      ].map((m) => JSON.parse(m[1] ?? '{}'));
    });
    // one patch of all its disks per storage node, twice: the system disk kept where it exists,
    // added without scheduling otherwise (dev: one node, staging: three, prod: three workers)
    expect(patches.length).toBe(2 * (1 + 3 + 3));
    expect(Object.keys(patches.at(-1).spec.disks)).toEqual(['system', 'fast', 'bulk']);
    for (const patch of patches) {
      expect(validate(node(patch.spec)) ? [] : validate.errors).toEqual([]);
    }
    // the reserve set once the size is known, as the patch the shell prints
    expect(
      validate(node({ disks: { system: { allowScheduling: true, storageReserved: 123 } } })),
    ).toBe(true);
    // the schema refuses a misspelled field and a disk type Longhorn does not know
    const disk = patches[0].spec.disks;
    const name = Object.keys(disk)[0] as string;
    expect(validate(node({ disks: { [name]: { ...disk[name], storageReserve: 1 } } }))).toBe(false);
    expect(validate(node({ disks: { [name]: { ...disk[name], diskType: 'ext4' } } }))).toBe(false);
  });

  test('StorageClasses and claims validate against the Kubernetes schemas', async () => {
    const sourced = objects
      .filter((o) => o.kind !== 'RecurringJob')
      .map((object: KubeObject) => ({ object, source: object.metadata.name }));
    expect(sourced.map((s) => s.object.kind).sort()).toContain('StorageClass');
    expect(validateObjects(sourced, await loadModelValidators(sourced))).toEqual([]);
  });
});

describe("the chart's uninstall hook, which Argo CD runs when the Application is deleted", () => {
  const run = runLonghorn();
  const uninstall = (
    run.components.clusters[0]?.contributions.get('longhorn') as AnyJson | undefined
  )?.application?.uninstall;

  test('is declared: the pinned chart renders a pre-delete hook that uninstalls with --force', () => {
    // Given the pinned chart: Argo CD v3.4.4 runs its pre-delete hook on the Application's deletion
    const job = readVendoredChartFile('longhorn', VERSION, 'templates/uninstall-job.yaml');
    expect(job).toContain('"helm.sh/hook": pre-delete');
    expect(job).toMatch(/- longhorn-manager\n\s+- uninstall\n\s+- --force/);
    expect(job.split('\n')[0]).toBe('apiVersion: batch/v1'); // rendered unconditionally
    // Then the Application declares it, saying what it deletes
    expect(uninstall.reason).toContain('deletes every Longhorn volume and its data');
  });

  test("sets the setting longhorn-manager's uninstall refuses to run without", () => {
    // longhorn-manager v1.8.1 controller/uninstall_controller.go: "cannot uninstall Longhorn
    // because deleting-confirmation-flag is set to `false`"; our values leave it at its default.
    expect(uninstall.prepare).toEqual([
      `kubectl -n longhorn-system patch settings.longhorn.io deleting-confirmation-flag --type=merge -p '{"value":"true"}'`,
    ]);
    expect(upstreamValues.defaultSettings).toHaveProperty('deletingConfirmationFlag');
  });

  test('checks the webhooks longhorn-manager registers at run time are gone', () => {
    // longhorn-manager v1.8.1 types/webhook.go: ValidatingWebhookName, MutatingWebhookName
    expect(uninstall.verify).toEqual([
      'kubectl get validatingwebhookconfiguration longhorn-webhook-validator --ignore-not-found',
      'kubectl get mutatingwebhookconfiguration longhorn-webhook-mutator --ignore-not-found',
    ]);
  });
});
