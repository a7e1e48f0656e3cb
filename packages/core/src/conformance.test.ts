import { describe, expect, it } from 'vitest';
import { unknownValueKeys } from './conformance.js';

const upstream = {
  operator: { replicas: 1, podAnnotations: {}, affinity: { podAntiAffinity: { x: 1 } } },
  configs: { cm: { 'admin.enabled': true } },
  hubble: { relay: { enabled: false } },
  image: null,
};

describe('unknownValueKeys', () => {
  it('accepts keys that exist upstream, under empty maps and under free-form keys', () => {
    const values = {
      operator: { replicas: 3, podAnnotations: { a: 'b' }, affinity: { nodeAffinity: {} } },
      hubble: { relay: { enabled: true } },
    };
    expect(unknownValueKeys(values, upstream)).toEqual([]);
  });

  it('names every misspelled key with its path', () => {
    const values = { operator: { replica: 3 }, hubble: { relay: { enabeld: true } }, hubbel: {} };
    expect(unknownValueKeys(values, upstream)).toEqual([
      'operator.replica',
      'hubble.relay.enabeld',
      'hubbel',
    ]);
  });

  it('refuses a map where upstream has a scalar, unless the schema allows it', () => {
    const values = { operator: { replicas: { min: 1 } }, image: { tag: 'v1' } };
    expect(unknownValueKeys(values, upstream)).toEqual(['operator.replicas', 'image']);
    const schema = {
      properties: { image: { type: ['null', 'object'], properties: { tag: { type: 'string' } } } },
    };
    expect(unknownValueKeys(values, upstream, schema)).toEqual(['operator.replicas']);
  });

  it('accepts keys under paths declared as passed through verbatim', () => {
    const values = { configs: { cm: { 'resource.customizations': 'x' } } };
    expect(unknownValueKeys(values, upstream)).toEqual(['configs.cm["resource.customizations"]']);
    expect(
      unknownValueKeys(values, upstream, undefined, { freeFormPaths: new Set(['configs.cm']) }),
    ).toEqual([]);
  });
});
