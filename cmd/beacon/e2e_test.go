package main_test

// End-to-end tests: they build the real beacon binary once and drive it as a
// user would, from a shell: agents run as child processes, the API is reached
// with the real curl, the CLI is the binary itself, and signals are real
// signals. Every child is killed and reaped when its test ends. Everything
// binds 127.0.0.1 only, on ports chosen by the kernel.
//
// When the tests run with -race the binary is built with -race too, and a
// data race (or a panic) reported by any agent process fails the test that
// started it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/beaconbin"
	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// beaconBin is the binary under test, built by TestMain.
var beaconBin string

func TestMain(m *testing.M) {
	os.Exit(beaconbin.RunTests(m, &beaconBin, raceEnabled()))
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// cleanEnv is the test process's environment without anything that would
// point a beacon/consul CLI or curl somewhere else than the test says.
func cleanEnv(extra ...string) []string {
	var env []string
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		switch {
		case strings.HasPrefix(upper, "CONSUL_") || strings.HasSuffix(upper, "_PROXY"):
			continue
		case name == "GORACE":
			gorace = val + " " + gorace
			continue
		}
		env = append(env, kv)
	}
	if raceEnabled() {
		// A -race binary otherwise sleeps a second on every exit.
		env = append(env, "GORACE="+gorace)
	}
	return append(env, extra...)
}

// ---------------------------------------------------------------------------
// Agent processes

// agentProc is one `beacon agent` child process.
type agentProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	node string
	addr string // 127.0.0.1:PORT of the HTTP API
	port int

	stdout, stderr syncbuf.Buffer
	done           chan struct{} // closed once the process has been reaped
	waitErr        error         // valid after done
}

// startedRe matches the agent's startup log line, e.g.
// `[INFO]  beacon: agent started: node=n1 datacenter=dc1 server=true http=[127.0.0.1:41969]`.
var startedRe = regexp.MustCompile(`agent started:.*\bhttp=\[127\.0\.0\.1:(\d+)\]`)

// startAgent runs `beacon agent -dev -http-port 0 -dns-port 0 -node NAME
// EXTRA...`, waits until it logs its HTTP address and has a leader, and
// kills it when the test ends.
func startAgent(t *testing.T, node string, extra ...string) *agentProc {
	t.Helper()
	a := spawnAgent(t, node, extra...)
	a.waitReady()
	return a
}

// spawnAgent starts the agent process without waiting for it.
func spawnAgent(t *testing.T, node string, extra ...string) *agentProc {
	t.Helper()
	args := append([]string{"agent", "-dev", "-http-port", "0", "-dns-port", "0", "-node", node}, extra...)
	a := &agentProc{t: t, node: node, done: make(chan struct{})}
	a.cmd = exec.Command(beaconBin, args...)
	a.cmd.Env = cleanEnv()
	a.cmd.Stderr = &a.stderr
	dieWithParent(a.cmd)
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Copy every line to a.stdout; Wait only once the pipe is drained.
		_, _ = io.Copy(&a.stdout, out)
		a.waitErr = a.cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(a.cleanup)
	return a
}

