package httpserver

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2cClient speaks HTTP/2 with prior knowledge and counts its connections.
func h2cClient(dials *atomic.Int32) *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// Many parked requests share one h2c connection, and a request the client
// abandons ends its handler.
func TestH2CMultiplexesParkedRequests(t *testing.T) {
	release := make(chan struct{})
	var parked, abandoned atomic.Int32
	_, addr := start(t, func(w *Response, r *Request) {
		switch r.Path {
		case "/park":
			r.WatchClient()
			parked.Add(1)
			select {
			case <-release:
				w.SetHeader("X-Consul-Index", "7")
				w.WriteString("done")
			case <-r.Context().Done():
				abandoned.Add(1)
			}
		default:
			echo(w, r)
		}
	}, nil)
	var dials atomic.Int32
	c := h2cClient(&dials)

	resp, err := c.Post("http://"+addr+"/echo?q=1", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "body" || resp.Header.Get("X-Query") != "1" {
		t.Fatalf("h2c echo: proto %d body %q headers %v", resp.ProtoMajor, b, resp.Header)
	}

	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://" + addr + "/park")
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "done" || resp.Header.Get("X-Consul-Index") != "7" {
				errs <- io.ErrUnexpectedEOF
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for parked.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if parked.Load() != n {
		t.Fatalf("only %d of %d requests parked", parked.Load(), n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/park", nil)
	go c.Do(req)
	for parked.Load() < n+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	for abandoned.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if abandoned.Load() != 1 {
		t.Fatal("the handler of a cancelled h2c request did not end")
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if d := dials.Load(); d != 1 {
		t.Fatalf("%d connections for %d requests; want one", d, n+2)
	}
}
