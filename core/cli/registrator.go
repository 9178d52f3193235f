package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/registrator"
)

// registratorCommand is `beacon registrator`, also run when the binary is
// invoked as `registrator`: Registrator's flags and registry URI.
func registratorCommand(args []string, stdout, stderr io.Writer) int {
	cfg, err := registrator.ParseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "registrator: %v\n", err)
		return 1
	}
	level := hclog.LevelFromString(cfg.LogLevel)
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "registrator", Level: level, Output: stderr})
	r, err := registrator.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "registrator: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "registrator: %v\n", err)
		return 1
	}
	cfg.Logger.Info("stopped; services stay registered for the next start")
	return 0
}
