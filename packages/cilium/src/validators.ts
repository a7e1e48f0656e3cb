// Build-time validation of the cilium.io objects this package emits. The schemas are written by
// hand for the fields we use (additionalProperties false, so a typo is caught); the conformance
// tests additionally check the objects against the upstream CRD schemas.
//
// Start-up cost matters: the build generates ajv standalone code for these schemas
// (dist/validators.standalone.cjs, by @homelab/core's scripts/build-standalone.mjs), so the CLI
// never loads the ajv compiler for them. Without that module (tests run from src/) or when it
// is stale, each kind's schema is compiled on the first validation of an object of that kind.

import { createRequire } from 'node:module';
import type { KubeObject, ObjectValidator } from '@homelab/core';
import type { Ajv2020, Options, ValidateFunction } from 'ajv/dist/2020.js';

const require = createRequire(import.meta.url);

/** A validator whose problems are plain messages (one per problem, none when valid). */
interface MessageValidator extends ObjectValidator {
  validate(object: unknown): string[];
}

type Schema = { [key: string]: unknown };

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };

const labelSelector: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

function objectSchema(
  apiVersion: string,
  kind: string,
  spec: Schema,
  specRequired: boolean,
): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', ...(specRequired ? ['spec'] : [])],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
          labels: stringMap,
          annotations: stringMap,
        },
      },
      spec,
    },
  };
}

const asn: Schema = { type: 'integer', minimum: 1, maximum: 4294967295 };
const ipAddress: Schema = { type: 'string', pattern: '^([0-9.]+|[0-9a-fA-F:.]+)$' };
const cidr: Schema = { type: 'string', pattern: '^([0-9.]+|[0-9a-fA-F:.]+)/[0-9]{1,3}$' };

const SCHEMAS: readonly { apiVersion: string; kind: string; schema: Schema }[] = [
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumLoadBalancerIPPool',
    schema: objectSchema(
      'cilium.io/v2',
      'CiliumLoadBalancerIPPool',
      {
        type: 'object',
        additionalProperties: false,
        required: ['blocks'],
        properties: {
          blocks: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['cidr'],
              properties: { cidr },
            },
          },
          serviceSelector: labelSelector,
        },
      },
      true,
    ),
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumBGPClusterConfig',
    schema: objectSchema(
      'cilium.io/v2',
      'CiliumBGPClusterConfig',
      {
        type: 'object',
        additionalProperties: false,
        required: ['bgpInstances'],
        properties: {
          nodeSelector: labelSelector,
          bgpInstances: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'localASN', 'peers'],
              properties: {
                name: { type: 'string', minLength: 1, maxLength: 255 },
                localASN: asn,
                peers: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['name', 'peerASN', 'peerAddress', 'peerConfigRef'],
                    properties: {
                      name: { type: 'string', minLength: 1, maxLength: 255 },
                      peerASN: asn,
                      peerAddress: ipAddress,
                      peerConfigRef: {
                        type: 'object',
                        additionalProperties: false,
                        required: ['name'],
                        properties: { name: { type: 'string', minLength: 1 } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
      true,
    ),
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumBGPPeerConfig',
    schema: objectSchema(
      'cilium.io/v2',
      'CiliumBGPPeerConfig',
      {
        type: 'object',
        additionalProperties: false,
        required: ['families'],
        properties: {
          families: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['afi', 'safi', 'advertisements'],
              properties: {
                afi: { enum: ['ipv4', 'ipv6'] },
                safi: { const: 'unicast' },
                advertisements: labelSelector,
              },
            },
          },
        },
      },
      true,
    ),
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumBGPAdvertisement',
    schema: objectSchema(
      'cilium.io/v2',
      'CiliumBGPAdvertisement',
      {
        type: 'object',
        additionalProperties: false,
        required: ['advertisements'],
        properties: {
          advertisements: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['advertisementType', 'service'],
              properties: {
                advertisementType: { const: 'Service' },
                service: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['addresses'],
                  properties: {
                    addresses: {
                      type: 'array',
                      minItems: 1,
                      items: { enum: ['LoadBalancerIP', 'ClusterIP', 'ExternalIP'] },
                    },
                  },
                },
                selector: labelSelector,
              },
            },
          },
        },
      },
      true,
    ),
  },
  {
    apiVersion: 'cilium.io/v2alpha1',
    kind: 'CiliumL2AnnouncementPolicy',
    schema: objectSchema(
      'cilium.io/v2alpha1',
      'CiliumL2AnnouncementPolicy',
      {
        type: 'object',
        additionalProperties: false,
        required: ['interfaces', 'loadBalancerIPs'],
        properties: {
          interfaces: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          loadBalancerIPs: { type: 'boolean' },
          externalIPs: { type: 'boolean' },
          nodeSelector: labelSelector,
          serviceSelector: labelSelector,
        },
      },
      true,
    ),
  },
];

