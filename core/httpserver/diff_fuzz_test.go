package httpserver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// smuggling are the classic request smuggling and framing cases: each is
// a whole connection's worth of bytes, usually a request followed by one
// that exists only if the first one's body ends where net/http says it does.
var smuggling = []string{
	// Content-Length and Transfer-Encoding together, in both orders.
	"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
	// Two Content-Lengths, differing, equal, equal in number only.
	"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcdGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 03\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	// Content-Length with a sign, spaces, leading zeros, nothing, too much.
	"POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: -0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length:  3 \t\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 3 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 0003\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 3_0\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length:\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"POST /a HTTP/1.1\r\nContent-Length : 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	// Transfer-Encoding in a list, twice, oddly cased, padded, on HTTP/1.0.
	"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: cHuNkEd\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: \tchunked \r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\v\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chun\u212aed\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	// Obsolete line folding.
	"GET /a HTTP/1.1\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n",
	"GET /a HTTP/1.1\r\n Host: x\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	// Bare LF and bare CR line ends.
	"GET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\n\n",
	"GET /a HTTP/1.1\r\nHost: x\n\r\n",
	"GET /a HTTP/1.1\rHost: x\r\n\r\n",
	"GET /a HTTP/1.1\r\nX-A: 1\rContent-Length: 3\r\n\r\nabc",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n",
	// NUL, CR and other controls in values and targets.
	"GET /a HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
	"GET /a HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
	"GET /a HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n",
	"GET /a HTTP/1.1\r\nX-A: caf\xc3\xa9\r\n\r\n",
	"GET /a\x00b HTTP/1.1\r\n\r\n",
	"GET /a\tb HTTP/1.1\r\n\r\n",
	"GET /a?q=\x01 HTTP/1.1\r\n\r\n",
	// Chunk extensions, sizes, terminators.
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0;last\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;q=\"a;b\"\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 ;x\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000003\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100000001\r\nabc\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	// Trailers: plain, bare LF, malformed, declared framing fields.
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\x00b\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n X-T: 1\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\nhello",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\nContent-Length: 5\r\n\r\n",
	"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-A, transfer-encoding\r\n\r\n0\r\n\r\n",
	// Expect.
	"PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	"PUT /a HTTP/1.1\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"PUT /a HTTP/1.1\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\nabc",
	"GET /a HTTP/1.1\r\nExpect: 100-continue\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
	// Keep-alive and close, on HTTP/1.0 and 1.1.
	"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.0\r\nConnection: upgrade\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1\r\nConnection: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1\r\nConnection: CLOSE\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST /a HTTP/1.0\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
	// Targets: absolute-form (whose host wins over the Host field),
	// asterisk, authority, fragments, escapes.
	"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
	"GET https://u:p@example.com:8500 HTTP/1.1\r\n\r\n",
	"GET http://example.com?q HTTP/1.1\r\n\r\n",
	"GET http://example.com/a%2Fb HTTP/1.1\r\n\r\n",
	"GET HTTP://example.com/p HTTP/1.1\r\n\r\n",
	"GET http:/p HTTP/1.1\r\n\r\n",
	"GET http://[::1/p HTTP/1.1\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\n\r\n",
	"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
	"GET /a#frag HTTP/1.1\r\n\r\n",
	"GET /a?b#frag HTTP/1.1\r\n\r\n",
	"GET //a/b HTTP/1.1\r\n\r\n",
	"GET /a%2fb%20c?d=%zz HTTP/1.1\r\n\r\n",
	"GET /a%zz HTTP/1.1\r\n\r\n",
	// Host fields.
	"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /a HTTP/1.1\r\nhost: a\r\n\r\n",
	// Request lines.
	"GET  /a HTTP/1.1\r\n\r\n",
	"GET /a  HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1 \r\n\r\n",
	"GET /a http/1.1\r\n\r\n",
	"GET /a HTTP/1.2\r\n\r\n",
	"GET /a HTTP/2.0\n\n",
	"G<T /a HTTP/1.1\r\n\r\n",
	"\r\n\r\nGET /a HTTP/1.1\r\n\r\n",
	"\rGET /a HTTP/1.1\r\n\r\n",
	// Pipelined requests, with and without bodies.
	"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
	"PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nworld\r\n0\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n",
	"PUT /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello",
}

