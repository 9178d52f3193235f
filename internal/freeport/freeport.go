// Package freeport hands tests ports on 127.0.0.1 that nothing listens on,
// each port to one process at a time, so that processes a test starts
// later on several of them never collide.
//
// The ports come from below the kernel's ephemeral range (32768 and up on
// Linux), which it never picks for a connection's local port: a port
// probed free and closed cannot be taken by some process's outgoing
// connection before the agent that was given it binds it. Test processes
// that run side by side (go test runs packages in parallel) claim their
// ports with a file each under the temporary directory, naming the
// claiming process; a claim of a process that has ended is taken over.
package freeport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// lo and hi bound the ports handed out, below the ephemeral range.
const (
	lo = 20000
	hi = 32000
)

var (
	mu   sync.Mutex
	next = lo + os.Getpid()*7919%(hi-lo)
)

// Port returns a free port (TCP and UDP) that no earlier call returned and
// no other running process claimed.
func Port(t testing.TB) int {
	t.Helper()
	p, err := take()
	if err != nil {
		t.Fatal(err)
	}
	return p
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

func take() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	dir := filepath.Join(os.TempDir(), "beacon-freeport")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	for range hi - lo {
		p := next
		if next++; next >= hi {
			next = lo
		}
		// A port this process claimed before is refused like any other
		// live process's.
		if !claim(filepath.Join(dir, strconv.Itoa(p))) {
			continue
		}
		if !free(p) {
			continue // in use by something else: leave it claimed
		}
		return p, nil
	}
	return 0, errors.New("freeport: no free port left")
}

// claim makes path name this process, unless a live process holds it.
func claim(path string) bool {
	me := strconv.Itoa(os.Getpid())
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			_, err = f.WriteString(me)
			f.Close()
			return err == nil
		}
		if !errors.Is(err, os.ErrExist) {
			return false
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && (owner == os.Getpid() || alive(owner)) {
			return false
		}
		os.Remove(path) // the owner has ended (or never finished writing)
	}
	return false
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// free reports whether nothing listens on port p of 127.0.0.1, TCP or UDP.
func free(p int) bool {
	addr := "127.0.0.1:" + strconv.Itoa(p)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}
