// Package output writes rendered templates to their destinations: only
// when the content changed, through a temporary file in the destination's
// directory that is synced and renamed over the destination, so readers
// see the old file or the new one and never a half-written one. The staged
// file can be checked (e.g. `nginx -t`) before it replaces the old one.
//
// The rename is atomic on POSIX file systems when the temporary file and
// the destination are on the same file system, which holds since both are
// in the same directory. A destination that is a single-file bind mount
// (Docker -v file:file) cannot be replaced by rename: the container keeps
// seeing the old inode. ModeInPlace truncates and rewrites the same inode
// for that case, at the cost of atomicity.
package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Write modes.
const (
	ModeRename  = "rename"
	ModeInPlace = "inplace"
)

// DefaultPerms is the mode of a new destination when none is configured.
const DefaultPerms os.FileMode = 0o644

// Options say how a destination is written.
type Options struct {
	// Perms is the file mode; 0 keeps the mode of an existing file or
	// uses DefaultPerms.
	Perms os.FileMode
	// Backup copies the old file to <destination>.bak before replacing it.
	Backup bool
	// CreateDestDirs creates missing parent directories.
	CreateDestDirs bool
	// User and Group own the file when set (names or numeric IDs).
	User, Group string
	// Mode is ModeRename (default) or ModeInPlace.
	Mode string
	// LateSync leaves syncing the new content to disk to the caller
	// (Pending.Sync after CommitVisible), so that whatever acts on the
	// file need not wait for the disk.
	LateSync bool
	// Spare, when set, is the staged file to use if it fits (see Spare).
	Spare *Spare
}

// Staged is new content waiting in a temporary file to replace the
// destination.
type Staged struct {
	dest    string
	tmp     string
	content []byte
	opts    Options
	perms   os.FileMode
	done    bool
}

// Stage writes content to a temporary file beside dest, unless dest
// already holds exactly content, in which case it returns nil, nil.
func Stage(dest string, content []byte, o Options) (*Staged, error) {
	old, err := os.ReadFile(dest)
	switch {
	case err == nil && bytes.Equal(old, content):
		if err := fixMode(dest, o); err != nil {
			return nil, err
		}
		return nil, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", dest, err)
	}
	dir := filepath.Dir(dest)
	if o.CreateDestDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	perms := stagedPerms(dest, o)
	tmpDir := dir
	if o.Mode == ModeInPlace {
		// The destination's directory may be a mount point the process
		// cannot create files in; the staged copy only has to exist for
		// the check.
		tmpDir = ""
	}
	var f *os.File
	if o.Spare != nil && o.Mode != ModeInPlace && len(content) > 0 {
		// (Empty content would leave the spare's old modification
		// time on the new file.)
		f = o.Spare.take(dest, perms, o)
	}
	fresh := f == nil
	if fresh {
		if f, err = os.CreateTemp(tmpDir, "."+filepath.Base(dest)+"."); err != nil {
			return nil, fmt.Errorf("staging %s: %w", dest, err)
		}
	}
	s := &Staged{dest: dest, tmp: f.Name(), content: content, opts: o, perms: perms}
	if err := write(f, content, !o.LateSync); err != nil {
		s.Discard()
		return nil, fmt.Errorf("staging %s: %w", dest, err)
	}
	if fresh {
		if err := setOwnerAndMode(s.tmp, dest, perms, o); err != nil {
			s.Discard()
			return nil, err
		}
	}
	return s, nil
}

// A Spare is an empty staging file made for a destination before it is
// needed, with the destination's mode and owner already set. Creating a
// file waits for the file system's journal, and on a disk that other
// processes keep syncing (a server's log) that costs a good part of a
// millisecond, in the middle of getting a new configuration out; the
// spare is made after a pass, while nothing waits for it.
//
// Between renders the destination's directory holds the spare, an empty
// hidden file named .<name>.spare-<random>. A spare is used only if it is
// still that empty file at that path: one removed, replaced, written to,
// or left behind by a directory that was recreated or a symlink that now
// points elsewhere is not, and Stage creates its file as without a spare.
// The first spare made for a destination removes the empty spares an
// earlier run left there when it could not clean up (it was killed).
type Spare struct {
	f           *os.File
	dest        string
	perms       os.FileMode
	user, group string
	swept       bool
}

// Prepare makes a spare for dest as Stage with o stages it, unless one
// is ready. A spare that no longer fits (the destination's mode or owner
// changed) is not used: Stage discards it and creates its own file.
func (sp *Spare) Prepare(dest string, o Options) error {
	if sp.f != nil || o.Mode == ModeInPlace {
		return nil
	}
	dir, prefix := filepath.Dir(dest), "."+filepath.Base(dest)+".spare-"
	if !sp.swept {
		sp.swept = true
		sweepSpares(dir, prefix)
	}
	perms := stagedPerms(dest, o)
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return fmt.Errorf("staging %s: %w", dest, err)
	}
	if err := setOwnerAndMode(f.Name(), dest, perms, o); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	sp.f, sp.dest, sp.perms, sp.user, sp.group = f, dest, perms, o.User, o.Group
	return nil
}

