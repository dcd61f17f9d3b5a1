package classic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goray/goray/plugins/envs"
)

// The toy-text rgb_array frames: Gymnasium's frame sizes and layouts,
// drawn with frame's primitives in flat colours instead of Gymnasium's
// pygame sprites (elf, stool, cookie, cab, hotel, card images). They show
// the same state, one distinct colour per kind of tile, but are not
// pixel-identical to Gymnasium's frames.

// Palette. Each kind of tile has its own colour so that a frame can be
// read (or checked by a test) without knowing the sprite shapes.
var (
	colIce       = rgb{200, 230, 250} // FrozenLake frozen tile
	colGridLine  = rgb{180, 200, 230} // Gymnasium's 1-px cell border
	colHole      = rgb{20, 40, 90}
	colStool     = rgb{150, 95, 40} // start tile (Gymnasium draws a stool)
	colGoal      = rgb{240, 190, 30}
	colRibbon    = rgb{200, 30, 60}
	colAgent     = rgb{230, 70, 40}
	colAgentMark = rgb{255, 255, 255}
	colGrassA    = rgb{120, 170, 90} // CliffWalking checkerboard
	colGrassB    = rgb{105, 155, 80}
	colCliff     = rgb{70, 50, 40}
	colCliffEdge = rgb{130, 100, 70}
	colCookie    = rgb{200, 150, 80}
	colChip      = rgb{80, 45, 20}
	colRoad      = rgb{225, 225, 225} // Taxi
	colMedian    = rgb{90, 90, 90}
	colTaxi      = rgb{250, 200, 0}
	colTaxiFull  = rgb{40, 180, 60} // taxi with the passenger aboard (ansi's green)
	colTyre      = rgb{30, 30, 30}
	colGlass     = rgb{120, 190, 230}
	colPassenger = rgb{120, 40, 160}
	colSkin      = rgb{240, 200, 160}
	colHotel     = rgb{200, 60, 160} // destination (ansi's magenta)
	colFelt      = rgb{7, 99, 36}    // Blackjack table, Gymnasium's bg_color
	colWhite     = rgb{255, 255, 255}
	colBlack     = rgb{0, 0, 0}
	colCardRed   = rgb{200, 20, 30}
	colCardBack  = rgb{40, 60, 160}
)

// Taxi's landmark colours R, G, Y, B (Gymnasium's locs_colors).
var taxiLocColors = [4]rgb{{255, 0, 0}, {0, 255, 0}, {255, 255, 0}, {0, 0, 255}}

// ErrFrameTooLarge is returned by an rgb_array Render of a FrozenLake map
// with more than 512 rows or columns: Gymnasium's 512-px window would give
// it cells less than a pixel wide.
var ErrFrameTooLarge = errors.New("map too large for rgb_array: cells would be under 1 px")

// renderBeforeReset is the error every toy-text Render returns before the
// first Reset, as Gymnasium's OrderEnforcing wrapper refuses to render
// then. It wraps envs.ErrResetNeeded.
func renderBeforeReset(id string) error {
	return fmt.Errorf("%s: render: %w", id, envs.ErrResetNeeded)
}

// drawAgent draws the agent in the cell at (x, y) of size cw×ch, facing
// dir (FrozenLake's order: 0 left, 1 down, 2 right, 3 up).
func drawAgent(f *frame, x, y, cw, ch int, dir int) {
	cx, cy := float64(x)+float64(cw)/2, float64(y)+float64(ch)/2
	r := 0.32 * float64(min(cw, ch))
	f.circle(cx, cy, r, colAgent)
	f.arrow(cx, cy, r, dir, colAgentMark)
}

