package rpc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// ErrNoServers is returned when a client agent knows no server to ask.
var ErrNoServers = errors.New("No known Consul servers")

// Remote is a client agent's catalog: every call goes to a server, the one
// that answered last if it still can, else the next known one. Writes and
// reads that must see the leader's state go straight to the leader when
// the agent knows it (any server would forward them there, one hop later);
// stale reads stay with the server in use, spreading the load.
type Remote struct {
	Pool *Pool
	// Servers lists the RPC addresses of the servers believed alive.
	Servers func() []string

	mu       sync.Mutex
	last     string
	leader   string    // the leader's RPC address as last learned, "" if unknown
	leaderAt time.Time // when it was learned
	asking   bool      // a leader lookup is under way
}

// leaderRefresh is how often the leader's address is looked up again
// while calls are made; a leader change is also noticed sooner, as calls
// to a former leader fail or are forwarded.
const leaderRefresh = 2 * time.Second

// wantsLeader reports whether a call is answered by the leader anyway.
func wantsLeader(args interface{}) bool {
	if _, ok := args.(structs.Write); ok {
		return true
	}
	if q, ok := args.(interface{ Options() *structs.QueryOptions }); ok {
		return !q.Options().AllowStale
	}
	return false
}

func (r *Remote) call(ctx context.Context, method string, args, reply interface{}) error {
	servers := r.Servers()
	if len(servers) == 0 {
		return ErrNoServers
	}
	if w, ok := args.(structs.Write); ok {
		w.EnsureRequestID() // a write retried on another server applies once
	}
	r.mu.Lock()
	last, leader := r.last, r.leader
	r.mu.Unlock()
	start := 0
	for i, s := range servers {
		if s == last {
			start = i
		}
	}
	if leader != "" && wantsLeader(args) {
		for i, s := range servers {
			if s == leader {
				start = i
			}
		}
	}
	var err error
	unknown := false // an earlier attempt may have applied the write
	for i := range servers {
		addr := servers[(start+i)%len(servers)]
		err = r.Pool.Call(ctx, addr, method, args, reply)
		if structs.OutcomeUnknown(err) && ctx.Err() == nil {
			// Sent, but not settled: the next server's answer will be,
			// as the write's request ID lets it apply only once.
			unknown = true
		} else if err == nil || IsRemote(err) || ctx.Err() != nil {
			if err == nil {
				r.mu.Lock()
				if addr != leader || r.last == "" {
					r.last = addr
				}
				r.mu.Unlock()
				r.maybeLearnLeader(addr)
			}
			return Settle(err, unknown)
		}
		if addr == leader {
			r.mu.Lock()
			r.leader = "" // unreachable: ask again
			r.mu.Unlock()
		}
	}
	return Settle(err, unknown)
}

// Settle is the error a write ends with, given the error of its last
// attempt and whether an earlier attempt may have applied it. Only success
// settles such a write: sent again under its request ID, it answers with
// the first apply's outcome. A refusal does not, as a server checks a
// write (its token, its arguments) against the state before it looks the
// request ID up, and that state may be what the first attempt made; nor
// does a caller giving up, as the write went out all the same.
func Settle(err error, unknown bool) error {
	if err == nil || !unknown {
		return err
	}
	return structs.Unknown(err)
}

// maybeLearnLeader asks a server that just answered for the leader's
// address, at most every leaderRefresh, without holding up the caller.
func (r *Remote) maybeLearnLeader(from string) {
	r.mu.Lock()
	if r.asking || time.Since(r.leaderAt) < leaderRefresh {
		r.mu.Unlock()
		return
	}
	r.asking = true
	r.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), leaderRefresh)
		defer cancel()
		var leader string
		err := r.Pool.Call(ctx, from, "StatusLeader", nil, &leader)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.asking = false
		r.leaderAt = time.Now()
		if err == nil {
			r.leader = leader
		}
	}()
}

// callFor makes a call whose reply is one value and returns it.
func callFor[R any](ctx context.Context, r *Remote, method string, args interface{}) (R, error) {
	var out R
	err := r.call(ctx, method, args, &out)
	return out, err
}

// callForPtr makes a call whose reply is one struct and returns a pointer
// to it, never nil.
func callForPtr[R any](ctx context.Context, r *Remote, method string, args interface{}) (*R, error) {
	out, err := callFor[R](ctx, r, method, args)
	return &out, err
}

func (r *Remote) KVApply(ctx context.Context, args *structs.KVSRequest) (bool, error) {
	return callFor[bool](ctx, r, "KVApply", args)
}

