package structs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A snapshot request crosses the wire with its archive's bytes as they
// are, from memory or from the file an upload was kept in.
func TestSnapshotRequestBinary(t *testing.T) {
	archive := bytes.Repeat([]byte{0, 1, 2, '{', 0xff}, 1000)
	f, err := os.Create(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(archive)
	f.Seek(7, 0) // the position does not matter
	for name, req := range map[string]*SnapshotRequest{
		"in memory": {Datacenter: "dc2", Archive: archive},
		"in a file": {Datacenter: "dc2", ArchiveFile: f},
	} {
		req.Token = "secret"
		wire, err := req.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(wire) > len(archive)+200 {
			t.Errorf("%s: %d bytes on the wire for an archive of %d", name, len(wire), len(archive))
		}
		var back SnapshotRequest
		if err := back.UnmarshalBinary(wire); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Datacenter != "dc2" || back.Token != "secret" || !bytes.Equal(back.Archive, archive) {
			t.Fatalf("%s: read back %q %q and %d archive bytes", name, back.Datacenter, back.Token, len(back.Archive))
		}
	}
	var save SnapshotRequest
	if err := save.UnmarshalBinary([]byte{binarySnapshot, 200}); err == nil {
		t.Fatal("a damaged request was read")
	}
}
