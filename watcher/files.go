package watcher

import (
	"path/filepath"
	"sort"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// Files reports changes to a set of files. It watches their directories,
// not the files, so a file replaced by rename (as editors and Kubernetes
// config maps do), removed, or created later is noticed too. Any event in
// a directory reports every watched file in it; the owner compares
// contents to see which really changed.
type Files struct {
	fw     *fsnotify.Watcher
	notify chan struct{}
	errors chan error
	done   chan struct{}

	mu      sync.Mutex
	dirs    map[string]map[string]bool // directory -> watched paths in it
	pending map[string]bool
}

// NewFiles starts an empty file watcher.
func NewFiles() (*Files, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	f := &Files{fw: fw, notify: make(chan struct{}, 1), errors: make(chan error, 4),
		done: make(chan struct{}), dirs: map[string]map[string]bool{}, pending: map[string]bool{}}
	go f.loop()
	return f, nil
}

// Add watches path (made absolute).
func (f *Files) Add(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs[dir] == nil {
		if err := f.fw.Add(dir); err != nil {
			return err
		}
		f.dirs[dir] = map[string]bool{}
	}
	f.dirs[dir][abs] = true
	return nil
}

// Changed is signalled when watched files may have changed; Take says
// which.
func (f *Files) Changed() <-chan struct{} { return f.notify }

// Take returns the absolute paths of watched files that may have changed
// since the last call, sorted.
func (f *Files) Take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.pending))
	for p := range f.pending {
		out = append(out, p)
	}
	f.pending = map[string]bool{}
	sort.Strings(out)
	return out
}

// Errors delivers watch errors (a full kernel queue, say).
func (f *Files) Errors() <-chan error { return f.errors }

// Close stops watching.
func (f *Files) Close() error {
	err := f.fw.Close()
	<-f.done
	return err
}

func (f *Files) loop() {
	defer close(f.done)
	for {
		select {
		case ev, ok := <-f.fw.Events:
			if !ok {
				return
			}
			if f.markDir(filepath.Dir(ev.Name)) {
				select {
				case f.notify <- struct{}{}:
				default:
				}
			}
		case err, ok := <-f.fw.Errors:
			if !ok {
				return
			}
			select {
			case f.errors <- err:
			default:
			}
		}
	}
}

// markDir marks every watched file of dir as pending.
func (f *Files) markDir(dir string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p := range f.dirs[dir] {
		f.pending[p] = true
	}
	return len(f.dirs[dir]) > 0
}
