package http

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/beacon-sd/beacon/core/structs"
)

// appender is a response that encodes itself without reflection; the KV
// read path, the hottest of the API, uses it.
type appender interface {
	appendJSON(b []byte) []byte
}

// dirEntries encodes KV entries exactly as encoding/json would.
type dirEntries []*structs.DirEntry

func (d dirEntries) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, e := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"LockIndex":`...)
		b = strconv.AppendUint(b, e.LockIndex, 10)
		b = append(b, `,"Key":`...)
		b = appendString(b, e.Key)
		b = append(b, `,"Flags":`...)
		b = strconv.AppendUint(b, e.Flags, 10)
		b = append(b, `,"Value":`...)
		if e.Value == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			n := base64.StdEncoding.EncodedLen(len(e.Value))
			b = append(b, make([]byte, n)...)
			base64.StdEncoding.Encode(b[len(b)-n:], e.Value)
			b = append(b, '"')
		}
		if e.Session != "" {
			b = append(b, `,"Session":`...)
			b = appendString(b, e.Session)
		}
		b = append(b, `,"CreateIndex":`...)
		b = strconv.AppendUint(b, e.CreateIndex, 10)
		b = append(b, `,"ModifyIndex":`...)
		b = strconv.AppendUint(b, e.ModifyIndex, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string exactly as encoding/json does:
// control characters and <, >, & as \u00XX, invalid UTF-8 as U+FFFD, U+2028
// and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonNull is a response body of null, as Consul answers a read of a
// single thing that does not exist.
type jsonNull struct{}

func (jsonNull) appendJSON(b []byte) []byte   { return append(b, "null"...) }
func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }
