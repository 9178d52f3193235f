package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Pool keeps one RPC session per server address and makes calls on it.
type Pool struct {
	DialTimeout time.Duration
	// TLS, when set before the first call, dials servers with TLS if the
	// settings ask for it.
	TLS TLS

	mu       sync.Mutex
	sessions map[string]*yamux.Session
	closed   bool
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{DialTimeout: 5 * time.Second, sessions: map[string]*yamux.Session{}}
}

// session returns the live session to addr, dialing one if needed.
func (p *Pool) session(addr string) (*yamux.Session, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("rpc pool is closed")
	}
	if s, ok := p.sessions[addr]; ok && !s.IsClosed() {
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()

	c, err := dial(addr, kindRPC, p.DialTimeout, p.TLS)
	if err != nil {
		return nil, err
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.MaxStreamWindowSize = 1 << 20
	s, err := yamux.Client(c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.sessions[addr]; ok && !old.IsClosed() {
		s.Close() // lost a race with another dialer
		return old, nil
	}
	p.sessions[addr] = s
	return s, nil
}

// Call invokes method on the server at addr. Cancelling ctx closes the
// stream, which ends the call on the server too.
func (p *Pool) Call(ctx context.Context, addr, method string, args, reply interface{}) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("rpc %s: encode: %w", method, err)
	}
	var st *yamux.Stream
	for attempt := 0; ; attempt++ {
		s, err := p.session(addr)
		if err != nil {
			return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
		}
		st, err = s.OpenStream()
		if err == nil {
			break
		}
		s.Close() // a dead session: drop it and dial once more
		if attempt == 1 {
			return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			st.Close()
		case <-done:
		}
	}()
	defer st.Close()
	if err := writeFrame(st, &request{Method: method, Body: body}); err != nil {
		return p.streamErr(ctx, method, addr, err)
	}
	var resp response
	if err := readFrame(st, &resp); err != nil {
		return p.streamErr(ctx, method, addr, err)
	}
	if ctx.Err() != nil {
		return ctx.Err() // the answer to an abandoned call
	}
	if resp.Error != "" {
		return decodeError(resp.Error, resp.Code)
	}
	if reply == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, reply); err != nil {
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

// Close drops every session.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, s := range p.sessions {
		s.Close()
		delete(p.sessions, addr)
	}
}
