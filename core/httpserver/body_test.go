package httpserver

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/zeros"
)

func put(t *testing.T, url string, body io.Reader, length int64) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, body)
	req.ContentLength = length
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

// Large uploads that Admit refuses are answered without their bodies being
// read: eight clients sending 250 MiB each get their 403 having sent a few
// MiB at most, and the handler never runs.
func TestAdmitRefusesBeforeTheBody(t *testing.T) {
	var ran atomic.Int32
	_, addr := start(t, func(w *Response, r *Request) { ran.Add(1) }, func(s *Server) {
		s.MaxBodyBytes = 256 << 20
		s.Admit = func(w *Response, r *Request) BodyPlan {
			w.Error("Permission denied: anonymous token lacks permission 'acl:write'", 403)
			return BodyPlan{Answered: true}
		}
	})
	const uploads, size = 8, 250 << 20
	var wg sync.WaitGroup
	for i := 0; i < uploads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			z := zeros.New(size)
			code, body, _ := put(t, "http://"+addr+"/v1/snapshot", z, size)
			if code != 403 || !strings.HasPrefix(body, "Permission denied") {
				t.Errorf("upload %d: %d %q", i, code, body)
			}
			if n := z.Taken(); n > 32<<20 {
				t.Errorf("upload %d: the client sent %d MiB of a refused body", i, n>>20)
			}
		}()
	}
	wg.Wait()
	if n := ran.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for refused requests", n)
	}
	// Small bodies never reach Admit: they are read the cheap way.
	if code, _, _ := put(t, "http://"+addr+"/small", strings.NewReader("x"), 1); code != 200 {
		t.Fatalf("a small body: %d", code)
	}
}

// The bodies held in memory at once stay within MaxBodyMemory: past it a
// request is answered 503 naming the limit, unread and not applied, and
// it goes through once the others are done.
func TestBodyMemoryBound(t *testing.T) {
	hold := make(chan struct{})
	entered := make(chan struct{}, 2)
	var got sync.Map
	_, addr := start(t, func(w *Response, r *Request) {
		if r.Path == "/hold" {
			entered <- struct{}{} // its body is in, and held
			<-hold
		}
		got.Store(r.Path, len(r.Body))
	}, func(s *Server) { s.MaxBodyBytes = 512 << 10; s.MaxBodyMemory = 1 << 20 })
	body := strings.Repeat("v", 400<<10)
	var wg sync.WaitGroup
	var release sync.Once
	defer func() { release.Do(func() { close(hold) }); wg.Wait() }()
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, msg, _ := put(t, "http://"+addr+"/hold", strings.NewReader(body), int64(len(body))); code != 200 {
				t.Errorf("held request: %d %s", code, msg)
			}
		}()
	}
	for i := 0; i < 2; i++ {
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of the two held requests reached their handler", i)
		}
	}
	code, msg, h := put(t, "http://"+addr+"/third", strings.NewReader(body), int64(len(body)))
	if code != 503 || !strings.Contains(msg, "limit of 1 MiB") || !strings.Contains(msg, "not applied") || h.Get("Retry-After") == "" {
		t.Fatalf("past the bound: %d %q %v", code, msg, h)
	}
	if _, ok := got.Load("/third"); ok {
		t.Fatal("the refused request reached its handler")
	}
	// A body of unknown length takes its share as it comes: a small one
	// fits beside the held ones, a large one is cut off at the bound.
	chunked := func(n int) io.Reader {
		pr, pw := io.Pipe()
		go func() { pw.Write([]byte(strings.Repeat("c", n))); pw.Close() }()
		return pr
	}
	if code, msg, _ := put(t, "http://"+addr+"/small", chunked(1000), -1); code != 200 {
		t.Fatalf("a small chunked body beside the held ones: %d %q", code, msg)
	}
	if code, msg, h := put(t, "http://"+addr+"/large", chunked(400<<10), -1); code != 503 || !strings.Contains(msg, "limit of 1 MiB") || h.Get("Retry-After") == "" {
		t.Fatalf("a large chunked body past the bound: %d %q", code, msg)
	}
	release.Do(func() { close(hold) })
	wg.Wait()
	if code, msg, _ := put(t, "http://"+addr+"/third", strings.NewReader(body), int64(len(body))); code != 200 {
		t.Fatalf("retried: %d %s", code, msg)
	}
	if n, _ := got.Load("/third"); n != len(body) {
		t.Fatalf("retried body of %v bytes, want %d", n, len(body))
	}
}

// sum streams a body and answers its length and checksum, or the error
// that ended it.
func sum(w *Response, r *Request) {
	if r.Path == "/ignore" {
		w.Error("not reading that", 409)
		return
	}
	h := sha256.New()
	n, err := io.Copy(h, r.BodyReader)
	var tl *BodyTooLargeError
	if errors.As(err, &tl) {
		w.Error(err.Error(), 413)
		return
	}
	if err != nil {
		w.Error(err.Error(), 400)
		return
	}
	fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
}

