package classic

import (
	"math"

	"github.com/goray/goray/plugins/envs"
)

// A tile rasteriser for the toy-text rgb_array frames. Unlike canvas (the
// classic-control drawing surface, y upwards as in Gymnasium's geometry),
// frame uses screen coordinates: origin top-left, y downwards, which is
// how Gymnasium lays out its pygame sprites for the grid worlds and
// Blackjack. Everything is drawn from filled rectangles, circles and
// polygons plus a 5×7 bitmap font, so a frame is a pure function of the
// env's state: no images, no fonts, no anti-aliasing.

type rgb = [3]byte

// frame is an RGB image, row-major, 3 bytes a pixel.
type frame struct {
	w, h int
	pix  []byte
}

// newFrame allocates a frame filled with bg. Rendering allocates here and
// only here, so Step never pays for it.
func newFrame(w, h int, bg rgb) *frame {
	f := &frame{w: w, h: h, pix: make([]byte, w*h*3)}
	f.rect(0, 0, w, h, bg)
	return f
}

func (f *frame) render() envs.Render {
	return envs.Render{Width: f.w, Height: f.h, RGB: f.pix}
}

// rect fills the w×h rectangle at (x, y), clipped to the frame.
func (f *frame) rect(x, y, w, h int, col rgb) {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+w, f.w), min(y+h, f.h)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	// Fill the first row by doubling copies and copy it to the others:
	// memmove is several times faster than storing pixel by pixel, and
	// whole-frame fills dominate the render time.
	first := f.pix[(y0*f.w+x0)*3 : (y0*f.w+x1)*3]
	first[0], first[1], first[2] = col[0], col[1], col[2]
	for n := 3; n < len(first); n *= 2 {
		copy(first[n:], first[:n])
	}
	for yy := y0 + 1; yy < y1; yy++ {
		copy(f.pix[(yy*f.w+x0)*3:(yy*f.w+x1)*3], first)
	}
}

// blendRect mixes col into the rectangle with opacity alpha/255, as a
// pygame surface with set_alpha blits.
func (f *frame) blendRect(x, y, w, h int, col rgb, alpha int) {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+w, f.w), min(y+h, f.h)
	for yy := y0; yy < y1; yy++ {
		row := f.pix[(yy*f.w+x0)*3 : (yy*f.w+x1)*3]
		for i := range row {
			row[i] = byte((int(col[i%3])*alpha + int(row[i])*(255-alpha) + 127) / 255)
		}
	}
}

// border draws a rectangle outline t pixels thick inside (x, y, w, h).
func (f *frame) border(x, y, w, h, t int, col rgb) {
	f.rect(x, y, w, t, col)
	f.rect(x, y+h-t, w, t, col)
	f.rect(x, y, t, h, col)
	f.rect(x+w-t, y, t, h, col)
}

func (f *frame) set(x, y int, col rgb) {
	if x < 0 || y < 0 || x >= f.w || y >= f.h {
		return
	}
	i := (y*f.w + x) * 3
	f.pix[i], f.pix[i+1], f.pix[i+2] = col[0], col[1], col[2]
}

// circle fills the pixels whose centres lie within r of (cx, cy).
func (f *frame) circle(cx, cy, r float64, col rgb) {
	for y := int(math.Floor(cy - r)); y <= int(math.Ceil(cy+r)); y++ {
		for x := int(math.Floor(cx - r)); x <= int(math.Ceil(cx+r)); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				f.set(x, y, col)
			}
		}
	}
}

// ellipse fills the axis-aligned ellipse with radii rx, ry.
func (f *frame) ellipse(cx, cy, rx, ry float64, col rgb) {
	for y := int(math.Floor(cy - ry)); y <= int(math.Ceil(cy+ry)); y++ {
		for x := int(math.Floor(cx - rx)); x <= int(math.Ceil(cx+rx)); x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			if dx*dx+dy*dy <= 1 {
				f.set(x, y, col)
			}
		}
	}
}

// polygon fills a polygon (even–odd rule, pixel centres).
func (f *frame) polygon(pts [][2]float64, col rgb) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	for y := int(math.Floor(minY)); y <= int(math.Ceil(maxY)); y++ {
		for x := int(math.Floor(minX)); x <= int(math.Ceil(maxX)); x++ {
			if inside(pts, float64(x)+0.5, float64(y)+0.5) {
				f.set(x, y, col)
			}
		}
	}
}

// line draws a segment of the given width as a filled quadrilateral.
func (f *frame) line(x0, y0, x1, y1, width float64, col rgb) {
	dx, dy := x1-x0, y1-y0
	n := math.Hypot(dx, dy)
	if n == 0 {
		f.circle(x0, y0, width/2, col)
		return
	}
	px, py := -dy/n*width/2, dx/n*width/2
	f.polygon([][2]float64{{x0 + px, y0 + py}, {x1 + px, y1 + py}, {x1 - px, y1 - py}, {x0 - px, y0 - py}}, col)
}

// arrow draws a filled triangle centred on (cx, cy), of size s, pointing
// in direction d: 0 left, 1 down, 2 right, 3 up (FrozenLake's action
// order).
func (f *frame) arrow(cx, cy, s float64, d int, col rgb) {
	// The triangle pointing right, rotated by a quarter turn per step.
	pts := [][2]float64{{s / 2, 0}, {-s / 2, -s / 2}, {-s / 2, s / 2}}
	ang := [4]float64{math.Pi, math.Pi / 2, 0, -math.Pi / 2}[d&3]
	for i, p := range pts {
		q := rotate(p, ang)
		pts[i] = [2]float64{cx + q[0], cy + q[1]}
	}
	f.polygon(pts, col)
}

// glyphs is a 5×7 bitmap font with just the characters the frames use;
// '#' is ink. An unknown character draws as a blank.
var glyphs = map[rune][7]string{
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	':': {".....", "..#..", "..#..", ".....", "..#..", "..#..", "....."},
}

// textWidth is the width in pixels of s drawn at scale: 5 columns a glyph
// plus one of spacing between glyphs.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (6*n - 1) * scale
}

// text draws s with its top-left corner at (x, y), each font pixel a
// scale×scale square.
func (f *frame) text(x, y, scale int, s string, col rgb) {
	for _, r := range s {
		if g, ok := glyphs[r]; ok {
			for gy, row := range g {
				for gx := range 5 {
					if row[gx] == '#' {
						f.rect(x+gx*scale, y+gy*scale, scale, scale, col)
					}
				}
			}
		}
		x += 6 * scale
	}
}
