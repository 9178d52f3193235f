package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/certs/certstest"
	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// startDev starts a -dev agent from a JSON snippet (re-read on Reload)
// and returns it with its log.
func startDev(t *testing.T, js string) (*Daemon, *syncbuf.Buffer) {
	t.Helper()
	load := func() (*config.Config, error) {
		return config.Build(true, []config.Source{{Name: "test", Format: "json", Data: []byte(js)}})
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	d, err := Start(cfg, Options{Load: load, Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d, logs
}

func TestExposedAPIWarning(t *testing.T) {
	base := `"node_name":"n","ports":{"http":0,"dns":-1}`
	cases := []struct {
		name, js string
		warn     string
	}{
		{"loopback", `{` + base + `}`, ""},
		{"exposed", `{` + base + `,"client_addr":"0.0.0.0"}`, "reachable from the network with ACLs off"},
		{"exposed with script checks", `{` + base + `,"client_addr":"0.0.0.0","enable_script_checks":true}`, "run commands on this host"},
		{"exposed with ACLs", `{` + base + `,"client_addr":"0.0.0.0","acl":{"enabled":true}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, logs := startDev(t, tc.js)
			got := logs.String()
			if tc.warn == "" && strings.Contains(got, "reachable from the network") {
				t.Fatalf("unexpected warning:\n%s", got)
			}
			if tc.warn != "" && !strings.Contains(got, tc.warn) {
				t.Fatalf("no warning %q:\n%s", tc.warn, got)
			}
		})
	}
}

// SIGHUP and `beacon reload` read the certificate files again; the HTTPS
// listener presents the new certificate from the next handshake.
func TestReloadTLSCertificates(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// issue makes a new CA and server certificate, in the same files.
	issue := func() *x509.CertPool {
		f := certstest.Write(t, "server-dc1")
		for from, to := range map[string]string{"ca": caFile, "server-dc1": certFile, "server-dc1-key": keyFile} {
			b, _ := os.ReadFile(f[from])
			if err := os.WriteFile(to, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return f.Pool(t)
	}
	first := issue()
	d, logs := startDev(t, fmt.Sprintf(`{"node_name":"n","ports":{"http":-1,"https":0,"dns":-1},"ca_file":%q,"cert_file":%q,"key_file":%q}`,
		caFile, certFile, keyFile))
	addr := d.HTTPSAddrs()[0].String()
	dial := func(pool *x509.CertPool) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(first); err != nil {
		t.Fatalf("before the reload: %v", err)
	}
	second := issue()
	if err := d.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := dial(first); err == nil {
		t.Fatal("the old certificate is still served after the reload")
	}
	if err := dial(second); err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := d.Reload(); err == nil || !strings.Contains(err.Error(), "key_file") {
		t.Fatalf("reload with a broken key: %v", err)
	}
	if err := dial(second); err != nil {
		t.Fatalf("a failed reload must keep the running certificate: %v", err)
	}
	if !strings.Contains(logs.String(), "keeping the running configuration and TLS certificates") {
		t.Fatalf("the failed reload was not logged:\n%s", logs)
	}
}

// Without -client, the HTTP API and DNS listen on loopback only.
func TestClientInterfacesDefaultToLoopback(t *testing.T) {
	d, _ := startDev(t, `{"node_name":"n","ports":{"http":0,"dns":0}}`)
	addrs := append(d.HTTPAddrs(), d.DNSAddrs()...)
	if len(addrs) < 2 {
		t.Fatalf("listeners: %v", addrs)
	}
	for _, a := range addrs {
		if !strings.HasPrefix(a.String(), "127.0.0.1:") {
			t.Errorf("%s listens on %s", a.Network(), a)
		}
	}
}
