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
//
// Only mappings that still hold nothing but file pages are dropped. A
// mapping with private copies (the relocated, then write-protected,
// RELRO data of a PIE or externally linked binary, whose pages the
// dynamic loader rewrote) would fall back to the unrelocated bytes of the
// file, so it is left as it is.
func trimMappedBinary() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	for _, r := range cleanExecutableMappings(bufio.NewScanner(f), exe) {
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), 4 /* MADV_DONTNEED */)
	}
}

// cleanExecutableMappings reads smaps and returns the [start, end) ranges
// of exe's read-only mappings that have no anonymous (copied-on-write)
// pages.
func cleanExecutableMappings(sc *bufio.Scanner, exe string) [][2]uint64 {
	var out [][2]uint64
	var cur [2]uint64
	candidate := false
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok {
			if candidate && strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) == "0" {
				out = append(out, cur)
			}
			candidate = false
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok || len(fields) < 5 {
			continue // a field line of the current mapping
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		// A new mapping header.
		candidate = len(fields) >= 6 && fields[5] == exe && !strings.Contains(fields[1], "w") && end > start
		cur = [2]uint64{start, end}
	}
	return out
}
