package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/snapshot"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/version"
)

// SnapshotSave returns an archive of the whole state, taken on the leader
// unless stale reads are allowed. Taken here, it is in reply.ArchiveFile:
// the state goes to disk as it is written, and is never held in memory
// whole.
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
	f, index, err := s.saveArchive()
	if err != nil {
		return err
	}
	reply.ArchiveFile, reply.Index = f, index
	return nil
}

// snapshotSaveRPC serves SnapshotSave to other agents, the archive in the
// reply.
func (s *Server) snapshotSaveRPC(ctx context.Context, args *structs.SnapshotRequest, reply *structs.SnapshotReply) error {
	if err := s.SnapshotSave(ctx, args, reply); err != nil {
		return err
	}
	if f := reply.ArchiveFile; f != nil {
		defer f.Close()
		reply.ArchiveFile = nil
		b, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("read the snapshot archive: %w", err)
		}
		reply.Archive = b
	}
	return nil
}

// saveArchive writes the store's rows to a temporary file, then the
// archive of them to another, which it returns read from its start.
func (s *Server) saveArchive() (*os.File, uint64, error) {
	st := s.Store()
	rows, err := s.tempFile()
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	h := sha256.New()
	if err := st.Snapshot(io.MultiWriter(rows, h)); err != nil {
		return nil, 0, fmt.Errorf("write the state: %w", err)
	}
	size, err := rows.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = rows.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, 0, err
	}
	meta := snapshot.Meta{Index: st.LatestIndex(), Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName,
		Created: time.Now().UTC(), Version: version.Version, Format: 1}
	out, err := s.tempFile()
	if err != nil {
		return nil, 0, err
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	err = snapshot.WriteFrom(bw, meta, bufio.NewReaderSize(rows, 64<<10), size, hex.EncodeToString(h.Sum(nil)))
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		out.Close()
		return nil, 0, fmt.Errorf("write the snapshot archive: %w", err)
	}
	return out, meta.Index, nil
}

// tempFile is a new temporary file in the data dir (the system's
// temporary directory for a dev server, which has none), already unlinked:
// it is gone once closed, or if the process dies.
func (s *Server) tempFile() (*os.File, error) {
	f, err := os.CreateTemp(s.cfg.DataDir, "snapshot-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("snapshot temporary file: %w", err)
	}
	os.Remove(f.Name())
	return f, nil
}

// userRestore is the store a leader built while checking a user's
// archive, which its FSM takes when raft restores the snapshot tagged so.
type userRestore struct {
	tag   string
	store *state.Store
}

// SnapshotRestore replaces the whole state of the cluster with an archive:
// through raft, so every server ends up with it. The archive (in a file
// when it came in through this agent) is checked and the new store built
// from it in one pass as it is read, so that neither the archive nor its
// rows are held in memory whole, and nothing is replaced unless every
// check holds.
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
	var archive io.ReadSeeker = bytes.NewReader(args.Archive)
	if args.ArchiveFile != nil {
		archive = args.ArchiveFile
	}
	s.restoreMu.Lock() // one at a time: each builds a whole store
	defer s.restoreMu.Unlock()
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	var st *state.Store
	meta, size, err := snapshot.Verify(bufio.NewReaderSize(archive, 64<<10), func(rows io.Reader) error {
		var err error
		if st, err = state.Restore(rows); err != nil {
			return fmt.Errorf("snapshot state: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, structs.BadInput("%v", err)
	}
	if s.raft == nil {
		s.applyMu.Lock()
		s.index = max(s.index, st.LatestIndex())
		s.replaceStore(st)
		s.applyMu.Unlock()
		s.logger.Info("restored a snapshot", "index", meta.Index)
		return true, nil
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	rows, _, err := snapshot.State(bufio.NewReaderSize(archive, 64<<10))
	if err != nil {
		return false, err
	}
	tag := structs.GenerateUUID()
	tagged, grown, err := state.TagSnapshot(rows, tag)
	if err != nil {
		return false, structs.BadInput("snapshot state: %v", err)
	}
	s.userRestore.Store(&userRestore{tag: tag, store: st})
	defer s.userRestore.Store(nil)
	st = nil // the FSM holds it from here
	rm := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: meta.Index, Term: meta.Term, Size: size + grown}
	if err := s.raft.Restore(rm, tagged, time.Minute); err != nil {
		return false, fmt.Errorf("restore through raft: %w", applyError(err))
	}
	s.logger.Info("restored a snapshot into the cluster", "index", meta.Index)
	return true, nil
}
