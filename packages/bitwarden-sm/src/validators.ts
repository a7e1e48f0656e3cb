// Build-time validation of the BitwardenSecrets this package emits (layer 2). The schema is our
// own, written from the fields upstream documents for `k8s.bitwarden.com/v1` BitwardenSecret
// (organizationId, secretName, authToken, map, onlyMappedSecrets, useSecretNames); the CRD itself
// is AGPL-3.0 and not copied. Closed objects, so a typo is an error; the conformance tests also
// check the objects against the CRD schema in the vendored chart.
//
// As in @homelab/cilium, the build generates ajv standalone code for the schema
// (dist/validators.standalone.cjs); from src/ (tests) it is compiled on first use.
import { createRequire } from 'node:module';
import {
  KIND_SCHEMA_PARTS,
  type KindSchema,
  kindValidatorSource,
  kindValidators,
  type ObjectValidator,
  type StandaloneSource,
} from '@homelab/core';
import { BITWARDEN_API_VERSION, BITWARDEN_KIND } from './inventory.js';

const require = createRequire(import.meta.url);

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
const DNS_LABEL = KIND_SCHEMA_PARTS.dnsLabel;
const SECRET_KEY = '^[-._a-zA-Z0-9]+$';
const stringMap = KIND_SCHEMA_PARTS.stringMap;

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: BITWARDEN_API_VERSION,
    kind: BITWARDEN_KIND,
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      properties: {
        apiVersion: { const: BITWARDEN_API_VERSION },
        kind: { const: BITWARDEN_KIND },
        metadata: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'namespace'],
          properties: {
            name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
            namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL },
            labels: stringMap,
            annotations: stringMap,
          },
        },
        spec: {
          type: 'object',
          additionalProperties: false,
          required: ['organizationId', 'secretName', 'authToken'],
          properties: {
            organizationId: { type: 'string', pattern: UUID },
            secretName: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
            map: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['bwSecretId', 'secretKeyName'],
                properties: {
                  bwSecretId: { type: 'string', pattern: UUID },
                  secretKeyName: { type: 'string', maxLength: 253, pattern: SECRET_KEY },
                },
              },
            },
            authToken: {
              type: 'object',
              additionalProperties: false,
              required: ['secretName', 'secretKey'],
              properties: {
                secretName: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
                secretKey: { type: 'string', maxLength: 253, pattern: SECRET_KEY },
              },
            },
            onlyMappedSecrets: { type: 'boolean' },
            useSecretNames: { type: 'boolean' },
          },
        },
      },
    },
  },
];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const bitwardenValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

/** Validators of the BitwardenSecrets this package emits (for core's output validation). */
export const bitwardenValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
