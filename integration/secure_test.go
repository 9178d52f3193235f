package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// The secrets the secured cluster is configured with, as seed 000 writes
// them into the agents' config files.
const (
	managementSecret = "6a1253d2-1785-24fd-91c2-f8e78c745511"
	agentSecret      = "d8f1f0a4-3c2e-4b5a-9f64-2c1e7a0b3d55"
)

// secured is a cluster with ACLs and TLS both on, and the files a user
// hands to the tools that talk to it.
type secured struct {
	*cluster
	ca, cli, cliKey string // the CA and a -cli certificate
	wrongCA         string // a CA that signed nothing here
	otherCert       string // a -cli certificate of the other CA
	otherKey        string
	otherDir        string
}

// file names of `beacon tls` in dir.
func tlsFile(dir, name string) string { return filepath.Join(dir, name) }

// newSecured starts three servers and a client with default_policy deny,
// tokens.initial_management and tokens.agent, TLS on RPC and on the
// HTTPS API (the plain HTTP port off), certificates required both ways
// and server names checked.
func newSecured(t *testing.T) *secured {
	t.Helper()
	skipShort(t)
	dir := tlsDir(t, []string{"cert", "create", "-server"}, []string{"cert", "create", "-client"}, []string{"cert", "create", "-cli"})
	other := tlsDir(t, []string{"cert", "create", "-cli"}, []string{"cert", "create", "-client"})
	s := &secured{
		ca: tlsFile(dir, "consul-agent-ca.pem"), cli: tlsFile(dir, "dc1-cli-consul-0.pem"), cliKey: tlsFile(dir, "dc1-cli-consul-0-key.pem"),
		otherDir: other, wrongCA: tlsFile(other, "consul-agent-ca.pem"), otherCert: tlsFile(other, "dc1-cli-consul-0.pem"), otherKey: tlsFile(other, "dc1-cli-consul-0-key.pem"),
	}
	extra := map[string]interface{}{
		"acl": map[string]interface{}{
			"enabled": true, "default_policy": "deny", "down_policy": "extend-cache",
			"tokens": map[string]interface{}{"initial_management": managementSecret, "agent": agentSecret},
		},
		"ca_file": s.ca, "verify_incoming": true, "verify_outgoing": true, "verify_server_hostname": true,
	}
	s.cluster = newTunedCluster(t, 3, 1, extra, func(a *agent, cfg map[string]interface{}) {
		kind := "client"
		if a.server {
			kind = "server"
		}
		cfg["cert_file"] = tlsFile(dir, "dc1-"+kind+"-consul-0.pem")
		cfg["key_file"] = tlsFile(dir, "dc1-"+kind+"-consul-0-key.pem")
		ports := cfg["ports"].(map[string]int)
		ports["https"], ports["http"] = a.http, -1
		a.client = s.api(a, managementSecret, s.ca, s.cli, s.cliKey)
	})
	return s
}

