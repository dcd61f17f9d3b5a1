// Package testenv holds small envs that the env plugin machinery is tested and
// benchmarked with, so that the protocol, host and SDK can be exercised
// without the built-in Gymnasium envs. They are deterministic given a seed
// but make no claim of parity with Gymnasium.
package testenv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/goray/goray/plugins/envs"
)

// Factories returns the test envs by ID: "Counter-v0", "Pole-v0" (a
// CartPole-shaped benchmark env) and "Spaces-v0" (nested spaces).
func Factories() map[string]envs.Factory {
	return map[string]envs.Factory{
		"Counter-v0": NewCounter,
		"Pole-v0":    NewPole,
		"Spaces-v0":  NewSpaces,
	}
}

// Counter counts steps: obs = [steps since reset, last action, seed draw].
// It terminates after "horizon" steps (kwarg, default 5), rewards the action
// value, and reports {"count": steps} as info. MaxEpisodeSteps is "limit"
// (default 3), so with the defaults the time limit truncates first; with
// horizon == limit both flags are set on the same step.
type Counter struct {
	spec    envs.Spec
	horizon int
	sleep   time.Duration // simulates a slow env
	n       int
	last    float64
	draw    float64
	rng     *rand.Rand
}

// NewCounter makes a Counter; kwargs: horizon, limit, sleep_ms (ints).
func NewCounter(kw envs.Kwargs) (envs.Env, error) {
	c := &Counter{horizon: 5}
	limit := 3
	for k, v := range kw {
		n, ok := asInt(v)
		if !ok {
			return nil, fmt.Errorf("%w: %s = %v (%T): want an int", envs.ErrBadKwargs, k, v, v)
		}
		switch k {
		case "horizon":
			c.horizon = n
		case "limit":
			limit = n
		case "sleep_ms":
			c.sleep = time.Duration(n) * time.Millisecond
		default:
			return nil, fmt.Errorf("%w: unknown kwarg %q", envs.ErrBadKwargs, k)
		}
	}
	c.spec = envs.Spec{
		ID: "Counter-v0",
		ObservationSpace: envs.Space{Kind: envs.KindBox, Shape: []int{3}, Dtype: "float64",
			Low: []float64{0, 0, 0}, High: []float64{math.Inf(1), 2, 1}},
		ActionSpace:     envs.Space{Kind: envs.KindDiscrete, N: 3},
		MaxEpisodeSteps: limit,
		RenderModes:     []string{"ansi"},
	}
	return c, nil
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	}
	return 0, false
}

// Spec implements envs.Env.
func (c *Counter) Spec() envs.Spec { return c.spec }

// Reset implements envs.Env.
func (c *Counter) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if seed != nil || c.rng == nil {
		var s uint64
		if seed != nil {
			s = uint64(*seed)
		}
		c.rng = rand.New(rand.NewPCG(s, 0x5eed))
	}
	c.n, c.last, c.draw = 0, 0, c.rng.Float64()
	c.fill(obs)
	return envs.Info{"count": int64(0)}, nil
}

func (c *Counter) fill(obs []float64) { obs[0], obs[1], obs[2] = float64(c.n), c.last, c.draw }

// Step implements envs.Env.
func (c *Counter) Step(a []float64, obs []float64) (float64, bool, envs.Info, error) {
	time.Sleep(c.sleep)
	c.n++
	c.last = a[0]
	c.fill(obs)
	return a[0], c.n >= c.horizon, envs.Info{"count": int64(c.n)}, nil
}

// Render implements envs.Env.
func (c *Counter) Render(mode string) (envs.Render, error) {
	if mode != "ansi" {
		return envs.Render{}, fmt.Errorf("render mode %q not supported", mode)
	}
	return envs.Render{Text: fmt.Sprintf("count=%d %s\n", c.n, strings.Repeat("#", c.n))}, nil
}

// Close implements envs.Env.
func (c *Counter) Close() error { return nil }

// Pole is a cart-pole with CartPole-v1's equations, spaces and limits: the
// benchmark load for the plugin path. Its reset draws use math/rand, not
// numpy, so trajectories differ from Gymnasium's.
type Pole struct {
	x, xd, th, thd float64
	rng            *rand.Rand
}

var poleSpec = envs.Spec{
	ID: "Pole-v0",
	ObservationSpace: envs.Space{Kind: envs.KindBox, Shape: []int{4}, Dtype: "float32",
		Low:  []float64{-4.8, math.Inf(-1), -0.41887903, math.Inf(-1)},
		High: []float64{4.8, math.Inf(1), 0.41887903, math.Inf(1)}},
	ActionSpace:     envs.Space{Kind: envs.KindDiscrete, N: 2},
	MaxEpisodeSteps: 500,
}

