package http

import (
	"encoding/json"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// The hand-written KV encoder must match encoding/json byte for byte.
func TestDirEntriesEncodeLikeEncodingJSON(t *testing.T) {
	cases := []dirEntries{
		{},
		{{Key: "a", Value: []byte("test_data"), RaftIndex: structs.RaftIndex{CreateIndex: 3, ModifyIndex: 9}}},
		{{Key: "nil/value"}, {Key: "empty", Value: []byte{}, Flags: 42, LockIndex: 2, Session: "s-1"}},
		{{Key: "quotes\"back\\slash\nnew\tline\x01ctl", Value: []byte{0, 255, 1}}},
		{{Key: "unicode é 日本 \u2028 \xff bad", Value: []byte("<&>")}},
	}
	for _, c := range cases {
		want, err := json.Marshal([]*structs.DirEntry(c))
		if err != nil {
			t.Fatal(err)
		}
		if len(c) == 0 {
			want = []byte("[]")
		}
		if got := c.appendJSON(nil); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\x00", "é\u2028\xff", "<tag>&amp;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}
