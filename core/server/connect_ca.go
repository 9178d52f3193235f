package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/connect"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// ConnectConfig is the server's connect block: whether the built-in CA
// runs, and what the leader makes it with when the cluster has none yet.
type ConnectConfig struct {
	Enabled bool
	// ClusterID names the trust domain (<ClusterID>.consul); a random
	// UUID when empty.
	ClusterID string
	// CAConfig is the provider's configuration (connect.ca_config), in
	// the API's key names.
	CAConfig map[string]interface{}
}

// caEnabled refuses the CA endpoints of a server whose connect block is
// off.
func (s *Server) caEnabled() error {
	if !s.cfg.Connect.Enabled {
		return structs.BadInput("%s", structs.ErrConnectDisabled)
	}
	return nil
}

func activeRoot(roots []*structs.CARootState) *structs.CARootState {
	for _, r := range roots {
		if r.Active {
			return r
		}
	}
	return nil
}

// ConnectCARoots lists the trusted roots. Anyone may read them.
func (s *Server) ConnectCARoots(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedCARoots) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.caEnabled(); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "ConnectCARoots", &args.QueryOptions, args, reply); done {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, cfg, roots, err := st.CARoots(ws)
		reply.Index = idx
		reply.ActiveRootID, reply.TrustDomain = "", ""
		reply.Roots = make([]*structs.CARoot, 0, len(roots))
		if cfg != nil {
			reply.TrustDomain = connect.TrustDomain(cfg.ClusterID)
		}
		for _, r := range roots {
			pub := r.CARoot // the keys stay behind
			reply.Roots = append(reply.Roots, &pub)
			if r.Active {
				reply.ActiveRootID = r.ID
			}
		}
		return err
	})
}

// ConnectCAConfigGet reads the CA's configuration; it needs operator:write,
// as in Consul, for the configuration may name a root's certificate.
func (s *Server) ConnectCAConfigGet(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.CAConfigReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.caEnabled(); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "ConnectCAConfigGet", &args.QueryOptions, args, reply); done {
		return err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Write); err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, cfg, err := st.CAConfig(ws)
		reply.Index, reply.Config = idx, cfg
		if err == nil && cfg == nil {
			err = errCANotReady
		}
		return err
	})
}

var errCANotReady = fmt.Errorf("the CA is not initialized yet: the leader makes its root when it takes office; try again shortly")

// ConnectCAConfigSet replaces the CA's configuration. A new key (given,
// or of another type or size) makes a new active root; the earlier roots
// stay trusted until they expire.
func (s *Server) ConnectCAConfigSet(ctx context.Context, args *structs.CARequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	if err := s.caEnabled(); err != nil {
		return false, err
	}
	var ok bool
	if done, err := s.forward(ctx, "ConnectCAConfigSet", nil, args, &ok); done {
		return ok, err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Write); err != nil {
		return false, err
	}
	in := args.Config
	if in == nil {
		return false, structs.BadInput("missing CA configuration")
	}
	if in.Provider != structs.CAProviderConsul {
		return false, structs.BadInput("CA provider %q is not supported by beacon: only the built-in %q provider is", in.Provider, structs.CAProviderConsul)
	}
	if len(in.State) > 0 {
		return false, structs.BadInput("State is kept by the provider and cannot be set")
	}
	pc, err := connect.ParseConfig(in.Config)
	if err == nil {
		err = pc.ResolveKey()
	}
	if err != nil {
		return false, structs.BadInput("%v", err)
	}
	s.caMu.Lock()
	defer s.caMu.Unlock()
	_, cur, roots, err := s.Store().CARoots(nil)
	if err != nil {
		return false, err
	}
	if cur == nil {
		return false, errCANotReady
	}
	if in.ClusterID != "" && in.ClusterID != cur.ClusterID {
		return false, structs.BadInput("ClusterID %q: the cluster's is %q and cannot be changed", in.ClusterID, cur.ClusterID)
	}
	next := make([]*structs.CARootState, 0, len(roots)+1)
	active := activeRoot(roots)
	if active == nil || pc.Rotates(active) {
		root, err := connect.NewRoot(cur.ClusterID, pc)
		if err != nil {
			return false, structs.BadInput("%v", err)
		}
		now := time.Now().UTC()
		for _, r := range roots {
			c := *r
			if c.ID == root.ID {
				continue
			}
			if c.Active {
				c.Active, c.RotatedOutAt = false, now
			}
			next = append(next, &c)
		}
		next = append(next, root)
		s.logger.Info("CA root rotated", "new_root", root.ID)
	} else {
		next = append(next, roots...)
	}
	req := &structs.CARequest{
		Config: &structs.CAConfiguration{ClusterID: cur.ClusterID, Provider: structs.CAProviderConsul,
			Config: pc.Map(), State: pc.TestState, ForceWithoutCrossSigning: in.ForceWithoutCrossSigning},
		Roots: next, CAS: cur.ModifyIndex, WriteRequest: args.WriteRequest,
	}
	if _, err := s.apply(&structs.Command{Type: structs.ConnectCARequestType, ConnectCA: req}); err != nil {
		return false, err
	}
	return true, nil
}

