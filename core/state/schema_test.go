package state

import (
	"bytes"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// fieldIndex keys rows exactly as memdb's StringFieldIndex does, whatever
// the row type, and refuses rows without the field.
func TestFieldIndexMatchesStringFieldIndex(t *testing.T) {
	rows := []interface{}{
		&structs.DirEntry{Key: "web/Config"},
		&structs.DirEntry{Key: ""},
		&structs.Node{Node: "Node-1"},
		&tombstone{Key: "ключ/键"},
		structs.DirEntry{Key: "by value"},
	}
	for _, lower := range []bool{false, true} {
		for _, field := range []string{"Key", "Node"} {
			ours := &fieldIndex{StringFieldIndex: memdb.StringFieldIndex{Field: field, Lowercase: lower}}
			theirs := &memdb.StringFieldIndex{Field: field, Lowercase: lower}
			for i := 0; i < 2; i++ { // the second time from the cache
				for _, row := range rows {
					ok1, k1, err1 := ours.FromObject(row)
					ok2, k2, err2 := theirs.FromObject(row)
					if ok1 != ok2 || !bytes.Equal(k1, k2) || (err1 == nil) != (err2 == nil) {
						t.Errorf("%s lower=%v %#v: ours %v %q %v, memdb's %v %q %v", field, lower, row, ok1, k1, err1, ok2, k2, err2)
					}
				}
			}
		}
	}
	if _, _, err := (&fieldIndex{StringFieldIndex: memdb.StringFieldIndex{Field: "Key"}}).FromObject("not a row"); err == nil {
		t.Error("a string was indexed as a row")
	}
	if _, _, err := (&fieldIndex{StringFieldIndex: memdb.StringFieldIndex{Field: "Flags"}}).FromObject(&structs.DirEntry{}); err == nil {
		t.Error("a number field was indexed as a string")
	}
}
