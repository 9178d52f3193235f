//go:build linux

package daemon

import (
	"os"
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
