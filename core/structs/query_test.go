package structs

import (
	"testing"
	"time"
)

func TestBlockWaitBounds(t *testing.T) {
	for _, c := range []struct{ in, lo, hi time.Duration }{
		{0, 5 * time.Minute, 5*time.Minute + 5*time.Minute/16},
		{time.Hour, 10 * time.Minute, 10*time.Minute + 10*time.Minute/16},
		{16 * time.Second, 16 * time.Second, 17 * time.Second},
	} {
		for i := 0; i < 50; i++ {
			if w := BlockWait(c.in); w < c.lo || w > c.hi {
				t.Fatalf("BlockWait(%v) = %v, want in [%v, %v]", c.in, w, c.lo, c.hi)
			}
		}
	}
}
