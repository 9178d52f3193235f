package dns

import "testing"

func TestRecursorAddr(t *testing.T) {
	for in, want := range map[string]string{
		"8.8.8.8":       "8.8.8.8:53",
		"8.8.8.8:5353":  "8.8.8.8:5353",
		"::1":           "[::1]:53",
		"[::1]":         "[::1]:53",
		"[::1]:54":      "[::1]:54",
		" 1.1.1.1 ":     "1.1.1.1:53",
		"resolver.lan":  "resolver.lan:53",
		"localhost:853": "localhost:853",
	} {
		got, err := recursorAddr(in)
		if err != nil || got != want {
			t.Errorf("recursorAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ":53", "1.1.1.1:"} {
		if _, err := recursorAddr(bad); err == nil {
			t.Errorf("recursorAddr(%q) accepted", bad)
		}
	}
}
