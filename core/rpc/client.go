package rpc

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// Pool keeps one RPC connection per server address and makes calls on it.
type Pool struct {
	DialTimeout time.Duration
	// TLS, when set before the first call, dials servers with TLS if the
	// settings ask for it.
	TLS TLS

	mu     sync.Mutex
	conns  map[string]*clientConn
	closed bool
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{DialTimeout: 5 * time.Second, conns: map[string]*clientConn{}}
}

// conn returns the live connection to addr, dialing one if needed.
func (p *Pool) conn(addr string) (*clientConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("rpc pool is closed")
	}
	if cc, ok := p.conns[addr]; ok && !cc.isClosed() {
		p.mu.Unlock()
		return cc, nil
	}
	p.mu.Unlock()

	c, err := dial(addr, kindRPC, p.DialTimeout, p.TLS)
	if err != nil {
		return nil, err
	}
	cc := newClientConn(c)
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.conns[addr]; ok && !old.isClosed() {
		cc.close(errConnClosed) // lost a race with another dialer
		return old, nil
	}
	if p.closed {
		cc.close(errConnClosed)
		return nil, fmt.Errorf("rpc pool is closed")
	}
	p.conns[addr] = cc
	return cc, nil
}

// Call invokes method on the server at addr. Cancelling ctx ends the call
// on the server too.
func (p *Pool) Call(ctx context.Context, addr, method string, args, reply interface{}) error {
	if len(method) > 255 {
		return fmt.Errorf("rpc method name %q is too long", method)
	}
	var body []byte
	var err error
	if m, ok := args.(encoding.BinaryMarshaler); ok {
		body, err = m.MarshalBinary() // a hot write path's compact form
	} else {
		body, err = json.Marshal(args)
	}
	if err != nil {
		return fmt.Errorf("rpc %s: encode: %w", method, err)
	}
	if (&frame{typ: frameRequest, head: method, body: body}).size() > maxFrame {
		return fmt.Errorf("rpc %s: arguments of %d bytes exceed the %d-byte frame limit", method, len(body), maxFrame)
	}
	var f *frame
	for attempt := 0; ; attempt++ {
		cc, err := p.conn(addr)
		if err != nil {
			return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
		}
		var sent bool
		f, sent, err = cc.call(ctx, method, body)
		if err == nil {
			break
		}
		if sent || attempt == 1 {
			err = p.streamErr(ctx, method, addr, err)
			if _, write := args.(structs.Write); write && sent {
				// It may have run without answering, also when the
				// caller gave up on the answer.
				err = structs.Unknown(err)
			}
			return err
		}
		// The connection was dead before the request left: dial once more.
	}
	if f.typ == frameError {
		return DecodeError(string(f.body), f.head)
	}
	if reply == nil || len(f.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(f.body, reply); err != nil {
		return fmt.Errorf("rpc %s: decode reply: %w", method, err)
	}
	return nil
}

func (p *Pool) streamErr(ctx context.Context, method, addr string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
}

// Close drops every connection.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, cc := range p.conns {
		cc.close(errConnClosed)
		delete(p.conns, addr)
	}
}
