// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

package main

// What talosctl v1.13.9 does differently from the other pinned releases.

import (
	"go.yaml.in/yaml/v4"

	"github.com/siderolabs/talos/pkg/machinery/config/generate"
)

// marshalYAML: gen secrets and gen config's talosconfig use go.yaml.in/yaml/v4.
func marshalYAML(v any) ([]byte, error) { return yaml.Marshal(v) }

// secretsToStdout: `gen secrets -o -` writes to stdout (since 1.12).
const secretsToStdout = true

// clusterShorthand: the talos commands' `--cluster` has the shorthand `-c` (since 1.12).
const clusterShorthand = "c"

// applyModes: apply-config --mode (the interactive mode is gone in 1.13).
var applyModes = []string{"auto", "no-reboot", "reboot", "staged", "try"}

// addGenConfigCompatFlags: 1.13 has no `--persist` (the machine config is always persisted).
func addGenConfigCompatFlags(*flagSet) {}

func persistOptions() []generate.Option { return nil }

// kubeSpanOptions: `--with-kubespan` (config.go: generate.WithKubeSpanEnabled).
func kubeSpanOptions() []generate.Option {
	return []generate.Option{generate.WithKubeSpanEnabled(true)}
}
