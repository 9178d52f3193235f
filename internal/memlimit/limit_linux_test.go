package memlimit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A limit set on a parent cgroup counts; "max" and v1's huge number are no
// limit; the lowest wins.
func TestCgroupLimit(t *testing.T) {
	sys := t.TempDir()
	write := func(rel, v string) {
		p := filepath.Join(sys, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(v+"\n"), 0o644)
	}
	write("system.slice/memory.max", "1073741824")
	write("system.slice/beacon.service/memory.max", "max")
	write("memory/docker/abc/memory.limit_in_bytes", "9223372036854771712")
	const machine = 8 << 30
	cases := []struct {
		proc string
		want int64
	}{
		{"0::/system.slice/beacon.service\n", 1 << 30},
		{"0::/\n", machine},
		{"4:memory:/docker/abc\n0::/\n", machine},
		{"4:cpu,memory:/docker/abc\n0::/system.slice/beacon.service\n", 1 << 30},
	}
	for _, c := range cases {
		if got := cgroupLimit(strings.NewReader(c.proc), sys, machine); got != c.want {
			t.Errorf("%q: %d, want %d", c.proc, got, c.want)
		}
	}
}
