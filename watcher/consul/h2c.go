package consul

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cTransport speaks HTTP/2 with prior knowledge over one connection,
// made for thousands of parked GETs. net/http's HTTP/2 client spends two
// goroutines on every request in flight; here a request in flight is a map
// entry and a channel, and one goroutine per connection reads every
// stream's frames. Responses are read whole into memory (API answers are
// small). Only GET without a body is supported: it is all the client sends.
type h2cTransport struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	conn *h2Conn
}

// Settings the client announces. Each stream may receive 1 MiB before its
// window is replenished; the connection window is opened to 1 GiB at once.
const (
	h2StreamWindow = 1 << 20
	h2ConnWindow   = 1 << 30
	h2MaxFrame     = 1 << 20
	h2PingEvery    = 30 * time.Second
	h2PingTimeout  = 10 * time.Second
)

// errConnGone is wrapped by the error of a request whose connection died.
var errConnGone = errors.New("http2 connection closed")

// errGoingAway is returned for a stream that could not be opened because
// the server announced it closes the connection: it is sent again on a new
// one.
var errGoingAway = errors.New("http2 connection going away")

func (t *h2cTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	t.RoundTripAsync(req, func(resp *http.Response, err error) { ch <- result{resp, err} })
	r := <-ch
	return r.resp, r.err
}

// RoundTripAsync sends req and calls done on a new goroutine with the
// whole response, or the error that ended the request (its context's
// included). No goroutine waits meanwhile.
func (t *h2cTransport) RoundTripAsync(req *http.Request, done func(*http.Response, error)) {
	if req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody {
		go done(nil, fmt.Errorf("h2c: only GET without a body is supported, not %s", req.Method))
		return
	}
	t.send(req, done, 0)
}

func (t *h2cTransport) send(req *http.Request, done func(*http.Response, error), attempt int) {
	if err := req.Context().Err(); err != nil {
		// As net/http: a request whose context has ended is not sent.
		go done(nil, err)
		return
	}
	c, err := t.getConn(req.Context(), req.URL.Host)
	if err != nil {
		go done(nil, err)
		return
	}
	st := &h2Stream{req: req, done: done}
	// A cancelled request resets its stream and answers with the
	// context's error. Set before the stream is visible to the reader;
	// with a context already cancelled, the function may run (and
	// complete the stream) before AfterFunc returns.
	stop := context.AfterFunc(req.Context(), func() {
		c.cancel(st)
		st.complete(req.Context().Err())
	})
	st.setStop(stop)
	if err := c.open(req.Context(), st); err != nil {
		if !stop() {
			return // the context ended first and answered
		}
		if errors.Is(err, errGoingAway) && attempt < 3 {
			t.send(req, done, attempt+1)
			return
		}
		st.fired.Store(true)
		go done(nil, err)
	}
}

// CloseIdleConnections closes the connection.
func (t *h2cTransport) CloseIdleConnections() {
	t.mu.Lock()
	c := t.conn
	t.conn = nil
	t.mu.Unlock()
	if c != nil {
		c.close(fmt.Errorf("%w by the client", errConnGone))
	}
}

func (t *h2cTransport) getConn(ctx context.Context, host string) (*h2Conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil && t.conn.usable() {
		return t.conn, nil
	}
	c, err := dialH2(ctx, t.dial, host)
	if err != nil {
		return nil, err
	}
	t.conn = c
	return c, nil
}

// h2Conn is one client connection.
type h2Conn struct {
	nc net.Conn

	wmu  sync.Mutex // writes: framer, encoder, buffer
	bw   *bufio.Writer
	fr   *http2.Framer
	henc *hpack.Encoder
	hbuf bytes.Buffer

	mu        sync.Mutex
	streams   map[uint32]*h2Stream
	nextID    uint32
	max       uint32        // the server's MAX_CONCURRENT_STREAMS
	slot      chan struct{} // signalled when a stream ends
	goingAway bool
	err       error
	done      chan struct{}

	lastRead atomic.Int64 // unix nanoseconds
	pong     chan struct{}
}

// h2Stream is one request in flight. The reader goroutine fills it in;
// complete hands it to its callback exactly once.
type h2Stream struct {
	id     uint32
	req    *http.Request
	status int
	header http.Header
	body   bytes.Buffer
	done   func(*http.Response, error)
	fired  atomic.Bool

	stopMu  sync.Mutex
	stopCtx func() bool // ends the watch on the request's context
}

func (st *h2Stream) setStop(stop func() bool) {
	st.stopMu.Lock()
	st.stopCtx = stop
	st.stopMu.Unlock()
}

