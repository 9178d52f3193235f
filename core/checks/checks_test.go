package checks

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/beacon-sd/beacon/core/structs"
)

func run(t *testing.T, p Probe) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p(ctx)
}

func TestHTTPCheck(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	var gotMethod, gotBody, gotHeader, gotUA atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod.Store(r.Method)
		gotBody.Store(string(b))
		gotHeader.Store(r.Header.Get("X-Check"))
		gotUA.Store(r.Header.Get("User-Agent"))
		w.WriteHeader(int(code.Load()))
		io.WriteString(w, "app says hi "+strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	p, err := HTTPProbe(&structs.CheckDefinition{HTTP: srv.URL + "/health", Method: "POST", Body: "ping",
		Header: map[string][]string{"X-Check": {"yes"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code int
		want string
	}{{200, "passing"}, {204, "passing"}, {429, "warning"}, {500, "critical"}, {404, "critical"}, {301, "critical"}} {
		code.Store(int32(c.code))
		status, out := run(t, p)
		if status != c.want || (c.code != 204 && !strings.Contains(out, "app says hi")) || len(out) > MaxOutput+200 {
			t.Errorf("HTTP %d: status %s output %.80q (len %d)", c.code, status, out, len(out))
		}
	}
	if gotMethod.Load() != "POST" || gotBody.Load() != "ping" || gotHeader.Load() != "yes" || gotUA.Load() != UserAgent {
		t.Errorf("request: %v %v %v %v", gotMethod.Load(), gotBody.Load(), gotHeader.Load(), gotUA.Load())
	}
	srv.Close()
	for i := 0; i < 2; i++ { // the first try may meet a kept-alive connection closing
		if status, out := run(t, p); status != "critical" || !strings.Contains(out, "HTTP POST") {
			t.Errorf("server down: %s %q", status, out)
		}
	}

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	strict, _ := HTTPProbe(&structs.CheckDefinition{HTTP: tlsSrv.URL})
	if status, _ := run(t, strict); status != "critical" {
		t.Error("self-signed certificate accepted without tls_skip_verify")
	}
	lax, _ := HTTPProbe(&structs.CheckDefinition{HTTP: tlsSrv.URL, TLSSkipVerify: true})
	if status, out := run(t, lax); status != "passing" {
		t.Errorf("tls_skip_verify: %s %q", status, out)
	}
	if _, err := HTTPProbe(&structs.CheckDefinition{HTTP: "http://x", Method: "BAD METHOD"}); err == nil {
		t.Error("a bad method was accepted")
	}
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	p, _ := TCPProbe(&structs.CheckDefinition{TCP: addr})
	if status, out := run(t, p); status != "passing" || !strings.Contains(out, "Success") {
		t.Fatalf("open: %s %q", status, out)
	}
	l.Close()
	if status, _ := run(t, p); status != "critical" {
		t.Fatalf("closed: %s", status)
	}
	if _, err := TCPProbe(&structs.CheckDefinition{TCP: "no-port"}); err == nil {
		t.Fatal("address without a port accepted")
	}
}

func TestScriptCheck(t *testing.T) {
	cases := []struct {
		args []string
		want string
		out  string
	}{
		{[]string{"sh", "-c", "echo fine; exit 0"}, "passing", "fine"},
		{[]string{"sh", "-c", "echo meh >&2; exit 1"}, "warning", "meh"},
		{[]string{"sh", "-c", "exit 2"}, "critical", ""},
		{[]string{"/no/such/binary"}, "critical", "Failed to start"},
	}
	for _, c := range cases {
		p, _ := ScriptProbe(&structs.CheckDefinition{ScriptArgs: c.args})
		if status, out := run(t, p); status != c.want || !strings.Contains(out, c.out) {
			t.Errorf("%v: %s %q", c.args, status, out)
		}
	}
	legacy, _ := ScriptProbe(&structs.CheckDefinition{Script: "test 1 -eq 1"})
	if status, _ := run(t, legacy); status != "passing" {
		t.Errorf("legacy script: %s", status)
	}
	// A script that outlives its timeout is killed with its children.
	slow, _ := ScriptProbe(&structs.CheckDefinition{ScriptArgs: []string{"sh", "-c", "sleep 30 & sleep 30"}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	status, out := slow(ctx)
	if status != "critical" || !strings.Contains(out, "Timed out") || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: %s %q after %v", status, out, time.Since(start))
	}
}

func TestGRPCCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(l)
	defer srv.Stop()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_NOT_SERVING)
	addr := l.Addr().String()
	cases := []struct {
		target, want, out string
	}{
		{addr, "passing", "success"},
		{addr + "/orders", "critical", "NOT_SERVING"},
		{addr + "/unknown", "critical", "code = 5"},
	}
	for _, c := range cases {
		p, err := GRPCProbe(&structs.CheckDefinition{GRPC: c.target})
		if err != nil {
			t.Fatal(err)
		}
		if status, out := run(t, p); status != c.want || !strings.Contains(out, c.out) {
			t.Errorf("%s: %s %q", c.target, status, out)
		}
	}
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	p, _ := GRPCProbe(&structs.CheckDefinition{GRPC: addr + "/orders"})
	if status, _ := run(t, p); status != "passing" {
		t.Errorf("orders after it started serving: %s", status)
	}
	srv.Stop()
	if status, _ := run(t, p); status != "critical" {
		t.Errorf("server gone: %s", status)
	}
}

// recorder is a Notifier that keeps every update.
type recorder struct {
	mu      sync.Mutex
	updates []string
	ch      chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100)} }

func (r *recorder) UpdateCheck(id, status, output string) {
	r.mu.Lock()
	r.updates = append(r.updates, status)
	r.mu.Unlock()
	select {
	case r.ch <- status:
	default:
	}
}

func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r.ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no check update")
		return ""
	}
}

