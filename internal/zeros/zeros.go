// Package zeros is large request bodies for tests that cost no memory:
// n zero bytes, counting how many the client has taken to send, and
// small archives of large zero-filled files.
package zeros

import (
	"io"
	"sync/atomic"
)

// Reader reads zero bytes up to its length.
type Reader struct {
	left atomic.Int64
	read atomic.Int64
}

// New returns a Reader of n bytes.
func New(n int64) *Reader {
	z := &Reader{}
	z.left.Store(n)
	return z
}

func (z *Reader) Read(p []byte) (int, error) {
	left := z.left.Load()
	if left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), left))
	clear(p[:n])
	z.left.Add(-int64(n))
	z.read.Add(int64(n))
	return n, nil
}

// Taken is how many bytes have been read.
func (z *Reader) Taken() int64 { return z.read.Load() }
