// `authelia-storage-changed` on chart values made here (the pipeline hands the component both
// sides: packages/cli/test/change-checks.test.ts runs it on the reference).
import type { ResolvedCluster, Values } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { autheliaChanges, storageChangedCheck } from '../src/changes.js';
import { autheliaComponent } from '../src/index.js';

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;

const sqlite: Values = {
  authelia: { configMap: { storage: { local: { enabled: true, path: '/config/db.sqlite3' } } } },
};
function postgres(database: string, schema?: string): Values {
  return {
    authelia: {
      configMap: {
        storage: {
          postgres: {
            enabled: true,
            address: 'tcp://db.lab:5432',
            database,
            ...(schema === undefined ? {} : { schema }),
          },
        },
      },
    },
  };
}

function check(before: Values, after: Values) {
  return storageChangedCheck.check({
    cluster,
    before: [],
    after: [],
    beforeValues: new Map([['authelia', before]]),
    afterValues: new Map([['authelia', after]]),
  });
}

describe('authelia-storage-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(autheliaComponent.changes).toBe(autheliaChanges);
  });

  it('warns at the storage settings when SQLite gives way to PostgreSQL, and when the database or schema changes', () => {
    const moved = check(sqlite, postgres('authelia'));
    expect(
      moved.map((issue) => [issue.severity, issue.code, issue.value, issue.output, issue.path]),
    ).toEqual([
      [
        'warning',
        'authelia-storage-changed',
        'PostgreSQL at tcp://db.lab:5432 (database authelia)',
        'charts/authelia',
        ['clusters', 0, 'components', 'authelia', 'storage'],
      ],
    ]);
    expect(moved[0]?.message).toContain(
      'from SQLite at /config/db.sqlite3 on its volume, which the last build deployed: Authelia starts on the new store empty',
    );
    expect(check(postgres('a'), postgres('b'))).toHaveLength(1);
    expect(check(postgres('a'), postgres('a', 'auth'))[0]?.value).toBe(
      'PostgreSQL at tcp://db.lab:5432 (database a, schema auth)',
    );
  });

  it('says nothing of the same store, or where either side names none', () => {
    expect(check(sqlite, sqlite)).toEqual([]);
    expect(check(postgres('a'), postgres('a'))).toEqual([]);
    expect(check({}, postgres('a'))).toEqual([]);
    expect(check(sqlite, {})).toEqual([]);
  });
});
