package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/certs"
	"github.com/beacon-sd/beacon/core/certs/certstest"
	"github.com/beacon-sd/beacon/core/config"
)

// pki is a CA and certificates of it, as files.
type pki struct{ certstest.Files }

func newPKI(t *testing.T) pki {
	return pki{certstest.Write(t, "server-dc1", "server-dc2", "client-dc1", "cli-dc1")}
}

// cert is the file and key file of a certificate.
func (p pki) cert(kind, dc string) (string, string) {
	return p.Files[kind+"-"+dc], p.Files[kind+"-"+dc+"-key"]
}

func configurator(t *testing.T, js string) (*Configurator, error) {
	t.Helper()
	cfg, err := config.Build(false, []config.Source{{Name: "t", Format: "json", Data: []byte(
		`{"data_dir":"/tmp/x","node_name":"n",` + js + `}`)}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(cfg)
}

func mustConfigurator(t *testing.T, js string) *Configurator {
	t.Helper()
	c, err := configurator(t, js)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func files(ca, cert, key string) string {
	return fmt.Sprintf(`"ca_file":%q,"cert_file":%q,"key_file":%q`, ca, cert, key)
}

// handshake runs a TLS handshake between the two configurations over a
// loopback connection and returns each side's error.
func handshake(t *testing.T, server, client *tls.Config) (srvErr, cliErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		err = tc.Handshake()
		if err == nil {
			// TLS 1.3 reports a refused client certificate on the first read.
			_, err = tc.Write([]byte{1})
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tls.Client(c, client)
	cliErr = tc.Handshake()
	if cliErr == nil {
		var b [1]byte
		_, cliErr = tc.Read(b[:])
	}
	return <-done, cliErr
}

func TestFileErrorsNameKeyAndFile(t *testing.T) {
	p := newPKI(t)
	cert, key := p.cert(certs.Server, "dc1")
	other, _ := newPKI(t).cert(certs.Server, "dc1")
	cases := []struct {
		name, js string
		want     []string
	}{
		{"missing CA", files("/nonexistent/ca.pem", cert, key), []string{"ca_file", "/nonexistent/ca.pem", "no such file"}},
		{"CA file without certificates", files(key, cert, key), []string{"ca_file", key, "no PEM certificate"}},
		{"key of another certificate", files(p.Files["ca"], other, key), []string{"cert_file", other, "key_file", key, "does not match"}},
		{"CA dir", fmt.Sprintf(`"ca_path":%q`, t.TempDir()), []string{"ca_path", "no PEM certificate"}},
		{"block key", fmt.Sprintf(`"tls":{"https":{"cert_file":"/no/cert.pem","key_file":%q}}`, key), []string{"tls.https.cert_file", "/no/cert.pem"}},
	}
	for _, tc := range cases {
		_, err := configurator(t, tc.js)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", tc.name, err, w)
			}
		}
	}
	if _, err := configurator(t, fmt.Sprintf(`"ca_path":%q`, filepath.Dir(p.Files["ca"]))); err != nil {
		t.Errorf("a CA dir with keys besides certificates: %v", err)
	}
}

func TestServerHostname(t *testing.T) {
	p := newPKI(t)
	s1, s1k := p.cert(certs.Server, "dc1")
	s2, s2k := p.cert(certs.Server, "dc2")
	c1, c1k := p.cert(certs.Client, "dc1")
	server1 := mustConfigurator(t, files(p.Files["ca"], s1, s1k)+`,"server":true`)
	server2 := mustConfigurator(t, files(p.Files["ca"], s2, s2k)+`,"server":true`)
	rogue := mustConfigurator(t, files(p.Files["ca"], c1, c1k)+`,"server":true`)
	client := mustConfigurator(t, files(p.Files["ca"], c1, c1k)+`,"verify_outgoing":true,"verify_server_hostname":true`)
	if client.ServerName() != "server.dc1.consul" {
		t.Fatalf("server name %q", client.ServerName())
	}
	if _, err := handshake(t, server1.IncomingRPC(), client.OutgoingRPC()); err != nil {
		t.Fatalf("dc1 client to dc1 server: %v", err)
	}
	for name, srv := range map[string]*Configurator{"a dc2 server": server2, "a client certificate": rogue} {
		_, err := handshake(t, srv.IncomingRPC(), client.OutgoingRPC())
		if err == nil || !strings.Contains(err.Error(), "server.dc1.consul") {
			t.Errorf("%s passed as a dc1 server: %v", name, err)
		}
	}
	// Without the hostname check, any certificate of the CA will do.
	chainOnly := mustConfigurator(t, files(p.Files["ca"], c1, c1k)+`,"verify_outgoing":true`)
	if _, err := handshake(t, server2.IncomingRPC(), chainOnly.OutgoingRPC()); err != nil {
		t.Errorf("verify_outgoing alone to another dc's server: %v", err)
	}
}

func TestWrongCA(t *testing.T) {
	p, q := newPKI(t), newPKI(t)
	s, sk := p.cert(certs.Server, "dc1")
	c, ck := q.cert(certs.Client, "dc1")
	server := mustConfigurator(t, files(p.Files["ca"], s, sk)+`,"server":true,"verify_incoming":true`)
	for _, js := range []string{`,"verify_outgoing":true`, `,"verify_server_hostname":true`} {
		client := mustConfigurator(t, files(q.Files["ca"], c, ck)+js)
		_, err := handshake(t, server.IncomingRPC(), client.OutgoingRPC())
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("%s against another CA's server: %v", js, err)
		}
	}
	// The server refuses a client of another CA, and one without a certificate.
	pc, pck := p.cert(certs.Client, "dc1")
	good := mustConfigurator(t, files(p.Files["ca"], pc, pck)+`,"verify_outgoing":true`)
	if _, err := handshake(t, server.IncomingRPC(), good.OutgoingRPC()); err != nil {
		t.Fatalf("good client: %v", err)
	}
	foreign := good.OutgoingRPC()
	foreign.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		pair, err := tls.LoadX509KeyPair(c, ck)
		return &pair, err
	}
	if srvErr, _ := handshake(t, server.IncomingRPC(), foreign); srvErr == nil || !strings.Contains(srvErr.Error(), "unknown authority") {
		t.Errorf("server accepted a client certificate of another CA: %v", srvErr)
	}
	anon := mustConfigurator(t, fmt.Sprintf(`"ca_file":%q,"verify_outgoing":true`, p.Files["ca"]))
	if srvErr, _ := handshake(t, server.IncomingRPC(), anon.OutgoingRPC()); srvErr == nil || !strings.Contains(srvErr.Error(), "certificate") {
		t.Errorf("server accepted a client without a certificate: %v", srvErr)
	}
}

