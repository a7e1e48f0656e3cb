import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS_LIMIT_BYTES,
  appliedWithoutLastApplied,
  clientSideApplyAnnotationBytes,
  goJsonBytes,
  LAST_APPLIED_ANNOTATION,
  oversizedClientSideApplies,
  TRACKING_ANNOTATION,
  trackingId,
} from './apply-size.js';
import type { KubeObject } from './types.js';

function configMap(data: Record<string, string>, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', namespace: 'n', ...(annotations ? { annotations } : {}) },
    data,
  } as KubeObject;
}

function application(syncOptions: string[]): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'dev-x', namespace: 'argocd' },
    spec: { syncPolicy: { syncOptions } },
  } as KubeObject;
}

describe('goJsonBytes', () => {
  it("counts what Go's encoding/json writes: HTML characters and line separators escaped, UTF-8", () => {
    // As Go prints them: json.Marshal(map[string]string{"a": "<&>"}) and so on.
    expect(goJsonBytes({ a: '<&>' })).toBe('{"a":"\\u003c\\u0026\\u003e"}'.length);
    expect(goJsonBytes({ a: 'x\u2028y' })).toBe('{"a":"x\\u2028y"}'.length);
    expect(goJsonBytes({ a: 'é' })).toBe('{"a":"é"}'.length + 1);
    expect(goJsonBytes({ a: 'tab\there', n: [1, true, null] })).toBe(
      '{"a":"tab\\there","n":[1,true,null]}'.length,
    );
  });
});

describe('clientSideApplyAnnotationBytes', () => {
  it('adds the tracking id and the last-applied copy (with the tracking id, without itself, and a newline)', () => {
    const object = configMap({ k: 'v' }, { [LAST_APPLIED_ANNOTATION]: '{"an":"old copy"}' });
    const tracking = trackingId('dev-x', object, 'other');
    expect(tracking).toBe('dev-x:/ConfigMap:n/a');
    // The annotations kubectl sends, written out by hand.
    const stored =
      '{"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap","metadata":{"annotations":{"argocd.argoproj.io/tracking-id":"dev-x:/ConfigMap:n/a"},"name":"a","namespace":"n"}}\n';
    const expected =
      TRACKING_ANNOTATION.length +
      'dev-x:/ConfigMap:n/a'.length +
      'kubectl.kubernetes.io/last-applied-configuration'.length +
      stored.length;
    expect(clientSideApplyAnnotationBytes(object, tracking)).toBe(expected);
  });

  it("tracks an object without a namespace in the Application's, and a grouped kind by its group", () => {
    const object = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    } as KubeObject;
    expect(trackingId('dev-x', object, 'argocd')).toBe(
      'dev-x:apiextensions.k8s.io/CustomResourceDefinition:argocd/widgets.example.com',
    );
  });
});

describe('appliedWithoutLastApplied', () => {
  const object = configMap({});
  it('is true for ServerSideApply=true or Replace=true on the Application or the object', () => {
    expect(appliedWithoutLastApplied(application(['ServerSideApply=true']), object)).toBe(true);
    expect(appliedWithoutLastApplied(application(['Replace=true']), object)).toBe(true);
    const annotated = configMap(
      {},
      { 'argocd.argoproj.io/sync-options': 'Prune=false, ServerSideApply=true' },
    );
    expect(appliedWithoutLastApplied(application([]), annotated)).toBe(true);
  });

  it('is false otherwise, ServerSideApply=false included', () => {
    expect(appliedWithoutLastApplied(application(['CreateNamespace=true']), object)).toBe(false);
    const annotated = configMap({}, { 'argocd.argoproj.io/sync-options': 'ServerSideApply=false' });
    expect(appliedWithoutLastApplied(application(['ServerSideApply=false']), annotated)).toBe(
      false,
    );
  });
});

describe('oversizedClientSideApplies', () => {
  // A ConfigMap whose annotations come to exactly `bytes` once applied client-side.
  function sized(bytes: number): KubeObject {
    const base = clientSideApplyAnnotationBytes(configMap({ k: '' }), 'dev-x:/ConfigMap:n/a');
    const object = configMap({ k: 'x'.repeat(bytes - base) });
    expect(clientSideApplyAnnotationBytes(object, 'dev-x:/ConfigMap:n/a')).toBe(bytes);
    return object;
  }

  it("accepts annotations of exactly 262144 bytes and refuses one byte more (the API server's limit)", () => {
    expect(ANNOTATIONS_LIMIT_BYTES).toBe(262144);
    const fits = sized(262144);
    const over = sized(262145);
    expect(oversizedClientSideApplies(application([]), [fits, over], 'n')).toEqual([
      { object: over, bytes: 262145 },
    ]);
  });

  it('leaves objects applied server-side alone, whatever their size', () => {
    const big = sized(400_000);
    expect(oversizedClientSideApplies(application(['ServerSideApply=true']), [big], 'n')).toEqual(
      [],
    );
  });
});
