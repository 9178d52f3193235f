package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Ports are distinct, not handed out twice, and free to listen on.
func TestPortsAreDistinctAndFree(t *testing.T) {
	seen := map[int]bool{}
	for _, p := range append(Ports(t, 50), Port(t)) {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}
