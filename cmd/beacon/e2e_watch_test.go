package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// watchProc is a `beacon watch` process running in the background.
type watchProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr syncbuf.Buffer
	done           chan struct{}
}

func startWatch(t *testing.T, args ...string) *watchProc {
	t.Helper()
	w := &watchProc{t: t, done: make(chan struct{})}
	w.cmd = exec.Command(beaconBin, append([]string{"watch"}, args...)...)
	w.cmd.Env = cleanEnv()
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	dieWithParent(w.cmd)
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
		if s := w.stdout.String() + w.stderr.String(); strings.Contains(s, "DATA RACE") || strings.Contains(s, "panic:") {
			t.Errorf("beacon watch %q reported a race or a panic:\n%s", args, s)
		}
	})
	return w
}

// runs reads the handler's record: a JSON result line and an index line
// per run.
func runs(t *testing.T, path string) (results []string, indexes []string) {
	t.Helper()
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i, ok := strings.CutPrefix(line, "index="); ok {
			indexes = append(indexes, i)
		} else if line != "" {
			results = append(results, line)
		}
	}
	return results, indexes
}

// waitRun waits until the handler recording to path ran n times, and
// returns the n-th result.
func waitRun(t *testing.T, w *watchProc, path string, n int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, idx := runs(t, path)
		if len(res) >= n && len(idx) >= n {
			if idx[n-1] == "" || idx[n-1] == "0" {
				t.Fatalf("run %d of %s had CONSUL_INDEX %q", n, path, idx[n-1])
			}
			return res[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler of %s ran %d times, want %d:\n%q\nwatch stderr:\n%s", path, len(res), n, res, w.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func curlPut(t *testing.T, url, body string) string {
	t.Helper()
	return curl(t, "-sS", "-X", "PUT", "--data-binary", body, url)
}

// TestE2EWatchEveryType runs `beacon watch` for each watch type with a
// handler that records its standard input and CONSUL_INDEX, and changes
// what each watches.
func TestE2EWatchEveryType(t *testing.T) {
	a := startAgent(t, "watch-node")
	dir := t.TempDir()
	handler := func(name string) (string, string) {
		out := filepath.Join(dir, name)
		return out, fmt.Sprintf(`cat >> %s; echo "index=$CONSUL_INDEX" >> %s`, out, out)
	}
	addr := "-http-addr=" + a.addr
	type watchCase struct {
		name  string
		flags []string
		first string // a substring of the first result
		later string // a substring of a result after the changes
	}
	cases := []watchCase{
		{"key", []string{"-type", "key", "-key", "cfg/x"}, "null", `"Key":"cfg/x","CreateIndex"`},
		{"keyprefix", []string{"-type", "keyprefix", "-prefix", "cfg/"}, "null", `"Value":"MQ=="`},
		{"services", []string{"-type", "services"}, `"consul":[]`, `"web":["blue"]`},
		{"nodes", []string{"-type", "nodes"}, `"Node":"watch-node"`, ""},
		{"service", []string{"-type", "service", "-service", "web", "-tag", "blue", "-passingonly", "true"}, "[]", `"ID":"web-1"`},
		{"checks-state", []string{"-type", "checks", "-state", "critical"}, "[]", `"CheckID":"db-down"`},
		{"checks-service", []string{"-type", "checks", "-service", "web"}, "[]", `"CheckID":"web-ok"`},
		{"event", []string{"-type", "event", "-name", "deploy"}, "[]", `"Payload":"djI="`},
	}
	procs := map[string]*watchProc{}
	outs := map[string]string{}
	for _, c := range cases {
		out, h := handler(c.name)
		outs[c.name] = out
		procs[c.name] = startWatch(t, append(append([]string{addr}, c.flags...), h)...)
	}
	for _, c := range cases {
		if got := waitRun(t, procs[c.name], outs[c.name], 1); !strings.Contains(got, c.first) {
			t.Errorf("%s: first result %s, want %s in it", c.name, got, c.first)
		}
	}

	curlPut(t, a.url("/v1/kv/cfg/x"), "1")
	curlPut(t, a.url("/v1/agent/service/register"),
		`{"ID":"web-1","Name":"web","Tags":["blue"],"Port":80,"Check":{"CheckID":"web-ok","TTL":"10m","Status":"passing"}}`)
	curlPut(t, a.url("/v1/agent/check/register"), `{"ID":"db-down","Name":"db","TTL":"10m","Status":"critical"}`)
	ev := beacon(t, nil, "event", addr, "-name", "deploy", "v2")
	if ev.code != 0 || !regexp.MustCompile(`^Event ID: [0-9a-f-]{36}\n$`).MatchString(ev.stdout) {
		t.Fatalf("beacon event:\n%s", ev)
	}

	for _, c := range cases {
		if c.later == "" {
			continue
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			// Any later result: the node's critical check takes web-1
			// out of the passing instances again.
			res, _ := runs(t, outs[c.name])
			if len(res) > 1 && strings.Contains(strings.Join(res[1:], "\n"), c.later) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: results %q, want a later one with %s\nwatch stderr:\n%s", c.name, res, c.later, procs[c.name].stderr.String())
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The event watch's later run holds the new event only, as JSON the
	// official client reads.
	res, idx := runs(t, outs["event"])
	var evs []struct {
		ID, Name string
		Payload  []byte
	}
	if err := json.Unmarshal([]byte(res[len(res)-1]), &evs); err != nil || len(evs) != 1 || evs[0].Name != "deploy" ||
		string(evs[0].Payload) != "v2" || !strings.Contains(ev.stdout, evs[0].ID) || idx[len(idx)-1] == "1" {
		t.Errorf("event run %s (index %s), fired %s", res[len(res)-1], idx[len(idx)-1], ev.stdout)
	}

	// SIGINT ends a watch with exit code 0.
	w := procs["nodes"]
	w.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-w.done:
		if code := w.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("watch after SIGINT: exit %d\n%s", code, w.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("watch still runs 10s after SIGINT")
	}
}

// TestE2EWatchWithoutHandler prints the current result and exits.
func TestE2EWatchWithoutHandler(t *testing.T) {
	a := startAgent(t, "print-node")
	addr := "-http-addr=" + a.addr
	r := beacon(t, nil, "watch", addr, "-type", "nodes")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "[\n    {\n") || !strings.Contains(r.stdout, `"Node": "print-node"`) {
		t.Fatalf("watch nodes without handler:\n%s", r)
	}
	r = beacon(t, nil, "watch", addr, "-type", "key", "-key", "missing")
	wantRun(t, r, 0, "null\n", "watch of a missing key without handler")

	for _, c := range []struct {
		args []string
		says string
	}{
		{nil, "Watch type must be specified"},
		{[]string{"-type", "key"}, `watch type "key" needs a key`},
		{[]string{"-type", "nodes", "-key", "k"}, `watch type "nodes" does not take key`},
		{[]string{"-type", "agent_service"}, "Type agent_service is not supported in the CLI tool"},
		{[]string{"-type", "connect_roots"}, "service mesh"},
		{[]string{"-type", "service", "-service", "web", "-passingonly", "perhaps"}, "Failed to parse passingonly flag"},
		{[]string{"-type", "checks", "-state", "sad"}, `watch state "sad"`},
	} {
		r := beacon(t, nil, append([]string{"watch", addr}, c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.says) {
			t.Errorf("watch %q:\n%s\nwant exit 1 saying %q", c.args, r, c.says)
		}
	}
	r = beacon(t, nil, "watch", "-http-addr="+deadAddr(t), "-type", "nodes")
	if r.code != 1 || !strings.Contains(r.stderr, "Error connecting to agent") {
		t.Errorf("watch of an agent that does not answer:\n%s", r)
	}
}

// TestE2EWatchHandlerFails: a failing handler is reported and runs again
// at the next change; the watch keeps running.
func TestE2EWatchHandlerFails(t *testing.T) {
	a := startAgent(t, "fail-node")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	w := startWatch(t, "-http-addr="+a.addr, "-type", "key", "-key", "k",
		fmt.Sprintf(`cat >> %s; echo "index=$CONSUL_INDEX" >> %s; echo handler complains >&2; exit 2`, out, out))
	waitRun(t, w, out, 1)
	curlPut(t, a.url("/v1/kv/k"), "a")
	if got := waitRun(t, w, out, 2); !strings.Contains(got, `"Value":"YQ=="`) {
		t.Fatalf("second run: %s", got)
	}
	curlPut(t, a.url("/v1/kv/k"), "b")
	if got := waitRun(t, w, out, 3); !strings.Contains(got, `"Value":"Yg=="`) {
		t.Fatalf("third run: %s", got)
	}
	select {
	case <-w.done:
		t.Fatalf("the watch ended after its handler failed:\n%s", w.stderr.String())
	default:
	}
	if n := strings.Count(w.stderr.String(), "exited with code 2"); n < 2 || !strings.Contains(w.stderr.String(), "handler complains") {
		t.Errorf("failures reported %d times:\n%s", n, w.stderr.String())
	}
}

// TestE2EEventCommand: `beacon event` fires events with filters, and
// refuses bad ones as Consul's command does.
func TestE2EEventCommand(t *testing.T) {
	a := startAgent(t, "event-node")
	addr := "-http-addr=" + a.addr
	r := beacon(t, nil, "event", addr, "-name", "restart", "-node", "^event-", "payload")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Event ID: ") {
		t.Fatalf("event:\n%s", r)
	}
	id := strings.TrimSpace(strings.TrimPrefix(r.stdout, "Event ID: "))
	code, body, _ := httpGet(a.url("/v1/event/list?name=restart"))
	if code != 200 || !strings.Contains(body, `"ID":"`+id+`"`) || !strings.Contains(body, `"Payload":"cGF5bG9hZA=="`) ||
		!strings.Contains(body, `"NodeFilter":"^event-"`) {
		t.Fatalf("list after beacon event: %d %s", code, body)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{nil, "Event name must be specified"},
		{[]string{"-name", "x", "-tag", "v1"}, "Cannot provide tag filter without service filter."},
		{[]string{"-name", "x", "-node", "("}, "Failed to compile node filter regexp"},
		{[]string{"-name", "x", "a", "b"}, "Too many arguments"},
		{[]string{"-name", "x", strings.Repeat("p", 600)}, "event too large"},
	} {
		r := beacon(t, nil, append([]string{"event", addr}, c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.says) {
			t.Errorf("event %q:\n%s\nwant exit 1 saying %q", c.args, r, c.says)
		}
	}
}

// TestE2EAgentWatches runs an agent whose configuration has a script
// watch and an HTTP watch, and reloads it with SIGHUP.
func TestE2EAgentWatches(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var hooks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooks = append(hooks, r.Method+" "+r.Header.Get("X-Consul-Index")+" "+r.Header.Get("Authorization")+" "+strings.TrimSpace(string(b)))
		mu.Unlock()
	}))
	defer srv.Close()
	hookCalls := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hooks...)
	}
	out := filepath.Join(dir, "script.out")
	cfg := filepath.Join(dir, "watches.hcl")
	writeConfig := func(key string) {
		writeFile(t, cfg, fmt.Sprintf(`
watches = [
  {
    type = "key"
    key  = %q
    args = ["/bin/sh", "-c", "cat >> %s; echo \"index=$CONSUL_INDEX\" >> %s"]
  },
  {
    type = "service"
    service = "web"
    handler_type = "http"
    http_handler_config {
      path = "%s/hook"
      method = "PUT"
      header = { Authorization = ["Bearer abc"] }
      timeout = "5s"
    }
  }
]
`, key, out, out, srv.URL))
	}
	writeConfig("app/a")
	a := startAgent(t, "agent-watches", "-config-file", cfg)
	fakeWatch := &watchProc{t: t}
	if got := waitRun(t, fakeWatch, out, 1); got != "null" {
		t.Fatalf("script watch first run: %s", got)
	}
	curlPut(t, a.url("/v1/kv/app/a"), "one")
	if got := waitRun(t, fakeWatch, out, 2); !strings.Contains(got, `"Key":"app/a"`) || !strings.Contains(got, `"Value":"b25l"`) {
		t.Fatalf("script watch after a put: %s", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(hookCalls()) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h := hookCalls(); len(h) < 1 || !regexp.MustCompile(`^PUT [1-9][0-9]* Bearer abc \[\]$`).MatchString(h[0]) {
		t.Fatalf("HTTP watch first call: %q\n%s", h, a.output())
	}
	curlPut(t, a.url("/v1/agent/service/register"), `{"ID":"web-1","Name":"web","Port":8080}`)
	for time.Now().Before(deadline) {
		if h := hookCalls(); len(h) >= 2 && strings.Contains(h[len(h)-1], `"ID":"web-1"`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := hookCalls(); len(h) < 2 || !strings.Contains(h[len(h)-1], `"Port":8080`) {
		t.Fatalf("HTTP watch after registering web: %q", h)
	}

	// SIGHUP: the key watch now follows app/b.
	writeConfig("app/b")
	a.signal(syscall.SIGHUP)
	a.logged(10*time.Second, "configuration reloaded")
	if got := waitRun(t, fakeWatch, out, 3); got != "null" {
		t.Fatalf("first run of the reloaded watch: %s", got)
	}
	curlPut(t, a.url("/v1/kv/app/b"), "bee")
	if got := waitRun(t, fakeWatch, out, 4); !strings.Contains(got, `"Key":"app/b"`) {
		t.Fatalf("reloaded watch after a put: %s", got)
	}

	// An agent whose watch cannot work does not start.
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"watches":[{"type":"key","key":"k","args":["true"],"http_handler_config":{"path":"http://h/"}}]}`)
	r := beacon(t, nil, "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-config-file", bad)
	if r.code != 1 || !strings.Contains(r.stderr+r.stdout, `watches[0]: http_handler_config needs handler_type "http"`) {
		t.Fatalf("agent with a bad watch:\n%s", r)
	}
}