function describe(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
}

/** `<apiVersion>/<kind>`: the name of a kind's schema and generated validate function. */
function schemaName(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

/** Ajv options and the schema of every kind: what the build generates standalone code from. */
export const ciliumValidatorSource: {
  readonly options: Options;
  readonly schemas: { readonly [name: string]: Schema };
} = {
  options: { allErrors: true, strict: true },
  schemas: Object.fromEntries(
    SCHEMAS.map(({ apiVersion, kind, schema }) => [schemaName(apiVersion, kind), schema]),
  ),
};

type GeneratedModule = { readonly [name: string]: unknown };

/** The generated module, when it was generated from exactly `ciliumValidatorSource`. */
function generatedModule(load: () => unknown): GeneratedModule | undefined {
  let module: unknown;
  try {
    module = load();
  } catch {
    return undefined; // not generated (running from src/): compile instead
  }
  if (typeof module !== 'object' || module === null) return undefined;
  const exports = module as GeneratedModule;
  // Same text as @homelab/core's scripts/standalone.mjs `standaloneFingerprint`.
  const expected = JSON.stringify({
    options: ciliumValidatorSource.options,
    schemas: ciliumValidatorSource.schemas,
  });
  return exports.fingerprint === expected ? exports : undefined;
}

/**
 * Validators of every kind, each resolved on its first use: the generated validate function of
 * the module `load()` returns, or the kind's schema compiled with ajv.
 */
export function makeValidators(load: () => unknown): MessageValidator[] {
  let module: GeneratedModule | undefined;
  let loaded = false;
  let ajv: Ajv2020 | undefined;
  const resolve = (name: string, schema: Schema): ValidateFunction => {
    if (!loaded) {
      module = generatedModule(load);
      loaded = true;
    }
    const generated = module?.[name];
    if (typeof generated === 'function') return generated as ValidateFunction;
    if (ajv === undefined) {
      const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
      ajv = new Ajv2020({ ...ciliumValidatorSource.options });
    }
    return ajv.compile(schema);
  };
  return SCHEMAS.map(({ apiVersion, kind, schema }) => {
    let validate: ValidateFunction | undefined;
    return {
      apiVersion,
      kind,
      validate: (object: unknown) => {
        validate ??= resolve(schemaName(apiVersion, kind), schema);
        return validate(object) ? [] : describe(validate);
      },
    };
  });
}

const validators = makeValidators(() => require('./validators.standalone.cjs'));

/** Validators of every cilium.io kind this package emits (for core's output validation). */
export const ciliumValidators: readonly ObjectValidator[] = validators;

/** Problems of the cilium.io objects among `objects` (other kinds are not this package's). */
export function validateCiliumObjects(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const validator = validators.find(
      (v) => v.apiVersion === object.apiVersion && v.kind === object.kind,
    );
    if (validator === undefined) continue;
    for (const problem of validator.validate(object)) {
      problems.push(`${object.kind}/${object.metadata.name}: ${problem}`);
    }
  }
  return problems;
}