func (r *Remote) KVGet(ctx context.Context, args *structs.KeyRequest, reply *structs.IndexedDirEntries) error {
	return r.call(ctx, "KVGet", args, reply)
}

func (r *Remote) KVList(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedDirEntries) error {
	return r.call(ctx, "KVList", args, reply)
}

func (r *Remote) KVKeys(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedKeyList) error {
	return r.call(ctx, "KVKeys", args, reply)
}

func (r *Remote) TxnApply(ctx context.Context, args *structs.TxnRequest) (structs.TxnResponse, error) {
	return callFor[structs.TxnResponse](ctx, r, "TxnApply", args)
}

func (r *Remote) TxnRead(ctx context.Context, args *structs.TxnReadRequest, reply *structs.TxnReadResponse) error {
	return r.call(ctx, "TxnRead", args, reply)
}

func (r *Remote) CatalogRegister(ctx context.Context, args *structs.RegisterRequest) error {
	return r.call(ctx, "CatalogRegister", args, nil)
}

func (r *Remote) CatalogDeregister(ctx context.Context, args *structs.DeregisterRequest) error {
	return r.call(ctx, "CatalogDeregister", args, nil)
}

func (r *Remote) NodeLeave(ctx context.Context, args *structs.DeregisterRequest) error {
	return r.call(ctx, "NodeLeave", args, nil)
}

func (r *Remote) CatalogDatacenters(ctx context.Context) ([]string, error) {
	return callFor[[]string](ctx, r, "CatalogDatacenters", nil)
}

func (r *Remote) CatalogNodes(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedNodes) error {
	return r.call(ctx, "CatalogNodes", args, reply)
}

func (r *Remote) CatalogServices(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedServices) error {
	return r.call(ctx, "CatalogServices", args, reply)
}

func (r *Remote) CatalogServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedServiceNodes) error {
	return r.call(ctx, "CatalogServiceNodes", args, reply)
}

func (r *Remote) CatalogNodeServices(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedNodeServices) error {
	return r.call(ctx, "CatalogNodeServices", args, reply)
}

func (r *Remote) HealthNodeChecks(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error {
	return r.call(ctx, "HealthNodeChecks", args, reply)
}

func (r *Remote) HealthServiceChecks(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedHealthChecks) error {
	return r.call(ctx, "HealthServiceChecks", args, reply)
}

func (r *Remote) HealthChecksInState(ctx context.Context, args *structs.ChecksInStateRequest, reply *structs.IndexedHealthChecks) error {
	return r.call(ctx, "HealthChecksInState", args, reply)
}

func (r *Remote) HealthServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedCheckServiceNodes) error {
	return r.call(ctx, "HealthServiceNodes", args, reply)
}

func (r *Remote) SessionApply(ctx context.Context, args *structs.SessionRequest) (string, error) {
	return callFor[string](ctx, r, "SessionApply", args)
}

func (r *Remote) SessionGet(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	return r.call(ctx, "SessionGet", args, reply)
}

func (r *Remote) SessionList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedSessions) error {
	return r.call(ctx, "SessionList", args, reply)
}

func (r *Remote) SessionNodeSessions(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedSessions) error {
	return r.call(ctx, "SessionNodeSessions", args, reply)
}

func (r *Remote) SessionRenew(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	return r.call(ctx, "SessionRenew", args, reply)
}

func (r *Remote) StatusLeader(ctx context.Context) (string, error) {
	return callFor[string](ctx, r, "StatusLeader", nil)
}

func (r *Remote) StatusPeers(ctx context.Context) ([]string, error) {
	return callFor[[]string](ctx, r, "StatusPeers", nil)
}

func (r *Remote) SnapshotSave(ctx context.Context, args *structs.SnapshotRequest, reply *structs.SnapshotReply) error {
	return r.call(ctx, "SnapshotSave", args, reply)
}

func (r *Remote) SnapshotRestore(ctx context.Context, args *structs.SnapshotRequest) (bool, error) {
	return callFor[bool](ctx, r, "SnapshotRestore", args)
}

func (r *Remote) RaftConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.RaftConfigurationReply) error {
	return r.call(ctx, "RaftConfiguration", args, reply)
}

func (r *Remote) RaftRemovePeer(ctx context.Context, args *structs.RaftRemovePeerRequest) (bool, error) {
	return callFor[bool](ctx, r, "RaftRemovePeer", args)
}

