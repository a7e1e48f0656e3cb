// The procedure of Authelia's storage encryption key (rotating-secrets.md runs it): Authelia
// stopped before the Secret can change, the old key kept in the cluster, the re-encryption in an
// idle pod with Authelia's configuration once the new key is mounted.
import type { RotationProcedure } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { HA, runAuthelia } from './helpers.js';

const reference = () => runAuthelia({}, { staging: HA, prod: HA });

function procedure(cluster: string): RotationProcedure {
  const own = reference()
    .declared(cluster)
    .secrets?.find((secret) => secret.name === 'authelia');
  const found = own?.procedures?.['storage.encryption.key'];
  if (found === undefined) throw new Error(`no storage key procedure on ${cluster}`);
  return found;
}

describe("the storage encryption key's procedure", () => {
  it('names the backend of each cluster: the SQLite file on dev, PostgreSQL and every replica on prod', () => {
    const dev = procedure('dev').why.join('\n');
    expect(dev).toContain('the SQLite file `/config/db.sqlite3`');
    expect(dev).not.toContain('PostgreSQL');
    const prod = procedure('prod').why.join('\n');
    expect(prod).toContain('Its database is PostgreSQL (`authelia`');
    expect(prod).toContain('none of the 3 Authelia pods runs');
  });

  it('keeps the old key in the cluster, then turns the Deployment into one idle pod with no probes', () => {
    const [keep, idle, rollout, check] = procedure('prod').before.commands;
    expect(keep).toBe(
      "kubectl -n authelia get secret authelia -o jsonpath='{.data.storage\\.encryption\\.key}' | base64 -d | kubectl -n authelia create secret generic authelia-storage-key-old --from-file=key=/dev/stdin",
    );
    const patch = /--type=json -p '(.*)'$/.exec(idle ?? '')?.[1];
    expect(JSON.parse(patch ?? 'null')).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'authelia' },
      { op: 'replace', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } },
      {
        op: 'replace',
        path: '/spec/template/spec/containers/0/command',
        value: ['sleep', '86400'],
      },
      { op: 'remove', path: '/spec/template/spec/containers/0/startupProbe' },
      { op: 'remove', path: '/spec/template/spec/containers/0/livenessProbe' },
      { op: 'remove', path: '/spec/template/spec/containers/0/readinessProbe' },
    ]);
    expect(rollout).toBe('kubectl -n authelia rollout status deployment/authelia --timeout=10m');
    // The kept key is checked against the database before anything changes.
    expect(check).toContain('exec authelia storage encryption check');
    expect(check).toMatch(/\| grep -x 'Storage Encryption Key Validation: SUCCESS'$/);
  });

  it('re-encrypts with the kept key as the configured one and the mounted new key, never on the operator\u2019s command line', () => {
    const [reencrypt, check] = procedure('dev').after.commands;
    expect(reencrypt).toMatch(
      /^kubectl -n authelia get secret authelia-storage-key-old -o jsonpath='\{\.data\.key\}' \| base64 -d \| kubectl -n authelia exec -i deployment\/authelia -- sh -c '/,
    );
    // One `*_FILE` and one plain variable for the same key is refused by Authelia.
    expect(reencrypt).toContain('unset AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE');
    expect(reencrypt).toContain(
      'exec authelia storage encryption change-key --new-encryption-key "$(cat /secrets/internal/storage.encryption.key)"',
    );
    expect(check).toBe(
      "kubectl -n authelia exec deployment/authelia -- authelia storage encryption check --verbose | grep -x 'Storage Encryption Key Validation: SUCCESS'",
    );
    expect(procedure('dev').done.commands).toEqual([
      'kubectl -n authelia rollout status deployment/authelia --timeout=10m',
      'kubectl -n authelia delete secret authelia-storage-key-old --timeout=1m',
    ]);
    expect(procedure('dev').value).toContain('at least 20 characters');
  });
});
