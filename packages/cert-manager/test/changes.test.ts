// `private-ca-subject-changed` on root Certificates made here (the pipeline hands the component
// both sides: packages/cli/test/change-checks.test.ts runs it on the reference, renamed).
import type { ChangedObject, ResolvedCluster } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { CERT_MANAGER_CHANGES, rootSubjectCheck } from '../src/changes.js';
import { certManagerComponent } from '../src/index.js';

const cluster = { name: 'prod', index: 2 } as unknown as ResolvedCluster;
const NO_VALUES = { beforeValues: new Map(), afterValues: new Map() };

function root(commonName: string, organization: string, name = 'private-root-ca'): ChangedObject {
  return {
    chart: 'cert-manager',
    object: {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name, namespace: 'cert-manager' },
      spec: { isCA: true, commonName, subject: { organizations: [organization] } },
    },
  };
}

const check = (before: ChangedObject[], after: ChangedObject[]) =>
  rootSubjectCheck.check({ ...NO_VALUES, cluster, before, after });

describe('private-ca-subject-changed', () => {
  it('is registered as a change check of the component', () => {
    expect(certManagerComponent.changes).toBe(CERT_MANAGER_CHANGES);
  });

  it("warns at the platform's name where the root's common name changes, naming both subjects and the renewals", () => {
    const issues = check(
      [root('homelab prod root CA', 'homelab')],
      [root('casa prod root CA', 'casa')],
    );
    expect(issues.map((issue) => [issue.severity, issue.value, issue.path])).toEqual([
      ['warning', 'CN=casa prod root CA, O=casa', ['platform', 'name']],
    ]);
    expect(issues[0]?.message).toContain(
      'in place of CN=homelab prod root CA, O=homelab, which the last build deployed',
    );
    expect(issues[0]?.expected).toContain('`cmctl renew --all --all-namespaces`');
    expect(issues[0]?.expected).toContain(
      'kubectl -n cert-manager get certificate private-root-ca',
    );
  });

  it("warns at the issuer's settings where only the organization changes", () => {
    const [issue] = check(
      [root('homelab prod root CA', 'homelab')],
      [root('homelab prod root CA', 'Example Ltd')],
    );
    expect(issue?.path).toEqual(['clusters', 2, 'components', 'cert-manager', 'issuer']);
    expect(issue?.expected).toContain("the platform's name and the issuer's organization kept");
  });

  it('says nothing of the same subject, another Certificate, or a root on one side only (ACME)', () => {
    expect(check([root('a root CA', 'a')], [root('a root CA', 'a')])).toEqual([]);
    expect(check([root('a root CA', 'a', 'other')], [root('b root CA', 'b', 'other')])).toEqual([]);
    expect(check([root('a root CA', 'a')], [])).toEqual([]);
  });
});
