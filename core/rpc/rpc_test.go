package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
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

// blackhole forwards a TCP connection until told to swallow everything in
// both directions without closing, as a host that vanished does.
type blackhole struct {
	ln   net.Listener
	mu   sync.Mutex
	dead bool
}

func newBlackhole(t *testing.T, to string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			go b.pipe(up, c)
			go b.pipe(c, up)
		}
	}()
	return b
}

func (b *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		b.mu.Lock()
		dead := b.dead
		b.mu.Unlock()
		if !dead {
			dst.Write(buf[:n])
		}
	}
}

func (b *blackhole) swallow() {
	b.mu.Lock()
	b.dead = true
	b.mu.Unlock()
}

func shortPings(t *testing.T) {
	oldI, oldT := pingInterval, pingTimeout
	pingInterval, pingTimeout = 100*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { pingInterval, pingTimeout = oldI, oldT })
}

// A call waiting on a server that went silent without closing the
// connection fails after the ping timeout instead of hanging for the rest
// of its wait, while a long call to a server that answers pings completes.
func TestSilentServerIsDropped(t *testing.T) {
	shortPings(t)
	s := startServer(t, map[string]Endpoint{
		"Slow": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
			r.Text = a.Text
			return nil
		}),
	})
	p := NewPool()
	defer p.Close()
	var r echoReply
	if err := p.Call(context.Background(), s.Addr().String(), "Slow", &echoArgs{"patient"}, &r); err != nil || r.Text != "patient" {
		t.Fatalf("a call ten ping intervals long: %q %v", r.Text, err)
	}

	b := newBlackhole(t, s.Addr().String())
	addr := b.ln.Addr().String()
	if err := p.Call(context.Background(), addr, "Slow", &echoArgs{"warm"}, &r); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Call(context.Background(), addr, "Slow", &echoArgs{"lost"}, &r) }()
	time.Sleep(20 * time.Millisecond)
	b.swallow()
	select {
	case err := <-done:
		if err == nil || IsRemote(err) || !strings.Contains(err.Error(), "answered nothing") {
			t.Fatalf("call to a silent server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call to a silent server hung")
	}
}

// Arguments or replies beyond the frame limit are refused with an error
// that says so, and the connection goes on serving.
func TestFrameLimit(t *testing.T) {
	old := maxFrame
	maxFrame = 1 << 20
	t.Cleanup(func() { maxFrame = old })
	s := startServer(t, map[string]Endpoint{
		"Echo": Read(func(ctx context.Context, a *echoArgs, r *echoReply) error { r.Text = a.Text; return nil }),
		"Big":  Get(func(ctx context.Context) (string, error) { return strings.Repeat("x", 2<<20), nil }),
	})
	p := NewPool()
	defer p.Close()
	addr := s.Addr().String()
	err := p.Call(context.Background(), addr, "Echo", &echoArgs{strings.Repeat("y", 2<<20)}, nil)
	if err == nil || IsRemote(err) || !strings.Contains(err.Error(), "exceed the 1048576-byte frame limit") {
		t.Fatalf("oversize arguments: %v", err)
	}
	err = p.Call(context.Background(), addr, "Big", nil, nil)
	if err == nil || !IsRemote(err) || !strings.Contains(err.Error(), "exceeds the 1048576-byte frame limit") {
		t.Fatalf("oversize reply: %v", err)
	}
	var r echoReply
	if err := p.Call(context.Background(), addr, "Echo", &echoArgs{"still"}, &r); err != nil || r.Text != "still" {
		t.Fatalf("after oversize frames: %q %v", r.Text, err)
	}
}

// A frame header announcing hundreds of megabytes costs nothing until the
// bytes arrive.
func TestAnnouncedSizeIsNotAllocated(t *testing.T) {
	s := startServer(t, map[string]Endpoint{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("B\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x04Echo{}"))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		c.Read(make([]byte, 1))
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("four 496 MiB announcements allocated %d MiB", grew>>20)
	}
}

// A KV write sent as JSON (by an agent without the binary form) is read
// as JSON.
func TestBinaryArgumentsAcceptJSON(t *testing.T) {
	var got structs.KVSRequest
	if err := decodeArgs([]byte(`{"Datacenter":"dc1","Op":"set","DirEnt":{"Key":"a","Value":"Yg=="}}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.Datacenter != "dc1" || got.DirEnt.Key != "a" || string(got.DirEnt.Value) != "b" {
		t.Fatalf("decoded %+v", got)
	}
	bin, _ := (&structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "c"}}).MarshalBinary()
	got = structs.KVSRequest{}
	if err := decodeArgs(bin, &got); err != nil || got.DirEnt.Key != "c" {
		t.Fatalf("binary form: %+v %v", got, err)
	}
}
