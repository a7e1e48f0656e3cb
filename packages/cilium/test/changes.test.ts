// `cilium-workload-selector-changed`: the policies of workloads the platform does not deploy carry
// their label (rendered from flows with `workloads: 'external'`), and a change of the pods they
// select in a namespace is named (the pipeline hands the component both sides:
// packages/cli/test/change-checks.test.ts runs it on the reference).
import type { AnyComponent, ChangedObject, KubeObject, ResolvedCluster } from '@homelab/core';
import { testComponent, testDefinition } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { CILIUM_CHANGES, workloadSelectorCheck } from '../src/changes.js';
import { ciliumComponent } from '../src/component.js';
import { EXTERNAL_WORKLOADS_LABEL } from '../src/policies.js';
import { referenceClusters, runCilium } from './helpers.js';

/** An application's own pods (external) calling a peer of theirs, and a platform pod. */
function owner(app: string, external = true): AnyComponent {
  return testComponent({
    name: 'apps',
    needs: ['cni'],
    contribution: () => ({
      application: { namespace: 'shop', podSecurity: 'restricted', clusterResources: [] },
      flows: [
        {
          name: 'cache',
          direction: 'egress',
          namespace: 'shop',
          selector: { 'app.kubernetes.io/name': app },
          peer: { kind: 'self', selector: { 'app.kubernetes.io/name': `${app}-redis` } },
          ports: [{ port: 6379, protocol: 'TCP' }],
          ...(external ? { workloads: 'external' as const } : {}),
        },
        {
          name: 'agent',
          direction: 'egress',
          namespace: 'shop',
          selector: { 'app.kubernetes.io/name': 'agent' },
          peer: { kind: 'kube-apiserver' },
          ports: [{ port: 6443, protocol: 'TCP' }],
        },
      ],
    }),
  });
}

function shopPolicies(component: AnyComponent, cluster = 'dev'): KubeObject[] {
  const run = runCilium(testDefinition(referenceClusters()), [component]);
  return (run.rendered[cluster]?.objects ?? []).filter(
    (object) => object.kind === 'CiliumNetworkPolicy' && object.metadata.namespace === 'shop',
  );
}

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };
const changed = (objects: KubeObject[]): ChangedObject[] =>
  objects.map((object) => ({ chart: 'cilium', object }));

describe('cilium-workload-selector-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(ciliumComponent.changes).toBe(CILIUM_CHANGES);
  });

  it("labels the policies that select an application's own pods, and their peers, not a platform pod's", () => {
    const labels = shopPolicies(owner('shop')).map((object) => [
      object.metadata.name,
      object.metadata.labels?.[EXTERNAL_WORKLOADS_LABEL],
    ]);
    expect(labels).toEqual([
      ['apps-agent-egress', undefined],
      ['apps-cache-egress', 'apps'],
      ['apps-cache-ingress', 'apps'],
    ]);
    expect(
      shopPolicies(owner('shop', false)).map(
        (object) => object.metadata.labels?.[EXTERNAL_WORKLOADS_LABEL],
      ),
    ).toEqual([undefined, undefined, undefined]);
  });

  it('warns where the pods selected in a namespace change, naming the old and the new labels, at the declaring component', () => {
    const before = changed(shopPolicies(owner('shop')));
    const after = changed(shopPolicies(owner('store')));
    const issues = workloadSelectorCheck.check({ ...NO_VALUES, cluster, before, after });
    expect(issues.map((issue) => [issue.severity, issue.code, issue.value, issue.path])).toEqual([
      [
        'warning',
        'cilium-workload-selector-changed',
        'shop',
        ['clusters', 0, 'components', 'apps'],
      ],
    ]);
    expect(issues[0]?.message).toBe(
      'is a namespace of workloads deployed outside the platform whose policies on cluster "dev" no longer select pods labelled `app.kubernetes.io/name=shop` or `app.kubernetes.io/name=shop-redis`, as the last build\'s did, but `app.kubernetes.io/name=store` or `app.kubernetes.io/name=store-redis`: nothing relabels the running pods, so under default deny those still labelled so lose every flow the policies allowed (the Gateway\'s requests, their calls out) once this change syncs',
    );
    expect(issues[0]?.expected).toContain(
      "before this change syncs, or the labels kept (an application renamed: its flows' `selector` set to the old labels)",
    );
  });

  it('says nothing of the same selectors, a namespace new or gone, or a platform pod relabelled', () => {
    const shop = changed(shopPolicies(owner('shop')));
    const check = (before: ChangedObject[], after: ChangedObject[]) =>
      workloadSelectorCheck.check({ ...NO_VALUES, cluster, before, after });
    expect(check(shop, shop)).toEqual([]);
    expect(check([], shop)).toEqual([]);
    expect(check(shop, [])).toEqual([]);
    // The platform's own pods are relabelled by their chart in the same sync
    expect(
      check(
        changed(shopPolicies(owner('shop', false))),
        changed(shopPolicies(owner('store', false))),
      ),
    ).toEqual([]);
  });
});
