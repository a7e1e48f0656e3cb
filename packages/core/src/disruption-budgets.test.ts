import { describe, expect, it } from 'vitest';
import {
  blockingDisruptionBudgets,
  disruptionBudgets,
  labelSelectorMatches,
} from './disruption-budgets.js';

const workload = (kind: string, name: string, replicas: number | undefined, labels: object) => ({
  namespace: 'apps',
  object: {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      template: { metadata: { labels }, spec: { containers: [] } },
    },
  },
});
const budget = (name: string, spec: object) => ({
  namespace: 'apps',
  object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec },
});

describe('blockingDisruptionBudgets', () => {
  it('computes the allowed evictions as the disruption controller does, and keeps the budgets that allow none', () => {
    const items = [
      workload('Deployment', 'one', undefined, { app: 'one' }),
      workload('Deployment', 'three', 3, { app: 'three', tier: 'web' }),
      workload('StatefulSet', 'db', 2, { app: 'db' }),
      workload('DaemonSet', 'agent', undefined, { app: 'agent' }),
      budget('one-min-1', { minAvailable: 1, selector: { matchLabels: { app: 'one' } } }),
      budget('three-min-2', { minAvailable: 2, selector: { matchLabels: { app: 'three' } } }),
      budget('three-min-100', {
        minAvailable: '100%',
        selector: { matchLabels: { app: 'three' } },
      }),
      budget('three-min-67', { minAvailable: '67%', selector: { matchLabels: { tier: 'web' } } }),
      budget('three-max-0', { maxUnavailable: 0, selector: { matchLabels: { app: 'three' } } }),
      budget('three-max-1pct', {
        maxUnavailable: '1%',
        selector: { matchLabels: { app: 'three' } },
      }),
      budget('db-min-50', { minAvailable: '50%', selector: { matchLabels: { app: 'db' } } }),
      budget('agent-min-1', { minAvailable: 1, selector: { matchLabels: { app: 'agent' } } }),
      budget('nobody', { minAvailable: 1, selector: { matchLabels: { app: 'elsewhere' } } }),
      budget('neither', { selector: { matchLabels: { app: 'one' } } }),
    ];
    expect(blockingDisruptionBudgets(items)).toEqual([
      {
        budget: 'apps/one-min-1',
        workloads: ['Deployment apps/one'],
        expected: 1,
        rule: 'minAvailable: 1',
        allowed: 0,
      },
      {
        budget: 'apps/three-max-0',
        workloads: ['Deployment apps/three'],
        expected: 3,
        rule: 'maxUnavailable: 0',
        allowed: 0,
      },
      {
        budget: 'apps/three-min-100',
        workloads: ['Deployment apps/three'],
        expected: 3,
        rule: 'minAvailable: 100%',
        allowed: 0,
      },
      // 67% of 3 rounds up to 3; a maxUnavailable of 1% rounds up to 1 (not blocking).
      {
        budget: 'apps/three-min-67',
        workloads: ['Deployment apps/three'],
        expected: 3,
        rule: 'minAvailable: 67%',
        allowed: 0,
      },
    ]);
  });

  it('gives the others the evictions they allow', () => {
    const items = [
      workload('Deployment', 'three', 3, { app: 'three' }),
      workload('StatefulSet', 'db', 2, { app: 'db' }),
      budget('three-min-2', { minAvailable: 2, selector: { matchLabels: { app: 'three' } } }),
      budget('three-max-1pct', {
        maxUnavailable: '1%',
        selector: { matchLabels: { app: 'three' } },
      }),
      budget('db-min-50', { minAvailable: '50%', selector: { matchLabels: { app: 'db' } } }),
    ];
    expect(
      disruptionBudgets(items).map(({ budget: name, allowed }) => `${name} ${allowed}`),
    ).toEqual(['apps/db-min-50 1', 'apps/three-max-1pct 1', 'apps/three-min-2 1']);
  });

  it('leaves out a budget over a workload scaled to zero', () => {
    const items = [
      workload('Deployment', 'off', 0, { app: 'off' }),
      budget('off-min-1', { minAvailable: 1, selector: { matchLabels: { app: 'off' } } }),
    ];
    expect(disruptionBudgets(items).map(({ allowed, expected }) => [allowed, expected])).toEqual([
      [0, 0],
    ]);
    expect(blockingDisruptionBudgets(items)).toEqual([]);
  });

  it('counts only the workloads of its own namespace', () => {
    const other = { ...workload('Deployment', 'one', 1, { app: 'one' }), namespace: 'other' };
    expect(
      blockingDisruptionBudgets([
        other,
        budget('b', { minAvailable: 1, selector: { matchLabels: { app: 'one' } } }),
      ]),
    ).toEqual([]);
  });
});

describe('labelSelectorMatches', () => {
  it('reads matchLabels and every operator of matchExpressions', () => {
    const labels = { app: 'web', tier: 'front' };
    const expression = (operator: string, values?: string[]) => ({
      matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }],
    });
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { app: 'db' } }, labels)).toBe(false);
    expect(labelSelectorMatches(expression('In', ['front', 'back']), labels)).toBe(true);
    expect(labelSelectorMatches(expression('NotIn', ['front']), labels)).toBe(false);
    expect(labelSelectorMatches(expression('Exists'), labels)).toBe(true);
    expect(labelSelectorMatches(expression('DoesNotExist'), labels)).toBe(false);
    expect(labelSelectorMatches({}, labels)).toBe(true);
    expect(labelSelectorMatches(undefined, labels)).toBe(false);
  });
});
