package authmethod

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-bexpr"
)

// CheckSelector says what is wrong with a binding rule's selector for
// identities like blank, nil if nothing. The empty selector matches every
// login.
func CheckSelector(selector string, blank *Identity) error {
	if selector == "" {
		return nil
	}
	_, err := bexpr.CreateEvaluatorForType(selector, nil, blank)
	return err
}

// Matches reports whether a binding rule's selector matches an identity.
// A selector that cannot be evaluated matches nothing.
func Matches(selector string, id *Identity) bool {
	if selector == "" {
		return true
	}
	eval, err := bexpr.CreateEvaluatorForType(selector, nil, id)
	if err != nil {
		return false
	}
	ok, err := eval.Evaluate(id)
	return err == nil && ok
}

// Interpolate replaces each ${name} in s by the lower-cased value of
// variable name; $${ stands for a literal ${. A name that is not a
// variable is an error.
func Interpolate(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		name := strings.TrimSpace(s[i+2 : i+end])
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("unknown variable accessed: %s", name)
		}
		b.WriteString(s[:i])
		b.WriteString(strings.ToLower(v))
		s = s[i+end+1:]
	}
}
