package httpserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// statusError is a malformed request: the server answers it with code and
// closes the connection.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func badRequest(format string, args ...interface{}) error {
	return &statusError{400, fmt.Sprintf(format, args...)}
}

// reader is a connection's read buffer. Only one goroutine uses it at a
// time: the connection loop, or the client watcher while a handler runs.
type reader struct {
	c    net.Conn
	buf  []byte
	r, w int
}

func (b *reader) buffered() int { return b.w - b.r }

// fill reads more bytes after compacting; it fails with errHeadTooLarge when
// the buffer cannot grow past max.
func (b *reader) fill(max int) error {
	if b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	if b.w == len(b.buf) {
		if len(b.buf) >= max {
			return errHeadTooLarge
		}
		nb := make([]byte, min(2*len(b.buf), max))
		copy(nb, b.buf[:b.w])
		b.buf = nb
	}
	for i := 0; i < 100; i++ {
		n, err := b.c.Read(b.buf[b.w:])
		b.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

var errHeadTooLarge = &statusError{431, "request header fields too large"}

// readHead returns the request line and header fields as one string (the
// only copy made of them), skipping blank lines before the request line.
func (b *reader) readHead(max int, firstByte, partial func()) (string, error) {
	for {
		for b.r < b.w && (b.buf[b.r] == '\r' || b.buf[b.r] == '\n') {
			b.r++
		}
		if b.r < b.w {
			break
		}
		if err := b.fill(max); err != nil {
			return "", err
		}
	}
	firstByte()
	searched := 0
	for {
		data := b.buf[b.r:b.w]
		if i := headEnd(data, searched); i >= 0 {
			head := string(data[:i])
			b.r += i
			return head, nil
		}
		searched = max0(len(data) - 3)
		if partial != nil {
			partial()
			partial = nil
		}
		if err := b.fill(max); err != nil {
			if err == io.EOF {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
}

// headBuffered reports whether a whole request head is buffered, after
// any blank lines.
func (b *reader) headBuffered() bool {
	data := b.buf[b.r:b.w]
	for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
		data = data[1:]
	}
	return headEnd(data, 0) >= 0
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// headEnd finds the blank line ending a head: the index just past it, or -1.
func headEnd(data []byte, from int) int {
	for i := from; i < len(data); i++ {
		if data[i] != '\n' {
			continue
		}
		if i+1 < len(data) && data[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(data) && data[i+1] == '\r' && data[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// readBody reads exactly n body bytes into a new slice, its hold on the
// bound on bodies in memory already taken.
func (b *reader) readBody(n int) ([]byte, error) {
	return b.appendBody(nil, n, n, nil)
}

// appendBody reads n body bytes from the connection straight onto the end
// of body. Its capacity grows as the bytes arrive: at least doubled, so
// that many small chunks are not copied over and over, yet never past
// limit and never more than SmallBody ahead of the bytes in, so that a client
// that declares more than it sends does not make the server hold what it
// declared. hold, when not nil, takes each byte of capacity before it is
// allocated.
func (b *reader) appendBody(body []byte, n, limit int, hold *bodyHold) ([]byte, error) {
	end := len(body) + n
	for len(body) < end {
		if len(body) == cap(body) {
			want := len(body) + min(end-len(body), max(SmallBody, b.buffered()))
			size := min(max(want, 2*cap(body)), limit)
			if hold != nil {
				if err := hold.grow(int64(size - cap(body))); err != nil {
					return nil, err
				}
			}
			grown := make([]byte, len(body), size)
			copy(grown, body)
			body = grown
		}
		if b.buffered() > 0 {
			m := copy(body[len(body):min(end, cap(body))], b.buf[b.r:b.w])
			b.r += m
			body = body[:len(body)+m]
			continue
		}
		m, err := b.c.Read(body[len(body):min(end, cap(body))])
		body = body[:len(body)+m]
		if err != nil && len(body) < end {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return body, nil
}

// readLine returns one CRLF-terminated line (without the CRLF), copied,
// for the chunked body decoder. Unlike the head, a chunked body has no
// bare LF line ends (RFC 9112, 7.1), nor CRs but the one before the LF.
func (b *reader) readLine(max int) (string, error) {
	for {
		if i := bytes.IndexByte(b.buf[b.r:b.w], '\n'); i >= 0 {
			line := b.buf[b.r : b.r+i]
			b.r += i + 1
			if len(line) == 0 || bytes.IndexByte(line, '\r') != len(line)-1 {
				return "", badRequest("chunked body line not ended by CRLF")
			}
			return string(line[:len(line)-1]), nil
		}
		if b.buffered() >= max {
			return "", badRequest("line too long in chunked body")
		}
		if err := b.fill(max + 2); err != nil {
			return "", err
		}
	}
}

// readChunked decodes a chunked body of at most limit bytes, its hold on
// the bound on bodies in memory growing with the memory it takes.
func (b *reader) readChunked(limit int, hold *bodyHold) ([]byte, error) {
	var body []byte
	var overhead chunkOverhead
	for {
		line, err := b.readLine(1024)
		if err != nil {
			return nil, err
		}
		size, err := chunkSize(line)
		if err != nil {
			return nil, err
		}
		if size == 0 {
			var trailer trailerSection
			for { // trailer fields, checked and dropped
				t, err := b.readLine(maxTrailerBytes)
				if err != nil {
					return nil, err
				}
				if done, err := trailer.add(t); done || err != nil {
					return body, err
				}
			}
		}
		if size > uint64(limit-len(body)) {
			return nil, &statusError{413, fmt.Sprintf("request body larger than %d bytes", limit)}
		}
		if err := overhead.add(len(line), int(size)); err != nil {
			return nil, err
		}
		if body, err = b.appendBody(body, int(size), limit, hold); err != nil {
			return nil, err
		}
		end, err := b.readLine(2)
		if err != nil {
			return nil, err
		}
		if end != "" {
			return nil, badRequest("chunk not followed by CRLF")
		}
	}
}

// parseHead fills a request from its head. It never panics on any input.
func parseHead(head string, r *Request) error {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, rest1, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 || method == "" || target == "" {
		return badRequest("malformed request line %q", clip(line))
	}
	if hasCTL(target, false) {
		return badRequest("control character in request target %q", clip(target))
	}
	if !validToken(method) {
		return badRequest("invalid method %q", clip(method))
	}
	switch proto {
	case "HTTP/1.1", "HTTP/1.0":
	default:
		return &statusError{505, fmt.Sprintf("unsupported protocol %q", clip(proto))}
	}
	r.Method = internMethod(method)
	r.Proto = proto
	if err := parseTarget(target, r); err != nil {
		return err
	}
	r.Header = r.Header[:0]
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return badRequest("obsolete header line folding")
		}
		f, err := parseField(l)
		if err != nil {
			return err
		}
		if len(r.Header) >= 256 {
			return &statusError{431, "too many header fields"}
		}
		r.Header = append(r.Header, f)
	}
	return checkHead(r)
}

// parseField splits a header (or trailer) line into a field.
func parseField(l string) (Field, error) {
	name, value, ok := strings.Cut(l, ":")
	if !ok || !validToken(name) {
		return Field{}, badRequest("malformed header line %q", clip(l))
	}
	value = strings.Trim(value, " \t")
	if hasCTL(value, true) {
		return Field{}, badRequest("control character in the value of header field %q", clip(name))
	}
	return Field{Name: name, Value: value}, nil
}

// parseTarget splits the request-target into path and query.
func parseTarget(target string, r *Request) error {
	switch {
	case target == "*":
		r.RawPath, r.Path, r.RawQuery = "*", "*", ""
		return nil
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		// absolute-form: its authority is the Host (RFC 9112, 3.2.2);
		// keep the path.
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return badRequest("invalid request target %q", clip(target))
		}
		r.Host = u.Host
		_, after, _ := strings.Cut(target, "://")
		i := strings.IndexAny(after, "/?")
		if i < 0 {
			target = "/"
		} else {
			target = after[i:]
			if target[0] == '?' {
				target = "/" + target
			}
		}
	case target[0] != '/':
		return badRequest("invalid request target %q", clip(target))
	}
	raw, query, _ := strings.Cut(target, "?")
	if strings.IndexByte(raw, '#') >= 0 {
		return badRequest("fragment in request target")
	}
	path := raw
	if strings.IndexByte(raw, '%') >= 0 {
		p, err := url.PathUnescape(raw)
		if err != nil {
			return badRequest("invalid escape in path %q", clip(raw))
		}
		path = p
	}
	r.RawPath, r.Path, r.RawQuery = raw, path, query
	r.query = nil
	return nil
}

func internMethod(m string) string {
	switch m {
	case "GET":
		return "GET"
	case "PUT":
		return "PUT"
	case "POST":
		return "POST"
	case "DELETE":
		return "DELETE"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	}
	return m
}

// validToken reports whether s is an RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// bodyLength reads the framing headers: the Content-Length, or -1 for a
// chunked body. It is as strict as net/http, so that a proxy in front
// and the server cannot disagree on where a body ends: one
// Transfer-Encoding field, exactly "chunked"; never with a
// Content-Length; Content-Length fields all alike and plain digits.
func bodyLength(h Header) (int64, error) {
	cl := ""
	seenCL := false
	chunked := false
	for _, f := range h {
		switch {
		case equalFold(f.Name, "Content-Length"):
			if seenCL && f.Value != cl {
				return 0, badRequest("conflicting Content-Length headers")
			}
			cl, seenCL = f.Value, true
		case equalFold(f.Name, "Transfer-Encoding"):
			if chunked {
				return 0, &statusError{501, "more than one Transfer-Encoding field"}
			}
			if !equalFold(f.Value, "chunked") {
				return 0, &statusError{501, fmt.Sprintf("unsupported Transfer-Encoding %q", clip(f.Value))}
			}
			chunked = true
		}
	}
	if chunked && seenCL {
		return 0, badRequest("both Content-Length and Transfer-Encoding")
	}
	if chunked {
		return -1, checkTrailerNames(h)
	}
	if !seenCL {
		return 0, nil
	}
	n, err := strconv.ParseUint(cl, 10, 63)
	if err != nil { // no sign, no spaces, no underscores
		return 0, badRequest("invalid Content-Length %q", clip(cl))
	}
	return int64(n), nil
}

// wantsClose reports whether the connection ends after this request: the
// close option in any Connection field, or HTTP/1.0 without keep-alive.
func wantsClose(r *Request) bool {
	if hasToken(r.Header, "Connection", "close") {
		return true
	}
	return r.Proto == "HTTP/1.0" && !hasToken(r.Header, "Connection", "keep-alive")
}

var errClientGone = errors.New("client closed the connection")
