// Package httpserver is the small HTTP/1.1 server under the API. It does
// what the API needs and no more: keep-alive and pipelined requests,
// Content-Length and chunked request bodies (read whole before the handler
// runs, within a bound on what all bodies in memory take together, or
// streamed to it when Admit says so), Expect: 100-continue, HEAD,
// per-client connection caps, and a
// request context that is cancelled when the client goes away, so a parked
// blocking query ends with its client. Requests are parsed without copying
// beyond one allocation for the head, which keeps the per-request cost well
// below net/http's; anything it does not serve itself (profiles, static
// files) goes to a net/http Handler through Std. TLS listeners (ServeTLS)
// speak HTTP/1.1 or, by ALPN, HTTP/2; plain ones take h2c with prior
// knowledge too.
package httpserver

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
)

// Header is a request's header fields in arrival order.
type Header []Field

// Field is one header field.
type Field struct {
	Name  string
	Value string
}

// Get returns the first value of a field, matched without regard to case.
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Request is one parsed HTTP request. It is valid until its handler returns.
type Request struct {
	Method   string
	Path     string // decoded
	RawPath  string // as sent, without the query
	RawQuery string
	Proto    string // "HTTP/1.1" or "HTTP/1.0"
	Header   Header
	Body     []byte
	// BodyReader is set instead of Body when Server.Admit streams the
	// body: it reads the body as it arrives. A handler may leave some of
	// it unread; the connection is then closed after the response.
	BodyReader io.Reader
	Host       string
	RemoteAddr net.Addr

	ctx   context.Context
	conn  *conn
	query url.Values
}

// Context is done when the server shuts down and, after WatchClient, when
// the client disconnects.
func (r *Request) Context() context.Context { return r.ctx }

// Query parses the query string once.
func (r *Request) Query() url.Values {
	if r.query == nil {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil && q == nil {
			q = url.Values{}
		}
		r.query = q
	}
	return r.query
}

// WatchClient makes the request's context end when the client closes its
// connection. Handlers that may wait long (blocking queries) call it; it
// costs a goroutine for the duration of the handler.
func (r *Request) WatchClient() {
	if br, ok := r.BodyReader.(*bodyReader); ok && !br.done {
		return // the connection's next bytes are the body's
	}
	if r.conn != nil {
		r.ctx = r.conn.watch(r.ctx)
	}
}

// Response collects what a handler writes; the server sends it whole with
// a Content-Length when the handler returns, unless the handler streams it
// (Stream).
type Response struct {
	status int
	header []Field
	body   []byte

	streamer streamer // how Stream reaches the client; nil buffers instead
	streamed bool     // the response went out through Stream
}

// Header returns the value set for a header, "" if none.
func (w *Response) Header(name string) string {
	for _, f := range w.header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// SetHeader sets a response header, replacing an earlier value.
func (w *Response) SetHeader(name, value string) {
	for i := range w.header {
		if strings.EqualFold(w.header[i].Name, name) {
			w.header[i].Value = value
			return
		}
	}
	w.header = append(w.header, Field{name, value})
}

// AddHeader adds a response header, keeping earlier ones.
func (w *Response) AddHeader(name, value string) {
	w.header = append(w.header, Field{name, value})
}

// WriteHeader sets the status code (200 if never called).
func (w *Response) WriteHeader(code int) { w.status = code }

// Status is the status code set so far.
func (w *Response) Status() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

// Write appends to the body.
func (w *Response) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}

// WriteString appends to the body.
func (w *Response) WriteString(s string) (int, error) {
	w.body = append(w.body, s...)
	return len(s), nil
}

// Body is the body written so far; AppendBody lets encoders write in place.
func (w *Response) Body() []byte { return w.body }

// SetBody replaces the body, typically with a slice grown from Body()[:0].
func (w *Response) SetBody(b []byte) { w.body = b }

// Error writes a plain-text error body with a status code.
func (w *Response) Error(msg string, code int) {
	w.status = code
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.SetHeader("X-Content-Type-Options", "nosniff")
	w.body = append(w.body[:0], msg...)
	w.body = append(w.body, '\n')
}

func (w *Response) reset() {
	w.status = 0
	w.header = w.header[:0]
	w.streamed = false
	if cap(w.body) > 256<<10 {
		w.body = nil // do not keep a huge buffer per idle connection
	}
	w.body = w.body[:0]
}

// Handler serves requests.
type Handler interface {
	Serve(w *Response, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *Response, r *Request)

// Serve calls f.
func (f HandlerFunc) Serve(w *Response, r *Request) { f(w, r) }
