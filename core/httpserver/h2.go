package httpserver

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
)

// h2Preface is how an HTTP/2 client with prior knowledge (h2c) opens a
// cleartext connection; as an HTTP/1 head it reads "PRI * HTTP/2.0".
const h2Head = "PRI * HTTP/2.0\r\n\r\n"

// MaxStreams bounds concurrent requests on one HTTP/2 connection: enough
// for a renderer or Prometheus to keep a blocking query per service of a
// large catalog on a single connection.
const MaxStreams = 8192

// serveH2 hands a connection to the HTTP/2 server: one that opened with
// the HTTP/2 preface (pre holds what was already read of it), or a TLS
// connection that chose h2 by ALPN (pre is empty).
func (c *conn) serveH2(pre []byte) {
	c.idle.Store(true) // shutdown may close it; streams end with the base context
	c.nc.SetReadDeadline(timeZero)
	nc := c.nc
	if len(pre) > 0 {
		nc = &prefixConn{Conn: c.nc, pre: pre}
	}
	h2 := &http2.Server{MaxConcurrentStreams: MaxStreams, IdleTimeout: c.srv.IdleTimeout}
	h2.ServeConn(nc, &http2.ServeConnOpts{
		Context: c.srv.base,
		Handler: fromStd{c.srv},
	})
}

// prefixConn replays bytes already read before reading the connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// fromStd serves net/http requests (HTTP/2 streams) with the server's
// Handler.
type fromStd struct{ s *Server }

func (f fromStd) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	r := &Request{
		Method: hr.Method, Path: hr.URL.Path, RawPath: hr.URL.EscapedPath(), RawQuery: hr.URL.RawQuery,
		Proto: "HTTP/1.1", Host: hr.Host, ctx: hr.Context(),
	}
	for k, vs := range hr.Header {
		for _, v := range vs {
			r.Header = append(r.Header, Field{k, v})
		}
	}
	if addr, err := net.ResolveTCPAddr("tcp", hr.RemoteAddr); err == nil {
		r.RemoteAddr = addr
	}
	resp := Response{streamer: h2Streamer{w: w, method: hr.Method}}
	n := hr.ContentLength
	if hr.Body == nil || hr.Body == http.NoBody {
		n = 0
	}
	var hold bodyHold
	plan, ok := f.s.planBody(&resp, r, n, &hold)
	if !ok {
		f.write(w, hr, &resp) // net/http resets the stream of an unread body
		return
	}
	defer hold.release()
	switch {
	case n == 0:
	case plan.Stream:
		r.BodyReader = &limitedBody{r: hr.Body, left: plan.Limit, limit: plan.Limit}
	default:
		var body []byte
		var err error
		if n > 0 {
			body = make([]byte, n)
			_, err = io.ReadFull(hr.Body, body)
		} else {
			body, err = readHeld(hr.Body, plan.Limit, &hold)
		}
		var se *statusError
		var tl *BodyTooLargeError
		switch {
		case errors.As(err, &se):
			writeStatus(&resp, se)
		case errors.As(err, &tl):
			resp.Error(tl.Error(), http.StatusRequestEntityTooLarge)
		case err != nil:
			resp.Error("reading the request body: "+err.Error(), http.StatusBadRequest)
		}
		if err != nil {
			f.write(w, hr, &resp)
			return
		}
		r.Body = body
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				f.s.Logger.Error("handler panic", "method", r.Method, "path", r.Path, "panic", p)
				if resp.streamed {
					panic(http.ErrAbortHandler) // the head is out: reset the stream
				}
				resp.reset()
				resp.Error("internal error", http.StatusInternalServerError)
			}
		}()
		f.s.Handler.Serve(&resp, r)
	}()
	if !resp.streamed {
		f.write(w, hr, &resp)
	}
}

// write sends a buffered response.
func (f fromStd) write(w http.ResponseWriter, hr *http.Request, resp *Response) {
	h := w.Header()
	for _, fd := range resp.header {
		if validHeaderValue(fd.Value) {
			h.Add(fd.Name, fd.Value)
		}
	}
	if len(resp.body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.Status())
	if hr.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// unread returns head followed by what is buffered after it, for a
// connection that changes protocol, and empties the buffer.
func (b *reader) unread(head string) []byte {
	pre := make([]byte, 0, len(head)+b.buffered())
	pre = append(pre, head...)
	pre = append(pre, b.buf[b.r:b.w]...)
	b.r = b.w
	return pre
}
