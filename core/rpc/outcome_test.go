package rpc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// A write that one server lost track of (it lost leadership while
// committing it, or went away with the call in flight) is sent to the next
// server under the same request ID; a success there is the write's
// outcome, any other answer leaves it of unknown outcome, and it never
// reads as "not applied".
func TestRemoteSettlesWritesOfUnknownOutcome(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, next error // the two servers' answers; errGone: the first goes away mid-call
		want        error // nil, or the kind of the error the caller gets
	}{
		{"lost leadership, then applied", structs.ErrLeadershipLost, nil, nil},
		// The retry's checks may have seen the state the first attempt
		// made (a service it deregistered, say): a refusal settles nothing.
		{"lost leadership, then refused", structs.ErrLeadershipLost, structs.ErrPermissionDenied, structs.ErrOutcomeUnknown},
		{"lost leadership, then a bad argument", structs.ErrLeadershipLost, structs.BadInput("no such thing"), structs.ErrOutcomeUnknown},
		{"lost leadership, then no leader", structs.ErrLeadershipLost, structs.ErrNoLeader, structs.ErrOutcomeUnknown},
		{"lost leadership twice", structs.ErrLeadershipLost, structs.ErrLeadershipLost, structs.ErrLeadershipLost},
		{"no answer, then applied", errGone, nil, nil},
		{"no answer, then no leader", errGone, structs.ErrNoLeader, structs.ErrOutcomeUnknown},
		{"no leader, then applied", structs.ErrNoLeader, nil, structs.ErrNoLeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var ids []string
			serve := func(answer error) *Server {
				var s *Server
				ready := make(chan struct{})
				s = startServer(t, map[string]Endpoint{
					"Write": Do(func(ctx context.Context, a *writeArgs) error {
						<-ready
						mu.Lock()
						ids = append(ids, a.RequestID)
						mu.Unlock()
						if answer == errGone {
							go s.Shutdown()
							<-ctx.Done()
						}
						return answer
					}),
				})
				close(ready)
				return s
			}
			first, next := serve(tc.first), serve(tc.next)
			p := NewPool()
			defer p.Close()
			r := &Remote{Pool: p, Servers: func() []string { return []string{first.Addr().String(), next.Addr().String()} }}
			err := r.call(context.Background(), "Write", &writeArgs{}, nil)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want an error of kind %q", err, tc.want)
			}
			if structs.OutcomeUnknown(err) && (errors.Is(err, structs.ErrNoLeader) || strings.Contains(err.Error(), structs.ErrNoLeader.Error())) {
				t.Fatalf("a write of unknown outcome reads as not applied: %v", err)
			}
			if tc.first == structs.ErrNoLeader {
				if len(ids) != 1 {
					t.Fatalf("a write no leader took was sent %d times", len(ids))
				}
				return
			}
			if len(ids) != 2 || ids[0] == "" || ids[0] != ids[1] {
				t.Fatalf("request IDs sent: %q; want the same one twice", ids)
			}
		})
	}
}

// errGone stands for a server that goes away with the call in flight.
var errGone = errors.New("gone")

// A call given up on after it was sent is of unknown outcome when it is a
// write; a read is just a failed read. Both kinds survive the wire.
func TestUnansweredWriteIsOfUnknownOutcome(t *testing.T) {
	// goneMidCall serves method by going away while the call is in flight.
	goneMidCall := func(method string) string {
		var s *Server
		ready := make(chan struct{})
		block := func(ctx context.Context) error { <-ready; go s.Shutdown(); <-ctx.Done(); return ctx.Err() }
		s = startServer(t, map[string]Endpoint{
			"Write": Do(func(ctx context.Context, a *writeArgs) error { return block(ctx) }),
			"Read":  Do(func(ctx context.Context, a *readArgs) error { return block(ctx) }),
		})
		close(ready)
		return s.Addr().String()
	}
	p := NewPool()
	defer p.Close()
	if err := p.Call(context.Background(), goneMidCall("Write"), "Write", &writeArgs{}, nil); !structs.OutcomeUnknown(err) {
		t.Fatalf("unanswered write: %v; want one of unknown outcome", err)
	}
	if err := p.Call(context.Background(), goneMidCall("Read"), "Read", &readArgs{}, nil); err == nil || structs.OutcomeUnknown(err) {
		t.Fatalf("unanswered read: %v; want a plain failure", err)
	}
	// A caller that gives up on the answer does not make the write unsent.
	slow := startServer(t, map[string]Endpoint{
		"Write": Do(func(ctx context.Context, a *writeArgs) error { <-ctx.Done(); return ctx.Err() }),
		"Read":  Do(func(ctx context.Context, a *readArgs) error { <-ctx.Done(); return ctx.Err() }),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Call(ctx, slow.Addr().String(), "Write", &writeArgs{}, nil); !structs.OutcomeUnknown(err) {
		t.Fatalf("a write given up on: %v; want one of unknown outcome", err)
	}
	if err := p.Call(ctx, slow.Addr().String(), "Read", &readArgs{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a read given up on: %v; want the context's error", err)
	}
	for _, kind := range []error{structs.ErrLeadershipLost, structs.ErrOutcomeUnknown, structs.ErrNoLeader} {
		sent := structs.Unknown(errors.New("connection closed"))
		if kind != structs.ErrOutcomeUnknown {
			sent = kind
		}
		msg, code := EncodeError(sent)
		if got := DecodeError(msg, code); !errors.Is(got, kind) || got.Error() != sent.Error() {
			t.Errorf("%v crossed the wire as %v (%q)", sent, got, code)
		}
	}
}
