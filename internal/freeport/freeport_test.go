package freeport

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Ports are distinct, not handed out twice, free to listen on, and below
// the kernel's ephemeral range.
func TestPortsAreDistinctAndFree(t *testing.T) {
	seen := map[int]bool{}
	for _, p := range append(Ports(t, 50), Port(t)) {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lo, hi)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if first, _ := strconv.Atoi(f[0]); first < hi {
				t.Logf("the ephemeral range starts at %d, below %d: ports may collide with outgoing connections", first, hi)
			}
		}
	}
}

// Two processes running side by side never get the same port, even when
// they start scanning at the same place.
func TestProcessesGetDistinctPorts(t *testing.T) {
	if os.Getenv("FREEPORT_CHILD") != "" {
		next = lo // as the parent
		fmt.Println(strings.Trim(fmt.Sprint(Ports(t, 40)), "[]"))
		return
	}
	next = lo
	mine := map[int]bool{}
	for _, p := range Ports(t, 40) {
		mine[p] = true
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestProcessesGetDistinctPorts$")
	cmd.Env = append(os.Environ(), "FREEPORT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	n := 0
	for _, f := range strings.Fields(strings.SplitN(string(out), "\n", 2)[0]) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("child printed %q", out)
		}
		n++
		if mine[p] {
			t.Errorf("port %d given to both processes", p)
		}
	}
	if n != 40 {
		t.Fatalf("child gave %d ports: %s", n, out)
	}
}
