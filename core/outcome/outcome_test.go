package outcome

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestOf(t *testing.T) {
	dial := &url.Error{Op: "Put", URL: "http://127.0.0.1:1/v1/kv/a", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Put", URL: "http://127.0.0.1:8500/v1/kv/a", Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}
	for _, tc := range []struct {
		name string
		err  error
		want Outcome
	}{
		{"no error", nil, Applied},
		{"leadership lost", api.StatusError{Code: 500, Body: "leadership lost while committing log"}, Unknown},
		{"leadership lost through a client agent", api.StatusError{Code: 500, Body: "rpc error making call: leadership lost while committing log"}, Unknown},
		{"no answer after sending", api.StatusError{Code: 500, Body: "rpc KVApply to 127.0.0.1:8300: connection closed; the write may or may not have been applied"}, Unknown},
		{"no leader after an unanswered attempt", api.StatusError{Code: 500, Body: "no leader answered after an earlier attempt went unanswered; the write may or may not have been applied"}, Unknown},
		{"no leader", api.StatusError{Code: 500, Body: "No cluster leader"}, NotApplied},
		{"no servers", api.StatusError{Code: 500, Body: "No known Consul servers"}, NotApplied},
		{"unknown datacenter", api.StatusError{Code: 500, Body: "No path to datacenter"}, NotApplied},
		{"any other 500", api.StatusError{Code: 500, Body: "internal error"}, Unknown},
		{"permission denied", api.StatusError{Code: 403, Body: "Permission denied"}, NotApplied},
		{"bad input", api.StatusError{Code: 400, Body: "missing key name"}, NotApplied},
		{"too large", api.StatusError{Code: 413, Body: "value is too large"}, NotApplied},
		{"too many requests", api.StatusError{Code: 429, Body: "too many"}, NotApplied},
		{"refused for load", api.StatusError{Code: 503, Body: "busy"}, NotApplied},
		{"wrapped", fmt.Errorf("put: %w", api.StatusError{Code: 500, Body: "leadership lost while committing log"}), Unknown},
		{"formatted text", errors.New("Unexpected response code: 500 (No cluster leader)"), NotApplied},
		{"never connected", dial, NotApplied},
		{"never connected, as text", errors.New(dial.Error()), NotApplied},
		{"connection broke", reset, Unknown},
		{"timeout", errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), Unknown},
	} {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("%s: Of(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
