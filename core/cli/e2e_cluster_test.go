package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/daemon"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// node is a non-dev agent started in-process on free loopback ports.
type node struct {
	*env
	d        *daemon.Daemon
	name     string
	dataDir  string
	serfAddr string // host:port of its LAN gossip
}

// startNode starts a server (bootstrapping alone) or a client with gossip
// encrypted by key; the commands of its env talk to its HTTP API.
func startNode(t *testing.T, name string, server bool, key string) *node {
	t.Helper()
	dataDir := t.TempDir()
	src := config.Source{Name: name, Format: "json", Data: []byte(fmt.Sprintf(
		`{"node_name":%q,"server":%t,"bootstrap":%t,"bind_addr":"127.0.0.1","data_dir":%q,"encrypt":%q,`+
			`"ports":{"http":0,"dns":-1,"server":0,"serf_lan":0},"log_level":"warn"}`,
		name, server, server, dataDir, key))}
	load := func() (*config.Config, error) { return config.Build(false, []config.Source{src}) }
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	out := &testLog{t: t}
	t.Cleanup(out.stop) // runs after the shutdown below: gossip timers may still log
	level := hclog.Warn
	if os.Getenv("BEACON_TEST_LOG") != "" {
		level = hclog.Debug
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: out})
	d, err := daemon.Start(cfg, daemon.Options{Logger: logger, Load: load})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	ac := api.DefaultNonPooledConfig()
	ac.Address = d.HTTPAddrs()[0].String()
	client, err := api.NewClient(ac)
	if err != nil {
		t.Fatal(err)
	}
	host, port := d.Gossip.LocalAddr()
	return &node{env: &env{t: t, addr: ac.Address, client: client}, d: d, name: name, dataDir: dataDir,
		serfAddr: host + ":" + strconv.Itoa(port)}
}

// on runs a command against this node's agent.
func (n *node) on(args ...string) result {
	n.t.Helper()
	return n.beacon(append(args[:1:1], append([]string{"-http-addr=" + n.addr}, args[1:]...)...)...)
}

// onSub is on for a subcommand of a group (`operator raft list-peers`).
func (n *node) onSub(words int, args ...string) result {
	n.t.Helper()
	return n.beacon(append(append(args[:words:words], "-http-addr="+n.addr), args[words:]...)...)
}

// testLog sends an agent's log to the test log until the test ends.
type testLog struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLog) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// primaryKey is the gossip key this node encrypts with, read from its
// persisted keyring (base64 keys, the primary first): the keyring endpoint
// does not say which key is the primary.
func (n *node) primaryKey() string {
	b, err := os.ReadFile(filepath.Join(n.dataDir, "serf", "local.keyring"))
	if err != nil {
		return ""
	}
	var keys []string
	if json.Unmarshal(b, &keys) != nil || len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// memberStatus is name's status in n's member list, "" if absent.
func (n *node) memberStatus(name string) string {
	ms, err := n.client.Agent().Members(false)
	if err != nil {
		return ""
	}
	for _, m := range ms {
		if m.Name == name {
			return map[int]string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}[m.Status]
		}
	}
	return ""
}

