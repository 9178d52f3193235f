package cli

import (
	"fmt"
	"io"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/tlsutil"
)

// validateCommand is `beacon validate [options] FILE_OR_DIRECTORY...`.
func validateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "beacon validate [options] FILE_OR_DIRECTORY...", `
Checks configuration files the way "beacon agent" reads them, without starting
an agent: every file, and every .json and .hcl file of each directory, is
parsed and merged, and the result validated, the TLS certificate, key and CA
files included. An unknown key or a bad value is reported with its file. Exits 0 if the configuration is valid, 1 otherwise.`, stderr)
	quiet := fs.Bool("quiet", false, "Print nothing when the configuration is valid.")
	format := fs.String("config-format", "", "Format of files whose extension does not tell it: json or hcl.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "Must specify at least one config file or directory")
		return 1
	}
	if *format != "" && *format != "json" && *format != "hcl" {
		fmt.Fprintf(stderr, "Config validation failed: -config-format %q: must be json or hcl\n", *format)
		return 1
	}
	srcs, err := config.ReadSources(fs.Args(), *format)
	var cfg *config.Config
	if err == nil {
		cfg, err = config.Build(false, srcs)
	}
	if err == nil {
		_, err = tlsutil.New(cfg) // the certificate, key and CA files load
	}
	if err != nil {
		fmt.Fprintf(stderr, "Config validation failed: %v\n", err)
		return 1
	}
	if !*quiet {
		fmt.Fprintln(stdout, "Configuration is valid!")
	}
	return 0
}
