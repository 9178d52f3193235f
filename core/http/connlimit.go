package http

import (
	"net"
	"sync"
	"time"
)

// limitListener caps concurrent connections per client IP
// (limits.http_max_conns_per_client). A connection over the cap gets a 429
// and is closed, so the client sees why instead of a silent reset.
type limitListener struct {
	net.Listener
	max   int
	mu    sync.Mutex
	perIP map[string]int
}

// LimitListener wraps l; max <= 0 means no limit.
func LimitListener(l net.Listener, max int) net.Listener {
	if max <= 0 {
		return l
	}
	return &limitListener{Listener: l, max: max, perIP: map[string]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		if l.perIP[ip] >= l.max {
			l.mu.Unlock()
			go refuse(c)
			continue
		}
		l.perIP[ip]++
		l.mu.Unlock()
		return &limitConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func remoteIP(c net.Conn) string {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return c.RemoteAddr().String() // unix sockets share one bucket
}

func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
		"Too many concurrent connections from this client; raise limits.http_max_conns_per_client or reuse connections\n"))
	c.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
