package httpserver

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/certs/certstest"
)

// startTLS serves h with TLS on a free loopback port and returns a client
// configuration that trusts it.
func startTLS(t *testing.T, h HandlerFunc, tune func(*Server)) (*Server, string, *tls.Config) {
	t.Helper()
	f := certstest.Write(t, "server-dc1")
	pair := f.Pair(t, "server-dc1")
	s, addr := startOn(t, h, tune, &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}})
	return s, addr, &tls.Config{RootCAs: f.Pool(t)}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Post(url, "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestTLSHTTP1AndH2(t *testing.T) {
	_, addr, clientTLS := startTLS(t, echo, nil)
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	for i := 0; i < 3; i++ { // keep-alive over one TLS connection
		resp, body := get(t, h1, "https://"+addr+"/echo?q=1")
		if resp.ProtoMajor != 1 || body != "body" || resp.Header.Get("X-Query") != "1" || resp.TLS == nil {
			t.Fatalf("HTTP/1.1 over TLS: %s %q %v", resp.Proto, body, resp.Header)
		}
	}
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}}
	resp, body := get(t, h2, "https://"+addr+"/echo?q=2")
	if resp.ProtoMajor != 2 || body != "body" || resp.Header.Get("X-Query") != "2" {
		t.Fatalf("HTTP/2 by ALPN: %s %q %v", resp.Proto, body, resp.Header)
	}
	// Plain HTTP on the TLS port gets no answer, and the port keeps working.
	if got := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); strings.Contains(got, "200") {
		t.Fatalf("plain HTTP on the TLS port: %q", got)
	}
	if resp, _ := get(t, h1, "https://"+addr+"/echo"); resp.StatusCode != 200 {
		t.Fatal("TLS port broken after plain HTTP")
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	_, addr, _ := startTLS(t, echo, func(s *Server) { s.HandshakeTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("a silent client was not dropped after the handshake timeout: %v after %v", err, time.Since(start))
	}
}

// A parked request on a TLS connection ends with Shutdown.
func TestTLSShutdown(t *testing.T) {
	parked := make(chan struct{})
	s, addr, clientTLS := startTLS(t, func(w *Response, r *Request) {
		r.WatchClient()
		close(parked)
		<-r.Context().Done()
	}, nil)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get("https://" + addr + "/park")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-parked
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the parked TLS request outlived Shutdown")
	}
}