// waitReady waits for the `agent started` line, then for /v1/status/leader
// to name a leader.
func (a *agentProc) waitReady() {
	t := a.t
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for a.port == 0 {
		if m := startedRe.FindStringSubmatch(a.stdout.String()); m != nil {
			a.port, _ = strconv.Atoi(m[1])
			a.addr = "127.0.0.1:" + m[1]
			break
		}
		select {
		case <-a.done:
			t.Fatalf("agent %s exited before it started: %v\n%s", a.node, a.waitErr, a.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s did not log its HTTP address within 20s:\n%s", a.node, a.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		code, body, _ := httpGet(a.url("/v1/status/leader"))
		if code == 200 && strings.Trim(strings.TrimSpace(body), `"`) != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s has no leader after 20s (last answer %d %q):\n%s", a.node, code, body, a.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *agentProc) url(path string) string { return "http://" + a.addr + path }

// output is everything the agent has printed so far, for failure messages.
func (a *agentProc) output() string {
	return "--- stdout:\n" + a.stdout.String() + "--- stderr:\n" + a.stderr.String()
}

// signal sends sig to the agent.
func (a *agentProc) signal(sig os.Signal) {
	a.t.Helper()
	if err := a.cmd.Process.Signal(sig); err != nil {
		a.t.Fatalf("signal %v to agent %s: %v", sig, a.node, err)
	}
}

// wait waits up to d for the agent to exit and returns its exit code.
func (a *agentProc) wait(d time.Duration) int {
	a.t.Helper()
	select {
	case <-a.done:
	case <-time.After(d):
		a.t.Fatalf("agent %s still running %v after being told to stop:\n%s", a.node, d, a.output())
	}
	return a.cmd.ProcessState.ExitCode()
}

// cleanup kills the agent if it still runs, reaps it and fails the test if
// it reported a data race or panicked.
func (a *agentProc) cleanup() {
	select {
	case <-a.done:
	default:
		_ = a.cmd.Process.Kill()
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			a.t.Errorf("agent %s (pid %d) could not be reaped", a.node, a.cmd.Process.Pid)
			return
		}
	}
	all := a.stdout.String() + a.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(all, bad) {
			a.t.Errorf("agent %s reported %q:\n%s", a.node, bad, a.output())
			return
		}
	}
}

// logged waits up to d for the agent's log to contain every one of subs in
// one line and returns that line.
func (a *agentProc) logged(d time.Duration, subs ...string) string {
	a.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, line := range strings.Split(a.stdout.String(), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return line
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("agent %s never logged a line with %q:\n%s", a.node, subs, a.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// catalogServices is GET /v1/catalog/services as a sorted list of names.
func (a *agentProc) catalogServices() ([]string, error) {
	code, body, err := httpGet(a.url("/v1/catalog/services"))
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET /v1/catalog/services: %d %s", code, body)
	}
	var m map[string][]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, fmt.Errorf("GET /v1/catalog/services: %v in %q", err, body)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// waitServices polls the catalog for up to d until its service names are
// exactly want.
func (a *agentProc) waitServices(d time.Duration, want ...string) {
	a.t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(d)
	for {
		got, err := a.catalogServices()
		if err == nil && strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("catalog services: got %q (err %v), want %q\n%s", got, err, want, a.output())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func httpGet(url string) (int, string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// ---------------------------------------------------------------------------
// Running commands

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a command to completion (at most 30s) with the clean environment
// plus env.
func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = cleanEnv(env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within 30s:\n%s%s", name, args, out.String(), errOut.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errOut.String()}
}

// beacon runs the binary with args.
func beacon(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return run(t, env, beaconBin, args...)
}

// wantRun fails unless r exited with code and printed exactly stdout.
func wantRun(t *testing.T, r result, code int, stdout string, what string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Fatalf("%s:\n%s\nwant exit %d, stdout %q", what, r, code, stdout)
	}
}

// curlBin is the curl binary, or a skip.
func curlBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	return p
}

// curlArgs prefixes args with options that keep curl from reading ~/.curlrc,
// using proxies or hanging.
func curlArgs(args ...string) []string {
	return append([]string{"-q", "-sS", "--noproxy", "*", "--max-time", "60"}, args...)
}

// curl runs `curl ARGS...` and returns its standard output, failing the test
// if curl fails.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, curlBin(t), curlArgs(args...)...)
	if r.code != 0 {
		t.Fatalf("curl %q:\n%s", args, r)
	}
	return r.stdout
}

// splitHTTP splits the output of `curl -i` into the status code, the
// headers and the body.
func splitHTTP(t *testing.T, raw string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("cannot parse curl -i output: %v\n%s", err, raw)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v\n%s", err, raw)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// consulIndex is the X-Consul-Index header as a number.
func consulIndex(t *testing.T, h http.Header) uint64 {
	t.Helper()
	v := h.Get("X-Consul-Index")
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("X-Consul-Index %q: want a positive number (headers %v)", v, h)
	}
	return n
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// 1. The user walkthrough with curl

func TestE2ECurlWalkthrough(t *testing.T) {
	t.Parallel()
	curlBin(t)
	a := startAgent(t, "walk1")
	base := "localhost:" + strconv.Itoa(a.port)

	t.Run("register and read a service", func(t *testing.T) {
		out := curl(t, "-X", "PUT", "-d",
			`{"ID":"node_exporter01","Name":"node_exporter","Address":"192.168.1.220","Port":9100,"Tags":["prod"],"EnableTagOverride":false}`,
			base+"/v1/agent/service/register")
		if out != "" {
			t.Errorf("register printed %q, want nothing", out)
		}
		out = curl(t, base+"/v1/catalog/service/node_exporter")
		var entries []map[string]interface{}
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("catalog/service is not a JSON array: %v\n%s", err, out)
		}
		if len(entries) != 1 {
			t.Fatalf("catalog/service: %d entries, want 1:\n%s", len(entries), out)
		}
		e := entries[0]
		for k, want := range map[string]interface{}{
			"ServiceID": "node_exporter01", "ServiceName": "node_exporter",
			"ServiceAddress": "192.168.1.220", "ServicePort": 9100.0,
			"Node": "walk1", "Datacenter": "dc1", "Address": "127.0.0.1",
			"ServiceEnableTagOverride": false,
		} {
			if e[k] != want {
				t.Errorf("%s = %#v, want %#v", k, e[k], want)
			}
		}
		if tags, _ := json.Marshal(e["ServiceTags"]); string(tags) != `["prod"]` {
			t.Errorf("ServiceTags = %s, want [\"prod\"]", tags)
		}
		tagged, _ := e["TaggedAddresses"].(map[string]interface{})
		for _, k := range []string{"lan", "wan"} {
			if tagged[k] != "127.0.0.1" {
				t.Errorf("TaggedAddresses[%s] = %#v, want 127.0.0.1 (all: %v)", k, tagged[k], e["TaggedAddresses"])
			}
		}
		if _, ok := e["NodeMeta"].(map[string]interface{}); !ok {
			t.Errorf("NodeMeta = %#v, want an object", e["NodeMeta"])
		}
		ci, _ := e["CreateIndex"].(float64)
		mi, _ := e["ModifyIndex"].(float64)
		if ci <= 0 || mi < ci {
			t.Errorf("CreateIndex %v, ModifyIndex %v: want 0 < CreateIndex <= ModifyIndex", e["CreateIndex"], e["ModifyIndex"])
		}
		if _, ok := e["ID"].(string); !ok {
			t.Errorf("ID (node ID) = %#v, want a string", e["ID"])
		}
	})

	var keyIndex uint64
	t.Run("put and list keys", func(t *testing.T) {
		if out := curl(t, "-X", "PUT", "-d", "test_data", base+"/v1/kv/hello/key"); out != "true" {
			t.Fatalf("PUT /v1/kv/hello/key printed %q, want %q", out, "true")
		}
		code, h, body := splitHTTP(t, curl(t, "-i", base+"/v1/kv/hello/?recurse"))
		if code != 200 {
			t.Fatalf("GET ?recurse: status %d, body %q", code, body)
		}
		var pairs []struct {
			Key                      string
			Value                    *string
			Flags, LockIndex         uint64
			CreateIndex, ModifyIndex uint64
			Session                  string
		}
		if err := json.Unmarshal([]byte(body), &pairs); err != nil {
			t.Fatalf("GET ?recurse: %v\n%s", err, body)
		}
		if len(pairs) != 1 || pairs[0].Key != "hello/key" || pairs[0].Value == nil || *pairs[0].Value != "dGVzdF9kYXRh" {
			t.Fatalf("GET ?recurse = %s, want one pair hello/key with Value dGVzdF9kYXRh", body)
		}
		p := pairs[0]
		if p.CreateIndex == 0 || p.ModifyIndex != p.CreateIndex || p.Flags != 0 || p.LockIndex != 0 || p.Session != "" {
			t.Errorf("GET ?recurse = %s: want CreateIndex == ModifyIndex > 0, Flags 0, LockIndex 0, no Session", body)
		}
		keyIndex = p.ModifyIndex
		if idx := consulIndex(t, h); idx < keyIndex {
			t.Errorf("X-Consul-Index %d is below the key's ModifyIndex %d", idx, keyIndex)
		}
		if h.Get("X-Consul-KnownLeader") != "true" {
			t.Errorf("X-Consul-KnownLeader = %q, want true", h.Get("X-Consul-KnownLeader"))
		}
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}

		// A missing key is a 404 that still carries X-Consul-Index.
		code, h, body = splitHTTP(t, curl(t, "-i", base+"/v1/kv/hello/missing"))
		if code != 404 || body != "" {
			t.Errorf("GET missing key: status %d body %q, want 404 and no body", code, body)
		}
		consulIndex(t, h)
	})

	t.Run("blocking query wakes only on its key", func(t *testing.T) {
		if keyIndex == 0 {
			t.Skip("needs the previous step")
		}
		_, h, _ := splitHTTP(t, curl(t, "-i", base+"/v1/kv/hello/key"))
		n := consulIndex(t, h)

		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		bg := exec.CommandContext(ctx, curlBin(t), curlArgs("-i",
			fmt.Sprintf("%s/v1/kv/hello/key?index=%d&wait=30s", base, n))...)
		bg.Env = cleanEnv()
		bg.Stdout, bg.Stderr = &out, &errOut
		dieWithParent(bg)
		start := time.Now()
		if err := bg.Start(); err != nil {
			t.Fatal(err)
		}
		// done is closed once curl has exited and waitErr is set; the
		// output buffers may be read only after that.
		done := make(chan struct{})
		var waitErr error
		go func() {
			waitErr = bg.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})

		select {
		case <-done:
			t.Fatalf("blocking query returned at once (%v):\n%s%s", waitErr, out.String(), errOut.String())
		case <-time.After(500 * time.Millisecond):
		}
		if out := curl(t, "-X", "PUT", "-d", "other", base+"/v1/kv/hello/other"); out != "true" {
			t.Fatalf("PUT hello/other printed %q", out)
		}
		select {
		case <-done:
			t.Fatalf("a write to hello/other woke the query on hello/key (%v):\n%s%s", waitErr, out.String(), errOut.String())
		case <-time.After(time.Second):
		}
		if out := curl(t, "-X", "PUT", "-d", "second", base+"/v1/kv/hello/key"); out != "true" {
			t.Fatalf("PUT hello/key printed %q", out)
		}
		select {
		case <-done:
			if waitErr != nil {
				t.Fatalf("blocking curl failed: %v\n%s", waitErr, errOut.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("blocking query did not return within 10s of the write to its key")
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("blocking query took %v: it ran into its wait instead of waking on the write", d)
		}
		code, h2, body := splitHTTP(t, out.String())
		if code != 200 {
			t.Fatalf("blocking query: status %d, body %q", code, body)
		}
		if m := consulIndex(t, h2); m <= n {
			t.Errorf("X-Consul-Index after the write = %d, want above %d", m, n)
		}
		want := base64.StdEncoding.EncodeToString([]byte("second"))
		if !strings.Contains(body, `"Value":"`+want+`"`) {
			t.Errorf("blocking query body %s, want the new value %s", body, want)
		}
	})
}

// ---------------------------------------------------------------------------
// 2. The CLI against a running agent

func TestE2ECLI(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"http-addr flag", "CONSUL_HTTP_ADDR"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			node := "cli-flag"
			if mode == "CONSUL_HTTP_ADDR" {
				node = "cli-env"
			}
			a := startAgent(t, node)
			// cli runs `beacon SUB... [-http-addr ADDR] ARGS...` or the same
			// with CONSUL_HTTP_ADDR, the way the mode says.
			cli := func(sub []string, args ...string) result {
				t.Helper()
				if mode == "CONSUL_HTTP_ADDR" {
					return beacon(t, []string{"CONSUL_HTTP_ADDR=" + a.addr}, append(sub, args...)...)
				}
				all := append(append(append([]string{}, sub...), "-http-addr", a.addr), args...)
				return beacon(t, nil, all...)
			}

			r := cli([]string{"kv", "put"}, "cfg/a", "1")
			wantRun(t, r, 0, "Success! Data written to: cfg/a\n", "kv put cfg/a 1")
			wantRun(t, cli([]string{"kv", "get"}, "cfg/a"), 0, "1\n", "kv get cfg/a")
			r = cli([]string{"kv", "get"}, "cfg/missing")
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "Error! No key exists at: cfg/missing") {
				t.Errorf("kv get of a missing key:\n%s\nwant exit 1 and %q", r, "Error! No key exists at: cfg/missing")
			}

			r = cli([]string{"members"})
			if r.code != 0 {
				t.Fatalf("members:\n%s", r)
			}
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			if len(lines) != 2 || !regexp.MustCompile(`^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC\s+Partition\s+Segment$`).MatchString(lines[0]) {
				t.Fatalf("members: want a header and one row:\n%s", r.stdout)
			}
			if f := strings.Fields(lines[1]); len(f) != 9 || f[0] != node || f[2] != "alive" || f[3] != "server" || f[6] != "dc1" || f[7] != "default" || f[8] != "<all>" {
				t.Errorf("members row %q: want %s, alive, server, dc1, default, <all>", lines[1], node)
			}

			r = cli([]string{"catalog", "services"})
			if r.code != 0 || !containsLine(r.stdout, "consul") {
				t.Fatalf("catalog services:\n%s\nwant a line \"consul\"", r)
			}

			dir := t.TempDir()
			webFile := filepath.Join(dir, "web.json")
			writeFile(t, webFile, `{"service": {"name": "web", "port": 8080, "tags": ["v1"]}}`)
			wantRun(t, cli([]string{"services", "register"}, webFile), 0, "Registered service: web\n", "services register web.json")
			a.waitServices(5*time.Second, "consul", "web")
			r = cli([]string{"catalog", "services"})
			if r.code != 0 || !containsLine(r.stdout, "consul") || !containsLine(r.stdout, "web") {
				t.Errorf("catalog services after register:\n%s\nwant consul and web", r)
			}
			code, body, err := httpGet(a.url("/v1/catalog/service/web"))
			if err != nil || code != 200 || !strings.Contains(body, `"ServicePort":8080`) || !strings.Contains(body, `"ServiceTags":["v1"]`) {
				t.Errorf("catalog/service/web: %d %s %v", code, body, err)
			}
			wantRun(t, cli([]string{"services", "deregister"}, webFile), 0, "Deregistered service: web\n", "services deregister web.json")
			a.waitServices(5*time.Second, "consul")
			r = cli([]string{"catalog", "services"})
			if r.code != 0 || containsLine(r.stdout, "web") {
				t.Errorf("catalog services after deregister:\n%s\nwant no web", r)
			}

			switch mode {
			case "CONSUL_HTTP_ADDR":
				// The address may carry a scheme, as users often write it.
				r = beacon(t, []string{"CONSUL_HTTP_ADDR=http://" + a.addr}, "kv", "get", "cfg/a")
				wantRun(t, r, 0, "1\n", "CONSUL_HTTP_ADDR=http://ADDR kv get cfg/a")
			default:
				// The flag wins over the environment.
				dead := deadAddr(t)
				r = beacon(t, []string{"CONSUL_HTTP_ADDR=" + dead}, "kv", "get", "-http-addr", a.addr, "cfg/a")
				wantRun(t, r, 0, "1\n", "kv get -http-addr with CONSUL_HTTP_ADDR pointing elsewhere")
				// And an agent that is not there is a clear error.
				r = beacon(t, nil, "kv", "get", "-http-addr", dead, "cfg/a")
				if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, dead) {
					t.Errorf("kv get against no agent:\n%s\nwant a non-zero exit and an error naming %s", r, dead)
				}
			}
		})
	}
}