func streaming(s *Server) {
	s.MaxBodyBytes = 1 << 10
	s.Admit = func(w *Response, r *Request) BodyPlan { return BodyPlan{Stream: true, Limit: 8 << 20} }
}

// A streamed body reaches the handler as it arrives, with a declared
// length or chunked, up to the limit Admit gave instead of MaxBodyBytes.
func TestStreamedBody(t *testing.T) {
	_, addr := start(t, sum, streaming)
	data := strings.Repeat("0123456789abcdef", 5<<16) // 5 MiB
	want := fmt.Sprintf("%d %x", len(data), sha256.Sum256([]byte(data)))
	if code, body, _ := put(t, "http://"+addr+"/s", strings.NewReader(data), int64(len(data))); code != 200 || body != want {
		t.Fatalf("with a length: %d %q", code, body)
	}
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(data); i += 100 << 10 {
			pw.Write([]byte(data[i:min(i+100<<10, len(data))]))
		}
		pw.Close()
	}()
	if code, body, _ := put(t, "http://"+addr+"/s", pr, -1); code != 200 || body != want {
		t.Fatalf("chunked: %d %q", code, body)
	}
	big := zeros.New(9 << 20)
	if code, body, _ := put(t, "http://"+addr+"/s", big, -1); code != 413 || !strings.Contains(body, "limit of 8388608") {
		t.Fatalf("chunked past the limit: %d %q", code, body)
	}
	if code, body, _ := put(t, "http://"+addr+"/s", zeros.New(9<<20), 9<<20); code != 413 {
		t.Fatalf("declared past the limit: %d %q", code, body)
	}
}

// A streamed body read to its end leaves the connection open for the next
// request; one the handler leaves unread closes it after the response.
// 100 Continue is sent only when the handler reads.
func TestStreamedBodyConnection(t *testing.T) {
	_, addr := start(t, sum, streaming)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	body := strings.Repeat("x", 100<<10)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "PUT /s HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.HasPrefix(string(b), "102400 ") {
			t.Fatalf("request %d: %q", i, b)
		}
	}

	got := raw(t, addr, "PUT /s HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK") {
		t.Fatalf("a read body is invited: %q", got)
	}
	got = raw(t, addr, "PUT /ignore HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n")
	if strings.Contains(got, "100 Continue") || !strings.Contains(got, "409 Conflict") || !strings.Contains(got, "Connection: close") {
		t.Fatalf("an unread body: %q", got)
	}
}

// Over HTTP/2 a body is admitted the same way: refused from its head, or
// streamed to the handler within Admit's limit.
func TestH2CBodies(t *testing.T) {
	_, addr := start(t, sum, func(s *Server) {
		streaming(s)
		admit := s.Admit
		s.Admit = func(w *Response, r *Request) BodyPlan {
			if r.Path == "/deny" {
				w.Error("Permission denied", 403)
				return BodyPlan{Answered: true}
			}
			return admit(w, r)
		}
	})
	var dials atomic.Int32
	c := h2cClient(&dials)
	do := func(path string, body io.Reader, n int64) (int, string) {
		req, _ := http.NewRequest("PUT", "http://"+addr+path, body)
		req.ContentLength = n
		resp, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	z := zeros.New(250 << 20)
	if code, body := do("/deny", z, 250<<20); code != 403 || z.Taken() > 32<<20 {
		t.Fatalf("refused: %d %q, %d MiB sent", code, body, z.Taken()>>20)
	}
	data := strings.Repeat("x", 3<<20)
	want := fmt.Sprintf("%d %x", len(data), sha256.Sum256([]byte(data)))
	if code, body := do("/s", strings.NewReader(data), int64(len(data))); code != 200 || body != want {
		t.Fatalf("streamed: %d %q", code, body)
	}
	if code, body := do("/s", zeros.New(9<<20), -1); code != 413 {
		t.Fatalf("past the limit: %d %q", code, body)
	}
}

// A streamed chunked body is framed exactly as one read whole: what
// readChunked refuses, the stream refuses too, and the connection closes.
func TestStreamedChunkedFraming(t *testing.T) {
	_, addr := start(t, sum, streaming)
	head := "PUT /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, bad := range []string{
		"+3\r\nabc\r\n0\r\n\r\n",                // a signed size
		"3\nabc\r\n0\r\n\r\n",                   // a bare LF after the size
		"3\r\nabc\r\n0\r\nno colon\r\n\r\n",     // a malformed trailer field
		"00000000000000003\r\nabc\r\n0\r\n\r\n", // more than 16 hex digits
	} {
		if got := raw(t, addr, head+bad); !strings.HasPrefix(got, "HTTP/1.1 400 ") {
			t.Errorf("%q: answered %q", bad, got)
		}
	}
	ok := "3;ext=1\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"
	if got := raw(t, addr, head+ok); !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, "\r\n\r\n3 ") {
		t.Errorf("%q: answered %q", ok, got)
	}
}
