package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/certs/certstest"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/watcher/watch"
)

// hook is an HTTP endpoint on 127.0.0.1 that records the requests a
// watch's HTTP handler sends, answering status.
type hook struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies []string
	status int
	srv    *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{status: 200}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, r)
		h.bodies = append(h.bodies, string(b))
		status := h.status
		h.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprint(w, "hook says hi")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

func (h *hook) get(i int) (*http.Request, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs[i], h.bodies[i]
}

func TestHTTPHandler(t *testing.T) {
	h := newHook(t)
	send := watch.HTTP(&structs.WatchHTTPHandler{Path: h.srv.URL + "/hook", Method: "PUT",
		Header: map[string][]string{"X-Team": {"ops", "dev"}}}, hclog.NewNullLogger())
	if err := send(context.Background(), 42, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	r, body := h.get(0)
	if r.Method != "PUT" || r.URL.Path != "/hook" || body != `{"a":1}`+"\n" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Consul-Index") != "42" || strings.Join(r.Header.Values("X-Team"), ",") != "ops,dev" {
		t.Fatalf("request: %s %s %q %v", r.Method, r.URL, body, r.Header)
	}
	h.mu.Lock()
	h.status = 503
	h.mu.Unlock()
	err := send(context.Background(), 43, nil)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "hook says hi") {
		t.Fatalf("an answer of 503: %v", err)
	}
	// The default method is POST, and the timeout bounds the request.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	defer slow.Close()
	start := time.Now()
	err = watch.HTTP(&structs.WatchHTTPHandler{Path: slow.URL, Timeout: structs.Duration(200 * time.Millisecond)},
		hclog.NewNullLogger())(context.Background(), 1, nil)
	if err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
}

func TestCommandHandler(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// Direct: args as they are; the result on stdin, the index in the
	// environment.
	run := watch.Command([]string{"sh", "-c", `cat > "$0"; echo "$CONSUL_INDEX" >> "$0"`, out}, false, nil, nil, hclog.NewNullLogger())
	if err := run(context.Background(), 7, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "[\"x\"]\n7\n" {
		t.Fatalf("handler got %q", b)
	}
	// Shell: the words are one command line.
	t.Setenv("SHELL", "/bin/sh")
	run = watch.Command([]string{"cat", ">", out, "&&", "exit", "3"}, true, nil, nil, hclog.NewNullLogger())
	err := run(context.Background(), 8, map[string]string{"k": "v"})
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") {
		t.Fatalf("a handler exiting 3: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != `{"k":"v"}`+"\n" {
		t.Fatalf("shell handler got %q", b)
	}
}

// TestAgentWatches runs the watches block of an agent's configuration: a
// script handler and an HTTP handler, replaced on reload.
func TestAgentWatches(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t)
	script := filepath.Join(dir, "handler.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat >> \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cfgFile := filepath.Join(dir, "watches.json")
	write := func(key string) {
		t.Helper()
		js, _ := json.Marshal(map[string]interface{}{"watches": []map[string]interface{}{
			{"type": "key", "key": key, "args": []string{script, out}},
			{"type": "event", "name": "deploy", "handler_type": "http",
				"http_handler_config": map[string]interface{}{"path": h.srv.URL + "/events", "header": map[string][]string{"X-Who": {"watch"}}}},
		}})
		if err := os.WriteFile(cfgFile, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cfg/a")
	a := testagent.Start(t, testagent.WithWatches(watch.Start), testagent.WithConfigFile(cfgFile))
	kv := a.Client.KV()
	lines := func() []string {
		b, _ := os.ReadFile(out)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	waitfor.Until(t, 20*time.Second, "the script handler's first run", func() bool { return lines()[0] == "null" })
	_, err := kv.Put(&api.KVPair{Key: "cfg/a", Value: []byte("one")}, nil)
	must(t, err)
	waitfor.Until(t, 20*time.Second, "the script handler to see the key", func() bool {
		l := lines()
		return len(l) == 2 && strings.Contains(l[1], `"Key":"cfg/a"`) && strings.Contains(l[1], `"Value":"b25l"`)
	})

	waitfor.Until(t, 20*time.Second, "the HTTP handler's first run", func() bool { return h.n() == 1 })
	if r, body := h.get(0); r.Method != "POST" || body != "[]\n" || r.Header.Get("X-Who") != "watch" || r.Header.Get("X-Consul-Index") != "1" {
		t.Fatalf("first event hook: %s %q %v", r.Method, body, r.Header)
	}
	id, _, err := a.Client.Event().Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v2")}, nil)
	must(t, err)
	waitfor.Until(t, 20*time.Second, "the HTTP handler to get the event", func() bool { return h.n() == 2 })
	r, body := h.get(1)
	var evs []*api.UserEvent
	if err := json.Unmarshal([]byte(body), &evs); err != nil || len(evs) != 1 || evs[0].ID != id || string(evs[0].Payload) != "v2" ||
		r.Header.Get("X-Consul-Index") != fmt.Sprint(a.Client.Event().IDToIndex(id)) {
		t.Fatalf("event hook: %q %v", body, r.Header)
	}

	// A reload replaces the watches: the key watch now follows cfg/b.
	write("cfg/b")
	must(t, a.Reload())
	waitfor.Until(t, 20*time.Second, "the new key watch's first run", func() bool { return len(lines()) == 3 })
	_, err = kv.Put(&api.KVPair{Key: "cfg/a", Value: []byte("two")}, nil)
	must(t, err)
	_, err = kv.Put(&api.KVPair{Key: "cfg/b", Value: []byte("bee")}, nil)
	must(t, err)
	waitfor.Until(t, 20*time.Second, "the new key watch to see cfg/b", func() bool { return len(lines()) == 4 })
	if l := lines(); l[2] != "null" || !strings.Contains(l[3], `"Key":"cfg/b"`) {
		t.Fatalf("after reload: %q", l)
	}
}

// TestAgentWatchesOverHTTPS: an agent that serves HTTPS only, and asks
// clients for certificates, runs its watches through HTTPS with its own
// certificate.
func TestAgentWatchesOverHTTPS(t *testing.T) {
	f := certstest.Write(t, "server-dc1")
	out := filepath.Join(t.TempDir(), "out")
	js, _ := json.Marshal(map[string]interface{}{
		"ports":   map[string]int{"http": -1, "https": 0},
		"ca_file": f["ca"], "cert_file": f["server-dc1"], "key_file": f["server-dc1-key"], "verify_incoming": true,
		"watches": []map[string]interface{}{{"type": "nodes", "args": []string{"sh", "-c", "cat > " + out}}},
	})
	testagent.Start(t, testagent.WithWatches(watch.Start), testagent.WithJSON(string(js)))
	waitfor.Until(t, 20*time.Second, "the watch's first run over HTTPS", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `"Node":"test-node-`)
	})
}
