package main

import (
	"encoding/json"
	"fmt"
	"sort"

	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/registry/rest"
)

// customKinds are the custom resource kinds of the request's CRDs, by group, version and kind.
type customKinds map[schema.GroupVersionKind]*customKind

type customKind struct {
	crd        *apiextensionsv1.CustomResourceDefinition
	structural *structuralschema.Structural
	strategy   rest.RESTCreateStrategy
	// err is why the API server could not serve the version (its schema is not structural, …).
	err error
}

// readCRDs prepares, for each served version of each CRD, what the API server's CRD handler
// builds to serve it (apiextensions-apiserver pkg/apiserver/customresource_handler.go
// getOrCreateServingInfoFor): the structural schema, the schema validator, the status validator
// and the custom resource strategy (with its CEL validator).
func readCRDs(raws []json.RawMessage) (customKinds, error) {
	kinds := customKinds{}
	for i, raw := range raws {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := json.Unmarshal(raw, crd); err != nil {
			return nil, fmt.Errorf("request.crds[%d]: %w", i, err)
		}
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			kinds[gvk] = servingInfo(crd, v, gvk)
		}
	}

	return kinds, nil
}

func servingInfo(crd *apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion, gvk schema.GroupVersionKind) *customKind {
	out := &customKind{crd: crd}
	validation, err := apiextensionshelpers.GetSchemaForVersion(crd, v.Name)
	if err != nil {
		out.err = err

		return out
	}
	var props *apiextensionsinternal.JSONSchemaProps
	if validation != nil {
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(validation, internal, nil); err != nil {
			out.err = err

			return out
		}
		props = internal.OpenAPIV3Schema
		if props != nil {
			if out.structural, err = structuralschema.NewStructural(props); err != nil {
				out.err = err

				return out
			}
		}
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(props)
	if err != nil {
		out.err = err

		return out
	}
	var statusValidator apiservervalidation.SchemaValidator
	var statusSpec *apiextensionsinternal.CustomResourceSubresourceStatus
	var scaleSpec *apiextensionsinternal.CustomResourceSubresourceScale
	subresources, err := apiextensionshelpers.GetSubresourcesForVersion(crd, v.Name)
	if err != nil {
		out.err = err

		return out
	}
	if subresources != nil && subresources.Status != nil {
		statusSpec = &apiextensionsinternal.CustomResourceSubresourceStatus{}
		if props != nil && props.Properties != nil {
			if statusSchema, ok := props.Properties["status"]; ok {
				if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&statusSchema); err != nil {
					out.err = err

					return out
				}
			}
		}
	}
	if subresources != nil && subresources.Scale != nil {
		scaleSpec = &apiextensionsinternal.CustomResourceSubresourceScale{}
		if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceScale_To_apiextensions_CustomResourceSubresourceScale(subresources.Scale, scaleSpec, nil); err != nil {
			out.err = err

			return out
		}
	}
	out.strategy = customresource.NewStrategy(
		unstructuredscheme.NewUnstructuredObjectTyper(),
		crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		gvk,
		validator,
		statusValidator,
		out.structural,
		statusSpec,
		scaleSpec,
		v.SelectableFields,
	)

	return out
}

// checkCustom creates a custom resource as the API server does: decoding prunes the fields its
// schema does not have (unless the CRD preserves unknown fields) and applies its defaults
// (customresource_handler.go schemaCoercingConverter, unstructuredDefaulter), then the store runs
// rest.BeforeCreate with the custom resource strategy (schema validation, CEL rules, metadata).
// The pruned fields are reported: with kubectl's and Argo CD's strict field validation they are
// an error, otherwise silently dropped.
func checkCustom(it item, kinds customKinds, out itemOut) (itemOut, *created) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(it.Object); err != nil {
		out.Error = err.Error()

		return out, nil
	}
	kind := kinds[u.GroupVersionKind()]
	if kind == nil {
		return out, nil
	}
	out.Checked = true
	if kind.err != nil {
		out.Error = fmt.Sprintf("the API server cannot serve %s: %s", u.GroupVersionKind(), kind.err)

		return out, nil
	}
	if !kind.crd.Spec.PreserveUnknownFields {
		unknown := structuralpruning.PruneWithOptions(u.Object, kind.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
		sort.Strings(unknown)
		out.UnknownFields = append(out.UnknownFields, unknown...)
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, kind.structural)
	}
	if kind.structural != nil {
		structuraldefaulting.Default(u.Object, kind.structural)
	}
	gvk := u.GroupVersionKind()
	resource := gvk.GroupVersion().WithResource(kind.crd.Spec.Names.Plural)
	out = create(kind.strategy, u, u, resource, it.Namespace, nil, out)
	if out.Error != "" {
		return out, nil
	}

	return out, &created{
		obj: u, kind: gvk, resource: resource,
		namespace: out.Namespace, name: out.Name, interfaces: admission.NewObjectInterfacesFromScheme(runtime.NewScheme()),
	}
}
