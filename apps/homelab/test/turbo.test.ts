// `pnpm build` runs `homelab build` through turbo. Turbo's cache must never stand in for it: a
// cache hit restores the files of an earlier run but deletes none, so after a definition goes back
// to an earlier state (undoing an edit, `git stash`, another branch) the clusters and charts it no
// longer has would stay on disk, and `homelab check`, the Helm suite and CI's committed-tree check
// would fail. `homelab build` has its own fast path for an unchanged definition (it writes nothing)
// and removes what it no longer generates, so the task always runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';

const tasks = (path: string) =>
  (JSON.parse(readFileSync(join(repoRoot(), path), 'utf8')) as { tasks: Record<string, unknown> })
    .tasks;

describe('turbo and homelab build', () => {
  it('never restores charts/ and clusters/ from the cache: the build task is not cached', () => {
    const build = tasks('apps/homelab/turbo.json').build as { cache?: boolean; outputs?: unknown };
    expect(build.cache).toBe(false);
    // Nothing of the generated trees is declared as a cached output either.
    expect(build.outputs).toBeUndefined();
  });

  it('still builds every package first', () => {
    const build = tasks('apps/homelab/turbo.json').build as { dependsOn?: string[] };
    expect(build.dependsOn).toEqual(['^build']);
  });
});
