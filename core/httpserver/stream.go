package httpserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// StreamFunc produces a streamed body: what it writes to body goes out
// each time it calls flush, and when it returns.
type StreamFunc func(body io.Writer, flush func() error) error

// StreamWriteTimeout bounds each write of a streamed body, so a client that
// stops reading cannot hold a handler forever.
const StreamWriteTimeout = 30 * time.Second

// ErrStreamed is returned by a second call of Stream.
var ErrStreamed = errors.New("httpserver: response already streamed")

// streamer is how Stream reaches a client: the HTTP/1 connection or an
// HTTP/2 stream.
type streamer interface {
	stream(w *Response, fn StreamFunc) error
}

// Stream sends the response as it is produced instead of whole: the status
// and headers set so far go out at once, then fn writes the body. Over
// HTTP/1.1 the body is chunked; an HTTP/1.0 body ends when the connection
// closes. Either way the connection is closed after the handler returns,
// as a stream usually ends because one side went away. Stream returns
// fn's error, or the write error that ended the stream (the client left,
// or stopped reading for StreamWriteTimeout). Handlers that stream
// indefinitely call WatchClient first and stop when the request's context
// is done. Nothing written to w after Stream is sent. A Response that
// belongs to no connection (in tests) collects the body as Write does.
func (w *Response) Stream(fn StreamFunc) error {
	if w.streamed {
		return ErrStreamed
	}
	if w.streamer == nil {
		return fn(w, func() error { return nil })
	}
	w.streamed = true
	return w.streamer.stream(w, fn)
}

// stream sends the head and runs fn over a chunked (or, for HTTP/1.0,
// close-delimited) body on the connection.
func (c *conn) stream(w *Response, fn StreamFunc) error {
	r := &c.req
	sw := &streamWriter{c: c, chunked: r.Proto != "HTTP/1.0"}
	b := appendHead(c.wbuf, w, w.Status(), true)
	if sw.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	b = append(b, "Connection: close\r\n"...)
	b = append(b, c.srv.dateLine(time.Now())...)
	c.wbuf = append(b, "\r\n"...)
	if r.Method == http.MethodHead {
		sw.chunked = false
	}
	if err := sw.flush(); err != nil || r.Method == http.MethodHead {
		return err
	}
	err := fn(sw, sw.flush)
	if ferr := sw.finish(); err == nil {
		err = ferr
	}
	return err
}

// streamWriter frames a streamed body on an HTTP/1 connection.
type streamWriter struct {
	c       *conn
	chunked bool
	pending []byte // written by the handler, not yet framed
	err     error  // the write error that ended the stream
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.pending = append(s.pending, p...)
	return len(p), nil
}

// frame moves the pending bytes into the connection's write buffer.
func (s *streamWriter) frame() {
	if len(s.pending) == 0 {
		return
	}
	b := s.c.wbuf
	if s.chunked {
		b = strconv.AppendInt(b, int64(len(s.pending)), 16)
		b = append(b, "\r\n"...)
		b = append(b, s.pending...)
		b = append(b, "\r\n"...)
	} else {
		b = append(b, s.pending...)
	}
	s.c.wbuf = b
	s.pending = s.pending[:0]
}

// flush sends everything written so far.
func (s *streamWriter) flush() error {
	if s.err != nil {
		return s.err
	}
	s.frame()
	c := s.c
	if len(c.wbuf) == 0 {
		return nil
	}
	c.nc.SetWriteDeadline(time.Now().Add(StreamWriteTimeout))
	_, err := c.nc.Write(c.wbuf)
	c.nc.SetWriteDeadline(time.Time{})
	c.wbuf = c.wbuf[:0]
	if err != nil {
		s.err = err
	}
	return err
}

// finish sends the rest of the body and, when chunked, its last chunk.
func (s *streamWriter) finish() error {
	if s.err != nil {
		return s.err
	}
	s.frame()
	if s.chunked {
		s.c.wbuf = append(s.c.wbuf, "0\r\n\r\n"...)
	}
	return s.flush()
}

// h2Streamer streams over an HTTP/2 stream through net/http's writer.
type h2Streamer struct {
	w      http.ResponseWriter
	method string
}

func (h h2Streamer) stream(w *Response, fn StreamFunc) error {
	hdr := h.w.Header()
	for _, f := range w.header {
		if validHeaderValue(f.Value) {
			hdr.Add(f.Name, f.Value)
		}
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.w.WriteHeader(w.Status())
	rc := http.NewResponseController(h.w)
	if err := rc.Flush(); err != nil || h.method == http.MethodHead {
		return err
	}
	sw := &h2Writer{w: h.w}
	return fn(sw, func() error {
		if sw.err != nil {
			return sw.err
		}
		return rc.Flush()
	})
}

// h2Writer remembers the first write error, as the HTTP/1 writer does.
type h2Writer struct {
	w   io.Writer
	err error
}

func (h *h2Writer) Write(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	n, err := h.w.Write(p)
	h.err = err
	return n, err
}
