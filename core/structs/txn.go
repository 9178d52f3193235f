package structs

// MaxTxnOps is the most operations one transaction may hold.
const MaxTxnOps = 128

// DefaultTxnMaxReqLen is the default bound on a transaction's request body
// (limits.txn_max_req_len).
const DefaultTxnMaxReqLen = 512 * 1024

// KV verbs that only a transaction knows: reads and checks whose outcome
// decides whether the whole transaction applies.
const (
	KVGet            KVOp = "get"
	KVGetOrEmpty     KVOp = "get-or-empty"
	KVGetTree        KVOp = "get-tree"
	KVCheckSession   KVOp = "check-session"
	KVCheckIndex     KVOp = "check-index"
	KVCheckNotExists KVOp = "check-not-exists"
)

// TxnVerb is what a node, service, check or session operation of a
// transaction does.
type TxnVerb string

// Verbs of node, service and check operations (a session operation knows
// only delete).
const (
	TxnGet       TxnVerb = "get"
	TxnSet       TxnVerb = "set"
	TxnCAS       TxnVerb = "cas"
	TxnDelete    TxnVerb = "delete"
	TxnDeleteCAS TxnVerb = "delete-cas"
)

// TxnKVOp is a KV operation; DirEnt.ModifyIndex carries the index of cas,
// delete-cas and check-index.
type TxnKVOp struct {
	Verb   KVOp
	DirEnt DirEntry
}

// TxnNodeOp is a node operation; Node.ModifyIndex carries the index of
// cas and delete-cas.
type TxnNodeOp struct {
	Verb TxnVerb
	Node Node
}

// TxnServiceOp is an operation on one service instance of a node.
type TxnServiceOp struct {
	Verb    TxnVerb
	Node    string
	Service NodeService
}

// TxnCheckOp is an operation on one check of a node.
type TxnCheckOp struct {
	Verb  TxnVerb
	Check HealthCheck
}

// TxnSessionOp destroys a session, as /v1/session/destroy does.
type TxnSessionOp struct {
	Verb    TxnVerb
	Session Session
}

// TxnOp is one operation of a transaction: exactly one field is set.
type TxnOp struct {
	KV      *TxnKVOp      `json:",omitempty"`
	Node    *TxnNodeOp    `json:",omitempty"`
	Service *TxnServiceOp `json:",omitempty"`
	Check   *TxnCheckOp   `json:",omitempty"`
	Session *TxnSessionOp `json:",omitempty"`
}

// IsWrite reports whether the operation may change state: a transaction
// without one is answered from a server's store without the log.
func (op *TxnOp) IsWrite() bool {
	switch {
	case op.KV != nil:
		switch op.KV.Verb {
		case KVGet, KVGetOrEmpty, KVGetTree, KVCheckSession, KVCheckIndex, KVCheckNotExists:
			return false
		}
		return true
	case op.Node != nil:
		return op.Node.Verb != TxnGet
	case op.Service != nil:
		return op.Service.Verb != TxnGet
	case op.Check != nil:
		return op.Check.Verb != TxnGet
	}
	return op.Session != nil
}

// TxnRequest is a transaction with at least one write; it applies as one
// log entry, all of it or none.
type TxnRequest struct {
	Datacenter string
	Ops        []*TxnOp
	WriteRequest
}

// TxnReadRequest is a transaction of reads and checks only.
type TxnReadRequest struct {
	Datacenter string
	Ops        []*TxnOp
	QueryOptions
}

// TxnResult is what one operation returned; reads and sets return the
// row, deletes and most checks nothing.
type TxnResult struct {
	KV      *DirEntry    `json:",omitempty"`
	Node    *Node        `json:",omitempty"`
	Service *NodeService `json:",omitempty"`
	Check   *HealthCheck `json:",omitempty"`
}

// TxnError says why the operation at OpIndex failed.
type TxnError struct {
	OpIndex int
	What    string
}

// TxnResponse is a transaction's outcome: Results when it applied, Errors
// (one per failed operation) when it did not.
type TxnResponse struct {
	Results []*TxnResult
	Errors  []*TxnError
}

// TxnReadResponse is the outcome of a read-only transaction.
type TxnReadResponse struct {
	TxnResponse
	QueryMeta
}