// complete calls the stream's callback with its response or err, once.
func (st *h2Stream) complete(err error) {
	if !st.fired.CompareAndSwap(false, true) {
		return
	}
	st.stopMu.Lock()
	stop := st.stopCtx
	st.stopMu.Unlock()
	if stop != nil {
		stop()
	}
	if err != nil {
		go st.done(nil, err)
		return
	}
	resp := &http.Response{
		Status: strconv.Itoa(st.status) + " " + http.StatusText(st.status), StatusCode: st.status,
		Proto: "HTTP/2.0", ProtoMajor: 2, Header: st.header,
		Body: io.NopCloser(bytes.NewReader(st.body.Bytes())), ContentLength: int64(st.body.Len()), Request: st.req,
	}
	go st.done(resp, nil)
}

// dialH2 connects, exchanges the preface and SETTINGS, and starts the
// reader. A server that does not speak HTTP/2 fails here.
func dialH2(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), host string) (*h2Conn, error) {
	nc, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c := &h2Conn{
		nc: nc, bw: bufio.NewWriterSize(nc, 16<<10), streams: map[uint32]*h2Stream{}, nextID: 1,
		max: 100, slot: make(chan struct{}, 1), done: make(chan struct{}), pong: make(chan struct{}, 1),
	}
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, 16<<10))
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)

	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	} else {
		nc.SetDeadline(time.Now().Add(probeTimeout))
	}
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2c handshake: %w", err)
	}
	nc.SetDeadline(time.Time{})
	c.lastRead.Store(time.Now().UnixNano())
	go c.readLoop()
	go c.pingLoop()
	return c, nil
}

func (c *h2Conn) handshake() error {
	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2MaxFrame},
	)
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		return err
	}
	// The server's first frame must be its SETTINGS.
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("the server sent %v first, not SETTINGS", f.Header().Type)
	}
	return c.applySettings(sf)
}

func (c *h2Conn) applySettings(sf *http2.SettingsFrame) error {
	if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); ok {
		c.mu.Lock()
		c.max = v
		c.mu.Unlock()
		c.signalSlot()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.fr.WriteSettingsAck(); err != nil {
		return err
	}
	return c.bw.Flush()
}

func (c *h2Conn) usable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil && !c.goingAway && c.nextID < 1<<31-2
}

func (c *h2Conn) signalSlot() {
	select {
	case c.slot <- struct{}{}:
	default:
	}
}

// open waits for a free stream slot, then registers st and sends its
// HEADERS frame.
func (c *h2Conn) open(ctx context.Context, st *h2Stream) error {
	for {
		// Stream IDs must reach the wire in increasing order: the ID is
		// taken under the write lock, which is always taken first.
		c.wmu.Lock()
		c.mu.Lock()
		if c.err != nil || c.goingAway {
			err := c.err
			if c.goingAway {
				err = errGoingAway
			}
			c.mu.Unlock()
			c.wmu.Unlock()
			return err
		}
		if uint32(len(c.streams)) < c.max {
			st.id = c.nextID
			c.nextID += 2
			c.streams[st.id] = st
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		c.wmu.Unlock()
		select {
		case <-c.slot:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := c.writeHeaders(st.id, st.req)
	c.wmu.Unlock()
	if err != nil {
		c.close(fmt.Errorf("%w: %v", errConnGone, err))
		return err
	}
	return nil
}

func (c *h2Conn) writeHeaders(id uint32, req *http.Request) error {
	c.hbuf.Reset()
	path := req.URL.RequestURI()
	enc := func(k, v string) { c.henc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	enc(":method", "GET")
	enc(":scheme", "http")
	enc(":authority", req.URL.Host)
	enc(":path", path)
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		for _, v := range vs {
			c.henc.WriteField(hpack.HeaderField{Name: lk, Value: v, Sensitive: lk == "x-consul-token" || lk == "authorization"})
		}
	}
	if c.hbuf.Len() > 16384 {
		return fmt.Errorf("request headers of %d bytes are too large", c.hbuf.Len())
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true,
	}); err != nil {
		return err
	}
	return c.bw.Flush()
}

// cancel abandons a stream the caller no longer waits for.
func (c *h2Conn) cancel(st *h2Stream) {
	c.mu.Lock()
	id := st.id
	mine := id != 0 && c.streams[id] == st
	c.mu.Unlock()
	if !mine || c.remove(id) == nil {
		return
	}
	c.wmu.Lock()
	c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	c.bw.Flush()
	c.wmu.Unlock()
}

func (c *h2Conn) remove(id uint32) *h2Stream {
	c.mu.Lock()
	st := c.streams[id]
	delete(c.streams, id)
	drained := c.goingAway && len(c.streams) == 0
	c.mu.Unlock()
	if st != nil {
		c.signalSlot()
	}
	if drained {
		go c.close(fmt.Errorf("%w after the server's GOAWAY", errConnGone))
	}
	return st
}

func (c *h2Conn) stream(id uint32) *h2Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

func (c *h2Conn) finish(id uint32, err error) {
	if st := c.remove(id); st != nil {
		st.complete(err)
	}
}
