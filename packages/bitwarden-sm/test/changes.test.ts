// `bitwarden-map-changed`: a key of a Secret the last build deployed, mapped to another entry or
// added, compared on the BitwardenSecrets bitwarden-sm renders into a consumer's chart (the
// pipeline hands the component both sides: packages/cli/test/change-checks.test.ts).
import type { ChangedObject, KubeObject } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { mapChangedCheck } from '../src/checks.js';
import { bitwardenSmComponent } from '../src/index.js';
import { consumer, ID_A, ID_B, ID_C, runBitwarden } from './helpers.js';

/** No upstream chart values: these checks read the objects alone. */
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };

const app = consumer('app', 'app', [
  { name: 'app-secret', namespace: 'app', keys: ['password', 'token'] },
]);

/** The app chart's objects on `cluster` with `mapping` as the inventory of app/app-secret. */
function objects(mapping: { [key: string]: string }, cluster = 'dev'): ChangedObject[] {
  const run = runBitwarden({ secrets: { 'app/app-secret': mapping } }, [app]);
  return Object.values(run.manifests('app', cluster)).map((object: KubeObject) => ({
    chart: 'app',
    object,
  }));
}

const dev = runBitwarden({ secrets: { 'app/app-secret': { password: ID_A } } }, [app]).platform
  .clusters[0];

describe('bitwarden-map-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(bitwardenSmComponent.changes?.map((check) => check.name)).toEqual([
      'bitwarden-map-changed',
      'bitwarden-account-changed',
    ]);
  });

  it('warns of a key mapped to another entry and of a key added, at the mapping, naming the sync', () => {
    if (dev === undefined) throw new Error('no cluster');
    const before = objects({ password: ID_A });
    const after = objects({ password: ID_B, token: ID_C });
    const issues = mapChangedCheck.check({
      ...NO_VALUES,
      cluster: dev,
      before,
      after,
    });
    expect(
      issues.map((issue) => [issue.severity, issue.code, issue.value, issue.output, issue.path]),
    ).toEqual([
      [
        'warning',
        'bitwarden-map-changed',
        ID_B,
        'charts/app',
        ['clusters', 0, 'components', 'bitwarden-sm', 'secrets', 'app/app-secret', 'password'],
      ],
      [
        'warning',
        'bitwarden-map-changed',
        ID_C,
        'charts/app',
        ['clusters', 0, 'components', 'bitwarden-sm', 'secrets', 'app/app-secret', 'token'],
      ],
    ]);
    expect(issues[0]?.message).toBe(
      `now fills key password of Secret app/app-secret on cluster "dev", in place of the entry ${ID_A}, which the last build mapped: the operator syncs a BitwardenSecret when Bitwarden reports a change of its entries, never for a new map, so the Secret keeps the old entry's value while the BitwardenSecret reports Synced`,
    );
    expect(issues[0]?.expected).toBe(
      `once Argo CD synced this change, sync the BitwardenSecret of app/app-secret by hand (clusters/<cluster>/rotating-secrets.md, "When the definition maps a key anew"); where the new entry holds another value, that is a rotation of password: what it takes is under "Entry \`${ID_A}\`" there`,
    );
    expect(issues[1]?.message).toContain('fills key token, new to Secret app/app-secret');
    expect(issues[1]?.message).toContain('so the key does not come');
  });

  it('says nothing of the same map, a key removed, or a Secret the last build did not deploy', () => {
    if (dev === undefined) throw new Error('no cluster');
    const same = objects({ password: ID_A, token: ID_B });
    expect(
      mapChangedCheck.check({
        ...NO_VALUES,
        cluster: dev,
        before: same,
        after: same,
      }),
    ).toEqual([]);
    expect(
      mapChangedCheck.check({
        ...NO_VALUES,
        cluster: dev,
        before: same,
        after: objects({ password: ID_A }),
      }),
    ).toEqual([]);
    expect(
      mapChangedCheck.check({
        ...NO_VALUES,
        cluster: dev,
        before: [],
        after: same,
      }),
    ).toEqual([]);
  });
});
