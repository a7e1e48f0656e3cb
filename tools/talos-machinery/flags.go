// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

package main

// A small stand-in for spf13/pflag (talosctl's flag parser, through cobra): long flags
// (`--name value`, `--name=value`), shorthands (`-n value`, `-nvalue`, `-n=value`), booleans
// (`--flag`, `--flag=false`), string slices split on commas (StringSliceVar), string arrays that
// never split (StringArrayVar), flags and positional arguments intermixed, `--` ending the flags.
// An unknown flag is refused with pflag's words (`unknown flag: --x`), as talosctl refuses it.

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindStringSlice
	kindStringArray
	kindDuration
	kindChoice
)

type flagDef struct {
	name      string
	shorthand string
	kind      flagKind
	str       *string
	boolean   *bool
	list      *[]string
	duration  *time.Duration
	choices   []string
	changed   bool
	required  bool
}

type flagSet struct {
	command string
	defs    []*flagDef
}

func newFlagSet(command string) *flagSet { return &flagSet{command: command} }

func (fs *flagSet) add(d *flagDef) { fs.defs = append(fs.defs, d) }

func (fs *flagSet) String(p *string, name, shorthand, def string) {
	*p = def
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindString, str: p})
}

func (fs *flagSet) Bool(p *bool, name, shorthand string, def bool) {
	*p = def
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindBool, boolean: p})
}

func (fs *flagSet) StringSlice(p *[]string, name, shorthand string, def []string) {
	*p = def
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindStringSlice, list: p})
}

func (fs *flagSet) StringArray(p *[]string, name, shorthand string) {
	*p = nil
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindStringArray, list: p})
}

func (fs *flagSet) Duration(p *time.Duration, name, shorthand string, def time.Duration) {
	*p = def
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindDuration, duration: p})
}

// Choice is a string flag whose value must be one of choices (talosctl's apply-config --mode).
func (fs *flagSet) Choice(p *string, name, shorthand, def string, choices []string) {
	*p = def
	fs.add(&flagDef{name: name, shorthand: shorthand, kind: kindChoice, str: p, choices: choices})
}

func (fs *flagSet) Required(name string) {
	for _, d := range fs.defs {
		if d.name == name {
			d.required = true
		}
	}
}

func (fs *flagSet) lookup(name string) *flagDef {
	for _, d := range fs.defs {
		if d.name == name {
			return d
		}
	}

	return nil
}

func (fs *flagSet) lookupShort(s string) *flagDef {
	for _, d := range fs.defs {
		if d.shorthand != "" && d.shorthand == s {
			return d
		}
	}

	return nil
}

func (d *flagDef) set(value string) error {
	switch d.kind {
	case kindString:
		*d.str = value
	case kindChoice:
		for _, c := range d.choices {
			if c == value {
				*d.str = value
				d.changed = true

				return nil
			}
		}

		return fmt.Errorf("possible options are: %s", strings.Join(d.choices, ", "))
	case kindBool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return err
		}

		*d.boolean = b
	case kindDuration:
		v, err := time.ParseDuration(value)
		if err != nil {
			return err
		}

		*d.duration = v
	case kindStringSlice:
		v, err := csv.NewReader(strings.NewReader(value)).Read()
		if err != nil {
			return err
		}

		if !d.changed {
			*d.list = v
		} else {
			*d.list = append(*d.list, v...)
		}
	case kindStringArray:
		if !d.changed {
			*d.list = []string{value}
		} else {
			*d.list = append(*d.list, value)
		}
	}

	d.changed = true

	return nil
}

// Parse sets the flags in args and returns the positional arguments.
func (fs *flagSet) Parse(args []string) ([]string, error) {
	var positional []string

	for i := 0; i < len(args); i++ {
		arg := args[i]

		switch {
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")

			d := fs.lookup(name)
			if d == nil {
				return nil, fmt.Errorf("unknown flag: --%s", name)
			}

			if !hasValue && d.kind != kindBool {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: --%s", name)
				}

				i++
				value = args[i]
			} else if !hasValue {
				value = "true"
			}

			if err := d.set(value); err != nil {
				return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag: %w", value, name, err)
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			short := arg[1:2]

			d := fs.lookupShort(short)
			if d == nil {
				return nil, fmt.Errorf("unknown shorthand flag: '%s' in %s", short, arg)
			}

			value := strings.TrimPrefix(arg[2:], "=")
			hasValue := len(arg) > 2

			if d.kind == kindBool && len(arg) > 2 && arg[2] != '=' {
				return nil, fmt.Errorf("talos-machinery: combined shorthand flags (%s) are not supported", arg)
			}

			if !hasValue && d.kind != kindBool {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: '%s' in -%s", short, short)
				}

				i++
				value = args[i]
			} else if !hasValue {
				value = "true"
			}

			if err := d.set(value); err != nil {
				return nil, fmt.Errorf("invalid argument %q for \"-%s, --%s\" flag: %w", value, short, d.name, err)
			}
		default:
			positional = append(positional, arg)
		}
	}

	for _, d := range fs.defs {
		if d.required && !d.changed {
			return nil, fmt.Errorf("required flag(s) \"%s\" not set", d.name)
		}
	}

	return positional, nil
}
