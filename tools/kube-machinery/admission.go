package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"

	"k8s.io/kubernetes/pkg/api/legacyscheme"
)

// created is an object the create path accepted, as the API server hands it to validating
// admission: the internal version of a built-in kind (the plugin converts it to the version a
// policy matches with the scheme's conversions), a custom resource as decoded and defaulted.
type created struct {
	index      int
	obj        runtime.Object
	kind       schema.GroupVersionKind
	resource   schema.GroupVersionResource
	namespace  string
	name       string
	interfaces admission.ObjectInterfaces
}

// applier is who applies the objects: Argo CD's application controller, by its ServiceAccount
// (what a policy reads as `request.userInfo`).
var applier = &user.DefaultInfo{
	Name:   "system:serviceaccount:argocd:argocd-application-controller",
	Groups: []string{"system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"},
}

// admissionSyncTimeout bounds the wait for the plugin's informers and its first compilation of the
// policies.
const admissionSyncTimeout = 30 * time.Second

// admit runs the API server's ValidatingAdmissionPolicy admission plugin
// (k8s.io/apiserver/pkg/admission/plugin/policy/validating, as kube-apiserver registers it) with
// the request's own ValidatingAdmissionPolicies and bindings in force, on every object the create
// path accepted, as a CREATE by Argo CD's application controller. The plugin reads the policies,
// the bindings and the Namespaces (for namespace selectors and `namespaceObject`) through informers;
// here they run on a fake clientset holding the request's policies, bindings and Namespaces (each
// namespace an object is applied to that the request does not render gets the label the API server
// sets, kubernetes.io/metadata.name). A refusal is the item's error, as the API server would
// answer it; a Warn action adds the item's warnings. It returns the names of the policies in force
// (with at least one binding), sorted.
func admit(objects []created, outs []itemOut) ([]string, error) {
	var policies, bindings []runtime.Object
	bound := map[string]bool{}
	namespaces := map[string]*corev1.Namespace{}
	for _, c := range objects {
		switch c.kind.GroupKind() {
		case schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:
			v1, err := legacyscheme.Scheme.ConvertToVersion(c.obj, admissionregistrationv1.SchemeGroupVersion)
			if err != nil {
				return nil, fmt.Errorf("admission: %s: %w", c.name, err)
			}
			policies = append(policies, v1)
		case schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}:
			v1, err := legacyscheme.Scheme.ConvertToVersion(c.obj, admissionregistrationv1.SchemeGroupVersion)
			if err != nil {
				return nil, fmt.Errorf("admission: %s: %w", c.name, err)
			}
			bindings = append(bindings, v1)
			bound[v1.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.PolicyName] = true
		case schema.GroupKind{Kind: "Namespace"}:
			v1, err := legacyscheme.Scheme.ConvertToVersion(c.obj, corev1.SchemeGroupVersion)
			if err != nil {
				return nil, fmt.Errorf("admission: %s: %w", c.name, err)
			}
			namespaces[c.name] = v1.(*corev1.Namespace)
		}
	}
	if len(policies) == 0 {
		return []string{}, nil
	}
	for _, c := range objects {
		if c.namespace != "" && namespaces[c.namespace] == nil {
			namespaces[c.namespace] = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name:   c.namespace,
				Labels: map[string]string{corev1.LabelMetadataName: c.namespace},
			}}
		}
	}
	state := append(append([]runtime.Object{}, policies...), bindings...)
	names := make([]string, 0, len(namespaces))
	for name := range namespaces {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		state = append(state, namespaces[name])
	}

	klog.SetLogger(logr.New(errorsOnly{}))
	client := kubefake.NewSimpleClientset(state...)
	factory := informers.NewSharedInformerFactory(client, 0)
	stop := make(chan struct{})
	defer close(stop)
	plugin, err := newValidatingPlugin()
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	plugin.SetExternalKubeInformerFactory(factory)
	plugin.SetExternalKubeClientSet(client)
	plugin.SetDynamicClient(fake.NewSimpleDynamicClient(runtime.NewScheme()))
	plugin.SetRESTMapper(meta.NewDefaultRESTMapper(nil))
	plugin.SetDrainedNotification(stop)
	// Authorization checks a policy makes (the `authorizer` variable) are allowed: Argo CD's
	// controller applies with cluster-wide rights.
	plugin.SetAuthorizer(authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionAllow, "", nil
	}))
	if err := plugin.ValidateInitialization(); err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	factory.Start(stop)
	deadline := time.Now().Add(admissionSyncTimeout)
	for !plugin.WaitForReady() {
		if time.Now().After(deadline) {
			return nil, errors.New("admission: the ValidatingAdmissionPolicy plugin did not sync its policies")
		}
	}

	for _, c := range objects {
		attrs := admission.NewAttributesRecord(c.obj, nil, c.kind, c.namespace, c.name, c.resource, "",
			admission.Create, &metav1.CreateOptions{}, false, applier)
		recorder := &warnings{}
		ctx := warning.WithWarningRecorder(genericapirequest.WithNamespace(context.Background(), c.namespace), recorder)
		out := &outs[c.index]
		if err := plugin.Validate(ctx, attrs, c.interfaces); err != nil {
			out.Error = err.Error()
		}
		sort.Strings(recorder.list)
		out.Warnings = append(out.Warnings, recorder.list...)
	}

	inForce := []string{}
	for _, p := range policies {
		name := p.(*admissionregistrationv1.ValidatingAdmissionPolicy).Name
		if bound[name] {
			inForce = append(inForce, name)
		}
	}
	sort.Strings(inForce)

	return inForce, nil
}

// errorsOnly is the log of the plugin's informers and policy source (klog): their progress is
// dropped, their errors go to stderr.
type errorsOnly struct{}

func (errorsOnly) Init(logr.RuntimeInfo)            {}
func (errorsOnly) Enabled(int) bool                 { return false }
func (errorsOnly) Info(int, string, ...any)         {}
func (s errorsOnly) WithValues(...any) logr.LogSink { return s }
func (s errorsOnly) WithName(string) logr.LogSink   { return s }
func (errorsOnly) Error(err error, msg string, kv ...any) {
	fmt.Fprintf(os.Stderr, "kube-machinery: %s: %v %v\n", msg, err, kv)
}
