package httpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// start serves h on a free loopback port.
func start(t *testing.T, h HandlerFunc, tune func(*Server)) (*Server, string) {
	return startOn(t, h, tune, nil)
}

// startOn serves h on a free loopback port, with TLS when tlsCfg is set.
func startOn(t *testing.T, h HandlerFunc, tune func(*Server), tlsCfg *tls.Config) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h}
	if tune != nil {
		tune(s)
	}
	if tlsCfg != nil {
		go s.ServeTLS(l, tlsCfg)
	} else {
		go s.Serve(l)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, l.Addr().String()
}

func echo(w *Response, r *Request) {
	w.SetHeader("X-Method", r.Method)
	w.SetHeader("X-Path", r.Path)
	w.SetHeader("X-Query", r.Query().Get("q"))
	w.SetHeader("X-Token", r.Header.Get("x-consul-token"))
	w.Write(r.Body)
}

// raw sends bytes on a fresh connection and returns everything read back
// until the server closes or a second passes.
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, req)
	c.SetReadDeadline(time.Now().Add(time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestWithNetHTTPClient(t *testing.T) {
	_, addr := start(t, echo, nil)
	client := &http.Client{}
	for i := 0; i < 3; i++ { // keep-alive reuse
		req, _ := http.NewRequest("PUT", "http://"+addr+"/v1/kv/a%2Fb?q=x%20y", strings.NewReader("value"))
		req.Header.Set("X-Consul-Token", "secret")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "value" || resp.Header.Get("X-Path") != "/v1/kv/a/b" || resp.Header.Get("X-Query") != "x y" ||
			resp.Header.Get("X-Token") != "secret" || resp.Header.Get("Date") == "" || resp.ContentLength != 5 {
			t.Fatalf("round trip %d: %q %v", i, body, resp.Header)
		}
	}
	// A chunked upload (unknown length).
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte("chunk-1 ")); pw.Write([]byte("chunk-2")); pw.Close() }()
	resp, err := client.Post("http://"+addr+"/x", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "chunk-1 chunk-2" {
		t.Fatalf("chunked body: %q", body)
	}
}

func TestProtocolCases(t *testing.T) {
	_, addr := start(t, echo, func(s *Server) { s.MaxBodyBytes = 100; s.MaxHeaderBytes = 4096 })
	cases := []struct {
		name, req string
		want      []string
		not       []string
	}{
		{"pipelined requests answered in order",
			"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			[]string{"X-Path: /one", "X-Path: /two", "Connection: close"}, nil},
		{"HEAD has no body", "HEAD /h HTTP/1.1\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
			[]string{"200 OK", "Content-Length: 3"}, []string{"\r\n\r\nabc"}},
		{"HTTP/1.0 closes", "GET /old HTTP/1.0\r\n\r\n", []string{"200 OK", "Connection: close"}, nil},
		{"expect 100-continue", "PUT /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
			[]string{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", "\r\n\r\nok"}, nil},
		{"bare LF line endings", "GET /lf HTTP/1.1\nConnection: close\n\n", []string{"X-Path: /lf"}, nil},
		{"garbage request line", "HELLO\r\n\r\n", []string{"400 Bad Request", "malformed request line"}, nil},
		{"bad method token", "G(T / HTTP/1.1\r\n\r\n", []string{"400"}, nil},
		{"unknown protocol", "GET / HTTP/2.0\r\n\r\n", []string{"505"}, nil},
		{"bad escape", "GET /a%zz HTTP/1.1\r\n\r\n", []string{"400", "escape"}, nil},
		{"body over the limit", "PUT /b HTTP/1.1\r\nContent-Length: 101\r\n\r\n", []string{"413"}, nil},
		{"chunked body over the limit", "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + strings.Repeat("x", 101) + "\r\n0\r\n\r\n", []string{"413"}, nil},
		{"unknown transfer encoding", "PUT /b HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", []string{"501"}, nil},
		{"conflicting lengths", "PUT /b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []string{"400", "conflicting"}, nil},
		{"length and chunked", "PUT /b HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", []string{"400"}, nil},
		{"negative length", "PUT /b HTTP/1.1\r\nContent-Length: -1\r\n\r\n", []string{"400"}, nil},
		{"header too large", "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", []string{"431"}, nil},
		{"folded header", "GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", []string{"400"}, nil},
		{"absolute-form target", "GET http://example/abs?q=1 HTTP/1.1\r\nConnection: close\r\n\r\n", []string{"X-Path: /abs", "X-Query: 1"}, nil},
		{"pipelined request answered while the next is incomplete", "GET /one HTTP/1.1\r\n\r\nGET /tw",
			[]string{"X-Path: /one"}, nil},
		{"100 Continue after the answers before it", "GET /one HTTP/1.1\r\n\r\nPUT /two HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
			[]string{"X-Path: /one", "\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"}, nil},
	}
	for _, c := range cases {
		got := raw(t, addr, c.req)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: response lacks %q:\n%s", c.name, w, got)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: response has %q:\n%s", c.name, n, got)
			}
		}
	}
}

func TestResponseHeaderInjectionIsDropped(t *testing.T) {
	_, addr := start(t, func(w *Response, r *Request) {
		w.SetHeader("X-Evil", "a\r\nSet-Cookie: x=1")
		w.SetHeader("X-Fine", "ok")
	}, nil)
	got := raw(t, addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
	if strings.Contains(got, "Set-Cookie") || !strings.Contains(got, "X-Fine: ok") {
		t.Fatalf("%s", got)
	}
}

func TestWatchClientCancelsOnDisconnect(t *testing.T) {
	cancelled := make(chan time.Duration, 1)
	entered := make(chan struct{})
	_, addr := start(t, func(w *Response, r *Request) {
		r.WatchClient()
		start := time.Now()
		close(entered)
		select {
		case <-r.Context().Done():
			cancelled <- time.Since(start)
		case <-time.After(10 * time.Second):
			cancelled <- -1
		}
	}, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /block HTTP/1.1\r\n\r\n")
	<-entered
	c.Close()
	if d := <-cancelled; d < 0 || d > 2*time.Second {
		t.Fatalf("handler context not cancelled after the client left: %v", d)
	}
}

func TestWatchClientKeepsConnectionUsable(t *testing.T) {
	_, addr := start(t, func(w *Response, r *Request) {
		r.WatchClient()
		time.Sleep(20 * time.Millisecond)
		w.WriteString(r.Path)
	}, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != fmt.Sprintf("/r%d", i) {
			t.Fatalf("request %d: %q", i, b)
		}
	}
}

func TestPerClientLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	_, addr := start(t, func(w *Response, r *Request) {
		if r.Path == "/held" {
			entered <- struct{}{}
			<-release
		}
	}, func(s *Server) { s.MaxConnsPerClient = 2 })
	var conns []net.Conn
	for i := 0; i < 2; i++ {
		c, _ := net.Dial("tcp", addr)
		io.WriteString(c, "GET /held HTTP/1.1\r\n\r\n")
		conns = append(conns, c)
	}
	<-entered
	<-entered
	got := raw(t, addr, "GET / HTTP/1.1\r\n\r\n")
	if !strings.Contains(got, "429") {
		t.Fatalf("third connection: %q", got)
	}
	close(release)
	for _, c := range conns {
		c.Close()
	}
	waitfor.Until(t, 10*time.Second, "a connection once the others closed", func() bool {
		return strings.Contains(raw(t, addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), "200 OK")
	})
}

func TestPanicIsContained(t *testing.T) {
	var n atomic.Int32
	_, addr := start(t, func(w *Response, r *Request) {
		if n.Add(1) == 1 {
			panic("boom")
		}
		w.WriteString("fine")
	}, nil)
	if got := raw(t, addr, "GET / HTTP/1.1\r\n\r\n"); !strings.Contains(got, "500") {
		t.Fatalf("panic: %q", got)
	}
	if got := raw(t, addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"); !strings.Contains(got, "fine") {
		t.Fatalf("after panic: %q", got)
	}
}

func TestShutdownEndsParkedRequests(t *testing.T) {
	ended := make(chan struct{})
	entered := make(chan struct{})
	s, addr := start(t, func(w *Response, r *Request) {
		r.WatchClient()
		close(entered)
		<-r.Context().Done()
		close(ended)
	}, nil)
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("parked handler still running after shutdown")
	}
}
