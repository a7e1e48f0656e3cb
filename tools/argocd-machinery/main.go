// Command argocd-machinery is NOT the argocd binary. It runs Argo CD's own settings, health, RBAC
// and sync-permission code (github.com/argoproj/argo-cd/v3 at the version pinned by go.mod, with the
// gitops-engine of the same tag) on the ConfigMaps and Secrets the repository renders:
//
//	argocd-machinery --version   the Argo CD module version this was built with
//	argocd-machinery check       one JSON request on stdin, one JSON response on stdout
//
// The request names the namespace, the argocd-cm / argocd-rbac-cm / argocd-cmd-params-cm /
// Secrets as Helm rendered them (loaded into a fake Kubernetes clientset, which Argo CD's
// SettingsManager and RBAC Enforcer read through their usual informers and Get calls), objects
// whose health to assess, RBAC questions and Applications with their AppProjects and rendered
// objects whose sync to permit. The response holds what Argo CD computes, errors
// included (as strings, "" when none). See README.md for which Argo CD function answers what.
//
// Why not the argocd binary: the Go module proxy refuses github.com/argoproj/argo-cd/gitops-engine
// (403), which Argo CD's own go.mod replaces with its ./gitops-engine folder; a dependent module
// can build only with its own replace to that folder, taken from a git clone of the tag
// (.ci/install-argocd-machinery). Every function used here is Argo CD's; the few lines of glue
// that wire them as the API server and the application controller do name their source.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	log "github.com/sirupsen/logrus"
)

// argocdModule is the module whose version --version reports.
const argocdModule = "github.com/argoproj/argo-cd/v3"

const usage = `argocd-machinery (Argo CD %s settings, health, RBAC and sync-permission code; not the argocd binary)

usage:
  argocd-machinery --version
  argocd-machinery check < request.json > response.json
`

func main() {
	// Argo CD logs through logrus (stderr by default); keep its warnings, drop its info chatter.
	log.SetOutput(os.Stderr)
	log.SetLevel(log.WarnLevel)

	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-machinery: %s\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	switch {
	case len(args) == 1 && (args[0] == "--version" || args[0] == "version"):
		fmt.Fprintf(stdout, "argocd-machinery %s\n", argocdVersion())

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
		fmt.Fprintf(os.Stderr, usage, argocdVersion())

		return errors.New("expected --version or check")
	}
}

// argocdVersion is the version of the Argo CD module in this binary's build information.
func argocdVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	for _, dep := range info.Deps {
		if dep.Path == argocdModule {
			if dep.Replace != nil {
				return dep.Replace.Version
			}

			return dep.Version
		}
	}

	return "(unknown)"
}
