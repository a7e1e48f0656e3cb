package main

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/argoproj/argo-cd/v3/common"
	applisters "github.com/argoproj/argo-cd/v3/pkg/client/listers/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/server/rbacpolicy"
	"github.com/argoproj/argo-cd/v3/util/assets"
	"github.com/argoproj/argo-cd/v3/util/rbac"
)

// rbacOf answers each question with the API server's enforcer, wired as server/server.go does:
// NewServer builds rbac.NewEnforcer on argocd-rbac-cm, enables it (auth on), sets the built-in
// policy (assets.BuiltinPolicyCSV) and the claims enforcer rbacpolicy.RBACPolicyEnforcer.EnforceClaims;
// (*ArgoCDServer).rbacPolicyLoader loads argocd-rbac-cm with Enforcer.RunPolicyLoader (policy.csv
// plus the policy.<x>.csv overlays (rbac.PolicyCSV), policy.default, policy.matchMode) and sets
// the scopes from its `scopes` key. The API server then asks Enforce(claims, resource, action,
// object) with the request's JWT claims (jwt.MapClaims).
//
// It also returns rbac.ValidatePolicy of the policy the server loads (rbac.PolicyCSV of the
// ConfigMap's data: policy.csv and its overlays) and the error of the initial policy load, on
// which the API server exits (rbacPolicyLoader: errorsutil.CheckError).
func rbacOf(kube kubernetes.Interface, namespace string, questions []rbacQuestion) (policyError, loadError string, answers []rbacOut) {
	answers = make([]rbacOut, 0, len(questions))

	// rbac.ValidatePolicy, as `argocd admin settings rbac validate` applies it
	// (cmd/argocd/commands/admin/settings_rbac.go getPolicyFromConfigMap: rbac.PolicyCSV(cm.Data)).
	cm, err := kube.CoreV1().ConfigMaps(namespace).Get(context.Background(), common.ArgoCDRBACConfigMapName, metav1.GetOptions{})
	if err == nil {
		policyError = errString(rbac.ValidatePolicy(rbac.PolicyCSV(cm.Data)))
	}

	// server/server.go NewServer.
	enf := rbac.NewEnforcer(kube, namespace, common.ArgoCDRBACConfigMapName, nil)
	enf.EnableEnforce(true)
	if err := enf.SetBuiltinPolicy(assets.BuiltinPolicyCSV); err != nil {
		panic(fmt.Sprintf("Argo CD's built-in policy does not load: %v", err))
	}
	// No AppProjects: an empty lister (the projects' own roles are not part of the request; the
	// `default` project a fresh install has holds no roles, which enforces the same).
	projLister := applisters.NewAppProjectLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})).AppProjects(namespace)
	policyEnf := rbacpolicy.NewRBACPolicyEnforcer(enf, projLister)
	enf.SetClaimsEnforcerFunc(policyEnf.EnforceClaims)

	// server/server.go (*ArgoCDServer).rbacPolicyLoader, whose callback is copied here. The
	// context is cancelled before the call: RunPolicyLoader first Gets the ConfigMap and syncs
	// the enforcer from it (the fake clientset ignores the context), then runs a ConfigMap
	// informer until the context is done, which here is at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = enf.RunPolicyLoader(ctx, func(cm *corev1.ConfigMap) error {
		var scopes []string
		if scopesStr, ok := cm.Data[rbac.ConfigMapScopesKey]; scopesStr != "" && ok {
			scopes = make([]string, 0)
			err := yaml.Unmarshal([]byte(scopesStr), &scopes)
			if err != nil {
				return fmt.Errorf("error unmarshalling scopes: %w", err)
			}
		}

		policyEnf.SetScopes(scopes)
		return nil
	})
	loadError = errString(err)

	for _, q := range questions {
		// After a failed load the API server is not running (it exits), and the enforcer, which
		// keeps the policy that failed, panics on Enforce: nothing is allowed.
		allowed := loadError == "" && enf.Enforce(claimsOf(q.Claims), q.Resource, q.Action, q.Object)
		answers = append(answers, rbacOut{Allowed: allowed})
	}

	return policyError, loadError, answers
}
