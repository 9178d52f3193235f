package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/testagent"
)

// get fetches url with how applied to the request.
func get(t *testing.T, url string, how func(*http.Request)) (int, string) {
	t.Helper()
	req := mustReq(t, "GET", url, "")
	if how != nil {
		how(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprofNeedsOperatorRead: with ACLs the profiler answers only a token
// with operator:read, given any way a token can be given, and says what
// the others lack.
func TestPprofNeedsOperatorRead(t *testing.T) {
	w := newACLWorld(t)
	url := w.a.URL("/debug/pprof/cmdline")
	if code, body := get(t, url, nil); code != 403 || !strings.Contains(body, "lacks permission 'operator:read'") || strings.Contains(body, ".test") {
		t.Fatalf("anonymous: %d %q", code, body)
	}
	if code, body := get(t, url, func(r *http.Request) { r.Header.Set("X-Consul-Token", w.kvApp) }); code != 403 ||
		!strings.HasPrefix(body, "Permission denied: token with AccessorID '"+w.kvAppAccessor+"' lacks permission 'operator:read'") {
		t.Fatalf("token without operator:read: %d %q", code, body)
	}
	for name, how := range map[string]func(*http.Request){
		"header": func(r *http.Request) { r.Header.Set("X-Consul-Token", w.readOnly) },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+w.readOnly) },
		"query":  func(r *http.Request) { r.URL.RawQuery = "token=" + w.readOnly },
	} {
		if code, body := get(t, url, how); code != 200 || !strings.Contains(body, ".test") {
			t.Errorf("operator:read token by %s: %d %.200q", name, code, body)
		}
	}
}

// TestPprofWithoutEnableDebug: with ACLs on, the profiler is served to
// operator:read tokens even without enable_debug; with ACLs and
// enable_debug both off it is not served at all.
func TestPprofWithoutEnableDebug(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`enable_debug = false
acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root" } }`))
	if code, body := get(t, a.URL("/debug/pprof/"), nil); code != 403 || !strings.Contains(body, "operator:read") {
		t.Fatalf("anonymous: %d %q", code, body)
	}
	if code, body := get(t, a.URL("/debug/pprof/?token=root"), nil); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("management: %d %.200q", code, body)
	}
	off := testagent.Start(t, testagent.WithHCL(`enable_debug = false`))
	if code, body := get(t, off.URL("/debug/pprof/cmdline"), nil); code != 404 || !strings.Contains(body, "enable_debug") {
		t.Fatalf("debug and ACLs off: %d %q", code, body)
	}
}

// TestPprofWithoutACLs keeps today's behaviour: enable_debug without ACLs
// serves the profiler to anyone.
func TestPprofWithoutACLs(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`enable_debug = true`))
	if code, body := get(t, a.URL("/debug/pprof/goroutine?debug=1"), nil); code != 200 || !strings.HasPrefix(body, "goroutine profile:") {
		t.Fatalf("anonymous without ACLs: %d %.200q", code, body)
	}
}
