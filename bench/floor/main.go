// Command floor is a reference server for reading load-test figures: it
// answers sdbench's KV and blocking requests with canned responses and does
// no other work, so what it reaches on a machine is the ceiling the load
// generator itself allows there. Compare beacon's figures against it, run
// under the same conditions.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
)

var (
	mu    sync.Mutex
	woken = make(chan struct{})
	index = 1
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18599", "listen address (loopback)")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "floor server on", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c)
	}
}

func response(idx int) []byte {
	body := `[{"LockIndex":0,"Key":"bench/key","Flags":0,"Value":"YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5emFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5emFi","CreateIndex":1,"ModifyIndex":` + strconv.Itoa(idx) + `}]`
	return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: " + strconv.Itoa(idx) +
		"\r\nX-Consul-Knownleader: true\r\nX-Consul-Lastcontact: 0\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

var putOK = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue")

// serve answers PUT with true (and wakes blocked GETs) and GET with a
// canned KV entry, holding GETs that carry ?index= until the next PUT.
func serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		put := bytes.HasPrefix(line, []byte("PUT "))
		blocking := bytes.Contains(line, []byte("index="))
		n := 0
		for {
			h, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(h) <= 2 {
				break
			}
			if len(h) > 15 && bytes.EqualFold(h[:15], []byte("content-length:")) {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			}
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		if put {
			mu.Lock()
			index++
			close(woken)
			woken = make(chan struct{})
			mu.Unlock()
			c.Write(putOK)
			continue
		}
		mu.Lock()
		ch, idx := woken, index
		mu.Unlock()
		if blocking {
			<-ch
			mu.Lock()
			idx = index
			mu.Unlock()
		}
		c.Write(response(idx))
	}
}
