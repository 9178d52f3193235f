// Package waitfor polls a condition in tests until it holds or time runs
// out.
package waitfor

import (
	"testing"
	"time"
)

// Until calls cond until it reports true and fails t, naming what it was
// waiting for, if that takes longer than within. It polls about 200 times
// in that span, every 1 to 50 ms.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	every := min(max(within/200, time.Millisecond), 50*time.Millisecond)
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(every)
	}
}
