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
