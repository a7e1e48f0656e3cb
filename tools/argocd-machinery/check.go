package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/health"
	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/db"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

// request is what `check` reads on stdin.
type request struct {
	Namespace string            `json:"namespace"`
	Objects   []json.RawMessage `json:"objects"`
	Health    []json.RawMessage `json:"health"`
	RBAC      []rbacQuestion    `json:"rbac"`
	Sync      []syncQuestion    `json:"sync"`
}

type rbacQuestion struct {
	Claims   map[string]any `json:"claims"`
	Resource string         `json:"resource"`
	Action   string         `json:"action"`
	Object   string         `json:"object"`
}

// response is what `check` writes on stdout.
type response struct {
	ArgocdVersion          string                      `json:"argocdVersion"`
	SettingsError          string                      `json:"settingsError"`
	OIDC                   *oidcOut                    `json:"oidc"`
	ResourceOverrides      map[string]resourceOverride `json:"resourceOverrides"`
	ResourceOverridesError string                      `json:"resourceOverridesError"`
	ResourceExclusions     []settings.FilteredResource `json:"resourceExclusions"`
	ResourceInclusions     []settings.FilteredResource `json:"resourceInclusions"`
	ResourcesFilterError   string                      `json:"resourcesFilterError"`
	Health                 []healthOut                 `json:"health"`
	RBACPolicyError        string                      `json:"rbacPolicyError"`
	RBACLoadError          string                      `json:"rbacLoadError"`
	RBAC                   []rbacOut                   `json:"rbac"`
	Sync                   []syncOut                   `json:"sync"`
}

type oidcOut struct {
	Name                  string   `json:"name"`
	Issuer                string   `json:"issuer"`
	ClientID              string   `json:"clientID"`
	ClientSecret          string   `json:"clientSecret"`
	CLIClientID           string   `json:"cliClientID"`
	RequestedScopes       []string `json:"requestedScopes"`
	RootCA                string   `json:"rootCA"`
	RefreshTokenThreshold string   `json:"refreshTokenThreshold"`
}

type resourceOverride struct {
	HealthLua             string                      `json:"healthLua"`
	UseOpenLibs           bool                        `json:"useOpenLibs"`
	IgnoreDifferences     v1alpha1.OverrideIgnoreDiff `json:"ignoreDifferences"`
	IgnoreResourceUpdates v1alpha1.OverrideIgnoreDiff `json:"ignoreResourceUpdates"`
	Actions               string                      `json:"actions"`
	KnownTypeFields       []v1alpha1.KnownTypeField   `json:"knownTypeFields"`
}

type healthOut struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

type rbacOut struct {
	Allowed bool `json:"allowed"`
}

// loaded is a request with its objects decoded.
type loaded struct {
	namespace string
	objects   []runtime.Object
	health    []*unstructured.Unstructured
	rbac      []rbacQuestion
	sync      []syncLoaded
}

func readRequest(r io.Reader) (*loaded, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req request
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("cannot read the request on stdin: %w", err)
	}
	if dec.More() {
		return nil, errors.New("cannot read the request on stdin: more than one JSON value")
	}
	l := &loaded{namespace: req.Namespace, rbac: req.RBAC}
	if l.namespace == "" {
		return nil, errors.New("request.namespace is empty")
	}
	for i, raw := range req.Objects {
		obj, err := decodeObject(raw, l.namespace)
		if err != nil {
			return nil, fmt.Errorf("request.objects[%d]: %w", i, err)
		}
		l.objects = append(l.objects, obj)
	}
	for i, raw := range req.Health {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("request.health[%d]: %w", i, err)
		}
		l.health = append(l.health, u)
	}
	for i, q := range req.RBAC {
		if q.Claims == nil {
			return nil, fmt.Errorf("request.rbac[%d].claims is missing", i)
		}
	}
	sync, err := readSyncQuestions(req.Sync)
	if err != nil {
		return nil, err
	}
	l.sync = sync

	return l, nil
}

