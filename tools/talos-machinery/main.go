// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

// Command talos-machinery is NOT talosctl. It is the part of talosctl that works on machine
// configs without a node, rebuilt from the code of talosctl at one Talos release on top of
// `github.com/siderolabs/talos/pkg/machinery` of that same release (pinned by the go.mod and
// go.sum of versions/<tag>/):
//
//	talos-machinery gen secrets        cmd/talosctl/cmd/mgmt/gen/secrets.go (default bundle only)
//	talos-machinery gen config         cmd/talosctl/cmd/mgmt/gen/config.go (every flag)
//	talos-machinery machineconfig patch cmd/talosctl/cmd/mgmt/machineconfig/patch.go
//	talos-machinery validate           cmd/talosctl/cmd/mgmt/validate.go
//	talos-machinery apply-config       cmd/talosctl/cmd/talos/apply-config.go, the local part only:
//	                                   it reads the config and applies --config-patch as talosctl
//	                                   does, then writes what talosctl would send to the node to
//	                                   $TALOS_MACHINERY_APPLY_OUTPUT (it talks to no node)
//	talos-machinery version            the pinned machinery release
//	talos-machinery upgradeable-from   not talosctl: what this release's installer checks before it
//	                                   installs over a node (cmd/installer/pkg/install/preflight.go,
//	                                   talosVersion), for each given host version
//	talos-machinery kubernetes-supported not talosctl: what a node of this release checks of its
//	                                   Kubernetes version at runtime (pkg/machinery/config/types/
//	                                   v1alpha1 ValidateKubernetesImageTag), for each given version
//
// Why not talosctl itself: the Go module proxy this repository's CI uses refuses some of
// talosctl's other dependencies (siderolabs/go-kubernetes, etcd's etcdutl, a containerd fork),
// so talosctl cannot be built from source there; the machinery module, which holds all of the
// config generation, patching (strategic merge, JSON patches) and validation, builds. Each
// command mirrors its talosctl source at the pinned release: same flags, defaults and calls;
// what differs between releases lives in versions/<tag>/compat.go. Flags talosctl does not have
// are refused (`unknown flag`), as talosctl refuses them.
package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	sideronet "github.com/siderolabs/net"

	machineapi "github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/compatibility"
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/bundle"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
	"github.com/siderolabs/talos/pkg/machinery/constants"
	"github.com/siderolabs/talos/pkg/machinery/gendata"
	"github.com/siderolabs/talos/pkg/machinery/version"
)

