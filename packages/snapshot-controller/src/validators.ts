// Build-time validation of the VolumeSnapshotClass this package emits (layer 2), written by hand
// for the fields we use; the conformance tests check it against the vendored CRD as well.
import { createRequire } from 'node:module';
import {
  type KindSchema,
  kindValidatorSource,
  kindValidators,
  type ObjectValidator,
  type StandaloneSource,
} from '@homelab/core';

const require = createRequire(import.meta.url);

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'kind', 'metadata', 'driver', 'deletionPolicy'],
      properties: {
        apiVersion: { const: 'snapshot.storage.k8s.io/v1' },
        kind: { const: 'VolumeSnapshotClass' },
        metadata: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' },
            labels: stringMap,
            annotations: stringMap,
          },
        },
        driver: { type: 'string', minLength: 1 },
        deletionPolicy: { enum: ['Delete', 'Retain'] },
        parameters: stringMap,
      },
    },
  },
];

export const snapshotValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

export const snapshotValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
