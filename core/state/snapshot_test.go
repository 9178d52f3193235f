package state

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// A tagged snapshot says its tag, is as much longer as TagSnapshot says,
// and restores as the untagged one does.
func TestSnapshotTag(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "cfg/a", "1", 0)
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if tag, _ := SnapshotTag(bytes.NewReader(buf.Bytes())); tag != "" {
		t.Fatalf("untagged snapshot has tag %q", tag)
	}
	tagged, grown, err := TagSnapshot(bytes.NewReader(buf.Bytes()), "t-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tagged)
	if int64(len(b)) != int64(buf.Len())+grown {
		t.Fatalf("tagged snapshot of %d bytes, want %d+%d", len(b), buf.Len(), grown)
	}
	tag, rows := SnapshotTag(bytes.NewReader(b))
	if tag != "t-1" {
		t.Fatalf("tag %q", tag)
	}
	r, err := Restore(rows)
	if err != nil {
		t.Fatal(err)
	}
	if _, e, _ := r.KVGet(nil, "cfg/a"); e == nil || string(e.Value) != "1" || r.LatestIndex() != s.LatestIndex() {
		t.Fatalf("restored %+v at %d", e, r.LatestIndex())
	}
}

// Rows written in another shape than the snapshot writer's (keys swapped,
// spaces) still restore; a bad row is refused with its number.
func TestRestoreRowShapes(t *testing.T) {
	in := "{\"Format\":1,\"Index\":7}\n" +
		"{\"v\": {\"Key\":\"b\",\"Value\":\"eA==\",\"CreateIndex\":3,\"ModifyIndex\":3}, \"t\": \"kvs\"}\n\n" +
		"{\"t\":\"kvs\",\"v\":{\"Key\":\"a\",\"Value\":\"eQ==\",\"CreateIndex\":2,\"ModifyIndex\":2}}"
	r, err := Restore(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "y", "b": "x"} {
		if _, e, _ := r.KVGet(nil, key); e == nil || string(e.Value) != want {
			t.Fatalf("%s: %+v", key, e)
		}
	}
	_, err = Restore(strings.NewReader("{\"Format\":1}\n{\"t\":\"kvs\",\"v\":{\"Key\":\"a\"}}\n{\"t\":\"kvs\",\"v\":{\"Key\":1}}\n"))
	if err == nil || !strings.Contains(err.Error(), "snapshot row 2") {
		t.Fatalf("bad row: %v", err)
	}
}
