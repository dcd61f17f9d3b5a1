package classic

import (
	"strings"

	"github.com/goray/goray/plugins/envs"
)

// CliffWalking geometry and actions (UP, RIGHT, DOWN, LEFT: not
// FrozenLake's order).
const (
	cwRows  = 4
	cwCols  = 12
	cwStart = 3 * cwCols
	cwGoal  = cwRows*cwCols - 1
)

var cwDeltas = [4][2]int{{-1, 0}, {0, 1}, {1, 0}, {0, -1}}

// CliffWalking is CliffWalking-v1 and CliffWalkingSlippery-v1
// (toy_text/cliffwalking.py).
type CliffWalking struct {
	gridMDP
}

func cwCliff(r, c int) bool { return r == cwRows-1 && c >= 1 && c <= cwCols-2 }

func newCliffWalking(id string, defaultSlippery bool) envs.Factory {
	return func(kw envs.Kwargs) (envs.Env, error) {
		k := newKwargs(id, kw)
		slippery, err := k.boolean("is_slippery", defaultSlippery)
		if err != nil {
			return nil, err
		}
		if err := k.finish([]string{modeANSI, modeRGB}); err != nil {
			return nil, err
		}
		e := &CliffWalking{gridMDP{toyText: toyText{lastAction: -1}, p: make([][4]outcomes, cwRows*cwCols)}}
		weights := make([]float64, cwRows*cwCols)
		weights[cwStart] = 1
		e.initCDF = initialDistribution(weights)
		for s := range cwRows * cwCols {
			r, c := s/cwCols, s%cwCols
			for a := range 4 {
				moves := []int{a}
				if slippery {
					moves = []int{(a + 3) % 4, a, (a + 1) % 4}
				}
				one := 1.0
				p := one / float64(len(moves))
				var ts []transition
				for _, m := range moves {
					nr := min(max(r+cwDeltas[m][0], 0), cwRows-1)
					nc := min(max(c+cwDeltas[m][1], 0), cwCols-1)
					if cwCliff(nr, nc) {
						ts = append(ts, transition{prob: p, next: cwStart, reward: -100})
						continue
					}
					ns := nr*cwCols + nc
					ts = append(ts, transition{prob: p, next: ns, reward: -1, done: ns == cwGoal})
				}
				e.p[s][a] = newOutcomes(ts)
			}
		}
		e.spec = envs.Spec{
			ID:               id,
			ObservationSpace: discreteSpace(cwRows * cwCols),
			ActionSpace:      discreteSpace(4),
			RenderModes:      []string{modeANSI, modeRGB},
			Plugin:           PluginName,
		}
		return e, nil
	}
}

// Render returns Gymnasium's ANSI grid ("ansi": x agent, T goal, C cliff,
// o other) or a 720×240 RGB frame ("rgb_array", see renderRGB). Before the
// first Reset it fails with envs.ErrResetNeeded.
func (e *CliffWalking) Render(mode string) (envs.Render, error) {
	if mode != modeANSI && mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	if !e.hasState {
		return envs.Render{}, renderBeforeReset(e.spec.ID)
	}
	if mode == modeRGB {
		return e.renderRGB(), nil
	}
	var b strings.Builder
	for s := range cwRows * cwCols {
		r, c := s/cwCols, s%cwCols
		out := " o "
		switch {
		case s == e.s:
			out = " x "
		case r == 3 && c == 11:
			out = " T "
		case cwCliff(r, c):
			out = " C "
		}
		if c == 0 {
			out = strings.TrimLeft(out, " ")
		}
		if c == cwCols-1 {
			out = strings.TrimRight(out, " ") + "\n"
		}
		b.WriteString(out)
	}
	b.WriteString("\n")
	return envs.Render{Text: b.String()}, nil
}

// Close implements envs.Env.
func (e *CliffWalking) Close() error { return nil }
