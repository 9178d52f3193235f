package server

import (
	"fmt"
	"strings"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
)

// txnPreCheck checks each operation of a transaction before it reaches the
// store: its arguments (filling the defaults its endpoint fills) and the
// token's right to it, the one its own endpoint would need. It returns one
// error per operation that fails; the transaction applies only without.
// Reads need no right here: their results are filtered instead.
func (s *Server) txnPreCheck(authz *acl.Authorizer, ops []*structs.TxnOp) []*structs.TxnError {
	var errs []*structs.TxnError
	for i, op := range ops {
		if err := s.txnOpCheck(authz, op); err != nil {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: err.Error()})
		}
	}
	return errs
}

func (s *Server) txnOpCheck(authz *acl.Authorizer, op *structs.TxnOp) error {
	switch {
	case op == nil:
		return structs.BadInput("the operation is empty")
	case op.KV != nil:
		if err := checkKVEntry(op.KV.Verb, &op.KV.DirEnt); err != nil {
			return err
		}
		return kvAccess(authz, op.KV.Verb, op.KV.DirEnt.Key)
	case op.Node != nil:
		return s.txnNodeCheck(authz, op.Node)
	case op.Service != nil:
		return s.txnServiceCheck(authz, op.Service)
	case op.Check != nil:
		return s.txnCheckCheck(authz, op.Check)
	case op.Session != nil:
		return s.txnSessionCheck(authz, op.Session)
	}
	return structs.BadInput("the operation names no kind: want one of KV, Node, Service, Check or Session")
}

// verbCheck refuses a verb the node, service and check operations do not
// know, and reports whether the operation writes.
func verbCheck(kind string, v structs.TxnVerb) (bool, error) {
	switch v {
	case structs.TxnGet:
		return false, nil
	case structs.TxnSet, structs.TxnCAS, structs.TxnDelete, structs.TxnDeleteCAS:
		return true, nil
	}
	return false, fmt.Errorf("unknown %s operation %q: want get, set, cas, delete or delete-cas", kind, v)
}

func (s *Server) txnNodeCheck(authz *acl.Authorizer, op *structs.TxnNodeOp) error {
	write, err := verbCheck("node", op.Verb)
	if err != nil || !write {
		return err
	}
	if op.Node.Node == "" {
		return structs.BadInput("Must provide node")
	}
	return authz.Write(acl.Node, op.Node.Node)
}

func (s *Server) txnServiceCheck(authz *acl.Authorizer, op *structs.TxnServiceOp) error {
	write, err := verbCheck("service", op.Verb)
	if err != nil || !write {
		return err
	}
	svc := &op.Service
	if op.Node == "" {
		return structs.BadInput("Must provide node")
	}
	if err := ValidateService(svc); err != nil {
		return err
	}
	// The store writes by ID: a name that is not the stored one would
	// let a token that may write one service rewrite another.
	_, _, svcs, err := s.Store().NodeServices(nil, op.Node)
	if err != nil {
		return err
	}
	for _, old := range svcs {
		if old.ID == svc.ID && !strings.EqualFold(old.Service, svc.Service) {
			return structs.BadInput("service ID %q on node %q is service %q, not %q", svc.ID, op.Node, old.Service, svc.Service)
		}
	}
	return authz.Write(acl.Service, svc.Service)
}

func (s *Server) txnCheckCheck(authz *acl.Authorizer, op *structs.TxnCheckOp) error {
	write, err := verbCheck("check", op.Verb)
	if err != nil || !write {
		return err
	}
	c := &op.Check
	if c.CheckID == "" {
		c.CheckID = c.Name
	}
	switch {
	case c.Node == "":
		return structs.BadInput("Must provide node")
	case c.CheckID == "":
		return structs.BadInput("check needs a CheckID or a Name")
	case c.Status != "" && !structs.ValidStatus(c.Status):
		return structs.BadInput("check %q: invalid status %q", c.CheckID, c.Status)
	}
	// The right is judged on what the check is bound to in the store,
	// not on what the request says it is.
	st := s.Store()
	_, checks, err := st.NodeChecks(nil, c.Node)
	if err != nil {
		return err
	}
	svcID, svcName := c.ServiceID, c.ServiceName
	for _, old := range checks {
		if old.CheckID == c.CheckID {
			svcID, svcName = old.ServiceID, old.ServiceName
		}
	}
	if svcID == "" {
		return authz.Write(acl.Node, c.Node)
	}
	_, _, svcs, err := st.NodeServices(nil, c.Node)
	if err != nil {
		return err
	}
	for _, sv := range svcs {
		if sv.ID == svcID {
			svcName = sv.Service
		}
	}
	if svcName == "" {
		// Neither stored nor declared (it may be created earlier in the
		// same transaction, but then the check must name it).
		return structs.BadInput("check %q: unknown service ID %q; name the service in ServiceName", c.CheckID, svcID)
	}
	return authz.Write(acl.Service, svcName)
}

func (s *Server) txnSessionCheck(authz *acl.Authorizer, op *structs.TxnSessionOp) error {
	if op.Verb != structs.TxnDelete {
		return fmt.Errorf("unknown session operation %q: want delete", op.Verb)
	}
	if op.Session.ID == "" {
		return structs.ErrMissingSessionID
	}
	_, old, err := s.Store().SessionGet(nil, op.Session.ID)
	if err != nil || old == nil {
		return err // none to delete: nothing to allow
	}
	return authz.Write(acl.Session, old.Node)
}
