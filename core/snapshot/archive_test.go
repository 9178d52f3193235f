package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/zeros"
)

func TestRoundTripAndDamage(t *testing.T) {
	var buf bytes.Buffer
	meta := Meta{Index: 42, Datacenter: "dc1", Created: time.Unix(100, 0).UTC(), Format: 1}
	if err := Write(&buf, meta, []byte("{\"Format\":1}\n")); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	m, state, err := Read(bytes.NewReader(good))
	if err != nil || m.Index != 42 || string(state) != "{\"Format\":1}\n" {
		t.Fatalf("read back: %+v %q %v", m, state, err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"not gzip":  []byte("hello"),
		"truncated": good[:len(good)/2],
	}
	for name, b := range cases {
		if _, _, err := Read(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if !strings.Contains(checksumFailure(t), "checksum") {
		t.Fatal("a state that does not match its sums was accepted")
	}
}

// checksumFailure builds an archive whose state was changed after its sums
// were computed.
func checksumFailure(t *testing.T) string {
	var buf bytes.Buffer
	meta := Meta{Index: 1}
	if err := writeWithSums(&buf, meta, []byte("changed"), []byte("original")); err != nil {
		t.Fatal(err)
	}
	_, _, err := Read(&buf)
	if err == nil {
		return ""
	}
	return err.Error()
}

// Verify hands the state over as it reads it; what the reader of the state
// says stands only for an archive that is not damaged.
func TestVerifyStreams(t *testing.T) {
	var buf bytes.Buffer
	state := strings.Repeat("{\"row\":1}\n", 10000)
	if err := WriteFrom(&buf, Meta{Index: 3}, strings.NewReader(state), int64(len(state)), sum([]byte(state))); err != nil {
		t.Fatal(err)
	}
	var got []byte
	meta, size, err := Verify(bytes.NewReader(buf.Bytes()), func(r io.Reader) error {
		got, _ = io.ReadAll(r)
		return nil
	})
	if err != nil || meta.Index != 3 || size != int64(len(state)) || string(got) != state {
		t.Fatalf("verify: %+v %d %v, %d state bytes", meta, size, err, len(got))
	}
	rows, n, err := State(bytes.NewReader(buf.Bytes()))
	if b, _ := io.ReadAll(rows); err != nil || n != int64(len(state)) || string(b) != state {
		t.Fatalf("state read again: %d %v", n, err)
	}
	refuse := func(io.Reader) error { return errors.New("bad rows") }
	if _, _, err := Verify(bytes.NewReader(buf.Bytes()), refuse); err == nil || err.Error() != "bad rows" {
		t.Fatalf("the state reader's error: %v", err)
	}
	var damaged bytes.Buffer
	writeWithSums(&damaged, Meta{Index: 1}, []byte("changed"), []byte("original"))
	if _, _, err := Verify(&damaged, refuse); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a damaged archive whose rows fail too: %v", err)
	}
}

// tarGz is an archive of the given small entries, as an attacker may
// write it.
func tarGz(t *testing.T, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, hdr := range entries {
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			tw.Write(make([]byte, hdr.Size))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// An archive holding entries a snapshot has not, or has only once, is
// refused from the first such entry's header with an error naming it, and
// nothing is held of it: a small file of many large zero-filled entries
// does not make the reader grow.
func TestForeignEntriesRefusedUnread(t *testing.T) {
	cases := []struct {
		what    string
		archive []byte
		says    string
	}{
		{"300 unknown entries of 1 MiB", zeros.TarGz(300, 1<<20, func(i int) string { return fmt.Sprintf("junk-%d", i) }),
			`holds "junk-0", which is no part of a snapshot`},
		{"meta.json 300 times", zeros.TarGz(300, 60<<10, func(int) string { return metaName }), "holds meta.json twice"},
		{"SHA256SUMS twice", tarGz(t, tar.Header{Name: sumsName, Size: 10}, tar.Header{Name: sumsName, Size: 10}), "holds SHA256SUMS twice"},
		{"a Consul snapshot", tarGz(t, tar.Header{Name: metaName, Size: 10}, tar.Header{Name: "state.bin", Size: 1 << 20}),
			"state.bin, the raft state of a Consul snapshot"},
		{"a large meta.json", tarGz(t, tar.Header{Name: metaName, Size: 1 << 20}), "meta.json is too large"},
		{"a symlink", tarGz(t, tar.Header{Name: stateName, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), "state.jsonl in the archive is not a regular file"},
		{"a directory", tarGz(t, tar.Header{Name: "meta.json/", Typeflag: tar.TypeDir}), `holds "meta.json/"`},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := Verify(bytes.NewReader(c.archive), func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s (%d KiB): %v, want an error saying %q", c.what, len(c.archive)>>10, err, c.says)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Errorf("%s: checking it allocated %d MiB", c.what, n>>20)
		}
	}
}
