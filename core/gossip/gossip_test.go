package gossip

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

func newPool(t *testing.T, name string, keys ...[]byte) *Pool {
	t.Helper()
	p, err := New(Config{NodeName: name, BindAddr: "127.0.0.1", BindPort: 0,
		Tags: map[string]string{"role": "node", "dc": "dc1", "id": name + "-id"}, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Shutdown)
	return p
}

func addr(p *Pool) string {
	a, port := p.LocalAddr()
	return a + ":" + strconv.Itoa(port)
}

func statusOf(p *Pool, name string) structs.MemberStatus {
	for _, m := range p.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return structs.MemberNone
}

func waitStatus(t *testing.T, p *Pool, name string, want structs.MemberStatus, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if statusOf(p, name) == want {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not become %s within %v (is %s)", name, want, within, statusOf(p, name))
	return 0
}

func TestJoinFailLeave(t *testing.T) {
	a, b, c := newPool(t, "a"), newPool(t, "b"), newPool(t, "c")
	if n, err := b.Join([]string{addr(a)}); err != nil || n != 1 {
		t.Fatalf("join: %d %v", n, err)
	}
	if _, err := c.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Pool{a, b, c} {
		for _, name := range []string{"a", "b", "c"} {
			waitStatus(t, p, name, structs.MemberAlive, 5*time.Second)
		}
	}
	m := a.Members()
	if len(m) != 3 || m[1].Tags["id"] != "b-id" {
		t.Fatalf("members and tags: %+v", m)
	}

	c.Shutdown() // a crash: no leave message
	d := waitStatus(t, a, "c", structs.MemberFailed, 10*time.Second)
	t.Logf("crashed member marked failed after %v", d)

	if err := a.ForceLeave("c", false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, "c", structs.MemberLeft, 5*time.Second)
	if err := a.ForceLeave("b", false); err == nil {
		t.Fatal("force-leave of an alive member was accepted")
	}

	if err := b.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "b", structs.MemberLeft, 5*time.Second)
}

func TestEncryption(t *testing.T) {
	key1 := []byte("0123456789abcdef0123456789abcdef")
	key2 := []byte("fedcba9876543210fedcba9876543210")
	a := newPool(t, "a", key1)
	b := newPool(t, "b", key1)
	if _, err := b.Join([]string{addr(a)}); err != nil {
		t.Fatalf("same key: %v", err)
	}
	wrong := newPool(t, "wrong", key2)
	_, err := wrong.Join([]string{addr(a)})
	if err == nil || !strings.Contains(err.Error(), "encrypt key") {
		t.Fatalf("wrong key: %v", err)
	}
	plain := newPool(t, "plain")
	if _, err := plain.Join([]string{addr(a)}); err == nil {
		t.Fatal("an agent without a key joined an encrypted pool")
	}
	time.Sleep(300 * time.Millisecond)
	if s := statusOf(a, "wrong"); s != structs.MemberNone {
		t.Fatalf("wrong-key agent is a member: %s", s)
	}

	// Rotation: install a new key, make it primary, remove the old one;
	// the pool keeps talking throughout.
	k2 := base64.StdEncoding.EncodeToString(key2)
	k1 := base64.StdEncoding.EncodeToString(key1)
	// Each operation has reached every member when it returns, so the next
	// one can follow at once.
	for _, op := range [][2]string{{"install", k2}, {"use", k2}, {"remove", k1}} {
		res, err := a.Keyring(op[0], op[1])
		if err != nil || res.NumNodes != 2 || len(res.Messages) != 0 {
			t.Fatalf("%s: %+v, %v", op[0], res, err)
		}
		keys, _ := b.Keys()
		done := (op[0] == "install" && len(keys) == 2) || (op[0] == "use" && keys[0] == k2) || (op[0] == "remove" && len(keys) == 1)
		if !done {
			t.Fatalf("%s had not reached b when it returned: %v", op[0], keys)
		}
	}
	res, err := b.Keyring("list", "")
	if err != nil || res.NumNodes != 2 || res.Keys[k2] != 2 || res.PrimaryKeys[k2] != 2 || len(res.Keys) != 1 {
		t.Fatalf("list: %+v, %v", res, err)
	}
	if _, err := a.Keyring("remove", k2); err == nil {
		t.Fatal("removed the primary key")
	}
	c := newPool(t, "c", key2)
	if _, err := c.Join([]string{addr(b)}); err != nil {
		t.Fatalf("joining with the rotated key: %v", err)
	}
}

func TestKeyringPersists(t *testing.T) {
	file := filepath.Join(t.TempDir(), "local.keyring")
	key1 := []byte("0123456789abcdef0123456789abcdef")
	p, err := New(Config{NodeName: "k", BindAddr: "127.0.0.1", KeyringFile: file, Keys: [][]byte{key1}})
	if err != nil {
		t.Fatal(err)
	}
	k2 := base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	p.Keyring("install", k2)
	p.Keyring("use", k2)
	p.Shutdown()
	// Restarted with the old configured key, the rotated keyring wins.
	p2, err := New(Config{NodeName: "k", BindAddr: "127.0.0.1", KeyringFile: file, Keys: [][]byte{key1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Shutdown()
	keys, _ := p2.Keys()
	if len(keys) != 2 || keys[0] != k2 {
		t.Fatalf("restored keyring: %v", keys)
	}
}

func TestWithPort(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":       "10.0.0.1:8301",
		"10.0.0.1:9999":  "10.0.0.1:9999",
		"consul-server":  "consul-server:8301",
		"::1":            "[::1]:8301",
		"[::1]:7000":     "[::1]:7000",
		"a.example:8301": "a.example:8301",
	} {
		if got := withPort(in, 8301); got != want {
			t.Errorf("withPort(%q) = %q, want %q", in, got, want)
		}
	}
	_ = fmt.Sprint()
}

func TestDuplicateNameIsRefused(t *testing.T) {
	a := newPool(t, "a")
	b := newPool(t, "b")
	if _, err := b.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	// a merges b's state only after answering b's join, so wait until a
	// knows b before the duplicate appears.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if len(a.Members()) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a never saw b: %+v", a.Members())
		}
	}
	dup := newPool(t, "b") // same name, other address
	dup.Join([]string{addr(a)})
	time.Sleep(500 * time.Millisecond)
	for _, m := range a.Members() {
		if m.Name == "b" {
			_, port := b.LocalAddr()
			if int(m.Port) != port {
				t.Fatalf("the duplicate replaced the first agent named b: %+v", m)
			}
		}
	}
}

func TestKeyringReportsUnreachableMembers(t *testing.T) {
	key := []byte("0123456789abcdef")
	a := newPool(t, "a", key)
	b := newPool(t, "b", key)
	c := newPool(t, "c", key)
	for _, p := range []*Pool{b, c} {
		if _, err := p.Join([]string{addr(a)}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); statusOf(a, "c") != structs.MemberAlive || statusOf(a, "b") != structs.MemberAlive; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a never saw b and c")
		}
	}
	c.Shutdown() // gone before anyone noticed
	res, err := a.Keyring("install", base64.StdEncoding.EncodeToString([]byte("fedcba9876543210")))
	if err == nil || err.Error() != "2/3 nodes reported success" || res.Messages["c"] == "" || res.Keys[base64.StdEncoding.EncodeToString(key)] != 2 {
		t.Fatalf("install with c down: %+v, %v", res, err)
	}
}

func TestLeaveAnnouncedAfterFailure(t *testing.T) {
	a := newPool(t, "a")
	for _, tc := range []struct {
		name   string
		status structs.MemberStatus
		ago    time.Duration
		want   structs.MemberStatus
	}{
		{"alive", structs.MemberAlive, 0, structs.MemberLeaving},
		{"just-failed", structs.MemberFailed, time.Second, structs.MemberLeft},
		{"failed-long-ago", structs.MemberFailed, time.Minute, structs.MemberFailed},
		{"left", structs.MemberLeft, time.Second, structs.MemberLeft},
	} {
		a.mu.Lock()
		a.members[tc.name] = &member{Member: structs.Member{Name: tc.name, Status: tc.status}, since: time.Now().Add(-tc.ago)}
		a.mu.Unlock()
		a.markLeaving(tc.name, "")
		if got := statusOf(a, tc.name); got != tc.want {
			t.Errorf("%s: leave announcement made it %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Encryption turned on in a running pool, one agent at a time: first the
// key with plain gossip still accepted and sent, then encrypted sending,
// then plain gossip refused.
func TestEncryptionRollout(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	newWith := func(name string, acceptPlain, sendPlain bool) *Pool {
		p, err := New(Config{NodeName: name, BindAddr: "127.0.0.1", Keys: [][]byte{key},
			AcceptPlain: acceptPlain, SendPlain: sendPlain,
			Tags: map[string]string{"role": "node", "dc": "dc1", "id": name + "-id"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Shutdown)
		return p
	}
	plain := newPool(t, "plain")
	step1 := newWith("step1", true, true)
	if _, err := step1.Join([]string{addr(plain)}); err != nil {
		t.Fatalf("key installed, plain gossip still sent and accepted: %v", err)
	}
	waitStatus(t, plain, "step1", structs.MemberAlive, 5*time.Second)

	step2 := newWith("step2", true, false)
	if _, err := step2.Join([]string{addr(step1)}); err != nil {
		t.Fatalf("encrypted sending to an agent that accepts both: %v", err)
	}
	waitStatus(t, step1, "step2", structs.MemberAlive, 5*time.Second)

	strict := newWith("strict", false, false)
	if _, err := strict.Join([]string{addr(step2)}); err != nil {
		t.Fatalf("encrypted agents: %v", err)
	}
	late := newPool(t, "late")
	if _, err := late.Join([]string{addr(strict)}); err == nil {
		t.Fatal("an agent refusing plain gossip let a plain agent join through it")
	}
}

// TestReconnectWhileMembersChange runs the reconnect pass while a failed
// member's entry is rewritten: under -race, reading the entry's address
// outside the lock is reported.
func TestReconnectWhileMembersChange(t *testing.T) {
	a := newPool(t, "a")
	a.mu.Lock()
	a.members["gone"] = &member{Member: structs.Member{Name: "gone", Addr: "127.0.0.1", Port: 1, Status: structs.MemberFailed}}
	a.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			a.reconnect()
		}
	}()
	for i := 0; i < 200; i++ {
		a.mu.Lock()
		m := a.members["gone"]
		m.Member = structs.Member{Name: "gone", Addr: "127.0.0.1", Port: uint16(1 + i%2), Status: structs.MemberFailed}
		a.mu.Unlock()
	}
	<-done
}
