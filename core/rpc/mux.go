package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// The RPC connection carries many calls at once. Each frame is
//
//	length uint32 (of what follows) | call ID uint64 | type byte | payload
//
// A request's payload is the method name (one length byte, then the name)
// and the JSON arguments; a reply's is the JSON result; an error reply's is
// the error code (one length byte, then the code) and the message; a cancel
// has none, nor have a ping and its pong. Each side writes through one
// buffered writer that flushes when nothing else is waiting, so calls under
// load share write system calls and the reader takes many frames per read.
const (
	frameRequest byte = 1
	frameReply   byte = 2
	frameError   byte = 3
	frameCancel  byte = 4
	framePing    byte = 5
	framePong    byte = 6
)

const frameHeader = 4 + 8 + 1

// writeTimeout bounds one write to a peer that stopped reading.
const writeTimeout = 30 * time.Second

// While calls wait on a connection that has been silent for pingInterval,
// the caller pings the server; a server that answers nothing for
// pingTimeout after a ping is taken for gone (a host that vanished without
// closing its connections), and the calls fail so they can be retried.
var (
	pingInterval = 10 * time.Second
	pingTimeout  = 20 * time.Second
)

// errConnClosed reports a call whose connection went away under it.
var errConnClosed = errors.New("connection closed")

type frame struct {
	id   uint64
	typ  byte
	head string // method name or error code
	body []byte
}

func (f *frame) size() int {
	n := 8 + 1 + len(f.body)
	if f.typ == frameRequest || f.typ == frameError {
		n += 1 + len(f.head)
	}
	return n
}

// frameConn is one multiplexed connection: a writer goroutine draining a
// queue of frames, and a reader delivering frames to a callback.
type frameConn struct {
	c      net.Conn
	queue  chan *frame
	closed chan struct{}
	once   sync.Once
	err    error // why it closed; set before closed is closed
}

func newFrameConn(c net.Conn) *frameConn {
	fc := &frameConn{c: c, queue: make(chan *frame, 256), closed: make(chan struct{})}
	go fc.writeLoop()
	return fc
}

