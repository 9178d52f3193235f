package consul

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http2"
)

// readLoop handles every frame of the connection until it fails.
func (c *h2Conn) readLoop() {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.close(fmt.Errorf("%w: %v", errConnGone, err))
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		if err := c.handle(f); err != nil {
			c.close(fmt.Errorf("%w: %v", errConnGone, err))
			return
		}
	}
}

func (c *h2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		st := c.stream(f.StreamID)
		if st == nil {
			return nil // cancelled
		}
		if st.header == nil {
			st.status, _ = strconv.Atoi(f.PseudoValue("status"))
			st.header = http.Header{}
			for _, hf := range f.RegularFields() {
				st.header.Add(http.CanonicalHeaderKey(hf.Name), hf.Value)
			}
		}
		if f.StreamEnded() {
			c.finish(f.StreamID, nil)
		}
	case *http2.DataFrame:
		n := uint32(len(f.Data()))
		st := c.stream(f.StreamID)
		if st != nil {
			st.body.Write(f.Data())
		}
		if n > 0 {
			c.wmu.Lock()
			c.fr.WriteWindowUpdate(0, n)
			if st != nil && !f.StreamEnded() {
				c.fr.WriteWindowUpdate(f.StreamID, n)
			}
			err := c.bw.Flush()
			c.wmu.Unlock()
			if err != nil {
				return err
			}
		}
		if st != nil && f.StreamEnded() {
			c.finish(f.StreamID, nil)
		}
	case *http2.RSTStreamFrame:
		c.finish(f.StreamID, fmt.Errorf("the server reset the stream: %v", f.ErrCode))
	case *http2.SettingsFrame:
		if !f.IsAck() {
			return c.applySettings(f)
		}
	case *http2.PingFrame:
		if f.IsAck() {
			select {
			case c.pong <- struct{}{}:
			default:
			}
			return nil
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if err := c.fr.WritePing(true, f.Data); err != nil {
			return err
		}
		return c.bw.Flush()
	case *http2.GoAwayFrame:
		c.goAway(f.LastStreamID, f.ErrCode, string(f.DebugData()))
	}
	return nil
}

// goAway stops new streams; streams the server will not answer fail now
// (their callers retry on a new connection).
func (c *h2Conn) goAway(last uint32, code http2.ErrCode, debug string) {
	c.mu.Lock()
	c.goingAway = true
	var lost []uint32
	for id := range c.streams {
		if id > last {
			lost = append(lost, id)
		}
	}
	c.mu.Unlock()
	for _, id := range lost {
		c.finish(id, fmt.Errorf("%w: the server is going away (%v %s; last stream %d)", errConnGone, code, debug, last))
	}
}

// pingLoop checks a quiet connection: a ping that gets no answer in time
// closes it, failing its parked streams so their callers reconnect.
func (c *h2Conn) pingLoop() {
	t := time.NewTicker(h2PingEvery / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, c.lastRead.Load())) < h2PingEvery {
			continue
		}
		c.wmu.Lock()
		err := c.fr.WritePing(false, [8]byte{'b', 'e', 'a', 'c', 'o', 'n'})
		if err == nil {
			err = c.bw.Flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.close(fmt.Errorf("%w: %v", errConnGone, err))
			return
		}
		select {
		case <-c.pong:
		case <-c.done:
			return
		case <-time.After(h2PingTimeout):
			c.close(fmt.Errorf("%w: no answer to a ping within %s", errConnGone, h2PingTimeout))
			return
		}
	}
}

// close ends the connection and fails every stream with err.
func (c *h2Conn) close(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	streams := c.streams
	c.streams = map[uint32]*h2Stream{}
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
	for _, st := range streams {
		st.complete(err)
	}
}
