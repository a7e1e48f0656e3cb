import { describe, expect, it } from 'vitest';
import { applyCrdDefaults, crdSchemas, defaultsInsideLists } from './crd-defaults.js';

// The shape of the Gateway API HTTPRoute CRD where it defaults (v1.4.1, trimmed).
const routeSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        parentRefs: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              group: { type: 'string', default: 'gateway.networking.k8s.io' },
              kind: { type: 'string', default: 'Gateway' },
              name: { type: 'string' },
            },
          },
        },
        rules: {
          type: 'array',
          default: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }],
          items: {
            type: 'object',
            properties: {
              matches: {
                type: 'array',
                default: [{ path: { type: 'PathPrefix', value: '/' } }],
                items: { type: 'object' },
              },
              backendRefs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    group: { type: 'string', default: '' },
                    kind: { type: 'string', default: 'Service' },
                    name: { type: 'string' },
                    port: { type: 'integer' },
                    weight: { type: 'integer', default: 1 },
                  },
                },
              },
            },
          },
        },
        useDefaults: { type: 'boolean', default: false },
      },
    },
    status: {
      type: 'object',
      default: { parents: [] },
    },
  },
};

function route(rules: unknown[]) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'web' },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'p' }],
      rules,
    },
  };
}

describe('defaultsInsideLists', () => {
  it('names every field the API server defaults inside a list, with its value', () => {
    const object = route([{ backendRefs: [{ name: 'web', port: 80 }] }]);
    expect(defaultsInsideLists(object, routeSchema)).toEqual([
      {
        path: 'spec.rules[0].matches',
        value: [{ path: { type: 'PathPrefix', value: '/' } }],
        insideList: true,
      },
      { path: 'spec.rules[0].backendRefs[0].group', value: '', insideList: true },
      { path: 'spec.rules[0].backendRefs[0].kind', value: 'Service', insideList: true },
      { path: 'spec.rules[0].backendRefs[0].weight', value: 1, insideList: true },
    ]);
  });

  it('finds nothing in an object that writes its list defaults out', () => {
    const object = route([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 1 }],
      },
    ]);
    expect(defaultsInsideLists(object, routeSchema)).toEqual([]);
  });

  it('leaves out defaults outside lists, metadata and status (Argo CD compares none of them)', () => {
    const object = { ...route([]), status: {} };
    const { added } = applyCrdDefaults(object, routeSchema);
    expect(added.map(({ path, insideList }) => [path, insideList])).toEqual([
      ['spec.useDefaults', false],
    ]);
    expect(defaultsInsideLists(object, routeSchema)).toEqual([]);
  });

  it('defaults a null the schema does not allow, and never changes the object given', () => {
    const object = route([{ backendRefs: [{ name: 'web', port: 80, weight: null }] }]);
    const before = JSON.stringify(object);
    const { object: stored } = applyCrdDefaults(object, routeSchema);
    expect(JSON.stringify(object)).toBe(before);
    expect(
      (stored as { spec: { rules: { backendRefs: { weight: unknown }[] }[] } }).spec.rules[0]
        ?.backendRefs[0]?.weight,
    ).toBe(1);
  });
});

describe('crdSchemas', () => {
  it('keys every served version of a CRD by group, version and kind', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'httproutes.gateway.networking.k8s.io' },
      spec: {
        group: 'gateway.networking.k8s.io',
        names: { kind: 'HTTPRoute' },
        versions: [
          { name: 'v1', schema: { openAPIV3Schema: routeSchema } },
          { name: 'v1beta1', schema: { openAPIV3Schema: { type: 'object' } } },
        ],
      },
    };
    const schemas = crdSchemas(crd);
    expect([...schemas.keys()]).toEqual([
      'gateway.networking.k8s.io/v1/HTTPRoute',
      'gateway.networking.k8s.io/v1beta1/HTTPRoute',
    ]);
    expect(schemas.get('gateway.networking.k8s.io/v1/HTTPRoute')).toBe(routeSchema);
    expect(crdSchemas({ kind: 'ConfigMap' }).size).toBe(0);
  });
});
