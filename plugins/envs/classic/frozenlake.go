package classic

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

// FrozenLake actions.
const (
	flLeft = iota
	flDown
	flRight
	flUp
)

// frozenLakeMaps are Gymnasium's named maps. They are read-only: callers
// get copies from FrozenLakeMap, so no importer can change what
// FrozenLake-v1 means for every other env in the process.
var frozenLakeMaps = map[string][]string{
	"4x4": {"SFFF", "FHFH", "FFFH", "HFFG"},
	"8x8": {
		"SFFFFFFF",
		"FFFFFFFF",
		"FFFHFFFF",
		"FFFFFHFF",
		"FFFHFFFF",
		"FHHFFFHF",
		"FHFFHFHF",
		"FFFHFFFG",
	},
}

// FrozenLakeMap returns a copy of Gymnasium's map called name ("4x4" or
// "8x8").
func FrozenLakeMap(name string) ([]string, bool) {
	m, ok := frozenLakeMaps[name]
	return slices.Clone(m), ok
}

// GenerateRandomMap is Gymnasium's generate_random_map(size, p, seed): a
// board of F (probability p) and H tiles drawn with its own
// np_random(seed) through choice(["F","H"], (size, size), p=[p, 1-p]),
// with S top-left and G bottom-right, redrawn until a path from S reaches
// G. A nil seed uses OS entropy, as Gymnasium does.
func GenerateRandomMap(size int, p float64, seed *int64) ([]string, error) {
	if size < 1 {
		return nil, fmt.Errorf("generate_random_map: size %d must be >= 1", size)
	}
	var rng *nprand.Generator
	if seed != nil {
		g, err := nprand.NPRandom(*seed)
		if err != nil {
			return nil, fmt.Errorf("generate_random_map: %w", err)
		}
		rng = g
	} else {
		rng = entropyGenerator()
	}
	p = min(1, p)
	cdf, err := nprand.CDF([]float64{p, 1 - p})
	if err != nil {
		return nil, fmt.Errorf("generate_random_map: p=%v: %w", p, err)
	}
	board := make([][]byte, size)
	for i := range board {
		board[i] = make([]byte, size)
	}
	for {
		for r := range size {
			for c := range size {
				board[r][c] = "FH"[rng.ChoiceCDF(cdf)]
			}
		}
		board[0][0] = 'S'
		board[size-1][size-1] = 'G'
		if reachable(board) {
			break
		}
	}
	out := make([]string, size)
	for i, row := range board {
		out[i] = string(row)
	}
	return out, nil
}

// reachable reports whether G can be reached from (0,0) through non-H
// tiles (Gymnasium's is_valid; only the answer matters, not the order).
func reachable(board [][]byte) bool {
	n := len(board)
	seen := make([]bool, n*n)
	stack := []int{0}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		r, c := cur/n, cur%n
		for _, d := range [4][2]int{{1, 0}, {0, 1}, {-1, 0}, {0, -1}} {
			nr, nc := r+d[0], c+d[1]
			if nr < 0 || nr >= n || nc < 0 || nc >= n {
				continue
			}
			if board[nr][nc] == 'G' {
				return true
			}
			if board[nr][nc] != 'H' {
				stack = append(stack, nr*n+nc)
			}
		}
	}
	return false
}

// FrozenLake is FrozenLake-v1 (toy_text/frozen_lake.py).
type FrozenLake struct {
	gridMDP
	desc       [][]byte
	nrow, ncol int
}

