// Package snapshot is the archive format of /v1/snapshot and `beacon
// snapshot`: a gzipped tar holding meta.json (what the snapshot is),
// state.jsonl (the store's rows) and SHA256SUMS, each once and nothing
// else, checked on every read so a damaged, truncated or foreign file is
// refused before it replaces anything.
package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Meta describes a snapshot.
type Meta struct {
	Index      uint64
	Term       uint64
	Datacenter string
	Node       string
	Created    time.Time
	Version    string
	Format     int
}

const (
	metaName  = "meta.json"
	stateName = "state.jsonl"
	sumsName  = "SHA256SUMS"
	maxState  = 1 << 30
)

// Write writes an archive of state with its meta.
func Write(w io.Writer, meta Meta, state []byte) error {
	return WriteFrom(w, meta, bytes.NewReader(state), int64(len(state)), sum(state))
}

// WriteFrom writes an archive whose state, size bytes with the hex SHA-256
// stateSum, is read from state as it is written: a large state need not
// be in memory.
func WriteFrom(w io.Writer, meta Meta, state io.Reader, size int64, stateSum string) error {
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", sum(mb), metaName, stateSum, stateName)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		size int64
		data io.Reader
	}{{metaName, int64(len(mb)), bytes.NewReader(mb)}, {stateName, size, state}, {sumsName, int64(len(sums)), strings.NewReader(sums)}} {
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: f.size, ModTime: meta.Created}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if n, err := io.Copy(tw, f.data); err != nil {
			return err
		} else if n != f.size {
			return fmt.Errorf("snapshot: %s has %d bytes, not the %d announced", f.name, n, f.size)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// maxSmall bounds the archive's small files (meta and sums), the only ones
// held in memory: beacon writes a few hundred bytes of each.
const maxSmall = 64 << 10

// entry checks a tar entry's header before any of it is read: a regular
// file the format has, of a size it allows, not seen before.
func entry(hdr *tar.Header, seen map[string]string) error {
	switch hdr.Name {
	case metaName, stateName, sumsName:
	case "state.bin":
		return fmt.Errorf("snapshot: the archive holds state.bin, the raft state of a Consul snapshot, "+
			"which beacon cannot restore; it restores archives it saved (%s, %s, %s)", metaName, stateName, sumsName)
	default:
		return fmt.Errorf("snapshot: the archive holds %q, which is no part of a snapshot (%s, %s, %s)",
			clip(hdr.Name), metaName, stateName, sumsName)
	}
	if _, ok := seen[hdr.Name]; ok {
		return fmt.Errorf("snapshot: the archive holds %s twice", hdr.Name)
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("snapshot: %s in the archive is not a regular file", hdr.Name)
	}
	if hdr.Size > maxState || hdr.Name != stateName && hdr.Size > maxSmall {
		return fmt.Errorf("snapshot: %s is too large (%d bytes)", hdr.Name, hdr.Size)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Read reads and verifies an archive, returning its meta and state.
func Read(r io.Reader) (Meta, []byte, error) {
	var state []byte
	meta, _, err := Verify(r, func(sr io.Reader) error {
		var err error
		state, err = io.ReadAll(sr)
		return err
	})
	if err != nil {
		return meta, nil, err
	}
	return meta, state, nil
}

// Verify reads an archive and checks it against its sums, handing the state
// to state (when not nil) as it is read, so that it is never held whole.
// An entry the format does not have, or has once only, is refused from its
// header, unread: all Verify holds is the small meta and sums.
// Whatever state does with it stands only if Verify then returns no error:
// the checksum is known at the end. An error state returns is Verify's,
// unless the archive turns out damaged. Verify returns the meta and the
// size of the state.
func Verify(r io.Reader, state func(io.Reader) error) (Meta, int64, error) {
	var meta Meta
	gz, err := gzip.NewReader(r)
	if err != nil {
		return meta, 0, fmt.Errorf("snapshot: not a gzipped archive: %w", err)
	}
	tr := tar.NewReader(gz)
	small := map[string][]byte{}
	got := map[string]string{}
	var size int64
	var stateErr error
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return meta, 0, fmt.Errorf("snapshot: damaged archive: %w", err)
		}
		if err := entry(hdr, got); err != nil {
			return meta, 0, err
		}
		h := sha256.New()
		body := io.TeeReader(io.LimitReader(tr, hdr.Size), h)
		switch hdr.Name {
		case stateName:
			size = hdr.Size
			if state != nil {
				stateErr = state(body) // reported if the file is not damaged
			}
			_, err = io.Copy(io.Discard, body)
		default:
			small[hdr.Name], err = io.ReadAll(body)
		}
		if err != nil {
			return meta, 0, fmt.Errorf("snapshot: damaged archive: %w", err)
		}
		got[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	for _, name := range []string{metaName, stateName, sumsName} {
		if _, ok := got[name]; !ok {
			return meta, 0, fmt.Errorf("snapshot: archive has no %s", name)
		}
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(small[sumsName])), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			want[f[1]] = f[0]
		}
	}
	for _, name := range []string{metaName, stateName} {
		if got[name] != want[name] {
			return meta, 0, fmt.Errorf("snapshot: %s does not match its checksum; the file is damaged", name)
		}
	}
	if stateErr != nil {
		return meta, 0, stateErr
	}
	if err := json.NewDecoder(bytes.NewReader(small[metaName])).Decode(&meta); err != nil {
		return meta, 0, fmt.Errorf("snapshot: meta: %w", err)
	}
	return meta, size, nil
}

// State finds the state in an archive Verify accepted, to read it again.
func State(r io.Reader) (io.Reader, int64, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot: not a gzipped archive: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, 0, fmt.Errorf("snapshot: archive has no %s: %w", stateName, err)
		}
		if hdr.Name == stateName {
			return io.LimitReader(tr, hdr.Size), hdr.Size, nil
		}
	}
}
