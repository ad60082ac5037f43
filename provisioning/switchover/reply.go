package switchover

import (
	"fmt"
	"strconv"
)

// Replies come as go-redis' Do gives them (string, int64, []any, map[any]any
// under RESP3, nil) or as redis-cli --json decodes (string, float64,
// []any, map[string]any): these helpers read both.

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("reply %T, want a string", v)
}

func asList(v any) ([]any, error) {
	if l, ok := v.([]any); ok {
		return l, nil
	}
	return nil, fmt.Errorf("reply %T, want an array", v)
}

// asPairs reads a map reply (RESP3) or a flat key, value, ... array (RESP2).
func asPairs(v any) (map[string]string, error) {
	out := map[string]string{}
	put := func(k, val any) error {
		ks, err := asString(k)
		if err != nil {
			return err
		}
		vs, err := asString(val)
		if err != nil {
			return fmt.Errorf("%s: %w", ks, err)
		}
		out[ks] = vs
		return nil
	}
	switch x := v.(type) {
	case map[any]any:
		for k, val := range x {
			if err := put(k, val); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, val := range x {
			if err := put(k, val); err != nil {
				return nil, err
			}
		}
	case []any:
		if len(x)%2 != 0 {
			return nil, fmt.Errorf("odd array of %d for pairs", len(x))
		}
		for i := 0; i < len(x); i += 2 {
			if err := put(x[i], x[i+1]); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("reply %T, want pairs", v)
	}
	return out, nil
}
