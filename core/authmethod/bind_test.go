package authmethod

import (
	"strings"
	"testing"
)

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"value.name": "Web", "value.team": "pay"}
	for in, want := range map[string]string{
		"plain":                         "plain",
		"${value.name}":                 "web",
		"${ value.team }-${value.name}": "pay-web",
		"$${value.name}":                "${value.name}",
	} {
		if got, err := Interpolate(in, vars); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"${value.nope}": "unknown variable accessed: value.nope", "${value.name": "unterminated"} {
		if _, err := Interpolate(in, vars); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestClaimPointer(t *testing.T) {
	all := map[string]interface{}{"a": map[string]interface{}{"b/c": []interface{}{"x", "y"}}, "n": 3.0}
	if v, ok := claim(all, "/a/b~1c/1"); !ok || v != "y" {
		t.Fatalf("pointer: %v %v", v, ok)
	}
	if _, ok := claim(all, "/a/none"); ok {
		t.Fatal("a missing claim was found")
	}
	if v, ok := claim(all, "n"); !ok || v != 3.0 {
		t.Fatalf("plain: %v %v", v, ok)
	}
}

func TestSelector(t *testing.T) {
	id := &Identity{Values: map[string]string{"team": "pay"}, Lists: map[string][]string{"groups": {"ops"}}}
	for sel, want := range map[string]bool{"": true, `value.team == "pay"`: true, `"ops" in list.groups`: true, `value.team == "x"`: false} {
		if got := Matches(sel, id); got != want {
			t.Errorf("%q: %v, want %v", sel, got, want)
		}
	}
	if err := CheckSelector(`nope.x == "y"`, id); err == nil {
		t.Error("a selector of no field passed")
	}
}
