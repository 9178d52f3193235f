package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Server serves HTTP/1.1 on listeners.
type Server struct {
	Handler Handler
	// MaxConnsPerClient caps concurrent connections from one IP; 0 is no
	// cap. A connection over the cap is answered 429 and closed.
	MaxConnsPerClient int
	// MaxHeaderBytes bounds the request line and headers (default 1 MiB).
	MaxHeaderBytes int
	// MaxBodyBytes bounds request bodies (default 8 MiB); larger ones get
	// 413.
	MaxBodyBytes int
	// MaxBodyMemory bounds what the bodies of the requests being served
	// take in memory together (default 64 MiB, and at least four bodies of
	// MaxBodyBytes). A request whose body would pass it is answered 503,
	// its body unread.
	MaxBodyMemory int64
	// Admit, when set, sees the head of each request whose body is larger
	// than SmallBody (or of unknown length) before any of the body is read.
	// It may refuse the request by writing the response (the body is then
	// not read: the connection is closed unless the body is already in),
	// or allow it a larger body, or have the body streamed to the handler.
	Admit func(w *Response, r *Request) BodyPlan
	// Freed, when set, is told of the bytes of each body held in memory
	// once its request is done with it.
	Freed func(n int64)
	// IdleTimeout closes a keep-alive connection with no request for this
	// long (default 90s); HeaderTimeout bounds reading one request once it
	// has started (default 30s).
	IdleTimeout   time.Duration
	HeaderTimeout time.Duration
	// HandshakeTimeout bounds a TLS handshake on ServeTLS listeners
	// (default 5s).
	HandshakeTimeout time.Duration
	Logger           hclog.Logger

	initOnce  sync.Once
	base      context.Context
	cancel    context.CancelFunc
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perIP     map[string]int
	closing   atomic.Bool
	date      atomic.Pointer[dateCache]
	bodies    bodyBudget
}

type dateCache struct {
	sec  int64
	line string
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.MaxHeaderBytes <= 0 {
			s.MaxHeaderBytes = 1 << 20
		}
		if s.MaxBodyBytes <= 0 {
			s.MaxBodyBytes = 8 << 20
		}
		if s.MaxBodyMemory <= 0 {
			s.MaxBodyMemory = max(64<<20, 4*int64(s.MaxBodyBytes))
		}
		s.bodies.max = s.MaxBodyMemory
		if s.IdleTimeout <= 0 {
			s.IdleTimeout = 90 * time.Second
		}
		if s.HeaderTimeout <= 0 {
			s.HeaderTimeout = 30 * time.Second
		}
		if s.HandshakeTimeout <= 0 {
			s.HandshakeTimeout = 5 * time.Second
		}
		if s.Logger == nil {
			s.Logger = hclog.NewNullLogger()
		}
		s.base, s.cancel = context.WithCancel(context.Background())
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.perIP = map[string]int{}
	})
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("httpserver: server closed")

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, nil) }

// ServeTLS accepts TLS connections on l until Shutdown. When the client
// and cfg agree on "h2" by ALPN, the connection speaks HTTP/2.
func (s *Server) ServeTLS(l net.Listener, cfg *tls.Config) error { return s.serve(l, cfg) }

func (s *Server) serve(l net.Listener, tlsCfg *tls.Config) error {
	s.init()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Logger.Warn("accept failed; retrying", "error", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		ip := remoteIP(nc)
		if !s.admit(ip) {
			if tlsCfg != nil {
				nc.Close() // too early for an HTTP answer
			} else {
				go refuse(nc)
			}
			continue
		}
		c := &conn{srv: s, nc: nc, raw: nc, ip: ip}
		if tlsCfg != nil {
			c.nc = tls.Server(nc, tlsCfg) // the handshake runs in c.serve
		}
		c.rd = reader{c: c.nc, buf: make([]byte, 4096)}
		c.resp.streamer = c
		if !s.track(c) {
			nc.Close()
			s.release(ip)
			continue
		}
		go c.serve()
	}
}

func isTemporary(err error) bool {
	// EMFILE and friends: wait instead of dying.
	var se interface{ Temporary() bool }
	return errors.As(err, &se) && se.Temporary()
}

func (s *Server) admit(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.MaxConnsPerClient > 0 && s.perIP[ip] >= s.MaxConnsPerClient {
		return false
	}
	s.perIP[ip]++
	return true
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.release(c.ip)
}

func remoteIP(c net.Conn) string {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return "local" // unix sockets share one bucket
}

func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 105\r\n\r\n"+
		"Too many concurrent connections from this client; raise limits.http_max_conns_per_client or reuse them\n")
	c.Close()
}

// Shutdown stops accepting, ends parked requests (their contexts are
// cancelled), lets running handlers finish until ctx is done, then closes
// every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		if c.idle.Load() {
			c.raw.Close()
		}
	}
	s.mu.Unlock()
	s.cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.raw.Close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
			s.mu.Lock()
			for c := range s.conns {
				if c.idle.Load() {
					c.raw.Close()
				}
			}
			s.mu.Unlock()
		}
	}
}

// dateLine is the Date header line, formatted once a second.
func (s *Server) dateLine(now time.Time) string {
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.line
	}
	d := &dateCache{sec: sec, line: "Date: " + now.UTC().Format(http.TimeFormat) + "\r\n"}
	s.date.Store(d)
	return d.line
}
