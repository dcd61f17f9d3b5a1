package classic

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
)

// renderRGB renders e in rgb_array mode and checks the frame's shape.
func renderRGB(t *testing.T, e envs.Env) envs.Render {
	t.Helper()
	r, err := e.Render(modeRGB)
	if err != nil {
		t.Fatalf("%s: render: %v", e.Spec().ID, err)
	}
	if r.Width <= 0 || r.Height <= 0 || len(r.RGB) != r.Width*r.Height*3 {
		t.Fatalf("%s: frame %dx%d with %d bytes, want width·height·3", e.Spec().ID, r.Width, r.Height, len(r.RGB))
	}
	return r
}

// pixel is the colour at (x, y), origin top-left.
func pixel(r envs.Render, x, y int) rgb {
	i := (y*r.Width + x) * 3
	return rgb{r.RGB[i], r.RGB[i+1], r.RGB[i+2]}
}

// count is the number of pixels of colour col in the w×h box at (x, y).
func count(r envs.Render, x, y, w, h int, col rgb) int {
	n := 0
	for yy := y; yy < y+h; yy++ {
		for xx := x; xx < x+w; xx++ {
			if pixel(r, xx, yy) == col {
				n++
			}
		}
	}
	return n
}

func TestRenderRGBToyTextSizes(t *testing.T) {
	cases := []struct {
		id   string
		kw   envs.Kwargs
		w, h int
		ansi bool
	}{
		{"FrozenLake-v1", nil, 256, 256, true},
		{"FrozenLake8x8-v1", nil, 512, 512, true},
		// Gymnasium's window is min(64·n, 512) each way, cells window/n.
		{"FrozenLake-v1", envs.Kwargs{"desc": []any{"SFFFFFFFFF", "FFFFFFFFFG"}}, 512, 128, true},
		{"FrozenLake-v1", envs.Kwargs{"map_size": 20.0, "map_seed": 3.0}, 512, 512, true},
		{"FrozenLake-v1", envs.Kwargs{"desc": []any{"SG"}}, 128, 64, true},
		{"CliffWalking-v1", nil, 720, 240, true},
		{"CliffWalkingSlippery-v1", nil, 720, 240, true},
		{"Taxi-v4", nil, 550, 350, true},
		{"Blackjack-v1", nil, 600, 500, false},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			// gymnasium.make(..., render_mode="rgb_array") is accepted.
			kw := envs.Kwargs{"render_mode": modeRGB}
			for k, v := range c.kw {
				kw[k] = v
			}
			e := mustMake(t, c.id, kw)
			modes := e.Spec().RenderModes
			if !slices.Contains(modes, modeRGB) || slices.Contains(modes, modeANSI) != c.ansi {
				t.Errorf("RenderModes %v", modes)
			}
			obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
			reset(t, e, 0, obs)
			r := renderRGB(t, e)
			if r.Width != c.w || r.Height != c.h || r.Text != "" {
				t.Errorf("frame %dx%d (text %q), want %dx%d", r.Width, r.Height, r.Text, c.w, c.h)
			}
		})
	}
}

// A 10-column lake has 51-px cells in its 512-px window; the two columns
// no cell covers stay black, as pygame leaves them.
func TestRenderRGBFrozenLakeRemainder(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"desc": []any{"SFFFFFFFFF", "FFFFFFFFFG"}})
	reset(t, e, 0, make([]float64, 1))
	r := renderRGB(t, e)
	if n := count(r, 510, 0, 2, r.Height, colBlack); n != 2*r.Height {
		t.Errorf("%d of %d remainder pixels black", n, 2*r.Height)
	}
	if n := count(r, 9*51, 0, 51, 64, colIce); n == 0 {
		t.Error("last column of cells not drawn")
	}
}

// Past 512 columns Gymnasium's cells would be under a pixel: no frame,
// a clear error, while the text mode still works.
func TestRenderRGBFrozenLakeTooLarge(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"desc": []any{"S" + strings.Repeat("F", 511) + "G"}})
	reset(t, e, 0, make([]float64, 1))
	if _, err := e.Render(modeRGB); !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "FrozenLake-v1") {
		t.Errorf("513-column render = %v, want ErrFrameTooLarge naming the env", err)
	}
	if r, err := e.Render(modeANSI); err != nil || len(r.Text) < 513 {
		t.Errorf("ansi render %d bytes, %v", len(r.Text), err)
	}
}

