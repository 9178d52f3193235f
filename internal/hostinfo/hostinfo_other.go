//go:build !linux

package hostinfo

import (
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("not read on %s", runtime.GOOS)

func readHost() (*Host, error)       { return nil, errUnsupported }
func readMemory() (*Memory, error)   { return nil, errUnsupported }
func readDisk(string) (*Disk, error) { return nil, errUnsupported }
func readCPUs() ([]CPU, error)       { return nil, errUnsupported }
