package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

var timeZero time.Time

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	// raw is the TCP connection under nc, which Shutdown closes (closing a
	// TLS connection may wait on the peer).
	raw  net.Conn
	ip   string
	rd   reader
	wbuf []byte
	idle atomic.Bool
	req  Request
	resp Response

	// The client watcher: a goroutine reading ahead while a handler runs.
	// When the handler ends first, its read is handed on to the next
	// request instead of being interrupted.
	watchDone   chan struct{}
	watchErr    error
	watchCancel context.CancelFunc
}

func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		if c.watchDone != nil {
			<-c.watchDone
		}
		c.srv.untrack(c)
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			return
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			c.serveH2(nil)
			return
		}
	}
	for {
		c.idle.Store(true)
		if c.srv.closing.Load() {
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.srv.IdleTimeout))
		if c.watchDone != nil {
			// The watcher's read is this request's first read.
			<-c.watchDone
			c.watchDone = nil
			if c.watchErr != nil {
				return
			}
		}
		head, err := c.rd.readHead(c.srv.MaxHeaderBytes, func() { c.idle.Store(false) }, func() {
			// The head did not come in one piece: bound the rest.
			c.nc.SetReadDeadline(time.Now().Add(c.srv.HeaderTimeout))
		})
		if err != nil {
			c.fail(err)
			return
		}
		if head == h2Head {
			c.serveH2(c.rd.unread(head))
			return
		}
		if !c.handle(head) {
			return
		}
	}
}

// handshake runs the TLS handshake, bounded by HandshakeTimeout.
func (c *conn) handshake(tc *tls.Conn) bool {
	tc.SetDeadline(time.Now().Add(c.srv.HandshakeTimeout))
	if err := tc.HandshakeContext(c.srv.base); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
			// A port probe or a client that gave up; nothing to act on.
			c.srv.Logger.Debug("TLS handshake failed", "from", c.raw.RemoteAddr(), "error", err)
		} else {
			c.srv.Logger.Warn("TLS handshake refused", "from", c.raw.RemoteAddr(), "error", err)
		}
		// With TLS 1.3 the client has sent its request by now: take it
		// in before closing, or the close resets the connection and the
		// client never reads the alert saying what was wrong.
		if tcp, ok := c.raw.(*net.TCPConn); ok {
			tcp.CloseWrite()
			tcp.SetReadDeadline(time.Now().Add(time.Second))
			io.Copy(io.Discard, io.LimitReader(tcp, 1<<20))
		}
		return false
	}
	tc.SetDeadline(timeZero)
	return true
}

// fail answers a request that could not be read, when that is still
// possible, and gives up on the connection (lingering: the client may be
// sending still).
func (c *conn) fail(err error) {
	var se *statusError
	if !errors.As(err, &se) {
		c.flush() // the answers to the requests before
		return
	}
	c.resp.reset()
	writeStatus(&c.resp, se)
	c.writeResponse(&Request{Method: "GET", Proto: "HTTP/1.1"}, true)
	if c.flush() { // with the answers to the requests before
		c.linger()
	}
}

// handle reads the body of one request, runs the handler and writes the
// response. It reports whether the connection can take another request.
func (c *conn) handle(head string) bool {
	r := &c.req
	*r = Request{Header: r.Header[:0], conn: c, ctx: c.srv.base, RemoteAddr: c.nc.RemoteAddr()}
	if err := parseHead(head, r); err != nil {
		c.fail(err)
		return false
	}
	n, err := bodyLength(r.Header)
	if err != nil {
		c.fail(err)
		return false
	}
	c.resp.reset()
	var hold bodyHold
	plan, ok := c.srv.planBody(&c.resp, r, n, &hold)
	if !ok {
		return c.answerUnread(r, n)
	}
	defer hold.release()
	expect := false
	if n != 0 && r.Header.Get("Expect") != "" {
		if !equalFold(r.Header.Get("Expect"), "100-continue") {
			c.fail(&statusError{417, "unsupported Expect header"})
			return false
		}
		expect = true
	}
	var stream *bodyReader
	switch {
	case n == 0:
	case plan.Stream:
		stream = &bodyReader{c: c, chunked: n < 0, left: max(n, 0), limit: plan.Limit, expect: expect}
		r.BodyReader = stream
	default:
		if expect {
			c.wbuf = append(c.wbuf, "HTTP/1.1 100 Continue\r\n\r\n"...) // after the answers before
			c.flush()
		}
		if int64(c.rd.buffered()) < n || n < 0 {
			c.flush() // the client may wait for them before sending the rest
			c.nc.SetReadDeadline(time.Now().Add(c.srv.HeaderTimeout))
		}
		if n > 0 {
			r.Body, err = c.rd.readBody(int(n))
		} else {
			r.Body, err = c.rd.readChunked(int(plan.Limit), &hold)
		}
		if err != nil {
			c.fail(err)
			return false
		}
	}
	closeAfter := wantsClose(r)
	ok = c.run(r)
	reading, clientGone := c.endWatch()
	if !ok || clientGone || c.resp.streamed {
		return false // a streamed body ends with the connection
	}
	if c.srv.closing.Load() {
		closeAfter = true
	}
	if stream != nil && !stream.finished() {
		if !stream.refused() {
			return false // the client's side of the body failed: nobody to answer
		}
		c.writeResponse(r, true)
		if c.flush() {
			c.linger() // the handler left some of the body unread
		}
		return false
	}
	c.writeResponse(r, closeAfter)
	// Pipelined requests already buffered are answered in one write;
	// otherwise send now (the buffer is the watcher's while it reads).
	if reading || closeAfter || !c.rd.headBuffered() {
		if !c.flush() {
			return false
		}
	}
	return !closeAfter
}

