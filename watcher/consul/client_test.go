package consul_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/watcher/consul"
)

func newClient(t *testing.T, cfg consul.Config) *consul.Client {
	t.Helper()
	c, err := consul.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Against beacon, auto mode settles on h2c and a hundred parked blocking
// queries share one TCP connection.
func TestH2CSharesOneConnection(t *testing.T) {
	a := testagent.Start(t)
	if _, err := a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, consul.Config{Address: a.HTTPAddr})
	var pairs []*api.KVPair
	meta, found, err := c.Get(context.Background(), "/v1/kv/k", nil, consul.QueryOptions{}, &pairs)
	if err != nil || !found || string(pairs[0].Value) != "v" || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("get: %v found=%v meta=%+v", err, found, meta)
	}
	if c.Protocol() != consul.ProtocolH2C {
		t.Fatalf("protocol %q, want h2c", c.Protocol())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Get(ctx, "/v1/kv/k", nil, consul.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute}, nil)
		}()
	}
	time.Sleep(300 * time.Millisecond)
	st := c.Stats()
	cancel()
	wg.Wait()
	if st.Dialed != 1 || st.Open != 1 || st.Requests != 102 {
		t.Errorf("%+v: want 1 connection for the probe and 101 queries", st)
	}
	// Queries given up on say nothing about the server: the next query
	// goes out at once, without probing the protocol again.
	if _, _, err := c.Get(context.Background(), "/v1/kv/k", nil, consul.QueryOptions{}, &pairs); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Requests != 103 || st.Dialed != 1 {
		t.Errorf("%+v after cancelled queries: want 103 requests on 1 connection (no new probe)", st)
	}
}

// A 404 is an answer, not an error: a key that does not exist yet can be
// watched with its index.
func TestNotFoundIsAnAnswer(t *testing.T) {
	a := testagent.Start(t)
	c := newClient(t, consul.Config{Address: a.HTTPAddr})
	meta, found, err := c.Get(context.Background(), "/v1/kv/absent", nil, consul.QueryOptions{}, nil)
	if err != nil || found || meta.LastIndex == 0 {
		t.Fatalf("err=%v found=%v meta=%+v", err, found, meta)
	}
}

// http1Server stands in for Consul: a plain net/http server, which speaks
// HTTP/1.1 only and does not understand the h2c preface.
func http1Server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestFallsBackToHTTP1(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := http1Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Proto+" "+r.URL.RequestURI()+" token="+r.Header.Get("X-Consul-Token"))
		mu.Unlock()
		w.Header().Set("X-Consul-Index", "42")
		w.Header().Set("X-Consul-LastContact", "7")
		w.Write([]byte(`["dc1"]`))
	})
	c := newClient(t, consul.Config{Address: strings.TrimPrefix(s.URL, "http://"), Token: "secret"})
	var dcs []string
	q := consul.QueryOptions{Datacenter: "dc2", WaitIndex: 5, WaitTime: 2 * time.Second, AllowStale: true}
	meta, _, err := c.Get(context.Background(), "/v1/health/service/web", url.Values{"passing": {""}, "tag": {"a b"}}, q, &dcs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Protocol() != consul.ProtocolHTTP1 {
		t.Errorf("protocol %q, want http1", c.Protocol())
	}
	if meta.LastIndex != 42 || meta.LastContact != 7*time.Millisecond || len(dcs) != 1 {
		t.Errorf("meta %+v body %v", meta, dcs)
	}
	mu.Lock()
	defer mu.Unlock()
	last := seen[len(seen)-1]
	want := "HTTP/1.1 /v1/health/service/web?dc=dc2&index=5&passing&stale&tag=a+b&wait=2000ms token=secret"
	if last != want {
		t.Errorf("request\n got  %s\n want %s", last, want)
	}
}

func TestStatusErrors(t *testing.T) {
	s := http1Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status/leader" {
			w.Write([]byte(`""`))
			return
		}
		http.Error(w, "Permission denied", http.StatusForbidden)
	})
	c := newClient(t, consul.Config{Address: s.URL})
	_, _, err := c.Get(context.Background(), "/v1/kv/x", nil, consul.QueryOptions{}, nil)
	var se *consul.StatusError
	if err == nil || !asStatus(err, &se) || se.Code != 403 || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("error %v", err)
	}
}

func asStatus(err error, se **consul.StatusError) bool {
	s, ok := err.(*consul.StatusError)
	*se = s
	return ok
}

func TestUnreachable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(s.URL, "http://")
	s.Close()
	c := newClient(t, consul.Config{Address: addr})
	_, _, err := c.Get(context.Background(), "/v1/kv/x", nil, consul.QueryOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot connect to "+addr) {
		t.Fatalf("error %v", err)
	}
}

func TestForcedProtocols(t *testing.T) {
	a := testagent.Start(t)
	c := newClient(t, consul.Config{Address: a.HTTPAddr, Protocol: consul.ProtocolHTTP1})
	if _, _, err := c.Get(context.Background(), "/v1/status/leader", nil, consul.QueryOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Protocol() != consul.ProtocolHTTP1 {
		t.Errorf("protocol %q", c.Protocol())
	}
	s := http1Server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	h2 := newClient(t, consul.Config{Address: s.URL, Protocol: consul.ProtocolH2C})
	if _, _, err := h2.Get(context.Background(), "/v1/kv/x", nil, consul.QueryOptions{}, nil); err == nil {
		t.Error("h2c against an HTTP/1.1-only server must fail")
	}
	for _, bad := range []consul.Config{{Address: "ftp://x"}, {Address: "http://"}, {Protocol: "spdy"}} {
		if _, err := consul.New(bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
