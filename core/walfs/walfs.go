//go:build linux

// Package walfs is the file system the raft log (raft-wal) writes its
// segments through: the operating system's, with segments made cheaper to
// sync.
//
// raft-wal preallocates each segment with fallocate, so each append lands
// in blocks the file system holds as allocated but unwritten, and each
// fsync after an append has to commit a journal transaction that marks
// them written. On ext4 the servers' syncs then queue behind one another
// in the journal, and a sync costs several times the disk's flush. Here a
// new segment is zero-filled a few megabytes ahead of its appends, in the
// background, and synced as it goes, so an append overwrites blocks that
// are already written, and fdatasync has only the data to flush. What the
// log reads back is unchanged: past the last append a preallocated
// segment reads as zeros either way.
//
// The zeros never overwrite an append: they are written only past the
// furthest append, under the same lock as the appends. A segment reopened
// after a restart (its end unknown until the first append) is not
// zero-filled.
package walfs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/types"
)

// How far ahead of the appends a segment is zero-filled, how much is
// synced at a time, and how much is written under the appends' lock.
const (
	ahead = 4 << 20
	chunk = 1 << 20
	piece = 256 << 10
)

var zeros = make([]byte, piece)

// FS implements raft-wal's types.VFS.
type FS struct {
	os *walfs.FS
}

// New returns the file system.
func New() types.VFS { return &FS{os: walfs.New()} }

var _ types.VFS = (*FS)(nil)

func (fs *FS) ListDir(dir string) ([]string, error) { return fs.os.ListDir(dir) }
func (fs *FS) Delete(dir, name string) error        { return fs.os.Delete(dir, name) }
func (fs *FS) OpenReader(dir, name string) (types.ReadableFile, error) {
	return fs.os.OpenReader(dir, name)
}
func (fs *FS) OpenWriter(dir, name string) (types.WritableFile, error) {
	return fs.os.OpenWriter(dir, name)
}

// Create creates a segment of size bytes, preallocated, and starts
// zero-filling it ahead of its appends.
func (fs *FS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		if err := preallocate(f, int64(size)); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
	}
	s := &segment{f: f, dir: dir, size: int64(size), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	// The zeros go through a handle of their own: a sync reports a
	// failed write-back once per handle, so the zeros' sync can never
	// take the error an append's Sync must see.
	if size > 0 {
		if s.zf, err = os.OpenFile(f.Name(), os.O_RDWR, 0); err != nil {
			s.zf = nil // the segment works without zeros
		}
	}
	if s.zf == nil {
		s.failed = true // appends go on without zeros; Close waits for no filler
		return s, nil
	}
	go s.zeroFill()
	s.nudge()
	return s, nil
}

// preallocate reserves size bytes for f and sets its length, falling
// back to only setting the length where the file system cannot reserve.
func preallocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	for tries := 0; errors.Is(err, syscall.EINTR) && tries < 3; tries++ {
		err = syscall.Fallocate(int(f.Fd()), 0, 0, size)
	}
	if err != nil {
		// Not supported here (tmpfs on old kernels, some overlays), or
		// interrupted again and again: the length alone will do.
		return f.Truncate(size)
	}
	return nil
}

// segment is a segment file being appended to.
type segment struct {
	f    *os.File // appends, reads and their syncs
	zf   *os.File // the zeros and their syncs
	dir  string
	size int64

	mu      sync.Mutex // orders appends and zeros
	end     int64      // the end of the furthest append
	zeroed  int64      // zeros are written up to here
	failed  bool       // zero-filling stopped on an error
	dirDone atomic.Bool

	wake       chan struct{}
	stop, done chan struct{}
	closeOnce  sync.Once
}

func (s *segment) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	n, err := s.f.WriteAt(p, off)
	if e := off + int64(n); e > s.end {
		s.end = e
	}
	behind := !s.failed && s.zeroed-s.end < ahead/2 && s.zeroed < s.size
	s.mu.Unlock()
	if behind {
		s.nudge()
	}
	return n, err
}

func (s *segment) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// Sync makes the appends durable: fdatasync flushes the data and whatever
// metadata reading it back needs (blocks past the zeros still have their
// extents committed). The first Sync of a new segment also syncs its
// directory, so the file itself survives a crash.
func (s *segment) Sync() error {
	if err := fdatasync(s.f); err != nil {
		return err
	}
	if !s.dirDone.Load() {
		if err := syncDir(s.dir); err != nil {
			return err
		}
		s.dirDone.Store(true)
	}
	return nil
}

func (s *segment) Close() error {
	s.closeOnce.Do(func() {
		if s.zf != nil {
			close(s.stop)
			<-s.done
			s.zf.Close()
		}
	})
	return s.f.Close()
}

func (s *segment) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// zeroFill keeps the zeros ahead of the appends until the segment is
// closed or full.
func (s *segment) zeroFill() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for s.fillChunk() {
			select {
			case <-s.stop:
				return
			default:
			}
		}
	}
}

// fillChunk writes up to a chunk of zeros past the appends, a piece at a
// time, and syncs them; it reports whether it wrote any and more may be
// due.
func (s *segment) fillChunk() bool {
	wrote := false
	for done := int64(0); done < chunk; {
		s.mu.Lock()
		from := max(s.zeroed, s.end)
		if s.failed || from-s.end >= ahead || from >= s.size {
			s.mu.Unlock()
			break
		}
		n := min(int64(piece), s.size-from)
		_, err := s.zf.WriteAt(zeros[:n], from)
		if err != nil {
			s.failed = true // appends go on as without zeros
		} else {
			s.zeroed = from + n
		}
		s.mu.Unlock()
		if err != nil {
			return false
		}
		done += n
		wrote = true
	}
	if !wrote {
		return false
	}
	// Written out now, in the background, not by the next append's sync.
	if fdatasync(s.zf) != nil {
		s.mu.Lock()
		s.failed = true
		s.mu.Unlock()
		return false
	}
	return true
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
