package classic

import (
	"fmt"
	"strings"

	"github.com/goray/goray/plugins/envs"
)

// taxiMap is Taxi's map: ':' between cells lets the taxi pass east–west,
// '|' is a wall.
var taxiMap = []string{
	"+---------+",
	"|R: | : :G|",
	"| : | : : |",
	"| : : : : |",
	"| | : | : |",
	"|Y| : |B: |",
	"+---------+",
}

var taxiLocs = [4][2]int{{0, 0}, {0, 4}, {4, 0}, {4, 3}}

func taxiEncode(row, col, pass, dest int) int { return ((row*5+col)*5+pass)*4 + dest }

func taxiDecode(s int) (row, col, pass, dest int) {
	dest = s % 4
	s /= 4
	pass = s % 5
	s /= 5
	col = s % 5
	row = s / 5
	return
}

func taxiLocIndex(row, col int) int {
	for i, l := range taxiLocs {
		if l[0] == row && l[1] == col {
			return i
		}
	}
	return -1
}

// Taxi is Taxi-v4 (toy_text/taxi.py) with its is_rainy / fickle_passenger
// options.
type Taxi struct {
	spec envs.Spec
	toyText
	p          [500][6]outcomes
	fickle     bool
	fickleProb float64
	fickleStep bool
	mask       []int64
	// maskAny is mask boxed once; steps rewrite the slice in place.
	maskAny any
	// orientation is the last movement action since reset (0 south, 1
	// north, 2 east, 3 west; 0 after reset), which way the rgb_array taxi
	// faces, as Gymnasium's taxi_orientation.
	orientation int
}

func taxiCanEast(row, col int) bool { return taxiMap[1+row][2*col+2] == ':' }
func taxiCanWest(row, col int) bool { return taxiMap[1+row][2*col] == ':' }

func newTaxi(kw envs.Kwargs) (envs.Env, error) {
	const id = "Taxi-v4"
	k := newKwargs(id, kw)
	rainy, err := k.boolean("is_rainy", false)
	if err != nil {
		return nil, err
	}
	rainyProb, err := k.float("rainy_probability", 0.8)
	if err != nil {
		return nil, err
	}
	fickle, err := k.boolean("fickle_passenger", false)
	if err != nil {
		return nil, err
	}
	fickleProb, err := k.float("fickle_probability", 0.3)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]float64{"rainy_probability": rainyProb, "fickle_probability": fickleProb} {
		if v < 0 || v > 1 {
			return nil, k.errorf(name, "%v is not in [0, 1]", v)
		}
	}
	if err := k.finish([]string{modeANSI, modeRGB}); err != nil {
		return nil, err
	}
	e := &Taxi{toyText: toyText{lastAction: -1}, fickle: fickle, fickleProb: fickleProb, mask: make([]int64, 6)}
	e.maskAny = e.mask
	weights := make([]float64, 500)
	one := 1.0
	side := (one - rainyProb) / 2
	for row := range 5 {
		for col := range 5 {
			for pass := range 5 {
				for dest := range 4 {
					s := taxiEncode(row, col, pass, dest)
					if pass < 4 && pass != dest {
						weights[s]++
					}
					for a := range 6 {
						var ts []transition
						if rainy && a < 4 {
							ts = taxiRainy(row, col, pass, dest, a, rainyProb, side)
						} else {
							ts = []transition{taxiDry(row, col, pass, dest, a)}
						}
						e.p[s][a] = newOutcomes(ts)
					}
				}
			}
		}
	}
	e.initCDF = initialDistribution(weights)
	e.spec = envs.Spec{
		ID:               id,
		ObservationSpace: discreteSpace(500),
		ActionSpace:      discreteSpace(6),
		MaxEpisodeSteps:  200,
		RewardThreshold:  threshold(8),
		RenderModes:      []string{modeANSI, modeRGB},
		Plugin:           PluginName,
	}
	return e, nil
}

// taxiDry is the deterministic transition for one action.
func taxiDry(row, col, pass, dest, a int) transition {
	nr, nc, np := row, col, pass
	reward := -1.0
	done := false
	switch a {
	case 0:
		nr = min(row+1, 4)
	case 1:
		nr = max(row-1, 0)
	case 2:
		if taxiCanEast(row, col) {
			nc = min(col+1, 4)
		}
	case 3:
		if taxiCanWest(row, col) {
			nc = max(col-1, 0)
		}
	case 4:
		if pass < 4 && taxiLocs[pass] == [2]int{row, col} {
			np = 4
		} else {
			reward = -10
		}
	case 5:
		switch li := taxiLocIndex(row, col); {
		case pass == 4 && taxiLocs[dest] == [2]int{row, col}:
			np, reward, done = dest, 20, true
		case pass == 4 && li >= 0:
			np = li
		default:
			reward = -10
		}
	}
	return transition{prob: 1, next: taxiEncode(nr, nc, np, dest), reward: reward, done: done}
}

