package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	apiextensionsserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	crdregistry "k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/admission"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	apiserviceregistry "k8s.io/kube-aggregator/pkg/registry/apiservice"

	"k8s.io/kubernetes/pkg/api/legacyscheme"
	api "k8s.io/kubernetes/pkg/apis/core"
	"k8s.io/kubernetes/pkg/capabilities"
	// The built-in API groups, registered into legacyscheme (as the API server imports them).
	_ "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install"
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	_ "k8s.io/kubernetes/pkg/apis/coordination/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	_ "k8s.io/kubernetes/pkg/apis/policy/install"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
	_ "k8s.io/kubernetes/pkg/apis/scheduling/install"
	_ "k8s.io/kubernetes/pkg/apis/storage/install"

	"k8s.io/kubernetes/pkg/registry/admissionregistration/mutatingwebhookconfiguration"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/resolver"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingadmissionpolicy"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingadmissionpolicybinding"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingwebhookconfiguration"
	"k8s.io/kubernetes/pkg/registry/apps/daemonset"
	"k8s.io/kubernetes/pkg/registry/apps/deployment"
	"k8s.io/kubernetes/pkg/registry/apps/replicaset"
	"k8s.io/kubernetes/pkg/registry/apps/statefulset"
	"k8s.io/kubernetes/pkg/registry/autoscaling/horizontalpodautoscaler"
	"k8s.io/kubernetes/pkg/registry/batch/cronjob"
	"k8s.io/kubernetes/pkg/registry/batch/job"
	"k8s.io/kubernetes/pkg/registry/coordination/lease"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/endpoint"
	"k8s.io/kubernetes/pkg/registry/core/limitrange"
	"k8s.io/kubernetes/pkg/registry/core/namespace"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolume"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolumeclaim"
	"k8s.io/kubernetes/pkg/registry/core/pod"
	"k8s.io/kubernetes/pkg/registry/core/resourcequota"
	"k8s.io/kubernetes/pkg/registry/core/secret"
	"k8s.io/kubernetes/pkg/registry/core/service"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/discovery/endpointslice"
	"k8s.io/kubernetes/pkg/registry/networking/ingress"
	"k8s.io/kubernetes/pkg/registry/networking/ingressclass"
	"k8s.io/kubernetes/pkg/registry/networking/networkpolicy"
	"k8s.io/kubernetes/pkg/registry/policy/poddisruptionbudget"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrole"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrolebinding"
	"k8s.io/kubernetes/pkg/registry/rbac/role"
	"k8s.io/kubernetes/pkg/registry/rbac/rolebinding"
	"k8s.io/kubernetes/pkg/registry/scheduling/priorityclass"
	"k8s.io/kubernetes/pkg/registry/storage/csidriver"
	"k8s.io/kubernetes/pkg/registry/storage/storageclass"
)

// request is what `check` reads on stdin.
type request struct {
	// CRDs are the CustomResourceDefinitions the cluster has: its custom resources are checked
	// against them.
	CRDs  []json.RawMessage `json:"crds"`
	Items []item            `json:"items"`
}

// item is one object as it is applied, and the namespace it is applied to when it names none
// (kubectl's and Argo CD's: the Application's destination).
type item struct {
	Namespace string          `json:"namespace"`
	Object    json.RawMessage `json:"object"`
}

// response is what `check` writes on stdout.
type response struct {
	KubernetesVersion string    `json:"kubernetesVersion"`
	Items             []itemOut `json:"items"`
	// AdmissionPolicies are the request's ValidatingAdmissionPolicies with a binding, which
	// validating admission ran on every accepted object (sorted).
	AdmissionPolicies []string `json:"admissionPolicies"`
}

type itemOut struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Checked is false for a kind this tool has no registry strategy of and no CRD in the
	// request for.
	Checked bool   `json:"checked"`
	Error   string `json:"error"`
	// UnknownFields are the paths of the fields a custom resource's schema does not have (the
	// API server prunes them).
	UnknownFields []string `json:"unknownFields"`
	Warnings      []string `json:"warnings"`
}

// strategies are the registry strategies of the API server (pkg/registry/<group>/<resource>),
// by group and kind, with the codec factory of the scheme the group is registered in.
type strategyOf struct {
	strategy rest.RESTCreateStrategy
	scheme   *runtime.Scheme
	codecs   serializer.CodecFactory
}

var strategies = map[schema.GroupKind]strategyOf{}

