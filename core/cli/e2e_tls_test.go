package cli_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// makePKI runs `beacon tls ca create` and `beacon tls cert create` in a
// new directory and returns the paths of the files they wrote.
func makePKI(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"tls", "ca", "create"},
		{"tls", "cert", "create", "-server"},
		{"tls", "cert", "create", "-cli"},
	} {
		if code, out, errOut := runIn(t, append(args, extra...)...); code != 0 {
			t.Fatalf("beacon %s: %d %s %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	return map[string]string{
		"ca": p("consul-agent-ca.pem"), "server": p("dc1-server-consul-0.pem"), "server-key": p("dc1-server-consul-0-key.pem"),
		"cli": p("dc1-cli-consul-0.pem"), "cli-key": p("dc1-cli-consul-0-key.pem"),
	}
}

// startHTTPSAgent starts an agent serving the API over HTTPS only, with
// client certificates required.
func startHTTPSAgent(t *testing.T, f map[string]string) *testagent.Agent {
	t.Helper()
	return testagent.Start(t, testagent.WithJSON(fmt.Sprintf(`{
	  "ports": {"http": -1, "https": 0},
	  "ca_file": %q, "cert_file": %q, "key_file": %q, "verify_incoming": true}`,
		f["ca"], f["server"], f["server-key"])))
}

func TestOfficialClientOverHTTPS(t *testing.T) {
	f := makePKI(t)
	a := startHTTPSAgent(t, f)
	good := a.HTTPSClient(t, api.TLSConfig{CAFile: f["ca"], CertFile: f["cli"], KeyFile: f["cli-key"]})
	if _, err := good.KV().Put(&api.KVPair{Key: "tls/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("put over HTTPS: %v", err)
	}
	kv, _, err := good.KV().Get("tls/x", nil)
	if err != nil || kv == nil || string(kv.Value) != "1" {
		t.Fatalf("get over HTTPS: %v %v", kv, err)
	}
	if leader, err := good.Status().Leader(); err != nil || leader == "" {
		t.Fatalf("status/leader over HTTPS: %q %v", leader, err)
	}

	// verify_incoming: no client certificate, no answer. Over HTTP/1.1 the
	// client learns why (HTTP/2 clients report only a failed connection).
	noCert := a.HTTPSClient(t, api.TLSConfig{CAFile: f["ca"]})
	if _, err := noCert.Status().Leader(); err == nil {
		t.Fatal("client without a certificate was answered")
	}
	h1 := api.DefaultNonPooledConfig()
	h1.Address, h1.Scheme, h1.TLSConfig = a.HTTPSAddr, "https", api.TLSConfig{CAFile: f["ca"]}
	h1.Transport.ForceAttemptHTTP2 = false
	noCert, err = api.NewClient(h1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCert.Status().Leader(); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("HTTP/1.1 client without a certificate: %v", err)
	}

	// A client trusting another CA refuses the agent's certificate.
	other := makePKI(t)
	wrongCA := a.HTTPSClient(t, api.TLSConfig{CAFile: other["ca"], CertFile: f["cli"], KeyFile: f["cli-key"]})
	if _, err := wrongCA.Status().Leader(); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("client with the wrong CA: %v", err)
	}
	// And the agent refuses a client certificate of another CA.
	foreign := a.HTTPSClient(t, api.TLSConfig{CAFile: f["ca"], CertFile: other["cli"], KeyFile: other["cli-key"]})
	if _, err := foreign.Status().Leader(); err == nil {
		t.Fatalf("client certificate of another CA: %v", err)
	}
}

// The CLI reaches an HTTPS agent through its flags or through Consul's
// environment variables.
func TestCLIOverHTTPS(t *testing.T) {
	f := makePKI(t)
	a := startHTTPSAgent(t, f)
	for _, name := range []string{api.HTTPAddrEnvName, api.HTTPSSLEnvName, api.HTTPCAFile, api.HTTPClientCert, api.HTTPClientKey, api.HTTPTLSServerName} {
		t.Setenv(name, "")
	}
	flags := []string{"-http-addr=https://" + a.HTTPSAddr, "-ca-file", f["ca"], "-client-cert", f["cli"], "-client-key", f["cli-key"]}
	if code, out, errOut := runIn(t, append(append([]string{"kv", "put"}, flags...), "cli/x", "hello")...); code != 0 {
		t.Fatalf("kv put with TLS flags: %d %q %q", code, out, errOut)
	}
	// -tls-server-name: the agent's address is not in the certificate,
	// the name is.
	withName := []string{"-http-addr=https://localhost:" + portOf(a.HTTPSAddr), "-tls-server-name", "server.dc1.consul",
		"-ca-file", f["ca"], "-client-cert", f["cli"], "-client-key", f["cli-key"]}
	if code, out, errOut := runIn(t, append(append([]string{"kv", "get"}, withName...), "cli/x")...); code != 0 || out != "hello\n" {
		t.Fatalf("kv get with -tls-server-name: %d %q %q", code, out, errOut)
	}

	t.Setenv(api.HTTPAddrEnvName, a.HTTPSAddr)
	t.Setenv(api.HTTPSSLEnvName, "true")
	t.Setenv(api.HTTPCAFile, f["ca"])
	t.Setenv(api.HTTPClientCert, f["cli"])
	t.Setenv(api.HTTPClientKey, f["cli-key"])
	if code, out, errOut := runIn(t, "kv", "get", "cli/x"); code != 0 || out != "hello\n" {
		t.Fatalf("kv get with CONSUL_HTTP_SSL and CONSUL_CACERT: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runIn(t, "members"); code != 0 || !strings.Contains(out, "alive") {
		t.Fatalf("members over HTTPS: %d %q %q", code, out, errOut)
	}
	t.Setenv(api.HTTPAddrEnvName, "https://"+a.HTTPSAddr)
	t.Setenv(api.HTTPSSLEnvName, "")
	t.Setenv(api.HTTPClientCert, "")
	t.Setenv(api.HTTPClientKey, "")
	code, _, errOut := runIn(t, "kv", "get", "cli/x")
	if code == 0 || !strings.Contains(errOut, "certificate required") {
		t.Fatalf("kv get without a client certificate: %d %q", code, errOut)
	}
}

func portOf(addr string) string {
	i := strings.LastIndex(addr, ":")
	return addr[i+1:]
}
