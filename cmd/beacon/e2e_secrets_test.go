package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretsSeen collects the SecretIDs a test handles, to look for them
// where they must not be.
type secretsSeen []string

func (s *secretsSeen) add(t *testing.T, secret string) string {
	t.Helper()
	if len(secret) < 8 {
		t.Fatalf("not a secret: %q", secret)
	}
	*s = append(*s, secret)
	return secret
}

// check fails the test if text, named where, holds any secret.
func (s secretsSeen) check(t *testing.T, where, text string) {
	t.Helper()
	for _, secret := range s {
		if i := strings.Index(text, secret); i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+len(secret)+100)
			t.Errorf("%s holds SecretID %s: ...%s...", where, secret, text[lo:hi])
		}
	}
}

// An agent logging at debug level with ACLs on goes through bootstrap,
// token and policy commands, the legacy API, requests carrying tokens in
// every place a client puts them, unknown and denied tokens and agent
// token changes; no SecretID shows in its log, in what /v1/agent/monitor
// streamed, in /v1/agent/self or in the metrics.
func TestE2ESecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	var secrets secretsSeen
	agentTok := secrets.add(t, "0d7c6a7e-agent-token-9a4b3e5f2c11")
	defaultTok := secrets.add(t, "1e8d7b8f-default-token-0b5c4f6a3d22")
	recovery := secrets.add(t, "2f9e8c9a-recovery-token-1c6d5a7b4e33")
	a := startAgent(t, "secrets", "-log-level", "debug", "-hcl", fmt.Sprintf(`acl {
  enabled = true
  default_policy = "deny"
  tokens { agent = %q  default = %q  agent_recovery = %q }
}`, agentTok, defaultTok, recovery))
	env := []string{"CONSUL_HTTP_ADDR=" + a.addr}
	cli := func(token string, args ...string) result {
		t.Helper()
		r := beacon(t, append(env, "CONSUL_HTTP_TOKEN="+token), args...)
		if r.code != 0 {
			t.Fatalf("beacon %s:\n%s", strings.Join(args, " "), r)
		}
		secrets.check(t, "the output of beacon "+args[0], r.stderr)
		return r
	}
	value := func(out, label string) string {
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, label+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}

	mgmt := secrets.add(t, value(cli("", "acl", "bootstrap").stdout, "SecretID"))

	// Stream the debug log through the API while the rest happens.
	ctx, stop := context.WithCancel(context.Background())
	monitored := make(chan string, 1)
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url("/v1/agent/monitor?loglevel=debug"), nil)
	req.Header.Set("X-Consul-Token", mgmt)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			monitored <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		monitored <- string(b)
	}()
	time.Sleep(200 * time.Millisecond)

	cli(mgmt, "acl", "policy", "create", "-name", "everything-read", "-rules",
		`key_prefix "" { policy = "read" } node_prefix "" { policy = "write" } service_prefix "" { policy = "read" }`)
	cli(mgmt, "acl", "token", "create", "-description", "agent", "-policy-name", "everything-read", "-secret", agentTok)
	cli(mgmt, "acl", "token", "create", "-description", "default", "-policy-name", "everything-read", "-secret", defaultTok)
	r := cli(mgmt, "acl", "token", "create", "-description", "reader", "-policy-name", "everything-read")
	reader, readerID := secrets.add(t, value(r.stdout, "SecretID")), value(r.stdout, "AccessorID")
	cli(mgmt, "acl", "token", "update", "-id", readerID, "-description", "renamed")
	secrets.add(t, value(cli(mgmt, "acl", "token", "clone", "-id", readerID).stdout, "SecretID"))
	cli(reader, "acl", "token", "read", "-self")
	cli(mgmt, "acl", "token", "list")
	cli(mgmt, "kv", "put", "app/x", "1")
	cli(mgmt, "members")

	// The token in each place a client puts it, known, unknown and
	// lacking the right.
	unknown := secrets.add(t, "3a0f9dab-unknown-token-2d7e6b8c5f44")
	for _, tok := range []string{reader, unknown} {
		curl(t, "-H", "X-Consul-Token: "+tok, a.url("/v1/kv/app/x"))
		curl(t, "-H", "Authorization: Bearer "+tok, a.url("/v1/catalog/nodes"))
		curl(t, a.url("/v1/kv/app/x?token="+tok))
		curl(t, "-X", "PUT", "-d", "2", a.url("/v1/kv/app/x?token="+tok))
		curl(t, a.url("/v1/agent/self?token="+tok))
		curl(t, "-X", "PUT", a.url("/v1/agent/reload?token="+tok))
	}
	curl(t, "-H", "X-Consul-Token: "+recovery, a.url("/v1/agent/self"))

	// The legacy API, whose IDs are the secrets.
	var legacy struct{ ID string }
	json.Unmarshal([]byte(curl(t, "-X", "PUT", "-d", `{"Name":"legacy","Type":"client"}`, a.url("/v1/acl/create?token="+mgmt))), &legacy)
	secrets.add(t, legacy.ID)
	curl(t, a.url("/v1/acl/info/"+legacy.ID+"?token="+mgmt))
	curl(t, a.url("/v1/acl/info/"+legacy.ID+"?token="+reader))
	var cloned struct{ ID string }
	json.Unmarshal([]byte(curl(t, "-X", "PUT", a.url("/v1/acl/clone/"+legacy.ID+"?token="+mgmt))), &cloned)
	secrets.add(t, cloned.ID)
	curl(t, "-X", "PUT", a.url("/v1/acl/destroy/"+legacy.ID+"?token="+mgmt))
	curl(t, "-X", "PUT", a.url("/v1/acl/destroy/"+unknown+"?token="+reader))

	// The agent's tokens changed through the API.
	cli(mgmt, "acl", "set-agent-token", "default", reader)
	curl(t, "-X", "PUT", "-d", `{"Token":"`+unknown+`"}`, a.url("/v1/agent/token/agent?token="+mgmt))
	curl(t, "-X", "PUT", "-d", `{"Token":"`+agentTok+`"}`, a.url("/v1/agent/token/agent?token="+mgmt))

	self := curl(t, "-H", "X-Consul-Token: "+mgmt, a.url("/v1/agent/self"))
	if !strings.Contains(self, `"NodeName":"secrets"`) {
		t.Fatalf("agent/self: %.300s", self)
	}
	secrets.check(t, "/v1/agent/self", self)
	for _, q := range []string{"", "?format=prometheus"} {
		metrics := curl(t, "-H", "X-Consul-Token: "+mgmt, a.url("/v1/agent/metrics"+q))
		if !strings.Contains(metrics, "acl") {
			t.Fatalf("metrics%s name no ACL endpoint: %.300s", q, metrics)
		}
		secrets.check(t, "/v1/agent/metrics"+q, metrics)
	}

	time.Sleep(300 * time.Millisecond)
	stop()
	mon := <-monitored
	if !strings.Contains(mon, "agent ACL token updated") {
		t.Fatalf("the monitor stream missed the token updates:\n%s", mon)
	}
	secrets.check(t, "/v1/agent/monitor", mon)

	a.signal(syscall.SIGTERM)
	a.wait(20 * time.Second)
	logs := a.stdout.String() + a.stderr.String()
	for _, want := range []string{"ACL system bootstrapped", "agent ACL token updated"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lacks %q:\n%s", want, a.output())
		}
	}
	secrets.check(t, "the agent's log", logs)
}
