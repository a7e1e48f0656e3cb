// Build-time validation of the Gatekeeper objects this package emits: ConstraintTemplates, the
// constraints of our templates and Gatekeeper's Config. Written by hand for the fields we use
// (additionalProperties false, so a typo is caught); the conformance tests additionally check
// the templates and the Config against the CRDs in the vendored chart. The build generates
// standalone validator code for them (dist/validators.standalone.cjs), as @homelab/cilium does.
import { createRequire } from 'node:module';
import {
  KIND_SCHEMA_PARTS,
  type KindSchema,
  kindValidatorSource,
  kindValidators,
  type ObjectValidator,
  type StandaloneSource,
} from '@homelab/core';
import { POLICIES } from './templates.js';

const require = createRequire(import.meta.url);

type Schema = { [key: string]: unknown };

const DNS_SUBDOMAIN = KIND_SCHEMA_PARTS.dnsSubdomain;
const stringMap: Schema = KIND_SCHEMA_PARTS.stringMap;
const strings: Schema = { type: 'array', items: { type: 'string' } };

function metadata(namespaced: boolean): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: namespaced ? ['name', 'namespace'] : ['name'],
    properties: {
      name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
      ...(namespaced ? { namespace: { type: 'string', pattern: DNS_SUBDOMAIN } } : {}),
      labels: stringMap,
      annotations: stringMap,
    },
  };
}

function objectSchema(apiVersion: string, kind: string, namespaced: boolean, spec: Schema): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: metadata(namespaced),
      spec,
    },
  };
}

const expression: Schema = { type: 'string', minLength: 1 };

const templateSpec: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['crd', 'targets'],
  properties: {
    crd: {
      type: 'object',
      additionalProperties: false,
      required: ['spec'],
      properties: {
        spec: {
          type: 'object',
          additionalProperties: false,
          required: ['names'],
          properties: {
            names: {
              type: 'object',
              additionalProperties: false,
              required: ['kind'],
              properties: { kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$' } },
            },
            validation: {
              type: 'object',
              additionalProperties: false,
              properties: { openAPIV3Schema: { type: 'object' } },
            },
          },
        },
      },
    },
    targets: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['target', 'code'],
        properties: {
          target: { const: 'admission.k8s.gatekeeper.sh' },
          code: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['engine', 'source'],
              properties: {
                engine: { const: 'K8sNativeValidation' },
                source: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['validations'],
                  properties: {
                    variables: {
                      type: 'array',
                      items: {
                        type: 'object',
                        additionalProperties: false,
                        required: ['name', 'expression'],
                        properties: {
                          // Gatekeeper reserves `params`, `anyObject` and the gatekeeper_internal_ prefix.
                          name: {
                            type: 'string',
                            pattern:
                              '^(?!params$|anyObject$|gatekeeper_internal_)[A-Za-z_][A-Za-z0-9_]*$',
                          },
                          expression,
                        },
                      },
                    },
                    validations: {
                      type: 'array',
                      minItems: 1,
                      items: {
                        type: 'object',
                        additionalProperties: false,
                        required: ['expression'],
                        properties: {
                          expression,
                          message: expression,
                          messageExpression: expression,
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const constraintSpec: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['enforcementAction', 'match'],
  properties: {
    enforcementAction: { enum: ['dryrun', 'warn', 'deny'] },
    match: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kinds: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: { apiGroups: strings, kinds: strings },
          },
        },
        namespaces: strings,
        excludedNamespaces: strings,
      },
    },
    parameters: { type: 'object' },
  },
};

const configSpec: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    match: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['excludedNamespaces', 'processes'],
        properties: {
          excludedNamespaces: strings,
          processes: {
            type: 'array',
            items: { enum: ['*', 'audit', 'webhook', 'sync', 'mutation-webhook'] },
          },
        },
      },
    },
  },
};

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    schema: objectSchema('templates.gatekeeper.sh/v1', 'ConstraintTemplate', false, templateSpec),
  },
  {
    apiVersion: 'config.gatekeeper.sh/v1alpha1',
    kind: 'Config',
    schema: objectSchema('config.gatekeeper.sh/v1alpha1', 'Config', true, configSpec),
  },
  ...POLICIES.map((policy) => ({
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: policy.kind,
    schema: objectSchema('constraints.gatekeeper.sh/v1beta1', policy.kind, false, constraintSpec),
  })),
];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const policyValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

/** Validators of every Gatekeeper kind this package emits (for core's output validation). */
export const policyValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
