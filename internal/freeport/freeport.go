// Package freeport hands tests TCP ports on 127.0.0.1 that nothing listens
// on, each port at most once per process, so that processes a test starts
// later on several of them never collide.
package freeport

import (
	"net"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Port returns a free port that no earlier call returned. The UDP port of
// the same number is assumed free with it, which holds on a quiet test
// machine.
func Port(t testing.TB) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[p] {
			given[p] = true
			return p
		}
	}
}

// Ports returns n distinct ports as Port does.
func Ports(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ports[i] = Port(t)
	}
	return ports
}
