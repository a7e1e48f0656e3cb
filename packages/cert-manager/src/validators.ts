// Build-time validation (layer 2) of the cert-manager.io objects the platform emits: the
// ClusterIssuers of this package and the Certificates of any component that asks the
// `certificates` provider for one (the platform Gateway's). The schemas are written for the
// fields we use, closed (additionalProperties false) so that a typo is caught; the conformance
// tests check the same objects against the CRDs of the pinned chart.
//
// The build generates ajv standalone code for them (dist/validators.standalone.cjs), so the CLI
// never loads the ajv compiler; without it (tests from src/) each schema is compiled on first use.
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
const DNS_LABEL = KIND_SCHEMA_PARTS.dnsLabel;
const stringMap: Schema = KIND_SCHEMA_PARTS.stringMap;
/** A Go duration in hours, minutes or seconds, as cert-manager parses it (`2160h`, `90m`). */
const duration: Schema = { type: 'string', pattern: '^([0-9]+(h|m|s))+$' };

function closed(properties: Schema, required: readonly string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    ...(required.length > 0 ? { required: [...required] } : {}),
    properties,
  };
}

function objectSchema(kind: string, namespaced: boolean, spec: Schema): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'cert-manager.io/v1' },
      kind: { const: kind },
      metadata: closed(
        {
          name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN },
          ...(namespaced
            ? { namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL } }
            : {}),
          labels: stringMap,
          annotations: stringMap,
        },
        namespaced ? ['name', 'namespace'] : ['name'],
      ),
      spec,
    },
  };
}

/** A key of a Secret in the issuer's namespace (`cmmeta.SecretKeySelector`). */
const secretKeySelector: Schema = closed(
  {
    name: { type: 'string', minLength: 1, pattern: DNS_SUBDOMAIN },
    key: { type: 'string', minLength: 1, pattern: '^[-._a-zA-Z0-9]+$' },
  },
  ['name', 'key'],
);

const dns01: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    cloudflare: closed({ apiTokenSecretRef: secretKeySelector }, ['apiTokenSecretRef']),
    rfc2136: closed(
      {
        nameserver: { type: 'string', minLength: 1 },
        tsigKeyName: { type: 'string', minLength: 1 },
        tsigAlgorithm: { enum: ['HMACMD5', 'HMACSHA1', 'HMACSHA256', 'HMACSHA512'] },
        tsigSecretSecretRef: secretKeySelector,
      },
      ['nameserver', 'tsigKeyName', 'tsigAlgorithm', 'tsigSecretSecretRef'],
    ),
    route53: closed(
      {
        region: { type: 'string', minLength: 1 },
        hostedZoneID: { type: 'string', minLength: 1 },
        accessKeyIDSecretRef: secretKeySelector,
        secretAccessKeySecretRef: secretKeySelector,
      },
      ['region', 'accessKeyIDSecretRef', 'secretAccessKeySecretRef'],
    ),
  },
};

const issuerSpec: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    selfSigned: closed({}),
    ca: closed({ secretName: { type: 'string', minLength: 1, pattern: DNS_SUBDOMAIN } }, [
      'secretName',
    ]),
    acme: closed(
      {
        server: { type: 'string', pattern: '^https://' },
        email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
        privateKeySecretRef: closed(
          { name: { type: 'string', minLength: 1, pattern: DNS_SUBDOMAIN } },
          ['name'],
        ),
        solvers: {
          type: 'array',
          minItems: 1,
          items: closed({ dns01 }, ['dns01']),
        },
      },
      ['server', 'privateKeySecretRef', 'solvers'],
    ),
  },
};

/** cert-manager's `KeyUsage` values (the Certificate CRD's `usages` enum, v1.21.1). */
const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const;

const certificateSpec: Schema = closed(
  {
    secretName: { type: 'string', minLength: 1, pattern: DNS_SUBDOMAIN },
    secretTemplate: closed({ labels: stringMap, annotations: stringMap }),
    isCA: { type: 'boolean' },
    commonName: { type: 'string', minLength: 1, maxLength: 64 },
    subject: closed({
      organizations: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    }),
    dnsNames: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        type: 'string',
        pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      },
    },
    duration,
    renewBefore: duration,
    usages: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...KEY_USAGES] },
    },
    privateKey: closed({
      algorithm: { enum: ['RSA', 'ECDSA', 'Ed25519'] },
      size: { type: 'integer' },
      rotationPolicy: { enum: ['Never', 'Always'] },
    }),
    issuerRef: closed(
      {
        group: { const: 'cert-manager.io' },
        kind: { enum: ['ClusterIssuer', 'Issuer'] },
        name: { type: 'string', minLength: 1, pattern: DNS_SUBDOMAIN },
      },
      ['name', 'kind', 'group'],
    ),
  },
  ['secretName', 'issuerRef'],
);

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    schema: objectSchema('ClusterIssuer', false, issuerSpec),
  },
  {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    schema: objectSchema('Certificate', true, certificateSpec),
  },
];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const certManagerValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

/** Validators of the cert-manager.io kinds the platform emits (for core's output validation). */
export const certManagerValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
