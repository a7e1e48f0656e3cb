// Conformance with the pinned cert-manager chart, read from the vendored archive (vendor/): every
// key we set exists upstream, the coalesced values pass its values.schema.json, and every issuer
// and certificate validates against the CRDs the chart installs, as do the variants our own
// layer-2 validators accept.
import {
  jsonSchemaValidator,
  type KubeObject,
  mergeValues,
  type ObjectValidator,
  parseYaml,
  type Values,
} from '@homelab/core';
import {
  oneFaultVariants,
  readVendoredChartFile,
  testDefinition,
  testReferenceClusters,
  unknownValueKeys,
} from '@homelab/core/testing';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { certManagerValidators } from '../src/validators.js';
import { CERT_MANAGER_CHART } from '../src/versions.js';
import { type AnyJson, acme, must, runCertManager, SECRETS } from './helpers.js';

const VERSION = CERT_MANAGER_CHART.version;
const upstreamValues = parseYaml(
  readVendoredChartFile('cert-manager', VERSION, 'values.yaml'),
) as Values;
const upstreamSchema = JSON.parse(
  readVendoredChartFile('cert-manager', VERSION, 'values.schema.json'),
) as AnyJson;

/**
 * The schema with its local `$ref`s (`#/$defs/helm-values.…`, cert-manager's generated layout)
 * replaced by what they point at, so that the key check can walk `properties` down a path.
 */
function inlined(schema: AnyJson, root: AnyJson = schema, depth = 0): AnyJson {
  if (depth > 50) throw new Error('values.schema.json: $ref nesting too deep');
  if (Array.isArray(schema)) return schema.map((item) => inlined(item, root, depth));
  if (typeof schema !== 'object' || schema === null) return schema;
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/$defs/')) {
    const { $ref, ...rest } = schema;
    const target = root.$defs[$ref.slice('#/$defs/'.length)];
    if (target === undefined) throw new Error(`values.schema.json: dangling ${$ref}`);
    return inlined({ ...target, ...rest }, root, depth + 1);
  }
  const out: AnyJson = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key !== '$defs') out[key] = inlined(value, root, depth);
  }
  return out;
}
const keySchema = inlined(upstreamSchema);

/** The CRD of a template file of the chart, without its Helm template lines. */
function crd(file: string): AnyJson {
  const text = readVendoredChartFile('cert-manager', VERSION, `templates/${file}`)
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  return parseYaml(text);
}

/** The CRD's served v1 schema as a closed validator (a typo is refused, as pruning would drop it). */
function crdValidator(file: string): ObjectValidator {
  const definition = crd(file);
  const version = (definition.spec.versions as AnyJson[]).find((v) => v.name === 'v1');
  return jsonSchemaValidator(
    `${definition.spec.group}/v1`,
    definition.spec.names.kind,
    version.schema.openAPIV3Schema,
  );
}

const CRDS = new Map(
  [
    crdValidator('crd-cert-manager.io_clusterissuers.yaml'),
    crdValidator('crd-cert-manager.io_certificates.yaml'),
  ].map((validator) => [validator.kind, validator]),
);

function crdProblems(object: KubeObject): readonly unknown[] {
  return must(CRDS.get(object.kind), `CRD of ${object.kind}`).validate(object);
}

/** The reference fleet with each kind of issuer on some cluster. */
function fleets(): { name: string; definition: AnyJson }[] {
  const platform = { name: 'homelab', domain: 'homelab.dev' };
  const withIssuer = (issuer: AnyJson) =>
    testDefinition(testReferenceClusters(), {
      platform,
      components: { 'cert-manager': { issuer } },
    });
  const split = acme('cloudflare', 'production');
  split.acme.recursiveNameservers = ['1.1.1.1:53'];
  return [
    { name: 'private CA', definition: testDefinition(testReferenceClusters()) },
    { name: 'ACME cloudflare', definition: withIssuer(split) },
    { name: 'ACME rfc2136', definition: withIssuer(acme('rfc2136', undefined, ['10.0.0.53:53'])) },
    { name: 'ACME route53', definition: withIssuer(acme('route53', undefined, ['9.9.9.9:53'])) },
  ];
}

describe.each(fleets())('$name', ({ definition }) => {
  const { rendered, issues } = runCertManager(definition, [SECRETS]);

  test('renders without issues', () => {
    expect(issues).toEqual([]);
    expect(Object.keys(rendered).sort()).toEqual(['dev', 'prod', 'staging']);
  });

  test.each(['dev', 'staging', 'prod'])(
    'every key set under cert-manager for %s exists upstream',
    (name) => {
      const chart = must(rendered[name], name);
      expect(chart.issues).toEqual([]);
      expect(unknownValueKeys(chart.values['cert-manager'], upstreamValues, keySchema)).toEqual([]);
    },
  );

  test.each(['dev', 'staging', 'prod'])(
    'the coalesced values of %s pass values.schema.json',
    (name) => {
      const effective = mergeValues(
        upstreamValues,
        must(rendered[name], name).values['cert-manager'] as Values,
      );
      const validate = new Ajv({ strict: false, allErrors: true }).compile(upstreamSchema);
      validate(effective);
      expect(validate.errors ?? []).toEqual([]);
    },
  );

  test('every issuer and certificate validates against the chart’s CRDs and our validators', () => {
    const objects = Object.values(rendered).flatMap((chart) => chart.objects);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect([object.metadata.name, crdProblems(object)]).toEqual([object.metadata.name, []]);
      const ours = must(
        certManagerValidators.find((v) => v.kind === object.kind),
        `validator of ${object.kind}`,
      );
      expect([object.metadata.name, ours.validate(object)]).toEqual([object.metadata.name, []]);
    }
  });

  test('whatever our validators accept, the CRDs accept too (one fault at a time)', () => {
    const objects = Object.values(rendered).flatMap((chart) => chart.objects);
    const looser: string[] = [];
    for (const object of objects) {
      const ours = must(
        certManagerValidators.find((v) => v.kind === object.kind),
        `validator of ${object.kind}`,
      );
      for (const variant of oneFaultVariants(object, 'unexpectedField')) {
        const candidate = variant as KubeObject;
        if (typeof candidate !== 'object' || candidate === null || candidate.kind !== object.kind) {
          continue;
        }
        if (ours.validate(candidate).length === 0 && crdProblems(candidate).length > 0) {
          looser.push(JSON.stringify(candidate));
        }
      }
    }
    expect(looser).toEqual([]);
  });
});

describe('the checks can fail', () => {
  const { rendered } = runCertManager(testDefinition(testReferenceClusters()));
  const ours = rendered.dev?.values['cert-manager'] as AnyJson;

  test('a misspelled key is unknown upstream', () => {
    expect(
      unknownValueKeys(
        { ...ours, webhook: { replicas: 2 }, crds: { enable: true } },
        upstreamValues,
        keySchema,
      ),
    ).toEqual(['webhook.replicas', 'crds.enable']);
  });

  test('a misspelled field of an issuer fails the CRD and our validator', () => {
    const issuer = structuredClone(
      must(rendered.dev, 'dev').objects.find((o) => o.metadata.name === 'private-ca'),
    ) as AnyJson;
    issuer.spec.ca = { secretNmae: 'private-root-ca' };
    expect(crdProblems(issuer).length).toBeGreaterThan(0);
    const validator = must(
      certManagerValidators.find((v) => v.kind === 'ClusterIssuer'),
      'ClusterIssuer validator',
    );
    expect(validator.validate(issuer).length).toBeGreaterThan(0);
  });
});
