package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