// run calls the handler, turning a panic into a 500.
func (c *conn) run(r *Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.Logger.Error("handler panic", "method", r.Method, "path", r.Path, "panic", p)
			ok = false
			if c.resp.streamed {
				return // the head is out: closing the connection is all that is left
			}
			c.resp.reset()
			c.resp.Error("internal error", 500)
			c.writeResponse(r, true)
			c.flush()
		}
	}()
	c.srv.Handler.Serve(&c.resp, r)
	return true
}

// writeResponse appends the response to the write buffer.
func (c *conn) writeResponse(r *Request, closeAfter bool) {
	w := &c.resp
	code := w.Status()
	noBody := code == 204 || code == 304 || code < 200
	b := appendHead(c.wbuf, w, code, len(w.body) > 0 && !noBody)
	if !noBody {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		b = append(b, "\r\n"...)
	}
	if closeAfter {
		b = append(b, "Connection: close\r\n"...)
	} else if r.Proto == "HTTP/1.0" {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, c.srv.dateLine(time.Now())...)
	b = append(b, "\r\n"...)
	if r.Method != "HEAD" && !noBody {
		b = append(b, w.body...)
	}
	c.wbuf = b
}

// appendHead appends the status line and the handler's header fields, and
// a plain-text Content-Type when wantType and the handler set none.
func appendHead(b []byte, w *Response, code int, wantType bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	hasType := false
	for _, f := range w.header {
		if equalFold(f.Name, "Content-Type") {
			hasType = true
		}
		if !validHeaderValue(f.Value) {
			continue // never let a value split the response
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	if !hasType && wantType {
		b = append(b, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	return b
}

func (c *conn) flush() bool {
	if len(c.wbuf) == 0 {
		return true
	}
	if len(c.wbuf) > 64<<10 {
		// Small responses fit the socket buffer; a big one must not hang
		// on a client that stopped reading.
		c.nc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		defer c.nc.SetWriteDeadline(time.Time{})
	}
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 256<<10 {
		c.wbuf = nil
	} else {
		c.wbuf = c.wbuf[:0]
	}
	return err == nil
}

// watch starts the client watcher for a long-running handler.
func (c *conn) watch(parent context.Context) context.Context {
	if c.watchCancel != nil {
		return parent
	}
	ctx, cancel := context.WithCancel(parent)
	c.watchCancel = cancel
	if c.rd.buffered() > 0 {
		return ctx // the client already sent its next request: it is there
	}
	done := make(chan struct{})
	c.watchDone = done
	c.nc.SetReadDeadline(time.Time{}) // the request's own deadline no longer applies
	c.watchErr = nil
	go func() {
		defer close(done)
		if err := c.rd.fill(c.srv.MaxHeaderBytes); err != nil {
			c.watchErr = err
			cancel()
		}
	}()
	return ctx
}

// endWatch ends a request's watch. It reports whether the watcher is still
// reading (its read then serves the next request) and whether the client
// left while the handler ran.
func (c *conn) endWatch() (reading, gone bool) {
	if c.watchCancel != nil {
		c.watchCancel()
		c.watchCancel = nil
	}
	if c.watchDone == nil {
		return false, false
	}
	select {
	case <-c.watchDone:
		c.watchDone = nil
		return false, c.watchErr != nil
	default:
		return true, false
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
