package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// ValidateKey rejects keys the store cannot hold faithfully.
func ValidateKey(key string) error {
	if len(key) > structs.MaxKeyLength {
		return structs.BadInput("key is %d bytes long, the limit is %d", len(key), structs.MaxKeyLength)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return structs.BadInput("key contains a NUL byte")
	}
	return nil
}

// KVApply performs one KV write; the bool is the outcome of conditional ops.
// A follower sends its writes on to the leader in groups (see groupCommit)
// once every server understands them.
func (s *Server) KVApply(ctx context.Context, args *structs.KVSRequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	if s.raft != nil && (!s.IsLeader() || !s.readyForReads.Load()) {
		if s.groupsAllowed() {
			r := s.kvForward.writeOne(args)
			return r.ok, r.err
		}
		var ok bool
		if done, err := s.forward(ctx, "KVApply", nil, args, &ok); done {
			return ok, err
		}
	}
	if err := s.checkKVWrite(ctx, args); err != nil {
		return false, err
	}
	return s.apply(&structs.Command{Type: structs.KVSRequestType, KVS: args})
}

// KVApplyGroup performs KV writes a follower sent on together; each has
// its own outcome, as if sent alone.
func (s *Server) KVApplyGroup(ctx context.Context, args *structs.KVSGroupRequest) (structs.KVSGroupReply, error) {
	var reply structs.KVSGroupReply
	if n := len(args.Writes); n > groupMaxWrites {
		return reply, structs.BadInput("a group holds %d KV writes, the limit is %d", n, groupMaxWrites)
	}
	size := 0
	for i, w := range args.Writes {
		if w == nil {
			return reply, structs.BadInput("KV write %d of the group is empty", i+1)
		}
		size += w.Size()
	}
	if limit := groupMaxBytes + structs.MaxKVValueSize + structs.MaxKeyLength; size > limit {
		return reply, structs.BadInput("a group holds %d bytes of keys and values, the limit is %d", size, limit)
	}
	if done, err := s.forward(ctx, "KVApplyGroup", nil, args, &reply); done {
		return reply, err
	}
	for _, r := range s.applyKVGroup(ctx, args.Writes) {
		out := structs.KVSResult{OK: r.ok}
		if r.err != nil {
			out.Err, out.Code = rpc.EncodeError(r.err)
		}
		reply.Results = append(reply.Results, out)
	}
	return reply, nil
}

// applyKVGroup checks each write and sends the valid ones into the log
// together; this server leads.
func (s *Server) applyKVGroup(ctx context.Context, writes []*structs.KVSRequest) []applyResult {
	out := make([]applyResult, len(writes))
	valid := make([]*structs.KVSRequest, 0, len(writes))
	pos := make([]int, 0, len(writes))
	for i, w := range writes {
		if err := s.checkDC(w.Datacenter); err != nil {
			out[i].err = err
		} else if err := s.checkKVWrite(ctx, w); err != nil {
			out[i].err = err
		} else {
			valid = append(valid, w)
			pos = append(pos, i)
		}
	}
	if len(valid) > 0 {
		for k, r := range s.kvGroups.write(valid) {
			out[pos[k]] = r
		}
	}
	return out
}

// forwardKVGroup sends a follower's queued KV writes to the leader as one
// call, or applies them here if this server has become the leader, and
// returns the number of calls. Writes the leader lost track of (it lost
// leadership while committing them) are sent again, as forward sends a
// lone write again: their request IDs make the first apply's outcome the
// answer.
func (s *Server) forwardKVGroup(group []*queuedWrite) int {
	writes := flatten(group)
	// Not any one caller's context, as the group carries others' writes
	// too, but one that ends with the server or after forwardTimeout.
	ctx, cancel := context.WithTimeout(s.lifetime, forwardTimeout)
	defer cancel()
	out := s.forwardKVWrites(ctx, writes)
	calls := 1
	for deadline := time.Now().Add(holdTimeout); time.Now().Before(deadline) && ctx.Err() == nil; calls++ {
		var again []int
		for i, r := range out {
			if structs.OutcomeUnknown(r.err) && rpc.IsRemote(r.err) {
				again = append(again, i)
			}
		}
		if len(again) == 0 {
			break
		}
		retry := make([]*structs.KVSRequest, len(again))
		for k, i := range again {
			retry[k] = writes[i]
		}
		for k, r := range s.forwardKVWrites(ctx, retry) {
			r.err = rpc.Settle(r.err, true)
			out[again[k]] = r
		}
	}
	giveResults(group, out)
	return calls
}

