package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/structs"
)

type echoArgs struct{ Text string }
type echoReply struct{ Text string }

func startServer(t *testing.T, endpoints map[string]Endpoint) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ln, ln.Addr(), nil)
	s.SetHandler(Mux(endpoints))
	go s.Serve()
	t.Cleanup(s.Shutdown)
	return s
}

func TestCallsErrorsAndCancellation(t *testing.T) {
	cancelled := make(chan struct{})
	s := startServer(t, map[string]Endpoint{
		"Echo": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error { r.Text = a.Text; return nil }),
		"Fail": Do(func(ctx context.Context, a *echoArgs) error {
			switch a.Text {
			case "input":
				return structs.BadInput("bad %s", "thing")
			case "perm":
				return structs.ErrPermissionDenied
			}
			return errors.New("plain failure")
		}),
		"Block": Do(func(ctx context.Context, a *echoArgs) error {
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}),
	})
	p := NewPool()
	defer p.Close()
	addr := s.Addr().String()
	var r echoReply
	if err := p.Call(context.Background(), addr, "Echo", &echoArgs{"hi"}, &r); err != nil || r.Text != "hi" {
		t.Fatalf("echo: %q %v", r.Text, err)
	}
	err := p.Call(context.Background(), addr, "Fail", &echoArgs{"input"}, nil)
	var in *structs.InputError
	if !errors.As(err, &in) || err.Error() != "bad thing" || !IsRemote(err) {
		t.Fatalf("input error across the wire: %#v", err)
	}
	if err := p.Call(context.Background(), addr, "Fail", &echoArgs{"perm"}, nil); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("permission error across the wire: %v", err)
	}
	if err := p.Call(context.Background(), addr, "Fail", &echoArgs{"x"}, nil); err == nil || !IsRemote(err) || err.Error() != "plain failure" {
		t.Fatalf("plain error: %v", err)
	}
	if err := p.Call(context.Background(), addr, "Nope", nil, nil); err == nil || !IsRemote(err) {
		t.Fatalf("unknown method: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Call(ctx, addr, "Block", &echoArgs{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled call: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server kept running a call its caller abandoned")
	}
	// Many concurrent calls, small and large, share one connection and
	// each gets its own answer.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			text := strings.Repeat(string(rune('a'+i%26)), 1+(i%8)*(i%8)*4000)
			var r echoReply
			for j := 0; j < 5; j++ {
				if err := p.Call(context.Background(), addr, "Echo", &echoArgs{text}, &r); err != nil || r.Text != text {
					errs <- fmt.Errorf("call %d/%d: %d bytes back, %v", i, j, len(r.Text), err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(p.conns); n != 1 {
		t.Fatalf("%d connections for one server", n)
	}
}

// A call in flight when the server goes away fails instead of hanging, and
// the pool dials afresh for the next call.
func TestServerGoneMidCall(t *testing.T) {
	started := make(chan struct{})
	s := startServer(t, map[string]Endpoint{
		"Block": Do(func(ctx context.Context, a *echoArgs) error { close(started); <-ctx.Done(); return ctx.Err() }),
	})
	p := NewPool()
	defer p.Close()
	done := make(chan error, 1)
	go func() { done <- p.Call(context.Background(), s.Addr().String(), "Block", &echoArgs{}, nil) }()
	<-started
	s.Shutdown()
	select {
	case err := <-done:
		if err == nil || IsRemote(err) && !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("call to a server that shut down: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call outlived its server")
	}

	s2 := startServer(t, map[string]Endpoint{
		"Echo": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error { r.Text = a.Text; return nil }),
	})
	var r echoReply
	if err := p.Call(context.Background(), s2.Addr().String(), "Echo", &echoArgs{"again"}, &r); err != nil || r.Text != "again" {
		t.Fatalf("%q %v", r.Text, err)
	}
	// The same pool reconnects when its connection breaks under it.
	p.mu.Lock()
	for _, cc := range p.conns {
		cc.c.Close()
	}
	p.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if err := p.Call(context.Background(), s2.Addr().String(), "Echo", &echoArgs{"after"}, &r); err != nil || r.Text != "after" {
		t.Fatalf("after a broken connection: %q %v", r.Text, err)
	}
}

// Frames that lie about their size or shape close that connection only.
func TestMalformedFrames(t *testing.T) {
	s := startServer(t, map[string]Endpoint{
		"Echo": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error { r.Text = a.Text; return nil }),
	})
	for _, raw := range []string{
		"B\xff\xff\xff\xff",   // a frame beyond the limit
		"B\x00\x00\x00\x02xx", // shorter than a header
		"B\x00\x00\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x01\x01\x09x", // method length past the end
		"B\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x07\x04",      // cancel of an unknown call
		"B\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x07\x09",      // an unknown frame type
	} {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(raw))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		io.Copy(io.Discard, c)
		c.Close()
	}
	p := NewPool()
	defer p.Close()
	var r echoReply
	if err := p.Call(context.Background(), s.Addr().String(), "Echo", &echoArgs{"ok"}, &r); err != nil || r.Text != "ok" {
		t.Fatalf("server after malformed frames: %q %v", r.Text, err)
	}
}

