package rpc

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
)

// Endpoint serves one method from its JSON arguments.
type Endpoint func(ctx context.Context, args []byte) ([]byte, error)

// Mux dispatches calls by method name.
func Mux(endpoints map[string]Endpoint) Handler {
	return func(ctx context.Context, method string, args []byte) ([]byte, error) {
		e, ok := endpoints[method]
		if !ok {
			return nil, fmt.Errorf("unknown rpc method %q", method)
		}
		return e(ctx, args)
	}
}

// Read adapts a method that fills a reply.
func Read[A, R any](fn func(context.Context, *A, *R) error) Endpoint {
	return func(ctx context.Context, raw []byte) ([]byte, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
		var reply R
		if err := fn(ctx, &args, &reply); err != nil {
			return nil, err
		}
		return json.Marshal(&reply)
	}
}

// Write adapts a method that returns a result.
func Write[A, R any](fn func(context.Context, *A) (R, error)) Endpoint {
	return func(ctx context.Context, raw []byte) ([]byte, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
		out, err := fn(ctx, &args)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// Do adapts a method that only succeeds or fails.
func Do[A any](fn func(context.Context, *A) error) Endpoint {
	return func(ctx context.Context, raw []byte) ([]byte, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
		return nil, fn(ctx, &args)
	}
}

// Get adapts a method without arguments.
func Get[R any](fn func(context.Context) (R, error)) Endpoint {
	return func(ctx context.Context, _ []byte) ([]byte, error) {
		out, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

func decodeArgs(raw []byte, v interface{}) error {
	if len(raw) == 0 {
		return nil
	}
	if u, ok := v.(encoding.BinaryUnmarshaler); ok && raw[0] != '{' {
		// Types with a binary form travel in it (see Pool.Call); an agent
		// that sent JSON is still understood.
		if err := u.UnmarshalBinary(raw); err != nil {
			return fmt.Errorf("decode rpc arguments: %w", err)
		}
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode rpc arguments: %w", err)
	}
	return nil
}
