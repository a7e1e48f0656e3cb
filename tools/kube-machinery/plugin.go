package main

import "k8s.io/apiserver/pkg/admission/plugin/policy/validating"

// newValidatingPlugin is the ValidatingAdmissionPolicy plugin as kube-apiserver registers it
// (validating.Register: NewPlugin with no configuration), for Kubernetes 1.32 to 1.35, where
// NewPlugin returns the plugin alone and switched on. versions/v1.36.3/plugin.go replaces this
// file for 1.36, where it also returns an error; versions/v1.30.14/plugin.go and
// versions/v1.31.14/plugin.go for 1.30 and 1.31, where the feature gates switch it on.
func newValidatingPlugin() (*validating.Plugin, error) {
	return validating.NewPlugin(nil), nil
}
