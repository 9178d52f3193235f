package connect

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
)

// maxLeaves bounds how many services' certificates an agent keeps; past
// it the least recently asked for is dropped (and made again if asked
// for later).
const maxLeaves = 1024

// ErrNoActiveRoot answers a leaf request before the leader made the CA.
var ErrNoActiveRoot = errors.New("the CA has no active root yet: the leader makes it when it takes office; try again shortly")

// Leaves hands out services' leaf certificates. The agent makes each
// service's key and certificate request itself, the leader signs it, and
// the certificate is kept and handed out again until its renewal time
// (between 60% and 90% of its life) or until another root becomes active.
// A blocking request holding the current certificate's index returns
// when the next one is made.
type Leaves struct {
	// Roots reads the CA's roots (blocking when asked to); Sign has a
	// request signed.
	Roots func(context.Context, *structs.DCSpecificRequest, *structs.IndexedCARoots) error
	Sign  func(context.Context, *structs.CASignRequest) (*structs.IssuedCert, error)
	// Datacenter is the agent's, which the certificates name.
	Datacenter string

	mu    sync.Mutex
	certs map[string]*leafEntry
	index uint64 // the highest index handed out
}

type leafEntry struct {
	mu      sync.Mutex // one signing at a time per service
	cert    *api.LeafCert
	rootID  string
	renewAt time.Time
	used    time.Time
}

func (l *Leaves) entry(service string) *leafEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.certs == nil {
		l.certs = map[string]*leafEntry{}
	}
	e, ok := l.certs[service]
	if !ok {
		if len(l.certs) >= maxLeaves {
			oldest := ""
			var at time.Time
			for name, x := range l.certs {
				if oldest == "" || x.used.Before(at) {
					oldest, at = name, x.used
				}
			}
			delete(l.certs, oldest)
		}
		e = &leafEntry{}
		l.certs[service] = e
	}
	e.used = time.Now()
	return e
}

// nextIndex is the index of a new certificate: above every earlier one,
// and at least the roots' index it was made under.
func (l *Leaves) nextIndex(rootsIndex uint64) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.index = max(l.index+1, rootsIndex)
	return l.index
}

// Get returns the service's certificate. With q.MinIndex equal to the
// current certificate's index it waits (up to q.MaxWait, Consul's default
// and cap applying) until a new one is made. token is the caller's: the
// leader refuses to sign without service:write.
func (l *Leaves) Get(ctx context.Context, service string, q structs.QueryOptions) (*api.LeafCert, error) {
	wait := q.MaxWait
	if wait <= 0 {
		wait = structs.DefaultQueryWait
	}
	deadline := time.Now().Add(min(wait, structs.MaxQueryWait))
	for {
		var roots structs.IndexedCARoots
		if err := l.Roots(ctx, &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{Token: q.Token, AllowStale: true}}, &roots); err != nil {
			return nil, err
		}
		cert, renewAt, err := l.current(ctx, service, q.Token, &roots)
		if err != nil {
			return nil, err
		}
		if q.MinIndex == 0 || cert.ModifyIndex != q.MinIndex || !time.Now().Before(deadline) {
			return cert, nil
		}
		// Wait for the renewal time, or for the roots to change.
		until := deadline
		if renewAt.Before(until) {
			until = renewAt
		}
		wctx, cancel := context.WithDeadline(ctx, until)
		err = l.Roots(wctx, &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{
			Token: q.Token, AllowStale: true, MinIndex: roots.Index, MaxWait: time.Until(until)}}, &roots)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && wctx.Err() == nil {
			return nil, err
		}
	}
}

// current returns the service's certificate, made anew when there is
// none, its renewal time has come, or it chains to another root than the
// active one.
func (l *Leaves) current(ctx context.Context, service, token string, roots *structs.IndexedCARoots) (*api.LeafCert, time.Time, error) {
	var active *structs.CARoot
	for _, r := range roots.Roots {
		if r.ID == roots.ActiveRootID {
			active = r
		}
	}
	if active == nil {
		return nil, time.Time{}, ErrNoActiveRoot
	}
	e := l.entry(service)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.cert != nil && e.rootID == active.ID && now.Before(e.renewAt) {
		return e.cert, e.renewAt, nil
	}
	uri := ServiceURI(roots.TrustDomain, l.Datacenter, service)
	keyPEM, csrPEM, err := NewLeafRequest(uri, service, active.PrivateKeyType, active.PrivateKeyBits)
	if err != nil {
		return nil, time.Time{}, err
	}
	issued, err := l.Sign(ctx, &structs.CASignRequest{CSR: csrPEM, QueryOptions: structs.QueryOptions{Token: token}})
	if err != nil {
		return nil, time.Time{}, err
	}
	idx := l.nextIndex(issued.ModifyIndex)
	e.cert = &api.LeafCert{
		SerialNumber: issued.SerialNumber, CertPEM: issued.CertPEM, PrivateKeyPEM: keyPEM,
		Service: issued.Service, ServiceURI: issued.ServiceURI,
		ValidAfter: issued.ValidAfter, ValidBefore: issued.ValidBefore,
		CreateIndex: idx, ModifyIndex: idx,
	}
	e.rootID = issued.RootID
	life := issued.ValidBefore.Sub(now)
	e.renewAt = now.Add(time.Duration(float64(life) * (0.6 + 0.3*rand.Float64())))
	return e.cert, e.renewAt, nil
}
