// Command cilium-machinery is NOT the cilium agent. It runs Cilium's own policy parsing code
// (github.com/cilium/cilium at the version pinned by go.mod) on the CiliumNetworkPolicies and
// CiliumClusterwideNetworkPolicies the repository renders:
//
//	cilium-machinery --version   the Cilium module version this was built with
//	cilium-machinery check       one JSON request on stdin, one JSON response on stdout
//
// The request holds the cluster's cilium-config ConfigMap data (the agent's options the parser
// reads) and the policies as Helm rendered them. The response holds, per policy, what the agent's
// policy watcher gets from Parse (which sanitizes every rule): its error ("" when none) and the
// number of rules it would import. See README.md.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const ciliumModule = "github.com/cilium/cilium"

const usage = `cilium-machinery (Cilium %s policy parsing code; not the cilium agent)

usage:
  cilium-machinery --version
  cilium-machinery check < request.json > response.json
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "cilium-machinery: %s\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	switch {
	case len(args) == 1 && (args[0] == "--version" || args[0] == "version"):
		fmt.Fprintf(stdout, "cilium-machinery %s\n", ciliumVersion())

		return nil
	case len(args) == 1 && args[0] == "check":
		req, err := readRequest(stdin)
		if err != nil {
			return err
		}
		resp := check(req)
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)

		return enc.Encode(resp)
	default:
		fmt.Fprintf(os.Stderr, usage, ciliumVersion())

		return errors.New("expected --version or check")
	}
}

func ciliumVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	for _, dep := range info.Deps {
		if dep.Path == ciliumModule {
			return dep.Version
		}
	}

	return "(unknown)"
}
