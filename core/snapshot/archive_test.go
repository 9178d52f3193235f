package snapshot

import (
	"bytes"
	"errors"
	"io"
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