// renderRGB draws the lake in Gymnasium's window: min(64·ncol, 512)
// × min(64·nrow, 512) pixels with cells of window/n pixels (any remainder
// stays black, as in pygame's fresh surface).
func (e *FrozenLake) renderRGB() (envs.Render, error) {
	w, h := min(64*e.ncol, 512), min(64*e.nrow, 512)
	cw, ch := w/e.ncol, h/e.nrow
	if cw == 0 || ch == 0 {
		return envs.Render{}, fmt.Errorf("%s: %dx%d %w", e.spec.ID, e.nrow, e.ncol, ErrFrameTooLarge)
	}
	f := newFrame(w, h, colBlack)
	for r := range e.nrow {
		for c := range e.ncol {
			x, y := c*cw, r*ch
			f.rect(x, y, cw, ch, colIce)
			switch e.desc[r][c] {
			case 'H':
				drawHole(f, x, y, cw, ch)
			case 'G':
				drawGift(f, x, y, cw, ch)
			case 'S':
				drawStool(f, x, y, cw, ch)
			}
			f.border(x, y, cw, ch, 1, colGridLine)
		}
	}
	row, col := e.s/e.ncol, e.s%e.ncol
	x, y := col*cw, row*ch
	if e.desc[row][col] == 'H' {
		// Gymnasium shows a cracked hole instead of the elf: the agent's
		// colour as a cross over the hole.
		m := float64(min(cw, ch)) * 0.25
		cx, cy := float64(x)+float64(cw)/2, float64(y)+float64(ch)/2
		lw := max(1, float64(min(cw, ch))/10)
		f.line(cx-m, cy-m, cx+m, cy+m, lw, colAgent)
		f.line(cx-m, cy+m, cx+m, cy-m, lw, colAgent)
	} else {
		dir := flDown // Gymnasium's elf faces down until the first step
		if e.lastAction >= 0 {
			dir = e.lastAction
		}
		drawAgent(f, x, y, cw, ch, dir)
	}
	return f.render(), nil
}

func drawHole(f *frame, x, y, cw, ch int) {
	f.ellipse(float64(x)+float64(cw)/2, float64(y)+float64(ch)/2, 0.4*float64(cw), 0.3*float64(ch), colHole)
}

// drawGift is FrozenLake's goal: a gold box tied with a red ribbon.
func drawGift(f *frame, x, y, cw, ch int) {
	bw, bh := cw*5/8, ch*5/8
	bx, by := x+(cw-bw)/2, y+(ch-bh)/2
	f.rect(bx, by, bw, bh, colGoal)
	t := max(1, min(cw, ch)/10)
	f.rect(bx+(bw-t)/2, by, t, bh, colRibbon)
	f.rect(bx, by+(bh-t)/2, bw, t, colRibbon)
}

// drawStool is the start tile: a seat on two legs.
func drawStool(f *frame, x, y, cw, ch int) {
	sw, t := cw*5/8, max(1, ch/8)
	sx, sy := x+(cw-sw)/2, y+ch*3/8
	f.rect(sx, sy, sw, t, colStool)
	leg := max(1, cw/12)
	f.rect(sx+leg, sy+t, leg, ch*3/8, colStool)
	f.rect(sx+sw-2*leg, sy+t, leg, ch*3/8, colStool)
}

// CliffWalking frame geometry: 60-px cells, 12×4 → 720×240 (Gymnasium's
// cell_size and window_size).
const cwCell = 60

// renderRGB draws the cliff: a checkerboard of grass, the cliff cells
// dark with a lighter edge on the cells above them, the stool on the
// start, the cookie on the goal and the agent lifted by a tenth of a cell
// as Gymnasium lifts its elf.
func (e *CliffWalking) renderRGB() envs.Render {
	f := newFrame(cwCols*cwCell, cwRows*cwCell, colGrassA)
	for s := range cwRows * cwCols {
		r, c := s/cwCols, s%cwCols
		x, y := c*cwCell, r*cwCell
		if (r+c)%2 == 1 {
			f.rect(x, y, cwCell, cwCell, colGrassB)
		}
		if cwCliff(r, c) {
			f.rect(x, y, cwCell, cwCell, colCliff)
		}
		if r < cwRows-1 && cwCliff(r+1, c) {
			f.rect(x, y+cwCell-cwCell/6, cwCell, cwCell/6, colCliffEdge)
		}
		if s == cwStart {
			drawStool(f, x, y, cwCell, cwCell)
		}
		if s == cwGoal {
			cx, cy := float64(x)+cwCell/2, float64(y)+cwCell/2
			f.circle(cx, cy, 0.35*cwCell, colCookie)
			for _, d := range [][2]float64{{-8, -6}, {7, -9}, {-3, 8}, {9, 5}, {0, -1}} {
				f.circle(cx+d[0], cy+d[1], 3, colChip)
			}
		}
	}
	r, c := e.s/cwCols, e.s%cwCols
	// CliffWalking's actions are UP, RIGHT, DOWN, LEFT; the elf faces down
	// until the first step.
	dir := flDown
	if e.lastAction >= 0 {
		dir = [4]int{flUp, flRight, flDown, flLeft}[e.lastAction]
	}
	drawAgent(f, c*cwCell, r*cwCell-cwCell/10, cwCell, cwCell, dir)
	return f.render()
}

