package structs

// MessageType names the kind of a write command.
type MessageType uint8

// Write command kinds. The numbers are stored in logs and snapshots: never
// renumber them, only add.
const (
	RegisterRequestType   MessageType = 1
	DeregisterRequestType MessageType = 2
	KVSRequestType        MessageType = 3
	SessionRequestType    MessageType = 4
	TombstoneRequestType  MessageType = 5
	ACLRequestType        MessageType = 6
	TxnRequestType        MessageType = 7
	ConnectCARequestType  MessageType = 9

	PreparedQueryRequestType MessageType = 8
	AutopilotRequestType     MessageType = 10
)

func (t MessageType) String() string {
	switch t {
	case RegisterRequestType:
		return "register"
	case DeregisterRequestType:
		return "deregister"
	case KVSRequestType:
		return "kvs"
	case SessionRequestType:
		return "session"
	case TombstoneRequestType:
		return "tombstone"
	case ACLRequestType:
		return "acl"
	case TxnRequestType:
		return "txn"
	case ConnectCARequestType:
		return "connect-ca"
	case PreparedQueryRequestType:
		return "prepared-query"
	case AutopilotRequestType:
		return "autopilot"
	}
	return "unknown"
}

// Command is one write to the state store. Exactly the field that Type names
// is set. Every write, whether applied directly or through a replicated log,
// is a Command.
type Command struct {
	Type       MessageType
	Register   *RegisterRequest   `json:",omitempty"`
	Deregister *DeregisterRequest `json:",omitempty"`
	KVS        *KVSRequest        `json:",omitempty"`
	Session    *SessionRequest    `json:",omitempty"`
	Tombstone  *TombstoneRequest  `json:",omitempty"`
	ACL        *ACLRequest        `json:",omitempty"`
	Txn        *TxnRequest        `json:",omitempty"`
	ConnectCA  *CARequest         `json:",omitempty"`

	PreparedQuery *PreparedQueryRequest `json:",omitempty"`
	Autopilot     *AutopilotSetRequest  `json:",omitempty"`
}

// WriteRequest carries what every write needs besides its payload.
// RequestID, set where a write enters the cluster, lets a write that is
// retried (its leader changed, or its connection broke) apply only once.
type WriteRequest struct {
	Token     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
}

// Write is a request that changes state; its request ID lets it be sent
// again without applying twice.
type Write interface{ EnsureRequestID() }

// EnsureRequestID gives the write an ID if it has none.
func (w *WriteRequest) EnsureRequestID() {
	if w.RequestID == "" {
		w.RequestID = GenerateUUID()
	}
}

// RequestID is the ID of the write a command carries, "" if none.
func (c *Command) RequestID() string {
	switch {
	case c.Register != nil:
		return c.Register.RequestID
	case c.Deregister != nil:
		return c.Deregister.RequestID
	case c.KVS != nil:
		return c.KVS.RequestID
	case c.Session != nil:
		return c.Session.RequestID
	case c.ACL != nil:
		return c.ACL.RequestID
	case c.Txn != nil:
		return c.Txn.RequestID
	case c.ConnectCA != nil:
		return c.ConnectCA.RequestID
	case c.PreparedQuery != nil:
		return c.PreparedQuery.RequestID
	case c.Autopilot != nil:
		return c.Autopilot.RequestID
	}
	return ""
}

// RegisterRequest registers a node and optionally a service and checks on it
// (the body of /v1/catalog/register).
type RegisterRequest struct {
	Datacenter      string
	ID              string
	Node            string
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *NodeService
	Check           *HealthCheck
	Checks          []*HealthCheck
	SkipNodeUpdate  bool
	WriteRequest
}

// DeregisterRequest removes a node, or one service or check of it.
type DeregisterRequest struct {
	Datacenter string
	Node       string
	ServiceID  string
	CheckID    string
	WriteRequest
}

// KVOp is a KV write operation.
type KVOp string

// KV write operations.
const (
	KVSet        KVOp = "set"
	KVCAS        KVOp = "cas"
	KVDelete     KVOp = "delete"
	KVDeleteCAS  KVOp = "delete-cas"
	KVDeleteTree KVOp = "delete-tree"
	KVLock       KVOp = "lock"
	KVUnlock     KVOp = "unlock"
)

// KVSRequest is one KV write.
type KVSRequest struct {
	Datacenter string
	Op         KVOp
	DirEnt     DirEntry
	WriteRequest
}

// Size is the bytes of the write's key and value, what limits on groups
// of writes count.
func (r *KVSRequest) Size() int { return len(r.DirEnt.Key) + len(r.DirEnt.Value) }

// SessionOp is a session write operation.
type SessionOp string

// Session write operations.
const (
	SessionCreate  SessionOp = "create"
	SessionDestroy SessionOp = "destroy"
)

// SessionRequest creates or destroys a session.
type SessionRequest struct {
	Datacenter string
	Op         SessionOp
	Session    Session
	WriteRequest
}

// TombstoneRequest drops KV tombstones up to an index.
type TombstoneRequest struct {
	ReapIndex uint64
}
