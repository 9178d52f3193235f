package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/certs/certstest"
	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/tlsutil"
)

// tlsSettings makes the TLS settings of an agent with the given cert and
// extra JSON keys.
func tlsSettings(t testing.TB, files certstest.Files, cert, extra string) *tlsutil.Configurator {
	t.Helper()
	js := fmt.Sprintf(`{"node_name":"n","data_dir":"/x","ca_file":%q,"cert_file":%q,"key_file":%q%s}`,
		files["ca"], files[cert], files[cert+"-key"], extra)
	cfg, err := config.Build(false, []config.Source{{Name: "t", Format: "json", Data: []byte(js)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlsutil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startTLSServer(t testing.TB, settings TLS) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ln, ln.Addr(), nil)
	s.TLS = settings
	s.SetHandler(Mux(map[string]Endpoint{
		"Echo": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error { r.Text = a.Text; return nil }),
	}))
	go s.Serve()
	t.Cleanup(s.Shutdown)
	return s
}

func echo(p *Pool, s *Server) error {
	var r echoReply
	err := p.Call(context.Background(), s.Addr().String(), "Echo", &echoArgs{"hi"}, &r)
	if err == nil && r.Text != "hi" {
		err = fmt.Errorf("echo answered %q", r.Text)
	}
	return err
}

func poolWith(t testing.TB, settings TLS) *Pool {
	p := NewPool()
	p.DialTimeout = 10 * time.Second
	p.TLS = settings
	t.Cleanup(p.Close)
	return p
}

func TestRPCOverTLS(t *testing.T) {
	f := certstest.Write(t, "server-dc1", "client-dc1", "server-dc2")
	strict := startTLSServer(t, tlsSettings(t, f, "server-dc1", `,"server":true,"verify_incoming_rpc":true,"verify_outgoing":true,"verify_server_hostname":true`))
	client := tlsSettings(t, f, "client-dc1", `,"verify_outgoing":true,"verify_server_hostname":true`)
	if err := echo(poolWith(t, client), strict); err != nil {
		t.Fatalf("TLS client to a TLS server: %v", err)
	}
	if err := echo(poolWith(t, nil), strict); err == nil {
		t.Fatal("a plain connection was served with verify_incoming_rpc")
	}
	// A client that does not verify servers, without a certificate.
	anon, err := tlsutil.New(mustBuild(t, fmt.Sprintf(`{"node_name":"n","data_dir":"/x","ca_file":%q,"verify_outgoing":true}`, f["ca"])))
	if err != nil {
		t.Fatal(err)
	}
	if err := echo(poolWith(t, anon), strict); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("a client without a certificate: %v", err)
	}

	// Before verify_incoming_rpc, a server with a certificate takes both.
	rollout := startTLSServer(t, tlsSettings(t, f, "server-dc1", `,"server":true`))
	if err := echo(poolWith(t, nil), rollout); err != nil {
		t.Fatalf("plain client during rollout: %v", err)
	}
	if err := echo(poolWith(t, client), rollout); err != nil {
		t.Fatalf("TLS client during rollout: %v", err)
	}

	// A server of another datacenter does not pass the hostname check.
	other := startTLSServer(t, tlsSettings(t, f, "server-dc2", `,"server":true`))
	err = echo(poolWith(t, client), other)
	if err == nil || !strings.Contains(err.Error(), "certificate is valid for server.dc2.consul") ||
		!strings.Contains(err.Error(), "server.dc1.consul") || !IsCertificateError(err) {
		t.Fatalf("dc2 server: %v", err)
	}
	if err := echo(poolWith(t, client), rollout); IsCertificateError(err) {
		t.Fatalf("a good server's answer taken for a certificate error: %v", err)
	}
}

func TestRaftOverTLS(t *testing.T) {
	f := certstest.Write(t, "server-dc1", "client-dc1")
	strict := `,"server":true,"verify_incoming_rpc":true,"verify_server_hostname":true`
	a := startTLSServer(t, tlsSettings(t, f, "server-dc1", strict))
	b := startTLSServer(t, tlsSettings(t, f, "server-dc1", strict))
	go func() {
		c, err := b.RaftLayer().Dial(raft.ServerAddress(a.Addr().String()), time.Second)
		if err == nil {
			c.Write([]byte("raft bytes"))
			c.Close()
		}
	}()
	c, err := a.RaftLayer().Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(c); string(got) != "raft bytes" {
		t.Fatalf("raft over TLS got %q", got)
	}
	// A client agent's certificate may make calls, not speak raft.
	rogue := startTLSServer(t, tlsSettings(t, f, "client-dc1", `,"verify_outgoing":true`))
	if rc, err := rogue.RaftLayer().Dial(raft.ServerAddress(a.Addr().String()), time.Second); err == nil {
		rc.Close()
		t.Fatal("raft from a client certificate was accepted")
	}
	if err := echo(poolWith(t, rogue.TLS), a); err != nil {
		t.Fatalf("RPC with a client certificate: %v", err)
	}
}

func tlsClient(c net.Conn, settings TLS) *tls.Conn { return tls.Client(c, settings.OutgoingRPC()) }

func mustBuild(t *testing.T, js string) *config.Config {
	t.Helper()
	cfg, err := config.Build(false, []config.Source{{Name: "t", Format: "json", Data: []byte(js)}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Whatever a peer sends on the server port, after the TLS byte or not,
// the server survives and keeps answering.
func FuzzServerPort(f *testing.F) {
	for _, seed := range []string{
		"T", "T\x00", "TTTT", "T\x16\x03\x01\x00\x05hello", "T\x16\x03\x03\xff\xff" + strings.Repeat("A", 300),
		"B\x00\x00\x00\x00", "R", "\x00", "GET / HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	files := certstest.Write(f, "server-dc1", "client-dc1")
	s := startTLSServer(f, tlsSettings(f, files, "server-dc1", `,"server":true,"verify_incoming_rpc":true`))
	client := tlsSettings(f, files, "client-dc1", `,"verify_outgoing":true`)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
		// A new pool, so the call dials a new connection.
		if err := echo(poolWith(t, client), s); err != nil {
			t.Fatalf("after %q the server does not answer: %v", data, err)
		}
	})
}

// Garbage after a good handshake: a nested TLS byte, an unknown kind, or
// bytes that are no RPC frames.
func TestGarbageInsideTLS(t *testing.T) {
	f := certstest.Write(t, "server-dc1", "client-dc1")
	s := startTLSServer(t, tlsSettings(t, f, "server-dc1", `,"server":true,"verify_incoming_rpc":true`))
	client := tlsSettings(t, f, "client-dc1", `,"verify_outgoing":true`)
	for _, inner := range []string{"T", "TT\x16\x03\x01", "X", "B\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "R" + strings.Repeat("\x00", 100)} {
		raw, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		raw.Write([]byte{kindTLS})
		tc := tlsClient(raw, client)
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		tc.Write([]byte(inner))
		tc.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, tc)
		tc.Close()
		if err := echo(poolWith(t, client), s); err != nil {
			t.Fatalf("after %q inside TLS the server does not answer: %v", inner, err)
		}
	}
}
