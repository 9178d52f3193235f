// Package filter answers Consul's ?filter= expressions (the go-bexpr
// language Consul uses) over the lists of the catalog, health and agent
// endpoints. Each kind of item is matched through a view whose field names
// are the selectors Consul documents for that endpoint, so an expression
// written for Consul selects the same items here, and a selector Consul
// does not know is refused by name.
package filter

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-bexpr"

	"github.com/beacon-sd/beacon/core/structs"
)

// Filter keeps the items of type T that an expression matches. A nil
// Filter, made from an empty expression, keeps everything.
type Filter[T any] struct {
	// matcher returns a function that matches items one after another,
	// seeing each through one view it fills again for every item.
	matcher func() func(T) (bool, error)
}

// maxParseSteps bounds the work of parsing one expression. bexpr's parser
// backtracks, so its work grows exponentially with nested parentheses:
// unbounded, "(((((A00" took 20 s of CPU to be found malformed, and each
// further level multiplies that by about ten. A million steps parse five
// levels of valid nesting, or a thousand conditions side by side, in a
// fifth of a second; an expression over the bound is refused as the
// caller's mistake.
const maxParseSteps = 1_000_000

// compile checks expr against the selectors of the view type V: an
// expression that does not parse, names a selector V lacks, or applies an
// operator or a value its selector does not take is refused with bexpr's
// words for it.
func compile[T, V any](expr string, fill func(*V, T)) (*Filter[T], error) {
	if expr == "" {
		return nil, nil
	}
	if _, err := bexpr.Parse("", []byte(expr), bexpr.MaxExpressions(maxParseSteps)); err != nil {
		if strings.Contains(err.Error(), "max number of expresssions parsed") { // sic
			return nil, structs.BadInput("Failed to create boolean expression evaluator: the expression is too complex to parse "+
				"(over %d parser steps): nest fewer parentheses or split it", maxParseSteps)
		}
		return nil, structs.BadInput("Failed to create boolean expression evaluator: %v", err)
	}
	eval, err := bexpr.CreateEvaluatorForType(expr, nil, (*V)(nil))
	if err != nil {
		// The caller's mistake, answered 400 wherever it is found.
		return nil, structs.BadInput("Failed to create boolean expression evaluator: %v", err)
	}
	return &Filter[T]{matcher: func() func(T) (bool, error) {
		view := new(V)
		return func(t T) (bool, error) {
			fill(view, t)
			ok, err := eval.Evaluate(view)
			if err != nil {
				return false, fmt.Errorf("filter evaluation failed: %v", err)
			}
			return ok, nil
		}
	}}, nil
}

// Match reports whether the expression matches t.
func (f *Filter[T]) Match(t T) (bool, error) {
	if f == nil {
		return true, nil
	}
	return f.matcher()(t)
}

// Slice returns the items the expression matches, in their order. It
// never changes items: when some are left out the result is a new slice.
func (f *Filter[T]) Slice(items []T) ([]T, error) {
	if f == nil {
		return items, nil
	}
	out := make([]T, 0, len(items))
	match := f.matcher()
	for _, it := range items {
		ok, err := match(it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}
