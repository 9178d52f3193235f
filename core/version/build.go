package version

import (
	"runtime/debug"
	"sync"
)

// buildDateUnknown is the build date reported when the binary does not
// record one, as Consul reports it for builds without one.
const buildDateUnknown = "1970-01-01T00:00:01Z"

var vcs = sync.OnceValues(func() (string, string) {
	rev, date := "", buildDateUnknown
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				date = s.Value
			}
		}
	}
	return rev, date
})

// VCS is the commit the binary was built from and that commit's time, as
// the Go toolchain recorded them; "" and a placeholder date when it did
// not (a build outside a git checkout, a test binary).
func VCS() (revision, date string) { return vcs() }
