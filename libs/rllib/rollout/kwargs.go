package rollout

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// DecodeJSON decodes JSON into v keeping env_config numbers exact: a whole
// number becomes int64 and any other number float64, as TOML decodes them
// (plain encoding/json would turn every number into float64, and envs
// reject a float where they take an integer).
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// NormalizeKwargs converts json.Number values (from DecodeJSON) inside a
// kwargs map, recursively, to int64 or float64.
func NormalizeKwargs(m map[string]any) {
	for k, v := range m {
		m[k] = normalize(v)
	}
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		NormalizeKwargs(x)
		return x
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	}
	return v
}
