// docs/system-checks.md lists every system check the build runs, once, in its Layer 4 table: the
// checks of core, of talos-config and of every registered component (its `checks` and `changes`). The rows that are no
// registered check say so in their own text (`immutable-field-changed`, `crd-bundle-downgrade`,
// `chart-upgrade-path`, `chart-upgrade-compatibility`: comparisons with the last build's charts; `cluster-network-changed`, `kubernetes-upgrade-path`,
// `talos-upgrade-path`: with the last build's cluster files; all run by the pipeline).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_CHECKS } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { TALOS_CHECKS } from '@homelab/talos-config';
import { expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';

const NOT_REGISTERED = [
  'chart-upgrade-compatibility',
  'chart-upgrade-path',
  'cluster-network-changed',
  'crd-bundle-downgrade',
  'disk-encryption-changed',
  'immutable-field-changed',
  'kubernetes-upgrade-path',
  'node-role-changed',
  'talos-upgrade-path',
  'volume-claim-moved',
];

it('docs/system-checks.md lists every registered system check exactly once, and no other', () => {
  const doc = readFileSync(join(repoRoot(), 'docs/system-checks.md'), 'utf8');
  const layer4 = doc.slice(
    doc.indexOf('## Layer 4'),
    doc.indexOf('\n## ', doc.indexOf('## Layer 4') + 1),
  );
  const rows = [...layer4.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((match) => match[1] ?? '');
  const registered = [
    ...CORE_CHECKS,
    ...TALOS_CHECKS,
    ...REGISTRY.flatMap((component) => component.checks ?? []),
    ...REGISTRY.flatMap((component) => component.changes ?? []),
  ].map((check) => check.name);
  expect(new Set(registered).size).toBe(registered.length);
  const counted = new Map<string, number>();
  for (const name of rows) counted.set(name, (counted.get(name) ?? 0) + 1);
  expect([...counted].filter(([, count]) => count > 1)).toEqual([]);
  expect([...rows].sort()).toEqual([...registered, ...NOT_REGISTERED].sort());
  for (const name of NOT_REGISTERED) {
    const row = layer4.split('\n').find((line) => line.startsWith(`| \`${name}\``)) ?? '';
    expect(row).toContain('not a `SystemCheck`');
  }
});