// api is an official API client of agent a over HTTPS.
func (s *secured) api(a *agent, token, ca, cert, key string) *api.Client {
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = fmt.Sprintf("127.0.0.1:%d", a.http)
	cfg.Scheme = "https"
	cfg.Token = token
	cfg.TLSConfig = api.TLSConfig{CAFile: ca, CertFile: cert, KeyFile: key}
	c, err := api.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// tlsEnv is the environment of Consul's tools for agent a: address, CA,
// client certificate and token.
func (s *secured) tlsEnv(a *agent, token string) []string {
	return append(os.Environ(), "CONSUL_HTTP_ADDR=https://"+fmt.Sprintf("127.0.0.1:%d", a.http),
		"CONSUL_CACERT="+s.ca, "CONSUL_CLIENT_CERT="+s.cli, "CONSUL_CLIENT_KEY="+s.cliKey,
		"CONSUL_HTTP_TOKEN="+token, "CONSUL_HTTP_SSL=", "CONSUL_HTTP_TOKEN_FILE=", "CONSUL_TLS_SERVER_NAME=")
}

// result is what a finished command printed.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runBeacon runs the beacon binary to its end, within a minute.
func runBeacon(t *testing.T, env []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(beaconBin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("beacon %s: still running after a minute\n%s%s", strings.Join(args, " "), out.String(), errb.String())
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// pretty reads one "Label:   value" line of the CLI's pretty output.
func pretty(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Seed 000's secured cluster with TLS on as well: the CLI bootstraps
// (refused: initial_management did), makes policies and tokens; the
// renderer reads the catalog and KV with a limited token; the registrator
// registers a container with a service:write token; callers with the
// wrong CA or no rights are refused with the reason said.
func TestSecuredCluster(t *testing.T) {
	s := newSecured(t)
	s.ready(40 * time.Second)
	c1 := s.clients()[0]
	env := s.tlsEnv(c1, managementSecret)

	// Bootstrap: the configured management token was the cluster's
	// bootstrap, so asking again is refused, on every agent.
	for _, a := range s.agents {
		r := runBeacon(t, s.tlsEnv(a, ""), "acl", "bootstrap")
		if r.code != 1 || !regexp.MustCompile(`^Failed ACL bootstrapping: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)\)\n$`).MatchString(r.stderr) {
			t.Fatalf("acl bootstrap on %s:\n%s", a.name, r)
		}
	}

	// The agents' own token, with the SecretID their config names.
	mustRun(t, env, "acl", "policy", "create", "-name", "agent", "-rules", `node_prefix "" { policy = "write" }
service_prefix "" { policy = "read" }`)
	r := mustRun(t, env, "acl", "token", "create", "-description", "agents", "-policy-name", "agent", "-secret", agentSecret)
	if pretty(r.stdout, "SecretID") != agentSecret || pretty(r.stdout, "Local") != "false" {
		t.Fatalf("agent token:\n%s", r)
	}

	// A limited token for the renderer.
	mustRun(t, env, "acl", "policy", "create", "-name", "renderer", "-description", "templates", "-rules", `service "web" { policy = "read" }
node_prefix "" { policy = "read" }
key_prefix "app/" { policy = "read" }`)
	r = mustRun(t, env, "acl", "token", "create", "-description", "renderer", "-policy-name", "renderer")
	renderer := pretty(r.stdout, "SecretID")
	if !strings.HasSuffix(strings.TrimSpace(r.stdout), " - renderer") || renderer == "" {
		t.Fatalf("renderer token:\n%s", r)
	}

	root := c1.client
	for _, kv := range [][2]string{{"app/greeting", "hello over tls"}, {"app/weight", "3"}, {"secret/password", "hunter2"}} {
		if _, err := root.KV().Put(&api.KVPair{Key: kv[0], Value: []byte(kv[1])}, nil); err != nil {
			t.Fatalf("kv put %s: %v", kv[0], err)
		}
	}
	for i, port := range []int{8081, 8082} {
		err := root.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: fmt.Sprintf("web-%d", i+1), Name: "web", Port: port, Address: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := root.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "db", Name: "db", Port: 5432}); err != nil {
		t.Fatal(err)
	}
	// Anti-entropy, with the agent token, puts them in every server's
	// catalog.
	for _, srv := range s.servers() {
		waitfor.Until(t, 20*time.Second, "web and db in "+srv.name+"'s catalog", func() bool {
			svcs, _, err := srv.client.Catalog().Services(&api.QueryOptions{AllowStale: true})
			_, web := svcs["web"]
			_, db := svcs["db"]
			return err == nil && web && db
		})
	}

	t.Run("renderer", func(t *testing.T) { s.testRenderer(t, c1, renderer) })
	t.Run("registrator", func(t *testing.T) { s.testRegistrator(t, c1) })
	t.Run("wrong CA", func(t *testing.T) { s.testWrongCA(t, c1) })
	t.Run("no rights", func(t *testing.T) { s.testNoRights(t, env, c1) })

	// No agent wrote a secret into its log.
	for _, a := range s.agents {
		for _, secret := range []string{managementSecret, agentSecret, renderer} {
			if a.logContains(secret) {
				t.Errorf("%s's log holds a SecretID: %s", a.name, a.logLine(secret))
			}
		}
	}
}

// mustRun runs a beacon command that must succeed.
func mustRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := runBeacon(t, env, args...)
	if r.code != 0 {
		t.Fatalf("beacon %s:\n%s", strings.Join(args, " "), r)
	}
	return r
}

const upstreamTemplate = `upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
# {{ key "app/greeting" }}
{{ range ls "app" }}{{ .Key }}={{ .Value }} {{ end }}
`

const wantUpstream = `upstream web {
  server 127.0.0.1:8081;
  server 127.0.0.1:8082;
}
# hello over tls
greeting=hello over tls weight=3 
`

// The renderer with consul-template's SSL and token flags renders the
// catalog and KV; the token also works from CONSUL_HTTP_TOKEN; a key the
// token may not read fails the render with the 403 said.
func (s *secured) testRenderer(t *testing.T, a *agent, token string) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "upstream.ctmpl"), filepath.Join(dir, "upstream.conf")
	if err := os.WriteFile(in, []byte(upstreamTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", a.http)
	ssl := []string{"-consul-ssl", "-consul-ssl-verify", "-consul-ssl-ca-cert", s.ca, "-consul-ssl-cert", s.cli, "-consul-ssl-key", s.cliKey}
	plainEnv := append(os.Environ(), "CONSUL_HTTP_ADDR=", "CONSUL_HTTP_TOKEN=", "CONSUL_TOKEN=", "CONSUL_HTTP_SSL=", "CONSUL_CACERT=")
	args := append([]string{"template", "-consul-addr", addr, "-consul-token", token, "-once", "-template", in + ":" + out}, ssl...)
	if r := runBeacon(t, plainEnv, args...); r.code != 0 {
		t.Fatalf("beacon template -consul-token:\n%s", r)
	}
	if b, _ := os.ReadFile(out); string(b) != wantUpstream {
		t.Fatalf("rendered:\n%s\nwant:\n%s", b, wantUpstream)
	}

	os.Remove(out)
	args = append([]string{"template", "-consul-addr", addr, "-once", "-template", in + ":" + out}, ssl...)
	if r := runBeacon(t, append(plainEnv, "CONSUL_HTTP_TOKEN="+token), args...); r.code != 0 {
		t.Fatalf("beacon template with CONSUL_HTTP_TOKEN:\n%s", r)
	}
	if b, _ := os.ReadFile(out); string(b) != wantUpstream {
		t.Fatalf("rendered with CONSUL_HTTP_TOKEN:\n%s", b)
	}

	hidden := filepath.Join(dir, "hidden.ctmpl")
	os.WriteFile(hidden, []byte(`{{ key "secret/password" }}`), 0o644)
	args = append([]string{"template", "-consul-addr", addr, "-consul-token", token, "-once", "-consul-retry=false",
		"-template", hidden + ":" + filepath.Join(dir, "hidden.out")}, ssl...)
	r := runBeacon(t, plainEnv, args...)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "403") || !strings.Contains(r.stderr+r.stdout, "Permission denied") {
		t.Fatalf("template reading a key its token may not read:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Fatalf("the hidden value leaked:\n%s", r)
	}
}

// The registrator, pointed at consul-tls:// with Consul's TLS variables
// and a token that may only write services, registers a container; the
// agent's anti-entropy puts it in the servers' catalog.
func (s *secured) testRegistrator(t *testing.T, a *agent) {
	eng := dockertest.Start(t)
	env := s.tlsEnv(a, managementSecret)
	mustRun(t, env, "acl", "policy", "create", "-name", "registrator", "-rules", `service_prefix "" { policy = "write" }`)
	token := pretty(mustRun(t, env, "acl", "token", "create", "-description", "registrator", "-policy-name", "registrator").stdout, "SecretID")

	renv := append(s.tlsEnv(a, token), "DOCKER_HOST="+eng.Host, "CONSUL_HTTP_ADDR=")
	var logs syncbuf.Buffer
	cmd := exec.Command(beaconBin, "registrator", "-internal=false", "-resync", "30",
		fmt.Sprintf("consul-tls://127.0.0.1:%d", a.http))
	cmd.Env, cmd.Stdout, cmd.Stderr = renv, &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("registrator output:\n%s", logs.String())
		}
	})

	port := freeport.Port(t)
	eng.Run(t, dockertest.Container{Name: "nginx-tls",
		Env:     []string{"SERVICE_NAME=nginx-tls", "SERVICE_TAGS=secure"},
		Publish: map[string]int{"80/tcp": port}})
	srv := s.servers()[0]
	waitfor.Until(t, 30*time.Second, "the container's service in the servers' catalog", func() bool {
		svcs, _, err := srv.client.Catalog().Service("nginx-tls", "", &api.QueryOptions{AllowStale: true})
		return err == nil && len(svcs) == 1 && svcs[0].ServicePort == port && svcs[0].Node == a.name &&
			strings.Join(svcs[0].ServiceTags, ",") == "secure"
	})
	select {
	case <-exited:
		t.Fatalf("the registrator exited:\n%s", logs.String())
	default:
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the registrator logged its token:\n%s", logs.String())
	}
}

