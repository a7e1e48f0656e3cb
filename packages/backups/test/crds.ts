// The VolSync CRDs of the vendored chart (0.16.0), read in place, as JSON schemas and validators:
// shared by the conformance tests and the tests of single features.
import { parseAllDocuments } from '@homelab/core';
import { closedCrdSchema, readVendoredChartFile } from '@homelab/core/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import type { AnyJson } from './helpers.js';

export const VERSION = '0.16.0';

/** The v1alpha1 openAPIV3Schema of a CRD of the vendored chart (its template lines dropped). */
export function crdSchema(file: string): AnyJson {
  const text = readVendoredChartFile('volsync', VERSION, `templates/${file}`)
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  const crd = parseAllDocuments(text).find(
    (doc) => (doc as AnyJson)?.kind === 'CustomResourceDefinition',
  ) as AnyJson;
  return crd.spec.versions.find((v: AnyJson) => v.name === 'v1alpha1').schema.openAPIV3Schema;
}

/** A CRD of the vendored chart, as a validator of v1alpha1. */
export function crdValidator(file: string): ValidateFunction {
  const schema = closedCrdSchema(crdSchema(file)) as AnyJson;
  schema.properties.metadata = { type: 'object' };
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}
