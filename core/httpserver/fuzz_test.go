package httpserver

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzParseHead: any head parses or is rejected, never panics, and what is
// accepted is consistent.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT /v1/kv/a%2Fb?cas=0 HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
		"GET http://h/p?q HTTP/1.0\n\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
		"GET /%zz HTTP/1.1\r\n\r\n",
		"G T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, head string) {
		var r Request
		if err := parseHead(head, &r); err != nil {
			return
		}
		if r.Method == "" || r.Path == "" || (r.Proto != "HTTP/1.1" && r.Proto != "HTTP/1.0") {
			t.Fatalf("accepted %q as %+v", head, r)
		}
		_, _ = bodyLength(r.Header)
		_ = r.Query()
	})
}

// FuzzConnection feeds arbitrary bytes to a live connection: the server
// must answer or close, never panic or hang.
func FuzzConnection(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\n\r\n",
		"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
		"\r\n\r\n\r\nGET /after-blank HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	s := &Server{Handler: HandlerFunc(echo), MaxBodyBytes: 1 << 16, MaxHeaderBytes: 1 << 14,
		IdleTimeout: 200 * time.Millisecond, HeaderTimeout: 200 * time.Millisecond}
	s.init()
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		c := &conn{srv: s, nc: server, ip: "fuzz", rd: reader{c: server, buf: make([]byte, 4096)}}
		s.admit("fuzz")
		s.track(c)
		done := make(chan struct{})
		go func() { c.serve(); close(done) }()
		go func() { client.Write(in); client.Close() }()
		go io.Copy(io.Discard, client)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection did not finish for %q", in)
		}
	})
}
