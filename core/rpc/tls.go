package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// kindTLS opens a TLS connection: after the handshake, the first byte
// inside says again whether it is raft or RPC, and the server answers with
// kindTLS once it accepts the connection. The answer makes a refusal
// visible to the dialler as such (with TLS 1.3 a refused client
// certificate shows only on the first read) instead of as a session that
// dies later.
const kindTLS byte = 'T'

// TLS is what the server port and the pool need of the agent's TLS
// settings. Each connection asks afresh, so a reload applies to the next
// one.
type TLS interface {
	// IncomingRPC configures accepted TLS connections; nil refuses them.
	IncomingRPC() *tls.Config
	// RequireIncomingTLS refuses connections without TLS.
	RequireIncomingTLS() bool
	// OutgoingRPC configures dialled connections; nil dials without TLS.
	OutgoingRPC() *tls.Config
	// VerifyServer decides whether a peer may speak raft; state is nil
	// for a connection without TLS.
	VerifyServer(state *tls.ConnectionState) error
}

// handshakeTimeout bounds reading a connection's kind and its TLS
// handshake.
const handshakeTimeout = 10 * time.Second

// errPlainRefused is a connection without TLS to a server that requires it.
var errPlainRefused = errors.New("non-TLS connection attempted with verify_incoming_rpc set")

// accept reads the kind of an accepted connection, taking a TLS
// connection through its handshake to the kind inside. state is nil for a
// connection without TLS.
func accept(c net.Conn, t TLS) (net.Conn, byte, *tls.ConnectionState, error) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	kind, err := readKind(c)
	if err != nil {
		return c, 0, nil, err
	}
	var state *tls.ConnectionState
	switch {
	case kind == kindTLS:
		var cfg *tls.Config
		if t != nil {
			cfg = t.IncomingRPC()
		}
		if cfg == nil {
			return c, kind, nil, errors.New("TLS connection attempted, but this server has no cert_file and key_file")
		}
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			drain(c)
			return c, kind, nil, fmt.Errorf("TLS handshake: %w", err)
		}
		cs := tc.ConnectionState()
		state, c = &cs, tc
		if kind, err = readKind(c); err != nil {
			return c, 0, state, err
		}
	case t != nil && t.RequireIncomingTLS():
		return c, kind, nil, errPlainRefused
	}
	c.SetDeadline(time.Time{})
	return c, kind, state, nil
}

// drain takes in what the peer sent after a failed handshake before the
// connection is closed: closing with unread bytes resets it, and the peer
// would not read the alert that says what was wrong.
func drain(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(c, 1<<16))
}

func readKind(c net.Conn) (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return b[0], err
}

// dial connects to a server port for kind (raft or RPC), with TLS when
// the settings ask for it.
func dial(addr string, kind byte, timeout time.Duration, t TLS) (net.Conn, error) {
	if timeout <= 0 {
		timeout = handshakeTimeout
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetNoDelay(true)
	}
	var cfg *tls.Config
	if t != nil {
		cfg = t.OutgoingRPC()
	}
	c.SetDeadline(time.Now().Add(timeout))
	if cfg != nil {
		if _, err := c.Write([]byte{kindTLS}); err != nil {
			c.Close()
			return nil, err
		}
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	if cfg != nil {
		ack, err := readKind(c)
		if err == nil && ack != kindTLS {
			err = fmt.Errorf("unexpected answer %q", ack)
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("the server closed the connection after the TLS handshake")
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// confirm answers an accepted TLS connection (see kindTLS).
func confirm(c net.Conn, state *tls.ConnectionState) error {
	if state == nil {
		return nil
	}
	c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	_, err := c.Write([]byte{kindTLS})
	c.SetWriteDeadline(time.Time{})
	return err
}

// IsCertificateError reports whether err is the far end's certificate
// failing verification: signed by another CA, or not naming
// server.<datacenter>.<domain>.
func IsCertificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}
