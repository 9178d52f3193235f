package http

import (
	"errors"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// caRootList is the answer of the roots endpoints: the roots, never
// their keys.
type caRootList struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []*structs.CARoot
}

// connectCARoots answers /v1/connect/ca/roots and /v1/agent/connect/ca/roots:
// JSON, or with ?pem the chain of every root and its intermediates.
func (s *Server) connectCARoots(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedCARoots
	if err := read(s, w, r, &args, &out, s.backend.ConnectCARoots); err != nil {
		return nil, err
	}
	if boolParam(r, "pem") {
		if len(out.Roots) == 0 {
			return nil, errors.New(errNoRoots)
		}
		var b strings.Builder
		for _, root := range out.Roots {
			for _, p := range append([]string{root.RootCert}, root.IntermediateCerts...) {
				b.WriteString(p)
				if !strings.HasSuffix(p, "\n") {
					b.WriteByte('\n')
				}
			}
		}
		w.SetHeader("Content-Type", "application/pem-certificate-chain")
		w.WriteString(b.String())
		return nil, nil
	}
	if out.Roots == nil {
		out.Roots = []*structs.CARoot{}
	}
	return caRootList{ActiveRootID: out.ActiveRootID, TrustDomain: out.TrustDomain, Roots: out.Roots}, nil
}

const errNoRoots = "the CA has no roots yet: the leader makes them when it takes office"

// caConfigBody is the body of PUT /v1/connect/ca/configuration.
// CreateIndex and ModifyIndex are what a client read and sends back; the
// write does not depend on them.
type caConfigBody struct {
	Provider                 string
	Config                   map[string]interface{}
	State                    map[string]string
	ForceWithoutCrossSigning bool
	ClusterID                string
	CreateIndex              uint64
	ModifyIndex              uint64
}

func (s *Server) connectCAConfig(w *httpserver.Response, r *request) (interface{}, error) {
	if r.Method != put {
		var args structs.DCSpecificRequest
		if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.CAConfigReply
		if err := read(s, w, r, &args, &out, s.backend.ConnectCAConfigGet); err != nil {
			return nil, err
		}
		return out.Config, nil
	}
	var body caConfigBody
	if len(strings.TrimSpace(string(r.Body))) == 0 {
		return nil, badRequest("Request body is empty: want a CA configuration with Provider and Config")
	}
	if len(r.Body) > maxJSONBody {
		return nil, badRequest("Request body (%d bytes) too large, max size: %d bytes", len(r.Body), maxJSONBody)
	}
	if err := decode.JSON(r.Body, &body, true); err != nil {
		return nil, badRequest("Request decode failed: %v", err)
	}
	if body.Provider == "" {
		return nil, badRequest("Provider is required (the built-in provider is \"consul\")")
	}
	if body.Config == nil {
		return nil, badRequest("Config is required")
	}
	args := structs.CARequest{Datacenter: r.query.Get("dc"), Config: &structs.CAConfiguration{
		ClusterID: body.ClusterID, Provider: body.Provider, Config: body.Config, State: body.State,
		ForceWithoutCrossSigning: body.ForceWithoutCrossSigning,
	}}
	args.Token = token(r)
	if _, err := s.backend.ConnectCAConfigSet(r.Context(), &args); err != nil {
		return nil, err
	}
	return nil, nil
}

// agentConnectLeaf answers /v1/agent/connect/ca/leaf/<service>: the
// service's certificate and key, for a token with service:write on it.
func (s *Server) agentConnectLeaf(w *httpserver.Response, r *request) (interface{}, error) {
	service := tail(r, "/v1/agent/connect/ca/leaf/")
	if service == "" {
		return nil, badRequest("Missing service name: GET /v1/agent/connect/ca/leaf/<service>")
	}
	if strings.ContainsAny(service, "/ \t\n") {
		return nil, badRequest("Invalid service name %q: a service in a SPIFFE ID has no slashes or spaces", service)
	}
	var args structs.DCSpecificRequest
	if err := parseQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	if args.Datacenter != "" && args.Datacenter != s.cfg.Datacenter {
		return nil, badRequest("Invalid dc %q: an agent hands out certificates of its own datacenter (%s)", args.Datacenter, s.cfg.Datacenter)
	}
	if _, err := s.require(r, acl.Service, service, acl.Write); err != nil {
		return nil, err
	}
	if args.MinIndex > 0 {
		s.metrics.BlockingActive.Inc()
		defer s.metrics.BlockingActive.Dec()
	}
	cert, err := s.leaves.Get(r.Context(), service, args.QueryOptions)
	if err != nil {
		return nil, err
	}
	setMeta(w, &structs.QueryMeta{Index: cert.ModifyIndex, KnownLeader: true})
	return cert, nil
}
