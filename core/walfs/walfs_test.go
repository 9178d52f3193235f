//go:build linux

package walfs

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	walsegment "github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// Appends racing the zero-fill read back exactly as written, with zeros
// everywhere else, and the zeros run ahead of the appends.
func TestAppendsSurviveTheZeroFill(t *testing.T) {
	dir := t.TempDir()
	const size = 12 << 20
	wf, err := New().Create(dir, "seg", size)
	if err != nil {
		t.Fatal(err)
	}
	s := wf.(*segment)
	want := make([]byte, size)
	rng := rand.New(rand.NewSource(1))
	off := int64(0)
	for off < size-64<<10 {
		n := 1 + rng.Intn(48<<10)
		if off == 0 {
			n = 3 << 20 // overtake the zeros at once
		}
		rec := make([]byte, n)
		rng.Read(rec)
		if _, err := s.WriteAt(rec, off); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], rec)
		off += int64(len(rec))
		if rng.Intn(4) == 0 {
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if off > 5<<20 && off < 5<<20+64<<10 {
			// Let the zeros get ahead once, and check they did.
			deadline := time.Now().Add(5 * time.Second)
			for {
				s.mu.Lock()
				ahead := s.zeroed - s.end
				s.mu.Unlock()
				if ahead >= 2<<20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("zeros only %d bytes past the appends", ahead)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "seg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size {
		t.Fatalf("file is %d bytes, want the preallocated %d", len(got), size)
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("byte %d is %d, want %d (appends end at %d)", i, got[i], want[i], off)
			}
		}
	}
	if _, err := New().Create(dir, "seg", size); err == nil {
		t.Error("creating an existing segment succeeded")
	}
}

// raft-wal on this file system: logs across many segments survive a close
// and reopen (the tail reopened as a plain file), and appends go on.
func TestRaftWALRoundTrip(t *testing.T) {
	dir := t.TempDir()
	open := func() *wal.WAL {
		w, err := wal.Open(dir, wal.WithMetaStore(&metadb.BoltMetaDB{}), wal.WithSegmentSize(256<<10),
			wal.WithSegmentFiler(walsegment.NewFiler(dir, New())))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	entry := func(i uint64) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry %d %s", i, bytes.Repeat([]byte("x"), int(i%300))))}
	}
	store := func(w *wal.WAL, from, to uint64) {
		for i := from; i <= to; i += 10 {
			var batch []*raft.Log
			for j := i; j < i+10 && j <= to; j++ {
				batch = append(batch, entry(j))
			}
			if err := w.StoreLogs(batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(w *wal.WAL, to uint64) {
		for i := uint64(1); i <= to; i++ {
			var l raft.Log
			if err := w.GetLog(i, &l); err != nil {
				t.Fatalf("log %d: %v", i, err)
			}
			if want := entry(i); !bytes.Equal(l.Data, want.Data) {
				t.Fatalf("log %d reads %q", i, l.Data)
			}
		}
	}
	w := open()
	store(w, 1, 5000)
	check(w, 5000)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(segs) < 3 {
		t.Fatalf("%d segments; the test wants several", len(segs))
	}
	w = open()
	check(w, 5000)
	store(w, 5001, 8000)
	check(w, 8000)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSync is an append of 4 KB and its sync, from three writers at
// once, each on its own 64 MB segment (three servers on one disk): on
// raft-wal's own file system and on this one.
//
//	go test -run '^$' -bench Sync ./core/walfs
func BenchmarkSync(b *testing.B) {
	for _, fs := range []struct {
		name string
		vfs  types.VFS
	}{{"raftwal", walfs.New()}, {"walfs", New()}} {
		b.Run(fs.name, func(b *testing.B) {
			dir := b.TempDir()
			const writers = 3
			files := make([]types.WritableFile, writers)
			for i := range files {
				f, err := fs.vfs.Create(dir, fmt.Sprintf("seg%d", i), 64<<20)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				files[i] = f
			}
			time.Sleep(500 * time.Millisecond) // the first zeros are out
			buf := make([]byte, 4096)
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, f := range files {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := i; n < b.N; n += writers {
						if _, err := f.WriteAt(buf, int64(n/writers)*int64(len(buf))); err != nil {
							b.Error(err)
							return
						}
						if err := f.Sync(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