// ConnectCASign signs a service's certificate request with the active
// root; the token needs service:write on the service the request names.
// The leader signs, so a certificate always chains to the root it holds
// active.
func (s *Server) ConnectCASign(ctx context.Context, args *structs.CASignRequest) (*structs.IssuedCert, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return nil, err
	}
	if err := s.caEnabled(); err != nil {
		return nil, err
	}
	args.AllowStale = false
	var reply structs.IssuedCert
	if done, err := s.forward(ctx, "ConnectCASign", &args.QueryOptions, args, &reply); done {
		return &reply, err
	}
	csr, err := connect.ParseCSR(args.CSR)
	if err != nil {
		return nil, structs.BadInput("%v", err)
	}
	if len(csr.URIs) != 1 {
		return nil, structs.BadInput("CSR: want exactly one URI SAN, the service's SPIFFE ID; got %d", len(csr.URIs))
	}
	td, dc, service, err := connect.ParseServiceURI(csr.URIs[0])
	if err != nil {
		return nil, structs.BadInput("CSR: %v", err)
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return nil, err
	}
	if err := authz.Write(acl.Service, service); err != nil {
		return nil, err
	}
	idx, cfg, roots, err := s.Store().CARoots(nil)
	if err != nil {
		return nil, err
	}
	active := activeRoot(roots)
	if cfg == nil || active == nil {
		return nil, errCANotReady
	}
	if want := connect.TrustDomain(cfg.ClusterID); td != want {
		return nil, structs.BadInput("CSR: trust domain %q is not the cluster's (%q)", td, want)
	}
	if dc != s.cfg.Datacenter {
		return nil, structs.BadInput("CSR: datacenter %q is not this server's (%q)", dc, s.cfg.Datacenter)
	}
	pc, err := connect.ParseConfig(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("stored CA configuration: %w", err)
	}
	cert, err := connect.SignLeaf(active, csr, service, pc.LeafCertTTL)
	if err != nil {
		return nil, err
	}
	cert.CreateIndex, cert.ModifyIndex = idx, idx
	return cert, nil
}

// initializeCA makes the CA when the cluster has none (a new cluster, or
// one restored from a snapshot without it), and otherwise keeps it up:
// a new intermediate halfway through the current one's life, and roots
// that were rotated out dropped once they expire. Only the leader calls it.
func (s *Server) initializeCA() error {
	if !s.cfg.Connect.Enabled {
		return nil
	}
	s.caMu.Lock()
	defer s.caMu.Unlock()
	_, cur, roots, err := s.Store().CARoots(nil)
	if err != nil {
		return err
	}
	if cur != nil && activeRoot(roots) != nil {
		return s.maintainCA(cur, roots)
	}
	clusterID := s.cfg.Connect.ClusterID
	var cas uint64
	if cur != nil {
		clusterID, cas = cur.ClusterID, cur.ModifyIndex
	}
	if clusterID == "" {
		clusterID = structs.GenerateUUID()
	}
	pc, err := connect.ParseConfig(s.cfg.Connect.CAConfig)
	if err == nil {
		err = pc.ResolveKey()
	}
	if err != nil {
		return err
	}
	root, err := connect.NewRoot(clusterID, pc)
	if err != nil {
		return err
	}
	req := &structs.CARequest{
		Config: &structs.CAConfiguration{ClusterID: clusterID, Provider: structs.CAProviderConsul, Config: pc.Map(), State: pc.TestState},
		Roots:  append(roots, root), CAS: cas,
	}
	if _, err := s.apply(&structs.Command{Type: structs.ConnectCARequestType, ConnectCA: req}); err != nil {
		return err
	}
	s.logger.Info("initialized the Connect CA", "trust_domain", connect.TrustDomain(clusterID), "root", root.ID)
	return nil
}

func (s *Server) maintainCA(cur *structs.CAConfiguration, roots []*structs.CARootState) error {
	now := time.Now()
	changed := false
	next := make([]*structs.CARootState, 0, len(roots))
	for _, r := range roots {
		if !r.Active && now.After(r.NotAfter) {
			changed = true
			continue
		}
		c := *r
		if c.Active {
			if sc, err := connect.SigningCert(&c); err != nil || now.After(sc.NotBefore.Add(sc.NotAfter.Sub(sc.NotBefore)/2)) {
				pc, err := connect.ParseConfig(cur.Config)
				if err != nil {
					return fmt.Errorf("stored CA configuration: %w", err)
				}
				if err := connect.RenewIntermediate(&c, cur.ClusterID, pc.IntermediateCertTTL); err != nil {
					return err
				}
				changed = true
			}
		}
		next = append(next, &c)
	}
	if !changed {
		return nil
	}
	req := &structs.CARequest{Config: cur, Roots: next, CAS: cur.ModifyIndex}
	_, err := s.apply(&structs.Command{Type: structs.ConnectCARequestType, ConnectCA: req})
	return err
}
