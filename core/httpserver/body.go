package httpserver

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// SmallBody is the largest request body taken in whole without asking
// Server.Admit first: the common small bodies cost nothing more than
// their copy.
const SmallBody = 64 << 10

// BodyPlan is Server.Admit's answer: how a request's body is taken.
type BodyPlan struct {
	// Answered means Admit wrote the response itself, a refusal: the
	// handler does not run and the body is not read.
	Answered bool
	// Limit, when above 0, bounds the body instead of MaxBodyBytes.
	Limit int64
	// Stream leaves the body for the handler to read from
	// Request.BodyReader as it arrives, instead of in memory as Body. A
	// streamed body does not count against MaxBodyMemory.
	Stream bool
}

// BodyTooLargeError is what a streamed body's reader returns once the body
// runs past its limit (a chunked body, whose length was not declared).
type BodyTooLargeError struct{ Limit int64 }

func (e *BodyTooLargeError) Error() string {
	return "request body larger than the limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// bodyBudget is what request bodies held in memory may take together.
type bodyBudget struct {
	max  int64
	used atomic.Int64
}

func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

// bodyHold is what one request's body holds of the bound on bodies in
// memory.
type bodyHold struct {
	s *Server
	n int64
}

// grow takes n bytes more of the bound for the body, or says that the
// bound would be passed.
func (h *bodyHold) grow(n int64) error {
	if !h.s.bodies.take(n) {
		return &statusError{503, fmt.Sprintf("request not applied: the request bodies this server holds "+
			"in memory are at their limit of %d MiB; retry shortly", h.s.bodies.max>>20)}
	}
	h.n += n
	return nil
}

// release gives the body's share of the bound back.
func (h *bodyHold) release() {
	if h.n == 0 {
		return
	}
	h.s.bodies.used.Add(-h.n)
	if h.s.Freed != nil {
		h.s.Freed(h.n)
	}
	h.n = 0
}

// planBody decides, before any of it is read, how the body of n bytes (-1:
// chunked, length unknown) of a request is taken: it asks Admit about a
// large one, bounds its size, and takes its share of the bound on bodies
// in memory (a body of unknown length takes it as it is read, through the
// hold). It returns false with a refusal written in w when the body is not
// to be read; otherwise the plan, with its Limit set.
func (s *Server) planBody(w *Response, r *Request, n int64, hold *bodyHold) (plan BodyPlan, ok bool) {
	hold.s = s
	if s.Admit != nil && (n < 0 || n > SmallBody) {
		plan = s.Admit(w, r)
		if plan.Answered {
			return plan, false
		}
	}
	if plan.Limit <= 0 {
		plan.Limit = int64(s.MaxBodyBytes)
	}
	if n > plan.Limit {
		w.reset()
		w.Error(fmt.Sprintf("request body of %d bytes is larger than the limit of %d", n, plan.Limit), 413)
		return plan, false
	}
	if n > 0 && !plan.Stream {
		if err := hold.grow(n); err != nil {
			w.reset()
			writeStatus(w, err.(*statusError))
			return plan, false
		}
	}
	return plan, true
}

// writeStatus writes the answer to a request that could not be served.
func writeStatus(w *Response, se *statusError) {
	if se.code == 503 {
		w.SetHeader("Retry-After", "1")
	}
	w.Error(se.msg, se.code)
}

// readHeld reads a body of unknown length up to limit, its hold growing
// with it.
func readHeld(r io.Reader, limit int64, hold *bodyHold) ([]byte, error) {
	var body []byte
	for {
		if len(body) == cap(body) {
			more := max(len(body), 32<<10)
			if err := hold.grow(int64(more)); err != nil {
				return nil, err
			}
			body = slices.Grow(body, more)
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if int64(len(body)) > limit {
			return nil, &BodyTooLargeError{Limit: limit}
		}
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Lingering on a connection whose request body is left unread: how long,
// and how much of the body is taken in (and dropped) meanwhile.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

// linger ends a connection whose request body was left unread, once the
// response is out. Closing at once would reset the connection, and a
// client still sending could lose the response with it; so this side is
// shut first and the client gets lingerTime to read the answer, while at
// most lingerBytes more of its body are taken in and dropped. Nothing
// past that is read: the connection is closed.
func (c *conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.nc != c.raw {
		cw.CloseWrite() // TLS: close_notify
	}
	cw, ok := c.raw.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	cw.CloseWrite()
	deadline := time.Now().Add(lingerTime)
	c.raw.SetReadDeadline(deadline)
	n, err := io.CopyN(io.Discard, c.raw, lingerBytes)
	if err != nil || n < lingerBytes {
		return // the client closed, or the time is up
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.srv.base.Done():
	}
}

// answerUnread sends the response to a request whose body is not read. A
// body already wholly in the buffer is skipped and the connection goes on;
// otherwise the connection ends, lingering. It reports whether the
// connection can take another request.
func (c *conn) answerUnread(r *Request, n int64) bool {
	if n >= 0 && int64(c.rd.buffered()) >= n {
		c.rd.r += int(n)
		closeAfter := wantsClose(r) || c.srv.closing.Load()
		c.writeResponse(r, closeAfter)
		return c.flush() && !closeAfter
	}
	c.writeResponse(r, true)
	if c.flush() {
		c.linger()
	}
	return false
}

// bodyReader reads a streamed request body off the connection as the
// handler asks for it. Each read waits at most HeaderTimeout for the client.
type bodyReader struct {
	c       *conn
	chunked bool
	left    int64 // of the body, or of the current chunk
	total   int64
	limit   int64
	expect  bool // a 100 Continue is owed before the first read
	started bool // a chunk is under way: its CRLF follows it
	done    bool
	err     error
	// overhead bounds the chunk lines' share, as readChunked does.
	overhead chunkOverhead
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	c := b.c
	if b.expect {
		b.expect = false
		c.wbuf = append(c.wbuf, "HTTP/1.1 100 Continue\r\n\r\n"...) // after the answers before
	}
	if !c.flush() { // answers the client may wait for before sending the rest
		b.err = errors.New("writing to the client failed")
		return 0, b.err
	}
	c.nc.SetReadDeadline(time.Now().Add(c.srv.HeaderTimeout))
	if b.chunked && b.left == 0 {
		if err := b.nextChunk(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the client ended mid-body
			}
			b.err = err
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	var n int
	var err error
	if c.rd.buffered() > 0 {
		n = copy(p, c.rd.buf[c.rd.r:c.rd.w])
		c.rd.r += n
	} else {
		n, err = c.nc.Read(p)
	}
	b.left -= int64(n)
	b.total += int64(n)
	if b.left == 0 && !b.chunked {
		b.done = true
		return n, io.EOF
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
	}
	return n, err
}

// nextChunk reads the line that opens the next chunk (after the CRLF that
// ends the one before), and the trailer after the last one.
func (b *bodyReader) nextChunk() error {
	rd := &b.c.rd
	if b.started {
		end, err := rd.readLine(2)
		if err != nil {
			return err
		}
		if end != "" {
			return badRequest("chunk not followed by CRLF")
		}
	}
	// Framed exactly as readChunked frames a body read whole.
	line, err := rd.readLine(1024)
	if err != nil {
		return err
	}
	size, err := chunkSize(line)
	if err != nil {
		return err
	}
	if size == 0 {
		var trailer trailerSection
		for { // trailer fields, checked and dropped
			t, err := rd.readLine(maxTrailerBytes)
			if err != nil {
				return err
			}
			if done, err := trailer.add(t); done || err != nil {
				b.done = err == nil
				return err
			}
		}
	}
	if size > uint64(b.limit-b.total) {
		return &BodyTooLargeError{Limit: b.limit}
	}
	if err := b.overhead.add(len(line), int(size)); err != nil {
		return err
	}
	b.left, b.started = int64(size), true
	return nil
}

// finished reports whether a streamed body was read to its end, so that
// the connection may carry another request.
func (b *bodyReader) finished() bool { return b.done && b.err == nil }

// refused reports whether the body was left unread by the handler, or
// ended for being too large or malformed: the client is still there to be
// answered, as opposed to a body cut short by a client that left.
func (b *bodyReader) refused() bool {
	var tl *BodyTooLargeError
	var se *statusError
	return b.err == nil || errors.As(b.err, &tl) || errors.As(b.err, &se)
}

// limitedBody is a streamed HTTP/2 request body, bounded.
type limitedBody struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body that ends here from a longer one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, &BodyTooLargeError{Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
