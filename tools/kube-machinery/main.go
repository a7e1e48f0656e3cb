// Command kube-machinery is NOT a Kubernetes API server. It runs the API server's own create path
// for built-in kinds (k8s.io/kubernetes at the version pinned by go.mod): decode with defaulting
// into the internal version, then rest.BeforeCreate with the kind's registry strategy (its
// PrepareForCreate, Validate, the common object-meta validation and its create warnings), then
// validating admission with the request's own ValidatingAdmissionPolicies.
//
//	kube-machinery --version         the Kubernetes module version this was built with
//	kube-machinery check             one JSON request on stdin, one JSON response on stdout
//	kube-machinery bootstrap-rbac    the ClusterRoles and Roles the API server creates itself, as JSON
//
// See README.md for what it covers and what it does not (other admission plugins, updates).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const kubeModule = "k8s.io/kubernetes"

const usage = `kube-machinery (Kubernetes %s API server validation code; not an API server)

usage:
  kube-machinery --version
  kube-machinery check < request.json > response.json
  kube-machinery bootstrap-rbac > rbac.json
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "kube-machinery: %s\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	switch {
	case len(args) == 1 && (args[0] == "--version" || args[0] == "version"):
		fmt.Fprintf(stdout, "kube-machinery %s\n", kubeVersion())

		return nil
	case len(args) == 1 && args[0] == "check":
		req, err := readRequest(stdin)
		if err != nil {
			return err
		}
		resp, err := check(req)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)

		return enc.Encode(resp)
	case len(args) == 1 && args[0] == "bootstrap-rbac":
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)

		return enc.Encode(bootstrap())
	default:
		fmt.Fprintf(os.Stderr, usage, kubeVersion())

		return errors.New("expected --version, check or bootstrap-rbac")
	}
}

func kubeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	for _, dep := range info.Deps {
		if dep.Path == kubeModule {
			return dep.Version
		}
	}

	return "(unknown)"
}
