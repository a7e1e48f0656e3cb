// Policy names: one replacement of every run of characters outside [a-z0-9] gives the names the
// two-step replacement (invalid runs to hyphens, then hyphen runs to one) gave.
import { describe, expect, test } from 'vitest';
import type { Connection } from '../src/flows.js';
import { policyName } from '../src/policies.js';

function twoStep(id: string, end: string): string {
  return `${id}-${end}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

const IDS = [
  'argocd.repo-server',
  'argocd.repo-server.github.com',
  'monitoring.scrape.2',
  'a.-b',
  'a-.b',
  'a--b',
  '--x..y--',
  'A_B.C',
  'é.ü-x',
  '.leading',
  'trailing.',
  'definition.extra flow',
  `definition.${'very-long-flow-name.'.repeat(4)}`,
];

describe('policyName', () => {
  test('gives the names of the two-step replacement, hashed the same when too long', () => {
    for (const id of IDS) {
      for (const end of ['egress', 'ingress'] as const) {
        const connection = { id } as Connection;
        const base = twoStep(id, end);
        const name = policyName(connection, end);
        if (base.length <= 63) expect(name, id).toBe(base);
        else expect(name.slice(0, 55), id).toBe(`${base.slice(0, 54)}-`);
        expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }
    }
  });
});
