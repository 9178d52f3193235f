package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// The targets `beacon debug` captures, all by default, in Consul's names;
// "cluster" is Consul's former name of "members".
var debugTargets = []string{"metrics", "logs", "pprof", "host", "agent", "members"}

// debugLimits are the shortest -duration and -interval accepted, so that a
// capture has time to collect something and does not load the agent by
// asking too often. Tests shorten them.
var debugLimits = struct{ duration, interval time.Duration }{10 * time.Second, 5 * time.Second}

// debugGrace is added to -duration so that the last interval's capture
// falls within it.
const debugGrace = 2 * time.Second

// debugTimeFormat names the output and each interval's directory.
const debugTimeFormat = "2006-01-02T15-04-05Z0700"

// targetList is a repeatable -capture flag.
type targetList []string

func (t *targetList) String() string     { return strings.Join(*t, ",") }
func (t *targetList) Set(v string) error { *t = append(*t, v); return nil }

// debugCapture is one run of `beacon debug`: where it writes, what it
// captures, and the problems met on the way, reported at the end.
type debugCapture struct {
	client             *api.Client
	dir                string
	targets            []string
	interval, duration time.Duration
	stdout, stderr     io.Writer
	mu                 sync.Mutex
	problems           []string
}

func (c *debugCapture) wants(target string) bool { return slices.Contains(c.targets, target) }

func (c *debugCapture) problem(format string, args ...interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	c.problems = append(c.problems, msg)
	fmt.Fprintf(c.stderr, "==> %s\n", msg)
}

// debugCommand is `beacon debug [options]`.
func debugCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("debug", "beacon debug [options]", `
Watches an agent for -duration and writes what it saw to a .tar.gz archive for
operators: the agent's configuration and state (/v1/agent/self), its host,
the gossip members, a metrics sample every -interval, its log at trace level,
and Go profiles (CPU over the whole duration, an execution trace of one
interval, heap and goroutines every interval) when the agent serves them
(enable_debug, or a token with operator:read under ACLs).`, stderr)
	var hf httpFlags
	hf.register(fs)
	var targets targetList
	fs.Var(&targets, "capture", "What to capture, repeatable: "+strings.Join(debugTargets, ", ")+". Default: all of them.")
	interval := fs.Duration("interval", 30*time.Second, "How often to sample metrics and profiles.")
	duration := fs.Duration("duration", 5*time.Minute, "How long to capture for.")
	archive := fs.Bool("archive", true, "Pack the output directory into OUTPUT.tar.gz; with false, leave the directory.")
	output := fs.String("output", "consul-debug-"+time.Now().UTC().Format(debugTimeFormat), "Path of the output, without the .tar.gz.")
	since := fs.String("since", "", "Consul's hand-off to hcdiag; not supported.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	c := &debugCapture{dir: filepath.Clean(*output), interval: *interval, duration: *duration, stdout: stdout, stderr: stderr}
	var err error
	if c.targets, err = debugCheck(*since, targets, *duration, *interval, c.dir); err != nil {
		fmt.Fprintf(stderr, "Capture validation failed: %s\n", err)
		return 1
	}
	if c.client = hf.connect(stderr); c.client == nil {
		return 1
	}
	agentVersion, err := c.checkAgent()
	if err != nil {
		fmt.Fprintf(stderr, "Capture validation failed: %s\n", err)
		return 1
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "Capture validation failed: could not create the output directory: %s\n", err)
		return 1
	}
	name := c.dir
	if *archive {
		name += ".tar.gz"
	}
	fmt.Fprintf(stdout, "==> Starting debugger and capturing static information...\n")
	fmt.Fprintf(stdout, "     Agent Version: '%s'\n          Interval: '%s'\n          Duration: '%s'\n            Output: '%s'\n           Capture: '%s'\n",
		agentVersion, c.interval, c.duration, name, strings.Join(c.targets, ", "))
	c.captureStatic()
	stopSignals, unsubscribe := interrupted()
	defer unsubscribe()
	ctx, cancel := context.WithTimeout(context.Background(), c.duration+debugGrace)
	defer cancel()
	go func() {
		select {
		case <-stopSignals:
			c.problem("Interrupted: stopping the capture early and keeping what was collected")
			cancel()
		case <-ctx.Done():
		}
	}()
	c.captureDynamic(ctx)
	index := map[string]interface{}{"Version": 1, "AgentVersion": agentVersion, "Interval": c.interval.String(),
		"Duration": (c.duration + debugGrace).String(), "Targets": c.targets, "Problems": c.problems}
	if err := writeJSONFile(filepath.Join(c.dir, "index.json"), index); err != nil {
		fmt.Fprintf(stderr, "Error creating index document: %s\n", err)
		return 1
	}
	if *archive {
		if err := archiveDir(c.dir); err != nil {
			fmt.Fprintf(stderr, "Archive creation failed: %s (the files are left in %s)\n", err, c.dir)
			return 1
		}
	}
	fmt.Fprintf(stdout, "==> Saved debug archive: %s\n", name)
	return 0
}

