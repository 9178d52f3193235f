package server

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"

	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/walfs"
)

// applyResult is what the FSM returns for one log entry; for a group of
// KV writes, one result per write.
type applyResult struct {
	ok    bool
	err   error
	group []applyResult
	txn   *structs.TxnResponse
}

// fsm applies committed log entries to the state store through the same
// Apply every write uses, and takes and restores snapshots of it.
type fsm struct {
	s      *Server
	logger hclog.Logger
}

func (f *fsm) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in order; runs of KV writes share
// one store transaction (see state.Store.ApplyBatch).
func (f *fsm) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	entries := make([]state.BatchEntry, 0, len(logs))
	pos := make([]int, 0, len(logs))
	var lastKV uint64
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		e, err := decodeEntry(l)
		if err != nil {
			// A log entry nobody can read would stop every server alike;
			// skip it loudly instead.
			f.logger.Error("skipping an unreadable log entry", "index", l.Index, "error", err)
			out[i] = applyResult{err: fmt.Errorf("unreadable command: %w", err)}
			continue
		}
		if e.Group != nil || e.Cmd.Type == structs.KVSRequestType || e.Cmd.Type == structs.TxnRequestType {
			lastKV = l.Index
		}
		entries = append(entries, e)
		pos = append(pos, i)
	}
	if len(entries) == 0 {
		return out
	}
	for k, r := range f.s.Store().ApplyBatch(entries) {
		out[pos[k]] = resultOf(r)
	}
	if lastKV != 0 {
		f.s.tombstones.hint(lastKV)
	}
	return out
}

// resultOf is the store's outcome of one log entry as the FSM returns it.
func resultOf(r state.BatchResult) applyResult {
	res := applyResult{ok: r.OK, err: r.Err, txn: r.Txn}
	if r.Group != nil {
		res.group = make([]applyResult, len(r.Group))
		for j, g := range r.Group {
			res.group[j] = resultOf(g)
		}
	}
	return res
}

// decodeEntry reads a log entry: one command, or a group of KV writes.
func decodeEntry(l *raft.Log) (state.BatchEntry, error) {
	if structs.IsKVGroup(l.Data) {
		g, err := structs.DecodeKVGroup(l.Data)
		return state.BatchEntry{Index: l.Index, Group: g}, err
	}
	c, err := structs.DecodeCommand(l.Data)
	return state.BatchEntry{Index: l.Index, Cmd: c}, err
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{view: f.s.Store().View()}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tag, rows := state.SnapshotTag(rc)
	if u := f.s.userRestore.Load(); u != nil && tag != "" && tag == u.tag {
		// This leader built the store while checking the user's archive.
		f.s.replaceStore(u.store)
		return nil
	}
	st, err := state.Restore(rows)
	if err != nil {
		return err
	}
	f.s.replaceStore(st)
	return nil
}

// fsmSnapshot writes the store as it was when raft asked for the snapshot,
// between two applies; later writes do not leak in.
type fsmSnapshot struct{ view *state.View }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.view.Write(sink); err != nil {
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
	store, err := s.openLogStore(dir)
	if err != nil {
		return err
	}
	s.raftStore = store
	var logs raft.LogStore = store
	if !s.cfg.NoLogCache {
		if logs, err = raft.NewLogCache(1024, store); err != nil {
			return err
		}
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

// logStore is a raft log that also keeps raft's small stable values.
type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// openLogStore opens the raft log in dir: the append-only WAL (one fsync
// per batch of entries) unless configured or found to be BoltDB. A data dir
// keeps the format it was created with.
func (s *Server) openLogStore(dir string) (logStore, error) {
	boltPath, walDir := filepath.Join(dir, "raft.db"), filepath.Join(dir, "wal")
	_, boltErr := os.Stat(boltPath)
	_, walErr := os.Stat(walDir)
	hasBolt, hasWAL := boltErr == nil, walErr == nil
	backend := s.cfg.LogStore
	switch {
	case backend == "" && hasBolt:
		backend = "boltdb"
	case backend == "":
		backend = "wal"
	case backend == "wal" && hasBolt:
		return nil, fmt.Errorf("raft_logstore.backend is wal but %s holds a BoltDB raft log; keep backend boltdb, or remove the data dir's raft state and let the server catch up from its peers", boltPath)
	case backend == "boltdb" && hasWAL:
		return nil, fmt.Errorf("raft_logstore.backend is boltdb but %s holds a WAL raft log; keep backend wal, or remove the data dir's raft state and let the server catch up from its peers", walDir)
	}
	if backend == "boltdb" {
		store, err := raftboltdb.New(raftboltdb.Options{Path: boltPath})
		if err != nil {
			return nil, fmt.Errorf("open the raft log %s: %w", boltPath, err)
		}
		return store, nil
	}
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("raft log dir: %w", err)
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir, wal.WithLogger(s.logger.Named("wal")), wal.WithMetaStore(meta),
		wal.WithSegmentFiler(segment.NewFiler(walDir, walfs.New())))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("open the raft log %s: %w", walDir, err)
	}
	return &walStore{WAL: w, meta: meta}, nil
}