// Taxi frame geometry: Gymnasium's 550×350 window over the 11×7 map
// characters, 50-px cells.
const (
	taxiW, taxiH = 550, 350
	taxiCell     = 50
)

// taxiSurfLoc is Gymnasium's get_surf_loc: the top-left pixel of grid
// cell (row, col).
func taxiSurfLoc(row, col int) (int, int) {
	return (2*col + 1) * taxiCell, (row + 1) * taxiCell
}

// renderRGB draws the taxi map: road, medians for the walls and the
// border, the four landmarks as half-transparent colour cells, the
// waiting passenger, the destination hotel and the taxi facing its last
// move (yellow, green with the passenger aboard).
func (e *Taxi) renderRGB() envs.Render {
	f := newFrame(taxiW, taxiH, colRoad)
	const mw = taxiCell / 5 // median width
	// '|' and '-' are walls through their whole cell; every wall cell also
	// reaches out to the wall cells it joins, so the border and the inner
	// walls form one connected set of medians.
	joins := func(x, y int, set string) bool {
		return y >= 0 && y < len(taxiMap) && x >= 0 && x < len(taxiMap[y]) && strings.IndexByte(set, taxiMap[y][x]) >= 0
	}
	for y, line := range taxiMap {
		for x := range len(line) {
			ch := line[x]
			if strings.IndexByte("|-+", ch) < 0 {
				continue
			}
			px, py := x*taxiCell, y*taxiCell
			lo, hi := (taxiCell-mw)/2, (taxiCell+mw)/2
			f.rect(px+lo, py+lo, mw, mw, colMedian)
			if ch == '|' || joins(x, y-1, "|+") {
				f.rect(px+lo, py, mw, hi, colMedian)
			}
			if ch == '|' || joins(x, y+1, "|+") {
				f.rect(px+lo, py+lo, mw, taxiCell-lo, colMedian)
			}
			if ch == '-' || joins(x-1, y, "-+") {
				f.rect(px, py+lo, hi, mw, colMedian)
			}
			if ch == '-' || joins(x+1, y, "-+") {
				f.rect(px+lo, py+lo, taxiCell-lo, mw, colMedian)
			}
		}
	}
	for i, loc := range taxiLocs {
		x, y := taxiSurfLoc(loc[0], loc[1])
		f.blendRect(x, y+10, taxiCell, taxiCell, taxiLocColors[i], 128)
	}
	row, col, pass, dest := taxiDecode(e.s)
	if pass < 4 {
		px, py := taxiSurfLoc(taxiLocs[pass][0], taxiLocs[pass][1])
		drawPassenger(f, px, py)
	}
	dx, dy := taxiSurfLoc(taxiLocs[dest][0], taxiLocs[dest][1])
	tx, ty := taxiSurfLoc(row, col)
	// Gymnasium draws the hotel half a cell up and the taxi over it when
	// the taxi is lower on the screen, so that the nearer sprite is on top.
	if dy <= ty {
		drawHotel(f, dx, dy-taxiCell/2)
		drawTaxi(f, tx, ty, e.orientation, pass == 4)
	} else {
		drawTaxi(f, tx, ty, e.orientation, pass == 4)
		drawHotel(f, dx, dy-taxiCell/2)
	}
	return f.render()
}