func newFrozenLake(id string, defaultMap string, maxSteps int, thr float64) envs.Factory {
	return func(kw envs.Kwargs) (envs.Env, error) {
		k := newKwargs(id, kw)
		desc, err := frozenLakeDesc(k, defaultMap)
		if err != nil {
			return nil, err
		}
		slippery, err := k.boolean("is_slippery", true)
		if err != nil {
			return nil, err
		}
		success, err := k.float("success_rate", 1.0/3.0)
		if err != nil {
			return nil, err
		}
		if success < 0 || success > 1 {
			return nil, k.errorf("success_rate", "%v is not in [0, 1]", success)
		}
		schedule := [3]float64{1, 0, 0}
		if v, ok := k.lookup("reward_schedule"); ok {
			list, isList := v.([]any)
			if !isList || len(list) != 3 {
				return nil, k.errorf("reward_schedule", "want a list of 3 numbers (goal, hole, frozen), got %v", v)
			}
			for i, x := range list {
				f, ok := toFloat(x)
				if !ok {
					return nil, k.errorf("reward_schedule", "entry %d: want a number, got %T", i, x)
				}
				schedule[i] = f
			}
		}
		if err := k.finish([]string{modeANSI, modeRGB}); err != nil {
			return nil, err
		}
		return buildFrozenLake(id, desc, slippery, success, schedule, maxSteps, thr)
	}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// frozenLakeDesc resolves desc / map_name, plus goray's random-map kwargs
// (Gymnasium itself only builds a random map when desc and map_name are
// both None, and then with OS entropy; goray adds map_size, map_p and
// map_seed so that random maps are reproducible).
func frozenLakeDesc(k *kwargs, defaultMap string) ([]string, error) {
	size, err := k.integer("map_size", 8)
	if err != nil {
		return nil, err
	}
	p, err := k.float("map_p", 0.8)
	if err != nil {
		return nil, err
	}
	var seedPtr *int64
	if v, ok := k.lookup("map_seed"); ok && v != nil {
		s, err := k.integer("map_seed", 0)
		if err != nil {
			return nil, err
		}
		seedPtr = &s
	}
	_, sizeSet := k.kw["map_size"]
	_, pSet := k.kw["map_p"]
	_, seedSet := k.kw["map_seed"]
	randomAsked := sizeSet || pSet || seedSet

	descV, hasDesc := k.lookup("desc")
	if hasDesc && descV != nil {
		if randomAsked {
			return nil, k.errorf("desc", "cannot be combined with map_size/map_p/map_seed")
		}
		return parseDesc(k, descV)
	}
	nameV, hasName := k.lookup("map_name")
	name := defaultMap
	if hasName {
		if nameV == nil {
			name = ""
		} else if s, ok := nameV.(string); ok {
			name = s
		} else {
			return nil, k.errorf("map_name", "want a string or null, got %T", nameV)
		}
	}
	if randomAsked {
		if hasName && nameV != nil {
			return nil, k.errorf("map_name", "a named map cannot be combined with map_size/map_p/map_seed")
		}
		name = ""
	}
	if name == "" {
		if size < 1 {
			return nil, k.errorf("map_size", "%d must be >= 1", size)
		}
		if p < 0 {
			return nil, k.errorf("map_p", "%v must be >= 0", p)
		}
		return GenerateRandomMap(int(size), p, seedPtr)
	}
	m, ok := FrozenLakeMap(name)
	if !ok {
		return nil, k.errorf("map_name", "unknown map %q (have 4x4, 8x8)", name)
	}
	return m, nil
}

func parseDesc(k *kwargs, v any) ([]string, error) {
	var rows []string
	switch x := v.(type) {
	case []string:
		rows = x
	case []any:
		for i, r := range x {
			s, ok := r.(string)
			if !ok {
				return nil, k.errorf("desc", "row %d: want a string, got %T", i, r)
			}
			rows = append(rows, s)
		}
	default:
		return nil, k.errorf("desc", "want a list of row strings, got %T", v)
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, k.errorf("desc", "empty map")
	}
	starts := 0
	for i, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, k.errorf("desc", "row %d has %d tiles, row 0 has %d", i, len(r), len(rows[0]))
		}
		for j := range len(r) {
			switch r[j] {
			case 'S':
				starts++
			case 'F', 'H', 'G':
			default:
				return nil, k.errorf("desc", "row %d col %d: tile %q is not one of S, F, H, G", i, j, r[j])
			}
		}
	}
	if starts == 0 {
		return nil, k.errorf("desc", "no start tile S")
	}
	return rows, nil
}