// FuzzDiffNetHTTP sends the same bytes to a server connection and to
// net/http.ReadRequest. For every request the handler sees, net/http must
// read the same method, target, Host, header fields and body, and the same
// answer to whether a next request follows on the connection. The server
// may refuse what net/http accepts (an error status, then the connection
// closes), never the other way round.
func FuzzDiffNetHTTP(f *testing.F) {
	for _, s := range smuggling {
		f.Add([]byte(s))
	}
	// Chunk extensions far larger than the data: up to 16 KiB is allowed.
	for _, chunks := range []int{30, 40} {
		f.Add([]byte("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strings.Repeat("1;"+strings.Repeat("x", 500)+"\r\nx\r\n", chunks) + "0\r\n\r\nGET /b HTTP/1.1\r\n\r\n"))
	}
	// A trailer section of 4096 bytes, and one of 4097.
	for _, n := range []int{4087, 4088} {
		f.Add([]byte("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + strings.Repeat("x", n) +
			"\r\n\r\nGET /b HTTP/1.1\r\n\r\n"))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.Contains(in, []byte(h2Head)) {
			return // a switch to HTTP/2, which net/http.ReadRequest does not make
		}
		theirs, theirErr := readNetHTTP(in)
		for _, stream := range []bool{false, true} {
			ours, resps := serveBytes(t, in, stream)
			if err := compareServed(ours, resps, theirs, theirErr); err != "" {
				t.Fatalf("bodies %s: %s", map[bool]string{false: "read whole", true: "streamed"}[stream], err)
			}
		}
	})
}

// compareServed says how what the server served and answered differs from
// what net/http reads, "" when it does not.
func compareServed(ours []seen, resps []*http.Response, theirs []seen, theirErr error) string {
	handled := len(ours)
	refused := len(resps) > handled
	if len(resps) < handled || len(resps) > handled+1 {
		return fmt.Sprintf("%d requests handled, %d responses", handled, len(resps))
	}
	if refused {
		if r := resps[handled]; r.StatusCode < 400 || !r.Close {
			return fmt.Sprintf("refusal answered %d, close %v", r.StatusCode, r.Close)
		}
	}
	for i, o := range ours {
		if i >= len(theirs) {
			return fmt.Sprintf("request %d served; net/http refuses it: %v\n%+v", i, theirErr, o)
		}
		if d := diffRequest(o, theirs[i]); d != "" {
			return fmt.Sprintf("request %d: %s", i, d)
		}
		if last := i == handled-1; !last || !refused {
			closed := last && resps[i].Close
			if closed != theirs[i].close {
				return fmt.Sprintf("request %d: the server closes after it: %v, net/http: %v", i, closed, theirs[i].close)
			}
		}
	}
	if !refused && (handled == 0 || !resps[handled-1].Close) && len(theirs) > handled {
		return fmt.Sprintf("request %d: net/http reads %+v; the server saw the connection end", handled, theirs[handled])
	}
	return ""
}

// seen is a request as its handler saw it.
type seen struct {
	method, path, rawPath, query, proto, host string
	header                                    []Field
	body                                      []byte
	close                                     bool // net/http only: nothing follows on the connection
}

// serveBytes serves in as one connection whose client sends in, then
// nothing, and returns the requests the handler saw and the responses
// sent, 100 Continue left out. With stream, bodies reach the handler as a
// stream it reads to the end; one that fails to read is answered 400 and
// not counted as seen.
func serveBytes(t *testing.T, in []byte, stream bool) ([]seen, []*http.Response) {
	var got []seen
	s := &Server{MaxBodyBytes: 1 << 16, MaxHeaderBytes: 1 << 14}
	if stream {
		s.Admit = func(*Response, *Request) BodyPlan { return BodyPlan{Stream: true, Limit: 1 << 16} }
	}
	s.Handler = HandlerFunc(func(w *Response, r *Request) {
		body := bytes.Clone(r.Body)
		if r.BodyReader != nil {
			b, err := io.ReadAll(r.BodyReader)
			if err != nil {
				w.Error(err.Error(), 400)
				return
			}
			body = b
		}
		got = append(got, seen{method: r.Method, path: r.Path, rawPath: r.RawPath, query: r.RawQuery,
			proto: r.Proto, host: r.Host, header: slices.Clone(r.Header), body: body})
	})
	s.init()
	bc := &bytesConn{in: bytes.NewReader(in)}
	c := &conn{srv: s, nc: bc, raw: bc, ip: "fuzz", rd: reader{c: bc, buf: make([]byte, 4096)}}
	c.resp.streamer = c
	s.admit("fuzz")
	s.track(c)
	done := make(chan struct{})
	go func() { c.serve(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("connection did not finish for %q", in)
	}
	br := bufio.NewReader(&bc.out)
	var resps []*http.Response
	for br.Buffered() > 0 || bc.out.Len() > 0 {
		n := len(resps)
		method := "GET"
		if n < len(got) {
			method = got[n].method
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading the server's response %d: %v", n, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode >= 200 {
			resps = append(resps, resp)
			continue
		}
		// The request it answers either reached the handler, or its body
		// never came in whole.
		if n < len(got) && !strings.EqualFold(Header(got[n].header).Get("Expect"), "100-continue") {
			t.Fatalf("%s before the response to request %d, which did not ask for it", resp.Status, n)
		}
	}
	return got, resps
}

// bytesConn is a client that sends a fixed sequence of bytes, then ends
// its side of the connection, and keeps what it is sent.
type bytesConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (b *bytesConn) Read(p []byte) (int, error)       { return b.in.Read(p) }
func (b *bytesConn) Write(p []byte) (int, error)      { return b.out.Write(p) }
func (b *bytesConn) Close() error                     { return nil }
func (b *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (b *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (b *bytesConn) SetDeadline(time.Time) error      { return nil }
func (b *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (b *bytesConn) SetWriteDeadline(time.Time) error { return nil }

// readNetHTTP reads in as net/http.ReadRequest does, request after request
// until one fails or says the connection closes after it. Blank lines
// before a request line are skipped, as the server does (RFC 9112, 2.2).
func readNetHTTP(in []byte) ([]seen, error) {
	br := bufio.NewReader(bytes.NewReader(in))
	var out []seen
	for {
		for {
			b, err := br.Peek(1)
			if err != nil {
				return out, err
			}
			if b[0] != '\r' && b[0] != '\n' {
				break
			}
			br.Discard(1)
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return out, err
		}
		path := req.URL.Path
		rawPath, _, _ := strings.Cut(req.RequestURI, "?")
		if !strings.HasPrefix(rawPath, "/") && rawPath != "*" {
			// absolute-form: the path as sent follows the authority.
			_, rest, _ := strings.Cut(rawPath, "://")
			rawPath = "/"
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rawPath = rest[i:]
			}
			if path == "" {
				path = "/"
			}
		}
		s := seen{method: req.Method, path: path, rawPath: rawPath, query: req.URL.RawQuery,
			proto: req.Proto, host: req.Host, body: body, close: req.Close}
		for name, values := range req.Header {
			for _, v := range values {
				s.header = append(s.header, Field{name, v})
			}
		}
		out = append(out, s)
		if req.Close {
			return out, nil
		}
	}
}

// diffRequest says how two readings of a request differ, "" if they agree.
// Header fields are compared by canonical name and value, in order within
// a name; net/http takes out the framing fields (Content-Length,
// Transfer-Encoding, Trailer), whose meaning the body already shows, and
// Host, which is compared on its own.
func diffRequest(o, n seen) string {
	if o.method != n.method || o.path != n.path || o.rawPath != n.rawPath || o.query != n.query || o.proto != n.proto {
		return fmt.Sprintf("server reads %s %q (raw %q) query %q %s; net/http %s %q (raw %q) query %q %s",
			o.method, o.path, o.rawPath, o.query, o.proto, n.method, n.path, n.rawPath, n.query, n.proto)
	}
	if o.host != n.host {
		return fmt.Sprintf("server reads host %q, net/http %q", o.host, n.host)
	}
	if !bytes.Equal(o.body, n.body) {
		return fmt.Sprintf("server reads body %q, net/http %q", o.body, n.body)
	}
	if a, b := headerText(o.header, false), headerText(n.header, true); a != b {
		return fmt.Sprintf("server reads header fields\n%s\nnet/http\n%s", a, b)
	}
	return ""
}

func headerText(h []Field, fromNetHTTP bool) string {
	var lines []string
	pragma, hasCacheControl := "", false
	for _, f := range h {
		name := http.CanonicalHeaderKey(f.Name)
		switch name {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "Pragma":
			if pragma == "" {
				pragma = "(" + f.Value + ")"
			}
		case "Cache-Control":
			hasCacheControl = true
		}
		lines = append(lines, name+": "+f.Value)
	}
	if !fromNetHTTP && pragma == "(no-cache)" && !hasCacheControl {
		// net/http adds this for HTTP/1.0 caches.
		lines = append(lines, "Cache-Control: no-cache")
	}
	// Names sort; values of one name keep their order (a stable sort).
	slices.SortStableFunc(lines, func(a, b string) int {
		an, _, _ := strings.Cut(a, ":")
		bn, _, _ := strings.Cut(b, ":")
		return strings.Compare(an, bn)
	})
	return strings.Join(lines, "\n")
}
