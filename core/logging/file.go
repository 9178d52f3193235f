// Package logging holds the agent's log outputs besides the console: a log
// file rotated by size and age (log_file and the log_rotate_* settings), and
// a logger whose entries subscribers can tap at their own level (the
// /v1/agent/monitor stream).
package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRotateDuration is how long a log file is written to before it is
// rotated when log_rotate_duration is not set, as in Consul.
const DefaultRotateDuration = 24 * time.Hour

// defaultFileName is the file written when log_file names a directory.
const defaultFileName = "consul.log"

// FileConfig is the log_file setting and its rotation limits.
type FileConfig struct {
	// Path is log_file. A path ending in a separator is a directory, and
	// the log goes to consul.log inside it.
	Path string
	// RotateBytes rotates the file before a write would take it past this
	// size; 0 has no size limit.
	RotateBytes int
	// RotateDuration rotates a file once it has been written to this long;
	// 0 means DefaultRotateDuration.
	RotateDuration time.Duration
	// RotateMaxFiles is how many rotated files to keep: 0 keeps them all,
	// -1 deletes each as soon as it is rotated out.
	RotateMaxFiles int
}

// File is a log file that rotates. The file being written keeps the
// configured name; on rotation it is renamed with the rotation time in
// nanoseconds before the extension (consul.log becomes
// consul-1700000000000000000.log, a name without an extension gets .log),
// and a new one is started. Rotation happens on the write that would cross
// a limit, so an entry is never split across files.
type File struct {
	dir, name string
	maxBytes  int64
	maxAge    time.Duration
	maxFiles  int
	now       func() time.Time

	mu      sync.Mutex
	f       *os.File
	created time.Time
	size    int64
	closed  bool
}

// OpenFile opens (appending) or creates the log file, first pruning rotated
// files beyond the limit.
func OpenFile(cfg FileConfig) (*File, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("log_file: empty path")
	}
	if cfg.RotateBytes < 0 {
		return nil, fmt.Errorf("log_rotate_bytes %d: must not be negative", cfg.RotateBytes)
	}
	if cfg.RotateDuration < 0 {
		return nil, fmt.Errorf("log_rotate_duration %s: must not be negative", cfg.RotateDuration)
	}
	if cfg.RotateMaxFiles < -1 {
		return nil, fmt.Errorf("log_rotate_max_files %d: must be -1 (keep none), 0 (keep all) or a count", cfg.RotateMaxFiles)
	}
	dir, name := filepath.Split(cfg.Path)
	if name == "" {
		name = defaultFileName
	}
	if dir == "" {
		dir = "."
	}
	l := &File{
		dir: dir, name: name, maxBytes: int64(cfg.RotateBytes), maxAge: cfg.RotateDuration,
		maxFiles: cfg.RotateMaxFiles, now: time.Now,
	}
	if l.maxAge == 0 {
		l.maxAge = DefaultRotateDuration
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log_file: %w", err)
	}
	if err := l.prune(); err != nil {
		return nil, fmt.Errorf("log_file: %w", err)
	}
	if err := l.open(); err != nil {
		return nil, fmt.Errorf("log_file: %w", err)
	}
	return l, nil
}

// Path is the file being written.
func (l *File) Path() string { return filepath.Join(l.dir, l.name) }

// open opens the current file for appending; a file left by an earlier run
// counts towards the size limit.
func (l *File) open() error {
	f, err := os.OpenFile(l.Path(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size, l.created = f, st.Size(), l.now()
	return nil
}

// Write appends p, rotating first when p would cross a limit.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, os.ErrClosed
	}
	if l.f == nil { // a failed rotation left none open: try again
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	if l.due(len(p)) {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// due reports whether writing n more bytes calls for a new file.
func (l *File) due(n int) bool {
	if l.size == 0 {
		return false // an empty file takes any entry, however large
	}
	if l.maxBytes > 0 && l.size+int64(n) > l.maxBytes {
		return true
	}
	return l.now().Sub(l.created) >= l.maxAge
}

// rotate renames the current file aside, prunes old ones and starts anew.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	stamp := l.now().UnixNano()
	for {
		aside := filepath.Join(l.dir, l.rotatedName(strconv.FormatInt(stamp, 10)))
		if _, err := os.Lstat(aside); os.IsNotExist(err) {
			if err := os.Rename(l.Path(), aside); err != nil {
				return err
			}
			break
		}
		stamp++ // two rotations within one clock tick
	}
	if err := l.prune(); err != nil {
		return err
	}
	return l.open()
}

// rotatedName is the name of a file rotated at stamp.
func (l *File) rotatedName(stamp string) string {
	ext := filepath.Ext(l.name)
	base := strings.TrimSuffix(l.name, ext)
	if ext == "" {
		ext = ".log"
	}
	return base + "-" + stamp + ext
}

// Rotated lists the rotated files, oldest first.
func (l *File) Rotated() ([]string, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	prefix, suffix, _ := strings.Cut(l.rotatedName("*"), "*")
	type aside struct {
		path  string
		stamp int64
	}
	var found []aside
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, suffix) || len(n) <= len(prefix)+len(suffix) {
			continue
		}
		stamp, err := strconv.ParseInt(n[len(prefix):len(n)-len(suffix)], 10, 64)
		if err != nil {
			continue // another program's file that happens to share the prefix
		}
		found = append(found, aside{filepath.Join(l.dir, n), stamp})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].stamp < found[j].stamp })
	out := make([]string, len(found))
	for i, a := range found {
		out[i] = a.path
	}
	return out, nil
}

// prune deletes the oldest rotated files beyond maxFiles.
func (l *File) prune() error {
	if l.maxFiles == 0 {
		return nil
	}
	files, err := l.Rotated()
	if err != nil {
		return err
	}
	keep := max(l.maxFiles, 0)
	if len(files) <= keep {
		return nil
	}
	for _, f := range files[:len(files)-keep] {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// Close closes the current file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
