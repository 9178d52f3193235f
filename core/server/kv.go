package server

import (
	"context"
	"strings"

	"github.com/hashicorp/go-memdb"

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
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, ents, err := st.KVList(ws, args.Prefix)
		reply.Index, reply.Entries = idx, ents
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
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, keys, err := st.KVKeys(ws, args.Prefix, args.Separator)
		reply.Index, reply.Keys = idx, keys
		return err
	})
}
