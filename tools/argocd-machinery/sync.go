package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/argo"
	"github.com/argoproj/argo-cd/v3/util/db"
)

// syncQuestion is one Application, its AppProject and the objects its source renders: may Argo CD
// sync them?
type syncQuestion struct {
	Project     json.RawMessage `json:"project"`
	Application json.RawMessage `json:"application"`
	Resources   []syncResource  `json:"resources"`
}

// syncResource is one rendered object: its kind and name, and whether the cluster's API serves
// the kind namespaced (Argo CD reads it from the cluster's discovery; null: the cluster does not
// serve the kind).
type syncResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Namespaced *bool  `json:"namespaced"`
}

type syncOut struct {
	ProjectError          string       `json:"projectError"`
	ApplicationConditions []string     `json:"applicationConditions"`
	ApplicationError      string       `json:"applicationError"`
	Resources             []syncResOut `json:"resources"`
}

type syncResOut struct {
	Namespace string `json:"namespace"`
	Error     string `json:"error"`
}

// decodeStrict decodes raw into v, refusing fields v's type does not have (a field Argo CD's
// types do not know is one it drops).
func decodeStrict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()

	return dec.Decode(v)
}

func readSyncQuestions(questions []syncQuestion) ([]syncLoaded, error) {
	out := make([]syncLoaded, 0, len(questions))
	for i, q := range questions {
		l := syncLoaded{resources: q.Resources}
		if err := decodeStrict(q.Project, &l.project); err != nil {
			return nil, fmt.Errorf("request.sync[%d].project: %w", i, err)
		}
		if err := decodeStrict(q.Application, &l.application); err != nil {
			return nil, fmt.Errorf("request.sync[%d].application: %w", i, err)
		}
		out = append(out, l)
	}

	return out, nil
}

type syncLoaded struct {
	project     v1alpha1.AppProject
	application v1alpha1.Application
	resources   []syncResource
}

// syncOf answers each question with Argo CD's code, its cluster database (util/db.NewDB) on the
// request's ConfigMaps and Secrets (so `cluster.inClusterEnabled` of argocd-cm and cluster
// Secrets count):
//   - projectError: AppProject.ValidateProject(), what the API server checks on create and update;
//   - applicationConditions, applicationError: util/argo.ValidatePermissions, as the application
//     controller runs it on every refresh (controller/state.go CompareAppState via
//     argo.ValidatePermissions): the source repository and the destination permitted by the project;
//   - resources: for each rendered object the namespace Argo CD gives it (controller/state.go
//     DeduplicateTargetObjects: cluster-scoped objects lose their namespace, namespaced ones
//     without one get the Application's destination namespace) and the error of the sync's
//     permission validator (controller/sync.go validateSyncPermissions, copied: it is not exported),
//     with the destination cluster of util/argo.GetDestinationCluster.
func syncOf(ctx context.Context, argoDB db.ArgoDB, questions []syncLoaded) []syncOut {
	out := make([]syncOut, 0, len(questions))
	projectClusters := func(project string) ([]*v1alpha1.Cluster, error) {
		return argoDB.GetProjectClusters(ctx, project)
	}
	for i := range questions {
		q := &questions[i]
		entry := syncOut{
			ProjectError:          errString(q.project.ValidateProject()),
			ApplicationConditions: []string{},
			Resources:             make([]syncResOut, 0, len(q.resources)),
		}
		conditions, err := argo.ValidatePermissions(ctx, &q.application.Spec, &q.project, argoDB)
		entry.ApplicationError = errString(err)
		for _, c := range conditions {
			entry.ApplicationConditions = append(entry.ApplicationConditions, c.Message)
		}
		destCluster, destErr := argo.GetDestinationCluster(ctx, q.application.Spec.Destination, argoDB)
		for _, r := range q.resources {
			un := &unstructured.Unstructured{}
			un.SetAPIVersion(r.APIVersion)
			un.SetKind(r.Kind)
			un.SetName(r.Name)
			un.SetNamespace(r.Namespace)
			var res *metav1.APIResource
			if r.Namespaced != nil {
				res = &metav1.APIResource{Name: r.Kind, Kind: r.Kind, Namespaced: *r.Namespaced}
			}
			// DeduplicateTargetObjects: kubeutil.IsNamespacedOrUnknown (unknown counts as namespaced).
			if res != nil && !res.Namespaced {
				un.SetNamespace("")
			} else if un.GetNamespace() == "" {
				un.SetNamespace(q.application.Spec.Destination.Namespace)
			}
			resOut := syncResOut{Namespace: un.GetNamespace()}
			if destErr != nil {
				resOut.Error = destErr.Error()
			} else {
				resOut.Error = errString(validateSyncPermissions(&q.project, destCluster, projectClusters, un, res))
			}
			entry.Resources = append(entry.Resources, resOut)
		}
		out = append(out, entry)
	}

	return out
}

// validateSyncPermissions is controller/sync.go's (Argo CD v3.4.4), copied verbatim: the sync's
// permission validator (sync.WithPermissionValidator), run on every object before it is applied;
// an error fails the whole sync.
func validateSyncPermissions(
	project *v1alpha1.AppProject,
	destCluster *v1alpha1.Cluster,
	getProjectClusters func(string) ([]*v1alpha1.Cluster, error),
	un *unstructured.Unstructured,
	res *metav1.APIResource,
) error {
	if res == nil {
		return fmt.Errorf("failed to get API resource info for %s/%s: unable to verify permissions", un.GroupVersionKind().Group, un.GroupVersionKind().Kind)
	}
	if !project.IsGroupKindNamePermitted(un.GroupVersionKind().GroupKind(), un.GetName(), res.Namespaced) {
		return fmt.Errorf("resource %s:%s is not permitted in project %s", un.GroupVersionKind().Group, un.GroupVersionKind().Kind, project.Name)
	}
	if res.Namespaced {
		permitted, err := project.IsDestinationPermitted(destCluster, un.GetNamespace(), getProjectClusters)
		if err != nil {
			return err
		}

		if !permitted {
			return fmt.Errorf("namespace %v is not permitted in project '%s'", un.GetNamespace(), project.Name)
		}
	}
	return nil
}