func TestStatusThresholds(t *testing.T) {
	steps := []struct {
		result, want string
	}{
		{"passing", "critical"}, // 1 success of the 2 needed
		{"passing", "passing"},
		{"critical", "passing"}, // 1 failure of 3
		{"warning", "passing"},  // failures count whatever their kind
		{"critical", "critical"},
		{"passing", "critical"},
		{"passing", "passing"},
	}
	rec := newRecorder()
	h := NewStatusHandler("c", rec, &structs.CheckDefinition{SuccessBeforePassing: 2, FailuresBeforeCritical: 3}, "critical")
	for i, st := range steps {
		h.Update(st.result, "")
		if got := rec.next(t); got != st.want {
			t.Fatalf("step %d (%s): reported %s, want %s", i, st.result, got, st.want)
		}
	}
}

func TestTTLExpires(t *testing.T) {
	rec := newRecorder()
	ttl := &TTL{CheckID: "t", TTL: 100 * time.Millisecond, Notifier: rec}
	ttl.Start()
	defer ttl.Stop()
	ttl.SetStatus("passing", "ok")
	if s := rec.next(t); s != "passing" {
		t.Fatalf("after update: %s", s)
	}
	if s := rec.next(t); s != "critical" {
		t.Fatalf("after the TTL: %s", s)
	}
}

// A probe slower than its interval never runs twice at once, and stopping
// the monitor cancels the run in progress.
func TestMonitorNeverOverlaps(t *testing.T) {
	var running, most, runs atomic.Int32
	m := &Monitor{CheckID: "slow", Interval: 5 * time.Millisecond, Timeout: time.Second,
		Probe: func(ctx context.Context) (string, string) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				if m := most.Load(); n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			runs.Add(1)
			select {
			case <-time.After(30 * time.Millisecond):
			case <-ctx.Done():
			}
			return "passing", ""
		},
		Status: NewStatusHandler("slow", newRecorder(), &structs.CheckDefinition{}, "critical")}
	m.Start()
	time.Sleep(200 * time.Millisecond)
	m.Stop()
	m.Wait()
	if most.Load() != 1 || runs.Load() < 3 {
		t.Fatalf("max concurrent runs %d over %d runs", most.Load(), runs.Load())
	}
}

func TestUnsupportedTypesAreRefused(t *testing.T) {
	for _, def := range []*structs.CheckDefinition{
		{CheckID: "u", UDP: "127.0.0.1:53", Interval: structs.Duration(time.Second)},
		{CheckID: "h", H2PING: "127.0.0.1:443", Interval: structs.Duration(time.Second)},
	} {
		if err := Validate(def); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%+v: %v", def, err)
		}
	}
}
