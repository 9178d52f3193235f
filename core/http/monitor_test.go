package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// TestMonitorWithOfficialClient follows the log of an agent that logs at
// warn, at debug: entries below the agent's own level still come through.
func TestMonitorWithOfficialClient(t *testing.T) {
	a := testagent.Start(t)
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { close(stop); cancel() }()
	lines, err := a.Client.Agent().Monitor("debug", stop, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		// Entries logged before the monitor attached are not replayed:
		// keep producing one until it shows.
		if err := a.Client.Agent().Reload(); err != nil {
			t.Fatal(err)
		}
		select {
		case line := <-lines:
			if strings.Contains(line, "[INFO]") && strings.Contains(line, "configuration reloaded") {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no log line from the monitor")
		}
	}
}

func TestMonitorHTTP(t *testing.T) {
	a := testagent.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL("/v1/agent/monitor?loglevel=INFO&logjson"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("head: %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		got <- line
	}()
	var line string
	for line == "" {
		a.Client.Agent().Reload()
		select {
		case line = <-got:
		case <-time.After(100 * time.Millisecond):
		}
	}
	var entry map[string]interface{}
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["@message"] != "configuration reloaded" || entry["@level"] != "info" {
		t.Fatalf("JSON entry %q: %v", line, err)
	}

	r, err := http.Get(a.URL("/v1/agent/monitor?loglevel=loud"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 400 || !strings.Contains(string(body), "Unknown log level: loud") {
		t.Errorf("bad level: %d %q", r.StatusCode, body)
	}
	r, err = http.Post(a.URL("/v1/agent/monitor"), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
}

// monitorUntil registers a service again and again (as the official
// client's tests do, to make something happen) until the monitor streams
// a line that has every word, or fails after 15 seconds.
func monitorUntil(t *testing.T, a *testagent.Agent, lines chan string, words ...string) string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if err := a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "redis"}); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case line := <-lines:
				ok := true
				for _, w := range words {
					ok = ok && strings.Contains(line, w)
				}
				if ok {
					return line
				}
				continue
			case <-time.After(200 * time.Millisecond):
			case <-deadline:
				t.Fatalf("no line with %q from the monitor", words)
			}
			break
		}
	}
}

// A service registration shows in the log the monitor streams: the
// catalog sync at info, the request at debug; in text and in JSON.
func TestMonitorStreamsServiceRegistration(t *testing.T) {
	a := testagent.Start(t)
	info, err := a.Client.Agent().Monitor("info", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	monitorUntil(t, a, info, "[INFO]", "synced service", "service=redis")
	debug, err := a.Client.Agent().Monitor("debug", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	monitorUntil(t, a, debug, "[DEBUG]", "request finished", "method=PUT", "url=/v1/agent/service/register")
	js, err := a.Client.Agent().MonitorJSON("debug", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := monitorUntil(t, a, js, `"request finished"`)
	var entry map[string]interface{}
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["@level"] != "debug" || entry["url"] != "/v1/agent/service/register" {
		t.Fatalf("JSON line %q: %v", line, err)
	}
}

// When its client goes, a monitor stops: the agent, which logs at warn,
// no longer builds debug entries for it.
func TestMonitorEndsWhenTheClientGoes(t *testing.T) {
	a := testagent.Start(t)
	if a.Logger.IsDebug() {
		t.Fatal("the test agent logs at debug")
	}
	ctx, cancel := context.WithCancel(context.Background())
	lines, err := a.Client.Agent().Monitor("debug", nil, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	monitorUntil(t, a, lines, "[DEBUG]")
	if !a.Logger.IsDebug() {
		t.Fatal("no debug entries built while a monitor follows them")
	}
	cancel()
	waitfor.Until(t, 10*time.Second, "the monitor to stop", func() bool { return !a.Logger.IsDebug() })
}
