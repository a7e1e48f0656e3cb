// Conformance of what the gateway emits with the upstream CRDs, read from vendor/: the Gateway,
// HTTPRoutes and GRPCRoutes against the standard-channel CRDs of every Gateway API release a
// supported gateway class needs, the Certificate against cert-manager's CRD; and the layer-2
// validators the build uses accept them.
import { readdirSync, readFileSync } from 'node:fs';
import {
  crdSchemas,
  defaultsInsideLists,
  jsonSchemaValidator,
  type KubeObject,
  loadModelValidators,
  type ObjectValidator,
  parseYaml,
  validateObjects,
} from '@homelab/core';
import {
  readVendoredChartFile,
  testDefinition,
  testReferenceClusters,
  vendored,
} from '@homelab/core/testing';
import { describe, expect, test } from 'vitest';
import { GATEWAY_API_FILES, GATEWAY_API_RELEASES, gatewayApiCrdPath } from '../src/versions.js';
import {
  type AnyJson,
  consumer,
  gatewayClass,
  issuer,
  objectsOf,
  route,
  runGateway,
} from './helpers.js';

/** A CRD's served version `version` as a closed validator (a typo is refused, as pruning drops it). */
function crdValidator(definition: AnyJson, version: string): ObjectValidator {
  const served = (definition.spec.versions as AnyJson[]).find((v) => v.name === version);
  if (served === undefined) throw new Error(`${definition.metadata.name} has no ${version}`);
  return jsonSchemaValidator(
    `${definition.spec.group}/${version}`,
    definition.spec.names.kind,
    served.schema.openAPIV3Schema,
  );
}

/** The structural schemas of the Gateway API kinds we emit, by `<group>/<version>/<kind>`. */
function crdSchemasOf(release: string) {
  return new Map(
    GATEWAY_API_FILES.flatMap((file) => [
      ...crdSchemas(parseYaml(readFileSync(vendored(gatewayApiCrdPath(release, file)), 'utf8'))),
    ]),
  );
}

function gatewayApiValidators(release: string): Map<string, ObjectValidator> {
  return new Map(
    GATEWAY_API_FILES.map((file) => {
      const validator = crdValidator(
        parseYaml(readFileSync(vendored(gatewayApiCrdPath(release, file)), 'utf8')),
        'v1',
      );
      return [validator.kind, validator];
    }),
  );
}

/** cert-manager's Certificate CRD, from the chart vendored for the certificates provider. */
function certificateValidator(): ObjectValidator {
  const [version] = readdirSync(vendored('charts', 'cert-manager')).sort().reverse();
  if (version === undefined) throw new Error('no vendored cert-manager chart');
  const text = readVendoredChartFile(
    'cert-manager',
    version,
    'templates/crd-cert-manager.io_certificates.yaml',
  )
    .split('\n')
    .filter((line) => !line.includes('{{'))
    .join('\n');
  return crdValidator(parseYaml(text), 'v1');
}

/** The reference fleet; prod's Gateway takes its address from a pool that selects Services. */
function fleet(): AnyJson {
  const clusters = testReferenceClusters() as AnyJson[];
  clusters[2].network.loadBalancerPools = [
    {
      name: 'gateway',
      cidr: '192.168.3.240/28',
      serviceSelector: { 'homelab.dev/pool': 'gateway' },
    },
    { name: 'default', cidr: '192.168.3.224/28' },
  ];
  return testDefinition(clusters as AnyJson);
}

const { chart, charts, components } = runGateway(fleet(), [
  gatewayClass(),
  issuer(),
  consumer('web', 'web', [
    route('web', 'web', {
      labels: { 'app.kubernetes.io/part-of': 'web' },
      removeRequestHeaders: ['Authorization'],
      grpcPort: 8443,
    }),
  ]),
  consumer('api', 'apis', [
    route('api', 'apis', { protocol: 'grpc', removeRequestHeaders: ['Authorization'] }),
  ]),
]);
const emitted: { source: string; object: KubeObject }[] = ['dev', 'staging', 'prod'].flatMap(
  (cluster) =>
    ['gateway', 'web', 'api'].flatMap((name) =>
      Object.entries(objectsOf(name === 'gateway' ? chart : charts.get(name), cluster)).map(
        ([key, object]) => ({
          source: `charts/${name}/clusters/${cluster}.yaml#manifests.${key}`,
          object,
        }),
      ),
    ),
);

