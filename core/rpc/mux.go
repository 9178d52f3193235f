package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The RPC connection carries many calls at once. Each frame is
//
//	length uint32 (of what follows) | call ID uint64 | type byte | payload
//
// A request's payload is the method name (one length byte, then the name)
// and the JSON arguments; a reply's is the JSON result; an error reply's is
// the error code (one length byte, then the code) and the message; a cancel
// has none. Each side writes through one buffered writer that flushes when
// nothing else is waiting, so calls under load share write system calls and
// the reader takes many frames per read.
const (
	frameRequest byte = 1
	frameReply   byte = 2
	frameError   byte = 3
	frameCancel  byte = 4
)

const frameHeader = 4 + 8 + 1

// writeTimeout bounds one flush to a peer that stopped reading.
const writeTimeout = 30 * time.Second

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

// send queues f; it fails only once the connection is closed.
func (fc *frameConn) send(f *frame) error {
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
	}
}

func (fc *frameConn) close(err error) {
	fc.once.Do(func() {
		fc.err = err
		close(fc.closed)
		fc.c.Close()
	})
}

func (fc *frameConn) writeLoop() {
	w := bufio.NewWriterSize(fc.c, 64<<10)
	var hdr [frameHeader + 1]byte
	for {
		var f *frame
		select {
		case f = <-fc.queue:
		case <-fc.closed:
			return
		}
		fc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
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
		if n < 9 || n > maxFrame {
			fc.close(fmt.Errorf("rpc frame of %d bytes is out of bounds", n))
			return
		}
		f := &frame{id: binary.BigEndian.Uint64(hdr[4:12]), typ: hdr[12]}
		body := make([]byte, n-9)
		if _, err := io.ReadFull(r, body); err != nil {
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

// clientConn is the calling side of a connection.
type clientConn struct {
	*frameConn
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *frame
}

func newClientConn(c net.Conn) *clientConn {
	cc := &clientConn{frameConn: newFrameConn(c), pending: map[uint64]chan *frame{}}
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
	cc.mu.Lock()
	ch := cc.pending[f.id]
	delete(cc.pending, f.id)
	cc.mu.Unlock()
	if ch != nil {
		ch <- f
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
	if err := cc.send(&frame{id: id, typ: frameRequest, head: method, body: args}); err != nil {
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
		cc.send(&frame{id: id, typ: frameCancel})
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
		case frameRequest:
			ctx, cancel := context.WithCancel(s.ctx)
			mu.Lock()
			running[f.id] = cancel
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				reply := s.answer(ctx, f)
				mu.Lock()
				delete(running, f.id)
				mu.Unlock()
				cancel()
				fc.send(reply)
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
		return &frame{id: f.id, typ: frameError, body: []byte("server is starting")}
	}
	body, err := s.call(ctx, h, f.head, f.body)
	if err != nil {
		msg, code := encodeError(err)
		if len(code) > 255 {
			code = ""
		}
		return &frame{id: f.id, typ: frameError, head: code, body: []byte(msg)}
	}
	return &frame{id: f.id, typ: frameReply, body: body}
}
