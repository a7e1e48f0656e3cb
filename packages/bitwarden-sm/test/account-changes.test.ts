// `bitwarden-account-changed` on objects and values made here (the pipeline hands the component
// both sides of each cluster's charts).
import type { ChangedObject, ResolvedCluster, Values } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { accountChangedCheck, bitwardenChanges } from '../src/checks.js';
import { bitwardenSmComponent } from '../src/index.js';

const cluster = { name: 'dev', index: 0 } as unknown as ResolvedCluster;
const ORG_A = '5f0a5c1e-8a57-4d52-9c3e-2f8e4b1a7d10';
const ORG_B = '6e1b6d2f-9b68-4e63-8d4f-3a9f5c2b8e21';

function secret(organizationId: string): ChangedObject {
  return {
    chart: 'authelia',
    object: {
      apiVersion: 'k8s.bitwarden.com/v1',
      kind: 'BitwardenSecret',
      metadata: { name: 'authelia', namespace: 'authelia' },
      spec: { organizationId, secretName: 'authelia', authToken: {}, map: [] },
    },
  };
}

const cloud = (region: string): Values => ({
  'sm-operator': { settings: { cloudRegion: region } },
});
const own = (url: string): Values => ({
  'sm-operator': { settings: { cloudRegion: 'US', bwApiUrlOverride: url } },
});

function check(before: { org: string; values: Values }, after: { org: string; values: Values }) {
  return accountChangedCheck.check({
    cluster,
    before: [secret(before.org)],
    after: [secret(after.org)],
    beforeValues: new Map([['sm-operator', before.values]]),
    afterValues: new Map([['sm-operator', after.values]]),
  });
}

describe('bitwarden-account-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(bitwardenSmComponent.changes).toBe(bitwardenChanges);
    expect(bitwardenChanges).toContain(accountChangedCheck);
  });

  it('warns where the region moves, at cloudRegion, naming both servers and the token to replace first', () => {
    const issues = check({ org: ORG_A, values: cloud('EU') }, { org: ORG_A, values: cloud('US') });
    expect(issues.map((issue) => [issue.severity, issue.path, issue.value])).toEqual([
      [
        'warning',
        ['clusters', 0, 'components', 'bitwarden-sm', 'cloudRegion'],
        "Bitwarden's US cloud",
      ],
    ]);
    expect(issues[0]?.message).toContain(
      'moves the secrets operator of cluster "dev" from Bitwarden\'s EU cloud to Bitwarden\'s US cloud',
    );
    // sm-operator v2.0.0 returns without touching the Secret when its pull fails
    expect(issues[0]?.message).toContain('the operator leaves the Secrets as they are');
    expect(issues[0]?.expected).toContain('"The machine account’s access token"');
  });

  it('warns where the organization or a self-hosted server changes, at organizationId for the former', () => {
    const [org] = check({ org: ORG_A, values: cloud('EU') }, { org: ORG_B, values: cloud('EU') });
    expect(org?.path).toEqual(['clusters', 0, 'components', 'bitwarden-sm', 'organizationId']);
    expect(org?.message).toContain(`from the organization ${ORG_A} to ${ORG_B}`);
    const [server] = check(
      { org: ORG_A, values: cloud('EU') },
      { org: ORG_A, values: own('https://vault.lab.example.com/api') },
    );
    expect(server?.message).toContain(
      'to the self-hosted server https://vault.lab.example.com/api',
    );
  });

  it('says nothing where both stay, or where one side has no operator', () => {
    expect(check({ org: ORG_A, values: cloud('EU') }, { org: ORG_A, values: cloud('EU') })).toEqual(
      [],
    );
    expect(
      accountChangedCheck.check({
        cluster,
        before: [],
        after: [secret(ORG_B)],
        beforeValues: new Map(),
        afterValues: new Map([['sm-operator', cloud('US')]]),
      }),
    ).toEqual([]);
  });
});
