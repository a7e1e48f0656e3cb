// Build-time validation of the cilium.io objects this package emits. The schemas are written by
// hand for the fields we use (additionalProperties false, so a typo is caught); the conformance
// tests additionally check the objects against the upstream CRD schemas.
//
// Start-up cost matters: the build generates ajv standalone code for these schemas
// (dist/validators.standalone.cjs, by @homelab/core's scripts/build-standalone.mjs), so the CLI
// never loads the ajv compiler for them. Without that module (tests run from src/) or when it
// is stale, each kind's schema is compiled on the first validation of an object of that kind.

import { createRequire } from 'node:module';
import {
  KIND_SCHEMA_PARTS,
  type KindSchema,
  kindValidatorSource,
  kindValidators,
  type ObjectValidator,
  type StandaloneSource,
} from '@homelab/core';

const require = createRequire(import.meta.url);

type Schema = { [key: string]: unknown };

const DNS_SUBDOMAIN = KIND_SCHEMA_PARTS.dnsSubdomain;
const stringMap: Schema = KIND_SCHEMA_PARTS.stringMap;

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

const ENTITIES = ['kube-apiserver', 'host', 'remote-node', 'ingress', 'cluster', 'health', 'init'];
const portList: Schema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['ports'],
    properties: {
      ports: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['port', 'protocol'],
          properties: {
            port: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
            // A port range (PortProtocol.endPort, Cilium 1.16 and later).
            endPort: { type: 'integer', minimum: 1, maximum: 65535 },
            protocol: { enum: ['TCP', 'UDP', 'ANY'] },
          },
        },
      },
      rules: {
        type: 'object',
        additionalProperties: false,
        properties: {
          dns: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: { matchPattern: { type: 'string' }, matchName: { type: 'string' } },
            },
          },
        },
      },
    },
  },
};
const fqdnSelector: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    matchName: { type: 'string', pattern: '^[a-z0-9.-]+$' },
    matchPattern: { type: 'string', pattern: '^[a-z0-9.*-]+$' },
  },
};
// `world` is deliberately absent from the entities the platform may name.
const entities: Schema = { type: 'array', minItems: 1, items: { enum: ENTITIES } };
const policyRule = (direction: 'ingress' | 'egress'): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties:
    direction === 'egress'
      ? {
          toEndpoints: { type: 'array', minItems: 1, items: labelSelector },
          toEntities: entities,
          toFQDNs: { type: 'array', minItems: 1, items: fqdnSelector },
          toCIDR: { type: 'array', minItems: 1, items: cidr },
          toPorts: portList,
          authentication: {
            type: 'object',
            additionalProperties: false,
            properties: { mode: { enum: ['required', 'disabled'] } },
          },
        }
      : {
          fromEndpoints: { type: 'array', minItems: 1, items: labelSelector },
          fromEntities: entities,
          fromCIDR: { type: 'array', minItems: 1, items: cidr },
          toPorts: portList,
          authentication: {
            type: 'object',
            additionalProperties: false,
            properties: { mode: { enum: ['required', 'disabled'] } },
          },
        },
});
const policySpec: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['endpointSelector'],
  properties: {
    description: { type: 'string' },
    endpointSelector: labelSelector,
    enableDefaultDeny: {
      type: 'object',
      additionalProperties: false,
      properties: { ingress: { type: 'boolean' }, egress: { type: 'boolean' } },
    },
    ingress: { type: 'array', items: policyRule('ingress') },
    egress: { type: 'array', items: policyRule('egress') },
  },
};
const policyMetadata = (namespaced: boolean): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: namespaced ? ['name', 'namespace'] : ['name'],
  properties: {
    name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
    ...(namespaced ? { namespace: { type: 'string', pattern: DNS_SUBDOMAIN } } : {}),
    labels: stringMap,
    annotations: stringMap,
  },
});
const policySchema = (kind: string, namespaced: boolean): Schema => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'cilium.io/v2' },
    kind: { const: kind },
    metadata: policyMetadata(namespaced),
    spec: policySpec,
  },
});

const POLICY_SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    schema: policySchema('CiliumNetworkPolicy', true),
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    schema: policySchema('CiliumClusterwideNetworkPolicy', false),
  },
];

const KIND_SCHEMAS: readonly KindSchema[] = [
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
          allowFirstLastIPs: { enum: ['Yes', 'No'] },
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
          timers: {
            type: 'object',
            additionalProperties: false,
            properties: {
              connectRetryTimeSeconds: { type: 'integer', minimum: 1, maximum: 2147483647 },
              holdTimeSeconds: { type: 'integer', minimum: 3, maximum: 65535 },
              keepAliveTimeSeconds: { type: 'integer', minimum: 1, maximum: 65535 },
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
        // `interfaces` left out: every interface Cilium manages (upstream CRD: "If nil, all").
        required: ['loadBalancerIPs'],
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

const SCHEMAS: readonly KindSchema[] = [...KIND_SCHEMAS, ...POLICY_SCHEMAS];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const ciliumValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

/** Validators of every cilium.io kind this package emits (for core's output validation). */
export const ciliumValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