// Callers holding another CA do not talk to the cluster: the official
// client, the CLI and the renderer each fail with the certificate problem
// named; a certificate from another CA is refused by the agent.
func (s *secured) testWrongCA(t *testing.T, a *agent) {
	const unknown = "certificate signed by unknown authority"
	_, err := s.api(a, managementSecret, s.wrongCA, s.cli, s.cliKey).Agent().Self()
	if err == nil || !strings.Contains(err.Error(), unknown) {
		t.Errorf("API client with the wrong CA: %v", err)
	}
	t.Logf("API client with the wrong CA: %v", err)

	env := append(s.tlsEnv(a, managementSecret), "CONSUL_CACERT="+s.wrongCA)
	if r := runBeacon(t, env, "members"); r.code == 0 || !strings.Contains(r.stderr, unknown) {
		t.Errorf("beacon members with the wrong CA:\n%s", r)
	} else {
		t.Logf("beacon members with the wrong CA: %s", r.stderr)
	}

	dir := t.TempDir()
	in := filepath.Join(dir, "in.ctmpl")
	os.WriteFile(in, []byte(`{{ key "app/greeting" }}`), 0o644)
	r := runBeacon(t, append(os.Environ(), "CONSUL_HTTP_ADDR=", "CONSUL_CACERT=", "CONSUL_HTTP_TOKEN="), "template",
		"-consul-addr", fmt.Sprintf("127.0.0.1:%d", a.http), "-consul-token", managementSecret, "-once", "-consul-retry=false",
		"-consul-ssl", "-consul-ssl-ca-cert", s.wrongCA, "-consul-ssl-cert", s.cli, "-consul-ssl-key", s.cliKey,
		"-template", in+":"+filepath.Join(dir, "out"))
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, unknown) {
		t.Errorf("beacon template with the wrong CA:\n%s", r)
	} else {
		t.Logf("beacon template with the wrong CA: %s", r.stderr)
	}

	// A client agent set up with the other CA joins the gossip pool but
	// its RPC to the servers fails on their certificate, and it says so.
	rogue := newTunedCluster(t, 0, 1, nil, func(r *agent, cfg map[string]interface{}) {
		cfg["node_name"] = "rogue"
		cfg["retry_join"] = []string{fmt.Sprintf("127.0.0.1:%d", s.servers()[0].serf)}
		cfg["ca_file"], cfg["verify_outgoing"], cfg["verify_server_hostname"] = s.wrongCA, true, true
		cfg["cert_file"] = tlsFile(s.otherDir, "dc1-client-consul-0.pem")
		cfg["key_file"] = tlsFile(s.otherDir, "dc1-client-consul-0-key.pem")
	}).agents[0]
	rogue.waitHTTP(15 * time.Second)
	waitfor.Until(t, 15*time.Second, "the rogue agent to see the servers", func() bool {
		ms, err := rogue.client.Agent().Members(false)
		return err == nil && len(ms) >= 4
	})
	_, _, err = rogue.client.KV().Get("app/greeting", nil)
	if err == nil || !strings.Contains(err.Error(), unknown) {
		t.Errorf("KV read through a client agent with the wrong CA: %v", err)
	}
	t.Logf("KV read through a client agent with the wrong CA: %v", err)

	// The right CA but a client certificate the cluster's CA did not sign.
	// With TLS 1.3 the client learns of the refusal after its side of the
	// handshake, so what its HTTP/2 transport reports varies; the agent's
	// log names the reason.
	_, err = s.api(a, managementSecret, s.ca, s.otherCert, s.otherKey).Agent().Self()
	if err == nil {
		t.Errorf("API client with a certificate of another CA was answered")
	}
	t.Logf("API client with a certificate of another CA: %v", err)
	refusal := func() string {
		for _, line := range strings.Split(a.logTail(1<<20), "\n") {
			// The client offers no certificate the agent's CA did not sign,
			// or offers it and the agent finds it unsigned.
			if strings.Contains(line, "TLS handshake refused") &&
				(strings.Contains(line, "client didn't provide a certificate") || strings.Contains(line, unknown)) {
				return line
			}
		}
		return ""
	}
	waitfor.Until(t, 5*time.Second, "the agent to log why it refused the certificate", func() bool { return refusal() != "" })
	t.Logf("agent: %s", refusal())
}

