package cli_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/certs"
	"github.com/beacon-sd/beacon/core/cli"
)

func runIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(append([]string{"beacon"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTLSCACertCreate(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, out, errOut := runIn(t, "tls", "ca", "create"); code != 0 ||
		out != "==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n" {
		t.Fatalf("ca create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runIn(t, "tls", "ca", "create"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second ca create: %d %q", code, errOut)
	}
	for i, want := range []string{"dc1-server-consul-0", "dc1-server-consul-1"} {
		code, out, errOut := runIn(t, "tls", "cert", "create", "-server", "-additional-dnsname", "beacon.example")
		if code != 0 || !strings.Contains(out, "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem\n") ||
			!strings.Contains(out, "==> Saved "+want+".pem\n==> Saved "+want+"-key.pem\n") {
			t.Fatalf("server cert %d: %d %q %q", i, code, out, errOut)
		}
	}
	if code, out, errOut := runIn(t, "tls", "cert", "create", "-client", "-dc", "east"); code != 0 ||
		!strings.HasSuffix(out, "==> Saved east-client-consul-0.pem\n==> Saved east-client-consul-0-key.pem\n") ||
		strings.Contains(out, "WARNING") {
		t.Fatalf("client cert: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runIn(t, "tls", "cert", "create", "-cli"); code != 0 || !strings.Contains(out, "dc1-cli-consul-0.pem") {
		t.Fatalf("cli cert: %d %q", code, out)
	}
	for _, bad := range [][]string{
		{"-server", "-client"}, {}, {"-server", "-additional-ipaddress", "nope"}, {"-server", "-ca", "missing.pem"},
	} {
		if code, _, errOut := runIn(t, append([]string{"tls", "cert", "create"}, bad...)...); code != 1 || errOut == "" {
			t.Errorf("cert create %q: exit %d, stderr %q", bad, code, errOut)
		}
	}

	ca, _ := os.ReadFile("consul-agent-ca.pem")
	srv, _ := os.ReadFile("dc1-server-consul-1.pem")
	caCert, _ := certs.ParseCert(ca)
	cert, err := certs.ParseCert(srv)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	for _, name := range []string{"server.dc1.consul", "beacon.example", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if st, _ := os.Stat("dc1-server-consul-1-key.pem"); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode())
	}
}

func TestTLSCADomain(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, out, _ := runIn(t, "tls", "ca", "create", "-domain", "example", "-name-constraint", "-days", "30"); code != 0 ||
		!strings.Contains(out, "example-agent-ca.pem") {
		t.Fatalf("ca create -domain: %d %q", code, out)
	}
	if code, out, errOut := runIn(t, "tls", "cert", "create", "-server", "-domain", "example", "-dc", "west"); code != 0 ||
		!strings.Contains(out, "==> Using example-agent-ca.pem and example-agent-ca-key.pem") ||
		!strings.Contains(out, "west-server-example-0.pem") {
		t.Fatalf("cert create -domain: %d %q %q", code, out, errOut)
	}
}

// validate loads the TLS files as the agent would.
func TestValidateTLSFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	runIn(t, "tls", "ca", "create")
	runIn(t, "tls", "cert", "create", "-server")
	conf := filepath.Join(dir, "conf")
	os.Mkdir(conf, 0o755)
	cfg := filepath.Join(conf, "tls.hcl")
	good := `data_dir = "/tmp/d"
ca_file = "` + filepath.Join(dir, "consul-agent-ca.pem") + `"
cert_file = "` + filepath.Join(dir, "dc1-server-consul-0.pem") + `"
key_file = "` + filepath.Join(dir, "dc1-server-consul-0-key.pem") + `"
verify_incoming = true`
	os.WriteFile(cfg, []byte(good), 0o644)
	if code, out, errOut := runIn(t, "validate", conf); code != 0 || out != "Configuration is valid!\n" {
		t.Fatalf("valid TLS config: %d %q %q", code, out, errOut)
	}
	os.WriteFile(cfg, []byte(strings.Replace(good, "consul-agent-ca.pem", "nope.pem", 1)), 0o644)
	if code, _, errOut := runIn(t, "validate", conf); code != 1 || !strings.Contains(errOut, "ca_file") || !strings.Contains(errOut, "nope.pem") {
		t.Fatalf("unreadable CA: %d %q", code, errOut)
	}
}