// debugCheck refuses what cannot make a capture and returns the targets
// to capture.
func debugCheck(since string, targets []string, duration, interval time.Duration, dir string) ([]string, error) {
	switch {
	case since != "":
		return nil, errors.New("-since hands the capture to HashiCorp's hcdiag, which beacon does not run; use -duration")
	case duration < debugLimits.duration:
		return nil, fmt.Errorf("duration must be longer than %s", debugLimits.duration)
	case interval < debugLimits.interval:
		return nil, fmt.Errorf("interval must be longer than %s", debugLimits.interval)
	case duration < interval:
		return nil, fmt.Errorf("duration (%s) must be longer than interval (%s)", duration, interval)
	}
	if len(targets) == 0 {
		targets = debugTargets
	}
	var out []string
	for _, t := range targets {
		if t == "cluster" {
			t = "members"
		}
		if !slices.Contains(debugTargets, t) {
			return nil, fmt.Errorf("target not found: %s (the targets are %s)", t, strings.Join(debugTargets, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("output directory already exists: %s", dir)
	}
	if _, err := os.Stat(dir + ".tar.gz"); err == nil {
		return nil, fmt.Errorf("output archive already exists: %s.tar.gz", dir)
	}
	return out, nil
}

// checkAgent reads the agent's version, and drops the profiles when the
// agent does not serve them, saying so.
func (c *debugCapture) checkAgent() (string, error) {
	self, err := c.client.Agent().Self()
	if err != nil {
		return "", fmt.Errorf("error querying target agent: %s. verify connectivity and agent address", err)
	}
	version, _ := self["Config"]["Version"].(string)
	enableDebug, _ := self["DebugConfig"]["EnableDebug"].(bool)
	acls, _ := self["DebugConfig"]["ACLsEnabled"].(bool)
	if c.wants("pprof") && !enableDebug && !acls {
		c.targets = slices.DeleteFunc(c.targets, func(t string) bool { return t == "pprof" })
		fmt.Fprintln(c.stderr, "==> [WARN] Unable to capture pprof. Set enable_debug to true on target agent to enable profiling.")
	}
	return version, nil
}

// captureStatic writes what is captured once: host, agent, members.
func (c *debugCapture) captureStatic() {
	get := map[string]func() (interface{}, error){
		"host":    func() (interface{}, error) { return c.client.Agent().Host() },
		"agent":   func() (interface{}, error) { return c.client.Agent().Self() },
		"members": func() (interface{}, error) { return c.client.Agent().Members(true) },
	}
	for _, t := range []string{"host", "agent", "members"} {
		if !c.wants(t) {
			continue
		}
		v, err := get[t]()
		if err == nil {
			err = writeJSONFile(filepath.Join(c.dir, t+".json"), v)
		}
		if err != nil {
			c.problem("Capturing %s failed: %s", t, err)
		}
	}
}

// captureDynamic captures until ctx ends: metrics and heap and goroutine
// profiles every interval, the log, a CPU profile and a trace.
func (c *debugCapture) captureDynamic(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	if c.wants("metrics") || c.wants("pprof") {
		run(c.everyInterval)
	}
	if c.wants("logs") {
		run(c.captureLogs)
	}
	if c.wants("pprof") {
		run(func(ctx context.Context) { c.captureProfile(ctx, "profile", c.duration, "profile.prof") })
		run(func(ctx context.Context) { c.captureProfile(ctx, "trace", c.interval, "trace.out") })
	}
	wg.Wait()
}

// everyInterval takes a metrics sample (one JSON object a line in
// metrics.json) and heap and goroutine profiles (in a directory named for
// the time) at once and then every interval.
func (c *debugCapture) everyInterval(ctx context.Context) {
	var metrics *os.File
	if c.wants("metrics") {
		var err error
		if metrics, err = os.Create(filepath.Join(c.dir, "metrics.json")); err != nil {
			c.problem("Capturing metrics failed: %s", err)
		} else {
			defer metrics.Close()
		}
	}
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		fmt.Fprintf(c.stdout, "==> Beginning capture interval %s (%d)\n", time.Now().UTC().Format(time.RFC3339), n)
		if metrics != nil {
			if m, err := c.client.Agent().Metrics(); err != nil {
				c.problem("Capturing metrics failed: %s", err)
			} else if b, err := json.Marshal(m); err == nil {
				metrics.Write(append(b, '\n'))
			}
		}
		if c.wants("pprof") {
			c.captureSnapshots()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// captureSnapshots writes heap.prof and goroutine.prof into a directory
// named for the time.
func (c *debugCapture) captureSnapshots() {
	dir := filepath.Join(c.dir, time.Now().UTC().Format(debugTimeFormat))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.problem("Capturing profiles failed: %s", err)
		return
	}
	for name, get := range map[string]func() ([]byte, error){
		"heap.prof": c.client.Debug().Heap, "goroutine.prof": c.client.Debug().Goroutine,
	} {
		b, err := get()
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			c.problem("Capturing %s failed: %s", name, err)
		}
	}
}

// captureProfile writes a profile that runs for a time (the CPU profile,
// the execution trace).
func (c *debugCapture) captureProfile(ctx context.Context, kind string, d time.Duration, file string) {
	body, err := c.client.Debug().PProf(ctx, kind, max(1, int(d.Seconds())))
	if err == nil {
		defer body.Close()
		err = writeStream(filepath.Join(c.dir, file), body)
	}
	if err != nil && ctx.Err() == nil {
		c.problem("Capturing the %s failed: %s", kind, err)
	}
}

// captureLogs writes the agent's log at trace level to consul.log.
func (c *debugCapture) captureLogs(ctx context.Context) {
	f, err := os.Create(filepath.Join(c.dir, "consul.log"))
	if err != nil {
		c.problem("Capturing logs failed: %s", err)
		return
	}
	defer f.Close()
	stop := make(chan struct{})
	lines, err := c.client.Agent().Monitor("trace", stop, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		c.problem("Capturing logs failed: %s", err)
		return
	}
	defer func() {
		close(stop)
		go func() {
			for range lines { // until the client's reader closes it
			}
		}()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-lines:
			if line == "" {
				if ctx.Err() == nil {
					c.problem("Capturing logs: the agent ended the log stream")
				}
				return
			}
			fmt.Fprintln(f, line)
		}
	}
}

func writeJSONFile(path string, v interface{}) error {
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func writeStream(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
