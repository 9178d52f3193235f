package main_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// httpsRe matches the HTTPS address in the agent's startup line.
var httpsRe = regexp.MustCompile(`agent started:.*\bhttps=\[127\.0\.0\.1:(\d+)\]`)

// makeCerts runs `beacon tls ...` commands in a new directory, as a user
// turning TLS on would, and returns it.
func makeCerts(t *testing.T, cmds ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range cmds {
		cmd := exec.Command(beaconBin, append([]string{"tls"}, strings.Fields(c)...)...)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("beacon tls %s: %v\n%s", c, err, out)
		}
	}
	return dir
}

// An agent serving HTTPS with a CA and certificate from `beacon tls`,
// reached with curl --cacert and with the CLI's TLS flags and variables.
func TestE2EHTTPS(t *testing.T) {
	t.Parallel()
	curlBin(t)
	dir := makeCerts(t, "ca create", "cert create -server", "cert create -cli")
	f := func(name string) string { return filepath.Join(dir, name) }
	ca, cli, cliKey := f("consul-agent-ca.pem"), f("dc1-cli-consul-0.pem"), f("dc1-cli-consul-0-key.pem")
	a := startAgent(t, "tls1", "-https-port", "0", "-hcl", fmt.Sprintf(
		`ca_file = %q cert_file = %q key_file = %q verify_incoming_https = true`,
		ca, f("dc1-server-consul-0.pem"), f("dc1-server-consul-0-key.pem")))
	m := httpsRe.FindStringSubmatch(a.stdout.String())
	if m == nil {
		t.Fatalf("no HTTPS address in the startup line:\n%s", a.output())
	}
	base := "https://127.0.0.1:" + m[1]

	leader := curl(t, "--cacert", ca, "--cert", cli, "--key", cliKey, base+"/v1/status/leader")
	if !strings.HasPrefix(leader, `"`) || len(leader) < 4 {
		t.Fatalf("curl --cacert /v1/status/leader: %q", leader)
	}
	// The name in the certificate works as well as the address.
	got := curl(t, "--cacert", ca, "--cert", cli, "--key", cliKey, "--resolve", "localhost:"+m[1]+":127.0.0.1",
		"-w", " %{http_version}", "-X", "PUT", "-d", "over-tls", "https://localhost:"+m[1]+"/v1/kv/tls/x")
	if got != "true 2" && got != "true 1.1" {
		t.Fatalf("curl PUT over HTTPS: %q", got)
	}

	// Without the CA, curl does not trust the agent; without a client
	// certificate, the agent does not answer.
	r := run(t, nil, curlBin(t), curlArgs(base+"/v1/status/leader")...)
	if r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("curl without --cacert:\n%s", r)
	}
	r = run(t, nil, curlBin(t), curlArgs("--cacert", ca, base+"/v1/status/leader")...)
	if r.code == 0 || !strings.Contains(r.stderr, "certificate required") {
		t.Fatalf("curl without a client certificate:\n%s", r)
	}

	// The CLI, by flags and by Consul's variables.
	wantRun(t, beacon(t, nil, "kv", "get", "-http-addr", base, "-ca-file", ca, "-client-cert", cli, "-client-key", cliKey, "tls/x"),
		0, "over-tls\n", "kv get with TLS flags")
	env := []string{"CONSUL_HTTP_ADDR=127.0.0.1:" + m[1], "CONSUL_HTTP_SSL=true", "CONSUL_CACERT=" + ca,
		"CONSUL_CLIENT_CERT=" + cli, "CONSUL_CLIENT_KEY=" + cliKey}
	wantRun(t, beacon(t, env, "kv", "get", "tls/x"), 0, "over-tls\n", "kv get with CONSUL_HTTP_SSL")
	r = beacon(t, env[:3], "kv", "get", "tls/x")
	if r.code != 1 || !strings.Contains(r.stderr, "certificate required") {
		t.Fatalf("kv get without a client certificate:\n%s", r)
	}
}

// A certificate without its key, or a CA file that cannot be read, stops
// the agent at start with the key and the file named.
func TestE2ETLSBadFiles(t *testing.T) {
	t.Parallel()
	dir := makeCerts(t, "ca create", "cert create -server")
	cert := filepath.Join(dir, "dc1-server-consul-0.pem")
	missing := filepath.Join(dir, "missing-ca.pem")
	for _, tc := range []struct {
		hcl  string
		want []string
	}{
		{fmt.Sprintf(`cert_file = %q`, cert), []string{"cert_file", "key_file", cert}},
		{fmt.Sprintf(`ca_file = %q`, missing), []string{"ca_file", missing, "no such file"}},
		{fmt.Sprintf(`tls { https { cert_file = %q key_file = %q } }`, cert, cert), []string{"tls.https.cert_file", "tls.https.key_file", cert}},
	} {
		start := time.Now()
		r := beacon(t, nil, "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-hcl", tc.hcl)
		if r.code != 1 || time.Since(start) > 20*time.Second {
			t.Errorf("%s: exit %d", tc.hcl, r.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not name %q:\n%s", tc.hcl, w, r)
			}
		}
	}
}