func (r *Remote) ACLResolve(ctx context.Context, args *structs.ACLResolveRequest) (*structs.ACLIdentity, error) {
	return callForPtr[structs.ACLIdentity](ctx, r, "ACLResolve", args)
}

func (r *Remote) ACLBootstrap(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error) {
	return callForPtr[structs.ACLToken](ctx, r, "ACLBootstrap", args)
}

func (r *Remote) ACLTokenSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLToken, error) {
	return callForPtr[structs.ACLToken](ctx, r, "ACLTokenSet", args)
}

func (r *Remote) ACLTokenDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLTokenDelete", args)
}

func (r *Remote) ACLTokenGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLTokens) error {
	return r.call(ctx, "ACLTokenGet", args, reply)
}

func (r *Remote) ACLTokenList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLTokens) error {
	return r.call(ctx, "ACLTokenList", args, reply)
}

func (r *Remote) ACLPolicySet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLPolicy, error) {
	return callForPtr[structs.ACLPolicy](ctx, r, "ACLPolicySet", args)
}

func (r *Remote) ACLPolicyDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLPolicyDelete", args)
}

func (r *Remote) ACLPolicyGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLPolicies) error {
	return r.call(ctx, "ACLPolicyGet", args, reply)
}

func (r *Remote) ACLPolicyList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLPolicies) error {
	return r.call(ctx, "ACLPolicyList", args, reply)
}

func (r *Remote) PreparedQueryApply(ctx context.Context, args *structs.PreparedQueryRequest) (string, error) {
	return callFor[string](ctx, r, "PreparedQueryApply", args)
}

func (r *Remote) PreparedQueryGet(ctx context.Context, args *structs.PreparedQuerySpecificRequest, reply *structs.IndexedPreparedQueries) error {
	return r.call(ctx, "PreparedQueryGet", args, reply)
}

func (r *Remote) PreparedQueryList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedPreparedQueries) error {
	return r.call(ctx, "PreparedQueryList", args, reply)
}

func (r *Remote) PreparedQueryExecute(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExecuteResponse) error {
	return r.call(ctx, "PreparedQueryExecute", args, reply)
}

func (r *Remote) PreparedQueryExplain(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExplainResponse) error {
	return r.call(ctx, "PreparedQueryExplain", args, reply)
}

func (r *Remote) ACLRoleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLRole, error) {
	return callForPtr[structs.ACLRole](ctx, r, "ACLRoleSet", args)
}

func (r *Remote) ACLRoleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLRoleDelete", args)
}

func (r *Remote) ACLRoleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLRoles) error {
	return r.call(ctx, "ACLRoleGet", args, reply)
}

func (r *Remote) ACLRoleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLRoles) error {
	return r.call(ctx, "ACLRoleList", args, reply)
}

func (r *Remote) ACLAuthMethodSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLAuthMethod, error) {
	return callForPtr[structs.ACLAuthMethod](ctx, r, "ACLAuthMethodSet", args)
}

func (r *Remote) ACLAuthMethodDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLAuthMethodDelete", args)
}

func (r *Remote) ACLAuthMethodGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLAuthMethods) error {
	return r.call(ctx, "ACLAuthMethodGet", args, reply)
}

func (r *Remote) ACLAuthMethodList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLAuthMethods) error {
	return r.call(ctx, "ACLAuthMethodList", args, reply)
}

func (r *Remote) ACLBindingRuleSet(ctx context.Context, args *structs.ACLRequest) (*structs.ACLBindingRule, error) {
	return callForPtr[structs.ACLBindingRule](ctx, r, "ACLBindingRuleSet", args)
}

func (r *Remote) ACLBindingRuleDelete(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLBindingRuleDelete", args)
}

func (r *Remote) ACLBindingRuleGet(ctx context.Context, args *structs.ACLSpecificRequest, reply *structs.IndexedACLBindingRules) error {
	return r.call(ctx, "ACLBindingRuleGet", args, reply)
}

func (r *Remote) ACLBindingRuleList(ctx context.Context, args *structs.ACLListRequest, reply *structs.IndexedACLBindingRules) error {
	return r.call(ctx, "ACLBindingRuleList", args, reply)
}

func (r *Remote) ACLLogin(ctx context.Context, args *structs.ACLLoginRequest) (*structs.ACLToken, error) {
	return callForPtr[structs.ACLToken](ctx, r, "ACLLogin", args)
}

func (r *Remote) ACLLogout(ctx context.Context, args *structs.ACLRequest) (bool, error) {
	return callFor[bool](ctx, r, "ACLLogout", args)
}