func TestRenderToyTextBeforeReset(t *testing.T) {
	for _, id := range []string{"FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "CliffWalkingSlippery-v1", "Taxi-v4", "Blackjack-v1"} {
		e := mustMake(t, id, nil)
		for _, mode := range e.Spec().RenderModes {
			_, err := e.Render(mode)
			if !errors.Is(err, envs.ErrResetNeeded) || !strings.Contains(err.Error(), id) {
				t.Errorf("%s: %s render before reset = %v, want ErrResetNeeded naming the env", id, mode, err)
			}
		}
		// An unknown mode is reported as such, reset or not.
		if _, err := e.Render("human"); err == nil || errors.Is(err, envs.ErrResetNeeded) || !strings.Contains(err.Error(), `"human"`) {
			t.Errorf("%s: human render = %v, want an unsupported-mode error", id, err)
		}
		reset(t, e, 0, make([]float64, e.Spec().ObservationSpace.FlatDim()))
		for _, mode := range e.Spec().RenderModes {
			if _, err := e.Render(mode); err != nil {
				t.Errorf("%s: %s render after reset: %v", id, mode, err)
			}
		}
	}
}

// Frames are a function of the state: two envs with the same seed and
// actions give identical frames at every step, a move changes the frame,
// and each call returns its own buffer.
func TestRenderRGBDeterministicAndMoves(t *testing.T) {
	cases := []struct {
		id      string
		kw      envs.Kwargs
		actions []float64
	}{
		{"FrozenLake-v1", envs.Kwargs{"is_slippery": false}, []float64{flRight, flRight, flDown, flLeft}},
		{"FrozenLake8x8-v1", nil, []float64{flRight, flDown, flRight, flDown}},
		{"CliffWalking-v1", nil, []float64{0, 1, 1, 2}},
		{"CliffWalkingSlippery-v1", nil, []float64{0, 0, 1, 1}},
		{"Taxi-v4", nil, []float64{0, 1, 0, 1}},
		{"Blackjack-v1", nil, []float64{1}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			a, b := mustMake(t, c.id, c.kw), mustMake(t, c.id, c.kw)
			oa := make([]float64, a.Spec().ObservationSpace.FlatDim())
			ob := make([]float64, len(oa))
			reset(t, a, 7, oa)
			reset(t, b, 7, ob)
			prev := renderRGB(t, a)
			if again := renderRGB(t, a); !bytes.Equal(prev.RGB, again.RGB) {
				t.Fatal("two renders of one state differ")
			} else if &again.RGB[0] == &prev.RGB[0] {
				t.Fatal("two renders share a buffer")
			}
			for i, act := range c.actions {
				before := slices.Clone(oa)
				step(t, a, act, oa)
				step(t, b, act, ob)
				fa, fb := renderRGB(t, a), renderRGB(t, b)
				if !bytes.Equal(fa.RGB, fb.RGB) {
					t.Fatalf("step %d: same seed and actions, different frames", i)
				}
				if !slices.Equal(before, oa) && bytes.Equal(fa.RGB, prev.RGB) {
					t.Fatalf("step %d: observation %v → %v but the frame did not change", i, before, oa)
				}
				prev = fa
			}
		})
	}
}

// flCell is the top-left pixel of FrozenLake cell (row, col) with Gymnasium's
// 64-px cells.
func flCell(row, col int) (int, int) { return col * 64, row * 64 }

