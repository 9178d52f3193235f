package hostinfo

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// On Linux every part is read, with figures that hold together.
func TestCollect(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	start := time.Now().UnixNano()
	info := Collect()
	if len(info.Errors) > 0 {
		t.Fatalf("errors: %v", info.Errors)
	}
	if info.CollectionTime < start {
		t.Fatalf("collection time %d before %d", info.CollectionTime, start)
	}
	m := info.Memory
	if m.Total == 0 || m.Available > m.Total || m.Used > m.Total || m.UsedPercent <= 0 || m.UsedPercent > 100 {
		t.Errorf("memory: %+v", m)
	}
	if len(info.CPU) < runtime.NumCPU() {
		t.Errorf("%d CPUs listed, the runtime sees %d", len(info.CPU), runtime.NumCPU())
	}
	host, _ := os.Hostname()
	h := info.Host
	if h.Hostname != host || h.Uptime == 0 || h.BootTime == 0 || h.Procs == 0 || h.OS != "linux" || h.KernelVersion == "" || h.KernelArch == "" {
		t.Errorf("host: %+v", h)
	}
	d := info.Disk
	if d.Path != "/" || d.Total == 0 || d.Fstype == "" || d.UsedPercent <= 0 {
		t.Errorf("disk: %+v", d)
	}
}
