package http

import (
	"encoding/json"
	"fmt"

	"github.com/beacon-sd/beacon/core/structs"
)

// The body of /v1/txn as the official client writes it (api.TxnOps), read
// strictly: every field either does what it does in Consul or, where it
// asks for what beacon does not have (namespaces, partitions, peering,
// service mesh), is refused by name. Index fields a client sends back as it
// read them (CreateIndex, a service's ContentHash) are read-only, as in
// Consul.

type txnOpIn struct {
	KV      *txnKVIn
	Node    *txnNodeIn
	Service *txnServiceIn
	Check   *txnCheckIn
	// Session ends a session (Consul's servers know this operation; its
	// API client has no field for it).
	Session *txnSessionIn
}

// tenancy is what Consul Enterprise adds to each kind; the default (empty
// or "default") is the only one beacon has.
type tenancy struct {
	Namespace string
	Partition string
}

func (t *tenancy) check() error {
	if t.Namespace != "" && t.Namespace != "default" {
		return fmt.Errorf("Namespace %q: namespaces are a Consul Enterprise feature; beacon has only the default one", t.Namespace)
	}
	if t.Partition != "" && t.Partition != "default" {
		return fmt.Errorf("Partition %q: admin partitions are a Consul Enterprise feature; beacon has only the default one", t.Partition)
	}
	return nil
}

type txnKVIn struct {
	Verb    structs.KVOp
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
	tenancy
}

type nodeIn struct {
	structs.Node
	Partition string
	PeerName  string
	Locality  json.RawMessage
}

type txnNodeIn struct {
	Verb structs.TxnVerb
	Node nodeIn
}

type serviceIn struct {
	structs.NodeService
	Ports       json.RawMessage
	SocketPath  string
	ContentHash string
	PeerName    string
	Locality    json.RawMessage
	tenancy
}

type txnServiceIn struct {
	Verb    structs.TxnVerb
	Node    string
	Service serviceIn
}

type checkIn struct {
	structs.HealthCheck
	PeerName string
	tenancy
}

type txnCheckIn struct {
	Verb  structs.TxnVerb
	Check checkIn
}

type txnSessionIn struct {
	Verb    structs.TxnVerb
	Session struct{ ID string }
}

// present reports whether a raw JSON value says something: absent, null
// and empty values do not.
func present(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "{}", "[]":
		return false
	}
	return true
}

// convert turns the operation into the one servers apply; dc is the
// datacenter a node without one is in.
func (in *txnOpIn) convert(dc string) (*structs.TxnOp, error) {
	kinds := 0
	for _, set := range []bool{in.KV != nil, in.Node != nil, in.Service != nil, in.Check != nil, in.Session != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("an operation sets exactly one of KV, Node, Service, Check or Session; this one sets %d", kinds)
	}
	switch {
	case in.KV != nil:
		kv := in.KV
		if err := kv.tenancy.check(); err != nil {
			return nil, fmt.Errorf("KV: %w", err)
		}
		return &structs.TxnOp{KV: &structs.TxnKVOp{Verb: kv.Verb, DirEnt: structs.DirEntry{
			Key: kv.Key, Value: kv.Value, Flags: kv.Flags, Session: kv.Session,
			RaftIndex: structs.RaftIndex{ModifyIndex: kv.Index},
		}}}, nil
	case in.Node != nil:
		n := in.Node.Node
		switch {
		case n.Partition != "" && n.Partition != "default":
			return nil, fmt.Errorf("Node.Partition %q: admin partitions are a Consul Enterprise feature", n.Partition)
		case n.PeerName != "":
			return nil, fmt.Errorf("Node.PeerName %q: cluster peering is not supported", n.PeerName)
		case present(n.Locality):
			return nil, fmt.Errorf("Node.Locality: node localities are not supported")
		}
		node := n.Node
		node.CreateIndex = 0
		if node.Datacenter == "" {
			node.Datacenter = dc
		}
		return &structs.TxnOp{Node: &structs.TxnNodeOp{Verb: in.Node.Verb, Node: node}}, nil
	case in.Service != nil:
		sv := in.Service.Service
		if err := sv.tenancy.check(); err != nil {
			return nil, fmt.Errorf("Service: %w", err)
		}
		switch {
		case sv.Kind != "":
			return nil, fmt.Errorf("Service.Kind %q: service mesh is not supported", sv.Kind)
		case present(sv.Ports):
			return nil, fmt.Errorf("Service.Ports: multiple named ports are not supported; use Port")
		case sv.SocketPath != "":
			return nil, fmt.Errorf("Service.SocketPath: services on Unix sockets are not supported")
		case sv.PeerName != "":
			return nil, fmt.Errorf("Service.PeerName %q: cluster peering is not supported", sv.PeerName)
		case present(sv.Locality):
			return nil, fmt.Errorf("Service.Locality: service localities are not supported")
		case sv.Proxy.MeshGateway.Mode != "":
			return nil, fmt.Errorf("Service.Proxy: service mesh is not supported")
		}
		svc := sv.NodeService
		svc.CreateIndex, svc.Datacenter = 0, ""
		return &structs.TxnOp{Service: &structs.TxnServiceOp{Verb: in.Service.Verb, Node: in.Service.Node, Service: svc}}, nil
	case in.Check != nil:
		c := in.Check.Check
		if err := c.tenancy.check(); err != nil {
			return nil, fmt.Errorf("Check: %w", err)
		}
		if c.PeerName != "" {
			return nil, fmt.Errorf("Check.PeerName %q: cluster peering is not supported", c.PeerName)
		}
		check := c.HealthCheck
		check.CreateIndex = 0
		return &structs.TxnOp{Check: &structs.TxnCheckOp{Verb: in.Check.Verb, Check: check}}, nil
	}
	return &structs.TxnOp{Session: &structs.TxnSessionOp{Verb: in.Session.Verb,
		Session: structs.Session{ID: in.Session.Session.ID}}}, nil
}