func TestRaftConnectionsAreSorted(t *testing.T) {
	s := startServer(t, map[string]Endpoint{})
	layer := s.RaftLayer()
	go func() {
		c, err := layer.Dial(raft.ServerAddress("127.0.0.1:"+portOf(s.Addr())), time.Second)
		if err == nil {
			c.Write([]byte("raft bytes"))
			c.Close()
		}
	}()
	c, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	if string(b) != "raft bytes" {
		t.Fatalf("raft stream got %q", b)
	}
	// A connection of unknown kind is closed, and the server keeps serving.
	bad, _ := net.Dial("tcp", s.Addr().String())
	bad.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	bad.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("unknown connection kind was answered")
	}
	p := NewPool()
	defer p.Close()
	if err := p.Call(context.Background(), s.Addr().String(), "Nope", nil, nil); !IsRemote(err) {
		t.Fatalf("server stopped serving: %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	p := NewPool()
	p.DialTimeout = 200 * time.Millisecond
	err := p.Call(context.Background(), "127.0.0.1:1", "Echo", nil, nil)
	if err == nil || IsRemote(err) {
		t.Fatalf("unreachable: %v", err)
	}
	r := &Remote{Pool: p, Servers: func() []string { return nil }}
	if _, err := r.StatusLeader(context.Background()); !errors.Is(err, ErrNoServers) {
		t.Fatalf("no servers: %v", err)
	}
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

type writeArgs struct{ structs.WriteRequest }
type readArgs struct{ structs.QueryOptions }

// A client agent's calls that the leader answers anyway go to the leader
// once it is known; stale reads stay with the server in use.
func TestRemotePrefersTheLeader(t *testing.T) {
	var leaderAddr string
	counts := map[string]*int{}
	serve := func(name string) *Server {
		n := new(int)
		counts[name] = n
		return startServer(t, map[string]Endpoint{
			"StatusLeader": Get(func(ctx context.Context) (string, error) { return leaderAddr, nil }),
			"Write":        Do(func(ctx context.Context, a *writeArgs) error { *n++; return nil }),
			"Read":         Do(func(ctx context.Context, a *readArgs) error { *n++; return nil }),
		})
	}
	follower, leader := serve("follower"), serve("leader")
	leaderAddr = leader.Addr().String()
	p := NewPool()
	defer p.Close()
	r := &Remote{Pool: p, Servers: func() []string { return []string{follower.Addr().String(), leaderAddr} }}
	ctx := context.Background()
	if err := r.call(ctx, "Write", &writeArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		known := r.leader
		r.mu.Unlock()
		if known == leaderAddr {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader was never learned (%q)", known)
		}
	}
	*counts["follower"], *counts["leader"] = 0, 0
	for i := 0; i < 5; i++ {
		r.call(ctx, "Write", &writeArgs{}, nil)
		r.call(ctx, "Read", &readArgs{}, nil)
		r.call(ctx, "Read", &readArgs{QueryOptions: structs.QueryOptions{AllowStale: true}}, nil)
	}
	if *counts["leader"] != 10 || *counts["follower"] != 5 {
		t.Fatalf("leader answered %d calls, follower %d; want 10 and 5", *counts["leader"], *counts["follower"])
	}
	// A leader that went away is forgotten and calls go on elsewhere.
	leader.Shutdown()
	if err := r.call(ctx, "Write", &writeArgs{}, nil); err != nil {
		t.Fatalf("write after the leader went away: %v", err)
	}
}