// drawPassenger is a person standing in the cell at (x, y).
func drawPassenger(f *frame, x, y int) {
	cx := float64(x) + taxiCell/2
	f.circle(cx, float64(y)+13, 7, colSkin)
	f.rect(x+taxiCell/2-8, y+21, 16, 16, colPassenger)
	f.rect(x+taxiCell/2-7, y+37, 5, 10, colPassenger)
	f.rect(x+taxiCell/2+2, y+37, 5, 10, colPassenger)
}

// drawHotel is the destination: a building with windows, 170/255 opaque
// as Gymnasium's hotel sprite.
func drawHotel(f *frame, x, y int) {
	f.blendRect(x+8, y+10, taxiCell-16, taxiCell-12, colHotel, 170)
	for _, wy := range [2]int{y + 16, y + 30} {
		for _, wx := range [3]int{x + 13, x + 22, x + 31} {
			f.blendRect(wx, wy, 6, 7, colWhite, 170)
		}
	}
}

// drawTaxi draws the cab in the cell at (x, y), its windscreen on the side
// it last moved towards (Taxi's actions: 0 south, 1 north, 2 east, 3 west).
func drawTaxi(f *frame, x, y, orientation int, full bool) {
	body := colTaxi
	if full {
		body = colTaxiFull
	}
	const m = 6
	if orientation <= 1 { // facing south or north: taller than wide
		f.rect(x+10, y+m, 6, 10, colTyre)
		f.rect(x+34, y+m, 6, 10, colTyre)
		f.rect(x+10, y+taxiCell-m-10, 6, 10, colTyre)
		f.rect(x+34, y+taxiCell-m-10, 6, 10, colTyre)
		f.rect(x+13, y+m, 24, taxiCell-2*m, body)
		if orientation == 0 {
			f.rect(x+16, y+taxiCell-m-12, 18, 8, colGlass)
		} else {
			f.rect(x+16, y+m+4, 18, 8, colGlass)
		}
		return
	}
	f.rect(x+m, y+10, 10, 6, colTyre)
	f.rect(x+m, y+34, 10, 6, colTyre)
	f.rect(x+taxiCell-m-10, y+10, 10, 6, colTyre)
	f.rect(x+taxiCell-m-10, y+34, 10, 6, colTyre)
	f.rect(x+m, y+13, taxiCell-2*m, 24, body)
	if orientation == 2 {
		f.rect(x+taxiCell-m-12, y+16, 8, 18, colGlass)
	} else {
		f.rect(x+m+4, y+16, 8, 18, colGlass)
	}
}

// Blackjack frame geometry, Gymnasium's: a 600×500 table, cards a third of
// the height with the 142:197 aspect of its card images, spacing 1/20 of
// the height, a small font 1/15 and a large font 1/6 of the height (here
// the 7-row bitmap font scaled to the nearest whole pixel size below).
const (
	bjW, bjH     = 600, 500
	bjCardH      = bjH / 3
	bjCardW      = bjCardH * 142 / 197
	bjSpacing    = bjH / 20
	bjSmallScale = bjH / 15 / 8
	bjLargeScale = bjH / 6 / 8
)

var bjFaces = [3]string{"J", "Q", "K"}

// renderRGB draws Gymnasium's Blackjack screen: "DEALER: v" and the
// dealer's face-up card next to a face-down one, then "PLAYER", the
// player's sum in large digits and "USABLE ACE" when there is one. The
// face-up card carries its value (A, 2–9, or the J/Q/K drawn at reset for
// a 10) and the suit drawn at reset as a pip.
func (e *Blackjack) renderRGB() envs.Render {
	f := newFrame(bjW, bjH, colFelt)
	small, large := bjSmallScale, bjLargeScale
	dealer := e.dealer[0]
	f.text(bjSpacing, bjSpacing, small, "DEALER: "+strconv.Itoa(dealer), colWhite)
	cardY := bjSpacing + 7*small + bjSpacing
	value := strconv.Itoa(dealer)
	switch {
	case dealer == 1:
		value = "A"
	case dealer == 10 && e.dealerFace >= 0:
		value = bjFaces[e.dealerFace]
	}
	drawCard(f, bjW/2-bjCardW-bjSpacing/2, cardY, value, e.dealerSuit)
	drawCardBack(f, bjW/2+bjSpacing/2, cardY)
	playerY := cardY + bjCardH + bjSpacing*3/2
	f.text(bjSpacing, playerY, small, "PLAYER", colWhite)
	sum := strconv.Itoa(sumHand(e.player))
	sumY := playerY + 7*small + bjSpacing
	f.text(bjW/2-textWidth(sum, large)/2, sumY, large, sum, colWhite)
	if usableAce(e.player) {
		const s = "USABLE ACE"
		f.text(bjW/2-textWidth(s, small)/2, sumY+7*large+bjSpacing/2, small, s, colWhite)
	}
	return f.render()
}

