// Package snapshot is the archive format of /v1/snapshot and `beacon
// snapshot`: a gzipped tar holding meta.json (what the snapshot is),
// state.jsonl (the store's rows) and SHA256SUMS, checked on every read so a
// damaged or truncated file is refused before it replaces anything.
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
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", sum(mb), metaName, sum(state), stateName)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{metaName, mb}, {stateName, state}, {sumsName, []byte(sums)}} {
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: meta.Created}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
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

// Read reads and verifies an archive, returning its meta and state.
func Read(r io.Reader) (Meta, []byte, error) {
	var meta Meta
	gz, err := gzip.NewReader(r)
	if err != nil {
		return meta, nil, fmt.Errorf("snapshot: not a gzipped archive: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return meta, nil, fmt.Errorf("snapshot: damaged archive: %w", err)
		}
		if hdr.Size > maxState {
			return meta, nil, fmt.Errorf("snapshot: %s is too large", hdr.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err != nil {
			return meta, nil, fmt.Errorf("snapshot: damaged archive: %w", err)
		}
		files[hdr.Name] = b
	}
	for _, name := range []string{metaName, stateName, sumsName} {
		if _, ok := files[name]; !ok {
			return meta, nil, fmt.Errorf("snapshot: archive has no %s", name)
		}
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(files[sumsName])), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			want[f[1]] = f[0]
		}
	}
	for _, name := range []string{metaName, stateName} {
		if got := sum(files[name]); got != want[name] {
			return meta, nil, fmt.Errorf("snapshot: %s does not match its checksum; the file is damaged", name)
		}
	}
	if err := json.NewDecoder(bytes.NewReader(files[metaName])).Decode(&meta); err != nil {
		return meta, nil, fmt.Errorf("snapshot: meta: %w", err)
	}
	return meta, files[stateName], nil
}
