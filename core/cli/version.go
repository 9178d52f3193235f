package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/beacon-sd/beacon/core/version"
)

// versionInfo is `version -format=json`: the shape Consul prints, which
// scripts and test harnesses parse, with beacon's own version added.
type versionInfo struct {
	Version    string
	Revision   string
	Prerelease string
	FIPS       string
	BuildDate  string
	RPC        struct{ Default, Min, Max int }
	Beacon     string
}

func currentVersion() versionInfo {
	v := versionInfo{Version: version.ConsulCompat, Beacon: version.Version}
	v.RPC.Default, v.RPC.Min, v.RPC.Max = 2, 2, 3
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.BuildDate = s.Value
			}
		}
	}
	return v
}

// versionCommand prints the version: `beacon version [-format=json]`.
func versionCommand(args []string, stdout, stderr io.Writer) int {
	return printVersion("beacon", args, stdout, stderr)
}

// consulVersionCommand is `version` run as `consul`: the lines scripts
// written for Consul parse come first, beacon's banner last.
func consulVersionCommand(args []string, stdout, stderr io.Writer) int {
	return printVersion("consul", args, stdout, stderr)
}

func printVersion(prog string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "pretty", "Output format: pretty or json.")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s version [-format=pretty|json]\n\n  Prints the version.\n\n", prog)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "version: unexpected arguments %q\n", fs.Args())
		return 1
	}
	v := currentVersion()
	switch *format {
	case "json":
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(stdout, string(b))
	case "pretty":
		if prog == "consul" {
			fmt.Fprintf(stdout, "Consul v%s\n", v.Version)
			if v.Revision != "" {
				fmt.Fprintf(stdout, "Revision %s\n", v.Revision)
			}
			if v.BuildDate != "" {
				fmt.Fprintf(stdout, "Build Date %s\n", v.BuildDate)
			}
			fmt.Fprintf(stdout, "Protocol %d spoken by default, understands %d to %d (agent will automatically use protocol >%d when speaking to compatible agents)\n",
				v.RPC.Default, v.RPC.Min, v.RPC.Max, v.RPC.Default)
		}
		fmt.Fprintln(stdout, version.String())
	default:
		fmt.Fprintf(stderr, "version: -format must be pretty or json, not %q\n", *format)
		return 1
	}
	return 0
}
