package hostinfo

import (
	"os"
	"path/filepath"
	"testing"
)

// Figures come from the kernel's files as written: sizes in kB, counts
// without a unit, one entry per processor.
func TestReadProcFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("meminfo", "MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     600 kB\nBuffers:           50 kB\n"+
		"Cached:           200 kB\nSReclaimable:      50 kB\nHugePages_Total:       3\nHugepagesize:       2048 kB\n")
	write("cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2400.5\ncache size\t: 512 KB\nflags\t\t: fpu sse\n\n"+
		"processor\t: 1\nvendor_id\t: GenuineIntel\n\n")
	old := procRoot
	procRoot = dir
	defer func() { procRoot = old }()
	m, err := readMemory()
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != 1000*1024 || m.Cached != 250*1024 || m.Used != 600*1024 || m.UsedPercent != 60 ||
		m.HugePagesTotal != 3 || m.HugePageSize != 2048*1024 {
		t.Fatalf("memory: %+v", m)
	}
	cpus, err := readCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) != 2 || cpus[0].Mhz != 2400.5 || cpus[0].CacheSize != 512 || len(cpus[0].Flags) != 2 || cpus[1].CPU != 1 {
		t.Fatalf("cpus: %+v", cpus)
	}
	write("meminfo", "nothing here\n")
	if _, err := readMemory(); err == nil {
		t.Fatal("a meminfo without MemTotal read")
	}
}
