package http

import (
	"net/http"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/httpserver"
)

// errNoCoordinates answers the coordinate endpoints: beacon's gossip does
// not compute network coordinates, and an empty or made-up answer would
// mislead whoever sorts by distance.
var errNoCoordinates = &codedError{http.StatusNotImplemented,
	"network coordinates are not supported: beacon's gossip does not compute them, so there are none to list or update"}

// coordinateDatacenters is GET /v1/coordinate/datacenters, open to every
// caller.
func (s *Server) coordinateDatacenters(w *httpserver.Response, r *request) (interface{}, error) {
	return nil, errNoCoordinates
}

// coordinateNodes is GET /v1/coordinate/nodes, which Consul filters by
// node:read.
func (s *Server) coordinateNodes(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.authorize(r); err != nil {
		return nil, err
	}
	return nil, errNoCoordinates
}

// coordinateNode is GET /v1/coordinate/node/<node> (node:read).
func (s *Server) coordinateNode(w *httpserver.Response, r *request) (interface{}, error) {
	node := tail(r, "/v1/coordinate/node/")
	if node == "" {
		return nil, badRequest("Missing node name")
	}
	if _, err := s.require(r, acl.Node, node, acl.Read); err != nil {
		return nil, err
	}
	return nil, errNoCoordinates
}

// coordinateUpdate is PUT /v1/coordinate/update (node:write on the node
// in the body).
func (s *Server) coordinateUpdate(w *httpserver.Response, r *request) (interface{}, error) {
	var body struct {
		Node    string
		Segment string
		Coord   map[string]interface{}
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Node == "" {
		return nil, badRequest("Missing Node in the request body")
	}
	if _, err := s.require(r, acl.Node, body.Node, acl.Write); err != nil {
		return nil, err
	}
	return nil, errNoCoordinates
}