// send queues f; it fails once the connection is closed or ctx ends.
func (fc *frameConn) send(ctx context.Context, f *frame) error {
	select {
	case <-fc.closed:
		return fc.err
	default:
	}
	select {
	case fc.queue <- f:
		return nil
	case <-fc.closed:
		return fc.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post queues f without waiting for room: if the queue is full, a
// goroutine waits for it (or for the connection to close).
func (fc *frameConn) post(f *frame) {
	select {
	case fc.queue <- f:
	default:
		go fc.send(context.Background(), f)
	}
}

// deadlineWriter gives every write to the connection its own deadline, so
// a long stream of writes to a peer that keeps reading never times out,
// and one to a peer that stopped does.
type deadlineWriter struct{ c net.Conn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.c.Write(p)
}

func (fc *frameConn) close(err error) {
	fc.once.Do(func() {
		fc.err = err
		close(fc.closed)
		fc.c.Close()
	})
}

func (fc *frameConn) writeLoop() {
	w := bufio.NewWriterSize(deadlineWriter{fc.c}, 64<<10)
	var hdr [frameHeader + 1]byte
	for {
		var f *frame
		select {
		case f = <-fc.queue:
		case <-fc.closed:
			return
		}
		for f != nil {
			binary.BigEndian.PutUint32(hdr[0:4], uint32(f.size()))
			binary.BigEndian.PutUint64(hdr[4:12], f.id)
			hdr[12] = f.typ
			n := frameHeader
			if f.typ == frameRequest || f.typ == frameError {
				hdr[13] = byte(len(f.head))
				n++
			}
			w.Write(hdr[:n])
			w.WriteString(f.head)
			if _, err := w.Write(f.body); err != nil {
				fc.close(err)
				return
			}
			select {
			case f = <-fc.queue:
			default:
				f = nil
			}
		}
		if err := w.Flush(); err != nil {
			fc.close(err)
			return
		}
	}
}

// readLoop hands every frame to deliver until the connection fails.
func (fc *frameConn) readLoop(deliver func(*frame)) {
	r := bufio.NewReaderSize(fc.c, 64<<10)
	var hdr [frameHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			fc.close(errConnClosed)
			return
		}
		n := binary.BigEndian.Uint32(hdr[0:4])
		if n < 9 || int64(n) > int64(maxFrame) {
			fc.close(fmt.Errorf("rpc frame of %d bytes is out of bounds", n))
			return
		}
		f := &frame{id: binary.BigEndian.Uint64(hdr[4:12]), typ: hdr[12]}
		body, err := readBody(r, int(n-9))
		if err != nil {
			fc.close(errConnClosed)
			return
		}
		if f.typ == frameRequest || f.typ == frameError {
			if len(body) < 1 || int(body[0]) > len(body)-1 {
				fc.close(fmt.Errorf("malformed rpc frame"))
				return
			}
			f.head, body = string(body[1:1+body[0]]), body[1+body[0]:]
		}
		f.body = body
		deliver(f)
	}
}

// readBody reads n bytes, growing the buffer as they arrive rather than
// trusting the announced length with one allocation up front.
func readBody(r io.Reader, n int) ([]byte, error) {
	const step = 64 << 10
	body := make([]byte, 0, min(n, step))
	for len(body) < n {
		if len(body) == cap(body) {
			body = slices.Grow(body, min(n-len(body), cap(body)))
		}
		end := min(cap(body), n)
		if _, err := io.ReadFull(r, body[len(body):end]); err != nil {
			return nil, err
		}
		body = body[:end]
	}
	return body, nil
}

// clientConn is the calling side of a connection.
type clientConn struct {
	*frameConn
	mu       sync.Mutex
	next     uint64
	pending  map[uint64]chan *frame
	lastRecv atomic.Int64 // unix nanoseconds of the last frame read
}

func newClientConn(c net.Conn) *clientConn {
	cc := &clientConn{frameConn: newFrameConn(c), pending: map[uint64]chan *frame{}}
	cc.lastRecv.Store(time.Now().UnixNano())
	go cc.keepalive(pingInterval, pingTimeout)
	go func() {
		cc.readLoop(cc.deliver)
		cc.mu.Lock()
		for id, ch := range cc.pending {
			close(ch)
			delete(cc.pending, id)
		}
		cc.mu.Unlock()
	}()
	return cc
}

func (cc *clientConn) deliver(f *frame) {
	cc.lastRecv.Store(time.Now().UnixNano())
	if f.typ == framePong {
		return // its arrival is all it says
	}
	cc.mu.Lock()
	ch := cc.pending[f.id]
	delete(cc.pending, f.id)
	cc.mu.Unlock()
	if ch != nil {
		ch <- f
	}
}

// keepalive pings a silent server while calls wait on it, and closes the
// connection when a ping goes unanswered.
func (cc *clientConn) keepalive(pingInterval, pingTimeout time.Duration) {
	t := time.NewTicker(pingInterval / 2)
	defer t.Stop()
	var pingedAt int64 // of the ping not yet answered, or 0
	for {
		select {
		case <-cc.closed:
			return
		case <-t.C:
		}
		cc.mu.Lock()
		waiting := len(cc.pending)
		cc.mu.Unlock()
		now := time.Now().UnixNano()
		last := cc.lastRecv.Load()
		if pingedAt != 0 && last >= pingedAt {
			pingedAt = 0 // answered
		}
		switch {
		case waiting == 0:
			pingedAt = 0
		case pingedAt != 0:
			if time.Duration(now-pingedAt) >= pingTimeout {
				cc.close(fmt.Errorf("server %s answered nothing for %s", cc.c.RemoteAddr(), time.Duration(now-last).Round(time.Second)))
				return
			}
		case time.Duration(now-last) >= pingInterval:
			pingedAt = now
			cc.post(&frame{typ: framePing})
		}
	}
}

func (cc *clientConn) isClosed() bool {
	select {
	case <-cc.closed:
		return true
	default:
		return false
	}
}

// call sends a request and waits for its reply. sent reports whether the
// request was handed to the connection (a call that was not may be retried
// on another one). Cancelling ctx tells the server to stop the call.
func (cc *clientConn) call(ctx context.Context, method string, args []byte) (reply *frame, sent bool, err error) {
	ch := make(chan *frame, 1)
	cc.mu.Lock()
	if cc.isClosed() {
		cc.mu.Unlock()
		return nil, false, cc.err
	}
	cc.next++
	id := cc.next
	cc.pending[id] = ch
	cc.mu.Unlock()
	if err := cc.send(ctx, &frame{id: id, typ: frameRequest, head: method, body: args}); err != nil {
		cc.mu.Lock()
		delete(cc.pending, id)
		cc.mu.Unlock()
		return nil, false, err
	}
	select {
	case f, ok := <-ch:
		if !ok {
			return nil, true, cc.err
		}
		return f, true, nil
	case <-ctx.Done():
		cc.mu.Lock()
		delete(cc.pending, id)
		cc.mu.Unlock()
		cc.post(&frame{id: id, typ: frameCancel})
		return nil, true, ctx.Err()
	}
}

// serveConn answers the calls arriving on one connection, each in its own
// goroutine, until the connection or the server closes.
func (s *Server) serveConn(c net.Conn) {
	fc := newFrameConn(c)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		fc.close(errConnClosed)
		return
	}
	s.conns[fc] = struct{}{}
	s.mu.Unlock()
	var mu sync.Mutex
	running := map[uint64]context.CancelFunc{}
	fc.readLoop(func(f *frame) {
		switch f.typ {
		case frameCancel:
			mu.Lock()
			cancel := running[f.id]
			mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case framePing:
			fc.post(&frame{id: f.id, typ: framePong})
		case frameRequest:
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return
			}
			s.wg.Add(1) // under s.mu, so never after Shutdown's Wait began
			s.mu.Unlock()
			ctx, cancel := context.WithCancel(s.ctx)
			mu.Lock()
			running[f.id] = cancel
			mu.Unlock()
			go func() {
				defer s.wg.Done()
				reply := s.answer(ctx, f)
				mu.Lock()
				delete(running, f.id)
				mu.Unlock()
				cancel()
				fc.send(context.Background(), reply)
			}()
		}
	})
	mu.Lock()
	for _, cancel := range running {
		cancel()
	}
	mu.Unlock()
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
}

// answer runs one request through the handler.
func (s *Server) answer(ctx context.Context, f *frame) *frame {
	s.mu.Lock()
	h := s.handler
	s.mu.Unlock()
	if h == nil {
		// Nothing was run: the answer says so as "not applied" does.
		msg, code := EncodeError(fmt.Errorf("%w: the server is still starting", structs.ErrNoLeader))
		return &frame{id: f.id, typ: frameError, head: code, body: []byte(msg)}
	}
	body, err := s.call(ctx, h, f.head, f.body)
	if err != nil {
		msg, code := EncodeError(err)
		if len(code) > 255 {
			code = ""
		}
		return &frame{id: f.id, typ: frameError, head: code, body: []byte(msg)}
	}
	reply := &frame{id: f.id, typ: frameReply, body: body}
	if reply.size() > maxFrame {
		return &frame{id: f.id, typ: frameError, body: []byte(fmt.Sprintf("rpc %s: reply of %d bytes exceeds the %d-byte frame limit", f.head, len(body), maxFrame))}
	}
	return reply
}
