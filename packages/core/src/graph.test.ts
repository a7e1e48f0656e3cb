import { describe, expect, it } from 'vitest';
import { dependencyLayers, formatCycle } from './graph.js';

describe('dependencyLayers', () => {
  it('puts every node one wave after the latest of its dependencies (longest path)', () => {
    const { waves, order, problems } = dependencyLayers([
      { name: 'app', dependsOn: ['db', 'cni'] },
      { name: 'db', dependsOn: ['cni'] },
      { name: 'cni', dependsOn: ['crds'] },
      { name: 'crds', dependsOn: [] },
    ]);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(waves)).toEqual({ crds: 0, cni: 1, db: 2, app: 3 });
    expect(order).toEqual(['crds', 'cni', 'db', 'app']);
  });

  it('gives the same result whatever the input order', () => {
    const nodes = [
      { name: 'b', dependsOn: ['a'] },
      { name: 'c', dependsOn: ['a'] },
      { name: 'a', dependsOn: [] },
    ];
    const forward = dependencyLayers(nodes);
    const backward = dependencyLayers([...nodes].reverse());
    expect(backward.order).toEqual(forward.order);
    expect(forward.order).toEqual(['a', 'b', 'c']);
  });

  it('names a two-node cycle as a chain of dependencies closed on its first node', () => {
    const { problems, waves } = dependencyLayers([
      { name: 'cilium', dependsOn: ['longhorn'] },
      { name: 'longhorn', dependsOn: ['cilium'] },
      { name: 'other', dependsOn: [] },
    ]);
    expect(problems).toEqual([{ kind: 'cycle', cycle: ['cilium', 'longhorn', 'cilium'] }]);
    expect(waves.has('cilium')).toBe(false);
    expect(waves.get('other')).toBe(0);
  });

  it('reports a longer cycle once, and leaves out nodes that depend on it', () => {
    const { problems, waves } = dependencyLayers([
      { name: 'a', dependsOn: ['b'] },
      { name: 'b', dependsOn: ['c'] },
      { name: 'c', dependsOn: ['a'] },
      { name: 'd', dependsOn: ['a'] },
    ]);
    expect(problems.filter((problem) => problem.kind === 'cycle')).toHaveLength(1);
    const cycle = problems[0];
    expect(cycle?.kind === 'cycle' ? formatCycle(cycle.cycle) : '').toBe('a → b → c → a');
    expect(waves.has('d')).toBe(false);
  });

  it('reports a dependency on a node that does not exist', () => {
    const { problems, waves } = dependencyLayers([{ name: 'authelia', dependsOn: ['postgres'] }]);
    expect(problems).toEqual([{ kind: 'unknown', from: 'authelia', missing: 'postgres' }]);
    expect(waves.get('authelia')).toBe(0);
  });
});
