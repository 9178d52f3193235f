//go:build linux

package daemon

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func rssFileKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// Trimming drops the executable's mapped pages from this process, and the
// process keeps running the code it needs afterwards.
func TestTrimMappedBinary(t *testing.T) {
	before := rssFileKB(t)
	trimMappedBinary()
	after := rssFileKB(t)
	if after >= before {
		t.Fatalf("file-backed RSS %d kB before trimming, %d kB after", before, after)
	}
	t.Logf("file-backed RSS %d kB -> %d kB", before, after)
}

func TestCleanExecutableMappings(t *testing.T) {
	const smaps = `00400000-00de0000 r-xp 00000000 fe:00 99 /usr/bin/beacon
Size:              10112 kB
Rss:                1976 kB
Anonymous:             0 kB
00de0000-018b7000 r--p 009e0000 fe:00 99 /usr/bin/beacon
Size:              11100 kB
Anonymous:             0 kB
018b7000-018c0000 r--p 014b7000 fe:00 99 /usr/bin/beacon
Anonymous:            36 kB
018c0000-01954000 rw-p 014c0000 fe:00 99 /usr/bin/beacon
Anonymous:           120 kB
7f0000000000-7f0000010000 r-xp 00000000 fe:00 12 /usr/lib/libc.so.6
Anonymous:             0 kB
`
	got := cleanExecutableMappings(bufio.NewScanner(strings.NewReader(smaps)), "/usr/bin/beacon")
	want := [][2]uint64{{0x400000, 0xde0000}, {0xde0000, 0x18b7000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("trimmed %x, want %x (the relocated read-only mapping, the writable one and other files stay)", got, want)
	}
}

// A position-independent, externally linked build (what a distribution's
// toolchain produces) keeps running after the trim: its relocated
// read-only data is left in place.
func TestTrimMappedBinaryPIE(t *testing.T) {
	if os.Getenv("BEACON_TRIM_CHILD") == "1" {
		trimMappedBinary()
		// Exercise code and data reached through relocations.
		_, err := os.Stat("/")
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if testing.Short() {
		t.Skip("builds a PIE test binary")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C toolchain for external linking")
	}
	bin := filepath.Join(t.TempDir(), "daemon.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "-buildmode=pie", "-ldflags=-linkmode=external", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build a PIE test binary: %v\n%s", err, out)
	}
	run := exec.Command(bin, "-test.run", "^TestTrimMappedBinaryPIE$", "-test.count=1")
	run.Env = append(os.Environ(), "BEACON_TRIM_CHILD=1")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("PIE binary after trimming: %v\n%s", err, out)
	}
}
