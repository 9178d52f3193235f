package server

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// SessionApply creates or destroys a session and returns its ID.
func (s *Server) SessionApply(ctx context.Context, args *structs.SessionRequest) (string, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return "", err
	}
	var id string
	if done, err := s.forward(ctx, "SessionApply", nil, args, &id); done {
		return id, err
	}
	sess := &args.Session
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return "", err
	}
	switch args.Op {
	case structs.SessionCreate:
		if err := normalizeSession(sess); err != nil {
			return "", err
		}
		if err := authz.Write(acl.Session, sess.Node); err != nil {
			return "", err
		}
		sess.ID = structs.GenerateUUID()
	case structs.SessionDestroy:
		if sess.ID == "" {
			return "", structs.ErrMissingSessionID
		}
		if _, old, err := s.Store().SessionGet(nil, sess.ID); err != nil {
			return "", err
		} else if old != nil {
			if err := authz.Write(acl.Session, old.Node); err != nil {
				return "", err
			}
		}
	default:
		return "", structs.BadInput("unknown session operation %q", args.Op)
	}
	if _, err := s.apply(&structs.Command{Type: structs.SessionRequestType, Session: args}); err != nil {
		return "", err
	}
	if args.Op == structs.SessionCreate {
		ttl, _ := structs.ParseDuration(sess.TTL)
		s.sessions.reset(sess.ID, ttl)
	} else {
		s.sessions.stop(sess.ID)
	}
	return sess.ID, nil
}

// normalizeSession applies Consul's defaults and limits to a new session.
func normalizeSession(sess *structs.Session) error {
	if sess.Node == "" {
		return structs.BadInput("Must provide Node")
	}
	switch sess.Behavior {
	case "":
		sess.Behavior = structs.SessionRelease
	case structs.SessionRelease, structs.SessionDelete:
	default:
		return structs.BadInput("Invalid Behavior setting %q", sess.Behavior)
	}
	if sess.LockDelay < 0 || sess.LockDelay > structs.MaxLockDelay {
		return structs.BadInput("LockDelay %v is out of range, the limit is %v", sess.LockDelay, structs.MaxLockDelay)
	}
	if sess.TTL != "" {
		ttl, err := structs.ParseDuration(sess.TTL)
		if err != nil {
			return structs.BadInput("Session TTL '%s' invalid: %v", sess.TTL, err)
		}
		if ttl != 0 && (ttl < structs.SessionTTLMin || ttl > structs.SessionTTLMax) {
			return structs.BadInput("Invalid Session TTL '%v', must be between [%v=%v]", ttl, structs.SessionTTLMin, structs.SessionTTLMax)
		}
		sess.TTL = ttl.String()
		if ttl == 0 {
			sess.TTL = ""
		}
	}
	return nil
}

// SessionGet reads one session.
func (s *Server) SessionGet(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "SessionGet", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(x *structs.Session) bool { return authz.Allowed(acl.Session, x.Node, acl.Read) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, sess, err := st.SessionGet(ws, args.SessionID)
		reply.Index = idx
		reply.Sessions = []*structs.Session{}
		if sess != nil {
			reply.Sessions = append(reply.Sessions, sess)
		}
		reply.Sessions, reply.ResultsFilteredByACLs = keep(reply.Sessions, visible)
		if reply.ResultsFilteredByACLs {
			hiddenResult(&reply.QueryMeta)
		}
		return err
	})
}

// SessionList lists sessions.
func (s *Server) SessionList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedSessions) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "SessionList", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(x *structs.Session) bool { return authz.Allowed(acl.Session, x.Node, acl.Read) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, list, err := st.SessionList(ws, "")
		reply.Index = idx
		reply.Sessions, reply.ResultsFilteredByACLs = keep(list, visible)
		return err
	})
}

// SessionNodeSessions lists one node's sessions.
func (s *Server) SessionNodeSessions(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedSessions) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "SessionNodeSessions", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(x *structs.Session) bool { return authz.Allowed(acl.Session, x.Node, acl.Read) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, list, err := st.SessionList(ws, args.Node)
		reply.Index = idx
		reply.Sessions, reply.ResultsFilteredByACLs = keep(list, visible)
		if !authz.Allowed(acl.Session, args.Node, acl.Read) {
			hiddenResult(&reply.QueryMeta)
		}
		return err
	})
}

// SessionRenew restarts a session's TTL; reply.Sessions is empty when the
// session no longer exists.
func (s *Server) SessionRenew(ctx context.Context, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	// Renewals go to the leader, which keeps the session timers.
	args.AllowStale = false
	if done, err := s.forward(ctx, "SessionRenew", &args.QueryOptions, args, reply); done {
		return err
	}
	s.setQueryMeta(&reply.QueryMeta)
	idx, sess, err := s.Store().SessionGet(nil, args.SessionID)
	if err != nil {
		return err
	}
	reply.Index = idx
	reply.Sessions = []*structs.Session{}
	if sess == nil {
		return nil
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	if err := authz.Write(acl.Session, sess.Node); err != nil {
		return err
	}
	reply.Sessions = append(reply.Sessions, sess)
	if ttl, _ := time.ParseDuration(sess.TTL); ttl > 0 {
		s.sessions.reset(sess.ID, ttl)
	}
	return nil
}
