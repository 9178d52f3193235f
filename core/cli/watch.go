package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/watch"
)

// watchCommand is `beacon watch -type TYPE [options] [handler...]`: follows
// a view of the catalog, the KV store or the user events with blocking
// queries. With a handler, it runs it with each result (the first one too)
// as JSON on its standard input, until interrupted; without one, it prints
// the first result and exits.
func watchCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("watch", "beacon watch -type TYPE [options] [handler...]", `
Watches a view of the catalog, the KV store or the user events for changes.
With a handler command, runs it each time the view changes, the first
result included, with the result as JSON on its standard input and
CONSUL_INDEX in its environment; a handler that fails is reported, and runs
again at the next change. Without a handler, prints the current result and
exits.

Types and their options: key (-key), keyprefix (-prefix), services, nodes,
service (-service, -tag, -passingonly), checks (-service or -state), event
(-name).`, stderr)
	var hf httpFlags
	hf.register(fs)
	var def structs.WatchDefinition
	var tags stringList
	fs.StringVar(&def.Type, "type", "", "The watch type: key, keyprefix, services, nodes, service, checks or event.")
	fs.StringVar(&def.Key, "key", "", "The key to watch (type key).")
	fs.StringVar(&def.Prefix, "prefix", "", "The key prefix to watch (type keyprefix).")
	fs.StringVar(&def.Service, "service", "", "The service to watch (type service; type checks: its checks).")
	fs.Var(&tags, "tag", "A tag the service's instances must have (type service); repeat for several.")
	passingOnly := fs.String("passingonly", "", "true: only instances whose checks all pass (type service).")
	fs.StringVar(&def.State, "state", "", "The check state to watch: any, passing, warning or critical (type checks).")
	fs.StringVar(&def.Name, "name", "", "The event name to watch (type event).")
	fs.StringVar(&def.Filter, "filter", "", "A filter expression the agent applies to the results.")
	shell := fs.Bool("shell", true, "Run the handler through $SHELL -c (/bin/sh when unset), its words joined by spaces.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if def.Type == "" {
		fmt.Fprintln(stderr, "Watch type must be specified (-type)")
		return 1
	}
	if strings.HasPrefix(def.Type, "agent_") {
		fmt.Fprintf(stderr, "Type %s is not supported in the CLI tool\n", def.Type)
		return 1
	}
	def.Tag, def.Datacenter, def.Stale = tags, hf.datacenter, hf.stale
	if *passingOnly != "" {
		b, err := strconv.ParseBool(*passingOnly)
		if err != nil {
			fmt.Fprintf(stderr, "Failed to parse passingonly flag: %v\n", err)
			return 1
		}
		def.PassingOnly = b
	}
	if err := def.ValidateQuery(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	client, err := watchClient(&hf)
	if err != nil {
		fmt.Fprintf(stderr, "Error connecting to agent: %s\n", err)
		return 1
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "watch", Level: hclog.Info, Output: stderr})
	once := fs.NArg() == 0
	handler := watch.Command(fs.Args(), *shell, stdout, stderr, logger)
	if once {
		handler = func(_ context.Context, _ uint64, data any) error {
			b, err := json.MarshalIndent(data, "", "    ")
			if err != nil {
				return fmt.Errorf("encoding the result: %w", err)
			}
			fmt.Fprintf(stdout, "%s\n", b)
			return nil
		}
	}
	w, err := watch.New(&def, client, handler, watch.Options{Once: once, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stopSignals, unsubscribe := interrupted()
	defer unsubscribe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stopSignals:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return 1
	}
	return 0
}

// watchClient is the blocking-query client for the agent the flags name,
// after checking that the agent answers.
func watchClient(hf *httpFlags) (*consul.Client, error) {
	cfg, err := hf.config()
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(cfg.Address, "unix://") {
		return nil, fmt.Errorf("-http-addr %s: watches reach the agent over TCP only", cfg.Address)
	}
	// The official client reads -token-file into cfg.Token, and tells
	// whether the agent answers.
	ac, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := ac.Status().Leader(); err != nil {
		return nil, fmt.Errorf("querying the agent: %w", err)
	}
	scheme := cfg.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return consul.New(consul.Config{
		Address: scheme + "://" + strings.TrimPrefix(strings.TrimPrefix(cfg.Address, "https://"), "http://"),
		Token:   cfg.Token,
		TLS: consul.TLSConfig{
			Enabled: scheme == "https", Verify: true,
			CACert: cfg.TLSConfig.CAFile, CAPath: cfg.TLSConfig.CAPath,
			Cert: cfg.TLSConfig.CertFile, Key: cfg.TLSConfig.KeyFile, ServerName: cfg.TLSConfig.Address,
		},
	})
}
