// Build-time validation of the longhorn.io objects this package emits (layer 2). The schema is
// written by hand for the fields we use (additionalProperties false, so a typo is an error); the
// conformance tests check the same objects against the CRDs of the vendored chart.
//
// The build generates ajv standalone code for it (dist/validators.standalone.cjs), so the CLI
// never loads the ajv compiler; from src/ (tests) the schema is compiled on first use.
import { createRequire } from 'node:module';
import {
  type KindSchema,
  kindValidatorSource,
  kindValidators,
  type ObjectValidator,
  type StandaloneSource,
} from '@homelab/core';

const require = createRequire(import.meta.url);

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'RecurringJob',
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      properties: {
        apiVersion: { const: 'longhorn.io/v1beta2' },
        kind: { const: 'RecurringJob' },
        metadata: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'namespace'],
          properties: {
            name: { type: 'string', maxLength: 40, pattern: DNS_SUBDOMAIN },
            namespace: { type: 'string' },
            labels: stringMap,
            annotations: stringMap,
          },
        },
        spec: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'task', 'cron', 'retain', 'concurrency', 'groups'],
          properties: {
            name: { type: 'string', minLength: 1 },
            task: {
              enum: [
                'snapshot',
                'snapshot-force-create',
                'snapshot-cleanup',
                'snapshot-delete',
                'backup',
                'backup-force-create',
                'filesystem-trim',
              ],
            },
            cron: { type: 'string', minLength: 1 },
            retain: { type: 'integer', minimum: 1, maximum: 100 },
            concurrency: { type: 'integer', minimum: 1 },
            groups: { type: 'array', items: { type: 'string', minLength: 1 } },
            labels: stringMap,
            parameters: stringMap,
          },
        },
      },
    },
  },
];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const longhornValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

/** Validators of the longhorn.io kinds this package emits (for core's output validation). */
export const longhornValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