// A token without rights gets 403 over HTTPS, through the client agent
// and its RPC to the servers, from curl, the API client and the CLI.
func (s *secured) testNoRights(t *testing.T, env []string, a *agent) {
	r := mustRun(t, env, "acl", "token", "create", "-description", "nothing")
	none := pretty(r.stdout, "SecretID")
	if strings.Contains(r.stdout, "Policies:") {
		t.Errorf("a token without policies lists some:\n%s", r.stdout)
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is not installed (.ci/deps installs it)")
	}
	out, _ := exec.Command(curl, "-sS", "--cacert", s.ca, "--cert", s.cli, "--key", s.cliKey,
		"-H", "X-Consul-Token: "+none, "-w", "\n%{http_code}",
		fmt.Sprintf("https://127.0.0.1:%d/v1/kv/app/greeting", a.http)).CombinedOutput()
	if got := string(out); !strings.HasPrefix(got, "Permission denied") || !strings.HasSuffix(got, "\n403") {
		t.Errorf("curl with a token without rights: %q", got)
	}

	_, _, err = s.api(a, none, s.ca, s.cli, s.cliKey).KV().Get("app/greeting", nil)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("API client with a token without rights: %v", err)
	}
	if r := runBeacon(t, s.tlsEnv(a, none), "kv", "put", "app/greeting", "x"); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("beacon kv put with a token without rights:\n%s", r)
	}
	// Lists hide what it may not read rather than fail.
	svcs, _, err := s.api(a, none, s.ca, s.cli, s.cliKey).Catalog().Services(nil)
	if err != nil || len(svcs) != 0 {
		t.Errorf("catalog services with a token without rights: %v %v", svcs, err)
	}
}