func init() {
	// Talos runs kube-apiserver with --allow-privileged=true (siderolabs/talos
	// internal/app/machined/pkg/controllers/k8s/control_plane_final.go), which kube-apiserver
	// passes to capabilities.Setup; pod validation refuses privileged containers without it.
	capabilities.Initialize(capabilities.Capabilities{AllowPrivileged: true})
	legacy := func(group, kind string, s rest.RESTCreateStrategy) {
		strategies[schema.GroupKind{Group: group, Kind: kind}] = strategyOf{s, legacyscheme.Scheme, legacyscheme.Codecs}
	}
	legacy("", "ConfigMap", configmap.Strategy)
	legacy("", "Endpoints", endpoint.Strategy)
	legacy("", "LimitRange", limitrange.Strategy)
	legacy("", "Namespace", namespace.Strategy)
	legacy("", "PersistentVolume", persistentvolume.Strategy)
	legacy("", "PersistentVolumeClaim", persistentvolumeclaim.Strategy)
	legacy("", "Pod", pod.Strategy)
	legacy("", "ResourceQuota", resourcequota.Strategy)
	legacy("", "Secret", secret.Strategy)
	legacy("", "Service", service.Strategy)
	legacy("", "ServiceAccount", serviceaccount.Strategy)
	legacy("admissionregistration.k8s.io", "MutatingWebhookConfiguration", mutatingwebhookconfiguration.Strategy)
	legacy("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", validatingwebhookconfiguration.Strategy)
	// Without an authorizer (Argo CD applies as an administrator) a policy's paramKind and a
	// binding's paramRef are not authorized; the resolver is only asked by that authorization.
	noResolver := resolver.ResourceResolverFunc(func(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
		return schema.GroupVersionResource{}, fmt.Errorf("no resource resolver for %s", gvk)
	})
	legacy("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", validatingadmissionpolicy.NewStrategy(nil, noResolver))
	legacy("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", validatingadmissionpolicybinding.NewStrategy(nil, nil, noResolver))
	legacy("apps", "DaemonSet", daemonset.Strategy)
	legacy("apps", "Deployment", deployment.Strategy)
	legacy("apps", "ReplicaSet", replicaset.Strategy)
	legacy("apps", "StatefulSet", statefulset.Strategy)
	legacy("autoscaling", "HorizontalPodAutoscaler", horizontalpodautoscaler.Strategy)
	legacy("batch", "CronJob", cronjob.Strategy)
	legacy("batch", "Job", job.Strategy)
	legacy("coordination.k8s.io", "Lease", lease.Strategy)
	legacy("discovery.k8s.io", "EndpointSlice", endpointslice.Strategy)
	legacy("networking.k8s.io", "Ingress", ingress.Strategy)
	legacy("networking.k8s.io", "IngressClass", ingressclass.Strategy)
	legacy("networking.k8s.io", "NetworkPolicy", networkpolicy.Strategy)
	legacy("policy", "PodDisruptionBudget", poddisruptionbudget.Strategy)
	legacy("rbac.authorization.k8s.io", "ClusterRole", clusterrole.Strategy)
	legacy("rbac.authorization.k8s.io", "ClusterRoleBinding", clusterrolebinding.Strategy)
	legacy("rbac.authorization.k8s.io", "Role", role.Strategy)
	legacy("rbac.authorization.k8s.io", "RoleBinding", rolebinding.Strategy)
	legacy("scheduling.k8s.io", "PriorityClass", priorityclass.Strategy)
	legacy("storage.k8s.io", "CSIDriver", csidriver.Strategy)
	legacy("storage.k8s.io", "StorageClass", storageclass.Strategy)
	strategies[schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}] = strategyOf{
		crdregistry.NewStrategy(apiextensionsserver.Scheme), apiextensionsserver.Scheme, apiextensionsserver.Codecs,
	}
	strategies[schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}] = strategyOf{
		apiserviceregistry.NewStrategy(aggregatorscheme.Scheme), aggregatorscheme.Scheme, aggregatorscheme.Codecs,
	}
}

func readRequest(r io.Reader) (*request, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req request
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("cannot read the request on stdin: %w", err)
	}
	if dec.More() {
		return nil, errors.New("cannot read the request on stdin: more than one JSON value")
	}

	return &req, nil
}

func check(req *request) (*response, error) {
	kinds, err := readCRDs(req.CRDs)
	if err != nil {
		return nil, err
	}
	resp := &response{KubernetesVersion: kubeVersion(), Items: make([]itemOut, 0, len(req.Items))}
	accepted := []created{}
	for i, it := range req.Items {
		out, c := checkItem(it, kinds)
		resp.Items = append(resp.Items, out)
		if c != nil {
			c.index = i
			accepted = append(accepted, *c)
		}
	}
	if resp.AdmissionPolicies, err = admit(accepted, resp.Items); err != nil {
		return nil, err
	}

	return resp, nil
}

