// Command sdtargets prints the targets a Prometheus server would scrape with
// a given prometheus.yml: it runs Prometheus's own service discovery and
// relabeling (consul_sd_configs and file_sd_configs) and prints each kept
// target with its labels, then exits.
//
//	go run ./cmd/sdtargets -config.file prometheus.yml [-want N] [-timeout 30s] [-json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	promsd "github.com/beacon-sd/beacon/integration/prometheus"
)

func main() {
	os.Exit(run())
}

func run() int {
	file := flag.String("config.file", "prometheus.yml", "The Prometheus configuration file.")
	want := flag.Int("want", 1, "Wait until at least this many targets are discovered in all.")
	timeout := flag.Duration("timeout", 30*time.Second, "Give up waiting after this long.")
	asJSON := flag.Bool("json", false, "Print the targets as JSON, discovered labels included.")
	flag.Parse()

	cfg, err := promsd.LoadFile(*file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdtargets: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	targets, err := promsd.Discover(ctx, cfg, func(m map[string][]promsd.Target) bool {
		n := 0
		for _, ts := range m {
			n += len(ts)
		}
		return n >= *want
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdtargets: fewer than %d targets after %v: %v\n", *want, *timeout, err)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(targets)
	} else {
		printTargets(targets)
	}
	if err != nil {
		return 1
	}
	return 0
}

// printTargets writes one line per target: its job, its address and its
// labels in name order, the way Prometheus's targets page lists them.
func printTargets(m map[string][]promsd.Target) {
	jobs := make([]string, 0, len(m))
	for job := range m {
		jobs = append(jobs, job)
	}
	sort.Strings(jobs)
	for _, job := range jobs {
		for _, t := range m[job] {
			names := make([]string, 0, len(t.Labels))
			for n := range t.Labels {
				names = append(names, n)
			}
			sort.Strings(names)
			parts := make([]string, 0, len(names))
			for _, n := range names {
				parts = append(parts, fmt.Sprintf("%s=%q", n, t.Labels[n]))
			}
			fmt.Printf("%-16s %-22s {%s}\n", job, t.Address, strings.Join(parts, ", "))
		}
	}
}
