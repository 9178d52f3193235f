package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/cli"
	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// env is one running agent and a real API client talking to it.
type env struct {
	t      *testing.T
	addr   string
	client *api.Client
}

// startAgent starts an in-process `agent -dev` and points the commands at it
// through CONSUL_HTTP_ADDR, as a user's shell would.
func startAgent(t *testing.T, opts ...testagent.Option) *env {
	t.Helper()
	a := testagent.Start(t, opts...)
	t.Setenv(api.HTTPAddrEnvName, a.HTTPAddr)
	t.Setenv(api.HTTPTokenEnvName, "")
	t.Setenv(api.HTTPTokenFileEnvName, "")
	t.Setenv(api.HTTPSSLEnvName, "")
	return &env{t: t, addr: a.HTTPAddr, client: a.Client}
}

type result struct {
	code           int
	stdout, stderr string
}

// beacon runs `beacon ARGS...` and returns what it printed.
func (e *env) beacon(args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(append([]string{"beacon"}, args...), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// want runs the command and fails unless it exits with code and prints
// stdout exactly.
func (e *env) want(code int, stdout string, args ...string) result {
	e.t.Helper()
	r := e.beacon(args...)
	if r.code != code || r.stdout != stdout {
		e.t.Fatalf("beacon %s:\n exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q",
			strings.Join(args, " "), r.code, r.stdout, r.stderr, code, stdout)
	}
	return r
}

// ok runs the command, fails unless it exits 0, and returns its output.
func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.beacon(args...)
	if r.code != 0 {
		e.t.Fatalf("beacon %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

func TestE2EKV(t *testing.T) {
	e := startAgent(t)
	kv := e.client.KV()

	e.want(0, "Success! Data written to: cfg/x\n", "kv", "put", "cfg/x", "1")
	if p, _, err := kv.Get("cfg/x", nil); err != nil || p == nil || string(p.Value) != "1" {
		t.Fatalf("API sees %+v, %v", p, err)
	}
	e.want(0, "1\n", "kv", "get", "cfg/x")
	e.want(0, "1\n", "kv", "get", "/cfg/x")

	r := e.want(1, "", "kv", "get", "cfg/missing")
	if r.stderr != "Error! No key exists at: cfg/missing\n" {
		t.Errorf("missing key stderr %q", r.stderr)
	}

	e.want(0, "Success! Data written to: cfg/empty\n", "kv", "put", "cfg/empty")
	e.want(0, "\n", "kv", "get", "cfg/empty")

	e.want(0, "Success! Data written to: cfg/flagged\n", "kv", "put", "-flags", "42", "cfg/flagged", "v")
	r = e.ok("kv", "get", "-detailed", "cfg/flagged")
	for _, line := range []string{"Flags            42\n", "Key              cfg/flagged\n", "Session          -\n", "Value            v\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("-detailed output lacks %q:\n%s", line, r.stdout)
		}
	}

	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, []byte("line1\nline2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.want(0, "Success! Data written to: cfg/file\n", "kv", "put", "cfg/file", "@"+file)
	if p, _, _ := kv.Get("cfg/file", nil); p == nil || string(p.Value) != "line1\nline2\n" {
		t.Errorf("@file value %+v", p)
	}
	e.want(0, "Success! Data written to: cfg/b64\n", "kv", "put", "-base64", "cfg/b64", "aGVsbG8=")
	e.want(0, "hello\n", "kv", "get", "cfg/b64")
	e.want(0, "aGVsbG8=\n", "kv", "get", "-base64", "cfg/b64")

	e.want(0, "cfg/b64:hello\ncfg/empty:\ncfg/file:line1\nline2\n\ncfg/flagged:v\ncfg/x:1\n", "kv", "get", "-recurse", "cfg")
	e.want(0, "Success! Data written to: cfg/sub/a\n", "kv", "put", "cfg/sub/a", "1")
	e.want(0, "cfg/b64\ncfg/empty\ncfg/file\ncfg/flagged\ncfg/sub/\ncfg/x\n", "kv", "get", "-keys", "cfg/")
	e.want(0, "cfg/\n", "kv", "get", "-keys")
	e.want(0, "cfg/sub/a\n", "kv", "get", "-keys", "-separator=", "cfg/sub")

	// Check-and-set: index 0 means "only if absent".
	r = e.want(1, "", "kv", "put", "-cas", "-modify-index", "0", "cfg/x", "2")
	if !strings.Contains(r.stderr, "CAS failed") {
		t.Errorf("CAS failure stderr %q", r.stderr)
	}
	e.want(0, "Success! Data written to: cfg/new\n", "kv", "put", "-cas", "-modify-index", "0", "cfg/new", "n")
	p, _, _ := kv.Get("cfg/x", nil)
	idx := strconv.FormatUint(p.ModifyIndex, 10)
	e.want(0, "Success! Data written to: cfg/x\n", "kv", "put", "-cas", "-modify-index", idx, "cfg/x", "2")
	e.want(0, "2\n", "kv", "get", "cfg/x")

	r = e.want(1, "", "kv", "delete", "-cas", "-modify-index", idx, "cfg/x")
	if !strings.Contains(r.stderr, "Did not delete key cfg/x: CAS failed") {
		t.Errorf("delete CAS stderr %q", r.stderr)
	}
	p, _, _ = kv.Get("cfg/x", nil)
	e.want(0, "Success! Deleted key: cfg/x\n", "kv", "delete", "-cas", "-modify-index", strconv.FormatUint(p.ModifyIndex, 10), "cfg/x")
	e.want(0, "Success! Deleted key: cfg/new\n", "kv", "delete", "cfg/new")
	e.want(1, "", "kv", "get", "cfg/new")
	e.want(0, "Success! Deleted keys with prefix: cfg\n", "kv", "delete", "-recurse", "cfg")
	e.want(0, "", "kv", "get", "-recurse", "cfg")
}

func TestE2EKVAcquireRelease(t *testing.T) {
	e := startAgent(t)
	sess, _, err := e.client.Session().Create(&api.SessionEntry{Name: "e2e"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.client.Session().Create(&api.SessionEntry{Name: "other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.want(0, "Success! Lock acquired on: locks/l\n", "kv", "put", "-acquire", "-session", sess, "locks/l", "me")
	if p, _, _ := e.client.KV().Get("locks/l", nil); p == nil || p.Session != sess || p.LockIndex != 1 {
		t.Fatalf("after acquire: %+v", p)
	}
	e.want(1, "", "kv", "put", "-acquire", "-session", other, "locks/l", "them")
	e.want(1, "", "kv", "put", "-release", "-session", other, "locks/l")
	e.want(0, "Success! Lock released on: locks/l\n", "kv", "put", "-release", "-session", sess, "locks/l")
	if p, _, _ := e.client.KV().Get("locks/l", nil); p == nil || p.Session != "" {
		t.Fatalf("after release: %+v", p)
	}
}

func TestE2EServices(t *testing.T) {
	e := startAgent(t)
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "web.json")
	writeFile(t, jsonFile, `{"service":{"name":"web","tags":["rails"],"port":80,
		"check":{"http":"http://localhost:1/health","interval":"10s"}}}`)
	hclFile := filepath.Join(dir, "more.hcl")
	writeFile(t, hclFile, `
services {
  id   = "db-1"
  name = "db"
  port = 5432
  tags = ["primary"]
  meta { version = "15" }
}
services {
  name = "cache"
  Port = 6379
  check {
    ttl = "30s"
  }
}`)

	e.want(0, "Registered service: web\n", "services", "register", jsonFile)
	e.want(0, "Registered service: db\nRegistered service: cache\n", "services", "register", hclFile)
	svcs, err := e.client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if w := svcs["web"]; w == nil || w.Port != 80 || len(w.Tags) != 1 || w.Tags[0] != "rails" {
		t.Errorf("web = %+v", w)
	}
	if d := svcs["db-1"]; d == nil || d.Service != "db" || d.Meta["version"] != "15" {
		t.Errorf("db-1 = %+v", d)
	}
	checks, err := e.client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	var webCheck, cacheCheck bool
	for _, c := range checks {
		webCheck = webCheck || c.ServiceID == "web"
		cacheCheck = cacheCheck || c.ServiceID == "cache"
	}
	if !webCheck || !cacheCheck {
		t.Errorf("checks registered: %+v", checks)
	}

	// The catalog follows the agent through anti-entropy.
	waitfor.Until(t, 10*time.Second, "web in the catalog", func() bool {
		r := e.beacon("catalog", "services")
		return r.code == 0 && strings.Contains(r.stdout, "web\n")
	})
	r := e.ok("catalog", "services", "-tags")
	if !strings.Contains(r.stdout, "rails") || !strings.Contains(r.stdout, "primary") {
		t.Errorf("catalog services -tags:\n%s", r.stdout)
	}
	r = e.ok("catalog", "nodes", "-service", "web")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "Node") {
		t.Errorf("catalog nodes -service web:\n%s", r.stdout)
	}
	r = e.beacon("catalog", "nodes", "-service", "nope")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "No nodes match") {
		t.Errorf("nodes for unknown service: %+v", r)
	}

	e.want(0, "Deregistered service: web\n", "services", "deregister", jsonFile)
	e.want(0, "Deregistered service: db-1\nDeregistered service: cache\n", "services", "deregister", hclFile)

	e.want(0, "Registered service: api\n", "services", "register",
		"-name", "api", "-id", "api-1", "-port", "9090", "-tag", "a", "-tag", "b", "-meta", "team=core")
	svcs, _ = e.client.Agent().Services()
	if s := svcs["api-1"]; s == nil || s.Port != 9090 || strings.Join(s.Tags, ",") != "a,b" || s.Meta["team"] != "core" {
		t.Errorf("api-1 = %+v", s)
	}
	e.want(0, "Deregistered service: api-1\n", "services", "deregister", "-id", "api-1")
	svcs, _ = e.client.Agent().Services()
	if len(svcs) != 0 {
		t.Errorf("services left: %v", svcs)
	}
}

func TestE2EClusterInfo(t *testing.T) {
	e := startAgent(t)
	self, err := e.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	nodeName, _ := self["Config"]["NodeName"].(string)
	dc, _ := self["Config"]["Datacenter"].(string)

	e.want(0, dc+"\n", "catalog", "datacenters")

	waitfor.Until(t, 10*time.Second, "the agent's node in the catalog", func() bool {
		return strings.Contains(e.beacon("catalog", "nodes").stdout, nodeName)
	})
	r := e.ok("catalog", "nodes")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "Node ID Address DC" {
		t.Fatalf("catalog nodes:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); len(f) != 4 || f[0] != nodeName || len(f[1]) != 8 || f[3] != dc {
		t.Errorf("node row %q", lines[1])
	}
	r = e.ok("catalog", "services")
	if !strings.Contains(r.stdout, "consul\n") {
		t.Errorf("catalog services lacks consul:\n%s", r.stdout)
	}

	r = e.ok("members")
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Node") || !strings.Contains(lines[0], "Partition  Segment") {
		t.Fatalf("members:\n%s", r.stdout)
	}
	f := strings.Fields(lines[1])
	if len(f) < 8 || f[0] != nodeName || f[2] != "alive" || f[3] != "server" || f[len(f)-1] != "<all>" {
		t.Errorf("member row %q", lines[1])
	}
	r = e.ok("members", "-detailed")
	if !strings.Contains(r.stdout, "role=consul") {
		t.Errorf("members -detailed:\n%s", r.stdout)
	}
	e.want(2, "", "members", "-status", "failed")
	if r := e.ok("members", "-wan"); !strings.Contains(r.stdout, nodeName+"."+dc+" ") {
		t.Errorf("members -wan:\n%s", r.stdout)
	}

	e.want(0, "Configuration reload triggered\n", "reload")

	r = e.want(1, "", "kv", "get", "-http-addr", "127.0.0.1:1", "x")
	if !strings.Contains(r.stderr, "Error querying agent") {
		t.Errorf("unreachable agent stderr %q", r.stderr)
	}
	e.want(0, "Success! Data written to: via-url\n", "kv", "put", "-http-addr", "http://"+e.addr, "via-url", "1")
}

func TestE2ELock(t *testing.T) {
	e := startAgent(t)
	t.Setenv("SHELL", "/bin/sh")

	r := e.want(3, "held=true\n", "lock", "locks/job", `echo held=$CONSUL_LOCK_HELD; exit 3`)
	if r.stderr != "" {
		t.Errorf("lock stderr %q", r.stderr)
	}
	if p, _, _ := e.client.KV().Get("locks/job/.lock", nil); p != nil && p.Session != "" {
		t.Errorf("lock still held after the child exited: %+v", p)
	}

	e.want(0, "a b\n", "lock", "-shell=false", "-n", "2", "locks/sem", "echo", "a b")
	if pairs, _, _ := e.client.KV().List("locks/sem/", nil); len(pairs) > 1 {
		t.Errorf("semaphore entries left: %d", len(pairs))
	}

	// Someone else holds the lock: -timeout gives up.
	other, err := e.client.LockKey("locks/busy/.lock")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lock(nil); err != nil {
		t.Fatal(err)
	}
	r = e.want(1, "", "lock", "-timeout", "500ms", "locks/busy", "echo should-not-run")
	if !strings.Contains(r.stderr, "timeout during lock acquisition") {
		t.Errorf("busy lock stderr %q", r.stderr)
	}
	other.Unlock()

	// Losing the lock stops the child.
	done := make(chan result, 1)
	go func() { done <- e.beacon("lock", "locks/lost", "exec sleep 60") }()
	var session string
	waitfor.Until(t, 10*time.Second, "the lock to be taken", func() bool {
		p, _, err := e.client.KV().Get("locks/lost/.lock", nil)
		if err == nil && p != nil && p.Session != "" {
			session = p.Session
			return true
		}
		return false
	})
	if _, err := e.client.Session().Destroy(session, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code == 0 || !strings.Contains(r.stderr, "Lock lost, killing child") {
			t.Errorf("after losing the lock: %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child still running after its lock was lost")
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMaintCommand(t *testing.T) {
	a := testagent.Start(t)
	addr := "-http-addr=" + a.HTTPAddr
	a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web"})
	steps := []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"maint", addr, "-enable", "-reason", "deploy"}, 0, "Node entered maintenance mode"},
		{[]string{"maint", addr, "-enable", "-service", "web-1", "-reason", "db move"}, 0, "Service entered maintenance mode: web-1"},
		{[]string{"maint", addr}, 0, "Reason: deploy"},
		{[]string{"maint", addr}, 0, "ID:     web-1\n  Reason: db move"},
		{[]string{"maint", addr, "-disable", "-service", "web-1"}, 0, "Service left maintenance mode: web-1"},
		{[]string{"maint", addr, "-disable"}, 0, "Node left maintenance mode"},
		{[]string{"maint", addr, "-enable", "-disable"}, 1, ""},
		{[]string{"maint", addr, "-enable", "-service", "nope"}, 1, ""},
	}
	for _, st := range steps {
		var out, errOut bytes.Buffer
		code := cli.Run(append([]string{"beacon"}, st.args...), &out, &errOut)
		if code != st.code || !strings.Contains(out.String(), st.stdout) {
			t.Errorf("%v: exit %d stdout %q stderr %q", st.args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	if code := cli.Run([]string{"beacon", "maint", addr}, &out, &out); code != 0 || out.Len() != 0 {
		t.Errorf("after disabling everything: %d %q", code, out.String())
	}
}