// containsLine reports whether s has a line equal to line.
func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// deadAddr is a 127.0.0.1 address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// ---------------------------------------------------------------------------
// 3. The argv[0] alias

func TestE2EConsulAlias(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "consul")
	if err := os.Symlink(beaconBin, link); err != nil {
		t.Fatal(err)
	}
	want := beacon(t, nil, "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "beacon v") {
		t.Fatalf("beacon version:\n%s", want)
	}
	// As consul, Consul's lines come first (scripts parse the first line),
	// beacon's own banner last.
	if got := run(t, nil, link, "version"); got.code != 0 || !strings.HasPrefix(got.stdout, "Consul v1.22.3\n") ||
		!strings.HasSuffix(got.stdout, "\n"+want.stdout) {
		t.Fatalf("consul version:\n%s\nwant Consul v1.22.3 first and %q last", got, want.stdout)
	}

	a := startAgent(t, "alias")
	env := []string{"CONSUL_HTTP_ADDR=" + a.addr}
	wantRun(t, run(t, env, link, "kv", "put", "cfg/a", "1"), 0, "Success! Data written to: cfg/a\n", "consul kv put cfg/a 1")
	wantRun(t, run(t, env, link, "kv", "get", "cfg/a"), 0, "1\n", "consul kv get cfg/a")
	wantRun(t, run(t, nil, link, "kv", "get", "-http-addr", a.addr, "cfg/a"), 0, "1\n", "consul kv get -http-addr ADDR cfg/a")
	r := run(t, nil, link, "nope")
	if r.code != 1 || !strings.Contains(r.stderr, `"nope"`) {
		t.Errorf("consul nope:\n%s\nwant exit 1 naming \"nope\"", r)
	}
}

