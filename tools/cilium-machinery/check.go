package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cast"

	"github.com/cilium/cilium/pkg/defaults"
	v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/option"
)

// request is what `check` reads on stdin.
type request struct {
	// ClusterName is the agent's `cluster-name` (the chart's `cluster.name`, "default").
	ClusterName string `json:"clusterName"`
	// Config is the data of the cluster's cilium-config ConfigMap.
	Config   map[string]string `json:"config"`
	Policies []json.RawMessage `json:"policies"`
}

// response is what `check` writes on stdout.
type response struct {
	CiliumVersion string `json:"ciliumVersion"`
	// Options are the agent options the parser reads, as the request's config sets them.
	Options  map[string]bool `json:"options"`
	Policies []policyOut     `json:"policies"`
}

type policyOut struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// UnknownFields is the error of decoding the policy into Cilium's types refusing fields they do
	// not have: the API server prunes such a field from the stored object (structural schema).
	UnknownFields string `json:"unknownFields"`
	// Error is Parse's: the agent's policy watcher imports nothing of the policy then.
	Error string `json:"error"`
	Rules int    `json:"rules"`
}

// agentOptions are the agent options that pkg/policy/api's Sanitize and the CRD parsing read
// (option.Config fields), with the agent's flag name and default (daemon/cmd/daemon_main.go,
// pkg/defaults; enable-extended-ip-protocols is false unless set).
var agentOptions = []struct {
	flag  string
	def   bool
	field *bool
}{
	{option.EnableL7Proxy, defaults.EnableL7Proxy, &option.Config.EnableL7Proxy},
	{option.EnableICMPRules, defaults.EnableICMPRules, &option.Config.EnableICMPRules},
	{option.EnableNodeSelectorLabels, defaults.EnableNodeSelectorLabels, &option.Config.EnableNodeSelectorLabels},
	{option.EnableNonDefaultDenyPolicies, defaults.EnableNonDefaultDenyPolicies, &option.Config.EnableNonDefaultDenyPolicies},
	{option.EnableExtendedIPProtocols, defaults.EnableExtendedIPProtocols, &option.Config.EnableExtendedIPProtocols},
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

func check(req *request) *response {
	resp := &response{CiliumVersion: ciliumVersion(), Options: map[string]bool{}, Policies: []policyOut{}}
	// The agent reads its options from the ConfigMap's keys (its config directory) through viper,
	// whose GetBool is cast.ToBool; an absent key keeps the flag's default.
	for _, o := range agentOptions {
		value := o.def
		if text, ok := req.Config[o.flag]; ok {
			value = cast.ToBool(text)
		}
		*o.field = value
		resp.Options[o.flag] = value
	}
	clusterName := req.ClusterName
	if clusterName == "" {
		clusterName = defaults.ClusterName
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, raw := range req.Policies {
		resp.Policies = append(resp.Policies, parsePolicy(logger, clusterName, raw))
	}

	return resp
}

func parsePolicy(logger *slog.Logger, clusterName string, raw json.RawMessage) policyOut {
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	out := policyOut{}
	if err := json.Unmarshal(raw, &meta); err != nil {
		out.Error = err.Error()

		return out
	}
	out.Kind, out.Name, out.Namespace = meta.Kind, meta.Metadata.Name, meta.Metadata.Namespace
	strict := func(v any) string {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()

		return errString(dec.Decode(v))
	}
	switch meta.Kind {
	case "CiliumNetworkPolicy":
		var cnp v2.CiliumNetworkPolicy
		out.UnknownFields = strict(&v2.CiliumNetworkPolicy{})
		if err := json.Unmarshal(raw, &cnp); err != nil {
			out.Error = err.Error()

			return out
		}
		rules, err := cnp.Parse(logger, clusterName)
		out.Error, out.Rules = errString(err), len(rules)
	case "CiliumClusterwideNetworkPolicy":
		var ccnp v2.CiliumClusterwideNetworkPolicy
		out.UnknownFields = strict(&v2.CiliumClusterwideNetworkPolicy{})
		if err := json.Unmarshal(raw, &ccnp); err != nil {
			out.Error = err.Error()

			return out
		}
		rules, err := ccnp.Parse(logger, clusterName)
		out.Error, out.Rules = errString(err), len(rules)
	default:
		out.Error = fmt.Sprintf("%s is not a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy", meta.Kind)
	}

	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}

	return err.Error()
}
