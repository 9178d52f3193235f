package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// UserAgent is what HTTP checks send, as Consul's do.
const UserAgent = "Consul Health Check"

// transports are shared by HTTP checks with the same TLS settings, so a
// thousand checks keep a handful of pools and reuse connections between runs.
var transports sync.Map // tlsKey -> *http.Transport

type tlsKey struct {
	skipVerify bool
	serverName string
}

func transportFor(skip bool, name string) *http.Transport {
	k := tlsKey{skip, name}
	if t, ok := transports.Load(k); ok {
		return t.(*http.Transport)
	}
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: skip, ServerName: name},
	}
	actual, _ := transports.LoadOrStore(k, t)
	return actual.(*http.Transport)
}

// HTTPProbe requests def.HTTP: 2xx is passing, 429 warning, anything else
// (or no answer) critical. The output holds the status line and the start
// of the body.
func HTTPProbe(def *structs.CheckDefinition) (Probe, error) {
	method := def.Method
	if method == "" {
		method = http.MethodGet
	}
	if _, err := http.NewRequest(method, def.HTTP, nil); err != nil {
		return nil, fmt.Errorf("http check %q: %w", def.HTTP, err)
	}
	client := &http.Client{
		Transport: transportFor(def.TLSSkipVerify, def.TLSServerName),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if def.DisableRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return fmt.Errorf("stopped after 10 redirects")
			}
			return nil
		},
	}
	return func(ctx context.Context) (string, string) {
		var body io.Reader
		if def.Body != "" {
			body = strings.NewReader(def.Body)
		}
		req, err := http.NewRequestWithContext(ctx, method, def.HTTP, body)
		if err != nil {
			return structs.HealthCritical, err.Error()
		}
		req.Header.Set("User-Agent", UserAgent)
		req.Header.Set("Accept", "text/plain, text/*, */*")
		for k, vs := range def.Header {
			req.Header.Del(k)
			for _, v := range vs {
				req.Header.Add(k, v)
			}
			if strings.EqualFold(k, "Host") && len(vs) > 0 {
				req.Host = vs[0]
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("HTTP %s %s: %v", method, def.HTTP, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutput))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		out := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, def.HTTP, resp.Status, b)
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			return structs.HealthPassing, out
		case resp.StatusCode == http.StatusTooManyRequests:
			return structs.HealthWarning, out
		}
		return structs.HealthCritical, out
	}, nil
}

// TCPProbe connects to def.TCP: passing when the connection opens.
func TCPProbe(def *structs.CheckDefinition) (Probe, error) {
	if _, _, err := net.SplitHostPort(def.TCP); err != nil {
		return nil, fmt.Errorf("tcp check %q: want host:port: %w", def.TCP, err)
	}
	return func(ctx context.Context) (string, string) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", def.TCP)
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("TCP connect %s: %v", def.TCP, err)
		}
		if def.TCPUseTLS {
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: def.TLSSkipVerify, ServerName: def.TLSServerName})
			err := tc.HandshakeContext(ctx)
			tc.Close()
			if err != nil {
				return structs.HealthCritical, fmt.Sprintf("TCP+TLS connect %s: %v", def.TCP, err)
			}
			return structs.HealthPassing, fmt.Sprintf("TCP+TLS connect %s: Success", def.TCP)
		}
		c.Close()
		return structs.HealthPassing, fmt.Sprintf("TCP connect %s: Success", def.TCP)
	}, nil
}