// taxiRainy is a movement under is_rainy: the intended move with
// rainyProb, else one of the two lateral moves with (1-rainyProb)/2 each;
// if the intended move is blocked the taxi stays put.
func taxiRainy(row, col, pass, dest, a int, rainyProb, side float64) []transition {
	moveTo := func(m int) (int, int) {
		switch m {
		case 0:
			return min(row+1, 4), col
		case 1:
			return max(row-1, 0), col
		case 2:
			if taxiCanEast(row, col) {
				return row, min(col+1, 4)
			}
		case 3:
			if taxiCanWest(row, col) {
				return row, max(col-1, 0)
			}
		}
		return row, col
	}
	// Lateral moves relative to the intended direction, left then right.
	lateral := map[int][2]int{0: {3, 2}, 1: {3, 2}, 2: {0, 1}, 3: {0, 1}}[a]
	ir, ic := moveTo(a)
	blocked := ir == row && ic == col
	out := make([]transition, 0, 3)
	for i, m := range []int{a, lateral[0], lateral[1]} {
		p := side
		if i == 0 {
			p = rainyProb
		}
		nr, nc := row, col
		if !blocked {
			nr, nc = moveTo(m)
		}
		out = append(out, transition{prob: p, next: taxiEncode(nr, nc, pass, dest), reward: -1})
	}
	return out
}

// Spec implements envs.Env.
func (e *Taxi) Spec() envs.Spec { return e.spec }

// actionMask is Gymnasium's action_mask(state) as int8 values (carried as
// int64).
func (e *Taxi) actionMask(s int, mask []int64) []int64 {
	row, col, pass, dest := taxiDecode(s)
	for i := range mask {
		mask[i] = 0
	}
	if row < 4 {
		mask[0] = 1
	}
	if row > 0 {
		mask[1] = 1
	}
	if col < 4 && taxiCanEast(row, col) {
		mask[2] = 1
	}
	if col > 0 && taxiCanWest(row, col) {
		mask[3] = 1
	}
	if pass < 4 && taxiLocs[pass] == [2]int{row, col} {
		mask[4] = 1
	}
	if pass == 4 && (taxiLocs[dest] == [2]int{row, col} || taxiLocIndex(row, col) >= 0) {
		mask[5] = 1
	}
	return mask
}

// Reset samples one of the 300 start states with one draw, plus one more
// draw for the fickle passenger when enabled.
func (e *Taxi) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if err := e.reset(e.spec.ID, seed, obs); err != nil {
		return nil, err
	}
	e.fickleStep = e.fickle && e.rng.Random() < e.fickleProb
	e.orientation = 0
	return envs.Info{"prob": 1.0, "action_mask": e.actionMask(e.s, make([]int64, 6))}, nil
}

// Step draws one outcome; the Info map and its action_mask slice are
// reused by the next Step.
func (e *Taxi) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := e.stepAction(e.spec.ID, action, obs, 6)
	if err != nil {
		return 0, false, nil, err
	}
	t := e.p[e.s][a].sample(e.rng)
	e.lastAction = a
	if a < 4 {
		e.orientation = a
	}
	next := t.next
	if e.fickle && e.fickleStep {
		sr, sc, sp, sd := taxiDecode(e.s)
		nr, nc, np, _ := taxiDecode(next)
		if sp == 4 && (nr != sr || nc != sc) {
			// The passenger changes their mind once, on the first move
			// after pickup: a new destination among the other three.
			e.fickleStep = false
			others := make([]int, 0, 3)
			for i := range 4 {
				if i != sd {
					others = append(others, i)
				}
			}
			next = taxiEncode(nr, nc, np, others[e.rng.Choice(len(others))])
		}
	}
	e.s = next
	obs[0] = float64(next)
	info := stepInfo(&e.info, &t)
	e.actionMask(next, e.mask)
	info["action_mask"] = e.maskAny
	return t.reward, t.done, info, nil
}

// Render returns Gymnasium's ANSI map ("ansi": the taxi highlighted
// yellow, or green with an underscore when carrying the passenger, the
// passenger's landmark blue and bold, the destination magenta, then the
// last action) or a 550×350 RGB frame ("rgb_array", see renderRGB).
// Before the first Reset it fails with envs.ErrResetNeeded.
func (e *Taxi) Render(mode string) (envs.Render, error) {
	if mode != modeANSI && mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	if !e.hasState {
		return envs.Render{}, renderBeforeReset(e.spec.ID)
	}
	if mode == modeRGB {
		return e.renderRGB(), nil
	}
	out := make([][]string, len(taxiMap))
	for i, line := range taxiMap {
		for _, ch := range line {
			out[i] = append(out[i], string(ch))
		}
	}
	row, col, pass, dest := taxiDecode(e.s)
	if pass < 4 {
		out[1+row][2*col+1] = colorize(out[1+row][2*col+1], "yellow", false, true)
		pi, pj := taxiLocs[pass][0], taxiLocs[pass][1]
		out[1+pi][2*pj+1] = colorize(out[1+pi][2*pj+1], "blue", true, false)
	} else {
		cell := out[1+row][2*col+1]
		if cell == " " {
			cell = "_"
		}
		out[1+row][2*col+1] = colorize(cell, "green", false, true)
	}
	di, dj := taxiLocs[dest][0], taxiLocs[dest][1]
	out[1+di][2*dj+1] = colorize(out[1+di][2*dj+1], "magenta", false, false)
	var b strings.Builder
	for i, line := range out {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Join(line, ""))
	}
	b.WriteString("\n")
	if e.lastAction >= 0 {
		fmt.Fprintf(&b, "  (%s)\n", [6]string{"South", "North", "East", "West", "Pickup", "Dropoff"}[e.lastAction])
	} else {
		b.WriteString("\n")
	}
	return envs.Render{Text: b.String()}, nil
}

// Close implements envs.Env.
func (e *Taxi) Close() error { return nil }