// walStore closes the WAL's metadata file along with it, which the WAL's
// own Close leaves open (and locked against the next open).
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w *walStore) Close() error {
	err := w.WAL.Close()
	if merr := w.meta.Close(); err == nil {
		err = merr
	}
	return err
}

// applyRaft writes a command through the log and waits for it to apply.
func (s *Server) applyRaft(c *structs.Command) (bool, error) {
	b, err := structs.EncodeCommand(c)
	if err != nil {
		return false, err
	}
	res, err := s.applyLog(b)
	if err != nil {
		return false, err
	}
	return res.ok, res.err
}

// sendKVGroup writes queued KV writes through the log, as one entry when
// there are several, hands each caller its outcomes and returns how many
// entries it wrote.
func (s *Server) sendKVGroup(group []*queuedWrite) int {
	reqs := flatten(group)
	if len(reqs) == 1 || !s.groupsAllowed() {
		// A lone write, or a server that cannot read a group joined
		// meanwhile: one entry per write.
		out := make([]applyResult, len(reqs))
		for i, r := range reqs {
			out[i].ok, out[i].err = s.applyRaft(&structs.Command{Type: structs.KVSRequestType, KVS: r})
		}
		giveResults(group, out)
		return len(reqs)
	}
	res, err := s.applyLog(structs.EncodeKVGroup(reqs))
	switch {
	case err != nil:
		giveResults(group, repeatResult(len(reqs), applyResult{err: err}))
	case len(res.group) != len(reqs):
		err := res.err
		if err == nil {
			err = fmt.Errorf("the log answered %d outcomes for %d KV writes", len(res.group), len(reqs))
		}
		giveResults(group, repeatResult(len(reqs), applyResult{err: err}))
	default:
		giveResults(group, res.group)
	}
	return 1
}

// applyLog appends one entry to the log and waits until it applied.
func (s *Server) applyLog(b []byte) (applyResult, error) {
	start := time.Now()
	f := s.raft.Apply(b, 30*time.Second)
	if err := f.Error(); err != nil {
		return applyResult{}, applyError(err)
	}
	s.confirmedAt(start)
	res, _ := f.Response().(applyResult)
	return res, nil
}

// applyError says what a failed append means for the write: refused before
// it entered the log (not applied), or lost track of after it may have
// reached other servers (outcome unknown).
func applyError(err error) error {
	switch err {
	case raft.ErrNotLeader:
		return fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
	case raft.ErrEnqueueTimeout:
		return fmt.Errorf("%w: the log did not take the write within its timeout", structs.ErrNoLeader)
	case raft.ErrLeadershipLost:
		return structs.ErrLeadershipLost
	}
	// Shut down, or the log failed to store an entry it had already sent
	// to the followers: either way the entry may commit without us.
	return structs.Unknown(err)
}

// RaftStats are raft's figures as Consul reports them in its agent's
// stats (state, term, commit and applied index, ...), with how KV writes
// were grouped; nil in dev mode.
func (s *Server) RaftStats() map[string]string {
	if s.raft == nil {
		return nil
	}
	out := s.raft.Stats()
	g := s.KVGroupStats()
	out["kv_group_entries"] = strconv.FormatUint(g.Entries, 10)
	out["kv_group_writes"] = strconv.FormatUint(g.Writes, 10)
	out["kv_forward_calls"] = strconv.FormatUint(g.Calls, 10)
	out["kv_forwarded_writes"] = strconv.FormatUint(g.Forwarded, 10)
	return out
}

// replaceStore swaps in a restored store and wakes every blocked reader of
// the old one.
func (s *Server) replaceStore(st *state.Store) {
	old := s.store.Swap(st)
	if old != nil {
		old.Abandon()
	}
}
