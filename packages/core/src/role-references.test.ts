import { describe, expect, it } from 'vitest';
import { unresolvedRoleReferences } from './role-references.js';

const rbac = 'rbac.authorization.k8s.io/v1';
const bootstrap = {
  clusterRoles: ['cluster-admin', 'view'],
  roles: [{ namespace: 'kube-system', name: 'extension-apiserver-authentication-reader' }],
};
const item = (object: Record<string, unknown>, namespace = 'apps') => ({ namespace, object });
const binding = (
  kind: 'RoleBinding' | 'ClusterRoleBinding',
  name: string,
  roleRef: { kind: string; name: string },
  subjects: Record<string, unknown>[],
  namespace?: string,
) => ({
  apiVersion: rbac,
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
  subjects,
});

describe('unresolvedRoleReferences', () => {
  it('resolves roles the charts render and those the API server creates, in the binding namespace', () => {
    const items = [
      item({ apiVersion: rbac, kind: 'Role', metadata: { name: 'leader' } }),
      item({ apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'operator' } }),
      item({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'operator' } }),
      item(
        binding('RoleBinding', 'a', { kind: 'Role', name: 'leader' }, [
          { kind: 'ServiceAccount', name: 'operator' },
        ]),
      ),
      item(
        binding('ClusterRoleBinding', 'b', { kind: 'ClusterRole', name: 'operator' }, [
          { kind: 'ServiceAccount', name: 'operator', namespace: 'apps' },
          { kind: 'Group', name: 'system:authenticated' },
        ]),
      ),
      item(
        binding(
          'RoleBinding',
          'c',
          { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
          [{ kind: 'ServiceAccount', name: 'default', namespace: 'apps' }],
          'kube-system',
        ),
      ),
      item(
        binding('RoleBinding', 'd', { kind: 'ClusterRole', name: 'view' }, [
          { kind: 'User', name: 'me' },
        ]),
      ),
    ];
    expect(unresolvedRoleReferences(items, bootstrap)).toEqual([]);
  });

  it('finds a missing Role (also one of another namespace), a missing ClusterRole and a missing ServiceAccount', () => {
    const items = [
      item({ apiVersion: rbac, kind: 'Role', metadata: { name: 'leader', namespace: 'other' } }),
      item(
        binding('RoleBinding', 'a', { kind: 'Role', name: 'leader' }, [
          { kind: 'ServiceAccount', name: 'operatr' },
        ]),
      ),
      item(binding('ClusterRoleBinding', 'b', { kind: 'ClusterRole', name: 'operator-pod' }, [])),
      item(
        binding(
          'RoleBinding',
          'c',
          { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
          [],
        ),
      ),
    ];
    const found = unresolvedRoleReferences(items, bootstrap);
    expect(found.map(({ binding: b, path, problem }) => `${b} ${path}: ${problem}`)).toEqual([
      'ClusterRoleBinding b roleRef: no ClusterRole operator-pod',
      'RoleBinding apps/a roleRef: no Role apps/leader',
      'RoleBinding apps/a subjects[0]: no ServiceAccount apps/operatr',
      // The API server's own Role is in kube-system only.
      'RoleBinding apps/c roleRef: no Role apps/extension-apiserver-authentication-reader',
    ]);
    expect(found[0]?.effect).toContain('the RBAC authorizer finds no rules in it');
  });
});
