package tune

import (
	"fmt"
	"sort"
)

// SpaceError names the param-space key (dotted path) that could not be
// converted.
type SpaceError struct {
	Key string
	Err error
}

// Error implements error.
func (e *SpaceError) Error() string { return fmt.Sprintf("param_space.%s: %v", e.Key, e.Err) }

// Unwrap returns the cause.
func (e *SpaceError) Unwrap() error { return e.Err }

// SpaceFromMap converts a param space written as data (a job file's
// [tune.param_space] table, or JSON) into domains, with Ray's spec syntax:
// a table with exactly one of these keys is a domain, anything else is a
// constant (nested tables stay nested):
//
//	lr = { grid_search = [1e-4, 1e-3] }     fcnet_hiddens = { grid_search = [[32], [64, 64]] }
//	x  = { choice = ["a", "b"] }            gamma = { uniform = [0.9, 0.99] }
//	q  = { quniform = [0, 10, 2] }          wd = { loguniform = [1e-5, 1e-2] }
//	n  = { randint = [1, 10] }              z = { randn = [0, 1] }
func SpaceFromMap(m map[string]any) (map[string]any, error) {
	return spaceFromMap(m, "")
}

func spaceFromMap(m map[string]any, prefix string) (map[string]any, error) {
	out := make(map[string]any, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		v, err := valueFromData(m[k], path)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

var domainKeys = map[string]bool{"grid_search": true, "choice": true, "uniform": true, "quniform": true,
	"loguniform": true, "randint": true, "randn": true}

func valueFromData(v any, path string) (any, error) {
	m, ok := asMap(v)
	if !ok {
		return normaliseList(v), nil
	}
	if len(m) == 1 {
		for kind, arg := range m {
			if domainKeys[kind] {
				d, err := domainFromData(kind, arg)
				if err != nil {
					return nil, &SpaceError{Key: path + "." + kind, Err: err}
				}
				return d, nil
			}
		}
	}
	for k := range m {
		if domainKeys[k] {
			return nil, &SpaceError{Key: path + "." + k, Err: fmt.Errorf("%w: a %s table must have no other keys", ErrBadSpace, k)}
		}
	}
	return spaceFromMap(m, path)
}

func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case Params:
		return x, true
	}
	return nil, false
}

// normaliseList turns TOML's []interface{} of ints into []int (and of
// floats into []float64) so that values such as fcnet_hiddens keep a
// natural Go type.
func normaliseList(v any) any {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return v
	}
	ints, floats := make([]int, 0, len(l)), make([]float64, 0, len(l))
	allInt, allNum := true, true
	for _, e := range l {
		switch x := e.(type) {
		case int64:
			ints = append(ints, int(x))
			floats = append(floats, float64(x))
		case int:
			ints = append(ints, x)
			floats = append(floats, float64(x))
		case float64:
			allInt = false
			floats = append(floats, x)
		default:
			allInt, allNum = false, false
		}
	}
	switch {
	case allInt:
		return ints
	case allNum:
		return floats
	}
	out := make([]any, len(l))
	for i, e := range l {
		out[i] = normaliseList(e)
	}
	return out
}

func numbers(arg any, n int, kind string) ([]float64, error) {
	l, ok := arg.([]any)
	if !ok || len(l) != n {
		return nil, fmt.Errorf("%w: %s wants an array of %d numbers, got %v", ErrBadSpace, kind, n, arg)
	}
	out := make([]float64, n)
	for i, e := range l {
		f, ok := toFloat(e)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %v is not a number", ErrBadSpace, kind, e)
		}
		out[i] = f
	}
	return out, nil
}

func domainFromData(kind string, arg any) (Domain, error) {
	var d Domain
	switch kind {
	case "grid_search", "choice":
		l, ok := arg.([]any)
		if !ok || len(l) == 0 {
			return nil, fmt.Errorf("%w: %s wants a non-empty array, got %v", ErrBadSpace, kind, arg)
		}
		vals := make([]any, len(l))
		for i, e := range l {
			vals[i] = normaliseList(e)
			if i64, ok := e.(int64); ok {
				vals[i] = int(i64)
			}
		}
		if kind == "grid_search" {
			d = GridSearch(vals...)
		} else {
			d = Choice(vals...)
		}
	case "uniform", "loguniform":
		n, err := numbers(arg, 2, kind)
		if err != nil {
			return nil, err
		}
		d = Float{Lo: n[0], Hi: n[1], Log: kind == "loguniform"}
	case "quniform":
		n, err := numbers(arg, 3, kind)
		if err != nil {
			return nil, err
		}
		d = QUniform(n[0], n[1], n[2])
	case "randint":
		n, err := numbers(arg, 2, kind)
		if err != nil {
			return nil, err
		}
		d = RandInt(int(n[0]), int(n[1]))
	case "randn":
		n, err := numbers(arg, 2, kind)
		if err != nil {
			return nil, err
		}
		d = RandN(n[0], n[1])
	}
	if err := ValidateSpace(map[string]any{"v": d}); err != nil {
		return nil, fmt.Errorf("%w: invalid %s", ErrBadSpace, d)
	}
	return d, nil
}
