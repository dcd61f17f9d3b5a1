package classic

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

// PluginName is the Spec.Plugin value of the envs compiled into goray.
const PluginName = "builtin"

// Render modes.
const (
	modeANSI = "ansi"
	modeRGB  = "rgb_array"
)

// seeder owns an env's np_random, with Gymnasium's Env.reset(seed=...)
// rules: an int seed re-creates the generator, no seed keeps it, and the
// first reset without a seed draws OS entropy.
type seeder struct {
	rng *nprand.Generator
}

func (s *seeder) reseed(id string, seed *int64) error {
	if seed != nil {
		g, err := nprand.NPRandom(*seed)
		if err != nil {
			return fmt.Errorf("%s: reset: %w", id, err)
		}
		s.rng = g
		return nil
	}
	if s.rng == nil {
		s.rng = entropyGenerator()
	}
	return nil
}

// entropyGenerator is np_random(None): a SeedSequence over 128 bits of OS
// entropy.
func entropyGenerator() *nprand.Generator {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms (it panics or
		// blocks instead); keep a deterministic fallback anyway.
		return nprand.MustNPRandom(0)
	}
	words := make([]uint32, 4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nprand.NewGenerator(nprand.NewPCG64(nprand.NewSeedSequenceWords(words)))
}

// discreteAction decodes a Discrete(n) action: one slot holding an integer
// in [0, n).
func discreteAction(id string, action []float64, n int) (int, error) {
	if len(action) != 1 {
		return 0, fmt.Errorf("%s: %w: want 1 value for Discrete(%d), got %d", id, envs.ErrBadAction, n, len(action))
	}
	a := action[0]
	if a != math.Trunc(a) || a < 0 || a >= float64(n) {
		return 0, fmt.Errorf("%s: %w: %v is not in Discrete(%d)", id, envs.ErrBadAction, a, n)
	}
	return int(a), nil
}

// boxAction1 decodes a one-element float32 Box action. Gymnasium's
// continuous envs clip out-of-range actions instead of rejecting them, so
// only the length and NaN are errors. The value is rounded to float32, the
// action space's dtype, as an agent's np.float32 action would be.
func boxAction1(id string, action []float64) (float64, error) {
	if len(action) != 1 {
		return 0, fmt.Errorf("%s: %w: want 1 value, got %d", id, envs.ErrBadAction, len(action))
	}
	if math.IsNaN(action[0]) {
		return 0, fmt.Errorf("%s: %w: NaN action", id, envs.ErrBadAction)
	}
	return float64(float32(action[0])), nil
}

func checkObs(id string, obs []float64, n int) error {
	if len(obs) != n {
		return fmt.Errorf("%s: observation buffer has %d slots, want %d", id, len(obs), n)
	}
	return nil
}

// f32 rounds to float32 and back: numpy's astype(np.float32).
func f32(x float64) float64 { return float64(float32(x)) }

func discreteSpace(n int64) envs.Space {
	return envs.Space{Kind: envs.KindDiscrete, N: n}
}

// box32 builds a float32 Box whose bounds are the float32 roundings of
// low and high, as np.array(..., dtype=np.float32) stores them.
func box32(low, high []float64) envs.Space {
	l := make([]float64, len(low))
	h := make([]float64, len(high))
	for i := range low {
		l[i] = f32(low[i])
		h[i] = f32(high[i])
	}
	return envs.Space{Kind: envs.KindBox, Low: l, High: h, Shape: []int{len(low)}, Dtype: "float32"}
}

func threshold(v float64) *float64 { return &v }

// kwargs parses make() keyword arguments strictly: every key must be
// consumed, and each value must have the expected type.
type kwargs struct {
	id   string
	kw   envs.Kwargs
	used map[string]bool
}

func newKwargs(id string, kw envs.Kwargs) *kwargs {
	return &kwargs{id: id, kw: kw, used: map[string]bool{}}
}

func (k *kwargs) errorf(name, format string, args ...any) error {
	return fmt.Errorf("%s: kwarg %q: %w: %s", k.id, name, envs.ErrBadKwargs, fmt.Sprintf(format, args...))
}

// lookup returns the value and whether it is present (nil counts as
// present: it is Python's None).
func (k *kwargs) lookup(name string) (any, bool) {
	v, ok := k.kw[name]
	if ok {
		k.used[name] = true
	}
	return v, ok
}

func (k *kwargs) float(name string, def float64) (float64, error) {
	v, ok := k.lookup(name)
	if !ok {
		return def, nil
	}
	if x, ok := asFloat(v); ok {
		return x, nil
	}
	return 0, k.errorf(name, "want a number, got %T (%v)", v, v)
}

func (k *kwargs) boolean(name string, def bool) (bool, error) {
	v, ok := k.lookup(name)
	if !ok {
		return def, nil
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, k.errorf(name, "want a bool, got %T (%v)", v, v)
}

func (k *kwargs) integer(name string, def int64) (int64, error) {
	v, ok := k.lookup(name)
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	}
	return 0, k.errorf(name, "want an integer, got %T (%v)", v, v)
}

// finish validates gymnasium.make's render_mode kwarg against modes (goray
// renders on request, through Env.Render(mode), so the value is only
// checked) and reports any kwarg nothing asked for. Constructors call it
// last, after reading every kwarg they know.
func (k *kwargs) finish(renderModes []string) error {
	if v, ok := k.lookup("render_mode"); ok && v != nil {
		s, isStr := v.(string)
		if !isStr {
			return k.errorf("render_mode", "want a string, got %T", v)
		}
		if !slices.Contains(renderModes, s) {
			return k.errorf("render_mode", "%q not supported (have %s)", s, strings.Join(renderModes, ", "))
		}
	}
	var unknown []string
	for name := range k.kw {
		if !k.used[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: %w: unknown kwarg(s) %s", k.id, envs.ErrBadKwargs, strings.Join(unknown, ", "))
	}
	return nil
}

// resetBounds is Gymnasium's utils.maybe_parse_reset_bounds: options "low"
// and "high" override the defaults and low > high is an error.
func resetBounds(id string, options map[string]any, defLow, defHigh float64) (float64, float64, error) {
	low, err := optionNumber(id, options, "low", defLow)
	if err != nil {
		return 0, 0, err
	}
	high, err := optionNumber(id, options, "high", defHigh)
	if err != nil {
		return 0, 0, err
	}
	if low > high {
		return 0, 0, fmt.Errorf("%s: reset options: %w: lower bound (%v) must be lower than higher bound (%v)", id, ErrBadOption, low, high)
	}
	return low, high, nil
}

// ErrBadOption reports an ill-typed or inconsistent reset option.
var ErrBadOption = errors.New("invalid reset option")

// optionNumber reads the number options[name], or def where it is absent.
func optionNumber(id string, options map[string]any, name string, def float64) (float64, error) {
	v, ok := options[name]
	if !ok {
		return def, nil
	}
	if x, ok := asFloat(v); ok {
		return x, nil
	}
	return 0, fmt.Errorf("%s: reset option %q: %w: want a number, got %T", id, name, ErrBadOption, v)
}

// asFloat accepts the numeric types a kwarg or option arrives as (JSON and
// gRPC give float64, Go callers often int) as one float64.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// colorize is gymnasium.utils.colorize: ANSI SGR codes around s.
func colorize(s, color string, bold, highlight bool) string {
	num := map[string]int{"gray": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36, "white": 37, "crimson": 38}[color]
	if highlight {
		num += 10
	}
	attrs := fmt.Sprint(num)
	if bold {
		attrs += ";1"
	}
	return "\x1b[" + attrs + "m" + s + "\x1b[0m"
}

func unsupportedRender(id, mode string) error {
	return fmt.Errorf("%s: render mode %q not supported", id, mode)
}
