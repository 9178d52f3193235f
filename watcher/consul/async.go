package consul

import (
	"context"
	"net/http"
	"net/url"
)

// asyncRoundTripper sends a request and calls back with the response,
// without a goroutine waiting in between.
type asyncRoundTripper interface {
	RoundTripAsync(req *http.Request, done func(*http.Response, error))
}

// GetAsync is Get that returns at once and calls done, on another
// goroutine, when the answer (decoded into out) is there. Over h2c a
// parked blocking query costs no goroutine while it waits; other
// transports spend one.
func (c *Client) GetAsync(ctx context.Context, path string, params url.Values, q QueryOptions, out any, done func(Meta, bool, error)) {
	rt, req, err := c.prepare(ctx, path, params, q)
	if err != nil {
		go done(Meta{}, false, err)
		return
	}
	finish := func(resp *http.Response, err error) {
		done(c.finish(rt, path, resp, err, out))
	}
	if a, ok := rt.(asyncRoundTripper); ok {
		a.RoundTripAsync(req, finish)
		return
	}
	go func() { finish(rt.RoundTrip(req)) }()
}
