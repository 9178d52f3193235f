package consul

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2cServer serves h with HTTP/2 prior knowledge on a loopback listener,
// allowing at most maxStreams concurrent streams per connection.
func h2cServer(t *testing.T, maxStreams uint32, h http.HandlerFunc) (string, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http2.Server{MaxConcurrentStreams: maxStreams}
	var conns sync.Map
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	closeAll := func() {
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); conns.Delete(k); return true })
	}
	t.Cleanup(func() { l.Close(); closeAll() })
	return l.Addr().String(), closeAll
}

func h2cClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := New(Config{Address: addr, Protocol: ProtocolH2C})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// More requests than the server allows at once all complete, on one
// connection, queued for free streams.
func TestH2CRespectsTheStreamLimit(t *testing.T) {
	var active, peak atomic.Int32
	addr, _ := h2cServer(t, 5, func(w http.ResponseWriter, r *http.Request) {
		n := active.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		active.Add(-1)
		w.Header().Set("X-Consul-Index", "9")
		fmt.Fprintf(w, "%q", r.URL.Path)
	})
	c := h2cClient(t, addr)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var s string
			meta, _, err := c.Get(context.Background(), fmt.Sprintf("/v1/x/%d", i), nil, QueryOptions{}, &s)
			if err == nil && (s != fmt.Sprintf("/v1/x/%d", i) || meta.LastIndex != 9) {
				err = fmt.Errorf("request %d got %q %+v", i, s, meta)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p > 5 {
		t.Errorf("%d streams at once, the server allows 5", p)
	}
	if st := c.Stats(); st.Dialed != 1 {
		t.Errorf("%d connections, want 1", st.Dialed)
	}
}

// A request whose context ends is answered at once with the context's
// error, and the server sees the stream reset.
func TestH2CCancelResetsTheStream(t *testing.T) {
	reset := make(chan struct{}, 1)
	addr, _ := h2cServer(t, 100, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		reset <- struct{}{}
	})
	c := h2cClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Get(ctx, "/v1/park", nil, QueryOptions{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
	select {
	case <-reset:
	case <-time.After(2 * time.Second):
		t.Fatal("the server never saw the stream end")
	}
}

// Parked requests fail when the connection drops, and the next request
// dials a new one.
func TestH2CReconnectsAfterTheConnectionDrops(t *testing.T) {
	var parked atomic.Int32
	addr, closeAll := h2cServer(t, 100, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/park") {
			parked.Add(1)
			<-r.Context().Done()
			return
		}
		io.WriteString(w, `"ok"`)
	})
	c := h2cClient(t, addr)
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, _, err := c.Get(context.Background(), "/v1/park", nil, QueryOptions{}, nil)
			errs <- err
		}()
	}
	for parked.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	closeAll()
	for i := 0; i < 3; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, errConnGone) {
				t.Errorf("parked request: %v, want a closed-connection error", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("a parked request did not fail when its connection dropped")
		}
	}
	var s string
	if _, _, err := c.Get(context.Background(), "/v1/ok", nil, QueryOptions{}, &s); err != nil || s != "ok" {
		t.Fatalf("after the drop: %v %q", err, s)
	}
	if st := c.Stats(); st.Dialed != 2 {
		t.Errorf("%d connections dialed, want 2", st.Dialed)
	}
}

// GetAsync over h2c parks no goroutine per request.
func TestH2CAsyncParksNoGoroutines(t *testing.T) {
	release := make(chan struct{})
	addr, _ := h2cServer(t, 1000, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "1")
	})
	c := h2cClient(t, addr)
	var done sync.WaitGroup
	var got atomic.Int32
	const n = 300
	done.Add(n)
	for i := 0; i < n; i++ {
		var out int
		c.GetAsync(context.Background(), "/v1/park", nil, QueryOptions{}, &out, func(_ Meta, _ bool, err error) {
			if err == nil && out == 1 {
				got.Add(1)
			}
			done.Done()
		})
	}
	time.Sleep(200 * time.Millisecond)
	if mine := clientGoroutines(); mine > 5 {
		t.Errorf("%d client goroutines for %d parked requests, want the connection's reader and pinger", mine, n)
	}
	close(release)
	done.Wait()
	if got.Load() != n {
		t.Errorf("%d of %d answers", got.Load(), n)
	}
}

// clientGoroutines counts goroutines running this package's client code.
func clientGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "watcher/consul.(*") && !strings.Contains(g, "consul.Test") {
			n++
		}
	}
	return n
}

// A request whose context has already ended is answered with the
// context's error, exactly once, however the cancellation races the
// sending (run with -race: the callback may run before the send returns).
func TestH2CRequestWithAnEndedContext(t *testing.T) {
	addr, _ := h2cServer(t, 100, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `"ok"`)
	})
	c := h2cClient(t, addr)
	var s string
	if _, _, err := c.Get(context.Background(), "/v1/warm", nil, QueryOptions{}, &s); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		answers := make(chan error, 2)
		var out string
		c.GetAsync(ctx, "/v1/x", nil, QueryOptions{}, &out, func(_ Meta, _ bool, err error) { answers <- err })
		if err := <-answers; !errors.Is(err, context.Canceled) {
			t.Fatalf("request %d: error %v, want context.Canceled", i, err)
		}
		select {
		case err := <-answers:
			t.Fatalf("request %d answered twice (second: %v)", i, err)
		case <-time.After(time.Millisecond):
		}
	}
}
