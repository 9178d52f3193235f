package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/version"
)

// runArgs runs a command line and returns its exit code and output.
func runArgs(argv ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(argv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainDispatch(t *testing.T) {
	cases := []struct {
		name       string
		argv       []string
		code       int
		stdout     string // substring expected on stdout
		stderr     string // substring expected on stderr
		noStdoutOf string
	}{
		{name: "no args prints usage and fails", argv: []string{"beacon"}, code: 1, stdout: "Available commands are:"},
		{name: "help flag", argv: []string{"beacon", "-h"}, code: 0, stdout: "kv"},
		{name: "long help flag", argv: []string{"beacon", "--help"}, code: 0, stdout: "Interact with the key-value store"},
		{name: "help word", argv: []string{"beacon", "help"}, code: 0, stdout: "members"},
		{name: "help for a command", argv: []string{"beacon", "help", "reload"}, code: 0, stderr: "Usage: beacon reload"},
		{name: "unknown command", argv: []string{"beacon", "frobnicate"}, code: 1, stderr: `unknown command "frobnicate"`},
		{name: "version", argv: []string{"beacon", "version"}, code: 0, stdout: version.String()},
		{name: "-v", argv: []string{"beacon", "-v"}, code: 0, stdout: version.String()},
		{name: "--version", argv: []string{"/usr/bin/beacon", "--version"}, code: 0, stdout: version.String()},
		{name: "consul alias", argv: []string{"/usr/local/bin/consul", "version"}, code: 0, stdout: version.String()},
		{name: "consul alias prints Consul's lines first", argv: []string{"consul", "version"}, code: 0, stdout: "Consul v" + version.ConsulCompat + "\nProtocol 2 spoken by default"},
		{name: "consul -v", argv: []string{"consul", "-v"}, code: 0, stdout: "Consul v" + version.ConsulCompat},
		{name: "version json", argv: []string{"consul", "version", "-format=json"}, code: 0, stdout: `"Version": "` + version.ConsulCompat + `"`},
		{name: "version json names beacon", argv: []string{"beacon", "version", "-format", "json"}, code: 0, stdout: `"Beacon": "` + version.Version + `"`},
		{name: "version bad format", argv: []string{"beacon", "version", "-format=xml"}, code: 1, stderr: `-format must be pretty or json, not "xml"`},
		{name: "version help", argv: []string{"beacon", "version", "-h"}, code: 0, stderr: "Usage: beacon version"},
		{name: "consul alias help", argv: []string{"consul", "-h"}, code: 0, stdout: "catalog"},
		{name: "unknown program name acts as beacon", argv: []string{"./beacon-dev", "version"}, code: 0, stdout: version.String()},
		{name: "consul-template alias", argv: []string{"/usr/bin/consul-template", "-once"}, code: 15, stderr: "no templates configured"},
		{name: "registrator alias", argv: []string{"registrator", "-deregister", "sometimes", "consul://"}, code: 1, stderr: `registrator: invalid registrator configuration: -deregister must be "always" or "on-success"`},
		{name: "template subcommand", argv: []string{"beacon", "template", "-h"}, code: 0, stderr: "Usage: beacon template"},
		{name: "group without subcommand", argv: []string{"beacon", "kv"}, code: 1, stderr: "Usage: beacon kv <subcommand>"},
		{name: "group help", argv: []string{"beacon", "catalog", "-h"}, code: 0, stdout: "datacenters"},
		{name: "unknown group subcommand", argv: []string{"beacon", "kv", "frob"}, code: 1, stderr: `kv: unknown subcommand "frob"`},
		{name: "subcommand -h", argv: []string{"beacon", "kv", "get", "-h"}, code: 0, stderr: "-http-addr"},
		{name: "bad flag", argv: []string{"beacon", "kv", "get", "-nope", "k"}, code: 1, stderr: "flag provided but not defined: -nope"},
		{name: "version with args", argv: []string{"beacon", "version", "x"}, code: 1, stderr: "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runArgs(tc.argv...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderr)
			}
			if tc.noStdoutOf != "" && strings.Contains(out, tc.noStdoutOf) {
				t.Errorf("stdout %q should not mention %q", out, tc.noStdoutOf)
			}
		})
	}
}

func TestUsageListsEveryBuiltCommand(t *testing.T) {
	var out bytes.Buffer
	printUsage(&out)
	for name, cmd := range commands {
		if cmd.run == nil {
			continue
		}
		if !strings.Contains(out.String(), "    "+name+" ") {
			t.Errorf("usage does not list %q:\n%s", name, out.String())
		}
	}
}
