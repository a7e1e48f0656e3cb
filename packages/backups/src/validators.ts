// Build-time validation of the custom resources this package emits (layer 2): VolSync's
// ReplicationSource and ReplicationDestination (the restic fields we use, written from VolSync's
// documentation; the conformance tests check the objects against the CRDs in the vendored chart)
// and Talos' ServiceAccount (talos.dev/v1alpha1: `spec.roles`, as Talos documents it).
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

const NAME = KIND_SCHEMA_PARTS.dnsLabel;
const stringMap: Schema = KIND_SCHEMA_PARTS.stringMap;

function kind(apiVersion: string, kindName: string, spec: Schema): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kindName },
      metadata: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'namespace'],
        properties: {
          name: { type: 'string', maxLength: 63, pattern: NAME },
          namespace: { type: 'string', pattern: NAME },
          labels: stringMap,
          annotations: stringMap,
        },
      },
      spec,
    },
  };
}

const moverSecurityContext: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    runAsNonRoot: { type: 'boolean' },
    runAsUser: { type: 'integer', minimum: 0 },
    runAsGroup: { type: 'integer', minimum: 0 },
    fsGroup: { type: 'integer', minimum: 0 },
    seccompProfile: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { enum: ['RuntimeDefault', 'Localhost', 'Unconfined'] } },
    },
  },
};

const quantities: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { cpu: { type: 'string' }, memory: { type: 'string' } },
};

/** The movers' requests and limits (VolSync sets none by itself). */
const moverResources: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['requests'],
  properties: {
    requests: { ...quantities, required: ['cpu', 'memory'] },
    limits: quantities,
  },
};

const count: Schema = { type: 'integer', minimum: 1 };

/**
 * A restic mover's CA of the S3 endpoint (VolSync 0.16.0 `CustomCASpec`: a Secret or a ConfigMap
 * of the mover's namespace, and its key; ours is always a ConfigMap).
 */
const customCA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['configMapName', 'key'],
  properties: {
    configMapName: { type: 'string', pattern: NAME },
    key: { type: 'string', minLength: 1 },
  },
};

const SCHEMAS: readonly KindSchema[] = [
  {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    schema: kind('volsync.backube/v1alpha1', 'ReplicationSource', {
      type: 'object',
      additionalProperties: false,
      required: ['sourcePVC', 'trigger', 'restic'],
      properties: {
        sourcePVC: { type: 'string', pattern: NAME },
        paused: { type: 'boolean' },
        trigger: {
          type: 'object',
          additionalProperties: false,
          required: ['schedule'],
          properties: { schedule: { type: 'string', minLength: 1 } },
        },
        restic: {
          type: 'object',
          additionalProperties: false,
          required: ['repository', 'copyMethod', 'retain'],
          properties: {
            repository: { type: 'string', pattern: NAME },
            copyMethod: { enum: ['Direct', 'Clone', 'Snapshot'] },
            volumeSnapshotClassName: { type: 'string', pattern: NAME },
            // The class of the snapshot's temporary copy (a Retain tier's scratch class).
            storageClassName: { type: 'string', pattern: NAME },
            pruneIntervalDays: { type: 'integer', minimum: 1 },
            cacheCapacity: { type: 'string' },
            retain: {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: {
                hourly: count,
                daily: count,
                weekly: count,
                monthly: count,
                yearly: count,
                within: { type: 'string', pattern: '^([0-9]+[ymwdh])+$' },
              },
            },
            moverSecurityContext,
            moverResources,
            customCA,
          },
        },
      },
    }),
  },
  {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    schema: kind('volsync.backube/v1alpha1', 'ReplicationDestination', {
      type: 'object',
      additionalProperties: false,
      required: ['trigger', 'restic'],
      properties: {
        paused: { type: 'boolean' },
        trigger: {
          type: 'object',
          additionalProperties: false,
          properties: { manual: { type: 'string', minLength: 1 }, schedule: { type: 'string' } },
        },
        restic: {
          type: 'object',
          additionalProperties: false,
          required: ['repository', 'copyMethod'],
          // VolSync 0.16.0 (ReplicationDestinationVolumeOptions): the claim to restore into, or
          // both the capacity and the access modes of a volume of its own (the bootstrap).
          anyOf: [
            { required: ['destinationPVC'], properties: { destinationPVC: {} } },
            {
              required: ['capacity', 'accessModes'],
              properties: { capacity: {}, accessModes: {} },
            },
          ],
          properties: {
            repository: { type: 'string', pattern: NAME },
            destinationPVC: { type: 'string', pattern: NAME },
            capacity: { type: 'string', minLength: 1 },
            accessModes: {
              type: 'array',
              minItems: 1,
              items: {
                enum: ['ReadWriteOnce', 'ReadWriteMany', 'ReadOnlyMany', 'ReadWriteOncePod'],
              },
            },
            storageClassName: { type: 'string', pattern: NAME },
            volumeSnapshotClassName: { type: 'string', pattern: NAME },
            cacheCapacity: { type: 'string' },
            cacheStorageClassName: { type: 'string', pattern: NAME },
            copyMethod: { enum: ['Direct', 'Snapshot'] },
            enableFileDeletion: { type: 'boolean' },
            cleanupCachePVC: { type: 'boolean' },
            moverSecurityContext,
            moverResources,
            customCA,
          },
        },
      },
    }),
  },
  {
    apiVersion: 'talos.dev/v1alpha1',
    kind: 'ServiceAccount',
    schema: kind('talos.dev/v1alpha1', 'ServiceAccount', {
      type: 'object',
      additionalProperties: false,
      required: ['roles'],
      properties: {
        roles: {
          type: 'array',
          minItems: 1,
          items: { enum: ['os:admin', 'os:operator', 'os:reader', 'os:etcd:backup'] },
        },
      },
    }),
  },
];

/** What the build generates standalone validator code from (dist/validators.standalone.cjs). */
export const backupsValidatorSource: StandaloneSource = kindValidatorSource(SCHEMAS);

export const backupsValidators: readonly ObjectValidator[] = kindValidators(SCHEMAS, () =>
  require('./validators.standalone.cjs'),
);