const usage = `talos-machinery (talosctl's config code paths, Talos machinery %s; not talosctl)

usage:
  talos-machinery gen secrets [flags]
  talos-machinery gen config <cluster name> <cluster endpoint> [flags]
  talos-machinery machineconfig patch <machineconfig-file> [flags]
  talos-machinery validate --config <file> --mode <mode> [--strict]
  talos-machinery apply-config -f <file> [--config-patch @patch]... [talosctl's other flags]
  talos-machinery version
  talos-machinery upgradeable-from <host Talos version>...
  talos-machinery kubernetes-supported <Kubernetes version>...
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, usage, version.Tag)

		return errors.New("no command")
	}

	switch {
	case args[0] == "version":
		fmt.Println(strings.TrimSpace(version.Tag))

		return nil
	case args[0] == "gen" && len(args) > 1 && args[1] == "secrets":
		return genSecrets(args[2:])
	case args[0] == "gen" && len(args) > 1 && args[1] == "config":
		return genConfig(args[2:])
	case (args[0] == "machineconfig" || args[0] == "mc") && len(args) > 1 && args[1] == "patch":
		return machineconfigPatch(args[2:])
	case args[0] == "validate":
		return validate(args[1:])
	case args[0] == "upgradeable-from":
		return upgradeableFrom(args[1:])
	case args[0] == "kubernetes-supported":
		return kubernetesSupported(args[1:])
	case args[0] == "apply-config" || args[0] == "apply":
		return applyConfig(args[0], args[1:])
	default:
		fmt.Fprintf(os.Stderr, usage, version.Tag)

		return fmt.Errorf("unknown command %q for talos-machinery", strings.Join(args[:min(2, len(args))], " "))
	}
}

// ---------------------------------------------------------------------------------------------
// gen (cmd/talosctl/cmd/mgmt/gen/gen.go): the persistent --force flag and the file check.

var genCmdFlags struct {
	force bool
}

func addGenFlags(fs *flagSet) {
	fs.Bool(&genCmdFlags.force, "force", "f", false)
}

func validateFileExists(file string) error {
	if !genCmdFlags.force {
		if _, err := os.Stat(file); err == nil {
			return fmt.Errorf("file %q already exists, use --force to overwrite", file)
		}
	}

	return nil
}

// ---------------------------------------------------------------------------------------------
// gen secrets (cmd/talosctl/cmd/mgmt/gen/secrets.go)

var genSecretsCmdFlags struct {
	outputFile               string
	talosVersion             string
	fromKubernetesPki        string
	fromControlplaneConfig   string
	kubernetesBootstrapToken string
}

func genSecrets(args []string) error {
	fs := newFlagSet("gen secrets")
	addGenFlags(fs)
	fs.String(&genSecretsCmdFlags.outputFile, "output-file", "o", "secrets.yaml")
	fs.String(&genSecretsCmdFlags.talosVersion, "talos-version", "", "")
	fs.String(&genSecretsCmdFlags.fromControlplaneConfig, "from-controlplane-config", "", "")
	fs.String(&genSecretsCmdFlags.fromKubernetesPki, "from-kubernetes-pki", "p", "")
	fs.String(&genSecretsCmdFlags.kubernetesBootstrapToken, "kubernetes-bootstrap-token", "t", "")

	positional, err := fs.Parse(args)
	if err != nil {
		return err
	}

	if len(positional) != 0 { // cobra.NoArgs
		return fmt.Errorf("unknown command %q for \"talosctl gen secrets\"", positional[0])
	}

	var (
		secretsBundle   *secrets.Bundle
		versionContract *config.VersionContract
	)

	if genSecretsCmdFlags.talosVersion != "" {
		versionContract, err = config.ParseContractFromVersion(genSecretsCmdFlags.talosVersion)
		if err != nil {
			return fmt.Errorf("invalid talos-version: %w", err)
		}
	}

	switch {
	case genSecretsCmdFlags.fromKubernetesPki != "":
		secretsBundle, err = secrets.NewBundleFromKubernetesPKI(genSecretsCmdFlags.fromKubernetesPki,
			genSecretsCmdFlags.kubernetesBootstrapToken, versionContract)
	case genSecretsCmdFlags.fromControlplaneConfig != "":
		var cfg config.Provider

		cfg, err = configloader.NewFromFile(genSecretsCmdFlags.fromControlplaneConfig)
		if err != nil {
			return fmt.Errorf("failed to load controlplane config: %w", err)
		}

		secretsBundle = secrets.NewBundleFromConfig(secrets.NewFixedClock(time.Now()), cfg)
	default:
		secretsBundle, err = secrets.NewBundle(secrets.NewFixedClock(time.Now()), versionContract)
	}

	if err != nil {
		return fmt.Errorf("failed to create secrets bundle: %w", err)
	}

	bundleBytes, err := marshalYAML(secretsBundle)
	if err != nil {
		return err
	}

	if secretsToStdout && genSecretsCmdFlags.outputFile == stdoutOutput {
		_, err = os.Stdout.Write(bundleBytes)

		return err
	}

	if err = validateFileExists(genSecretsCmdFlags.outputFile); err != nil {
		return err
	}

	return os.WriteFile(genSecretsCmdFlags.outputFile, bundleBytes, 0o600)
}

// ---------------------------------------------------------------------------------------------
// gen config (cmd/talosctl/cmd/mgmt/gen/config.go)

const (
	controlPlaneOutputType = "controlplane"
	workerOutputType       = "worker"
	talosconfigOutputType  = "talosconfig"

	stdoutOutput = "-"

	yamlExt = ".yaml"
)

var allOutputTypes = []string{
	controlPlaneOutputType,
	workerOutputType,
	talosconfigOutputType,
}

type configOutputPaths struct {
	controlPlane, worker, talosconfig string
}

var genConfigCmdFlags struct {
	additionalSANs    []string
	configVersion     string
	dnsDomain         string
	kubernetesVersion string
	talosVersion      string
	installDisk       string
	installImage      string

	outputDir string

	output                  string
	outputTypes             []string
	configPatch             []string
	configPatchControlPlane []string
	configPatchWorker       []string
	registryMirrors         []string
	withExamples            bool
	withDocs                bool
	withClusterDiscovery    bool
	withKubeSpan            bool
	withSecrets             string

	// persistConfig: `--persist` (Talos 1.11 and 1.12 only; see compat.go).
	persistConfig bool
}

// defaultImage is helpers.DefaultImage of cmd/talosctl/pkg/mgmt/helpers/image.go: the image with
// the talosctl release's tag, or $TAG when set.
func defaultImage(image string) string {
	tag := strings.TrimSpace(version.Tag)
	if value, ok := os.LookupEnv("TAG"); ok {
		tag = value
	}

	return fmt.Sprintf("%s:%s", image, tag)
}

// defaultInstallerImageRepository is images.DefaultInstallerImageRepository (pkg/images/images.go,
// outside the machinery module): <registry>/<username>/installer from the machinery's gendata.
func defaultInstallerImageRepository() string {
	return strings.TrimSpace(gendata.ImagesRegistry) + "/" + strings.TrimSpace(gendata.ImagesUsername) + "/installer"
}

func genConfig(args []string) error {
	f := &genConfigCmdFlags
	fs := newFlagSet("gen config")
	addGenFlags(fs)
	fs.String(&f.installDisk, "install-disk", "", "/dev/sda")
	fs.String(&f.installImage, "install-image", "", defaultImage(defaultInstallerImageRepository()))
	fs.StringSlice(&f.additionalSANs, "additional-sans", "", []string{})
	fs.String(&f.dnsDomain, "dns-domain", "", "cluster.local")
	fs.String(&f.configVersion, "version", "", "v1alpha1")
	fs.String(&f.talosVersion, "talos-version", "", "")
	fs.String(&f.kubernetesVersion, "kubernetes-version", "", constants.DefaultKubernetesVersion)
	fs.StringArray(&f.configPatch, "config-patch", "")
	fs.StringArray(&f.configPatchControlPlane, "config-patch-control-plane", "")
	fs.StringArray(&f.configPatchWorker, "config-patch-worker", "")
	fs.StringSlice(&f.registryMirrors, "registry-mirror", "", []string{})
	fs.Bool(&f.withExamples, "with-examples", "", true)
	fs.Bool(&f.withDocs, "with-docs", "", true)
	fs.Bool(&f.withClusterDiscovery, "with-cluster-discovery", "", true)
	fs.Bool(&f.withKubeSpan, "with-kubespan", "", false)
	fs.String(&f.withSecrets, "with-secrets", "", "")
	addGenConfigCompatFlags(fs)
	fs.StringSlice(&f.outputTypes, "output-types", "t", allOutputTypes)
	fs.String(&f.output, "output", "o", "")
	fs.String(&f.outputDir, "output-dir", "", "")

	positional, err := fs.Parse(args)
	if err != nil {
		return err
	}

	if len(positional) != 2 { // cobra.ExactArgs(2)
		return fmt.Errorf("accepts 2 arg(s), received %d", len(positional))
	}

	if err = validateClusterEndpoint(positional[1]); err != nil {
		return err
	}

	switch f.configVersion {
	case "v1alpha1":
		return writeConfig(positional)
	default:
		return fmt.Errorf("unknown config version: %q", f.configVersion)
	}
}

func fixControlPlaneEndpoint(u *url.URL) *url.URL {
	if u.Scheme == "" && u.Host == "" && u.Path != "" {
		u.Host = u.Path
		u.Path = ""
	}

	u.Scheme = "https"

	if u.Port() == "" {
		u.Host = fmt.Sprintf("%s:%d", u.Host, constants.DefaultControlPlanePort)
	}

	return u
}

func generateConfigBundle(genOptions []generate.Option, clusterName, endpoint, kubernetesVersion string,
	configPatch, configPatchControlPlane, configPatchWorker []string,
) (*bundle.Bundle, error) {
	configBundleOpts := []bundle.Option{
		bundle.WithInputOptions(
			&bundle.InputOptions{
				ClusterName: clusterName,
				Endpoint:    endpoint,
				KubeVersion: strings.TrimPrefix(kubernetesVersion, "v"),
				GenOptions:  genOptions,
			},
		),
	}

	addConfigPatch := func(configPatches []string, configOpt func([]configpatcher.Patch) bundle.Option) error {
		patches, err := configpatcher.LoadPatches(configPatches)
		if err != nil {
			return fmt.Errorf("error parsing config JSON patch: %w", err)
		}

		configBundleOpts = append(configBundleOpts, configOpt(patches))

		return nil
	}

	if err := addConfigPatch(configPatch, bundle.WithPatch); err != nil {
		return nil, err
	}

	if err := addConfigPatch(configPatchControlPlane, bundle.WithPatchControlPlane); err != nil {
		return nil, err
	}

	if err := addConfigPatch(configPatchWorker, bundle.WithPatchWorker); err != nil {
		return nil, err
	}

	configBundle, err := bundle.NewBundle(configBundleOpts...)
	if err != nil {
		return nil, fmt.Errorf("failed to generate config bundle: %w", err)
	}

	return configBundle, nil
}

//nolint:gocyclo
func writeConfig(args []string) error {
	f := &genConfigCmdFlags

	if err := validateFlags(); err != nil {
		return err
	}

	paths, err := outputPaths()
	if err != nil {
		return err
	}

	var genOptions []generate.Option //nolint:prealloc

	for _, registryMirror := range f.registryMirrors {
		left, right, ok := strings.Cut(registryMirror, "=")
		if !ok {
			return fmt.Errorf("invalid registry mirror spec: %q", registryMirror)
		}

		genOptions = append(genOptions, generate.WithRegistryMirror(left, right))
	}

	if f.talosVersion != "" {
		var versionContract *config.VersionContract

		versionContract, err = config.ParseContractFromVersion(f.talosVersion)
		if err != nil {
			return fmt.Errorf("invalid talos-version: %w", err)
		}

		genOptions = append(genOptions, generate.WithVersionContract(versionContract))
	}

	if f.withKubeSpan {
		genOptions = append(genOptions, kubeSpanOptions()...)
	}

	if f.withSecrets != "" {
		var secretsBundle *secrets.Bundle

		secretsBundle, err = secrets.LoadBundle(f.withSecrets)
		if err != nil {
			return fmt.Errorf("failed to load secrets bundle: %w", err)
		}

		if err = secretsBundle.Validate(); err != nil {
			return fmt.Errorf("failed to validate secrets bundle: %w", err)
		}

		genOptions = append(genOptions, generate.WithSecretsBundle(secretsBundle))
	}

	genOptions = append(genOptions,
		generate.WithInstallDisk(f.installDisk),
		generate.WithInstallImage(f.installImage),
		generate.WithAdditionalSubjectAltNames(f.additionalSANs),
		generate.WithDNSDomain(f.dnsDomain),
	)
	genOptions = append(genOptions, persistOptions()...)
	genOptions = append(genOptions, generate.WithClusterDiscovery(f.withClusterDiscovery))

	commentsFlags := encoder.CommentsDisabled
	if f.withDocs {
		commentsFlags |= encoder.CommentsDocs
	}

	if f.withExamples {
		commentsFlags |= encoder.CommentsExamples
	}

	configBundle, err := generateConfigBundle(genOptions, args[0], args[1], f.kubernetesVersion,
		f.configPatch, f.configPatchControlPlane, f.configPatchWorker)
	if err != nil {
		return err
	}

	return writeConfigBundle(configBundle, paths, commentsFlags)
}

func validateFlags() error {
	f := &genConfigCmdFlags

	if len(f.outputTypes) == 0 {
		return errors.New("at least one output type must be specified")
	}

	if len(f.outputTypes) > 1 && f.output == stdoutOutput {
		return errors.New("can't use multiple output types with stdout")
	}

	if f.outputDir != "" && f.output != "" {
		return errors.New("can't use both output-dir and output")
	}

	if f.outputDir != "" {
		f.output = f.outputDir
	}

	var err error

	for _, outputType := range f.outputTypes {
		if !slices.Contains(allOutputTypes, outputType) {
			err = multierror.Append(err, fmt.Errorf("invalid output type: %q", outputType))
		}
	}

	return err
}

func writeConfigBundle(configBundle *bundle.Bundle, paths configOutputPaths, commentsFlags encoder.CommentsFlags) error {
	types := genConfigCmdFlags.outputTypes

	if slices.Contains(types, controlPlaneOutputType) {
		data, err := configBundle.Serialize(commentsFlags, machine.TypeControlPlane)
		if err != nil {
			return err
		}

		if err = writeToDestination(data, paths.controlPlane, 0o644); err != nil {
			return err
		}
	}

	if slices.Contains(types, workerOutputType) {
		data, err := configBundle.Serialize(commentsFlags, machine.TypeWorker)
		if err != nil {
			return err
		}

		if err = writeToDestination(data, paths.worker, 0o644); err != nil {
			return err
		}
	}

	if slices.Contains(types, talosconfigOutputType) {
		data, err := marshalYAML(configBundle.TalosConfig())
		if err != nil {
			return fmt.Errorf("failed to marshal config: %+v", err)
		}

		if err = writeToDestination(data, paths.talosconfig, 0o644); err != nil {
			return err
		}
	}

	return nil
}

func writeToDestination(data []byte, destination string, permissions os.FileMode) error {
	if destination == stdoutOutput {
		_, err := os.Stdout.Write(data)

		return err
	}

	if err := validateFileExists(destination); err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(destination), os.ModePerm); err != nil {
		return fmt.Errorf("failed to create output dir: %w", err)
	}

	err := os.WriteFile(destination, data, permissions)

	fmt.Fprintf(os.Stderr, "Created %s\n", destination)

	return err
}

func outputPaths() (configOutputPaths, error) {
	f := &genConfigCmdFlags

	if f.output == stdoutOutput {
		return configOutputPaths{controlPlane: stdoutOutput, worker: stdoutOutput, talosconfig: stdoutOutput}, nil
	}

	if f.output == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return configOutputPaths{}, err
		}

		return configOutputPaths{
			controlPlane: filepath.Join(cwd, machine.TypeControlPlane.String()+yamlExt),
			worker:       filepath.Join(cwd, machine.TypeWorker.String()+yamlExt),
			talosconfig:  filepath.Join(cwd, "talosconfig"),
		}, nil
	}

	// a single output type: --output is a file, except with the deprecated --output-dir
	if len(f.outputTypes) == 1 && f.outputDir == "" {
		return configOutputPaths{controlPlane: f.output, worker: f.output, talosconfig: f.output}, nil
	}

	return configOutputPaths{
		controlPlane: filepath.Join(f.output, machine.TypeControlPlane.String()+yamlExt),
		worker:       filepath.Join(f.output, machine.TypeWorker.String()+yamlExt),
		talosconfig:  filepath.Join(f.output, "talosconfig"),
	}, nil
}

func validateClusterEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		if !strings.Contains(endpoint, "/") {
			u = &url.URL{Host: endpoint}
		} else {
			return fmt.Errorf("failed to parse the cluster endpoint URL: %w", err)
		}
	}

	if u.Scheme == "" {
		if u.Port() == "" {
			return fmt.Errorf("no scheme and port specified for the cluster endpoint URL\ntry: %q", fixControlPlaneEndpoint(u))
		}

		return fmt.Errorf("no scheme specified for the cluster endpoint URL\ntry: %q", fixControlPlaneEndpoint(u))
	}

	if u.Scheme != "https" {
		return fmt.Errorf("the control plane endpoint URL should have scheme https://\ntry: %q", fixControlPlaneEndpoint(u))
	}

	if err = sideronet.ValidateEndpointURI(endpoint); err != nil {
		return fmt.Errorf("error validating the cluster endpoint URL: %w", err)
	}

	return nil
}

// ---------------------------------------------------------------------------------------------
// machineconfig patch (cmd/talosctl/cmd/mgmt/machineconfig/patch.go)

func machineconfigPatch(args []string) error {
	var patches []string

	var output string

	fs := newFlagSet("machineconfig patch")
	fs.StringArray(&patches, "patch", "p")
	fs.String(&output, "output", "o", "")

	positional, err := fs.Parse(args)
	if err != nil {
		return err
	}

	if len(positional) != 1 { // cobra.ExactArgs(1)
		return fmt.Errorf("accepts 1 arg(s), received %d", len(positional))
	}

	data, err := os.ReadFile(positional[0])
	if err != nil {
		return err
	}

	loaded, err := configpatcher.LoadPatches(patches)
	if err != nil {
		return err
	}

	patched, err := configpatcher.Apply(configpatcher.WithBytes(data), loaded)
	if err != nil {
		return err
	}

	patchedData, err := patched.Bytes()
	if err != nil {
		return err
	}

	if output == "" {
		fmt.Printf("%s\n", patchedData)

		return nil
	}

	if err := os.MkdirAll(filepath.Dir(output), os.ModePerm); err != nil && !os.IsExist(err) {
		return fmt.Errorf("failed to create output dir: %w", err)
	}

	return os.WriteFile(output, patchedData, 0o644)
}

// ---------------------------------------------------------------------------------------------
// validate (cmd/talosctl/cmd/mgmt/validate.go, with runtime.ParseMode and runtime.Mode of
// internal/app/machined/pkg/runtime/mode.go, outside the machinery module)

type runtimeMode int

const (
	modeCloud runtimeMode = iota
	modeContainer
	modeMetal
	modeMetalAgent
)

func (m runtimeMode) String() string {
	return [...]string{"cloud", "container", "metal", "metal-agent"}[m]
}

// RequiresInstall as runtime.Mode: only metal installs Talos to a disk.
func (m runtimeMode) RequiresInstall() bool { return m == modeMetal }

// InContainer as runtime.Mode.
func (m runtimeMode) InContainer() bool { return m == modeContainer }

func parseMode(s string) (runtimeMode, error) {
	switch s {
	case "cloud":
		return modeCloud, nil
	case "container":
		return modeContainer, nil
	case "metal":
		return modeMetal, nil
	case "metal-agent":
		return modeMetalAgent, nil
	default:
		return modeCloud, fmt.Errorf("unknown runtime mode: %q", s)
	}
}

// validationOptions as talosctl validate: always WithLocal, WithStrict with --strict.
func validationOptions(strict bool) []validation.Option {
	opts := []validation.Option{validation.WithLocal()}
	if strict {
		opts = append(opts, validation.WithStrict())
	}

	return opts
}

func validate(args []string) error {
	var (
		configArg string
		modeArg   string
		strict    bool
	)

	fs := newFlagSet("validate")
	fs.String(&configArg, "config", "c", "")
	fs.String(&modeArg, "mode", "m", "")
	fs.Bool(&strict, "strict", "", false)
	fs.Required("mode")

	positional, err := fs.Parse(args)
	if err != nil {
		return err
	}

	if len(positional) != 0 { // cobra.NoArgs
		return fmt.Errorf("unknown command %q for \"talosctl validate\"", positional[0])
	}

	cfg, err := configloader.NewFromFile(configArg)
	if err != nil {
		return err
	}

	mode, err := parseMode(modeArg)
	if err != nil {
		return err
	}

	warnings, err := cfg.Validate(mode, validationOptions(strict)...)
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "WARNING: %s\n", w)
	}

	if err != nil {
		return err
	}

	fmt.Printf("%s is valid for %s mode\n", configArg, modeArg)

	return nil
}

// ---------------------------------------------------------------------------------------------
// upgradeable-from and kubernetes-supported: Talos' compatibility rules of this release, which
// talosctl does not run itself. `talosctl upgrade --image` hands the installer image to the node;
// the installer's pre-flight check (cmd/installer/pkg/install/preflight.go, talosVersion) parses
// the host's version and its own (version.NewVersion) and refuses the upgrade with
// UpgradeableFrom's error. A node checks its Kubernetes version against its own release at runtime
// (v1alpha1_validation.go, ValidateKubernetesImageTag: KubernetesVersion.SupportedWith). Each
// prints one line per argument: the version, a tab, then `ok` or Talos' error.

func upgradeableFrom(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: talos-machinery upgradeable-from <host Talos version>...")
	}

	installer, err := compatibility.ParseTalosVersion(version.NewVersion())
	if err != nil {
		return fmt.Errorf("error parsing installer Talos version: %w", err)
	}

	for _, arg := range args {
		host, err := compatibility.ParseTalosVersion(&machineapi.VersionInfo{Tag: arg})
		if err != nil {
			return fmt.Errorf("error parsing host Talos version %q: %w", arg, err)
		}

		printVerdict(arg, installer.UpgradeableFrom(host))
	}

	return nil
}

func kubernetesSupported(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: talos-machinery kubernetes-supported <Kubernetes version>...")
	}

	talos, err := compatibility.ParseTalosVersion(version.NewVersion())
	if err != nil {
		return fmt.Errorf("failed to parse Talos version: %w", err)
	}

	for _, arg := range args {
		k8s, err := compatibility.ParseKubernetesVersion(arg)
		if err != nil {
			return fmt.Errorf("error parsing Kubernetes version %q: %w", arg, err)
		}

		printVerdict(arg, k8s.SupportedWith(talos))
	}

	return nil
}

func printVerdict(arg string, err error) {
	if err != nil {
		fmt.Printf("%s\t%s\n", arg, err)
	} else {
		fmt.Printf("%s\tok\n", arg)
	}
}

// ---------------------------------------------------------------------------------------------
// apply-config (cmd/talosctl/cmd/talos/apply-config.go): every flag of talosctl's (and the
// persistent ones of its talos commands, cmd/talosctl/cmd/talos/root.go), the local part only.

func applyConfig(calledAs string, args []string) error {
	var (
		filename, talosconfig, cluster, cmdContext, keysDir, mode string
		insecure, dryRun                                          bool
		certFingerprints, patches, nodes, endpoints               []string
		configTryTimeout                                          time.Duration
	)

	fs := newFlagSet("apply-config")
	fs.String(&filename, "file", "f", "")
	fs.Bool(&insecure, "insecure", "i", false)
	fs.Bool(&dryRun, "dry-run", "", false)
	fs.StringSlice(&certFingerprints, "cert-fingerprint", "", nil)
	fs.StringArray(&patches, "config-patch", "p")
	fs.Duration(&configTryTimeout, "timeout", "", constants.ConfigTryTimeout)
	fs.Choice(&mode, "mode", "m", "auto", applyModes)
	fs.String(&talosconfig, "talosconfig", "", "")
	fs.StringSlice(&nodes, "nodes", "n", []string{})
	fs.StringSlice(&endpoints, "endpoints", "e", []string{})
	fs.String(&cluster, "cluster", clusterShorthand, "")
	fs.String(&cmdContext, "context", "", "")
	fs.String(&keysDir, "siderov1-keys-dir", "", "")

	positional, err := fs.Parse(args)
	if err != nil {
		return err
	}

	if len(positional) > 1 { // cobra.MaximumNArgs(1)
		return fmt.Errorf("accepts at most 1 arg(s), received %d", len(positional))
	}

	if len(positional) > 0 {
		if positional[0] != "config" && !strings.EqualFold(positional[0], "machineconfig") {
			return fmt.Errorf("unknown positional argument %s", positional[0])
		} else if calledAs == "apply-config" {
			return errors.New("expected no positional arguments")
		}
	}

	if mode == "interactive" {
		return errors.New("talos-machinery: --mode=interactive runs talosctl's installer UI against a node; not supported")
	}

	if filename == "" {
		return errors.New("no filename supplied for configuration")
	}

	cfgBytes, err := os.ReadFile(filename)
	if err != nil {
		return fmt.Errorf("failed to read configuration from %q: %w", filename, err)
	}

	if len(cfgBytes) < 1 {
		return errors.New("no configuration data read")
	}

	if len(patches) != 0 {
		loaded, err := configpatcher.LoadPatches(patches)
		if err != nil {
			return err
		}

		cfg, err := configpatcher.Apply(configpatcher.WithBytes(cfgBytes), loaded)
		if err != nil {
			return err
		}

		cfgBytes, err = cfg.Bytes()
		if err != nil {
			return err
		}
	}

	// Here talosctl sends cfgBytes to the node(s) (ApplyConfiguration). This tool talks to no node.
	out := os.Getenv("TALOS_MACHINERY_APPLY_OUTPUT")
	if out == "" {
		return errors.New("talos-machinery talks to no node: set TALOS_MACHINERY_APPLY_OUTPUT to a file, and it writes the config talosctl would send there")
	}

	if err := os.WriteFile(out, cfgBytes, 0o600); err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "talos-machinery: not sent to %s (mode %s): written to %s\n", strings.Join(nodes, ","), mode, out)

	return nil
}