func TestVerifyServer(t *testing.T) {
	p := newPKI(t)
	s, sk := p.cert(certs.Server, "dc1")
	c, ck := p.cert(certs.Client, "dc1")
	on := mustConfigurator(t, files(p.Files["ca"], s, sk)+`,"server":true,"verify_server_hostname":true`)
	off := mustConfigurator(t, files(p.Files["ca"], s, sk)+`,"server":true`)
	if err := off.VerifyServer(nil); err != nil {
		t.Errorf("without verify_server_hostname, plain raft: %v", err)
	}
	if err := on.VerifyServer(nil); err == nil {
		t.Error("plain raft accepted with verify_server_hostname")
	}
	for file, ok := range map[string]bool{s: true, c: false} {
		pair, _ := tls.LoadX509KeyPair(file, map[string]string{s: sk, c: ck}[file])
		err := on.VerifyServer(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{pair.Leaf}})
		if (err == nil) != ok {
			t.Errorf("%s: %v", filepath.Base(file), err)
		}
	}
}

func TestReloadSwapsCertificates(t *testing.T) {
	p := newPKI(t)
	s, sk := p.cert(certs.Server, "dc1")
	js := files(p.Files["ca"], s, sk) + `,"server":true,"ports":{"https":0}`
	c := mustConfigurator(t, js)
	client := &tls.Config{RootCAs: p.Pool(t), ServerName: "server.dc1.consul"}
	if _, err := handshake(t, c.IncomingHTTPS(), client); err != nil {
		t.Fatal(err)
	}
	// A new CA and certificate in the same files.
	q := newPKI(t)
	s2, sk2 := q.cert(certs.Server, "dc1")
	for from, to := range map[string]string{s2: s, sk2: sk, q.Files["ca"]: p.Files["ca"]} {
		b, _ := os.ReadFile(from)
		os.WriteFile(to, b, 0o600)
	}
	cfg, _ := config.Build(false, []config.Source{{Name: "t", Format: "json", Data: []byte(`{"data_dir":"/x","node_name":"n",` + js + `}`)}})
	listener := c.IncomingHTTPS() // taken before the reload, as a listener would
	if err := c.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, listener, client); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("old CA after the reload: %v", err)
	}
	client.RootCAs = q.Pool(t)
	if _, err := handshake(t, listener, client); err != nil {
		t.Fatalf("new CA after the reload: %v", err)
	}
	os.Remove(s)
	if err := c.Reload(cfg); err == nil {
		t.Fatal("reload with a missing certificate succeeded")
	}
	if _, err := handshake(t, listener, client); err != nil {
		t.Fatalf("a failed reload must keep the running certificates: %v", err)
	}
}
