package dns

import (
	"encoding/hex"
	"net"
	"strings"
)

// kind is what a name inside the domain asks for.
type kind int

const (
	kindInvalid kind = iota // names nothing: NXDOMAIN
	kindApex                // the domain itself
	kindNode                // <node>.node[.<dc>]
	kindService             // [<tag>.]<svc>.service[.<dc>], _<svc>._<tag>[.service][.<dc>]
	kindAddr                // <hex-ip>.addr[.<dc>]
	kindQuery               // <query ID or name>.query[.<dc>], _<name>._<proto>.query[.<dc>]
)

// question is a name inside the domain taken apart.
type question struct {
	kind    kind
	dc      string // "" when the name has none
	node    string
	service string
	tag     string
	ip      net.IP
	query   string // a prepared query's ID or name
}

// maxLabels bounds the labels we look at; a longer name is invalid (a
// DNS name has at most 127 labels, and none of ours needs more than a few
// beyond a dotted tag or node name).
const maxLabels = 128

// parseName takes apart rest, the lower-case question name without the
// domain and its dot ("rails.web.service.dc1"). srv is true for SRV
// questions, where the ".service" of an RFC 2782 name may be left out.
//
// The last label is the kind ("node", "service", "addr"), or else a
// datacenter followed by the kind; datacenter names have no dots, so only
// one label may stand between the kind and the domain.
func parseName(rest string, srv bool) question {
	if rest == "" {
		return question{kind: kindApex}
	}
	var buf [8]string
	labels := buf[:0]
	for rest != "" {
		i := strings.LastIndexByte(rest, '.')
		labels = append(labels, rest[i+1:]) // reversed: labels[0] is the last
		if len(labels) > maxLabels {
			return question{}
		}
		if i < 0 {
			break
		}
		rest = rest[:i]
	}
	var q question
	for pass := 0; pass < 2; pass++ {
		if len(labels) == 0 {
			return question{}
		}
		last, parts := labels[0], labels[1:]
		if srv && strings.HasPrefix(last, "_") {
			last, parts = "service", labels
		}
		switch last {
		case "service":
			return parseService(q, parts)
		case "node":
			if len(parts) == 0 {
				return question{}
			}
			q.kind, q.node = kindNode, joinReversed(parts)
			return q
		case "query":
			return parseQuery(q, parts)
		case "addr":
			if len(parts) != 1 {
				return question{}
			}
			if q.ip = decodeAddr(parts[0]); q.ip == nil {
				return question{}
			}
			q.kind = kindAddr
			return q
		}
		if pass == 1 || last == "" {
			return question{}
		}
		q.dc, labels = last, parts
	}
	return question{}
}

// parseService reads the labels before ".service" (reversed).
func parseService(q question, parts []string) question {
	switch {
	case len(parts) == 2 && strings.HasPrefix(parts[0], "_") && strings.HasPrefix(parts[1], "_"):
		// RFC 2782: _<svc>._<tag>; _tcp means no tag.
		q.service, q.tag = parts[1][1:], parts[0][1:]
		if q.tag == "tcp" {
			q.tag = ""
		}
	case len(parts) == 1:
		// _<svc>.service is the RFC 2782 form without a protocol.
		q.service = strings.TrimPrefix(parts[0], "_")
	case len(parts) > 1:
		// A tag may have dots: every label before the service is the tag.
		q.service, q.tag = parts[0], joinReversed(parts[1:])
	}
	if q.service == "" {
		return question{}
	}
	q.kind = kindService
	return q
}

// parseQuery reads the labels before ".query" (reversed): a query name
// may have dots, and _<name>._<proto> is the RFC 2782 form, the protocol
// label aside.
func parseQuery(q question, parts []string) question {
	switch {
	case len(parts) == 0:
		return question{}
	case len(parts) >= 2 && strings.HasPrefix(parts[0], "_") && strings.HasPrefix(parts[len(parts)-1], "_"):
		q.query = strings.TrimPrefix(joinReversed(parts[1:]), "_")
	default:
		q.query = joinReversed(parts)
	}
	if q.query == "" {
		return question{}
	}
	q.kind = kindQuery
	return q
}

// joinReversed joins labels kept last-first back into a dotted name.
func joinReversed(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// decodeAddr reads the label of an .addr. name: 8 hex digits for IPv4, 32
// for IPv6.
func decodeAddr(label string) net.IP {
	if len(label) != 8 && len(label) != 32 {
		return nil
	}
	b, err := hex.DecodeString(label)
	if err != nil {
		return nil
	}
	return net.IP(b)
}

// encodeAddr is the label of ip's .addr. name.
func encodeAddr(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return hex.EncodeToString(v4)
	}
	return hex.EncodeToString(ip.To16())
}

// parseReverse reads the address of a lower-case in-addr.arpa. or
// ip6.arpa. name; nil when it is not a whole address.
func parseReverse(name string) net.IP {
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa."):
		labels := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa."), ".")
		if len(labels) != 4 {
			return nil
		}
		var b strings.Builder
		for i := 3; i >= 0; i-- {
			b.WriteString(labels[i])
			if i > 0 {
				b.WriteByte('.')
			}
		}
		ip := net.ParseIP(b.String())
		if ip == nil || ip.To4() == nil {
			return nil
		}
		return ip.To4()
	case strings.HasSuffix(name, ".ip6.arpa."):
		labels := strings.Split(strings.TrimSuffix(name, ".ip6.arpa."), ".")
		if len(labels) != 32 {
			return nil
		}
		nibbles := make([]byte, 32)
		for i, l := range labels {
			if len(l) != 1 {
				return nil
			}
			nibbles[31-i] = l[0]
		}
		b, err := hex.DecodeString(string(nibbles))
		if err != nil {
			return nil
		}
		return net.IP(b)
	}
	return nil
}

// lowerASCII lower-cases s without allocating when it has no upper case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
