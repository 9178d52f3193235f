package structs

import (
	"fmt"
	"net"
	"strconv"
)

// MemberStatus is a gossip member's state, numbered as Consul reports it.
type MemberStatus int

// Member states.
const (
	MemberNone    MemberStatus = 0
	MemberAlive   MemberStatus = 1
	MemberLeaving MemberStatus = 2
	MemberLeft    MemberStatus = 3
	MemberFailed  MemberStatus = 4
)

func (s MemberStatus) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberLeaving:
		return "leaving"
	case MemberLeft:
		return "left"
	case MemberFailed:
		return "failed"
	}
	return "none"
}

// Member is one agent of the gossip pool. Tags carry what others need to
// know of it: role ("consul" for servers, "node" for clients), dc, id,
// port (the server RPC port), expect (bootstrap_expect), build.
type Member struct {
	Name   string
	Addr   string
	Port   uint16
	Tags   map[string]string
	Status MemberStatus
	// Run names the run of the member's agent: another one each time the
	// agent starts; "" for an agent of an older build.
	Run string
}

// IsServer reports whether the member runs a server.
func (m *Member) IsServer() bool { return m.Tags["role"] == "consul" }

// ID is the member's node ID.
func (m *Member) ID() string { return m.Tags["id"] }

// RPCAddr is the server's "ip:port" for RPC and raft; "" for clients.
func (m *Member) RPCAddr() string {
	p := m.Tags["port"]
	if !m.IsServer() || p == "" {
		return ""
	}
	return net.JoinHostPort(m.Addr, p)
}

// Expect is the member's bootstrap_expect, 0 when not set.
func (m *Member) Expect() int {
	n, _ := strconv.Atoi(m.Tags["expect"])
	return n
}

// KeyringResult is what the members of a gossip pool answered to a keyring
// list or change: on how many members each key is installed and is the
// primary, how many were asked, and what went wrong where.
type KeyringResult struct {
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
	Messages    map[string]string
}

// Count adds one member's answer.
func (r *KeyringResult) Count(node string, keys []string, primary, errMsg string) {
	if errMsg != "" {
		r.Messages[node] = errMsg
		return
	}
	for _, k := range keys {
		r.Keys[k]++
	}
	if primary != "" {
		r.PrimaryKeys[primary]++
	}
}

// Err reports members that did not succeed, as "N/M nodes reported success".
func (r *KeyringResult) Err() error {
	if len(r.Messages) == 0 {
		return nil
	}
	return fmt.Errorf("%d/%d nodes reported success", r.NumNodes-len(r.Messages), r.NumNodes)
}
