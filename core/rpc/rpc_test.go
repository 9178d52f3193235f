package rpc

import (
	"context"
	"errors"
	"io"
	"net"
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
	// Many calls share one session.
	for i := 0; i < 50; i++ {
		if err := p.Call(context.Background(), addr, "Echo", &echoArgs{"x"}, &r); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(p.sessions); n != 1 {
		t.Fatalf("%d sessions for one server", n)
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
