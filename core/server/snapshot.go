package server

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/snapshot"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/version"
)

// SnapshotSave returns an archive of the whole state, taken on the leader
// unless stale reads are allowed.
func (s *Server) SnapshotSave(ctx context.Context, args *structs.SnapshotRequest, reply *structs.SnapshotReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "SnapshotSave", &args.QueryOptions, args, reply); done {
		return err
	}
	// A snapshot holds every secret: management tokens only.
	if err := s.authorizeGlobal(ctx, args.Token, acl.ACL, acl.Write); err != nil {
		return err
	}
	s.setQueryMeta(&reply.QueryMeta)
	st := s.Store()
	var state bytes.Buffer
	if err := st.Snapshot(&state); err != nil {
		return err
	}
	meta := snapshot.Meta{Index: st.LatestIndex(), Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName,
		Created: time.Now().UTC(), Version: version.Version, Format: 1}
	var out bytes.Buffer
	if err := snapshot.Write(&out, meta, state.Bytes()); err != nil {
		return err
	}
	reply.Archive, reply.Index = out.Bytes(), meta.Index
	return nil
}

// SnapshotRestore replaces the whole state of the cluster with an archive:
// through raft, so every server ends up with it.
func (s *Server) SnapshotRestore(ctx context.Context, args *structs.SnapshotRequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	var ok bool
	if done, err := s.forward(ctx, "SnapshotRestore", nil, args, &ok); done {
		return ok, err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.ACL, acl.Write); err != nil {
		return false, err
	}
	meta, stateRows, err := snapshot.Read(bytes.NewReader(args.Archive))
	if err != nil {
		return false, structs.BadInput("%v", err)
	}
	// Check the rows before anything is replaced.
	st, err := state.Restore(bytes.NewReader(stateRows))
	if err != nil {
		return false, structs.BadInput("snapshot state: %v", err)
	}
	if s.raft == nil {
		s.applyMu.Lock()
		s.index = max(s.index, st.LatestIndex())
		s.replaceStore(st)
		s.applyMu.Unlock()
		s.logger.Info("restored a snapshot", "index", meta.Index)
		return true, nil
	}
	rm := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: meta.Index, Term: meta.Term,
		Size: int64(len(stateRows))}
	if err := s.raft.Restore(rm, bytes.NewReader(stateRows), time.Minute); err != nil {
		return false, fmt.Errorf("restore through raft: %w", err)
	}
	s.logger.Info("restored a snapshot into the cluster", "index", meta.Index)
	return true, nil
}
