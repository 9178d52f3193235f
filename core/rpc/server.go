package rpc

import (
	"context"

	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Handler serves one call: method and JSON arguments in, JSON reply out.
// ctx ends when the caller goes away.
type Handler func(ctx context.Context, method string, args []byte) ([]byte, error)

// Server accepts connections on the server port and sorts them: raft
// connections go to the raft transport, RPC sessions to the handler.
type Server struct {
	// TLS, when set before Serve, lets the port accept TLS connections and
	// dial raft peers with TLS.
	TLS TLS

	ln      net.Listener
	handler Handler
	logger  hclog.Logger
	raft    *raftLayer

	mu     sync.Mutex
	conns  map[*frameConn]struct{}
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer serves ln. Handle calls once the handler is set with SetHandler.
func NewServer(ln net.Listener, advertise net.Addr, logger hclog.Logger) *Server {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, logger: logger.Named("rpc"), conns: map[*frameConn]struct{}{}, ctx: ctx, cancel: cancel}
	s.raft = &raftLayer{srv: s, addr: advertise, conns: make(chan net.Conn), closed: make(chan struct{})}
	return s
}

// SetHandler sets what serves calls; calls before it are refused.
func (s *Server) SetHandler(h Handler) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// RaftLayer is the stream layer of the raft transport.
func (s *Server) RaftLayer() raft.StreamLayer { return s.raft }

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts until Shutdown.
func (s *Server) Serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
			s.logger.Warn("accept failed", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go s.sort(c)
	}
}

// sort reads the first byte (after the TLS handshake, for a TLS
// connection) and hands the connection on.
func (s *Server) sort(c net.Conn) {
	c, kind, state, err := accept(c, s.TLS)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.logger.Warn("connection refused", "from", c.RemoteAddr(), "error", err)
		}
		c.Close()
		return
	}
	if kind == kindRaft && s.TLS != nil {
		if err := s.TLS.VerifyServer(state); err != nil {
			s.logger.Warn("raft connection refused", "from", c.RemoteAddr(), "error", err)
			c.Close()
			return
		}
	}
	if kind != kindRaft && kind != kindRPC {
		s.logger.Warn("unknown connection kind; closing", "from", c.RemoteAddr(), "byte", kind)
		c.Close()
		return
	}
	if err := confirm(c, state); err != nil {
		c.Close()
		return
	}
	switch kind {
	case kindRaft:
		select {
		case s.raft.conns <- c:
		case <-s.raft.closed:
			c.Close()
		}
	case kindRPC:
		s.serveConn(c)
	}
}

func (s *Server) call(ctx context.Context, h Handler, method string, args []byte) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("rpc handler panic", "method", method, "panic", p)
			err = errors.New("internal error")
		}
	}()
	return h(ctx, method, args)
}

// Shutdown stops accepting and ends running calls.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*frameConn, 0, len(s.conns))
	for fc := range s.conns {
		conns = append(conns, fc)
	}
	s.mu.Unlock()
	s.ln.Close()
	s.cancel()
	s.raft.Close()
	for _, fc := range conns {
		fc.close(errConnClosed)
	}
	s.wg.Wait()
}

// raftLayer hands raft the connections that asked for it, and dials others
// with the raft byte first (inside TLS when the settings ask for it).
type raftLayer struct {
	srv       *Server
	addr      net.Addr
	conns     chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, errors.New("raft layer closed")
	}
}

func (l *raftLayer) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *raftLayer) Addr() net.Addr { return l.addr }

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dial(string(addr), kindRaft, timeout, l.srv.TLS)
}
