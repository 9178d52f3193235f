// Package certstest writes a CA and agent certificates for tests.
package certstest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/certs"
)

// Files are the paths Write wrote, by name: "ca" and "ca-key", and for
// each certificate "<kind>-<dc>" and "<kind>-<dc>-key".
type Files map[string]string

// Write makes a new CA and a certificate for each name ("server-dc1",
// "client-dc1", "cli-dc2") in a temporary directory.
func Write(t testing.TB, names ...string) Files {
	t.Helper()
	dir := t.TempDir()
	ca, caKey, err := certs.NewCA(certs.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := Files{}
	f.write(t, dir, "ca", ca)
	f.write(t, dir, "ca-key", caKey)
	for _, name := range names {
		kind, dc, _ := strings.Cut(name, "-")
		cert, key, err := certs.NewCert(ca, caKey, certs.CertOptions{Kind: kind, Datacenter: dc})
		if err != nil {
			t.Fatal(err)
		}
		f.write(t, dir, name, cert)
		f.write(t, dir, name+"-key", key)
	}
	return f
}

func (f Files) write(t testing.TB, dir, name string, b []byte) {
	f[name] = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(f[name], b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Pool is a certificate pool holding the CA.
func (f Files) Pool(t testing.TB) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(f["ca"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return pool
}

// Pair is the named certificate with its key.
func (f Files) Pair(t testing.TB, name string) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f[name], f[name+"-key"])
	if err != nil {
		t.Fatal(err)
	}
	return pair
}
