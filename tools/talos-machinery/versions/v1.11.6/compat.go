// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

package main

// What talosctl v1.11.6 does differently from the other pinned releases.

import (
	"gopkg.in/yaml.v3"

	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/types/v1alpha1"
)

// marshalYAML: gen secrets and gen config's talosconfig use gopkg.in/yaml.v3.
func marshalYAML(v any) ([]byte, error) { return yaml.Marshal(v) }

// secretsToStdout: `gen secrets -o -` writes a file named "-" (stdout only from 1.12).
const secretsToStdout = false

// clusterShorthand: no shorthand for `--cluster` (`-c` from 1.12).
const clusterShorthand = ""

// applyModes: apply-config --mode (with the deprecated interactive mode, which this tool refuses).
var applyModes = []string{"auto", "interactive", "no-reboot", "reboot", "staged", "try"}

// addGenConfigCompatFlags: `--persist` (default true), gone in 1.13.
func addGenConfigCompatFlags(fs *flagSet) {
	fs.Bool(&genConfigCmdFlags.persistConfig, "persist", "p", true)
}

func persistOptions() []generate.Option {
	return []generate.Option{generate.WithPersist(genConfigCmdFlags.persistConfig)}
}

// kubeSpanOptions: `--with-kubespan` (config.go: generate.WithNetworkOptions(v1alpha1.WithKubeSpan())).
func kubeSpanOptions() []generate.Option {
	return []generate.Option{generate.WithNetworkOptions(v1alpha1.WithKubeSpan())}
}
