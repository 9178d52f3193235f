package httpserver

import "net/http"

// NetHTTP is s's Handler as a net/http Handler (what HTTP/2 streams are
// served with), so that a benchmark can serve the same API through
// net/http's own HTTP/1.1 server.
func NetHTTP(s *Server) http.Handler {
	s.init()
	return fromStd{s}
}
