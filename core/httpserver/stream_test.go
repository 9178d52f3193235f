package httpserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ticker streams one line per value sent on next, until the client leaves
// or the server stops; ended receives the handler's Stream error.
func ticker(next <-chan string, ended chan<- error) HandlerFunc {
	return func(w *Response, r *Request) {
		r.WatchClient()
		w.SetHeader("X-Stream", "yes")
		err := w.Stream(func(body io.Writer, flush func() error) error {
			for {
				select {
				case <-r.Context().Done():
					return nil
				case s, ok := <-next:
					if !ok {
						return nil
					}
					io.WriteString(body, s+"\n")
					if err := flush(); err != nil {
						return err
					}
				}
			}
		})
		ended <- err
		w.WriteString("never sent")
	}
}

func TestStreamDeliversAsWritten(t *testing.T) {
	next := make(chan string)
	ended := make(chan error, 1)
	_, addr := start(t, ticker(next, ended), nil)

	resp, err := http.Get("http://" + addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Stream") != "yes" || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !resp.Close {
		t.Fatalf("head: %v %v close=%v", resp.Header, resp.TransferEncoding, resp.Close)
	}
	br := bufio.NewReader(resp.Body)
	for _, s := range []string{"one", "two"} {
		next <- s // each line arrives before the next is produced
		line, err := br.ReadString('\n')
		if err != nil || line != s+"\n" {
			t.Fatalf("read %q, %v", line, err)
		}
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the stream ended: %q %v", rest, err)
	}
	if err := <-ended; err != nil {
		t.Fatalf("Stream: %v", err)
	}
}

func TestStreamEndsWhenClientLeaves(t *testing.T) {
	next := make(chan string)
	ended := make(chan error, 1)
	_, addr := start(t, ticker(next, ended), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived its client")
	}
}

func TestStreamHTTP10AndHead(t *testing.T) {
	next := make(chan string, 2)
	next <- "old"
	close(next)
	_, addr := start(t, ticker(next, make(chan error, 2)), nil)
	got := raw(t, addr, "GET / HTTP/1.0\r\n\r\n")
	if strings.Contains(got, "chunked") || !strings.Contains(got, "Connection: close") || !strings.HasSuffix(got, "\r\n\r\nold\n") {
		t.Fatalf("HTTP/1.0 stream: %q", got)
	}
	got = raw(t, addr, "HEAD / HTTP/1.1\r\n\r\n")
	if !strings.Contains(got, "Transfer-Encoding: chunked") || !strings.HasSuffix(got, "\r\n\r\n") {
		t.Fatalf("HEAD stream: %q", got)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	next := make(chan string)
	ended := make(chan error, 1)
	s, addr := start(t, ticker(next, ended), nil)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 {
		t.Fatalf("body after shutdown: %q %v", b, err)
	}
}

func TestStreamOverH2C(t *testing.T) {
	next := make(chan string)
	ended := make(chan error, 1)
	_, addr := start(t, ticker(next, ended), nil)
	var dials atomic.Int32
	resp, err := h2cClient(&dials).Get("http://" + addr + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Stream") != "yes" {
		t.Fatalf("h2 head: %d %v", resp.ProtoMajor, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	next <- "h2 line"
	if line, err := br.ReadString('\n'); err != nil || line != "h2 line\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the h2 stream outlived its client")
	}
}

func TestStreamWithoutConnectionBuffers(t *testing.T) {
	var w Response
	err := w.Stream(func(body io.Writer, flush func() error) error {
		fmt.Fprint(body, "a")
		flush()
		fmt.Fprint(body, "b")
		return nil
	})
	if err != nil || string(w.Body()) != "ab" {
		t.Fatalf("%q %v", w.Body(), err)
	}
}

func TestStreamTwice(t *testing.T) {
	ended := make(chan error, 1)
	_, addr := start(t, func(w *Response, r *Request) {
		w.Stream(func(io.Writer, func() error) error { return nil })
		ended <- w.Stream(func(io.Writer, func() error) error { return nil })
	}, nil)
	raw(t, addr, "GET / HTTP/1.1\r\n\r\n")
	if err := <-ended; err != ErrStreamed {
		t.Fatalf("second Stream: %v", err)
	}
}