func buildFrozenLake(id string, rows []string, slippery bool, success float64, schedule [3]float64, maxSteps int, thr float64) (*FrozenLake, error) {
	nrow, ncol := len(rows), len(rows[0])
	e := &FrozenLake{gridMDP: gridMDP{toyText: toyText{lastAction: -1}}, nrow: nrow, ncol: ncol}
	e.desc = make([][]byte, nrow)
	weights := make([]float64, nrow*ncol)
	for r, row := range rows {
		e.desc[r] = []byte(row)
		for c := range ncol {
			if row[c] == 'S' {
				weights[r*ncol+c] = 1
			}
		}
	}
	e.initCDF = initialDistribution(weights)
	move := func(row, col, a int) (int, int) {
		switch a {
		case flLeft:
			col = max(col-1, 0)
		case flDown:
			row = min(row+1, nrow-1)
		case flRight:
			col = min(col+1, ncol-1)
		case flUp:
			row = max(row-1, 0)
		}
		return row, col
	}
	outcome := func(row, col, a int, p float64) transition {
		nr, nc := move(row, col, a)
		letter := e.desc[nr][nc]
		rew := schedule[2]
		switch letter {
		case 'G':
			rew = schedule[0]
		case 'H':
			rew = schedule[1]
		}
		return transition{prob: p, next: nr*ncol + nc, reward: rew, done: letter == 'G' || letter == 'H'}
	}
	one := 1.0
	fail := (one - success) / 2.0
	e.p = make([][4]outcomes, nrow*ncol)
	for row := range nrow {
		for col := range ncol {
			s := row*ncol + col
			for a := range 4 {
				var ts []transition
				switch letter := e.desc[row][col]; {
				case letter == 'G' || letter == 'H':
					ts = []transition{{prob: 1, next: s, reward: 0, done: true}}
				case slippery:
					for _, b := range [3]int{(a + 3) % 4, a, (a + 1) % 4} {
						p := fail
						if b == a {
							p = success
						}
						ts = append(ts, outcome(row, col, b, p))
					}
				default:
					ts = []transition{outcome(row, col, a, 1)}
				}
				e.p[s][a] = newOutcomes(ts)
			}
		}
	}
	e.spec = envs.Spec{
		ID:               id,
		ObservationSpace: discreteSpace(int64(nrow * ncol)),
		ActionSpace:      discreteSpace(4),
		MaxEpisodeSteps:  maxSteps,
		RewardThreshold:  threshold(thr),
		RenderModes:      []string{modeANSI, modeRGB},
		Plugin:           PluginName,
	}
	return e, nil
}

// Render returns Gymnasium's ANSI text ("ansi": the last action in
// parentheses, or an empty line, then the map with the agent's tile
// highlighted red) or an RGB frame of Gymnasium's size ("rgb_array", see
// renderRGB). Before the first Reset it fails with envs.ErrResetNeeded.
func (e *FrozenLake) Render(mode string) (envs.Render, error) {
	if mode != modeANSI && mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	if !e.hasState {
		return envs.Render{}, renderBeforeReset(e.spec.ID)
	}
	if mode == modeRGB {
		return e.renderRGB()
	}
	var b strings.Builder
	if e.lastAction >= 0 {
		fmt.Fprintf(&b, "  (%s)\n", [4]string{"Left", "Down", "Right", "Up"}[e.lastAction])
	} else {
		b.WriteString("\n")
	}
	row, col := e.s/e.ncol, e.s%e.ncol
	for r := range e.nrow {
		for c := range e.ncol {
			t := string(e.desc[r][c])
			if r == row && c == col {
				t = colorize(t, "red", false, true)
			}
			b.WriteString(t)
		}
		b.WriteString("\n")
	}
	return envs.Render{Text: b.String()}, nil
}

// Close implements envs.Env.
func (e *FrozenLake) Close() error { return nil }

// Map returns the map rows.
func (e *FrozenLake) Map() []string {
	out := make([]string, len(e.desc))
	for i, r := range e.desc {
		out[i] = string(r)
	}
	return out
}