// decodeObject reads a ConfigMap or Secret as Helm rendered it. Two things the API server would
// do when the manifest is applied are done here, as the fake clientset does neither:
//   - an object without metadata.namespace lands in the namespace it is applied to (the request's);
//   - a Secret's stringData is merged into data, stringData winning (k8s.io/kubernetes
//     pkg/apis/core/v1/conversion.go, Convert_v1_Secret_To_core_Secret).
func decodeObject(raw json.RawMessage, namespace string) (runtime.Object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	strict := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()

		return dec.Decode(v)
	}
	switch {
	case meta.APIVersion == "v1" && meta.Kind == "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := strict(cm); err != nil {
			return nil, fmt.Errorf("ConfigMap: %w", err)
		}
		if cm.Namespace == "" {
			cm.Namespace = namespace
		}

		return cm, nil
	case meta.APIVersion == "v1" && meta.Kind == "Secret":
		s := &corev1.Secret{}
		if err := strict(s); err != nil {
			return nil, fmt.Errorf("Secret: %w", err)
		}
		if s.Namespace == "" {
			s.Namespace = namespace
		}
		if len(s.StringData) > 0 {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			for k, v := range s.StringData {
				s.Data[k] = []byte(v)
			}
			s.StringData = nil
		}

		return s, nil
	default:
		return nil, fmt.Errorf("%s %s: only v1 ConfigMaps and Secrets are loaded", meta.APIVersion, meta.Kind)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}

	return err.Error()
}

func check(l *loaded) *response {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := fake.NewClientset(l.objects...)

	resp := &response{ArgocdVersion: argocdVersion()}
	mgr := settings.NewSettingsManager(ctx, kube, l.namespace)
	settingsOf(mgr, resp)
	overrides, overridesErr := mgr.GetResourceOverrides()
	resp.ResourceOverridesError = errString(overridesErr)
	resp.ResourceOverrides = map[string]resourceOverride{}
	for key, o := range overrides {
		resp.ResourceOverrides[key] = resourceOverride{
			HealthLua:             o.HealthLua,
			UseOpenLibs:           o.UseOpenLibs,
			IgnoreDifferences:     o.IgnoreDifferences,
			IgnoreResourceUpdates: o.IgnoreResourceUpdates,
			Actions:               o.Actions,
			KnownTypeFields:       o.KnownTypeFields,
		}
	}
	filter, err := mgr.GetResourcesFilter()
	resp.ResourcesFilterError = errString(err)
	resp.ResourceExclusions = []settings.FilteredResource{}
	resp.ResourceInclusions = []settings.FilteredResource{}
	if filter != nil {
		resp.ResourceExclusions = append(resp.ResourceExclusions, filter.ResourceExclusions...)
		resp.ResourceInclusions = append(resp.ResourceInclusions, filter.ResourceInclusions...)
	}
	resp.Health = healthOf(l.health, overrides, overridesErr == nil)
	resp.RBACPolicyError, resp.RBACLoadError, resp.RBAC = rbacOf(kube, l.namespace, l.rbac)
	resp.Sync = syncOf(ctx, db.NewDB(l.namespace, mgr, kube), l.sync)

	return resp
}

// settingsOf fills settingsError and oidc from SettingsManager.GetSettings (which returns the
// settings it could read together with its error) and ArgoCDSettings.OIDCConfig.
func settingsOf(mgr *settings.SettingsManager, resp *response) {
	s, err := mgr.GetSettings()
	resp.SettingsError = errString(err)
	if s == nil {
		return
	}
	o := s.OIDCConfig()
	if o == nil {
		return
	}
	resp.OIDC = &oidcOut{
		Name:                  o.Name,
		Issuer:                o.Issuer,
		ClientID:              o.ClientID,
		ClientSecret:          o.ClientSecret,
		CLIClientID:           o.CLIClientID,
		RequestedScopes:       append([]string{}, o.RequestedScopes...),
		RootCA:                o.RootCA,
		RefreshTokenThreshold: s.RefreshTokenThresholdWithConfig(o).String(),
	}
}

// healthOf assesses each object as the application controller does (controller/health.go
// setApplicationHealth): gitops-engine's health.GetResourceHealth with
// lua.ResourceHealthOverrides of SettingsManager.GetResourceOverrides. When the overrides cannot
// be read the controller assesses nothing (its comparison fails first), so neither does this.
func healthOf(objs []*unstructured.Unstructured, overrides map[string]v1alpha1.ResourceOverride, overridesRead bool) []healthOut {
	out := make([]healthOut, 0, len(objs))
	healthOverrides := lua.ResourceHealthOverrides(overrides)
	for _, obj := range objs {
		if !overridesRead {
			out = append(out, healthOut{Error: "resource overrides of argocd-cm could not be read (see resourceOverridesError); the application controller assesses no health then"})

			continue
		}
		h, err := health.GetResourceHealth(obj, healthOverrides)
		entry := healthOut{Error: errString(err)}
		if h != nil {
			entry.Status = string(h.Status)
			entry.Message = h.Message
		}
		out = append(out, entry)
	}

	return out
}

// claimsOf turns a request's claims into what the API server's enforcer receives: the JWT's
// claims as jwt.MapClaims (util/session/sessionmanager.go Parse).
func claimsOf(c map[string]any) jwt.Claims {
	return jwt.MapClaims(maps.Clone(c))
}