func TestRenderRGBFrozenLakeTiles(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"is_slippery": false})
	obs := make([]float64, 1)
	reset(t, e, 0, obs)
	r := renderRGB(t, e)
	has := func(r envs.Render, row, col int, c rgb) bool {
		x, y := flCell(row, col)
		return count(r, x, y, 64, 64, c) > 0
	}
	// SFFF / FHFH / FFFH / HFFG with the agent on S.
	for _, c := range []struct {
		row, col int
		colour   rgb
		want     bool
	}{
		{0, 0, colAgent, true}, {0, 1, colAgent, false},
		{1, 1, colHole, true}, {1, 3, colHole, true}, {3, 0, colHole, true}, {0, 2, colHole, false},
		{3, 3, colGoal, true}, {3, 3, colRibbon, true}, {2, 2, colGoal, false},
		{0, 0, colStool, true}, {1, 0, colStool, false},
		{2, 2, colIce, true}, {2, 2, colGridLine, true},
	} {
		if has(r, c.row, c.col, c.colour) != c.want {
			t.Errorf("cell (%d,%d) has colour %v: %v, want %v", c.row, c.col, c.colour, !c.want, c.want)
		}
	}
	if pixel(r, 0, 0) != colGridLine {
		t.Errorf("cell border %v, want Gymnasium's (180, 200, 230)", pixel(r, 0, 0))
	}
	// Right: the agent leaves S, which shows its stool alone.
	step(t, e, flRight, obs)
	r = renderRGB(t, e)
	if has(r, 0, 0, colAgent) || !has(r, 0, 1, colAgent) || !has(r, 0, 0, colStool) {
		t.Error("agent did not move from (0,0) to (0,1)")
	}
	// Down into the hole at (1,1): the agent's cross over the hole.
	step(t, e, flDown, obs)
	r = renderRGB(t, e)
	if !has(r, 1, 1, colAgent) || !has(r, 1, 1, colHole) || has(r, 0, 1, colAgent) {
		t.Error("agent in the hole not drawn over the hole")
	}
	// The arrow faces the last action: a reset (facing down) and a
	// step left into the wall (same state, facing left) differ.
	reset(t, e, 0, obs)
	down := renderRGB(t, e)
	step(t, e, flLeft, obs)
	if left := renderRGB(t, e); obs[0] != 0 || bytes.Equal(down.RGB, left.RGB) {
		t.Error("the agent's facing is not drawn")
	}
}

func TestRenderRGBCliffWalkingTiles(t *testing.T) {
	e := mustMake(t, "CliffWalking-v1", nil)
	obs := make([]float64, 1)
	reset(t, e, 0, obs)
	r := renderRGB(t, e)
	for c := 1; c <= 10; c++ {
		if n := count(r, c*cwCell, 3*cwCell, cwCell, cwCell, colCliff); n != cwCell*cwCell {
			t.Errorf("cliff cell %d: %d cliff pixels", c, n)
		}
		if count(r, c*cwCell, 2*cwCell, cwCell, cwCell, colCliffEdge) == 0 {
			t.Errorf("cell above cliff %d has no edge", c)
		}
	}
	if count(r, 11*cwCell, 3*cwCell, cwCell, cwCell, colCookie) == 0 {
		t.Error("no cookie on the goal")
	}
	if count(r, 0, 3*cwCell, cwCell, cwCell, colAgent) == 0 || count(r, 0, 3*cwCell, cwCell, cwCell, colStool) == 0 {
		t.Error("agent and stool not on the start")
	}
	if pixel(r, 5, 5) != colGrassA || pixel(r, cwCell+5, 5) != colGrassB {
		t.Error("no checkerboard")
	}
	// UP moves the agent to (2, 0); RIGHT from there is safe, then DOWN
	// falls off the cliff and puts it back on the start.
	step(t, e, 0, obs)
	r = renderRGB(t, e)
	if count(r, 0, 2*cwCell, cwCell, cwCell, colAgent) == 0 || count(r, 0, 3*cwCell+cwCell/5, cwCell, cwCell*4/5, colAgent) != 0 {
		t.Error("agent not drawn on (2, 0)")
	}
	step(t, e, 1, obs)
	step(t, e, 2, obs)
	if obs[0] != cwStart {
		t.Fatalf("after the cliff obs %v", obs)
	}
	if r = renderRGB(t, e); count(r, 0, 3*cwCell, cwCell, cwCell, colAgent) == 0 {
		t.Error("agent not back on the start after the cliff")
	}
}

