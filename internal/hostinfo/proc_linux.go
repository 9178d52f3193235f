package hostinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// procRoot is where the kernel's files are read from (tests point it at
// a copy).
var procRoot = "/proc"

func readFile(path string) ([]byte, error) { return os.ReadFile(procRoot + path) }

// keyValues reads "key: value" lines, cut at the first colon.
func keyValues(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

func readMemory() (*Memory, error) {
	b, err := readFile("/meminfo")
	if err != nil {
		return nil, err
	}
	kv := keyValues(b)
	if _, ok := kv["MemTotal"]; !ok {
		return nil, fmt.Errorf("%s/meminfo has no MemTotal", procRoot)
	}
	// Sizes are "<n> kB"; the huge page counts have no unit.
	get := func(k string) uint64 {
		f := strings.Fields(kv[k])
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n
	}
	m := &Memory{
		Total: get("MemTotal"), Available: get("MemAvailable"), Free: get("MemFree"),
		Active: get("Active"), Inactive: get("Inactive"), Buffers: get("Buffers"),
		Cached: get("Cached") + get("SReclaimable"), WriteBack: get("Writeback"), Dirty: get("Dirty"),
		Shared: get("Shmem"), Slab: get("Slab"), SReclaimable: get("SReclaimable"), SUnreclaim: get("SUnreclaim"),
		PageTables: get("PageTables"), SwapCached: get("SwapCached"), CommitLimit: get("CommitLimit"),
		CommittedAS: get("Committed_AS"), SwapTotal: get("SwapTotal"), SwapFree: get("SwapFree"),
		Mapped: get("Mapped"), HugePagesTotal: get("HugePages_Total"), HugePagesFree: get("HugePages_Free"),
		HugePageSize: get("Hugepagesize"),
	}
	if used := m.Free + m.Buffers + m.Cached; used < m.Total {
		m.Used = m.Total - used
	}
	m.UsedPercent = percent(m.Used, m.Total)
	return m, nil
}

func readCPUs() ([]CPU, error) {
	b, err := readFile("/cpuinfo")
	if err != nil {
		return nil, err
	}
	var out []CPU
	for _, block := range bytes.Split(b, []byte("\n\n")) {
		kv := keyValues(block)
		n, err := strconv.Atoi(kv["processor"])
		if err != nil {
			continue // not a processor's block (some architectures add others)
		}
		atoi := func(k string) int32 { v, _ := strconv.Atoi(strings.Fields(kv[k] + " 0")[0]); return int32(v) }
		mhz, _ := strconv.ParseFloat(kv["cpu MHz"], 64)
		out = append(out, CPU{
			CPU: int32(n), VendorID: kv["vendor_id"], Family: kv["cpu family"], Model: kv["model"],
			Stepping: atoi("stepping"), PhysicalID: kv["physical id"], CoreID: kv["core id"], Cores: atoi("cpu cores"),
			ModelName: kv["model name"], Mhz: mhz, CacheSize: atoi("cache size"), Flags: strings.Fields(kv["flags"]),
			Microcode: kv["microcode"],
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s/cpuinfo lists no processor", procRoot)
	}
	return out, nil
}

func readHost() (*Host, error) {
	h := &Host{OS: runtime.GOOS}
	var err error
	if h.Hostname, err = os.Hostname(); err != nil {
		return nil, err
	}
	up, err := readFile("/uptime")
	if err != nil {
		return nil, err
	}
	if f := strings.Fields(string(up)); len(f) > 0 {
		secs, _ := strconv.ParseFloat(f[0], 64)
		h.Uptime = uint64(secs)
	}
	if st, err := readFile("/stat"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				h.BootTime, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	if entries, err := os.ReadDir(procRoot); err == nil {
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
				h.Procs++
			}
		}
	}
	if rel, err := readFile("/sys/kernel/osrelease"); err == nil {
		h.KernelVersion = strings.TrimSpace(string(rel))
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		h.KernelArch = utsString(u.Machine[:])
	}
	h.Platform, h.PlatformFamily, h.PlatformVersion = osRelease()
	h.HostID = hostID()
	return h, nil
}

// utsString reads a NUL-terminated field of uname.
func utsString[T int8 | uint8](f []T) string {
	b := make([]byte, 0, len(f))
	for _, c := range f {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// osRelease names the distribution from /etc/os-release: its ID, the
// first ID it is like (or the ID itself), and its version.
func osRelease() (id, family, version string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", "", ""
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = strings.Trim(v, `"'`)
		}
	}
	id, version = kv["ID"], kv["VERSION_ID"]
	family = id
	if like := strings.Fields(kv["ID_LIKE"]); len(like) > 0 {
		family = like[0]
	}
	return id, family, version
}

// hostID is the machine's UUID where it can be read, else its machine ID.
func hostID() string {
	for _, p := range []string{"/sys/class/dmi/id/product_uuid", "/etc/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if s := strings.ToLower(strings.TrimSpace(string(b))); s != "" {
				return s
			}
		}
	}
	return ""
}

func readDisk(path string) (*Disk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	d := &Disk{Path: path, Total: st.Blocks * bs, Free: st.Bavail * bs, Used: (st.Blocks - st.Bfree) * bs,
		InodesTotal: st.Files, InodesFree: st.Ffree}
	d.UsedPercent = percent(d.Used, d.Used+d.Free)
	if st.Files >= st.Ffree {
		d.InodesUsed = st.Files - st.Ffree
	}
	d.InodesUsedPercent = percent(d.InodesUsed, d.InodesTotal)
	if b, err := readFile("/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[1] == path {
				d.Fstype = f[2] // the last mount on the path is the one in effect
			}
		}
	}
	return d, nil
}
