package http

import "github.com/beacon-sd/beacon/core/telemetry"

// RoutePatterns is every route the API registers, with its methods; a
// pattern ending in "/" matches as a prefix.
func RoutePatterns() map[string][]string {
	s := &Server{exact: map[string]*route{}, metrics: telemetry.New()}
	s.routes()
	out := map[string][]string{}
	for p, r := range s.exact {
		out[p] = r.methods
	}
	for _, r := range s.prefix {
		out[r.path] = r.methods
	}
	return out
}

// MeshRoutes are the service mesh routes answered with 501.
func MeshRoutes() []string {
	out := make([]string, 0, len(meshRoutes))
	for _, m := range meshRoutes {
		out = append(out, m.path)
	}
	return out
}
