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

  it('puts a late node in the latest wave before its earliest dependent, or in the last wave', () => {
    const nodes = [
      { name: 'cni', dependsOn: [] },
      { name: 'storage', dependsOn: ['cni'] },
      { name: 'sso', dependsOn: ['cni'], late: true },
      { name: 'backups', dependsOn: ['storage'] },
      { name: 'snapshots', dependsOn: ['storage'] },
      { name: 'restore', dependsOn: ['backups', 'snapshots'] },
      { name: 'apps', dependsOn: ['sso', 'restore'] },
    ];
    const { waves, order } = dependencyLayers(nodes);
    // Longest path would put sso in wave 1, before storage's dependents.
    expect(Object.fromEntries(waves)).toEqual({
      cni: 0,
      storage: 1,
      backups: 2,
      snapshots: 2,
      restore: 3,
      sso: 3,
      apps: 4,
    });
    expect(order).toEqual(['cni', 'storage', 'backups', 'snapshots', 'restore', 'sso', 'apps']);
    // Nothing depends on it: the last wave.
    const alone = dependencyLayers(nodes.filter((node) => node.name !== 'apps'));
    expect(alone.waves.get('sso')).toBe(3);
    // Without `late`: longest path.
    const early = dependencyLayers(nodes.map(({ late: _late, ...node }) => node));
    expect(early.waves.get('sso')).toBe(1);
  });

  it('places a late node below a late dependent moved first, and never before its dependencies', () => {
    const { waves } = dependencyLayers([
      { name: 'a', dependsOn: [] },
      { name: 'b', dependsOn: ['a'], late: true },
      { name: 'c', dependsOn: ['b'], late: true },
      { name: 'd', dependsOn: ['a'] },
      { name: 'e', dependsOn: ['d'] },
      { name: 'f', dependsOn: ['e'] },
    ]);
    expect(Object.fromEntries(waves)).toEqual({ a: 0, b: 2, c: 3, d: 1, e: 2, f: 3 });
    const tight = dependencyLayers([
      { name: 'a', dependsOn: [] },
      { name: 'b', dependsOn: ['a'], late: true },
      { name: 'c', dependsOn: ['b'] },
    ]);
    expect(Object.fromEntries(tight.waves)).toEqual({ a: 0, b: 1, c: 2 });
  });

  it('reports a dependency on a node that does not exist', () => {
    const { problems, waves } = dependencyLayers([{ name: 'authelia', dependsOn: ['postgres'] }]);
    expect(problems).toEqual([{ kind: 'unknown', from: 'authelia', missing: 'postgres' }]);
    expect(waves.get('authelia')).toBe(0);
  });
});
