package structs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// binaryKVS marks a KV command in the compact binary form. JSON commands
// start with '{', so the two never collide and logs written before the
// binary form existed still decode.
const binaryKVS byte = 0xB1

// binaryKVGroup marks a group of KV writes that apply together, at one
// index, as one log entry: a count, then each write in the binary form.
const binaryKVGroup byte = 0xB2

// EncodeCommand serializes a command for the replicated log. KV writes, the
// hot path, use a compact binary form that decodes an order of magnitude
// faster than JSON; every other command is JSON.
func EncodeCommand(c *Command) ([]byte, error) {
	if c.Type == KVSRequestType && c.KVS != nil {
		return appendKVS(make([]byte, 0, 64+c.KVS.Size()), c.KVS), nil
	}
	return json.Marshal(c)
}

// DecodeCommand reads what EncodeCommand wrote.
func DecodeCommand(b []byte) (*Command, error) {
	if len(b) > 0 && b[0] == binaryKVS {
		kvs, err := readKVS(b[1:])
		if err != nil {
			return nil, err
		}
		return &Command{Type: KVSRequestType, KVS: kvs}, nil
	}
	if IsKVGroup(b) {
		return nil, errors.New("a group of KV writes is not one command")
	}
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// EncodeKVGroup serializes KV writes that apply together as one log entry.
func EncodeKVGroup(group []*KVSRequest) []byte {
	n := 16
	for _, r := range group {
		n += 64 + r.Size() + len(r.Token) + len(r.RequestID)
	}
	b := append(make([]byte, 0, n), binaryKVGroup)
	b = binary.AppendUvarint(b, uint64(len(group)))
	for _, r := range group {
		b = appendKVS(b, r)
	}
	return b
}

// IsKVGroup tells a log entry written by EncodeKVGroup.
func IsKVGroup(b []byte) bool { return len(b) > 0 && b[0] == binaryKVGroup }

// DecodeKVGroup reads what EncodeKVGroup wrote.
func DecodeKVGroup(b []byte) ([]*KVSRequest, error) {
	if !IsKVGroup(b) {
		return nil, errors.New("not a group of KV writes")
	}
	d := &decoder{b: b[1:]}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every write takes more than a byte
		return nil, fmt.Errorf("KV group announces %d writes in %d bytes", n, len(d.b))
	}
	group := make([]*KVSRequest, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		if len(d.b) == 0 || d.b[0] != binaryKVS {
			d.err = fmt.Errorf("KV group: write %d of %d is missing or not a KV write", i+1, n)
			break
		}
		d.b = d.b[1:]
		group = append(group, d.kvs())
	}
	if err := d.done("KV group"); err != nil {
		return nil, err
	}
	return group, nil
}

func appendKVS(b []byte, r *KVSRequest) []byte {
	b = append(b, binaryKVS)
	b = appendString(b, r.Datacenter)
	b = appendString(b, string(r.Op))
	e := &r.DirEnt
	b = binary.AppendUvarint(b, e.LockIndex)
	b = appendString(b, e.Key)
	b = binary.AppendUvarint(b, e.Flags)
	if e.Value == nil {
		b = binary.AppendUvarint(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(e.Value))+1)
		b = append(b, e.Value...)
	}
	b = appendString(b, e.Session)
	b = binary.AppendUvarint(b, e.CreateIndex)
	b = binary.AppendUvarint(b, e.ModifyIndex)
	b = appendString(b, r.Token)
	b = appendString(b, r.RequestID)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShortCommand = errors.New("binary KV command is truncated")

// decoder reads the binary form field by field; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortCommand
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShortCommand
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

func readKVS(b []byte) (*KVSRequest, error) {
	d := &decoder{b: b}
	r := d.kvs()
	if err := d.done("binary KV command"); err != nil {
		return nil, err
	}
	return r, nil
}

// done is the decoder's error, or one for bytes left over.
func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%s has %d bytes of trailing garbage", what, len(d.b))
	}
	return d.err
}

// kvs reads one KV write's fields.
func (d *decoder) kvs() *KVSRequest {
	r := &KVSRequest{}
	r.Datacenter = d.string()
	r.Op = KVOp(d.string())
	e := &r.DirEnt
	e.LockIndex = d.uvarint()
	e.Key = d.string()
	e.Flags = d.uvarint()
	if n := d.uvarint(); n > 0 {
		// A copy: the log entry's buffer belongs to raft.
		e.Value = append([]byte{}, d.bytes(n-1)...)
	}
	e.Session = d.string()
	e.CreateIndex = d.uvarint()
	e.ModifyIndex = d.uvarint()
	r.Token = d.string()
	r.RequestID = d.string()
	return r
}

// MarshalBinary is the KV write's compact form, also used on the wire
// between agents and servers.
func (r *KVSRequest) MarshalBinary() ([]byte, error) {
	return appendKVS(make([]byte, 0, 64+r.Size()), r), nil
}

// UnmarshalBinary reads what MarshalBinary wrote.
func (r *KVSRequest) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != binaryKVS {
		return errors.New("not a binary KV write")
	}
	got, err := readKVS(b[1:])
	if err != nil {
		return err
	}
	*r = *got
	return nil
}

// KVSGroupRequest carries KV writes that a follower sends on to the leader
// together.
type KVSGroupRequest struct {
	Writes []*KVSRequest
}

// KVSResult is the outcome of one write of a group: what KVApply would have
// returned, the error as its message and the code of its kind.
type KVSResult struct {
	OK   bool
	Err  string `json:",omitempty"`
	Code string `json:",omitempty"`
}

// KVSGroupReply holds one result per write, in order.
type KVSGroupReply struct {
	Results []KVSResult
}

// EnsureRequestID gives every write an ID, so that a group sent again
// after a leader change applies each write once.
func (g *KVSGroupRequest) EnsureRequestID() {
	for _, w := range g.Writes {
		w.EnsureRequestID()
	}
}

// MarshalBinary is the group's compact form on the wire, the log's.
func (g *KVSGroupRequest) MarshalBinary() ([]byte, error) { return EncodeKVGroup(g.Writes), nil }

// UnmarshalBinary reads what MarshalBinary wrote.
func (g *KVSGroupRequest) UnmarshalBinary(b []byte) error {
	w, err := DecodeKVGroup(b)
	if err != nil {
		return err
	}
	g.Writes = w
	return nil
}
