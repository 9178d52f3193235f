package consul

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// probeTimeout bounds each protocol probe. A server that does not speak
// HTTP/2 answers the h2c preface with an HTTP/1.1 error at once, so this
// only matters for servers that accept the connection and then say nothing.
const probeTimeout = 3 * time.Second

// transport returns the transport to use, deciding it on first use in auto
// mode: one request over h2c; if the server does not answer it as HTTP/2,
// one over HTTP/1.1. Concurrent callers wait for that one decision, and the
// h2c probe leaves behind the single connection that later requests share.
func (c *Client) transport(ctx context.Context) (http.RoundTripper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rt != nil {
		return c.rt, nil
	}
	// Callers that queued behind a failed decision share its error
	// instead of probing again one after another.
	if c.probeErr != nil && time.Since(c.probedAt) < time.Second {
		return nil, c.probeErr
	}
	c.probedAt = time.Now()
	c.probeErr = nil
	h2err := c.probe(ctx, c.h2c)
	if h2err == nil {
		c.rt, c.protocol = c.h2c, ProtocolH2C
		c.log("consul: %s speaks HTTP/2 (h2c): all queries share one connection", c.base.Host)
		return c.rt, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	h1err := c.probe(ctx, c.http1)
	if h1err == nil {
		c.h2c.CloseIdleConnections()
		c.rt, c.protocol = c.http1, ProtocolHTTP1
		c.log("consul: %s does not speak h2c (%v): using HTTP/1.1", c.base.Host, h2err)
		return c.rt, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var op *net.OpError
	if errors.As(h1err, &op) && op.Op == "dial" {
		c.probeErr = fmt.Errorf("cannot connect to %s: %w", c.base.Host, op.Err)
	} else {
		c.probeErr = fmt.Errorf("%s: %w: %v", c.base.Host, errUndecided, h1err)
	}
	return nil, c.probeErr
}

// forget drops an auto-detected transport after a failed request, so the
// next request decides again (the server may have been replaced by one
// that speaks the other protocol).
func (c *Client) forget(rt http.RoundTripper) {
	if c.cfg.Protocol != ProtocolAuto || c.cfg.Transport != nil || rt != c.h2c && rt != c.http1 {
		return
	}
	if c.base.Scheme == "https" {
		return
	}
	c.mu.Lock()
	if c.rt == rt {
		c.rt, c.protocol = nil, ""
	}
	c.mu.Unlock()
}

// probe sends one cheap request with rt and reports whether it was answered.
// Any HTTP status counts as an answer: an ACL-protected server answers 403.
func (c *Client) probe(ctx context.Context, rt http.RoundTripper) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := c.request(ctx, "/v1/status/leader", nil, QueryOptions{})
	if err != nil {
		return err
	}
	c.requests.Add(1)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", probeTimeout)
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return nil
}
