package logging

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t *testing.T, cfg FileConfig) (*File, *clock) {
	t.Helper()
	l, err := OpenFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l.now = c.now
	l.created = c.t
	return l, c
}

func write(t *testing.T, l *File, s string) {
	t.Helper()
	if _, err := l.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// dir lists a directory's file names and contents.
func dir(t *testing.T, path string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func names(m map[string]string) string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

func TestRotateBySize(t *testing.T) {
	d := t.TempDir()
	l, c := openTest(t, FileConfig{Path: filepath.Join(d, "agent.log"), RotateBytes: 10})
	write(t, l, "12345\n")
	write(t, l, "678\n") // 10 bytes: still fits
	c.t = c.t.Add(time.Second)
	write(t, l, "next\n") // would cross the limit: rotates first
	c.t = c.t.Add(time.Second)
	write(t, l, "a very long entry past the limit\n") // never split
	write(t, l, "x\n")

	got := dir(t, d)
	want := map[string]string{
		"agent-1700000001000000000.log": "12345\n678\n",
		"agent-1700000002000000000.log": "next\n",
		"agent-1700000002000000001.log": "a very long entry past the limit\n",
		"agent.log":                     "x\n",
	}
	if names(got) != names(want) {
		t.Fatalf("files %s, want %s", names(got), names(want))
	}
	for n, body := range want {
		if got[n] != body {
			t.Errorf("%s = %q, want %q", n, got[n], body)
		}
	}
}

func TestRotateByDuration(t *testing.T) {
	d := t.TempDir()
	l, c := openTest(t, FileConfig{Path: filepath.Join(d, "a.log"), RotateDuration: time.Hour})
	write(t, l, "first\n")
	c.t = c.t.Add(59 * time.Minute)
	write(t, l, "still first\n")
	c.t = c.t.Add(time.Minute)
	write(t, l, "second\n")
	got := dir(t, d)
	if len(got) != 2 || got["a.log"] != "second\n" || got["a-1700003600000000000.log"] != "first\nstill first\n" {
		t.Fatalf("files: %v", got)
	}
}

func TestDefaultRotateDuration(t *testing.T) {
	l, c := openTest(t, FileConfig{Path: filepath.Join(t.TempDir(), "a.log")})
	write(t, l, "1\n")
	c.t = c.t.Add(DefaultRotateDuration - time.Second)
	write(t, l, "2\n")
	if r, _ := l.Rotated(); len(r) != 0 {
		t.Fatalf("rotated before a day: %v", r)
	}
	c.t = c.t.Add(time.Second)
	write(t, l, "3\n")
	if r, _ := l.Rotated(); len(r) != 1 {
		t.Fatalf("not rotated after a day: %v", r)
	}
}

func TestMaxFiles(t *testing.T) {
	cases := []struct {
		name     string
		maxFiles int
		kept     int
	}{
		{"0 keeps every rotated file", 0, 5},
		{"2 keeps the newest two", 2, 2},
		{"-1 keeps none", -1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			l, c := openTest(t, FileConfig{Path: filepath.Join(d, "b.log"), RotateBytes: 1, RotateMaxFiles: tc.maxFiles})
			for i := 0; i < 6; i++ {
				c.t = c.t.Add(time.Second)
				write(t, l, string(rune('a'+i)))
			}
			rotated, err := l.Rotated()
			if err != nil {
				t.Fatal(err)
			}
			if len(rotated) != tc.kept {
				t.Fatalf("kept %d rotated files, want %d: %v", len(rotated), tc.kept, rotated)
			}
			if tc.kept > 0 {
				// The newest are kept: the last rotated file holds "e".
				b, _ := os.ReadFile(rotated[len(rotated)-1])
				if string(b) != "e" {
					t.Errorf("newest rotated file holds %q", b)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(d, "b.log")); string(b) != "f" {
				t.Errorf("current file holds %q", b)
			}
		})
	}
}

func TestPruneAtStartIgnoresOtherFiles(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"c-100.log", "c-200.log", "c-300.log", "c-backup.log", "c-1.txt", "other-5.log"} {
		if err := os.WriteFile(filepath.Join(d, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openTest(t, FileConfig{Path: filepath.Join(d, "c.log"), RotateMaxFiles: 1})
	got := names(dir(t, d))
	if want := "c-1.txt c-300.log c-backup.log c.log other-5.log"; got != want {
		t.Fatalf("after start: %s, want %s", got, want)
	}
}

func TestFileNaming(t *testing.T) {
	d := t.TempDir()
	// A directory: consul.log inside it, rotated to consul-<ns>.log.
	l, c := openTest(t, FileConfig{Path: filepath.Join(d, "logs") + string(filepath.Separator), RotateBytes: 1})
	if l.Path() != filepath.Join(d, "logs", "consul.log") {
		t.Fatalf("path %s", l.Path())
	}
	write(t, l, "a")
	c.t = c.t.Add(time.Second)
	write(t, l, "b")
	if got := names(dir(t, filepath.Join(d, "logs"))); got != "consul-1700000001000000000.log consul.log" {
		t.Fatalf("directory files: %s", got)
	}
	// No extension: rotated files get .log.
	l2, c2 := openTest(t, FileConfig{Path: filepath.Join(d, "plain"), RotateBytes: 1})
	write(t, l2, "a")
	c2.t = c2.t.Add(time.Second)
	write(t, l2, "b")
	if r, _ := l2.Rotated(); len(r) != 1 || filepath.Base(r[0]) != "plain-1700000001000000000.log" {
		t.Fatalf("rotated %v", r)
	}
}

func TestReopenAppendsAndCountsExistingSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.log")
	if err := os.WriteFile(path, []byte("old run\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	l, _ := openTest(t, FileConfig{Path: path, RotateBytes: 12})
	write(t, l, "new\n") // 12 bytes with what is there
	if b, _ := os.ReadFile(path); string(b) != "old run\nnew\n" {
		t.Fatalf("existing log not kept: %q", b)
	}
	write(t, l, "more\n")
	if r, _ := l.Rotated(); len(r) != 1 {
		t.Fatalf("the earlier run's bytes did not count: %v", r)
	}
	l.Close()
	if _, err := l.Write([]byte("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func TestOpenFileErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "e.log")
	for _, cfg := range []FileConfig{
		{},
		{Path: p, RotateBytes: -1},
		{Path: p, RotateDuration: -time.Second},
		{Path: p, RotateMaxFiles: -2},
	} {
		if _, err := OpenFile(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
