//go:build linux

package daemon

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// trimMappedBinary unmaps, from this process only, the pages of its own
// executable that are mapped now; the ones still in use come back on their
// next access, from the page cache. Called once the agent has started, it
// sheds the code and tables only startup used (config parsing, TLS and
// listener setup, every package's initialisation): on kernels that map
// the page cache in large folios those stay resident otherwise, and they
// were about a third of an idle client agent's RSS.
func trimMappedBinary() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), 4 /* MADV_DONTNEED */)
	}
}