// forwardKVWrites sends KV writes to the leader in one call, or applies
// them here if this server leads, and returns their outcomes in order.
func (s *Server) forwardKVWrites(ctx context.Context, writes []*structs.KVSRequest) []applyResult {
	req := &structs.KVSGroupRequest{Writes: writes}
	var reply structs.KVSGroupReply
	done, err := s.forward(ctx, "KVApplyGroup", nil, req, &reply)
	switch {
	case !done:
		return s.applyKVGroup(ctx, writes)
	case err != nil:
		return repeatResult(len(writes), applyResult{err: err})
	case len(reply.Results) != len(writes):
		err := fmt.Errorf("the leader answered %d outcomes for %d KV writes", len(reply.Results), len(writes))
		return repeatResult(len(writes), applyResult{err: structs.Unknown(err)})
	}
	out := make([]applyResult, len(writes))
	for i, r := range reply.Results {
		out[i].ok = r.OK
		if r.Err != "" {
			out[i].err = rpc.DecodeError(r.Err, r.Code)
		}
	}
	return out
}

// checkKVWrite refuses a write the store must not take or the token may
// not make.
func (s *Server) checkKVWrite(ctx context.Context, args *structs.KVSRequest) error {
	if err := checkKVEntry(args.Op, &args.DirEnt); err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return kvAccess(authz, args.Op, args.DirEnt.Key)
}

// checkKVEntry refuses a KV entry the store cannot take: no key (only a
// recursive delete may name the root), a key it cannot hold, a value over
// the limit.
func checkKVEntry(op structs.KVOp, e *structs.DirEntry) error {
	if e.Key == "" && op != structs.KVDeleteTree {
		return structs.BadInput("missing key name")
	}
	if err := ValidateKey(e.Key); err != nil {
		return err
	}
	if n := len(e.Value); n > structs.MaxKVValueSize {
		return structs.BadInput("value is %d bytes, the limit is %d", n, structs.MaxKVValueSize)
	}
	return nil
}

// kvAccess checks the right a KV operation needs: write on the key, on
// every key under it for a recursive delete, read for a transaction's
// check-index and check-session. A transaction's get and get-tree need
// none: what the token may not read is left out of their results.
func kvAccess(authz *acl.Authorizer, op structs.KVOp, key string) error {
	switch op {
	case structs.KVDeleteTree:
		return authz.CheckKeyWritePrefix(key)
	case structs.KVGet, structs.KVGetTree:
		return nil
	case structs.KVCheckIndex, structs.KVCheckSession:
		return authz.Read(acl.Key, key)
	}
	return authz.Write(acl.Key, key)
}

// KVGet reads one key; reply.Entries is empty when it does not exist.
func (s *Server) KVGet(ctx context.Context, args *structs.KeyRequest, reply *structs.IndexedDirEntries) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "KVGet", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	if err := authz.Read(acl.Key, args.Key); err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, e, err := st.KVGet(ws, args.Key)
		if err != nil {
			return err
		}
		reply.Index = idx
		reply.Entries = reply.Entries[:0]
		if e != nil {
			reply.Entries = append(reply.Entries, e)
		}
		return nil
	})
}

// KVList reads every entry under a prefix.
func (s *Server) KVList(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedDirEntries) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "KVList", &args.QueryOptions, args, reply); done {
		return err
	}
	visible, err := s.visibleKeys(ctx, args.Token, acl.Read)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, ents, hidden, err := st.KVListVisible(ws, args.Prefix, visible)
		reply.Index, reply.Entries, reply.ResultsFilteredByACLs = idx, ents, hidden > 0
		return err
	})
}

// KVKeys lists keys under a prefix, folded at the separator.
func (s *Server) KVKeys(ctx context.Context, args *structs.KeyListRequest, reply *structs.IndexedKeyList) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "KVKeys", &args.QueryOptions, args, reply); done {
		return err
	}
	visible, err := s.visibleKeys(ctx, args.Token, acl.List)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, keys, hidden, err := st.KVKeysVisible(ws, args.Prefix, args.Separator, visible)
		reply.Index, reply.Keys, reply.ResultsFilteredByACLs = idx, keys, hidden > 0
		return err
	})
}

// visibleKeys is the filter of keys a token holds need on; nil (no
// filter) when it may see every key.
func (s *Server) visibleKeys(ctx context.Context, token string, need acl.Access) (func(string) bool, error) {
	authz, err := s.authorize(ctx, token)
	if err != nil || authz.IsManagement() {
		return nil, err
	}
	return func(k string) bool { return authz.Allowed(acl.Key, k, need) }, nil
}
