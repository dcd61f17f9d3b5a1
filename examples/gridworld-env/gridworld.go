package main

import (
	"fmt"

	"math/rand/v2"
	"strings"

	"github.com/goray/goray/plugins/envs"
)

// Actions, in FrozenLake's order.
const (
	left = iota
	down
	right
	up
)

// GridWorld is a size×size grid: the agent starts top-left and must reach
// the goal bottom-right. With probability slip a move goes to a random
// perpendicular direction instead. Reward 1 on reaching the goal (which
// terminates), -0.01 per other step. The time limit is 4·size² steps.
//
// Kwargs: size (int ≥ 2, default 5), slip (float in [0, 1), default 0).
type GridWorld struct {
	size int
	slip float64
	pos  int
	rng  *rand.Rand
	spec envs.Spec
}

// NewGridWorld is the GridWorld-v0 factory.
func NewGridWorld(kw envs.Kwargs) (envs.Env, error) {
	g := &GridWorld{size: 5}
	for k, v := range kw {
		switch k {
		case "size":
			n, ok := v.(int64)
			if !ok || n < 2 || n > 1000 {
				return nil, fmt.Errorf("%w: size = %v: want an int in [2, 1000]", envs.ErrBadKwargs, v)
			}
			g.size = int(n)
		case "slip":
			var p float64
			switch x := v.(type) {
			case float64:
				p = x
			case int64:
				p = float64(x)
			default:
				return nil, fmt.Errorf("%w: slip = %v: want a number", envs.ErrBadKwargs, v)
			}
			if p < 0 || p >= 1 {
				return nil, fmt.Errorf("%w: slip = %v: want a probability in [0, 1)", envs.ErrBadKwargs, p)
			}
			g.slip = p
		default:
			return nil, fmt.Errorf("%w: unknown kwarg %q (GridWorld-v0 takes size, slip)", envs.ErrBadKwargs, k)
		}
	}
	threshold := 0.9
	g.spec = envs.Spec{
		ID:               "GridWorld-v0",
		ObservationSpace: envs.Space{Kind: envs.KindDiscrete, N: int64(g.size * g.size)},
		ActionSpace:      envs.Space{Kind: envs.KindDiscrete, N: 4},
		MaxEpisodeSteps:  4 * g.size * g.size,
		RewardThreshold:  &threshold,
		RenderModes:      []string{"ansi"},
	}
	return g, nil
}

// Spec implements envs.Env.
func (g *GridWorld) Spec() envs.Spec { return g.spec }

// Reset implements envs.Env.
func (g *GridWorld) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if seed != nil || g.rng == nil {
		var s uint64
		if seed != nil {
			s = uint64(*seed)
		}
		g.rng = rand.New(rand.NewPCG(s, 0x67726964))
	}
	g.pos = 0
	obs[0] = 0
	return nil, nil
}

// Step implements envs.Env.
func (g *GridWorld) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a := int(action[0])
	if float64(a) != action[0] || a < 0 || a > 3 {
		return 0, false, nil, fmt.Errorf("%w: %v", envs.ErrBadAction, action[0])
	}
	slipped := false
	if g.slip > 0 && g.rng.Float64() < g.slip {
		slipped = true
		if g.rng.IntN(2) == 0 {
			a = (a + 3) % 4
		} else {
			a = (a + 1) % 4
		}
	}
	r, c := g.pos/g.size, g.pos%g.size
	switch a {
	case left:
		c = max(c-1, 0)
	case down:
		r = min(r+1, g.size-1)
	case right:
		c = min(c+1, g.size-1)
	case up:
		r = max(r-1, 0)
	}
	g.pos = r*g.size + c
	obs[0] = float64(g.pos)
	info := envs.Info{"slipped": slipped}
	if g.pos == g.size*g.size-1 {
		return 1, true, info, nil
	}
	return -0.01, false, info, nil
}

// Render implements envs.Env: the grid with A for the agent, G the goal.
func (g *GridWorld) Render(mode string) (envs.Render, error) {
	if mode != "ansi" {
		return envs.Render{}, fmt.Errorf("GridWorld-v0 renders only ansi, not %q", mode)
	}
	var b strings.Builder
	for i := 0; i < g.size*g.size; i++ {
		switch {
		case i == g.pos:
			b.WriteByte('A')
		case i == g.size*g.size-1:
			b.WriteByte('G')
		default:
			b.WriteByte('.')
		}
		if i%g.size == g.size-1 {
			b.WriteByte('\n')
		}
	}
	return envs.Render{Text: b.String()}, nil
}

// Close implements envs.Env.
func (g *GridWorld) Close() error { return nil }

// optimalReturn is the return of the shortest path without slips.
func optimalReturn(size int) float64 {
	steps := 2 * (size - 1)
	return 1 - 0.01*float64(steps-1)
}
