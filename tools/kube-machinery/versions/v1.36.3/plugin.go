package main

import "k8s.io/apiserver/pkg/admission/plugin/policy/validating"

// newValidatingPlugin is the ValidatingAdmissionPolicy plugin as kube-apiserver registers it
// (validating.Register: NewPlugin with no configuration). From Kubernetes 1.36 on NewPlugin also
// returns an error. This file replaces the shared plugin.go in the build of v1.36.3.
func newValidatingPlugin() (*validating.Plugin, error) {
	return validating.NewPlugin(nil)
}
