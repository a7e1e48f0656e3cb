// Every generated Application and AppProject against the Argo CD v3.4.4 CRD schemas, read from
// vendor/upstream/argo-cd. Unknown fields are refused (as `kubectl apply
// --validate=strict` does), except where the schema preserves them.
import type { KubeObject } from '@homelab/core';
import { parseAllDocuments, TERMINATE_OPERATION } from '@homelab/core';
import { closedCrdSchema, readUpstream, testRun } from '@homelab/core/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assembleApplications } from '../src/applications.js';
import { FLEET, fleetDefinition } from './fleet.js';

type Schema = { [key: string]: unknown };

function crdValidator(file: string): ValidateFunction {
  const crd = parse(readUpstream('argo-cd', 'crds-v3.4.4', file)) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  const version = crd.spec.versions.find((candidate) => candidate.name === 'v1alpha1');
  if (version === undefined) throw new Error(`${file}: no v1alpha1`);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(closedCrdSchema(version.schema.openAPIV3Schema) as Schema);
}

const validators: { [kind: string]: ValidateFunction } = {
  Application: crdValidator('application-crd.yaml'),
  AppProject: crdValidator('appproject-crd.yaml'),
};

function problems(object: KubeObject): string[] {
  const validate = validators[object.kind];
  if (validate === undefined) throw new Error(`no CRD for ${object.kind}`);
  if (validate(object)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

/** Every Application and AppProject the umbrella chart and the root files hold. */
function generatedObjects(): KubeObject[] {
  const { platform, components } = testRun(fleetDefinition(), FLEET);
  const { chart, files } = assembleApplications(platform, components);
  if (chart === undefined) throw new Error('no umbrella chart');
  const objects: KubeObject[] = [];
  for (const layer of Object.values(chart.clusters)) {
    objects.push(...(Object.values(layer.manifests as object) as KubeObject[]));
  }
  for (const file of files) objects.push(...(parseAllDocuments(file.content) as KubeObject[]));
  return objects;
}

describe('Argo CD CRD schemas (v3.4.4)', () => {
  const objects = generatedObjects();

  it('covers the Applications and AppProjects of every cluster and the root files', () => {
    const count = (kind: string) => objects.filter((object) => object.kind === kind).length;
    // 3 clusters × (6 Applications + 6 projects: one per purpose, the CRD bundles' included) in
    // the umbrella, 3 × (root + bootstrap project).
    expect(count('Application')).toBe(21);
    expect(count('AppProject')).toBe(21);
  });

  it.each(['Application', 'AppProject'])('validates every generated %s', (kind) => {
    for (const object of objects.filter((candidate) => candidate.kind === kind)) {
      expect(problems(object), object.metadata.name).toEqual([]);
    }
  });

  it('refuses a misspelled field, so the check can fail', () => {
    const app = objects.find((object) => object.kind === 'Application') as KubeObject & {
      spec: Schema;
    };
    const broken = { ...app, spec: { ...app.spec, syncPolicy: { automatd: { prune: true } } } };
    expect(problems(broken as KubeObject).join('\n')).toContain('"additionalProperty":"automatd"');
  });

  it('refuses a field of the wrong type', () => {
    const project = objects.find((object) => object.kind === 'AppProject') as KubeObject & {
      spec: Schema;
    };
    const broken = {
      ...project,
      spec: { ...project.spec, sourceRepos: 'https://example.com/repo.git' },
    };
    expect(problems(broken as KubeObject).join('\n')).toContain('/spec/sourceRepos must be array');
  });

  it('lets a patch of the Application itself set status.operationState.phase, as the runbooks end a sync', () => {
    // core TERMINATE_OPERATION patches /status/operationState/phase through the Application,
    // as the API server's TerminateOperation updates it: that only reaches the status while the
    // CRD has no status subresource (with one, the API server would drop the change and the
    // runbook's wait would time out)
    const crd = parse(readUpstream('argo-cd', 'crds-v3.4.4', 'application-crd.yaml')) as {
      spec: {
        versions: {
          subresources?: { status?: unknown };
          schema: { openAPIV3Schema: Schema };
        }[];
      };
    };
    const [version] = crd.spec.versions;
    expect(version?.subresources).toEqual({});
    const ops = JSON.parse(TERMINATE_OPERATION) as { op: string; path: string; value: string }[];
    expect(ops.map((op) => op.path)).toEqual([
      '/status/operationState/phase',
      '/status/operationState/phase',
    ]);
    const status = (version?.schema.openAPIV3Schema.properties as Schema | undefined)?.status as
      | { properties: { operationState: { properties: { phase: { type?: string } } } } }
      | undefined;
    const phase = status?.properties.operationState.properties.phase.type;
    expect(phase).toBe('string');
  });
});
