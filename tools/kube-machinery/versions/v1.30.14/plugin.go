package main

import (
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

// newValidatingPlugin is the ValidatingAdmissionPolicy plugin as kube-apiserver registers it
// (validating.Register: NewPlugin with no configuration). Up to Kubernetes 1.31 NewPlugin returns
// a plugin that is off, and admits everything, until the admission initializer hands it the
// feature gates: k8s.io/apiserver pkg/admission/initializer/initializer.go,
// pluginInitializer.Initialize, calls InspectFeatureGates (pkg/admission/plugin/policy/validating
// plugin.go) with the API server's utilfeature.DefaultFeatureGate, and the plugin is on with the
// ValidatingAdmissionPolicy gate (GA and locked on in 1.30 and 1.31). From 1.32 on NewPlugin turns
// it on itself. This file replaces the shared plugin.go in the builds of v1.30.14 and v1.31.14
// (versions/v1.31.14/plugin.go is a link to it).
func newValidatingPlugin() (*validating.Plugin, error) {
	plugin := validating.NewPlugin(nil)
	plugin.InspectFeatureGates(utilfeature.DefaultFeatureGate)

	return plugin, nil
}