func TestE2ECluster(t *testing.T) {
	keygen := func() string {
		r := (&env{t: t}).ok("keygen")
		return strings.TrimSpace(r.stdout)
	}
	key := keygen()
	srv := startNode(t, "srv-1", true, key)
	waitfor.Until(t, 10*time.Second, "a leader", func() bool { l, _ := srv.client.Status().Leader(); return l != "" })
	cl := startNode(t, "client-1", false, key)

	// join: the client contacts the server's gossip port.
	r := cl.on("join", srv.serfAddr)
	if r.code != 0 || r.stdout != "Successfully joined cluster by contacting 1 nodes.\n" {
		t.Fatalf("join: %+v", r)
	}
	waitfor.Until(t, 10*time.Second, "the client alive on the server", func() bool { return srv.memberStatus("client-1") == "alive" })
	if r := cl.on("join", "127.0.0.1:1", srv.serfAddr); r.code != 0 || !strings.Contains(r.stderr, "Error joining address '127.0.0.1:1'") ||
		r.stdout != "Successfully joined cluster by contacting 1 nodes.\n" {
		t.Errorf("join with one bad address: %+v", r)
	}

	// info tells the roles apart.
	r = srv.on("info")
	for _, want := range []string{"\tserver = true\n", "\tleader = true\n", "\tstate = Leader\n", "\tencrypted = true\n", "\tmembers = 2\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("server info lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cl.on("info")
	for _, want := range []string{"\tserver = false\n", "\tknown_servers = 1\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("client info lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "leader = true") || strings.Contains(r.stdout, "raft:") {
		t.Errorf("client info claims raft state:\n%s", r.stdout)
	}

	// list-peers through the client, answered by the server.
	r = cl.onSub(3, "operator", "raft", "list-peers")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "Node ") {
		t.Fatalf("list-peers: %+v", r)
	}
	if f := strings.Fields(lines[1]); f[0] != "srv-1" || f[3] != "leader" || f[4] != "true" {
		t.Errorf("peer row %q", lines[1])
	}
	r = srv.onSub(3, "operator", "raft", "remove-peer", "-id", "no-such-server")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error removing peer: ") {
		t.Errorf("remove-peer of an unknown ID: %+v", r)
	}

	// autopilot health decodes in the official client.
	health, err := cl.client.Operator().AutopilotServerHealth(nil)
	if err != nil || !health.Healthy || len(health.Servers) != 1 || health.Servers[0].StableSince.IsZero() ||
		!health.Servers[0].Leader {
		t.Errorf("autopilot health: %+v, %v", health, err)
	}
	self, err := srv.client.Agent().Self()
	if err != nil || self["Stats"]["consul"].(map[string]interface{})["leader"] != "true" {
		t.Errorf("server self stats: %v, %v", self["Stats"], err)
	}
	if self, _ := cl.client.Agent().Self(); self["Stats"]["consul"].(map[string]interface{})["leader"] != "false" {
		t.Errorf("client self stats claim leadership: %v", self["Stats"])
	}

	// keyring: rotate the gossip key without downtime.
	list := func() string {
		t.Helper()
		r := srv.on("keyring", "-list")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "==> Gathering installed encryption keys...\n\ndc1 (LAN):\n") {
			t.Fatalf("keyring -list: %+v", r)
		}
		return r.stdout
	}
	if got := list(); !strings.Contains(got, "  "+key+" [2/2]\n") {
		t.Fatalf("keyring -list:\n%s", got)
	}
	next := keygen()
	srv.want(0, "==> Installing new gossip encryption key...\n", "keyring", "-http-addr="+srv.addr, "-install", next)
	// Each step must reach every member before the next one: a member told
	// to encrypt with a key another does not hold yet cuts itself off.
	waitfor.Until(t, 10*time.Second, "the new key on the client", func() bool { return strings.Contains(cl.on("keyring", "-list").stdout, next) })
	if got := list(); !strings.Contains(got, next+" [2/2]") || !strings.Contains(got, key+" [2/2]") {
		t.Errorf("keyring -list after -install:\n%s", got)
	}
	srv.want(0, "==> Changing primary gossip encryption key...\n", "keyring", "-http-addr="+srv.addr, "-use", next)
	waitfor.Until(t, 10*time.Second, "the new primary on the client", func() bool { return cl.primaryKey() == next })
	r = srv.on("keyring", "-remove", next)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "error: ") {
		t.Errorf("removing the primary key: %+v", r)
	}
	srv.want(0, "==> Removing gossip encryption key...\n", "keyring", "-http-addr="+srv.addr, "-remove", key)
	waitfor.Until(t, 10*time.Second, "only the new key", func() bool { l := list(); return !strings.Contains(l, key) && strings.Contains(l, next) })
	if r := cl.on("members"); r.code != 0 || strings.Count(r.stdout, "alive") != 2 {
		t.Errorf("members after the rotation:\n%s", r.stdout)
	}

	// A snapshot through the client: saved by the leader, restored
	// through raft.
	cl.onSub(2, "kv", "put", "cfg/mode", "blue")
	file := filepath.Join(t.TempDir(), "cluster.snap")
	if r := cl.onSub(2, "snapshot", "save", file); r.code != 0 || !strings.HasPrefix(r.stdout, "Saved and verified snapshot to index ") {
		t.Fatalf("snapshot save: %+v", r)
	}
	cl.onSub(2, "kv", "put", "cfg/mode", "green")
	if r := cl.onSub(2, "snapshot", "restore", file); r.code != 0 || r.stdout != "Restored snapshot\n" {
		t.Fatalf("snapshot restore: %+v", r)
	}
	waitfor.Until(t, 10*time.Second, "the restored value", func() bool { return cl.onSub(2, "kv", "get", "cfg/mode").stdout == "blue\n" })

	// leave, then force-leave -prune takes the node out of the list. On a
	// loaded machine the server may see the leaving client's own goodbye
	// before its announcement and call it failed: the gossip layer's race,
	// not the commands'; the client is gone either way.
	cl.want(0, "Graceful leave complete\n", "leave", "-http-addr="+cl.addr)
	var status string
	waitfor.Until(t, 10*time.Second, "the client gone", func() bool {
		status = srv.memberStatus("client-1")
		return status == "left" || status == "failed"
	})
	if status != "left" {
		t.Logf("the server saw the leaving client as %s", status)
	}
	srv.want(0, "", "force-leave", "-http-addr="+srv.addr, "-prune", "client-1")
	waitfor.Until(t, 10*time.Second, "the client pruned", func() bool { return srv.memberStatus("client-1") == "" })
}