test('the fleet renders every kind it emits', () => {
  expect(components.issues).toEqual([]);
  expect((objectsOf(chart, 'prod') as AnyJson).gateway.spec.infrastructure).toEqual({
    labels: { 'homelab.dev/pool': 'gateway' },
  });
  expect(
    [...new Set(emitted.map(({ object }) => `${object.apiVersion} ${object.kind}`))].sort(),
  ).toEqual([
    'cert-manager.io/v1 Certificate',
    'gateway.networking.k8s.io/v1 GRPCRoute',
    'gateway.networking.k8s.io/v1 Gateway',
    'gateway.networking.k8s.io/v1 HTTPRoute',
  ]);
});

describe.each(GATEWAY_API_RELEASES)('Gateway API %s', (release) => {
  const validators = gatewayApiValidators(release);
  const gatewayObjects = emitted.filter(({ object }) => object.apiVersion.startsWith('gateway.'));

  test.each(gatewayObjects.map(({ source, object }) => [source, object] as const))(
    '%s validates against the CRD',
    (_, object) => {
      const validator = validators.get(object.kind);
      expect(validator?.validate(object)).toEqual([]);
    },
  );

  // Argo CD replaces a list whole when it predicts the live object, so a field the API server
  // defaults inside one would show the object OutOfSync after every sync.
  test.each(gatewayObjects.map(({ source, object }) => [source, object] as const))(
    '%s leaves no field for the API server to default inside a list',
    (_, object) => {
      const schema = crdSchemasOf(release).get(`gateway.networking.k8s.io/v1/${object.kind}`);
      expect(schema).toBeDefined();
      expect(defaultsInsideLists(object, schema ?? {})).toEqual([]);
    },
  );

  test('a backend reference without its defaults is found', () => {
    const route = structuredClone(
      gatewayObjects.find(
        ({ object }) => object.kind === 'HTTPRoute' && object.metadata.name === 'web',
      )?.object,
    ) as AnyJson;
    route.spec.rules[0].backendRefs = [{ name: 'web', port: 8080 }];
    const schema = crdSchemasOf(release).get('gateway.networking.k8s.io/v1/HTTPRoute') ?? {};
    expect(defaultsInsideLists(route, schema).map(({ path, value }) => [path, value])).toEqual([
      ['spec.rules[0].backendRefs[0].group', ''],
      ['spec.rules[0].backendRefs[0].kind', 'Service'],
      ['spec.rules[0].backendRefs[0].weight', 1],
    ]);
  });

  test('a misspelled listener field fails', () => {
    const gateway = structuredClone(
      gatewayObjects.find(({ object }) => object.kind === 'Gateway')?.object,
    ) as AnyJson;
    gateway.spec.listeners[1].allowedRoute = gateway.spec.listeners[1].allowedRoutes;
    delete gateway.spec.listeners[1].allowedRoutes;
    expect(validators.get('Gateway')?.validate(gateway).length).toBeGreaterThan(0);
  });
});

test('the certificate validates against cert-manager’s CRD', () => {
  const validator = certificateValidator();
  const certificates = emitted.filter(({ object }) => object.kind === 'Certificate');
  expect(certificates).toHaveLength(3);
  for (const { object } of certificates) expect(validator.validate(object)).toEqual([]);
});

test('the build’s layer-2 validators accept the Gateway API objects', async () => {
  const gatewayObjects = emitted.filter(({ object }) => object.apiVersion.startsWith('gateway.'));
  expect(validateObjects(gatewayObjects, await loadModelValidators(gatewayObjects))).toEqual([]);
});
