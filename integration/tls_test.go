package integration

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// tlsDir makes a CA and certificates with `beacon tls`, as a user would,
// and returns the directory holding them.
func tlsDir(t *testing.T, certArgs ...[]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range append([][]string{{"ca", "create"}}, certArgs...) {
		cmd := exec.Command(beaconBin, append([]string{"tls"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("beacon tls %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

// Three servers and a client with TLS on the server port, client
// certificates required and server names checked: writes replicate, the
// client registers services, plain connections are refused, and a server
// holding another datacenter's certificate is kept out of raft.
func TestTLSCluster(t *testing.T) {
	skipShort(t)
	dir := tlsDir(t, []string{"cert", "create", "-server"}, []string{"cert", "create", "-client"},
		[]string{"cert", "create", "-server", "-dc", "dc2"})
	file := func(name string) string { return filepath.Join(dir, name) }
	secure := map[string]interface{}{
		"ca_file": file("consul-agent-ca.pem"), "verify_incoming_rpc": true,
		"verify_outgoing": true, "verify_server_hostname": true,
	}
	c := newTunedCluster(t, 3, 1, secure, func(a *agent, cfg map[string]interface{}) {
		cfg["cert_file"], cfg["key_file"] = file("dc1-client-consul-0.pem"), file("dc1-client-consul-0-key.pem")
		if a.server {
			cfg["cert_file"], cfg["key_file"] = file("dc1-server-consul-0.pem"), file("dc1-server-consul-0-key.pem")
		}
	})
	c.ready(30 * time.Second)
	client := c.clients()[0]

	// Writes through the client reach every server.
	if _, err := client.client.KV().Put(&api.KVPair{Key: "tls/k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("write through the client: %v", err)
	}
	err := client.client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.servers() {
		waitfor.Until(t, 10*time.Second, "the write and the service on "+s.name, func() bool {
			p, _, err := s.client.KV().Get("tls/k", &api.QueryOptions{AllowStale: true})
			svcs, _, err2 := s.client.Catalog().Service("web", "", &api.QueryOptions{AllowStale: true})
			return err == nil && p != nil && string(p.Value) == "v" && err2 == nil && len(svcs) == 1 && svcs[0].Node == client.name
		})
	}

	// A connection without TLS is refused on every server.
	s1 := c.servers()[0]
	for _, kind := range []string{"R", "B"} {
		conn, err := net.Dial("tcp", s1.rpcAddr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(kind))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(make([]byte, 1)); err == nil || n > 0 {
			t.Fatalf("plain %q connection was answered", kind)
		}
		conn.Close()
	}
	waitfor.Until(t, 5*time.Second, "the refusal in the log", func() bool {
		return s1.logContains("non-TLS connection attempted with verify_incoming_rpc set")
	})

	// A server whose certificate is dc2's joins the pool but not raft.
	rogue := newTunedCluster(t, 1, 0, secure, func(a *agent, cfg map[string]interface{}) {
		cfg["node_name"] = "rogue"
		cfg["bootstrap_expect"] = 3
		cfg["retry_join"] = []string{fmt.Sprintf("127.0.0.1:%d", s1.serf)}
		cfg["cert_file"], cfg["key_file"] = file("dc2-server-consul-0.pem"), file("dc2-server-consul-0-key.pem")
	}).agents[0]
	rogue.waitHTTP(15 * time.Second)
	waitfor.Until(t, 20*time.Second, "the leader to refuse the rogue server", func() bool {
		for _, s := range c.servers() {
			if s.logContains("not adding a server to raft") && s.logContains("server.dc2.consul") {
				t.Logf("%s refused the rogue server:\n%s", s.name, s.logLine("not adding a server to raft"))
				return true
			}
		}
		return false
	})
	peers, err := s1.client.Status().Peers()
	if err != nil || len(peers) != 3 {
		t.Fatalf("raft peers with the rogue server around: %v %v", peers, err)
	}
	for _, p := range peers {
		if p == rogue.rpcAddr() {
			t.Fatalf("the rogue server is a raft peer: %v", peers)
		}
	}
	// The client goes on working with the rogue server in its server list.
	for i := 0; i < 10; i++ {
		if _, err := client.client.KV().Put(&api.KVPair{Key: fmt.Sprintf("tls/after/%d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatalf("write %d with the rogue server around: %v", i, err)
		}
	}
}
