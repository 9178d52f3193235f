package http

import (
	"net/url"
	"strings"
	"testing"
)

func TestExtractTokenOrder(t *testing.T) {
	hdr := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	q := url.Values{"token": {"q"}}
	for _, c := range []struct {
		h    map[string]string
		want string
	}{
		{map[string]string{"X-Consul-Token": "x", "Authorization": "Bearer b"}, "x"},
		{map[string]string{"Authorization": "bearer  b "}, "b"},
		{map[string]string{"Authorization": "Basic abc"}, "q"},
		{map[string]string{"Authorization": "Bearer "}, "q"},
		{map[string]string{"X-Consul-Token": "  "}, "q"},
	} {
		if got := extractToken(hdr(c.h), q); got != c.want {
			t.Errorf("%v: got %q, want %q", c.h, got, c.want)
		}
	}
}

func TestLogPathHidesLegacySecrets(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/acl/info/6a1253d2-1785-24fd-91c2-f8e78c745511":    "/v1/acl/info/<hidden>",
		"/v1/acl/destroy/6a1253d2-1785-24fd-91c2-f8e78c745511": "/v1/acl/destroy/<hidden>",
		"/v1/acl/clone/x/y":      "/v1/acl/clone/<hidden>",
		"/v1/acl/info/":          "/v1/acl/info/",
		"/v1/acl/token/6a1253d2": "/v1/acl/token/6a1253d2",
		"/v1/kv/app/x":           "/v1/kv/app/x",
	} {
		if got := logPath(in); got != want {
			t.Errorf("logPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExtractToken(f *testing.F) {
	for _, s := range [][3]string{
		{"secret", "", ""}, {"", "Bearer abc", ""}, {"", "bearer", "token=x"},
		{"", "BEARER \t y", "token=%zz"}, {"", "Bear", "token=a&token=b"}, {"\x00", "Bearer \x00", "token="},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, xToken, auth, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		h := func(k string) string {
			switch k {
			case "X-Consul-Token":
				return xToken
			case "Authorization":
				return auth
			}
			return ""
		}
		got := extractToken(h, q)
		if strings.TrimSpace(xToken) != "" && got != strings.TrimSpace(xToken) {
			t.Fatalf("X-Consul-Token %q ignored: %q", xToken, got)
		}
		_ = cookie(auth, "beacon-ui-token")
	})
}
