package httpserver

import "strings"

// The checks here keep the server's reading of a request the same as
// net/http's (FuzzDiffNetHTTP compares them), or refuse the request: where
// two HTTP parsers disagree on where a request ends, a proxy in front can
// be made to pass a request it never saw (request smuggling).

// hasCTL reports a control character: allowed neither in a request target
// nor, but for HTAB, in a field value.
func hasCTL(s string, htab bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && !(htab && c == '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// checkHead refuses heads whose framing or target is ambiguous.
func checkHead(r *Request) error {
	hosts := 0
	for _, f := range r.Header {
		switch {
		case equalFold(f.Name, "Host"):
			if hosts++; hosts > 1 {
				return badRequest("more than one Host field")
			}
			if r.Host == "" {
				r.Host = f.Value
			}
		case equalFold(f.Name, "Transfer-Encoding") && r.Proto == "HTTP/1.0":
			// HTTP/1.0 has no chunked coding; net/http reads by the
			// Content-Length instead, other servers by the chunks.
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
	}
	return nil
}

// chunkSize reads a chunk-size line: hex digits (16 at most), optional
// spaces or tabs, optional extensions after ';', which are ignored.
func chunkSize(line string) (uint64, error) {
	size, _, _ := strings.Cut(strings.TrimRight(line, " \t"), ";")
	if size == "" || len(size) > 16 {
		return 0, badRequest("invalid chunk size %q", clip(line))
	}
	var n uint64
	for i := 0; i < len(size); i++ {
		c := size[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, badRequest("invalid chunk size %q", clip(line))
		}
		n = n<<4 | uint64(c)
	}
	return n, nil
}

// chunkOverhead bounds what a chunked body carries besides data (size
// lines, extensions): 16 bytes a chunk plus twice its data are free, more
// adds up to at most 16 KiB, as in net/http.
type chunkOverhead int

func (o *chunkOverhead) add(lineLen, size int) error {
	*o = max(*o+chunkOverhead(lineLen+2-16-2*size), 0)
	if *o > 16<<10 {
		return badRequest("chunked body is mostly chunk extensions")
	}
	return nil
}

// maxTrailerBytes bounds a chunked body's trailer section (net/http's
// bound too).
const maxTrailerBytes = 4096

// trailerSection checks a chunked body's trailer fields, one line at a
// time; they are then dropped.
type trailerSection int

// add takes one line; done is the end of the section.
func (t *trailerSection) add(line string) (done bool, err error) {
	if *t += trailerSection(len(line) + 2); *t > maxTrailerBytes {
		return false, badRequest("trailer section larger than %d bytes", maxTrailerBytes)
	}
	if line == "" {
		return true, nil
	}
	if line[0] == ' ' || line[0] == '\t' {
		return false, badRequest("obsolete line folding in the trailer section")
	}
	_, err = parseField(line)
	return false, err
}

// checkTrailerNames refuses a Trailer field that announces framing fields
// in the trailer section.
func checkTrailerNames(h Header) error {
	for _, f := range h {
		if !equalFold(f.Name, "Trailer") {
			continue
		}
		for list := f.Value; list != ""; {
			var name string
			name, list = nextToken(list)
			if equalFold(name, "Content-Length") || equalFold(name, "Transfer-Encoding") || equalFold(name, "Trailer") {
				return badRequest("Trailer field announces %s", name)
			}
		}
	}
	return nil
}

// hasToken reports whether a comma-separated list in any field of that
// name holds the token, without regard to case.
func hasToken(h Header, name, token string) bool {
	for _, f := range h {
		if !equalFold(f.Name, name) {
			continue
		}
		for list := f.Value; list != ""; {
			var t string
			if t, list = nextToken(list); equalFold(t, token) {
				return true
			}
		}
	}
	return false
}

// nextToken splits the first element off a comma-separated list.
func nextToken(list string) (token, rest string) {
	token, rest, _ = strings.Cut(list, ",")
	return strings.Trim(token, " \t"), rest
}