// ---------------------------------------------------------------------------
// 4. Process behaviour: PID file, signals, reload

func TestE2EPidFileAndSIGTERM(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "beacon.pid")
	a := startAgent(t, "pid1", "-pid-file", pidFile)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("PID file: %v", err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(a.cmd.Process.Pid); got != want {
		t.Fatalf("PID file holds %q, want the agent's PID %s", b, want)
	}
	a.signal(syscall.SIGTERM)
	start := time.Now()
	if code := a.wait(5 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0:\n%s", code, a.output())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("agent took %v to exit after SIGTERM", d)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PID file still there after SIGTERM (stat: %v)", err)
	}
	if !strings.Contains(a.stdout.String(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", a.output())
	}
	if code, _, err := httpGet(a.url("/v1/status/leader")); err == nil {
		t.Errorf("the HTTP API still answers (%d) after the agent exited", code)
	}
}

func TestE2ESIGINT(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "int1")
	a.signal(os.Interrupt)
	if code := a.wait(5 * time.Second); code != 0 {
		t.Errorf("exit code after SIGINT = %d, want 0:\n%s", code, a.output())
	}
}

func TestE2ESIGHUPReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "alpha.json"), `{"service": {"name": "alpha", "port": 1001, "tags": ["a"]}}`)
	writeFile(t, filepath.Join(dir, "beta.hcl"), "service {\n  name = \"beta\"\n  port = 1002\n}\n")
	writeFile(t, filepath.Join(dir, "README.txt"), "not config: skipped, as Consul does\n")
	a := startAgent(t, "hup1", "-config-dir", dir)
	a.waitServices(5*time.Second, "consul", "alpha", "beta")

	// Add one service file, remove another, SIGHUP.
	writeFile(t, filepath.Join(dir, "gamma.json"), `{"service": {"name": "gamma", "port": 1003}}`)
	if err := os.Remove(filepath.Join(dir, "alpha.json")); err != nil {
		t.Fatal(err)
	}
	a.signal(syscall.SIGHUP)
	a.waitServices(5*time.Second, "consul", "beta", "gamma")
	a.logged(5*time.Second, "configuration reloaded")

	// A broken file: the reload fails, naming the file, and the agent keeps
	// its services and keeps serving.
	broken := filepath.Join(dir, "delta.json")
	writeFile(t, broken, `{"service": `)
	a.signal(syscall.SIGHUP)
	line := a.logged(5*time.Second, "[ERROR]", "delta.json")
	if !strings.Contains(line, "reload") {
		t.Errorf("reload error line %q does not say the reload failed", line)
	}
	time.Sleep(200 * time.Millisecond)
	a.waitServices(time.Second, "consul", "beta", "gamma")
	if out := curl(t, "-X", "PUT", "-d", "still", a.addr+"/v1/kv/after/broken"); out != "true" {
		t.Errorf("PUT after a failed reload printed %q, want true", out)
	}
	select {
	case <-a.done:
		t.Fatalf("agent exited after a failed reload:\n%s", a.output())
	default:
	}

	// Fixed again, the reload goes through; `beacon reload` does what SIGHUP does.
	writeFile(t, broken, `{"service": {"name": "delta", "port": 1004}}`)
	wantRun(t, beacon(t, nil, "reload", "-http-addr", a.addr), 0, "Configuration reload triggered\n", "beacon reload")
	a.waitServices(5*time.Second, "consul", "beta", "delta", "gamma")
}

