package acl

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
)

// Source fetches what a secret grants. It returns an error matching
// structs.ErrACLNotFound for a secret that names no token, and any other
// error when it could not find out (no server answered).
type Source func(ctx context.Context, secret string) (*structs.ACLIdentity, error)

// Config is how a resolver decides.
type Config struct {
	// Enabled turns ACLs on; a resolver of a disabled config returns nil
	// authorizers, which allow everything.
	Enabled       bool
	Datacenter    string
	DefaultPolicy string
	DownPolicy    string
	// TokenTTL is how long a resolved token is trusted before it is
	// fetched again; 0 fetches every time (servers, which read their own
	// store).
	TokenTTL time.Duration
	Logger   hclog.Logger
}

// Resolver turns secrets into authorizers.
type Resolver struct {
	cfg      Config
	source   Source
	policies PolicyCache
	now      func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]*cacheEntry
}

type cacheEntry struct {
	authz      *Authorizer
	fetched    time.Time
	expires    *time.Time // the token's own expiration
	refreshing bool
}

// maxCachedTokens bounds the token cache.
const maxCachedTokens = 16384

// NewResolver returns a resolver that asks source.
func NewResolver(cfg Config, source Source) *Resolver {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.DefaultPolicy == "" {
		cfg.DefaultPolicy = PolicyAllow
	}
	if cfg.DownPolicy == "" {
		cfg.DownPolicy = DownExtendCache
	}
	return &Resolver{cfg: cfg, source: source, now: time.Now, cache: map[[32]byte]*cacheEntry{}}
}

// Enabled reports whether ACLs are on.
func (r *Resolver) Enabled() bool { return r != nil && r.cfg.Enabled }

// Config is the resolver's configuration.
func (r *Resolver) Config() Config { return r.cfg }

// Resolve returns what secret may do: nil (everything) when ACLs are off,
// an error matching structs.ErrACLNotFound for an unknown secret, an
// UnresolvedError when no server could say and down_policy gives nothing.
// The empty secret is the anonymous token.
func (r *Resolver) Resolve(ctx context.Context, secret string) (*Authorizer, error) {
	if !r.Enabled() {
		return nil, nil
	}
	key := sha256.Sum256([]byte(secret))
	var stale *cacheEntry
	if r.cfg.TokenTTL > 0 {
		r.mu.Lock()
		e := r.cache[key]
		now := r.now()
		switch {
		case e == nil:
		case e.expires != nil && !e.expires.After(now):
			delete(r.cache, key)
			e = nil
		case now.Sub(e.fetched) < r.cfg.TokenTTL:
			r.mu.Unlock()
			return e.authz, nil
		case r.cfg.DownPolicy == DownAsyncCache:
			if !e.refreshing {
				e.refreshing = true
				go r.refresh(key, secret)
			}
			r.mu.Unlock()
			return e.authz, nil
		}
		stale = e
		r.mu.Unlock()
	}
	authz, expires, err := r.fetch(ctx, secret)
	if err == nil {
		r.store(key, authz, expires)
		return authz, nil
	}
	if errors.Is(err, structs.ErrACLNotFound) {
		r.forget(key)
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, err
	}
	return r.down(stale, err)
}

// fetch asks the source and compiles the answer.
func (r *Resolver) fetch(ctx context.Context, secret string) (*Authorizer, *time.Time, error) {
	id, err := r.source(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	if id == nil || id.Token == nil || id.Token.Expired(r.now()) {
		return nil, nil, structs.ErrACLNotFound
	}
	authz, err := r.policies.Compile(id, r.cfg.Datacenter, r.cfg.DefaultPolicy)
	if err != nil {
		return nil, nil, err
	}
	return authz, id.Token.ExpirationTime, nil
}

// down decides for a token that could not be resolved, by down_policy:
// everything (allow), the token's cached rights (extend-cache,
// async-cache), or else an UnresolvedError. A token no server could
// resolve is never taken for the anonymous token.
func (r *Resolver) down(stale *cacheEntry, err error) (*Authorizer, error) {
	switch r.cfg.DownPolicy {
	case DownAllow:
		r.cfg.Logger.Warn("cannot resolve an ACL token; allowing, as down_policy says", "error", err)
		return AllowAll(), nil
	case DownExtendCache, DownAsyncCache:
		if stale != nil {
			r.cfg.Logger.Debug("cannot resolve an ACL token; using its cached rights", "error", err)
			return stale.authz, nil
		}
	}
	r.cfg.Logger.Debug("cannot resolve an ACL token; refusing the request", "down_policy", r.cfg.DownPolicy, "error", err)
	return nil, &UnresolvedError{Err: err, DownPolicy: r.cfg.DownPolicy}
}

// UnresolvedError is a request refused because its token could not be
// resolved (no server answered) and down_policy gave it nothing. Its text
// starts with the cause, such as "No known Consul servers".
type UnresolvedError struct {
	Err        error
	DownPolicy string
}

func (e *UnresolvedError) Error() string {
	if e.DownPolicy == DownDeny {
		return fmt.Sprintf("%v: the request's ACL token could not be resolved, and down_policy is %q", e.Err, e.DownPolicy)
	}
	return fmt.Sprintf("%v: the request's ACL token could not be resolved, and down_policy %q has no cached rights for it", e.Err, e.DownPolicy)
}

// Unwrap makes the error match its cause.
func (e *UnresolvedError) Unwrap() error { return e.Err }

// refresh fetches a token in the background (async-cache); on failure the
// cached rights stay.
func (r *Resolver) refresh(key [32]byte, secret string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	authz, expires, err := r.fetch(ctx, secret)
	switch {
	case err == nil:
		r.store(key, authz, expires)
	case errors.Is(err, structs.ErrACLNotFound):
		r.forget(key)
	default:
		r.mu.Lock()
		if e := r.cache[key]; e != nil {
			e.refreshing = false
		}
		r.mu.Unlock()
	}
}

func (r *Resolver) store(key [32]byte, authz *Authorizer, expires *time.Time) {
	if r.cfg.TokenTTL <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCachedTokens {
		r.cache = map[[32]byte]*cacheEntry{}
	}
	r.cache[key] = &cacheEntry{authz: authz, fetched: r.now(), expires: expires}
}

func (r *Resolver) forget(key [32]byte) {
	if r.cfg.TokenTTL <= 0 {
		return
	}
	r.mu.Lock()
	delete(r.cache, key)
	r.mu.Unlock()
}

// Purge drops every cached token, so changes apply at once.
func (r *Resolver) Purge() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.cache = map[[32]byte]*cacheEntry{}
	r.mu.Unlock()
}
