// Package version names the build.
package version

// Version is beacon's release; set at link time with -X for releases.
var Version = "0.1.0"

// ConsulCompat is the Consul version whose API beacon answers as, reported
// where clients read a Consul version.
const ConsulCompat = "1.22.3"

// String is the one-line version banner.
func String() string { return "beacon v" + Version + " (Consul API " + ConsulCompat + ")" }
