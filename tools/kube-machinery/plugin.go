package main

import "k8s.io/apiserver/pkg/admission/plugin/policy/validating"

// newValidatingPlugin is the ValidatingAdmissionPolicy plugin as kube-apiserver registers it
// (validating.Register: NewPlugin with no configuration). Up to Kubernetes 1.35 NewPlugin returns
// the plugin alone; versions/v1.36.3/plugin.go replaces this file for 1.36, where it also returns
// an error.
func newValidatingPlugin() (*validating.Plugin, error) {
	return validating.NewPlugin(nil), nil
}
