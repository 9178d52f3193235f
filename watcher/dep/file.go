package dep

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/watcher/consul"
)

// fileCheckInterval is how often a watched file is looked at.
const fileCheckInterval = 250 * time.Millisecond

// FileQuery is `file "<path>"`. Its value is the file's contents as a
// string. A blocking read waits until the contents change.
type FileQuery struct {
	Path string

	mu      sync.Mutex
	last    []byte
	version uint64
}

// ParseFile reads the argument of `file`.
func ParseFile(path string) (*FileQuery, error) {
	if path == "" {
		return nil, badQuery("file", path, "empty path")
	}
	return &FileQuery{Path: path}, nil
}

func (q *FileQuery) String() string { return "file(" + q.Path + ")" }

// Fetch reads the file; with o.WaitIndex set to the version it last
// returned, it re-reads every fileCheckInterval until the contents differ
// or o.WaitTime passes. Versions count changes seen by this query.
func (q *FileQuery) Fetch(ctx context.Context, _ *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	var deadline <-chan time.Time
	if o.WaitIndex > 0 && o.WaitTime > 0 {
		t := time.NewTimer(o.WaitTime)
		defer t.Stop()
		deadline = t.C
	}
	for {
		data, err := os.ReadFile(q.Path)
		if err != nil {
			return nil, consul.Meta{}, fmt.Errorf("file %s: %w", q.Path, err)
		}
		q.mu.Lock()
		if q.version == 0 || !bytes.Equal(data, q.last) {
			q.last, q.version = data, q.version+1
		}
		v := q.version
		q.mu.Unlock()
		if o.WaitIndex == 0 || v != o.WaitIndex {
			return string(data), consul.Meta{LastIndex: v}, nil
		}
		select {
		case <-ctx.Done():
			return nil, consul.Meta{}, ctx.Err()
		case <-deadline:
			return string(data), consul.Meta{LastIndex: v}, nil
		case <-time.After(fileCheckInterval):
		}
	}
}
