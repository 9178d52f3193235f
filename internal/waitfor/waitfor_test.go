package waitfor

import (
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps a Fatalf message instead of ending
// the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = format
	panic(r)
}

func TestUntil(t *testing.T) {
	n := 0
	Until(t, time.Second, "the third call", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	r := &recorder{TB: t}
	start := time.Now()
	func() {
		defer func() { recover() }()
		Until(r, 100*time.Millisecond, "never", func() bool { return false })
	}()
	if !strings.Contains(r.msg, "timed out") || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("a condition that never holds: %q after %v", r.msg, time.Since(start))
	}
}