// warnings collects what a strategy's WarningsOnCreate adds (the API server's warning headers).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) AddWarning(_, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func checkItem(it item, kinds customKinds) (itemOut, *created) {
	out := itemOut{Warnings: []string{}, UnknownFields: []string{}}
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(it.Object, &head); err != nil {
		out.Error = err.Error()

		return out, nil
	}
	out.Kind, out.Name = head.Kind, head.Metadata.Name
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		out.Error = err.Error()

		return out, nil
	}
	s, ok := strategies[schema.GroupKind{Group: gv.Group, Kind: head.Kind}]
	if !ok {
		return checkCustom(it, kinds, out)
	}
	out.Checked = true
	// Decoded as the API server decodes a request body: into the internal version, with the
	// external version's defaults applied.
	obj, _, err := s.codecs.UniversalDecoder().Decode(it.Object, nil, nil)
	if err != nil {
		out.Error = err.Error()

		return out, nil
	}
	objectMeta, err := meta.Accessor(obj)
	if err != nil {
		out.Error = err.Error()

		return out, nil
	}
	// The Service storage's BeginCreate hook (pkg/registry/core/service/storage, REST.beginCreate)
	// first syncs clusterIPs with clusterIP, then allocates (not done here: an empty clusterIP
	// passes validation and is allocated afterwards).
	var beginCreate func()
	if svc, ok := obj.(*api.Service); ok {
		beginCreate = func() { normalizeClusterIPs(svc) }
	}

	kind := gv.WithKind(head.Kind)
	out = create(s.strategy, obj, objectMeta, builtinResource(kind), it.Namespace, beginCreate, out)
	if out.Error != "" {
		return out, nil
	}

	return out, &created{
		obj: obj, kind: kind, resource: builtinResource(kind), namespace: out.Namespace, name: out.Name,
		interfaces: admission.NewObjectInterfacesFromScheme(s.scheme),
	}
}

// builtinResource is the resource of a built-in kind: its lower-case plural, as the API server
// names it.
func builtinResource(kind schema.GroupVersionKind) schema.GroupVersionResource {
	if kind.Group == "" && kind.Kind == "Endpoints" {
		return kind.GroupVersion().WithResource("endpoints")
	}
	resource, _ := meta.UnsafeGuessKindToResource(kind)

	return resource
}

// createRequestInfo is the request info the API server's handler chain
// (k8s.io/apiserver/pkg/endpoints/request, RequestInfoFactory.NewRequestInfo) resolves from the
// path of a create (POST /api/v1/namespaces/<ns>/<resource> or /apis/<group>/<version>/…).
func createRequestInfo(resource schema.GroupVersionResource, namespace string) *genericapirequest.RequestInfo {
	prefix, parts := "apis", []string{resource.Group, resource.Version}
	if resource.Group == "" {
		prefix, parts = "api", []string{resource.Version}
	}
	if namespace != "" {
		parts = append(parts, "namespaces", namespace)
	}
	parts = append(parts, resource.Resource)

	return &genericapirequest.RequestInfo{
		IsResourceRequest: true,
		Path:              "/" + prefix + "/" + strings.Join(parts, "/"),
		Verb:              "create",
		APIPrefix:         prefix,
		APIGroup:          resource.Group,
		APIVersion:        resource.Version,
		Namespace:         namespace,
		Resource:          resource.Resource,
		Parts:             []string{resource.Resource},
	}
}

// normalizeClusterIPs is the create case of pkg/registry/core/service/storage's (Kubernetes
// v1.34.4, storage.go), copied as it is unexported: a Service that sets clusterIP but not
// clusterIPs (an old client, or a chart that writes only `clusterIP: None`) gets clusterIPs from it.
func normalizeClusterIPs(svc *api.Service) {
	if len(svc.Spec.ClusterIP) > 0 && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

// create runs what the generic store runs on create (registry/generic/registry.Store.Create)
// from the namespace on: the namespace the object is applied to (its own, else the request's;
// none for a cluster-scoped kind, which kubectl and Argo CD drop), the system fields, the
// storage's BeginCreate hook (nil: none), then rest.BeforeCreate with the strategy, recording its
// refusal and the warnings it would send back. The context carries what the API server's handler
// chain puts there for a create of `resource`: the namespace and the request info (declarative
// validation, from Kubernetes 1.35 on, reads the resource it validates from it).
func create(strategy rest.RESTCreateStrategy, obj runtime.Object, objectMeta metav1.Object, resource schema.GroupVersionResource, requestNamespace string, beginCreate func(), out itemOut) itemOut {
	ns := ""
	if strategy.NamespaceScoped() {
		ns = objectMeta.GetNamespace()
		if ns == "" {
			ns = requestNamespace
		}
	}
	objectMeta.SetNamespace(ns)
	out.Namespace = ns
	rest.FillObjectMetaSystemFields(objectMeta)
	if beginCreate != nil {
		beginCreate()
	}
	recorder := &warnings{}
	ctx := warning.WithWarningRecorder(genericapirequest.WithRequestInfo(genericapirequest.WithNamespace(context.Background(), ns), createRequestInfo(resource, ns)), recorder)
	if err := rest.BeforeCreate(strategy, ctx, obj); err != nil {
		out.Error = err.Error()
	}
	sort.Strings(recorder.list)
	out.Warnings = append(out.Warnings, recorder.list...)

	return out
}