func TestRenderRGBTaxi(t *testing.T) {
	e := mustMake(t, "Taxi-v4", nil).(*Taxi)
	obs := make([]float64, 1)
	reset(t, e, 0, obs)
	// Taxi at (2, 2), passenger waiting at Y, destination B.
	e.s = taxiEncode(2, 2, 2, 3)
	r := renderRGB(t, e)
	in := func(r envs.Render, row, col int, c rgb) int {
		x, y := taxiSurfLoc(row, col)
		return count(r, x, y, taxiCell, taxiCell, c)
	}
	if in(r, 2, 2, colTaxi) == 0 || in(r, 2, 2, colTaxiFull) != 0 {
		t.Error("empty taxi not yellow at (2, 2)")
	}
	if in(r, 4, 0, colPassenger) == 0 || in(r, 0, 0, colPassenger) != 0 {
		t.Error("passenger not waiting at Y")
	}
	// The hotel sits half a cell above the destination B (4, 3).
	if x, y := taxiSurfLoc(4, 3); count(r, x, y-taxiCell/2, taxiCell, taxiCell/2, blend(colHotel, colRoad, 170)) == 0 {
		t.Error("no hotel over B")
	}
	// Landmarks are their colour at half opacity over the road.
	for i, loc := range taxiLocs {
		x, y := taxiSurfLoc(loc[0], loc[1])
		if got, want := pixel(r, x+1, y+taxiCell+5), blend(taxiLocColors[i], colRoad, 128); got != want {
			t.Errorf("landmark %d: %v, want %v", i, got, want)
		}
	}
	// The walls: the median runs through '|' cells (row 0 between
	// columns 1 and 2 is map character (1, 4)).
	if pixel(r, 4*taxiCell+taxiCell/2, taxiCell+taxiCell/2) != colMedian || pixel(r, 3*taxiCell+taxiCell/2, taxiCell+taxiCell/2) == colMedian {
		t.Error("wall not drawn at map (1, 4)")
	}
	// Pick up at Y: the passenger boards and the taxi turns green.
	e.s = taxiEncode(4, 0, 2, 3)
	step(t, e, 4, obs)
	r = renderRGB(t, e)
	if in(r, 4, 0, colTaxiFull) == 0 || in(r, 4, 0, colTaxi) != 0 || in(r, 4, 0, colPassenger) != 0 {
		t.Error("taxi with the passenger aboard not green, or passenger still waiting")
	}
	// West into the border changes nothing but the way the taxi faces,
	// which the frame shows (Gymnasium turns its cab sprite too).
	e.s = taxiEncode(2, 0, 0, 1)
	step(t, e, 0, obs)
	south := renderRGB(t, e)
	step(t, e, 3, obs)
	if west := renderRGB(t, e); int(obs[0]) != taxiEncode(3, 0, 0, 1) || bytes.Equal(south.RGB, west.RGB) {
		t.Error("facing west not drawn")
	}
	// A reset faces south again (Gymnasium's taxi_orientation = 0).
	seed := int64(5)
	f := mustMake(t, "Taxi-v4", nil)
	fo := make([]float64, 1)
	e.Reset(&seed, nil, obs)
	f.Reset(&seed, nil, fo)
	if !bytes.Equal(renderRGB(t, e).RGB, renderRGB(t, f).RGB) {
		t.Error("reset did not restore the orientation")
	}
}

func blend(c, under rgb, alpha int) rgb {
	var out rgb
	for i := range out {
		out[i] = byte((int(c[i])*alpha + int(under[i])*(255-alpha) + 127) / 255)
	}
	return out
}

