package template

import (
	"fmt"
	"sort"
)

// Scratch is the per-execution scratchpad of `scratch`: values a template
// computes once and reads later in the same render.
type Scratch struct {
	values map[string]any
}

func newScratch() *Scratch { return &Scratch{values: map[string]any{}} }

// Key reports whether k holds a value (nil included).
func (s *Scratch) Key(k string) bool {
	_, ok := s.values[k]
	return ok
}

// Get returns the value at k, nil when there is none.
func (s *Scratch) Get(k string) any { return s.values[k] }

// Set stores v at k and renders as nothing.
func (s *Scratch) Set(k string, v any) string {
	s.values[k] = v
	return ""
}

// SetX stores v at k unless k holds a value.
func (s *Scratch) SetX(k string, v any) string {
	if !s.Key(k) {
		s.values[k] = v
	}
	return ""
}

// MapSet stores v under mk in the map at k, creating the map.
func (s *Scratch) MapSet(k, mk string, v any) (string, error) {
	m, err := s.mapAt(k)
	if err != nil {
		return "", err
	}
	m[mk] = v
	return "", nil
}

// MapSetX is MapSet that keeps an existing value.
func (s *Scratch) MapSetX(k, mk string, v any) (string, error) {
	m, err := s.mapAt(k)
	if err != nil {
		return "", err
	}
	if _, ok := m[mk]; !ok {
		m[mk] = v
	}
	return "", nil
}

// MapValues returns the values of the map at k, sorted by their keys.
func (s *Scratch) MapValues(k string) ([]any, error) {
	if !s.Key(k) {
		return nil, nil
	}
	m, err := s.mapAt(k)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for mk := range m {
		keys = append(keys, mk)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, mk := range keys {
		out[i] = m[mk]
	}
	return out, nil
}

func (s *Scratch) mapAt(k string) (map[string]any, error) {
	v, ok := s.values[k]
	if !ok {
		m := map[string]any{}
		s.values[k] = m
		return m, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("scratch: %q holds a %T, not a map", k, v)
	}
	return m, nil
}
