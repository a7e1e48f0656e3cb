// What an RBAC binding names that must exist for it to grant anything: the Role or ClusterRole of
// its `roleRef` (the API server accepts a binding to a role that does not exist; the RBAC
// authorizer then finds no rules, and its subjects are refused what it was for), and the
// ServiceAccounts among its subjects (a binding to a ServiceAccount no pod runs as grants nothing
// to the pod that needed it, a misspelt name). Pure: no fs, no env, no clock.
import { isJson, type Json, list } from './json-access.js';
import { compareStrings } from './yaml.js';

const RBAC = 'rbac.authorization.k8s.io/v1';

/** The roles the API server creates itself (kube-machinery `bootstrap-rbac`). */
export interface BootstrapRoles {
  readonly clusterRoles: readonly string[];
  readonly roles: readonly { readonly namespace: string; readonly name: string }[];
}

/** A binding's reference nothing satisfies. */
export interface UnresolvedRoleReference {
  /** `RoleBinding <namespace>/<name>` or `ClusterRoleBinding <name>`. */
  readonly binding: string;
  /** `roleRef` or `subjects[<i>]`. */
  readonly path: string;
  readonly problem: string;
  /** What the missing object does to the binding. */
  readonly effect: string;
}

const ROLE_MISSING =
  'the API server accepts the binding, but the RBAC authorizer finds no rules in it: its subjects are refused what it was for';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The references of the bindings among `items` (each with the namespace it is applied to when it
 * names none) that neither `items` nor the API server's own roles (`bootstrap`) satisfy; a
 * ServiceAccount subject is satisfied by one of `items` or by the `default` ServiceAccount every
 * namespace has. Sorted by binding, then path.
 */
export function unresolvedRoleReferences(
  items: readonly { readonly namespace: string; readonly object: unknown }[],
  bootstrap: BootstrapRoles,
): UnresolvedRoleReference[] {
  const clusterRoles = new Set(bootstrap.clusterRoles);
  const roles = new Set(bootstrap.roles.map(({ namespace, name }) => `${namespace}/${name}`));
  const accounts = new Set<string>();
  const bindings: { namespace: string; object: Json }[] = [];
  for (const { namespace, object } of items) {
    if (!isJson(object) || !isJson(object.metadata)) continue;
    const name = text(object.metadata.name);
    if (name === undefined) continue;
    const at = text(object.metadata.namespace) ?? namespace;
    if (object.apiVersion === RBAC && object.kind === 'ClusterRole') clusterRoles.add(name);
    if (object.apiVersion === RBAC && object.kind === 'Role') roles.add(`${at}/${name}`);
    if (object.apiVersion === 'v1' && object.kind === 'ServiceAccount') {
      accounts.add(`${at}/${name}`);
    }
    if (
      object.apiVersion === RBAC &&
      (object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding')
    ) {
      bindings.push({ namespace: object.kind === 'RoleBinding' ? at : '', object });
    }
  }
  const out: UnresolvedRoleReference[] = [];
  for (const { namespace, object } of bindings) {
    const name = (object.metadata as Json).name as string;
    const binding =
      object.kind === 'RoleBinding'
        ? `RoleBinding ${namespace}/${name}`
        : `ClusterRoleBinding ${name}`;
    const ref = isJson(object.roleRef) ? object.roleRef : {};
    const roleName = text(ref.name) ?? '';
    if (ref.kind === 'Role' && !roles.has(`${namespace}/${roleName}`)) {
      out.push({
        binding,
        path: 'roleRef',
        problem: `no Role ${namespace}/${roleName}`,
        effect: ROLE_MISSING,
      });
    } else if (ref.kind === 'ClusterRole' && !clusterRoles.has(roleName)) {
      out.push({
        binding,
        path: 'roleRef',
        problem: `no ClusterRole ${roleName}`,
        effect: ROLE_MISSING,
      });
    }
    list(object.subjects).forEach((subject, index) => {
      if (!isJson(subject) || subject.kind !== 'ServiceAccount') return;
      const account = text(subject.name) ?? '';
      const accountNamespace = text(subject.namespace) ?? namespace;
      if (account === 'default' || accounts.has(`${accountNamespace}/${account}`)) return;
      out.push({
        binding,
        path: `subjects[${index}]`,
        problem: `no ServiceAccount ${accountNamespace}/${account}`,
        effect:
          'it grants to a ServiceAccount no pod runs as: the pod that needed it is refused (a misspelt name?)',
      });
    });
  }
  return out.sort((a, b) => compareStrings(a.binding, b.binding) || compareStrings(a.path, b.path));
}