// drawCard draws a face-up card: its value in the top-left and bottom-right
// corners and one large pip of its suit (Gymnasium's order C, D, H, S) in
// the middle, red for diamonds and hearts.
func drawCard(f *frame, x, y int, value string, suit int) {
	f.rect(x, y, bjCardW, bjCardH, colWhite)
	f.border(x, y, bjCardW, bjCardH, 2, colBlack)
	ink := colBlack
	if suit == 1 || suit == 2 {
		ink = colCardRed
	}
	const scale = 3
	f.text(x+8, y+8, scale, value, ink)
	f.text(x+bjCardW-8-textWidth(value, scale), y+bjCardH-8-7*scale, scale, value, ink)
	drawPip(f, float64(x)+bjCardW/2.0, float64(y)+bjCardH/2.0, 26, suit, ink)
}

// drawPip draws a suit symbol of half-size s centred on (cx, cy): 0 clubs,
// 1 diamonds, 2 hearts, 3 spades.
func drawPip(f *frame, cx, cy, s float64, suit int, col rgb) {
	switch suit {
	case 0:
		r := s * 0.42
		f.circle(cx, cy-s*0.45, r, col)
		f.circle(cx-s*0.48, cy+s*0.1, r, col)
		f.circle(cx+s*0.48, cy+s*0.1, r, col)
		f.circle(cx, cy, r*0.6, col) // closes the gap between the leaves
		f.polygon([][2]float64{{cx - s*0.12, cy}, {cx + s*0.12, cy}, {cx + s*0.35, cy + s}, {cx - s*0.35, cy + s}}, col)
	case 1:
		f.polygon([][2]float64{{cx, cy - s}, {cx + s*0.7, cy}, {cx, cy + s}, {cx - s*0.7, cy}}, col)
	case 2:
		r := s * 0.5
		f.circle(cx-r, cy-s*0.35, r, col)
		f.circle(cx+r, cy-s*0.35, r, col)
		f.polygon([][2]float64{{cx - 2*r, cy - s*0.25}, {cx + 2*r, cy - s*0.25}, {cx, cy + s}}, col)
	default:
		r := s * 0.5
		f.circle(cx-r, cy+s*0.2, r, col)
		f.circle(cx+r, cy+s*0.2, r, col)
		f.circle(cx, cy+s*0.2, r*0.6, col) // closes the notch between the lobes
		f.polygon([][2]float64{{cx - 2*r, cy + s*0.1}, {cx + 2*r, cy + s*0.1}, {cx, cy - s}}, col)
		f.polygon([][2]float64{{cx - s*0.12, cy + s*0.3}, {cx + s*0.12, cy + s*0.3}, {cx + s*0.35, cy + s}, {cx - s*0.35, cy + s}}, col)
	}
}

// drawCardBack draws the dealer's hidden card: a blue back with a white
// frame and a lattice.
func drawCardBack(f *frame, x, y int) {
	f.rect(x, y, bjCardW, bjCardH, colWhite)
	f.border(x, y, bjCardW, bjCardH, 2, colBlack)
	for py := 8; py < bjCardH-8; py++ {
		for px := 8; px < bjCardW-8; px++ {
			col := colCardBack
			if (px+py)%14 < 2 || (px-py+bjCardH)%14 < 2 {
				col = colWhite
			}
			f.set(x+px, y+py, col)
		}
	}
}
