package output

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteOnlyOnChangeByRename(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "sub", "dir", "app.conf")
	changed, err := Write(dest, []byte("one"), Options{CreateDestDirs: true})
	if err != nil || !changed || read(t, dest) != "one" {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != DefaultPerms {
		t.Errorf("new file mode %v, want %v", fi.Mode().Perm(), DefaultPerms)
	}
	ino := inode(t, dest)
	changed, err = Write(dest, []byte("one"), Options{})
	if err != nil || changed || inode(t, dest) != ino {
		t.Fatalf("same content: changed=%v err=%v (the file must be left alone)", changed, err)
	}
	changed, err = Write(dest, []byte("two"), Options{})
	if err != nil || !changed || read(t, dest) != "two" {
		t.Fatalf("new content: changed=%v err=%v", changed, err)
	}
	if inode(t, dest) == ino {
		t.Errorf("rename mode must put a new inode in place")
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestMissingDirectoryWithoutCreate(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "nope", "app.conf")
	if _, err := Write(dest, []byte("x"), Options{CreateDestDirs: false}); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func TestInPlaceKeepsTheInode(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "bind.conf")
	os.WriteFile(dest, []byte("a much longer old content"), 0o600)
	ino := inode(t, dest)
	changed, err := Write(dest, []byte("new"), Options{Mode: ModeInPlace})
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if got := read(t, dest); got != "new" {
		t.Errorf("content %q", got)
	}
	if inode(t, dest) != ino {
		t.Errorf("inplace must keep the inode a bind mount points at")
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the existing 0600", fi.Mode().Perm())
	}
}

func TestPermsBackupAndOwner(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(dest, []byte("old"), 0o644)
	if _, err := Write(dest, []byte("new"), Options{Perms: 0o640, Backup: true}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o640 {
		t.Errorf("perms %v, want 0640", fi.Mode().Perm())
	}
	if got := read(t, dest+".bak"); got != "old" {
		t.Errorf("backup holds %q, want the old content", got)
	}
	// Perms apply even when the content is unchanged.
	if _, err := Write(dest, []byte("new"), Options{Perms: 0o600}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
		t.Errorf("perms on unchanged content %v, want 0600", fi.Mode().Perm())
	}
	uid := os.Getuid()
	if _, err := Write(dest, []byte("owned"), Options{User: strconv.Itoa(uid), Group: strconv.Itoa(os.Getgid())}); err != nil {
		t.Errorf("chown to myself: %v", err)
	}
	if _, err := Write(dest, []byte("x"), Options{User: "no-such-user-beacon"}); err == nil {
		t.Error("unknown user: want an error")
	}
	if read(t, dest) != "owned" {
		t.Error("a failed write must leave the old content")
	}
}

func TestStagedDiscardKeepsOld(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(dest, []byte("old"), 0o644)
	s, err := Stage(dest, []byte("candidate"), Options{})
	if err != nil || s == nil {
		t.Fatalf("stage: %v", err)
	}
	if read(t, s.Path()) != "candidate" {
		t.Error("staged file must hold the new content")
	}
	s.Discard()
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Error("discard must remove the staged file")
	}
	if read(t, dest) != "old" {
		t.Error("discard must keep the old file")
	}
	if err := s.Commit(); err == nil {
		t.Error("commit after discard must fail")
	}
}

// A spare made ahead becomes the destination, with the destination's mode;
// one that no longer fits is removed and not used; Discard leaves nothing.
func TestSpare(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.conf")
	if _, err := Write(dest, []byte("one"), Options{Perms: 0o640}); err != nil {
		t.Fatal(err)
	}
	hidden := func() []string {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if e.Name() != "app.conf" {
				names = append(names, e.Name())
			}
		}
		return names
	}
	var sp Spare
	if err := sp.Prepare(dest, Options{}); err != nil {
		t.Fatal(err)
	}
	spare := hidden()
	if len(spare) != 1 {
		t.Fatalf("files beside the destination: %q, want one spare", spare)
	}
	if fi, _ := os.Stat(filepath.Join(dir, spare[0])); fi.Mode().Perm() != 0o640 {
		t.Errorf("spare mode %v, want the destination's 0640", fi.Mode().Perm())
	}
	ino := inode(t, filepath.Join(dir, spare[0]))
	if _, err := Write(dest, []byte("two"), Options{Spare: &sp}); err != nil {
		t.Fatal(err)
	}
	if read(t, dest) != "two" || inode(t, dest) != ino || len(hidden()) != 0 {
		t.Errorf("dest %q (inode %d, spare's %d), others %q", read(t, dest), inode(t, dest), ino, hidden())
	}

	// The configured mode changed since the spare was made.
	if err := sp.Prepare(dest, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dest, []byte("three"), Options{Spare: &sp, Perms: 0o600}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 || len(hidden()) != 0 {
		t.Errorf("mode %v, others %q; want 0600 and the unfit spare gone", fi.Mode().Perm(), hidden())
	}

	if err := sp.Prepare(dest, Options{Perms: 0o600}); err != nil {
		t.Fatal(err)
	}
	sp.Discard()
	if len(hidden()) != 0 {
		t.Errorf("left after Discard: %q", hidden())
	}
}

// A spare that is no longer the empty file at its path (removed, written
// to, its directory recreated) is not used, and the write still succeeds;
// empty spares a killed renderer left behind go when the first spare is
// made.
func TestSpareGoneStale(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "conf", "app.conf")
	if _, err := Write(dest, []byte("one"), Options{CreateDestDirs: true}); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "conf", ".app.conf.spare-123")
	os.WriteFile(left, nil, 0o644)
	kept := filepath.Join(dir, "conf", ".app.conf.spare-456")
	os.WriteFile(kept, []byte("not empty: not a spare of ours"), 0o644)

	var sp Spare
	spareFile := func() string {
		if err := sp.Prepare(dest, Options{}); err != nil {
			t.Fatal(err)
		}
		return sp.f.Name()
	}
	spareFile()
	if _, err := os.Stat(left); err == nil {
		t.Error("an empty spare left by an earlier run is still there")
	}
	if _, err := os.Stat(kept); err != nil {
		t.Error("a non-empty file named like a spare was removed")
	}

	for _, tc := range []struct {
		name  string
		spoil func(spare string)
	}{
		{"removed", func(spare string) { os.Remove(spare) }},
		{"written to", func(spare string) { os.WriteFile(spare, []byte("junk"), 0o644) }},
		{"directory recreated", func(string) {
			os.RemoveAll(filepath.Dir(dest))
			os.MkdirAll(filepath.Dir(dest), 0o755)
		}},
	} {
		tc.spoil(spareFile())
		content := "after the spare was " + tc.name
		if _, err := Write(dest, []byte(content), Options{Spare: &sp, CreateDestDirs: true}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := read(t, dest); got != content {
			t.Errorf("%s: destination holds %q", tc.name, got)
		}
	}
}
