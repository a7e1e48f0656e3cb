// The VolSync CRDs of the vendored chart (0.16.0), read in place, as JSON schemas and validators:
// shared by the conformance tests and the tests of single features.
import { parseAllDocuments } from '@homelab/core';
import { readVendoredChartFile } from '@homelab/core/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import type { AnyJson } from './helpers.js';

export const VERSION = '0.16.0';

/** Closes every object schema that lists its properties and does not preserve unknown fields. */
export function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const original = schema as { [key: string]: unknown };
  const out: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(original)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strict(v)]))
        : strict(value);
  }
  if (
    original.properties !== undefined &&
    original.additionalProperties === undefined &&
    original['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

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
  const schema = strict(crdSchema(file)) as AnyJson;
  schema.properties.metadata = { type: 'object' };
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}
