package certs

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

func verify(t *testing.T, caPEM, certPEM []byte, name string, usage x509.ExtKeyUsage) error {
	t.Helper()
	ca, err := ParseCert(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err = c.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

func TestServerClientAndCLICertificates(t *testing.T) {
	caPEM, caKey, err := NewCA(CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, srvKey, err := NewCert(caPEM, caKey, CertOptions{Kind: Server, Datacenter: "dc2", Node: "s1",
		DNSNames: []string{"consul.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.7")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey(srvKey); err != nil {
		t.Fatalf("key: %v", err)
	}
	for _, name := range []string{"server.dc2.consul", "s1.server.dc2.consul", "localhost", "127.0.0.1", "10.0.0.7", "consul.example.com"} {
		if err := verify(t, caPEM, srv, name, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("server cert for %s: %v", name, err)
		}
	}
	if err := verify(t, caPEM, srv, "server.dc1.consul", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("a dc2 server certificate is valid for server.dc1.consul")
	}
	cl, _, err := NewCert(caPEM, caKey, CertOptions{Kind: Client})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(t, caPEM, cl, "client.dc1.consul", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client cert: %v", err)
	}
	if err := verify(t, caPEM, cl, "server.dc1.consul", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("a client certificate passes as a server's")
	}
	cli, _, err := NewCert(caPEM, caKey, CertOptions{Kind: CLI, Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCert(cli)
	if c.Subject.CommonName != "cli.dc1.consul" || time.Until(c.NotAfter) > 49*time.Hour {
		t.Errorf("cli cert: CN %q, expires %v", c.Subject.CommonName, c.NotAfter)
	}
	if err := verify(t, caPEM, cli, "localhost", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("a CLI certificate can serve TLS")
	}
	if _, _, err := NewCert(caPEM, caKey, CertOptions{Kind: "peer"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, _, err := NewCert(srv, srvKey, CertOptions{Kind: Server}); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("signing with a non-CA: %v", err)
	}
}

func TestNameConstraint(t *testing.T) {
	caPEM, caKey, err := NewCA(CAOptions{Domain: "example.", NameConstraint: true, Days: 10})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := ParseCert(caPEM)
	if strings.Join(ca.PermittedDNSDomains, ",") != "example,localhost" || time.Until(ca.NotAfter) > 10*24*time.Hour {
		t.Fatalf("constraints %q, expiry %v", ca.PermittedDNSDomains, ca.NotAfter)
	}
	good, _, err := NewCert(caPEM, caKey, CertOptions{Kind: Server, Domain: "example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(t, caPEM, good, "server.dc1.example", x509.ExtKeyUsageServerAuth); err != nil {
		t.Errorf("constrained CA, name inside: %v", err)
	}
	bad, _, err := NewCert(caPEM, caKey, CertOptions{Kind: Server, Domain: "example", DNSNames: []string{"evil.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(t, caPEM, bad, "server.dc1.example", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("constrained CA: a certificate naming evil.com verifies")
	}
}
