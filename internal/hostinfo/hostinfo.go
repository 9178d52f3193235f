// Package hostinfo describes the machine an agent runs on (memory, CPUs,
// the host, the root file system) in the shape of Consul's
// /v1/agent/host, read from the kernel's own files.
package hostinfo

import "time"

// Info is the host as seen at CollectionTime. A part that could not be
// read is nil and Errors says why.
type Info struct {
	Memory         *Memory
	CPU            []CPU
	Host           *Host
	Disk           *Disk
	CollectionTime int64 // Unix nanoseconds
	Errors         []string
}

// Memory is the system's memory in bytes.
type Memory struct {
	Total          uint64  `json:"total"`
	Available      uint64  `json:"available"`
	Used           uint64  `json:"used"`
	UsedPercent    float64 `json:"usedPercent"`
	Free           uint64  `json:"free"`
	Active         uint64  `json:"active"`
	Inactive       uint64  `json:"inactive"`
	Buffers        uint64  `json:"buffers"`
	Cached         uint64  `json:"cached"`
	WriteBack      uint64  `json:"writeBack"`
	Dirty          uint64  `json:"dirty"`
	Shared         uint64  `json:"shared"`
	Slab           uint64  `json:"slab"`
	SReclaimable   uint64  `json:"sreclaimable"`
	SUnreclaim     uint64  `json:"sunreclaim"`
	PageTables     uint64  `json:"pageTables"`
	SwapCached     uint64  `json:"swapCached"`
	CommitLimit    uint64  `json:"commitLimit"`
	CommittedAS    uint64  `json:"committedAS"`
	SwapTotal      uint64  `json:"swapTotal"`
	SwapFree       uint64  `json:"swapFree"`
	Mapped         uint64  `json:"mapped"`
	HugePagesTotal uint64  `json:"hugePagesTotal"`
	HugePagesFree  uint64  `json:"hugePagesFree"`
	HugePageSize   uint64  `json:"hugePageSize"`
}

// CPU is one logical processor.
type CPU struct {
	CPU        int32    `json:"cpu"`
	VendorID   string   `json:"vendorId"`
	Family     string   `json:"family"`
	Model      string   `json:"model"`
	Stepping   int32    `json:"stepping"`
	PhysicalID string   `json:"physicalId"`
	CoreID     string   `json:"coreId"`
	Cores      int32    `json:"cores"`
	ModelName  string   `json:"modelName"`
	Mhz        float64  `json:"mhz"`
	CacheSize  int32    `json:"cacheSize"`
	Flags      []string `json:"flags"`
	Microcode  string   `json:"microcode"`
}

// Host is the operating system and its uptime.
type Host struct {
	Hostname        string `json:"hostname"`
	Uptime          uint64 `json:"uptime"`   // seconds
	BootTime        uint64 `json:"bootTime"` // Unix seconds
	Procs           uint64 `json:"procs"`
	OS              string `json:"os"`
	Platform        string `json:"platform"`
	PlatformFamily  string `json:"platformFamily"`
	PlatformVersion string `json:"platformVersion"`
	KernelVersion   string `json:"kernelVersion"`
	KernelArch      string `json:"kernelArch"`
	HostID          string `json:"hostId"`
}

// Disk is the usage of one file system.
type Disk struct {
	Path              string  `json:"path"`
	Fstype            string  `json:"fstype"`
	Total             uint64  `json:"total"`
	Free              uint64  `json:"free"`
	Used              uint64  `json:"used"`
	UsedPercent       float64 `json:"usedPercent"`
	InodesTotal       uint64  `json:"inodesTotal"`
	InodesUsed        uint64  `json:"inodesUsed"`
	InodesFree        uint64  `json:"inodesFree"`
	InodesUsedPercent float64 `json:"inodesUsedPercent"`
}

// DiskPath is the file system Collect describes.
const DiskPath = "/"

// Collect reads everything it can.
func Collect() *Info {
	info := &Info{CollectionTime: time.Now().UTC().UnixNano()}
	fail := func(what string, err error) { info.Errors = append(info.Errors, what+": "+err.Error()) }
	var err error
	if info.Host, err = readHost(); err != nil {
		fail("host", err)
	}
	if info.Memory, err = readMemory(); err != nil {
		fail("memory", err)
	}
	if info.Disk, err = readDisk(DiskPath); err != nil {
		fail("disk", err)
	}
	if info.CPU, err = readCPUs(); err != nil {
		fail("cpu", err)
	}
	return info
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole) * 100
}