// sweepSpares removes the empty files named like spares for one
// destination. A live renderer of the same destination whose spare goes
// loses only its head start (see take).
func sweepSpares(dir, prefix string) {
	old, _ := filepath.Glob(filepath.Join(dir, globEscape(prefix)+"*"))
	for _, p := range old {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			os.Remove(p)
		}
	}
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// take hands over the spare's file if it was made for dest with perms
// and o's owner and is still the empty file at its path; otherwise it
// drops the spare and returns nil.
func (sp *Spare) take(dest string, perms os.FileMode, o Options) *os.File {
	f := sp.f
	if f == nil {
		return nil
	}
	if sp.dest != dest || sp.perms != perms || sp.user != o.User || sp.group != o.Group {
		sp.Discard()
		return nil
	}
	held, err1 := f.Stat()
	named, err2 := os.Lstat(f.Name())
	if err1 != nil || err2 != nil || !os.SameFile(held, named) || held.Size() != 0 {
		// Not the file at that path any more, or not empty: leave the
		// path alone.
		f.Close()
		sp.f = nil
		return nil
	}
	sp.f = nil
	return f
}

// Discard removes the spare, if there is one.
func (sp *Spare) Discard() {
	if sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
		sp.f = nil
	}
}

// stagedPerms is the mode a new dest gets: the configured one, else that
// of the file it replaces, else DefaultPerms.
func stagedPerms(dest string, o Options) os.FileMode {
	if o.Perms != 0 {
		return o.Perms
	}
	if fi, err := os.Stat(dest); err == nil {
		return fi.Mode().Perm()
	}
	return DefaultPerms
}

// Path is the temporary file, for a check command to read.
func (s *Staged) Path() string { return s.tmp }

// Commit replaces the destination with the staged content, durably.
func (s *Staged) Commit() error {
	p, err := s.CommitVisible()
	p.Sync()
	return err
}

// Pending is what makes a replacement survive a crash once readers
// already see it: the file's content (with LateSync) and the directory
// entry of a rename.
type Pending struct {
	file, dir string
}

// Sync writes what is pending to disk; failures are not fatal (some file
// systems do not support syncing directories).
func (p Pending) Sync() {
	if p.file != "" {
		if f, err := os.Open(p.file); err == nil {
			f.Sync()
			f.Close()
		}
	}
	if p.dir != "" {
		syncDir(p.dir)
	}
}

// CommitVisible replaces the destination with the staged content, which
// readers see at once, and returns what is left to sync for the
// replacement to survive a crash. The caller syncs it once more urgent
// work (a reload) is under way: if the machine fails before, the file is
// rendered again when the renderer starts.
func (s *Staged) CommitVisible() (Pending, error) {
	if s.done {
		return Pending{}, errors.New("output: staged file already committed or discarded")
	}
	defer s.Discard()
	if s.opts.Backup {
		if err := backup(s.dest); err != nil {
			return Pending{}, err
		}
	}
	if s.opts.Mode == ModeInPlace {
		return Pending{}, s.writeInPlace()
	}
	if err := os.Rename(s.tmp, s.dest); err != nil {
		return Pending{}, fmt.Errorf("replacing %s: %w", s.dest, err)
	}
	s.done = true
	p := Pending{dir: filepath.Dir(s.dest)}
	if s.opts.LateSync {
		p.file = s.dest
	}
	return p, nil
}

// Discard removes the staged file; it is safe to call more than once.
func (s *Staged) Discard() {
	if !s.done {
		os.Remove(s.tmp)
	}
	s.done = true
}

func (s *Staged) writeInPlace() error {
	f, err := os.OpenFile(s.dest, os.O_WRONLY|os.O_CREATE, s.perms)
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.dest, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", s.dest, err)
	}
	if err := write(f, s.content, true); err != nil {
		return fmt.Errorf("writing %s: %w", s.dest, err)
	}
	return setOwnerAndMode(s.dest, s.dest, s.perms, s.opts)
}

// Write stages and commits in one step, reporting whether the destination
// changed.
func Write(dest string, content []byte, o Options) (bool, error) {
	s, err := Stage(dest, content, o)
	if err != nil || s == nil {
		return false, err
	}
	return true, s.Commit()
}

func write(f *os.File, content []byte, sync bool) error {
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// setOwnerAndMode gives path, a file that stands for dest, perms and o's
// owner; errors name dest.
func setOwnerAndMode(path, dest string, perms os.FileMode, o Options) error {
	if err := os.Chmod(path, perms); err != nil {
		return fmt.Errorf("chmod %s: %w", dest, err)
	}
	if o.User == "" && o.Group == "" {
		return nil
	}
	uid, gid, err := lookupOwner(o.User, o.Group)
	if err != nil {
		return fmt.Errorf("owner of %s: %w", dest, err)
	}
	if err := os.Lchown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", dest, err)
	}
	return nil
}

// fixMode applies configured perms to an unchanged destination, so a
// changed perms setting takes effect without a content change.
func fixMode(dest string, o Options) error {
	if o.Perms == 0 {
		return nil
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() == o.Perms {
		return nil
	}
	if err := os.Chmod(dest, o.Perms); err != nil {
		return fmt.Errorf("chmod %s: %w", dest, err)
	}
	return nil
}

// lookupOwner resolves user and group names or IDs; -1 leaves one as is.
func lookupOwner(name, group string) (int, int, error) {
	uid, gid := -1, -1
	if name != "" {
		if n, err := strconv.Atoi(name); err == nil {
			uid = n
		} else {
			u, err := user.Lookup(name)
			if err != nil {
				return 0, 0, err
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
	}
	if group != "" {
		if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return 0, 0, err
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}

// backup copies dest to dest.bak, keeping its mode; a missing dest has
// nothing to back up.
func backup(dest string) error {
	src, err := os.Open(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backing up %s: %w", dest, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("backing up %s: %w", dest, err)
	}
	dst, err := os.OpenFile(dest+".bak", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("backing up %s: %w", dest, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("backing up %s: %w", dest, err)
	}
	return dst.Close()
}

// syncDir makes a rename in dir durable; failures are not fatal (some
// file systems do not support syncing directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
