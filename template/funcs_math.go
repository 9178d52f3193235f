package template

import (
	"errors"
	"fmt"
	"reflect"
)

// mathFuncs take their operands in consul-template's order, the piped
// value last: `{{ subtract 2 5 }}` and `{{ 5 | subtract 2 }}` are 3.
func mathFuncs() map[string]any {
	return map[string]any{
		"add":      arith("add", func(a, b int64) (int64, error) { return a + b, nil }, func(a, b uint64) (uint64, error) { return a + b, nil }, func(a, b float64) float64 { return a + b }),
		"subtract": arith("subtract", func(a, b int64) (int64, error) { return a - b, nil }, func(a, b uint64) (uint64, error) { return a - b, nil }, func(a, b float64) float64 { return a - b }),
		"multiply": arith("multiply", func(a, b int64) (int64, error) { return a * b, nil }, func(a, b uint64) (uint64, error) { return a * b, nil }, func(a, b float64) float64 { return a * b }),
		"divide":   arith("divide", intDiv, uintDiv, func(a, b float64) float64 { return a / b }),
		"modulo":   arith("modulo", intMod, uintMod, nil),
		"minimum":  pick("minimum", func(less bool) bool { return less }),
		"maximum":  pick("maximum", func(less bool) bool { return !less }),
	}
}

var errDivZero = errors.New("division by zero")

func intDiv(a, b int64) (int64, error) {
	if b == 0 {
		return 0, errDivZero
	}
	return a / b, nil
}

func uintDiv(a, b uint64) (uint64, error) {
	if b == 0 {
		return 0, errDivZero
	}
	return a / b, nil
}

func intMod(a, b int64) (int64, error) {
	if b == 0 {
		return 0, errDivZero
	}
	return a % b, nil
}

func uintMod(a, b uint64) (uint64, error) {
	if b == 0 {
		return 0, errDivZero
	}
	return a % b, nil
}

// number is an operand: which family it is and its value in that family.
type number struct {
	kind byte // 'i', 'u' or 'f'
	i    int64
	u    uint64
	f    float64
}

func toNumber(fn string, x any) (number, error) {
	v := reflect.ValueOf(x)
	switch {
	case isInt(v):
		return number{kind: 'i', i: v.Int()}, nil
	case isUint(v):
		return number{kind: 'u', u: v.Uint()}, nil
	case isFloat(v):
		return number{kind: 'f', f: v.Float()}, nil
	}
	return number{}, fmt.Errorf("%s: %v (%T) is not a number", fn, x, x)
}

func (n number) float() float64 {
	switch n.kind {
	case 'i':
		return float64(n.i)
	case 'u':
		return float64(n.u)
	}
	return n.f
}

func (n number) int() int64 {
	if n.kind == 'u' {
		return int64(n.u)
	}
	return n.i
}

func (n number) value() any {
	switch n.kind {
	case 'i':
		return n.i
	case 'u':
		return n.u
	}
	return n.f
}

// arith builds a two-operand function called as f(b, a) that computes
// a op b. Any float operand makes the result a float; otherwise the result
// has a's family (an unsigned a with a signed b gives a signed result).
func arith(name string, ints func(a, b int64) (int64, error), uints func(a, b uint64) (uint64, error), floats func(a, b float64) float64) func(b, a any) (any, error) {
	return func(bx, ax any) (any, error) {
		a, err := toNumber(name, ax)
		if err != nil {
			return nil, err
		}
		b, err := toNumber(name, bx)
		if err != nil {
			return nil, err
		}
		var r any
		switch {
		case a.kind == 'f' || b.kind == 'f':
			if floats == nil {
				return nil, fmt.Errorf("%s: needs integers, got %v and %v", name, ax, bx)
			}
			return floats(a.float(), b.float()), nil
		case a.kind == 'u' && b.kind == 'u':
			r, err = uints(a.u, b.u)
		default:
			r, err = ints(a.int(), b.int())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r, nil
	}
}

// pick builds minimum and maximum: called as f(b, a), it returns a when
// keepA(a < b) holds, else b, each in its own type.
func pick(name string, keepA func(less bool) bool) func(b, a any) (any, error) {
	return func(bx, ax any) (any, error) {
		a, err := toNumber(name, ax)
		if err != nil {
			return nil, err
		}
		b, err := toNumber(name, bx)
		if err != nil {
			return nil, err
		}
		var less bool
		switch {
		case a.kind == 'u' && b.kind == 'u':
			less = a.u < b.u
		case a.kind != 'f' && b.kind != 'f':
			less = a.int() < b.int()
		default:
			less = a.float() < b.float()
		}
		if keepA(less) {
			return a.value(), nil
		}
		return b.value(), nil
	}
}

func isInt(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func isUint(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func isFloat(v reflect.Value) bool {
	return v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64
}
