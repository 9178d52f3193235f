package server

import (
	"context"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
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
func (s *Server) KVApply(ctx context.Context, args *structs.KVSRequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	var ok bool
	if done, err := s.forward(ctx, "KVApply", nil, args, &ok); done {
		return ok, err
	}
	if args.DirEnt.Key == "" && args.Op != structs.KVDeleteTree {
		return false, structs.BadInput("missing key name")
	}
	if err := ValidateKey(args.DirEnt.Key); err != nil {
		return false, err
	}
	if n := len(args.DirEnt.Value); n > structs.MaxKVValueSize {
		return false, structs.BadInput("value is %d bytes, the limit is %d", n, structs.MaxKVValueSize)
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return false, err
	}
	if args.Op == structs.KVDeleteTree {
		err = authz.CheckKeyWritePrefix(args.DirEnt.Key)
	} else {
		err = authz.Write(acl.Key, args.DirEnt.Key)
	}
	if err != nil {
		return false, err
	}
	return s.apply(&structs.Command{Type: structs.KVSRequestType, KVS: args})
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
