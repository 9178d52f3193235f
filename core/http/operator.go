package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/memlimit"
)

// MaxSnapshot bounds a snapshot restored through PUT /v1/snapshot.
const MaxSnapshot = 256 << 20

func (s *Server) snapshot(w *httpserver.Response, r *request) (interface{}, error) {
	if r.Method == put {
		return nil, s.snapshotRestore(r)
	}
	var args structs.SnapshotRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SnapshotReply
	if err := read(s, w, r, &args, &out, s.backend.SnapshotSave); err != nil {
		return nil, err
	}
	w.SetHeader("Content-Type", "application/x-gzip")
	w.SetHeader("Content-Disposition", `attachment; filename="snapshot-`+strconv.FormatUint(out.Index, 10)+`.tgz"`)
	if out.ArchiveFile == nil {
		w.Write(out.Archive)
		return nil, nil
	}
	defer out.ArchiveFile.Close()
	if err := w.Stream(func(body io.Writer, flush func() error) error {
		buf := make([]byte, 256<<10)
		for {
			n, err := out.ArchiveFile.Read(buf)
			if n > 0 {
				if _, werr := body.Write(buf[:n]); werr != nil {
					return werr
				}
				if werr := flush(); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}); err != nil {
		s.logger.Warn("sending a snapshot failed", "error", err)
	}
	return nil, nil
}

// snapshotRestore restores the archive in the request body. One restore
// runs at a time on an agent; the archive waits in a temporary file,
// streamed there as it arrives (see Admit), not in memory.
func (s *Server) snapshotRestore(r *request) error {
	if !s.restoring.TryLock() {
		return &codedError{http.StatusTooManyRequests,
			"Snapshot not restored: another snapshot restore is running on this agent; retry once it is done"}
	}
	defer s.restoring.Unlock()
	f, err := s.spool(r)
	if err != nil {
		return err
	}
	defer f.Close()
	args := structs.SnapshotRequest{Datacenter: r.query.Get("dc"), ArchiveFile: f}
	args.Token = token(r)
	_, err = s.backend.SnapshotRestore(r.Context(), &args)
	if fi, serr := f.Stat(); serr == nil {
		memlimit.Freed(fi.Size()) // the store replaced, and what building the new one took
	}
	return err
}

// spool copies a request body into a temporary file in the data dir,
// already unlinked, and returns it read from its start.
func (s *Server) spool(r *request) (*os.File, error) {
	body := r.BodyReader
	if body == nil {
		body = bytes.NewReader(r.Body)
	}
	f, err := os.CreateTemp(s.cfg.DataDir, "snapshot-upload-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("Snapshot not restored: temporary file: %w", err)
	}
	os.Remove(f.Name())
	n, err := io.Copy(f, body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	var tooLarge *httpserver.BodyTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		err = &codedError{http.StatusRequestEntityTooLarge, "Snapshot not restored: the archive is larger than the limit of " +
			strconv.Itoa(MaxSnapshot) + " bytes"}
	case err != nil:
		err = badRequest("Snapshot not restored: reading the archive: %v", err)
	case n == 0:
		err = badRequest("Missing snapshot archive in the request body")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *Server) raftConfiguration(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.RaftConfigurationReply
	if err := s.backend.RaftConfiguration(r.Context(), &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Server) raftPeer(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.RaftRemovePeerRequest{Datacenter: r.query.Get("dc"), ID: r.query.Get("id"), Address: r.query.Get("address")}
	args.Token = token(r)
	if args.ID == "" && args.Address == "" {
		return nil, badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	}
	if _, err := s.backend.RaftRemovePeer(r.Context(), &args); err != nil {
		return nil, err
	}
	return nil, nil
}

// keyringEntry is one pool's keys as /v1/operator/keyring lists them.
type keyringEntry struct {
	WAN         bool
	Datacenter  string
	Segment     string
	Messages    map[string]string `json:",omitempty"`
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
}

// describeMessages lists members' keyring errors, sorted by member.
func describeMessages(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + m[n]
	}
	return strings.Join(parts, "; ")
}

func (s *Server) keyring(w *httpserver.Response, r *request) (interface{}, error) {
	need := acl.Write
	if r.Method == get {
		need = acl.Read
	}
	if _, err := s.require(r, acl.Keyring, "", need); err != nil {
		return nil, err
	}
	if s.cfg.Keyring == nil {
		return nil, badRequest("this agent does not gossip")
	}
	if r.Method == get {
		res, err := s.cfg.Keyring("list", "")
		if err != nil && res.NumNodes == 0 {
			return nil, badRequest("%v", err)
		}
		// Members that failed to answer are listed in Messages; the
		// response is still 200 so the operator sees the whole picture.
		return []keyringEntry{{Datacenter: s.cfg.Datacenter, Keys: res.Keys, PrimaryKeys: res.PrimaryKeys,
			Messages: res.Messages, NumNodes: res.NumNodes}}, nil
	}
	var body struct{ Key string }
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Key == "" {
		return nil, badRequest("Missing Key in the request body")
	}
	op := map[string]string{pst: "install", put: "use", del: "remove"}[r.Method]
	res, err := s.cfg.Keyring(op, body.Key)
	if err != nil {
		if res.NumNodes == 0 {
			return nil, badRequest("%v", err)
		}
		return nil, fmt.Errorf("%v: %s", err, describeMessages(res.Messages))
	}
	return nil, nil
}
