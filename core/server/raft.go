package server

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// applyResult is what the FSM returns for one log entry.
type applyResult struct {
	ok  bool
	err error
}

// fsm applies committed log entries to the state store through the same
// Apply every write uses, and takes and restores snapshots of it.
type fsm struct {
	s      *Server
	logger hclog.Logger
}

func (f *fsm) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand {
		return nil
	}
	var c structs.Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		// A log entry nobody can read would stop every server alike;
		// skip it loudly instead.
		f.logger.Error("skipping an unreadable log entry", "index", l.Index, "error", err)
		return applyResult{err: fmt.Errorf("unreadable command: %w", err)}
	}
	ok, err := f.s.Store().Apply(l.Index, &c)
	if err == nil && c.Type == structs.KVSRequestType {
		f.s.tombstones.hint(l.Index)
	}
	return applyResult{ok: ok, err: err}
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{store: f.s.Store()}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := state.Restore(rc)
	if err != nil {
		return err
	}
	f.s.replaceStore(st)
	return nil
}

// fsmSnapshot writes the store as it was when the snapshot was taken:
// memdb reads are snapshots, so later writes do not leak in.
type fsmSnapshot struct{ store *state.Store }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.store.Snapshot(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// raftTimings are Consul's raft timings divided by its default multiplier
// of 5: beacon's default (raft_multiplier 1) elects a new leader within a
// couple of seconds on a LAN.
func raftConfig(id string, multiplier int, logger hclog.Logger) *raft.Config {
	if multiplier < 1 {
		multiplier = 1
	}
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(id)
	c.Logger = logger.Named("raft")
	m := time.Duration(multiplier)
	c.HeartbeatTimeout = 1000 * time.Millisecond * m
	c.ElectionTimeout = 1000 * time.Millisecond * m
	c.LeaderLeaseTimeout = 500 * time.Millisecond * m
	c.CommitTimeout = 5 * time.Millisecond
	// Batch the log: one fsync covers every write waiting when the
	// leader's loop comes round.
	c.BatchApplyCh = true
	c.MaxAppendEntries = 256
	c.SnapshotThreshold = 16384
	c.TrailingLogs = 10240
	c.SnapshotInterval = 120 * time.Second
	return c
}

// setupRaft opens the durable log and snapshots in the data dir and starts
// raft. A lone -bootstrap server bootstraps itself here; bootstrap_expect
// waits for its peers in gossip.
func (s *Server) setupRaft() error {
	dir := filepath.Join(s.cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("raft data dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return fmt.Errorf("open the raft log: %w", err)
	}
	s.raftStore = store
	logs, err := raft.NewLogCache(1024, store)
	if err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, s.logger.Named("snapshot"))
	if err != nil {
		return fmt.Errorf("raft snapshots: %w", err)
	}
	s.transport = raft.NewNetworkTransportWithLogger(s.cfg.RPC.RaftLayer(), 3, 10*time.Second, s.logger.Named("raft-net"))
	conf := raftConfig(s.cfg.NodeID, s.cfg.RaftMultiplier, s.logger)
	has, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		return err
	}
	s.hadState = has
	if s.cfg.Bootstrap && !has {
		boot := raft.Configuration{Servers: []raft.Server{{
			ID: raft.ServerID(s.cfg.NodeID), Address: raft.ServerAddress(s.cfg.RPCAddr), Suffrage: raft.Voter,
		}}}
		if err := raft.BootstrapCluster(conf, logs, store, snaps, s.transport, boot); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		s.hadState = true
	}
	r, err := raft.NewRaft(conf, &fsm{s: s, logger: s.logger}, logs, store, snaps, s.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	return nil
}

// applyRaft writes a command through the log and waits for it to apply.
func (s *Server) applyRaft(c *structs.Command) (bool, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return false, err
	}
	f := s.raft.Apply(b, 30*time.Second)
	if err := f.Error(); err != nil {
		if err == raft.ErrNotLeader || err == raft.ErrLeadershipLost {
			return false, fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
		}
		return false, err
	}
	res, _ := f.Response().(applyResult)
	return res.ok, res.err
}

// replaceStore swaps in a restored store and wakes every blocked reader of
// the old one.
func (s *Server) replaceStore(st *state.Store) {
	old := s.store.Swap(st)
	if old != nil {
		old.Abandon()
	}
}
