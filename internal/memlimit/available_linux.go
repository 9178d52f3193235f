package memlimit

import (
	"bufio"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// available is the memory this process may have: the lowest of the limits
// of its cgroup and the cgroups above it, and the machine's memory; 0 if
// unknown.
func available() int64 {
	var si syscall.Sysinfo_t
	var machine int64
	if syscall.Sysinfo(&si) == nil {
		machine = int64(si.Totalram) * int64(si.Unit)
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return machine
	}
	defer f.Close()
	return cgroupLimit(f, "/sys/fs/cgroup", machine)
}

// cgroupLimit lowers limit to the memory limits of the cgroups that
// /proc/self/cgroup (in r) names and their parents, under the cgroup file
// systems mounted at sys.
func cgroupLimit(r io.Reader, sys string, limit int64) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "0::/path" (v2) or "N:memory:/path" (v1).
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var root, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			root, file = sys, "memory.max"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			root, file = path.Join(sys, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for dir := path.Clean(parts[2]); ; dir = path.Dir(dir) {
			b, err := os.ReadFile(path.Join(root, dir, file))
			if err == nil {
				n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				if err == nil && n > 0 && (limit <= 0 || n < limit) {
					limit = n // "max", or v1's huge number, is no limit
				}
			}
			if dir == "/" || dir == "." {
				break
			}
		}
	}
	return limit
}
