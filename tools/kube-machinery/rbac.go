package main

import (
	"sort"

	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy"
)

// namespacedName is a Role: its namespace and name.
type namespacedName struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// bootstrapRBAC is what the API server's RBAC post-start hook creates in every cluster
// (pkg/registry/rbac/rest/storage_rbac.go, PostStartHook: the ClusterRoles of bootstrappolicy's
// ClusterRoles and ControllerRoles, the Roles of NamespaceRoles), so a binding may refer to them
// without any chart rendering them.
type bootstrapRBAC struct {
	KubernetesVersion string           `json:"kubernetesVersion"`
	ClusterRoles      []string         `json:"clusterRoles"`
	Roles             []namespacedName `json:"roles"`
}

func bootstrap() bootstrapRBAC {
	out := bootstrapRBAC{KubernetesVersion: kubeVersion(), ClusterRoles: []string{}, Roles: []namespacedName{}}
	for _, role := range append(bootstrappolicy.ClusterRoles(), bootstrappolicy.ControllerRoles()...) {
		out.ClusterRoles = append(out.ClusterRoles, role.Name)
	}
	sort.Strings(out.ClusterRoles)
	for namespace, roles := range bootstrappolicy.NamespaceRoles() {
		for _, role := range roles {
			out.Roles = append(out.Roles, namespacedName{Namespace: namespace, Name: role.Name})
		}
	}
	sort.Slice(out.Roles, func(i, j int) bool {
		if out.Roles[i].Namespace != out.Roles[j].Namespace {
			return out.Roles[i].Namespace < out.Roles[j].Namespace
		}

		return out.Roles[i].Name < out.Roles[j].Name
	})

	return out
}
