package config

import (
	"strings"
	"testing"
	"time"
)

// TestWatchesHCL reads Consul's documented watch shapes from HCL and JSON.
func TestWatchesHCL(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "w.hcl", `
data_dir = "/tmp/x"
watches = [
  {
    type = "key"
    key = "app/config"
    args = ["/usr/bin/reload.sh", "-v"]
  },
  {
    type = "service"
    service = "web"
    tag = "blue"
    passingonly = true
    handler_type = "http"
    http_handler_config {
      path = "https://127.0.0.1:9000/hook"
      method = "PUT"
      header = { "x-token" = ["a", "b"] }
      timeout = "3s"
      tls_skip_verify = true
    }
  }
]
`)
	j := write(t, dir, "w.json", `{"watches":[{"type":"event","name":"deploy","handler":"echo deployed"}]}`)
	c, err := load(t, "-config-file", p, "-config-file", j)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Watches) != 3 {
		t.Fatalf("watches: %+v", c.Watches)
	}
	k, s, e := c.Watches[0], c.Watches[1], c.Watches[2]
	if k.Type != "key" || k.Key != "app/config" || strings.Join(k.Args, " ") != "/usr/bin/reload.sh -v" {
		t.Errorf("key watch: %+v", k)
	}
	h := s.HTTPHandlerConfig
	if s.Service != "web" || len(s.Tag) != 1 || s.Tag[0] != "blue" || !s.PassingOnly || h == nil ||
		h.Path != "https://127.0.0.1:9000/hook" || h.Method != "PUT" || strings.Join(h.Header["x-token"], ",") != "a,b" ||
		h.Timeout.D() != 3*time.Second || !h.TLSSkipVerify {
		t.Errorf("service watch: %+v %+v", s, h)
	}
	if e.Type != "event" || e.Name != "deploy" || e.Handler != "echo deployed" {
		t.Errorf("event watch: %+v", e)
	}
}

// TestWatchesRefused: what a watch cannot be is refused by name.
func TestWatchesRefused(t *testing.T) {
	for _, c := range []struct{ watch, want string }{
		{`{"type":"key","key":"k","args":["x"],"fire_on_create":"no"}`, `unknown key "watches[0].fire_on_create"`},
		{`{"type":"key","key":"k","args":["x"],"http_handler_config":{"path":"http://h/","retries":3}}`, `unknown key "watches[0].http_handler_config.retries"`},
		{`{"type":"key","args":["x"]}`, `watches[0]: watch type "key" needs a key`},
		{`{"type":"nodes","key":"k","args":["x"]}`, `watch type "nodes" does not take key`},
		{`{"type":"connect_roots","args":["x"]}`, "service mesh"},
		{`{"type":"bogus","args":["x"]}`, `unsupported watch type "bogus"`},
		{`{"type":"checks","service":"a","state":"passing","args":["x"]}`, "a service or a state, not both"},
		{`{"type":"checks","state":"sad","args":["x"]}`, `watch state "sad"`},
		{`{"type":"nodes"}`, "a watch needs a handler"},
		{`{"type":"nodes","args":["x"],"handler":"y"}`, "args or handler, not both"},
		{`{"type":"nodes","handler_type":"http"}`, "needs http_handler_config"},
		{`{"type":"nodes","handler_type":"http","http_handler_config":{"path":"/relative"}}`, `http_handler_config.path "/relative"`},
		{`{"type":"nodes","handler_type":"http","args":["x"],"http_handler_config":{"path":"http://h/"}}`, "takes no args"},
		{`{"type":"nodes","handler_type":"carrier-pigeon","args":["x"]}`, `handler_type "carrier-pigeon"`},
		{`{"type":"nodes","args":["x"],"http_handler_config":{"path":"http://h/"}}`, `needs handler_type "http"`},
	} {
		p := write(t, t.TempDir(), "w.json", `{"data_dir":"/tmp/x","watches":[`+c.watch+`]}`)
		_, err := load(t, "-config-file", p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.watch, err, c.want)
		}
	}
}