// ---------------------------------------------------------------------------
// 5. Bad startup input

func TestE2EBadStartup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unknownKey := filepath.Join(dir, "unknown.json")
	writeFile(t, unknownKey, `{"datacenter": "dc1", "bogus_key": 1}`)
	malformed := filepath.Join(dir, "malformed.json")
	writeFile(t, malformed, `{"datacenter": "dc1",`)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown config key", []string{"-dev", "-config-file", unknownKey}, []string{unknownKey, "bogus_key"}},
		{"malformed JSON", []string{"-dev", "-config-file", malformed}, []string{malformed}},
		{"http-port not a number", []string{"-dev", "-http-port", "abc"}, []string{"-http-port", `"abc"`}},
		{"unknown flag", []string{"-dev", "-no-such-flag"}, []string{"-no-such-flag"}},
		{"no -dev and no -data-dir", []string{"-node", "x"}, []string{"data_dir"}},
		{"port already in use", []string{"-dev", "-http-port", busyPort}, []string{"127.0.0.1:" + busyPort}},
		{"short encrypt key", []string{"-data-dir", filepath.Join(dir, "data"), "-node", "c1", "-bind", "127.0.0.1",
			"-encrypt", "c2hvcnQ="}, []string{"encrypt", "16, 24 or 32"}},
		{"server port in use", []string{"-server", "-bootstrap", "-data-dir", filepath.Join(dir, "data2"), "-node", "s1",
			"-bind", "127.0.0.1", "-server-port", busyPort, "-serf-lan-port", "0"}, []string{busyPort}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"agent"}, tc.args...)
			// Never fall back to the default ports, whatever happens.
			if !strings.Contains(strings.Join(tc.args, " "), "-http-port") {
				args = append(args, "-http-port", "0")
			}
			args = append(args, "-dns-port", "0")
			r := beacon(t, nil, args...)
			if r.code != 1 {
				t.Errorf("beacon %s: exit %d, want 1", strings.Join(args, " "), r.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("beacon %s: stderr does not mention %q", strings.Join(args, " "), w)
				}
			}
			if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("beacon %s crashed instead of reporting the error", strings.Join(args, " "))
			}
			if strings.Contains(r.stdout, "agent started") {
				t.Errorf("beacon %s logged that it started", strings.Join(args, " "))
			}
			if t.Failed() {
				t.Logf("output:\n%s", r)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 6. Help and usage

func TestE2EHelpAndUsage(t *testing.T) {
	t.Parallel()
	r := beacon(t, nil, "agent", "-h")
	if r.code != 0 {
		t.Errorf("agent -h: exit %d, want 0", r.code)
	}
	help := r.stdout + r.stderr
	if !strings.Contains(help, "Usage: beacon agent") {
		t.Errorf("agent -h does not print its usage:\n%s", r)
	}
	for _, f := range []string{"dev", "node", "datacenter", "bind", "client", "advertise", "data-dir",
		"config-file", "config-dir", "hcl", "ui", "log-level", "syslog", "pid-file", "http-port",
		"dns-port", "server-port", "serf-lan-port", "serf-wan-port", "grpc-port"} {
		if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(f) + `(\s|$)`).MatchString(help) {
			t.Errorf("agent -h does not list -%s", f)
		}
	}

	r = beacon(t, nil)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "Usage: beacon") {
		t.Errorf("beacon with no arguments:\n%s\nwant the usage and a non-zero exit", r)
	}
	for _, sub := range []string{"agent", "catalog", "kv", "lock", "members", "reload", "services", "version"} {
		if !regexp.MustCompile(`(?m)^\s+` + sub + `\s`).MatchString(r.stdout + r.stderr) {
			t.Errorf("usage does not list %q:\n%s", sub, r)
		}
	}

	r = beacon(t, nil, "-h")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Available commands are:") {
		t.Errorf("beacon -h:\n%s\nwant the usage and exit 0", r)
	}

	r = beacon(t, nil, "nope")
	if r.code != 1 || !strings.Contains(r.stderr, `"nope"`) || r.stdout != "" {
		t.Errorf("beacon nope:\n%s\nwant exit 1 and an error naming \"nope\"", r)
	}
}

// ---------------------------------------------------------------------------
// 7. beacon lock

func TestE2ELock(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "lock1")
	r := beacon(t, nil, "lock", "-http-addr", a.addr, "locks/x", "echo held; exit 3")
	if r.code != 3 || r.stdout != "held\n" {
		t.Fatalf("beacon lock locks/x 'echo held; exit 3':\n%s\nwant exit 3 and stdout \"held\\n\"", r)
	}
	// The child sees that it holds the lock, and the lock was given up: a
	// second holder gets it at once.
	r = beacon(t, []string{"SHELL=/bin/sh"}, "lock", "-http-addr", a.addr, "-timeout", "5s", "locks/x", `echo "held=$CONSUL_LOCK_HELD"`)
	wantRun(t, r, 0, "held=true\n", "second beacon lock on locks/x")
	// Nothing is left behind in the KV store.
	code, body, err := httpGet(a.url("/v1/kv/locks/x?recurse"))
	if err != nil || code != 404 {
		t.Errorf("GET /v1/kv/locks/x?recurse after the locks: %d %s %v, want 404", code, body, err)
	}
}
