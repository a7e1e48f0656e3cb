// entityReachesPods: what the Helm suite asks of the policies Helm renders (the API server's
// connections to the webhooks of the upstream charts), read with the reachability check's semantics.
import type { KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { entityReachesPods } from '../src/index.js';

const policy = (name: string, spec: Record<string, unknown>, namespace?: string): KubeObject =>
  ({
    apiVersion: 'cilium.io/v2',
    kind: namespace === undefined ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  }) as KubeObject;

const defaultDeny = policy('deny', {
  endpointSelector: {
    matchExpressions: [
      { key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['cert-manager'] },
    ],
  },
  enableDefaultDeny: { ingress: true, egress: true },
  egress: [],
});
const webhookIngress = (entities: string[]) =>
  policy(
    'webhook',
    {
      endpointSelector: { matchLabels: { app: 'webhook' } },
      enableDefaultDeny: { ingress: false, egress: false },
      ingress: [
        { fromEntities: entities, toPorts: [{ ports: [{ port: '10250', protocol: 'TCP' }] }] },
      ],
    },
    'cert-manager',
  );
const pod = { namespace: 'cert-manager', labels: { app: 'webhook' } };
const port = { port: 10250, protocol: 'TCP' as const };

describe('entityReachesPods', () => {
  it('lets an entity through the ingress rule that names it, on its port only', () => {
    const policies = [defaultDeny, webhookIngress(['kube-apiserver', 'remote-node'])];
    expect(entityReachesPods(policies, 'remote-node', pod, port)).toBe(true);
    expect(entityReachesPods(policies, 'kube-apiserver', pod, port)).toBe(true);
    expect(entityReachesPods(policies, 'remote-node', pod, { port: 443, protocol: 'TCP' })).toBe(
      false,
    );
  });

  it('drops an entity the rule does not name, under default deny', () => {
    const policies = [defaultDeny, webhookIngress(['kube-apiserver'])];
    expect(entityReachesPods(policies, 'remote-node', pod, port)).toBe(false);
    expect(entityReachesPods([defaultDeny], 'kube-apiserver', pod, port)).toBe(false);
  });

  it('lets anything reach a pod no policy puts in default deny', () => {
    expect(
      entityReachesPods([defaultDeny], 'remote-node', { ...pod, namespace: 'other' }, port),
    ).toBe(true);
  });
});
