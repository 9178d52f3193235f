package http

import (
	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/version"
	"github.com/beacon-sd/beacon/internal/hostinfo"
)

// agentHost describes the machine the agent runs on: memory, CPUs, the
// host and the root file system (operator:read).
func (s *Server) agentHost(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.require(r, acl.Operator, "", acl.Read); err != nil {
		return nil, err
	}
	return hostinfo.Collect(), nil
}

// buildInfo is the body of /v1/agent/version.
type buildInfo struct {
	SHA           string
	BuildDate     string
	HumanVersion  string
	FIPS          string
	BeaconVersion string
}

// agentVersion names the build: the Consul version whose API it answers
// as, and the commit it was built from when the toolchain recorded one.
// Open to every caller, as in Consul.
func (s *Server) agentVersion(w *httpserver.Response, r *request) (interface{}, error) {
	rev, date := version.VCS()
	return &buildInfo{SHA: rev, BuildDate: date, HumanVersion: version.ConsulCompat, BeaconVersion: version.Version}, nil
}
