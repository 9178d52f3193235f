package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/http2"

	"github.com/beacon-sd/beacon/core/structs"
)

// gRPC health protocol (grpc.health.v1): a unary Check call whose response
// status 1 means SERVING.
var grpcStatusNames = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// GRPCProbe calls the standard gRPC health service at def.GRPC
// ("host:port" or "host:port/service"), in cleartext HTTP/2 or, with
// grpc_use_tls, over TLS. SERVING is passing, anything else critical.
func GRPCProbe(def *structs.CheckDefinition) (Probe, error) {
	target, service, _ := strings.Cut(def.GRPC, "/")
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("grpc check %q: want host:port[/service]: %w", def.GRPC, err)
	}
	scheme := "http"
	tr := &http2.Transport{}
	if def.GRPCUseTLS {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: def.TLSSkipVerify, ServerName: def.TLSServerName}
	} else {
		tr.AllowHTTP = true
		tr.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	url := scheme + "://" + target + "/grpc.health.v1.Health/Check"
	msg := healthRequest(service)
	return func(ctx context.Context) (string, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(msg))
		if err != nil {
			return structs.HealthCritical, err.Error()
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("gRPC check %s: %v", def.GRPC, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("gRPC check %s: %v", def.GRPC, err)
		}
		if code := grpcStatus(resp); code != "0" {
			return structs.HealthCritical, fmt.Sprintf("gRPC check %s: rpc error: code = %s desc = %s",
				def.GRPC, code, resp.Trailer.Get("Grpc-Message")+resp.Header.Get("Grpc-Message"))
		}
		status, err := healthStatus(body)
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("gRPC check %s: %v", def.GRPC, err)
		}
		if status != 1 {
			return structs.HealthCritical, fmt.Sprintf("gRPC check %s: %s", def.GRPC, grpcStatusNames[status])
		}
		return structs.HealthPassing, fmt.Sprintf("gRPC check %s: success", def.GRPC)
	}, nil
}

// grpcStatus is the call's grpc-status, from the trailers or, for a
// trailers-only response, the headers.
func grpcStatus(resp *http.Response) string {
	if s := resp.Trailer.Get("Grpc-Status"); s != "" {
		return s
	}
	if s := resp.Header.Get("Grpc-Status"); s != "" {
		return s
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return "missing grpc-status"
}

// healthRequest frames a HealthCheckRequest{service}.
func healthRequest(service string) []byte {
	var pb []byte
	if service != "" {
		pb = append(pb, 0x0a) // field 1, length-delimited
		pb = binary.AppendUvarint(pb, uint64(len(service)))
		pb = append(pb, service...)
	}
	msg := make([]byte, 5, 5+len(pb))
	binary.BigEndian.PutUint32(msg[1:], uint32(len(pb)))
	return append(msg, pb...)
}

// healthStatus reads the status of a framed HealthCheckResponse.
func healthStatus(b []byte) (uint64, error) {
	if len(b) < 5 {
		return 0, fmt.Errorf("short gRPC response (%d bytes)", len(b))
	}
	if b[0] != 0 {
		return 0, fmt.Errorf("compressed gRPC responses are not supported")
	}
	n := binary.BigEndian.Uint32(b[1:5])
	pb := b[5:]
	if uint32(len(pb)) < n {
		return 0, fmt.Errorf("truncated gRPC response")
	}
	pb = pb[:n]
	var status uint64
	for len(pb) > 0 {
		key, k := binary.Uvarint(pb)
		if k <= 0 {
			return 0, fmt.Errorf("malformed gRPC response")
		}
		pb = pb[k:]
		switch key & 7 {
		case 0: // varint
			v, k := binary.Uvarint(pb)
			if k <= 0 {
				return 0, fmt.Errorf("malformed gRPC response")
			}
			pb = pb[k:]
			if key>>3 == 1 {
				status = v
			}
		case 2: // length-delimited: skip
			l, k := binary.Uvarint(pb)
			if k <= 0 || uint64(len(pb)-k) < l {
				return 0, fmt.Errorf("malformed gRPC response")
			}
			pb = pb[k+int(l):]
		default:
			return 0, fmt.Errorf("unexpected field type in gRPC response")
		}
	}
	return status, nil
}
