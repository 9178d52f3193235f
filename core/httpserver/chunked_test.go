package httpserver

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// A chunked body held in memory takes what its share of the bound says
// and no more: the share it gives back covers the slice the handler had,
// and reading it allocated at most that twice over (the slice doubling as
// the chunks came in), with no copy of each chunk besides.
func TestChunkedBodyWithinItsHold(t *testing.T) {
	const size = 4<<20 + 1000
	caps := make(chan int, 1)
	freed := make(chan int64, 1)
	_, addr := start(t, func(w *Response, r *Request) {
		if len(r.Body) != size {
			w.Error("short body", 400)
		}
		caps <- cap(r.Body)
	}, func(s *Server) {
		s.MaxBodyBytes = 16 << 20
		s.Freed = func(n int64) { freed <- n }
	})
	data := []byte(strings.Repeat("c", size))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < size; i += 16 << 10 {
			pw.Write(data[i:min(i+16<<10, size)])
		}
		pw.Close()
	}()
	if code, msg, _ := put(t, "http://"+addr+"/chunked", pr, -1); code != 200 {
		t.Fatalf("%d %s", code, msg)
	}
	held := <-freed
	runtime.ReadMemStats(&after)
	c := int64(<-caps)
	allocated := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("a %d KiB body in 16 KiB chunks: slice of %d KiB, hold of %d KiB, %d KiB allocated serving it",
		size>>10, c>>10, held>>10, allocated>>10)
	if held < c {
		t.Errorf("the body's slice has %d KiB, its hold only %d KiB", c>>10, held>>10)
	}
	if allocated > 2*held+1<<20 {
		t.Errorf("serving the body allocated %d KiB, its hold is %d KiB", allocated>>10, held>>10)
	}
}
