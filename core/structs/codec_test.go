package structs

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// fill sets every field of v (recursively) to a distinct non-zero value, so
// a field the binary form forgets shows up as a difference.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('a'+*n%26)))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint(uint64(*n) * 1000003)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{0, 1, 2, byte(*n)})
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	}
}

func TestKVSCommandRoundTrip(t *testing.T) {
	full := &KVSRequest{}
	n := 0
	fill(reflect.ValueOf(full).Elem(), &n)
	for _, tc := range []struct {
		name string
		kvs  *KVSRequest
	}{
		{"every field set", full},
		{"nil value", &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "a"}}},
		{"empty value", &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "a", Value: []byte{}}}},
		{"unicode and NUL-free binary", &KVSRequest{Op: KVCAS, DirEnt: DirEntry{Key: "ключ/键", Value: bytes.Repeat([]byte{0xff, 0}, 300), RaftIndex: RaftIndex{ModifyIndex: 1 << 62}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &Command{Type: KVSRequestType, KVS: tc.kvs}
			b, err := EncodeCommand(in)
			if err != nil || b[0] != binaryKVS {
				t.Fatalf("encode: %x, %v", b, err)
			}
			out, err := DecodeCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip changed the command:\n in  %+v\n out %+v", in.KVS, out.KVS)
			}
			wire, _ := tc.kvs.MarshalBinary()
			var back KVSRequest
			if err := back.UnmarshalBinary(wire); err != nil || !reflect.DeepEqual(&back, tc.kvs) {
				t.Fatalf("wire form changed the request: %+v, %v", back, err)
			}
			// Every truncation is an error, never a panic or a short read.
			for i := 1; i < len(b); i++ {
				if _, err := DecodeCommand(b[:i]); err == nil {
					t.Fatalf("truncated to %d of %d bytes decoded", i, len(b))
				}
			}
		})
	}
}

func TestJSONCommandsStillDecode(t *testing.T) {
	// A KV command as logs written in JSON hold it.
	old, _ := json.Marshal(&Command{Type: KVSRequestType, KVS: &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "k", Value: []byte("v")}}})
	c, err := DecodeCommand(old)
	if err != nil || c.KVS == nil || c.KVS.DirEnt.Key != "k" || string(c.KVS.DirEnt.Value) != "v" {
		t.Fatalf("%+v, %v", c, err)
	}
	reg := &Command{Type: RegisterRequestType, Register: &RegisterRequest{Node: "n", Address: "10.0.0.1"}}
	b, _ := EncodeCommand(reg)
	if b[0] != '{' {
		t.Fatalf("a register command is not JSON: %q", b)
	}
	c, err = DecodeCommand(b)
	if err != nil || c.Register.Node != "n" {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := DecodeCommand([]byte{binaryKVS, 0x80}); err == nil {
		t.Fatal("a bad varint decoded")
	}
}

func TestKVGroupRoundTrip(t *testing.T) {
	full := &KVSRequest{}
	n := 0
	fill(reflect.ValueOf(full).Elem(), &n)
	group := []*KVSRequest{full, {Op: KVSet, DirEnt: DirEntry{Key: "a"}}, {Op: KVDelete, DirEnt: DirEntry{Key: "b", Value: []byte{}}}}
	b := EncodeKVGroup(group)
	if !IsKVGroup(b) {
		t.Fatalf("not recognised as a group: %x", b[:4])
	}
	back, err := DecodeKVGroup(b)
	if err != nil || !reflect.DeepEqual(back, group) {
		t.Fatalf("round trip changed the group: %+v, %v", back, err)
	}
	if _, err := DecodeCommand(b); err == nil {
		t.Fatal("a group decoded as one command")
	}
	for i := 1; i < len(b); i++ {
		if _, err := DecodeKVGroup(b[:i]); err == nil {
			t.Fatalf("truncated to %d of %d bytes decoded", i, len(b))
		}
	}
	for name, bad := range map[string][]byte{
		"trailing bytes":    append(append([]byte{}, b...), 0),
		"huge count":        {binaryKVGroup, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"member not KV":     {binaryKVGroup, 1, '{', '}'},
		"single KV command": EncodeKVGroup(group)[2:],
	} {
		if _, err := DecodeKVGroup(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeKVGroup(f *testing.F) {
	f.Add(EncodeKVGroup([]*KVSRequest{{Op: KVSet, DirEnt: DirEntry{Key: "k", Value: []byte("v")}}, {Op: KVDelete, DirEnt: DirEntry{Key: "j"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeKVGroup(b)
		if err != nil {
			return
		}
		g2, err := DecodeKVGroup(EncodeKVGroup(g))
		if err != nil || !reflect.DeepEqual(g, g2) {
			t.Fatalf("decoded %x as %d writes, re-encoded them: %+v, %v", b, len(g), g2, err)
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	b, _ := EncodeCommand(&Command{Type: KVSRequestType, KVS: &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "k", Value: []byte("v")}}})
	f.Add(b)
	f.Add([]byte(`{"Type":3,"KVS":{"Op":"set"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil || c.KVS == nil || len(b) == 0 || b[0] != binaryKVS {
			return
		}
		// Varints have more than one spelling, so compare meanings.
		again, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCommand(again)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("decoded %x as %+v, re-encoded it as %x: %+v, %v", b, c.KVS, again, c2, err)
		}
	})
}

func BenchmarkDecodeKVSCommand(b *testing.B) {
	cmd := &Command{Type: KVSRequestType, KVS: &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "bench/123", Value: bytes.Repeat([]byte("x"), 64)}, WriteRequest: WriteRequest{RequestID: GenerateUUID()}}}
	bin, _ := EncodeCommand(cmd)
	js, _ := json.Marshal(cmd)
	b.Run("binary", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := DecodeCommand(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := DecodeCommand(js); err != nil {
				b.Fatal(err)
			}
		}
	})
}