// NewPole makes a Pole; it takes no kwargs.
func NewPole(kw envs.Kwargs) (envs.Env, error) {
	for k := range kw {
		return nil, fmt.Errorf("%w: unknown kwarg %q", envs.ErrBadKwargs, k)
	}
	return &Pole{}, nil
}

// Spec implements envs.Env.
func (p *Pole) Spec() envs.Spec { return poleSpec }

// Reset implements envs.Env.
func (p *Pole) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if seed != nil || p.rng == nil {
		var s uint64
		if seed != nil {
			s = uint64(*seed)
		}
		p.rng = rand.New(rand.NewPCG(s, 1))
	}
	u := func() float64 { return -0.05 + 0.1*p.rng.Float64() }
	p.x, p.xd, p.th, p.thd = u(), u(), u(), u()
	p.fill(obs)
	return nil, nil
}

func (p *Pole) fill(obs []float64) {
	obs[0], obs[1], obs[2], obs[3] = float64(float32(p.x)), float64(float32(p.xd)), float64(float32(p.th)), float64(float32(p.thd))
}

// Step implements envs.Env.
func (p *Pole) Step(a []float64, obs []float64) (float64, bool, envs.Info, error) {
	const (
		g, mp, total, l, tau = 9.8, 0.1, 1.1, 0.5, 0.02
		thThr                = 12 * 2 * math.Pi / 360
	)
	f := -10.0
	if a[0] == 1 {
		f = 10
	}
	sin, cos := math.Sincos(p.th)
	t := (f + mp*l*p.thd*p.thd*sin) / total
	thAcc := (g*sin - cos*t) / (l * (4.0/3.0 - mp*cos*cos/total))
	xAcc := t - mp*l*thAcc*cos/total
	p.x, p.xd, p.th, p.thd = p.x+tau*p.xd, p.xd+tau*xAcc, p.th+tau*p.thd, p.thd+tau*thAcc
	p.fill(obs)
	term := p.x < -2.4 || p.x > 2.4 || p.th < -thThr || p.th > thThr
	return 1, term, nil, nil
}

// Render implements envs.Env.
func (p *Pole) Render(string) (envs.Render, error) {
	return envs.Render{Text: fmt.Sprintf("x=%.3f theta=%.3f\n", p.x, p.th)}, nil
}

// Close implements envs.Env.
func (p *Pole) Close() error { return nil }

// Spaces has nested spaces (a Dict observation, a MultiDiscrete action) so
// that specs can be checked through the protocol. Each step copies the
// action into the observation's first two slots and never terminates.
type Spaces struct{}

var spacesSpec = envs.Spec{
	ID: "Spaces-v0",
	ObservationSpace: envs.Space{Kind: envs.KindDict, Keys: []string{"a", "b"}, Spaces: []envs.Space{
		{Kind: envs.KindDiscrete, N: 3, Start: 1},
		{Kind: envs.KindBox, Shape: []int{2, 3}, Dtype: "float64",
			Low:  []float64{math.Inf(-1), -1, -1, -1, -1, -1},
			High: []float64{math.Inf(1), 1, 1, 1, 1, 1}},
	}},
	ActionSpace:     envs.Space{Kind: envs.KindMultiDiscrete, Nvec: []int64{2, 3}},
	RewardThreshold: ptr(0.5),
	RenderModes:     []string{"ansi", "rgb_array"},
}

func ptr[T any](v T) *T { return &v }

// NewSpaces makes a Spaces env.
func NewSpaces(envs.Kwargs) (envs.Env, error) { return &Spaces{}, nil }

// Spec implements envs.Env.
func (s *Spaces) Spec() envs.Spec { return spacesSpec }

// Reset implements envs.Env.
func (s *Spaces) Reset(_ *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	for i := range obs {
		obs[i] = 0
	}
	obs[0] = 1
	return envs.Info{"name": "spaces", "vec": []float64{1, 2}, "ids": []int64{3, 4}, "ok": true}, nil
}

// Step implements envs.Env.
func (s *Spaces) Step(a []float64, obs []float64) (float64, bool, envs.Info, error) {
	obs[0] = 1 + a[0]
	obs[1] = a[1]
	return 0.25, false, envs.Info{}, nil
}

// Render implements envs.Env: a 2×3 RGB image in rgb_array mode.
func (s *Spaces) Render(mode string) (envs.Render, error) {
	if mode == "rgb_array" {
		return envs.Render{Width: 3, Height: 2, RGB: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}}, nil
	}
	return envs.Render{Text: "spaces\n"}, nil
}

// Close implements envs.Env.
func (s *Spaces) Close() error { return nil }