func TestRenderRGBBlackjack(t *testing.T) {
	e := mustMake(t, "Blackjack-v1", nil).(*Blackjack)
	obs := make([]float64, 3)
	reset(t, e, 0, obs)
	set := func(dealer, player []int, suit, face int) envs.Render {
		e.dealer, e.player, e.dealerSuit, e.dealerFace = dealer, player, suit, face
		return renderRGB(t, e)
	}
	base := set([]int{10, 7}, []int{9, 7}, 0, 2)
	if pixel(base, 1, 1) != colFelt {
		t.Errorf("table %v, want Gymnasium's (7, 99, 36)", pixel(base, 1, 1))
	}
	cardY := bjSpacing + 7*bjSmallScale + bjSpacing
	faceX, backX := bjW/2-bjCardW-bjSpacing/2, bjW/2+bjSpacing/2
	if count(base, faceX+4, cardY+4, bjCardW-8, bjCardH-8, colWhite) < bjCardW*bjCardH/2 {
		t.Error("face-up card not white")
	}
	if count(base, backX+10, cardY+10, bjCardW-20, bjCardH-20, colCardBack) < bjCardW*bjCardH/3 {
		t.Error("hidden card not face down")
	}
	// Every visible fact changes the frame: the face drawn for a 10, the
	// suit (and its colour), the player's sum, a usable ace.
	variants := map[string]envs.Render{
		"queen":      set([]int{10, 7}, []int{9, 7}, 0, 1),
		"hearts":     set([]int{10, 7}, []int{9, 7}, 2, 2),
		"sum 17":     set([]int{10, 7}, []int{10, 7}, 0, 2),
		"usable ace": set([]int{10, 7}, []int{1, 5}, 0, 2),
		"dealer 4":   set([]int{4, 7}, []int{9, 7}, 0, -1),
	}
	for name, v := range variants {
		if bytes.Equal(v.RGB, base.RGB) {
			t.Errorf("%s: frame unchanged", name)
		}
	}
	// Hearts are red, clubs black.
	if count(variants["hearts"], faceX, cardY, bjCardW, bjCardH, colCardRed) == 0 || count(base, faceX, cardY, bjCardW, bjCardH, colCardRed) != 0 {
		t.Error("suit colours")
	}
	// "USABLE ACE" is written below the sum only when there is one.
	aceY := bjSpacing + 7*bjSmallScale + bjSpacing + bjCardH + bjSpacing*3/2 + 7*bjSmallScale + bjSpacing + 7*bjLargeScale
	if count(variants["usable ace"], 0, aceY, bjW, bjH-aceY, colWhite) == 0 || count(base, 0, aceY, bjW, bjH-aceY, colWhite) != 0 {
		t.Error("usable ace text")
	}
}

func TestGlyphs(t *testing.T) {
	for r, g := range glyphs {
		for i, row := range g {
			if len(row) != 5 || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q row %d = %q", r, i, row)
			}
		}
	}
	// Every character the frames write has a glyph.
	for _, s := range []string{"DEALER: ", "PLAYER", "USABLE ACE", "0123456789", "AJQK"} {
		for _, r := range s {
			if _, ok := glyphs[r]; !ok && r != ' ' {
				t.Errorf("no glyph for %q", r)
			}
		}
	}
	f := newFrame(40, 10, colBlack)
	f.text(1, 1, 1, "10", colWhite)
	if w := textWidth("10", 1); w != 11 {
		t.Errorf("textWidth = %d, want 11", w)
	}
	r := f.render()
	// Column 1 is the left edge of '1' (blank), row 2 col 2 is its flag.
	if pixel(r, 3, 1) != colWhite || pixel(r, 2, 2) != colWhite || pixel(r, 1, 1) != colBlack {
		t.Error("glyph '1' misdrawn")
	}
	if count(r, 12, 0, 28, 10, colWhite) != 0 {
		t.Error("text drawn past its width")
	}
}

// Rendering allocates only when called: after frames were rendered, steps
// of the grid envs still allocate nothing.
func TestToyTextStepAllocsAfterRender(t *testing.T) {
	cases := []struct {
		id      string
		kw      envs.Kwargs
		actions []float64 // a loop that never terminates
	}{
		{"FrozenLake-v1", envs.Kwargs{"is_slippery": false}, []float64{flRight, flLeft}},
		{"CliffWalking-v1", nil, []float64{0, 2}},
		{"Taxi-v4", nil, []float64{0, 1, 2, 3}},
	}
	for _, c := range cases {
		e := mustMake(t, c.id, c.kw)
		obs := make([]float64, 1)
		reset(t, e, 0, obs)
		step(t, e, c.actions[0], obs) // the first step makes the reused info map
		renderRGB(t, e)
		act := make([]float64, 1)
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			act[0] = c.actions[i%len(c.actions)]
			i++
			if _, term, _, err := e.Step(act, obs); err != nil || term {
				t.Fatalf("step: %v %v", term, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: step allocates %v times", c.id, allocs)
		}
	}
}

func BenchmarkRenderRGB(b *testing.B) {
	for _, id := range []string{"FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4", "Blackjack-v1"} {
		b.Run(id, func(b *testing.B) {
			e, err := Make(id, nil)
			if err != nil {
				b.Fatal(err)
			}
			seed := int64(0)
			if _, err := e.Reset(&seed, nil, make([]float64, e.Spec().ObservationSpace.FlatDim())); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Render(modeRGB); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
