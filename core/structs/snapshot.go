package structs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// binarySnapshot marks a snapshot request in its binary form: the request
// without its archive as JSON, after its length, then the archive's bytes
// as they are, a third smaller than JSON's base64 of them.
const binarySnapshot byte = 0xB3

// MarshalBinary is the request's form on the wire. An archive held in
// ArchiveFile is read into it: over RPC the archive travels in one frame.
func (r *SnapshotRequest) MarshalBinary() ([]byte, error) {
	head := *r
	head.Archive, head.ArchiveFile = nil, nil
	js, err := json.Marshal(&head)
	if err != nil {
		return nil, err
	}
	size := int64(len(r.Archive))
	if r.ArchiveFile != nil {
		fi, err := r.ArchiveFile.Stat()
		if err != nil {
			return nil, err
		}
		size = fi.Size()
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(js)+int(size))
	b = append(b, binarySnapshot)
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	if r.ArchiveFile == nil {
		return append(b, r.Archive...), nil
	}
	n, err := io.ReadFull(io.NewSectionReader(r.ArchiveFile, 0, size), b[len(b):len(b)+int(size)])
	if err != nil {
		return nil, fmt.Errorf("read the snapshot archive: %w", err)
	}
	return b[:len(b)+n], nil
}

// UnmarshalBinary reads what MarshalBinary wrote; Archive keeps b's bytes.
func (r *SnapshotRequest) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != binarySnapshot {
		return errors.New("not a binary snapshot request")
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return errors.New("damaged snapshot request")
	}
	js := b[1+k : 1+k+int(n)]
	*r = SnapshotRequest{}
	if err := json.Unmarshal(js, r); err != nil {
		return fmt.Errorf("snapshot request: %w", err)
	}
	if rest := b[1+k+int(n):]; len(rest) > 0 {
		r.Archive = rest
	}
	return nil
}
